/*
 * model/stats.c — Wilson intervals, the exact sign test and the signed-rank
 * test of model/stats.h, computed in double.
 */
#include "model/stats.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/* The Wilson interval for a real number of successes w among a real n. */
static void wilson(double w, double n, double z, float *lo, float *hi)
{
	if (n <= 0 || !(w >= 0) || w > n || !(z >= 0)) {
		*lo = *hi = NAN;
		return;
	}
	double p = w / n, z2 = z * z, den = 1.0 + z2 / n;
	double centre = (p + z2 / (2.0 * n)) / den;
	double half = z * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / den;
	double l = centre - half, h = centre + half;
	*lo = (float)(l < 0 ? 0 : l);
	*hi = (float)(h > 1 ? 1 : h);
}

void stats_wilson(int wins, int n, float z, float *lo, float *hi)
{
	wilson(wins, n, z, lo, hi);
}

void stats_wilson_clustered(const double *wins, const int *n, int k, float z, float *lo,
			    float *hi, float *deff)
{
	double W = 0, N = 0;
	bool bad = k <= 0 || !wins || !n;
	for (int c = 0; !bad && c < k; c++) {
		bad = n[c] < 0 || !(wins[c] >= 0) || wins[c] > n[c];
		W += bad ? 0 : wins[c];
		N += bad ? 0 : n[c];
	}
	if (deff)
		*deff = NAN;
	if (bad || N <= 0) {
		*lo = *hi = NAN;
		return;
	}
	double p = W / N, vb = p * (1.0 - p) / N, d = 1.0;
	if (k > 1 && vb > 0) {
		double ss = 0;
		for (int c = 0; c < k; c++) {
			double e = wins[c] - p * n[c];
			ss += e * e;
		}
		double vc = (double)k / (k - 1) * ss / (N * N);
		d = vc / vb > 1.0 ? vc / vb : 1.0;
	}
	if (deff)
		*deff = (float)d;
	wilson(p * N / d, N / d, z, lo, hi);
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

/* a nonzero difference: its magnitude, sign and doubled mid-rank */
struct sr_diff {
	double mag;
	bool pos;
	int r2;
};

static int cmp_mag(const void *a, const void *b)
{
	double x = ((const struct sr_diff *)a)->mag, y = ((const struct sr_diff *)b)->mag;
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
		m += fabs(d[i]) > STATS_TIE;
	}
	if (m == 0)
		return 1.0;
	struct sr_diff *a = malloc((size_t)m * sizeof *a);
	double *prob = NULL, p = NAN;
	if (!a)
		return NAN;
	m = 0;
	for (int i = 0; i < n; i++)
		if (fabs(d[i]) > STATS_TIE)
			a[m++] = (struct sr_diff){ fabs(d[i]), d[i] > 0, 0 };
	qsort(a, m, sizeof *a, cmp_mag);
	/* a run i..j of equal magnitudes shares the mid-rank (i+j+2)/2, kept
	 * doubled: an integer */
	long w2 = 0, s2 = 0;
	double sumsq = 0;
	for (int i = 0, j; i < m; i = j + 1) {
		for (j = i; j + 1 < m && a[j + 1].mag - a[j].mag <= STATS_TIE; j++)
			;
		for (int k = i; k <= j; k++) {
			a[k].r2 = i + j + 2;
			s2 += a[k].r2;
			sumsq += a[k].r2 * (double)a[k].r2 / 4.0;
			w2 += a[k].pos ? a[k].r2 : 0;
		}
	}
	if (m > SR_EXACT_MAX) {
		/* W+ has mean (sum of ranks)/2 and variance (sum of rank^2)/4 */
		double w = w2 / 2.0, mean = s2 / 4.0, sd = sqrt(sumsq / 4.0);
		p = 0.5 * erfc((w - mean - 0.5) / sd / sqrt(2.0));
		goto out;
	}
	/* prob[s]: P[doubled W+ = s], one difference's sign at a time */
	if (!(prob = calloc((size_t)s2 + 1, sizeof *prob)))
		goto out;
	prob[0] = 1.0;
	long top = 0;
	for (int i = 0; i < m; i++) {
		int r2 = a[i].r2;
		top += r2;
		for (long s = top; s >= 0; s--)
			prob[s] = 0.5 * prob[s] + (s >= r2 ? 0.5 * prob[s - r2] : 0.0);
	}
	p = 0;
	for (long s = w2; s <= s2; s++)
		p += prob[s];
	p = p > 1 ? 1 : p;
out:
	free(prob);
	free(a);
	return p;
}

double stats_mean_lower95(const double *d, int n, double *mean)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += d[i];
	double mu = n > 0 ? sum / n : NAN;
	if (mean)
		*mean = mu;
	if (n < 2 || isnan(mu))
		return NAN;
	double ss = 0;
	for (int i = 0; i < n; i++)
		ss += (d[i] - mu) * (d[i] - mu);
	/* t(0.95, v) from z(0.95) (Cornish-Fisher: Abramowitz & Stegun 26.7.5) */
	double z = 1.6448536269514722, v = n - 1, z3 = z * z * z, z5 = z3 * z * z;
	double t = z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v);
	return mu - t * sqrt(ss / (n - 1)) / sqrt((double)n);
}
