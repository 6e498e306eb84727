/*
 * tests/unit/test_rl.c — model/rl.c against direct double-precision references
 * written here from the papers' formulas (or hand-worked numbers), and every
 * gradient against central finite differences of the loss function itself.
 */
#include "model/rl.h"
#include "tests/test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- helpers --------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double urand(void) /* [0, 1) */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static float frand(float lo, float hi) { return (float)(lo + (hi - lo) * urand()); }

static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* |a - b| <= atol + rtol * |b| */
static int close_enough(double a, double b, double atol, double rtol)
{
	return fabs(a - b) <= atol + rtol * fabs(b);
}

/* A loss as a function of one float array (the one being perturbed). */
typedef double (*loss_fn)(void *ctx);

/* Central differences of f w.r.t. x[i] for every i, compared with grad[i]. */
static int fd_check(const char *what, loss_fn f, void *ctx, float *x, const float *grad,
		    int n, float h, double atol, double rtol)
{
	int bad = 0;
	for (int i = 0; i < n; i++) {
		float keep = x[i];
		x[i] = keep + h;
		double lp = f(ctx);
		x[i] = keep - h;
		double lm = f(ctx);
		x[i] = keep;
		/* the step actually taken in float */
		double step = (double)(keep + h) - (double)(keep - h);
		double fd = (lp - lm) / step;
		if (!close_enough(grad[i], fd, atol, rtol)) {
			fprintf(stderr, "  %s: d/dx[%d] analytic %.7g vs finite difference %.7g\n",
				what, i, grad[i], fd);
			bad++;
		}
	}
	return bad;
}

/* ---- reward model pairwise loss ------------------------------------------- */

struct rm_ctx { float *r, *s; int K; float margin; };

static double rm_loss_of(void *p)
{
	struct rm_ctx *c = p;
	return rl_rm_pair_loss(NULL, NULL, c->r, c->s, c->K, c->margin, 1.0f);
}

/* Reference: over ORDERED pairs (i better than j), -log(1/(1+exp(-x))). */
static double ref_rm_loss(const float *r, const float *s, int K, double margin,
			  int *pairs, int *correct)
{
	double sum = 0;
	int np = 0, nc = 0;
	for (int i = 0; i < K; i++)
		for (int j = 0; j < K; j++) {
			if (isnan(s[i]) || isnan(s[j]) || !(s[i] - s[j] > 1e-6))
				continue;
			double x = (double)r[i] - r[j] - margin * (s[i] - s[j]);
			sum += -log(ref_sigmoid(x));
			np++;
			nc += r[i] > r[j];
		}
	*pairs = np;
	*correct = nc;
	return np ? sum / np : 0.0;
}

static void test_rm_pair_loss_hand(void)
{
	/* r = {1, 0, 0.5}, s = {5, 1, 3}, no margin.  Pairs (hi, lo): (0,1) x=1,
	 * (0,2) x=0.5, (2,1) x=0.5.  softplus(-1) = 0.3132617, softplus(-0.5) =
	 * 0.4740770, mean = (0.3132617 + 2*0.4740770)/3 = 0.4204719.  All 3 right. */
	float r[3] = { 1.0f, 0.0f, 0.5f }, s[3] = { 5, 1, 3 };
	struct rl_pair_stats st;
	float loss = rl_rm_pair_loss(NULL, &st, r, s, 3, 0.0f, 1.0f);
	CHECK_NEAR(loss, 0.4204719, 1e-6);
	CHECK_INT_EQ(st.n_pairs, 3);
	CHECK_INT_EQ(st.n_correct, 3);

	/* margin 0.25: pair (0,1) gap 4 → x = 1 - 1 = 0 → log 2 = 0.6931472;
	 * (0,2) gap 2 → x = 0.5 - 0.5 = 0 → 0.6931472; (2,1) gap 2 → x = 0 → same.
	 * mean = 0.6931472 */
	loss = rl_rm_pair_loss(NULL, &st, r, s, 3, 0.25f, 1.0f);
	CHECK_NEAR(loss, 0.6931472, 1e-6);

	/* dr by hand at margin 0: d/dx softplus(-x) = -sigmoid(-x); sigmoid(-1) =
	 * 0.2689414, sigmoid(-0.5) = 0.3775407; each over 3 pairs.
	 * dr0 = -(0.2689414 + 0.3775407)/3 = -0.2154940
	 * dr1 = +(0.2689414 + 0.3775407)/3 = +0.2154940
	 * dr2 = (+0.3775407 - 0.3775407)/3 = 0 */
	float dr[3] = { 0, 0, 0 };
	rl_rm_pair_loss(dr, NULL, r, s, 3, 0.0f, 1.0f);
	CHECK_NEAR(dr[0], -0.2154940, 1e-6);
	CHECK_NEAR(dr[1], 0.2154940, 1e-6);
	CHECK_NEAR(dr[2], 0.0, 1e-7);
}

static void test_rm_pair_loss_ties_nan_and_reference(void)
{
	/* ties and unrated answers make no pair */
	float r[4] = { 0.3f, -0.2f, 2.0f, 0.1f }, s[4] = { 3, 3, NAN, 1 };
	struct rl_pair_stats st;
	int np, nc;
	float loss = rl_rm_pair_loss(NULL, &st, r, s, 4, 0.0f, 1.0f);
	double ref = ref_rm_loss(r, s, 4, 0.0, &np, &nc);
	CHECK_INT_EQ(st.n_pairs, 2); /* (0,3), (1,3) */
	CHECK_INT_EQ(np, 2);
	CHECK_INT_EQ(st.n_correct, 1); /* 0.3 > 0.1 yes; -0.2 > 0.1 no */
	CHECK_NEAR(loss, ref, 1e-6);

	/* all tied: no pairs, zero loss, no gradient */
	float s2[3] = { 2, 2, 2 }, dr[3] = { 0, 0, 0 };
	CHECK_NEAR(rl_rm_pair_loss(dr, &st, r, s2, 3, 0.0f, 1.0f), 0.0, 0);
	CHECK_INT_EQ(st.n_pairs, 0);
	CHECK(dr[0] == 0 && dr[1] == 0 && dr[2] == 0);

	/* random groups with fractional mean scores, margins */
	for (int trial = 0; trial < 20; trial++) {
		int K = 2 + trial % 5;
		float rr[6], ss[6];
		for (int k = 0; k < K; k++) {
			rr[k] = frand(-3, 3);
			ss[k] = 1.0f + (float)(int)(urand() * 9) / 2.0f; /* 1, 1.5, ..., 5 */
		}
		float margin = trial % 2 ? 0.0f : 0.3f;
		loss = rl_rm_pair_loss(NULL, &st, rr, ss, K, margin, 1.0f);
		ref = ref_rm_loss(rr, ss, K, margin, &np, &nc);
		CHECK_NEAR(loss, ref, 1e-5);
		CHECK_INT_EQ(st.n_pairs, np);
		CHECK_INT_EQ(st.n_correct, nc);
	}
}

