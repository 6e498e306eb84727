/*
 * db/rmscores.h — the rm_scores table (migrations/0006_rm_scores.sql): each
 * answer's score under a reward model, written by the score job
 * (server/worker/job_score.c) and read beside the human scores by
 * GET /api/prompts/{id} and the exports.  An answer's reward-model score is
 * the one of the newest reward model (highest id) that scored it.
 */
#ifndef RLHFD_DB_RMSCORES_H
#define RLHFD_DB_RMSCORES_H

#include <stdbool.h>
#include <stdint.h>

struct db;

struct db_rm_answer {
	int64_t id;
	int prompt;            /* index into the set's prompts */
	char *text;
	bool ended;            /* ended with EOS (imported answers count as ended) */
};

struct db_rm_prompt {
	int64_t id;
	char *text;
	char *messages;        /* JSON array text of a conversation, else NULL */
};

/* Every answer, rated or not, of the prompts of a split: prompts by id,
 * answers by prompt, then group, then id. */
struct db_rm_set {
	struct db_rm_prompt *prompts;
	int n_prompts;
	struct db_rm_answer *answers;
	int n;
};
void db_rm_set_release(struct db_rm_set *s);

/* The answers of the prompts of split ("train"/"eval", NULL = both) into *out
 * (new), in one read; with unscored_by > 0 only those reward model
 * unscored_by has no score of yet. */
int db_rm_answers(struct db *db, const char *split, int64_t unscored_by, struct db_rm_set *out);

/* Stores scores[i] as the score of answer ids[i] under reward model model_id
 * (replacing an earlier one of that model), written by job job_id, in one
 * write transaction. */
int db_rm_scores_put(struct db *db, int64_t model_id, int64_t job_id, const int64_t *ids,
		     const float *scores, int n);

/* The score of answer response_id under the newest reward model that scored
 * it, and that model's id; DB_NOTFOUND when none did. */
int db_rm_score_get(struct db *db, int64_t response_id, double *score, int64_t *model_id);

#endif
