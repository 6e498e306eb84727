/*
 * model/lmtrain.c — the language-model training loop (see lmtrain.h).
 */
#include "model/lmtrain.h"
#include "model/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Writes the model and its training state to c->out_path. */
static int save(const struct llama_model *m, const struct adamw *opt, uint64_t rng,
		const struct lmtrain_config *c, char *err, size_t errlen)
{
	struct ckpt_state st;
	ckpt_state_init(&st);
	/* meta, m and v are borrowed here: st is never released */
	st.meta = (char *)c->meta;
	if (c->weights_only)
		return ckpt_save_model(c->out_path, &m->cfg, m->params, &st, err, errlen);
	st.has_train = true;
	st.step = opt->step;
	st.rng[0] = rng;
	st.m = opt->m;
	st.v = opt->v;
	return ckpt_save_model(c->out_path, &m->cfg, m->params, &st, err, errlen);
}

int lmtrain_run(struct llama_model *m, struct adamw *opt, const struct lmdata_set *d,
		uint64_t *rng, const struct lmtrain_config *c, lmtrain_progress_fn *progress,
		void *arg, char *err, size_t errlen)
{
	int T = d->T, B = c->batch, accum = c->accum;
	if (B <= 0 || accum <= 0 || c->log_every <= 0 || c->save_every < 0 || B > m->max_B ||
	    T > m->max_T || !m->grads || !lmdata_set_usable(d)) {
		snprintf(err, errlen, "bad training set-up (batch %d of %d x %d tokens, %s data)",
			 B, m->max_B, m->max_T, lmdata_set_usable(d) ? "usable" : "too little");
		return -EINVAL;
	}
	size_t NT = (size_t)B * T * accum;
	int *tok = malloc(NT * sizeof(int)), *tg = malloc(NT * sizeof(int));
	float *w = malloc(NT * sizeof(float));
	int rc = 0;
	if (!tok || !tg || !w) {
		snprintf(err, errlen, "out of memory for %zu batch tokens", NT);
		rc = -ENOMEM;
		goto out;
	}

	double t0 = now_sec(), tlog = t0, loss_acc = 0.0;
	size_t tok_log = 0;
	int n_acc = 0, first = opt->step;
	for (int step = first; step < c->steps; step++) {
		double wsum = 0.0;
		for (int a = 0; a < accum; a++) {
			size_t o = (size_t)a * B * T;
			lmdata_set_batch(d, B, rng, tok + o, tg + o, w + o);
			for (size_t i = 0; i < (size_t)B * T; i++)
				wsum += w[o + i] * (tg[o + i] >= 0);
		}
		llama_zero_grads(m);
		float step_loss = 0.0f;
		for (int a = 0; a < accum; a++) {
			size_t o = (size_t)a * B * T;
			float l = 0.0f;
			if (llama_lm_forward_backward(m, tok + o, tg + o, w + o, B, T,
						      wsum > 0 ? (float)wsum : 1.0f, &l) < 0) {
				snprintf(err, errlen, "forward/backward failed");
				rc = -EINVAL;
				goto out;
			}
			step_loss += l;
		}
		if (c->freeze_embedding) {
			size_t off, len;
			llama_tensor_span(&m->cfg, 0, &off, &len);
			memset(m->grads + off, 0, len * sizeof(float));
		}
		float cur_lr;
		double gnorm = adamw_step(opt, m->params, m->grads, 1.0f, &cur_lr);
		loss_acc += step_loss;
		n_acc++;
		tok_log += NT;
		bool last = step + 1 == c->steps;
		if ((step + 1) % c->log_every == 0 || last) {
			double now = now_sec();
			struct lmtrain_report r = {
				.step = step + 1, .steps = c->steps, .first = first,
				.loss = loss_acc / n_acc, .lr = cur_lr, .grad_norm = gnorm,
				.tokens_per_sec = tok_log / (now - tlog), .elapsed = now - t0,
				.eta = (now - t0) / (step + 1 - first) * (c->steps - step - 1),
			};
			tlog = now;
			tok_log = 0;
			loss_acc = 0.0;
			n_acc = 0;
			if (progress && progress(arg, &r)) {
				rc = -ECANCELED;
				snprintf(err, errlen, "training stopped at step %d", step + 1);
				goto out;
			}
		}
		if (c->out_path && (last || (c->save_every && (step + 1) % c->save_every == 0))) {
			if (save(m, opt, *rng, c, err, errlen) < 0) {
				rc = -EIO;
				goto out;
			}
			struct lmtrain_report r = { .step = step + 1, .steps = c->steps,
						    .first = first, .elapsed = now_sec() - t0,
						    .saved = c->out_path };
			if (progress && progress(arg, &r) && !last) {
				rc = -ECANCELED;
				snprintf(err, errlen, "training stopped at step %d", step + 1);
				goto out;
			}
		}
	}
out:
	free(tok);
	free(tg);
	free(w);
	return rc;
}