static void test_rm_pair_loss_grad(void)
{
	float r[5], s[5] = { 4, 1, 2.5f, 4, 5 }, dr[5] = { 0 };
	for (int k = 0; k < 5; k++)
		r[k] = frand(-2, 2);
	for (int pass = 0; pass < 2; pass++) {
		float margin = pass ? 0.4f : 0.0f;
		for (int k = 0; k < 5; k++)
			dr[k] = 0.0f;
		rl_rm_pair_loss(dr, NULL, r, s, 5, margin, 1.0f);
		struct rm_ctx c = { r, s, 5, margin };
		CHECK_INT_EQ(fd_check("rm dr", rm_loss_of, &c, r, dr, 5, 1e-2f, 1e-4, 1e-3), 0);
	}
	/* accumulation and dloss scaling: two calls with dloss 0.5 == one with 1 */
	float d1[5] = { 0 }, d2[5] = { 0 };
	rl_rm_pair_loss(d1, NULL, r, s, 5, 0.0f, 1.0f);
	rl_rm_pair_loss(d2, NULL, r, s, 5, 0.0f, 0.5f);
	rl_rm_pair_loss(d2, NULL, r, s, 5, 0.0f, 0.5f);
	for (int k = 0; k < 5; k++)
		CHECK_NEAR(d1[k], d2[k], 1e-7);
}

/* ---- reward model: pointwise term and the combined group loss ---------------- */

struct grp_ctx { float *r, *s; int K; float margin, mu, sigma, w; };

static double grp_loss_of(void *p)
{
	struct grp_ctx *c = p;
	return rl_rm_group_loss(NULL, NULL, c->r, c->s, c->K, c->margin, c->mu, c->sigma, c->w,
				1.0f);
}

static void test_rm_group_loss_hand(void)
{
	/* r = {1, 0, 0.5}, s = {5, 1, NAN}, mu 3, sigma 2: z = {1, -1}; one pair
	 * (0 over 1), x = 1 - 0 - 0.25 * 4 = 0 with margin 0.25: log 2; point
	 * terms (1-1)^2 = 0 and (0+1)^2 = 1, mean 0.5; weight 0.5: log 2 + 0.25 */
	float r[3] = { 1, 0, 0.5f }, s[3] = { 5, 1, NAN }, dr[3] = { 0 };
	struct rl_rm_stats st;
	float l = rl_rm_group_loss(dr, &st, r, s, 3, 0.25f, 3.0f, 2.0f, 0.5f, 1.0f);
	CHECK_NEAR(l, log(2.0) + 0.25, 1e-6);
	CHECK_NEAR(st.pair_loss, log(2.0), 1e-6);
	CHECK_NEAR(st.point_loss, 0.5, 1e-7);
	CHECK_INT_EQ(st.n_pairs, 1);
	CHECK_INT_EQ(st.n_correct, 1);
	CHECK_INT_EQ(st.n_rated, 2);
	/* d/dr0 = -sigmoid(-0) + 0.5 * 2 * 0 / 2 = -0.5; d/dr1 = 0.5 + 0.5 * 2 * 1 / 2
	 * = 1; the unrated answer none */
	CHECK_NEAR(dr[0], -0.5, 1e-6);
	CHECK_NEAR(dr[1], 1.0, 1e-6);
	CHECK_NEAR(dr[2], 0.0, 0);
	/* all tied: the pointwise term alone; nothing rated: 0 */
	float t[3] = { 3, 3, 3 }, n3[3] = { NAN, NAN, NAN }, d0[3] = { 0 };
	l = rl_rm_group_loss(NULL, &st, r, t, 3, 0.0f, 3.0f, 2.0f, 0.5f, 1.0f);
	CHECK_NEAR(l, 0.5 * (1 + 0 + 0.25) / 3, 1e-6);
	CHECK_INT_EQ(st.n_pairs, 0);
	CHECK_INT_EQ(st.n_rated, 3);
	l = rl_rm_group_loss(d0, &st, r, n3, 3, 0.0f, 3.0f, 2.0f, 0.5f, 1.0f);
	CHECK_NEAR(l, 0.0, 0);
	CHECK_INT_EQ(st.n_rated, 0);
	for (int k = 0; k < 3; k++)
		CHECK_NEAR(d0[k], 0.0, 0);
	/* weight 0 is exactly the pairwise loss */
	CHECK_NEAR(rl_rm_group_loss(NULL, NULL, r, s, 3, 0.25f, 3.0f, 2.0f, 0.0f, 1.0f),
		   rl_rm_pair_loss(NULL, NULL, r, s, 3, 0.25f, 1.0f), 0);
}

