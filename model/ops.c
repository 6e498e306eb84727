/*
 * model/ops.c — the decoder's layers as forward/backward pairs (see ops.h).
 *
 * Speed notes: every matrix product is one cblas_sgemm over all rows (OpenBLAS
 * threads it); attention runs one small single-threaded GEMM per (batch, head)
 * inside an OpenMP loop (the OpenMP build of OpenBLAS runs a GEMM called inside
 * a parallel region on one thread).  Everything else is an element-wise or
 * row-wise loop written so GCC vectorises it (`omp simd`, restrict, ops_expf).
 */
#include "model/ops.h"

#include <cblas.h>
#include <math.h>

/* ---- matmul ------------------------------------------------------------- */

void ops_matmul_forward(float *out, const float *inp, const float *weight,
			int N, int C, int OC, bool accumulate)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C,
		    1.0f, inp, C, weight, C, accumulate ? 1.0f : 0.0f, out, OC);
}

void ops_matmul_backward(float *dinp, float *dweight,
			 const float *dout, const float *inp, const float *weight,
			 int N, int C, int OC)
{
	if (dinp)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC,
			    1.0f, dout, OC, weight, C, 1.0f, dinp, C);
	if (dweight)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N,
			    1.0f, dout, OC, inp, C, 1.0f, dweight, C);
}

void ops_matmul_backward_set(float *dinp, float *dweight,
			     const float *dout, const float *inp, const float *weight,
			     int N, int C, int OC)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC,
		    1.0f, dout, OC, weight, C, 0.0f, dinp, C);
	ops_matmul_backward(NULL, dweight, dout, inp, weight, N, C, OC);
}

void ops_matmul_forward_ref(float *out, const float *inp, const float *weight,
			    int N, int C, int OC, bool accumulate)
{
	for (int n = 0; n < N; n++)
		for (int o = 0; o < OC; o++) {
			double s = accumulate ? out[(size_t)n * OC + o] : 0.0;
			for (int c = 0; c < C; c++)
				s += (double)inp[(size_t)n * C + c] * weight[(size_t)o * C + c];
			out[(size_t)n * OC + o] = (float)s;
		}
}

void ops_matmul_backward_ref(float *dinp, float *dweight,
			     const float *dout, const float *inp, const float *weight,
			     int N, int C, int OC)
{
	if (dinp)
		for (int n = 0; n < N; n++)
			for (int c = 0; c < C; c++) {
				double s = dinp[(size_t)n * C + c];
				for (int o = 0; o < OC; o++)
					s += (double)dout[(size_t)n * OC + o] * weight[(size_t)o * C + c];
				dinp[(size_t)n * C + c] = (float)s;
			}
	if (dweight)
		for (int o = 0; o < OC; o++)
			for (int c = 0; c < C; c++) {
				double s = dweight[(size_t)o * C + c];
				for (int n = 0; n < N; n++)
					s += (double)dout[(size_t)n * OC + o] * inp[(size_t)n * C + c];
				dweight[(size_t)o * C + c] = (float)s;
			}
}

/* ---- RMSNorm ------------------------------------------------------------ */

void ops_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight,
			 int N, int C)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *restrict x = inp + (size_t)n * C;
		float *restrict y = out + (size_t)n * C;
		float ss = 0.0f;
#pragma omp simd reduction(+:ss)
		for (int c = 0; c < C; c++)
			ss += x[c] * x[c];
		ss = ss / C + OPS_RMSNORM_EPS;
		float r = 1.0f / sqrtf(ss);
		rstd[n] = r;
#pragma omp simd
		for (int c = 0; c < C; c++)
			y[c] = weight[c] * (r * x[c]);
	}
}

