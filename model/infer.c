/*
 * model/infer.c — KV-cache inference for K sequences sharing a prompt (see
 * model/infer.h).  Each layer is a *_forward function over rows of float
 * arrays; a forward pass runs a set of rows (prompt positions, or one position
 * of each live sequence) through all layers.
 */
#include "model/infer.h"
#include "model/ops.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS's own thread control (declared by its cblas.h, restated for clarity) */
void openblas_set_num_threads(int num_threads);

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void infer_set_threads(int n)
{
	if (n <= 0)
		n = omp_get_num_procs();
	omp_set_num_threads(n);
	openblas_set_num_threads(n);
}

/* ---- layers ----------------------------------------------------------------- */

/*
 * Few-row matrix product: out (n, d) = in (n, m) @ W^T for n <= INFER_FEW_ROWS.
 * BLAS sgemm packs the whole of W on every call, which for a decode step (n =
 * K live sequences) costs more than the product itself; this kernel streams
 * each weight row once and multiplies it with all n input rows while it is in
 * registers, so a step reads the weights once whatever K is.
 */

#ifdef __AVX512F__
#include <immintrin.h>

/* the 4 sums of a, b, c, d */
static inline __m128 hsum4(__m512 a, __m512 b, __m512 c, __m512 d)
{
	__m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
	__m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
	__m512 s = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
				 _mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
	__m256 h = _mm256_add_ps(_mm512_castps512_ps256(s), _mm512_extractf32x8_ps(s, 1));
	return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

#define FEW_ZERO(r) __m512 a##r##0 = _mm512_setzero_ps(), a##r##1 = a##r##0, \
	a##r##2 = a##r##0, a##r##3 = a##r##0
#define FEW_FMA(r, LD) do { \
	__m512 x_ = LD(in + (size_t)(r) * m + i); \
	a##r##0 = _mm512_fmadd_ps(w0, x_, a##r##0); \
	a##r##1 = _mm512_fmadd_ps(w1, x_, a##r##1); \
	a##r##2 = _mm512_fmadd_ps(w2, x_, a##r##2); \
	a##r##3 = _mm512_fmadd_ps(w3, x_, a##r##3); } while (0)
#define FEW_STORE(r) _mm_storeu_ps(out + (size_t)(r) * ldo, hsum4(a##r##0, a##r##1, a##r##2, a##r##3))
#define FEW_LDU(p) _mm512_loadu_ps(p)
#define FEW_LDM(p) _mm512_maskz_loadu_ps(mask, p)

/* out[r][0..4) for weight rows w[0..4) (stride m) and R (1..4) input rows */
static inline __attribute__((always_inline)) void few_block(float *out, int ldo,
							    const float *in, int m,
							    const float *w, const int R)
{
	FEW_ZERO(0); FEW_ZERO(1); FEW_ZERO(2); FEW_ZERO(3);
	int i = 0;
	for (; i + 16 <= m; i += 16) {
		/* the next block's weight rows, while this one computes */
		_mm_prefetch((const char *)(w + 4 * m + i), _MM_HINT_T0);
		_mm_prefetch((const char *)(w + 5 * m + i), _MM_HINT_T0);
		_mm_prefetch((const char *)(w + 6 * m + i), _MM_HINT_T0);
		_mm_prefetch((const char *)(w + 7 * m + i), _MM_HINT_T0);
		__m512 w0 = FEW_LDU(w + i), w1 = FEW_LDU(w + m + i);
		__m512 w2 = FEW_LDU(w + 2 * m + i), w3 = FEW_LDU(w + 3 * m + i);
		FEW_FMA(0, FEW_LDU);
		if (R > 1) FEW_FMA(1, FEW_LDU);
		if (R > 2) FEW_FMA(2, FEW_LDU);
		if (R > 3) FEW_FMA(3, FEW_LDU);
	}
	if (i < m) {
		__mmask16 mask = (__mmask16)((1u << (m - i)) - 1);
		__m512 w0 = FEW_LDM(w + i), w1 = FEW_LDM(w + m + i);
		__m512 w2 = FEW_LDM(w + 2 * m + i), w3 = FEW_LDM(w + 3 * m + i);
		FEW_FMA(0, FEW_LDM);
		if (R > 1) FEW_FMA(1, FEW_LDM);
		if (R > 2) FEW_FMA(2, FEW_LDM);
		if (R > 3) FEW_FMA(3, FEW_LDM);
	}
	FEW_STORE(0);
	if (R > 1) FEW_STORE(1);
	if (R > 2) FEW_STORE(2);
	if (R > 3) FEW_STORE(3);
}

/* weight rows [o, o + 4) against every input row, 4 input rows at a time */
static void few_rows4(float *out, const float *in, const float *w, int n, int m, int d, int o)
{
	const float *wr = w + (size_t)o * m;
	int r = 0;
	for (; r + 4 <= n; r += 4)
		few_block(out + (size_t)r * d + o, d, in + (size_t)r * m, m, wr, 4);
	switch (n - r) {
	case 1: few_block(out + (size_t)r * d + o, d, in + (size_t)r * m, m, wr, 1); break;
	case 2: few_block(out + (size_t)r * d + o, d, in + (size_t)r * m, m, wr, 2); break;
	case 3: few_block(out + (size_t)r * d + o, d, in + (size_t)r * m, m, wr, 3); break;
	}
}
#else
/* portable version of the same loop order */
static void few_rows4(float *out, const float *in, const float *w, int n, int m, int d, int o)
{
	for (int k = 0; k < 4; k++) {
		const float *wr = w + (size_t)(o + k) * m;
		for (int r = 0; r < n; r++) {
			const float *x = in + (size_t)r * m;
			float s = 0.0f;
#pragma omp simd reduction(+ : s)
			for (int i = 0; i < m; i++)
				s += wr[i] * x[i];
			out[(size_t)r * d + o + k] = s;
		}
	}
}
#endif

/* ---- attention kernels: one head of one row over a run of cached positions ---- */

#ifdef __AVX512F__
static inline __mmask16 tail_mask(int rem)
{
	return rem >= 16 ? (__mmask16)0xffff : rem > 0 ? (__mmask16)((1u << rem) - 1) : 0;
}

/* s[t] = scale * q . k_t for t in [0, n); key rows hs long, ld apart */
static void attn_scores(float *s, const float *q, const float *k, size_t ld, int n, int hs,
			float scale)
{
	int t = 0;
	for (; t + 4 <= n; t += 4) {
		const float *k0 = k + (size_t)t * ld, *k1 = k0 + ld, *k2 = k1 + ld, *k3 = k2 + ld;
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		for (int i = 0; i < hs; i += 16) {
			__mmask16 mk = tail_mask(hs - i);
			__m512 qv = _mm512_maskz_loadu_ps(mk, q + i);
			a0 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mk, k0 + i), a0);
			a1 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mk, k1 + i), a1);
			a2 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mk, k2 + i), a2);
			a3 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mk, k3 + i), a3);
		}
		_mm_storeu_ps(s + t, _mm_mul_ps(hsum4(a0, a1, a2, a3), _mm_set1_ps(scale)));
	}
	for (; t < n; t++) {
		const float *kt = k + (size_t)t * ld;
		__m512 a0 = _mm512_setzero_ps();
		for (int i = 0; i < hs; i += 16) {
			__mmask16 mk = tail_mask(hs - i);
			a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, q + i),
					     _mm512_maskz_loadu_ps(mk, kt + i), a0);
		}
		s[t] = _mm512_reduce_add_ps(a0) * scale;
	}
}