static void test_rm_group_loss_reference_and_grad(void)
{
	for (int trial = 0; trial < 30; trial++) {
		int K = 1 + trial % 6;
		float r[6], s[6], dr[6] = { 0 };
		for (int k = 0; k < K; k++) {
			r[k] = frand(-2, 2);
			s[k] = urand() < 0.15 ? NAN : 1.0f + (float)(int)(urand() * 9) / 2.0f;
		}
		if (trial % 5 == 0) /* a tied group */
			for (int k = 0; k < K; k++)
				s[k] = 4.0f;
		float margin = trial % 2 ? 0.0f : 0.3f, mu = frand(2, 4), sigma = frand(0.5f, 2);
		float w = trial % 3 == 0 ? 0.0f : frand(0.1f, 2.0f);
		/* reference: the pair loss over ordered pairs, plus w * the mean
		 * squared error against the standardised scores */
		int np, nc, m = 0;
		double pair = ref_rm_loss(r, s, K, margin, &np, &nc), sq = 0;
		for (int k = 0; k < K; k++)
			if (!isnan(s[k])) {
				double e = r[k] - (s[k] - (double)mu) / sigma;
				sq += e * e;
				m++;
			}
		double ref = pair + (m ? w * sq / m : 0.0);
		struct rl_rm_stats st;
		float l = rl_rm_group_loss(dr, &st, r, s, K, margin, mu, sigma, w, 1.0f);
		CHECK_NEAR(l, ref, 1e-5);
		CHECK_INT_EQ(st.n_rated, m);
		CHECK_INT_EQ(st.n_pairs, np);
		struct grp_ctx c = { r, s, K, margin, mu, sigma, w };
		CHECK_INT_EQ(fd_check("rm group dr", grp_loss_of, &c, r, dr, K, 1e-2f, 1e-4, 1e-3), 0);
	}
	/* accumulation and dloss scaling */
	float r[4] = { 0.3f, -1, 2, 0 }, s[4] = { 2, 5, 1, 3 }, d1[4] = { 0 }, d2[4] = { 0 };
	rl_rm_group_loss(d1, NULL, r, s, 4, 0.2f, 3, 1.5f, 0.7f, 1.0f);
	rl_rm_group_loss(d2, NULL, r, s, 4, 0.2f, 3, 1.5f, 0.7f, 0.5f);
	rl_rm_group_loss(d2, NULL, r, s, 4, 0.2f, 3, 1.5f, 0.7f, 0.5f);
	for (int k = 0; k < 4; k++)
		CHECK_NEAR(d1[k], d2[k], 1e-6);
}

/* ---- reward normalisation -------------------------------------------------- */

static void test_norm(void)
{
	/* r = {1,2,3,4}: mean 2.5, population var = (2.25+0.25+0.25+2.25)/4 = 1.25,
	 * std = 1.1180340 */
	float r[4] = { 1, 2, 3, 4 }, out[4];
	struct rl_norm n;
	rl_norm_fit(&n, r, 4);
	CHECK_NEAR(n.mean, 2.5, 1e-7);
	CHECK_NEAR(n.std, 1.1180340, 1e-6);
	rl_norm_apply(out, &n, r, 4);
	CHECK_NEAR(out[0], -1.5 / 1.1180340, 1e-6);
	CHECK_NEAR(out[3], 1.5 / 1.1180340, 1e-6);

	/* random set: normalised has mean 0, population std 1 */
	float x[100], y[100];
	for (int i = 0; i < 100; i++)
		x[i] = frand(-4, 10);
	rl_norm_fit(&n, x, 100);
	rl_norm_apply(y, &n, x, 100);
	double m = 0, v = 0;
	for (int i = 0; i < 100; i++)
		m += y[i];
	m /= 100;
	for (int i = 0; i < 100; i++)
		v += (y[i] - m) * (y[i] - m);
	CHECK_NEAR(m, 0.0, 1e-5);
	CHECK_NEAR(sqrt(v / 100), 1.0, 1e-5);

	/* constant scores only shift; empty set is the identity */
	float c[3] = { 7, 7, 7 };
	rl_norm_fit(&n, c, 3);
	CHECK_NEAR(n.mean, 7, 0);
	CHECK_NEAR(n.std, 1, 0);
	rl_norm_fit(&n, c, 0);
	CHECK_NEAR(n.mean, 0, 0);
	CHECK_NEAR(n.std, 1, 0);
	/* in place */
	rl_norm_fit(&n, r, 4);
	rl_norm_apply(r, &n, r, 4);
	CHECK_NEAR(r[1], -0.5 / 1.1180340, 1e-6);
}

/* ---- KL estimators and controller ------------------------------------------ */

struct kl_ctx { float *logp, *ref, *mask; int n; enum rl_kl_kind kind; };

static double kl_sum_of(void *p)
{
	struct kl_ctx *c = p;
	return rl_kl(NULL, NULL, c->logp, c->ref, c->mask, c->n, c->kind, 1.0f);
}

static void test_kl_token_hand(void)
{
	/* logp = -1, ref = -1.5: d = 0.5.  k1 = 0.5, k2 = 0.125,
	 * k3 = exp(-0.5) - 1 + 0.5 = 0.6065307 - 0.5 = 0.1065307;
	 * dk1 = 1, dk2 = 0.5, dk3 = 1 - exp(-0.5) = 0.3934693 */
	float g;
	CHECK_NEAR(rl_kl_token(-1.0f, -1.5f, RL_KL_K1, &g), 0.5, 1e-7);
	CHECK_NEAR(g, 1.0, 0);
	CHECK_NEAR(rl_kl_token(-1.0f, -1.5f, RL_KL_K2, &g), 0.125, 1e-7);
	CHECK_NEAR(g, 0.5, 1e-7);
	CHECK_NEAR(rl_kl_token(-1.0f, -1.5f, RL_KL_K3, &g), 0.1065307, 1e-7);
	CHECK_NEAR(g, 0.3934693, 1e-7);
	/* k3 of equal log-probs is 0, and k3 >= 0 always */
	CHECK_NEAR(rl_kl_token(-2.0f, -2.0f, RL_KL_K3, NULL), 0.0, 0);
	for (int i = 0; i < 50; i++)
		CHECK(rl_kl_token(frand(-8, 0), frand(-8, 0), RL_KL_K3, NULL) >= 0.0f);
}

static void test_kl_array_and_grad(void)
{
	enum { N = 12 };
	float logp[N], ref[N], mask[N], kl[N], dl[N];
	for (int t = 0; t < N; t++) {
		logp[t] = frand(-5, -0.05f);
		ref[t] = frand(-5, -0.05f);
		mask[t] = t % 4 == 3 ? 0.0f : 1.0f;
	}
	for (int kind = 1; kind <= 3; kind++) {
		double ref_sum = 0;
		for (int t = 0; t < N; t++) {
			double d = (double)logp[t] - ref[t], u = (double)ref[t] - logp[t], v;
			v = kind == 1 ? d : kind == 2 ? 0.5 * d * d : exp(u) - 1 - u;
			ref_sum += mask[t] * v;
		}
		for (int t = 0; t < N; t++)
			dl[t] = 0;
		float sum = rl_kl(kl, dl, logp, ref, mask, N, kind, 1.0f);
		CHECK_NEAR(sum, ref_sum, 1e-5);
		CHECK_NEAR(kl[3], 0.0, 0);  /* masked */
		CHECK_NEAR(dl[7], 0.0, 0);
		struct kl_ctx c = { logp, ref, mask, N, kind };
		CHECK_INT_EQ(fd_check("kl dlogp", kl_sum_of, &c, logp, dl, N, 1e-2f, 1e-4, 2e-3), 0);
	}
	/* NULL mask counts everything */
	double all = 0;
	for (int t = 0; t < N; t++)
		all += (double)logp[t] - ref[t];
	CHECK_NEAR(rl_kl(NULL, NULL, logp, ref, NULL, N, RL_KL_K1, 1.0f), all, 1e-5);
}

