/*
 * server/worker/job.c — running one job: its settings, reporting (progress, metrics,
 * cancellation) through the trainer hooks, the models it reads and the
 * version it writes, and the record of how it ended — with the settings it
 * ran with as metrics.settings (job_settings_json).  The kinds themselves are
 * job_generate.c and job_train.c, found in the registry of job_params.c; the
 * next job of an auto-training loop is queued by autotrain.c, and the score
 * job after a reward job here (record_end).  See job.h.
 */
#include "server/worker/job_impl.h"
#include "server/worker/autotrain.h"
#include "server/worker/spotcheck.h"
#include "server/worker/worker.h"
#include "db/db.h"
#include "db/jobs.h"
#include "model/lmdata.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double job_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int job_fail(struct job *j, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->err, sizeof j->err, fmt, ap);
	va_end(ap);
	return rc;
}

void job_log(struct job *j, const char *fmt, ...)
{
	if (j->env->quiet)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "rlhfd: job %lld (%s): %s\n", (long long)j->id, j->kind, line);
}

/* ---- reporting ------------------------------------------------------------- */

void job_flush(struct job *j, bool force)
{
	double now = job_now();
	if (!force && now - j->last_flush < JOB_FLUSH_SEC)
		return;
	j->last_flush = now;
	if (!j->progress_dirty && j->n_mbuf == 0)
		return;
	int rc = db_work_report(j->env->db, j->id, j->progress_dirty ? j->progress : -1,
				j->mbuf, j->n_mbuf);
	if (rc == 0 || force || j->n_mbuf > 1000000) {
		/* written, or given up on (a busy database at the very end, or a
		 * backlog no database would take): the job goes on either way */
		if (rc < 0)
			job_log(j, "dropped %zu metric values: the database did not take them", j->n_mbuf);
		j->n_mbuf = 0;
		j->progress_dirty = false;
	}
}

void job_metric(struct job *j, int step, const char *name, double value)
{
	if (!isfinite(value))
		return;
	if (j->n_mbuf == j->cap_mbuf) {
		size_t cap = j->cap_mbuf ? j->cap_mbuf * 2 : 256;
		struct db_work_metric *p = realloc(j->mbuf, cap * sizeof *p);
		if (!p)
			return;             /* a lost figure is not worth failing a job */
		j->mbuf = p;
		j->cap_mbuf = cap;
	}
	struct db_work_metric *m = &j->mbuf[j->n_mbuf++];
	m->step = step;
	snprintf(m->name, sizeof m->name, "%s", name);
	m->value = value;
	job_flush(j, false);
}

void job_progress(struct job *j, float frac)
{
	if (!(frac >= 0))
		frac = 0;
	if (frac > 1)
		frac = 1;
	if (frac <= j->progress)
		return;                     /* progress only rises */
	j->progress = frac;
	j->progress_dirty = true;
	if (j->env->progress)
		j->env->progress(j->env->progress_arg, j->id, frac);
	job_flush(j, false);
}

bool job_cancelled(struct job *j)
{
	if (j->cancel_seen)
		return true;
	if (j->env->stop && atomic_load(j->env->stop))
		return j->cancel_seen = true;
	if (j->env->cancel_id && atomic_load(j->env->cancel_id) == j->id)
		return j->cancel_seen = true;
	double now = job_now();
	if (now - j->last_poll >= JOB_POLL_SEC) {
		bool req = false;
		j->last_poll = now;
		if (db_work_cancel_requested(j->env->db, j->id, &req) == 0 && req)
			j->cancel_seen = true;
	}
	job_flush(j, false);
	return j->cancel_seen;
}

static void hook_progress(void *arg, float frac)
{
	job_progress(arg, frac);
}

static void hook_metric(void *arg, int step, const char *name, float value)
{
	job_metric(arg, step, name, value);
}

static bool hook_cancelled(void *arg)
{
	return job_cancelled(arg);
}

static void hook_log(void *arg, const char *line)
{
	job_log(arg, "%s", line);
}

/* ---- models ------------------------------------------------------------------ */