void ops_rmsnorm_backward(float *dinp, float *dweight, const float *dout,
			  const float *inp, const float *weight, const float *rstd, int N, int C)
{
	if (dinp) {
#pragma omp parallel for schedule(static)
		for (int n = 0; n < N; n++) {
			const float *restrict x = inp + (size_t)n * C;
			const float *restrict dy = dout + (size_t)n * C;
			float *restrict dx = dinp + (size_t)n * C;
			float r = rstd[n], dot = 0.0f;
#pragma omp simd reduction(+:dot)
			for (int c = 0; c < C; c++)
				dot += dy[c] * weight[c] * x[c];
			float k = r * r * r * dot / C;
#pragma omp simd
			for (int c = 0; c < C; c++)
				dx[c] += r * weight[c] * dy[c] - k * x[c];
		}
	}
	if (dweight) {
		for (int n = 0; n < N; n++) {
			const float *restrict x = inp + (size_t)n * C;
			const float *restrict dy = dout + (size_t)n * C;
			float r = rstd[n];
#pragma omp simd
			for (int c = 0; c < C; c++)
				dweight[c] += dy[c] * x[c] * r;
		}
	}
}

/* ---- RoPE --------------------------------------------------------------- */

void ops_rope_table(float *freq_cos, float *freq_sin, int T, int hs)
{
	/* the same float operations as run.c: head_dim = i % head_size (even) */
	for (int t = 0; t < T; t++)
		for (int i = 0; i < hs / 2; i++) {
			float freq = 1.0f / powf(10000.0f, (2 * i) / (float)hs);
			float val = t * freq;
			freq_cos[(size_t)t * (hs / 2) + i] = cosf(val);
			freq_sin[(size_t)t * (hs / 2) + i] = sinf(val);
		}
}

/* One row's nh heads (y may equal x) rotated by the table row fc, fs (hs/2). */
static inline void rope_row(float *y, const float *x, const float *fc, const float *fs,
			    int nh, int hs)
{
	int half = hs / 2;
	for (int h = 0; h < nh; h++) {
		const float *xh = x + (size_t)h * hs;
		float *yh = y + (size_t)h * hs;
#pragma omp simd
		for (int i = 0; i < half; i++) {
			float a = xh[2 * i], b = xh[2 * i + 1];
			yh[2 * i] = a * fc[i] - b * fs[i];
			yh[2 * i + 1] = a * fs[i] + b * fc[i];
		}
	}
}

void ops_rope_forward(float *out, const float *inp, const float *freq_cos,
		      const float *freq_sin, int B, int T, int nh, int hs)
{
	int half = hs / 2;
#pragma omp parallel for schedule(static)
	for (int bt = 0; bt < B * T; bt++) {
		size_t t = (size_t)(bt % T), r = (size_t)bt * nh * hs;
		rope_row(out + r, inp + r, freq_cos + t * half, freq_sin + t * half, nh, hs);
	}
}

void ops_rope_forward_at(float *out, const float *inp, const float *freq_cos,
			 const float *freq_sin, const int *pos, int N, int nh, int hs)
{
	int half = hs / 2;
	for (int n = 0; n < N; n++) {
		size_t t = (size_t)pos[n], r = (size_t)n * nh * hs;
		rope_row(out + r, inp + r, freq_cos + t * half, freq_sin + t * half, nh, hs);
	}
}

void ops_rope_backward(float *dinp, const float *dout, const float *freq_cos,
		       const float *freq_sin, int B, int T, int nh, int hs)
{
	int half = hs / 2;
#pragma omp parallel for schedule(static)
	for (int bt = 0; bt < B * T; bt++) {
		int t = bt % T;
		const float *fc = freq_cos + (size_t)t * half, *fs = freq_sin + (size_t)t * half;
		for (int h = 0; h < nh; h++) {
			const float *restrict dy = dout + ((size_t)bt * nh + h) * hs;
			float *restrict dx = dinp + ((size_t)bt * nh + h) * hs;
#pragma omp simd
			for (int i = 0; i < half; i++) {
				float d0 = dy[2 * i], d1 = dy[2 * i + 1];
				dx[2 * i] += d0 * fc[i] + d1 * fs[i];
				dx[2 * i + 1] += d1 * fc[i] - d0 * fs[i];
			}
		}
	}
}

/* ---- attention ---------------------------------------------------------- */