static void test_kl_controller(void)
{
	/* beta 0.1, target 6, horizon 10000, batch of 256:
	 * kl 9   → error 0.5 clipped to 0.2 → beta * (1 + 0.2*256/10000) = 0.100512
	 * kl 3   → error -0.5 clipped to -0.2 → 0.1 * (1 - 0.00512) = 0.099488
	 * kl 6.6 → error 0.1 → 0.1 * (1 + 0.1*256/10000) = 0.100256 */
	struct rl_kl_ctl c;
	rl_kl_ctl_init(&c, 0.1f, 6.0f, 10000.0f);
	rl_kl_ctl_update(&c, 9.0f, 256);
	CHECK_NEAR(c.beta, 0.100512, 1e-7);
	rl_kl_ctl_init(&c, 0.1f, 6.0f, 10000.0f);
	rl_kl_ctl_update(&c, 3.0f, 256);
	CHECK_NEAR(c.beta, 0.099488, 1e-7);
	rl_kl_ctl_init(&c, 0.1f, 6.0f, 10000.0f);
	rl_kl_ctl_update(&c, 6.6f, 256);
	CHECK_NEAR(c.beta, 0.100256, 1e-7);
	/* repeated high KL keeps raising beta; fixed controller never moves */
	rl_kl_ctl_init(&c, 0.1f, 6.0f, 1000.0f);
	for (int i = 0; i < 10; i++)
		rl_kl_ctl_update(&c, 50.0f, 100);
	CHECK_NEAR(c.beta, 0.1 * pow(1.02, 10), 1e-6);
	rl_kl_ctl_init(&c, 0.05f, 0.0f, 1000.0f);
	rl_kl_ctl_update(&c, 50.0f, 100);
	CHECK_NEAR(c.beta, 0.05f, 0);
}

/* rl_kl_control against the formula computed here. */
static void test_kl_control_pure(void)
{
	float kls[] = { 0.0f, 0.5f, 0.9f, 1.0f, 1.1f, 1.19f, 3.0f, 14.0f };
	for (size_t i = 0; i < sizeof kls / sizeof kls[0]; i++) {
		double e = kls[i] / 1.0 - 1.0;
		e = e < -0.2 ? -0.2 : e > 0.2 ? 0.2 : e;
		CHECK_NEAR(rl_kl_control(0.1f, kls[i], 1.0f, 4000.0f, 128), 0.1 * (1 + e * 128 / 4000.0),
			   1e-8);
	}
	/* hand: coef 0.1, kl 1.1, target 1, horizon 100, 50 sequences:
	 * e = 0.1, 0.1 * (1 + 0.1 * 0.5) = 0.105 */
	CHECK_NEAR(rl_kl_control(0.1f, 1.1f, 1.0f, 100.0f, 50), 0.105, 1e-7);
	/* off: no target, no horizon, a NAN measurement */
	CHECK_NEAR(rl_kl_control(0.1f, 9.0f, 0.0f, 100.0f, 50), 0.1f, 0);
	CHECK_NEAR(rl_kl_control(0.1f, 9.0f, 1.0f, 0.0f, 50), 0.1f, 0);
	CHECK_NEAR(rl_kl_control(0.1f, NAN, 1.0f, 100.0f, 50), 0.1f, 0);
	/* the struct controller is the same step */
	struct rl_kl_ctl c;
	rl_kl_ctl_init(&c, 0.3f, 2.0f, 500.0f);
	rl_kl_ctl_update(&c, 2.5f, 64);
	CHECK_NEAR(c.beta, rl_kl_control(0.3f, 2.5f, 2.0f, 500.0f, 64), 0);
}

/* ---- PPO token rewards, GAE, whitening -------------------------------------- */

static void test_token_rewards(void)
{
	/* kl = {0.5, -0.2, 1.0}, beta 0.1, score 2:
	 * rewards = {-0.05, 0.02, -0.1 + 2} ; truncated with penalty 1 → last 0.9 */
	float kl[3] = { 0.5f, -0.2f, 1.0f }, r[3], ns[3];
	CHECK_INT_EQ(rl_ppo_token_rewards(r, ns, kl, 3, 0.1f, 2.0f, false, 1.0f), 0);
	CHECK_NEAR(r[0], -0.05, 1e-7);
	CHECK_NEAR(r[1], 0.02, 1e-7);
	CHECK_NEAR(r[2], 1.9, 1e-6);
	CHECK_NEAR(ns[2], -0.1, 1e-7);
	CHECK_INT_EQ(rl_ppo_token_rewards(r, NULL, kl, 3, 0.1f, 2.0f, true, 1.0f), 0);
	CHECK_NEAR(r[2], 0.9, 1e-6);
	CHECK(rl_ppo_token_rewards(r, NULL, kl, 0, 0.1f, 2.0f, false, 0.0f) < 0);
}

