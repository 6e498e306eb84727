/*
 * tests/unit/test_prior_store.c — the likelihood prior's features kept
 * between jobs (server/worker/job_prior.c, struct prior_store): what is put is
 * found with its features as put, through growth; an unknown key is not;
 * a full store starts afresh rather than growing without bound.
 */
#include "server/worker/job_impl.h"
#include "model/rng.h"
#include "tests/test.h"

#include <stdint.h>
#include <string.h>

/* Key i's features: i, -i, i/2, then 1, 2, 3, ... (distinct per key). */
static void feats_of(uint64_t i, float *f)
{
	f[0] = (float)i;
	f[1] = -(float)i;
	f[2] = (float)i / 2;
	for (int k = 3; k < TRAINER_PRIOR_FEATS; k++)
		f[k] = (float)(k - 2);
}

/* Keys as trainer_seq_hash makes them: well spread, never 0. */
static uint64_t key_of(uint64_t i)
{
	uint64_t st = i * 0x9e3779b97f4a7c15ull;
	uint64_t k = rng_splitmix64(&st);
	return k ? k : 1;
}

static void test_store_finds_what_was_put(void)
{
	struct prior_store s = { 0 };
	float f[TRAINER_PRIOR_FEATS], want[TRAINER_PRIOR_FEATS];
	CHECK(!prior_store_get(&s, key_of(1), f));          /* empty: nothing */
	enum { N = 10000 };                                  /* grows past 4096 slots twice */
	for (uint64_t i = 0; i < N; i++) {
		feats_of(i, f);
		prior_store_put(&s, key_of(i), f);
	}
	CHECK_INT_EQ(s.n, N);
	CHECK(s.cap >= 2 * N);
	int found = 0;
	for (uint64_t i = 0; i < N; i++) {
		feats_of(i, want);
		found += prior_store_get(&s, key_of(i), f) && !memcmp(f, want, sizeof f);
	}
	CHECK_INT_EQ(found, N);
	CHECK(!prior_store_get(&s, key_of(N + 1), f));
	CHECK_INT_EQ(s.hits, N);
	CHECK_INT_EQ(s.misses, 2);
	/* put again: replaced, not added */
	feats_of(7, f);
	f[4] = 9.0f;
	prior_store_put(&s, key_of(3), f);
	CHECK_INT_EQ(s.n, N);
	CHECK(prior_store_get(&s, key_of(3), want) && want[4] == 9.0f);
	prior_store_release(&s);
	CHECK(s.slots == NULL && s.n == 0 && s.cap == 0);
}

/* 2^20 slots hold 2^19 answers; the next one empties the store first. */
static void test_store_full_starts_afresh(void)
{
	struct prior_store s = { 0 };
	float f[TRAINER_PRIOR_FEATS];
	uint64_t n = (uint64_t)1 << 19;
	for (uint64_t i = 0; i < n; i++) {
		feats_of(i, f);
		prior_store_put(&s, key_of(i), f);
	}
	CHECK_INT_EQ(s.n, n);
	size_t cap = s.cap;
	CHECK(prior_store_get(&s, key_of(0), f));
	feats_of(n, f);
	prior_store_put(&s, key_of(n), f);
	CHECK_INT_EQ(s.cap, cap);
	CHECK_INT_EQ(s.n, 1);
	CHECK(!prior_store_get(&s, key_of(0), f));
	CHECK(prior_store_get(&s, key_of(n), f) && f[0] == (float)n);
	prior_store_release(&s);
}

int main(void)
{
	RUN(test_store_finds_what_was_put);
	RUN(test_store_full_starts_afresh);
	TEST_MAIN_END();
}
