/*
 * model/stats.h — small exact statistics for judging training runs from
 * counts: the Wilson score interval of a proportion (held-out pairwise
 * accuracy of the reward model, a win rate) and the one-sided binomial sign
 * test (is a new policy worse than its parent on paired comparisons?).
 *
 * Pure functions over counts; nothing allocates.  Results that have no data
 * behind them are NAN (intervals) or 1 (a p-value with no comparison).
 */
#ifndef RLHFD_MODEL_STATS_H
#define RLHFD_MODEL_STATS_H

/* z of a two-sided 95 % normal interval */
#define STATS_Z95 1.959964f

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
 * Exact one-sided binomial sign test: P[X >= worse] for X ~ Bin(worse +
 * better, 1/2), the chance of at least `worse` losses among the untied
 * paired comparisons if both sides were equally good (ties are the caller's
 * to drop).  Small means "worse" is real; e.g. 8 worse of 9 is 10/512 =
 * 0.01953125.  No comparison (0, 0) gives 1; negative counts give NAN.
 */
double stats_sign_test_p(int worse, int better);

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
