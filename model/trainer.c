/*
 * model/trainer.c — the offline training procedures of model/trainer.h: SFT,
 * the reward model and DPO, plus what every procedure shares (reporting
 * through the hooks, packing sequences into padded rows, the training step —
 * forward, the caller's loss, backward — over one micro-batch, running a model
 * over many sequences, the optimizer set-up).  The on-policy methods and
 * evaluation are in model/trainer_rl.c.
 *
 * Each procedure reads top to bottom as prepare (check the input, allocate
 * once into a zeroed job struct), step (one optimizer step: micro-batches
 * through trainer_step_forward, the loss, trainer_step_backward, then AdamW)
 * and evaluate; the job is released on every path.
 */
#include "model/trainer.h"
#include "model/trainer_impl.h"
#include "model/rl.h"
#include "model/rng.h"
#include "model/stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- reporting ------------------------------------------------------------ */

void trainer_run_init(struct trainer_run *run, const struct trainer_hooks *h, char *err,
		      size_t errlen)
{
	run->h = h;
	run->progress = 0.0f;
	run->err = err;
	run->errlen = err ? errlen : 0;
	if (err && errlen)
		err[0] = '\0';
}

void trainer_progress(struct trainer_run *run, float frac)
{
	if (!(frac >= run->progress))
		frac = run->progress;  /* also catches NAN */
	if (frac > 1.0f)
		frac = 1.0f;
	run->progress = frac;
	if (run->h && run->h->progress)
		run->h->progress(run->h->arg, frac);
}

void trainer_metric(struct trainer_run *run, int step, const char *name, float value)
{
	if (run->h && run->h->metric)
		run->h->metric(run->h->arg, step, name, value);
}

