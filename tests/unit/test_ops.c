/*
 * tests/unit/test_ops.c — the kernels of model/ops.c.
 *
 * Oracles: (1) every BLAS kernel against its plain-loop *_ref twin on odd
 * shapes; (2) every backward against central finite differences of an
 * independent double-precision forward written here (h = 1e-5, so the
 * difference quotient is exact to ~1e-9 and the tolerance measures only the
 * float kernels' rounding); (3) the forward kernels against the same double
 * forwards; (4) RoPE against a transcription of llama2.c run.c's loop.
 */
#include "model/ops.h"
#include "model/threads.h"
#include "tests/test.h"

#include <stdint.h>
#include <stdlib.h>

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 42;
static double urand(void) /* uniform [0,1) */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (rng_state >> 11) * (1.0 / 9007199254740992.0);
}
static void fill(float *p, size_t n, double scale)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (float)((urand() * 2.0 - 1.0) * scale);
}
static float *fnew(size_t n) { float *p = calloc(n ? n : 1, sizeof(float)); return p; }
static double *dnew(size_t n) { double *p = calloc(n ? n : 1, sizeof(double)); return p; }
static void to_d(double *d, const float *f, size_t n) { for (size_t i = 0; i < n; i++) d[i] = f[i]; }

/* max |a-b| / (atol + rtol*|b|) <= 1 over n elements; prints the worst. */
static int close_arrays(const char *what, const float *a, const double *b, size_t n,
			double atol, double rtol)
{
	double worst = 0.0;
	size_t wi = 0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs(a[i] - b[i]) / (atol + rtol * fabs(b[i]));
		if (!(e <= worst)) { worst = e; wi = i; }
	}
	if (!(worst <= 1.0)) {
		fprintf(stderr, "  %s: element %zu: %.9g vs %.9g\n", what, wi, a[wi], b[wi]);
		return 0;
	}
	return 1;
}
static int close_ff(const char *what, const float *a, const float *b, size_t n, double atol,
		    double rtol)
{
	double *d = dnew(n);
	to_d(d, b, n);
	int ok = close_arrays(what, a, d, n, atol, rtol);
	free(d);
	return ok;
}

/*
 * Central finite differences of a double scalar function of a double vector:
 * g[i] = (f(x + h e_i) - f(x - h e_i)) / 2h.  f gets ctx.
 */
typedef double (*loss_fn)(void *ctx, const double *x);
static void fd_grad(double *g, loss_fn f, void *ctx, double *x, size_t n)
{
	const double h = 1e-5;
	for (size_t i = 0; i < n; i++) {
		double x0 = x[i];
		x[i] = x0 + h;
		double fp = f(ctx, x);
		x[i] = x0 - h;
		double fm = f(ctx, x);
		x[i] = x0;
		g[i] = (fp - fm) / (2 * h);
	}
}

/* ---- fast exp ----------------------------------------------------------- */

static void test_expf_accuracy(void)
{
	double worst = 0.0, worst_x = 0.0;
	for (int i = 0; i <= 2000000; i++) {
		float x = (float)(-87.0 + 175.0 * i / 2000000.0);
		double e = fabs(ops_expf(x) / exp((double)x) - 1.0);
		if (e > worst) { worst = e; worst_x = x; }
	}
	CHECK_MSG(worst < 3e-7, "worst relative error %.3g at %.6g", worst, worst_x);
	CHECK(ops_expf(-100.0f) == 0.0f);
	CHECK(ops_expf(-1000.0f) == 0.0f);
	CHECK(ops_expf(0.0f) == 1.0f);
	CHECK(isfinite(ops_expf(1000.0f)) && ops_expf(1000.0f) > 1e38f);
	/* the vectorised loop gives what the scalar call gives */
	float xs[37], ys[37];
	for (int i = 0; i < 37; i++)
		xs[i] = -20.0f + i * 1.1f;
#pragma omp simd
	for (int i = 0; i < 37; i++)
		ys[i] = ops_expf(xs[i]);
	for (int i = 0; i < 37; i++)
		CHECK_NEAR(ys[i] / exp(xs[i]), 1.0, 3e-7);
}

/* ---- matmul ------------------------------------------------------------- */

