/*
 * server/worker/job_prior.c — a reward model's likelihood prior as the jobs
 * run it (model/trainer.h struct trainer_prior): the reward job fits one and
 * records it in the new version's metadata ("prior": model_id, w, b, mu, sd,
 * and the prompts' word counts its overlap feature weighs words by);
 * RL, eval, the promotion gate and the score job attach the recorded one to
 * the reward model they load, with its language model (the reference, reused
 * when the job loaded that version anyway).  Which prompts a job scores with
 * the prior alone (pr.alone) is the job's to set.  See job_impl.h.
 */
#include "server/worker/job_impl.h"
#include "db/traindata.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the features kept between jobs -------------------------------------------- */

#define PRIOR_STORE_MIN 4096
#define PRIOR_STORE_MAX ((size_t)1 << 20)  /* slots (32 MB): full, it starts afresh */

void prior_store_release(struct prior_store *s)
{
	free(s->uncond);
	free(s->slots);
	memset(s, 0, sizeof *s);
}

static struct prior_slot *store_find(struct prior_slot *slots, size_t cap, uint64_t key)
{
	size_t i = (size_t)key & (cap - 1);
	while (slots[i].key && slots[i].key != key)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

bool prior_store_get(void *ctx, uint64_t key, float *f)
{
	struct prior_store *s = ctx;
	struct prior_slot *e = s->cap ? store_find(s->slots, s->cap, key) : NULL;
	if (!e || e->key != key) {
		s->misses++;
		return false;
	}
	memcpy(f, e->f, sizeof e->f);
	s->hits++;
	return true;
}

/* Out of memory the feature is not kept: the store is a cache. */
void prior_store_put(void *ctx, uint64_t key, const float *f)
{
	struct prior_store *s = ctx;
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : PRIOR_STORE_MIN;
		if (cap > PRIOR_STORE_MAX) {
			/* full: afresh, at the size it had */
			memset(s->slots, 0, s->cap * sizeof *s->slots);
			s->n = 0;
		} else {
			struct prior_slot *slots = calloc(cap, sizeof *slots);
			if (!slots)
				return;
			for (size_t i = 0; i < s->cap; i++)
				if (s->slots[i].key)
					*store_find(slots, cap, s->slots[i].key) = s->slots[i];
			free(s->slots);
			s->slots = slots;
			s->cap = cap;
		}
	}
	struct prior_slot *e = store_find(s->slots, s->cap, key);
	if (!e->key)
		s->n++;
	e->key = key;
	memcpy(e->f, f, sizeof e->f);
}

int rm_prior_cache(struct job *j, struct rm_prior *p)
{
	struct prior_store *s = &j->cache->prior;
	uint64_t rivals = p->pr.rivals ? p->pr.rivals->hash : 0;
	bool same = s->lm_id == p->model_id && s->n_uncond == p->pr.n_uncond &&
		    s->rivals == rivals &&
		    (p->pr.n_uncond == 0 ||
		     !memcmp(s->uncond, p->pr.uncond, (size_t)p->pr.n_uncond * sizeof(int)));
	if (!same) {
		prior_store_release(s);
		if (p->pr.n_uncond > 0) {
			s->uncond = malloc((size_t)p->pr.n_uncond * sizeof(int));
			if (!s->uncond)
				return job_fail(j, -ENOMEM, "out of memory");
			memcpy(s->uncond, p->pr.uncond, (size_t)p->pr.n_uncond * sizeof(int));
		}
		s->n_uncond = p->pr.n_uncond;
		s->lm_id = p->model_id;
		s->rivals = rivals;
	}
	s->hits = s->misses = 0;
	p->tc = (struct trainer_prior_cache){ prior_store_get, prior_store_put, s };
	p->pr.cache = &p->tc;
	return 0;
}

void rm_prior_cache_report(struct job *j)
{
	const struct prior_store *s = &j->cache->prior;
	json_object_set_new(j->metrics, "prior_features_kept", json_integer(s->hits));
	job_log(j, "likelihood prior: the features of %lld answers seen before kept, %lld computed",
		(long long)s->hits, (long long)s->misses);
}

/* ---- the prior of a job ------------------------------------------------------------- */