static int model_row(struct job *j, int64_t id, struct db_work_model *row, const char *what)
{
	int rc = db_work_model_get(j->env->db, id, row);
	if (rc == DB_NOTFOUND)
		return job_fail(j, -ENOENT, "%s: model %lld not found", what, (long long)id);
	if (rc < 0)
		return job_fail(j, -EIO, "%s: cannot read model %lld (database error)", what, (long long)id);
	return 0;
}

int job_policy_id(struct job *j, int64_t *id)
{
	struct db_work_model row;
	int64_t want = j->s.model_id;
	if (!want) {
		int rc = db_model_active(j->env->db, &want);
		if (rc == DB_NOTFOUND)
			return job_fail(j, -ENOENT, "no active model: import one (rlhfd import-model "
					"--activate) or activate a version");
		if (rc < 0)
			return job_fail(j, -EIO, "cannot read the active model (database error)");
	}
	int rc = model_row(j, want, &row, "model_id");
	if (rc < 0)
		return rc;
	bool gen = modelstore_kind_generates(row.kind);
	db_work_model_release(&row);
	if (!gen)
		return job_fail(j, -EINVAL, "model %lld is a reward model; this job needs a language "
				"model (base, sft or policy)", (long long)want);
	*id = want;
	return 0;
}

int job_reward_id(struct job *j, int64_t *id)
{
	struct db_work_model row;
	int64_t want = j->s.reward_model_id;
	if (!want) {
		int rc = db_work_model_latest(j->env->db, "reward", &want);
		if (rc == DB_NOTFOUND)
			return job_fail(j, -ENOENT, "no reward model: train one first (a reward job)");
		if (rc < 0)
			return job_fail(j, -EIO, "cannot read the models (database error)");
	}
	int rc = model_row(j, want, &row, "reward_model_id");
	if (rc < 0)
		return rc;
	bool ok = !strcmp(row.kind, "reward");
	db_work_model_release(&row);
	if (!ok)
		return job_fail(j, -EINVAL, "model %lld is not a reward model", (long long)want);
	*id = want;
	return 0;
}

int job_ref_id(struct job *j, int64_t policy_id, int64_t *id)
{
	struct db_work_model row;
	if (j->s.ref_model_id) {
		int rc = model_row(j, j->s.ref_model_id, &row, "ref_model_id");
		if (rc < 0)
			return rc;
		bool gen = modelstore_kind_generates(row.kind);
		db_work_model_release(&row);
		if (!gen)
			return job_fail(j, -EINVAL, "ref_model_id: model %lld is a reward model",
					(long long)j->s.ref_model_id);
		*id = j->s.ref_model_id;
		return 0;
	}
	/* the nearest SFT version up the parent chain (a chain is finite: parents
	 * are older rows; the bound only guards against a hand-edited loop) */
	int64_t cur = policy_id;
	for (int hops = 0; cur > 0 && hops < 100000; hops++) {
		int rc = model_row(j, cur, &row, "reference");
		if (rc < 0)
			return rc;
		bool sft = !strcmp(row.kind, "sft");
		int64_t parent = row.parent_id;
		db_work_model_release(&row);
		if (sft) {
			*id = cur;
			return 0;
		}
		cur = parent;
	}
	*id = policy_id;
	return 0;
}

int job_load(struct job *j, int64_t id, struct modelstore_model *m)
{
	if (modelstore_load(j->env->db, j->env->data_dir, id, m, j->err, sizeof j->err) < 0)
		return -EIO;
	return 0;
}

int job_max_T(const struct job *j, const struct modelstore_model *src, int need)
{
	int T = src->cfg.seq_len;
	if (j->s.max_seq > 0 && j->s.max_seq < T)
		T = j->s.max_seq;
	if (need > 0 && need < T)
		T = need;
	return T < 2 ? 2 : T;
}