static void test_matmul_vs_ref(void)
{
	int N = 7, C = 13, OC = 9;
	float *x = fnew(N * C), *w = fnew(OC * C), *y = fnew(N * OC), *yr = fnew(N * OC);
	float *dy = fnew(N * OC), *dx = fnew(N * C), *dxr = fnew(N * C), *dw = fnew(OC * C),
	      *dwr = fnew(OC * C);
	fill(x, N * C, 1); fill(w, OC * C, 1); fill(dy, N * OC, 1);
	ops_matmul_forward(y, x, w, N, C, OC, false);
	ops_matmul_forward_ref(yr, x, w, N, C, OC, false);
	CHECK(close_ff("forward", y, yr, N * OC, 1e-6, 1e-5));
	/* accumulate: out += x W^T on top of what is there */
	fill(y, N * OC, 1);
	memcpy(yr, y, sizeof(float) * N * OC);
	ops_matmul_forward(y, x, w, N, C, OC, true);
	ops_matmul_forward_ref(yr, x, w, N, C, OC, true);
	CHECK(close_ff("accumulate", y, yr, N * OC, 1e-6, 1e-5));
	/* backward accumulates into non-zero gradients */
	fill(dx, N * C, 1); memcpy(dxr, dx, sizeof(float) * N * C);
	fill(dw, OC * C, 1); memcpy(dwr, dw, sizeof(float) * OC * C);
	ops_matmul_backward(dx, dw, dy, x, w, N, C, OC);
	ops_matmul_backward_ref(dxr, dwr, dy, x, w, N, C, OC);
	CHECK(close_ff("dx", dx, dxr, N * C, 1e-6, 1e-5));
	CHECK(close_ff("dw", dw, dwr, OC * C, 1e-6, 1e-5));
	/* the writing variant: dx = dy W whatever was in dx */
	fill(dx, N * C, 1);
	memset(dxr, 0, sizeof(float) * N * C);
	ops_matmul_backward_set(dx, dw, dy, x, w, N, C, OC);
	ops_matmul_backward_ref(dxr, dwr, dy, x, w, N, C, OC);
	CHECK(close_ff("dx set", dx, dxr, N * C, 1e-6, 1e-5));
	CHECK(close_ff("dw after set", dw, dwr, OC * C, 1e-6, 1e-5));
	/* NULL gradients are skipped */
	ops_matmul_backward(NULL, dw, dy, x, w, N, C, OC);
	ops_matmul_backward_ref(NULL, dwr, dy, x, w, N, C, OC);
	CHECK(close_ff("dw only", dw, dwr, OC * C, 1e-6, 1e-5));
	free(x); free(w); free(y); free(yr); free(dy); free(dx); free(dxr); free(dw); free(dwr);
}

struct mm_ctx { int N, C, OC, which; const double *x, *w, *r; };
static double mm_loss(void *p, const double *v)
{
	struct mm_ctx *c = p;
	const double *x = c->which == 0 ? v : c->x, *w = c->which == 1 ? v : c->w;
	double L = 0;
	for (int n = 0; n < c->N; n++)
		for (int o = 0; o < c->OC; o++) {
			double s = 0;
			for (int k = 0; k < c->C; k++)
				s += x[n * c->C + k] * w[o * c->C + k];
			L += c->r[n * c->OC + o] * s;
		}
	return L;
}

static void test_matmul_backward_fd(void)
{
	int N = 5, C = 7, OC = 3;
	float *x = fnew(N * C), *w = fnew(OC * C), *r = fnew(N * OC), *dx = fnew(N * C),
	      *dw = fnew(OC * C);
	double *xd = dnew(N * C), *wd = dnew(OC * C), *rd = dnew(N * OC), *g = dnew(N * C + OC * C);
	fill(x, N * C, 1); fill(w, OC * C, 1); fill(r, N * OC, 1);
	to_d(xd, x, N * C); to_d(wd, w, OC * C); to_d(rd, r, N * OC);
	ops_matmul_backward(dx, dw, r, x, w, N, C, OC);
	struct mm_ctx c = { N, C, OC, 0, xd, wd, rd };
	fd_grad(g, mm_loss, &c, xd, N * C);
	CHECK(close_arrays("dx", dx, g, N * C, 1e-5, 1e-4));
	c.which = 1;
	fd_grad(g, mm_loss, &c, wd, OC * C);
	CHECK(close_arrays("dw", dw, g, OC * C, 1e-5, 1e-4));
	free(x); free(w); free(r); free(dx); free(dw); free(xd); free(wd); free(rd); free(g);
}

/* ---- RMSNorm ------------------------------------------------------------ */