void rm_prior_release(struct rm_prior *p)
{
	trainer_idf_release(&p->idf);
	trainer_rivals_release(&p->rivals);
	json_decref(p->df);
	job_toks_release(&p->uncond);
	llama_model_release(&p->own);
	modelstore_model_release(&p->m);
	memset(p, 0, sizeof *p);
}

static void word_seen(void *ctx, const char *word, size_t len)
{
	/* a word cut inside a character is not UTF-8: not counted (it weighs as
	 * a word in no prompt) */
	json_object_setn_new(ctx, word, len, json_true());
}

/* p->idf from {word: count} over n prompts (borrowed). */
static int idf_from_counts(struct job *j, struct rm_prior *p, const struct tokenizer *tk,
			   const json_t *df, int n, int64_t rm_id)
{
	const char *w;
	json_t *c;
	if (trainer_idf_init(&p->idf, tk, n) < 0)
		return job_fail(j, -ENOMEM, "out of memory");
	json_object_foreach((json_t *)df, w, c) {
		json_int_t k = json_integer_value(c);
		if (!json_is_integer(c) || k < 1 || k > n)
			return job_fail(j, -EINVAL, "reward model %lld: its prior counts the word "
					"\"%s\" in %s prompts of %d", (long long)rm_id, w,
					json_is_integer(c) ? "more" : "a non-number of", n);
		if (trainer_idf_add(&p->idf, w, strlen(w), (int)k) < 0)
			return job_fail(j, -ENOMEM, "out of memory");
	}
	p->n_prompts = n;
	p->pr.idf = &p->idf;
	return 0;
}

/* Every prompt of the database in like's template, tokenized by tk, end to
 * end into t; prompt i is t->ids[at[i], at[i] + len[i]) (*at and *len new). */
static int prior_prompts(struct job *j, const struct tokenizer *tk,
			 const struct modelstore_model *like, struct job_toks *t, int **at,
			 int **len, int *n)
{
	struct db_td_prompt *ps;
	int rc = 0;
	*at = *len = NULL;
	if (db_traindata_prompts(j->env->db, NULL, 0, &ps, n) < 0)
		return job_fail(j, -EIO, "cannot read the prompts for the prior");
	*at = malloc((size_t)(*n > 0 ? *n : 1) * sizeof **at);
	*len = malloc((size_t)(*n > 0 ? *n : 1) * sizeof **len);
	if (!*at || !*len) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < *n; i++) {
		(*at)[i] = (int)t->n;
		if ((rc = job_toks_prompt(j, t, tk, like, ps[i].text, ps[i].messages, &(*len)[i])) < 0)
			goto out;
	}
out:
	db_td_prompts_free(ps, *n);
	if (rc < 0) {
		free(*at);
		free(*len);
		*at = *len = NULL;
	}
	return rc;
}

/* p->rivals over the n prompts of t (prior_prompts'), p->pr.rivals at them. */
static int prior_rivals(struct job *j, struct rm_prior *p, const struct tokenizer *tk,
			const struct job_toks *t, const int *at, const int *len, int n)
{
	const int **ptr = malloc((size_t)(n > 0 ? n : 1) * sizeof *ptr);
	if (!ptr)
		return job_fail(j, -ENOMEM, "out of memory");
	for (int i = 0; i < n; i++)
		ptr[i] = t->ids + at[i];
	int rc = trainer_rivals_init(&p->rivals, tk, ptr, len, n);
	free(ptr);
	if (rc < 0)
		return job_fail(j, rc, "out of memory for the prior's rivals");
	p->pr.rivals = &p->rivals;
	return 0;
}

