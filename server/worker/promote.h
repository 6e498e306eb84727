/*
 * server/worker/promote.h — whether a new policy may replace its parent as the
 * active model (the promotion gate), and whether people's ratings say an
 * active policy is worse than its parent (the rollback verdict).  Functions
 * of the figures the jobs measured alone, so the decisions are unit-tested
 * on constructed cases (tests/unit/test_promote.c).
 *
 * The gate (DESIGN: "RLHF that cannot hurt"): after an RL job the candidate
 * and its parent answer the reward model's held-out prompts — prompts neither
 * the reward model nor the RL job trained on — K times each with the same
 * sampling streams, and the candidate is promoted only when all hold:
 *  - enough evidence: at least PROMOTE_MIN_PROMPTS held-out prompts;
 *  - it wins by the reward model: the 95 % lower bound of its win rate over
 *    the paired answers (a tie counts 1/2) is above 1/2, the interval
 *    Wilson's over the answers divided by their design effect by prompt
 *    (stats_wilson_clustered: a prompt's K answers are not K independent
 *    comparisons); and the reward model itself is credibly better than
 *    chance on its held-out prompts (rm_doubt NULL: the lower bound of its
 *    pairwise accuracy above PROMOTE_RM_LO) — a job that did not require it
 *    to be (best, which takes people's ratings as its targets) cannot be
 *    promoted by a reward model at chance; a soup that has its parent among
 *    its members (with PROMOTE_SOUP_SHARE of its weights or more) need not
 *    beat it, only not lose to it by more than a margin (margin,
 *    PROMOTE_SOUP_MARGIN below: the lower bound above 1/2 - margin);
 *  - it has not collapsed: distinct answers per prompt, and distinct answers
 *    over all prompts, each at least PROMOTE_DISTINCT_FRAC of the parent's;
 *    mean length within PROMOTE_LEN_LO..PROMOTE_LEN_HI times the parent's
 *    (plus PROMOTE_LEN_SLACK tokens either way); EOS rate at most
 *    PROMOTE_EOS_DROP below the parent's;
 *  - its KL to the reference on those answers is within the budget.
 * Every failed condition adds a reason (a lowercase sentence with the
 * figures); promoted == (no reason).  sound == no reason but the first two:
 * the candidate kept its answers' variety, length and stops and its KL
 * budget, and only the reward model's judgement held it back — the one
 * judgement people's verdict may overrule (promote_people below): people who
 * like a collapsed or runaway policy's few answers do not make it safe.
 */
#ifndef RLHFD_SERVER_WORKER_PROMOTE_H
#define RLHFD_SERVER_WORKER_PROMOTE_H

#include <stdbool.h>

#define PROMOTE_MIN_PROMPTS 4
#define PROMOTE_DISTINCT_FRAC 0.6
#define PROMOTE_LEN_LO 0.5
#define PROMOTE_LEN_HI 2.0
#define PROMOTE_LEN_SLACK 2.0
#define PROMOTE_EOS_DROP 0.15
#define PROMOTE_MAX_REASONS 6

/* One model's answers to the held-out prompts: answer i answers prompt i / k;
 * all borrowed. */
struct promote_answers {
	const float *reward;     /* (n_prompts * k) reward-model scores */
	const int *tokens;       /* (n_prompts * k, stride) new tokens */
	const int *n_tokens;     /* (n_prompts * k) */
	int stride;
	float response_len;      /* mean new tokens per answer */
	float eos_rate;          /* fraction that ended with EOS */
};

/* The non-inferiority margin of a soup that has its parent among its members
 * (job_train.c best_soup: the mean of policies each fine-tuned from the
 * reference on people's best-rated answers): such a candidate is promoted
 * unless the reward model's win rate says it is worse than its parent by
 * more than this (the lower bound of the interval at or below 1/2 - margin),
 * where any other candidate must beat its parent.  Why: between two policies
 * fine-tuned from the reference the reward model's win rate leans to the one
 * fine-tuned less — its prior reads the reference's features, which fit the
 * reference's own answers best — so it sees little of a later round's gain.
 * Measured on the demo's development split (tests/bench/dev.mjs, the 12
 * learning runs of seeds 1-6 on 2026-12-05, default settings): the 24 soups
 * of rounds 2 and 3 scored above their parent in 23 (+0.03 to +0.23 of 5;
 * the 24th -0.03, within its +-0.2), by a mean of +0.12, while the reward
 * model's win rates over them were 0.47-0.57 and their lower bounds
 * 0.41-0.51: the "beats" rule let 3 through.  0.1 lets a soup through unless
 * the reward model credibly prefers the parent; the reward model must still
 * be credible (rm_doubt NULL), the collapse and KL checks still hold, and
 * people's ratings of its answers still roll it back (promote_rollback). */
