/*
 * db/traindata.h — the one definition of training data from ratings: what
 * the reward, DPO and SFT jobs train on and what pairs.jsonl and sft.jsonl
 * export are read here, the same way, so the two cannot drift apart.
 *
 * An answer's score is its mean over its current ratings (migrations/
 * 0003_scores.sql: the views current_ratings and answer_scores; a re-rating
 * supersedes the rater's older row).  Answers come grouped as the raters saw
 * them (a generation group), groups by id, answers by id:
 *  - preference pairs (reward, DPO, pairs.jsonl): within a group, every two
 *    rated answers i < j whose means differ, the higher-scored one chosen,
 *    ties dropped and so are two answers of the same text (the same answer
 *    rated twice: nothing to prefer), in the order of i then j
 *    (db_td_group_pairs);
 *  - SFT rows (SFT, sft.jsonl): every rated answer whose mean is >= the
 *    minimum score, and every imported answer nobody rated (a demonstration,
 *    written elsewhere and imported with no model) when demonstrations are
 *    asked for, and every demonstration a rater wrote on the rate page
 *    (origin human, db/demonstrations.h) nobody rated, always
 *    (db_td_group_sft).
 *  - rank and pair judgements (migrations/0009_task_kinds.sql, the orderings
 *    table): each rater's current judgement of a group on its own, its pairs
 *    every two answers it placed at different levels, the higher chosen, the
 *    level gap the margin (db_td_order_pairs): a ranking gives every pair its
 *    order implies and none between tied answers (as tied means make none)
 *    or answers of the same text;
 *    a preference "A better" / "B better" gives one pair, its strength (1-3)
 *    the margin; "tie" and "both bad" give none (both bad says neither answer
 *    is worth preferring, and the scores' rule drops ties).
 * The reward job trains on the rated answers of every group that has a pair,
 * with their means (the trainer forms the same pairs from them: it drops as
 * ties means closer than RL_SCORE_TIE_EPS in model/rl.h, 1e-6, which two
 * different means of 1-5 scores only are with a thousand raters or more on
 * one answer); the DPO job trains on the pairs themselves.
 *
 * Ownership: every struct filled here owns its strings and arrays; release
 * with the matching function (safe on a zeroed struct).
 */
#ifndef RLHFD_DB_TRAINDATA_H
#define RLHFD_DB_TRAINDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* Which answers take part.  The jobs read { .split = "train" } (plus
 * with_imported for SFT: db_traindata_groups); the exports pass the user's
 * filters. */
struct db_td_filter {
	const char *split;     /* prompts of "train" / "eval"; NULL = both */
	int64_t since;         /* rated answers last rated at or after (unix s), and
				* demonstrations created at or after; 0 = all */
	int min_raters;        /* rated answers with at least this many current raters;
				* above 1 (asking for raters who agree) it leaves the
				* demonstrations out */
	bool with_imported;    /* also imported answers nobody rated (demonstrations);
				* raters' own demonstrations (origin human) are
				* taken either way */
};

struct db_td_response {
	int64_t id;
	char *text;            /* text_len bytes (and a NUL after them) */
	int text_len;
	bool imported;         /* model_id NULL: written elsewhere and imported, or by
				* a rater (human) */
	bool human;            /* a rater's demonstration (origin human) */
	bool ended;            /* ended with EOS (imported answers count as ended) */
	double mean;           /* mean current score, NAN when unrated */
	int n_ratings;         /* current ratings */
	int64_t *rating_ids;   /* (n_ratings) their ids, ascending */
};

struct db_td_group {
	int64_t id, prompt_id, model_id;   /* model_id 0 = imported */
	char *prompt;                      /* prompt_len bytes (and a NUL) */
	int prompt_len;
	char *messages;                    /* a conversation prompt's messages (JSON
					    * array text), NULL for a plain one */
	int n;                             /* answers that passed the filter */
	struct db_td_response *responses;  /* (n) by id */
};
void db_td_group_release(struct db_td_group *g);

/*
 * A cursor over the groups the filter selects, on db (which it borrows; one
 * statement, so one snapshot).  Answers that pass neither part of the filter
 * are left out of their group; groups left empty are not listed.
 * db_td_next fills *g (new; db_td_group_release it) and returns 1, or 0 at
 * the end, or DB_ERROR.  Close the cursor before using db for anything else.
 */
struct db_td_cursor;
int db_td_open(struct db *db, const struct db_td_filter *f, struct db_td_cursor **out);
int db_td_next(struct db_td_cursor *c, struct db_td_group *g);
void db_td_close(struct db_td_cursor *c);

/*
 * The preference pairs of g (see the top): writes chosen / rejected indexes
 * into g->responses to pairs[k][0] / pairs[k][1] (room for n(n-1)/2; pairs
 * may be NULL to only count) and returns how many.
 */
int db_td_group_pairs(const struct db_td_group *g, int (*pairs)[2]);

