/*
 * tests/unit/test_stats.c — model/stats.c against hand-computed values: the
 * Wilson interval from its closed form worked by hand (and by Python's exact
 * arithmetic for the harder cases), the sign test from binomial sums, the
 * signed-rank test by enumerating every sign pattern (ties ranked by hand).
 */
#include "model/stats.h"
#include "tests/test.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

static void test_wilson_hand(void)
{
	float lo, hi;
	/* 7 of 10 at 1.96: p 0.7, z^2/n 0.38416, centre 0.89208 / 1.38416 =
	 * 0.644492, half 1.96 sqrt(0.021 + 0.009604) / 1.38416 = 0.247718 */
	stats_wilson(7, 10, 1.96f, &lo, &hi);
	CHECK_NEAR(lo, 0.396773, 1e-5);
	CHECK_NEAR(hi, 0.892211, 1e-5);
	/* 0 of 10: [0, (z^2/n) / (1 + z^2/n)] */
	stats_wilson(0, 10, 1.96f, &lo, &hi);
	CHECK_NEAR(lo, 0.0, 1e-7);
	CHECK_NEAR(hi, 0.27754017, 1e-6);
	/* 10 of 10: [1 / (1 + z^2/n), 1] */
	stats_wilson(10, 10, 1.96f, &lo, &hi);
	CHECK_NEAR(lo, 0.72245983, 1e-6);
	CHECK_NEAR(hi, 1.0, 1e-7);
	stats_wilson(3, 7, STATS_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.15821985, 1e-6);
	CHECK_NEAR(hi, 0.74954164, 1e-6);
	/* no data, or nonsense */
	stats_wilson(0, 0, 1.96f, &lo, &hi);
	CHECK(isnan(lo) && isnan(hi));
	stats_wilson(11, 10, 1.96f, &lo, &hi);
	CHECK(isnan(lo) && isnan(hi));
	/* z = 0 collapses to the point estimate */
	stats_wilson(3, 4, 0.0f, &lo, &hi);
	CHECK_NEAR(lo, 0.75, 1e-7);
	CHECK_NEAR(hi, 0.75, 1e-7);
}

/* Clustered trials: the design effect from the between-cluster variance,
 * then Wilson at N/d trials (the arithmetic of the example in stats.h, done
 * in Python's floats from the formula, not read off this code). */
static void test_wilson_clustered(void)
{
	float lo, hi, d;
	double w1[] = { 3, 0, 2, 3 };
	int n1[] = { 3, 3, 2, 3 };
	stats_wilson_clustered(w1, n1, 4, STATS_Z95, &lo, &hi, &d);
	CHECK_NEAR(d, 3.9090909, 1e-5);
	CHECK_NEAR(lo, 0.2331973, 1e-5);
	CHECK_NEAR(hi, 0.9589876, 1e-5);
	/* every cluster at the same rate: no between-cluster spread beyond the
	 * binomial's, d = 1, the plain Wilson interval of 6 of 8 */
	double w2[] = { 3, 3 };
	int n2[] = { 4, 4 };
	float plo, phi;
	stats_wilson(6, 8, STATS_Z95, &plo, &phi);
	stats_wilson_clustered(w2, n2, 2, STATS_Z95, &lo, &hi, &d);
	CHECK_NEAR(d, 1.0, 1e-7);
	CHECK_NEAR(lo, plo, 1e-6);
	CHECK_NEAR(hi, phi, 1e-6);
	/* one cluster, or every trial won: d = 1 */
	stats_wilson_clustered(w2, n2, 1, STATS_Z95, &lo, &hi, &d);
	stats_wilson(3, 4, STATS_Z95, &plo, &phi);
	CHECK(d == 1.0f && fabsf(lo - plo) < 1e-6f && fabsf(hi - phi) < 1e-6f);
	double w3[] = { 2, 5 };
	int n3[] = { 2, 5 };
	stats_wilson_clustered(w3, n3, 2, STATS_Z95, &lo, &hi, &d);
	stats_wilson(7, 7, STATS_Z95, &plo, &phi);
	CHECK(d == 1.0f && fabsf(lo - plo) < 1e-6f && hi == 1.0f);
	/* nothing, or nonsense: NAN */
	double z0w[] = { 0, 0 };
	int z0[] = { 0, 0 };
	stats_wilson_clustered(z0w, z0, 2, STATS_Z95, &lo, &hi, &d);
	CHECK(isnan(lo) && isnan(hi) && isnan(d));
	double wb[] = { 3, 1 };
	int nb[] = { 2, 4 };
	stats_wilson_clustered(wb, nb, 2, STATS_Z95, &lo, &hi, NULL);
	CHECK(isnan(lo) && isnan(hi));
	stats_wilson_clustered(w1, n1, 0, STATS_Z95, &lo, &hi, NULL);
	CHECK(isnan(lo) && isnan(hi));
}

