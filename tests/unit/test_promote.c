/*
 * tests/unit/test_promote.c — the promotion gate and the rollback verdict
 * (server/worker/promote.h; the statistics themselves are model/stats.h's,
 * tested in test_stats.c) on constructed cases whose outcome is worked out
 * by hand in the comments.
 */
#include "server/worker/promote.h"
#include "model/rng.h"
#include "model/stats.h"
#include "tests/test.h"

#include <math.h>
#include <string.h>

#define NP 8
#define K 4
#define STRIDE 3

struct side {
	float reward[NP * K];
	int tokens[NP * K * STRIDE];
	int n_tokens[NP * K];
};

/* Answer i of s is the one-token text t(i) = distinct ? i : same. */
static void fill(struct side *s, float reward, bool distinct, int same)
{
	for (int i = 0; i < NP * K; i++) {
		s->reward[i] = reward;
		s->n_tokens[i] = 1;
		s->tokens[i * STRIDE] = distinct ? 100 + i : same;
	}
}

/* reward 1 (a win over a parent at 0) for the first w[q] answers of prompt q, else 0 */
static void wins_per_prompt(struct side *s, const int *w)
{
	fill(s, 0.0f, true, 0);
	for (int q = 0; q < NP; q++)
		for (int i = 0; i < w[q]; i++)
			s->reward[q * K + i] = 1.0f;
}

static struct promote_input input(struct side *c, struct side *p)
{
	struct promote_input in = {
		.n_prompts = NP, .k = K, .kl = 1.0f, .kl_budget = 4.0f,
		.cand = { c->reward, c->tokens, c->n_tokens, STRIDE, 10.0f, 0.9f },
		.parent = { p->reward, p->tokens, p->n_tokens, STRIDE, 10.0f, 0.9f },
	};
	return in;
}

static bool has_reason(const struct promote_verdict *v, const char *needle)
{
	for (int i = 0; i < v->n_reasons; i++)
		if (strstr(v->reasons[i], needle))
			return true;
	return false;
}

static void test_rollback(void)
{
	double p;
	/* 7 worse of 7: 1/128 = 0.0078, but 7 untied prompts are under the minimum 8 */
	CHECK(!promote_rollback(7, 0, &p));
	CHECK_NEAR(p, 1.0, 0);
	/* 8 of 8: 1/256 < 0.05 */
	CHECK(promote_rollback(8, 0, &p));
	CHECK_NEAR(p, 1.0 / 256, 1e-12);
	/* 9 worse of 12: (220 + 66 + 12 + 1) / 4096 = 0.0730: not enough */
	CHECK(!promote_rollback(9, 3, &p));
	CHECK_NEAR(p, 299.0 / 4096, 1e-12);
	/* 10 of 12: 79 / 4096 = 0.0193: rolled back */
	CHECK(promote_rollback(10, 2, &p));
	/* better, however many: never */
	CHECK(!promote_rollback(0, 30, &p));
}

/* people's verdict from n differences: `up` of +u, `down` of -w, `tie` zeros */
static bool people_at(double level, int up, double u, int down, double w, int tie,
		      int *better, int *worse, double *p)
{
	double d[64];
	int n = 0;
	for (int i = 0; i < up; i++)
		d[n++] = u;
	for (int i = 0; i < down; i++)
		d[n++] = -w;
	for (int i = 0; i < tie; i++)
		d[n++] = 0;
	return promote_people(d, n, level, better, worse, p);
}

/* At the interim looks' level. */
static bool people(int up, double u, int down, double w, int tie, int *better, int *worse,
		   double *p)
{
	return people_at(PEOPLE_P, up, u, down, w, tie, better, worse, p);
}