int job_llama(struct job *j, struct llama_model *m, const struct modelstore_model *src,
	      int max_B, int max_T, unsigned flags)
{
	char e[300];
	if (max_T > src->cfg.seq_len)
		max_T = src->cfg.seq_len;
	if (llama_model_init(m, &src->cfg, max_B, max_T, flags, e, sizeof e) < 0)
		return job_fail(j, -ENOMEM, "model %lld: %s", (long long)src->id, e);
	memcpy(m->params, src->params, m->n_params * sizeof(float));
	m->score = src->score;
	return 0;
}

/* params of the job with what was resolved at run time, as JSON text. */
static char *version_params(struct job *j)
{
	json_t *p = json_deep_copy(j->params);
	if (!p)
		return NULL;
	json_object_update(p, j->resolved);
	json_object_set_new(p, "job_kind", json_string(j->kind));
	char *text = json_dumps(p, JSON_COMPACT | JSON_REAL_PRECISION(9));
	json_decref(p);
	return text;
}

int job_save_version(struct job *j, const char *kind, int64_t parent_id,
		     const struct modelstore_model *src, const struct llama_model *m,
		     json_t *metrics, const int64_t *rating_ids, size_t n_ratings, bool activate)
{
	char *params = version_params(j);
	char *mtext = json_dumps(metrics, JSON_COMPACT | JSON_REAL_PRECISION(9));
	if (!params || !mtext) {
		free(params);
		free(mtext);
		return job_fail(j, -ENOMEM, "out of memory");
	}
	struct modelstore_version v = {
		.kind = kind, .name = j->s.name, .parent_id = parent_id, .job_id = j->id,
		.params_json = params, .metrics_json = mtext, .rating_ids = rating_ids,
		.n_ratings = n_ratings, .activate = activate, .meta = src->meta,
		.score = strcmp(kind, "reward") ? NULL : modelstore_score_name(m->score),
	};
	int64_t id = 0;
	int rc = modelstore_save(j->env->db, j->env->data_dir, &v, &m->cfg, m->params, &id,
				 j->err, sizeof j->err);
	free(params);
	free(mtext);
	if (id > 0) {
		/* recorded (even when activating failed) */
		j->model_id = id;
		json_object_set_new(j->metrics, "model_id", json_integer(id));
	}
	if (rc < 0)
		return -EIO;
	json_object_set_new(j->metrics, "activated", json_boolean(activate &&
				modelstore_kind_generates(kind)));
	job_log(j, "new %s model %lld (parent %lld)%s", kind, (long long)id, (long long)parent_id,
		activate && modelstore_kind_generates(kind) ? ", active" : "");
	/* a new active version: its spot checks (picked now or pending) */
	if (activate && modelstore_kind_generates(kind) && spotcheck_activated(j->env->db, id, NULL) < 0)
		job_log(j, "spot checks of model %lld not recorded (database error)", (long long)id);
	return 0;
}

/* ---- tokens ------------------------------------------------------------------- */

void job_toks_release(struct job_toks *t)
{
	free(t->ids);
	memset(t, 0, sizeof *t);
}

static int toks_room(struct job *j, struct job_toks *t, size_t need)
{
	if (t->n + need <= t->cap)
		return 0;
	size_t cap = t->cap ? t->cap : 4096;
	while (cap < t->n + need)
		cap *= 2;
	int *p = realloc(t->ids, cap * sizeof *p);
	if (!p)
		return job_fail(j, -ENOMEM, "out of memory for tokens");
	t->ids = p;
	t->cap = cap;
	return 0;
}

static int toks_encode(struct job *j, struct job_toks *t, const struct tokenizer *tk,
		       const char *text, bool bos, int *len)
{
	size_t room = TOKENIZER_MAX_IDS(strlen(text)), n = 0;
	if (toks_room(j, t, room + 1) < 0)
		return -ENOMEM;
	int rc = tokenizer_encode(tk, text, bos, false, t->ids + t->n, room, &n);
	if (rc < 0)
		return job_fail(j, rc, "cannot encode a text of %zu bytes", strlen(text));
	t->n += n;
	*len = (int)n;
	return 0;
}

