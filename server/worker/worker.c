/*
 * server/worker/worker.c — the background worker thread (see worker.h).
 *
 * DESIGN
 *
 * In the manner of Redis's bio.c: one thread, one mutex, one condition
 * variable; the mutex guards only two flags (wake, stopping), and all slow
 * work — SQL, loading models, training — happens outside it.
 *
 * The queue is not in memory: it is the jobs table (status queued), so a
 * queued job survives a restart and every process sees the same queue.  The
 * HTTP handlers insert a row and call worker_wake(); the thread then claims
 * the oldest queued job in one BEGIN IMMEDIATE transaction (db_work_claim)
 * and runs it (server/worker/job.h), and claims the next, until none is left.
 * While idle it sleeps on the condition variable, waking on worker_wake or
 * every AUTO_CHECK_SEC to look at auto-training.
 *
 * The thread owns the models: it is the only thread that loads checkpoints,
 * runs model math and writes model files, and it keeps the last generator
 * it loaded (job_cache) for the next generate job.  It uses every core for
 * the math (threads_set(0): OpenMP + OpenBLAS; RLHFD_WORKER_THREADS=n sets
 * another count) at normal priority; the HTTP
 * threads stay responsive because they never wait for the worker — the
 * worker's write transactions are short (progress and metric batches at most
 * twice a second, answers in batches, a new version's row) and readers never
 * block in WAL mode — and the kernel shares the cores between them.
 *
 * Cancellation: POST /api/jobs/{id}/cancel sets jobs.cancel_requested (and
 * calls worker_cancel); the job's trainer polls a hook between steps that
 * reads an atomic and, at most every JOB_POLL_SEC, the flag in the database.
 * Shutdown sets an atomic the same hook reads, so a long job stops at its
 * next step and is recorded as failed, "interrupted"; a job found running at
 * start-up (the process died under it) gets the same record.
 *
 * Auto-training: when the queue is empty the worker asks autotrain.c whether
 * a loop is due (autotrain_tick), and each job of a loop queues the next one
 * (server/worker/autotrain.c says how the loop turns).
 */
#include "server/worker/worker.h"
#include "server/worker/job.h"
#include "server/worker/autotrain.h"
#include "db/db.h"
#include "db/jobs.h"
#include "db/migrate.h"
#include "db/ratings.h"
#include "model/threads.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AUTO_CHECK_SEC 2

static pthread_mutex_t worker_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t worker_cv;
static bool worker_wake_pending;     /* guarded by worker_mu */
static bool worker_stopping;         /* guarded by worker_mu */
static bool worker_started;          /* set and read by the starting thread only */
static pthread_t worker_thread;
static char *worker_data_dir;
static atomic_bool worker_stop_flag; /* read by running jobs between steps */
static _Atomic int64_t worker_cancel_id;

void worker_wake(void)
{
	pthread_mutex_lock(&worker_mu);
	worker_wake_pending = true;
	pthread_cond_signal(&worker_cv);
	pthread_mutex_unlock(&worker_mu);
}

void worker_cancel(int64_t job_id)
{
	atomic_store(&worker_cancel_id, job_id);
}

/* Claims and runs jobs until none is queued (or the server stops). */
static void drain(struct job_env *env)
{
	while (!atomic_load(&worker_stop_flag)) {
		struct db_work_job wj;
		int rc = db_work_claim(env->db, db_now(), &wj);
		if (rc == DB_NOTFOUND) {
			if (autotrain_tick(env->db))
				continue;
			return;
		}
		if (rc < 0) {
			fprintf(stderr, "rlhfd: worker: cannot claim a job (database %s); trying again "
				"in %d s\n", rc == DB_BUSY ? "busy" : "error", AUTO_CHECK_SEC);
			return;
		}
		job_run(env, &wj, NULL, NULL, 0);
		db_work_job_release(&wj);
	}
}

/* The worker's compute threads: RLHFD_WORKER_THREADS when set (1..256),
 * else every core. */
static int worker_threads(void)
{
	const char *env = getenv("RLHFD_WORKER_THREADS");
	int n = env ? atoi(env) : 0;
	return threads_set(n >= 1 && n <= 256 ? n : 0);
}

static void *worker_main(void *arg)
{
	(void)arg;
	int n = worker_threads();
	fprintf(stderr, "rlhfd: worker: %d compute thread%s\n", n, n == 1 ? "" : "s");
	struct db *db = db_pool_get();
	if (!db) {
		fprintf(stderr, "rlhfd: worker: no database connection; jobs will not run\n");
		return NULL;
	}
	struct job_cache *cache = job_cache_new();
	struct job_env env = { .data_dir = worker_data_dir, .db = db, .stop = &worker_stop_flag,
			       .cancel_id = &worker_cancel_id, .cache = cache };
	for (;;) {
		pthread_mutex_lock(&worker_mu);
		if (!worker_wake_pending && !worker_stopping) {
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += AUTO_CHECK_SEC;
			pthread_cond_timedwait(&worker_cv, &worker_mu, &until);
		}
		bool stop = worker_stopping;
		worker_wake_pending = false;
		pthread_mutex_unlock(&worker_mu);
		if (stop)
			break;
		drain(&env);          /* the slow part, outside the lock */
	}
	job_cache_free(cache);
	return NULL;
}