/* o (hs) += sum of a[t] * v_t for t in [0, n); value rows ld apart.  Several
 * positions are in flight at once so the FMA latency does not serialise. */
static void attn_mix(float *o, const float *a, const float *v, size_t ld, int n, int hs)
{
	if (hs <= 16) {
		__mmask16 m = tail_mask(hs);
		__m512 o0 = _mm512_maskz_loadu_ps(m, o), o1 = _mm512_setzero_ps(), o2 = o1, o3 = o1;
		int t = 0;
		for (; t + 4 <= n; t += 4) {
			const float *vt = v + (size_t)t * ld;
			o0 = _mm512_fmadd_ps(_mm512_set1_ps(a[t]), _mm512_maskz_loadu_ps(m, vt), o0);
			o1 = _mm512_fmadd_ps(_mm512_set1_ps(a[t + 1]), _mm512_maskz_loadu_ps(m, vt + ld), o1);
			o2 = _mm512_fmadd_ps(_mm512_set1_ps(a[t + 2]),
					     _mm512_maskz_loadu_ps(m, vt + 2 * ld), o2);
			o3 = _mm512_fmadd_ps(_mm512_set1_ps(a[t + 3]),
					     _mm512_maskz_loadu_ps(m, vt + 3 * ld), o3);
		}
		for (; t < n; t++)
			o0 = _mm512_fmadd_ps(_mm512_set1_ps(a[t]),
					     _mm512_maskz_loadu_ps(m, v + (size_t)t * ld), o0);
		o0 = _mm512_add_ps(_mm512_add_ps(o0, o1), _mm512_add_ps(o2, o3));
		_mm512_mask_storeu_ps(o, m, o0);
		return;
	}
	for (int c0 = 0; c0 < hs; c0 += 64) {
		__mmask16 m0 = tail_mask(hs - c0), m1 = tail_mask(hs - c0 - 16);
		__mmask16 m2 = tail_mask(hs - c0 - 32), m3 = tail_mask(hs - c0 - 48);
		__m512 o0 = _mm512_maskz_loadu_ps(m0, o + c0), o1 = _mm512_maskz_loadu_ps(m1, o + c0 + 16);
		__m512 o2 = _mm512_maskz_loadu_ps(m2, o + c0 + 32), o3 = _mm512_maskz_loadu_ps(m3, o + c0 + 48);
		__m512 p0 = _mm512_setzero_ps(), p1 = p0, p2 = p0, p3 = p0;
		int t = 0;
		for (; t + 2 <= n; t += 2) {
			const float *vt = v + (size_t)t * ld + c0, *vu = vt + ld;
			__m512 at = _mm512_set1_ps(a[t]), au = _mm512_set1_ps(a[t + 1]);
			o0 = _mm512_fmadd_ps(at, _mm512_maskz_loadu_ps(m0, vt), o0);
			o1 = _mm512_fmadd_ps(at, _mm512_maskz_loadu_ps(m1, vt + 16), o1);
			o2 = _mm512_fmadd_ps(at, _mm512_maskz_loadu_ps(m2, vt + 32), o2);
			o3 = _mm512_fmadd_ps(at, _mm512_maskz_loadu_ps(m3, vt + 48), o3);
			p0 = _mm512_fmadd_ps(au, _mm512_maskz_loadu_ps(m0, vu), p0);
			p1 = _mm512_fmadd_ps(au, _mm512_maskz_loadu_ps(m1, vu + 16), p1);
			p2 = _mm512_fmadd_ps(au, _mm512_maskz_loadu_ps(m2, vu + 32), p2);
			p3 = _mm512_fmadd_ps(au, _mm512_maskz_loadu_ps(m3, vu + 48), p3);
		}
		if (t < n) {
			const float *vt = v + (size_t)t * ld + c0;
			__m512 at = _mm512_set1_ps(a[t]);
			o0 = _mm512_fmadd_ps(at, _mm512_maskz_loadu_ps(m0, vt), o0);
			o1 = _mm512_fmadd_ps(at, _mm512_maskz_loadu_ps(m1, vt + 16), o1);
			o2 = _mm512_fmadd_ps(at, _mm512_maskz_loadu_ps(m2, vt + 32), o2);
			o3 = _mm512_fmadd_ps(at, _mm512_maskz_loadu_ps(m3, vt + 48), o3);
		}
		_mm512_mask_storeu_ps(o + c0, m0, _mm512_add_ps(o0, p0));
		_mm512_mask_storeu_ps(o + c0 + 16, m1, _mm512_add_ps(o1, p1));
		_mm512_mask_storeu_ps(o + c0 + 32, m2, _mm512_add_ps(o2, p2));
		_mm512_mask_storeu_ps(o + c0 + 48, m3, _mm512_add_ps(o3, p3));
	}
}
#else
static void attn_scores(float *s, const float *q, const float *k, size_t ld, int n, int hs,
			float scale)
{
	for (int t = 0; t < n; t++) {
		const float *kt = k + (size_t)t * ld;
		float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
		for (int i = 0; i < hs; i++)
			acc += q[i] * kt[i];
		s[t] = acc * scale;
	}
}