static void rmsnorm_d(double *y, const double *x, const double *w, int N, int C)
{
	for (int n = 0; n < N; n++) {
		double ss = 0;
		for (int c = 0; c < C; c++)
			ss += x[n * C + c] * x[n * C + c];
		double r = 1.0 / sqrt(ss / C + 1e-5);
		for (int c = 0; c < C; c++)
			y[n * C + c] = w[c] * r * x[n * C + c];
	}
}
struct rn_ctx { int N, C, which; const double *x, *w, *r; };
static double rn_loss(void *p, const double *v)
{
	struct rn_ctx *c = p;
	double *y = dnew(c->N * c->C), L = 0;
	rmsnorm_d(y, c->which == 0 ? v : c->x, c->which == 1 ? v : c->w, c->N, c->C);
	for (int i = 0; i < c->N * c->C; i++)
		L += c->r[i] * y[i];
	free(y);
	return L;
}

static void test_rmsnorm(void)
{
	int N = 6, C = 11;
	float *x = fnew(N * C), *w = fnew(C), *y = fnew(N * C), *rstd = fnew(N), *r = fnew(N * C),
	      *dx = fnew(N * C), *dw = fnew(C);
	double *xd = dnew(N * C), *wd = dnew(C), *rd = dnew(N * C), *yd = dnew(N * C),
	       *g = dnew(N * C);
	fill(x, N * C, 2); fill(w, C, 1.5); fill(r, N * C, 1);
	to_d(xd, x, N * C); to_d(wd, w, C); to_d(rd, r, N * C);
	ops_rmsnorm_forward(y, rstd, x, w, N, C);
	rmsnorm_d(yd, xd, wd, N, C);
	CHECK(close_arrays("forward", y, yd, N * C, 1e-6, 1e-5));
	ops_rmsnorm_backward(dx, dw, r, x, w, rstd, N, C);
	struct rn_ctx c = { N, C, 0, xd, wd, rd };
	fd_grad(g, rn_loss, &c, xd, N * C);
	CHECK(close_arrays("dx", dx, g, N * C, 1e-5, 1e-4));
	c.which = 1;
	fd_grad(g, rn_loss, &c, wd, C);
	CHECK(close_arrays("dw", dw, g, C, 1e-5, 1e-4));
	free(x); free(w); free(y); free(rstd); free(r); free(dx); free(dw);
	free(xd); free(wd); free(rd); free(yd); free(g);
}

/* ---- RoPE --------------------------------------------------------------- */

/* llama2.c run.c's RoPE loop, transcribed, for one position over a whole
 * (dim) query and (kv_dim) key vector. */
static void rope_run_c(float *q, float *k, int pos, int dim, int kv_dim, int head_size)
{
	for (int i = 0; i < dim; i += 2) {
		int head_dim = i % head_size;
		float freq = 1.0f / powf(10000.0f, head_dim / (float)head_size);
		float val = pos * freq;
		float fcr = cosf(val);
		float fci = sinf(val);
		int rotn = i < kv_dim ? 2 : 1;
		for (int v = 0; v < rotn; v++) {
			float *vec = v == 0 ? q : k;
			float v0 = vec[i];
			float v1 = vec[i + 1];
			vec[i] = v0 * fcr - v1 * fci;
			vec[i + 1] = v0 * fci + v1 * fcr;
		}
	}
}

struct rope_ctx { int B, T, nh, hs; const double *r; };
static double rope_loss(void *p, const double *x)
{
	struct rope_ctx *c = p;
	double L = 0;
	for (int bt = 0; bt < c->B * c->T; bt++) {
		int t = bt % c->T;
		for (int h = 0; h < c->nh; h++)
			for (int i = 0; i < c->hs / 2; i++) {
				double freq = 1.0 / pow(10000.0, 2.0 * i / c->hs), a = t * freq;
				size_t o = ((size_t)bt * c->nh + h) * c->hs + 2 * i;
				double y0 = x[o] * cos(a) - x[o + 1] * sin(a);
				double y1 = x[o] * sin(a) + x[o + 1] * cos(a);
				L += c->r[o] * y0 + c->r[o + 1] * y1;
			}
	}
	return L;
}

