/*
 * db/work.h — the background worker's side of the jobs and model_versions
 * tables: claiming queued jobs, reporting progress and per-step metrics,
 * finishing, re-queueing, recording new model versions, and the counters
 * auto-training looks at.  (db/jobs.h is the HTTP side: enqueue, list,
 * cancel, activate.)
 *
 * Write transactions here are short by design: the worker holds SQLite's
 * write lock for a handful of row writes at a time, never across model math,
 * so rating commits from the HTTP threads wait at most that long.
 *
 * Functions that say "own transaction" run BEGIN IMMEDIATE ... COMMIT
 * themselves; the others run inside the caller's transaction (or in
 * autocommit).  Returned strings are new (caller frees with free() or the
 * struct's release function).
 */
#ifndef RLHFD_DB_WORK_H
#define RLHFD_DB_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* A job as the worker runs it. */
struct db_work_job {
	int64_t id;
	char kind[16];      /* generate sft reward ppo rloo grpo dpo eval */
	char *params;       /* JSON object text; owned */
};
void db_work_job_release(struct db_work_job *j);

/* Every job left 'running' (the process that ran it died) becomes 'failed'
 * with error reason, finished now.  *n (may be NULL) = how many.  Own
 * transaction. */
int db_work_recover(struct db *db, const char *reason, int64_t now, int *n);

/* Claims the oldest queued job: status running, started_at now, progress 0,
 * cancel_requested 0.  Own transaction.  DB_NOTFOUND when nothing is queued. */
int db_work_claim(struct db *db, int64_t now, struct db_work_job *out);

/* Claims job id, which must be queued (DB_NOTFOUND unknown, DB_CONFLICT in
 * another status).  Own transaction.  For running one job synchronously. */
int db_work_claim_id(struct db *db, int64_t id, int64_t now, struct db_work_job *out);

/* One per-step figure (name at most 31 bytes, longer is cut). */
struct db_work_metric {
	int64_t step;
	char name[32];
	double value;
};

/* Sets the job's progress (< 0 leaves it) and adds metrics m[0..n) (a
 * (job, name, step) already there is replaced), all in one own transaction. */
int db_work_report(struct db *db, int64_t job_id, double progress,
		   const struct db_work_metric *m, size_t n);

/* *requested = the job's cancel_requested flag.  A read. */
int db_work_cancel_requested(struct db *db, int64_t job_id, bool *requested);

/* A running job ends: status succeeded | failed | cancelled, error (NULL =
 * none), metrics (JSON object text, NULL = keep), model_id (<= 0 = keep),
 * finished_at = now, and progress 1 when it succeeded.  DB_CONFLICT when the
 * job is not running.  In the caller's transaction (or autocommit). */
int db_work_finish(struct db *db, int64_t job_id, const char *status, const char *error,
		   const char *metrics_json, int64_t model_id, int64_t now);

/* Queues a copy (kind, params) of a failed or cancelled job: *new_id.
 * DB_NOTFOUND, or DB_CONFLICT when the job is queued, running or succeeded.
 * Own transaction. */
int db_work_retry(struct db *db, int64_t id, int64_t now, int64_t *new_id);

/* A model version as the worker loads it. */
struct db_work_model {
	int64_t id;
	char kind[16];      /* base sft reward policy */
	int64_t parent_id;  /* 0 = none */
	char *path;         /* relative to the data directory (or absolute); owned, may be NULL */
	char *name;         /* owned, may be NULL */
	bool active;
};
void db_work_model_release(struct db_work_model *m);

/* DB_NOTFOUND for an unknown id. */
int db_work_model_get(struct db *db, int64_t id, struct db_work_model *out);

/* The newest version of kind (by id): *id, or DB_NOTFOUND. */
int db_work_model_latest(struct db *db, const char *kind, int64_t *id);

/* Sets the version's file path. */
int db_work_model_set_path(struct db *db, int64_t id, const char *path);

/* Records rating ids[0..n) as used to train model id (duplicates ignored). */
int db_work_model_add_ratings(struct db *db, int64_t id, const int64_t *ids, size_t n);

/* metrics = metrics_json (a JSON object text), replacing. */
int db_work_model_set_metrics(struct db *db, int64_t id, const char *metrics_json);

/* metrics.<key> = value_json (any JSON text; nulls kept), other keys left.
 * key: letters, digits and '_' only (else DB_INVALID). */
int db_work_model_set_metric(struct db *db, int64_t id, const char *key, const char *value_json);

/* metrics = json_patch(metrics, patch_json): keys of the patch object are
 * added or replaced, a null value removes a key (RFC 7396). */
int db_work_model_merge_metrics(struct db *db, int64_t id, const char *patch_json);

/* An answer written by a model: model_id > 0, ended 1 (stopped at EOS/BOS) or
 * 0 (ran into max tokens / the context), token_count >= 0. */
int db_work_response_insert(struct db *db, int64_t group_id, int64_t prompt_id,
			    int64_t model_id, const char *text, int token_count, bool ended,
			    int64_t *id);

/* ---- auto-training ---------------------------------------------------- */

/* *mark = the rating id up to which reward jobs have looked: the largest
 * "ratings_upto" in the metrics (set when a reward job ran) or params (set
 * when auto-training queued it) of any reward job, 0 if none.
 * *busy = a job queued by auto-training (params "auto": true) is queued or
 * running. */
int db_work_auto_state(struct db *db, int64_t *mark, bool *busy);

/* *count = current ratings with id > after, counting at most cap. */
int db_work_ratings_after(struct db *db, int64_t after, int64_t cap, int64_t *count);

/* *id = the largest rating id (0 when none). */
int db_work_max_rating_id(struct db *db, int64_t *id);

#endif