/* Causal softmax of one (T,T) score matrix in place: row i over j <= i. */
static void attention_softmax_rows(float *a, int T)
{
	for (int i = 0; i < T; i++) {
		float *restrict row = a + (size_t)i * T;
		float m = -INFINITY, s = 0.0f;
#pragma omp simd reduction(max:m) simdlen(OPS_SIMDLEN)
		for (int j = 0; j <= i; j++)
			m = row[j] > m ? row[j] : m;
#pragma omp simd reduction(+:s) simdlen(OPS_SIMDLEN)
		for (int j = 0; j <= i; j++) {
			float e = ops_expf(row[j] - m);
			row[j] = e;
			s += e;
		}
		float inv = 1.0f / s;
#pragma omp simd
		for (int j = 0; j <= i; j++)
			row[j] *= inv;
		for (int j = i + 1; j < T; j++)
			row[j] = 0.0f;
	}
}

/* Causal attention skips the score blocks above the diagonal: the rows are
 * taken in blocks of ATT_BLOCK, and rows [r0, r1) only meet keys [0, r1). */
#define ATT_BLOCK 64

void ops_attention_forward(float *out, float *att, const float *q, const float *k,
			   const float *v, int B, int T, int nh, int nkv, int hs)
{
	int rep = nh / nkv, qs = nh * hs, ks = nkv * hs;
	float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for collapse(2) schedule(static)
	for (int b = 0; b < B; b++)
		for (int h = 0; h < nh; h++) {
			const float *qh = q + (size_t)b * T * qs + (size_t)h * hs;
			const float *kh = k + (size_t)b * T * ks + (size_t)(h / rep) * hs;
			const float *vh = v + (size_t)b * T * ks + (size_t)(h / rep) * hs;
			float *oh = out + (size_t)b * T * qs + (size_t)h * hs;
			float *a = att + ((size_t)b * nh + h) * T * T;
			for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
				int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T;
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hs,
					    scale, qh + (size_t)r0 * qs, qs, kh, ks, 0.0f,
					    a + (size_t)r0 * T, T);
			}
			attention_softmax_rows(a, T);
			for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
				int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T;
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, r1,
					    1.0f, a + (size_t)r0 * T, T, vh, ks, 0.0f,
					    oh + (size_t)r0 * qs, qs);
			}
		}
}

void ops_attention_backward(float *dq, float *dk, float *dv, float *datt,
			    const float *dout, const float *att, const float *q,
			    const float *k, const float *v,
			    int B, int T, int nh, int nkv, int hs)
{
	int rep = nh / nkv, qs = nh * hs, ks = nkv * hs;
	float scale = 1.0f / sqrtf((float)hs);
	/* one task per (batch, kv head): the query heads sharing a kv head add
	 * into the same dk/dv, so they run in turn inside the task */
#pragma omp parallel for collapse(2) schedule(static)
	for (int b = 0; b < B; b++)
		for (int g = 0; g < nkv; g++) {
			const float *kh = k + (size_t)b * T * ks + (size_t)g * hs;
			const float *vh = v + (size_t)b * T * ks + (size_t)g * hs;
			float *dkh = dk + (size_t)b * T * ks + (size_t)g * hs;
			float *dvh = dv + (size_t)b * T * ks + (size_t)g * hs;
			for (int h = g * rep; h < (g + 1) * rep; h++) {
				const float *qh = q + (size_t)b * T * qs + (size_t)h * hs;
				const float *doh = dout + (size_t)b * T * qs + (size_t)h * hs;
				float *dqh = dq + (size_t)b * T * qs + (size_t)h * hs;
				const float *a = att + ((size_t)b * nh + h) * T * T;
				float *da = datt + ((size_t)b * nh + h) * T * T;
				/* datt = dout V^T; dV += att^T dout (lower-triangle blocks) */
				for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
					int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T;
					cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hs,
						    1.0f, doh + (size_t)r0 * qs, qs, vh, ks, 0.0f,
						    da + (size_t)r0 * T, T);
					cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hs, r1 - r0,
						    1.0f, a + (size_t)r0 * T, T, doh + (size_t)r0 * qs, qs,
						    1.0f, dvh, ks);
				}
				/* softmax backward, then the 1/sqrt(hs) of the scores */
				for (int i = 0; i < T; i++) {
					const float *restrict ar = a + (size_t)i * T;
					float *restrict dr = da + (size_t)i * T;
					float dot = 0.0f;
#pragma omp simd reduction(+:dot)
					for (int j = 0; j <= i; j++)
						dot += ar[j] * dr[j];
#pragma omp simd
					for (int j = 0; j <= i; j++)
						dr[j] = ar[j] * (dr[j] - dot) * scale;
					for (int j = i + 1; j < T; j++)
						dr[j] = 0.0f;
				}
				/* dQ += dpre K; dK += dpre^T Q */
				for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
					int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T;
					cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, r1,
						    1.0f, da + (size_t)r0 * T, T, kh, ks, 1.0f,
						    dqh + (size_t)r0 * qs, qs);
					cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hs, r1 - r0,
						    1.0f, da + (size_t)r0 * T, T, qh + (size_t)r0 * qs, qs,
						    1.0f, dkh, ks);
				}
			}
		}
}

