/*
 * model/trainer_rivals.c — the prompts an answer could have been written for
 * (model/trainer.h struct trainer_rivals): an inverted index from each word
 * to the prompts that have it, for the likelihood prior's recognition
 * feature, which compares an answer's likelihood after its own prompt with
 * that after the prompts whose words it echoes.
 *
 * Words are trainer_words' (the tokens' text, lowercased runs of letters and
 * digits); a word weighs log((n + 1) / (count + 1)) over the n prompts, as
 * the overlap feature's idf does.  The index is built once per job from the
 * database's prompts and only read after, by any number of threads.
 */
#include "model/trainer.h"
#include "model/trainer_impl.h"
#include "model/rng.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* (word key, prompt) of every distinct word of every prompt. */
struct key_prompt {
	uint64_t key;
	int prompt;
};

struct key_list {
	struct key_prompt *kp;
	size_t n, cap;
	int prompt;
	bool oom;
};

static void key_list_add(void *ctx, const char *word, size_t len)
{
	struct key_list *l = ctx;
	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct key_prompt *kp = realloc(l->kp, cap * sizeof *kp);
		if (!kp) {
			l->oom = true;
			return;
		}
		l->kp = kp;
		l->cap = cap;
	}
	l->kp[l->n++] = (struct key_prompt){ trainer_word_key(word, len), l->prompt };
}

static int cmp_key_prompt(const void *a, const void *b)
{
	const struct key_prompt *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->prompt > y->prompt) - (x->prompt < y->prompt);
}

static size_t rivals_slot(const struct trainer_rivals *rv, uint64_t k)
{
	size_t i = (size_t)(k ^ (k >> 29)) & (rv->cap - 1);
	while (rv->key[i] && rv->key[i] != k)
		i = (i + 1) & (rv->cap - 1);
	return i;
}

int trainer_rivals_init(struct trainer_rivals *rv, const struct tokenizer *tk,
			const int *const *prompts, const int *len, int n)
{
	memset(rv, 0, sizeof *rv);
	rv->tk = tk;
	rv->n = n;
	struct key_list l = { 0 };
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += (size_t)len[i];
	rv->tokens = malloc((total ? total : 1) * sizeof *rv->tokens);
	rv->start = malloc((size_t)(n + 1) * sizeof *rv->start);
	if (!rv->tokens || !rv->start)
		goto out_oom;
	uint64_t h = 0x2545f4914f6cdd1dull ^ (uint64_t)n;
	rv->start[0] = 0;
	for (int i = 0; i < n; i++) {
		memcpy(rv->tokens + rv->start[i], prompts[i], (size_t)len[i] * sizeof *rv->tokens);
		rv->start[i + 1] = rv->start[i] + (size_t)len[i];
		rv->longest = len[i] > rv->longest ? len[i] : rv->longest;
		uint64_t st = h ^ (uint64_t)len[i];
		h = rng_splitmix64(&st);
		for (int t = 0; t < len[i]; t++) {
			st = h ^ (uint32_t)prompts[i][t];
			h = rng_splitmix64(&st);
		}
	}
	rv->hash = h ? h : 1;
	/* every prompt's words, each once per prompt, grouped by word */
	for (int i = 0; i < n; i++) {
		size_t from = l.n;
		l.prompt = i;
		trainer_words(tk, prompts[i], len[i], key_list_add, &l);
		if (l.oom)
			goto out_oom;
		if (l.n > from)         /* (l.kp is NULL before the first word) */
			qsort(l.kp + from, l.n - from, sizeof *l.kp, cmp_key_prompt);
		size_t o = from;
		for (size_t k = from; k < l.n; k++)
			if (k == from || l.kp[k].key != l.kp[o - 1].key)
				l.kp[o++] = l.kp[k];
		l.n = o;
	}
	if (l.n > 0)
		qsort(l.kp, l.n, sizeof *l.kp, cmp_key_prompt);
	size_t words = 0;
	for (size_t k = 0; k < l.n; k++)
		words += k == 0 || l.kp[k].key != l.kp[k - 1].key;
	rv->cap = 64;
	while (rv->cap < 2 * words)
		rv->cap *= 2;
	rv->key = calloc(rv->cap, sizeof *rv->key);
	rv->first = malloc(rv->cap * sizeof *rv->first);
	rv->count = malloc(rv->cap * sizeof *rv->count);
	rv->w = malloc(rv->cap * sizeof *rv->w);
	rv->post = malloc((l.n ? l.n : 1) * sizeof *rv->post);
	if (!rv->key || !rv->first || !rv->count || !rv->w || !rv->post)
		goto out_oom;
	for (size_t k = 0; k < l.n; k++) {
		rv->post[k] = l.kp[k].prompt;
		if (k > 0 && l.kp[k].key == l.kp[k - 1].key)
			continue;
		size_t e = k + 1;
		while (e < l.n && l.kp[e].key == l.kp[k].key)
			e++;
		size_t at = rivals_slot(rv, l.kp[k].key);
		rv->key[at] = l.kp[k].key;
		rv->first[at] = (int)k;
		rv->count[at] = (int)(e - k);
		rv->w[at] = logf(((float)n + 1.0f) / ((float)(e - k) + 1.0f));
	}
	free(l.kp);
	return 0;
out_oom:
	free(l.kp);
	trainer_rivals_release(rv);
	return -ENOMEM;
}

