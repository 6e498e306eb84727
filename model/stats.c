/*
 * model/stats.c — Wilson intervals, the exact sign test and the signed-rank
 * test of model/stats.h, computed in double.
 */
#include "model/stats.h"

#include <math.h>
#include <stdlib.h>

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

#define SR_EXACT_MAX 400 /* nonzero differences the exact test takes */
#define SR_TIE 1e-9

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double stats_signed_rank_p(const double *d, int n)
{
	if (n < 0)
		return NAN;
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (isnan(d[i]))
			return NAN;
		m += fabs(d[i]) > SR_TIE;
	}
	if (m == 0)
		return 1.0;
	/* |d| sorted, the sign carried in the value: |d| ascending, then the
	 * doubled mid-ranks (integers: a tie run i..j has mid-rank (i+j+2)/2) */
	double *a = malloc((size_t)m * sizeof *a);
	int *r2 = malloc((size_t)m * sizeof *r2);
	double *prob = NULL, p = NAN;
	if (!a || !r2)
		goto out;
	m = 0;
	for (int i = 0; i < n; i++)
		if (fabs(d[i]) > SR_TIE)
			a[m++] = d[i];
	double *mag = malloc((size_t)m * sizeof *mag);
	if (!mag)
		goto out;
	for (int i = 0; i < m; i++)
		mag[i] = fabs(a[i]);
	qsort(mag, m, sizeof *mag, cmp_double);
	/* each difference's doubled rank: the mid-rank of its magnitude's run */
	long w2 = 0, s2 = 0;
	double sumsq = 0;
	for (int i = 0; i < m; i++) {
		double x = fabs(a[i]);
		int lo = 0, hi = m; /* first index with mag > x - tie */
		while (lo < hi) {
			int mid = (lo + hi) / 2;
			if (mag[mid] < x - SR_TIE)
				lo = mid + 1;
			else
				hi = mid;
		}
		int first = lo, last = lo;
		while (last + 1 < m && mag[last + 1] <= x + SR_TIE)
			last++;
		r2[i] = first + last + 2;
		s2 += r2[i];
		sumsq += (double)r2[i] * r2[i] / 4.0;
		if (a[i] > 0)
			w2 += r2[i];
	}
	free(mag);
	if (m > SR_EXACT_MAX) {
		/* W+ has mean (sum of ranks)/2 and variance (sum of rank^2)/4 */
		double w = w2 / 2.0, mean = s2 / 4.0, sd = sqrt(sumsq / 4.0);
		double z = (w - mean - 0.5) / sd;
		p = 0.5 * erfc(z / sqrt(2.0));
		goto out;
	}
	/* prob[s]: P[doubled W+ = s], one difference's sign at a time */
	if (!(prob = calloc((size_t)s2 + 1, sizeof *prob)))
		goto out;
	prob[0] = 1.0;
	long top = 0;
	for (int i = 0; i < m; i++) {
		top += r2[i];
		for (long s = top; s >= 0; s--)
			prob[s] = 0.5 * prob[s] + (s >= r2[i] ? 0.5 * prob[s - r2[i]] : 0.0);
	}
	p = 0;
	for (long s = w2; s <= s2; s++)
		p += prob[s];
	p = p > 1 ? 1 : p;
out:
	free(prob);
	free(r2);
	free(a);
	return p;
}