static void test_gae(void)
{
	/* Hand: rewards {0, 0, 1}, values {0.5, 0.2, 0.4}, gamma 1, lambda 0.5.
	 * deltas: d2 = 1 - 0.4 = 0.6; d1 = 0 + 0.4 - 0.2 = 0.2; d0 = 0 + 0.2 - 0.5 = -0.3
	 * A2 = 0.6; A1 = 0.2 + 0.5*0.6 = 0.5; A0 = -0.3 + 0.5*0.5 = -0.05
	 * returns = A + V = {0.45, 0.7, 1.0} */
	float rw[3] = { 0, 0, 1 }, v[3] = { 0.5f, 0.2f, 0.4f }, a[3], ret[3];
	rl_gae(a, ret, rw, v, 3, 1.0f, 0.5f);
	CHECK_NEAR(a[0], -0.05, 1e-6);
	CHECK_NEAR(a[1], 0.5, 1e-6);
	CHECK_NEAR(a[2], 0.6, 1e-6);
	CHECK_NEAR(ret[0], 0.45, 1e-6);
	CHECK_NEAR(ret[1], 0.7, 1e-6);
	CHECK_NEAR(ret[2], 1.0, 1e-6);

	/* Reference: the explicit sum A_t = sum_l (gamma lambda)^l delta_{t+l} */
	enum { N = 17 };
	float R[N], V[N], A[N], RET[N];
	for (int t = 0; t < N; t++) {
		R[t] = frand(-1, 1);
		V[t] = frand(-2, 2);
	}
	float gamma = 0.97f, lambda = 0.9f;
	rl_gae(A, RET, R, V, N, gamma, lambda);
	for (int t = 0; t < N; t++) {
		double sum = 0;
		for (int l = 0; t + l < N; l++) {
			int u = t + l;
			double next = u + 1 < N ? V[u + 1] : 0.0;
			double delta = R[u] + (double)gamma * next - V[u];
			sum += pow((double)gamma * lambda, l) * delta;
		}
		CHECK_NEAR(A[t], sum, 1e-5);
		CHECK_NEAR(RET[t], sum + V[t], 1e-5);
	}
	/* lambda 1, gamma 1: advantage = reward-to-go minus value */
	rl_gae(A, NULL, R, V, N, 1.0f, 1.0f);
	double togo = 0;
	for (int t = N - 1; t >= 0; t--) {
		togo += R[t];
		CHECK_NEAR(A[t], togo - V[t], 1e-5);
	}
}

static void test_whiten(void)
{
	enum { N = 20 };
	float x[N], orig[N], mask[N];
	for (int i = 0; i < N; i++) {
		orig[i] = x[i] = frand(-3, 5);
		mask[i] = i % 5 == 0 ? 0.0f : 1.0f;
	}
	/* reference: mean and unbiased variance over the 16 counted values */
	double m = 0, v = 0;
	int c = 0;
	for (int i = 0; i < N; i++)
		if (mask[i] != 0) {
			m += orig[i];
			c++;
		}
	m /= c;
	for (int i = 0; i < N; i++)
		if (mask[i] != 0)
			v += (orig[i] - m) * (orig[i] - m);
	v /= c - 1;
	CHECK_INT_EQ(rl_whiten(x, mask, N, true), 16);
	for (int i = 0; i < N; i++) {
		if (mask[i] != 0)
			CHECK_NEAR(x[i], (orig[i] - m) / sqrt(v + 1e-8), 1e-5);
		else
			CHECK_NEAR(x[i], orig[i], 0); /* untouched */
	}
	/* without shifting, the mean is kept */
	for (int i = 0; i < N; i++)
		x[i] = orig[i];
	rl_whiten(x, mask, N, false);
	for (int i = 0; i < N; i++)
		if (mask[i] != 0)
			CHECK_NEAR(x[i], (orig[i] - m) / sqrt(v + 1e-8) + m, 1e-5);
	/* hand: {1, 3} → mean 2, unbiased var 2 → {-1/sqrt2, 1/sqrt2} */
	float h[2] = { 1, 3 };
	rl_whiten(h, NULL, 2, true);
	CHECK_NEAR(h[0], -0.7071068, 1e-6);
	CHECK_NEAR(h[1], 0.7071068, 1e-6);
	/* one counted value: centred only; none: nothing */
	float one[3] = { 4, 9, 9 }, m1[3] = { 1, 0, 0 };
	CHECK_INT_EQ(rl_whiten(one, m1, 3, true), 1);
	CHECK_NEAR(one[0], 0, 0);
	CHECK_NEAR(one[1], 9, 0);
	float m0[3] = { 0, 0, 0 };
	CHECK_INT_EQ(rl_whiten(one, m0, 3, true), 0);
}

/* ---- PPO losses ------------------------------------------------------------ */

struct ppo_ctx { float *logp, *old, *adv, *mask; int n; float eps; };

static double ppo_loss_of(void *p)
{
	struct ppo_ctx *c = p;
	return rl_ppo_policy_loss(NULL, NULL, c->logp, c->old, c->adv, c->mask, c->n, c->eps, 1.0f);
}

/* Log-probs whose ratio to old is at least 0.03 away from either clip bound,
 * so finite differences never straddle a kink. */
static float away_from_kinks(float old, float eps)
{
	for (;;) {
		float lp = old + frand(-0.5f, 0.5f);
		double r = exp((double)lp - old);
		if (fabs(r - (1 - eps)) > 0.03 && fabs(r - (1 + eps)) > 0.03)
			return lp;
	}
}