/* The SFT rows of g (see the top): writes their indexes into g->responses to
 * idx (room for g->n), in order, and returns how many.  A row is a
 * demonstration when its answer has no rating. */
int db_td_group_sft(const struct db_td_group *g, double min_score, int *idx);

/* How many of g's rated answers have a mean score below min_score: the
 * answers each of its SFT rows at that score was preferred to. */
int db_td_group_below(const struct db_td_group *g, double min_score);

/*
 * One rater's rank or pair judgement of one group: g holds the group and the
 * answers the judgement places, by id (their mean is NAN: a judgement orders,
 * it does not score); level[i] is answer i's level (higher is better, equal
 * is a tie).
 */
struct db_td_order {
	struct db_td_group g;
	int64_t rater_id;
	char kind[8];                      /* "rank" or "pair" */
	int *level;                        /* (g.n) */
};
void db_td_order_release(struct db_td_order *o);

/*
 * A cursor over the current judgements of prompts in f->split made at or
 * after f->since, in groups that at least f->min_raters raters have judged
 * (with_imported does not apply), by group then rater; as db_td_open.
 */
struct db_td_order_cursor;
int db_td_orders_open(struct db *db, const struct db_td_filter *f, struct db_td_order_cursor **out);
int db_td_orders_next(struct db_td_order_cursor *c, struct db_td_order *o);
void db_td_orders_close(struct db_td_order_cursor *c);

/* The pairs of a judgement (see the top), as db_td_group_pairs writes them
 * (indexes into o->g.responses, room for n(n-1)/2; pairs may be NULL); the
 * margin of pair k is level[pairs[k][0]] - level[pairs[k][1]]. */
int db_td_order_pairs(const struct db_td_order *o, int (*pairs)[2]);

struct db_td_set {
	struct db_td_group *groups;        /* (n_groups) by group id */
	int n_groups;
	struct db_td_order *orders;        /* (n_orders) the judgements, by group, rater */
	int n_orders;
	int64_t max_rating_id;             /* the largest rating id in the snapshot */
	int64_t max_ordering_id;           /* and ordering (judgement row) id */
};
void db_td_set_release(struct db_td_set *s);

/* What the jobs read: the groups of prompts in split ("train"/"eval", NULL =
 * both) as db_td_open gives them for { split, with_imported }, and the
 * judgements as db_td_orders_open gives them for { split }, in one read
 * transaction, with the largest rating id of that snapshot. */
int db_traindata_groups(struct db *db, const char *split, bool with_imported,
			struct db_td_set *out);

struct db_td_prompt {
	int64_t id;
	char *text;
	char *messages;        /* JSON array text of a conversation, else NULL */
};
void db_td_prompts_free(struct db_td_prompt *p, int n);

/* Up to limit (<= 0: all) prompts of split (NULL = both) by id: *out new
 * array of *n. */
int db_traindata_prompts(struct db *db, const char *split, int limit,
			 struct db_td_prompt **out, int *n);

/*
 * Up to limit prompts of split (NULL = both) with no generation group from
 * model_id (model_id <= 0: every prompt of split); with pair_model > 0 (the
 * new answers pair with its, as people's verdict compares a candidate with
 * its parent on the same prompts) those neither model was trained on first
 * (where people's verdict sees whether a candidate is worse for what it
 * learnt: db_work_model_paired), then those
 * pair_model answered, then those with the fewest
 * groups (from any model or import), ties in a fixed scattered order of their
 * ids (Knuth's multiplicative hash, as the rating queue's random share): a
 * limited generate job of each new model spreads the answers over the prompts
 * that have had the fewest, rather than asking the same lowest ids every
 * time.  The order reads how many groups a prompt has and whether it was
 * trained on, never how its answers were rated (best's training ratings all
 * lie on its reward model's training prompts, a split by a hash of the
 * prompt ids), so a model's new answers fall on prompts chosen without
 * regard to how well its parent did there (people's verdict compares the
 * two on them).
 */
int db_traindata_prompts_unanswered(struct db *db, const char *split, int64_t model_id,
				    int64_t pair_model, int limit, struct db_td_prompt **out, int *n);
/*
 * Up to limit prompts of split (NULL = both) that people rated answers of
 * and rated none of them min_score or more on average (current ratings):
 * where the model has not yet been seen right, the fewest groups first, ties
 * in the scattered order above.  The order reads how answers were rated, so
 * answers written for these prompts must stay out of any comparison of the
 * model that wrote the rated ones (the generate job marks their groups
 * "explore"; db_work_model_paired leaves them out).
 */
int db_traindata_prompts_unsolved(struct db *db, const char *split, double min_score, int limit,
				  struct db_td_prompt **out, int *n);

/* The prompts ids[0..n_ids) in that order; DB_NOTFOUND (and *missing = the
 * id, when missing is not NULL) when one does not exist. */
int db_traindata_prompts_by_id(struct db *db, const int64_t *ids, int n_ids,
			       struct db_td_prompt **out, int *n, int64_t *missing);

#endif