static void attn_mix(float *o, const float *a, const float *v, size_t ld, int n, int hs)
{
	for (int t = 0; t < n; t++) {
		const float *vt = v + (size_t)t * ld;
#pragma omp simd
		for (int i = 0; i < hs; i++)
			o[i] += a[t] * vt[i];
	}
}
#endif

static void matmul_few_rows(float *out, const float *in, const float *w, int n, int m, int d)
{
	int blocks = d / 4;
	bool par = (size_t)d * m >= 65536 && omp_get_max_threads() > 1;
#pragma omp parallel for schedule(static) if (par)
	for (int b = 0; b < blocks; b++)
		few_rows4(out, in, w, n, m, d, 4 * b);
	for (int o = 4 * blocks; o < d; o++) {
		const float *wr = w + (size_t)o * m;
		for (int r = 0; r < n; r++) {
			const float *x = in + (size_t)r * m;
			float s = 0.0f;
#pragma omp simd reduction(+ : s)
			for (int i = 0; i < m; i++)
				s += wr[i] * x[i];
			out[(size_t)r * d + o] = s;
		}
	}
}

/* out (n, d) = in (n, m) @ W^T, W (d, m) row-major: all rows in one call */
static void matmul_forward(float *out, const float *in, const float *w, int n, int m, int d)
{
	infer_matmul(out, in, w, n, m, d);
}

