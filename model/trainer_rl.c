/*
 * model/trainer_rl.c — the on-policy procedures of model/trainer.h: PPO,
 * RLOO / GRPO and evaluation.  All three start from rollouts: K answers per
 * prompt sampled from the policy with model/infer.h (over the policy's own
 * parameter buffer, so every update is seen by the next batch), then scored
 * with whole-batch training forwards (model/llama.h) — the same forward that
 * computes the new log-probs during the update, so old and new log-probs of
 * an unchanged policy agree (ratio 1 on the first minibatch).
 *
 * Per-token data of a rollout batch live in (n, S) grids indexed like the
 * model's positions: position t of row r predicts token t+1, so response token
 * j of a sequence with prompt length np sits at position j-1, and the response
 * is the run of positions np-1 .. len-2 (mask 1).  A micro-batch of a model
 * packs the same rows with a shorter stride T; the data are gathered into it.
 */
#include "model/trainer.h"
#include "model/trainer_impl.h"
#include "model/infer.h"
#include "model/rl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void trainer_rl_defaults(struct trainer_rl_params *p)
{
	memset(p, 0, sizeof *p);
	p->lr = 5e-5f;
	p->min_lr = 5e-5f;
	p->warmup_frac = 0.0f;
	p->weight_decay = 0.0f;
	p->grad_clip = 1.0f;
	p->value_lr = 1e-4f;
	p->iterations = 30;
	p->prompts_per_iter = 32;
	p->k = 4;
	p->max_new = 96;
	p->temperature = 1.0f;
	p->top_p = 1.0f;
	p->epochs = 1;
	p->minibatch = 64;
	p->clip_eps = 0.2f;
	p->clip_value = 0.2f;
	p->gamma = 1.0f;
	p->lam = 0.95f;
	p->whiten_adv = true;
	p->kl_beta = 0.05f;
	p->kl_target = 2.0f;
	p->kl_horizon = 4000.0f;
	p->kl_coef = 0.05f;
	p->missing_eos_penalty = 1.0f;
	p->grpo_eps = 1e-4f;
	p->eos_id = INFER_EOS;
	p->seed = 1;
}

void trainer_eval_defaults(struct trainer_eval_params *p)
{
	memset(p, 0, sizeof *p);
	p->k = 1;
	p->max_new = 96;
	p->temperature = 0.0f;
	p->top_p = 1.0f;
	p->eos_id = INFER_EOS;
	p->seed = 1;
}

/* ---- rollouts ---------------------------------------------------------------- */

/* One batch of sampled answers and their per-token data; buffers sized once. */
struct rollouts {
	int cap;                     /* sequences */
	int S;                       /* positions per row (the context used) */
	int k;                       /* answers per prompt */
	int n;                       /* sequences of the current batch */
	int *tokens;                 /* (cap, S) prompt + answer */
	struct trainer_seq *seqs;    /* (cap) over tokens */
	const struct trainer_seq **ptr; /* (cap) &seqs[i] */
	float *old_lp;               /* (cap, S) policy log-probs at sampling time */
	float *ref_lp;               /* (cap, S) reference log-probs */
	float *ent;                  /* (cap, S) policy entropy */
	float *val;                  /* (cap, S) value model (PPO) */
	float *kl;                   /* (cap, S) old_lp - ref_lp on the response */
	float *rew;                  /* (cap, S) PPO token rewards */
	float *adv;                  /* (cap, S) PPO advantages */
	float *ret;                  /* (cap, S) PPO returns */
	float *mask;                 /* (cap, S) 1 on response positions */
	float *score;                /* (cap) rm score (rm->score's reading) */
	float *seq_rew;              /* (cap) group RL: score - penalty */
	float *seq_adv;              /* (cap) group RL advantage */
	float *seq_kl;               /* (cap) sum of kl over the response */
	float *lpsum;                /* (cap) eval: summed response log-probs */
	float *ref_sum;              /* (cap) eval */
	int *gen;                    /* (k, S) one infer call's new tokens */
	int *gen_n;                  /* (k) */
};

static void rollouts_release(struct rollouts *ro)
{
	free(ro->tokens);
	free(ro->seqs);
	free(ro->ptr);
	float **f[] = { &ro->old_lp, &ro->ref_lp, &ro->ent, &ro->val, &ro->kl, &ro->rew,
			&ro->adv, &ro->ret, &ro->mask, &ro->score, &ro->seq_rew, &ro->seq_adv,
			&ro->seq_kl, &ro->lpsum, &ro->ref_sum };
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		free(*f[i]);
	free(ro->gen);
	free(ro->gen_n);
	memset(ro, 0, sizeof *ro);
}

static int rollouts_init(struct rollouts *ro, int cap, int S, int k)
{
	memset(ro, 0, sizeof *ro);
	ro->cap = cap;
	ro->S = S;
	ro->k = k;
	size_t G = (size_t)cap * S;
	ro->tokens = calloc(G, sizeof(int));
	ro->seqs = calloc((size_t)cap, sizeof *ro->seqs);
	ro->ptr = calloc((size_t)cap, sizeof *ro->ptr);
	ro->gen = calloc((size_t)k * S, sizeof(int));
	ro->gen_n = calloc((size_t)k, sizeof(int));
	bool ok = ro->tokens && ro->seqs && ro->ptr && ro->gen && ro->gen_n;
	float **grid[] = { &ro->old_lp, &ro->ref_lp, &ro->ent, &ro->val, &ro->kl, &ro->rew,
			   &ro->adv, &ro->ret, &ro->mask };
	for (size_t i = 0; i < sizeof grid / sizeof grid[0]; i++)
		ok = ok && (*grid[i] = calloc(G, sizeof(float)));
	float **seq[] = { &ro->score, &ro->seq_rew, &ro->seq_adv, &ro->seq_kl, &ro->lpsum,
			  &ro->ref_sum };
	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++)
		ok = ok && (*seq[i] = calloc((size_t)cap, sizeof(float)));
	if (!ok) {
		rollouts_release(ro);
		return -ENOMEM;
	}
	for (int i = 0; i < cap; i++)
		ro->ptr[i] = &ro->seqs[i];
	return 0;
}

