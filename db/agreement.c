/*
 * db/agreement.c — Krippendorff's alpha, interval metric (see agreement.h).
 *
 * Both disagreement sums use sum_{i != j} (v_i - v_j)^2 = 2 m S2 - 2 S1^2 over
 * a set of m values with sum S1 and sum of squares S2, so the cost is linear
 * in the number of values instead of quadratic.
 */
#include "db/agreement.h"

#include <math.h>
#include <stddef.h>

double agreement_alpha_interval(const double *values, const int *unit_len, int n_units,
				struct agreement_counts *counts)
{
	double d_o = 0, s1 = 0, s2 = 0;
	long n = 0, pairs = 0;
	int units = 0;
	size_t off = 0;

	for (int u = 0; u < n_units; u++) {
		int m = unit_len[u];
		const double *v = values + off;
		off += (size_t)m;
		if (m < 2)
			continue;
		double u1 = 0, u2 = 0;
		for (int i = 0; i < m; i++) {
			u1 += v[i];
			u2 += v[i] * v[i];
		}
		d_o += (2.0 * m * u2 - 2.0 * u1 * u1) / (m - 1);
		s1 += u1;
		s2 += u2;
		n += m;
		pairs += (long)m * (m - 1) / 2;
		units++;
	}
	if (counts) {
		counts->units = units;
		counts->values = (int)n;
		counts->pairs = pairs;
	}
	if (n < 2)
		return NAN;
	double d_e = (2.0 * n * s2 - 2.0 * s1 * s1) / ((double)n * (n - 1));
	d_o /= (double)n;
	/* rounding can leave a tiny nonzero d_e for identical values */
	if (d_e <= 1e-12 * (s2 > 1 ? s2 : 1))
		return NAN;
	return 1.0 - d_o / d_e;
}