void infer_matmul(float *out, const float *in, const float *w, int n, int m, int d)
{
	if (n <= INFER_FEW_ROWS)
		matmul_few_rows(out, in, w, n, m, d);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d, m, 1.0f, in, m, w, m,
			    0.0f, out, d);
}

/*
 * RMSNorm and RoPE are the training model's kernels (model/ops.h): the same
 * float operations in the same order, the same eps and the same RoPE table.
 * The gate is not: ops_swiglu_forward's exp is ops_expf, this one's is
 * sampler_expf, whose last bits differ — and every sampled answer, and the
 * tests' exact-token checks, were made with this one.
 */

/* hb (n, h) = silu(hb) * hb2 */
static void swiglu_forward(float *hb, const float *hb2, size_t count)
{
#pragma omp simd
	for (size_t i = 0; i < count; i++) {
		float a = hb[i];
		hb[i] = a / (1.0f + sampler_expf(-a)) * hb2[i];
	}
}

static void residual_forward(float *x, const float *dx, size_t count)
{
#pragma omp simd
	for (size_t i = 0; i < count; i++)
		x[i] += dx[i];
}

/* ---- caches --------------------------------------------------------------------- */

/* (prompt g, layer l, position t) of the prompt cache */
static float *prompt_row(const struct infer *inf, float *cache, int g, int l, int t)
{
	size_t S = (size_t)inf->cfg.seq_len, kv = (size_t)llama_kv_dim(&inf->cfg);
	size_t L = (size_t)inf->cfg.n_layers;
	return cache + (((size_t)g * L + (size_t)l) * S + (size_t)t) * kv;
}

/* (layer l, sequence slot, position t) of the per-sequence cache */
static float *seq_row(const struct infer *inf, float *cache, int l, int slot, int t)
{
	size_t S = (size_t)inf->cfg.seq_len, kv = (size_t)llama_kv_dim(&inf->cfg);
	return cache + (((size_t)l * inf->max_k + (size_t)slot) * S + (size_t)t) * kv;
}

/* where row r (at position t) keeps its key or value: prompt rows (slot -1)
 * and positions inside its shared prompt go to its prompt's cache */
static float *cache_row(const struct infer *inf, float *prompt_cache, float *seq_cache, int l,
			int r, int t)
{
	int slot = inf->row_slot[r];
	if (slot < 0 || t < inf->row_shared[r])
		return prompt_row(inf, prompt_cache, inf->row_prompt[r], l, t);
	return seq_row(inf, seq_cache, l, slot, t);
}

/*
 * Multi-head attention of n rows at layer l: out (n, dim) from q (n, dim) and
 * the caches.  A prompt row (slot -1) sees its prompt's positions 0..pos; a
 * sequence row sees its prompt's positions 0..row_shared-1, then its own up
 * to pos.
 */
static void attention_forward(struct infer *inf, float *out, float *att, const float *q, int l,
			      int n)
{
	const struct llama_config *c = &inf->cfg;
	int hs = llama_head_size(c), nh = c->n_heads, kv_mul = c->n_heads / c->n_kv_heads;
	int S = c->seq_len, dim = c->dim, kv = llama_kv_dim(c);
	float scale = 1.0f / sqrtf((float)hs);
	int pairs = n * nh;

#pragma omp parallel for schedule(static) if (pairs > 1 && omp_get_max_threads() > 1)
	for (int ph = 0; ph < pairs; ph++) {
		int r = ph / nh, h = ph % nh;
		int pos = inf->row_pos[r], slot = inf->row_slot[r], g = inf->row_prompt[r];
		int n_shared = inf->row_shared[r];
		int koff = (h / kv_mul) * hs;
		/* positions [0, split) in the prompt cache, [split, pos] in the slot's */
		int split = slot < 0 ? pos + 1 : n_shared < pos + 1 ? n_shared : pos + 1;
		const float *kp = prompt_row(inf, inf->key_prompt, g, l, 0) + koff;
		const float *vp = prompt_row(inf, inf->value_prompt, g, l, 0) + koff;
		const float *ks = slot < 0 ? kp : seq_row(inf, inf->key_seq, l, slot, 0) + koff;
		const float *vs = slot < 0 ? vp : seq_row(inf, inf->value_seq, l, slot, 0) + koff;
		const float *qh = q + (size_t)r * dim + (size_t)h * hs;
		float *a = att + ((size_t)r * nh + h) * S;
		float *o = out + (size_t)r * dim + (size_t)h * hs;
		attn_scores(a, qh, kp, (size_t)kv, split, hs, scale);
		attn_scores(a + split, qh, ks + (size_t)split * kv, (size_t)kv, pos + 1 - split, hs,
			    scale);
		sampler_softmax(a, pos + 1);
		memset(o, 0, (size_t)hs * sizeof(float));
		attn_mix(o, a, vp, (size_t)kv, split, hs);
		attn_mix(o, a + split, vs + (size_t)split * kv, (size_t)kv, pos + 1 - split, hs);
	}
}