static void test_people(void)
{
	double p;
	int b, w;
	/* 15 better of 15 (ties beside them): 1/32768, but 15 untied prompts are
	 * under the minimum 16 */
	CHECK(!people(15, 1, 0, 0, 10, &b, &w, &p));
	CHECK_NEAR(p, 1.0, 0);
	CHECK(b == 15 && w == 0);
	/* 16 of 16: every sign +: 1/65536, whatever the sizes */
	CHECK(people(16, 0.25, 0, 0, 3, &b, &w, &p));
	CHECK_NEAR(p, 1.0 / 65536, 1e-15);
	/* equal sizes: ranks all tied, W+ is the count of + times the mid-rank,
	 * so the test is the sign test: 13 of 16 is 697 / 65536 = 0.0106, not
	 * yet (the rollback would act on this much); 14 of 16, 137 / 65536 */
	CHECK(!people(13, 1, 3, 1, 0, &b, &w, &p));
	CHECK_NEAR(p, 697.0 / 65536, 1e-12);
	CHECK(promote_rollback(13, 3, &p));
	CHECK(people(14, 1, 2, 1, 0, &b, &w, &p));
	CHECK_NEAR(p, 137.0 / 65536, 1e-12);
	/* what the signed ranks are for: 12 better by a whole point, 8 worse by
	 * a quarter: the sign test (12 of 20: 0.25) cannot tell, the ranks can
	 * (the losses share mid-rank 4.5, the gains 14.5: W+ = 4.5 a + 14.5 b
	 * for a ~ Bin(8, 1/2) losses and b ~ Bin(12, 1/2) gains turned +; W+ >=
	 * 174 when b = 12, or b = 11 and a >= 4, or b = 10 and a >= 7:
	 * (256 + 12 * 163 + 66 * 9) / 2^20 = 0.0027) */
	CHECK(stats_sign_test_p(12, 8) > 0.2);
	CHECK(people(12, 1, 8, 0.25, 0, &b, &w, &p));
	CHECK(b == 12 && w == 8);
	CHECK_NEAR(p, 2806.0 / 1048576, 1e-12);
	/* and the mirror: more better than worse but the losses large: no */
	CHECK(!people(12, 0.25, 8, 1, 0, &b, &w, &p));
	CHECK(p > 0.5);
	/* worse, however many: never */
	CHECK(!people(0, 0, 30, 1, 0, &b, &w, &p));

	/* the final look's level: 0.05 only when the reward model leans the
	 * candidate's way too */
	CHECK_NEAR(promote_people_level(false, false), PEOPLE_P, 0);
	CHECK_NEAR(promote_people_level(false, true), PEOPLE_P, 0);
	CHECK_NEAR(promote_people_level(true, false), PEOPLE_P, 0);
	CHECK_NEAR(promote_people_level(true, true), PEOPLE_FINAL_P, 0);
	/* 12 of 16 alike: the sign test's (1820 + 560 + 120 + 16 + 1) / 65536 =
	 * 0.0384: not at an interim look, promoted at the final one */
	CHECK(!people(12, 1, 4, 1, 0, &b, &w, &p));
	CHECK_NEAR(p, 2517.0 / 65536, 1e-12);
	CHECK(people_at(PEOPLE_FINAL_P, 12, 1, 4, 1, 0, &b, &w, &p));
	/* 11 of 16: 0.105, not even then */
	CHECK(!people_at(PEOPLE_FINAL_P, 11, 1, 5, 1, 0, &b, &w, &p));
	CHECK_NEAR(p, 6885.0 / 65536, 1e-12);
}

/* One simulated candidate under the loop's looks (promote.h): n prompts,
 * each with 4 rated answers of the candidate and 4 of its parent, scores 1-5
 * (a prompt's level, plus delta for the candidate, plus rater noise sd 1,
 * rounded and clipped); interim looks after every 16 prompts, the final one
 * at n, the reward model leaning its way with probability leans.  Returns 1
 * for a promotion at an interim look, 2 at the final one, 0 for none. */
