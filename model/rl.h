/*
 * model/rl.h — the losses and advantages of reward modelling and RLHF, as pure
 * functions over float arrays: the reward model's pairwise loss, reward
 * normalisation, per-token KL estimators and the adaptive KL controller, PPO
 * (token rewards, GAE, whitening, clipped policy and value losses, entropy),
 * the group-baseline methods RLOO and GRPO, and DPO.
 *
 * They know nothing about the model: the caller runs the forward pass, hands
 * over log-probabilities of the sampled tokens (or scores, values, logits), and
 * backpropagates the gradients these functions return into the network.
 *
 * Conventions shared by every function here:
 *  - A loss function returns the loss value and, when a gradient pointer is not
 *    NULL, ACCUMULATES (`+=`) dloss * d(returned loss)/d(input) into it, llm.c
 *    style: the caller zeroes gradients, and `dloss` is the upstream gradient
 *    (1 for a lone loss, a weight when several losses are summed, -coef for a
 *    bonus).  Stats structs are written (never accumulated) when not NULL.
 *  - Token-level arrays are flat, one entry per token position; `mask` (same
 *    length, 1 = a response token that counts, 0 = padding or prompt) may be
 *    NULL, meaning every position counts.  Means are over counted positions.
 *  - Reductions are done in double; inputs and outputs are float.
 *  - Nothing allocates; functions returning int give 0 (or the count they
 *    name) or -1 for an input they cannot use (model/llama.h, "Errors").
 */
#ifndef RLHFD_MODEL_RL_H
#define RLHFD_MODEL_RL_H

#include <stdbool.h>

/* ---- reward model ------------------------------------------------------ */

/* Two mean human scores closer than this are a tie and make no pair. */
#define RL_SCORE_TIE_EPS 1e-6f

struct rl_pair_stats {
	int n_pairs;   /* pairs with different human scores */
	int n_correct; /* of those, pairs where r_hi > r_lo strictly */
};

/*
 * Pairwise (Bradley–Terry) loss of one prompt group, InstructGPT / Llama 2:
 * over every pair i<j with |s_i - s_j| > RL_SCORE_TIE_EPS, hi = the better-rated,
 *   loss_ij = -log sigmoid(r_hi - r_lo - margin_scale * |s_hi - s_lo|),
 * averaged over those pairs (0 when there is none; margin_scale 0 = InstructGPT).
 * A score that is NAN (an unrated answer) takes part in no pair.
 * dr (K) accumulates dloss * dloss/dr; stats (may be NULL) gets the counts.
 */
float rl_rm_pair_loss(float *dr, struct rl_pair_stats *stats,
		      const float *r, const float *s, int K, float margin_scale, float dloss);

/*
 * Pointwise (regression) term of one prompt group: the mean over the group's
 * rated answers (s[i] not NAN) of (r[i] - z[i])^2, where z[i] = (s[i] - mu) /
 * sigma is the answer's human score standardised (mu, sigma: the caller's,
 * over its training answers; sigma > 0).  0 when no answer is rated.  dr (K)
 * accumulates dloss * dloss/dr; *n_rated (may be NULL) gets the count.
 */
float rl_rm_point_loss(float *dr, int *n_rated, const float *r, const float *s, int K,
		       float mu, float sigma, float dloss);

struct rl_rm_stats {
	int n_pairs, n_correct; /* as rl_pair_stats */
	int n_rated;            /* answers with a score */
	float pair_loss;        /* the two terms, unweighted */
	float point_loss;
};

/*
 * The reward model's loss of one group: every rating used, pairs or not,
 *   loss = rl_rm_pair_loss(margin_scale) + pointwise_weight * rl_rm_point_loss,
 * each term a mean over the group's own pairs / rated answers, so a group
 * counts the same whatever its size (the caller averages over groups).  A
 * group without a pair (all tied, or one rated answer) trains the pointwise
 * term alone.  dr (K) accumulates dloss * dloss/dr; stats may be NULL.
 */
float rl_rm_group_loss(float *dr, struct rl_rm_stats *stats, const float *r, const float *s,
		       int K, float margin_scale, float mu, float sigma, float pointwise_weight,
		       float dloss);

/* Affine normalisation of reward-model scores: r' = (r - mean) / std. */
struct rl_norm {
	float mean;
	float std;
};

/* Fits mean and population std of the n reference scores r so that they map
 * to mean 0, std 1.  A std below 1e-6 (all scores equal) is replaced by 1 so
 * the map only shifts.  n <= 0 gives the identity (mean 0, std 1). */
void rl_norm_fit(struct rl_norm *nrm, const float *r, int n);
/* out[i] = (r[i] - mean) / std; out may equal r. */
void rl_norm_apply(float *out, const struct rl_norm *nrm, const float *r, int n);

