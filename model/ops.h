/*
 * model/ops.h — the layers of the Llama 2 decoder as pure functions over float
 * arrays (llm.c style), used by the training model (model/llama.c) and by
 * anything else that wants a batched forward/backward.
 *
 * Each layer is a *_forward / *_backward pair.  Arguments are ordered outputs,
 * caches, inputs/weights, sizes.  Forward functions write their outputs (=);
 * backward functions ACCUMULATE (+=) into every gradient they are given (a NULL
 * gradient pointer is skipped), so zeroing is the caller's explicit job — the
 * one exception, ops_logsoftmax_backward, is marked there.  Nothing here
 * allocates; scratch space is passed in.
 *
 * Shapes use N = B*T rows; "(B,T,nh,hs)" is the row-major (N, nh*hs) layout of
 * llama2.c's q/k/v vectors stacked over the batch.  Matrices are (out, in) as in
 * model/llama.h.
 *
 * Every kernel that calls BLAS has a plain-loop *_ref twin with the same
 * signature (double accumulation, no BLAS, no threads) for the unit tests.
 * Kernels parallelise internally with OpenMP over rows or (batch, head) pairs;
 * see model/threads.h for the thread count.
 */
#ifndef RLHFD_MODEL_OPS_H
#define RLHFD_MODEL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Fast exp for float, vectorisable (`#pragma omp simd`): range reduction by
 * ln 2 and a degree-6 Cephes polynomial; relative error below 2e-7 over
 * [-87, 88]; returns 0 below -87.3 and exp(88) (1.65e38) above 88. */
#pragma omp declare simd notinbranch simdlen(16)
static inline float ops_expf(float x)
{
	float xc = x < -87.0f ? -87.0f : x;
	xc = xc > 88.0f ? 88.0f : xc;
	/* n = round(x / ln2) via the 1.5*2^23 trick, exact for |n| < 2^22 */
	float t = __builtin_fmaf(xc, 1.44269504088896341f, 12582912.0f);
	float n = t - 12582912.0f;
	float r = __builtin_fmaf(n, -0.693359375f, xc);
	r = __builtin_fmaf(n, 2.12194440e-4f, r);
	float p = 1.9875691500e-4f;
	p = __builtin_fmaf(p, r, 1.3981999507e-3f);
	p = __builtin_fmaf(p, r, 8.3334519073e-3f);
	p = __builtin_fmaf(p, r, 4.1665795894e-2f);
	p = __builtin_fmaf(p, r, 1.6666665459e-1f);
	p = __builtin_fmaf(p, r, 5.0000001201e-1f);
	p = __builtin_fmaf(p * r, r, r) + 1.0f;
	int32_t ni = (int32_t)n;
	int32_t bits = (ni + 127) << 23;
	float scale;
	memcpy(&scale, &bits, sizeof scale);
	float y = p * scale;
	return x < -87.3f ? 0.0f : y;
}

/* Loops that call ops_expf use `#pragma omp simd simdlen(OPS_SIMDLEN)`: 16
 * float lanes (one AVX-512 register, two AVX2 ones), wider than GCC's default
 * 256-bit preference. */
#define OPS_SIMDLEN 16

/* ---- matmul: out = inp W^T (all N rows in one GEMM) ---------------------- */

/* out (N,OC) = inp (N,C) @ weight (OC,C)^T; when accumulate, out += instead
 * (used to add a residual without a separate pass). */
void ops_matmul_forward(float *out, const float *inp, const float *weight,
			int N, int C, int OC, bool accumulate);
/* dinp (N,C) += dout (N,OC) @ weight;  dweight (OC,C) += dout^T @ inp. */
void ops_matmul_backward(float *dinp, float *dweight,
			 const float *dout, const float *inp, const float *weight,
			 int N, int C, int OC);
/* As ops_matmul_backward, but dinp (N,C) is WRITTEN (= dout @ weight), which
 * spares zeroing a fresh buffer; dweight still accumulates. */
void ops_matmul_backward_set(float *dinp, float *dweight,
			     const float *dout, const float *inp, const float *weight,
			     int N, int C, int OC);
void ops_matmul_forward_ref(float *out, const float *inp, const float *weight,
			    int N, int C, int OC, bool accumulate);
void ops_matmul_backward_ref(float *dinp, float *dweight,
			     const float *dout, const float *inp, const float *weight,
			     int N, int C, int OC);

/* ---- RMSNorm (llama2.c: x * weight / sqrt(mean(x^2) + 1e-5)) ------------- */

#define OPS_RMSNORM_EPS 1e-5f

/* out (N,C); rstd (N) cache = 1/sqrt(mean(x^2)+eps); inp (N,C); weight (C). */
void ops_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight,
			 int N, int C);
/* dinp (N,C) +=, dweight (C) +=. */
void ops_rmsnorm_backward(float *dinp, float *dweight, const float *dout,
			  const float *inp, const float *weight, const float *rstd, int N, int C);

/* ---- RoPE: rotate adjacent pairs (x[2i], x[2i+1]) of every head ---------- */

/* Fills freq_cos/freq_sin (T, hs/2) exactly as llama2.c's run.c computes the
 * rotation: freq = 1/10000^(2i/hs), angle = pos * freq, in float. */
