/*
 * model/trainer.c — the offline training procedures of model/trainer.h: SFT,
 * the reward model and DPO, plus what every procedure shares (reporting
 * through the hooks, packing sequences into padded rows, the training step —
 * forward, the caller's loss, backward — over one micro-batch, running a model
 * over many sequences, the optimizer set-up).  The on-policy methods and
 * evaluation are in model/trainer_rl.c.
 */
#include "model/trainer.h"
#include "model/trainer_impl.h"
#include "model/rl.h"
#include "model/rng.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- reporting ------------------------------------------------------------ */

void trainer_run_init(struct trainer_run *run, const struct trainer_hooks *h, char *err,
		      size_t errlen)
{
	run->h = h;
	run->progress = 0.0f;
	run->err = err;
	run->errlen = err ? errlen : 0;
	if (err && errlen)
		err[0] = '\0';
}

void trainer_progress(struct trainer_run *run, float frac)
{
	if (!(frac >= run->progress))
		frac = run->progress;  /* also catches NAN */
	if (frac > 1.0f)
		frac = 1.0f;
	run->progress = frac;
	if (run->h && run->h->progress)
		run->h->progress(run->h->arg, frac);
}

void trainer_metric(struct trainer_run *run, int step, const char *name, float value)
{
	if (run->h && run->h->metric)
		run->h->metric(run->h->arg, step, name, value);
}