int job_toks_prompt(struct job *j, struct job_toks *t, const struct tokenizer *tk,
		    const struct modelstore_model *m, const char *prompt, const char *messages,
		    int *len)
{
	int *ids = NULL;
	size_t n = 0;
	int rc = gen_prompt_tokens(tk, m->template, m->system_template, prompt, messages, &ids, &n);
	if (rc < 0)
		return job_fail(j, rc, rc == -EINVAL ? "cannot read a prompt's conversation"
						     : "cannot encode a prompt of %zu bytes", strlen(prompt));
	if (toks_room(j, t, n + 1) < 0) {
		free(ids);
		return -ENOMEM;
	}
	memcpy(t->ids + t->n, ids, n * sizeof *ids);
	t->n += n;
	*len = (int)n;
	free(ids);
	return 0;
}

int job_toks_response(struct job *j, struct job_toks *t, const struct tokenizer *tk,
		      const struct modelstore_model *m, const char *text, bool ended, int *len)
{
	int rc = toks_encode(j, t, tk, text, false, len);
	if (rc < 0 || !ended)
		return rc;
	t->ids[t->n++] = m->eos_id;     /* toks_encode kept room for one more */
	(*len)++;
	return 0;
}

/* ---- the generator cache -------------------------------------------------------- */

struct job_cache *job_cache_new(void)
{
	return calloc(1, sizeof(struct job_cache));
}

static void cache_release(struct job_cache *c)
{
	if (c->loaded)
		gen_model_release(&c->g);
	c->loaded = false;
}

void job_cache_free(struct job_cache *c)
{
	if (!c)
		return;
	cache_release(c);
	prior_store_release(&c->prior);
	free(c);
}

int job_cache_get(struct job *j, int64_t id, int k, struct gen_model **g)
{
	struct job_cache *c = j->cache;
	char path[PATH_MAX], e[400];
	if (!c->loaded || c->id != id || c->g.max_k < k) {
		cache_release(c);
		if (modelstore_path(j->env->db, j->env->data_dir, id, path, sizeof path, j->err,
				    sizeof j->err) < 0)
			return -EIO;
		/* the tokenizer: the sidecar's, beside the checkpoint (modelstore.h) */
		if (gen_model_load(&c->g, path, NULL, k, e, sizeof e) < 0)
			return job_fail(j, -EIO, "model %lld: %s", (long long)id, e);
		c->loaded = true;
		c->id = id;
	}
	*g = &c->g;
	return 0;
}

/* ---- the run ----------------------------------------------------------------------- */

/* After a reward job that made model j->model_id, inside the transaction
 * that records its success: queues a score job of that model (job_score.c),
 * so every answer gets its score beside the human ones.  Its params have no
 * "auto": it is not a step of the auto-training loop, whether the reward job
 * was; the worker runs queued score jobs after every other queued job
 * (db_work_claim), so the loop's RL and generate jobs go first and the
 * scores cover the answers the round generated. */
static int queue_score(struct job *j)
{
	json_t *p = json_pack("{sI}", "reward_model_id", (json_int_t)j->model_id);
	char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
	int64_t id = 0;
	int rc = text ? db_job_create(j->env->db, "score", text, db_now(), &id) : DB_ERROR;
	if (rc == 0) {
		json_object_set_new(j->metrics, "score_job_id", json_integer(id));
		job_log(j, "queued score job %lld", (long long)id);
	}
	free(text);
	json_decref(p);
	return rc;
}

/* Records how the job ended; retries a busy database a few times (the row
 * must not stay 'running'). */