#define PROMOTE_SOUP_MARGIN 0.1f
/* ... when the parent's share of the soup's weights is at least this: the
 * learning runs above measured shares of 1/2 (round 2), 1/3 (round 3 over
 * round 1's policy) and 2/3 (round 3 over round 2's soup); a parent whose
 * share older rounds' decay has thinned below (the fourth round's soup over
 * round 1's policy: 2/9) must be beaten again. */
#define PROMOTE_SOUP_SHARE (1.0 / 3.0)

/* The lower bound of the reward model's held-out accuracy above which its
 * win rate may promote: RL's require_reward_acc default. */
#define PROMOTE_RM_LO 0.55f

struct promote_input {
	int n_prompts, k;
	struct promote_answers cand, parent;  /* same prompts, same sampling streams */
	float kl;                /* the candidate's mean per-answer KL to the reference */
	float kl_budget;         /* <= 0: no KL condition */
	const char *rm_doubt;    /* borrowed; non-NULL: why the reward model is not credibly
				    better than chance on held-out prompts, so its win rate
				    cannot vouch for the candidate (people's verdict still may) */
	float margin;            /* 0: the candidate must beat its parent (win rate's lower
				    bound above 1/2); > 0: it must not be worse by more than
				    this (lower bound above 1/2 - margin) — a soup that has
				    its parent among its members (PROMOTE_SOUP_MARGIN) */
};

struct promote_verdict {
	bool promote;
	bool sound;                       /* no reason but the evidence's or the win rate's */
	float win_rate, win_lo, win_hi;   /* by the reward model, ties 1/2; the interval
					     clustered by prompt (stats_wilson_clustered) */
	float win_deff;                   /* its design effect, >= 1 */
	bool rm_leans;                    /* the reward model is credible (rm_doubt NULL)
					     and its win rate is at least 1/2: what
					     people's final look needs beside them */
	int answers;
	float distinct_cand, distinct_parent;         /* mean distinct answers per prompt / k */
	float distinct_all_cand, distinct_all_parent; /* distinct answers overall / answers */
	int n_reasons;
	char reasons[PROMOTE_MAX_REASONS][200];
};

void promote_decide(const struct promote_input *in, struct promote_verdict *v);

/* Rollback: over the prompts where both a policy and its parent have rated
 * answers, worse / better / ties as db_work_model_verdict counts them. */
#define ROLLBACK_MIN_PROMPTS 8    /* untied prompts before a verdict */
#define ROLLBACK_P 0.05           /* one-sided sign-test level */

/* True when people rate the policy worse than its parent: at least
 * ROLLBACK_MIN_PROMPTS untied prompts and a one-sided sign test
 * (stats_sign_test_p: P[X >= worse], X ~ Bin(worse + better, 1/2)) below
 * ROLLBACK_P.  *p gets
 * that p-value (1 when there are too few prompts). */
bool promote_rollback(int worse, int better, double *p);

/* Promotion on people's verdict, the rollback's mirror: a candidate the gate
 * kept (its reward model could not vouch for it on held-out prompts) whose
 * rated answers people score above its parent's on the same prompts: at
 * least PEOPLE_MIN_PROMPTS untied prompts, more of them better than worse,
 * and a one-sided Wilcoxon signed-rank test (stats_signed_rank_p) below the
 * look's level.  Signed ranks rather than signs: a policy that lifts a wrong
 * answer (1) to a right one (5) on some prompts and moves others by a
 * quarter point either way is better, and a sign test over ~100 prompts
 * cannot see it (in a learning run, 56 better and 39 worse by a mean of
 * +0.28: sign test p 0.05, signed ranks 0.001).
 *
 * The looks (a group-sequential design): the loop looks as ratings come in
 * (interim looks, at PEOPLE_P: several looks at a growing sample, so a
 * stricter level), and once more, the final look, when PEOPLE_FINAL_RATED of
 * the candidate's answers are rated or when the next round starts (its
 * sample will not grow: a newer candidate supersedes it).  The final look
 * promotes at PEOPLE_FINAL_P when the reward model leans the same way on
 * the prompts people did not rate (promote_verdict.rm_leans: credible on
 * held-out prompts, win rate at least 1/2): two kinds of evidence, so a
 * candidate no better than its parent passes both about 1 time in 40.  With
 * the interim looks, a candidate no better than its parent is promoted
 * 3-5 % of the time (simulated in tests/unit/test_promote.c: 3.3 % with
 * looks every 16 of 64 prompts; 4-5 % with looks every 8 of 128).  What it
 * buys: a later round's soup (server/worker/job_train.c), +0.05-0.2 of 5
 * over the active policy on ~100-130 paired prompts, reached a signed-rank z
 * of 0.3-1.9 in the demo's learning runs — under 0.01's 2.33 every time,
 * over 0.05's 1.64 in some.  A candidate the final look does not promote is kept for good
 * ("verdict": {"decision": "kept"}). */