static int simulate(uint64_t *st, int n, double delta, double leans)
{
	double d[128];
	for (int q = 0; q < n; q++) {
		double level = 1 + (double)(rng_splitmix64(st) % 5), c = 0, par = 0;
		for (int i = 0; i < 8; i++) {
			/* Box-Muller from two uniforms in (0, 1) */
			double u1 = ((double)(rng_splitmix64(st) >> 11) + 0.5) / 9007199254740992.0;
			double u2 = ((double)(rng_splitmix64(st) >> 11) + 0.5) / 9007199254740992.0;
			double z = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
			double x = round(level + z + (i < 4 ? delta : 0));
			x = x < 1 ? 1 : x > 5 ? 5 : x;
			if (i < 4)
				c += x / 4;
			else
				par += x / 4;
		}
		d[q] = c - par;
	}
	int b, w;
	double p;
	for (int m = 16; m < n; m += 16)
		if (promote_people(d, m, promote_people_level(false, false), &b, &w, &p))
			return 1;
	bool rm = (double)(rng_splitmix64(st) >> 11) / 9007199254740992.0 < leans;
	return promote_people(d, n, promote_people_level(true, rm), &b, &w, &p) ? 2 : 0;
}

/* What promote.h claims for the looks together, by simulation: a candidate
 * no better than its parent (the reward model's lean a fair coin, as it is
 * then) is promoted under 6 % of the time (3.3 % with this seed: interim
 * looks 1.3 %, the final one 2.0 %; 1,500 candidates give +-1 %), a worse
 * one almost never; of those better by a fifth of a point (a later round's
 * soup) the final look promotes about as many again as the interim looks
 * (70 + 93 of 300 with this seed). */
static void test_people_looks(void)
{
	uint64_t st = 20261205;
	int runs = 1500, got[3] = { 0 }, worse = 0, better[3] = { 0 };
	for (int r = 0; r < runs; r++) {
		got[simulate(&st, 64, 0.0, 0.5)]++;
		worse += simulate(&st, 64, -0.2, 0.5) != 0;
	}
	for (int r = 0; r < 300; r++)
		better[simulate(&st, 64, 0.2, 0.9)]++;
	double fp = (got[1] + got[2]) / (double)runs;
	printf("  people's looks, simulated: null candidates promoted %d + %d of %d (interim + "
	       "final), worse %d of %d, better by 0.2: %d + %d of 300\n", got[1], got[2], runs,
	       worse, runs, better[1], better[2]);
	CHECK_MSG(fp < 0.06, "false promotions %.3f (interim %d, final %d of %d)", fp, got[1], got[2], runs);
	CHECK_MSG(got[2] > 0, "the final look never promoted a null candidate in %d: it is not looking", runs);
	CHECK_MSG(worse < runs / 100, "worse candidates promoted: %d of %d", worse, runs);
	CHECK_MSG(better[2] >= 15, "the final look promoted %d of 300 better candidates (interim %d)",
		  better[2], better[1]);
}

/* Not worse on the unseen prompts: the mean's one-sided 95 % lower bound
 * above -PEOPLE_UNSEEN_MARGIN over at least PEOPLE_UNSEEN_MIN prompts. */
static void test_unseen(void)
{
	double d[64], mean = 0, lo = 0;
	/* 16 prompts, 8 at +1 and 8 at -1: mean 0, sd sqrt(16/15), the bound
	 * -t(15) sd / 4 = -1.7528 * 1.032796 / 4 = -0.4526: not worse by half */
	for (int i = 0; i < 16; i++)
		d[i] = (i % 2) ? 1.0 : -1.0;
	CHECK(promote_unseen(d, 16, &mean, &lo));
	CHECK_NEAR(mean, 0.0, 1e-12);
	CHECK_NEAR(lo, -1.7528 * 1.032796 / 4, 1e-3);
	/* one prompt fewer: not enough to show it, whatever the figures */
	CHECK(!promote_unseen(d + 1, 15, &mean, &lo));
	CHECK(!promote_unseen(d, 1, &mean, &lo) && isnan(lo));
	/* the same spread, the mean 0.1 lower: the bound -0.5526, under */
	for (int i = 0; i < 16; i++)
		d[i] -= 0.1;
	CHECK(!promote_unseen(d, 16, &mean, &lo));
	CHECK_NEAR(lo, -0.1 - 1.7528 * 1.032796 / 4, 1e-3);
	/* 60 prompts a quarter point worse on average with the same spread:
	 * -0.25 - t(59) sd / sqrt 60 (t 1.6711, sd 1.008439): -0.4676, passes;
	 * the user's capitals, half a point worse: -0.7176, does not */
	for (int i = 0; i < 60; i++)
		d[i] = ((i % 2) ? 1.0 : -1.0) - 0.25;
	CHECK(promote_unseen(d, 60, &mean, &lo));
	CHECK_NEAR(lo, -0.25 - 1.6711 * 1.008439 / sqrt(60.0), 1e-3);
	for (int i = 0; i < 60; i++)
		d[i] -= 0.25;
	CHECK(!promote_unseen(d, 60, &mean, &lo));
	CHECK_NEAR(mean, -0.5, 1e-12);
}

