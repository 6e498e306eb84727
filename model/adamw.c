/*
 * model/adamw.c — AdamW with clipping, warmup + cosine schedule (see adamw.h).
 */
#include "model/adamw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void adamw_config_default(struct adamw_config *c)
{
	c->lr = 3e-4f;
	c->min_lr = 3e-5f;
	c->warmup_steps = 0;
	c->total_steps = 0;
	c->beta1 = 0.9f;
	c->beta2 = 0.95f;
	c->eps = 1e-8f;
	c->weight_decay = 0.1f;
	c->grad_clip = 1.0f;
}

float adamw_lr(const struct adamw_config *c, int step)
{
	if (step < c->warmup_steps)
		return c->lr * (float)(step + 1) / (float)c->warmup_steps;
	if (c->total_steps <= c->warmup_steps)
		return c->lr;
	if (step >= c->total_steps)
		return c->min_lr;
	double ratio = (double)(step - c->warmup_steps) / (double)(c->total_steps - c->warmup_steps);
	double coeff = 0.5 * (1.0 + cos(M_PI * ratio));
	return (float)(c->min_lr + coeff * (c->lr - c->min_lr));
}

int adamw_init(struct adamw *o, const struct adamw_config *cfg,
	       const struct llama_config *model, char *err, size_t errlen)
{
	memset(o, 0, sizeof *o);
	if (llama_config_check(model, err, errlen) < 0)
		return -1;
	o->cfg = *cfg;
	o->model = *model;
	o->n = llama_params_count(model);
	o->m = calloc(o->n, sizeof(float));
	o->v = calloc(o->n, sizeof(float));
	if (!o->m || !o->v) {
		snprintf(err, errlen, "out of memory for adamw moments of %zu floats", o->n);
		adamw_release(o);
		return -1;
	}
	return 0;
}

void adamw_release(struct adamw *o)
{
	if (!o)
		return;
	free(o->m);
	free(o->v);
	memset(o, 0, sizeof *o);
}

double adamw_grad_norm(const float *grads, size_t n)
{
	double ss = 0.0;
#pragma omp parallel for simd reduction(+:ss) schedule(static)
	for (size_t i = 0; i < n; i++)
		ss += (double)grads[i] * grads[i];
	return sqrt(ss);
}

/* The Adam update of one contiguous tensor. */
static void adamw_update(float *restrict p, float *restrict m, float *restrict v,
			 const float *restrict g, size_t n, float scale, float lr,
			 float b1, float b2, float eps, float wd, float bc1, float bc2)
{
#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++) {
		float gi = g[i] * scale;
		float mi = b1 * m[i] + (1.0f - b1) * gi;
		float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		float mhat = mi / bc1, vhat = vi / bc2;
		p[i] -= lr * (mhat / (sqrtf(vhat) + eps) + wd * p[i]);
	}
}

double adamw_step(struct adamw *o, float *params, const float *grads, float grad_scale,
		  float *lr_out)
{
	const struct adamw_config *c = &o->cfg;
	double norm = adamw_grad_norm(grads, o->n) * fabs((double)grad_scale);
	float scale = grad_scale;
	if (c->grad_clip > 0.0f && norm > c->grad_clip)
		scale = (float)(grad_scale * (c->grad_clip / norm));
	float lr = adamw_lr(c, o->step);
	o->step++;
	float bc1 = 1.0f - powf(c->beta1, (float)o->step);
	float bc2 = 1.0f - powf(c->beta2, (float)o->step);
	for (int k = 0; k < LLAMA_N_TENSORS; k++) {
		size_t off, len;
		llama_tensor_span(&o->model, k, &off, &len);
		if (!len)
			continue;
		float wd = llama_tensor_is_matrix(k) ? c->weight_decay : 0.0f;
		adamw_update(params + off, o->m + off, o->v + off, grads + off, len, scale, lr,
			     c->beta1, c->beta2, c->eps, wd, bc1, bc2);
	}
	if (lr_out)
		*lr_out = lr;
	return norm;
}