void ops_attention_forward_ref(float *out, float *att, const float *q, const float *k,
			       const float *v, int B, int T, int nh, int nkv, int hs)
{
	int rep = nh / nkv, qs = nh * hs, ks = nkv * hs;
	double scale = 1.0 / sqrt((double)hs);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < nh; h++) {
			int g = h / rep;
			float *a = att + ((size_t)b * nh + h) * T * T;
			for (int i = 0; i < T; i++) {
				const float *qi = q + ((size_t)b * T + i) * qs + (size_t)h * hs;
				double m = -INFINITY, s = 0.0;
				for (int j = 0; j <= i; j++) {
					const float *kj = k + ((size_t)b * T + j) * ks + (size_t)g * hs;
					double d = 0.0;
					for (int c = 0; c < hs; c++)
						d += (double)qi[c] * kj[c];
					a[(size_t)i * T + j] = (float)(d * scale);
					if (d * scale > m)
						m = d * scale;
				}
				for (int j = 0; j <= i; j++)
					s += exp(a[(size_t)i * T + j] - m);
				for (int j = 0; j < T; j++)
					a[(size_t)i * T + j] = j <= i ?
						(float)(exp(a[(size_t)i * T + j] - m) / s) : 0.0f;
				float *oi = out + ((size_t)b * T + i) * qs + (size_t)h * hs;
				for (int c = 0; c < hs; c++) {
					double o = 0.0;
					for (int j = 0; j <= i; j++)
						o += (double)a[(size_t)i * T + j] *
						     v[((size_t)b * T + j) * ks + (size_t)g * hs + c];
					oi[c] = (float)o;
				}
			}
		}
}