/* ---- KL between policy and reference ----------------------------------- */

/* Per-token estimators of KL(pi || pi_ref) from the log-probs of a token
 * sampled from pi (Schulman, "Approximating KL divergence"), d = logp - logp_ref:
 *   K1 = d                       (unbiased, can be negative; the PPO penalty)
 *   K2 = d^2 / 2                 (low variance, biased)
 *   K3 = exp(-d) - 1 + d         (unbiased, always >= 0; GRPO's penalty) */
enum rl_kl_kind { RL_KL_K1 = 1, RL_KL_K2 = 2, RL_KL_K3 = 3 };

/* One token's estimate; *dlogp (may be NULL) set to its derivative w.r.t. logp
 * (logp_ref is a constant: the reference is frozen). */
float rl_kl_token(float logp, float logp_ref, enum rl_kl_kind kind, float *dlogp);

/* kl[t] (may be NULL) = estimate at each position (0 where mask is 0); returns
 * the SUM over counted positions; dlogp (may be NULL) accumulates
 * dloss * d(sum)/dlogp. */
float rl_kl(float *kl, float *dlogp, const float *logp, const float *logp_ref,
	    const float *mask, int n, enum rl_kl_kind kind, float dloss);

/* Adaptive KL coefficient (Ziegler et al. 2019; TRL AdaptiveKLController):
 *   beta <- beta * (1 + clip(kl / target - 1, -0.2, 0.2) * n_steps / horizon).
 * target <= 0 or horizon <= 0 makes it a fixed coefficient. */
struct rl_kl_ctl {
	float beta;
	float target;
	float horizon;
};

/* The controller's step as a pure function: with e = clip(kl / target - 1,
 * -0.2, 0.2), returns coef * (1 + e * n_seqs / horizon); coef itself when
 * target <= 0, horizon <= 0 or kl is not finite.  kl is the batch's mean
 * per-sequence KL (sum over an answer's tokens of logp - logp_ref), n_seqs
 * the answers in the batch.  PPO's beta and group RL's kl_coef both follow it. */
float rl_kl_control(float coef, float kl, float target, float horizon, int n_seqs);

void rl_kl_ctl_init(struct rl_kl_ctl *c, float beta, float target, float horizon);
/* kl: the mean per-sequence KL measured in the last batch; n_steps: how many
 * samples (sequences) that batch held.  c->beta = rl_kl_control(c->beta, ...). */
void rl_kl_ctl_update(struct rl_kl_ctl *c, float kl, int n_steps);

/* ---- PPO ----------------------------------------------------------------- */

/*
 * Token rewards of one response of n tokens (InstructGPT / TRL):
 *   rewards[t] = -beta * kl[t]                   for every t,
 *   rewards[n-1] += score - (truncated ? missing_eos_penalty : 0),
 * where kl[t] is a per-token KL estimate (rl_kl, usually K1) and truncated
 * means the answer hit max tokens without EOS.  non_score (n; may be NULL)
 * gets -beta * kl[t] alone, for logging.  Returns 0, or -1 when n <= 0.
 */
int rl_ppo_token_rewards(float *rewards, float *non_score, const float *kl, int n,
			 float beta, float score, bool truncated, float missing_eos_penalty);

/*
 * Generalised advantage estimation over one response of n tokens, values[t] =
 * V(state before token t), bootstrapped with 0 after the last token:
 *   delta_t = r_t + gamma * V_{t+1} - V_t,   A_t = delta_t + gamma*lambda*A_{t+1},
 *   returns_t = A_t + V_t.
 * adv and returns are written (n each); either may alias nothing else.
 */
void rl_gae(float *adv, float *returns, const float *rewards, const float *values,
	    int n, float gamma, float lambda);

/*
 * Whitens x in place over the counted positions (TRL masked_whiten): mean and
 * unbiased variance (n-1) over mask, x <- (x - mean) / sqrt(var + 1e-8), with
 * the mean added back when shift_mean is false.  Positions with mask 0 are
 * left as they are.  With fewer than 2 counted positions, x is only centred
 * (shift_mean) or left unchanged.  Returns the number of counted positions.
 */
int rl_whiten(float *x, const float *mask, int n, bool shift_mean);

struct rl_ppo_stats {
	float clipfrac;   /* fraction of counted tokens where the clipped term won */
	float approx_kl;  /* 0.5 * mean (logp - old_logp)^2, TRL's approxkl */
	float ratio_mean; /* mean exp(logp - old_logp) */
	int n_tokens;     /* counted positions */
};

/*
 * PPO clipped surrogate (Schulman et al. 2017), mean over counted tokens of
 *   max(-A * ratio, -A * clip(ratio, 1 - clip_eps, 1 + clip_eps)),
 * ratio = exp(logp - old_logp).  dlogp (n) accumulates dloss * dloss/dlogp
 * (zero where the clipped constant term is the larger one).  old_logp and adv
 * are constants.  stats may be NULL.
 */
