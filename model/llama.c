/*
 * model/llama.c — the Llama 2 decoder for batched training: forward over (B,T)
 * tokens to target log-probs, entropies and scalar-head values, the
 * hand-written backward, the weighted cross-entropy used by pre-training and
 * SFT, and seeded initialisation (see model/llama.h).
 *
 * The layers are the kernels of model/ops.h; this file only wires them in
 * llama2.c's order and owns the buffers.  Residual additions are fused into
 * the output GEMMs (out = x + y W^T as a beta=1 sgemm over a copy of x).
 */
#include "model/llama.h"
#include "model/ops.h"
#include "model/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation --------------------------------------------------------- */

/* Lays the activation tensors out in one block; with base == NULL only counts.
 * Returns the number of floats. */
static size_t acts_layout(struct llama_acts *a, const struct llama_config *c,
			  int B, int T, unsigned flags, float *base)
{
	size_t L = (size_t)c->n_layers, N = (size_t)B * T, C = (size_t)c->dim;
	size_t KV = (size_t)llama_kv_dim(c), H = (size_t)c->hidden_dim;
	size_t V = (size_t)c->vocab_size, A = (size_t)B * c->n_heads * T * T;
	bool grads = !(flags & LLAMA_NO_GRADS), lm = !(flags & LLAMA_NO_LM);
	struct { float **p; size_t n; } t[] = {
		{ &a->x, (L + 1) * N * C }, { &a->xmid, L * N * C }, { &a->xn1, L * N * C },
		{ &a->rstd1, L * N }, { &a->q, L * N * C }, { &a->k, L * N * KV },
		{ &a->v, L * N * KV }, { &a->att, L * A }, { &a->ao, L * N * C },
		{ &a->xn2, L * N * C }, { &a->rstd2, L * N }, { &a->h1, L * N * H },
		{ &a->h3, L * N * H }, { &a->hg, L * N * H }, { &a->xf, N * C },
		{ &a->rstdf, N }, { &a->logits, lm ? N * V : 0 }, { &a->lse, N },
		{ &a->logprobs, N }, { &a->entropy, N }, { &a->values, N },
		{ &a->dx, grads ? N * C : 0 }, { &a->dxn, grads ? N * C : 0 },
		{ &a->dao, grads ? N * C : 0 }, { &a->dq, grads ? N * C : 0 },
		{ &a->dqr, grads ? N * C : 0 }, { &a->dk, grads ? N * KV : 0 },
		{ &a->dkr, grads ? N * KV : 0 }, { &a->dv, grads ? N * KV : 0 },
		{ &a->dg, grads ? N * H : 0 }, { &a->dh1, grads ? N * H : 0 },
		{ &a->dh3, grads ? N * H : 0 }, { &a->datt, grads ? A : 0 },
	};
	size_t total = 0;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (base)
			*t[i].p = t[i].n ? base + total : NULL;
		/* keep every tensor 64-byte aligned */
		total += (t[i].n + 15) & ~(size_t)15;
	}
	return total;
}

static void *alloc_floats(size_t n)
{
	void *p = NULL;
	if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0)
		return NULL;
	return p;
}

int llama_model_init(struct llama_model *m, const struct llama_config *cfg,
		     int max_B, int max_T, unsigned flags, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	if (llama_config_check(cfg, err, errlen) < 0)
		return -1;
	if (max_B <= 0 || max_T <= 0 || max_T > cfg->seq_len || (size_t)max_B * max_T > 1u << 26) {
		snprintf(err, errlen, "batch %d x %d does not fit (seq_len %d)", max_B, max_T,
			 cfg->seq_len);
		return -1;
	}
	m->cfg = *cfg;
	m->max_B = max_B;
	m->max_T = max_T;
	m->flags = flags;
	m->n_params = llama_params_count(cfg);
	size_t N = (size_t)max_B * max_T, hs = (size_t)llama_head_size(cfg);
	size_t nacts = acts_layout(&m->acts, cfg, max_B, max_T, flags, NULL);
	m->params = alloc_floats(m->n_params);
	m->grads = flags & LLAMA_NO_GRADS ? NULL : alloc_floats(m->n_params);
	m->acts_mem = alloc_floats(nacts);
	m->freq_cos = alloc_floats((size_t)max_T * hs / 2);
	m->freq_sin = alloc_floats((size_t)max_T * hs / 2);
	m->tokens = malloc(N * sizeof(int));
	m->targets = malloc(N * sizeof(int));
	if (!m->params || (!m->grads && !(flags & LLAMA_NO_GRADS)) || !m->acts_mem ||
	    !m->freq_cos || !m->freq_sin || !m->tokens || !m->targets) {
		snprintf(err, errlen, "out of memory for a model of %zu parameters and %zu activations",
			 m->n_params, nacts);
		llama_model_release(m);
		return -1;
	}
	memset(m->params, 0, m->n_params * sizeof(float));
	if (m->grads)
		memset(m->grads, 0, m->n_params * sizeof(float));
	acts_layout(&m->acts, cfg, max_B, max_T, flags, m->acts_mem);
	llama_weights_map(&m->w, cfg, m->params);
	if (m->grads)
		llama_weights_map(&m->g, cfg, m->grads);
	ops_rope_table(m->freq_cos, m->freq_sin, max_T, (int)hs);
	return 0;
}

