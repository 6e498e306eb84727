/*
 * model/rng.h — splitmix64, the one 64-bit mixing step every seeded stream of
 * the program is built on: weight initialisation (model/llama.c), sampling
 * streams (model/sampler.c), the trainers' shuffles (model/trainer.c) and the
 * order answers are shown to a rater (server/http/api_rate.c).
 *
 * Header-only so each caller inlines it; the constants are Steele, Lea and
 * Flood's (Java's SplittableRandom), so a state seeded s gives the same numbers
 * here as in any other splitmix64.
 */
#ifndef RLHFD_MODEL_RNG_H
#define RLHFD_MODEL_RNG_H

#include <stdint.h>

/* Advances *state by the golden-ratio increment and returns the mixed value. */
static inline uint64_t rng_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

#endif
