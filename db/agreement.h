/*
 * db/agreement.h — inter-rater agreement: Krippendorff's alpha with the
 * interval metric, a pure function over the values raters gave to units.
 */
#ifndef RLHFD_DB_AGREEMENT_H
#define RLHFD_DB_AGREEMENT_H

struct agreement_counts {
	int units;    /* units with >= 2 values (the pairable ones) */
	int values;   /* n: values in those units */
	long pairs;   /* ordered-pair-free count: sum over units of m(m-1)/2 */
};

/*
 * values[] holds the units' values one unit after another; unit_len[u] is how
 * many values unit u has (one per rater; missing values simply absent).
 * Units with fewer than 2 values are not pairable and are ignored.
 *
 *   alpha = 1 - D_o / D_e
 *   D_o = 1/n * sum_u 1/(m_u - 1) * sum_{i != j in u} (v_i - v_j)^2
 *   D_e = 1/(n (n-1)) * sum_{i != j over all pairable values} (v_i - v_j)^2
 *
 * (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability", with the
 * interval difference (a-b)^2.)  Returns NAN when alpha is undefined: no
 * pairable unit, or every pairable value equal (D_e = 0).  counts may be NULL.
 */
double agreement_alpha_interval(const double *values, const int *unit_len, int n_units,
				struct agreement_counts *counts);

#endif
