/*
 * db/traindata.h — what training and generation jobs read: rated answers
 * grouped as the raters saw them (with each answer's mean score and the exact
 * rating ids behind it), imported demonstrations, and prompts.
 *
 * Only current ratings count (a re-rating supersedes the old row).  A mean is
 * over the raters who rated that answer.  The reads run in one read
 * transaction, so a job trains on a consistent snapshot while raters go on
 * rating (WAL: readers never block the writers).
 *
 * Ownership: every struct filled here owns its strings and arrays; release
 * with the matching function.
 */
#ifndef RLHFD_DB_TRAINDATA_H
#define RLHFD_DB_TRAINDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct db_td_response {
	int64_t id;
	char *text;
	bool imported;         /* model_id NULL: written elsewhere and imported */
	bool ended;            /* ended with EOS (imported answers count as ended) */
	double mean;           /* mean current score, NAN when unrated */
	int n_ratings;         /* current ratings */
	int64_t *rating_ids;   /* (n_ratings) their ids */
};

struct db_td_group {
	int64_t id, prompt_id, model_id;   /* model_id 0 = imported */
	char *prompt;
	int n;                             /* answers read (see db_traindata_groups) */
	struct db_td_response *responses;  /* (n) by id */
};

struct db_td_set {
	struct db_td_group *groups;        /* (n_groups) by group id */
	int n_groups;
	int64_t max_rating_id;             /* the largest rating id in the snapshot */
};
void db_td_set_release(struct db_td_set *s);

/*
 * Groups of prompts in split ("train"/"eval", NULL = both) with their rated
 * answers; with_imported also takes imported answers nobody rated (the
 * demonstrations SFT learns from).  Answers that are neither are left out of
 * their group; groups left empty are not listed.
 */
int db_traindata_groups(struct db *db, const char *split, bool with_imported,
			struct db_td_set *out);

struct db_td_prompt {
	int64_t id;
	char *text;
};
void db_td_prompts_free(struct db_td_prompt *p, int n);

/* Up to limit (<= 0: all) prompts of split (NULL = both) by id: *out new
 * array of *n. */
int db_traindata_prompts(struct db *db, const char *split, int limit,
			 struct db_td_prompt **out, int *n);

/* The same, restricted to prompts with no generation group from model_id. */
int db_traindata_prompts_unanswered(struct db *db, const char *split, int64_t model_id,
				    int limit, struct db_td_prompt **out, int *n);

/* The prompts ids[0..n_ids) in that order; DB_NOTFOUND (and *missing = the
 * id, when missing is not NULL) when one does not exist. */
int db_traindata_prompts_by_id(struct db *db, const int64_t *ids, int n_ids,
			       struct db_td_prompt **out, int *n, int64_t *missing);

#endif
