/*
 * model/stats.h — small exact statistics for judging training runs from
 * counts: the Wilson score interval of a proportion (held-out pairwise
 * accuracy of the reward model, a win rate) and the one-sided binomial sign
 * test (is a new policy worse than its parent on paired comparisons?), and
 * the exact Wilcoxon signed-rank test (is a candidate better than its parent,
 * by how much as well as how often, on paired prompts?).
 *
 * Pure functions; only the signed-rank test allocates (its work, freed
 * before it returns).  Results that have no data
 * behind them are NAN (intervals) or 1 (a p-value with no comparison).
 */
#ifndef RLHFD_MODEL_STATS_H
#define RLHFD_MODEL_STATS_H

/* z of a two-sided 95 % normal interval */
#define STATS_Z95 1.959964f

/* paired differences (of mean scores) this close are equal; this close to 0,
 * a tie */
#define STATS_TIE 1e-9

/*
 * Wilson score interval (Wilson 1927) of a proportion p = wins / n at normal
 * quantile z (STATS_Z95 for 95 %):
 *   centre = (p + z^2/(2n)) / (1 + z^2/n),
 *   half   = z sqrt(p(1-p)/n + z^2/(4n^2)) / (1 + z^2/n),
 * [lo, hi] = centre -/+ half, inside [0, 1] even for p = 0 or 1.  n <= 0
 * (or wins outside 0..n) gives NAN, NAN.  E.g. 7 of 10 at z 1.96 is
 * [0.3968, 0.8922].
 */
void stats_wilson(int wins, int n, float z, float *lo, float *hi);

/*
 * The Wilson interval of a proportion whose trials come in k clusters —
 * wins[c] of n[c] in cluster c (a real number: a tie may count 1/2), e.g.
 * the held-out answer pairs of one prompt, which share the prompt and its
 * answers and so are not independent.  With
 * N = sum n, p = sum wins / N, the cluster-robust (between-cluster) variance
 *   v_c = k/(k-1) * sum_c (wins[c] - p n[c])^2 / N^2
 * over the binomial v_b = p(1-p)/N is the design effect d = max(1, v_c/v_b)
 * (Kish); the interval is Wilson's at N/d trials of the same p, so pairs that
 * agree within their prompt count for fewer.  d = 1 when k = 1 or p is 0 or
 * 1.  *deff (may be NULL) gets d.  No trial, k <= 0, or a cluster with wins
 * outside 0..n gives NAN.  E.g. wins {3, 0, 2, 3} of n {3, 3, 2, 3}: p =
 * 8/11, v_c = 4/3 * 6.3967 / 121 = 0.07049, v_b = 0.01803, d = 3.9091, Wilson
 * at 2.814 trials: [0.2332, 0.9590], where the unclustered is [0.4344, 0.9025].
 */
void stats_wilson_clustered(const double *wins, const int *n, int k, float z, float *lo,
			    float *hi, float *deff);

/*
 * Exact one-sided binomial sign test: P[X >= worse] for X ~ Bin(worse +
 * better, 1/2), the chance of at least `worse` losses among the untied
 * paired comparisons if both sides were equally good (ties are the caller's
 * to drop).  Small means "worse" is real; e.g. 8 worse of 9 is 10/512 =
 * 0.01953125.  No comparison (0, 0) gives 1; negative counts give NAN.
 */
double stats_sign_test_p(int worse, int better);

/*
 * One-sided Wilcoxon signed-rank test of paired differences d[0..n-1] (d[i] =
 * candidate minus parent on prompt i): P[W+ >= w] where w is the sum of the
 * ranks of |d| over the positive d, ranked among the nonzero d (|d| <=
 * STATS_TIE is a tie and dropped; a run of |d| each within STATS_TIE of the
 * next shares its mean rank),
 * and W+ is that sum when each sign were + or - with probability 1/2 (the
 * permutation distribution given the ranks, ties included).  Exact, by
 * dynamic programming over doubled ranks, for up to 400 nonzero
 * differences; above, the normal approximation with the tie-corrected
 * variance (sum of rank^2)/4 and a continuity correction.  Small means
 * "better" is real; unlike the sign test it weighs a large gain above a
 * small loss.  E.g. d = {3, 2, 1} gives 1/8; {1, -2, 3} gives 3/8.  No
 * nonzero difference gives 1; n < 0, a NAN among d or no memory gives NAN.
 */
double stats_signed_rank_p(const double *d, int n);

/*
 * The one-sided 95 % lower bound of the mean of d[0..n-1] (paired
 * differences: candidate minus parent per prompt), Student's t:
 * mean - t(0.95, n-1) sd / sqrt(n), sd the sample standard deviation, the t
 * quantile by the Cornish-Fisher expansion in 1/(n-1) to its second term
 * (1.8114 at 10 degrees of freedom against the table's 1.8125, 1.7528 at 15
 * against 1.7531; a little low below: 2.3106 at 3 against 2.3534).  *mean
 * (may be NULL) gets the mean.  n < 2 or a NAN among d gives NAN (and *mean
 * NAN when n < 1).  E.g. d = {1, 2, 3, 4}: mean 2.5, sd 1.2910, bound
 * 2.5 - 2.3106 * 1.2910 / 2 = 1.0085.
 */
double stats_mean_lower95(const double *d, int n, double *mean);

/*
 * A win rate with ties counted 1/2, rate = (wins + ties/2) / n with n = wins
 * + ties + losses, and its Wilson interval at z taking wins + ties/2 as the
 * successes among n.  That treats a tie like a coin flip, whose variance
 * (1/4) is larger than a tie's own (0): the interval is conservative when
 * there are ties, and never collapses to a point when every comparison tied.
 * n = 0 gives NAN for all three; negative counts likewise.
 */
void stats_winrate_interval(int wins, int ties, int losses, float z, float *rate, float *lo,
			    float *hi);

#endif