static void test_hacking(void)
{
	double p;
	/* reward up, 5 worse of 5: 1/32 = 0.03125 < 0.05 */
	CHECK(promote_hacking(0.8, 0.1, 5, 0, &p));
	CHECK_NEAR(p, 1.0 / 32, 1e-12);
	/* 4 of 4: under the 5 untied prompts a verdict needs */
	CHECK(!promote_hacking(0.8, 0.1, 4, 0, &p));
	CHECK_NEAR(p, 1.0, 0);
	/* the reward does not rise (equal, or falls): people alone are the rollback's business */
	CHECK(!promote_hacking(0.1, 0.1, 5, 0, &p));
	CHECK(!promote_hacking(-0.2, 0.1, 8, 0, &p));
	/* 5 worse of 6: (6 + 1) / 64 = 0.109: not enough */
	CHECK(!promote_hacking(0.8, 0.1, 5, 1, &p));
	CHECK_NEAR(p, 7.0 / 64, 1e-12);
	/* 7 of 8: (8 + 1) / 256 = 0.0352: flagged */
	CHECK(promote_hacking(0.8, 0.1, 7, 1, &p));
	CHECK_NEAR(p, 9.0 / 256, 1e-12);
	/* people score it higher: never */
	CHECK(!promote_hacking(0.8, 0.1, 0, 8, &p));
	/* no paired prompts: the means are NaN */
	CHECK(!promote_hacking(NAN, NAN, 0, 0, &p));
}

static void test_promoted_when_it_wins_cleanly(void)
{
	static struct side c, p;
	fill(&c, 1.0f, true, 0);
	fill(&p, 0.0f, true, 0);
	struct promote_input in = input(&c, &p);
	struct promote_verdict v;
	promote_decide(&in, &v);
	CHECK_MSG(v.promote, "%s", v.n_reasons ? v.reasons[0] : "");
	CHECK_NEAR(v.win_rate, 1.0, 0);
	CHECK_INT_EQ(v.answers, 32);
	/* 32 of 32: Wilson lower bound 32/(32 + 3.84) = 0.8928 */
	CHECK_NEAR(v.win_lo, 0.8928, 1e-3);
	CHECK_NEAR(v.distinct_cand, 1.0, 0);
	CHECK(v.sound);
	/* the same clean win by a reward model at chance on its held-out prompts:
	 * kept, one reason (the reward model's, so people may overrule it) */
	in.rm_doubt = "pairwise accuracy 0.51";
	promote_decide(&in, &v);
	CHECK(!v.promote);
	CHECK_INT_EQ(v.n_reasons, 1);
	CHECK(has_reason(&v, "cannot vouch for it: pairwise accuracy 0.51"));
	CHECK(v.sound);
	/* and with a collapse beside it: not sound */
	fill(&c, 1.0f, false, 0);
	promote_decide(&in, &v);
	CHECK(!v.promote);
	CHECK(!v.sound);
}

