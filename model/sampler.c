/*
 * model/sampler.c — next-token sampling (see model/sampler.h).
 */
#include "model/sampler.h"
#include "model/rng.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int sampler_init(struct sampler *s, int vocab_size, float temperature, float top_p,
		 int top_k, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	if (vocab_size <= 0)
		return -1;
	s->cand = malloc((size_t)vocab_size * sizeof(*s->cand));
	if (!s->cand)
		return -1;
	s->vocab_size = vocab_size;
	sampler_set(s, temperature, top_p, top_k);
	s->rng = sampler_stream_seed(seed, 0);
	return 0;
}

void sampler_release(struct sampler *s)
{
	if (!s)
		return;
	free(s->cand);
	memset(s, 0, sizeof(*s));
}

void sampler_set(struct sampler *s, float temperature, float top_p, int top_k)
{
	/* a temperature so small that the scaled logits overflow means greedy */
	s->temperature = temperature >= SAMPLER_MIN_TEMPERATURE ? temperature : 0.0f;
	s->top_p = top_p;
	s->top_k = top_k;
}

uint64_t sampler_stream_seed(uint64_t seed, int stream)
{
	uint64_t x = seed, y;
	y = rng_splitmix64(&x) ^ (uint64_t)(uint32_t)stream * 0xd1b54a32d192ed03ull;
	y = rng_splitmix64(&y);
	return y ? y : 0x2545f4914f6cdd1dull;
}

uint32_t sampler_random_u32(uint64_t *state)
{
	/* xorshift64*, as llama2.c */
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return (uint32_t)((*state * 0x2545f4914f6cdd1dull) >> 32);
}

float sampler_random_f32(uint64_t *state)
{
	return (float)(sampler_random_u32(state) >> 8) / 16777216.0f;
}