struct gen_settings {
	int k, max_new, eos_id;
	float temperature, top_p;
	uint64_t seed;
};

/*
 * Samples k answers to each prompt pidx[0..np) into ro (sequence i*k+j is
 * answer j to the i-th), answer j of prompt slot i drawing from RNG stream
 * stream0[i]*k + j.  Zeroes the grids' rows and sets the response mask.
 */
static int rollouts_generate(struct rollouts *ro, struct infer *inf, struct trainer_run *run,
			     const struct trainer_prompt *prompts, const int *pidx, const int *stream0,
			     int np, const struct gen_settings *g)
{
	int S = ro->S, k = g->k;
	ro->n = np * k;
	size_t G = (size_t)ro->n * S;
	float *grid[] = { ro->old_lp, ro->ref_lp, ro->ent, ro->val, ro->kl, ro->rew, ro->adv,
			  ro->ret, ro->mask };
	for (size_t i = 0; i < sizeof grid / sizeof grid[0]; i++)
		memset(grid[i], 0, G * sizeof(float));
	for (int i = 0; i < np; i++) {
		const struct trainer_prompt *pr = &prompts[pidx[i]];
		int mn = g->max_new < S - pr->n ? g->max_new : S - pr->n;
		struct infer_params ip;
		infer_params_default(&ip);
		ip.k = k;
		ip.max_new = mn;
		ip.temperature = g->temperature;
		ip.top_p = g->top_p;
		ip.top_k = 0;
		ip.seed = g->seed;
		ip.first_stream = stream0[i] * k;
		ip.stop_ids[0] = g->eos_id;
		ip.n_stop = 1;
		char e[256];
		if (infer_generate(inf, pr->tokens, pr->n, &ip, ro->gen, ro->gen_n, NULL, e,
				   sizeof e) < 0)
			return trainer_fail(run, -EINVAL, "sampling for prompt %d failed: %s", pidx[i], e);
		for (int j = 0; j < k; j++) {
			int r = i * k + j, ng = ro->gen_n[j];
			int *row = ro->tokens + (size_t)r * S;
			memcpy(row, pr->tokens, (size_t)pr->n * sizeof(int));
			memcpy(row + pr->n, ro->gen + (size_t)j * mn, (size_t)ng * sizeof(int));
			struct trainer_seq *s = &ro->seqs[r];
			s->tokens = row;
			s->n = pr->n + ng;
			s->prompt_len = pr->n;
			s->ended = ng > 0 && row[s->n - 1] == g->eos_id;
			for (int t = pr->n - 1; t < s->n - 1; t++)
				ro->mask[(size_t)r * S + t] = 1.0f;
		}
	}
	return 0;
}

/* Mean of grid x over the response mask of the batch. */
static float masked_mean(const struct rollouts *ro, const float *x)
{
	double s = 0, c = 0;
	for (size_t i = 0; i < (size_t)ro->n * ro->S; i++) {
		s += (double)ro->mask[i] * x[i];
		c += ro->mask[i];
	}
	return c > 0 ? (float)(s / c) : 0.0f;
}

/* Copies rows idx[0..B) of grid (n, S) into out (B, T). */
static void gather(float *out, const float *grid, const int *idx, int B, int T, int S)
{
	for (int b = 0; b < B; b++)
		memcpy(out + (size_t)b * T, grid + (size_t)idx[b] * S, (size_t)T * sizeof(float));
}

/* The prompt order of on-policy training: a seeded permutation, reshuffled
 * after every pass. */
struct prompt_cycle {
	int *order;
	int n, pos;
	uint64_t rng;
};

static void cycle_next(struct prompt_cycle *c, int *out, int m)
{
	for (int i = 0; i < m; i++) {
		if (c->pos == 0)
			trainer_shuffle(c->order, c->n, &c->rng);
		out[i] = c->order[c->pos];
		c->pos = (c->pos + 1) % c->n;
	}
}

/* ---- shared set-up of PPO and group RL -------------------------------------- */

struct rl_job {
	struct trainer_run run;
	const struct trainer_rl_params *p;
	struct llama_model *policy, *ref, *value, *rm;
	const struct trainer_prompt *prompts;
	int S;                         /* context every model can score */
	struct rollouts ro;
	struct trainer_rows rows;
	struct infer inf;
	struct prompt_cycle cyc;
	int *pidx, *stream0;           /* (prompts_per_iter) */
	int *perm;                     /* (cap) minibatch order */
	bool have_ro, have_rows, have_inf;
};

static int cap_of(const struct llama_model *const *ms, int n, bool by_T)
{
	int c = 0;
	for (int i = 0; i < n; i++)
		if (ms[i]) {
			int v = by_T ? ms[i]->max_T : ms[i]->max_B;
			c = v > c ? v : c;
		}
	return c;
}

static void rl_job_release(struct rl_job *j)
{
	if (j->have_ro)
		rollouts_release(&j->ro);
	if (j->have_rows)
		trainer_rows_release(&j->rows);
	if (j->have_inf)
		infer_release(&j->inf);
	free(j->cyc.order);
	free(j->pidx);
	free(j->stream0);
	free(j->perm);
}

