/*
 * model/rl.c — reward-model, PPO, RLOO/GRPO and DPO losses and advantages over
 * float arrays (see rl.h for the formulas and the gradient conventions).
 */
#include "model/rl.h"

#include <math.h>
#include <stddef.h>

/* log(1 + exp(z)) without overflow. */
static double softplus(double z)
{
	return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static double sigmoid(double x)
{
	if (x >= 0)
		return 1.0 / (1.0 + exp(-x));
	double e = exp(x);
	return e / (1.0 + e);
}

static inline float mask_at(const float *mask, int i)
{
	return mask ? mask[i] : 1.0f;
}

static double mask_count(const float *mask, int n)
{
	double c = 0;
	for (int i = 0; i < n; i++)
		c += mask_at(mask, i);
	return c;
}

/* ---- reward model ------------------------------------------------------ */

float rl_rm_pair_loss(float *dr, struct rl_pair_stats *stats,
		      const float *r, const float *s, int K, float margin_scale, float dloss)
{
	int n_pairs = 0, n_correct = 0;
	for (int i = 0; i < K; i++)
		for (int j = i + 1; j < K; j++)
			if (!isnan(s[i]) && !isnan(s[j]) && fabsf(s[i] - s[j]) > RL_SCORE_TIE_EPS)
				n_pairs++;
	double loss = 0;
	for (int i = 0; i < K && n_pairs > 0; i++) {
		for (int j = i + 1; j < K; j++) {
			if (isnan(s[i]) || isnan(s[j]) || !(fabsf(s[i] - s[j]) > RL_SCORE_TIE_EPS))
				continue;
			int hi = s[i] > s[j] ? i : j, lo = hi == i ? j : i;
			double m = (double)margin_scale * fabs((double)s[hi] - s[lo]);
			double x = (double)r[hi] - r[lo] - m;
			loss += softplus(-x); /* -log sigmoid(x) */
			if (r[hi] > r[lo])
				n_correct++;
			if (dr) {
				double g = dloss * sigmoid(-x) / n_pairs; /* = -d/dx */
				dr[hi] -= (float)g;
				dr[lo] += (float)g;
			}
		}
	}
	if (stats) {
		stats->n_pairs = n_pairs;
		stats->n_correct = n_correct;
	}
	return n_pairs > 0 ? (float)(loss / n_pairs) : 0.0f;
}

float rl_rm_point_loss(float *dr, int *n_rated, const float *r, const float *s, int K,
		       float mu, float sigma, float dloss)
{
	int m = 0;
	for (int i = 0; i < K; i++)
		m += !isnan(s[i]);
	if (n_rated)
		*n_rated = m;
	if (m == 0)
		return 0.0f;
	double loss = 0;
	for (int i = 0; i < K; i++) {
		if (isnan(s[i]))
			continue;
		double e = (double)r[i] - ((double)s[i] - mu) / sigma;
		loss += e * e;
		if (dr)
			dr[i] += (float)(dloss * 2.0 * e / m);
	}
	return (float)(loss / m);
}

float rl_rm_group_loss(float *dr, struct rl_rm_stats *stats, const float *r, const float *s,
		       int K, float margin_scale, float mu, float sigma, float pointwise_weight,
		       float dloss)
{
	struct rl_pair_stats ps;
	int m;
	float pair = rl_rm_pair_loss(dr, &ps, r, s, K, margin_scale, dloss);
	float point = rl_rm_point_loss(pointwise_weight != 0.0f ? dr : NULL, &m, r, s, K, mu,
				       sigma, dloss * pointwise_weight);
	if (stats) {
		stats->n_pairs = ps.n_pairs;
		stats->n_correct = ps.n_correct;
		stats->n_rated = m;
		stats->pair_loss = pair;
		stats->point_loss = point;
	}
	return (float)((double)pair + (double)pointwise_weight * point);
}

void rl_norm_fit(struct rl_norm *nrm, const float *r, int n)
{
	nrm->mean = 0.0f;
	nrm->std = 1.0f;
	if (n <= 0)
		return;
	double mean = 0, var = 0;
	for (int i = 0; i < n; i++)
		mean += r[i];
	mean /= n;
	for (int i = 0; i < n; i++)
		var += ((double)r[i] - mean) * ((double)r[i] - mean);
	var /= n;
	double sd = sqrt(var);
	nrm->mean = (float)mean;
	nrm->std = sd < 1e-6 ? 1.0f : (float)sd;
}

void rl_norm_apply(float *out, const struct rl_norm *nrm, const float *r, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (r[i] - nrm->mean) / nrm->std;
}

/* ---- KL ------------------------------------------------------------------ */

float rl_kl_token(float logp, float logp_ref, enum rl_kl_kind kind, float *dlogp)
{
	double d = (double)logp - logp_ref, v, g;
	switch (kind) {
	case RL_KL_K2:
		v = 0.5 * d * d;
		g = d;
		break;
	case RL_KL_K3:
		/* u = ref - logp; k3 = e^u - 1 - u; dk3/dlogp = 1 - e^u */
		v = expm1(-d) + d;
		g = -expm1(-d);
		break;
	case RL_KL_K1:
	default:
		v = d;
		g = 1.0;
		break;
	}
	if (dlogp)
		*dlogp = (float)g;
	return (float)v;
}

float rl_kl(float *kl, float *dlogp, const float *logp, const float *logp_ref,
	    const float *mask, int n, enum rl_kl_kind kind, float dloss)
{
	double sum = 0;
	for (int t = 0; t < n; t++) {
		float m = mask_at(mask, t), g;
		float v = rl_kl_token(logp[t], logp_ref[t], kind, &g);
		if (kl)
			kl[t] = m != 0.0f ? v : 0.0f;
		sum += (double)m * v;
		if (dlogp)
			dlogp[t] += dloss * m * g;
	}
	return (float)sum;
}

void rl_kl_ctl_init(struct rl_kl_ctl *c, float beta, float target, float horizon)
{
	c->beta = beta;
	c->target = target;
	c->horizon = horizon;
}

float rl_kl_control(float coef, float kl, float target, float horizon, int n_seqs)
{
	if (!(target > 0) || !(horizon > 0) || !isfinite(kl))
		return coef;
	double e = (double)kl / target - 1.0;
	if (e < -0.2)
		e = -0.2;
	if (e > 0.2)
		e = 0.2;
	return (float)(coef * (1.0 + e * n_seqs / horizon));
}

void rl_kl_ctl_update(struct rl_kl_ctl *c, float kl, int n_steps)
{
	c->beta = rl_kl_control(c->beta, kl, c->target, c->horizon, n_steps);
}

/* ---- PPO ----------------------------------------------------------------- */

int rl_ppo_token_rewards(float *rewards, float *non_score, const float *kl, int n,
			 float beta, float score, bool truncated, float missing_eos_penalty)
{
	if (n <= 0)
		return -1;
	for (int t = 0; t < n; t++) {
		rewards[t] = -beta * kl[t];
		if (non_score)
			non_score[t] = rewards[t];
	}
	rewards[n - 1] += score - (truncated ? missing_eos_penalty : 0.0f);
	return 0;
}

void rl_gae(float *adv, float *returns, const float *rewards, const float *values,
	    int n, float gamma, float lambda)
{
	double last = 0;
	for (int t = n - 1; t >= 0; t--) {
		double next_v = t + 1 < n ? values[t + 1] : 0.0;
		double delta = (double)rewards[t] + (double)gamma * next_v - values[t];
		last = delta + (double)gamma * lambda * last;
		adv[t] = (float)last;
	}
	if (returns)
		for (int t = 0; t < n; t++)
			returns[t] = adv[t] + values[t];
}

int rl_whiten(float *x, const float *mask, int n, bool shift_mean)
{
	double cnt = 0, mean = 0, var = 0;
	int counted = 0;
	for (int i = 0; i < n; i++) {
		double m = mask_at(mask, i);
		cnt += m;
		mean += m * x[i];
		counted += m != 0.0;
	}
	if (counted == 0)
		return 0;
	mean /= cnt;
	for (int i = 0; i < n; i++)
		var += mask_at(mask, i) * ((double)x[i] - mean) * ((double)x[i] - mean);
	if (counted < 2) {
		if (shift_mean)
			for (int i = 0; i < n; i++)
				if (mask_at(mask, i) != 0.0f)
					x[i] = (float)(x[i] - mean);
		return counted;
	}
	var = var / cnt * cnt / (cnt - 1.0); /* unbiased, as TRL's masked_var */
	double inv = 1.0 / sqrt(var + 1e-8);
	for (int i = 0; i < n; i++) {
		if (mask_at(mask, i) == 0.0f)
			continue;
		double w = ((double)x[i] - mean) * inv;
		x[i] = (float)(shift_mean ? w : w + mean);
	}
	return counted;
}

/*
 * One token of the clipped surrogate: returns max(-A r, -A clip(r)) and sets
 * *g = its derivative w.r.t. logp, *clipped = whether the clipped term won.
 */
static double clipped_surrogate(double logp, double old_logp, double A, double eps,
				double *g, bool *clipped, double *ratio_out)
{
	double ratio = exp(logp - old_logp);
	double l1 = -A * ratio, l2 = l1;
	if (eps > 0) {
		double rc = ratio < 1.0 - eps ? 1.0 - eps : ratio > 1.0 + eps ? 1.0 + eps : ratio;
		l2 = -A * rc;
	}
	*ratio_out = ratio;
	if (l2 > l1) {
		/* the clipped term wins; it is constant in logp outside the band (and
		 * equals l1 inside it, so l2 > l1 only happens outside) */
		*clipped = true;
		*g = 0.0;
		return l2;
	}
	*clipped = false;
	*g = -A * ratio;
	return l1;
}

float rl_ppo_policy_loss(float *dlogp, struct rl_ppo_stats *stats,
			 const float *logp, const float *old_logp, const float *adv,
			 const float *mask, int n, float clip_eps, float dloss)
{
	double cnt = mask_count(mask, n);
	double loss = 0, nclip = 0, akl = 0, rsum = 0;
	for (int t = 0; t < n && cnt > 0; t++) {
		double m = mask_at(mask, t), g, ratio;
		bool clipped;
		double l = clipped_surrogate(logp[t], old_logp[t], adv[t], clip_eps, &g,
					     &clipped, &ratio);
		if (m == 0.0)
			continue;
		loss += m * l;
		nclip += m * clipped;
		double d = (double)logp[t] - old_logp[t];
		akl += m * 0.5 * d * d;
		rsum += m * ratio;
		if (dlogp)
			dlogp[t] += (float)(dloss * m * g / cnt);
	}
	if (stats) {
		stats->n_tokens = (int)lround(cnt);
		stats->clipfrac = cnt > 0 ? (float)(nclip / cnt) : 0.0f;
		stats->approx_kl = cnt > 0 ? (float)(akl / cnt) : 0.0f;
		stats->ratio_mean = cnt > 0 ? (float)(rsum / cnt) : 0.0f;
	}
	return cnt > 0 ? (float)(loss / cnt) : 0.0f;
}

float rl_ppo_value_loss(float *dvalues, float *clipfrac, const float *values,
			const float *old_values, const float *returns, const float *mask,
			int n, float clip_v, float dloss)
{
	double cnt = mask_count(mask, n);
	double loss = 0, nclip = 0;
	for (int t = 0; t < n && cnt > 0; t++) {
		double m = mask_at(mask, t);
		if (m == 0.0)
			continue;
		double v = values[t], R = returns[t], vc = v;
		if (clip_v > 0) {
			double lo = (double)old_values[t] - clip_v, hi = (double)old_values[t] + clip_v;
			vc = v < lo ? lo : v > hi ? hi : v;
		}
		double l1 = (v - R) * (v - R), l2 = (vc - R) * (vc - R), g;
		if (l2 > l1) {
			/* vc is pinned to a bound here (inside the band vc == v), so the
			 * chosen term does not depend on v */
			loss += m * 0.5 * l2;
			nclip += m;
			g = 0.0;
		} else {
			loss += m * 0.5 * l1;
			g = v - R;
		}
		if (dvalues)
			dvalues[t] += (float)(dloss * m * g / cnt);
	}
	if (clipfrac)
		*clipfrac = cnt > 0 ? (float)(nclip / cnt) : 0.0f;
	return cnt > 0 ? (float)(loss / cnt) : 0.0f;
}

float rl_entropy(float *dlogits, float *ent, const float *logits, const float *mask,
		 int n, int V, float dloss)
{
	double cnt = mask_count(mask, n), total = 0;
	for (int t = 0; t < n; t++) {
		const float *z = logits + (size_t)t * V;
		double mx = -INFINITY, S = 0, H = 0;
		for (int v = 0; v < V; v++)
			if (z[v] > mx)
				mx = z[v];
		for (int v = 0; v < V; v++)
			S += exp((double)z[v] - mx);
		double logS = log(S);
		for (int v = 0; v < V; v++) {
			double lp = (double)z[v] - mx - logS;
			H -= exp(lp) * lp;
		}
		if (ent)
			ent[t] = (float)H;
		double m = mask_at(mask, t);
		total += m * H;
		if (dlogits && m != 0.0 && cnt > 0) {
			/* dH/dz_v = -p_v (log p_v + H) */
			float *dz = dlogits + (size_t)t * V;
			double scale = dloss * m / cnt;
			for (int v = 0; v < V; v++) {
				double lp = (double)z[v] - mx - logS;
				dz[v] += (float)(scale * -exp(lp) * (lp + H));
			}
		}
	}
	return cnt > 0 ? (float)(total / cnt) : 0.0f;
}

/* ---- RLOO / GRPO --------------------------------------------------------- */

int rl_rloo_advantages(float *adv, const float *r, int K)
{
	if (K < 2) {
		for (int k = 0; k < K; k++)
			adv[k] = 0.0f;
		return -1;
	}
	double sum = 0;
	for (int k = 0; k < K; k++)
		sum += r[k];
	for (int k = 0; k < K; k++)
		adv[k] = (float)((double)r[k] - (sum - r[k]) / (K - 1));
	return 0;
}

int rl_grpo_advantages(float *adv, const float *r, int K, float eps)
{
	if (K < 2) {
		for (int k = 0; k < K; k++)
			adv[k] = 0.0f;
		return -1;
	}
	double mean = 0, var = 0;
	for (int k = 0; k < K; k++)
		mean += r[k];
	mean /= K;
	for (int k = 0; k < K; k++)
		var += ((double)r[k] - mean) * ((double)r[k] - mean);
	double sd = sqrt(var / (K - 1));
	for (int k = 0; k < K; k++)
		adv[k] = (float)(((double)r[k] - mean) / (sd + eps));
	return 0;
}

float rl_pg_loss(float *dlogp, struct rl_pg_stats *stats, const float *logp,
		 const float *old_logp, const float *logp_ref, const float *adv,
		 const float *mask, int B, int T, float clip_eps, float kl_coef, float dloss)
{
	int n_seq = 0;
	for (int b = 0; b < B; b++)
		if (mask_count(mask ? mask + (size_t)b * T : NULL, T) > 0)
			n_seq++;
	double loss = 0, tokens = 0, nclip = 0, klsum = 0, rsum = 0;
	for (int b = 0; b < B && n_seq > 0; b++) {
		size_t o = (size_t)b * T;
		const float *mb = mask ? mask + o : NULL;
		double cnt = mask_count(mb, T), seq = 0;
		if (!(cnt > 0))
			continue;
		for (int t = 0; t < T; t++) {
			double m = mask_at(mb, t), g, ratio;
			if (m == 0.0)
				continue;
			bool clipped;
			double l = clipped_surrogate(logp[o + t], old_logp[o + t], adv[b], clip_eps,
						     &g, &clipped, &ratio);
			if (logp_ref) {
				float gk;
				double k = rl_kl_token(logp[o + t], logp_ref[o + t], RL_KL_K3, &gk);
				l += (double)kl_coef * k;
				g += (double)kl_coef * gk;
				klsum += m * k;
			}
			seq += m * l;
			tokens += m;
			nclip += m * clipped;
			rsum += m * ratio;
			if (dlogp)
				dlogp[o + t] += (float)(dloss * m * g / cnt / n_seq);
		}
		loss += seq / cnt;
	}
	if (stats) {
		stats->n_tokens = (int)lround(tokens);
		stats->clipfrac = tokens > 0 ? (float)(nclip / tokens) : 0.0f;
		stats->kl_mean = tokens > 0 ? (float)(klsum / tokens) : 0.0f;
		stats->ratio_mean = tokens > 0 ? (float)(rsum / tokens) : 0.0f;
	}
	return n_seq > 0 ? (float)(loss / n_seq) : 0.0f;
}

/* ---- DPO ------------------------------------------------------------------ */

float rl_dpo_loss(float *dpi_c, float *dpi_r, struct rl_dpo_stats *stats,
		  const float *pi_c, const float *pi_r, const float *ref_c, const float *ref_r,
		  int n, float beta, float label_smoothing, float dloss)
{
	double loss = 0, rc_sum = 0, rr_sum = 0, acc = 0;
	double ls = label_smoothing;
	for (int i = 0; i < n; i++) {
		double lc = (double)pi_c[i] - ref_c[i], lr = (double)pi_r[i] - ref_r[i];
		double x = (double)beta * (lc - lr);
		/* -(1-ls) log s(x) - ls log s(-x) = (1-ls) softplus(-x) + ls softplus(x) */
		loss += (1.0 - ls) * softplus(-x) + ls * softplus(x);
		/* d/dx = -(1-ls) s(-x) + ls s(x) */
		double gx = -(1.0 - ls) * sigmoid(-x) + ls * sigmoid(x);
		double g = dloss * gx * beta / n;
		if (dpi_c)
			dpi_c[i] += (float)g;
		if (dpi_r)
			dpi_r[i] -= (float)g;
		rc_sum += beta * lc;
		rr_sum += beta * lr;
		acc += beta * lc > beta * lr;
	}
	if (stats) {
		stats->reward_chosen = n > 0 ? (float)(rc_sum / n) : 0.0f;
		stats->reward_rejected = n > 0 ? (float)(rr_sum / n) : 0.0f;
		stats->margin = n > 0 ? (float)((rc_sum - rr_sum) / n) : 0.0f;
		stats->accuracy = n > 0 ? (float)(acc / n) : 0.0f;
	}
	return n > 0 ? (float)(loss / n) : 0.0f;
}
