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
 *
 * PPO and RLOO/GRPO read top to bottom as prepare (rl_job_init: check, then
 * allocate once), then per iteration: rollout, advantages, the update — one
 * epoch/minibatch loop for both (rl_update), each minibatch a training step
 * (model/trainer_impl.h) of the method's losses — and the report.
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
	p->kl_target = 1.0f;
	p->kl_horizon = 1000.0f;
	p->kl_coef = 0.1f;
	p->kl_ceiling = 4.0f;
	p->entropy_floor = 0.5f;
	p->missing_eos_penalty = 1.0f;
	p->grpo_eps = 1e-4f;
	p->eos_id = INFER_EOS;
	p->seed = 1;
}

const char *trainer_rl_stop_name(int reason)
{
	switch (reason) {
	case TRAINER_RL_DONE: return "done";
	case TRAINER_RL_KL_CEILING: return "kl_ceiling";
	case TRAINER_RL_ENTROPY_FLOOR: return "entropy_floor";
	default: return "unknown";
	}
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
	float *prior_f;              /* (cap, TRAINER_PRIOR_FEATS) the rm prior's features */
	int *gen;                    /* (cap, S) one infer call's new tokens */
	int *gen_n;                  /* (cap) */
	struct infer_prompt *ips;    /* (cap) one infer call's prompts */
};