static int rl_job_init(struct rl_job *j, bool ppo, struct llama_model *policy,
		       struct llama_model *ref, struct llama_model *value, struct llama_model *rm,
		       const struct trainer_prompt *prompts, int n, const struct trainer_rl_params *p)
{
	struct trainer_run *run = &j->run;
	j->p = p;
	j->policy = policy;
	j->ref = ref;
	j->value = value;
	j->rm = rm;
	j->prompts = prompts;
	if (!policy || !policy->acts.logits || !policy->grads)
		return trainer_fail(run, -EINVAL, "the policy must be a language model with gradients");
	int V = policy->cfg.vocab_size;
	if (!ref || !ref->acts.logits || ref->cfg.vocab_size != V)
		return trainer_fail(run, -EINVAL, "the reference must be a language model of the "
				    "policy's vocabulary");
	if (p->score_fn)
		j->rm = rm = NULL;
	else if (!rm || rm->cfg.vocab_size != V)
		return trainer_fail(run, -EINVAL, "the reward model must share the policy's vocabulary");
	if (ppo && (!value || !value->grads || value->cfg.vocab_size != V))
		return trainer_fail(run, -EINVAL, "ppo needs a value model with gradients and the "
				    "policy's vocabulary");
	if (n < 0 || (n > 0 && !prompts) || p->iterations <= 0 || p->prompts_per_iter <= 0 ||
	    p->k < (ppo ? 1 : 2) || p->max_new <= 0 || p->epochs <= 0 || p->minibatch <= 0 ||
	    !(p->temperature >= 0) || !(p->clip_eps >= 0) || !(p->kl_beta >= 0) ||
	    !(p->kl_coef >= 0) || !isfinite(p->missing_eos_penalty) || p->eos_id < 0 ||
	    p->eos_id >= V || (ppo && !(p->value_lr > 0)))
		return trainer_fail(run, -EINVAL, "bad rl settings: %d prompts, iterations %d, "
				    "prompts_per_iter %d, k %d%s, max_new %d, epochs %d, minibatch %d",
				    n, p->iterations, p->prompts_per_iter, p->k,
				    ppo ? "" : " (>= 2 for rloo/grpo)", p->max_new, p->epochs,
				    p->minibatch);
	if (!(p->lr > 0) || !(p->min_lr >= 0) || !(p->weight_decay >= 0) || isnan(p->grad_clip))
		return trainer_fail(run, -EINVAL, "bad optimizer settings: lr %g", p->lr);

	const struct llama_model *ms[] = { policy, ref, value, rm };
	int S = policy->cfg.seq_len;
	for (int i = 0; i < 4; i++)
		if (ms[i] && ms[i]->max_T < S)
			S = ms[i]->max_T;
	j->S = S;
	int nu = 0, rc;
	j->cyc.order = malloc((size_t)(n ? n : 1) * sizeof(int));
	if (!j->cyc.order)
		return trainer_fail(run, -ENOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		struct trainer_seq s = { prompts[i].tokens, prompts[i].n, prompts[i].n, false };
		if ((rc = trainer_seq_check(run, &s, V, "prompt", i)))
			return rc;
		if (prompts[i].n < S)
			j->cyc.order[nu++] = i;
	}
	if (nu < n)
		trainer_logf(run, "%d prompts skipped: no room for an answer in %d positions",
			     n - nu, S);
	if (nu == 0)
		return trainer_fail(run, -EINVAL, "no prompt leaves room for an answer in %d positions "
				    "(of %d prompts)", S, n);
	j->cyc.n = nu;
	j->cyc.pos = 0;
	j->cyc.rng = trainer_rng_seed(p->seed, 0x9C1);

	int cap = p->prompts_per_iter * p->k;
	j->pidx = malloc((size_t)p->prompts_per_iter * sizeof(int));
	j->stream0 = malloc((size_t)p->prompts_per_iter * sizeof(int));
	j->perm = malloc((size_t)cap * sizeof(int));
	if (!j->pidx || !j->stream0 || !j->perm)
		return trainer_fail(run, -ENOMEM, "out of memory");
	if (rollouts_init(&j->ro, cap, S, p->k) < 0)
		return trainer_fail(run, -ENOMEM, "out of memory for %d rollouts of %d tokens", cap, S);
	j->have_ro = true;
	if (trainer_rows_init(&j->rows, cap_of(ms, 4, false), cap_of(ms, 4, true)) < 0)
		return trainer_fail(run, -ENOMEM, "out of memory for rl buffers");
	j->have_rows = true;
	char e[256];
	if (infer_init(&j->inf, &policy->cfg, policy->params, p->k, e, sizeof e) < 0)
		return trainer_fail(run, -ENOMEM, "%s", e);
	j->have_inf = true;
	return 0;
}

/*
 * One rollout batch: the next prompts, K answers each, then old and reference
 * log-probs, entropy, the rm score, values (PPO) and the
 * per-token KL estimate K1 = old - ref with its per-sequence sums.
 */