void trainer_logf(struct trainer_run *run, const char *fmt, ...)
{
	if (!run->h || !run->h->log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	run->h->log(run->h->arg, line);
}

int trainer_fail(struct trainer_run *run, int code, const char *fmt, ...)
{
	if (run->err && run->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(run->err, run->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

bool trainer_cancelled(struct trainer_run *run)
{
	if (!run->h || !run->h->cancelled || !run->h->cancelled(run->h->arg))
		return false;
	trainer_fail(run, -ECANCELED, "cancelled");
	trainer_logf(run, "cancelled");
	return true;
}

double trainer_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- randomness ----------------------------------------------------------- */

uint64_t trainer_rng_seed(uint64_t seed, uint64_t salt)
{
	uint64_t s = seed ^ (salt * 0xD1B54A32D192ED03ull);
	rng_splitmix64(&s);
	return s;
}

void trainer_shuffle(int *v, int n, uint64_t *s)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rng_splitmix64(s) % (uint64_t)(i + 1));
		int t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

/* normal(0, 1) by Box-Muller */
static double rand_normal(uint64_t *s)
{
	double u1 = ((rng_splitmix64(s) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
	double u2 = (rng_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- sequences and rows --------------------------------------------------- */

int trainer_seq_check(struct trainer_run *run, const struct trainer_seq *s, int vocab,
		      const char *what, int index)
{
	if (s->n < 1 || !s->tokens)
		return trainer_fail(run, -EINVAL, "%s %d: empty sequence", what, index);
	if (s->prompt_len < 0 || s->prompt_len > s->n)
		return trainer_fail(run, -EINVAL, "%s %d: prompt length %d outside 0..%d", what,
				    index, s->prompt_len, s->n);
	for (int t = 0; t < s->n; t++)
		if (s->tokens[t] < 0 || s->tokens[t] >= vocab)
			return trainer_fail(run, -EINVAL, "%s %d: token %d at %d outside the vocabulary of %d",
					    what, index, s->tokens[t], t, vocab);
	return 0;
}

/* First position that scores a response token: token j is predicted at j-1,
 * and token 0 never is. */
static int first_scored(const struct trainer_seq *s)
{
	return (s->prompt_len > 1 ? s->prompt_len : 1) - 1;
}

static int kept_len(const struct trainer_seq *s, int max_T, bool need_last)
{
	int keep = need_last ? max_T : max_T + 1;
	return s->n < keep ? s->n : keep;
}

int trainer_seq_scored(const struct trainer_seq *s, int max_T, bool need_last)
{
	int len = kept_len(s, max_T, need_last);
	int k = len - 1 - first_scored(s);
	return k > 0 ? k : 0;
}

/* The positions [*a, *b) whose values make the score of a row that kept len
 * tokens of s: its last token, or (LLAMA_SCORE_MEAN) its response's tokens
 * prompt_len .. len-1 — the last token when none of the response was kept. */
static void score_span(const struct trainer_seq *s, int len, enum llama_score mode, int *a, int *b)
{
	int f = s->prompt_len > 1 ? s->prompt_len : 1;
	*a = mode == LLAMA_SCORE_MEAN && f < len ? f : len - 1;
	*b = len;
}

/* A row's score from its values (len); see enum llama_score. */
static float seq_score_forward(const float *values, const struct trainer_seq *s, int len,
			       enum llama_score mode)
{
	int a, b;
	score_span(s, len, mode, &a, &b);
	double sum = 0;
	for (int t = a; t < b; t++)
		sum += values[t];
	return (float)(sum / (b - a));
}

/* Accumulates dLoss/dvalues (len) of a row from dLoss/dscore. */
static void seq_score_backward(float *dvalues, const struct trainer_seq *s, int len,
			       enum llama_score mode, float dscore)
{
	int a, b;
	score_span(s, len, mode, &a, &b);
	for (int t = a; t < b; t++)
		dvalues[t] += dscore / (float)(b - a);
}

int trainer_rows_init(struct trainer_rows *r, int cap_B, int cap_T)
{
	memset(r, 0, sizeof *r);
	size_t N = (size_t)cap_B * cap_T;
	r->cap_B = cap_B;
	r->cap_T = cap_T;
	r->tokens = malloc(N * sizeof(int));
	r->targets = malloc(N * sizeof(int));
	r->mask = malloc(N * sizeof(float));
	r->len = malloc((size_t)cap_B * sizeof(int));
	r->seqs = malloc((size_t)cap_B * sizeof *r->seqs);
	r->grad = calloc(N, sizeof(float));
	bool ok = r->tokens && r->targets && r->mask && r->len && r->seqs && r->grad;
	for (int i = 0; i < 4; i++) {
		r->s[i] = calloc(N, sizeof(float));
		ok = ok && r->s[i];
	}
	if (!ok) {
		trainer_rows_release(r);
		return -ENOMEM;
	}
	return 0;
}

void trainer_rows_release(struct trainer_rows *r)
{
	if (!r)
		return;
	free(r->tokens);
	free(r->targets);
	free(r->mask);
	free(r->len);
	free(r->seqs);
	free(r->grad);
	for (int i = 0; i < 4; i++)
		free(r->s[i]);
	memset(r, 0, sizeof *r);
}

int trainer_rows_pack(struct trainer_rows *r, const struct trainer_seq *const *seqs, int n,
		      int max_T, bool need_last)
{
	int T = 1, counted = 0;
	for (int b = 0; b < n; b++) {
		int len = kept_len(seqs[b], max_T, need_last);
		int pos = need_last ? len : len - 1;
		r->len[b] = len;
		if (pos > T)
			T = pos;
	}
	r->B = n;
	r->T = T;
	for (int b = 0; b < n; b++) {
		const struct trainer_seq *s = seqs[b];
		int len = r->len[b], pos = need_last ? len : len - 1, f = first_scored(s);
		int *tok = r->tokens + (size_t)b * T, *tg = r->targets + (size_t)b * T;
		float *mk = r->mask + (size_t)b * T;
		for (int t = 0; t < T; t++) {
			tok[t] = t < pos ? s->tokens[t] : 0;
			tg[t] = t + 1 < len ? s->tokens[t + 1] : -1;
			mk[t] = t >= f && t + 1 < len ? 1.0f : 0.0f;
			counted += t >= f && t + 1 < len;
		}
	}
	return counted;
}

/* ---- the training step ------------------------------------------------------ */

int trainer_step_forward(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
			 const struct trainer_seq *const *seqs, int B, int max_T, unsigned what,
			 const char *name)
{
	int n_masked = trainer_rows_pack(r, seqs, B, max_T, what & LLAMA_VALUES);
	r->what = what;
	if (llama_forward(m, r->tokens, r->targets, B, r->T, what) < 0)
		return trainer_fail(run, -EINVAL, "%s%sforward of %d x %d tokens failed",
				    name ? name : "", name ? " " : "", B, r->T);
	memset(r->grad, 0, (size_t)B * r->T * sizeof(float));
	return n_masked;
}

int trainer_step_backward(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
			  const char *name)
{
	bool lp = r->what & LLAMA_LOGPROBS;
	if (llama_backward(m, lp ? r->grad : NULL, NULL, lp ? NULL : r->grad) < 0)
		return trainer_fail(run, -EINVAL, "%s backward failed", name);
	return 0;
}

int trainer_step_ce(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
		    const struct trainer_seq *const *seqs, int B, int max_T, float norm,
		    float *loss, const char *name)
{
	int n_masked = trainer_rows_pack(r, seqs, B, max_T, false);
	r->what = 0;
	if (llama_lm_forward_backward(m, r->tokens, r->targets, r->mask, B, r->T, norm, loss) < 0)
		return trainer_fail(run, -EINVAL, "%s forward of %d x %d tokens failed", name, B,
				    r->T);
	return n_masked;
}

float trainer_masked_sum(const float *mask, const float *x, int T)
{
	double sum = 0;
	for (int t = 0; t < T; t++)
		sum += mask[t] * x[t];
	return (float)sum;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* rep-4 of tok (n): 1 - distinct 4-grams / all 4-grams (Welleck et al. 2019,
 * seq-rep-4), each 4-gram by a 64-bit hash of its tokens. */
static float rep4(const int *tok, int n)
{
	static _Thread_local uint64_t h[TRAINER_PRIOR_MAX_L];
	n = n < TRAINER_PRIOR_MAX_L ? n : TRAINER_PRIOR_MAX_L;
	if (!tok || n < 4)
		return 0.0f;
	int m = n - 3, distinct = 1;
	for (int i = 0; i < m; i++) {
		uint64_t x = 1469598103934665603ull;
		for (int k = 0; k < 4; k++)
			x = (x ^ (uint32_t)tok[i + k]) * 1099511628211ull;
		h[i] = x;
	}
	qsort(h, (size_t)m, sizeof *h, cmp_u64);
	for (int i = 1; i < m; i++)
		distinct += h[i] != h[i - 1];
	return 1.0f - (float)distinct / (float)m;
}

void trainer_prior_features(float *f, const float *lp, const float *ulp, int L, const int *tok)
{
	double sum = 0, dsum = 0;
	float mn = 0.0f, dmn = 0.0f;
	for (int t = 0; t < L; t++) {
		float x = lp[t] > TRAINER_PRIOR_FLOOR ? lp[t] : TRAINER_PRIOR_FLOOR;
		float u = !ulp ? x : ulp[t] > TRAINER_PRIOR_FLOOR ? ulp[t] : TRAINER_PRIOR_FLOOR;
		sum += x;
		dsum += x - u;
		mn = t == 0 || x < mn ? x : mn;
		dmn = t == 0 || x - u < dmn ? x - u : dmn;
	}
	f[0] = L > 0 ? (float)(sum / L) : 0.0f;
	f[1] = mn;
	f[2] = L > 0 ? (float)(dsum / L) : 0.0f;
	f[3] = dmn;
	f[4] = L > 0 ? logf((float)L) : 0.0f;
	f[5] = (float)dsum;
	f[6] = rep4(tok, L);
	f[TRAINER_PRIOR_OVERLAP] = 0.0f;
	f[TRAINER_PRIOR_RECOGNITION] = 0.0f;
}

/* ---- the overlap feature's words ------------------------------------------------ */

uint64_t trainer_word_key(const char *word, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)word[i]) * 1099511628211ull;
	return h ? h : 1;
}

int trainer_idf_init(struct trainer_idf *d, const struct tokenizer *tk, int n_prompts)
{
	memset(d, 0, sizeof *d);
	d->tk = tk;
	d->unseen = logf((float)n_prompts + 1.0f);
	d->cap = 64;
	d->key = calloc(d->cap, sizeof *d->key);
	d->w = malloc(d->cap * sizeof *d->w);
	if (!d->key || !d->w) {
		trainer_idf_release(d);
		return -ENOMEM;
	}
	return 0;
}

void trainer_idf_release(struct trainer_idf *d)
{
	free(d->key);
	free(d->w);
	memset(d, 0, sizeof *d);
}

static size_t idf_slot(const uint64_t *keys, size_t cap, uint64_t k)
{
	size_t i = (size_t)(k ^ (k >> 29)) & (cap - 1);
	while (keys[i] && keys[i] != k)
		i = (i + 1) & (cap - 1);
	return i;
}

int trainer_idf_add(struct trainer_idf *d, const char *word, size_t len, int df)
{
	if (2 * (d->n + 1) > d->cap) {
		size_t cap = 2 * d->cap;
		uint64_t *key = calloc(cap, sizeof *key);
		float *w = malloc(cap * sizeof *w);
		if (!key || !w) {
			free(key);
			free(w);
			return -ENOMEM;
		}
		for (size_t i = 0; i < d->cap; i++)
			if (d->key[i]) {
				size_t at = idf_slot(key, cap, d->key[i]);
				key[at] = d->key[i];
				w[at] = d->w[i];
			}
		free(d->key);
		free(d->w);
		d->key = key;
		d->w = w;
		d->cap = cap;
	}
	uint64_t k = trainer_word_key(word, len);
	size_t at = idf_slot(d->key, d->cap, k);
	d->n += !d->key[at];
	d->key[at] = k;
	/* unseen = log(N + 1): the same N */
	d->w[at] = d->unseen - logf((float)df + 1.0f);
	return 0;
}

float trainer_idf_weight(const struct trainer_idf *d, uint64_t k)
{
	size_t at = idf_slot(d->key, d->cap, k);
	return d->key[at] ? d->w[at] : d->unseen;
}

static bool word_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c >= 0x80;
}

void trainer_words(const struct tokenizer *tk, const int *tok, int n,
		   void (*fn)(void *ctx, const char *word, size_t len), void *ctx)
{
	char w[TRAINER_WORD_MAX];
	size_t wl = 0;
	bool in = false;
	int prev = -1;
	for (int i = 0; i <= n; i++) {
		size_t pl = 0;
		const char *p = i < n && tok[i] > 2 ? tokenizer_piece(tk, prev, tok[i], &pl) : NULL;
		/* a special token ends a word as a space would */
		if (!p) {
			p = " ";
			pl = 1;
		}
		for (size_t k = 0; k < pl; k++) {
			unsigned char c = (unsigned char)p[k];
			if (word_byte(c)) {
				if (wl < sizeof w)
					w[wl++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
				in = true;
			} else if (in) {
				fn(ctx, w, wl);
				wl = 0;
				in = false;
			}
		}
		prev = i < n ? tok[i] : prev;
	}
}

void trainer_word_keys_add(void *ctx, const char *word, size_t len)
{
	struct trainer_word_keys *w = ctx;
	if (w->n < w->cap)
		w->k[w->n++] = trainer_word_key(word, len);
}

float trainer_prior_overlap(const struct trainer_idf *d, const int *prompt, int P, const int *ans,
			    int A)
{
	static _Thread_local uint64_t pk[TRAINER_PRIOR_MAX_L], ak[TRAINER_PRIOR_MAX_L];
	if (!d || !d->tk)
		return 0.0f;
	struct trainer_word_keys pw = { pk, 0, TRAINER_PRIOR_MAX_L },
				 aw = { ak, 0, TRAINER_PRIOR_MAX_L };
	trainer_words(d->tk, prompt, P, trainer_word_keys_add, &pw);
	trainer_words(d->tk, ans, A, trainer_word_keys_add, &aw);
	qsort(pk, (size_t)pw.n, sizeof *pk, cmp_u64);
	qsort(ak, (size_t)aw.n, sizeof *ak, cmp_u64);
	double all = 0, found = 0;
	for (int i = 0; i < pw.n; i++) {
		if (i > 0 && pk[i] == pk[i - 1])
			continue;       /* each of the prompt's words once */
		double w = trainer_idf_weight(d, pk[i]);
		all += w;
		if (bsearch(&pk[i], ak, (size_t)aw.n, sizeof *ak, cmp_u64))
			found += w;
	}
	return all > 0 ? (float)(found / all) : 0.0f;
}

/* f[TRAINER_PRIOR_OVERLAP] of seqs[i] in row at[i] (NULL: i) of feats: the
 * one feature that depends on the prior's idf, not its language model, so
 * never taken from the cache. */
static void prior_set_overlap(const struct trainer_prior *pr, const struct trainer_seq *const *seqs,
			      int n, const int *at, float *feats)
{
	for (int i = 0; i < n; i++) {
		const struct trainer_seq *s = seqs[i];
		feats[(size_t)(at ? at[i] : i) * TRAINER_PRIOR_FEATS + TRAINER_PRIOR_OVERLAP] =
			trainer_prior_overlap(pr->idf, s->tokens, s->prompt_len,
					      s->tokens + s->prompt_len, s->n - s->prompt_len);
	}
}

float trainer_prior_score(const struct trainer_prior *pr, const float *f)
{
	double s = pr->b;
	for (int i = 0; i < TRAINER_PRIOR_FEATS; i++)
		if (pr->w[i] != 0.0f)   /* a feature of weight 0 (one a prior was
					   recorded without) says nothing */
			s += pr->w[i] * (f[i] - pr->mu[i]) / pr->sd[i];
	return (float)s;
}

/*
 * The order to run seqs[0..n) in for a forward-only pass: by length (stable),
 * so that a micro-batch of neighbours pads little — each row's outputs are its
 * own whatever rows share its batch.  *sorted (new, n pointers) gets the
 * sequences in that order, the return value (new, n) where each came from;
 * free both.  NULL out of memory.
 */
static int *len_order(const struct trainer_seq *const *seqs, int n,
		      const struct trainer_seq ***sorted)
{
	int longest = 0;
	for (int i = 0; i < n; i++)
		longest = seqs[i]->n > longest ? seqs[i]->n : longest;
	int *ord = malloc((size_t)(n > 0 ? n : 1) * sizeof *ord);
	int *count = calloc((size_t)longest + 2, sizeof *count);
	*sorted = malloc((size_t)(n > 0 ? n : 1) * sizeof **sorted);
	if (!ord || !count || !*sorted) {
		free(ord);
		free(count);
		free(*sorted);
		*sorted = NULL;
		return NULL;
	}
	for (int i = 0; i < n; i++)
		count[seqs[i]->n + 1]++;
	for (int l = 1; l <= longest + 1; l++)
		count[l] += count[l - 1];
	for (int i = 0; i < n; i++) {
		int at = count[seqs[i]->n]++;
		ord[at] = i;
		(*sorted)[at] = seqs[i];
	}
	free(count);
	return ord;
}

/* Masked log-probs of row b of the last forward on lm into out; their count. */
static int row_logprobs(const struct trainer_rows *r, const struct llama_model *lm, int b,
			float *out, int cap)
{
	const float *mask = r->mask + (size_t)b * r->T, *lp = lm->acts.logprobs + (size_t)b * r->T;
	int L = 0;
	for (int t = 0; t < r->T && L < cap; t++)
		if (mask[t] > 0)
			out[L++] = lp[t];
	return L;
}

uint64_t trainer_seq_hash(const struct trainer_seq *s)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)s->prompt_len;
	h = rng_splitmix64(&h) ^ (uint64_t)s->n;
	for (int t = 0; t < s->n; t++) {
		uint64_t st = h ^ (uint32_t)s->tokens[t];
		h = rng_splitmix64(&st);
	}
	return h ? h : 1;
}

/*
 * The scratch of the recognition feature over a pool of up to cap answers of
 * at most longest tokens.  An answer's rival sequences (a rival prompt, then
 * the answer) are as long as the rival prompts make them, so the pool's are
 * run sorted by length, step rows a forward: little padding.
 */
enum { RIVAL_POOL = 256 };       /* answers a pool gathers before its rivals run */
struct rival_rows {
	int K;                       /* rivals per answer at most */
	int cap, longest, stride;
	double *own;                 /* (cap, longest + 1) prefix sums of an answer's
					floored log-probs after its own prompt */
	int *own_len;                /* (cap) how many it has */
	int *n_pick;                 /* (cap) its rivals */
	double *diff;                /* (cap, K) S(rival) - S(own) */
	struct trainer_seq *seq;     /* (cap * K) the rival sequences */
	int *order;                  /* (cap * K) their order by length */
	const struct trainer_seq **ptr; /* (cap * K) a forward's rows */
	int *who;                    /* (cap * K, 2) answer and rival of each */
	int *tok;                    /* (cap * K, stride) their tokens */
	float *score;                /* (rivals->n) trainer_rivals_pick's scratch */
	int *touched;                /* (rivals->n) */
};

static void rival_rows_release(struct rival_rows *x)
{
	free(x->own);
	free(x->own_len);
	free(x->n_pick);
	free(x->diff);
	free(x->seq);
	free(x->order);
	free(x->ptr);
	free(x->who);
	free(x->tok);
	free(x->score);
	free(x->touched);
}

static int rival_rows_init(struct rival_rows *x, const struct trainer_rivals *rv, int cap,
			   int longest)
{
	x->K = TRAINER_PRIOR_RIVALS;
	x->cap = cap;
	x->longest = longest;
	x->stride = rv->longest + longest > 0 ? rv->longest + longest : 1;
	size_t rows = (size_t)cap * x->K;
	x->own = malloc((size_t)cap * (longest + 1) * sizeof *x->own);
	x->own_len = malloc((size_t)cap * sizeof *x->own_len);
	x->n_pick = malloc((size_t)cap * sizeof *x->n_pick);
	x->diff = malloc(rows * sizeof *x->diff);
	x->seq = malloc(rows * sizeof *x->seq);
	x->order = malloc(rows * sizeof *x->order);
	x->ptr = malloc(rows * sizeof *x->ptr);
	x->who = malloc(rows * 2 * sizeof *x->who);
	x->tok = malloc(rows * x->stride * sizeof *x->tok);
	x->score = calloc((size_t)(rv->n > 0 ? rv->n : 1), sizeof *x->score);
	x->touched = malloc((size_t)(rv->n > 0 ? rv->n : 1) * sizeof *x->touched);
	return x->own && x->own_len && x->n_pick && x->diff && x->seq && x->order && x->ptr &&
	       x->who && x->tok && x->score && x->touched ? 0 : -ENOMEM;
}

/* Records answer b's floored log-probs lp (L) after its own prompt. */
static void rival_rows_own(struct rival_rows *x, int b, const float *lp, int L)
{
	double *o = x->own + (size_t)b * (x->longest + 1);
	o[0] = 0;
	for (int t = 0; t < L; t++)
		o[t + 1] = o[t] + (lp[t] > TRAINER_PRIOR_FLOOR ? lp[t] : TRAINER_PRIOR_FLOOR);
	x->own_len[b] = L;
}

/* The rival sequences order[c0..c0 + nb) in one forward; their log-prob sums
 * into x->diff. */
static int rival_rows_run(const struct trainer_prior *pr, struct trainer_rows *r,
			  struct trainer_run *run, struct rival_rows *x, int c0, int nb, int max_T)
{
	float buf[TRAINER_PRIOR_MAX_L];
	for (int c = 0; c < nb; c++)
		x->ptr[c] = &x->seq[x->order[c0 + c]];
	int rc = trainer_step_forward(pr->lm, r, run, x->ptr, nb, max_T, LLAMA_LOGPROBS,
				      "likelihood prior's rivals");
	if (rc < 0)
		return rc;
	for (int c = 0; c < nb; c++) {
		int q = x->order[c0 + c], b = x->who[2 * q], j = x->who[2 * q + 1];
		int L = row_logprobs(r, pr->lm, c, buf, (int)(sizeof buf / sizeof buf[0]));
		int m = L < x->own_len[b] ? L : x->own_len[b];
		double sum = 0;
		for (int t = 0; t < m; t++)
			sum += buf[t] > TRAINER_PRIOR_FLOOR ? buf[t] : TRAINER_PRIOR_FLOOR;
		x->diff[b * x->K + j] = sum - x->own[(size_t)b * (x->longest + 1) + m];
	}
	return 0;
}

static _Thread_local const struct trainer_seq *sort_seqs; /* cmp_seq_len's */
static int cmp_seq_len(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	int d = sort_seqs[x].n - sort_seqs[y].n;
	return d ? d : x - y;
}

/* f[TRAINER_PRIOR_RECOGNITION] of the pool seqs[i0..i0 + nb) (rows at[i],
 * NULL = i, of feats) whose own log-probs x->own holds: each answer's rivals
 * picked, their sequences run by length, step rows a forward. */
static int prior_recognition_rows(const struct trainer_prior *pr, struct trainer_rows *r,
				  struct trainer_run *run, struct rival_rows *x,
				  const struct trainer_seq *const *seqs, int i0, int nb, int step,
				  int max_T, const int *at, float *feats)
{
	const struct trainer_rivals *rv = pr->rivals;
	int q = 0, rc, pick[TRAINER_PRIOR_RIVALS];
	for (int b = 0; b < nb; b++) {
		const struct trainer_seq *s = seqs[i0 + b];
		int a = s->n - s->prompt_len;
		x->n_pick[b] = trainer_rivals_pick(rv, s->tokens, s->prompt_len,
						   s->tokens + s->prompt_len, a, x->K, pick,
						   x->score, x->touched);
		for (int j = 0; j < x->n_pick[b]; j++, q++) {
			int P = (int)(rv->start[pick[j] + 1] - rv->start[pick[j]]);
			int *tok = x->tok + (size_t)q * x->stride;
			memcpy(tok, rv->tokens + rv->start[pick[j]], (size_t)P * sizeof *tok);
			memcpy(tok + P, s->tokens + s->prompt_len, (size_t)a * sizeof *tok);
			x->seq[q] = (struct trainer_seq){ tok, P + a, P, s->ended };
			x->who[2 * q] = b;
			x->who[2 * q + 1] = j;
			x->order[q] = q;
		}
	}
	sort_seqs = x->seq;
	qsort(x->order, (size_t)q, sizeof *x->order, cmp_seq_len);
	for (int c0 = 0; c0 < q; c0 += step)
		if ((rc = rival_rows_run(pr, r, run, x, c0, q - c0 < step ? q - c0 : step, max_T)) < 0)
			return rc;
	for (int b = 0; b < nb; b++)
		feats[(size_t)(at ? at[i0 + b] : i0 + b) * TRAINER_PRIOR_FEATS + TRAINER_PRIOR_RECOGNITION] =
			trainer_prior_recognition(x->diff + b * x->K, x->n_pick[b]);
	return 0;
}

/*
 * The prior's features of seqs[0..n), run in the order given, into row at[i]
 * of feats (n, TRAINER_PRIOR_FEATS) for seqs[i]; at NULL = row i.  With the
 * prior's empty prompt each micro-batch runs twice: its answers after the
 * empty prompt (into the rows' scratch s[3]), then as given — unless lp
 * holds the log-probs after the prompt already (row at[i] of (n, S), laid out
 * as trainer_collect writes them), which are then read instead.  With rivals,
 * each answer runs once more after each of its rivals (the recognition
 * feature).  full (n; NULL = not wanted) gets whether seqs[i]'s whole answer
 * was read (not cut to max_T).
 */
static int prior_compute_rows(const struct trainer_prior *pr, struct trainer_rows *r,
			      struct trainer_run *run, const struct trainer_seq *const *seqs,
			      int n, int max_T, const int *at, const float *lp, int S,
			      float *feats, bool *full)
{
	struct llama_model *lm = pr->lm;
	if (max_T <= 0 || max_T > lm->max_T)
		max_T = lm->max_T;
	max_T = max_T < r->cap_T ? max_T : r->cap_T;
	int step = lm->max_B < r->cap_B ? lm->max_B : r->cap_B, rc = 0;
	bool pmi = pr->uncond && pr->n_uncond > 0;
	/* the answers after the empty prompt: (step) sequences over (step,
	 * n_uncond + longest answer) tokens */
	struct trainer_seq *useq = NULL;
	const struct trainer_seq **uptr = NULL;
	int *utok = NULL, *ulen = NULL, longest = 0;
	float buf[TRAINER_PRIOR_MAX_L];
	struct rival_rows x = { 0 };
	for (int i = 0; i < n; i++) {
		int a = seqs[i]->n - seqs[i]->prompt_len;
		longest = a > longest ? a : longest;
	}
	int pool0 = 0;              /* the first answer of the rivals' pool */
	/* a pool holds fewer than RIVAL_POOL + step answers, and at most n (a
	 * scoring call's micro-batch needs no more) */
	int pool_cap = n < RIVAL_POOL + step ? (n > 0 ? n : 1) : RIVAL_POOL + step;
	if (pr->rivals && rival_rows_init(&x, pr->rivals, pool_cap, longest) < 0) {
		rc = trainer_fail(run, -ENOMEM, "out of memory for the prior's rivals");
		goto out;
	}
	if (pmi) {
		useq = malloc((size_t)step * sizeof *useq);
		uptr = malloc((size_t)step * sizeof *uptr);
		utok = malloc((size_t)step * (pr->n_uncond + longest) * sizeof *utok);
		ulen = malloc((size_t)step * sizeof *ulen);
		if (!useq || !uptr || !utok || !ulen) {
			rc = trainer_fail(run, -ENOMEM, "out of memory for the prior's %d rows", step);
			goto out;
		}
	}
	for (int i0 = 0; i0 < n; i0 += step) {
		int nb = n - i0 < step ? n - i0 : step;
		float *ulp = r->s[3];    /* (nb, r->cap_T) */
		if (pmi) {
			for (int b = 0; b < nb; b++) {
				const struct trainer_seq *s = seqs[i0 + b];
				int a = s->n - s->prompt_len, *tok = utok + (size_t)b * (pr->n_uncond + longest);
				memcpy(tok, pr->uncond, (size_t)pr->n_uncond * sizeof *tok);
				memcpy(tok + pr->n_uncond, s->tokens + s->prompt_len, (size_t)a * sizeof *tok);
				useq[b] = (struct trainer_seq){ tok, pr->n_uncond + a, pr->n_uncond, s->ended };
				uptr[b] = &useq[b];
			}
			if ((rc = trainer_step_forward(lm, r, run, uptr, nb, max_T, LLAMA_LOGPROBS,
						       "likelihood prior")) < 0)
				goto out;
			for (int b = 0; b < nb; b++)
				ulen[b] = row_logprobs(r, lm, b, ulp + (size_t)b * r->cap_T, r->cap_T);
		}
		if (!lp && (rc = trainer_step_forward(lm, r, run, seqs + i0, nb, max_T,
						      LLAMA_LOGPROBS, "likelihood prior")) < 0)
			goto out;
		for (int b = 0; b < nb; b++) {
			const struct trainer_seq *s = seqs[i0 + b];
			int row = at ? at[i0 + b] : i0 + b, a = s->n - s->prompt_len, L;
			if (lp) {
				/* position t predicts token t + 1: the answer's from prompt_len - 1 */
				int first = s->prompt_len - 1;
				L = a < S - first ? a : S - first;
				L = L < (int)(sizeof buf / sizeof buf[0]) ? L : (int)(sizeof buf / sizeof buf[0]);
				memcpy(buf, lp + (size_t)row * S + first, (size_t)L * sizeof *buf);
			} else {
				L = row_logprobs(r, lm, b, buf, (int)(sizeof buf / sizeof buf[0]));
			}
			/* a long answer cut to max_T keeps fewer tokens after its prompt */
			L = pmi && ulen[b] < L ? ulen[b] : L;
			if (full)
				full[i0 + b] = L == a;
			/* tokens [prompt_len, prompt_len + L): the ones lp scores */
			trainer_prior_features(feats + (size_t)row * TRAINER_PRIOR_FEATS, buf,
					       pmi ? ulp + (size_t)b * r->cap_T : NULL, L,
					       s->tokens + s->prompt_len);
			if (pr->rivals)
				rival_rows_own(&x, i0 + b - pool0, buf, L);
		}
		if (pr->rivals && (i0 + nb - pool0 >= RIVAL_POOL || i0 + nb == n)) {
			rc = prior_recognition_rows(pr, r, run, &x, seqs, pool0, i0 + nb - pool0, step,
						    max_T, at, feats);
			if (rc < 0)
				goto out;
			pool0 = i0 + nb;
		}
	}
	rc = 0;
out:
	rival_rows_release(&x);
	free(useq);
	free(uptr);
	free(utok);
	free(ulen);
	return rc;
}

/* A miss's key and where it is among the misses, to sort by key. */
struct key_at {
	uint64_t key;
	int at;
};

static int cmp_key_at(const void *a, const void *b)
{
	const struct key_at *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key ? 1 : x->at - y->at;
}

/*
 * prior_compute_rows through pr->cache: the rows the cache knows are filled
 * from it, the others computed — equal sequences once, with lp's rows when
 * given — and put in it unless cut.  (The promotion gate's parent often
 * answers as the candidate did, word for word, and next round's parent is
 * this round's candidate: its answers are known.)
 */
static int prior_collect_lm(const struct trainer_prior *pr, struct trainer_rows *r,
			    struct trainer_run *run, const struct trainer_seq *const *seqs,
			    int n, int max_T, const int *at, const float *lp, int S, float *feats)
{
	const struct trainer_prior_cache *c = pr->cache;
	if (!c || n == 0)
		return prior_compute_rows(pr, r, run, seqs, n, max_T, at, lp, S, feats, NULL);
	/* the misses, in order: their sequences, rows and keys */
	const struct trainer_seq **miss = malloc((size_t)n * sizeof *miss);
	int *mrow = malloc((size_t)n * sizeof *mrow), m = 0, rc = 0;
	uint64_t *key = malloc((size_t)n * sizeof *key);
	bool *full = malloc((size_t)n * sizeof *full);
	if (!miss || !mrow || !key || !full) {
		rc = trainer_fail(run, -ENOMEM, "out of memory for the prior's %d rows", n);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int row = at ? at[i] : i;
		uint64_t k = trainer_seq_hash(seqs[i]);
		if (c->get(c->ctx, k, feats + (size_t)row * TRAINER_PRIOR_FEATS))
			continue;
		miss[m] = seqs[i];
		mrow[m] = row;
		key[m++] = k;
	}
	/* equal sequences among the misses run once, in the order given (by
	 * length, as the callers sort them: little padding): twins get the same
	 * features to the bit, whichever rows a micro-batch would have put
	 * beside them */
	struct key_at *by = malloc((size_t)(m > 0 ? m : 1) * sizeof *by);
	const struct trainer_seq **dseq = malloc((size_t)(m > 0 ? m : 1) * sizeof *dseq);
	int *drow = malloc((size_t)(m > 0 ? m : 1) * sizeof *drow);
	int *twin = malloc((size_t)(m > 0 ? m : 1) * sizeof *twin), u = 0;
	if (!by || !dseq || !drow || !twin) {
		rc = trainer_fail(run, -ENOMEM, "out of memory for the prior's %d rows", n);
		goto out_dedup;
	}
	for (int i = 0; i < m; i++)
		by[i] = (struct key_at){ key[i], i };
	qsort(by, (size_t)m, sizeof *by, cmp_key_at);
	/* twin[i]: the first miss with miss i's key (i itself when it is) */
	for (int i = 0, f = 0; i < m; i++) {
		f = i > 0 && by[i].key == by[i - 1].key ? f : by[i].at;
		twin[by[i].at] = f;
	}
	for (int i = 0; i < m; i++)
		if (twin[i] == i) {
			dseq[u] = miss[i];
			drow[u++] = mrow[i];
		}
	if (u > 0 && (rc = prior_compute_rows(pr, r, run, dseq, u, max_T, drow, lp, S, feats,
					      full)) < 0)
		goto out_dedup;
	for (int i = 0, d = 0; i < m; i++) {
		float *f = feats + (size_t)mrow[i] * TRAINER_PRIOR_FEATS;
		if (twin[i] == i) {
			if (full[d++])
				c->put(c->ctx, key[i], f);
		} else {
			memcpy(f, feats + (size_t)mrow[twin[i]] * TRAINER_PRIOR_FEATS,
			       TRAINER_PRIOR_FEATS * sizeof *f);
		}
	}
out_dedup:
	free(by);
	free(dseq);
	free(drow);
	free(twin);
out:
	free(miss);
	free(mrow);
	free(key);
	free(full);
	return rc;
}

/* The language model's features as prior_collect_lm finds them, then the
 * overlap. */
static int prior_collect_rows(const struct trainer_prior *pr, struct trainer_rows *r,
			      struct trainer_run *run, const struct trainer_seq *const *seqs,
			      int n, int max_T, const int *at, const float *lp, int S,
			      float *feats)
{
	int rc = prior_collect_lm(pr, r, run, seqs, n, max_T, at, lp, S, feats);
	if (rc < 0)
		return rc;
	prior_set_overlap(pr, seqs, n, at, feats);
	return 0;
}

int trainer_prior_collect(const struct trainer_prior *pr, struct trainer_rows *r,
			  struct trainer_run *run, const struct trainer_seq *const *seqs, int n,
			  int max_T, const float *lp, int S, float *feats)
{
	const struct trainer_seq **sorted;
	int *ord = len_order(seqs, n, &sorted);
	if (!ord)
		return trainer_fail(run, -ENOMEM, "out of memory for the prior's %d rows", n);
	int rc = prior_collect_rows(pr, r, run, sorted, n, max_T, ord, lp, S, feats);
	free(ord);
	free(sorted);
	return rc;
}

int trainer_collect(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
		    const struct trainer_seq *const *seqs, int n, int max_T,
		    const struct trainer_outs *o)
{
	if (max_T <= 0 || max_T > m->max_T)
		max_T = m->max_T;
	bool need_last = o->val || o->score;
	unsigned what = (o->lp || o->lpsum ? LLAMA_LOGPROBS : 0) | (o->ent ? LLAMA_ENTROPY : 0) |
			(need_last ? LLAMA_VALUES : 0);
	/* a reward model's prior: the language model's features of the same rows
	 * first (chunks the language model takes, at most PRIOR_CHUNK rows) */
	struct llama_model *lm = o->score && m->prior ? m->prior->lm : NULL;
	/* the prior alone: no forward of the network unless asked for more */
	bool net = !lm || !m->prior->alone || o->lp || o->ent || o->val || o->lpsum;
	enum { PRIOR_CHUNK = 64 };
	float feats[PRIOR_CHUNK * TRAINER_PRIOR_FEATS];
	int step = m->max_B;
	if (lm) {
		step = step < lm->max_B ? step : lm->max_B;
		step = step < PRIOR_CHUNK ? step : PRIOR_CHUNK;
		max_T = max_T < lm->max_T ? max_T : lm->max_T;
	}
	const struct trainer_seq **sorted;
	int *ord = len_order(seqs, n, &sorted), rc = 0;
	if (!ord)
		return trainer_fail(run, -ENOMEM, "out of memory for the order of %d rows", n);
	for (int i0 = 0; i0 < n; i0 += step) {
		int nb = n - i0 < step ? n - i0 : step;
		if (lm && (rc = prior_collect_rows(m->prior, r, run, sorted + i0, nb, max_T, NULL,
						   NULL, 0, feats)) < 0)
			goto out;
		if (!net) {
			for (int b = 0; b < nb; b++)
				o->score[ord[i0 + b]] = trainer_prior_score(m->prior,
									    feats + b * TRAINER_PRIOR_FEATS);
			continue;
		}
		rc = trainer_step_forward(m, r, run, sorted + i0, nb, max_T, what, NULL);
		if (rc < 0)
			goto out;
		int T = r->T;
		const struct llama_acts *a = &m->acts;
		for (int b = 0; b < nb; b++) {
			int at = ord[i0 + b];
			size_t src = (size_t)b * T, dst = (size_t)at * o->S;
			int cp = T < o->S ? T : o->S;
			if (o->lp)
				memcpy(o->lp + dst, a->logprobs + src, cp * sizeof(float));
			if (o->ent)
				memcpy(o->ent + dst, a->entropy + src, cp * sizeof(float));
			if (o->val)
				memcpy(o->val + dst, a->values + src, cp * sizeof(float));
			if (o->score)
				o->score[at] = (lm && m->prior->alone ? 0.0f :
						seq_score_forward(a->values + src, sorted[i0 + b],
								  r->len[b], m->score)) +
					(lm ? trainer_prior_score(m->prior, feats + b * TRAINER_PRIOR_FEATS) : 0.0f);
			if (o->lpsum)
				o->lpsum[at] = trainer_masked_sum(r->mask + src, a->logprobs + src, T);
		}
	}
	rc = 0;
out:
	free(ord);
	free(sorted);
	return rc;
}

/* ---- optimizer -------------------------------------------------------------- */

int trainer_opt_init(struct adamw *o, struct trainer_run *run, const struct llama_model *m,
		     float lr, float min_lr, float warmup_frac, float weight_decay,
		     float grad_clip, int total_steps)
{
	struct adamw_config c;
	adamw_config_default(&c);
	c.lr = lr;
	c.min_lr = min_lr;
	float wf = warmup_frac > 0 ? (warmup_frac < 1 ? warmup_frac : 1) : 0;
	c.warmup_steps = (int)lroundf(wf * total_steps);
	c.total_steps = total_steps;
	c.weight_decay = weight_decay;
	c.grad_clip = grad_clip;
	char e[128];
	if (adamw_init(o, &c, &m->cfg, e, sizeof e) < 0)
		return trainer_fail(run, -ENOMEM, "%s", e);
	return 0;
}

/* Checks the optimizer fields shared by every params struct. */
static int check_opt(struct trainer_run *run, float lr, float min_lr, float wd, float clip)
{
	if (!(lr > 0) || !(min_lr >= 0) || !(wd >= 0) || isnan(clip) || !isfinite(lr))
		return trainer_fail(run, -EINVAL, "bad optimizer settings: lr %g, min_lr %g, "
				    "weight_decay %g, grad_clip %g", lr, min_lr, wd, clip);
	return 0;
}

static bool is_lm(const struct llama_model *m)
{
	return m && m->acts.logits;
}

/* Sorts p[0..n) by sequence length (insertion sort; n is a batch) so that the
 * micro-batches of a step pad less. */
static void sort_by_len(const struct trainer_seq **p, int n)
{
	for (int i = 1; i < n; i++) {
		const struct trainer_seq *x = p[i];
		int j = i - 1;
		while (j >= 0 && p[j]->n > x->n) {
			p[j + 1] = p[j];
			j--;
		}
		p[j + 1] = x;
	}
}

/*
 * Zeroes the gradients of everything below the top train_layers transformer
 * layers (the embedding included), so AdamW leaves those weights as they are
 * (zero gradient, zero moments: a zero update; decay is the caller's choice).
 * The final norm and the heads always train.  train_layers < 0 or >= n_layers
 * trains everything.
 */
static void freeze_lower(struct llama_model *m, int train_layers)
{
	int L = m->cfg.n_layers;
	if (train_layers < 0 || train_layers >= L || !m->grads)
		return;
	for (int k = 0; k <= 9; k++) { /* token_embedding .. w3 */
		size_t off, len;
		llama_tensor_span(&m->cfg, k, &off, &len);
		size_t frozen = k == 0 ? len : len / L * (size_t)(L - train_layers);
		memset(m->grads + off, 0, frozen * sizeof(float));
	}
}

/* ---- SFT -------------------------------------------------------------------- */

void trainer_sft_defaults(struct trainer_sft_params *p)
{
	memset(p, 0, sizeof *p);
	p->lr = 5e-4f;
	p->min_lr = 5e-5f;
	p->warmup_frac = 0.05f;
	p->weight_decay = 0.0f;
	p->grad_clip = 1.0f;
	p->epochs = 3;
	p->batch_size = 16;
	p->max_steps = 0;
	p->seed = 1;
}

/* One SFT call: the usable sequences in a seeded order, the buffers, AdamW. */
struct sft_job {
	struct trainer_run run;
	const struct trainer_sft_params *p;
	struct llama_model *policy;
	const struct trainer_seq *seqs;
	int T_max;                        /* the policy's context */
	int nu;                           /* sequences with a response token */
	int spe;                          /* steps per epoch */
	long long total;                  /* optimizer steps */
	int *order;                       /* (nu) indices into seqs, shuffled per epoch */
	const struct trainer_seq **batch; /* (batch_size) */
	uint64_t rng;
	struct trainer_rows rows;
	struct adamw opt;
};

static void sft_job_release(struct sft_job *j)
{
	adamw_release(&j->opt);
	trainer_rows_release(&j->rows);
	free(j->order);
	free(j->batch);
}

/* Checks the input and counts what is usable (nu). */
static int sft_check(struct sft_job *j, int n)
{
	const struct trainer_sft_params *p = j->p;
	struct llama_model *policy = j->policy;
	if (!policy || !is_lm(policy) || !policy->grads)
		return trainer_fail(&j->run, -EINVAL, "sft needs a language model with gradients");
	if (n < 0 || (n > 0 && !j->seqs) || p->epochs <= 0 || p->batch_size <= 0 ||
	    p->max_steps < 0)
		return trainer_fail(&j->run, -EINVAL, "bad sft settings: %d sequences, epochs %d, "
				    "batch_size %d, max_steps %d", n, p->epochs, p->batch_size,
				    p->max_steps);
	int rc = check_opt(&j->run, p->lr, p->min_lr, p->weight_decay, p->grad_clip);
	if (rc)
		return rc;
	int n_cut = 0;
	j->T_max = policy->max_T;
	for (int i = 0; i < n; i++) {
		if ((rc = trainer_seq_check(&j->run, &j->seqs[i], policy->cfg.vocab_size, "sequence", i)))
			return rc;
		if (trainer_seq_scored(&j->seqs[i], j->T_max, false) > 0)
			j->nu++;
		n_cut += j->seqs[i].n > j->T_max + 1;
	}
	if (j->nu == 0)
		return trainer_fail(&j->run, -EINVAL, "no sequence with a response token to train on "
				    "(of %d)", n);
	if (n_cut)
		trainer_logf(&j->run, "%d sequences cut to the model's %d positions", n_cut, j->T_max);
	return 0;
}

static int sft_prepare(struct sft_job *j, int n)
{
	const struct trainer_sft_params *p = j->p;
	int rc = sft_check(j, n);
	if (rc)
		return rc;
	int bs = p->batch_size;
	j->spe = (j->nu + bs - 1) / bs;
	j->total = (long long)j->spe * p->epochs;
	if (p->max_steps > 0 && j->total > p->max_steps)
		j->total = p->max_steps;
	j->order = malloc((size_t)j->nu * sizeof(int));
	j->batch = malloc((size_t)bs * sizeof *j->batch);
	if (!j->order || !j->batch || trainer_rows_init(&j->rows, j->policy->max_B, j->T_max) < 0)
		return trainer_fail(&j->run, -ENOMEM, "out of memory for sft buffers");
	if ((rc = trainer_opt_init(&j->opt, &j->run, j->policy, p->lr, p->min_lr, p->warmup_frac,
				   p->weight_decay, p->grad_clip, (int)j->total)) < 0)
		return rc;
	for (int i = 0, k = 0; i < n; i++)
		if (trainer_seq_scored(&j->seqs[i], j->T_max, false) > 0)
			j->order[k++] = i;
	trainer_logf(&j->run, "sft: %d sequences, %lld steps of %d", j->nu, j->total, bs);
	j->rng = trainer_rng_seed(p->seed, 0x5F7);
	return 0;
}

/* What one SFT step reports. */
struct sft_step {
	double loss;      /* mean loss per weighted token */
	double wsum;      /* weighted tokens */
	long long ntok;   /* tokens run */
	float lr;
	double gnorm;
};

/* The optimizer step over order[b0 .. b0+nb): micro-batches of sequences of
 * similar length, cross-entropy over the step's weighted tokens, AdamW. */
static int sft_step(struct sft_job *j, int b0, int nb, struct sft_step *st)
{
	struct llama_model *policy = j->policy;
	for (int i = 0; i < nb; i++) {
		j->batch[i] = &j->seqs[j->order[b0 + i]];
		st->wsum += trainer_seq_scored(j->batch[i], j->T_max, false);
	}
	sort_by_len(j->batch, nb);
	llama_zero_grads(policy);
	for (int i0 = 0; i0 < nb; i0 += policy->max_B) {
		int mb = nb - i0 < policy->max_B ? nb - i0 : policy->max_B;
		float l = 0;
		int rc = trainer_step_ce(policy, &j->rows, &j->run, j->batch + i0, mb, j->T_max,
					 (float)st->wsum, &l, "sft");
		if (rc < 0)
			return rc;
		st->loss += l;
		for (int b = 0; b < mb; b++)
			st->ntok += j->rows.len[b];
	}
	st->gnorm = adamw_step(&j->opt, policy->params, policy->grads, 1.0f, &st->lr);
	return 0;
}

int trainer_sft(struct llama_model *policy, const struct trainer_seq *seqs, int n,
		const struct trainer_sft_params *p, const struct trainer_hooks *hooks,
		struct trainer_sft_result *res, char *err, size_t errlen)
{
	struct sft_job j = { .p = p, .policy = policy, .seqs = seqs };
	trainer_run_init(&j.run, hooks, err, errlen);
	memset(res, 0, sizeof *res);
	int rc = sft_prepare(&j, n);
	if (rc)
		goto out;

	double ep_loss = 0, ep_tok = 0;
	for (int step = 0; step < j.total; step++) {
		int within = step % j.spe, bs = p->batch_size, b0 = within * bs;
		if (within == 0) {
			trainer_shuffle(j.order, j.nu, &j.rng);
			ep_loss = ep_tok = 0;
		}
		struct sft_step st = { 0 };
		double t0 = trainer_now();
		if ((rc = sft_step(&j, b0, j.nu - b0 < bs ? j.nu - b0 : bs, &st)) < 0)
			goto out;
		double dt = trainer_now() - t0;

		if (step == 0)
			res->loss_first = (float)st.loss;
		ep_loss += st.loss * st.wsum;
		ep_tok += st.wsum;
		res->tokens += (long long)st.wsum;
		res->steps = step + 1;
		res->loss = (float)(ep_loss / ep_tok);
		trainer_metric(&j.run, step, "loss", (float)st.loss);
		trainer_metric(&j.run, step, "lr", st.lr);
		trainer_metric(&j.run, step, "grad_norm", (float)st.gnorm);
		trainer_metric(&j.run, step, "tokens_per_sec", dt > 0 ? (float)(st.ntok / dt) : 0.0f);
		trainer_progress(&j.run, (float)(step + 1) / (float)j.total);
		if ((step + 1) % 50 == 0 || step + 1 == j.total)
			trainer_logf(&j.run, "sft step %d/%lld loss %.4f lr %.2e grad_norm %.3f",
				     step + 1, j.total, st.loss, st.lr, st.gnorm);
		if (step + 1 < j.total && trainer_cancelled(&j.run)) {
			rc = -ECANCELED;
			goto out;
		}
	}
	rc = 0;
out:
	sft_job_release(&j);
	return rc;
}

/* ---- reward model ----------------------------------------------------------- */

void trainer_reward_defaults(struct trainer_reward_params *p)
{
	memset(p, 0, sizeof *p);
	p->lr = 3e-4f;
	p->min_lr = 3e-5f;
	p->warmup_frac = 0.05f;
	p->weight_decay = 0.0f;
	p->grad_clip = 1.0f;
	p->epochs = 2;
	p->batch_groups = 8;
	p->margin_scale = 0.0f;
	p->heldout_frac = 0.2f;
	p->pointwise_weight = 0.5f;
	p->prior_pointwise_weight = 0.1f;
	p->cv_folds = 5;
	p->replay = 1.0f;
	p->head_init_std = 0.01f;
	p->normalize = true;
	p->train_layers = -1;
	p->seed = 1;
}

int trainer_score(struct llama_model *rm, const struct trainer_seq *seqs, int n,
		  float *scores, char *err, size_t errlen)
{
	struct trainer_run run;
	trainer_run_init(&run, NULL, err, errlen);
	if (!rm || n < 0 || (n > 0 && (!seqs || !scores)))
		return trainer_fail(&run, -EINVAL, "nothing to score");
	int rc;
	for (int i = 0; i < n; i++)
		if ((rc = trainer_seq_check(&run, &seqs[i], rm->cfg.vocab_size, "sequence", i)))
			return rc;
	struct trainer_rows rows = { 0 };
	const struct trainer_seq **ptr = malloc((size_t)(n ? n : 1) * sizeof *ptr);
	if (!ptr || trainer_rows_init(&rows, rm->max_B, rm->max_T) < 0) {
		rc = trainer_fail(&run, -ENOMEM, "out of memory for scoring");
		goto out;
	}
	for (int i = 0; i < n; i++)
		ptr[i] = &seqs[i];
	struct trainer_outs o = { .S = rm->max_T, .score = scores };
	rc = trainer_collect(rm, &rows, &run, ptr, n, 0, &o);
out:
	trainer_rows_release(&rows);
	free(ptr);
	return rc;
}

/* A group with at least one rated answer takes part (trains or is measured). */
static bool group_rated(const struct trainer_group *g)
{
	for (int k = 0; g->scores && k < g->k; k++)
		if (!isnan(g->scores[k]))
			return true;
	return false;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Sorts v[0..n) and returns how many distinct values it holds (moved to the
 * front). */
static int sort_unique(int *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof *v, cmp_int);
	int u = 1;
	for (int i = 1; i < n; i++)
		if (v[i] != v[u - 1])
			v[u++] = v[i];
	return u;
}

/* A prompt id's place in the seeded order of trainer_reward_split. */
struct prompt_key {
	uint64_t key;
	int id;
};

static int cmp_prompt_key(const void *a, const void *b)
{
	const struct prompt_key *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static int cmp_prompt_id(const void *a, const void *b)
{
	const struct prompt_key *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

/* The distinct prompt ids of the groups with a rated answer into ids (n),
 * ascending, and each with its key into keys (n), sorted by key: a seeded
 * order of the prompts that depends on the seed, the stream and each id
 * alone — the same whatever the order of the groups.  Returns how many. */
static int prompt_order(const struct trainer_group *groups, int n, uint64_t seed, uint64_t stream,
			int *ids, struct prompt_key *keys)
{
	int m = 0;
	for (int g = 0; g < n; g++)
		if (group_rated(&groups[g]))
			ids[m++] = groups[g].prompt;
	int np = sort_unique(ids, m);
	uint64_t base = trainer_rng_seed(seed, stream);
	for (int i = 0; i < np; i++) {
		/* the mixed output, not trainer_rng_seed's state: that is only
		 * base ^ (id * constant) + constant, whose order hardly moves with
		 * the seed */
		uint64_t st = base ^ ((uint64_t)(uint32_t)ids[i] * 0xD1B54A32D192ED03ull);
		keys[i] = (struct prompt_key){ rng_splitmix64(&st), ids[i] };
	}
	qsort(keys, (size_t)np, sizeof *keys, cmp_prompt_key);
	return np;
}

void trainer_reward_split(struct trainer_group *groups, int n, float frac, uint64_t seed)
{
	if (n <= 0 || !groups)
		return;
	for (int g = 0; g < n; g++)
		groups[g].heldout = false;
	if (!(frac > 0))
		return;
	int *ids = malloc((size_t)n * sizeof *ids);
	struct prompt_key *keys = malloc((size_t)n * sizeof *keys);
	if (!ids || !keys)
		goto out; /* nothing held out: the caller sees heldout_pairs 0 */
	int np = prompt_order(groups, n, seed, 0x5B17, ids, keys);
	if (np < 2)
		goto out;
	int nh = (int)lroundf(frac * np);
	nh = nh < 1 ? 1 : nh > np - 1 ? np - 1 : nh;
	for (int i = 0; i < nh; i++)
		ids[i] = keys[i].id;
	qsort(ids, (size_t)nh, sizeof *ids, cmp_int);
	for (int g = 0; g < n; g++)
		groups[g].heldout = bsearch(&groups[g].prompt, ids, (size_t)nh, sizeof *ids,
					    cmp_int) != NULL;
out:
	free(ids);
	free(keys);
}

/* What the scores of a set of groups say against their ratings. */
struct rm_measure {
	int pairs, correct;
	int by_gap_pairs[4], by_gap_correct[4];
	int rated;
	double sq;                   /* summed squared error in score units */
};

/* Measures groups gi[0..ng) from their responses' raw scores r (flattened per
 * group at off[g]): pairwise accuracy (ties and unrated answers make no pair;
 * right = r_hi > r_lo strictly), by score gap, and the squared error of the
 * prediction mu + sigma * r against each rated answer's score. */
static void rm_measure(const struct trainer_group *groups, const int *gi, int ng, const int *off,
		       const float *r, float mu, float sigma, struct rm_measure *ms)
{
	memset(ms, 0, sizeof *ms);
	for (int i = 0; i < ng; i++) {
		const struct trainer_group *g = &groups[gi[i]];
		const float *gr = r + off[gi[i]], *s = g->scores;
		for (int a = 0; a < g->k; a++) {
			if (isnan(s[a]))
				continue;
			if (!g->order_only) {
				double e = mu + (double)sigma * gr[a] - s[a];
				ms->sq += e * e;
				ms->rated++;
			}
			for (int b = a + 1; b < g->k; b++) {
				if (isnan(s[b]) || !(fabsf(s[a] - s[b]) > RL_SCORE_TIE_EPS))
					continue;
				int hi = s[a] > s[b] ? a : b, lo = hi == a ? b : a;
				double gap = (double)s[hi] - s[lo];
				int bucket = (int)ceil(gap - 1e-4) - 1;
				bucket = bucket < 0 ? 0 : bucket > 3 ? 3 : bucket;
				bool right = gr[hi] > gr[lo];
				ms->pairs++;
				ms->correct += right;
				ms->by_gap_pairs[bucket]++;
				ms->by_gap_correct[bucket] += right;
			}
		}
	}
}

/* The 95 % interval of the pairwise accuracy of r over groups gi: Wilson's,
 * widened by the design effect of the pairs' clustering by prompt
 * (stats_wilson_clustered): the pairs of one prompt share its answers and
 * its difficulty, so they are not independent trials. */
static int rm_interval(const struct trainer_group *groups, const int *gi, int ng, const int *off,
		       const float *r, float *lo, float *hi, float *deff)
{
	size_t cap = (size_t)(ng > 0 ? ng : 1);
	int *pid = malloc(cap * 2 * sizeof *pid), k = 0;
	double *cw = malloc(cap * sizeof *cw);
	if (!pid || !cw) {
		free(pid);
		free(cw);
		return -ENOMEM;
	}
	int *cn = pid + cap;
	for (int i = 0; i < ng; i++) {
		struct rm_measure one;
		rm_measure(groups, gi + i, 1, off, r, 0.0f, 1.0f, &one);
		if (!one.pairs)
			continue;
		int c = 0, p = groups[gi[i]].prompt;
		while (c < k && pid[c] != p)
			c++;
		if (c == k) {
			pid[k] = p;
			cw[k] = cn[k] = 0;
			k++;
		}
		cw[c] += one.correct;
		cn[c] += one.pairs;
	}
	stats_wilson_clustered(cw, cn, k, STATS_Z95, lo, hi, deff);
	free(pid);
	free(cw);
	return 0;
}

static float rm_acc(int correct, int pairs)
{
	return pairs ? (float)correct / pairs : NAN;
}

static float rm_rmse(const struct rm_measure *ms)
{
	return ms->rated ? (float)sqrt(ms->sq / ms->rated) : NAN;
}

/*
 * One reward-model call.  Every response flattened into ptr: the held-out
 * groups, then the training groups (train's order at the start), then the
 * groups without a rated answer, group g's K responses at off[g].
 */
struct reward_job {
	struct trainer_run run;
	const struct trainer_reward_params *p;
	struct llama_model *rm;
	const struct trainer_group *groups;
	int n;                       /* groups */
	int total_seqs, max_k;       /* responses in all, in the largest group */
	int nused;                   /* groups with a rated answer */
	int n_held, ntrain;          /* of those, held out and trained on */
	int held_seqs;               /* responses of the held-out groups */
	int held_prompts, train_prompts, tied; /* distinct prompts; training groups without a pair */
	int *gi;                     /* (n + 1) groups with a rating: held out, then training */
	int *held, *train;           /* into gi; train: the unseen groups first */
	int n_new;                   /* training groups not marked seen */
	int *ep, n_ep;               /* (ntrain) an epoch's groups: the unseen
					and a sample of the seen (replay) */
	int *off;                    /* (n + 1) first response of group g in ptr */
	const struct trainer_seq **ptr; /* (total_seqs) */
	float *r;                    /* (total_seqs) scores of every response, then: */
	float *gr_r, *gr_dr;         /* (max_k) a group's scores and their gradient */
	struct trainer_prior *prior; /* rm's likelihood prior, or NULL */
	float *feats;                /* (total_seqs, TRAINER_PRIOR_FEATS) its features */
	float *pr;                   /* (total_seqs) its score of every response */
	float mu, sigma;             /* the training answers' score standardisation */
	int bg, spe, total;          /* groups per step, steps per epoch, steps */
	uint64_t rng;
	struct trainer_rows rows;
	struct adamw opt;
};

static void reward_job_release(struct reward_job *j)
{
	adamw_release(&j->opt);
	trainer_rows_release(&j->rows);
	free(j->ep);
	free(j->feats);
	free(j->r);
	free(j->off);
	free(j->gi);
	free(j->ptr);
}

/* Checks the settings and every response; counts them and the cut ones. */
static int reward_check(struct reward_job *j, int *n_cut)
{
	const struct trainer_reward_params *p = j->p;
	struct llama_model *rm = j->rm;
	int n = j->n, rc;
	if (!rm || !rm->grads)
		return trainer_fail(&j->run, -EINVAL, "the reward model needs gradients");
	if (j->prior && (!j->prior->lm->acts.logits ||
			 j->prior->lm->cfg.vocab_size != rm->cfg.vocab_size))
		return trainer_fail(&j->run, -EINVAL, "the likelihood prior needs a language model "
				    "of the reward model's vocabulary");
	if (n < 0 || (n > 0 && !j->groups) || p->epochs <= 0 || p->batch_groups <= 0 ||
	    !(p->head_init_std >= 0) || !isfinite(p->margin_scale) ||
	    !(p->pointwise_weight >= 0) || !isfinite(p->pointwise_weight) ||
	    !(p->prior_pointwise_weight >= 0) || !isfinite(p->prior_pointwise_weight))
		return trainer_fail(&j->run, -EINVAL, "bad reward settings: %d groups, epochs %d, "
				    "batch_groups %d, pointwise_weight %g, prior_pointwise_weight %g",
				    n, p->epochs, p->batch_groups, p->pointwise_weight,
				    p->prior_pointwise_weight);
	if (p->cv_folds != 0 && (p->cv_folds < 2 || p->cv_folds > TRAINER_CV_MAX_FOLDS))
		return trainer_fail(&j->run, -EINVAL, "bad reward settings: cv_folds %d (0 or 2 to %d)",
				    p->cv_folds, TRAINER_CV_MAX_FOLDS);
	if ((rc = check_opt(&j->run, p->lr, p->min_lr, p->weight_decay, p->grad_clip)))
		return rc;
	j->max_k = 1;
	for (int g = 0; g < n; g++) {
		const struct trainer_group *gr = &j->groups[g];
		if (gr->k < 0 || (gr->k > 0 && (!gr->seqs || !gr->scores)))
			return trainer_fail(&j->run, -EINVAL, "group %d: %d responses without data", g,
					    gr->k);
		for (int k = 0; k < gr->k; k++) {
			if ((rc = trainer_seq_check(&j->run, &gr->seqs[k], rm->cfg.vocab_size,
						    "group response", j->total_seqs + k)))
				return rc;
			*n_cut += gr->seqs[k].n > rm->max_T;
		}
		j->total_seqs += gr->k;
		j->max_k = gr->k > j->max_k ? gr->k : j->max_k;
	}
	return 0;
}

/* The groups with a rated answer into gi, held-out ones first (as the caller
 * flagged them), then the training groups not marked seen, then the seen
 * ones, each fitting in one micro-batch; the distinct prompts of each side
 * (tmp: n scratch ints). */
static int reward_find_rated(struct reward_job *j, int *tmp)
{
	for (int side = 2; side >= 0; side--)
		for (int g = 0; g < j->n; g++) {
			const struct trainer_group *gr = &j->groups[g];
			int gside = gr->heldout ? 2 : gr->seen ? 0 : 1;
			if (gside != side || !group_rated(gr))
				continue;
			if (gr->k > j->rm->max_B)
				return trainer_fail(&j->run, -EINVAL, "group %d has %d responses; the "
						    "reward model takes %d rows at a time", g, gr->k,
						    j->rm->max_B);
			j->gi[j->nused++] = g;
			j->n_held += side == 2;
			j->n_new += side == 1;
		}
	if (j->nused == 0)
		return trainer_fail(&j->run, -EINVAL, "no rated answers: need at least one group "
				    "with a rated answer (%d groups)", j->n);
	j->held = j->gi;
	j->train = j->gi + j->n_held;
	j->ntrain = j->nused - j->n_held;
	if (j->ntrain == 0)
		return trainer_fail(&j->run, -EINVAL, "no training group: all %d rated groups are "
				    "held out", j->nused);
	for (int i = 0; i < j->n_held; i++)
		tmp[i] = j->groups[j->held[i]].prompt;
	j->held_prompts = sort_unique(tmp, j->n_held);
	for (int i = 0; i < j->ntrain; i++)
		tmp[i] = j->groups[j->train[i]].prompt;
	j->train_prompts = sort_unique(tmp, j->ntrain);
	return 0;
}

/* The pointwise term's standardisation of the scores of groups gl's rated
 * answers: their mean and population std, the std at least 0.5 so that
 * all-equal ratings stay finite; judgements (order_only) have no scores to
 * count. */
static void score_standard(const struct trainer_group *groups, const int *gl, int ng, float *mu,
			   float *sigma)
{
	double sum = 0, sq = 0;
	int m = 0;
	for (int i = 0; i < ng; i++) {
		const struct trainer_group *g = &groups[gl[i]];
		for (int k = 0; k < g->k && !g->order_only; k++)
			if (!isnan(g->scores[k])) {
				sum += g->scores[k];
				m++;
			}
	}
	double mean = m ? sum / m : 0.0;
	for (int i = 0; i < ng; i++) {
		const struct trainer_group *g = &groups[gl[i]];
		for (int k = 0; k < g->k && !g->order_only; k++)
			if (!isnan(g->scores[k]))
				sq += (g->scores[k] - mean) * (g->scores[k] - mean);
	}
	double sd = m ? sqrt(sq / m) : 1.0;
	*mu = (float)mean;
	*sigma = sd < 0.5 ? 0.5f : (float)sd;
}

/* The standardisation of the training answers' scores (sigma floored at 0.5
 * so that all-equal ratings stay finite), the training groups without a
 * pair, and the flattened responses. */
static void reward_layout(struct reward_job *j)
{
	const struct trainer_group *groups = j->groups;
	int n = j->n;
	for (int i = 0; i < j->ntrain; i++) {
		const struct trainer_group *g = &groups[j->train[i]];
		struct rl_pair_stats ps;
		rl_rm_pair_loss(NULL, &ps, j->gr_r, g->scores, g->k, 0.0f, 0.0f);
		j->tied += ps.n_pairs == 0;
	}
	score_standard(groups, j->train, j->ntrain, &j->mu, &j->sigma);

	int o = 0;
	for (int g = 0; g < n; g++)
		j->off[g] = -1;
	for (int i = 0; i < j->nused; i++) {
		j->off[j->gi[i]] = o;
		o += groups[j->gi[i]].k;
		if (i == j->n_held - 1)
			j->held_seqs = o;
	}
	for (int g = 0; g < n; g++)
		if (j->off[g] < 0) {
			j->off[g] = o;
			o += groups[g].k;
		}
	for (int g = 0; g < n; g++)
		for (int k = 0; k < groups[g].k; k++)
			j->ptr[j->off[g] + k] = &groups[g].seqs[k];
}

/* The prior's score of every response into j->pr. */
static void prior_scores(struct reward_job *j)
{
	for (int i = 0; i < j->total_seqs; i++)
		j->pr[i] = trainer_prior_score(j->prior, j->feats + (size_t)i * TRAINER_PRIOR_FEATS);
}

/*
 * Fits the prior's mu and sd (over the answers of groups gl) and then w and b
 * to the ratings of groups gl, mu and sigma the score standardisation of its
 * pointwise term, from j->feats.  Adam from w = 0, b = 0: the prior alone is
 * a convex problem in a few numbers, a few hundred cheap iterations.
 */
static void prior_fit(struct reward_job *j, const int *gl, int ng, float mu, float sigma)
{
	enum { ITERS = 400 };
	const float lr = 0.05f, b1 = 0.9f, b2 = 0.999f;
	struct trainer_prior *pr = j->prior;
	const int F = TRAINER_PRIOR_FEATS;
	int n = 0;
	for (int f = 0; f < F; f++)
		pr->w[f] = 0.0f;
	pr->b = 0.0f;
	double sum[TRAINER_PRIOR_FEATS] = { 0 }, sq[TRAINER_PRIOR_FEATS] = { 0 };
	for (int i = 0; i < ng; i++) {
		const struct trainer_group *gr = &j->groups[gl[i]];
		for (int k = 0; k < gr->k; k++, n++)
			for (int f = 0; f < F; f++)
				sum[f] += j->feats[(size_t)(j->off[gl[i]] + k) * F + f];
	}
	double mean[TRAINER_PRIOR_FEATS];
	for (int f = 0; f < F; f++) {
		mean[f] = n ? sum[f] / n : 0.0;
		pr->mu[f] = (float)mean[f];
	}
	for (int i = 0; i < ng; i++) {
		const struct trainer_group *gr = &j->groups[gl[i]];
		for (int k = 0; k < gr->k; k++)
			for (int f = 0; f < F; f++) {
				double d = j->feats[(size_t)(j->off[gl[i]] + k) * F + f] - mean[f];
				sq[f] += d * d;
			}
	}
	for (int f = 0; f < F; f++) {
		double sd = n ? sqrt(sq[f] / n) : 0.0;
		pr->sd[f] = sd > 1e-3 ? (float)sd : 1e-3f;
	}
	if (ng == 0)
		return;
	double m1[TRAINER_PRIOR_FEATS + 1] = { 0 }, m2[TRAINER_PRIOR_FEATS + 1] = { 0 };
	for (int it = 1; it <= ITERS; it++) {
		double g[TRAINER_PRIOR_FEATS + 1] = { 0 };
		prior_scores(j);
		for (int i = 0; i < ng; i++) {
			int gi = gl[i];
			const struct trainer_group *gr = &j->groups[gi];
			const float *r = j->pr + j->off[gi];
			for (int k = 0; k < gr->k; k++)
				j->gr_dr[k] = 0.0f;
			rl_rm_group_loss(j->gr_dr, NULL, r, gr->scores, gr->k, j->p->margin_scale, mu,
					 sigma, gr->order_only ? 0.0f : j->p->prior_pointwise_weight,
					 1.0f / ng);
			for (int k = 0; k < gr->k; k++) {
				const float *x = j->feats + (size_t)(j->off[gi] + k) * F;
				for (int f = 0; f < F; f++)
					g[f] += j->gr_dr[k] * (x[f] - pr->mu[f]) / pr->sd[f];
				g[F] += j->gr_dr[k];
			}
		}
		for (int q = 0; q <= F; q++) {
			m1[q] = b1 * m1[q] + (1 - b1) * g[q];
			m2[q] = b2 * m2[q] + (1 - b2) * g[q] * g[q];
			double step = lr * (m1[q] / (1 - pow(b1, it))) /
				      (sqrt(m2[q] / (1 - pow(b2, it))) + 1e-8);
			if (q < F)
				pr->w[q] -= (float)step;
			else
				pr->b -= (float)step;
		}
	}
}

int trainer_reward_folds(const struct trainer_group *groups, int n, int folds, uint64_t seed,
			 int *fold)
{
	if (folds < 1)
		return -EINVAL;
	if (n <= 0)
		return 0;
	for (int g = 0; g < n; g++)
		fold[g] = -1;
	int *ids = malloc((size_t)n * sizeof *ids);
	struct prompt_key *keys = malloc((size_t)n * sizeof *keys);
	if (!ids || !keys) {
		free(ids);
		free(keys);
		return -ENOMEM;
	}
	int np = prompt_order(groups, n, seed, 0xCF01D, ids, keys);
	/* rank i of the seeded order goes to fold i mod folds (sizes differ by
	 * at most one prompt); then back in the order of ids */
	for (int i = 0; i < np; i++)
		keys[i].key = (uint64_t)(i % folds);
	qsort(keys, (size_t)np, sizeof *keys, cmp_prompt_id);
	for (int g = 0; g < n; g++) {
		if (!group_rated(&groups[g]))
			continue;
		const int *at = bsearch(&groups[g].prompt, ids, (size_t)np, sizeof *ids, cmp_int);
		fold[g] = (int)keys[at - ids].key;
	}
	free(ids);
	free(keys);
	return np;
}

/*
 * The prior's cross-validated pairwise accuracy (p->cv_folds > 1): every
 * rated group, held out or not, is scored by a prior fitted to the groups of
 * the other folds' prompts (trainer_reward_folds), and the pairs of all of
 * them count — every prompt is held out once, so the figure rests on about
 * 1 / heldout_frac times the pairs of the held-out split, and a lucky or
 * unlucky split of prompts moves it much less.  Leaves the prior as it was.
 */
static int prior_cv(struct reward_job *j, struct trainer_reward_result *res)
{
	struct trainer_prior *pr = j->prior, keep = *pr;
	int K = j->p->cv_folds, rc = 0;
	res->cv_acc = res->cv_lo = res->cv_hi = NAN;
	res->cv_pairs = res->cv_prompts = res->cv_folds = 0;
	if (K < 2 || j->nused < 2)
		return 0;
	int *fold = malloc((size_t)j->n * sizeof *fold);
	int *fit = malloc((size_t)j->nused * 2 * sizeof *fit);
	float *cvr = malloc((size_t)j->total_seqs * sizeof *cvr);
	if (!fold || !fit || !cvr) {
		rc = trainer_fail(&j->run, -ENOMEM, "out of memory for the prior's folds");
		goto out;
	}
	int *in = fit + j->nused;
	int np = trainer_reward_folds(j->groups, j->n, K, j->p->seed, fold);
	if (np < 0) {
		rc = trainer_fail(&j->run, np, "out of memory for the prior's folds");
		goto out;
	}
	int nf = np < K ? np : K;
	if (nf < 2)
		goto out;
	for (int i = 0; i < j->total_seqs; i++)
		cvr[i] = 0.0f;
	for (int f = 0; f < nf; f++) {
		/* in the groups' order, as trainer_reward fits the prior when
		 * the caller holds out fold f (and marks no group seen): the same
		 * sums in the same order, the same prior to the bit */
		int nfit = 0, nin = 0;
		for (int g = 0; g < j->n; g++) {
			if (fold[g] < 0)
				continue;
			if (fold[g] == f)
				in[nin++] = g;
			else
				fit[nfit++] = g;
		}
		float mu, sigma;
		score_standard(j->groups, fit, nfit, &mu, &sigma);
		prior_fit(j, fit, nfit, mu, sigma);
		prior_scores(j);
		for (int i = 0; i < nin; i++) {
			const struct trainer_group *gr = &j->groups[in[i]];
			memcpy(cvr + j->off[in[i]], j->pr + j->off[in[i]], (size_t)gr->k * sizeof *cvr);
		}
	}
	struct rm_measure ms;
	rm_measure(j->groups, j->gi, j->nused, j->off, cvr, 0.0f, 1.0f, &ms);
	res->cv_acc = rm_acc(ms.correct, ms.pairs);
	res->cv_pairs = ms.pairs;
	res->cv_folds = nf;
	res->cv_prompts = np;
	float deff;
	if (ms.pairs && rm_interval(j->groups, j->gi, j->nused, j->off, cvr, &res->cv_lo,
				    &res->cv_hi, &deff) < 0)
		rc = trainer_fail(&j->run, -ENOMEM, "out of memory for the interval");
out:
	*pr = keep;
	prior_scores(j);
	free(fold);
	free(fit);
	free(cvr);
	return rc;
}

/*
 * The likelihood prior (trainer.h): every response's features under the
 * prior's language model, standardised over the training answers, then w and
 * b fitted to the training groups' ratings by the loss of rl_rm_group_loss before
 * the network trains on it (prior_fit).  Measures the prior alone on both
 * sides, and cross-validated over every rated prompt (prior_cv).
 */
static int reward_prior_fit(struct reward_job *j, struct trainer_reward_result *res)
{
	struct trainer_prior *pr = j->prior;
	int F = TRAINER_PRIOR_FEATS, rc;
	j->feats = malloc((size_t)j->total_seqs * (F + 1) * sizeof(float));
	if (!j->feats)
		return trainer_fail(&j->run, -ENOMEM, "out of memory for the prior's features");
	j->pr = j->feats + (size_t)j->total_seqs * F;
	double t0 = trainer_now();
	if ((rc = trainer_prior_collect(pr, &j->rows, &j->run, j->ptr, j->total_seqs, 0, NULL, 0,
					j->feats)) < 0)
		return rc;
	trainer_logf(&j->run, "likelihood prior: the features of %d answers in %.1f s",
		     j->total_seqs, trainer_now() - t0);
	if ((rc = prior_cv(j, res)) < 0)
		return rc;
	prior_fit(j, j->train, j->ntrain, j->mu, j->sigma);
	prior_scores(j);
	struct rm_measure tm, hm;
	rm_measure(j->groups, j->train, j->ntrain, j->off, j->pr, j->mu, j->sigma, &tm);
	rm_measure(j->groups, j->held, j->n_held, j->off, j->pr, j->mu, j->sigma, &hm);
	res->prior_train_acc = rm_acc(tm.correct, tm.pairs);
	res->prior_heldout_acc = rm_acc(hm.correct, hm.pairs);
	trainer_logf(&j->run, "likelihood prior: w mean %.3f min %.3f pmi_mean %.3f pmi_min %.3f "
		     "log_len %.3f pmi_sum %.3f rep4 %.3f overlap %.3f, b %.3f; alone: train_acc "
		     "%.3f heldout_acc %.3f (%d pairs)",
		     pr->w[0], pr->w[1], pr->w[2], pr->w[3], pr->w[4], pr->w[5], pr->w[6], pr->w[7],
		     pr->b,
		     res->prior_train_acc, res->prior_heldout_acc, hm.pairs);
	if (res->cv_folds >= 2)
		trainer_logf(&j->run, "likelihood prior: cross-validated over %d folds of %d "
			     "prompts: acc %.3f [%.3f, %.3f] on %d pairs", res->cv_folds,
			     res->cv_prompts, res->cv_acc, res->cv_lo, res->cv_hi, res->cv_pairs);
	return 0;
}

static int reward_prepare(struct reward_job *j)
{
	const struct trainer_reward_params *p = j->p;
	struct llama_model *rm = j->rm;
	int n_cut = 0, rc = reward_check(j, &n_cut);
	if (rc)
		return rc;
	j->r = malloc((size_t)(j->total_seqs + 2 * j->max_k + 1) * sizeof(float));
	j->off = malloc((size_t)(2 * j->n + 1) * sizeof(int));
	j->gi = malloc((size_t)(j->n + 1) * sizeof(int));
	j->ptr = malloc((size_t)(j->total_seqs + 1) * sizeof *j->ptr);
	if (!j->r || !j->off || !j->gi || !j->ptr)
		return trainer_fail(&j->run, -ENOMEM, "out of memory for %d responses", j->total_seqs);
	j->gr_r = j->r + j->total_seqs;
	j->gr_dr = j->gr_r + j->max_k;
	memset(j->gr_r, 0, (size_t)j->max_k * sizeof(float));
	if ((rc = reward_find_rated(j, j->off + j->n)))
		return rc;
	if (n_cut)
		trainer_logf(&j->run, "%d responses cut to the reward model's %d positions", n_cut,
			     rm->max_T);
	reward_layout(j);
	j->rng = trainer_rng_seed(p->seed, 0x5E3);
	int cap_B = rm->max_B, cap_T = rm->max_T;
	if (j->prior) {
		cap_B = cap_B > j->prior->lm->max_B ? cap_B : j->prior->lm->max_B;
		cap_T = cap_T > j->prior->lm->max_T ? cap_T : j->prior->lm->max_T;
	}
	if (trainer_rows_init(&j->rows, cap_B, cap_T) < 0)
		return trainer_fail(&j->run, -ENOMEM, "out of memory for reward buffers");
	j->bg = p->batch_groups;
	/* an epoch: every group, or the new ones and a sample of the seen */
	int n_seen = j->ntrain - j->n_new;
	j->n_ep = j->ntrain;
	if (p->replay > 0 && n_seen > 0) {
		double want = ceil((double)p->replay * j->n_new);
		int rep = want > n_seen ? n_seen : (int)want;
		rep = rep < j->bg ? (j->bg < n_seen ? j->bg : n_seen) : rep;
		j->n_ep = j->n_new + rep;
	}
	if (!(j->ep = malloc((size_t)j->ntrain * sizeof *j->ep)))
		return trainer_fail(&j->run, -ENOMEM, "out of memory for %d groups", j->ntrain);
	j->spe = (j->n_ep + j->bg - 1) / j->bg;
	j->total = j->spe * p->epochs;
	if ((rc = trainer_opt_init(&j->opt, &j->run, rm, p->lr, p->min_lr, p->warmup_frac,
				   p->weight_decay, p->grad_clip, j->total)) < 0)
		return rc;
	if (p->head_init_std > 0) {
		uint64_t hs = trainer_rng_seed(p->seed, 0x4EAD);
		for (int i = 0; i < rm->cfg.dim; i++)
			rm->w.head_w[i] = (float)(p->head_init_std * rand_normal(&hs));
		rm->w.head_b[0] = 0.0f;
	}
	trainer_logf(&j->run, "reward: %d rated groups: %d training (%d prompts, %d without a "
		     "pair), %d held out (%d prompts); scores standardised by mean %.3f std %.3f; "
		     "%d steps of %d groups", j->nused, j->ntrain, j->train_prompts, j->tied,
		     j->n_held, j->held_prompts, j->mu, j->sigma, j->total, j->bg);
	if (j->n_ep < j->ntrain)
		trainer_logf(&j->run, "reward: each epoch trains on the %d new groups and %d of the "
			     "%d the previous reward model trained on (replay %g)", j->n_new,
			     j->n_ep - j->n_new, n_seen, (double)p->replay);
	return 0;
}

/* An epoch's groups into j->ep, shuffled: every training group, or (replay)
 * the unseen ones and a fresh sample of the seen. */
static void reward_epoch(struct reward_job *j)
{
	if (j->n_ep == j->ntrain) {
		trainer_shuffle(j->train, j->ntrain, &j->rng);
		memcpy(j->ep, j->train, (size_t)j->ntrain * sizeof *j->ep);
		return;
	}
	trainer_shuffle(j->train + j->n_new, j->ntrain - j->n_new, &j->rng);
	memcpy(j->ep, j->train, (size_t)j->n_ep * sizeof *j->ep);
	trainer_shuffle(j->ep, j->n_ep, &j->rng);
}

/* What one reward step reports. */
struct reward_step {
	double loss;       /* mean group loss over the step's groups */
	double pair_loss, point_loss; /* the means of the two terms */
	int pairs, correct;
	float lr;
	double gnorm;
};

/* The loss of group g, whose K responses are rows row.. of the last forward
 * (T positions): scores from the values, the group loss (weighted 1/ng), and
 * its gradient into the rows of j->rows.grad. */
static void reward_group_loss(struct reward_job *j, int gi, int row, int ng,
			      struct reward_step *st)
{
	struct trainer_rows *rows = &j->rows;
	struct llama_model *rm = j->rm;
	const struct trainer_reward_params *p = j->p;
	const struct trainer_group *g = &j->groups[gi];
	int T = rows->T;
	for (int k = 0; k < g->k; k++) {
		j->gr_r[k] = seq_score_forward(rm->acts.values + (size_t)(row + k) * T,
					       rows->seqs[row + k], rows->len[row + k], rm->score) +
			     (j->prior ? j->pr[j->off[gi] + k] : 0.0f);
		j->gr_dr[k] = 0.0f;
	}
	struct rl_rm_stats rs;
	st->loss += rl_rm_group_loss(j->gr_dr, &rs, j->gr_r, g->scores, g->k, p->margin_scale,
				     j->mu, j->sigma, g->order_only ? 0.0f : p->pointwise_weight,
				     1.0f / ng) / ng;
	st->pair_loss += rs.pair_loss / ng;
	st->point_loss += rs.point_loss / ng;
	st->pairs += rs.n_pairs;
	st->correct += rs.n_correct;
	for (int k = 0; k < g->k; k++)
		seq_score_backward(rows->grad + (size_t)(row + k) * T, rows->seqs[row + k],
				   rows->len[row + k], rm->score, j->gr_dr[k]);
}

/* The optimizer step over the training groups train[g0 .. g0+ng): micro-batches
 * of whole groups (a group's pairs compare rows of one forward), AdamW. */
static int reward_step(struct reward_job *j, int g0, int ng, struct reward_step *st)
{
	struct llama_model *rm = j->rm;
	struct trainer_rows *rows = &j->rows;
	const int *train = j->ep + g0;
	llama_zero_grads(rm);
	for (int i = 0; i < ng;) {
		int nrows = 0, i1 = i;
		while (i1 < ng && nrows + j->groups[train[i1]].k <= rm->max_B)
			nrows += j->groups[train[i1++]].k;
		for (int a = i, q = 0; a < i1; a++)
			for (int k = 0; k < j->groups[train[a]].k; k++)
				rows->seqs[q++] = &j->groups[train[a]].seqs[k];
		int rc = trainer_step_forward(rm, rows, &j->run, rows->seqs, nrows, rm->max_T,
					      LLAMA_VALUES, "reward");
		if (rc < 0)
			return rc;
		for (int a = i, row = 0; a < i1; a++) {
			reward_group_loss(j, train[a], row, ng, st);
			row += j->groups[train[a]].k;
		}
		if ((rc = trainer_step_backward(rm, rows, &j->run, "reward")) < 0)
			return rc;
		i = i1;
	}
	freeze_lower(rm, j->p->train_layers);
	st->gnorm = adamw_step(&j->opt, rm->params, rm->grads, 1.0f, &st->lr);
	return 0;
}

/* The raw scores of the first n responses of ptr into j->r: the network's
 * plus the prior's, from the features computed once at the start. */
static int reward_scores(struct reward_job *j, int n)
{
	struct trainer_outs o = { .S = j->rm->max_T, .score = j->r };
	j->rm->prior = NULL;
	int rc = trainer_collect(j->rm, &j->rows, &j->run, j->ptr, n, 0, &o);
	j->rm->prior = j->prior;
	for (int i = 0; j->prior && i < n; i++)
		j->r[i] += j->pr[i];
	return rc;
}

/* The held-out figures after an epoch (raw scores: the head is rescaled only
 * at the end). */
static int reward_heldout(struct reward_job *j, int step, const struct trainer_reward_result *res)
{
	int epoch = step / j->spe + 1;
	if (j->n_held == 0) {
		trainer_logf(&j->run, "reward epoch %d: loss %.4f (nothing held out)", epoch, res->loss);
		return 0;
	}
	int rc = reward_scores(j, j->held_seqs);
	if (rc < 0)
		return rc;
	struct rm_measure ms;
	rm_measure(j->groups, j->held, j->n_held, j->off, j->r, j->mu, j->sigma, &ms);
	float acc = rm_acc(ms.correct, ms.pairs), lo, hi, rmse = rm_rmse(&ms);
	stats_wilson(ms.correct, ms.pairs, STATS_Z95, &lo, &hi);
	/* with a prior the held-out prompts are scored by the prior alone, which
	 * epochs do not change: the series follows the network instead */
	const char *name = j->prior ? "heldout_acc_network" : "heldout_acc";
	if (ms.pairs)
		trainer_metric(&j->run, step, name, acc);
	if (!j->prior)
		trainer_metric(&j->run, step, "heldout_rmse", rmse);
	trainer_logf(&j->run, "reward epoch %d: loss %.4f %s %.3f [%.3f, %.3f] (%d pairs) "
		     "heldout_rmse %.3f (%d answers)", epoch, res->loss, name, acc, lo, hi, ms.pairs,
		     rmse, ms.rated);
	return 0;
}

/* The final scores of every response: the figures (from the raw scores),
 * then the normalisation of the head. */
static int reward_evaluate(struct reward_job *j, struct trainer_reward_result *res)
{
	struct llama_model *rm = j->rm;
	int rc = reward_scores(j, j->total_seqs);
	if (rc < 0)
		return rc;
	struct rm_measure tm, hm;
	rm_measure(j->groups, j->train, j->ntrain, j->off, j->r, j->mu, j->sigma, &tm);
	rm_measure(j->groups, j->held, j->n_held, j->off, j->r, j->mu, j->sigma, &hm);
	if (j->prior) {
		/* unseen prompts are scored by the prior alone (struct trainer_prior) */
		res->heldout_acc_network = rm_acc(hm.correct, hm.pairs);
		rm_measure(j->groups, j->held, j->n_held, j->off, j->pr, j->mu, j->sigma, &hm);
	}
	res->train_pairs = tm.pairs;
	res->train_acc = rm_acc(tm.correct, tm.pairs);
	res->train_rmse = rm_rmse(&tm);
	res->heldout_pairs = hm.pairs;
	res->heldout_acc = rm_acc(hm.correct, hm.pairs);
	if (rm_interval(j->groups, j->held, j->n_held, j->off, j->prior ? j->pr : j->r,
			&res->heldout_lo, &res->heldout_hi, &res->heldout_deff) < 0)
		return trainer_fail(&j->run, -ENOMEM, "out of memory for the held-out interval");
	res->heldout_rmse = rm_rmse(&hm);
	for (int b = 0; b < 4; b++) {
		res->pairs_by_gap[b] = hm.by_gap_pairs[b];
		res->acc_by_gap[b] = rm_acc(hm.by_gap_correct[b], hm.by_gap_pairs[b]);
	}
	struct rl_norm nrm;
	rl_norm_fit(&nrm, j->r, j->total_seqs);
	res->norm_mean = nrm.mean;
	res->norm_std = nrm.std;
	if (j->p->normalize) {
		for (int i = 0; i < rm->cfg.dim; i++)
			rm->w.head_w[i] /= nrm.std;
		rm->w.head_b[0] = (rm->w.head_b[0] - nrm.mean) / nrm.std;
		if (j->prior) {
			for (int i = 0; i < TRAINER_PRIOR_FEATS; i++)
				j->prior->w[i] /= nrm.std;
			j->prior->b /= nrm.std;
		}
	}
	trainer_logf(&j->run, "reward: train_acc %.3f (%d pairs) rmse %.3f; heldout_acc %.3f "
		     "[%.3f, %.3f] (%d pairs, %d prompts, design effect %.2f) rmse %.3f; by gap "
		     "%.3f/%d %.3f/%d %.3f/%d %.3f/%d; scores mean %.4f std %.4f%s", res->train_acc,
		     tm.pairs, res->train_rmse, res->heldout_acc, res->heldout_lo, res->heldout_hi,
		     hm.pairs, j->held_prompts, res->heldout_deff, res->heldout_rmse,
		     res->acc_by_gap[0], res->pairs_by_gap[0], res->acc_by_gap[1],
		     res->pairs_by_gap[1], res->acc_by_gap[2], res->pairs_by_gap[2],
		     res->acc_by_gap[3], res->pairs_by_gap[3], nrm.mean, nrm.std,
		     j->p->normalize ? " normalised to 0, 1" : "");
	return 0;
}

int trainer_reward(struct llama_model *rm, const struct trainer_group *groups, int n,
		   const struct trainer_reward_params *p, const struct trainer_hooks *hooks,
		   struct trainer_reward_result *res, char *err, size_t errlen)
{
	struct reward_job j = { .p = p, .rm = rm, .groups = groups, .n = n,
				.prior = rm && rm->prior && rm->prior->lm ? rm->prior : NULL };
	trainer_run_init(&j.run, hooks, err, errlen);
	memset(res, 0, sizeof *res);
	res->prior_train_acc = res->prior_heldout_acc = res->heldout_acc_network = NAN;
	res->cv_acc = res->cv_lo = res->cv_hi = NAN;
	res->heldout_acc = res->train_acc = NAN;
	res->heldout_lo = res->heldout_hi = res->heldout_deff = NAN;
	res->heldout_rmse = res->train_rmse = NAN;
	for (int b = 0; b < 4; b++)
		res->acc_by_gap[b] = NAN;
	int rc = reward_prepare(&j);
	if (rc || (j.prior && (rc = reward_prior_fit(&j, res)) < 0))
		goto out;
	res->heldout_prompts = j.held_prompts;
	res->train_prompts = j.train_prompts;
	res->groups_tied = j.tied;
	res->score_mu = j.mu;
	res->score_sigma = j.sigma;

	double ep_loss = 0;
	int ep_groups = 0;
	for (int step = 0; step < j.total; step++) {
		int within = step % j.spe, g0 = within * j.bg;
		int ng = j.n_ep - g0 < j.bg ? j.n_ep - g0 : j.bg;
		if (within == 0) {
			reward_epoch(&j);
			ep_loss = 0;
			ep_groups = 0;
		}
		struct reward_step st = { 0 };
		if ((rc = reward_step(&j, g0, ng, &st)) < 0)
			goto out;

		ep_loss += st.loss * ng;
		ep_groups += ng;
		res->loss = (float)(ep_loss / ep_groups);
		res->steps = step + 1;
		trainer_metric(&j.run, step, "loss", (float)st.loss);
		trainer_metric(&j.run, step, "pair_loss", (float)st.pair_loss);
		trainer_metric(&j.run, step, "point_loss", (float)st.point_loss);
		if (st.pairs)
			trainer_metric(&j.run, step, "acc", (float)st.correct / st.pairs);
		trainer_metric(&j.run, step, "lr", st.lr);
		trainer_metric(&j.run, step, "grad_norm", (float)st.gnorm);
		if (within == j.spe - 1 && (rc = reward_heldout(&j, step, res)) < 0)
			goto out;
		trainer_progress(&j.run, (float)(step + 1) / (float)(j.total + 1));
		if (step + 1 < j.total && trainer_cancelled(&j.run)) {
			rc = -ECANCELED;
			goto out;
		}
	}
	if ((rc = reward_evaluate(&j, res)) < 0)
		goto out;
	trainer_progress(&j.run, 1.0f);
	rc = 0;
out:
	reward_job_release(&j);
	return rc;
}

/* ---- DPO ---------------------------------------------------------------------- */

void trainer_dpo_defaults(struct trainer_dpo_params *p)
{
	memset(p, 0, sizeof *p);
	p->lr = 5e-5f;
	p->min_lr = 5e-6f;
	p->warmup_frac = 0.05f;
	p->weight_decay = 0.0f;
	p->grad_clip = 1.0f;
	p->epochs = 2;
	p->batch_pairs = 8;
	p->beta = 0.1f;
	p->label_smoothing = 0.0f;
	p->seed = 1;
}

/* One DPO call.  Rows 2i, 2i+1 of ptr are chosen, rejected of the i-th
 * usable pair; ref_sum their summed response log-probs under ref. */
struct dpo_job {
	struct trainer_run run;
	const struct trainer_dpo_params *p;
	struct llama_model *policy, *ref;
	const struct trainer_pair *pairs;
	int n;                      /* pairs given */
	int nu;                     /* usable pairs */
	int T_max;                  /* context both models score */
	int per_micro;              /* pairs per policy micro-batch */
	int spe, total;             /* steps per epoch, steps */
	int *order;                 /* (nu) shuffled per epoch */
	const struct trainer_seq **ptr; /* (2 nu) */
	float *ref_sum;             /* (2 nu) */
	float *buf;                 /* (6 per_micro) a micro-batch's sums and gradients */
	uint64_t rng;
	struct trainer_rows rows;
	struct adamw opt;
};

static void dpo_job_release(struct dpo_job *j)
{
	adamw_release(&j->opt);
	trainer_rows_release(&j->rows);
	free(j->order);
	free(j->ptr);
	free(j->ref_sum);
	free(j->buf);
}

static bool dpo_usable(const struct trainer_pair *pr, int T_max)
{
	return trainer_seq_scored(&pr->chosen, T_max, false) > 0 &&
	       trainer_seq_scored(&pr->rejected, T_max, false) > 0;
}

/* Checks the models, the settings and every pair; counts the usable ones. */
static int dpo_check(struct dpo_job *j)
{
	const struct trainer_dpo_params *p = j->p;
	struct llama_model *policy = j->policy, *ref = j->ref;
	if (!policy || !is_lm(policy) || !policy->grads || policy->max_B < 2)
		return trainer_fail(&j->run, -EINVAL, "dpo needs a language model with gradients "
				    "and room for 2 rows");
	if (!ref || !is_lm(ref) || ref->cfg.vocab_size != policy->cfg.vocab_size)
		return trainer_fail(&j->run, -EINVAL, "dpo needs a reference language model of the "
				    "policy's vocabulary");
	if (j->n < 0 || (j->n > 0 && !j->pairs) || p->epochs <= 0 || p->batch_pairs <= 0 ||
	    !(p->beta > 0) || !(p->label_smoothing >= 0 && p->label_smoothing < 0.5f))
		return trainer_fail(&j->run, -EINVAL, "bad dpo settings: %d pairs, epochs %d, "
				    "batch_pairs %d, beta %g, label_smoothing %g", j->n, p->epochs,
				    p->batch_pairs, p->beta, p->label_smoothing);
	int rc = check_opt(&j->run, p->lr, p->min_lr, p->weight_decay, p->grad_clip);
	if (rc)
		return rc;
	int V = policy->cfg.vocab_size;
	j->T_max = policy->max_T < ref->max_T ? policy->max_T : ref->max_T;
	for (int i = 0; i < j->n; i++) {
		if ((rc = trainer_seq_check(&j->run, &j->pairs[i].chosen, V, "chosen", i)) ||
		    (rc = trainer_seq_check(&j->run, &j->pairs[i].rejected, V, "rejected", i)))
			return rc;
		j->nu += dpo_usable(&j->pairs[i], j->T_max);
	}
	if (j->nu == 0)
		return trainer_fail(&j->run, -EINVAL, "no preference pair with response tokens on "
				    "both sides (of %d)", j->n);
	return 0;
}

/* Buffers, the reference's log-probs (once, up front) and AdamW. */
static int dpo_prepare(struct dpo_job *j)
{
	const struct trainer_dpo_params *p = j->p;
	struct llama_model *policy = j->policy, *ref = j->ref;
	int rc = dpo_check(j);
	if (rc)
		return rc;
	int cap_B = policy->max_B > ref->max_B ? policy->max_B : ref->max_B;
	int cap_T = policy->max_T > ref->max_T ? policy->max_T : ref->max_T;
	j->spe = (j->nu + p->batch_pairs - 1) / p->batch_pairs;
	j->total = j->spe * p->epochs;
	j->per_micro = policy->max_B / 2;
	j->order = malloc((size_t)j->nu * sizeof(int));
	j->ptr = malloc((size_t)2 * j->nu * sizeof *j->ptr);
	j->ref_sum = malloc((size_t)2 * j->nu * sizeof(float));
	j->buf = malloc((size_t)6 * j->per_micro * sizeof(float));
	if (!j->order || !j->ptr || !j->ref_sum || !j->buf)
		return trainer_fail(&j->run, -ENOMEM, "out of memory for %d pairs", j->nu);
	for (int i = 0, k = 0; i < j->n; i++)
		if (dpo_usable(&j->pairs[i], j->T_max)) {
			j->ptr[2 * k] = &j->pairs[i].chosen;
			j->ptr[2 * k + 1] = &j->pairs[i].rejected;
			j->order[k] = k;
			k++;
		}
	if (trainer_rows_init(&j->rows, cap_B, cap_T) < 0)
		return trainer_fail(&j->run, -ENOMEM, "out of memory for dpo buffers");
	struct trainer_outs ro = { .S = cap_T, .lpsum = j->ref_sum };
	if ((rc = trainer_collect(ref, &j->rows, &j->run, j->ptr, 2 * j->nu, j->T_max, &ro)) < 0)
		return rc;
	if ((rc = trainer_opt_init(&j->opt, &j->run, policy, p->lr, p->min_lr, p->warmup_frac,
				   p->weight_decay, p->grad_clip, j->total)) < 0)
		return rc;
	trainer_logf(&j->run, "dpo: %d pairs, %d steps of %d", j->nu, j->total, p->batch_pairs);
	j->rng = trainer_rng_seed(p->seed, 0xD90);
	return 0;
}

/* What one DPO step reports: sums over its pairs (loss already a mean). */
struct dpo_step {
	double loss, acc, margin, chosen, rejected;
	float lr;
	double gnorm;
};

/* The loss of the last forward's m pairs (rows 2i, 2i+1; their reference sums
 * in rf_c, rf_r): rl_dpo_loss on the summed response log-probs, weighted m/nb
 * of the step, its gradient spread over each response's positions in
 * j->rows.grad. */
static void dpo_loss(struct dpo_job *j, int m, int nb, struct dpo_step *st)
{
	struct trainer_rows *rows = &j->rows;
	int T = rows->T, pm = j->per_micro;
	float *pi_c = j->buf, *pi_r = pi_c + pm, *rf_c = pi_r + pm, *rf_r = rf_c + pm;
	float *d_c = rf_r + pm, *d_r = d_c + pm;
	const float *lp = j->policy->acts.logprobs;
	for (int i = 0; i < m; i++) {
		size_t c = (size_t)(2 * i) * T, r = c + T;
		pi_c[i] = trainer_masked_sum(rows->mask + c, lp + c, T);
		pi_r[i] = trainer_masked_sum(rows->mask + r, lp + r, T);
		d_c[i] = d_r[i] = 0.0f;
	}
	struct rl_dpo_stats ds;
	float l = rl_dpo_loss(d_c, d_r, &ds, pi_c, pi_r, rf_c, rf_r, m, j->p->beta,
			      j->p->label_smoothing, (float)m / nb);
	st->loss += (double)l * m / nb;
	st->acc += (double)ds.accuracy * m;
	st->margin += (double)ds.margin * m;
	st->chosen += (double)ds.reward_chosen * m;
	st->rejected += (double)ds.reward_rejected * m;
	for (int i = 0; i < m; i++)
		for (int t = 0; t < T; t++) {
			size_t c = (size_t)(2 * i) * T + t, r = c + T;
			rows->grad[c] = rows->mask[c] * d_c[i];
			rows->grad[r] = rows->mask[r] * d_r[i];
		}
}

/* The optimizer step over the pairs order[b0 .. b0+nb): micro-batches of
 * per_micro pairs (chosen and rejected side by side), AdamW. */
static int dpo_step(struct dpo_job *j, int b0, int nb, struct dpo_step *st)
{
	struct llama_model *policy = j->policy;
	struct trainer_rows *rows = &j->rows;
	float *rf_c = j->buf + 2 * j->per_micro, *rf_r = rf_c + j->per_micro;
	llama_zero_grads(policy);
	for (int i0 = 0; i0 < nb; i0 += j->per_micro) {
		int m = nb - i0 < j->per_micro ? nb - i0 : j->per_micro;
		for (int i = 0; i < m; i++) {
			int q = j->order[b0 + i0 + i];
			rows->seqs[2 * i] = j->ptr[2 * q];
			rows->seqs[2 * i + 1] = j->ptr[2 * q + 1];
			rf_c[i] = j->ref_sum[2 * q];
			rf_r[i] = j->ref_sum[2 * q + 1];
		}
		int rc = trainer_step_forward(policy, rows, &j->run, rows->seqs, 2 * m, j->T_max,
					      LLAMA_LOGPROBS, "dpo");
		if (rc < 0)
			return rc;
		dpo_loss(j, m, nb, st);
		if ((rc = trainer_step_backward(policy, rows, &j->run, "dpo")) < 0)
			return rc;
	}
	st->gnorm = adamw_step(&j->opt, policy->params, policy->grads, 1.0f, &st->lr);
	return 0;
}

int trainer_dpo(struct llama_model *policy, struct llama_model *ref,
		const struct trainer_pair *pairs, int n, const struct trainer_dpo_params *p,
		const struct trainer_hooks *hooks, struct trainer_dpo_result *res,
		char *err, size_t errlen)
{
	struct dpo_job j = { .p = p, .policy = policy, .ref = ref, .pairs = pairs, .n = n };
	trainer_run_init(&j.run, hooks, err, errlen);
	memset(res, 0, sizeof *res);
	int rc = dpo_prepare(&j);
	if (rc)
		goto out;

	double ep_loss = 0, ep_acc = 0, ep_margin = 0;
	int ep_n = 0, bp = p->batch_pairs;
	for (int step = 0; step < j.total; step++) {
		int within = step % j.spe, b0 = within * bp, nb = j.nu - b0 < bp ? j.nu - b0 : bp;
		if (within == 0) {
			trainer_shuffle(j.order, j.nu, &j.rng);
			ep_loss = ep_acc = ep_margin = 0;
			ep_n = 0;
		}
		struct dpo_step st = { 0 };
		if ((rc = dpo_step(&j, b0, nb, &st)) < 0)
			goto out;

		if (step == 0)
			res->loss_first = (float)st.loss;
		ep_loss += st.loss * nb;
		ep_acc += st.acc;
		ep_margin += st.margin;
		ep_n += nb;
		res->loss = (float)(ep_loss / ep_n);
		res->reward_acc = (float)(ep_acc / ep_n);
		res->margin = (float)(ep_margin / ep_n);
		res->steps = step + 1;
		trainer_metric(&j.run, step, "loss", (float)st.loss);
		trainer_metric(&j.run, step, "reward_acc", (float)(st.acc / nb));
		trainer_metric(&j.run, step, "margin", (float)(st.margin / nb));
		trainer_metric(&j.run, step, "chosen_reward", (float)(st.chosen / nb));
		trainer_metric(&j.run, step, "rejected_reward", (float)(st.rejected / nb));
		trainer_metric(&j.run, step, "lr", st.lr);
		trainer_metric(&j.run, step, "grad_norm", (float)st.gnorm);
		trainer_progress(&j.run, (float)(step + 1) / (float)j.total);
		if ((step + 1) % 20 == 0 || step + 1 == j.total)
			trainer_logf(&j.run, "dpo step %d/%d loss %.4f reward_acc %.3f margin %.4f",
				     step + 1, j.total, st.loss, st.acc / nb, st.margin / nb);
		if (step + 1 < j.total && trainer_cancelled(&j.run)) {
			rc = -ECANCELED;
			goto out;
		}
	}
	rc = 0;
out:
	dpo_job_release(&j);
	return rc;
}