static void test_sign_test_hand(void)
{
	/* 8 worse of 9: (C(9,8) + C(9,9)) / 2^9 = 10/512 */
	CHECK_NEAR(stats_sign_test_p(8, 1), 0.01953125, 1e-12);
	/* 5 of 5: 1/32; 3 of 6: (20 + 15 + 6 + 1)/64 */
	CHECK_NEAR(stats_sign_test_p(5, 0), 1.0 / 32, 1e-12);
	CHECK_NEAR(stats_sign_test_p(3, 3), 42.0 / 64, 1e-12);
	/* 1 of 1: 1/2; none worse: certainly at least 0 */
	CHECK_NEAR(stats_sign_test_p(1, 0), 0.5, 1e-12);
	CHECK_NEAR(stats_sign_test_p(0, 7), 1.0, 0);
	CHECK_NEAR(stats_sign_test_p(0, 0), 1.0, 0);
	/* larger n (sums of exact binomials, Python) */
	CHECK_NEAR(stats_sign_test_p(60, 40), 0.028443966820490395, 1e-12);
	CHECK_NEAR(stats_sign_test_p(530, 470), 0.03101159754918159, 1e-11);
	/* far in the tail: 2^-2000, no underflow to a wrong 0 or NAN */
	double tiny = stats_sign_test_p(2000, 0);
	CHECK(tiny >= 0 && tiny < 1e-300);
	CHECK(isnan(stats_sign_test_p(-1, 3)));
}

static void test_winrate_interval(void)
{
	float rate, lo, hi, wl, wh;
	/* 6 wins, 2 ties, 2 losses: 7 of 10 */
	stats_winrate_interval(6, 2, 2, 1.96f, &rate, &lo, &hi);
	stats_wilson(7, 10, 1.96f, &wl, &wh);
	CHECK_NEAR(rate, 0.7, 1e-7);
	CHECK_NEAR(lo, wl, 1e-7);
	CHECK_NEAR(hi, wh, 1e-7);
	/* all ties: 1/2 with a real interval around it: centre 1/2, half
	 * z sqrt(1/(4n) + z^2/(4n^2)) / (1 + z^2/n), n 4 */
	stats_winrate_interval(0, 4, 0, 1.96f, &rate, &lo, &hi);
	double z2n = 1.96 * 1.96 / 4, half = 1.96 * sqrt(1.0 / 16 + z2n / 16) / (1 + z2n);
	CHECK_NEAR(rate, 0.5, 1e-7);
	CHECK_NEAR(lo, 0.5 - half, 1e-6);
	CHECK_NEAR(hi, 0.5 + half, 1e-6);
	stats_winrate_interval(0, 0, 0, 1.96f, &rate, &lo, &hi);
	CHECK(isnan(rate) && isnan(lo) && isnan(hi));
}