static void test_ties_and_a_narrow_win_are_not_enough(void)
{
	static struct side c, p;
	fill(&c, 0.5f, true, 0);
	fill(&p, 0.5f, true, 0);
	struct promote_input in = input(&c, &p);
	struct promote_verdict v;
	promote_decide(&in, &v);
	/* all ties: win rate 1/2, the lower bound below 1/2 */
	CHECK(!v.promote);
	CHECK_NEAR(v.win_rate, 0.5, 0);
	CHECK(has_reason(&v, "does not prefer it"));
	/* the reward model's judgement alone: people may overrule it */
	CHECK(v.sound);
	/* 20 wins of 32 and 12 losses = 0.625, spread over the 8 prompts (3, 2,
	 * 3, 2, ...): no more spread between prompts than chance, design effect
	 * 1, Wilson [0.4525, 0.7707] */
	static const int spread20[NP] = { 3, 2, 3, 2, 3, 2, 3, 2 }, spread25[NP] = { 4, 3, 3, 3, 3, 3, 3, 3 },
		lumped25[NP] = { 4, 4, 4, 4, 4, 4, 1, 0 };
	wins_per_prompt(&c, spread20);
	promote_decide(&in, &v);
	CHECK(!v.promote);
	CHECK_NEAR(v.win_deff, 1.0, 1e-6);
	CHECK_NEAR(v.win_lo, 0.4525, 1e-3);
	/* 25 of 32 = 0.78 spread: lower bound 0.6124: promoted */
	wins_per_prompt(&c, spread25);
	promote_decide(&in, &v);
	CHECK(v.promote);
	CHECK_NEAR(v.win_lo, 0.6124, 1e-3);
	/* the same 25 of 32, but six prompts all won and two lost: the wins say
	 * "six prompts", not "25 answers" — design effect 3.9445 (worked in
	 * Python from stats.h's formula), Wilson at 8.1 comparisons, lower bound
	 * 0.4397: not promoted */
	wins_per_prompt(&c, lumped25);
	promote_decide(&in, &v);
	CHECK(!v.promote);
	CHECK_NEAR(v.win_rate, 25.0 / 32, 1e-6);
	CHECK_NEAR(v.win_deff, 3.9445, 1e-3);
	CHECK_NEAR(v.win_lo, 0.4397, 1e-3);
	CHECK(has_reason(&v, "does not prefer it"));
}

static void test_collapse_length_eos_and_kl_refuse(void)
{
	static struct side c, p;
	/* every candidate answer the same text: wins by the reward model, yet collapsed */
	fill(&c, 1.0f, false, 7);
	fill(&p, 0.0f, true, 0);
	struct promote_input in = input(&c, &p);
	struct promote_verdict v;
	promote_decide(&in, &v);
	CHECK(!v.promote);
	CHECK_NEAR(v.distinct_cand, 0.25, 1e-6);     /* 1 of 4 per prompt */
	CHECK(has_reason(&v, "collapsed"));
	CHECK_INT_EQ(v.n_reasons, 1);
	CHECK(!v.sound);
	/* collapsed and not preferred: two reasons, not sound either */
	fill(&c, 0.0f, false, 7);
	fill(&p, 1.0f, true, 0);
	promote_decide(&in, &v);
	CHECK_INT_EQ(v.n_reasons, 2);
	CHECK(has_reason(&v, "does not prefer it") && has_reason(&v, "collapsed"));
	CHECK(!v.sound);
	fill(&c, 1.0f, false, 7);
	fill(&p, 0.0f, true, 0);
	/* distinct within each prompt, but the same 4 texts for every prompt:
	 * 4 of 32 overall against the parent's 32 */
	for (int i = 0; i < NP * K; i++)
		c.tokens[i * STRIDE] = 200 + i % K;
	promote_decide(&in, &v);
	CHECK(!v.promote);
	CHECK(has_reason(&v, "across prompts"));
	/* distinct again; longer than 2x + 2 tokens: 23 > 22 */
	fill(&c, 1.0f, true, 0);
	in.cand.response_len = 23.0f;
	promote_decide(&in, &v);
	CHECK(!v.promote && has_reason(&v, "length") && !v.sound);
	in.cand.response_len = 22.0f;
	promote_decide(&in, &v);
	CHECK(v.promote);
	/* EOS 0.74 < 0.9 - 0.15 */
	in.cand.eos_rate = 0.74f;
	promote_decide(&in, &v);
	CHECK(!v.promote && has_reason(&v, "EOS") && !v.sound);
	in.cand.eos_rate = 0.9f;
	/* KL over budget, and a NaN KL, refuse; budget 0 = no condition */
	in.kl = 4.5f;
	promote_decide(&in, &v);
	CHECK(!v.promote && has_reason(&v, "KL") && !v.sound);
	in.kl = NAN;
	promote_decide(&in, &v);
	CHECK(!v.promote);
	in.kl_budget = 0;
	promote_decide(&in, &v);
	CHECK(v.promote);
	/* too few held-out prompts */
	in.n_prompts = 3;
	promote_decide(&in, &v);
	CHECK(!v.promote && has_reason(&v, "too few"));
	CHECK(v.sound);
}

