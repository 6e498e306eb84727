/*
 * model/sampler.h — choosing the next token from logits: greedy, temperature,
 * top-k, top-p (nucleus), with a seeded, savable RNG, so the same seed gives
 * the same text.
 *
 * Order of operations (as Hugging Face and llama2.c do it): logits / temperature,
 * softmax, keep the top_k most likely, renormalise, keep the smallest most-likely
 * prefix whose probability mass exceeds top_p (llama2.c's rule: the token that
 * crosses top_p is kept), renormalise, draw.  Temperature 0 is argmax and draws
 * no random number.  Ties are broken towards the lower token id, so the result
 * never depends on sort order.  Top-k and top-p find their sets by selection
 * (expected O(vocab)), not by sorting: a flat distribution over 32000 tokens
 * stays cheap.  Nothing is allocated after sampler_init.
 *
 * The RNG is xorshift64* (llama2.c's), one 64-bit word of state; a seed and a
 * stream number (one stream per sequence of a batch) are mixed by splitmix64
 * (model/rng.h) into a non-zero state, so sequence j of a batch seeded s draws
 * the same numbers as a single sequence seeded with stream j of s.
 */
#ifndef RLHFD_MODEL_SAMPLER_H
#define RLHFD_MODEL_SAMPLER_H

#include <stdint.h>

/* Below this a temperature means greedy: 1/T would overflow the logits. */
#define SAMPLER_MIN_TEMPERATURE 1e-6f

struct sampler_prob {
	float prob;
	int index;
};

struct sampler {
	int vocab_size;
	float temperature;          /* 0 = greedy argmax */
	float top_p;                /* nucleus mass in (0, 1); >= 1 or <= 0 = off */
	int top_k;                  /* keep the k most likely; <= 0 or >= vocab = off */
	uint64_t rng;               /* xorshift64* state, never 0; save it to resume */
	struct sampler_prob *cand;  /* (vocab_size) scratch; owned */
};

/* Allocates the scratch; returns 0 or -1 (out of memory / vocab_size <= 0). */
int sampler_init(struct sampler *s, int vocab_size, float temperature, float top_p,
		 int top_k, uint64_t seed);
/* Frees the scratch and zeroes s (NULL, zeroed or released: nothing to do). */
void sampler_release(struct sampler *s);
/* Changes the settings (no allocation). */
void sampler_set(struct sampler *s, float temperature, float top_p, int top_k);
/* RNG state for stream `stream` of seed `seed` (stream 0 for a lone sequence). */
uint64_t sampler_stream_seed(uint64_t seed, int stream);

uint32_t sampler_random_u32(uint64_t *state);
float sampler_random_f32(uint64_t *state);   /* [0, 1) */

/*
 * The next token.  logits (vocab_size) are clobbered: on return they hold the
 * tempered probabilities (untouched when greedy).  Allocates nothing.
 */
int sampler_sample(struct sampler *s, float *logits);

/*
 * The candidate set of top-k / top-p over probs (vocab_size, a distribution):
 * writes the kept tokens into s->cand, most likely first, and returns how many;
 * *mass gets their total probability.  With neither filter on, every token is
 * kept (unsorted).  Exposed for tests.
 */
int sampler_candidates(struct sampler *s, const float *probs, float *mass);

/* Index of the largest x (the lowest such index on ties). */
int sampler_argmax(const float *x, int n);

/* In-place softmax over n values. */
void sampler_softmax(float *x, int n);

/* log softmax(x)[i] over n values, x unchanged. */
float sampler_log_softmax_at(const float *x, int n, int i);

/*
 * exp(x) to within ~2 float ulps, written so loops over it vectorise (glibc's
 * expf does not without -ffast-math).  Inputs below -87 give ~1e-38, not 0.
 */
static inline float sampler_expf(float x)
{
	x = !(x >= -87.0f) ? -87.0f : x > 88.0f ? 88.0f : x;   /* NaN too: -87 */
	float n = __builtin_rintf(x * 1.44269504088896341f);
	float r = x - n * 0.693145751953125f - n * 1.428606765330187045e-6f;
	float p = 1.0f / 5040.0f;
	p = p * r + 1.0f / 720.0f;
	p = p * r + 1.0f / 120.0f;
	p = p * r + 1.0f / 24.0f;
	p = p * r + 1.0f / 6.0f;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;
	union { int32_t i; float f; } scale = { .i = ((int32_t)n + 127) << 23 };
	return p * scale.f;
}

#endif
