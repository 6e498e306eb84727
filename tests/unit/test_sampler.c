/*
 * tests/unit/test_sampler.c — model/sampler: greedy, top-k and top-p candidate
 * sets on hand-made distributions, draw frequencies, temperature, seeding.
 */
#include "model/sampler.h"
#include "tests/test.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/* sorted token ids of the candidate set */
static int cand_set(struct sampler *s, const float *probs, int *ids, float *mass)
{
	int n = sampler_candidates(s, probs, mass);
	for (int i = 0; i < n; i++)
		ids[i] = s->cand[i].index;
	/* insertion sort by id */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			int t = ids[j];
			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	return n;
}

static bool same_ids(const int *a, int na, const int *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* sorted: 1 (.4), 3 (.25), 4 (.2), 2 (.1), 0 (.05) */
static const float P5[5] = { 0.05f, 0.4f, 0.1f, 0.25f, 0.2f };

static void test_top_p_sets(void)
{
	struct sampler s;
	int ids[5], n;
	float mass;
	CHECK_INT_EQ(sampler_init(&s, 5, 1.0f, 0.5f, 0, 1), 0);
	/* the shortest most-likely prefix whose mass exceeds p */
	struct { float p; int n; int ids[5]; float mass; } cases[] = {
		{ 0.30f, 1, { 1 }, 0.40f },
		{ 0.50f, 2, { 1, 3 }, 0.65f },
		{ 0.70f, 3, { 1, 3, 4 }, 0.85f },
		{ 0.90f, 4, { 1, 2, 3, 4 }, 0.95f },
		{ 0.99f, 5, { 0, 1, 2, 3, 4 }, 1.0f },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		sampler_set(&s, 1.0f, cases[c].p, 0);
		n = cand_set(&s, P5, ids, &mass);
		CHECK_MSG(same_ids(ids, n, cases[c].ids, cases[c].n), "top_p %.2f: %d kept",
			  cases[c].p, n);
		CHECK_NEAR(mass, cases[c].mass, 1e-6);
	}
	/* most likely first */
	sampler_set(&s, 1.0f, 0.9f, 0);
	n = sampler_candidates(&s, P5, &mass);
	CHECK(n == 4 && s.cand[0].index == 1 && s.cand[1].index == 3 && s.cand[2].index == 4 &&
	      s.cand[3].index == 2);
	sampler_release(&s);

	/* a large vocabulary: 10 heavy tokens (~0.09 each, ids 7, 107, ...) and 990
	 * light ones sharing the rest */
	int V = 1000;
	float *p = malloc(V * sizeof(float));
	double heavy = 0;
	for (int k = 0; k < 10; k++)
		heavy += 0.09 - 1e-5 * k;
	float light = (float)((1.0 - heavy) / 990.0);
	for (int i = 0; i < V; i++)
		p[i] = light;
	for (int k = 0; k < 10; k++)
		p[7 + 100 * k] = (float)(0.09 - 1e-5 * k); /* distinct, decreasing with k */
	CHECK_INT_EQ(sampler_init(&s, V, 1.0f, 0.5f, 0, 1), 0);
	int want[10], big[1000];
	for (int k = 0; k < 10; k++)
		want[k] = 7 + 100 * k;
	/* 0.5 is crossed by the 6th heavy token (6 * ~0.09 = 0.54) */
	n = cand_set(&s, p, big, &mass);
	CHECK_MSG(same_ids(big, n, want, 6), "kept %d", n);
	/* 0.9: all heavy (0.89955) plus light ones until 0.9 is crossed */
	sampler_set(&s, 1.0f, 0.9f, 0);
	n = sampler_candidates(&s, p, &mass);
	int lights = (int)floor((0.9 - heavy) / light) + 1;
	CHECK_INT_EQ(n, 10 + lights);
	for (int i = 10; i < n; i++)
		CHECK(s.cand[i].prob == light);
	/* ties among the light tokens go to the lower ids */
	CHECK(n > 11 && s.cand[10].index == 0 && s.cand[11].index == 1);
	free(p);
	sampler_release(&s);
}

static void test_top_k_sets(void)
{
	struct sampler s;
	int ids[5], n;
	float mass;
	CHECK_INT_EQ(sampler_init(&s, 5, 1.0f, 0.0f, 1, 1), 0);
	struct { int k; int n; int ids[5]; float mass; } cases[] = {
		{ 1, 1, { 1 }, 0.40f },
		{ 2, 2, { 1, 3 }, 0.65f },
		{ 3, 3, { 1, 3, 4 }, 0.85f },
		{ 4, 4, { 1, 2, 3, 4 }, 0.95f },
		{ 5, 5, { 0, 1, 2, 3, 4 }, 1.0f },
		{ 0, 5, { 0, 1, 2, 3, 4 }, 1.0f }, /* off */
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		sampler_set(&s, 1.0f, 1.0f, cases[c].k);
		n = cand_set(&s, P5, ids, &mass);
		CHECK_MSG(same_ids(ids, n, cases[c].ids, cases[c].n), "top_k %d: %d kept",
			  cases[c].k, n);
		CHECK_NEAR(mass, cases[c].mass, 1e-6);
	}
	/* top-k first, then top-p on the renormalised rest: top 3 = .4 .25 .2
	 * (share .47 .29 .24); p = .7 is crossed at the 2nd, p = .8 at the 3rd */
	sampler_set(&s, 1.0f, 0.7f, 3);
	n = cand_set(&s, P5, ids, &mass);
	CHECK(same_ids(ids, n, (int[]){ 1, 3 }, 2));
	sampler_set(&s, 1.0f, 0.8f, 3);
	n = cand_set(&s, P5, ids, &mass);
	CHECK(same_ids(ids, n, (int[]){ 1, 3, 4 }, 3));
	sampler_release(&s);

	/* selection against a plain O(n k) oracle on random data with ties */
	int V = 3000;
	float *p = malloc(V * sizeof(float));
	bool *taken = malloc(V);
	uint64_t st = 12345;
	CHECK_INT_EQ(sampler_init(&s, V, 1.0f, 1.0f, 1, 1), 0);
	for (int trial = 0; trial < 20; trial++) {
		for (int i = 0; i < V; i++)
			p[i] = (float)(sampler_random_u32(&st) % 500); /* many ties */
		int k = 1 + (int)(sampler_random_u32(&st) % 200);
		sampler_set(&s, 1.0f, 1.0f, k);
		n = sampler_candidates(&s, p, &mass);
		CHECK_INT_EQ(n, k);
		memset(taken, 0, V);
		int bad = 0;
		for (int r = 0; r < k; r++) {
			int best = -1;
			for (int i = 0; i < V; i++)
				if (!taken[i] && (best < 0 || p[i] > p[best]))
					best = i; /* first = lowest id among equals */
			taken[best] = true;
			bad += s.cand[r].index != best;
		}
		CHECK_MSG(bad == 0, "trial %d k %d: %d misplaced", trial, k, bad);
	}
	sampler_release(&s);
	free(p);
	free(taken);
}

static int cmp_desc(const void *a, const void *b)
{
	const struct sampler_prob *x = a, *y = b;
	if (x->prob != y->prob)
		return x->prob > y->prob ? -1 : 1;
	return x->index - y->index;
}

static void test_nucleus_random(void)
{
	/* nucleus of random distributions, flat and peaked, against sort + cumsum */
	int V = 4000;
	float *p = malloc(V * sizeof(float));
	struct sampler_prob *o = malloc(V * sizeof(*o));
	int *mine = malloc(V * sizeof(int)), *want = malloc(V * sizeof(int));
	uint64_t st = 777;
	struct sampler s;
	CHECK_INT_EQ(sampler_init(&s, V, 1.0f, 0.5f, 0, 1), 0);
	for (int trial = 0; trial < 30; trial++) {
		double z = 0, sharp = trial % 3 == 0 ? 0.5 : trial % 3 == 1 ? 4.0 : 12.0;
		for (int i = 0; i < V; i++) {
			p[i] = (float)exp(sharp * sampler_random_f32(&st));
			z += p[i];
		}
		for (int i = 0; i < V; i++)
			p[i] = (float)(p[i] / z);
		float top_p = 0.05f + 0.9f * sampler_random_f32(&st);
		int top_k = trial % 2 ? 0 : 1 + (int)(sampler_random_u32(&st) % 500);
		sampler_set(&s, 1.0f, top_p, top_k);
		float mass;
		int n = cand_set(&s, p, mine, &mass);
		/* the oracle */
		for (int i = 0; i < V; i++) {
			o[i].prob = p[i];
			o[i].index = i;
		}
		qsort(o, V, sizeof(*o), cmp_desc);
		int kept = top_k ? top_k : V;
		double tot = 0, cum = 0;
		for (int i = 0; i < kept; i++) /* the mass top-p is a share of */
			tot += o[i].prob;
		int nw = kept;
		for (int i = 0; i < kept; i++) {
			cum += o[i].prob;
			if (cum > top_p * tot) {
				nw = i + 1;
				break;
			}
		}
		for (int i = 0; i < nw; i++)
			want[i] = o[i].index;
		for (int i = 1; i < nw; i++)
			for (int j = i; j > 0 && want[j - 1] > want[j]; j--) {
				int t = want[j]; want[j] = want[j - 1]; want[j - 1] = t;
			}
		CHECK_MSG(same_ids(mine, n, want, nw), "trial %d (top_p %.3f, top_k %d): %d kept, want %d",
			  trial, top_p, top_k, n, nw);
	}
	sampler_release(&s);
	free(p);
	free(o);
	free(mine);
	free(want);
}

static void test_greedy(void)
{
	struct sampler s;
	float logits[6] = { 0.5f, -1.0f, 3.0f, 2.9f, 3.0f, -7.0f };
	CHECK_INT_EQ(sampler_init(&s, 6, 0.0f, 0.9f, 2, 42), 0);
	uint64_t before = s.rng;
	CHECK_INT_EQ(sampler_sample(&s, logits), 2); /* lower id of the tie */
	CHECK(s.rng == before);                       /* greedy draws nothing */
	CHECK(logits[3] == 2.9f);                     /* and leaves logits alone */
	CHECK_INT_EQ(sampler_argmax((float[]){ -3.0f, -2.0f, -2.5f }, 3), 1);
	/* a negative temperature means greedy too */
	sampler_set(&s, -1.0f, 1.0f, 0);
	CHECK_INT_EQ(sampler_sample(&s, logits), 2);
	sampler_release(&s);
}

static void test_temperature_probs(void)
{
	struct sampler s;
	float x[4] = { 1.0f, 2.0f, 3.0f, -1.0f };
	double T = 0.7, z = 0, q[4];
	for (int i = 0; i < 4; i++)
		z += exp(x[i] / T);
	for (int i = 0; i < 4; i++)
		q[i] = exp(x[i] / T) / z;
	CHECK_INT_EQ(sampler_init(&s, 4, (float)T, 1.0f, 0, 7), 0);
	int tok = sampler_sample(&s, x);
	CHECK(tok >= 0 && tok < 4);
	for (int i = 0; i < 4; i++)
		CHECK_NEAR(x[i], q[i], 1e-6);
	sampler_release(&s);
}

static void test_draw_frequencies(void)
{
	/* top-p 0.7 on P5 keeps {1, 3, 4} with mass .85: draws follow .4/.85 ... */
	struct sampler s;
	int counts[5] = { 0 }, N = 40000;
	CHECK_INT_EQ(sampler_init(&s, 5, 1.0f, 0.7f, 0, 2024), 0);
	for (int i = 0; i < N; i++) {
		float lg[5];
		for (int j = 0; j < 5; j++)
			lg[j] = logf(P5[j]);
		counts[sampler_sample(&s, lg)]++;
	}
	CHECK_INT_EQ(counts[0] + counts[2], 0);
	CHECK_NEAR(counts[1] / (double)N, 0.40 / 0.85, 0.015);
	CHECK_NEAR(counts[3] / (double)N, 0.25 / 0.85, 0.015);
	CHECK_NEAR(counts[4] / (double)N, 0.20 / 0.85, 0.015);
	/* no filter: plain multinomial over all five */
	memset(counts, 0, sizeof(counts));
	sampler_set(&s, 1.0f, 1.0f, 0);
	for (int i = 0; i < N; i++) {
		float lg[5];
		for (int j = 0; j < 5; j++)
			lg[j] = logf(P5[j]);
		counts[sampler_sample(&s, lg)]++;
	}
	for (int j = 0; j < 5; j++)
		CHECK_NEAR(counts[j] / (double)N, P5[j], 0.015);
	sampler_release(&s);
}

static void test_seeding(void)
{
	struct sampler a, b, c;
	float lg[50];
	int da[64], db[64], dc[64], same_ab = 0, same_ac = 0;
	sampler_init(&a, 50, 1.0f, 0.95f, 40, 1234);
	sampler_init(&b, 50, 1.0f, 0.95f, 40, 1234);
	sampler_init(&c, 50, 1.0f, 0.95f, 40, 1235);
	for (int i = 0; i < 64; i++) {
		for (int j = 0; j < 50; j++)
			lg[j] = (float)((j * 7) % 11) * 0.1f;
		da[i] = sampler_sample(&a, lg);
		for (int j = 0; j < 50; j++)
			lg[j] = (float)((j * 7) % 11) * 0.1f;
		db[i] = sampler_sample(&b, lg);
		for (int j = 0; j < 50; j++)
			lg[j] = (float)((j * 7) % 11) * 0.1f;
		dc[i] = sampler_sample(&c, lg);
		same_ab += da[i] == db[i];
		same_ac += da[i] == dc[i];
	}
	CHECK_INT_EQ(same_ab, 64);
	CHECK(same_ac < 40);
	/* the state is one word: copying it resumes the stream exactly */
	uint64_t saved = a.rng;
	uint32_t r1 = sampler_random_u32(&a.rng), r2 = sampler_random_u32(&a.rng);
	a.rng = saved;
	CHECK(sampler_random_u32(&a.rng) == r1 && sampler_random_u32(&a.rng) == r2);
	/* streams of one seed differ from each other and from other seeds; never 0 */
	CHECK(sampler_stream_seed(5, 0) != sampler_stream_seed(5, 1));
	CHECK(sampler_stream_seed(5, 1) != sampler_stream_seed(6, 1));
	CHECK(sampler_stream_seed(5, 3) == sampler_stream_seed(5, 3));
	CHECK(sampler_stream_seed(0, 0) != 0);
	/* [0, 1) */
	uint64_t st = sampler_stream_seed(9, 0);
	float lo = 1, hi = 0;
	for (int i = 0; i < 100000; i++) {
		float f = sampler_random_f32(&st);
		lo = f < lo ? f : lo;
		hi = f > hi ? f : hi;
	}
	CHECK(lo >= 0.0f && lo < 0.001f && hi < 1.0f && hi > 0.999f);
	sampler_release(&a);
	sampler_release(&b);
	sampler_release(&c);
}

static void test_math(void)
{
	double worst = 0;
	for (double x = -87.0; x <= 88.0; x += 0.001953125 * 3.1) {
		double e = exp(x), got = sampler_expf((float)x);
		/* relative to exp of the float input */
		e = exp((double)(float)x);
		double rel = fabs(got - e) / e;
		worst = rel > worst ? rel : worst;
	}
	CHECK_MSG(worst < 3e-7, "worst relative error %.3g", worst);
	CHECK(sampler_expf(-1000.0f) < 1e-37f && sampler_expf(-1000.0f) >= 0.0f);
	CHECK(isfinite(sampler_expf(1000.0f)));

	float x[7] = { 0.3f, -2.0f, 5.0f, 4.5f, -30.0f, 0.0f, 1.0f };
	double mx = 5.0, z = 0;
	for (int i = 0; i < 7; i++)
		z += exp(x[i] - mx);
	for (int i = 0; i < 7; i++)
		CHECK_NEAR(sampler_log_softmax_at(x, 7, i), x[i] - mx - log(z), 1e-6);
	float y[7];
	memcpy(y, x, sizeof(x));
	sampler_softmax(y, 7);
	for (int i = 0; i < 7; i++)
		CHECK_NEAR(y[i], exp(x[i] - mx) / z, 1e-7);
}

/* Review defect 1: inputs that emptied the candidate set (and read cand[-1])
 * now sample a real token: a temperature whose 1/T overflows is greedy, NaN
 * and infinite logits never win over finite ones, and a flat distribution
 * with top_p under 1/n keeps its nucleus. */
static void test_degenerate_inputs(void)
{
	enum { N = 8 };
	struct sampler s;
	float x[N];
	REQUIRE(sampler_init(&s, N, 1e-40f, 0.9f, 0, 7) == 0);
	for (int i = 0; i < N; i++)
		x[i] = (float)i * 0.5f;
	CHECK_INT_EQ(sampler_sample(&s, x), N - 1);           /* greedy */
	CHECK(s.temperature == 0.0f);
	sampler_set(&s, 1.0f, 0.9f, 0);
	for (int t = 0; t < 50; t++) {
		for (int i = 0; i < N; i++)
			x[i] = i == 3 ? 2.0f : NAN;
		CHECK_INT_EQ(sampler_sample(&s, x), 3);            /* NaN never wins */
		for (int i = 0; i < N; i++)
			x[i] = i == 5 ? INFINITY : 1.0f;
		CHECK_INT_EQ(sampler_sample(&s, x), 5);
		for (int i = 0; i < N; i++)
			x[i] = NAN;
		int k = sampler_sample(&s, x);                      /* all NaN: some token */
		CHECK(k >= 0 && k < N);
	}
	/* flat, top_p < 1/n: llama2.c's cutoff drops every token */
	sampler_set(&s, 1.0f, 0.01f, 0);
	int seen[N] = { 0 };
	for (int t = 0; t < 400; t++) {
		for (int i = 0; i < N; i++)
			x[i] = 0.0f;
		int k = sampler_sample(&s, x);
		REQUIRE(k >= 0 && k < N);
		seen[k]++;
	}
	int kinds = 0;
	for (int i = 0; i < N; i++)
		kinds += seen[i] > 0;
	CHECK_INT_EQ(kinds, 1);   /* the nucleus of a flat distribution is one token */
	float probs[N], mass;
	for (int i = 0; i < N; i++)
		probs[i] = 1.0f / N;
	CHECK_INT_EQ(sampler_candidates(&s, probs, &mass), 1);
	CHECK_NEAR(mass, 1.0 / N, 1e-6);
	sampler_release(&s);
}

int main(void)
{
	RUN(test_top_p_sets);
	RUN(test_degenerate_inputs);
	RUN(test_top_k_sets);
	RUN(test_nucleus_random);
	RUN(test_greedy);
	RUN(test_temperature_probs);
	RUN(test_draw_frequencies);
	RUN(test_seeding);
	RUN(test_math);
	TEST_MAIN_END();
}