#define PEOPLE_MIN_PROMPTS 16
#define PEOPLE_P 0.01
#define PEOPLE_FINAL_P 0.05
#define PEOPLE_FINAL_RATED 0.9

/* True when people rate the candidate better than its parent at level
 * (PEOPLE_P or PEOPLE_FINAL_P): diff[0..n-1] are the candidate's mean scores
 * minus the parent's per paired prompt (db_work_model_paired; ties
 * included, the test drops them).  *better and *worse get the counts of
 * positive and negative differences, *p the signed-rank p-value (1 when
 * there are too few prompts). */
bool promote_people(const double *diff, int n, double level, int *better, int *worse,
		    double *p);

/* The level of a look at a candidate: PEOPLE_FINAL_P at the final look when
 * the reward model leans its way (rm_leans), else PEOPLE_P. */
double promote_people_level(bool final, bool rm_leans);

/*
 * Not worse where it learnt nothing: besides people's verdict above, a
 * candidate is promoted only when on the prompts neither it nor the active
 * model was trained on (db_work_model_paired DB_PAIRED_UNSEEN) people's
 * scores show it no worse by PEOPLE_UNSEEN_MARGIN or more — at least
 * PEOPLE_UNSEEN_MIN such prompts, and the one-sided 95 % lower bound of the
 * mean difference (stats_mean_lower95) above -PEOPLE_UNSEEN_MARGIN: a
 * non-inferiority test, so the candidate has to show it, and too few unseen
 * prompts show nothing.  The verdict above counts every paired prompt, and
 * on the prompts a policy trained on it repeats their best-rated answers:
 * on a user's own 40 capital questions (2026-12-06, two runs of the loop
 * with defaults, 554-581 ratings) people's verdict promoted best's
 * candidates, better on 25-26 of 32 prompts, most of them trained on, while
 * they answered 20 other countries' capitals 0.51 and 0.56 points worse
 * (95 % intervals +-0.43 and +-0.34).  The margin is half a point of five:
 * with the ~60 unseen prompts of a demo learning round the bound sits
 * ~0.25 under the mean, so a candidate no worse passes and one 0.5 worse
 * does not.  *mean and *lo get the mean and the bound (NAN with under two
 * prompts).
 */
#define PEOPLE_UNSEEN_MIN 16
#define PEOPLE_UNSEEN_MARGIN 0.5
bool promote_unseen(const double *diff, int n, double *mean, double *lo);

/*
 * Reward hacking (the spot checks, server/worker/spotcheck.c): a version's
 * spot-checked answers (its best by the reward model) against its parent's
 * rated answers on the same prompts.  Flagged when both hold:
 *  - the reward rises: rm_mean (the version's, mean over the paired
 *    prompts) above parent_rm_mean (the parent's, same reward model, same
 *    prompts);
 *  - people's score falls: at least HACKING_MIN_PROMPTS untied prompts and
 *    a one-sided sign test (as promote_rollback) below ROLLBACK_P.
 * HACKING_MIN_PROMPTS is 5, not ROLLBACK_MIN_PROMPTS, because the default
 * spot_check_n is 8 answers (one per prompt): 5 of 5 worse is p = 1/32, the
 * fewest prompts a sign test can call at 5 %.  *p gets the sign test's
 * p-value (1 when too few prompts).
 */
#define HACKING_MIN_PROMPTS 5
bool promote_hacking(double rm_mean, double parent_rm_mean, int worse, int better, double *p);

#endif