void llama_model_release(struct llama_model *m)
{
	if (!m)
		return;
	free(m->params);
	free(m->grads);
	free(m->acts_mem);
	free(m->freq_cos);
	free(m->freq_sin);
	free(m->tokens);
	free(m->targets);
	memset(m, 0, sizeof *m);
}

void llama_zero_grads(struct llama_model *m)
{
	if (m->grads)
		memset(m->grads, 0, m->n_params * sizeof(float));
}

/* ---- forward ------------------------------------------------------------ */

/* Rows of the classifier handled at a time: a chunk of logits (rows x vocab)
 * of at most LLAMA_CLS_CHUNK floats stays in cache between its GEMM and its
 * log-softmax, instead of a round trip of the whole (N, vocab) through memory. */
#define LLAMA_CLS_CHUNK (1u << 23)

static size_t cls_chunk_rows(const struct llama_model *m, size_t N)
{
	size_t r = m->cls_rows > 0 ? (size_t)m->cls_rows : LLAMA_CLS_CHUNK / (size_t)m->cfg.vocab_size;
	r = r < 1 ? 1 : r;
	return r < N ? r : N;
}

/*
 * The forward pass.  With fused_dlp (N) — the gradient of the loss w.r.t. each
 * log-prob, known before the forward for cross-entropy — the log-softmax's
 * backward runs on each chunk of logits right after its forward, while the
 * chunk is still in cache, and the classifier's two backward GEMMs follow over
 * all rows: d h_final lands in acts.dxn and the classifier gradient in grads.
 */