static int rl_rollout(struct rl_job *j, int iter)
{
	const struct trainer_rl_params *p = j->p;
	struct rollouts *ro = &j->ro;
	int rc, S = ro->S;
	cycle_next(&j->cyc, j->pidx, p->prompts_per_iter);
	for (int i = 0; i < p->prompts_per_iter; i++)
		j->stream0[i] = i;
	struct gen_settings g = { p->k, p->max_new, p->eos_id, p->temperature, p->top_p,
				  trainer_rng_seed(p->seed, 0x1000 + (uint64_t)iter) };
	if ((rc = rollouts_generate(ro, &j->inf, &j->run, j->prompts, j->pidx, j->stream0,
				    p->prompts_per_iter, &g)) < 0)
		return rc;
	struct trainer_outs po = { .S = S, .lp = ro->old_lp, .ent = ro->ent };
	struct trainer_outs rf = { .S = S, .lp = ro->ref_lp };
	struct trainer_outs so = { .S = S, .score = ro->score };
	struct trainer_outs vo = { .S = S, .val = ro->val };
	if ((rc = trainer_collect(j->policy, &j->rows, &j->run, ro->ptr, ro->n, S, &po)) < 0 ||
	    (rc = trainer_collect(j->ref, &j->rows, &j->run, ro->ptr, ro->n, S, &rf)) < 0 ||
	    (j->rm && (rc = trainer_collect(j->rm, &j->rows, &j->run, ro->ptr, ro->n, S, &so)) < 0) ||
	    (j->value && (rc = trainer_collect(j->value, &j->rows, &j->run, ro->ptr, ro->n, S,
					       &vo)) < 0))
		return rc;
	if (!j->rm)
		for (int r = 0; r < ro->n; r++)
			ro->score[r] = p->score_fn(p->score_arg, &ro->seqs[r]);
	for (int r = 0; r < ro->n; r++) {
		const struct trainer_seq *s = &ro->seqs[r];
		size_t o = (size_t)r * S + s->prompt_len - 1;
		int L = s->n - s->prompt_len;
		ro->seq_kl[r] = rl_kl(ro->kl + o, NULL, ro->old_lp + o, ro->ref_lp + o, NULL, L,
				      RL_KL_K1, 0.0f);
	}
	return 0;
}

/* Batch figures of a rollout shared by PPO and group RL. */
struct batch_stats {
	float reward_mean, kl, entropy, response_len, eos_rate;
};

static void batch_stats(const struct rollouts *ro, struct batch_stats *b)
{
	double sc = 0, kl = 0, len = 0, eos = 0;
	for (int r = 0; r < ro->n; r++) {
		sc += ro->score[r];
		kl += ro->seq_kl[r];
		len += ro->seqs[r].n - ro->seqs[r].prompt_len;
		eos += ro->seqs[r].ended;
	}
	b->reward_mean = (float)(sc / ro->n);
	b->kl = (float)(kl / ro->n);
	b->response_len = (float)(len / ro->n);
	b->eos_rate = (float)(eos / ro->n);
	b->entropy = masked_mean(ro, ro->ent);
}

static void stats_to_result(struct trainer_rl_result *res, const struct batch_stats *b, int iter)
{
	if (iter == 0)
		res->reward_first = b->reward_mean;
	res->reward_last = b->reward_mean;
	res->kl_last = b->kl;
	res->entropy_last = b->entropy;
	res->eos_rate_last = b->eos_rate;
	res->response_len_last = b->response_len;
	res->iterations = iter + 1;
}

static void emit_batch_metrics(struct trainer_run *run, int iter, const struct batch_stats *b)
{
	trainer_metric(run, iter, "reward_mean", b->reward_mean);
	trainer_metric(run, iter, "kl", b->kl);
	trainer_metric(run, iter, "entropy", b->entropy);
	trainer_metric(run, iter, "response_len", b->response_len);
	trainer_metric(run, iter, "eos_rate", b->eos_rate);
}

/* Response positions of the sequences idx[0..nb) */
static double count_tokens(const struct rollouts *ro, const int *idx, int nb)
{
	double c = 0;
	for (int b = 0; b < nb; b++)
		c += ro->seqs[idx[b]].n - ro->seqs[idx[b]].prompt_len;
	return c;
}

/* ---- PPO ------------------------------------------------------------------------- */

int trainer_ppo(struct llama_model *policy, struct llama_model *ref, struct llama_model *value,
		struct llama_model *rm, const struct trainer_prompt *prompts, int n,
		const struct trainer_rl_params *p, const struct trainer_hooks *hooks,
		struct trainer_rl_result *res, char *err, size_t errlen)
{
	struct rl_job j;
	memset(&j, 0, sizeof j);
	memset(res, 0, sizeof *res);
	trainer_run_init(&j.run, hooks, err, errlen);
	struct trainer_run *run = &j.run;
	struct adamw opt = { 0 }, vopt = { 0 };
	bool have_opt = false, have_vopt = false;
	int rc = rl_job_init(&j, true, policy, ref, value, rm, prompts, n, p);
	if (rc)
		goto out;
	struct rollouts *ro = &j.ro;
	struct trainer_rows *rows = &j.rows;
	int S = j.S, R = ro->cap, mbs = p->minibatch < R ? p->minibatch : R;
	int n_mb = (R + mbs - 1) / mbs, total = p->iterations * p->epochs * n_mb;
	if ((rc = trainer_opt_init(&opt, run, policy, p->lr, p->min_lr, p->warmup_frac,
				   p->weight_decay, p->grad_clip, total)) < 0)
		goto out;
	have_opt = true;
	float vmin = p->min_lr / p->lr * p->value_lr;
	if ((rc = trainer_opt_init(&vopt, run, value, p->value_lr, vmin, p->warmup_frac,
				   p->weight_decay, p->grad_clip, total)) < 0)
		goto out;
	have_vopt = true;
	struct rl_kl_ctl ctl;
	rl_kl_ctl_init(&ctl, p->kl_beta, p->kl_target, p->kl_horizon);
	trainer_logf(run, "ppo: %d iterations of %d prompts x %d answers (up to %d tokens), "
		     "%d epochs of %d minibatches", p->iterations, p->prompts_per_iter, p->k,
		     p->max_new, p->epochs, n_mb);