static void test_ppo_policy_loss(void)
{
	/* Hand, eps 0.2, one token each:
	 * A = 1, ratio e^0.5 = 1.6487213: max(-1.6487, -1.2) = -1.2 (clipped, grad 0)
	 * A = -1, ratio e^0.5: max(1.6487, 1.2) = 1.6487213 (unclipped, grad -A r = 1.6487)
	 * A = 2, ratio e^-0.1 = 0.9048374: max(-1.8096748, -1.8096748) = -1.8096748, grad -1.8097
	 * mean = (-1.2 + 1.6487213 - 1.8096748)/3 = -0.4536512
	 * clipfrac = 1/3; approx_kl = 0.5 * (0.25 + 0.25 + 0.01)/3 = 0.085 */
	float logp[3] = { 0.5f, 0.5f, -0.1f }, old[3] = { 0, 0, 0 }, adv[3] = { 1, -1, 2 };
	float g[3] = { 0, 0, 0 };
	struct rl_ppo_stats st;
	float loss = rl_ppo_policy_loss(g, &st, logp, old, adv, NULL, 3, 0.2f, 1.0f);
	CHECK_NEAR(loss, -0.4536512, 1e-6);
	CHECK_NEAR(g[0], 0.0, 0);
	CHECK_NEAR(g[1], 1.6487213 / 3, 1e-6);
	CHECK_NEAR(g[2], -1.8096748 / 3, 1e-6);
	CHECK_NEAR(st.clipfrac, 1.0 / 3, 1e-6);
	CHECK_NEAR(st.approx_kl, 0.085, 1e-6);
	CHECK_INT_EQ(st.n_tokens, 3);

	/* random batch vs a direct reference, then finite differences */
	enum { N = 40 };
	float lp[N], ol[N], ad[N], mk[N], dl[N];
	float eps = 0.2f;
	for (int t = 0; t < N; t++) {
		ol[t] = frand(-4, -0.2f);
		lp[t] = away_from_kinks(ol[t], eps);
		ad[t] = frand(-2, 2);
		mk[t] = t % 7 == 6 ? 0.0f : 1.0f;
		dl[t] = 0;
	}
	double ref = 0, cnt = 0, clip = 0;
	for (int t = 0; t < N; t++) {
		if (mk[t] == 0)
			continue;
		double r = exp((double)lp[t] - ol[t]);
		double rc = fmin(fmax(r, 1 - eps), 1 + eps);
		double a = -ad[t] * r, b = -ad[t] * rc;
		ref += fmax(a, b);
		clip += b > a;
		cnt++;
	}
	loss = rl_ppo_policy_loss(dl, &st, lp, ol, ad, mk, N, eps, 1.0f);
	CHECK_NEAR(loss, ref / cnt, 1e-5);
	CHECK_NEAR(st.clipfrac, clip / cnt, 1e-6);
	CHECK(st.clipfrac > 0.05 && st.clipfrac < 0.95); /* both regimes exercised */
	struct ppo_ctx c = { lp, ol, ad, mk, N, eps };
	CHECK_INT_EQ(fd_check("ppo dlogp", ppo_loss_of, &c, lp, dl, N, 2e-3f, 2e-4, 3e-3), 0);

	/* at the sampling policy (logp == old) the gradient is -A / n */
	for (int t = 0; t < N; t++)
		dl[t] = 0;
	rl_ppo_policy_loss(dl, &st, ol, ol, ad, NULL, N, eps, 1.0f);
	for (int t = 0; t < N; t++)
		CHECK_NEAR(dl[t], -ad[t] / N, 1e-6);
	CHECK_NEAR(st.clipfrac, 0, 0);
	CHECK_NEAR(st.ratio_mean, 1, 1e-6);
}

struct val_ctx { float *v, *old, *ret, *mask; int n; float clip; };

static double val_loss_of(void *p)
{
	struct val_ctx *c = p;
	return rl_ppo_value_loss(NULL, NULL, c->v, c->old, c->ret, c->mask, c->n, c->clip, 1.0f);
}

static void test_ppo_value_loss(void)
{
	/* Hand, clip 0.2:
	 * v 1.0, old 0.5, R 2.0: vclip = 0.7; (1-2)^2 = 1 vs (0.7-2)^2 = 1.69 → 1.69 (clipped, grad 0)
	 * v 1.0, old 0.9, R 0.0: vclip = 1.0 → 1 vs 1 → 1, grad (v - R) = 1
	 * v 0.0, old 0.5, R 0.1: vclip 0.3; 0.01 vs 0.04 → 0.04 (clipped)
	 * loss = 0.5 * (1.69 + 1 + 0.04) / 3 = 0.455; grads {0, 1/3, 0}; clipfrac 2/3 */
	float v[3] = { 1, 1, 0 }, old[3] = { 0.5f, 0.9f, 0.5f }, R[3] = { 2, 0, 0.1f };
	float g[3] = { 0, 0, 0 }, cf;
	float loss = rl_ppo_value_loss(g, &cf, v, old, R, NULL, 3, 0.2f, 1.0f);
	CHECK_NEAR(loss, 0.455, 1e-6);
	CHECK_NEAR(g[0], 0, 0);
	CHECK_NEAR(g[1], 1.0 / 3, 1e-6);
	CHECK_NEAR(g[2], 0, 0);
	CHECK_NEAR(cf, 2.0 / 3, 1e-6);
	/* no clipping: plain 0.5 * MSE = 0.5 * (1 + 1 + 0.01)/3 = 0.335 */
	CHECK_NEAR(rl_ppo_value_loss(NULL, NULL, v, old, R, NULL, 3, 0.0f, 1.0f), 0.335, 1e-6);

	enum { N = 30 };
	float vv[N], oo[N], rr[N], mm[N], dv[N];
	float clipv = 0.3f;
	for (int t = 0; t < N; t++) {
		oo[t] = frand(-1, 1);
		/* keep v at least 0.02 from the clip band edges */
		do
			vv[t] = oo[t] + frand(-0.8f, 0.8f);
		while (fabsf(fabsf(vv[t] - oo[t]) - clipv) < 0.02f);
		rr[t] = frand(-2, 2);
		mm[t] = t % 6 == 0 ? 0.0f : 1.0f;
		dv[t] = 0;
	}
	double ref = 0, cnt = 0;
	for (int t = 0; t < N; t++) {
		if (mm[t] == 0)
			continue;
		double vc = fmin(fmax(vv[t], oo[t] - clipv), oo[t] + clipv);
		ref += 0.5 * fmax((vv[t] - rr[t]) * (vv[t] - rr[t]), (vc - rr[t]) * (vc - rr[t]));
		cnt++;
	}
	loss = rl_ppo_value_loss(dv, &cf, vv, oo, rr, mm, N, clipv, 1.0f);
	CHECK_NEAR(loss, ref / cnt, 1e-5);
	CHECK(cf > 0.05 && cf < 0.95);
	struct val_ctx c = { vv, oo, rr, mm, N, clipv };
	CHECK_INT_EQ(fd_check("value dv", val_loss_of, &c, vv, dv, N, 2e-3f, 2e-4, 3e-3), 0);
}

struct ent_ctx { float *logits, *mask; int n, V; };

static double ent_of(void *p)
{
	struct ent_ctx *c = p;
	return rl_entropy(NULL, NULL, c->logits, c->mask, c->n, c->V, 1.0f);
}