/*
 * One forward pass over n rows (inf->row_tok / row_pos / row_slot /
 * row_prompt / row_shared), writing their keys and values into the caches;
 * logits for rows [logits_from, n) go to inf->logits starting at row 0.
 */
static void forward_rows(struct infer *inf, int n, int logits_from)
{
	const struct llama_config *c = &inf->cfg;
	const struct llama_weights *w = &inf->w;
	int dim = c->dim, hid = c->hidden_dim, kv = llama_kv_dim(c), hs = llama_head_size(c);

	for (int r = 0; r < n; r++)
		memcpy(inf->x + (size_t)r * dim, w->token_embedding + (size_t)inf->row_tok[r] * dim,
		       (size_t)dim * sizeof(float));

	for (int l = 0; l < c->n_layers; l++) {
		size_t ld = (size_t)l * dim, lkv = (size_t)l * kv * dim, lh = (size_t)l * hid * dim;

		ops_rmsnorm_forward(inf->xb, inf->rstd, inf->x, w->rms_att + ld, n, dim);
		matmul_forward(inf->q, inf->xb, w->wq + ld * dim, n, dim, dim);
		matmul_forward(inf->k, inf->xb, w->wk + lkv, n, dim, kv);
		matmul_forward(inf->v, inf->xb, w->wv + lkv, n, dim, kv);
		ops_rope_forward_at(inf->q, inf->q, inf->rope_cos, inf->rope_sin, inf->row_pos, n,
				    c->n_heads, hs);
		ops_rope_forward_at(inf->k, inf->k, inf->rope_cos, inf->rope_sin, inf->row_pos, n,
				    c->n_kv_heads, hs);
		for (int r = 0; r < n; r++) {
			int pos = inf->row_pos[r];
			memcpy(cache_row(inf, inf->key_prompt, inf->key_seq, l, r, pos),
			       inf->k + (size_t)r * kv, (size_t)kv * sizeof(float));
			memcpy(cache_row(inf, inf->value_prompt, inf->value_seq, l, r, pos),
			       inf->v + (size_t)r * kv, (size_t)kv * sizeof(float));
		}
		attention_forward(inf, inf->xb, inf->att, inf->q, l, n);
		matmul_forward(inf->xb2, inf->xb, w->wo + ld * dim, n, dim, dim);
		residual_forward(inf->x, inf->xb2, (size_t)n * dim);

		ops_rmsnorm_forward(inf->xb, inf->rstd, inf->x, w->rms_ffn + ld, n, dim);
		matmul_forward(inf->hb, inf->xb, w->w1 + lh, n, dim, hid);
		matmul_forward(inf->hb2, inf->xb, w->w3 + lh, n, dim, hid);
		swiglu_forward(inf->hb, inf->hb2, (size_t)n * hid);
		matmul_forward(inf->xb, inf->hb, w->w2 + lh, n, hid, dim);
		residual_forward(inf->x, inf->xb, (size_t)n * dim);
	}
	if (logits_from < n) {
		int m = n - logits_from;
		ops_rmsnorm_forward(inf->xb, inf->rstd, inf->x + (size_t)logits_from * dim,
				    w->rms_final, m, dim);
		matmul_forward(inf->logits, inf->xb, w->wcls, m, dim, c->vocab_size);
	}
}

/* Runs tokens 0..n-1 as prompt rows of prompt cache g in chunks; logits of
 * the rows from logits_from on are copied to out (row t - logits_from) when
 * out is set, and the last row's logits stay in inf->logits row 0 (if n - 1
 * >= logits_from). */
static void prefill(struct infer *inf, int g, const int *tokens, int n, int logits_from, float *out)
{
	size_t V = (size_t)inf->cfg.vocab_size;
	for (int p0 = 0; p0 < n; p0 += inf->max_rows) {
		int m = n - p0 < inf->max_rows ? n - p0 : inf->max_rows;
		for (int r = 0; r < m; r++) {
			inf->row_tok[r] = tokens[p0 + r];
			inf->row_pos[r] = p0 + r;
			inf->row_slot[r] = -1;
			inf->row_prompt[r] = g;
			inf->row_shared[r] = 0;
		}
		int lf = logits_from - p0;
		lf = lf < 0 ? 0 : lf > m ? m : lf;
		forward_rows(inf, m, lf);
		if (out && lf < m)
			memcpy(out + (size_t)(p0 + lf - logits_from) * V, inf->logits,
			       (size_t)(m - lf) * V * sizeof(float));
		if (lf < m && p0 + m == n && m - lf > 1)
			memmove(inf->logits, inf->logits + (size_t)(m - lf - 1) * V, V * sizeof(float));
	}
}

