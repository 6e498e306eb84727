/*
 * server/worker/job.h — running one background job (generate, sft, reward, ppo,
 * rloo, grpo, dpo, eval) from its row in the jobs table to its outcome, and
 * the knobs each kind reads from its JSON params.
 *
 * A job runs synchronously on the calling thread: the worker thread
 * (server/worker/worker.h) for jobs queued over HTTP, or a command such as `rlhfd demo
 * init` through worker_run_job_now.  While it runs it writes its progress and
 * per-step metrics to the database in short batched transactions, and polls
 * for cancellation between steps.  At the end it records status, error,
 * summary metrics and the model version it produced (server/worker/modelstore.h);
 * for auto-training jobs it also queues the next job of the loop
 * (server/worker/autotrain.c).
 *
 * What a job ran with is part of its record: its metrics hold "settings",
 * every parameter GET /api/jobs/{id}'s kind lists (GET /api/jobs/kinds) with
 * the value the job used — defaults filled in, the model ids it chose at run
 * time (null when it never got to choose one) — for every job whose params
 * parsed, whatever its outcome.
 *
 * The kinds, their params and defaults are the registry in job_params.c
 * (listed by GET /api/jobs/kinds), which the HTTP handlers read too.
 * Unknown keys are refused.
 */
#ifndef RLHFD_SERVER_JOB_H
#define RLHFD_SERVER_JOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "server/worker/worker.h"

struct db;
struct db_work_job;
struct job_cache;

/* What a job runs with.  Everything is borrowed. */
struct job_env {
	const char *data_dir;
	struct db *db;                    /* the running thread's own connection */
	const atomic_bool *stop;          /* set when the server stops (NULL = never):
					     the job ends as failed, "interrupted" */
	const _Atomic int64_t *cancel_id; /* a job id worker_cancel named (NULL = none) */
	void (*progress)(void *arg, int64_t job_id, float frac); /* observer, may be NULL */
	void *progress_arg;
	struct job_cache *cache;          /* the loaded generator kept between generate
					     jobs (job_cache_new), NULL = none */
	bool quiet;                       /* no log lines on stderr */
};

/* The reason recorded for a job the server stopped (or died) under. */
#define JOB_INTERRUPTED "interrupted: the server stopped while the job was running"

/*
 * Runs wj (claimed: status 'running') to its end and records the outcome.
 * Returns 0 when it succeeded, -ECANCELED when it was cancelled or
 * interrupted, another negative errno when it failed; err (may be NULL) gets
 * the error message.  *model_id (may be NULL) = the version it produced, or 0.
 */
int job_run(struct job_env *env, const struct db_work_job *wj, int64_t *model_id,
	    char *err, size_t errlen);

/* A cache for one loaded generator; job_cache_free(NULL) is a no-op. */
struct job_cache *job_cache_new(void);
void job_cache_free(struct job_cache *c);

/* The registry's public side (job_params_check, job_kinds_json, ...),
 * which the HTTP handlers call too, is in server/worker/worker.h. */

#endif