	for (int iter = 0; iter < p->iterations; iter++) {
		if ((rc = rl_rollout(&j, iter)) < 0)
			goto out;
		float beta = ctl.beta;
		double rlhf = 0;
		for (int r = 0; r < ro->n; r++) {
			const struct trainer_seq *s = &ro->seqs[r];
			size_t o = (size_t)r * S + s->prompt_len - 1;
			int L = s->n - s->prompt_len;
			rl_ppo_token_rewards(ro->rew + o, NULL, ro->kl + o, L, beta, ro->score[r],
					     !s->ended, p->missing_eos_penalty);
			for (int t = 0; t < L; t++)
				rlhf += ro->rew[o + t];
			rl_gae(ro->adv + o, ro->ret + o, ro->rew + o, ro->val + o, L, p->gamma, p->lam);
		}
		if (p->whiten_adv)
			rl_whiten(ro->adv, ro->mask, ro->n * S, true);
		struct batch_stats bs;
		batch_stats(ro, &bs);
		if (trainer_cancelled(run)) {
			rc = -ECANCELED;
			goto out;
		}

		double pl_sum = 0, vl_sum = 0, cf_sum = 0, vcf_sum = 0, akl_sum = 0;
		int n_upd = 0;
		float lr = 0;
		for (int i = 0; i < ro->n; i++)
			j.perm[i] = i;
		for (int ep = 0; ep < p->epochs; ep++) {
			trainer_shuffle(j.perm, ro->n, &j.cyc.rng);
			for (int m0 = 0; m0 < ro->n; m0 += mbs) {
				int nb = ro->n - m0 < mbs ? ro->n - m0 : mbs;
				const int *idx = j.perm + m0;
				double ntok = count_tokens(ro, idx, nb);
				double pl = 0, vl = 0, cf = 0, vcf = 0, akl = 0;

				/* policy: clipped surrogate through dlogprobs */
				llama_zero_grads(policy);
				for (int b0 = 0; b0 < nb; b0 += policy->max_B) {
					int B = nb - b0 < policy->max_B ? nb - b0 : policy->max_B;
					for (int b = 0; b < B; b++)
						rows->seqs[b] = ro->ptr[idx[b0 + b]];
					int cnt = trainer_rows_pack(rows, rows->seqs, B, S, false), T = rows->T;
					float *dlp = rows->s[0], *old = rows->s[1], *adv = rows->s[2];
					gather(old, ro->old_lp, idx + b0, B, T, S);
					gather(adv, ro->adv, idx + b0, B, T, S);
					if (llama_forward(policy, rows->tokens, rows->targets, B, T,
							  LLAMA_LOGPROBS) < 0) {
						rc = trainer_fail(run, -EINVAL, "policy forward failed");
						goto out;
					}
					memset(dlp, 0, (size_t)B * T * sizeof(float));
					double w = cnt / ntok;
					struct rl_ppo_stats st;
					pl += w * rl_ppo_policy_loss(dlp, &st, policy->acts.logprobs, old, adv,
								     rows->mask, B * T, p->clip_eps, (float)w);
					cf += w * st.clipfrac;
					akl += w * st.approx_kl;
					if (llama_backward(policy, dlp, NULL, NULL) < 0) {
						rc = trainer_fail(run, -EINVAL, "policy backward failed");
						goto out;
					}
				}
				adamw_step(&opt, policy->params, policy->grads, 1.0f, &lr);

				/* value model: clipped value loss through dvalues */
				llama_zero_grads(value);
				for (int b0 = 0; b0 < nb; b0 += value->max_B) {
					int B = nb - b0 < value->max_B ? nb - b0 : value->max_B;
					for (int b = 0; b < B; b++)
						rows->seqs[b] = ro->ptr[idx[b0 + b]];
					int cnt = trainer_rows_pack(rows, rows->seqs, B, S, true), T = rows->T;
					float *dv = rows->s[0], *oldv = rows->s[1], *ret = rows->s[2];
					gather(oldv, ro->val, idx + b0, B, T, S);
					gather(ret, ro->ret, idx + b0, B, T, S);
					if (llama_forward(value, rows->tokens, NULL, B, T, LLAMA_VALUES) < 0) {
						rc = trainer_fail(run, -EINVAL, "value forward failed");
						goto out;
					}
					memset(dv, 0, (size_t)B * T * sizeof(float));
					double w = cnt / ntok;
					float vc = 0;
					vl += w * rl_ppo_value_loss(dv, &vc, value->acts.values, oldv, ret,
								    rows->mask, B * T, p->clip_value, (float)w);
					vcf += w * vc;
					if (llama_backward(value, NULL, NULL, dv) < 0) {
						rc = trainer_fail(run, -EINVAL, "value backward failed");
						goto out;
					}
				}
				adamw_step(&vopt, value->params, value->grads, 1.0f, NULL);
				pl_sum += pl;
				vl_sum += vl;
				cf_sum += cf;
				vcf_sum += vcf;
				akl_sum += akl;
				n_upd++;
				res->steps++;
				trainer_progress(run, (iter + (float)n_upd / (p->epochs * n_mb)) /
						 p->iterations);
				if (trainer_cancelled(run)) {
					rc = -ECANCELED;
					goto out;
				}
			}
		}
		rl_kl_ctl_update(&ctl, bs.kl, ro->n);
		emit_batch_metrics(run, iter, &bs);
		trainer_metric(run, iter, "kl_beta", beta);
		trainer_metric(run, iter, "rlhf_reward", (float)(rlhf / ro->n));
		trainer_metric(run, iter, "clipfrac", (float)(cf_sum / n_upd));
		trainer_metric(run, iter, "approx_kl", (float)(akl_sum / n_upd));
		trainer_metric(run, iter, "policy_loss", (float)(pl_sum / n_upd));
		trainer_metric(run, iter, "value_loss", (float)(vl_sum / n_upd));
		trainer_metric(run, iter, "value_clipfrac", (float)(vcf_sum / n_upd));
		trainer_metric(run, iter, "lr", lr);
		stats_to_result(res, &bs, iter);
		res->kl_beta = ctl.beta;
		trainer_logf(run, "ppo iter %d/%d reward %.4f kl %.4f beta %.4f entropy %.3f len %.1f "
			     "eos %.2f clipfrac %.3f vloss %.4f", iter + 1, p->iterations,
			     bs.reward_mean, bs.kl, beta, bs.entropy, bs.response_len, bs.eos_rate,
			     cf_sum / n_upd, vl_sum / n_upd);
	}
	trainer_progress(run, 1.0f);
	rc = 0;
out:
	if (have_opt)
		adamw_release(&opt);
	if (have_vopt)
		adamw_release(&vopt);
	rl_job_release(&j);
	return rc;
}