static void test_rope(void)
{
	int B = 2, T = 9, nh = 3, nkv = 1, hs = 6, dim = nh * hs, kv = nkv * hs;
	float *fc = fnew(T * hs / 2), *fs = fnew(T * hs / 2);
	float *q = fnew(B * T * dim), *k = fnew(B * T * kv), *qo = fnew(B * T * dim),
	      *ko = fnew(B * T * kv);
	ops_rope_table(fc, fs, T, hs);
	fill(q, B * T * dim, 1); fill(k, B * T * kv, 1);
	ops_rope_forward(qo, q, fc, fs, B, T, nh, hs);
	ops_rope_forward(ko, k, fc, fs, B, T, nkv, hs);
	/* run.c rotates each position's q and k in place */
	int same = 1;
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			float *qr = q + ((size_t)b * T + t) * dim, *kr = k + ((size_t)b * T + t) * kv;
			rope_run_c(qr, kr, t, dim, kv, hs);
			for (int i = 0; i < dim; i++)
				same &= qr[i] == qo[((size_t)b * T + t) * dim + i];
			for (int i = 0; i < kv; i++)
				same &= kr[i] == ko[((size_t)b * T + t) * kv + i];
		}
	CHECK_MSG(same, "rope differs from run.c's loop");
	/* in place gives the same */
	fill(q, B * T * dim, 1);
	memcpy(qo, q, sizeof(float) * B * T * dim);
	ops_rope_forward(qo, qo, fc, fs, B, T, nh, hs);
	float *q2 = fnew(B * T * dim);
	ops_rope_forward(q2, q, fc, fs, B, T, nh, hs);
	CHECK(memcmp(q2, qo, sizeof(float) * B * T * dim) == 0);
	/* backward against finite differences */
	float *r = fnew(B * T * dim), *dq = fnew(B * T * dim);
	double *qd = dnew(B * T * dim), *rd = dnew(B * T * dim), *g = dnew(B * T * dim);
	fill(r, B * T * dim, 1);
	to_d(qd, q, B * T * dim); to_d(rd, r, B * T * dim);
	ops_rope_backward(dq, r, fc, fs, B, T, nh, hs);
	struct rope_ctx c = { B, T, nh, hs, rd };
	fd_grad(g, rope_loss, &c, qd, B * T * dim);
	CHECK(close_arrays("dq", dq, g, B * T * dim, 1e-5, 1e-4));
	free(fc); free(fs); free(q); free(k); free(qo); free(ko); free(q2); free(r); free(dq);
	free(qd); free(rd); free(g);
}

/* Rows at their own positions (a decode step of model/infer.c): each row,
 * rotated in place, equals run.c's loop at that row's position, bit for bit. */
static void test_rope_at(void)
{
	enum { N = 5, T = 40 };
	int nh = 4, nkv = 2, hs = 10, dim = nh * hs, kv = nkv * hs;
	int pos[N] = { 37, 0, 5, 5, 22 };
	float *fc = fnew(T * hs / 2), *fs = fnew(T * hs / 2);
	float *q = fnew(N * dim), *k = fnew(N * kv), *qr = fnew(N * dim), *kr = fnew(N * kv);
	ops_rope_table(fc, fs, T, hs);
	fill(q, N * dim, 3); fill(k, N * kv, 4);
	memcpy(qr, q, sizeof(float) * N * dim);
	memcpy(kr, k, sizeof(float) * N * kv);
	ops_rope_forward_at(q, q, fc, fs, pos, N, nh, hs);
	ops_rope_forward_at(k, k, fc, fs, pos, N, nkv, hs);
	int same = 1;
	for (int n = 0; n < N; n++) {
		rope_run_c(qr + (size_t)n * dim, kr + (size_t)n * kv, pos[n], dim, kv, hs);
		same &= memcmp(qr + (size_t)n * dim, q + (size_t)n * dim, sizeof(float) * dim) == 0;
		same &= memcmp(kr + (size_t)n * kv, k + (size_t)n * kv, sizeof(float) * kv) == 0;
	}
	CHECK_MSG(same, "rope at positions differs from run.c's loop");
	free(fc); free(fs); free(q); free(k); free(qr); free(kr);
}

/* ---- attention ---------------------------------------------------------- */