/*
 * The signed-rank p-value by brute force: every one of the 2^m sign patterns
 * of the nonzero differences, W+ summed from mid-ranks computed the slow way
 * (for each difference, the ranks of all magnitudes equal to its own,
 * averaged), counted when at least the observed W+.
 */
static double signed_rank_brute(const double *d, int n)
{
	double v[24], rank[24], w = 0;
	int m = 0;
	for (int i = 0; i < n; i++)
		if (d[i] != 0)
			v[m++] = d[i];
	for (int i = 0; i < m; i++) {
		int below = 0, same = 0;
		for (int j = 0; j < m; j++) {
			below += fabs(v[j]) < fabs(v[i]);
			same += fabs(v[j]) == fabs(v[i]);
		}
		rank[i] = below + (same + 1) / 2.0;
		w += v[i] > 0 ? rank[i] : 0;
	}
	long hits = 0;
	for (long mask = 0; mask < 1L << m; mask++) {
		double s = 0;
		for (int i = 0; i < m; i++)
			s += mask >> i & 1 ? rank[i] : 0;
		hits += s >= w - 1e-9;
	}
	return m ? (double)hits / (1L << m) : 1.0;
}

static void test_signed_rank(void)
{
	/* by hand: ranks 1 2 3; all positive: 1 pattern of 8 reaches 6; {1, -2,
	 * 3}: W+ = 4, reached by {1,3} {2,3} {1,2,3} */
	CHECK_NEAR(stats_signed_rank_p((double[]){ 3, 2, 1 }, 3), 1.0 / 8, 1e-12);
	CHECK_NEAR(stats_signed_rank_p((double[]){ 1, -2, 3 }, 3), 3.0 / 8, 1e-12);
	/* zeros dropped: the same as without them */
	CHECK_NEAR(stats_signed_rank_p((double[]){ 0, 1, 0, -2, 3 }, 5), 3.0 / 8, 1e-12);
	CHECK_NEAR(stats_signed_rank_p((double[]){ 0, 0 }, 2), 1.0, 0);
	CHECK_NEAR(stats_signed_rank_p(NULL, 0), 1.0, 0);
	CHECK(isnan(stats_signed_rank_p((double[]){ 1, NAN }, 2)));
	CHECK(isnan(stats_signed_rank_p(NULL, -1)));
	/* the case the sign test misses: 13 better by 1, 7 worse by 1/4 (sign
	 * test 13 of 20: 0.13); and ties of magnitude across signs, a mean
	 * score's thirds and quarters as people's verdict has them */
	double big[20], mixed[] = { 1.0 / 3, -1.0 / 3, 0.25, 0.25, -0.25, 1, 2, -2, 0.5, 1.0 / 3,
				    -0.5, 1.5, 0.75, 0.75, -1, 2, 1.0 / 3, 0.25, -0.75, 1.25 };
	for (int i = 0; i < 20; i++)
		big[i] = i < 13 ? 1.0 : -0.25;
	double pb = stats_signed_rank_p(big, 20);
	CHECK_NEAR(pb, signed_rank_brute(big, 20), 1e-12);
	CHECK(pb < 0.01);
	CHECK(stats_sign_test_p(13, 7) > 0.1);
	CHECK_NEAR(stats_signed_rank_p(mixed, 20), signed_rank_brute(mixed, 20), 1e-12);
	/* random differences of mean scores (quarters, many ties), 16 to 22 of them */
	srand(7);
	for (int t = 0; t < 20; t++) {
		double d[22];
		int n = 16 + t % 7;
		for (int i = 0; i < n; i++)
			d[i] = (rand() % 17 - 8) / 4.0;
		CHECK_NEAR(stats_signed_rank_p(d, n), signed_rank_brute(d, n), 1e-12);
	}
	/* above 400 nonzero differences, the normal approximation: against the
	 * exact distribution of W+ for ranks 1..m without ties (a test-side
	 * count of subsets by sum), m = 450, W+ at mean + 1.5 sd */
	enum { M = 450 };
	double *d = malloc(M * sizeof *d), *cnt = calloc(M * (M + 1) / 2 + 1, sizeof *cnt);
	CHECK(d && cnt);
	if (!d || !cnt) {
		free(d);
		free(cnt);
		return;
	}
	double mean = M * (M + 1) / 4.0, sd = sqrt(M * (M + 1.0) * (2 * M + 1) / 24.0);
	long target = (long)ceil(mean + 1.5 * sd), w = 0;
	/* positive ranks from the top down until W+ reaches the target */
	for (int r = M; r >= 1; r--) {
		bool pos = w + r <= target;
		w += pos ? r : 0;
		d[r - 1] = pos ? r : -r;
	}
	cnt[0] = 1;
	for (int r = 1; r <= M; r++)
		for (long s = M * (M + 1) / 2; s >= 0; s--)
			cnt[s] = 0.5 * cnt[s] + (s >= r ? 0.5 * cnt[s - r] : 0.0);
	double exact = 0;
	for (long s = w; s <= M * (M + 1) / 2; s++)
		exact += cnt[s];
	CHECK_NEAR(stats_signed_rank_p(d, M), exact, 2e-3);
	free(cnt);
	free(d);
}

