/*
 * db/jobs.h — background jobs (generation, training, evaluation), their
 * per-step metrics, and model versions.
 *
 * The HTTP side only enqueues (db_job_create), lists, cancels and activates;
 * the worker (server/worker/worker.c) claims and runs jobs and adds its own
 * functions here for that.  Job status moves queued -> running ->
 * succeeded | failed | cancelled; a queued job is cancelled at once, a running
 * one gets cancel_requested = 1 and the worker stops it.
 */
#ifndef RLHFD_DB_JOBS_H
#define RLHFD_DB_JOBS_H

#include <stdint.h>
#include <jansson.h>

struct db;

/* kind: generate sft reward ppo rloo grpo dpo eval (else DB_INVALID);
 * params_json: JSON object text (NULL for {}).  Status queued. */
int db_job_create(struct db *db, const char *kind, const char *params_json, int64_t now,
		  int64_t *id);

/* *out = new array of the newest `limit` jobs, newest first, each as in db_job_get. */
int db_jobs_list(struct db *db, int limit, json_t **out);

/* *out = new {"id","kind","status","progress","params","metrics","error",
 * "model_id","cancel_requested","created_at","started_at","finished_at"};
 * DB_NOTFOUND for an unknown id. */
int db_job_get(struct db *db, int64_t id, json_t **out);

/* *out = new array [{"step","name","value"}] by step then name; DB_NOTFOUND
 * for an unknown job. */
int db_job_metrics(struct db *db, int64_t id, json_t **out);

/* Adds (or replaces) one per-step figure; inside the caller's transaction or
 * on its own. */
int db_job_metric_add(struct db *db, int64_t job_id, int64_t step, const char *name, double value);

/* One write transaction: queued -> cancelled (finished now), running ->
 * cancel_requested = 1.  *status_out (>= 16 bytes, may be NULL) gets the
 * status afterwards.  DB_NOTFOUND, or DB_CONFLICT for a finished job. */
int db_job_cancel(struct db *db, int64_t id, int64_t now, char *status_out);

/* kind: base sft reward policy (else DB_INVALID).  parent_id/job_id <= 0 store
 * NULL; params_json NULL for {}; path may be NULL.  Not active. */
int db_model_create(struct db *db, const char *kind, const char *name, int64_t parent_id,
		    int64_t job_id, const char *params_json, const char *path, int64_t *id);

/* *out = new array, newest first: [{"id","kind","name","parent_id","job_id",
 * "created_at","params","metrics","path","active","ratings"}] (ratings = how
 * many rating ids the version records). */
int db_models_list(struct db *db, json_t **out);

/* The model's kind (kind_out >= 16 bytes) or DB_NOTFOUND. */
int db_model_kind(struct db *db, int64_t id, char *kind_out);

/* Makes the model the one active generator, in one write transaction.
 * DB_NOTFOUND; DB_CONFLICT for a reward model. */
int db_model_activate(struct db *db, int64_t id);

/* The active model's id, or DB_NOTFOUND. */
int db_model_active(struct db *db, int64_t *id);

#endif