void ops_attention_backward_ref(float *dq, float *dk, float *dv, float *datt,
				const float *dout, const float *att, const float *q,
				const float *k, const float *v,
				int B, int T, int nh, int nkv, int hs)
{
	int rep = nh / nkv, qs = nh * hs, ks = nkv * hs;
	double scale = 1.0 / sqrt((double)hs);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < nh; h++) {
			int g = h / rep;
			const float *a = att + ((size_t)b * nh + h) * T * T;
			float *da = datt + ((size_t)b * nh + h) * T * T;
			for (int i = 0; i < T; i++) {
				const float *doi = dout + ((size_t)b * T + i) * qs + (size_t)h * hs;
				/* datt_ij = dout_i . v_j; dv_j += a_ij dout_i */
				for (int j = 0; j < T; j++) {
					const float *vj = v + ((size_t)b * T + j) * ks + (size_t)g * hs;
					float *dvj = dv + ((size_t)b * T + j) * ks + (size_t)g * hs;
					double d = 0.0;
					for (int c = 0; c < hs; c++) {
						d += (double)doi[c] * vj[c];
						dvj[c] += a[(size_t)i * T + j] * doi[c];
					}
					da[(size_t)i * T + j] = (float)d;
				}
				double dot = 0.0;
				for (int j = 0; j <= i; j++)
					dot += (double)a[(size_t)i * T + j] * da[(size_t)i * T + j];
				for (int j = 0; j < T; j++)
					da[(size_t)i * T + j] = j <= i ?
						(float)(a[(size_t)i * T + j] *
							(da[(size_t)i * T + j] - dot) * scale) : 0.0f;
				const float *qi = q + ((size_t)b * T + i) * qs + (size_t)h * hs;
				float *dqi = dq + ((size_t)b * T + i) * qs + (size_t)h * hs;
				for (int j = 0; j <= i; j++) {
					const float *kj = k + ((size_t)b * T + j) * ks + (size_t)g * hs;
					float *dkj = dk + ((size_t)b * T + j) * ks + (size_t)g * hs;
					float d = da[(size_t)i * T + j];
					for (int c = 0; c < hs; c++) {
						dqi[c] += d * kj[c];
						dkj[c] += d * qi[c];
					}
				}
			}
		}
}

/* ---- SwiGLU ------------------------------------------------------------- */

void ops_swiglu_forward(float *out, const float *h1, const float *h3, size_t n)
{
	const float *restrict a = h1, *restrict b = h3;
	float *restrict y = out;
#pragma omp parallel for simd schedule(static) simdlen(OPS_SIMDLEN)
	for (size_t i = 0; i < n; i++) {
		float x = a[i];
		y[i] = x / (1.0f + ops_expf(-x)) * b[i];
	}
}

void ops_swiglu_backward(float *dh1, float *dh3, const float *dout,
			 const float *h1, const float *h3, size_t n)
{
	const float *restrict a = h1, *restrict b = h3, *restrict dy = dout;
	float *restrict da = dh1, *restrict db = dh3;
#pragma omp parallel for simd schedule(static) simdlen(OPS_SIMDLEN)
	for (size_t i = 0; i < n; i++) {
		float x = a[i];
		float s = 1.0f / (1.0f + ops_expf(-x));
		float silu = x * s;
		da[i] += dy[i] * b[i] * s * (1.0f + x * (1.0f - s));
		db[i] += dy[i] * silu;
	}
}

/* ---- embedding ---------------------------------------------------------- */

void ops_embedding_forward(float *out, const int *tokens, const float *emb, int N, int C)
{
	for (int n = 0; n < N; n++)
		memcpy(out + (size_t)n * C, emb + (size_t)tokens[n] * C, sizeof(float) * C);
}

void ops_embedding_backward(float *demb, const float *dout, const int *tokens, int N, int C)
{
	for (int n = 0; n < N; n++) {
		float *restrict d = demb + (size_t)tokens[n] * C;
		const float *restrict g = dout + (size_t)n * C;
#pragma omp simd
		for (int c = 0; c < C; c++)
			d[c] += g[c];
	}
}

/* ---- residual ----------------------------------------------------------- */

void ops_residual_forward(float *out, const float *a, const float *b, size_t n)
{
	const float *restrict x = a, *restrict y = b;
	float *restrict o = out;
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		o[i] = x[i] + y[i];
}

void ops_residual_backward(float *da, float *db, const float *dout, size_t n)
{
	const float *restrict g = dout;
	if (da) {
		float *restrict d = da;
#pragma omp simd
		for (size_t i = 0; i < n; i++)
			d[i] += g[i];
	}
	if (db) {
		float *restrict d = db;
#pragma omp simd
		for (size_t i = 0; i < n; i++)
			d[i] += g[i];
	}
}

/* ---- scalar head -------------------------------------------------------- */

void ops_head_forward(float *out, const float *inp, const float *w, const float *b,
		      int N, int C)
{
	cblas_sgemv(CblasRowMajor, CblasNoTrans, N, C, 1.0f, inp, C, w, 1, 0.0f, out, 1);
	for (int n = 0; n < N; n++)
		out[n] += b[0];
}