int sampler_argmax(const float *x, int n)
{
	/* the maximum in one vectorised pass, then its first position */
	float mx = x[0];
#pragma omp simd reduction(max : mx)
	for (int i = 0; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	for (int i = 0; i < n; i++)
		if (x[i] == mx)
			return i;
	return 0; /* only with NaNs */
}

void sampler_softmax(float *x, int n)
{
	float mx = x[0], sum = 0.0f;
#pragma omp simd reduction(max : mx)
	for (int i = 0; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
#pragma omp simd reduction(+ : sum)
	for (int i = 0; i < n; i++) {
		x[i] = sampler_expf(x[i] - mx);
		sum += x[i];
	}
	float inv = 1.0f / sum;
#pragma omp simd
	for (int i = 0; i < n; i++)
		x[i] *= inv;
}

float sampler_log_softmax_at(const float *x, int n, int i)
{
	float mx = x[0], sum = 0.0f;
#pragma omp simd reduction(max : mx)
	for (int j = 0; j < n; j++)
		mx = x[j] > mx ? x[j] : mx;
#pragma omp simd reduction(+ : sum)
	for (int j = 0; j < n; j++)
		sum += sampler_expf(x[j] - mx);
	return x[i] - mx - logf(sum);
}

/* a before b when more likely; the lower id first on ties: a total order */
static int prob_before(const struct sampler_prob *a, const struct sampler_prob *b)
{
	return a->prob > b->prob || (a->prob == b->prob && a->index < b->index);
}

static int cmp_prob(const void *pa, const void *pb)
{
	const struct sampler_prob *a = pa, *b = pb;
	return prob_before(a, b) ? -1 : prob_before(b, a) ? 1 : 0;
}

/* Moves the k first (by prob_before) of c[0..n) to c[0..k), any order. */
static void select_top(struct sampler_prob *c, int n, int k)
{
	int lo = 0, hi = n - 1;
	while (lo < hi) {
		/* median of three as pivot */
		int mid = lo + (hi - lo) / 2;
		struct sampler_prob t;
		if (prob_before(&c[mid], &c[lo])) { t = c[mid]; c[mid] = c[lo]; c[lo] = t; }
		if (prob_before(&c[hi], &c[lo])) { t = c[hi]; c[hi] = c[lo]; c[lo] = t; }
		if (prob_before(&c[hi], &c[mid])) { t = c[hi]; c[hi] = c[mid]; c[mid] = t; }
		struct sampler_prob pv = c[mid];
		int i = lo, j = hi;
		while (i <= j) {
			while (prob_before(&c[i], &pv))
				i++;
			while (prob_before(&pv, &c[j]))
				j--;
			if (i <= j) {
				t = c[i]; c[i] = c[j]; c[j] = t;
				i++;
				j--;
			}
		}
		/* now c[lo..j] before-or-equal pivot, c[i..hi] after-or-equal */
		if (k - 1 <= j)
			hi = j;
		else if (k - 1 >= i)
			lo = i;
		else
			break;
	}
}

/*
 * Moves the nucleus to the front of c[0..n), in no particular order, and
 * returns its size: the fewest first entries (by prob_before) whose mass
 * exceeds target, or all n.  Quickselect on the mass instead of a sort: O(n)
 * expected, where sorting a flat distribution's 32000 candidates per token
 * costs milliseconds.
 */
static int select_nucleus(struct sampler_prob *c, int n, float target)
{
	int lo = 0, hi = n;   /* [0, lo) is in; the nucleus ends inside [lo, hi) */
	float above = 0.0f;   /* mass of c[0..lo), never above target */
	while (hi - lo > 1) {
		/* median of three to c[hi - 1] as pivot, then Lomuto partition */
		int mid = lo + (hi - lo) / 2, last = hi - 1;
		struct sampler_prob t;
		if (prob_before(&c[mid], &c[lo])) { t = c[mid]; c[mid] = c[lo]; c[lo] = t; }
		if (prob_before(&c[last], &c[lo])) { t = c[last]; c[last] = c[lo]; c[lo] = t; }
		if (prob_before(&c[mid], &c[last])) { t = c[mid]; c[mid] = c[last]; c[last] = t; }
		struct sampler_prob pv = c[last];
		int p = lo;
		float m = 0.0f;
		for (int i = lo; i < last; i++)
			if (prob_before(&c[i], &pv)) {
				m += c[i].prob;
				t = c[i]; c[i] = c[p]; c[p] = t;
				p++;
			}
		t = c[p]; c[p] = c[last]; c[last] = t;
		/* now c[lo..p) before the pivot c[p], c(p..hi) after it */
		if (above + m > target) {
			hi = p;
		} else if (above + m + c[p].prob > target) {
			return p + 1;
		} else {
			above += m + c[p].prob;
			lo = p + 1;
		}
	}
	return hi; /* the one entry left completes it, or everything is in */
}

/* The kept candidates in s->cand (sorted most likely first when asked); their
 * mass in *mass; returns how many. */
static int truncate_dist(struct sampler *s, const float *probs, float *mass, bool sorted)
{
	int n = s->vocab_size, nc = 0;
	bool use_k = s->top_k > 0 && s->top_k < n;
	bool use_p = s->top_p > 0.0f && s->top_p < 1.0f;
	struct sampler_prob *c = s->cand;
	float total = 0.0f, all = 0.0f;

	if (!use_k && use_p) {
		/* a token below (1 - top_p) / (n - 1) cannot be in the nucleus: all of
		 * them together weigh less than 1 - top_p (llama2.c's shortcut) */
		float cutoff = n > 1 ? (1.0f - s->top_p) / (float)(n - 1) : 0.0f;
		for (int i = 0; i < n; i++) {
			all += probs[i];
			if (probs[i] >= cutoff) {
				c[nc].prob = probs[i];
				c[nc++].index = i;
			}
		}
	} else {
		for (int i = 0; i < n; i++) {
			c[i].prob = probs[i];
			c[i].index = i;
		}
		nc = n;
	}
	if (use_k) {
		select_top(c, nc, s->top_k);
		nc = s->top_k;
	}
	for (int i = 0; i < nc; i++)
		total += c[i].prob;
	if (use_p) {
		/* the shortest most-likely prefix whose share of the mass exceeds
		 * top_p: of the whole distribution, or of what top-k kept */
		nc = select_nucleus(c, nc, s->top_p * (use_k ? total : all));
		total = 0.0f;
		for (int i = 0; i < nc; i++)
			total += c[i].prob;
	}
	if (nc == 0) {
		/* nothing kept: NaN probabilities, or a flat distribution whose
		 * tokens all fall under the nucleus shortcut's cutoff (top_p below
		 * 1/n): keep them all, then take the nucleus of those */
		for (int i = 0; i < n; i++) {
			c[i].prob = probs[i] == probs[i] ? probs[i] : 0.0f;
			c[i].index = i;
		}
		nc = use_k ? s->top_k : n;
		if (use_k)
			select_top(c, n, s->top_k);
		total = 0.0f;
		for (int i = 0; i < nc; i++)
			total += c[i].prob;
		if (use_p && total > 0.0f) {
			nc = select_nucleus(c, nc, s->top_p * total);
			total = 0.0f;
			for (int i = 0; i < nc; i++)
				total += c[i].prob;
		}
	}
	if (sorted && (use_k || use_p))
		qsort(c, (size_t)nc, sizeof(*c), cmp_prob);
	*mass = total;
	return nc;
}

int sampler_candidates(struct sampler *s, const float *probs, float *mass)
{
	return truncate_dist(s, probs, mass, true);
}

int sampler_sample(struct sampler *s, float *logits)
{
	int n = s->vocab_size;
	if (s->temperature == 0.0f)
		return sampler_argmax(logits, n);
	float inv_t = 1.0f / s->temperature;
	/* NaN never wins, infinities are the largest finite values: what the
	 * softmax below reads is always a distribution */
	for (int i = 0; i < n; i++) {
		float x = logits[i] * inv_t;
		logits[i] = x != x ? -FLT_MAX : x > FLT_MAX ? FLT_MAX : x < -FLT_MAX ? -FLT_MAX : x;
	}
	sampler_softmax(logits, n);
	float coin = sampler_random_f32(&s->rng);

	if ((s->top_k > 0 && s->top_k < n) || (s->top_p > 0.0f && s->top_p < 1.0f)) {
		float mass, cdf = 0.0f;
		int nc = truncate_dist(s, logits, &mass, false); /* any fixed order will do */
		float r = coin * mass;
		for (int i = 0; i < nc; i++) {
			cdf += s->cand[i].prob;
			if (r < cdf)
				return s->cand[i].index;
		}
		return nc > 0 ? s->cand[nc - 1].index : sampler_argmax(logits, n); /* rounding */
	}
	/* plain multinomial over the whole vocabulary */
	float cdf = 0.0f;
	for (int i = 0; i < n; i++) {
		cdf += logits[i];
		if (coin < cdf)
			return i;
	}
	/* rounding: the last token with any probability */
	for (int i = n - 1; i > 0; i--)
		if (logits[i] > 0.0f)
			return i;
	return 0;
}