/* ---- RLOO / GRPO --------------------------------------------------------------- */

int trainer_group_rl(enum trainer_rl_kind kind, struct llama_model *policy,
		     struct llama_model *ref, struct llama_model *rm,
		     const struct trainer_prompt *prompts, int n,
		     const struct trainer_rl_params *p, const struct trainer_hooks *hooks,
		     struct trainer_rl_result *res, char *err, size_t errlen)
{
	struct rl_job j;
	memset(&j, 0, sizeof j);
	memset(res, 0, sizeof *res);
	trainer_run_init(&j.run, hooks, err, errlen);
	struct trainer_run *run = &j.run;
	struct adamw opt = { 0 };
	bool have_opt = false;
	int rc;
	if (kind != TRAINER_RLOO && kind != TRAINER_GRPO) {
		rc = trainer_fail(run, -EINVAL, "group rl kind %d is neither rloo nor grpo", (int)kind);
		goto out;
	}
	const char *name = kind == TRAINER_RLOO ? "rloo" : "grpo";
	if ((rc = rl_job_init(&j, false, policy, ref, NULL, rm, prompts, n, p)))
		goto out;
	struct rollouts *ro = &j.ro;
	struct trainer_rows *rows = &j.rows;
	int S = j.S, R = ro->cap, mbs = p->minibatch < R ? p->minibatch : R;
	int n_mb = (R + mbs - 1) / mbs, total = p->iterations * p->epochs * n_mb;
	if ((rc = trainer_opt_init(&opt, run, policy, p->lr, p->min_lr, p->warmup_frac,
				   p->weight_decay, p->grad_clip, total)) < 0)
		goto out;
	have_opt = true;
	trainer_logf(run, "%s: %d iterations of %d prompts x %d answers (up to %d tokens), "
		     "%d epochs of %d minibatches", name, p->iterations, p->prompts_per_iter, p->k,
		     p->max_new, p->epochs, n_mb);

	for (int iter = 0; iter < p->iterations; iter++) {
		if ((rc = rl_rollout(&j, iter)) < 0)
			goto out;
		double rsum = 0;
		for (int r = 0; r < ro->n; r++) {
			ro->seq_rew[r] = ro->score[r] - (ro->seqs[r].ended ? 0.0f : p->missing_eos_penalty);
			rsum += ro->seq_rew[r];
		}
		for (int g = 0; g < ro->n / p->k; g++) {
			float *a = ro->seq_adv + (size_t)g * p->k, *r = ro->seq_rew + (size_t)g * p->k;
			if (kind == TRAINER_RLOO)
				rl_rloo_advantages(a, r, p->k);
			else
				rl_grpo_advantages(a, r, p->k, p->grpo_eps);
		}
		struct batch_stats bs;
		batch_stats(ro, &bs);
		if (trainer_cancelled(run)) {
			rc = -ECANCELED;
			goto out;
		}

		double pl_sum = 0, cf_sum = 0, k3_sum = 0;
		int n_upd = 0;
		float lr = 0;
		for (int i = 0; i < ro->n; i++)
			j.perm[i] = i;
		for (int ep = 0; ep < p->epochs; ep++) {
			trainer_shuffle(j.perm, ro->n, &j.cyc.rng);
			for (int m0 = 0; m0 < ro->n; m0 += mbs) {
				int nb = ro->n - m0 < mbs ? ro->n - m0 : mbs;
				const int *idx = j.perm + m0;
				double ntok = count_tokens(ro, idx, nb);
				double pl = 0, cf = 0, k3 = 0;
				llama_zero_grads(policy);
				for (int b0 = 0; b0 < nb; b0 += policy->max_B) {
					int B = nb - b0 < policy->max_B ? nb - b0 : policy->max_B;
					for (int b = 0; b < B; b++)
						rows->seqs[b] = ro->ptr[idx[b0 + b]];
					int cnt = trainer_rows_pack(rows, rows->seqs, B, S, false), T = rows->T;
					float *dlp = rows->s[0], *old = rows->s[1], *rf = rows->s[2];
					float *adv = rows->s[3];
					gather(old, ro->old_lp, idx + b0, B, T, S);
					gather(rf, ro->ref_lp, idx + b0, B, T, S);
					for (int b = 0; b < B; b++)
						adv[b] = ro->seq_adv[idx[b0 + b]];
					if (llama_forward(policy, rows->tokens, rows->targets, B, T,
							  LLAMA_LOGPROBS) < 0) {
						rc = trainer_fail(run, -EINVAL, "policy forward failed");
						goto out;
					}
					memset(dlp, 0, (size_t)B * T * sizeof(float));
					double w = (double)B / nb;
					struct rl_pg_stats st;
					pl += w * rl_pg_loss(dlp, &st, policy->acts.logprobs, old, rf, adv,
							     rows->mask, B, T, p->clip_eps, p->kl_coef,
							     (float)w);
					cf += cnt / ntok * st.clipfrac;
					k3 += cnt / ntok * st.kl_mean;
					if (llama_backward(policy, dlp, NULL, NULL) < 0) {
						rc = trainer_fail(run, -EINVAL, "policy backward failed");
						goto out;
					}
				}
				adamw_step(&opt, policy->params, policy->grads, 1.0f, &lr);
				pl_sum += pl;
				cf_sum += cf;
				k3_sum += k3;
				n_upd++;
				res->steps++;
				trainer_progress(run, (iter + (float)n_upd / (p->epochs * n_mb)) /
						 p->iterations);
				if (trainer_cancelled(run)) {
					rc = -ECANCELED;
					goto out;
				}
			}
		}
		emit_batch_metrics(run, iter, &bs);
		trainer_metric(run, iter, "kl_beta", p->kl_coef);
		trainer_metric(run, iter, "rlhf_reward", (float)(rsum / ro->n));
		trainer_metric(run, iter, "clipfrac", (float)(cf_sum / n_upd));
		trainer_metric(run, iter, "kl_k3", (float)(k3_sum / n_upd));
		trainer_metric(run, iter, "policy_loss", (float)(pl_sum / n_upd));
		trainer_metric(run, iter, "lr", lr);
		stats_to_result(res, &bs, iter);
		res->kl_beta = p->kl_coef;
		trainer_logf(run, "%s iter %d/%d reward %.4f kl %.4f entropy %.3f len %.1f eos %.2f "
			     "clipfrac %.3f", name, iter + 1, p->iterations, bs.reward_mean, bs.kl,
			     bs.entropy, bs.response_len, bs.eos_rate, cf_sum / n_upd);
	}
	trainer_progress(run, 1.0f);
	rc = 0;
out:
	if (have_opt)
		adamw_release(&opt);
	rl_job_release(&j);
	return rc;
}

