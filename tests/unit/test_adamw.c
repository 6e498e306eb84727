/*
 * tests/unit/test_adamw.c — AdamW of model/adamw.c against updates worked out
 * by hand, the learning-rate schedule at chosen steps, clipping and the
 * grad_scale used for gradient accumulation.
 */
#include "model/adamw.h"
#include "model/threads.h"
#include "tests/test.h"

#include <stdlib.h>

/* dim 2, hidden 2, 1 layer, 1 head, vocab 3, untied: small enough to reason about */
static const struct llama_config cfg = { .dim = 2, .hidden_dim = 2, .n_layers = 1,
	.n_heads = 1, .n_kv_heads = 1, .vocab_size = 3, .seq_len = 4, .shared_classifier = false };

static size_t span_off(int k)
{
	size_t off, len;
	llama_tensor_span(&cfg, k, &off, &len);
	return off;
}

static void test_spans(void)
{
	/* the spans tile the buffer in order and agree with llama_param_is_matrix */
	size_t end = 0;
	for (int k = 0; k < LLAMA_N_TENSORS; k++) {
		size_t off, len;
		llama_tensor_span(&cfg, k, &off, &len);
		CHECK_INT_EQ(off, end);
		for (size_t i = off; i < off + len; i++)
			CHECK(llama_param_is_matrix(&cfg, i) == llama_tensor_is_matrix(k));
		end = off + len;
	}
	CHECK_INT_EQ(end, llama_params_count(&cfg));
	struct llama_weights w;
	size_t n = llama_params_count(&cfg);
	float *p = calloc(n, sizeof(float));
	llama_weights_map(&w, &cfg, p);
	CHECK(w.wq == p + span_off(2));
	CHECK(w.rms_final == p + span_off(10));
	CHECK(w.head_b == p + span_off(13));
	free(p);
}

/*
 * One step by hand.  lr 0.1, betas (0.9, 0.999), eps 1e-8, wd 0.5, no clip.
 * Step 1: m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2, so the Adam term is
 * g/(|g| + eps) = sign(g) (to 1e-7).
 *   matrix element p = 0.5, g = 0.2:  p - 0.1 * (1 + 0.5 * 0.5) = 0.375
 *   norm element   p = 0.5, g = -3:   p - 0.1 * (-1)            = 0.6
 * Step 2 with g = 0.1 on the matrix element (p = 0.375):
 *   m = 0.9*0.02 + 0.1*0.1 = 0.028,  v = 0.999*4e-5 + 0.001*0.01 = 4.996e-5
 *   mhat = 0.028/0.19 = 0.147368..., vhat = 4.996e-5/0.001999 = 0.0249925...
 *   p = 0.375 - 0.1 * (0.147368/sqrt(0.0249925) + 0.5*0.375) = 0.263032...
 */
static void test_hand_step(void)
{
	struct adamw_config c;
	adamw_config_default(&c);
	c.lr = 0.1f; c.beta1 = 0.9f; c.beta2 = 0.999f; c.eps = 1e-8f; c.weight_decay = 0.5f;
	c.grad_clip = 0.0f; c.warmup_steps = 0; c.total_steps = 0;
	struct adamw o;
	char err[128];
	CHECK_INT_EQ(adamw_init(&o, &c, &cfg, err, sizeof err), 0);
	size_t n = o.n, im = span_off(2) + 1, in = span_off(6) + 1, ib = span_off(13);
	float *p = calloc(n, 4), *g = calloc(n, 4);
	p[im] = 0.5f; g[im] = 0.2f;
	p[in] = 0.5f; g[in] = -3.0f;
	p[ib] = 0.5f; g[ib] = 0.0f; /* head bias: no decay, zero grad -> unchanged */
	p[0] = 0.5f; g[0] = 0.0f;   /* embedding: a matrix, zero grad -> decay only */
	float lr;
	double norm = adamw_step(&o, p, g, 1.0f, &lr);
	CHECK_NEAR(norm, sqrt(0.04 + 9.0), 1e-6);
	CHECK_NEAR(lr, 0.1, 1e-8);
	CHECK_NEAR(p[im], 0.375, 1e-6);
	CHECK_NEAR(p[in], 0.6, 1e-6);
	CHECK_NEAR(p[ib], 0.5, 0.0);
	CHECK_NEAR(p[0], 0.5 - 0.1 * 0.5 * 0.5, 1e-7);
	CHECK_NEAR(o.m[im], 0.02, 1e-8);
	CHECK_NEAR(o.v[in], 0.009, 2e-7); /* 1 - 0.999f is 1.3e-5 off in float */
	g[im] = 0.1f;
	g[in] = 0.0f;
	adamw_step(&o, p, g, 1.0f, NULL);
	CHECK_NEAR(o.m[im], 0.028, 1e-8);
	CHECK_NEAR(o.v[im], 4.996e-5, 2e-9);
	CHECK_NEAR(p[im], 0.375 - 0.1 * (0.028 / 0.19 / sqrt(4.996e-5 / 0.001999) + 0.5 * 0.375), 2e-6);
	CHECK_INT_EQ(o.step, 2);
	adamw_release(&o);
	free(p); free(g);
}