int worker_start(const char *data_dir)
{
	struct db *db = db_pool_get();
	int n = 0;
	if (!db)
		return -1;
	int requeued = 0;
	if (db_work_recover(db, JOB_INTERRUPTED, db_now(), &n, &requeued) < 0) {
		fprintf(stderr, "rlhfd: worker: cannot mark interrupted jobs\n");
		return -1;
	}
	if (n > 0)
		fprintf(stderr, "rlhfd: %d job%s interrupted by the last stop marked failed (retry with "
			"POST /api/jobs/{id}/retry)\n", n, n == 1 ? "" : "s");
	if (requeued > 0)
		fprintf(stderr, "rlhfd: auto-training: the interrupted step of the loop is queued again\n");
	if (!(worker_data_dir = strdup(data_dir)))
		return -1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&worker_cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_store(&worker_stop_flag, false);
	worker_stopping = false;
	worker_wake_pending = true;     /* look at the queue at once */
	int rc = pthread_create(&worker_thread, NULL, worker_main, NULL);
	if (rc != 0) {
		fprintf(stderr, "rlhfd: cannot start the worker thread: %s\n", strerror(rc));
		pthread_cond_destroy(&worker_cv);
		free(worker_data_dir);
		worker_data_dir = NULL;
		return -1;
	}
	worker_started = true;
	return 0;
}

void worker_stop(void)
{
	if (!worker_started)
		return;
	atomic_store(&worker_stop_flag, true);
	pthread_mutex_lock(&worker_mu);
	worker_stopping = true;
	pthread_cond_signal(&worker_cv);
	pthread_mutex_unlock(&worker_mu);
	pthread_join(worker_thread, NULL);
	pthread_cond_destroy(&worker_cv);
	free(worker_data_dir);
	worker_data_dir = NULL;
	worker_started = false;
}

/* ---- one job, synchronously -------------------------------------------------------- */

struct now_progress {
	void (*fn)(void *arg, float frac);
	void *arg;
};

static void now_progress(void *arg, int64_t job_id, float frac)
{
	struct now_progress *p = arg;
	(void)job_id;
	p->fn(p->arg, frac);
}

static struct db *open_data_db(const char *data_dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct db *db;
	if ((size_t)snprintf(path, sizeof path, "%s/rlhfd.db", data_dir) >= sizeof path) {
		snprintf(err, errlen, "data directory path too long");
		return NULL;
	}
	if (db_open(&db, path, false) < 0) {
		snprintf(err, errlen, "cannot open '%s'", path);
		return NULL;
	}
	if (db_migrate(db, NULL) < 0) {
		db_close(db);
		snprintf(err, errlen, "cannot migrate '%s'", path);
		return NULL;
	}
	return db;
}

static int run_claimed(struct db *db, const char *data_dir, int64_t job_id,
		       void (*progress)(void *arg, float frac), void *arg, int64_t *model_id,
		       char *err, size_t errlen)
{
	struct db_work_job wj;
	int rc = db_work_claim_id(db, job_id, db_now(), &wj);
	if (rc < 0) {
		snprintf(err, errlen, rc == DB_NOTFOUND ? "job %lld not found" :
			 rc == DB_CONFLICT ? "job %lld is not queued (already run, or running elsewhere)" :
			 "cannot claim job %lld (database error)", (long long)job_id);
		return -1;
	}
	threads_set(0);
	struct now_progress np = { progress, arg };
	struct job_env env = { .data_dir = data_dir, .db = db,
			       .progress = progress ? now_progress : NULL, .progress_arg = &np };
	rc = job_run(&env, &wj, model_id, err, errlen);
	db_work_job_release(&wj);
	return rc == 0 ? 0 : -1;
}

int worker_run_job_now(const char *data_dir, int64_t job_id,
		       void (*progress)(void *arg, float frac), void *arg,
		       int64_t *model_id, char *err, size_t errlen)
{
	char e[1024];
	if (!err) {
		err = e;
		errlen = sizeof e;
	}
	if (model_id)
		*model_id = 0;
	struct db *db = open_data_db(data_dir, err, errlen);
	if (!db)
		return -1;
	int rc = run_claimed(db, data_dir, job_id, progress, arg, model_id, err, errlen);
	db_close(db);
	return rc;
}

int worker_run_new_job(const char *data_dir, const char *kind, const char *params_json,
		       void (*progress)(void *arg, float frac), void *arg,
		       int64_t *job_id, int64_t *model_id, char *err, size_t errlen)
{
	char e[1024], field[96], msg[300];
	if (!err) {
		err = e;
		errlen = sizeof e;
	}
	if (model_id)
		*model_id = 0;
	json_t *p = json_loads(params_json ? params_json : "{}", 0, NULL);
	bool ok = p && job_params_check(kind, p, false, "params", field, sizeof field, msg, sizeof msg);
	json_decref(p);
	if (!ok) {
		snprintf(err, errlen, "%s", p ? msg : "params: not JSON");
		return -1;
	}
	struct db *db = open_data_db(data_dir, err, errlen);
	if (!db)
		return -1;
	int64_t id = 0;
	int rc = db_begin(db);
	if (rc == 0)
		rc = db_job_create(db, kind, params_json, db_now(), &id);
	if (rc == 0)
		rc = db_commit(db);
	if (rc < 0) {
		db_rollback(db);
		db_close(db);
		snprintf(err, errlen, "cannot queue a %s job (database error)", kind);
		return -1;
	}
	if (job_id)
		*job_id = id;
	rc = run_claimed(db, data_dir, id, progress, arg, model_id, err, errlen);
	db_close(db);
	return rc;
}
