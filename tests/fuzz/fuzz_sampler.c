/*
 * tests/fuzz/fuzz_sampler.c — libFuzzer target: the sampler (model/sampler.h)
 * on arbitrary logits and settings.
 *
 * Input: float temperature, float top_p, int32 top_k, uint32 seed (16 bytes,
 * little-endian), then the logits as float32, one to FUZZ_MAX_VOCAB of them.
 * Raw float bits, so NaN, +-inf, huge, tiny and subnormal values all come up,
 * in the logits and in the settings alike.
 *
 * Checked, beyond "no crash, no sanitizer report": every token id returned is
 * in 0..n-1; with finite logits the softmax is a distribution (entries in
 * [0, 1], at least one positive, summing to 1 within float error), greedy
 * sampling returns a largest logit, plain sampling never returns a token of
 * probability 0, a top-k/top-p token is one of the candidate set, and the
 * candidate set holds distinct ids, top_k of them when only top-k is on,
 * most likely first, with a mass of at most 1.
 */
#include "model/sampler.h"
#include "tests/fuzz/fuzz.h"

#include <float.h>
#include <math.h>

#define FUZZ_MAX_VOCAB 4096

static bool all_finite(const float *x, int n)
{
	for (int i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return false;
	return true;
}

/* The candidate set in s->cand[0..nc): distinct ids in range. */
static void check_candidates(const struct sampler *s, int nc, const char *what)
{
	static unsigned char seen[FUZZ_MAX_VOCAB];
	FUZZ_ASSERT(nc >= 0 && nc <= s->vocab_size, "%s: %d candidates of %d tokens", what, nc,
		    s->vocab_size);
	memset(seen, 0, (size_t)s->vocab_size);
	for (int i = 0; i < nc; i++) {
		int id = s->cand[i].index;
		FUZZ_ASSERT(id >= 0 && id < s->vocab_size, "%s: candidate id %d of %d", what, id,
			    s->vocab_size);
		FUZZ_ASSERT(!seen[id], "%s: candidate %d twice", what, id);
		seen[id] = 1;
	}
}

/* On a true distribution (softmax of finite logits). */
static void check_distribution_candidates(struct sampler *s, const float *probs)
{
	int n = s->vocab_size;
	bool use_k = s->top_k > 0 && s->top_k < n, use_p = s->top_p > 0.0f && s->top_p < 1.0f;
	float mass = -1.0f;
	int nc = sampler_candidates(s, probs, &mass);
	check_candidates(s, nc, "candidates of a distribution");
	FUZZ_ASSERT(nc >= 1, "no candidate from a distribution (top_k %d, top_p %g)", s->top_k,
		    (double)s->top_p);
	if (use_k && !use_p)
		FUZZ_ASSERT(nc == s->top_k, "top_k %d kept %d", s->top_k, nc);
	FUZZ_ASSERT(mass > 0.0f && mass <= 1.001f, "candidate mass %g", (double)mass);
	if (use_k || use_p)
		for (int i = 1; i < nc; i++) {
			const struct sampler_prob *a = &s->cand[i - 1], *b = &s->cand[i];
			FUZZ_ASSERT(a->prob > b->prob || (a->prob == b->prob && a->index < b->index),
				    "candidates out of order at %d: %g (%d) before %g (%d)", i,
				    (double)a->prob, a->index, (double)b->prob, b->index);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static float logits[FUZZ_MAX_VOCAB], work[FUZZ_MAX_VOCAB], probs[FUZZ_MAX_VOCAB];
	if (size < 20)
		return 0;
	float temperature = fuzz_f32(data), top_p = fuzz_f32(data + 4);
	int top_k = (int32_t)fuzz_u32(data + 8);
	uint64_t seed = fuzz_u32(data + 12);
	int n = (int)((size - 16) / 4);
	if (n > FUZZ_MAX_VOCAB)
		n = FUZZ_MAX_VOCAB;
	for (int i = 0; i < n; i++)
		logits[i] = fuzz_f32(data + 16 + 4 * i);
	bool finite = all_finite(logits, n);

	struct sampler s;
	FUZZ_ASSERT(sampler_init(&s, n, temperature, top_p, top_k, seed) == 0, "sampler_init(%d)", n);

	/* argmax: a largest value, the first of them */
	int am = sampler_argmax(logits, n);
	FUZZ_ASSERT(am >= 0 && am < n, "argmax %d of %d", am, n);
	if (finite)
		for (int i = 0; i < n; i++)
			FUZZ_ASSERT(logits[i] < logits[am] || (logits[i] == logits[am] && i >= am),
				    "argmax %d (%g) but %d holds %g", am, (double)logits[am], i,
				    (double)logits[i]);

	/* softmax: a distribution when the logits are finite */
	memcpy(probs, logits, (size_t)n * sizeof(float));
	sampler_softmax(probs, n);
	if (finite) {
		double sum = 0;
		bool positive = false;
		for (int i = 0; i < n; i++) {
			FUZZ_ASSERT(probs[i] >= 0.0f && probs[i] <= 1.0f, "softmax[%d] = %g", i,
				    (double)probs[i]);
			positive |= probs[i] > 0.0f;
			sum += probs[i];
		}
		FUZZ_ASSERT(positive && fabs(sum - 1.0) < 1e-3, "softmax sums to %g", sum);
		float lp = sampler_log_softmax_at(logits, n, am);
		FUZZ_ASSERT(isfinite(lp) && lp <= 1e-3f, "log softmax at the argmax = %g", (double)lp);
		check_distribution_candidates(&s, probs);
	}

	/* candidates of whatever the input holds, read as probabilities */
	float mass;
	check_candidates(&s, sampler_candidates(&s, logits, &mass), "candidates of raw floats");

	/* sampling, as the generator calls it */
	bool filtered = (s.top_k > 0 && s.top_k < n) || (s.top_p > 0.0f && s.top_p < 1.0f);
	memcpy(work, logits, (size_t)n * sizeof(float));
	if (s.temperature > 0.0f) {
		/* the tempered distribution sampler_sample draws from, computed as it
		 * computes it (same operations, same order) */
		float inv_t = 1.0f / s.temperature;
		for (int i = 0; i < n; i++) {
			/* NaN never wins, infinities are the largest finite values */
			float x = logits[i] * inv_t;
			probs[i] = x != x ? -FLT_MAX : x > FLT_MAX ? FLT_MAX : x < -FLT_MAX ? -FLT_MAX : x;
		}
		sampler_softmax(probs, n);
	}
	static unsigned char kept[FUZZ_MAX_VOCAB];
	int nc = filtered && s.temperature > 0.0f ? sampler_candidates(&s, probs, &mass) : -1;
	memset(kept, 0, (size_t)n);
	for (int i = 0; i < nc; i++)
		kept[s.cand[i].index] = 1;
	/* the tempered distribution is finite (NaN never wins, infinities
	 * clamped), so top-k / top-p always leave a candidate */
	FUZZ_ASSERT(nc != 0, "no candidate left (top_k %d, top_p %g, temperature %g)", s.top_k,
		    (double)s.top_p, (double)s.temperature);
	int tok = sampler_sample(&s, work);
	FUZZ_ASSERT(tok >= 0 && tok < n, "sampled %d of %d", tok, n);
	if (s.temperature == 0.0f && finite)
		FUZZ_ASSERT(logits[tok] == logits[am], "greedy gave %d (%g), the max is %g", tok,
			    (double)logits[tok], (double)logits[am]);
	if (nc > 0) {
		FUZZ_ASSERT(kept[tok], "sampled %d, not among the %d candidates", tok, nc);
	} else if (s.temperature > 0.0f && !filtered && all_finite(probs, n)) {
		FUZZ_ASSERT(probs[tok] > 0.0f, "sampled %d of probability 0", tok);
	}
	float u = sampler_random_f32(&s.rng);
	FUZZ_ASSERT(u >= 0.0f && u < 1.0f, "random_f32 gave %g", (double)u);
	sampler_release(&s);
	return 0;
}