/* ---- set-up ---------------------------------------------------------------------- */

void infer_params_default(struct infer_params *p)
{
	memset(p, 0, sizeof(*p));
	p->k = 1;
	p->max_new = 256;
	p->temperature = 1.0f;
	p->top_p = 0.9f;
	p->top_k = 0;
	p->seed = 0;
	p->first_stream = 0;
	p->stop_ids[0] = INFER_EOS;
	p->n_stop = 1;
}

size_t infer_seq_bytes(const struct llama_config *cfg)
{
	return 2 * (size_t)cfg->n_layers * (size_t)cfg->seq_len * (size_t)llama_kv_dim(cfg) *
	       sizeof(float);
}

int infer_batch_size(const struct llama_config *cfg, int k, int want)
{
	size_t per = infer_seq_bytes(cfg) * (size_t)(k + 1);
	size_t b = per ? INFER_BATCH_BYTES / per : 1;
	b = b < (size_t)want ? b : (size_t)want;
	if ((long)b * k > 4096)
		b = 4096 / (k > 0 ? k : 1);
	return b < 1 ? 1 : (int)b;
}

int infer_init(struct infer *inf, const struct llama_config *cfg, float *params, int max_k,
	       char *err, size_t errlen)
{
	return infer_init_batch(inf, cfg, params, max_k, 1, err, errlen);
}

int infer_init_batch(struct infer *inf, const struct llama_config *cfg, float *params, int max_k,
		     int max_prompts, char *err, size_t errlen)
{
	char why[128];
	memset(inf, 0, sizeof(*inf));
	if (llama_config_check(cfg, why, sizeof(why)) < 0) {
		set_err(err, errlen, "bad model config: %s", why);
		return -1;
	}
	if (max_k < 1 || max_k > 4096) {
		set_err(err, errlen, "bad number of sequences %d (1..4096)", max_k);
		return -1;
	}
	if (max_prompts < 1 || max_prompts > max_k) {
		set_err(err, errlen, "bad number of prompts %d (1..%d)", max_prompts, max_k);
		return -1;
	}
	inf->cfg = *cfg;
	inf->max_k = max_k;
	inf->max_prompts = max_prompts;
	inf->max_rows = max_k > INFER_CHUNK ? max_k : INFER_CHUNK;
	llama_weights_map(&inf->w, cfg, params);

	size_t L = (size_t)cfg->n_layers, S = (size_t)cfg->seq_len, kv = (size_t)llama_kv_dim(cfg);
	size_t R = (size_t)inf->max_rows, d = (size_t)cfg->dim, h = (size_t)cfg->hidden_dim;
	size_t V = (size_t)cfg->vocab_size, K = (size_t)max_k, hs = (size_t)llama_head_size(cfg);
	size_t P = (size_t)max_prompts;
	inf->key_prompt = calloc(P * L * S * kv, sizeof(float));
	inf->value_prompt = calloc(P * L * S * kv, sizeof(float));
	inf->key_seq = calloc(L * K * S * kv, sizeof(float));
	inf->value_seq = calloc(L * K * S * kv, sizeof(float));
	inf->x = calloc(R * d, sizeof(float));
	inf->xb = calloc(R * d, sizeof(float));
	inf->xb2 = calloc(R * d, sizeof(float));
	inf->q = calloc(R * d, sizeof(float));
	inf->k = calloc(R * kv, sizeof(float));
	inf->v = calloc(R * kv, sizeof(float));
	inf->hb = calloc(R * h, sizeof(float));
	inf->hb2 = calloc(R * h, sizeof(float));
	inf->att = calloc(R * (size_t)cfg->n_heads * S, sizeof(float));
	inf->logits = calloc(R * V, sizeof(float));
	inf->probs = calloc(K * V, sizeof(float));
	inf->rope_cos = calloc(S * hs / 2, sizeof(float));
	inf->rope_sin = calloc(S * hs / 2, sizeof(float));
	inf->rstd = calloc(R, sizeof(float));
	inf->row_tok = calloc(R, sizeof(int));
	inf->row_pos = calloc(R, sizeof(int));
	inf->row_slot = calloc(R, sizeof(int));
	inf->row_prompt = calloc(R, sizeof(int));
	inf->row_shared = calloc(R, sizeof(int));
	inf->slot_prompt = calloc(K, sizeof(int));
	inf->live = calloc(K, sizeof(int));
	inf->samplers = calloc(K, sizeof(struct sampler));
	if (!inf->key_prompt || !inf->value_prompt || !inf->key_seq || !inf->value_seq ||
	    !inf->x || !inf->xb || !inf->xb2 || !inf->q || !inf->k || !inf->v || !inf->hb ||
	    !inf->hb2 || !inf->att || !inf->logits || !inf->probs || !inf->rope_cos ||
	    !inf->rope_sin || !inf->rstd || !inf->row_tok || !inf->row_pos || !inf->row_slot ||
	    !inf->row_prompt || !inf->row_shared || !inf->slot_prompt || !inf->live || !inf->samplers)
		goto out_oom;
	for (int j = 0; j < max_k; j++)
		if (sampler_init(&inf->samplers[j], cfg->vocab_size, 1.0f, 1.0f, 0, 0) < 0)
			goto out_oom;
	ops_rope_table(inf->rope_cos, inf->rope_sin, (int)S, (int)hs);
	return 0;

out_oom:
	infer_release(inf);
	set_err(err, errlen, "out of memory for inference (%d sequences of %d prompts, %d "
		"positions)", max_k, max_prompts, cfg->seq_len);
	return -1;
}