static int forward_impl(struct llama_model *m, const int *tokens, const int *targets,
			int B, int T, unsigned what, const float *fused_dlp)
{
	const struct llama_config *c = &m->cfg;
	int L = c->n_layers, C = c->dim, H = c->hidden_dim, V = c->vocab_size;
	int nh = c->n_heads, nkv = c->n_kv_heads, hs = llama_head_size(c), KV = llama_kv_dim(c);
	bool lm = what & (LLAMA_LOGPROBS | LLAMA_ENTROPY);

	if (B <= 0 || T <= 0 || B > m->max_B || T > m->max_T || !tokens ||
	    (what & ~(LLAMA_LOGPROBS | LLAMA_ENTROPY | LLAMA_VALUES)) ||
	    (lm && !m->acts.logits) || ((what & LLAMA_LOGPROBS) && !targets))
		return -1;
	size_t N = (size_t)B * T;
	for (size_t i = 0; i < N; i++)
		if (tokens[i] < 0 || tokens[i] >= V || (targets && (targets[i] < -1 || targets[i] >= V)))
			return -1;
	m->B = B;
	m->T = T;
	m->computed = what;
	memcpy(m->tokens, tokens, N * sizeof(int));
	if (targets)
		memcpy(m->targets, targets, N * sizeof(int));
	else
		for (size_t i = 0; i < N; i++)
			m->targets[i] = -1;

	struct llama_acts *a = &m->acts;
	const struct llama_weights *w = &m->w;
	size_t A = (size_t)B * nh * T * T;
	ops_embedding_forward(a->x, tokens, w->token_embedding, (int)N, C);
	for (int l = 0; l < L; l++) {
		float *x = a->x + l * N * C, *xout = a->x + (l + 1) * N * C;
		float *xmid = a->xmid + l * N * C, *xn1 = a->xn1 + l * N * C;
		float *q = a->q + l * N * C, *k = a->k + l * N * KV, *v = a->v + l * N * KV;
		float *att = a->att + l * A, *ao = a->ao + l * N * C;
		float *xn2 = a->xn2 + l * N * C;
		float *h1 = a->h1 + l * N * H, *h3 = a->h3 + l * N * H, *hg = a->hg + l * N * H;

		ops_rmsnorm_forward(xn1, a->rstd1 + l * N, x, w->rms_att + (size_t)l * C, (int)N, C);
		ops_matmul_forward(q, xn1, w->wq + (size_t)l * C * C, (int)N, C, C, false);
		ops_matmul_forward(k, xn1, w->wk + (size_t)l * KV * C, (int)N, C, KV, false);
		ops_matmul_forward(v, xn1, w->wv + (size_t)l * KV * C, (int)N, C, KV, false);
		ops_rope_forward(q, q, m->freq_cos, m->freq_sin, B, T, nh, hs);
		ops_rope_forward(k, k, m->freq_cos, m->freq_sin, B, T, nkv, hs);
		ops_attention_forward(ao, att, q, k, v, B, T, nh, nkv, hs);
		memcpy(xmid, x, N * C * sizeof(float));
		ops_matmul_forward(xmid, ao, w->wo + (size_t)l * C * C, (int)N, C, C, true);

		ops_rmsnorm_forward(xn2, a->rstd2 + l * N, xmid, w->rms_ffn + (size_t)l * C, (int)N, C);
		ops_matmul_forward(h1, xn2, w->w1 + (size_t)l * H * C, (int)N, C, H, false);
		ops_matmul_forward(h3, xn2, w->w3 + (size_t)l * H * C, (int)N, C, H, false);
		ops_swiglu_forward(hg, h1, h3, N * H);
		memcpy(xout, xmid, N * C * sizeof(float));
		ops_matmul_forward(xout, hg, w->w2 + (size_t)l * C * H, (int)N, H, C, true);
	}
	ops_rmsnorm_forward(a->xf, a->rstdf, a->x + L * N * C, w->rms_final, (int)N, C);
	m->cls_done = false;
	if (lm) {
		size_t R = cls_chunk_rows(m, N);
		for (size_t r0 = 0; r0 < N; r0 += R) {
			int n = (int)(N - r0 < R ? N - r0 : R);
			float *lg = a->logits + r0 * V, *xf = a->xf + r0 * C;
			ops_matmul_forward(lg, xf, w->wcls, n, C, V, false);
			ops_logsoftmax_forward(a->logprobs + r0,
					       what & LLAMA_ENTROPY ? a->entropy + r0 : NULL,
					       a->lse + r0, lg, m->targets + r0, n, V);
			if (fused_dlp)
				ops_logsoftmax_backward(lg, fused_dlp + r0, NULL, lg, a->lse + r0, NULL,
							m->targets + r0, n, V);
		}
		if (fused_dlp) {
			/* the two classifier GEMMs over all rows at once: per chunk they
			 * would re-pack the (vocab, dim) matrix every time */
			ops_matmul_backward_set(a->dxn, m->g.wcls, a->logits, a->xf, w->wcls,
						(int)N, C, V);
			m->cls_done = true;
			m->computed &= ~(LLAMA_LOGPROBS | LLAMA_ENTROPY); /* logits are gone */
		}
	}
	if (what & LLAMA_VALUES)
		ops_head_forward(a->values, a->xf, w->head_w, w->head_b, (int)N, C);
	return 0;
}

int llama_forward(struct llama_model *m, const int *tokens, const int *targets,
		  int B, int T, unsigned what)
{
	return forward_impl(m, tokens, targets, B, T, what, NULL);
}

/* ---- backward ----------------------------------------------------------- */