/* The mean's one-sided 95 % lower bound: by hand, and the t quantile it
 * uses against the table (Student's t at 0.95: 1.8125 at 10 degrees of
 * freedom, 1.7531 at 15, 1.6991 at 29). */
static void test_mean_lower95(void)
{
	double mean = 0, d[30];
	/* {1, 2, 3, 4}: mean 2.5, sd sqrt(5/3) = 1.290994; t at 3 by the
	 * expansion 1.644854 + 6.095077 / 12 + 136.339486 / 864 = 2.310577 */
	const double d4[4] = { 1, 2, 3, 4 };
	CHECK_NEAR(stats_mean_lower95(d4, 4, &mean), 2.5 - 2.310577 * 1.290994 / 2, 1e-5);
	CHECK_NEAR(mean, 2.5, 1e-12);
	/* the quantile itself: n values -1 and +1 alternating (n even) have
	 * mean 0 and sd sqrt(n / (n - 1)), so the bound is -t / sqrt(n - 1) */
	static const struct { int n; double t; } tab[3] = { { 11, 1.8125 }, { 16, 1.7531 }, { 30, 1.6991 } };
	for (int k = 0; k < 3; k++) {
		int n = tab[k].n;
		double sum = 0;
		for (int i = 0; i < n; i++)
			sum += d[i] = (i % 2) ? 1.0 : -1.0;
		/* odd n: shift to mean 0 exactly */
		for (int i = 0; i < n; i++)
			d[i] -= sum / n;
		double ss = 0;
		for (int i = 0; i < n; i++)
			ss += d[i] * d[i];
		double se = sqrt(ss / (n - 1)) / sqrt((double)n);
		CHECK_NEAR(-stats_mean_lower95(d, n, NULL) / se, tab[k].t, 2e-3);
	}
	/* no spread: the mean itself; too few or a NAN: NAN */
	const double same[3] = { -0.5, -0.5, -0.5 }, nan1[2] = { 1, NAN };
	CHECK_NEAR(stats_mean_lower95(same, 3, NULL), -0.5, 1e-12);
	CHECK(isnan(stats_mean_lower95(d4, 1, &mean)) && mean == 1.0);
	CHECK(isnan(stats_mean_lower95(d4, 0, &mean)) && isnan(mean));
	CHECK(isnan(stats_mean_lower95(nan1, 2, NULL)));
}

int main(void)
{
	RUN(test_wilson_hand);
	RUN(test_wilson_clustered);
	RUN(test_sign_test_hand);
	RUN(test_winrate_interval);
	RUN(test_signed_rank);
	RUN(test_mean_lower95);
	TEST_MAIN_END();
}