void infer_release(struct infer *inf)
{
	if (!inf)
		return;
	if (inf->samplers)
		for (int j = 0; j < inf->max_k; j++)
			sampler_release(&inf->samplers[j]);
	free(inf->samplers);
	free(inf->key_prompt);
	free(inf->value_prompt);
	free(inf->key_seq);
	free(inf->value_seq);
	free(inf->x);
	free(inf->xb);
	free(inf->xb2);
	free(inf->q);
	free(inf->k);
	free(inf->v);
	free(inf->hb);
	free(inf->hb2);
	free(inf->att);
	free(inf->logits);
	free(inf->probs);
	free(inf->rope_cos);
	free(inf->rope_sin);
	free(inf->rstd);
	free(inf->row_tok);
	free(inf->row_pos);
	free(inf->row_slot);
	free(inf->row_prompt);
	free(inf->row_shared);
	free(inf->slot_prompt);
	free(inf->live);
	memset(inf, 0, sizeof(*inf));
}

/* ---- entry points ------------------------------------------------------------------ */

static int check_tokens(const struct infer *inf, const int *t, int n, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++)
		if (t[i] < 0 || t[i] >= inf->cfg.vocab_size) {
			set_err(err, errlen, "token %d at position %d is outside the vocabulary (%d)",
				t[i], i, inf->cfg.vocab_size);
			return -1;
		}
	return 0;
}

int infer_logits(struct infer *inf, const int *tokens, int n, float *logits, char *err,
		 size_t errlen)
{
	if (n < 1 || n > inf->cfg.seq_len) {
		set_err(err, errlen, "sequence of %d tokens: want 1..%d", n, inf->cfg.seq_len);
		return -1;
	}
	if (check_tokens(inf, tokens, n, err, errlen) < 0)
		return -1;
	prefill(inf, 0, tokens, n, 0, logits);
	return 0;
}

static bool is_stop(const struct infer_params *p, int tok)
{
	for (int i = 0; i < p->n_stop && i < INFER_MAX_STOP; i++)
		if (p->stop_ids[i] == tok)
			return true;
	return false;
}

/* Samples row r of inf->logits for sequence j; returns the token. */
static int sample_row(struct infer *inf, int r, int j, float *logprob)
{
	size_t V = (size_t)inf->cfg.vocab_size;
	float *lg = inf->logits + (size_t)r * V;
	struct sampler *s = &inf->samplers[j];
	int tok;
	if (s->temperature == 0.0f) {
		tok = sampler_argmax(lg, (int)V);
	} else {
		float *pr = inf->probs + (size_t)j * V;
		memcpy(pr, lg, V * sizeof(float)); /* the sampler clobbers its input */
		tok = sampler_sample(s, pr);
	}
	if (logprob)
		*logprob = sampler_log_softmax_at(lg, (int)V, tok);
	return tok;
}

int infer_generate(struct infer *inf, const int *prompt, int n_prompt,
		   const struct infer_params *p, int *tokens, int *n_tokens, float *logprobs,
		   char *err, size_t errlen)
{
	struct infer_prompt one = { prompt, n_prompt, p->seed, p->first_stream, -1 };
	return infer_generate_batch(inf, &one, 1, p, tokens, n_tokens, logprobs, err, errlen);
}