/* ---- evaluation ------------------------------------------------------------------ */

void trainer_eval_result_release(struct trainer_eval_result *r)
{
	free(r->tokens);
	free(r->n_tokens);
	free(r->reward);
	free(r->parent_reward);
	free(r->seq_kl);
	memset(r, 0, sizeof *r);
}

/* prompts per generation chunk of trainer_eval */
#define EVAL_CHUNK_SEQS 64

int trainer_eval(struct llama_model *policy, struct llama_model *ref, struct llama_model *parent,
		 struct llama_model *rm, const struct trainer_prompt *prompts, int n,
		 const struct trainer_eval_params *p, const struct trainer_hooks *hooks,
		 struct trainer_eval_result *res, char *err, size_t errlen)
{
	struct trainer_run run;
	trainer_run_init(&run, hooks, err, errlen);
	memset(res, 0, sizeof *res);
	res->reward_mean = res->kl = res->win_rate = NAN;
	if (!policy || !policy->acts.logits)
		return trainer_fail(&run, -EINVAL, "eval needs a policy language model");
	int V = policy->cfg.vocab_size;
	if ((ref && (!ref->acts.logits || ref->cfg.vocab_size != V)) ||
	    (parent && parent->cfg.vocab_size != V) || (rm && rm->cfg.vocab_size != V))
		return trainer_fail(&run, -EINVAL, "eval models must share the policy's vocabulary "
				    "(and ref be a language model)");
	if (n <= 0 || !prompts || p->k <= 0 || p->max_new <= 0 || !(p->temperature >= 0) ||
	    p->eos_id < 0 || p->eos_id >= V)
		return trainer_fail(&run, -EINVAL, "bad eval settings: %d prompts, k %d, max_new %d",
				    n, p->k, p->max_new);
	bool use_parent = parent && rm;
	const struct llama_model *ms[] = { policy, ref, use_parent ? parent : NULL, rm };
	int S = policy->cfg.seq_len, rc;
	if (use_parent && parent->cfg.seq_len < S)
		S = parent->cfg.seq_len;
	for (int i = 0; i < 4; i++)
		if (ms[i] && ms[i]->max_T < S)
			S = ms[i]->max_T;
	for (int i = 0; i < n; i++) {
		struct trainer_seq s = { prompts[i].tokens, prompts[i].n, prompts[i].n, false };
		if ((rc = trainer_seq_check(&run, &s, V, "prompt", i)))
			return rc;
		if (prompts[i].n >= S)
			return trainer_fail(&run, -EINVAL, "prompt %d has %d tokens: no room for an "
					    "answer in %d positions", i, prompts[i].n, S);
	}
	int k = p->k, chunk = EVAL_CHUNK_SEQS / k > 0 ? EVAL_CHUNK_SEQS / k : 1;
	if (chunk > n)
		chunk = n;
	int na = n * k;
	struct rollouts ro = { 0 }, rp = { 0 };
	struct trainer_rows rows = { 0 };
	struct infer inf = { 0 }, pinf = { 0 };
	bool have_ro = false, have_rp = false, have_rows = false, have_inf = false, have_pinf = false;
	int *pidx = malloc((size_t)chunk * sizeof(int)), *stream0 = malloc((size_t)chunk * sizeof(int));
	res->n_answers = na;
	res->stride = p->max_new;
	res->tokens = calloc((size_t)na * p->max_new, sizeof(int));
	res->n_tokens = calloc((size_t)na, sizeof(int));
	res->reward = rm ? calloc((size_t)na, sizeof(float)) : NULL;
	res->parent_reward = use_parent ? calloc((size_t)na, sizeof(float)) : NULL;
	res->seq_kl = ref ? calloc((size_t)na, sizeof(float)) : NULL;
	char e[256];
	if (!pidx || !stream0 || !res->tokens || !res->n_tokens || (rm && !res->reward) ||
	    (use_parent && !res->parent_reward) || (ref && !res->seq_kl)) {
		rc = trainer_fail(&run, -ENOMEM, "out of memory for %d answers", na);
		goto out;
	}
	if (rollouts_init(&ro, chunk * k, S, k) < 0) {
		rc = trainer_fail(&run, -ENOMEM, "out of memory for eval rollouts");
		goto out;
	}
	have_ro = true;
	if (use_parent) {
		if (rollouts_init(&rp, chunk * k, S, k) < 0) {
			rc = trainer_fail(&run, -ENOMEM, "out of memory for eval rollouts");
			goto out;
		}
		have_rp = true;
	}
	if (trainer_rows_init(&rows, cap_of(ms, 4, false), cap_of(ms, 4, true)) < 0) {
		rc = trainer_fail(&run, -ENOMEM, "out of memory for eval buffers");
		goto out;
	}
	have_rows = true;
	if (infer_init(&inf, &policy->cfg, policy->params, k, e, sizeof e) < 0) {
		rc = trainer_fail(&run, -ENOMEM, "%s", e);
		goto out;
	}
	have_inf = true;
	if (use_parent) {
		if (infer_init(&pinf, &parent->cfg, parent->params, k, e, sizeof e) < 0) {
			rc = trainer_fail(&run, -ENOMEM, "%s", e);
			goto out;
		}
		have_pinf = true;
	}
	struct gen_settings g = { k, p->max_new, p->eos_id, p->temperature, p->top_p, p->seed };
	double rsum = 0, klsum = 0, win = 0, len = 0, eos = 0;
	for (int c0 = 0; c0 < n; c0 += chunk) {
		int nc = n - c0 < chunk ? n - c0 : chunk;
		for (int i = 0; i < nc; i++)
			pidx[i] = stream0[i] = c0 + i;
		if ((rc = rollouts_generate(&ro, &inf, &run, prompts, pidx, stream0, nc, &g)) < 0)
			goto out;
		struct trainer_outs po = { .S = S, .lpsum = ro.lpsum };
		struct trainer_outs rf = { .S = S, .lpsum = ro.ref_sum };
		struct trainer_outs so = { .S = S, .score = ro.score };
		if (ref && ((rc = trainer_collect(policy, &rows, &run, ro.ptr, ro.n, S, &po)) < 0 ||
			    (rc = trainer_collect(ref, &rows, &run, ro.ptr, ro.n, S, &rf)) < 0))
			goto out;
		if (rm && (rc = trainer_collect(rm, &rows, &run, ro.ptr, ro.n, S, &so)) < 0)
			goto out;
		if (use_parent) {
			if ((rc = rollouts_generate(&rp, &pinf, &run, prompts, pidx, stream0, nc, &g)) < 0)
				goto out;
			struct trainer_outs ps = { .S = S, .score = rp.score };
			if ((rc = trainer_collect(rm, &rows, &run, rp.ptr, rp.n, S, &ps)) < 0)
				goto out;
		}
		for (int r = 0; r < ro.n; r++) {
			int a = c0 * k + r;
			const struct trainer_seq *s = &ro.seqs[r];
			int ng = s->n - s->prompt_len;
			memcpy(res->tokens + (size_t)a * p->max_new, s->tokens + s->prompt_len,
			       (size_t)ng * sizeof(int));
			res->n_tokens[a] = ng;
			len += ng;
			eos += s->ended;
			if (ref) {
				res->seq_kl[a] = ro.lpsum[r] - ro.ref_sum[r];
				klsum += res->seq_kl[a];
			}
			if (rm) {
				res->reward[a] = ro.score[r];
				rsum += ro.score[r];
			}
			if (use_parent) {
				res->parent_reward[a] = rp.score[r];
				win += ro.score[r] > rp.score[r] ? 1.0 : ro.score[r] == rp.score[r] ? 0.5 : 0.0;
			}
		}
		trainer_progress(&run, (float)(c0 + nc) / n);
		if (c0 + nc < n && trainer_cancelled(&run)) {
			rc = -ECANCELED;
			goto out;
		}
	}
	res->response_len = (float)(len / na);
	res->eos_rate = (float)(eos / na);
	if (ref)
		res->kl = (float)(klsum / na);
	if (rm)
		res->reward_mean = (float)(rsum / na);
	if (use_parent)
		res->win_rate = (float)(win / na);
	trainer_logf(&run, "eval: %d answers, reward %.4f kl %.4f win_rate %.3f len %.1f eos %.2f",
		     na, res->reward_mean, res->kl, res->win_rate, res->response_len, res->eos_rate);
	rc = 0;
out:
	if (rc)
		trainer_eval_result_release(res);
	if (have_ro)
		rollouts_release(&ro);
	if (have_rp)
		rollouts_release(&rp);
	if (have_rows)
		trainer_rows_release(&rows);
	if (have_inf)
		infer_release(&inf);
	if (have_pinf)
		infer_release(&pinf);
	free(pidx);
	free(stream0);
	return rc;
}