int llama_backward(struct llama_model *m, const float *dlogprobs, const float *dentropy,
		   const float *dvalues)
{
	const struct llama_config *c = &m->cfg;
	int L = c->n_layers, C = c->dim, H = c->hidden_dim, V = c->vocab_size;
	int nh = c->n_heads, nkv = c->n_kv_heads, hs = llama_head_size(c), KV = llama_kv_dim(c);
	int B = m->B, T = m->T;

	if (!m->grads || B <= 0 ||
	    (dlogprobs && !(m->computed & LLAMA_LOGPROBS)) ||
	    (dentropy && !(m->computed & LLAMA_ENTROPY)) ||
	    (dvalues && !(m->computed & LLAMA_VALUES)))
		return -1;
	size_t N = (size_t)B * T, A = (size_t)B * nh * T * T;
	struct llama_acts *a = &m->acts;
	const struct llama_weights *w = &m->w;
	const struct llama_weights *g = &m->g;

	/* the heads: d h_final into dxn (already there after a fused forward) */
	if (!m->cls_done)
		memset(a->dxn, 0, N * C * sizeof(float));
	m->cls_done = false;
	if (dlogprobs || dentropy) {
		size_t R = cls_chunk_rows(m, N);
		for (size_t r0 = 0; r0 < N; r0 += R) {
			int n = (int)(N - r0 < R ? N - r0 : R);
			float *lg = a->logits + r0 * V;
			ops_logsoftmax_backward(lg, dlogprobs ? dlogprobs + r0 : NULL,
						dentropy ? dentropy + r0 : NULL, lg, a->lse + r0,
						a->entropy + r0, m->targets + r0, n, V);
		}
		ops_matmul_backward(a->dxn, g->wcls, a->logits, a->xf, w->wcls, (int)N, C, V);
		m->computed &= ~(LLAMA_LOGPROBS | LLAMA_ENTROPY); /* logits are gone */
	}
	if (dvalues)
		ops_head_backward(a->dxn, g->head_w, g->head_b, dvalues, a->xf, w->head_w, (int)N, C);
	memset(a->dx, 0, N * C * sizeof(float));
	ops_rmsnorm_backward(a->dx, g->rms_final, a->dxn, a->x + L * N * C, w->rms_final,
			     a->rstdf, (int)N, C);

	for (int l = L - 1; l >= 0; l--) {
		float *x = a->x + l * N * C, *xmid = a->xmid + l * N * C, *xn1 = a->xn1 + l * N * C;
		float *q = a->q + l * N * C, *k = a->k + l * N * KV, *v = a->v + l * N * KV;
		float *att = a->att + l * A, *ao = a->ao + l * N * C;
		float *xn2 = a->xn2 + l * N * C;
		float *h1 = a->h1 + l * N * H, *h3 = a->h3 + l * N * H, *hg = a->hg + l * N * H;

		/* x_out = xmid + hg w2^T: dx flows on unchanged, plus the MLP branch */
		ops_matmul_backward_set(a->dg, g->w2 + (size_t)l * C * H, a->dx, hg,
				    w->w2 + (size_t)l * C * H, (int)N, H, C);
		memset(a->dh1, 0, N * H * sizeof(float));
		memset(a->dh3, 0, N * H * sizeof(float));
		ops_swiglu_backward(a->dh1, a->dh3, a->dg, h1, h3, N * H);
		ops_matmul_backward_set(a->dxn, g->w1 + (size_t)l * H * C, a->dh1, xn2,
				    w->w1 + (size_t)l * H * C, (int)N, C, H);
		ops_matmul_backward(a->dxn, g->w3 + (size_t)l * H * C, a->dh3, xn2,
				    w->w3 + (size_t)l * H * C, (int)N, C, H);
		ops_rmsnorm_backward(a->dx, g->rms_ffn + (size_t)l * C, a->dxn, xmid,
				     w->rms_ffn + (size_t)l * C, a->rstd2 + l * N, (int)N, C);

		/* xmid = x + ao wo^T */
		ops_matmul_backward_set(a->dao, g->wo + (size_t)l * C * C, a->dx, ao,
				    w->wo + (size_t)l * C * C, (int)N, C, C);
		memset(a->dq, 0, N * C * sizeof(float));
		memset(a->dk, 0, N * KV * sizeof(float));
		memset(a->dv, 0, N * KV * sizeof(float));
		ops_attention_backward(a->dq, a->dk, a->dv, a->datt, a->dao, att, q, k, v,
				       B, T, nh, nkv, hs);
		memset(a->dqr, 0, N * C * sizeof(float));
		memset(a->dkr, 0, N * KV * sizeof(float));
		ops_rope_backward(a->dqr, a->dq, m->freq_cos, m->freq_sin, B, T, nh, hs);
		ops_rope_backward(a->dkr, a->dk, m->freq_cos, m->freq_sin, B, T, nkv, hs);
		ops_matmul_backward_set(a->dxn, g->wq + (size_t)l * C * C, a->dqr, xn1,
				    w->wq + (size_t)l * C * C, (int)N, C, C);
		ops_matmul_backward(a->dxn, g->wk + (size_t)l * KV * C, a->dkr, xn1,
				    w->wk + (size_t)l * KV * C, (int)N, C, KV);
		ops_matmul_backward(a->dxn, g->wv + (size_t)l * KV * C, a->dv, xn1,
				    w->wv + (size_t)l * KV * C, (int)N, C, KV);
		ops_rmsnorm_backward(a->dx, g->rms_att + (size_t)l * C, a->dxn, x,
				     w->rms_att + (size_t)l * C, a->rstd1 + l * N, (int)N, C);
	}
	ops_embedding_backward(g->token_embedding, a->dx, m->tokens, (int)N, C);
	return 0;
}