/* New tokens prompt pr may have: its limit and the stride, in its room. */
static int prompt_max_new(const struct infer_prompt *pr, const struct infer_params *p, int S)
{
	int m = pr->max_new >= 0 && pr->max_new < p->max_new ? pr->max_new : p->max_new;
	return m < S - pr->n ? m : S - pr->n;
}

int infer_generate_batch(struct infer *inf, const struct infer_prompt *prompts, int n_prompts,
			 const struct infer_params *p, int *tokens, int *n_tokens, float *logprobs,
			 char *err, size_t errlen)
{
	int K = p->k, S = inf->cfg.seq_len, stride = p->max_new;

	if (n_prompts < 1 || n_prompts > inf->max_prompts) {
		set_err(err, errlen, "%d prompts given, this engine holds 1..%d", n_prompts,
			inf->max_prompts);
		return -1;
	}
	if (K < 1 || (long)K * n_prompts > inf->max_k) {
		set_err(err, errlen, "%d sequences asked for, this engine holds 1..%d",
			K * n_prompts, inf->max_k);
		return -1;
	}
	if (p->max_new < 0 || p->n_stop < 0 || p->n_stop > INFER_MAX_STOP) {
		set_err(err, errlen, "bad generation settings (max_new %d, %d stop ids)", p->max_new,
			p->n_stop);
		return -1;
	}
	for (int i = 0; i < n_prompts; i++) {
		if (prompts[i].n < 1 || prompts[i].n > S) {
			set_err(err, errlen, "prompt of %d tokens: want 1..%d", prompts[i].n, S);
			return -1;
		}
		if (check_tokens(inf, prompts[i].tokens, prompts[i].n, err, errlen) < 0)
			return -1;
	}
	int n_live = 0;
	for (int i = 0; i < n_prompts; i++) {
		const struct infer_prompt *pr = &prompts[i];
		int max_new = prompt_max_new(pr, p, S);
		for (int j = 0; j < K; j++) {
			int slot = i * K + j;
			n_tokens[slot] = 0;
			inf->slot_prompt[slot] = i;
			sampler_set(&inf->samplers[slot], p->temperature, p->top_p, p->top_k);
			inf->samplers[slot].rng = sampler_stream_seed(pr->seed, pr->first_stream + j);
		}
		if (max_new == 0)
			continue;
		/* the prompt once; its last logits seed each of its sequences */
		prefill(inf, i, pr->tokens, pr->n, pr->n - 1, NULL);
#pragma omp parallel for schedule(static) if (K > 1 && omp_get_max_threads() > 1)
		for (int j = 0; j < K; j++) {
			int slot = i * K + j;
			float lp;
			int tok = sample_row(inf, 0, slot, logprobs ? &lp : NULL);
			tokens[(size_t)slot * stride] = tok;
			if (logprobs)
				logprobs[(size_t)slot * stride] = lp;
			n_tokens[slot] = 1;
		}
		for (int j = 0; j < K; j++)
			if (!is_stop(p, tokens[(size_t)(i * K + j) * stride]) && max_new > 1)
				inf->live[n_live++] = i * K + j;
	}

	/* then every live sequence one token per step, all in one forward pass */
	for (int step = 1; n_live > 0; step++) {
		for (int r = 0; r < n_live; r++) {
			int slot = inf->live[r], g = inf->slot_prompt[slot];
			inf->row_tok[r] = tokens[(size_t)slot * stride + step - 1];
			inf->row_pos[r] = prompts[g].n + step - 1;
			inf->row_slot[r] = slot;
			inf->row_prompt[r] = g;
			inf->row_shared[r] = prompts[g].n;
		}
		forward_rows(inf, n_live, 0);
#pragma omp parallel for schedule(static) if (n_live > 1 && omp_get_max_threads() > 1)
		for (int r = 0; r < n_live; r++) {
			int slot = inf->live[r];
			float lp;
			int tok = sample_row(inf, r, slot, logprobs ? &lp : NULL);
			tokens[(size_t)slot * stride + step] = tok;
			if (logprobs)
				logprobs[(size_t)slot * stride + step] = lp;
			n_tokens[slot] = step + 1;
		}
		int m = 0;
		for (int r = 0; r < n_live; r++) {
			int slot = inf->live[r];
			int max_new = prompt_max_new(&prompts[inf->slot_prompt[slot]], p, S);
			if (!is_stop(p, tokens[(size_t)slot * stride + step]) && step + 1 < max_new)
				inf->live[m++] = slot;
		}
		n_live = m;
	}
	return 0;
}