static void attention_d(double *out, const double *q, const double *k, const double *v,
			int B, int T, int nh, int nkv, int hs)
{
	int rep = nh / nkv, qs = nh * hs, ks = nkv * hs;
	double *s = dnew(T);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < nh; h++)
			for (int i = 0; i < T; i++) {
				double m = -1e300, z = 0;
				for (int j = 0; j <= i; j++) {
					double d = 0;
					for (int c = 0; c < hs; c++)
						d += q[(b * T + i) * qs + h * hs + c] *
						     k[(b * T + j) * ks + (h / rep) * hs + c];
					s[j] = d / sqrt((double)hs);
					if (s[j] > m) m = s[j];
				}
				for (int j = 0; j <= i; j++) { s[j] = exp(s[j] - m); z += s[j]; }
				for (int c = 0; c < hs; c++) {
					double o = 0;
					for (int j = 0; j <= i; j++)
						o += s[j] / z * v[(b * T + j) * ks + (h / rep) * hs + c];
					out[(b * T + i) * qs + h * hs + c] = o;
				}
			}
	free(s);
}
struct att_ctx { int B, T, nh, nkv, hs, which; const double *q, *k, *v, *r; };
static double att_loss(void *p, const double *x)
{
	struct att_ctx *c = p;
	size_t n = (size_t)c->B * c->T * c->nh * c->hs;
	double *o = dnew(n), L = 0;
	attention_d(o, c->which == 0 ? x : c->q, c->which == 1 ? x : c->k, c->which == 2 ? x : c->v,
		    c->B, c->T, c->nh, c->nkv, c->hs);
	for (size_t i = 0; i < n; i++)
		L += c->r[i] * o[i];
	free(o);
	return L;
}

static void attention_case(int B, int T, int nh, int nkv, int hs)
{
	size_t nq = (size_t)B * T * nh * hs, nk = (size_t)B * T * nkv * hs, na = (size_t)B * nh * T * T;
	float *q = fnew(nq), *k = fnew(nk), *v = fnew(nk), *o = fnew(nq), *or_ = fnew(nq),
	      *att = fnew(na), *attr = fnew(na), *datt = fnew(na), *r = fnew(nq);
	float *dq = fnew(nq), *dk = fnew(nk), *dv = fnew(nk), *dqr = fnew(nq), *dkr = fnew(nk),
	      *dvr = fnew(nk);
	fill(q, nq, 1.5); fill(k, nk, 1.5); fill(v, nk, 1); fill(r, nq, 1);
	ops_attention_forward(o, att, q, k, v, B, T, nh, nkv, hs);
	ops_attention_forward_ref(or_, attr, q, k, v, B, T, nh, nkv, hs);
	CHECK(close_ff("out vs ref", o, or_, nq, 1e-6, 1e-5));
	CHECK(close_ff("att vs ref", att, attr, na, 1e-6, 1e-5));
	/* causal: nothing above the diagonal */
	int zero = 1;
	for (size_t bh = 0; bh < (size_t)B * nh; bh++)
		for (int i = 0; i < T; i++)
			for (int j = i + 1; j < T; j++)
				zero &= att[(bh * T + i) * T + j] == 0.0f;
	CHECK(zero);
	ops_attention_backward(dq, dk, dv, datt, r, att, q, k, v, B, T, nh, nkv, hs);
	ops_attention_backward_ref(dqr, dkr, dvr, datt, r, attr, q, k, v, B, T, nh, nkv, hs);
	CHECK(close_ff("dq vs ref", dq, dqr, nq, 1e-6, 1e-4));
	CHECK(close_ff("dk vs ref", dk, dkr, nk, 1e-6, 1e-4));
	CHECK(close_ff("dv vs ref", dv, dvr, nk, 1e-6, 1e-4));
	/* against a double forward and its finite differences */
	double *qd = dnew(nq), *kd = dnew(nk), *vd = dnew(nk), *rd = dnew(nq), *od = dnew(nq),
	       *g = dnew(nq);
	to_d(qd, q, nq); to_d(kd, k, nk); to_d(vd, v, nk); to_d(rd, r, nq);
	attention_d(od, qd, kd, vd, B, T, nh, nkv, hs);
	CHECK(close_arrays("out vs double", o, od, nq, 1e-6, 1e-5));
	struct att_ctx c = { B, T, nh, nkv, hs, 0, qd, kd, vd, rd };
	fd_grad(g, att_loss, &c, qd, nq);
	CHECK(close_arrays("dq fd", dq, g, nq, 1e-5, 1e-4));
	c.which = 1;
	fd_grad(g, att_loss, &c, kd, nk);
	CHECK(close_arrays("dk fd", dk, g, nk, 1e-5, 1e-4));
	c.which = 2;
	fd_grad(g, att_loss, &c, vd, nk);
	CHECK(close_arrays("dv fd", dv, g, nk, 1e-5, 1e-4));
	free(q); free(k); free(v); free(o); free(or_); free(att); free(attr); free(datt); free(r);
	free(dq); free(dk); free(dv); free(dqr); free(dkr); free(dvr);
	free(qd); free(kd); free(vd); free(rd); free(od); free(g);
}