void ops_rope_table(float *freq_cos, float *freq_sin, int T, int hs);
/* out (B,T,nh,hs) = rotation of inp (same shape) by position t; out may equal inp. */
void ops_rope_forward(float *out, const float *inp, const float *freq_cos,
		      const float *freq_sin, int B, int T, int nh, int hs);
/* The same rotation for N rows at their own positions pos (N): row n is
 * rotated by position pos[n] — the rows of a KV-cache decode step, one per
 * sequence (model/infer.c).  out (N,nh,hs) may equal inp.  Runs on the
 * calling thread: a decode step has a handful of rows. */
void ops_rope_forward_at(float *out, const float *inp, const float *freq_cos,
			 const float *freq_sin, const int *pos, int N, int nh, int hs);
/* dinp (B,T,nh,hs) += R^T dout. */
void ops_rope_backward(float *dinp, const float *dout, const float *freq_cos,
		       const float *freq_sin, int B, int T, int nh, int hs);

/* ---- causal multi-head attention with grouped-query heads ---------------- */

/* out (B,T,nh,hs); att (B,nh,T,T) cache: softmax probabilities, zero above the
 * diagonal; q (B,T,nh,hs); k, v (B,T,nkv,hs).  Query head h reads kv head
 * h / (nh/nkv), as run.c does.  Scores are scaled by 1/sqrt(hs). */
void ops_attention_forward(float *out, float *att, const float *q, const float *k,
			   const float *v, int B, int T, int nh, int nkv, int hs);
/* dq (B,T,nh,hs) +=, dk, dv (B,T,nkv,hs) +=; datt (B,nh,T,T) scratch
 * (overwritten); dout (B,T,nh,hs). */
void ops_attention_backward(float *dq, float *dk, float *dv, float *datt,
			    const float *dout, const float *att, const float *q,
			    const float *k, const float *v,
			    int B, int T, int nh, int nkv, int hs);
void ops_attention_forward_ref(float *out, float *att, const float *q, const float *k,
			       const float *v, int B, int T, int nh, int nkv, int hs);
void ops_attention_backward_ref(float *dq, float *dk, float *dv, float *datt,
				const float *dout, const float *att, const float *q,
				const float *k, const float *v,
				int B, int T, int nh, int nkv, int hs);

/* ---- SwiGLU gate: out = silu(h1) * h3, element-wise --------------------- */

/* out, h1, h3 (n) — n = N * hidden. */
void ops_swiglu_forward(float *out, const float *h1, const float *h3, size_t n);
/* dh1, dh3 (n) +=. */
void ops_swiglu_backward(float *dh1, float *dh3, const float *dout,
			 const float *h1, const float *h3, size_t n);

/* ---- token embedding lookup --------------------------------------------- */

/* out (N,C) = rows tokens[i] of emb (V,C); tokens must be in [0, V). */
void ops_embedding_forward(float *out, const int *tokens, const float *emb, int N, int C);
/* demb (V,C) += dout rows at their tokens. */
void ops_embedding_backward(float *demb, const float *dout, const int *tokens, int N, int C);

/* ---- residual add ------------------------------------------------------- */

/* out (n) = a + b. */
void ops_residual_forward(float *out, const float *a, const float *b, size_t n);
/* da, db (n) += dout (either may be NULL). */
void ops_residual_backward(float *da, float *db, const float *dout, size_t n);

/* ---- scalar head: out = inp . w + b per row ----------------------------- */

/* out (N); inp (N,C); w (C); b (1). */
void ops_head_forward(float *out, const float *inp, const float *w, const float *b,
		      int N, int C);
/* dinp (N,C) +=, dw (C) +=, db (1) +=; dout (N). */
void ops_head_backward(float *dinp, float *dw, float *db, const float *dout,
		       const float *inp, const float *w, int N, int C);
void ops_head_forward_ref(float *out, const float *inp, const float *w, const float *b,
			  int N, int C);
void ops_head_backward_ref(float *dinp, float *dw, float *db, const float *dout,
			   const float *inp, const float *w, int N, int C);

/* ---- log-softmax over the vocabulary: target log-prob and entropy ------- */

/* Per row i of logits (N,V): lse[i] = log sum_j exp(z_ij) (cache);
 * logprob[i] = z_i,target - lse (0 when targets[i] < 0, or targets NULL);
 * entropy[i] = -sum_j p_ij log p_ij when entropy is not NULL. */
void ops_logsoftmax_forward(float *logprob, float *entropy, float *lse,
			    const float *logits, const int *targets, int N, int V);
/* EXCEPTION to the += rule: dlogits (N,V) is WRITTEN, so it may alias logits
 * (the (N,V) logits buffer is by far the largest activation; the gradient
 * replaces it in place).  dlogprob (N) and dentropy (N) may each be NULL;
 * entropy (N) is the forward's output and is needed only with dentropy.
 * dz_j = dlogprob (1[j=t] - p_j) - dentropy p_j (log p_j + H). */
void ops_logsoftmax_backward(float *dlogits, const float *dlogprob, const float *dentropy,
			     const float *logits, const float *lse, const float *entropy,
			     const int *targets, int N, int V);

#endif