static void test_entropy(void)
{
	/* uniform over 4: H = log 4 = 1.3862944; gradient zero (a maximum) */
	float u[4] = { 2, 2, 2, 2 }, gu[4] = { 0 };
	CHECK_NEAR(rl_entropy(gu, NULL, u, NULL, 1, 4, 1.0f), 1.3862944, 1e-6);
	for (int v = 0; v < 4; v++)
		CHECK_NEAR(gu[v], 0, 1e-7);
	/* two logits {0, log 3}: p = {1/4, 3/4}, H = -(0.25 ln .25 + .75 ln .75)
	 * = 0.3465736 + 0.2157616 = 0.5623351 */
	float two[2] = { 0, (float)log(3.0) };
	CHECK_NEAR(rl_entropy(NULL, NULL, two, NULL, 1, 2, 1.0f), 0.5623351, 1e-6);

	enum { N = 5, V = 7 };
	float z[N * V], dz[N * V] = { 0 }, ent[N], mask[N] = { 1, 1, 0, 1, 1 };
	for (int i = 0; i < N * V; i++)
		z[i] = frand(-3, 3);
	double ref = 0;
	for (int t = 0; t < N; t++) {
		double S = 0, H = 0;
		for (int v = 0; v < V; v++)
			S += exp(z[t * V + v]);
		for (int v = 0; v < V; v++) {
			double p = exp(z[t * V + v]) / S;
			H -= p * log(p);
		}
		ref += mask[t] * H;
		float e1;
		rl_entropy(NULL, &e1, z + t * V, NULL, 1, V, 1.0f);
		CHECK_NEAR(e1, H, 1e-5);
	}
	float mean = rl_entropy(dz, ent, z, mask, N, V, -0.01f); /* a bonus of 0.01 */
	CHECK_NEAR(mean, ref / 4, 1e-5);
	for (int i = 0; i < N * V; i++)
		dz[i] /= -0.01f; /* back to d(mean H)/dz for the check */
	for (int v = 0; v < V; v++)
		CHECK_NEAR(dz[2 * V + v], 0, 0); /* masked row */
	struct ent_ctx c = { z, mask, N, V };
	CHECK_INT_EQ(fd_check("entropy dlogits", ent_of, &c, z, dz, N * V, 1e-2f, 1e-4, 3e-3), 0);
}

/* ---- RLOO / GRPO ------------------------------------------------------------ */

static void test_group_advantages(void)
{
	/* RLOO r = {1, 2, 3, 6}: others' means 11/3, 10/3, 3, 2
	 * → {-2.6666667, -1.3333333, 0, 4} */
	float r[4] = { 1, 2, 3, 6 }, a[4];
	CHECK_INT_EQ(rl_rloo_advantages(a, r, 4), 0);
	CHECK_NEAR(a[0], -2.6666667, 1e-6);
	CHECK_NEAR(a[1], -1.3333333, 1e-6);
	CHECK_NEAR(a[2], 0, 1e-6);
	CHECK_NEAR(a[3], 4, 1e-6);
	/* reference loop over the others, random groups */
	for (int trial = 0; trial < 10; trial++) {
		int K = 2 + trial;
		float rr[12], aa[12];
		for (int k = 0; k < K; k++)
			rr[k] = frand(-5, 5);
		rl_rloo_advantages(aa, rr, K);
		for (int k = 0; k < K; k++) {
			double o = 0;
			for (int j = 0; j < K; j++)
				if (j != k)
					o += rr[j];
			CHECK_NEAR(aa[k], rr[k] - o / (K - 1), 1e-5);
		}
	}
	CHECK(rl_rloo_advantages(a, r, 1) < 0);
	CHECK_NEAR(a[0], 0, 0);

	/* GRPO r = {1, 2, 3}: mean 2, unbiased std 1 → {-1, 0, 1}/(1 + eps) */
	float g[3], r3[3] = { 1, 2, 3 };
	CHECK_INT_EQ(rl_grpo_advantages(g, r3, 3, 1e-4f), 0);
	CHECK_NEAR(g[0], -1 / 1.0001, 1e-6);
	CHECK_NEAR(g[1], 0, 1e-7);
	CHECK_NEAR(g[2], 1 / 1.0001, 1e-6);
	/* all equal → all zero (no signal), not NaN */
	float same[4] = { 3, 3, 3, 3 };
	rl_grpo_advantages(a, same, 4, 1e-4f);
	for (int k = 0; k < 4; k++)
		CHECK_NEAR(a[k], 0, 0);
	CHECK(rl_grpo_advantages(a, r, 1, 1e-4f) < 0);
}

struct pg_ctx { float *logp, *old, *ref, *adv, *mask; int B, T; float eps, kl; };

static double pg_loss_of(void *p)
{
	struct pg_ctx *c = p;
	return rl_pg_loss(NULL, NULL, c->logp, c->old, c->ref, c->adv, c->mask, c->B, c->T,
			  c->eps, c->kl, 1.0f);
}

static void test_pg_loss(void)
{
	/* Hand, on-policy, no clipping needed, no KL: B = 2, T = 3,
	 * seq 0 has tokens {1,1,0} with A = 2, seq 1 has {1,0,0} with A = -1.
	 * loss = mean over seqs of mean over tokens of -A: (-2 + 1)/2 = -0.5;
	 * dlogp = -A / cnt_b / B: seq 0: -2/2/2 = -0.5 each; seq 1: 1/1/2 = 0.5 */
	float lp[6] = { -1, -2, -3, -0.5f, -1, -1 }, mk[6] = { 1, 1, 0, 1, 0, 0 };
	float adv2[2] = { 2, -1 }, g[6] = { 0 };
	struct rl_pg_stats st;
	float loss = rl_pg_loss(g, &st, lp, lp, NULL, adv2, mk, 2, 3, 0.2f, 0.0f, 1.0f);
	CHECK_NEAR(loss, -0.5, 1e-6);
	CHECK_NEAR(g[0], -0.5, 1e-6);
	CHECK_NEAR(g[1], -0.5, 1e-6);
	CHECK_NEAR(g[2], 0, 0);
	CHECK_NEAR(g[3], 0.5, 1e-6);
	CHECK_NEAR(g[4], 0, 0);
	CHECK_INT_EQ(st.n_tokens, 3);

	/* an all-padding sequence counts for nothing */
	float mk2[6] = { 1, 1, 0, 0, 0, 0 };
	CHECK_NEAR(rl_pg_loss(NULL, NULL, lp, lp, NULL, adv2, mk2, 2, 3, 0.2f, 0.0f, 1.0f),
		   -2.0, 1e-6);

	/* random: clipping + K3 KL term vs a direct reference, then finite differences */
	enum { B = 4, T = 9 };
	float logp[B * T], old[B * T], ref[B * T], mask[B * T], dl[B * T], adv[B];
	float eps = 0.2f, klc = 0.05f;
	for (int b = 0; b < B; b++) {
		adv[b] = frand(-1.5f, 1.5f);
		int len = 3 + b * 2;
		for (int t = 0; t < T; t++) {
			int i = b * T + t;
			old[i] = frand(-4, -0.3f);
			logp[i] = away_from_kinks(old[i], eps);
			ref[i] = frand(-4, -0.3f);
			mask[i] = t < len ? 1.0f : 0.0f;
			dl[i] = 0;
		}
	}
	double total = 0;
	for (int b = 0; b < B; b++) {
		double s = 0, n = 0;
		for (int t = 0; t < T; t++) {
			int i = b * T + t;
			if (mask[i] == 0)
				continue;
			double r = exp((double)logp[i] - old[i]);
			double rc = fmin(fmax(r, 1 - eps), 1 + eps);
			double u = (double)ref[i] - logp[i];
			s += fmax(-adv[b] * r, -adv[b] * rc) + klc * (exp(u) - 1 - u);
			n++;
		}
		total += s / n;
	}
	loss = rl_pg_loss(dl, &st, logp, old, ref, adv, mask, B, T, eps, klc, 1.0f);
	CHECK_NEAR(loss, total / B, 1e-5);
	CHECK(st.kl_mean > 0);
	struct pg_ctx c = { logp, old, ref, adv, mask, B, T, eps, klc };
	CHECK_INT_EQ(fd_check("pg dlogp", pg_loss_of, &c, logp, dl, B * T, 2e-3f, 2e-4, 3e-3), 0);
}