void ops_head_backward(float *dinp, float *dw, float *db, const float *dout,
		       const float *inp, const float *w, int N, int C)
{
	if (dinp)
		cblas_sger(CblasRowMajor, N, C, 1.0f, dout, 1, w, 1, dinp, C);
	if (dw)
		cblas_sgemv(CblasRowMajor, CblasTrans, N, C, 1.0f, inp, C, dout, 1, 1.0f, dw, 1);
	if (db) {
		float s = 0.0f;
		for (int n = 0; n < N; n++)
			s += dout[n];
		db[0] += s;
	}
}

void ops_head_forward_ref(float *out, const float *inp, const float *w, const float *b,
			  int N, int C)
{
	for (int n = 0; n < N; n++) {
		double s = b[0];
		for (int c = 0; c < C; c++)
			s += (double)inp[(size_t)n * C + c] * w[c];
		out[n] = (float)s;
	}
}

void ops_head_backward_ref(float *dinp, float *dw, float *db, const float *dout,
			   const float *inp, const float *w, int N, int C)
{
	for (int n = 0; n < N; n++) {
		for (int c = 0; c < C; c++) {
			if (dinp)
				dinp[(size_t)n * C + c] += dout[n] * w[c];
			if (dw)
				dw[c] += dout[n] * inp[(size_t)n * C + c];
		}
		if (db)
			db[0] += dout[n];
	}
}

/* ---- log-softmax -------------------------------------------------------- */

void ops_logsoftmax_forward(float *logprob, float *entropy, float *lse,
			    const float *logits, const int *targets, int N, int V)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *restrict z = logits + (size_t)n * V;
		float m = -INFINITY;
#pragma omp simd reduction(max:m) simdlen(OPS_SIMDLEN)
		for (int j = 0; j < V; j++)
			m = z[j] > m ? z[j] : m;
		float s = 0.0f, sz = 0.0f;
		if (entropy) {
#pragma omp simd reduction(+:s, sz) simdlen(OPS_SIMDLEN)
			for (int j = 0; j < V; j++) {
				float d = z[j] - m;
				float e = ops_expf(d);
				s += e;
				sz += e * d;
			}
		} else {
#pragma omp simd reduction(+:s) simdlen(OPS_SIMDLEN)
			for (int j = 0; j < V; j++)
				s += ops_expf(z[j] - m);
		}
		float ls = logf(s);
		lse[n] = m + ls;
		if (logprob)
			logprob[n] = targets && targets[n] >= 0 ? z[targets[n]] - lse[n] : 0.0f;
		/* H = lse - sum p z = log s - sum e (z - m) / s */
		if (entropy)
			entropy[n] = ls - sz / s;
	}
}

void ops_logsoftmax_backward(float *dlogits, const float *dlogprob, const float *dentropy,
			     const float *logits, const float *lse, const float *entropy,
			     const int *targets, int N, int V)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *z = logits + (size_t)n * V;
		float *dz = dlogits + (size_t)n * V;
		int t = targets ? targets[n] : -1;
		float dlp = dlogprob && t >= 0 ? dlogprob[n] : 0.0f;
		float dh = dentropy ? dentropy[n] : 0.0f;
		float l = lse[n];
		if (dh != 0.0f) {
			/* dz = -p (dlp + dh (z - lse + H)) */
			float a = dlp + dh * (entropy[n] - l);
#pragma omp simd simdlen(OPS_SIMDLEN)
			for (int j = 0; j < V; j++) {
				float p = ops_expf(z[j] - l);
				dz[j] = -p * (a + dh * z[j]);
			}
		} else if (dlp != 0.0f) {
#pragma omp simd simdlen(OPS_SIMDLEN)
			for (int j = 0; j < V; j++)
				dz[j] = -dlp * ops_expf(z[j] - l);
		} else {
			memset(dz, 0, sizeof(float) * V);
		}
		if (t >= 0)
			dz[t] += dlp;
	}
}