static void rollouts_release(struct rollouts *ro)
{
	if (!ro)
		return;
	free(ro->tokens);
	free(ro->seqs);
	free(ro->ptr);
	float **f[] = { &ro->old_lp, &ro->ref_lp, &ro->ent, &ro->val, &ro->kl, &ro->rew,
			&ro->adv, &ro->ret, &ro->mask, &ro->score, &ro->seq_rew, &ro->seq_adv,
			&ro->seq_kl, &ro->lpsum, &ro->ref_sum, &ro->prior_f };
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		free(*f[i]);
	free(ro->gen);
	free(ro->gen_n);
	free(ro->ips);
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
	ro->gen = calloc(G, sizeof(int));
	ro->gen_n = calloc((size_t)cap, sizeof(int));
	ro->ips = calloc((size_t)cap, sizeof *ro->ips);
	bool ok = ro->tokens && ro->seqs && ro->ptr && ro->gen && ro->gen_n && ro->ips;
	float **grid[] = { &ro->old_lp, &ro->ref_lp, &ro->ent, &ro->val, &ro->kl, &ro->rew,
			   &ro->adv, &ro->ret, &ro->mask };
	for (size_t i = 0; i < sizeof grid / sizeof grid[0]; i++)
		ok = ok && (*grid[i] = calloc(G, sizeof(float)));
	float **seq[] = { &ro->score, &ro->seq_rew, &ro->seq_adv, &ro->seq_kl, &ro->lpsum,
			  &ro->ref_sum };
	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++)
		ok = ok && (*seq[i] = calloc((size_t)cap, sizeof(float)));
	ok = ok && (ro->prior_f = calloc((size_t)cap * TRAINER_PRIOR_FEATS, sizeof(float)));
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
	struct infer_params ip;
	infer_params_default(&ip);
	ip.k = k;
	ip.max_new = g->max_new < S ? g->max_new : S; /* the stride of ro->gen's rows */
	ip.temperature = g->temperature;
	ip.top_p = g->top_p;
	ip.top_k = 0;
	ip.stop_ids[0] = g->eos_id;
	ip.n_stop = 1;
	/* as many prompts per infer call as the engine holds (infer_generate_batch) */
	for (int i0 = 0; i0 < np; i0 += inf->max_prompts) {
		int nb = np - i0 < inf->max_prompts ? np - i0 : inf->max_prompts;
		for (int i = 0; i < nb; i++) {
			const struct trainer_prompt *pr = &prompts[pidx[i0 + i]];
			ro->ips[i] = (struct infer_prompt){ pr->tokens, pr->n, g->seed,
							    stream0[i0 + i] * k, S - pr->n };
		}
		char e[256];
		if (infer_generate_batch(inf, ro->ips, nb, &ip, ro->gen, ro->gen_n, NULL, e,
					 sizeof e) < 0)
			return trainer_fail(run, -EINVAL, "sampling for prompts %d.. failed: %s",
					    pidx[i0], e);
		for (int i = 0; i < nb; i++) {
			const struct trainer_prompt *pr = &prompts[pidx[i0 + i]];
			for (int j = 0; j < k; j++) {
				int r = (i0 + i) * k + j, ng = ro->gen_n[i * k + j];
				int *row = ro->tokens + (size_t)r * S;
				memcpy(row, pr->tokens, (size_t)pr->n * sizeof(int));
				memcpy(row + pr->n, ro->gen + (size_t)(i * k + j) * ip.max_new,
				       (size_t)ng * sizeof(int));
				struct trainer_seq *s = &ro->seqs[r];
				s->tokens = row;
				s->n = pr->n + ng;
				s->prompt_len = pr->n;
				s->ended = ng > 0 && row[s->n - 1] == g->eos_id;
				for (int t = pr->n - 1; t < s->n - 1; t++)
					ro->mask[(size_t)r * S + t] = 1.0f;
			}
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

/* One PPO / RLOO / GRPO call: the models, the rollout buffers, the prompt
 * order, the optimizers (vopt: PPO's value model). */
struct rl_job {
	struct trainer_run run;
	const struct trainer_rl_params *p;
	struct trainer_rl_result *res;
	struct llama_model *policy, *ref, *value, *rm;
	const struct trainer_prompt *prompts;
	int S;                         /* context every model can score */
	int mbs, n_mb;                 /* sequences per minibatch, minibatches per epoch */
	struct rollouts ro;
	struct trainer_rows rows;
	struct infer inf;
	struct prompt_cycle cyc;
	int *pidx, *stream0;           /* (prompts_per_iter) */
	int *perm;                     /* (cap) minibatch order */
	float kl_coef;                 /* group RL: the K3 term's coefficient now */
	struct adamw opt, vopt;
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
	adamw_release(&j->opt);
	adamw_release(&j->vopt);
	rollouts_release(&j->ro);
	trainer_rows_release(&j->rows);
	infer_release(&j->inf);
	free(j->cyc.order);
	free(j->pidx);
	free(j->stream0);
	free(j->perm);
}

/* Checks the models and the settings; j->S the context every model scores. */
static int rl_check(struct rl_job *j, bool ppo, int n)
{
	const struct trainer_rl_params *p = j->p;
	struct trainer_run *run = &j->run;
	struct llama_model *policy = j->policy, *ref = j->ref, *value = j->value;
	if (!policy || !policy->acts.logits || !policy->grads)
		return trainer_fail(run, -EINVAL, "the policy must be a language model with gradients");
	int V = policy->cfg.vocab_size;
	if (!ref || !ref->acts.logits || ref->cfg.vocab_size != V)
		return trainer_fail(run, -EINVAL, "the reference must be a language model of the "
				    "policy's vocabulary");
	if (p->score_fn)
		j->rm = NULL;
	else if (!j->rm || j->rm->cfg.vocab_size != V)
		return trainer_fail(run, -EINVAL, "the reward model must share the policy's vocabulary");
	if (ppo && (!value || !value->grads || value->cfg.vocab_size != V))
		return trainer_fail(run, -EINVAL, "ppo needs a value model with gradients and the "
				    "policy's vocabulary");
	if (n < 0 || (n > 0 && !j->prompts) || p->iterations <= 0 || p->prompts_per_iter <= 0 ||
	    p->k < (ppo ? 1 : 2) || p->max_new <= 0 || p->epochs <= 0 || p->minibatch <= 0 ||
	    !(p->temperature >= 0) || !(p->clip_eps >= 0) || !(p->kl_beta >= 0) ||
	    !(p->kl_coef >= 0) || isnan(p->kl_target) || isnan(p->kl_horizon) ||
	    isnan(p->kl_ceiling) || isnan(p->entropy_floor) ||
	    !isfinite(p->missing_eos_penalty) || p->eos_id < 0 ||
	    p->eos_id >= V || (ppo && !(p->value_lr > 0)))
		return trainer_fail(run, -EINVAL, "bad rl settings: %d prompts, iterations %d, "
				    "prompts_per_iter %d, k %d%s, max_new %d, epochs %d, minibatch %d",
				    n, p->iterations, p->prompts_per_iter, p->k,
				    ppo ? "" : " (>= 2 for rloo/grpo)", p->max_new, p->epochs,
				    p->minibatch);
	if (!(p->lr > 0) || !(p->min_lr >= 0) || !(p->weight_decay >= 0) || isnan(p->grad_clip))
		return trainer_fail(run, -EINVAL, "bad optimizer settings: lr %g", p->lr);
	const struct llama_model *ms[] = { policy, ref, value, j->rm };
	j->S = policy->cfg.seq_len;
	for (int i = 0; i < 4; i++)
		if (ms[i] && ms[i]->max_T < j->S)
			j->S = ms[i]->max_T;
	return 0;
}

/* The prompts that leave room for an answer, in the seeded cycle. */
static int rl_prompts(struct rl_job *j, int n)
{
	struct trainer_run *run = &j->run;
	int V = j->policy->cfg.vocab_size, S = j->S, nu = 0, rc;
	j->cyc.order = malloc((size_t)(n ? n : 1) * sizeof(int));
	if (!j->cyc.order)
		return trainer_fail(run, -ENOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		const struct trainer_prompt *pr = &j->prompts[i];
		struct trainer_seq s = { pr->tokens, pr->n, pr->n, false };
		if ((rc = trainer_seq_check(run, &s, V, "prompt", i)))
			return rc;
		if (pr->n < S)
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
	j->cyc.rng = trainer_rng_seed(j->p->seed, 0x9C1);
	return 0;
}

static int rl_job_init(struct rl_job *j, bool ppo, int n)
{
	const struct trainer_rl_params *p = j->p;
	struct trainer_run *run = &j->run;
	int rc = rl_check(j, ppo, n);
	if (rc || (rc = rl_prompts(j, n)))
		return rc;
	const struct llama_model *ms[] = { j->policy, j->ref, j->value, j->rm };
	int cap = p->prompts_per_iter * p->k, S = j->S;
	j->pidx = malloc((size_t)p->prompts_per_iter * sizeof(int));
	j->stream0 = malloc((size_t)p->prompts_per_iter * sizeof(int));
	j->perm = malloc((size_t)cap * sizeof(int));
	if (!j->pidx || !j->stream0 || !j->perm)
		return trainer_fail(run, -ENOMEM, "out of memory");
	if (rollouts_init(&j->ro, cap, S, p->k) < 0)
		return trainer_fail(run, -ENOMEM, "out of memory for %d rollouts of %d tokens", cap, S);
	if (trainer_rows_init(&j->rows, cap_of(ms, 4, false), cap_of(ms, 4, true)) < 0)
		return trainer_fail(run, -ENOMEM, "out of memory for rl buffers");
	char e[256];
	int B = infer_batch_size(&j->policy->cfg, p->k, p->prompts_per_iter);
	if (infer_init_batch(&j->inf, &j->policy->cfg, j->policy->params, B * p->k, B, e,
			     sizeof e) < 0)
		return trainer_fail(run, -ENOMEM, "%s", e);
	j->mbs = p->minibatch < cap ? p->minibatch : cap;
	j->n_mb = (cap + j->mbs - 1) / j->mbs;
	int total = p->iterations * p->epochs * j->n_mb;
	if ((rc = trainer_opt_init(&j->opt, run, j->policy, p->lr, p->min_lr, p->warmup_frac,
				   p->weight_decay, p->grad_clip, total)) < 0)
		return rc;
	if (ppo) {
		float vmin = p->min_lr / p->lr * p->value_lr;
		if ((rc = trainer_opt_init(&j->vopt, run, j->value, p->value_lr, vmin, p->warmup_frac,
					   p->weight_decay, p->grad_clip, total)) < 0)
			return rc;
	}
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
	/* a reward model whose likelihood prior reads the reference: the
	 * reference's log-probs just collected are half its features; only the
	 * answers after the empty prompt take a forward of their own */
	struct trainer_prior *pr = j->rm && j->rm->prior && j->rm->prior->lm == j->ref ?
				   j->rm->prior : NULL;
	if (pr)
		j->rm->prior = NULL;
	if ((rc = trainer_collect(j->policy, &j->rows, &j->run, ro->ptr, ro->n, S, &po)) < 0 ||
	    (rc = trainer_collect(j->ref, &j->rows, &j->run, ro->ptr, ro->n, S, &rf)) < 0 ||
	    (j->rm && (rc = trainer_collect(j->rm, &j->rows, &j->run, ro->ptr, ro->n, S, &so)) < 0) ||
	    (j->value && (rc = trainer_collect(j->value, &j->rows, &j->run, ro->ptr, ro->n, S,
					       &vo)) < 0) ||
	    (pr && (rc = trainer_prior_collect(pr, &j->rows, &j->run, ro->ptr, ro->n, S, ro->ref_lp,
					       S, ro->prior_f)) < 0)) {
		if (pr)
			j->rm->prior = pr;
		return rc;
	}
	if (pr) {
		j->rm->prior = pr;
		for (int r = 0; r < ro->n; r++)
			ro->score[r] = (pr->alone ? 0.0f : ro->score[r]) +
				       trainer_prior_score(pr, ro->prior_f + (size_t)r * TRAINER_PRIOR_FEATS);
	}
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

static void emit_batch_metrics(struct trainer_run *run, int iter, const struct batch_stats *b);

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

/*
 * The hard stops, checked on each fresh rollout batch before its update:
 * TRAINER_RL_KL_CEILING when the batch's mean per-sequence KL is above
 * kl_ceiling, TRAINER_RL_ENTROPY_FLOOR when its mean per-token entropy is
 * below entropy_floor times the first batch's; else TRAINER_RL_DONE (go on).
 * Keeps kl_max and entropy_first in the result, and logs a stop.
 */
static int rl_stop_check(struct rl_job *j, const char *name, int iter, const struct batch_stats *b)
{
	const struct trainer_rl_params *p = j->p;
	struct trainer_rl_result *res = j->res;
	if (iter == 0) {
		res->entropy_first = b->entropy;
		res->kl_max = b->kl;
	} else if (b->kl > res->kl_max) {
		res->kl_max = b->kl;
	}
	if (p->kl_ceiling > 0 && b->kl > p->kl_ceiling) {
		trainer_logf(&j->run, "%s: stopping before update %d of %d: the batch's KL %.4f is "
			     "above the ceiling %.4f (the policy is kept as it was after update %d)",
			     name, iter + 1, p->iterations, b->kl, p->kl_ceiling, iter);
		return TRAINER_RL_KL_CEILING;
	}
	if (p->entropy_floor > 0 && iter > 0 && res->entropy_first > 0 &&
	    b->entropy < p->entropy_floor * res->entropy_first) {
		trainer_logf(&j->run, "%s: stopping before update %d of %d: the batch's entropy "
			     "%.4f is below %.2f of the first batch's %.4f (the policy is kept as it "
			     "was after update %d)", name, iter + 1, p->iterations, b->entropy,
			     p->entropy_floor, res->entropy_first, iter);
		return TRAINER_RL_ENTROPY_FLOOR;
	}
	return TRAINER_RL_DONE;
}

/* A stop before update iter: the result describes the policy as returned —
 * the stopping batch was sampled from it — with iter updates done. */
static void rl_stopped(struct rl_job *j, int iter, int reason, const struct batch_stats *b)
{
	emit_batch_metrics(&j->run, iter, b);
	stats_to_result(j->res, b, iter);
	j->res->iterations = iter;
	j->res->stopped_at = iter;
	j->res->stop_reason = reason;
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

/* ---- the update: epochs x minibatches, shared by PPO and group RL ----------- */

/* What the minibatches of one update report, summed (each minibatch's figures
 * already weighted over its tokens or sequences). */
struct upd_stats {
	double policy_loss, value_loss, clipfrac, value_clipfrac;
	double kl;                     /* PPO: approx_kl; group RL: the K3 term */
};

/* One minibatch idx[0..nb) of ntok response tokens: the method's losses
 * through training steps and its optimizer steps; *lr the policy's. */
typedef int rl_minibatch_fn(struct rl_job *j, const int *idx, int nb, double ntok,
			    struct upd_stats *u, float *lr);

/* The epochs over the rollout batch, each a fresh shuffle into minibatches of
 * j->mbs; progress and cancellation after every minibatch. */
static int rl_update(struct rl_job *j, int iter, rl_minibatch_fn *minibatch,
		     struct upd_stats *sum, int *n_upd, float *lr)
{
	const struct trainer_rl_params *p = j->p;
	struct rollouts *ro = &j->ro;
	for (int i = 0; i < ro->n; i++)
		j->perm[i] = i;
	for (int ep = 0; ep < p->epochs; ep++) {
		trainer_shuffle(j->perm, ro->n, &j->cyc.rng);
		for (int m0 = 0; m0 < ro->n; m0 += j->mbs) {
			int nb = ro->n - m0 < j->mbs ? ro->n - m0 : j->mbs;
			const int *idx = j->perm + m0;
			struct upd_stats u = { 0 };
			int rc = minibatch(j, idx, nb, count_tokens(ro, idx, nb), &u, lr);
			if (rc < 0)
				return rc;
			sum->policy_loss += u.policy_loss;
			sum->value_loss += u.value_loss;
			sum->clipfrac += u.clipfrac;
			sum->value_clipfrac += u.value_clipfrac;
			sum->kl += u.kl;
			(*n_upd)++;
			j->res->steps++;
			trainer_progress(&j->run, (iter + (float)*n_upd / (p->epochs * j->n_mb)) /
					 p->iterations);
			if (trainer_cancelled(&j->run))
				return -ECANCELED;
		}
	}
	return 0;
}

/* ---- PPO ------------------------------------------------------------------------- */

/* Token rewards (-beta KL, plus the score less the missing-EOS penalty at the
 * last token), GAE, whitened advantages.  Returns the batch's summed token
 * rewards. */
static double ppo_advantages(struct rl_job *j, float beta)
{
	const struct trainer_rl_params *p = j->p;
	struct rollouts *ro = &j->ro;
	int S = ro->S;
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
	return rlhf;
}

/* The forward of one chunk of a minibatch: rollouts idx[b0..b0+*B), *B as many
 * as m takes at once of the nb, packed into j->rows.  The token count, or a
 * negative error. */
static int chunk_forward(struct rl_job *j, struct llama_model *m, const int *idx, int b0, int nb,
			 unsigned what, const char *name, int *B)
{
	struct trainer_rows *rows = &j->rows;
	*B = nb - b0 < m->max_B ? nb - b0 : m->max_B;
	for (int b = 0; b < *B; b++)
		rows->seqs[b] = j->ro.ptr[idx[b0 + b]];
	return trainer_step_forward(m, rows, &j->run, rows->seqs, *B, j->ro.S, what, name);
}

/* PPO's minibatch: the clipped surrogate through dlogprobs (policy step),
 * then the clipped value loss through dvalues (value step). */
static int ppo_minibatch(struct rl_job *j, const int *idx, int nb, double ntok,
			 struct upd_stats *u, float *lr)
{
	const struct trainer_rl_params *p = j->p;
	struct llama_model *policy = j->policy, *value = j->value;
	struct rollouts *ro = &j->ro;
	struct trainer_rows *rows = &j->rows;
	int S = ro->S, rc;

	llama_zero_grads(policy);
	for (int b0 = 0; b0 < nb; b0 += policy->max_B) {
		int B;
		int cnt = chunk_forward(j, policy, idx, b0, nb, LLAMA_LOGPROBS, "policy", &B);
		if (cnt < 0)
			return cnt;
		int T = rows->T;
		float *old = rows->s[0], *adv = rows->s[1];
		gather(old, ro->old_lp, idx + b0, B, T, S);
		gather(adv, ro->adv, idx + b0, B, T, S);
		double w = cnt / ntok;
		struct rl_ppo_stats st;
		u->policy_loss += w * rl_ppo_policy_loss(rows->grad, &st, policy->acts.logprobs, old,
							 adv, rows->mask, B * T, p->clip_eps, (float)w);
		u->clipfrac += w * st.clipfrac;
		u->kl += w * st.approx_kl;
		if ((rc = trainer_step_backward(policy, rows, &j->run, "policy")) < 0)
			return rc;
	}
	adamw_step(&j->opt, policy->params, policy->grads, 1.0f, lr);

	llama_zero_grads(value);
	for (int b0 = 0; b0 < nb; b0 += value->max_B) {
		int B;
		int cnt = chunk_forward(j, value, idx, b0, nb, LLAMA_VALUES, "value", &B);
		if (cnt < 0)
			return cnt;
		int T = rows->T;
		float *oldv = rows->s[0], *ret = rows->s[1];
		gather(oldv, ro->val, idx + b0, B, T, S);
		gather(ret, ro->ret, idx + b0, B, T, S);
		double w = cnt / ntok;
		float vc = 0;
		u->value_loss += w * rl_ppo_value_loss(rows->grad, &vc, value->acts.values, oldv, ret,
						       rows->mask, B * T, p->clip_value, (float)w);
		u->value_clipfrac += w * vc;
		if ((rc = trainer_step_backward(value, rows, &j->run, "value")) < 0)
			return rc;
	}
	adamw_step(&j->vopt, value->params, value->grads, 1.0f, NULL);
	return 0;
}

int trainer_ppo(struct llama_model *policy, struct llama_model *ref, struct llama_model *value,
		struct llama_model *rm, const struct trainer_prompt *prompts, int n,
		const struct trainer_rl_params *p, const struct trainer_hooks *hooks,
		struct trainer_rl_result *res, char *err, size_t errlen)
{
	struct rl_job j = { .p = p, .res = res, .policy = policy, .ref = ref, .value = value,
			    .rm = rm, .prompts = prompts };
	struct trainer_run *run = &j.run;
	memset(res, 0, sizeof *res);
	trainer_run_init(run, hooks, err, errlen);
	int rc = rl_job_init(&j, true, n);
	if (rc)
		goto out;
	struct rl_kl_ctl ctl;
	rl_kl_ctl_init(&ctl, p->kl_beta, p->kl_target, p->kl_horizon);
	trainer_logf(run, "ppo: %d iterations of %d prompts x %d answers (up to %d tokens), "
		     "%d epochs of %d minibatches", p->iterations, p->prompts_per_iter, p->k,
		     p->max_new, p->epochs, j.n_mb);

	for (int iter = 0; iter < p->iterations; iter++) {
		if ((rc = rl_rollout(&j, iter)) < 0)
			goto out;
		float beta = ctl.beta;
		double rlhf = ppo_advantages(&j, beta);
		struct batch_stats bs;
		batch_stats(&j.ro, &bs);
		int stop = rl_stop_check(&j, "ppo", iter, &bs);
		if (stop != TRAINER_RL_DONE) {
			rl_stopped(&j, iter, stop, &bs);
			res->kl_beta = ctl.beta;
			break;
		}
		if (trainer_cancelled(run)) {
			rc = -ECANCELED;
			goto out;
		}
		struct upd_stats u = { 0 };
		int n_upd = 0;
		float lr = 0;
		if ((rc = rl_update(&j, iter, ppo_minibatch, &u, &n_upd, &lr)) < 0)
			goto out;

		rl_kl_ctl_update(&ctl, bs.kl, j.ro.n);
		emit_batch_metrics(run, iter, &bs);
		trainer_metric(run, iter, "kl_beta", beta);
		trainer_metric(run, iter, "rlhf_reward", (float)(rlhf / j.ro.n));
		trainer_metric(run, iter, "clipfrac", (float)(u.clipfrac / n_upd));
		trainer_metric(run, iter, "approx_kl", (float)(u.kl / n_upd));
		trainer_metric(run, iter, "policy_loss", (float)(u.policy_loss / n_upd));
		trainer_metric(run, iter, "value_loss", (float)(u.value_loss / n_upd));
		trainer_metric(run, iter, "value_clipfrac", (float)(u.value_clipfrac / n_upd));
		trainer_metric(run, iter, "lr", lr);
		stats_to_result(res, &bs, iter);
		res->stopped_at = iter + 1;
		res->kl_beta = ctl.beta;
		trainer_logf(run, "ppo iter %d/%d reward %.4f kl %.4f beta %.4f entropy %.3f len %.1f "
			     "eos %.2f clipfrac %.3f vloss %.4f", iter + 1, p->iterations,
			     bs.reward_mean, bs.kl, beta, bs.entropy, bs.response_len, bs.eos_rate,
			     u.clipfrac / n_upd, u.value_loss / n_upd);
	}
	trainer_progress(run, 1.0f);
	rc = 0;
out:
	rl_job_release(&j);
	return rc;
}

/* ---- RLOO / GRPO --------------------------------------------------------------- */

/* One advantage per answer from its group of K: the score less the missing-EOS
 * penalty, against the others (RLOO) or the group's mean and std (GRPO).
 * Returns the batch's summed rewards. */
static double group_advantages(struct rl_job *j, enum trainer_rl_kind kind)
{
	const struct trainer_rl_params *p = j->p;
	struct rollouts *ro = &j->ro;
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
	return rsum;
}

/* Group RL's minibatch: the clipped policy-gradient loss with the K3 KL term,
 * one policy step. */
static int group_minibatch(struct rl_job *j, const int *idx, int nb, double ntok,
			   struct upd_stats *u, float *lr)
{
	const struct trainer_rl_params *p = j->p;
	struct llama_model *policy = j->policy;
	struct rollouts *ro = &j->ro;
	struct trainer_rows *rows = &j->rows;
	int S = ro->S, rc;
	llama_zero_grads(policy);
	for (int b0 = 0; b0 < nb; b0 += policy->max_B) {
		int B;
		int cnt = chunk_forward(j, policy, idx, b0, nb, LLAMA_LOGPROBS, "policy", &B);
		if (cnt < 0)
			return cnt;
		int T = rows->T;
		float *old = rows->s[0], *rf = rows->s[1], *adv = rows->s[2];
		gather(old, ro->old_lp, idx + b0, B, T, S);
		gather(rf, ro->ref_lp, idx + b0, B, T, S);
		for (int b = 0; b < B; b++)
			adv[b] = ro->seq_adv[idx[b0 + b]];
		double w = (double)B / nb;
		struct rl_pg_stats st;
		u->policy_loss += w * rl_pg_loss(rows->grad, &st, policy->acts.logprobs, old, rf, adv,
						 rows->mask, B, T, p->clip_eps, j->kl_coef, (float)w);
		u->clipfrac += cnt / ntok * st.clipfrac;
		u->kl += cnt / ntok * st.kl_mean;
		if ((rc = trainer_step_backward(policy, rows, &j->run, "policy")) < 0)
			return rc;
	}
	adamw_step(&j->opt, policy->params, policy->grads, 1.0f, lr);
	return 0;
}

int trainer_group_rl(enum trainer_rl_kind kind, struct llama_model *policy,
		     struct llama_model *ref, struct llama_model *rm,
		     const struct trainer_prompt *prompts, int n,
		     const struct trainer_rl_params *p, const struct trainer_hooks *hooks,
		     struct trainer_rl_result *res, char *err, size_t errlen)
{
	struct rl_job j = { .p = p, .res = res, .policy = policy, .ref = ref, .rm = rm,
			    .prompts = prompts };
	struct trainer_run *run = &j.run;
	memset(res, 0, sizeof *res);
	trainer_run_init(run, hooks, err, errlen);
	int rc;
	if (kind != TRAINER_RLOO && kind != TRAINER_GRPO) {
		rc = trainer_fail(run, -EINVAL, "group rl kind %d is neither rloo nor grpo", (int)kind);
		goto out;
	}
	const char *name = kind == TRAINER_RLOO ? "rloo" : "grpo";
	if ((rc = rl_job_init(&j, false, n)))
		goto out;
	j.kl_coef = p->kl_coef;
	res->kl_beta = p->kl_coef;
	trainer_logf(run, "%s: %d iterations of %d prompts x %d answers (up to %d tokens), "
		     "%d epochs of %d minibatches", name, p->iterations, p->prompts_per_iter, p->k,
		     p->max_new, p->epochs, j.n_mb);

	for (int iter = 0; iter < p->iterations; iter++) {
		if ((rc = rl_rollout(&j, iter)) < 0)
			goto out;
		double rsum = group_advantages(&j, kind);
		struct batch_stats bs;
		batch_stats(&j.ro, &bs);
		int stop = rl_stop_check(&j, name, iter, &bs);
		if (stop != TRAINER_RL_DONE) {
			rl_stopped(&j, iter, stop, &bs);
			break;
		}
		if (trainer_cancelled(run)) {
			rc = -ECANCELED;
			goto out;
		}
		struct upd_stats u = { 0 };
		int n_upd = 0;
		float lr = 0;
		float coef = j.kl_coef;
		if ((rc = rl_update(&j, iter, group_minibatch, &u, &n_upd, &lr)) < 0)
			goto out;
		j.kl_coef = rl_kl_control(coef, bs.kl, p->kl_target, p->kl_horizon, j.ro.n);

		emit_batch_metrics(run, iter, &bs);
		trainer_metric(run, iter, "kl_beta", coef);
		trainer_metric(run, iter, "rlhf_reward", (float)(rsum / j.ro.n));
		trainer_metric(run, iter, "clipfrac", (float)(u.clipfrac / n_upd));
		trainer_metric(run, iter, "kl_k3", (float)(u.kl / n_upd));
		trainer_metric(run, iter, "policy_loss", (float)(u.policy_loss / n_upd));
		trainer_metric(run, iter, "lr", lr);
		stats_to_result(res, &bs, iter);
		res->stopped_at = iter + 1;
		res->kl_beta = j.kl_coef;
		trainer_logf(run, "%s iter %d/%d reward %.4f kl %.4f kl_coef %.4f entropy %.3f len %.1f "
			     "eos %.2f clipfrac %.3f", name, iter + 1, p->iterations, bs.reward_mean,
			     bs.kl, coef, bs.entropy, bs.response_len, bs.eos_rate, u.clipfrac / n_upd);
	}
	trainer_progress(run, 1.0f);
	rc = 0;
out:
	rl_job_release(&j);
	return rc;
}

/* ---- evaluation ------------------------------------------------------------------ */

void trainer_eval_result_release(struct trainer_eval_result *r)
{
	if (!r)
		return;
	free(r->tokens);
	free(r->n_tokens);
	free(r->reward);
	free(r->parent_reward);
	free(r->parent_tokens);
	free(r->parent_n_tokens);
	free(r->seq_kl);
	memset(r, 0, sizeof *r);
}

/* prompts per generation chunk of trainer_eval */
#define EVAL_CHUNK_SEQS 64

/* One evaluation: the policy's answers (ro) and, for the win rate, the
 * parent's (rp), generated chunk prompts at a time. */
struct eval_job {
	struct trainer_run run;
	const struct trainer_eval_params *p;
	struct llama_model *policy, *ref, *parent, *rm;
	bool use_parent;             /* parent and rm both given */
	const struct trainer_prompt *prompts;
	int n;                       /* prompts */
	int S;                       /* context every model used can score */
	int chunk;                   /* prompts per chunk */
	int *pidx, *stream0;         /* (chunk) */
	struct rollouts ro, rp;
	struct trainer_rows rows;
	struct infer inf, pinf;
	double rsum, klsum, win, len, eos;
	double plen, peos;           /* the parent's answers' lengths and EOS */
};

static void eval_job_release(struct eval_job *j)
{
	rollouts_release(&j->ro);
	rollouts_release(&j->rp);
	trainer_rows_release(&j->rows);
	infer_release(&j->inf);
	infer_release(&j->pinf);
	free(j->pidx);
	free(j->stream0);
}

/* Checks the models, the settings and the prompts; sets j->S. */
static int eval_check(struct eval_job *j)
{
	const struct trainer_eval_params *p = j->p;
	struct llama_model *policy = j->policy, *ref = j->ref, *parent = j->parent, *rm = j->rm;
	if (!policy || !policy->acts.logits)
		return trainer_fail(&j->run, -EINVAL, "eval needs a policy language model");
	int V = policy->cfg.vocab_size, rc;
	if ((ref && (!ref->acts.logits || ref->cfg.vocab_size != V)) ||
	    (parent && parent->cfg.vocab_size != V) || (rm && rm->cfg.vocab_size != V))
		return trainer_fail(&j->run, -EINVAL, "eval models must share the policy's "
				    "vocabulary (and ref be a language model)");
	if (j->n <= 0 || !j->prompts || p->k <= 0 || p->max_new <= 0 || !(p->temperature >= 0) ||
	    p->eos_id < 0 || p->eos_id >= V)
		return trainer_fail(&j->run, -EINVAL, "bad eval settings: %d prompts, k %d, "
				    "max_new %d", j->n, p->k, p->max_new);
	j->use_parent = parent && rm;
	const struct llama_model *ms[] = { policy, ref, j->use_parent ? parent : NULL, rm };
	j->S = policy->cfg.seq_len;
	if (j->use_parent && parent->cfg.seq_len < j->S)
		j->S = parent->cfg.seq_len;
	for (int i = 0; i < 4; i++)
		if (ms[i] && ms[i]->max_T < j->S)
			j->S = ms[i]->max_T;
	for (int i = 0; i < j->n; i++) {
		const struct trainer_prompt *pr = &j->prompts[i];
		struct trainer_seq s = { pr->tokens, pr->n, pr->n, false };
		if ((rc = trainer_seq_check(&j->run, &s, V, "prompt", i)))
			return rc;
		if (pr->n >= j->S)
			return trainer_fail(&j->run, -EINVAL, "prompt %d has %d tokens: no room for "
					    "an answer in %d positions", i, pr->n, j->S);
	}
	return 0;
}

/* The result's buffers, the rollouts, rows and inference engines. */
static int eval_prepare(struct eval_job *j, struct trainer_eval_result *res)
{
	const struct trainer_eval_params *p = j->p;
	struct trainer_run *run = &j->run;
	int k = p->k, na = j->n * k;
	j->chunk = EVAL_CHUNK_SEQS / k > 0 ? EVAL_CHUNK_SEQS / k : 1;
	if (j->chunk > j->n)
		j->chunk = j->n;
	const struct llama_model *ms[] = { j->policy, j->ref, j->use_parent ? j->parent : NULL,
					   j->rm };
	j->pidx = malloc((size_t)j->chunk * sizeof(int));
	j->stream0 = malloc((size_t)j->chunk * sizeof(int));
	res->n_answers = na;
	res->stride = p->max_new;
	res->tokens = calloc((size_t)na * p->max_new, sizeof(int));
	res->n_tokens = calloc((size_t)na, sizeof(int));
	res->reward = j->rm ? calloc((size_t)na, sizeof(float)) : NULL;
	if (j->use_parent) {
		res->parent_reward = calloc((size_t)na, sizeof(float));
		res->parent_tokens = calloc((size_t)na * p->max_new, sizeof(int));
		res->parent_n_tokens = calloc((size_t)na, sizeof(int));
	}
	res->seq_kl = j->ref ? calloc((size_t)na, sizeof(float)) : NULL;
	if (!j->pidx || !j->stream0 || !res->tokens || !res->n_tokens || (j->rm && !res->reward) ||
	    (j->use_parent && (!res->parent_reward || !res->parent_tokens || !res->parent_n_tokens)) ||
	    (j->ref && !res->seq_kl))
		return trainer_fail(run, -ENOMEM, "out of memory for %d answers", na);
	if (rollouts_init(&j->ro, j->chunk * k, j->S, k) < 0 ||
	    (j->use_parent && rollouts_init(&j->rp, j->chunk * k, j->S, k) < 0))
		return trainer_fail(run, -ENOMEM, "out of memory for eval rollouts");
	if (trainer_rows_init(&j->rows, cap_of(ms, 4, false), cap_of(ms, 4, true)) < 0)
		return trainer_fail(run, -ENOMEM, "out of memory for eval buffers");
	char e[256];
	int B = infer_batch_size(&j->policy->cfg, k, j->chunk);
	if (infer_init_batch(&j->inf, &j->policy->cfg, j->policy->params, B * k, B, e, sizeof e) < 0 ||
	    (j->use_parent &&
	     infer_init_batch(&j->pinf, &j->parent->cfg, j->parent->params, B * k, B, e,
			      sizeof e) < 0))
		return trainer_fail(run, -ENOMEM, "%s", e);
	return 0;
}

/* Answer a's new tokens of s into row a of tokens (stride) and n_tokens;
 * returns how many. */
static int eval_answer(int *tokens, int *n_tokens, int a, int stride, const struct trainer_seq *s)
{
	int ng = s->n - s->prompt_len;
	memcpy(tokens + (size_t)a * stride, s->tokens + s->prompt_len, (size_t)ng * sizeof(int));
	n_tokens[a] = ng;
	return ng;
}

/* Prompts c0 .. c0+nc: the policy's answers (prompt i's from streams i*k..),
 * their log-prob sums under policy and ref, their scores, the parent's
 * answers and scores; each answer into res and the sums. */
static int eval_chunk(struct eval_job *j, int c0, int nc, struct trainer_eval_result *res)
{
	const struct trainer_eval_params *p = j->p;
	struct trainer_run *run = &j->run;
	struct rollouts *ro = &j->ro, *rp = &j->rp;
	int k = p->k, S = j->S, rc;
	struct gen_settings g = { k, p->max_new, p->eos_id, p->temperature, p->top_p, p->seed };
	for (int i = 0; i < nc; i++)
		j->pidx[i] = j->stream0[i] = c0 + i;
	if ((rc = rollouts_generate(ro, &j->inf, run, j->prompts, j->pidx, j->stream0, nc, &g)) < 0)
		return rc;
	/* a reward model whose likelihood prior reads the reference: the
	 * reference's log-probs of the answers, collected for the KL, are its
	 * features' first forward (as in rl_rollout) */
	struct trainer_prior *pr = j->ref && j->rm && j->rm->prior && j->rm->prior->lm == j->ref ?
				   j->rm->prior : NULL;
	struct trainer_outs po = { .S = S, .lpsum = ro->lpsum };
	struct trainer_outs rf = { .S = S, .lpsum = ro->ref_sum, .lp = pr ? ro->ref_lp : NULL };
	struct trainer_outs so = { .S = S, .score = ro->score };
	struct trainer_outs ps = { .S = S, .score = rp->score };
	if (j->ref && ((rc = trainer_collect(j->policy, &j->rows, run, ro->ptr, ro->n, S, &po)) < 0 ||
		       (rc = trainer_collect(j->ref, &j->rows, run, ro->ptr, ro->n, S, &rf)) < 0))
		return rc;
	if (pr) {
		/* the network's score (none when the prior scores alone), then the prior's */
		j->rm->prior = NULL;
		rc = pr->alone ? 0 : trainer_collect(j->rm, &j->rows, run, ro->ptr, ro->n, S, &so);
		j->rm->prior = pr;
		if (rc < 0 || (rc = trainer_prior_collect(pr, &j->rows, run, ro->ptr, ro->n, S,
							  ro->ref_lp, S, ro->prior_f)) < 0)
			return rc;
		for (int r = 0; r < ro->n; r++)
			ro->score[r] = (pr->alone ? 0.0f : ro->score[r]) +
				       trainer_prior_score(pr, ro->prior_f + (size_t)r * TRAINER_PRIOR_FEATS);
	} else if (j->rm && (rc = trainer_collect(j->rm, &j->rows, run, ro->ptr, ro->n, S, &so)) < 0) {
		return rc;
	}
	if (j->use_parent &&
	    ((rc = rollouts_generate(rp, &j->pinf, run, j->prompts, j->pidx, j->stream0, nc,
				     &g)) < 0 ||
	     (rc = trainer_collect(j->rm, &j->rows, run, rp->ptr, rp->n, S, &ps)) < 0))
		return rc;
	for (int r = 0; r < ro->n; r++) {
		int a = c0 * k + r;
		const struct trainer_seq *s = &ro->seqs[r];
		j->len += eval_answer(res->tokens, res->n_tokens, a, p->max_new, s);
		j->eos += s->ended;
		if (j->ref) {
			res->seq_kl[a] = ro->lpsum[r] - ro->ref_sum[r];
			j->klsum += res->seq_kl[a];
		}
		if (j->rm) {
			res->reward[a] = ro->score[r];
			j->rsum += ro->score[r];
		}
		if (j->use_parent) {
			const struct trainer_seq *q = &rp->seqs[r];
			j->plen += eval_answer(res->parent_tokens, res->parent_n_tokens, a, p->max_new, q);
			j->peos += q->ended;
			res->parent_reward[a] = rp->score[r];
			j->win += ro->score[r] > rp->score[r] ? 1.0 : ro->score[r] == rp->score[r] ? 0.5 : 0.0;
		}
	}
	return 0;
}

/* The means over every answer. */
static void eval_finish(struct eval_job *j, struct trainer_eval_result *res)
{
	int na = res->n_answers;
	res->response_len = (float)(j->len / na);
	res->eos_rate = (float)(j->eos / na);
	if (j->ref)
		res->kl = (float)(j->klsum / na);
	if (j->rm)
		res->reward_mean = (float)(j->rsum / na);
	if (j->use_parent) {
		res->win_rate = (float)(j->win / na);
		res->parent_response_len = (float)(j->plen / na);
		res->parent_eos_rate = (float)(j->peos / na);
	}
	trainer_logf(&j->run, "eval: %d answers, reward %.4f kl %.4f win_rate %.3f len %.1f eos %.2f",
		     na, res->reward_mean, res->kl, res->win_rate, res->response_len, res->eos_rate);
}

int trainer_eval(struct llama_model *policy, struct llama_model *ref, struct llama_model *parent,
		 struct llama_model *rm, const struct trainer_prompt *prompts, int n,
		 const struct trainer_eval_params *p, const struct trainer_hooks *hooks,
		 struct trainer_eval_result *res, char *err, size_t errlen)
{
	struct eval_job j = { .p = p, .policy = policy, .ref = ref, .parent = parent, .rm = rm,
			      .prompts = prompts, .n = n };
	trainer_run_init(&j.run, hooks, err, errlen);
	memset(res, 0, sizeof *res);
	res->reward_mean = res->kl = res->win_rate = NAN;
	res->parent_response_len = res->parent_eos_rate = NAN;
	/* nothing allocated yet: a refused input leaves res as just set */
	int rc = eval_check(&j);
	if (rc)
		return rc;
	if ((rc = eval_prepare(&j, res)) < 0)
		goto out;

	for (int c0 = 0; c0 < n; c0 += j.chunk) {
		int nc = n - c0 < j.chunk ? n - c0 : j.chunk;
		if ((rc = eval_chunk(&j, c0, nc, res)) < 0)
			goto out;
		trainer_progress(&j.run, (float)(c0 + nc) / n);
		if (c0 + nc < n && trainer_cancelled(&j.run)) {
			rc = -ECANCELED;
			goto out;
		}
	}
	eval_finish(&j, res);
	rc = 0;
out:
	if (rc)
		trainer_eval_result_release(res);
	eval_job_release(&j);
	return rc;
}
