/*
 * server/worker/promote.c — the promotion gate and the rollback verdict (see
 * promote.h for the rules).
 */
#include "server/worker/promote.h"
#include "model/stats.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool promote_rollback(int worse, int better, double *p)
{
	*p = 1.0;
	if (worse + better < ROLLBACK_MIN_PROMPTS)
		return false;
	*p = stats_sign_test_p(worse, better);
	return worse > better && *p < ROLLBACK_P;
}

bool promote_people(const double *diff, int n, double level, int *better, int *worse,
		    double *p)
{
	*p = 1.0;
	*better = *worse = 0;
	for (int i = 0; i < n; i++) {
		*better += diff[i] > STATS_TIE;
		*worse += diff[i] < -STATS_TIE;
	}
	if (*worse + *better < PEOPLE_MIN_PROMPTS)
		return false;
	*p = stats_signed_rank_p(diff, n);
	return *better > *worse && *p < level;
}

double promote_people_level(bool final, bool rm_leans)
{
	return final && rm_leans ? PEOPLE_FINAL_P : PEOPLE_P;
}

bool promote_unseen(const double *diff, int n, double *mean, double *lo)
{
	*lo = stats_mean_lower95(diff, n, mean);
	return n >= PEOPLE_UNSEEN_MIN && *lo > -PEOPLE_UNSEEN_MARGIN;
}

bool promote_hacking(double rm_mean, double parent_rm_mean, int worse, int better, double *p)
{
	*p = 1.0;
	if (worse + better < HACKING_MIN_PROMPTS)
		return false;
	*p = stats_sign_test_p(worse, better);
	return rm_mean > parent_rm_mean && worse > better && *p < ROLLBACK_P;
}

static bool same_answer(const struct promote_answers *a, int i, int j)
{
	return a->n_tokens[i] == a->n_tokens[j] &&
	       !memcmp(a->tokens + (size_t)i * a->stride, a->tokens + (size_t)j * a->stride,
		       (size_t)a->n_tokens[i] * sizeof(int));
}

/* Distinct answers among first..first+n-1 of a. */
static int distinct(const struct promote_answers *a, int first, int n)
{
	int d = 0;
	for (int i = first; i < first + n; i++) {
		bool seen = false;
		for (int j = first; j < i && !seen; j++)
			seen = same_answer(a, i, j);
		d += !seen;
	}
	return d;
}

static void reason(struct promote_verdict *v, const char *fmt, ...)
{
	if (v->n_reasons >= PROMOTE_MAX_REASONS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->reasons[v->n_reasons++], sizeof v->reasons[0], fmt, ap);
	va_end(ap);
}

