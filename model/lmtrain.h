/*
 * model/lmtrain.h — the language-model training loop: optimizer steps of
 * (accumulated) micro-batches drawn from a model/lmdata.h set, AdamW, progress
 * reports and checkpoint saves.  Shared by `rlhfd train-lm` (pre-training or
 * SFT offline) and the demo model pipeline (server/demo/demo_model.c), so both train
 * with the same code and the same numbers.
 *
 * One step: accum micro-batches of batch rows are drawn first (lmdata_set_batch
 * with the caller's RNG), the loss is normalised by the weight of the whole
 * step (so accumulation equals one big batch), gradients are zeroed, forward +
 * backward per micro-batch, then adamw_step.
 *
 * Ownership: the model, optimizer, set and RNG are borrowed and updated in
 * place; nothing is kept after lmtrain_run returns.
 */
#ifndef RLHFD_MODEL_LMTRAIN_H
#define RLHFD_MODEL_LMTRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/adamw.h"
#include "model/llama.h"
#include "model/lmdata.h"

struct lmtrain_config {
	int steps;            /* optimizer steps in all; the run goes from opt->step
				 (0 for a fresh optimizer, more when resuming) to steps */
	int batch;            /* rows per micro-batch, <= the model's max_B */
	int accum;            /* micro-batches per step */
	int log_every;        /* a progress report every N steps and after the last */
	int save_every;       /* also save every N steps (0 = only after the last) */
	const char *out_path; /* checkpoint (v1 + sidecar) to write; NULL = none */
	const char *meta;     /* sidecar metadata JSON (borrowed; NULL = none) */
	bool freeze_embedding;/* the token embedding (and a tied classifier) stays as
				 it is: its gradient is zeroed before each update */
	bool weights_only;    /* save without the training state (no moments: a
				 third of the size; the run cannot be resumed) */
};

/* What a progress report says (all borrowed for the call). */
struct lmtrain_report {
	int step, steps;      /* steps done, of steps */
	int first;            /* the step the run started at */
	double loss;          /* mean step loss since the previous report */
	float lr;             /* learning rate of the last step */
	double grad_norm;     /* gradient norm of the last step (before clipping) */
	double tokens_per_sec;/* since the previous report (rows x T, padding included) */
	double elapsed;       /* seconds since the run started */
	double eta;           /* seconds left, at the run's mean speed */
	const char *saved;    /* a save report: the path just written; else NULL */
};

/* Called every log_every steps, after the last, and after each save (saved
 * set).  Returns 0 to go on, non-zero to stop the run (lmtrain_run then
 * returns -ECANCELED, nothing saved). */
typedef int lmtrain_progress_fn(void *arg, const struct lmtrain_report *r);

/*
 * Trains m (made for at least c->batch x d->T tokens, with gradients) on d
 * from opt->step to c->steps, drawing batches with *rng.  Saves to
 * c->out_path (when set) every save_every steps and after the last, with
 * metadata c->meta and, unless c->weights_only, the training state (AdamW
 * moments, step, *rng in rng[0]), atomically.  Returns 0, -ECANCELED when progress asked to stop, or
 * another negative errno with a lowercase message in err.
 */
int lmtrain_run(struct llama_model *m, struct adamw *opt, const struct lmdata_set *d,
		uint64_t *rng, const struct lmtrain_config *c, lmtrain_progress_fn *progress,
		void *arg, char *err, size_t errlen);

#endif