float rl_ppo_policy_loss(float *dlogp, struct rl_ppo_stats *stats,
			 const float *logp, const float *old_logp, const float *adv,
			 const float *mask, int n, float clip_eps, float dloss);

/*
 * PPO clipped value loss (TRL): with vclip = clip(values, old_values - clip_v,
 * old_values + clip_v),
 *   0.5 * mean over counted tokens of max((values - R)^2, (vclip - R)^2).
 * dvalues (n) accumulates dloss * dloss/dvalues; *clipfrac (may be NULL) =
 * fraction of counted tokens where the clipped error was the larger.
 * clip_v <= 0 means no clipping (plain 0.5 * MSE).
 */
float rl_ppo_value_loss(float *dvalues, float *clipfrac, const float *values,
			const float *old_values, const float *returns, const float *mask,
			int n, float clip_v, float dloss);

/*
 * Entropy hook: for n positions of V logits each (row-major (n, V)), the mean
 * over counted positions of H = -sum_v p_v log p_v, p = softmax(logits row).
 * ent (n; may be NULL) gets each position's entropy; dlogits (n, V; may be
 * NULL) accumulates dloss * d(mean H)/dlogits.  An entropy BONUS of coefficient
 * c in a minimised loss is dloss = -c.
 */
float rl_entropy(float *dlogits, float *ent, const float *logits, const float *mask,
		 int n, int V, float dloss);

/* ---- group baselines: RLOO and GRPO -------------------------------------- */

/* RLOO (Ahmadian et al. 2024): adv[k] = r[k] - mean of the other K-1 rewards of
 * the same prompt.  Returns 0, or -1 when K < 2 (adv then zeroed). */
int rl_rloo_advantages(float *adv, const float *r, int K);

/* GRPO (DeepSeekMath): adv[k] = (r[k] - mean) / (std + eps) within the group,
 * std unbiased (K-1) as TRL computes it.  Returns 0, or -1 when K < 2 (adv
 * then zeroed). */
int rl_grpo_advantages(float *adv, const float *r, int K, float eps);

struct rl_pg_stats {
	float clipfrac;  /* fraction of counted tokens where clipping bit */
	float kl_mean;   /* mean K3 estimate per counted token (0 without logp_ref) */
	float ratio_mean;
	int n_tokens;
};

/*
 * Policy-gradient loss with one advantage per sequence (RLOO, GRPO), over B
 * sequences of T positions (logp, old_logp, logp_ref, mask: (B, T); adv: (B)).
 * Per token, with ratio = exp(logp - old_logp) and A = adv[b]:
 *   l_t = max(-A * ratio, -A * clip(ratio, 1 - clip_eps, 1 + clip_eps))
 *         + kl_coef * K3(logp, logp_ref)          (term omitted when logp_ref NULL)
 * averaged over each sequence's counted tokens, then over sequences with at
 * least one counted token (the GRPO paper's normalisation).  For a single
 * on-policy step pass old_logp = logp: ratio is 1 and the gradient is
 * REINFORCE's -A * dlogp.  clip_eps <= 0 disables clipping.  dlogp (B, T)
 * accumulates dloss * dloss/dlogp; stats may be NULL.
 */
float rl_pg_loss(float *dlogp, struct rl_pg_stats *stats, const float *logp,
		 const float *old_logp, const float *logp_ref, const float *adv,
		 const float *mask, int B, int T, float clip_eps, float kl_coef, float dloss);

/* ---- DPO ------------------------------------------------------------------ */

struct rl_dpo_stats {
	float reward_chosen;   /* mean beta * (pi_c - ref_c) */
	float reward_rejected; /* mean beta * (pi_r - ref_r) */
	float margin;          /* mean of their difference */
	float accuracy;        /* fraction of pairs with reward_chosen > reward_rejected */
};

/*
 * DPO (Rafailov et al. 2023) over n preference pairs, from the summed response
 * log-probs under the policy (pi_c, pi_r) and the frozen reference (ref_c,
 * ref_r), with z = (pi_c - ref_c) - (pi_r - ref_r):
 *   loss = mean of -(1 - ls) * log sigmoid(beta z) - ls * log sigmoid(-beta z)
 * (ls = label_smoothing, 0 for plain DPO; cDPO otherwise).  dpi_c, dpi_r (n;
 * may be NULL) accumulate dloss * dloss/dpi.  stats may be NULL.
 */
float rl_dpo_loss(float *dpi_c, float *dpi_r, struct rl_dpo_stats *stats,
		  const float *pi_c, const float *pi_r, const float *ref_c, const float *ref_r,
		  int n, float beta, float label_smoothing, float dloss);

#endif