/* ---- losses ------------------------------------------------------------- */

float llama_ce_loss(float *dlogprobs, const float *logprobs, const float *weights,
		    int n, float norm)
{
	double wsum = 0.0, loss = 0.0;
	for (int i = 0; i < n; i++)
		wsum += weights ? weights[i] : 1.0;
	double z = norm > 0.0f ? norm : wsum;
	for (int i = 0; i < n; i++) {
		float wi = weights ? weights[i] : 1.0f;
		if (z > 0.0) {
			loss -= wi * (double)logprobs[i];
			dlogprobs[i] = (float)(-wi / z);
		} else {
			dlogprobs[i] = 0.0f;
		}
	}
	return z > 0.0 ? (float)(loss / z) : 0.0f;
}

int llama_lm_forward_backward(struct llama_model *m, const int *tokens, const int *targets,
			      const float *weights, int B, int T, float norm, float *loss)
{
	if (!m->grads || !m->acts.logits || !targets || B <= 0 || T <= 0 || B > m->max_B ||
	    T > m->max_T)
		return -1;
	/* dlogprobs = -w / norm does not depend on the forward: it borrows the
	 * entropy slot (unused here) and drives the fused classifier backward */
	int n = B * T;
	float *dlp = m->acts.entropy;
	double z = 0.0;
	for (int i = 0; i < n; i++)
		z += targets[i] < 0 ? 0.0 : weights ? weights[i] : 1.0;
	if (norm > 0.0f)
		z = norm;
	for (int i = 0; i < n; i++)
		dlp[i] = z > 0.0 && targets[i] >= 0 ? (float)(-(weights ? weights[i] : 1.0f) / z) : 0.0f;
	if (forward_impl(m, tokens, targets, B, T, LLAMA_LOGPROBS, dlp) < 0)
		return -1;
	double l = 0.0;
	for (int i = 0; i < n; i++)
		l += (double)dlp[i] * m->acts.logprobs[i];  /* sum w (-logprob) / norm */
	if (loss)
		*loss = (float)l;
	return llama_backward(m, NULL, NULL, NULL);
}

/* ---- initialisation ----------------------------------------------------- */

/* Fills n floats with normal(0, std) (Box-Muller over splitmix64). */
static void fill_normal(float *p, size_t n, float std, uint64_t *s)
{
	for (size_t i = 0; i < n; i += 2) {
		double u1 = ((rng_splitmix64(s) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
		double u2 = (rng_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
		double r = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
		p[i] = (float)(std * r * cos(th));
		if (i + 1 < n)
			p[i + 1] = (float)(std * r * sin(th));
	}
}

void llama_params_init_random(const struct llama_config *cfg, float *params, uint64_t seed)
{
	float resid_std = 0.02f / sqrtf(2.0f * cfg->n_layers);
	for (int k = 0; k < LLAMA_N_TENSORS; k++) {
		size_t off, len;
		llama_tensor_span(cfg, k, &off, &len);
		/* each tensor its own stream: adding a tensor leaves the others unchanged */
		uint64_t s = seed * 0x2545F4914F6CDD1Dull + (uint64_t)k * 0x9E3779B97F4A7C15ull;
		float *p = params + off;
		switch (k) {
		case 1: case 6: case 10: /* norms */
			for (size_t i = 0; i < len; i++)
				p[i] = 1.0f;
			break;
		case 13: /* head bias */
			memset(p, 0, len * sizeof(float));
			break;
		case 5: case 8: /* wo, w2 */
			fill_normal(p, len, resid_std, &s);
			break;
		default:
			fill_normal(p, len, 0.02f, &s);
		}
	}
}