static void test_attention_gqa(void) { attention_case(2, 5, 3, 1, 4); }
static void test_attention_mha(void) { attention_case(3, 7, 2, 2, 6); }
static void test_attention_gqa2(void) { attention_case(2, 6, 4, 2, 2); }
/* longer than the kernel's 64-row causal blocks (three blocks, the last one
 * short), with more (b, h) tasks than threads */
static void test_attention_long(void)
{
	int B = 3, T = 150, nh = 4, nkv = 2, hs = 8;
	size_t nq = (size_t)B * T * nh * hs, nk = (size_t)B * T * nkv * hs, na = (size_t)B * nh * T * T;
	float *q = fnew(nq), *k = fnew(nk), *v = fnew(nk), *o = fnew(nq), *or_ = fnew(nq),
	      *att = fnew(na), *attr = fnew(na), *datt = fnew(na), *r = fnew(nq);
	float *dq = fnew(nq), *dk = fnew(nk), *dv = fnew(nk), *dqr = fnew(nq), *dkr = fnew(nk),
	      *dvr = fnew(nk);
	fill(q, nq, 1); fill(k, nk, 1); fill(v, nk, 1); fill(r, nq, 1);
	ops_attention_forward(o, att, q, k, v, B, T, nh, nkv, hs);
	ops_attention_forward_ref(or_, attr, q, k, v, B, T, nh, nkv, hs);
	CHECK(close_ff("out", o, or_, nq, 1e-6, 1e-5));
	ops_attention_backward(dq, dk, dv, datt, r, att, q, k, v, B, T, nh, nkv, hs);
	ops_attention_backward_ref(dqr, dkr, dvr, datt, r, attr, q, k, v, B, T, nh, nkv, hs);
	CHECK(close_ff("dq", dq, dqr, nq, 1e-6, 1e-4));
	CHECK(close_ff("dk", dk, dkr, nk, 1e-6, 1e-4));
	CHECK(close_ff("dv", dv, dvr, nk, 1e-6, 1e-4));
	free(q); free(k); free(v); free(o); free(or_); free(att); free(attr); free(datt); free(r);
	free(dq); free(dk); free(dv); free(dqr); free(dkr); free(dvr);
}

/* ---- SwiGLU ------------------------------------------------------------- */

struct sw_ctx { size_t n; int which; const double *a, *b, *r; };
static double sw_loss(void *p, const double *x)
{
	struct sw_ctx *c = p;
	const double *a = c->which == 0 ? x : c->a, *b = c->which == 1 ? x : c->b;
	double L = 0;
	for (size_t i = 0; i < c->n; i++)
		L += c->r[i] * a[i] / (1.0 + exp(-a[i])) * b[i];
	return L;
}

static void test_swiglu(void)
{
	size_t n = 61;
	float *a = fnew(n), *b = fnew(n), *y = fnew(n), *r = fnew(n), *da = fnew(n), *db = fnew(n);
	double *ad = dnew(n), *bd = dnew(n), *rd = dnew(n), *g = dnew(n), *yd = dnew(n);
	fill(a, n, 6); fill(b, n, 2); fill(r, n, 1);
	a[0] = -95.0f; /* deep in the tail: silu -> 0 without NaN */
	to_d(ad, a, n); to_d(bd, b, n); to_d(rd, r, n);
	ops_swiglu_forward(y, a, b, n);
	for (size_t i = 0; i < n; i++)
		yd[i] = ad[i] / (1.0 + exp(-ad[i])) * bd[i];
	CHECK(close_arrays("forward", y, yd, n, 1e-6, 1e-5));
	ops_swiglu_backward(da, db, r, a, b, n);
	struct sw_ctx c = { n, 0, ad, bd, rd };
	fd_grad(g, sw_loss, &c, ad, n);
	CHECK(close_arrays("dh1", da, g, n, 1e-5, 1e-4));
	c.which = 1;
	fd_grad(g, sw_loss, &c, bd, n);
	CHECK(close_arrays("dh3", db, g, n, 1e-5, 1e-4));
	free(a); free(b); free(y); free(r); free(da); free(db);
	free(ad); free(bd); free(rd); free(g); free(yd);
}