void trainer_logf(struct trainer_run *run, const char *fmt, ...)
{
	if (!run->h || !run->h->log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	run->h->log(run->h->arg, line);
}

int trainer_fail(struct trainer_run *run, int code, const char *fmt, ...)
{
	if (run->err && run->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(run->err, run->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

bool trainer_cancelled(struct trainer_run *run)
{
	if (!run->h || !run->h->cancelled || !run->h->cancelled(run->h->arg))
		return false;
	trainer_fail(run, -ECANCELED, "cancelled");
	trainer_logf(run, "cancelled");
	return true;
}

double trainer_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- randomness ----------------------------------------------------------- */

uint64_t trainer_rng_seed(uint64_t seed, uint64_t salt)
{
	uint64_t s = seed ^ (salt * 0xD1B54A32D192ED03ull);
	rng_splitmix64(&s);
	return s;
}

void trainer_shuffle(int *v, int n, uint64_t *s)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rng_splitmix64(s) % (uint64_t)(i + 1));
		int t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

/* normal(0, 1) by Box-Muller */
static double rand_normal(uint64_t *s)
{
	double u1 = ((rng_splitmix64(s) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
	double u2 = (rng_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- sequences and rows --------------------------------------------------- */

int trainer_seq_check(struct trainer_run *run, const struct trainer_seq *s, int vocab,
		      const char *what, int index)
{
	if (s->n < 1 || !s->tokens)
		return trainer_fail(run, -EINVAL, "%s %d: empty sequence", what, index);
	if (s->prompt_len < 0 || s->prompt_len > s->n)
		return trainer_fail(run, -EINVAL, "%s %d: prompt length %d outside 0..%d", what,
				    index, s->prompt_len, s->n);
	for (int t = 0; t < s->n; t++)
		if (s->tokens[t] < 0 || s->tokens[t] >= vocab)
			return trainer_fail(run, -EINVAL, "%s %d: token %d at %d outside the vocabulary of %d",
					    what, index, s->tokens[t], t, vocab);
	return 0;
}

/* First position that scores a response token: token j is predicted at j-1,
 * and token 0 never is. */
static int first_scored(const struct trainer_seq *s)
{
	return (s->prompt_len > 1 ? s->prompt_len : 1) - 1;
}

static int kept_len(const struct trainer_seq *s, int max_T, bool need_last)
{
	int keep = need_last ? max_T : max_T + 1;
	return s->n < keep ? s->n : keep;
}

int trainer_seq_scored(const struct trainer_seq *s, int max_T, bool need_last)
{
	int len = kept_len(s, max_T, need_last);
	int k = len - 1 - first_scored(s);
	return k > 0 ? k : 0;
}

/* The positions [*a, *b) whose values make the score of a row that kept len
 * tokens of s: its last token, or (LLAMA_SCORE_MEAN) its response's tokens
 * prompt_len .. len-1 — the last token when none of the response was kept. */
static void score_span(const struct trainer_seq *s, int len, enum llama_score mode, int *a, int *b)
{
	int f = s->prompt_len > 1 ? s->prompt_len : 1;
	*a = mode == LLAMA_SCORE_MEAN && f < len ? f : len - 1;
	*b = len;
}

/* A row's score from its values (len); see enum llama_score. */
static float seq_score_forward(const float *values, const struct trainer_seq *s, int len,
			       enum llama_score mode)
{
	int a, b;
	score_span(s, len, mode, &a, &b);
	double sum = 0;
	for (int t = a; t < b; t++)
		sum += values[t];
	return (float)(sum / (b - a));
}

/* Accumulates dLoss/dvalues (len) of a row from dLoss/dscore. */
static void seq_score_backward(float *dvalues, const struct trainer_seq *s, int len,
			       enum llama_score mode, float dscore)
{
	int a, b;
	score_span(s, len, mode, &a, &b);
	for (int t = a; t < b; t++)
		dvalues[t] += dscore / (float)(b - a);
}

int trainer_rows_init(struct trainer_rows *r, int cap_B, int cap_T)
{
	memset(r, 0, sizeof *r);
	size_t N = (size_t)cap_B * cap_T;
	r->cap_B = cap_B;
	r->cap_T = cap_T;
	r->tokens = malloc(N * sizeof(int));
	r->targets = malloc(N * sizeof(int));
	r->mask = malloc(N * sizeof(float));
	r->len = malloc((size_t)cap_B * sizeof(int));
	r->seqs = malloc((size_t)cap_B * sizeof *r->seqs);
	r->grad = calloc(N, sizeof(float));
	bool ok = r->tokens && r->targets && r->mask && r->len && r->seqs && r->grad;
	for (int i = 0; i < 4; i++) {
		r->s[i] = calloc(N, sizeof(float));
		ok = ok && r->s[i];
	}
	if (!ok) {
		trainer_rows_release(r);
		return -ENOMEM;
	}
	return 0;
}

void trainer_rows_release(struct trainer_rows *r)
{
	if (!r)
		return;
	free(r->tokens);
	free(r->targets);
	free(r->mask);
	free(r->len);
	free(r->seqs);
	free(r->grad);
	for (int i = 0; i < 4; i++)
		free(r->s[i]);
	memset(r, 0, sizeof *r);
}

int trainer_rows_pack(struct trainer_rows *r, const struct trainer_seq *const *seqs, int n,
		      int max_T, bool need_last)
{
	int T = 1, counted = 0;
	for (int b = 0; b < n; b++) {
		int len = kept_len(seqs[b], max_T, need_last);
		int pos = need_last ? len : len - 1;
		r->len[b] = len;
		if (pos > T)
			T = pos;
	}
	r->B = n;
	r->T = T;
	for (int b = 0; b < n; b++) {
		const struct trainer_seq *s = seqs[b];
		int len = r->len[b], pos = need_last ? len : len - 1, f = first_scored(s);
		int *tok = r->tokens + (size_t)b * T, *tg = r->targets + (size_t)b * T;
		float *mk = r->mask + (size_t)b * T;
		for (int t = 0; t < T; t++) {
			tok[t] = t < pos ? s->tokens[t] : 0;
			tg[t] = t + 1 < len ? s->tokens[t + 1] : -1;
			mk[t] = t >= f && t + 1 < len ? 1.0f : 0.0f;
			counted += t >= f && t + 1 < len;
		}
	}
	return counted;
}

/* ---- the training step ------------------------------------------------------ */

int trainer_step_forward(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
			 const struct trainer_seq *const *seqs, int B, int max_T, unsigned what,
			 const char *name)
{
	int n_masked = trainer_rows_pack(r, seqs, B, max_T, what & LLAMA_VALUES);
	r->what = what;
	if (llama_forward(m, r->tokens, r->targets, B, r->T, what) < 0)
		return trainer_fail(run, -EINVAL, "%s%sforward of %d x %d tokens failed",
				    name ? name : "", name ? " " : "", B, r->T);
	memset(r->grad, 0, (size_t)B * r->T * sizeof(float));
	return n_masked;
}

int trainer_step_backward(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
			  const char *name)
{
	bool lp = r->what & LLAMA_LOGPROBS;
	if (llama_backward(m, lp ? r->grad : NULL, NULL, lp ? NULL : r->grad) < 0)
		return trainer_fail(run, -EINVAL, "%s backward failed", name);
	return 0;
}

int trainer_step_ce(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
		    const struct trainer_seq *const *seqs, int B, int max_T, float norm,
		    float *loss, const char *name)
{
	int n_masked = trainer_rows_pack(r, seqs, B, max_T, false);
	r->what = 0;
	if (llama_lm_forward_backward(m, r->tokens, r->targets, r->mask, B, r->T, norm, loss) < 0)
		return trainer_fail(run, -EINVAL, "%s forward of %d x %d tokens failed", name, B,
				    r->T);
	return n_masked;
}

float trainer_masked_sum(const float *mask, const float *x, int T)
{
	double sum = 0;
	for (int t = 0; t < T; t++)
		sum += mask[t] * x[t];
	return (float)sum;
}

int trainer_collect(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
		    const struct trainer_seq *const *seqs, int n, int max_T,
		    const struct trainer_outs *o)
{
	if (max_T <= 0 || max_T > m->max_T)
		max_T = m->max_T;
	bool need_last = o->val || o->score;
	unsigned what = (o->lp || o->lpsum ? LLAMA_LOGPROBS : 0) | (o->ent ? LLAMA_ENTROPY : 0) |
			(need_last ? LLAMA_VALUES : 0);
	for (int i0 = 0; i0 < n; i0 += m->max_B) {
		int nb = n - i0 < m->max_B ? n - i0 : m->max_B;
		int rc = trainer_step_forward(m, r, run, seqs + i0, nb, max_T, what, NULL);
		if (rc < 0)
			return rc;
		int T = r->T;
		const struct llama_acts *a = &m->acts;
		for (int b = 0; b < nb; b++) {
			size_t src = (size_t)b * T, dst = (size_t)(i0 + b) * o->S;
			int cp = T < o->S ? T : o->S;
			if (o->lp)
				memcpy(o->lp + dst, a->logprobs + src, cp * sizeof(float));
			if (o->ent)
				memcpy(o->ent + dst, a->entropy + src, cp * sizeof(float));
			if (o->val)
				memcpy(o->val + dst, a->values + src, cp * sizeof(float));
			if (o->score)
				o->score[i0 + b] = seq_score_forward(a->values + src, seqs[i0 + b],
								     r->len[b], m->score);
			if (o->lpsum)
				o->lpsum[i0 + b] = trainer_masked_sum(r->mask + src, a->logprobs + src, T);
		}
	}
	return 0;
}

/* ---- optimizer -------------------------------------------------------------- */

int trainer_opt_init(struct adamw *o, struct trainer_run *run, const struct llama_model *m,
		     float lr, float min_lr, float warmup_frac, float weight_decay,
		     float grad_clip, int total_steps)
{
	struct adamw_config c;
	adamw_config_default(&c);
	c.lr = lr;
	c.min_lr = min_lr;
	float wf = warmup_frac > 0 ? (warmup_frac < 1 ? warmup_frac : 1) : 0;
	c.warmup_steps = (int)lroundf(wf * total_steps);
	c.total_steps = total_steps;
	c.weight_decay = weight_decay;
	c.grad_clip = grad_clip;
	char e[128];
	if (adamw_init(o, &c, &m->cfg, e, sizeof e) < 0)
		return trainer_fail(run, -ENOMEM, "%s", e);
	return 0;
}

/* Checks the optimizer fields shared by every params struct. */
static int check_opt(struct trainer_run *run, float lr, float min_lr, float wd, float clip)
{
	if (!(lr > 0) || !(min_lr >= 0) || !(wd >= 0) || isnan(clip) || !isfinite(lr))
		return trainer_fail(run, -EINVAL, "bad optimizer settings: lr %g, min_lr %g, "
				    "weight_decay %g, grad_clip %g", lr, min_lr, wd, clip);
	return 0;
}

static bool is_lm(const struct llama_model *m)
{
	return m && m->acts.logits;
}

/* Sorts p[0..n) by sequence length (insertion sort; n is a batch) so that the
 * micro-batches of a step pad less. */
static void sort_by_len(const struct trainer_seq **p, int n)
{
	for (int i = 1; i < n; i++) {
		const struct trainer_seq *x = p[i];
		int j = i - 1;
		while (j >= 0 && p[j]->n > x->n) {
			p[j + 1] = p[j];
			j--;
		}
		p[j + 1] = x;
	}
}

/*
 * Zeroes the gradients of everything below the top train_layers transformer
 * layers (the embedding included), so AdamW leaves those weights as they are
 * (zero gradient, zero moments: a zero update; decay is the caller's choice).
 * The final norm and the heads always train.  train_layers < 0 or >= n_layers
 * trains everything.
 */
static void freeze_lower(struct llama_model *m, int train_layers)
{
	int L = m->cfg.n_layers;
	if (train_layers < 0 || train_layers >= L || !m->grads)
		return;
	for (int k = 0; k <= 9; k++) { /* token_embedding .. w3 */
		size_t off, len;
		llama_tensor_span(&m->cfg, k, &off, &len);
		size_t frozen = k == 0 ? len : len / L * (size_t)(L - train_layers);
		memset(m->grads + off, 0, frozen * sizeof(float));
	}
}

/* ---- SFT -------------------------------------------------------------------- */

void trainer_sft_defaults(struct trainer_sft_params *p)
{
	memset(p, 0, sizeof *p);
	p->lr = 5e-4f;
	p->min_lr = 5e-5f;
	p->warmup_frac = 0.05f;
	p->weight_decay = 0.0f;
	p->grad_clip = 1.0f;
	p->epochs = 3;
	p->batch_size = 16;
	p->max_steps = 0;
	p->seed = 1;
}

int trainer_sft(struct llama_model *policy, const struct trainer_seq *seqs, int n,
		const struct trainer_sft_params *p, const struct trainer_hooks *hooks,
		struct trainer_sft_result *res, char *err, size_t errlen)
{
	struct trainer_run run;
	trainer_run_init(&run, hooks, err, errlen);
	memset(res, 0, sizeof *res);
	if (!policy || !is_lm(policy) || !policy->grads)
		return trainer_fail(&run, -EINVAL, "sft needs a language model with gradients");
	if (n < 0 || (n > 0 && !seqs) || p->epochs <= 0 || p->batch_size <= 0 || p->max_steps < 0)
		return trainer_fail(&run, -EINVAL, "bad sft settings: %d sequences, epochs %d, "
				    "batch_size %d, max_steps %d", n, p->epochs, p->batch_size,
				    p->max_steps);
	int rc = check_opt(&run, p->lr, p->min_lr, p->weight_decay, p->grad_clip);
	if (rc)
		return rc;
	int T_max = policy->max_T, nu = 0, n_cut = 0;
	for (int i = 0; i < n; i++) {
		if ((rc = trainer_seq_check(&run, &seqs[i], policy->cfg.vocab_size, "sequence", i)))
			return rc;
		if (trainer_seq_scored(&seqs[i], T_max, false) > 0)
			nu++;
		n_cut += seqs[i].n > T_max + 1;
	}
	if (nu == 0)
		return trainer_fail(&run, -EINVAL, "no sequence with a response token to train on "
				    "(of %d)", n);
	if (n_cut)
		trainer_logf(&run, "%d sequences cut to the model's %d positions", n_cut, T_max);

	int bs = p->batch_size, spe = (nu + bs - 1) / bs;
	long long total = (long long)spe * p->epochs;
	if (p->max_steps > 0 && total > p->max_steps)
		total = p->max_steps;
	struct adamw opt;
	struct trainer_rows rows;
	int *order = malloc((size_t)nu * sizeof(int));
	const struct trainer_seq **batch = malloc((size_t)bs * sizeof *batch);
	if (!order || !batch || trainer_rows_init(&rows, policy->max_B, T_max) < 0) {
		free(order);
		free(batch);
		return trainer_fail(&run, -ENOMEM, "out of memory for sft buffers");
	}
	if ((rc = trainer_opt_init(&opt, &run, policy, p->lr, p->min_lr, p->warmup_frac,
				   p->weight_decay, p->grad_clip, (int)total)) < 0)
		goto out_rows;
	for (int i = 0, j = 0; i < n; i++)
		if (trainer_seq_scored(&seqs[i], T_max, false) > 0)
			order[j++] = i;
	trainer_logf(&run, "sft: %d sequences, %lld steps of %d", nu, total, bs);

	uint64_t rng = trainer_rng_seed(p->seed, 0x5F7);
	double ep_loss = 0, ep_tok = 0;
	for (int step = 0; step < total; step++) {
		int within = step % spe;
		if (within == 0) {
			trainer_shuffle(order, nu, &rng);
			ep_loss = ep_tok = 0;
		}
		int b0 = within * bs, nb = nu - b0 < bs ? nu - b0 : bs;
		double wsum = 0, t0 = trainer_now();
		long long ntok = 0;
		for (int i = 0; i < nb; i++) {
			batch[i] = &seqs[order[b0 + i]];
			wsum += trainer_seq_scored(batch[i], T_max, false);
		}
		sort_by_len(batch, nb);
		llama_zero_grads(policy);
		double loss = 0;
		for (int i0 = 0; i0 < nb; i0 += policy->max_B) {
			int mb = nb - i0 < policy->max_B ? nb - i0 : policy->max_B;
			trainer_rows_pack(&rows, batch + i0, mb, T_max, false);
			float l = 0;
			if (llama_lm_forward_backward(policy, rows.tokens, rows.targets, rows.mask, mb,
						      rows.T, (float)wsum, &l) < 0) {
				rc = trainer_fail(&run, -EINVAL, "sft forward of %d x %d tokens failed",
						  mb, rows.T);
				goto out_opt;
			}
			loss += l;
			for (int b = 0; b < mb; b++)
				ntok += rows.len[b];
		}
		float lr;
		double gnorm = adamw_step(&opt, policy->params, policy->grads, 1.0f, &lr);
		double dt = trainer_now() - t0;
		if (step == 0)
			res->loss_first = (float)loss;
		ep_loss += loss * wsum;
		ep_tok += wsum;
		res->tokens += (long long)wsum;
		res->steps = step + 1;
		res->loss = (float)(ep_loss / ep_tok);
		trainer_metric(&run, step, "loss", (float)loss);
		trainer_metric(&run, step, "lr", lr);
		trainer_metric(&run, step, "grad_norm", (float)gnorm);
		trainer_metric(&run, step, "tokens_per_sec", dt > 0 ? (float)(ntok / dt) : 0.0f);
		trainer_progress(&run, (float)(step + 1) / (float)total);
		if ((step + 1) % 50 == 0 || step + 1 == total)
			trainer_logf(&run, "sft step %d/%lld loss %.4f lr %.2e grad_norm %.3f", step + 1,
				     total, loss, lr, gnorm);
		if (step + 1 < total && trainer_cancelled(&run)) {
			rc = -ECANCELED;
			goto out_opt;
		}
	}
	rc = 0;
out_opt:
	adamw_release(&opt);
out_rows:
	trainer_rows_release(&rows);
	free(order);
	free(batch);
	return rc;
}

/* ---- reward model ----------------------------------------------------------- */

void trainer_reward_defaults(struct trainer_reward_params *p)
{
	memset(p, 0, sizeof *p);
	p->lr = 3e-4f;
	p->min_lr = 3e-5f;
	p->warmup_frac = 0.05f;
	p->weight_decay = 0.0f;
	p->grad_clip = 1.0f;
	p->epochs = 2;
	p->batch_groups = 8;
	p->margin_scale = 0.0f;
	p->heldout_frac = 0.2f;
	p->head_init_std = 0.01f;
	p->normalize = true;
	p->train_layers = -1;
	p->seed = 1;
}

int trainer_score(struct llama_model *rm, const struct trainer_seq *seqs, int n,
		  float *scores, char *err, size_t errlen)
{
	struct trainer_run run;
	trainer_run_init(&run, NULL, err, errlen);
	if (!rm || n < 0 || (n > 0 && (!seqs || !scores)))
		return trainer_fail(&run, -EINVAL, "nothing to score");
	int rc;
	for (int i = 0; i < n; i++)
		if ((rc = trainer_seq_check(&run, &seqs[i], rm->cfg.vocab_size, "sequence", i)))
			return rc;
	struct trainer_rows rows;
	const struct trainer_seq **ptr = malloc((size_t)(n ? n : 1) * sizeof *ptr);
	if (!ptr || trainer_rows_init(&rows, rm->max_B, rm->max_T) < 0) {
		free(ptr);
		return trainer_fail(&run, -ENOMEM, "out of memory for scoring");
	}
	for (int i = 0; i < n; i++)
		ptr[i] = &seqs[i];
	struct trainer_outs o = { .S = rm->max_T, .score = scores };
	rc = trainer_collect(rm, &rows, &run, ptr, n, 0, &o);
	trainer_rows_release(&rows);
	free(ptr);
	return rc;
}

/* Pairwise accuracy of groups gi[0..ng) from their responses' scores r
 * (flattened per group at off[g]). */
static void pair_acc(const struct trainer_group *groups, const int *gi, int ng, const int *off,
		     const float *r, int *pairs, int *correct)
{
	*pairs = *correct = 0;
	for (int i = 0; i < ng; i++) {
		const struct trainer_group *g = &groups[gi[i]];
		struct rl_pair_stats st;
		rl_rm_pair_loss(NULL, &st, r + off[gi[i]], g->scores, g->k, 0.0f, 0.0f);
		*pairs += st.n_pairs;
		*correct += st.n_correct;
	}
}

int trainer_reward(struct llama_model *rm, const struct trainer_group *groups, int n,
		   const struct trainer_reward_params *p, const struct trainer_hooks *hooks,
		   struct trainer_reward_result *res, char *err, size_t errlen)
{
	struct trainer_run run;
	trainer_run_init(&run, hooks, err, errlen);
	memset(res, 0, sizeof *res);
	res->heldout_acc = NAN;
	res->train_acc = NAN;
	if (!rm || !rm->grads)
		return trainer_fail(&run, -EINVAL, "the reward model needs gradients");
	if (n < 0 || (n > 0 && !groups) || p->epochs <= 0 || p->batch_groups <= 0 ||
	    !(p->heldout_frac >= 0 && p->heldout_frac < 1) || !(p->head_init_std >= 0) ||
	    !isfinite(p->margin_scale))
		return trainer_fail(&run, -EINVAL, "bad reward settings: %d groups, epochs %d, "
				    "batch_groups %d, heldout_frac %g", n, p->epochs,
				    p->batch_groups, p->heldout_frac);
	int rc = check_opt(&run, p->lr, p->min_lr, p->weight_decay, p->grad_clip);
	if (rc)
		return rc;

	/* validate, count pairs, find the largest group */
	int total_seqs = 0, max_k = 1, npg = 0, n_cut = 0;
	for (int g = 0; g < n; g++) {
		const struct trainer_group *gr = &groups[g];
		if (gr->k < 0 || (gr->k > 0 && (!gr->seqs || !gr->scores)))
			return trainer_fail(&run, -EINVAL, "group %d: %d responses without data", g,
					    gr->k);
		for (int j = 0; j < gr->k; j++) {
			if ((rc = trainer_seq_check(&run, &gr->seqs[j], rm->cfg.vocab_size, "group response",
						    total_seqs + j)))
				return rc;
			n_cut += gr->seqs[j].n > rm->max_T;
		}
		total_seqs += gr->k;
		max_k = gr->k > max_k ? gr->k : max_k;
	}
	float *r = malloc((size_t)(total_seqs + 2 * max_k + 1) * sizeof(float));
	int *off = malloc((size_t)(n + 1) * sizeof(int));
	int *gi = malloc((size_t)(n + 1) * sizeof(int));
	const struct trainer_seq **ptr = malloc((size_t)(total_seqs + 1) * sizeof *ptr);
	struct trainer_rows rows = { 0 };
	struct adamw opt = { 0 };
	bool have_rows = false, have_opt = false;
	if (!r || !off || !gi || !ptr) {
		rc = trainer_fail(&run, -ENOMEM, "out of memory for %d responses", total_seqs);
		goto out;
	}
	float *gr_r = r + total_seqs, *gr_dr = gr_r + max_k;
	for (int g = 0; g < n; g++) {
		struct rl_pair_stats st;
		memset(gr_r, 0, (size_t)max_k * sizeof(float));
		rl_rm_pair_loss(NULL, &st, gr_r, groups[g].scores, groups[g].k, 0.0f, 0.0f);
		if (st.n_pairs == 0)
			continue;
		if (groups[g].k > rm->max_B) {
			rc = trainer_fail(&run, -EINVAL, "group %d has %d responses; the reward model "
					  "takes %d rows at a time", g, groups[g].k, rm->max_B);
			goto out;
		}
		gi[npg++] = g;
	}
	if (npg == 0) {
		rc = trainer_fail(&run, -EINVAL, "no rated pairs: need at least one group with two "
				  "different scores");
		goto out;
	}
	if (n_cut)
		trainer_logf(&run, "%d responses cut to the reward model's %d positions", n_cut,
			     rm->max_T);

	/* held-out split: a seeded choice of groups, at least one when possible */
	uint64_t rng = trainer_rng_seed(p->seed, 0x5E3);
	trainer_shuffle(gi, npg, &rng);
	int n_held = 0;
	if (p->heldout_frac > 0 && npg >= 2) {
		n_held = (int)lroundf(p->heldout_frac * npg);
		n_held = n_held < 1 ? 1 : n_held > npg - 1 ? npg - 1 : n_held;
	}
	int *held = gi, *train = gi + n_held, ntrain = npg - n_held;

	/* every response, flattened: held-out groups, then training groups (gi's
	 * order), then the groups without pairs */
	int o = 0;
	for (int g = 0; g < n; g++)
		off[g] = -1;
	for (int i = 0; i < npg; i++) {
		off[gi[i]] = o;
		o += groups[gi[i]].k;
	}
	for (int g = 0; g < n; g++)
		if (off[g] < 0) {
			off[g] = o;
			o += groups[g].k;
		}
	for (int g = 0; g < n; g++)
		for (int j = 0; j < groups[g].k; j++)
			ptr[off[g] + j] = &groups[g].seqs[j];
	int held_seqs = n_held ? off[train[0]] : 0;

	if (trainer_rows_init(&rows, rm->max_B, rm->max_T) < 0) {
		rc = trainer_fail(&run, -ENOMEM, "out of memory for reward buffers");
		goto out;
	}
	have_rows = true;
	int bg = p->batch_groups, spe = (ntrain + bg - 1) / bg, total = spe * p->epochs;
	if ((rc = trainer_opt_init(&opt, &run, rm, p->lr, p->min_lr, p->warmup_frac,
				   p->weight_decay, p->grad_clip, total)) < 0)
		goto out;
	have_opt = true;
	if (p->head_init_std > 0) {
		uint64_t hs = trainer_rng_seed(p->seed, 0x4EAD);
		for (int i = 0; i < rm->cfg.dim; i++)
			rm->w.head_w[i] = (float)(p->head_init_std * rand_normal(&hs));
		rm->w.head_b[0] = 0.0f;
	}
	trainer_logf(&run, "reward: %d groups with pairs (%d held out), %d steps of %d groups",
		     npg, n_held, total, bg);

	struct trainer_outs ho = { .S = rm->max_T, .score = r };
	double ep_loss = 0;
	int ep_groups = 0;
	for (int step = 0; step < total; step++) {
		int within = step % spe;
		if (within == 0) {
			trainer_shuffle(train, ntrain, &rng);
			ep_loss = 0;
			ep_groups = 0;
		}
		int g0 = within * bg, ng = ntrain - g0 < bg ? ntrain - g0 : bg;
		double loss = 0;
		int pairs = 0, correct = 0;
		llama_zero_grads(rm);
		for (int i = 0; i < ng;) {
			/* a micro-batch of whole groups */
			int nrows = 0, i1 = i;
			while (i1 < ng && nrows + groups[train[g0 + i1]].k <= rm->max_B)
				nrows += groups[train[g0 + i1++]].k;
			for (int a = i, q = 0; a < i1; a++) {
				int g = train[g0 + a];
				for (int j = 0; j < groups[g].k; j++)
					rows.seqs[q++] = &groups[g].seqs[j];
			}
			trainer_rows_pack(&rows, rows.seqs, nrows, rm->max_T, true);
			int T = rows.T;
			if (llama_forward(rm, rows.tokens, NULL, nrows, T, LLAMA_VALUES) < 0) {
				rc = trainer_fail(&run, -EINVAL, "reward forward of %d x %d tokens failed",
						  nrows, T);
				goto out;
			}
			float *dval = rows.s[0];
			memset(dval, 0, (size_t)nrows * T * sizeof(float));
			for (int a = i, row = 0; a < i1; a++) {
				const struct trainer_group *g = &groups[train[g0 + a]];
				for (int j = 0; j < g->k; j++) {
					gr_r[j] = seq_score_forward(rm->acts.values + (size_t)(row + j) * T,
								    rows.seqs[row + j], rows.len[row + j],
								    rm->score);
					gr_dr[j] = 0.0f;
				}
				struct rl_pair_stats st;
				loss += rl_rm_pair_loss(gr_dr, &st, gr_r, g->scores, g->k, p->margin_scale,
							1.0f / ng) / ng;
				pairs += st.n_pairs;
				correct += st.n_correct;
				for (int j = 0; j < g->k; j++)
					seq_score_backward(dval + (size_t)(row + j) * T, rows.seqs[row + j],
							   rows.len[row + j], rm->score, gr_dr[j]);
				row += g->k;
			}
			if (llama_backward(rm, NULL, NULL, dval) < 0) {
				rc = trainer_fail(&run, -EINVAL, "reward backward failed");
				goto out;
			}
			i = i1;
		}
		freeze_lower(rm, p->train_layers);
		float lr;
		double gnorm = adamw_step(&opt, rm->params, rm->grads, 1.0f, &lr);
		ep_loss += loss * ng;
		ep_groups += ng;
		res->loss = (float)(ep_loss / ep_groups);
		res->steps = step + 1;
		trainer_metric(&run, step, "loss", (float)loss);
		trainer_metric(&run, step, "acc", pairs ? (float)correct / pairs : 0.0f);
		trainer_metric(&run, step, "lr", lr);
		trainer_metric(&run, step, "grad_norm", (float)gnorm);
		if (within == spe - 1 && n_held > 0) {
			if ((rc = trainer_collect(rm, &rows, &run, ptr, held_seqs, 0, &ho)) < 0)
				goto out;
			int hp, hc;
			pair_acc(groups, held, n_held, off, r, &hp, &hc);
			trainer_metric(&run, step, "heldout_acc", hp ? (float)hc / hp : 0.0f);
			trainer_logf(&run, "reward epoch %d: loss %.4f heldout_acc %.3f (%d pairs)",
				     step / spe + 1, res->loss, hp ? (double)hc / hp : 0.0, hp);
		}
		trainer_progress(&run, (float)(step + 1) / (float)(total + 1));
		if (step + 1 < total && trainer_cancelled(&run)) {
			rc = -ECANCELED;
			goto out;
		}
	}

	/* final scores of every response: accuracies, then the normalisation */
	if ((rc = trainer_collect(rm, &rows, &run, ptr, total_seqs, 0, &ho)) < 0)
		goto out;
	int tp, tc, hp = 0, hc = 0;
	pair_acc(groups, train, ntrain, off, r, &tp, &tc);
	if (n_held)
		pair_acc(groups, held, n_held, off, r, &hp, &hc);
	res->train_pairs = tp;
	res->train_acc = tp ? (float)tc / tp : NAN;
	res->heldout_pairs = hp;
	res->heldout_acc = hp ? (float)hc / hp : NAN;
	struct rl_norm nrm;
	rl_norm_fit(&nrm, r, total_seqs);
	res->norm_mean = nrm.mean;
	res->norm_std = nrm.std;
	if (p->normalize) {
		for (int i = 0; i < rm->cfg.dim; i++)
			rm->w.head_w[i] /= nrm.std;
		rm->w.head_b[0] = (rm->w.head_b[0] - nrm.mean) / nrm.std;
	}
	trainer_logf(&run, "reward: train_acc %.3f (%d pairs) heldout_acc %.3f (%d pairs); "
		     "scores mean %.4f std %.4f%s", res->train_acc, tp, res->heldout_acc, hp,
		     nrm.mean, nrm.std, p->normalize ? " normalised to 0, 1" : "");
	trainer_progress(&run, 1.0f);
	rc = 0;
out:
	if (have_opt)
		adamw_release(&opt);
	if (have_rows)
		trainer_rows_release(&rows);
	free(r);
	free(off);
	free(gi);
	free(ptr);
	return rc;
}

/* ---- DPO ---------------------------------------------------------------------- */

void trainer_dpo_defaults(struct trainer_dpo_params *p)
{
	memset(p, 0, sizeof *p);
	p->lr = 5e-5f;
	p->min_lr = 5e-6f;
	p->warmup_frac = 0.05f;
	p->weight_decay = 0.0f;
	p->grad_clip = 1.0f;
	p->epochs = 2;
	p->batch_pairs = 8;
	p->beta = 0.1f;
	p->label_smoothing = 0.0f;
	p->seed = 1;
}

int trainer_dpo(struct llama_model *policy, struct llama_model *ref,
		const struct trainer_pair *pairs, int n, const struct trainer_dpo_params *p,
		const struct trainer_hooks *hooks, struct trainer_dpo_result *res,
		char *err, size_t errlen)
{
	struct trainer_run run;
	trainer_run_init(&run, hooks, err, errlen);
	memset(res, 0, sizeof *res);
	if (!policy || !is_lm(policy) || !policy->grads || policy->max_B < 2)
		return trainer_fail(&run, -EINVAL, "dpo needs a language model with gradients and "
				    "room for 2 rows");
	if (!ref || !is_lm(ref) || ref->cfg.vocab_size != policy->cfg.vocab_size)
		return trainer_fail(&run, -EINVAL, "dpo needs a reference language model of the "
				    "policy's vocabulary");
	if (n < 0 || (n > 0 && !pairs) || p->epochs <= 0 || p->batch_pairs <= 0 ||
	    !(p->beta > 0) || !(p->label_smoothing >= 0 && p->label_smoothing < 0.5f))
		return trainer_fail(&run, -EINVAL, "bad dpo settings: %d pairs, epochs %d, "
				    "batch_pairs %d, beta %g, label_smoothing %g", n, p->epochs,
				    p->batch_pairs, p->beta, p->label_smoothing);
	int rc = check_opt(&run, p->lr, p->min_lr, p->weight_decay, p->grad_clip);
	if (rc)
		return rc;
	int V = policy->cfg.vocab_size, T_max = policy->max_T < ref->max_T ? policy->max_T : ref->max_T;
	int nu = 0;
	for (int i = 0; i < n; i++) {
		if ((rc = trainer_seq_check(&run, &pairs[i].chosen, V, "chosen", i)) ||
		    (rc = trainer_seq_check(&run, &pairs[i].rejected, V, "rejected", i)))
			return rc;
		nu += trainer_seq_scored(&pairs[i].chosen, T_max, false) > 0 &&
		      trainer_seq_scored(&pairs[i].rejected, T_max, false) > 0;
	}
	if (nu == 0)
		return trainer_fail(&run, -EINVAL, "no preference pair with response tokens on both "
				    "sides (of %d)", n);

	int cap_B = policy->max_B > ref->max_B ? policy->max_B : ref->max_B;
	int cap_T = policy->max_T > ref->max_T ? policy->max_T : ref->max_T;
	int bp = p->batch_pairs, spe = (nu + bp - 1) / bp, total = spe * p->epochs;
	int per_micro = policy->max_B / 2;
	int *order = malloc((size_t)nu * sizeof(int));
	const struct trainer_seq **ptr = malloc((size_t)2 * nu * sizeof *ptr);
	float *ref_sum = malloc((size_t)2 * nu * sizeof(float));
	float *buf = malloc((size_t)6 * per_micro * sizeof(float));
	struct trainer_rows rows = { 0 };
	struct adamw opt = { 0 };
	bool have_rows = false, have_opt = false;
	if (!order || !ptr || !ref_sum || !buf) {
		rc = trainer_fail(&run, -ENOMEM, "out of memory for %d pairs", nu);
		goto out;
	}
	/* rows 2i, 2i+1 = chosen, rejected of the i-th usable pair */
	for (int i = 0, j = 0; i < n; i++)
		if (trainer_seq_scored(&pairs[i].chosen, T_max, false) > 0 &&
		    trainer_seq_scored(&pairs[i].rejected, T_max, false) > 0) {
			ptr[2 * j] = &pairs[i].chosen;
			ptr[2 * j + 1] = &pairs[i].rejected;
			order[j] = j;
			j++;
		}
	if (trainer_rows_init(&rows, cap_B, cap_T) < 0) {
		rc = trainer_fail(&run, -ENOMEM, "out of memory for dpo buffers");
		goto out;
	}
	have_rows = true;
	struct trainer_outs ro = { .S = cap_T, .lpsum = ref_sum };
	if ((rc = trainer_collect(ref, &rows, &run, ptr, 2 * nu, T_max, &ro)) < 0)
		goto out;
	if ((rc = trainer_opt_init(&opt, &run, policy, p->lr, p->min_lr, p->warmup_frac,
				   p->weight_decay, p->grad_clip, total)) < 0)
		goto out;
	have_opt = true;
	trainer_logf(&run, "dpo: %d pairs, %d steps of %d", nu, total, bp);

	float *pi_c = buf, *pi_r = buf + per_micro, *rf_c = buf + 2 * per_micro;
	float *rf_r = buf + 3 * per_micro, *d_c = buf + 4 * per_micro, *d_r = buf + 5 * per_micro;
	uint64_t rng = trainer_rng_seed(p->seed, 0xD90);
	double ep_loss = 0, ep_acc = 0, ep_margin = 0;
	int ep_n = 0;
	for (int step = 0; step < total; step++) {
		int within = step % spe;
		if (within == 0) {
			trainer_shuffle(order, nu, &rng);
			ep_loss = ep_acc = ep_margin = 0;
			ep_n = 0;
		}
		int b0 = within * bp, nb = nu - b0 < bp ? nu - b0 : bp;
		double loss = 0, acc = 0, margin = 0, rc_sum = 0, rr_sum = 0;
		llama_zero_grads(policy);
		for (int i0 = 0; i0 < nb; i0 += per_micro) {
			int m = nb - i0 < per_micro ? nb - i0 : per_micro;
			for (int j = 0; j < m; j++) {
				int q = order[b0 + i0 + j];
				rows.seqs[2 * j] = ptr[2 * q];
				rows.seqs[2 * j + 1] = ptr[2 * q + 1];
				rf_c[j] = ref_sum[2 * q];
				rf_r[j] = ref_sum[2 * q + 1];
			}
			trainer_rows_pack(&rows, rows.seqs, 2 * m, T_max, false);
			int T = rows.T;
			if (llama_forward(policy, rows.tokens, rows.targets, 2 * m, T, LLAMA_LOGPROBS) < 0) {
				rc = trainer_fail(&run, -EINVAL, "dpo forward of %d x %d tokens failed",
						  2 * m, T);
				goto out;
			}
			const float *lp = policy->acts.logprobs;
			for (int j = 0; j < m; j++) {
				double sc = 0, sr = 0;
				for (int t = 0; t < T; t++) {
					sc += rows.mask[(size_t)(2 * j) * T + t] * lp[(size_t)(2 * j) * T + t];
					sr += rows.mask[(size_t)(2 * j + 1) * T + t] *
					      lp[(size_t)(2 * j + 1) * T + t];
				}
				pi_c[j] = (float)sc;
				pi_r[j] = (float)sr;
				d_c[j] = d_r[j] = 0.0f;
			}
			struct rl_dpo_stats st;
			float l = rl_dpo_loss(d_c, d_r, &st, pi_c, pi_r, rf_c, rf_r, m, p->beta,
					      p->label_smoothing, (float)m / nb);
			loss += (double)l * m / nb;
			acc += (double)st.accuracy * m;
			margin += (double)st.margin * m;
			rc_sum += (double)st.reward_chosen * m;
			rr_sum += (double)st.reward_rejected * m;
			float *dlp = rows.s[0];
			for (int j = 0; j < m; j++)
				for (int t = 0; t < T; t++) {
					size_t c = (size_t)(2 * j) * T + t, rj = c + T;
					dlp[c] = rows.mask[c] * d_c[j];
					dlp[rj] = rows.mask[rj] * d_r[j];
				}
			if (llama_backward(policy, dlp, NULL, NULL) < 0) {
				rc = trainer_fail(&run, -EINVAL, "dpo backward failed");
				goto out;
			}
		}
		float lr;
		double gnorm = adamw_step(&opt, policy->params, policy->grads, 1.0f, &lr);
		if (step == 0)
			res->loss_first = (float)loss;
		ep_loss += loss * nb;
		ep_acc += acc;
		ep_margin += margin;
		ep_n += nb;
		res->loss = (float)(ep_loss / ep_n);
		res->reward_acc = (float)(ep_acc / ep_n);
		res->margin = (float)(ep_margin / ep_n);
		res->steps = step + 1;
		trainer_metric(&run, step, "loss", (float)loss);
		trainer_metric(&run, step, "reward_acc", (float)(acc / nb));
		trainer_metric(&run, step, "margin", (float)(margin / nb));
		trainer_metric(&run, step, "chosen_reward", (float)(rc_sum / nb));
		trainer_metric(&run, step, "rejected_reward", (float)(rr_sum / nb));
		trainer_metric(&run, step, "lr", lr);
		trainer_metric(&run, step, "grad_norm", (float)gnorm);
		trainer_progress(&run, (float)(step + 1) / (float)total);
		if ((step + 1) % 20 == 0 || step + 1 == total)
			trainer_logf(&run, "dpo step %d/%d loss %.4f reward_acc %.3f margin %.4f",
				     step + 1, total, loss, acc / nb, margin / nb);
		if (step + 1 < total && trainer_cancelled(&run)) {
			rc = -ECANCELED;
			goto out;
		}
	}
	rc = 0;
out:
	if (have_opt)
		adamw_release(&opt);
	if (have_rows)
		trainer_rows_release(&rows);
	free(order);
	free(ptr);
	free(ref_sum);
	free(buf);
	return rc;
}
