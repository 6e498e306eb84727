/*
 * model/stats.c — Wilson intervals and the exact sign test of model/stats.h,
 * computed in double.
 */
#include "model/stats.h"

#include <math.h>

/* The Wilson interval for a real number of successes w among n. */
static void wilson(double w, int n, double z, float *lo, float *hi)
{
	if (n <= 0 || !(w >= 0) || w > n || !(z >= 0)) {
		*lo = *hi = NAN;
		return;
	}
	double p = w / n, z2 = z * z, den = 1.0 + z2 / n;
	double centre = (p + z2 / (2.0 * n)) / den;
	double half = z * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * (double)n)) / den;
	double l = centre - half, h = centre + half;
	*lo = (float)(l < 0 ? 0 : l);
	*hi = (float)(h > 1 ? 1 : h);
}

void stats_wilson(int wins, int n, float z, float *lo, float *hi)
{
	wilson(wins, n, z, lo, hi);
}

double stats_sign_test_p(int worse, int better)
{
	if (worse < 0 || better < 0)
		return NAN;
	int n = worse + better;
	if (n == 0 || worse == 0)
		return 1.0;
	/* sum over k = worse..n of C(n, k) / 2^n, each term in logs so a large n
	 * neither overflows C nor underflows 2^-n */
	double ln2n = n * log(2.0), lgn = lgamma(n + 1.0), p = 0;
	for (int k = worse; k <= n; k++)
		p += exp(lgn - lgamma(k + 1.0) - lgamma(n - k + 1.0) - ln2n);
	return p > 1 ? 1 : p;
}

void stats_winrate_interval(int wins, int ties, int losses, float z, float *rate, float *lo,
			    float *hi)
{
	int n = wins + ties + losses;
	if (wins < 0 || ties < 0 || losses < 0 || n <= 0) {
		*rate = *lo = *hi = NAN;
		return;
	}
	double w = wins + 0.5 * ties;
	*rate = (float)(w / n);
	wilson(w, n, z, lo, hi);
}
