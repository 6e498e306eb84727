/*
 * db/jobs.h — the jobs and job_metrics tables: background work (generation,
 * training, evaluation), its per-step figures, and the auto-training state.
 *
 * The HTTP side enqueues (db_job_create), lists, cancels and retries; the
 * worker (server/worker/worker.c) claims, reports and finishes.  Job status
 * moves queued -> running -> succeeded | failed | cancelled; a queued job is
 * cancelled at once, a running one gets cancel_requested = 1 and the worker
 * stops it.
 *
 * The worker's write transactions here are short by design: it holds
 * SQLite's write lock for a handful of row writes at a time, never across
 * model math, so rating commits from the HTTP threads wait at most that long.
 * Functions that say "own transaction" run BEGIN IMMEDIATE ... COMMIT
 * themselves; the others run inside the caller's transaction (or in
 * autocommit).
 */
#ifndef RLHFD_DB_JOBS_H
#define RLHFD_DB_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct db;

/* kind: generate sft reward ppo rloo grpo dpo eval score (else DB_INVALID);
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
 * on its own.  DB_NOTFOUND for an unknown job. */
int db_job_metric_add(struct db *db, int64_t job_id, int64_t step, const char *name, double value);

/* One write transaction: queued -> cancelled (finished now), running ->
 * cancel_requested = 1.  *status_out (>= 16 bytes, may be NULL) gets the
 * status afterwards.  DB_NOTFOUND, or DB_CONFLICT for a finished job. */
int db_job_cancel(struct db *db, int64_t id, int64_t now, char *status_out);

/* ---- the worker's side ------------------------------------------------- */

/* A job as the worker runs it. */
struct db_work_job {
	int64_t id;
	char kind[16];      /* generate sft reward ppo rloo grpo dpo eval */
	char *params;       /* JSON object text; owned */
};
void db_work_job_release(struct db_work_job *j);

/* Every job left 'running' (the process that ran it died) becomes 'failed'
 * with error reason, finished now; one of them queued by auto-training
 * (params "auto": true) is queued again as a new job with the same kind and
 * params, so the loop carries on where it stopped.  *n and *n_requeued (may
 * be NULL) = how many failed / were queued again.  Own transaction. */
int db_work_recover(struct db *db, const char *reason, int64_t now, int *n, int *n_requeued);

/* Claims the oldest queued job, a score job only when no other kind is
 * queued (see jobs.c pick): status running, started_at now, progress 0,
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

/* Auto-training: *mark = the rating id up to which reward jobs have looked:
 * the largest "ratings_upto" in the metrics (set when a reward job ran) or
 * params (set when auto-training queued it) of any reward job, 0 if none.
 * *busy = a job queued by auto-training (params "auto": true) is queued or
 * running.  (The ratings counters it compares with are in db/ratings.h.) */
int db_work_auto_state(struct db *db, int64_t *mark, bool *busy);
/* The same mark for rank and pair judgements: the largest "orderings_upto"
 * of a reward job's metrics or params (0 when none). */
int db_work_auto_order_mark(struct db *db, int64_t *mark);
/* What auto-training counts: *count = current ratings after the ratings'
 * mark plus answers placed by current judgements after theirs, at most cap
 * (db/ratings.h's counters from the two marks above). */
int db_work_auto_new(struct db *db, int64_t cap, int64_t *count);
/* Answers waiting for raters: *n = model-made answers (not demonstrations)
 * in groups fewer than per_group raters have rated. */
int db_work_open_answers(struct db *db, int64_t per_group, int64_t *n);

#endif