static void record_end(struct job *j, const char *status, const char *error)
{
	bool chain = !strcmp(status, "succeeded") && j->s.auto_chain;
	bool score = !strcmp(status, "succeeded") && !strcmp(j->kind, "reward") && j->model_id > 0;
	for (int attempt = 0; attempt < 5; attempt++) {
		/* the loop's next job first: what it decides goes into the metrics
		 * (auto_next), recorded with the end in one transaction */
		char *metrics = NULL;
		int rc = db_begin(j->env->db);
		if (rc == 0 && chain)
			rc = autotrain_queue_next(j);
		if (rc == 0 && score)
			rc = queue_score(j);
		/* the reward-hacking watch: a pending pick's score job, or its pick */
		if (rc == 0 && !strcmp(status, "succeeded") &&
		    (!strcmp(j->kind, "generate") || !strcmp(j->kind, "score")))
			rc = spotcheck_after_job(j);
		if (rc == 0 && !(metrics = json_dumps(j->metrics, JSON_COMPACT | JSON_REAL_PRECISION(9))))
			rc = DB_ERROR;
		if (rc == 0)
			rc = db_work_finish(j->env->db, j->id, status, error, metrics, j->model_id, db_now());
		free(metrics);
		if (rc == 0 && (rc = db_commit(j->env->db)) == 0)
			break;
		db_rollback(j->env->db);
		if (rc == DB_CONFLICT) {
			job_log(j, "the job was no longer running when it ended");
			break;
		}
		job_log(j, "cannot record the end of the job (database %s)%s",
			rc == DB_BUSY ? "busy" : "error", attempt < 4 ? ", retrying" : "");
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int job_run(struct job_env *env, const struct db_work_job *wj, int64_t *model_id,
	    char *err, size_t errlen)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	j->env = env;
	j->cache = env->cache ? env->cache : &j->own_cache;
	j->id = wj->id;
	j->kind = wj->kind;
	j->started = job_now();
	j->last_flush = j->last_poll = j->started;
	j->hooks = (struct trainer_hooks){ .arg = j, .progress = hook_progress, .metric = hook_metric,
					   .cancelled = hook_cancelled, .log = hook_log };
	j->params = json_loads(wj->params ? wj->params : "{}", 0, NULL);
	j->metrics = json_object();
	j->resolved = json_object();
	const struct job_kind *kind;
	char msg[400];
	int rc;
	if (!j->metrics || !j->resolved)
		rc = job_fail(j, -ENOMEM, "out of memory");
	else if (!json_is_object(j->params))
		rc = job_fail(j, -EINVAL, "bad params: not a JSON object");
	else if (!(kind = job_kind_find(j->kind)))
		rc = job_fail(j, -EINVAL, "bad params: unknown job kind '%s'", j->kind);
	else if (!job_settings_parse(kind, j->params, j->id, &j->s, msg, sizeof msg))
		rc = job_fail(j, -EINVAL, "bad params: %s", msg);
	else {
		j->def = kind;
		job_log(j, "started");
		rc = kind->run(j);
	}
	job_flush(j, true);

	double secs = job_now() - j->started;
	json_object_set_new(j->metrics, "seconds", json_real(round(secs * 1000) / 1000));
	if (j->def)
		json_object_set_new(j->metrics, "settings", job_settings_json(j->def, &j->s, j->params,
									      j->resolved, j->metrics));
	const char *status;
	if (rc == 0) {
		status = "succeeded";
		record_end(j, status, NULL);
	} else if (rc == -ECANCELED && env->stop && atomic_load(env->stop)) {
		status = "failed";
		snprintf(j->err, sizeof j->err, "%s", JOB_INTERRUPTED);
		record_end(j, status, j->err);
	} else if (rc == -ECANCELED) {
		status = "cancelled";
		snprintf(j->err, sizeof j->err, "cancelled");
		record_end(j, status, NULL);
	} else {
		status = "failed";
		if (!j->err[0])
			snprintf(j->err, sizeof j->err, "failed (%s)", strerror(-rc));
		record_end(j, status, j->err);
	}
	if (rc == 0)
		job_log(j, "succeeded in %.1f s", secs);
	else
		job_log(j, "%s after %.1f s: %s", status, secs, j->err);
	if (err && errlen)
		snprintf(err, errlen, "%s", rc == 0 ? "" : j->err);
	if (model_id)
		*model_id = j->model_id;

	if (j->cache == &j->own_cache) {
		cache_release(&j->own_cache);
		prior_store_release(&j->own_cache.prior);
	}
	json_decref(j->params);
	json_decref(j->metrics);
	json_decref(j->resolved);
	free(j->mbuf);
	free(j);
	return rc;
}