/* Gradients of norm 10 clipped to 1 act like the gradients / 10; grad_scale
 * multiplies before the norm and the clip. */
static void test_clip_and_scale(void)
{
	struct adamw_config c;
	adamw_config_default(&c);
	c.grad_clip = 1.0f; c.weight_decay = 0.0f;
	struct adamw o1, o2;
	char err[128];
	CHECK_INT_EQ(adamw_init(&o1, &c, &cfg, err, sizeof err), 0);
	CHECK_INT_EQ(adamw_init(&o2, &c, &cfg, err, sizeof err), 0);
	size_t n = o1.n;
	float *p1 = calloc(n, 4), *p2 = calloc(n, 4), *g = calloc(n, 4);
	g[3] = 6.0f; g[n - 1] = 8.0f; /* norm 10 */
	double norm = adamw_step(&o1, p1, g, 1.0f, NULL);
	CHECK_NEAR(norm, 10.0, 1e-6);
	CHECK_NEAR(o1.m[3], (1 - c.beta1) * 0.6, 1e-7);
	CHECK_NEAR(o1.m[n - 1], (1 - c.beta1) * 0.8, 1e-7);
	/* scale 0.05: norm 0.5 < clip, so nothing is clipped */
	norm = adamw_step(&o2, p2, g, 0.05f, NULL);
	CHECK_NEAR(norm, 0.5, 1e-6);
	CHECK_NEAR(o2.m[3], (1 - c.beta1) * 0.3, 1e-7);
	CHECK_NEAR(o2.v[n - 1], (1 - c.beta2) * 0.16, 1e-8);
	/* clipping off: the raw gradient */
	struct adamw o3;
	c.grad_clip = 0.0f;
	CHECK_INT_EQ(adamw_init(&o3, &c, &cfg, err, sizeof err), 0);
	adamw_step(&o3, p2, g, 1.0f, NULL);
	CHECK_NEAR(o3.m[3], (1 - c.beta1) * 6.0, 1e-6);
	adamw_release(&o1); adamw_release(&o2); adamw_release(&o3);
	free(p1); free(p2); free(g);
}

/* warmup 10 steps to lr 1, cosine to 0.1 at step 110 */
static void test_schedule(void)
{
	struct adamw_config c;
	adamw_config_default(&c);
	c.lr = 1.0f; c.min_lr = 0.1f; c.warmup_steps = 10; c.total_steps = 110;
	CHECK_NEAR(adamw_lr(&c, 0), 0.1, 1e-7);
	CHECK_NEAR(adamw_lr(&c, 4), 0.5, 1e-7);
	CHECK_NEAR(adamw_lr(&c, 9), 1.0, 1e-7);
	CHECK_NEAR(adamw_lr(&c, 10), 1.0, 1e-7);
	CHECK_NEAR(adamw_lr(&c, 60), 0.55, 1e-6);             /* half way: cos = 0 */
	CHECK_NEAR(adamw_lr(&c, 35), 0.1 + 0.9 * (0.5 + 0.5 * cos(M_PI / 4)), 1e-6);
	CHECK_NEAR(adamw_lr(&c, 110), 0.1, 1e-7);
	CHECK_NEAR(adamw_lr(&c, 500), 0.1, 1e-7);
	/* no decay configured: constant after warmup */
	c.total_steps = 0;
	CHECK_NEAR(adamw_lr(&c, 1000), 1.0, 0.0);
	c.warmup_steps = 0;
	CHECK_NEAR(adamw_lr(&c, 0), 1.0, 0.0);
}

int main(void)
{
	threads_set(2);
	RUN(test_spans);
	RUN(test_hand_step);
	RUN(test_clip_and_scale);
	RUN(test_schedule);
	TEST_MAIN_END();
}