int rm_prior_idf(struct job *j, struct rm_prior *p, const struct tokenizer *tk,
		 const struct modelstore_model *like)
{
	int n = 0, rc = 0, *at = NULL, *len = NULL;
	json_t *df = json_object(), *seen = json_object();
	struct job_toks t = { 0 };
	if (!df || !seen) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = prior_prompts(j, tk, like, &t, &at, &len, &n)) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		json_object_clear(seen);
		trainer_words(tk, t.ids + at[i], len[i], word_seen, seen);
		const char *w;
		json_t *v;
		json_object_foreach(seen, w, v) {
			json_t *c = json_object_get(df, w);
			if (json_object_set_new(df, w, json_integer(c ? json_integer_value(c) + 1 : 1))) {
				rc = job_fail(j, -ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	if ((rc = idf_from_counts(j, p, tk, df, n, 0)) < 0 ||
	    (rc = prior_rivals(j, p, tk, &t, at, len, n)) < 0)
		goto out;
	json_decref(p->df);
	p->df = df;
	df = NULL;
out:
	job_toks_release(&t);
	free(at);
	free(len);
	json_decref(df);
	json_decref(seen);
	return rc;
}

/* The empty prompt in like's template, tokenized by tk, into p->uncond. */
static int prior_uncond(struct job *j, struct rm_prior *p, const struct modelstore_model *like,
			const struct tokenizer *tk)
{
	int len;
	p->uncond.n = 0;
	int rc = job_toks_prompt(j, &p->uncond, tk, like, "", NULL, &len);
	if (rc < 0)
		return rc;
	p->pr.uncond = p->uncond.ids;
	p->pr.n_uncond = (int)p->uncond.n;
	return 0;
}

/*
 * The rows of the prior's own language model: up to PRIOR_BATCH (the
 * features are forwards only; the demo model's small matrices ran 34k
 * tokens/s at 32 rows of 48 positions against 26k at 8 in isolation, though
 * a whole reward job's feature time moved less than this machine's speed
 * does from run to run), as far as PRIOR_LOGITS_BYTES of logits allow (a
 * 32,000-token vocabulary at 256 positions keeps the job's B).
 */
#define PRIOR_BATCH 32
#define PRIOR_LOGITS_BYTES ((size_t)64 << 20)

static int prior_batch(const struct llama_config *cfg, int B, int T)
{
	size_t row = (size_t)T * (size_t)cfg->vocab_size * sizeof(float);
	size_t fit = row > 0 ? PRIOR_LOGITS_BYTES / row : (size_t)B;
	int want = fit < PRIOR_BATCH ? (int)fit : PRIOR_BATCH;
	return want > B ? want : B;
}

/* Points p->pr.lm at version id: lm itself when id is lm_id (lm may be NULL),
 * else a forward-only model (at least B rows, T) of that version loaded into p. */
int rm_prior_lm(struct job *j, struct rm_prior *p, int64_t id, struct llama_model *lm,
		int64_t lm_id, const struct modelstore_model *like, const struct tokenizer *tk,
		int B, int T)
{
	p->model_id = id;
	int rc = prior_uncond(j, p, like, tk);
	if (rc < 0)
		return rc;
	if (lm && id == lm_id) {
		p->pr.lm = lm;
		return 0;
	}
	rc = job_load(j, id, &p->m);
	if (rc < 0)
		return rc;
	if (p->m.cfg.vocab_size != like->cfg.vocab_size || !modelstore_kind_generates(p->m.kind))
		return job_fail(j, -EINVAL, "the likelihood prior's model %lld is not a language "
				"model of %d tokens", (long long)id, like->cfg.vocab_size);
	if ((rc = job_llama(j, &p->own, &p->m, prior_batch(&p->m.cfg, B, T), T, LLAMA_NO_GRADS)) < 0)
		return rc;
	p->pr.lm = &p->own;
	return 0;
}

/* The metadata "prior" of a reward model: the version its features come
 * from and the fitted weights (new reference). */
json_t *rm_prior_json(const struct rm_prior *p)
{
	json_t *w = json_array(), *mu = json_array(), *sd = json_array();
	for (int i = 0; i < TRAINER_PRIOR_FEATS; i++) {
		json_array_append_new(w, json_real(p->pr.w[i]));
		json_array_append_new(mu, json_real(p->pr.mu[i]));
		json_array_append_new(sd, json_real(p->pr.sd[i]));
	}
	return json_pack("{sI s[sssssssss] so sf so so}", "model_id", (json_int_t)p->model_id,
			 "features", "mean_logprob", "min_logprob", "mean_pmi", "min_pmi",
			 "log_length", "sum_pmi", "rep4", "prompt_overlap", "recognition", "w", w, "b",
			 (double)p->pr.b, "mu", mu, "sd", sd);
}

json_t *rm_prior_meta(const struct rm_prior *p)
{
	json_t *o = rm_prior_json(p);
	if (o && p->df)
		json_object_set_new(o, "overlap", json_pack("{si sO}", "prompts", p->n_prompts,
							    "df", p->df));
	return o;
}

/* The overlap feature's weights from a prior's "overlap" (borrowed; NULL:
 * the feature stays 0). */
static int prior_idf_parse(struct job *j, struct rm_prior *p, const json_t *o,
			   const struct tokenizer *tk, int64_t rm_id)
{
	json_t *df;
	json_int_t n;
	if (!o)
		return 0;
	if (json_unpack((json_t *)o, "{sI so}", "prompts", &n, "df", &df) || n < 0 ||
	    n > INT32_MAX || !json_is_object(df))
		return job_fail(j, -EINVAL, "reward model %lld: its prior's \"overlap\" is not "
				"{prompts, df}", (long long)rm_id);
	return idf_from_counts(j, p, tk, df, (int)n, rm_id);
}

/*
 * Attaches the prior recorded in reward model mrm's metadata to rm (its
 * language model: lm when the prior's version is lm_id, else loaded with B,
 * T).  A reward model without "prior" scores with its network alone.  A
 * prior recorded with fewer features (before the PMI and length features,
 * 2026-12-05: the first two; before sum_pmi and rep4, 2026-12-05: the first
 * five; before prompt_overlap, 2026-12-05: seven; before recognition,
 * 2026-12-06: eight) scores as it did: the others weigh 0 (and recognition's
 * rivals are not looked up).
 */
int rm_prior_attach(struct job *j, const struct modelstore_model *mrm,
		    const struct tokenizer *tk, struct llama_model *rm, struct rm_prior *p,
		    struct llama_model *lm, int64_t lm_id, int B, int T)
{
	json_t *o = json_object_get(mrm->meta, "prior"), *w, *mu, *sd;
	json_int_t id;
	double b;
	if (!o)
		return 0;
	size_t nf = 0;
	if (json_unpack(o, "{sI so so so sF}", "model_id", &id, "w", &w, "mu", &mu, "sd", &sd,
			"b", &b) == 0)
		nf = json_array_size(w);
	if (nf < 2 || nf > TRAINER_PRIOR_FEATS || json_array_size(mu) != nf ||
	    json_array_size(sd) != nf)
		return job_fail(j, -EINVAL, "reward model %lld: its metadata's \"prior\" is not "
				"{model_id, w, b, mu, sd} with 2 to %d features", (long long)mrm->id,
				TRAINER_PRIOR_FEATS);
	for (size_t i = 0; i < TRAINER_PRIOR_FEATS; i++) {
		bool have = i < nf;
		p->pr.w[i] = have ? (float)json_number_value(json_array_get(w, i)) : 0.0f;
		p->pr.mu[i] = have ? (float)json_number_value(json_array_get(mu, i)) : 0.0f;
		p->pr.sd[i] = have ? (float)json_number_value(json_array_get(sd, i)) : 1.0f;
		if (!(p->pr.sd[i] > 0) || !isfinite(p->pr.w[i]) || !isfinite(p->pr.mu[i]))
			return job_fail(j, -EINVAL, "reward model %lld: bad \"prior\" weights",
					(long long)mrm->id);
	}
	p->pr.b = (float)b;
	int rc = prior_idf_parse(j, p, json_object_get(o, "overlap"), tk, mrm->id);
	if (rc < 0)
		return rc;
	if (nf > TRAINER_PRIOR_RECOGNITION) {
		/* the rivals: the database's prompts as they are now */
		struct job_toks t = { 0 };
		int n = 0, *at = NULL, *len = NULL;
		rc = prior_prompts(j, tk, mrm, &t, &at, &len, &n);
		if (rc == 0)
			rc = prior_rivals(j, p, tk, &t, at, len, n);
		job_toks_release(&t);
		free(at);
		free(len);
		if (rc < 0)
			return rc;
	}
	rc = rm_prior_lm(j, p, id, lm, lm_id, mrm, tk, B, T);
	if (rc < 0)
		return rc;
	rm->prior = &p->pr;
	return 0;
}