/* ---- embedding, residual ------------------------------------------------ */

static void test_embedding_residual(void)
{
	int V = 5, C = 7, N = 6;
	int tok[6] = { 3, 0, 3, 4, 1, 3 };
	float *emb = fnew(V * C), *out = fnew(N * C), *dout = fnew(N * C), *demb = fnew(V * C);
	fill(emb, V * C, 1); fill(dout, N * C, 1);
	ops_embedding_forward(out, tok, emb, N, C);
	int same = 1;
	for (int n = 0; n < N; n++)
		for (int c = 0; c < C; c++)
			same &= out[n * C + c] == emb[tok[n] * C + c];
	CHECK(same);
	/* d/d emb of sum dout . out: each row gets the sum of its tokens' dout */
	ops_embedding_backward(demb, dout, tok, N, C);
	double *want = dnew(V * C);
	for (int n = 0; n < N; n++)
		for (int c = 0; c < C; c++)
			want[tok[n] * C + c] += dout[n * C + c];
	CHECK(close_arrays("demb", demb, want, V * C, 1e-6, 1e-6));
	float a[9], b[9], o[9], da[9] = { 0 }, db[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	fill(a, 9, 1); fill(b, 9, 1);
	ops_residual_forward(o, a, b, 9);
	ops_residual_backward(da, db, a, 9);
	for (int i = 0; i < 9; i++) {
		CHECK(o[i] == a[i] + b[i]);
		CHECK(da[i] == a[i] && db[i] == 1.0f + a[i]);
	}
	free(emb); free(out); free(dout); free(demb); free(want);
}

/* ---- scalar head -------------------------------------------------------- */

static void test_head(void)
{
	int N = 9, C = 13;
	float *x = fnew(N * C), *w = fnew(C), b = 0.37f, *y = fnew(N), *yr = fnew(N), *r = fnew(N);
	float *dx = fnew(N * C), *dxr = fnew(N * C), *dw = fnew(C), *dwr = fnew(C), db = 0.5f,
	      dbr = 0.5f;
	fill(x, N * C, 1); fill(w, C, 1); fill(r, N, 1);
	ops_head_forward(y, x, w, &b, N, C);
	ops_head_forward_ref(yr, x, w, &b, N, C);
	CHECK(close_ff("forward", y, yr, N, 1e-6, 1e-5));
	double want0 = b;
	for (int c = 0; c < C; c++)
		want0 += (double)x[c] * w[c];
	CHECK_NEAR(y[0], want0, 1e-5);
	fill(dx, N * C, 1); memcpy(dxr, dx, sizeof(float) * N * C);
	ops_head_backward(dx, dw, &db, r, x, w, N, C);
	ops_head_backward_ref(dxr, dwr, &dbr, r, x, w, N, C);
	CHECK(close_ff("dx", dx, dxr, N * C, 1e-6, 1e-5));
	CHECK(close_ff("dw", dw, dwr, C, 1e-6, 1e-5));
	double sr = 0.5;
	for (int n = 0; n < N; n++)
		sr += r[n];
	CHECK_NEAR(db, sr, 1e-5);
	CHECK_NEAR(dbr, sr, 1e-5);
	free(x); free(w); free(y); free(yr); free(r); free(dx); free(dxr); free(dw); free(dwr);
}

/* ---- log-softmax -------------------------------------------------------- */

/* sum_i a_i logprob_i + b_i entropy_i in double */
struct ls_ctx { int N, V; const int *tg; const double *a, *b; };
static double ls_loss(void *p, const double *z)
{
	struct ls_ctx *c = p;
	double L = 0;
	for (int n = 0; n < c->N; n++) {
		const double *zr = z + (size_t)n * c->V;
		double m = -1e300, s = 0, H = 0;
		for (int j = 0; j < c->V; j++) if (zr[j] > m) m = zr[j];
		for (int j = 0; j < c->V; j++) s += exp(zr[j] - m);
		double lse = m + log(s);
		for (int j = 0; j < c->V; j++) {
			double lp = zr[j] - lse;
			H -= exp(lp) * lp;
		}
		if (c->tg[n] >= 0)
			L += c->a[n] * (zr[c->tg[n]] - lse);
		L += c->b[n] * H;
	}
	return L;
}

static void test_logsoftmax(void)
{
	int N = 5, V = 11;
	int tg[5] = { 3, 0, -1, 10, 7 };
	float *z = fnew(N * V), *lp = fnew(N), *H = fnew(N), *lse = fnew(N), *dz = fnew(N * V);
	float a[5], b[5];
	double *zd = dnew(N * V), ad[5], bd[5], *g = dnew(N * V);
	fill(z, N * V, 4); fill(a, 5, 1); fill(b, 5, 1);
	to_d(zd, z, N * V); to_d(ad, a, 5); to_d(bd, b, 5);
	ops_logsoftmax_forward(lp, H, lse, z, tg, N, V);
	for (int n = 0; n < N; n++) {
		double m = -1e300, s = 0, h = 0;
		for (int j = 0; j < V; j++) if (zd[n * V + j] > m) m = zd[n * V + j];
		for (int j = 0; j < V; j++) s += exp(zd[n * V + j] - m);
		double l = m + log(s);
		for (int j = 0; j < V; j++) h -= exp(zd[n * V + j] - l) * (zd[n * V + j] - l);
		CHECK_NEAR(lse[n], l, 1e-5);
		CHECK_NEAR(lp[n], tg[n] >= 0 ? zd[n * V + tg[n]] - l : 0.0, 1e-5);
		CHECK_NEAR(H[n], h, 1e-5);
	}
	struct ls_ctx c = { N, V, tg, ad, bd };
	fd_grad(g, ls_loss, &c, zd, N * V);
	/* both terms, then each alone, then in place over the logits */
	ops_logsoftmax_backward(dz, a, b, z, lse, H, tg, N, V);
	CHECK(close_arrays("dz both", dz, g, N * V, 1e-5, 1e-4));
	double zero[5] = { 0 };
	c.b = zero;
	fd_grad(g, ls_loss, &c, zd, N * V);
	ops_logsoftmax_backward(dz, a, NULL, z, lse, H, tg, N, V);
	CHECK(close_arrays("dz logprob", dz, g, N * V, 1e-5, 1e-4));
	c.b = bd; c.a = zero;
	fd_grad(g, ls_loss, &c, zd, N * V);
	ops_logsoftmax_backward(dz, NULL, b, z, lse, H, tg, N, V);
	CHECK(close_arrays("dz entropy", dz, g, N * V, 1e-5, 1e-4));
	ops_logsoftmax_backward(z, NULL, b, z, lse, H, tg, N, V);
	CHECK(close_arrays("dz in place", z, g, N * V, 1e-5, 1e-4));
	free(z); free(lp); free(H); free(lse); free(dz); free(zd); free(g);
}

/* a real vocabulary size: the fast exp keeps log-probs and entropy accurate */
static void test_logsoftmax_large_vocab(void)
{
	int N = 3, V = 32000;
	int tg[3] = { 17, 31999, 5000 };
	float *z = fnew((size_t)N * V), lp[3], H[3], lse[3];
	fill(z, (size_t)N * V, 8);
	z[5000 + 2 * V] = 30.0f; /* a peaked row */
	ops_logsoftmax_forward(lp, H, lse, z, tg, N, V);
	for (int n = 0; n < N; n++) {
		const float *zr = z + (size_t)n * V;
		double m = -1e300, s = 0, h = 0;
		for (int j = 0; j < V; j++) if (zr[j] > m) m = zr[j];
		for (int j = 0; j < V; j++) s += exp(zr[j] - m);
		double l = m + log(s);
		for (int j = 0; j < V; j++) h -= exp(zr[j] - l) * (zr[j] - l);
		CHECK_NEAR(lp[n], zr[tg[n]] - l, 2e-5 * fabs(l) + 1e-5);
		CHECK_NEAR(H[n], h, 1e-4 * fabs(h) + 1e-5);
	}
	free(z);
}

int main(void)
{
	threads_set(2);
	RUN(test_expf_accuracy);
	RUN(test_matmul_vs_ref);
	RUN(test_matmul_backward_fd);
	RUN(test_rmsnorm);
	RUN(test_rope);
	RUN(test_rope_at);
	RUN(test_attention_gqa);
	RUN(test_attention_mha);
	RUN(test_attention_gqa2);
	RUN(test_attention_long);
	RUN(test_swiglu);
	RUN(test_embedding_residual);
	RUN(test_head);
	RUN(test_logsoftmax);
	RUN(test_logsoftmax_large_vocab);
	TEST_MAIN_END();
}
