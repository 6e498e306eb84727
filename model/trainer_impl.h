/*
 * model/trainer_impl.h — what the files of the trainer module share
 * (model/trainer.c: reporting, rows, the training step, SFT, reward model,
 * DPO; model/trainer_rl.c: rollouts, PPO, RLOO/GRPO, evaluation).  Not a
 * public interface: the worker includes model/trainer.h only.
 *
 * Errors follow model/trainer.h: 0 (or the count a comment names) or a
 * negative errno, with the message written through the run's err buffer.
 */
#ifndef RLHFD_MODEL_TRAINER_IMPL_H
#define RLHFD_MODEL_TRAINER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/adamw.h"
#include "model/llama.h"
#include "model/trainer.h"

/* ---- reporting ---------------------------------------------------------- */

/* The reporting state of one call: hooks (borrowed, may be NULL), the last
 * progress reported (so it never goes back) and the caller's error buffer. */
struct trainer_run {
	const struct trainer_hooks *h;
	float progress;
	char *err;
	size_t errlen;
};

void trainer_run_init(struct trainer_run *run, const struct trainer_hooks *h, char *err,
		      size_t errlen);
/* Reports max(frac, last reported) clamped to [0, 1]. */
void trainer_progress(struct trainer_run *run, float frac);
void trainer_metric(struct trainer_run *run, int step, const char *name, float value);
void trainer_logf(struct trainer_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes the message to err and returns code (a negative errno). */
int trainer_fail(struct trainer_run *run, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* True when the hooks say stop; err then says "cancelled". */
bool trainer_cancelled(struct trainer_run *run);

/* ---- randomness ----------------------------------------------------------- */

/* A splitmix64 state (model/rng.h) for the stream salt of seed. */
uint64_t trainer_rng_seed(uint64_t seed, uint64_t salt);
/* Fisher-Yates over v[0..n). */
void trainer_shuffle(int *v, int n, uint64_t *s);

/* ---- sequences and rows ----------------------------------------------------- */

/* 0 when s is usable with a vocabulary of vocab tokens (tokens in range, n >= 1,
 * 0 <= prompt_len <= n); else -EINVAL with "what: reason" in err. */
int trainer_seq_check(struct trainer_run *run, const struct trainer_seq *s, int vocab,
		      const char *what, int index);

/* Response tokens of s that a model of context max_T scores (after cutting:
 * max_T + 1 tokens when only log-probs are needed, max_T with values). */
int trainer_seq_scored(const struct trainer_seq *s, int max_T, bool need_last);

/*
 * A micro-batch laid out for one forward: B rows of T positions.  Row b holds
 * sequence seqs[b] cut to len[b] tokens; position t predicts token t+1, so
 * mask (1/0) marks the positions that score a response token.  grad is the
 * loss's gradient the training step hands to the backward; the scratch arrays
 * s[] are for the caller's gathered per-token data.
 */
struct trainer_rows {
	int cap_B, cap_T;     /* capacity */
	int B, T;             /* the last pack */
	unsigned what;        /* the last trainer_step_forward's outputs */
	int *tokens;          /* (cap_B, cap_T) padded with 0 */
	int *targets;         /* (cap_B, cap_T) tokens shifted by one; -1 = none */
	float *mask;          /* (cap_B, cap_T) */
	int *len;             /* (cap_B) tokens kept of each row */
	float *grad;          /* (cap_B, cap_T) dLoss/dlogprobs or dLoss/dvalues */
	float *s[4];          /* (cap_B * cap_T) each: scratch */
	const struct trainer_seq **seqs; /* (cap_B) scratch: a micro-batch's sequences */
};

/* Returns 0 or -ENOMEM.  trainer_rows_release frees what init allocated; it
 * accepts a zeroed struct, a released one and NULL. */
int trainer_rows_init(struct trainer_rows *r, int cap_B, int cap_T);
void trainer_rows_release(struct trainer_rows *r);

/*
 * Packs seqs[0..n) (n <= cap_B) for a model of context max_T (<= cap_T):
 * with need_last, a row is the first min(n, max_T) tokens and T covers its
 * last token (value / score there); without, the first min(n, max_T + 1)
 * tokens and T stops one short (log-probs only).  Returns the number of
 * masked positions.
 */
int trainer_rows_pack(struct trainer_rows *r, const struct trainer_seq *const *seqs, int n,
		      int max_T, bool need_last);

/* ---- the training step ------------------------------------------------------ */

/*
 * One micro-batch through m, llm.c style, in two calls around the loss:
 *
 *   n = trainer_step_forward(m, r, run, seqs, B, max_T, what, "policy");
 *   ... the loss: read m->acts.logprobs / m->acts.values ((r->B, r->T) rows)
 *       and write its gradient into r->grad (zeroed by the forward) ...
 *   trainer_step_backward(m, r, run, "policy");
 *
 * trainer_step_forward packs seqs[0..B) (B <= m->max_B, max_T <= m->max_T;
 * seqs may be r->seqs) as trainer_rows_pack does — with LLAMA_VALUES in what
 * a row keeps its last token (need_last), else it stops one short — and runs
 * llama_forward for what.  Returns the number of masked positions, or -EINVAL
 * with "<name> forward of B x T tokens failed" (name may be NULL).
 * trainer_step_backward accumulates the gradient of that forward into
 * m->grads: r->grad is dlogprobs when it computed LLAMA_LOGPROBS, else
 * dvalues (one of the two).  Returns 0 or -EINVAL ("<name> backward failed").
 *
 * trainer_step_ce is the whole step for cross-entropy on the masked positions
 * (SFT): pack, then llama_lm_forward_backward (the classifier's backward fused
 * into its forward) with the mask as weights over norm; the loss into *loss.
 * Returns the number of masked positions or -EINVAL.
 */
int trainer_step_forward(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
			 const struct trainer_seq *const *seqs, int B, int max_T, unsigned what,
			 const char *name);
int trainer_step_backward(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
			  const char *name);
int trainer_step_ce(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
		    const struct trainer_seq *const *seqs, int B, int max_T, float norm,
		    float *loss, const char *name);

/* sum_t mask[t] * x[t] over one row of T positions, in double. */
float trainer_masked_sum(const float *mask, const float *x, int T);

/* What trainer_collect copies out; any member may be NULL. */
struct trainer_outs {
	int S;                /* row stride of the (n, S) grids, >= the longest row */
	float *lp;            /* (n, S) log-prob of the next token at each position */
	float *ent;           /* (n, S) entropy at each position */
	float *val;           /* (n, S) value-head output at each position */
	float *score;         /* (n) each row's score: the value at its last token or
				 the mean over its response (m->score) */
	float *lpsum;         /* (n) sum of the response tokens' log-probs */
};

/*
 * Runs m over seqs[0..n) in micro-batches of m->max_B (trainer_step_forward,
 * no backward) of sequences of similar length (sorted first, so a batch pads
 * little; each row's outputs do not depend on its neighbours), each sequence
 * cut to max_T (<= m->max_T; 0 = m->max_T), and
 * copies out what o asks for (grid positions at or past a row's T are left
 * as they are).  Returns 0, -EINVAL (a forward refused its input) or -ENOMEM.
 */
int trainer_collect(struct llama_model *m, struct trainer_rows *r, struct trainer_run *run,
		    const struct trainer_seq *const *seqs, int n, int max_T,
		    const struct trainer_outs *o);

/*
 * The likelihood-prior features (trainer_prior_features) of seqs[0..n) under
 * the prior's language model (borrowed; pr->lm and, for the PMI features,
 * pr->uncond), each cut to max_T (0 = lm->max_T), into feats (n,
 * TRAINER_PRIOR_FEATS), in length-sorted micro-batches as trainer_collect
 * runs; with pr->uncond two forwards per micro-batch.  lp (n, S; borrowed),
 * when not NULL, holds the log-probs under pr->lm already, as trainer_collect
 * writes them: then only the empty prompt's forward runs.  Uses r->s[3] as
 * scratch.  Returns 0, -EINVAL (a forward refused its input) or -ENOMEM.
 */
int trainer_prior_collect(const struct trainer_prior *pr, struct trainer_rows *r,
			  struct trainer_run *run, const struct trainer_seq *const *seqs, int n,
			  int max_T, const float *lp, int S, float *feats);

/* ---- optimizer ---------------------------------------------------------------- */

/* AdamW over m's layout with the shared optimizer fields and total_steps.
 * Returns 0 or -ENOMEM (adamw_release accepts o either way). */
int trainer_opt_init(struct adamw *o, struct trainer_run *run, const struct llama_model *m,
		     float lr, float min_lr, float warmup_frac, float weight_decay,
		     float grad_clip, int total_steps);

/* Seconds on a monotonic clock. */
double trainer_now(void);

/* Word keys (trainer_word_key) into a bounded array: a trainer_words
 * callback (ctx: the struct) that keeps the first cap. */
struct trainer_word_keys {
	uint64_t *k;                 /* (cap) borrowed */
	int n, cap;
};
void trainer_word_keys_add(void *ctx, const char *word, size_t len);

#endif
