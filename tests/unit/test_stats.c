/*
 * tests/unit/test_stats.c — model/stats.c against hand-computed values: the
 * Wilson interval from its closed form worked by hand (and by Python's exact
 * arithmetic for the harder cases), the sign test from binomial sums.
 */
#include "model/stats.h"
#include "tests/test.h"

#include <math.h>

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

int main(void)
{
	RUN(test_wilson_hand);
	RUN(test_sign_test_hand);
	RUN(test_winrate_interval);
	TEST_MAIN_END();
}