/* A soup that has its parent among its members (promote.h
 * PROMOTE_SOUP_MARGIN): promoted unless the reward model prefers the parent
 * by more than the margin — the lower bound above 1/2 - margin, not 1/2. */
static void test_soup_margin(void)
{
	static struct side c, p;
	fill(&p, 0.5f, true, 0);   /* the candidate's 1 wins, its 0 loses */
	struct promote_input in = input(&c, &p);
	struct promote_verdict v;
	/* 20 wins of 32 spread evenly (worked above: Wilson lower bound 0.4525):
	 * not enough to beat the parent, enough for a soup (0.4525 > 0.4) */
	static const int spread20[NP] = { 3, 2, 3, 2, 3, 2, 3, 2 },
		spread12[NP] = { 2, 1, 2, 1, 2, 1, 2, 1 };
	wins_per_prompt(&c, spread20);
	promote_decide(&in, &v);
	CHECK(!v.promote);
	in.margin = PROMOTE_SOUP_MARGIN;
	promote_decide(&in, &v);
	CHECK_MSG(v.promote, "%s", v.n_reasons ? v.reasons[0] : "");
	CHECK_NEAR(v.win_lo, 0.4525, 1e-3);
	/* 12 of 32 (0.375): Wilson (0.375 + 1.96^2/64 -+ 1.96 sqrt(0.375 * 0.625 /
	 * 32 + 1.96^2 / 4096)) / (1 + 1.96^2 / 32) = [0.2293, 0.5475], and a
	 * design effect can only widen it: the reward model prefers the parent
	 * beyond the margin */
	wins_per_prompt(&c, spread12);
	promote_decide(&in, &v);
	CHECK(!v.promote);
	CHECK_NEAR(v.win_rate, 0.375, 1e-6);
	CHECK(v.win_lo <= 0.2293f + 1e-3f);
	CHECK(has_reason(&v, "prefers its parent by more than the margin 0.10"));
	CHECK(v.sound);
	/* the soup's 20 of 32 by a reward model at chance: kept, people may overrule */
	wins_per_prompt(&c, spread20);
	in.rm_doubt = "pairwise accuracy 0.51";
	promote_decide(&in, &v);
	CHECK(!v.promote && v.sound);
	CHECK_INT_EQ(v.n_reasons, 1);
	CHECK(has_reason(&v, "cannot vouch for it: pairwise accuracy 0.51"));
	/* and a collapsed soup, whatever the reward model says: not sound */
	in.rm_doubt = NULL;
	fill(&c, 1.0f, false, 7);
	promote_decide(&in, &v);
	CHECK(!v.promote && !v.sound && has_reason(&v, "collapsed"));
}

int main(void)
{
	RUN(test_rollback);
	RUN(test_people);
	RUN(test_people_looks);
	RUN(test_unseen);
	RUN(test_hacking);
	RUN(test_promoted_when_it_wins_cleanly);
	RUN(test_ties_and_a_narrow_win_are_not_enough);
	RUN(test_collapse_length_eos_and_kl_refuse);
	RUN(test_soup_margin);
	TEST_MAIN_END();
}