void trainer_rivals_release(struct trainer_rivals *rv)
{
	free(rv->tokens);
	free(rv->start);
	free(rv->key);
	free(rv->first);
	free(rv->count);
	free(rv->w);
	free(rv->post);
	memset(rv, 0, sizeof *rv);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool same_prompt(const struct trainer_rivals *rv, int i, const int *prompt, int P)
{
	size_t n = rv->start[i + 1] - rv->start[i];
	return n == (size_t)P && !memcmp(rv->tokens + rv->start[i], prompt, n * sizeof *prompt);
}

int trainer_rivals_pick(const struct trainer_rivals *rv, const int *prompt, int P,
			const int *ans, int A, int k, int *out, float *score, int *touched)
{
	static _Thread_local uint64_t ak[TRAINER_PRIOR_MAX_L];
	if (!rv || rv->n == 0 || k <= 0)
		return 0;
	struct trainer_word_keys b = { ak, 0, TRAINER_PRIOR_MAX_L };
	trainer_words(rv->tk, ans, A < TRAINER_PRIOR_MAX_L ? A : TRAINER_PRIOR_MAX_L,
		      trainer_word_keys_add, &b);
	qsort(ak, (size_t)b.n, sizeof *ak, cmp_u64);
	int nt = 0;
	for (int i = 0; i < b.n; i++) {
		if (i > 0 && ak[i] == ak[i - 1])
			continue;
		size_t at = rivals_slot(rv, ak[i]);
		/* a word of more than a quarter of the prompts names no one of them */
		if (!rv->key[at] || 4 * (size_t)rv->count[at] > (size_t)rv->n)
			continue;
		for (int p = rv->first[at]; p < rv->first[at] + rv->count[at]; p++) {
			int q = rv->post[p];
			if (score[q] == 0.0f)
				touched[nt++] = q;
			score[q] += rv->w[at] > 0.0f ? rv->w[at] : 1e-6f;
		}
	}
	/* the k best, by score then index, none the answer's own prompt, and
	 * none below the own prompt's score once it is met (the picks come
	 * best first: the first one below it ends the list) */
	int got = 0;
	float own = -1.0f;
	while (got < k) {
		int best = -1;
		for (int t = 0; t < nt; t++) {
			int q = touched[t];
			if (score[q] > 0.0f &&
			    (best < 0 || score[q] > score[best] || (score[q] == score[best] && q < best)))
				best = q;
		}
		if (best < 0)
			break;
		float sb = score[best];
		score[best] = -sb;          /* taken (or not a rival): not again */
		if (same_prompt(rv, best, prompt, P)) {
			own = own < 0.0f ? sb : own;
			continue;
		}
		if (sb < own)
			break;
		out[got++] = best;
	}
	for (int t = 0; t < nt; t++)
		score[touched[t]] = 0.0f;
	return got;
}

float trainer_prior_recognition(const double *diff, int k)
{
	/* -log(1 + sum exp d): log-sum-exp over 0 and the diffs */
	double m = 0.0;
	for (int i = 0; i < k; i++)
		m = diff[i] > m ? diff[i] : m;
	double s = exp(-m);
	for (int i = 0; i < k; i++)
		s += exp(diff[i] - m);
	return (float)-(m + log(s));
}