void promote_decide(const struct promote_input *in, struct promote_verdict *v)
{
	memset(v, 0, sizeof *v);
	int n = in->n_prompts * in->k;
	v->answers = n;
	int wins = 0, ties = 0;
	/* per prompt, for the interval: a prompt's k answers share it (and
	 * whether the candidate learned it), so they are not k independent
	 * comparisons */
	double *pw = malloc((size_t)(in->n_prompts > 0 ? in->n_prompts : 1) * sizeof *pw);
	int *pn = malloc((size_t)(in->n_prompts > 0 ? in->n_prompts : 1) * sizeof *pn);
	for (int q = 0; q < in->n_prompts && pw && pn; q++)
		pw[q] = 0, pn[q] = in->k;
	for (int i = 0; i < n; i++) {
		float c = in->cand.reward[i], p = in->parent.reward[i];
		wins += c > p;
		ties += c == p;
		if (pw && pn)
			pw[i / in->k] += c > p ? 1.0 : c == p ? 0.5 : 0.0;
	}
	stats_winrate_interval(wins, ties, n - wins - ties, STATS_Z95, &v->win_rate, &v->win_lo,
			       &v->win_hi);
	if (pw && pn && n > 0)
		stats_wilson_clustered(pw, pn, in->n_prompts, STATS_Z95, &v->win_lo, &v->win_hi,
				       &v->win_deff);
	else
		v->win_deff = NAN;   /* no memory: the unclustered interval stands */
	free(pw);
	free(pn);
	double dc = 0, dp = 0;
	for (int q = 0; q < in->n_prompts; q++) {
		dc += (double)distinct(&in->cand, q * in->k, in->k) / in->k;
		dp += (double)distinct(&in->parent, q * in->k, in->k) / in->k;
	}
	v->distinct_cand = in->n_prompts ? (float)(dc / in->n_prompts) : NAN;
	v->distinct_parent = in->n_prompts ? (float)(dp / in->n_prompts) : NAN;
	v->distinct_all_cand = n ? (float)distinct(&in->cand, 0, n) / n : NAN;
	v->distinct_all_parent = n ? (float)distinct(&in->parent, 0, n) / n : NAN;

	if (in->n_prompts < PROMOTE_MIN_PROMPTS) {
		reason(v, "%d held-out prompts are too few to judge (need %d)", in->n_prompts,
		       PROMOTE_MIN_PROMPTS);
	} else if (in->margin <= 0 && !(v->win_lo > 0.5f)) {
		reason(v, "the reward model does not prefer it to its parent on held-out prompts: "
		       "win rate %.3f, 95%% interval [%.3f, %.3f] over %d answers (design effect "
		       "of their prompts %.2f)", v->win_rate, v->win_lo, v->win_hi, n, v->win_deff);
	} else if (in->margin > 0 && !(v->win_lo > 0.5f - in->margin)) {
		reason(v, "the reward model prefers its parent by more than the margin %.2f on "
		       "held-out prompts: win rate %.3f, 95%% interval [%.3f, %.3f] over %d answers "
		       "(design effect of their prompts %.2f)", in->margin, v->win_rate, v->win_lo,
		       v->win_hi, n, v->win_deff);
	} else if (in->rm_doubt) {
		reason(v, "the reward model %s (win rate %.3f, 95%% interval [%.3f, %.3f]) "
		       "but cannot vouch for it: %s", in->margin > 0 && !(v->win_lo > 0.5f) ?
		       "does not prefer its parent beyond the margin" : "prefers it", v->win_rate,
		       v->win_lo, v->win_hi, in->rm_doubt);
	}
	v->rm_leans = !in->rm_doubt && n > 0 && v->win_rate >= 0.5f;
	int judged = v->n_reasons;   /* the reward model's reasons, people may overrule */
	if (n > 0 && v->distinct_cand < PROMOTE_DISTINCT_FRAC * v->distinct_parent)
		reason(v, "its answers collapsed: %.2f distinct per prompt (of %d) against the "
		       "parent's %.2f", v->distinct_cand * in->k, in->k, v->distinct_parent * in->k);
	else if (n > 0 && v->distinct_all_cand < PROMOTE_DISTINCT_FRAC * v->distinct_all_parent)
		reason(v, "its answers collapsed across prompts: %d distinct of %d against the "
		       "parent's %d", distinct(&in->cand, 0, n), n, distinct(&in->parent, 0, n));
	float len = in->cand.response_len, plen = in->parent.response_len;
	if (n > 0 && (len < PROMOTE_LEN_LO * plen - PROMOTE_LEN_SLACK ||
		      len > PROMOTE_LEN_HI * plen + PROMOTE_LEN_SLACK))
		reason(v, "its answers' length moved too far: %.1f tokens against the parent's %.1f",
		       len, plen);
	if (n > 0 && in->cand.eos_rate < in->parent.eos_rate - PROMOTE_EOS_DROP)
		reason(v, "it stops less often: EOS rate %.2f against the parent's %.2f",
		       in->cand.eos_rate, in->parent.eos_rate);
	if (in->kl_budget > 0 && !(in->kl <= in->kl_budget))
		reason(v, "its KL to the reference, %.3f per answer, is over the budget %.3f",
		       in->kl, in->kl_budget);
	v->promote = v->n_reasons == 0;
	v->sound = v->n_reasons == judged;
}