/* ---- DPO -------------------------------------------------------------------- */

struct dpo_ctx { float *pc, *pr, *rc, *rr; int n; float beta, ls; };

static double dpo_loss_of(void *p)
{
	struct dpo_ctx *c = p;
	return rl_dpo_loss(NULL, NULL, NULL, c->pc, c->pr, c->rc, c->rr, c->n, c->beta, c->ls, 1.0f);
}

static void test_dpo(void)
{
	/* Hand: beta 0.1, pi_c -10, pi_r -12, ref_c -11, ref_r -11:
	 * z = (1) - (-1) = 2, beta z = 0.2, loss = -log sigmoid(0.2) = 0.5981389;
	 * d/dpi_c = -beta sigmoid(-0.2) = -0.1 * 0.4501660 = -0.0450166; d/dpi_r = +0.0450166
	 * rewards: chosen 0.1, rejected -0.1, margin 0.2, accuracy 1 */
	float pc = -10, pr = -12, rc = -11, rr = -11, gc = 0, gr = 0;
	struct rl_dpo_stats st;
	float loss = rl_dpo_loss(&gc, &gr, &st, &pc, &pr, &rc, &rr, 1, 0.1f, 0.0f, 1.0f);
	CHECK_NEAR(loss, 0.5981389, 1e-6);
	CHECK_NEAR(gc, -0.0450166, 1e-6);
	CHECK_NEAR(gr, 0.0450166, 1e-6);
	CHECK_NEAR(st.reward_chosen, 0.1, 1e-6);
	CHECK_NEAR(st.reward_rejected, -0.1, 1e-6);
	CHECK_NEAR(st.margin, 0.2, 1e-6);
	CHECK_NEAR(st.accuracy, 1, 0);
	/* at the reference the loss is log 2 */
	CHECK_NEAR(rl_dpo_loss(NULL, NULL, NULL, &rc, &rr, &rc, &rr, 1, 0.5f, 0.0f, 1.0f),
		   0.6931472, 1e-6);

	enum { N = 8 };
	float PC[N], PR[N], RC[N], RR[N], GC[N] = { 0 }, GR[N] = { 0 };
	for (int i = 0; i < N; i++) {
		PC[i] = frand(-40, -5);
		PR[i] = frand(-40, -5);
		RC[i] = PC[i] + frand(-3, 3);
		RR[i] = PR[i] + frand(-3, 3);
	}
	for (int pass = 0; pass < 2; pass++) {
		float beta = 0.2f, ls = pass ? 0.1f : 0.0f;
		double ref = 0, acc = 0, marg = 0;
		for (int i = 0; i < N; i++) {
			double z = ((double)PC[i] - RC[i]) - ((double)PR[i] - RR[i]);
			ref += -(1 - ls) * log(ref_sigmoid(beta * z)) - ls * log(ref_sigmoid(-beta * z));
			acc += z > 0;
			marg += beta * z;
		}
		for (int i = 0; i < N; i++)
			GC[i] = GR[i] = 0;
		loss = rl_dpo_loss(GC, GR, &st, PC, PR, RC, RR, N, beta, ls, 1.0f);
		CHECK_NEAR(loss, ref / N, 1e-5);
		CHECK_NEAR(st.accuracy, acc / N, 1e-6);
		CHECK_NEAR(st.margin, marg / N, 1e-5);
		struct dpo_ctx c = { PC, PR, RC, RR, N, beta, ls };
		CHECK_INT_EQ(fd_check("dpo dpi_c", dpo_loss_of, &c, PC, GC, N, 2e-2f, 1e-5, 3e-3), 0);
		CHECK_INT_EQ(fd_check("dpo dpi_r", dpo_loss_of, &c, PR, GR, N, 2e-2f, 1e-5, 3e-3), 0);
	}
	/* far in the tails the loss stays finite */
	float big_c = 0, big_r = -1e4f, z0 = 0;
	float lbig = rl_dpo_loss(NULL, NULL, NULL, &big_r, &big_c, &z0, &z0, 1, 1.0f, 0.0f, 1.0f);
	CHECK(isfinite(lbig));
	CHECK_NEAR(lbig, 1e4, 1.0);
}

int main(void)
{
	RUN(test_rm_pair_loss_hand);
	RUN(test_rm_pair_loss_ties_nan_and_reference);
	RUN(test_rm_pair_loss_grad);
	RUN(test_rm_group_loss_hand);
	RUN(test_rm_group_loss_reference_and_grad);
	RUN(test_norm);
	RUN(test_kl_token_hand);
	RUN(test_kl_array_and_grad);
	RUN(test_kl_controller);
	RUN(test_kl_control_pure);
	RUN(test_token_rewards);
	RUN(test_gae);
	RUN(test_whiten);
	RUN(test_ppo_policy_loss);
	RUN(test_ppo_value_loss);
	RUN(test_entropy);
	RUN(test_group_advantages);
	RUN(test_pg_loss);
	RUN(test_dpo);
	TEST_MAIN_END();
}
