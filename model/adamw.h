/*
 * model/adamw.h — AdamW for the flat parameter buffer of model/llama.h:
 * decoupled weight decay on matrices only (llama_tensor_is_matrix), global
 * gradient-norm clipping, linear warmup then cosine learning rate, and a
 * grad_scale for gradient accumulation.  The first and second moments are two
 * flat buffers with the parameters' layout, owned here.
 *
 * Gradient accumulation: gradients add up in the model's grads over the
 * micro-batches of one step (llama_backward accumulates).  Either normalise the
 * loss over the whole step (llama_ce_loss's norm = the step's weight sum; then
 * grad_scale = 1) or average per micro-batch and pass grad_scale = 1/n_micro.
 * adamw_step does not zero the gradients: the caller does (llama_zero_grads).
 */
#ifndef RLHFD_MODEL_ADAMW_H
#define RLHFD_MODEL_ADAMW_H

#include <stddef.h>

#include "model/llama.h"

struct adamw_config {
	float lr;           /* peak learning rate */
	float min_lr;       /* the cosine ends here (absolute, not a ratio) */
	int warmup_steps;   /* lr rises linearly: step s < warmup gets lr*(s+1)/warmup */
	int total_steps;    /* cosine from lr at warmup_steps to min_lr at total_steps;
			       <= warmup_steps means constant lr after warmup */
	float beta1, beta2, eps;
	float weight_decay; /* decoupled: p -= lr * wd * p, on matrices only */
	float grad_clip;    /* global L2 norm bound; <= 0 disables clipping */
};

/* lr 3e-4, min_lr 3e-5, no warmup, no decay, betas (0.9, 0.95), eps 1e-8,
 * weight decay 0.1, clip 1.0. */
void adamw_config_default(struct adamw_config *c);

/* Learning rate of update number step (0-based). */
float adamw_lr(const struct adamw_config *c, int step);

struct adamw {
	struct adamw_config cfg;
	struct llama_config model; /* whose layout says where the matrices are */
	size_t n;                  /* llama_params_count(&model) */
	float *m;                  /* (n) first moment, owned */
	float *v;                  /* (n) second moment, owned */
	int step;                  /* updates done so far */
};

/* Allocates zeroed moments for a model of configuration model.  Returns 0, or -1
 * with a lowercase reason in err. */
int adamw_init(struct adamw *o, const struct adamw_config *cfg,
	       const struct llama_config *model, char *err, size_t errlen);
/* Frees the moments and zeroes o (NULL, zeroed or released: nothing to do). */
void adamw_release(struct adamw *o);

/* Global L2 norm of n floats (accumulated in double). */
double adamw_grad_norm(const float *grads, size_t n);

/*
 * One update of params from grads (both o->n floats, layout of o->model):
 * g = grad_scale * grads, clipped to norm cfg.grad_clip, then Adam with bias
 * correction at lr = adamw_lr(cfg, o->step) and decoupled decay on matrices.
 * Increments o->step.  Returns the norm of grad_scale * grads before clipping;
 * *lr_out (may be NULL) gets the learning rate used.  grads are left as they are.
 */
double adamw_step(struct adamw *o, float *params, const float *grads, float grad_scale,
		  float *lr_out);

#endif
