/*
 * server/worker/ — the worker area: the worker thread and its job queue, the
 * job kinds and their parameters, generation, the model store and the
 * auto-training loop.  It may use model/ and db/; nothing of server/http/,
 * server/demo/ or server/cli/.  Its public headers — what other areas may
 * include — are this one, modelstore.h, gen.h and progress.h (the CLI and
 * the demo pipeline load models, generate and draw progress lines with
 * them); server/http/ may include only this one.
 *
 * server/worker/worker.h — the background worker: one thread that runs the queued
 * jobs (generation, training, evaluation) one at a time, off the HTTP
 * threads, and turns the auto-training loop; the registry of job kinds and
 * the auto_train check, which the HTTP handlers read too.  The queue itself is the jobs
 * table; see the DESIGN comment in worker.c.
 *
 * worker_run_job_now runs one job synchronously on the caller's thread —
 * the same code the worker thread runs — for commands such as `rlhfd demo
 * init` that need a job done before they go on.
 */
#ifndef RLHFD_SERVER_WORKER_H
#define RLHFD_SERVER_WORKER_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <jansson.h>

/*
 * Starts the worker for the data directory data_dir (copied), after
 * marking every job left 'running' by a previous process as failed with
 * the reason JOB_INTERRUPTED (server/worker/job.h) — such a job can be queued again
 * with POST /api/jobs/{id}/retry.  Uses the database pool (db_pool_init
 * first).  Returns 0, or -1 (logged).
 */
int worker_start(const char *data_dir);

/* Stops the thread: a running job is stopped at its next step and recorded
 * as failed, JOB_INTERRUPTED.  Call before db_pool_close_all.  Safe to call
 * when the worker never started. */
void worker_stop(void);

/* Tells the worker a job was queued (cheap; any thread). */
void worker_wake(void);

/* Asks the worker to stop job_id at its next step if it is running it now
 * (the cancel endpoint also sets jobs.cancel_requested, which the worker
 * polls; this just makes it immediate). */
void worker_cancel(int64_t job_id);

/*
 * Runs job job_id — which must be queued — of the data directory data_dir
 * synchronously on the calling thread, with its own database connection
 * (<data_dir>/rlhfd.db, migrated first), all cores (threads_set), and the
 * same recording as the worker thread: status, progress, metrics, error,
 * the new model version.  progress (may be NULL) is called with arg and
 * the fraction done (0..1) as it rises.
 *
 * Returns 0 when the job succeeded (*model_id, may be NULL, = the version it
 * produced or 0), or -1 with the job's error (or why it could not start:
 * unknown id, not queued, database) in err (size errlen; may be NULL).
 *
 * Example (demo init): db_job_create(db, "generate", "{\"k\":4}", db_now(), &id);
 * worker_run_job_now(dir, id, bar_update, &bar, NULL, err, sizeof err).
 */
int worker_run_job_now(const char *data_dir, int64_t job_id,
		       void (*progress)(void *arg, float frac), void *arg,
		       int64_t *model_id, char *err, size_t errlen);

/* Queues a job (kind, params as JSON object text or NULL) in data_dir's
 * database and runs it as worker_run_job_now does; *job_id (may be NULL) =
 * its id.  Params are checked like POST /api/train's. */
int worker_run_new_job(const char *data_dir, const char *kind, const char *params_json,
		       void (*progress)(void *arg, float frac), void *arg,
		       int64_t *job_id, int64_t *model_id, char *err, size_t errlen);

/* ---- the registry of job kinds (server/worker/job_params.c) ---------------------- */

/*
 * Checks params (an object; borrowed) against the parameters of kind: every
 * key known for that kind, every value of the right type and in range, and
 * (unless internal) the required ones given.  On a bad one returns false
 * with the field and a sentence in field/msg; where names the object in them
 * ("params" gives "params.lr"; NULL gives "lr").  internal also accepts the
 * keys only the server writes ("auto", "ratings_upto").
 */
bool job_params_check(const char *kind, json_t *params, bool internal, const char *where,
		      char *field, size_t field_len, char *msg, size_t msg_len);

/* The name of the i-th kind (0, 1, ... in the registry's order), NULL past
 * the last. */
const char *job_kind_name(size_t i);

/* The name of the i-th parameter a request may give kind (in the
 * registry's order), NULL past the last or for an unknown kind. */
const char *job_param_name(const char *kind, size_t i);

/*
 * GET /api/jobs/kinds (new): {"kinds": [{"name", "produces" (the model kind
 * of the version it makes, or null), "activates", "help", "params": [{"name",
 * "type", "default", "min"?, "max"?, "choices"?, "models"?, "max_length"?,
 * "required"?, "advanced"?, "help"}]}], "auto_train": {"params": [...]}} —
 * every parameter a request may give, its default the value a job given
 * none runs with (null: decided at run time, as its help says); the server's
 * own keys are not listed.  type is "int", "number", "bool", "string",
 * "choice", "model" (a model id of the kinds in "models"), "ids" (an array
 * of prompt ids) or, for auto_train's job params, "params".
 */
json_t *job_kinds_json(void);

/* ---- the reward-hacking watch (server/worker/spotcheck.c) ------------------------- */

struct db;

/*
 * Version model_id just became active (by hand, by a job):
 * when it is a generating version with a parent and has no spot checks yet,
 * picks them now (db_spot_pick, config spot_check_n answers) if the newest
 * reward model scored its answers; otherwise marks them pending (metrics
 * spot_check_pending) — the next score job picks them — and, when it has
 * answers that reward model has not scored, queues that score job (*queued,
 * may be NULL: wake the worker).  Own write transaction.  0 or a negative
 * DB_ code.
 */
int spotcheck_activated(struct db *db, int64_t model_id, bool *queued);

/*
 * The "spot_check" field of version model_id in GET /api/models: *out = new
 * {"rm_model_id", "answers", "rm_mean", "rated", "ratings", "human_mean",
 * "parent_id", "prompts", "rm_paired", "parent_rm_paired", "human_paired",
 * "parent_human_paired", "worse", "better", "ties", "p", "hacking",
 * "hacking_reason"} (means null when there is nothing to average), or
 * DB_NOTFOUND when it has no spot checks.
 */
int spotcheck_json(struct db *db, int64_t model_id, json_t **out);

/* ---- auto-training (server/worker/autotrain.c) ------------------------------------ */

/* Checks an auto_train config object (borrowed) as the loop will read it:
 * each key's type and range, rl_params against its rl_kind, reward_params
 * against the reward kind.  false with the field ("auto_train.generate_k")
 * and a sentence in field/msg. */
bool autotrain_check(json_t *auto_train, char *field, size_t field_len, char *msg,
		     size_t msg_len);

#endif
