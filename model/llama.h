/*
 * model/llama.h — the Llama 2 model: configuration, the one flat parameter
 * layout shared by training, inference, checkpoints and the optimizer.
 *
 * Parameters live in one contiguous float buffer, tensor after tensor in the
 * order of a llama2.c v0 checkpoint (so that order is also the gradient order of
 * `rlhfd grad`), followed by the scalar head used by reward and value models.
 * Gradients and AdamW moments are buffers of the same length and layout, so a
 * `struct llama_weights` mapped over any of them names the same tensors.
 *
 * Matrices are stored row-major as (out, in), as llama2.c stores them: y = W x
 * is W[o][i] * x[i].
 *
 * Errors, throughout model/ (each header restates its part):
 *  - A function that can fail returns an int: 0 (or the count its comment
 *    names) on success, negative on failure — callers test `< 0`.  When it
 *    takes (char *err, size_t errlen) it writes a lowercase message naming
 *    what failed there (err may be NULL); it never prints.
 *  - The engine — llama.h, ops.h, infer.h, sampler.h, adamw.h, checkpoint.h,
 *    rl.h — returns -1: its failures are a bad argument, a bad file or no
 *    memory, and the message says which.
 *  - The procedures over the user's data — tokenizer.h, lmdata.h, lmtrain.h,
 *    trainer.h — return a negative errno (-EINVAL, -ENOMEM, -ENOSPC, an
 *    -errno of the system, and -ECANCELED when the caller's hook asked to
 *    stop), because their callers act on the kind.
 *  - Lookups that may find nothing say so in their own terms (e.g.
 *    tokenizer_lookup's -1 is "no such piece", not an error).
 *  - Every *_release accepts NULL, a zeroed struct and a released one and
 *    leaves the struct zeroed, so callers release unconditionally on every
 *    path (goto out).
 *
 * Here: llama_config_check, llama_model_init, llama_forward, llama_backward
 * and llama_lm_forward_backward return 0 or -1.
 */
#ifndef RLHFD_MODEL_LLAMA_H
#define RLHFD_MODEL_LLAMA_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

struct llama_config {
	int dim;               /* residual width */
	int hidden_dim;        /* SwiGLU inner width */
	int n_layers;
	int n_heads;           /* query heads; head_size = dim / n_heads */
	int n_kv_heads;        /* key/value heads, divides n_heads */
	int vocab_size;
	int seq_len;           /* longest sequence (RoPE and KV cache length) */
	bool shared_classifier;/* classifier tied to token_embedding */
};

/* Tensors inside one flat buffer (parameters, gradients or a moment).  All
 * pointers are borrowed from that buffer. */
struct llama_weights {
	float *token_embedding; /* (vocab, dim) */
	float *rms_att;         /* (layer, dim) */
	float *wq;              /* (layer, dim, dim)         = (layer, n_heads*hs, dim) */
	float *wk;              /* (layer, kv_dim, dim) */
	float *wv;              /* (layer, kv_dim, dim) */
	float *wo;              /* (layer, dim, dim) */
	float *rms_ffn;         /* (layer, dim) */
	float *w1;              /* (layer, hidden, dim) */
	float *w2;              /* (layer, dim, hidden) */
	float *w3;              /* (layer, hidden, dim) */
	float *rms_final;       /* (dim) */
	float *wcls;            /* (vocab, dim); == token_embedding when shared */
	float *head_w;          /* (dim) scalar head (reward / value) */
	float *head_b;          /* (1) */
};

static inline int llama_head_size(const struct llama_config *c) { return c->dim / c->n_heads; }
static inline int llama_kv_dim(const struct llama_config *c)
{
	return c->dim / c->n_heads * c->n_kv_heads;
}

/* Returns 0 when the configuration is usable, else -1 with a lowercase
 * reason written to err (size errlen). */
int llama_config_check(const struct llama_config *c, char *err, size_t errlen);

/* Number of floats in the flat buffer, scalar head included. */
size_t llama_params_count(const struct llama_config *c);

/* Number of floats a llama2.c checkpoint stores (no scalar head, no RoPE tables). */
size_t llama_params_count_llama2c(const struct llama_config *c);

/* Points w's tensors into base (borrowed; base must hold llama_params_count). */
void llama_weights_map(struct llama_weights *w, const struct llama_config *c, float *base);

/* True when the tensor holding flat index i is a matrix (gets weight decay):
 * embeddings, attention and MLP matrices, classifier, head_w — not norms or bias. */
bool llama_param_is_matrix(const struct llama_config *c, size_t i);

/* ---- tensors of the layout, by index ------------------------------------ */

/* The tensors of struct llama_weights in layout order: 0 token_embedding,
 * 1 rms_att, 2 wq, 3 wk, 4 wv, 5 wo, 6 rms_ffn, 7 w1, 8 w2, 9 w3,
 * 10 rms_final, 11 wcls (empty when shared), 12 head_w, 13 head_b. */
#define LLAMA_N_TENSORS 14

/* Offset and length (floats) of tensor k in the flat buffer. */
void llama_tensor_span(const struct llama_config *c, int k, size_t *off, size_t *len);

/* True when tensor k is a matrix (gets weight decay); see llama_param_is_matrix. */
bool llama_tensor_is_matrix(int k);

/* ---- the training model (model/llama.c) --------------------------------- */

/* Activations of one forward pass, for up to max_B x max_T tokens; N = B*T
 * rows of the last forward.  Per-layer tensors are (layer, N_max, ...) and a
 * layer's slice holds its N rows contiguously.  All pointers borrow from
 * llama_model.acts_mem. */
struct llama_acts {
	float *x;        /* (layer+1, N, dim) residual stream entering each layer; [L] = last */
	float *xmid;     /* (layer, N, dim) residual after the attention block */
	float *xn1;      /* (layer, N, dim) attention RMSNorm output */
	float *rstd1;    /* (layer, N) */
	float *q;        /* (layer, N, dim) queries after RoPE */
	float *k;        /* (layer, N, kv_dim) keys after RoPE */
	float *v;        /* (layer, N, kv_dim) */
	float *att;      /* (layer, B, n_heads, T, T) attention probabilities */
	float *ao;       /* (layer, N, dim) attention output before wo */
	float *xn2;      /* (layer, N, dim) MLP RMSNorm output */
	float *rstd2;    /* (layer, N) */
	float *h1;       /* (layer, N, hidden) w1 x */
	float *h3;       /* (layer, N, hidden) w3 x */
	float *hg;       /* (layer, N, hidden) silu(h1) * h3 */
	float *xf;       /* (N, dim) final RMSNorm output (h_final) */
	float *rstdf;    /* (N) */
	float *logits;   /* (N, vocab) classifier output; becomes dlogits in backward;
			    NULL when the model was made with LLAMA_NO_LM */
	float *lse;      /* (N) log-sum-exp of each logits row */
	float *logprobs; /* (N) output: log p(target) */
	float *entropy;  /* (N) output: entropy of the next-token distribution */
	float *values;   /* (N) output: scalar head */
	/* backward scratch (NULL with LLAMA_NO_GRADS) */
	float *dx;       /* (N, dim) gradient of the residual stream */
	float *dxn;      /* (N, dim) */
	float *dao;      /* (N, dim) */
	float *dq;       /* (N, dim) */
	float *dqr;      /* (N, dim) */
	float *dk;       /* (N, kv_dim) */
	float *dkr;      /* (N, kv_dim) */
	float *dv;       /* (N, kv_dim) */
	float *dg;       /* (N, hidden) */
	float *dh1;      /* (N, hidden) */
	float *dh3;      /* (N, hidden) */
	float *datt;     /* (B, n_heads, T, T) */
};

/* llama_model_init flags */
#define LLAMA_NO_LM    1u /* never computes the classifier: no (N, vocab) logits buffer
			     (reward and value models) */
#define LLAMA_NO_GRADS 2u /* forward only: no gradient buffer, no backward scratch
			     (frozen reference model) */

/* What llama_forward computes (bit set) */
#define LLAMA_LOGPROBS 1u /* classifier + log-softmax: acts.logprobs (needs targets) */
#define LLAMA_ENTROPY  2u /* entropy of each position's softmax: acts.entropy */
#define LLAMA_VALUES   4u /* scalar head on h_final: acts.values */

/* How a reward model's per-position values become one score per sequence
 * (read by model/trainer.c; the model itself computes values only). */
enum llama_score {
	LLAMA_SCORE_LAST = 0, /* the value at the last token (InstructGPT) */
	LLAMA_SCORE_MEAN,     /* the mean value over the response's tokens: every
				 position of the answer feeds the score directly,
				 which generalises better for small models */
};

/*
 * A Llama 2 decoder for batched training: parameters and gradients as flat
 * buffers of llama_params_count floats in the layout above (AdamW's moments
 * live in struct adamw, model/adamw.h, same layout), plus activations for up to
 * max_B sequences of max_T tokens.  Positions are 0..T-1 in every sequence.
 *
 * How the training jobs use it (error checks left out):
 *
 *   pre-training / SFT (rows from model/lmdata.h):
 *     llama_zero_grads(&m);
 *     for each micro-batch: llama_lm_forward_backward(&m, tok, tg, w, B, T, wsum_of_step, &loss);
 *     adamw_step(&opt, m.params, m.grads, 1.0f, &lr);
 *   reward model (made with LLAMA_NO_LM; rl_rm_pair_loss in model/rl.h):
 *     llama_forward(&m, tok, NULL, K, T, LLAMA_VALUES);
 *     r[k] = m.acts.values[k*T + last[k]];  dvalues = 0 except dvalues[k*T + last[k]] = dr[k];
 *     (with LLAMA_SCORE_MEAN: r[k] the mean over the response's positions, dr[k]
 *     spread evenly over them)
 *     llama_backward(&m, NULL, NULL, dvalues);
 *   PPO policy: llama_forward(&pol, tok, tg, B, T, LLAMA_LOGPROBS | LLAMA_ENTROPY), the PPO
 *     loss gives dlogprobs and dentropy, llama_backward(&pol, dlp, dent, NULL);
 *   frozen reference: a model made with LLAMA_NO_GRADS, llama_forward(..., LLAMA_LOGPROBS);
 *   value model: LLAMA_NO_LM, LLAMA_VALUES, llama_backward(&val, NULL, NULL, dvalues).
 * Copying weights between models of one config is a memcpy of n_params floats.
 */
struct trainer_prior;

struct llama_model {
	struct llama_config cfg;
	int max_B, max_T;
	unsigned flags;       /* LLAMA_NO_LM | LLAMA_NO_GRADS */
	enum llama_score score; /* LLAMA_SCORE_LAST after init; set by the caller */
	struct trainer_prior *prior; /* reward models: NULL after init, or the
				 likelihood prior model/trainer.c adds to every
				 score (model/trainer.h); borrowed, set by the caller */
	size_t n_params;
	float *params;        /* (n_params) owned; zero after init */
	float *grads;         /* (n_params) owned; NULL with LLAMA_NO_GRADS */
	struct llama_weights w; /* tensors of params */
	struct llama_weights g; /* tensors of grads (all NULL without grads) */
	float *freq_cos;      /* (max_T, head_size/2) RoPE table */
	float *freq_sin;      /* (max_T, head_size/2) */
	struct llama_acts acts;
	float *acts_mem;      /* owned block behind acts */
	int cls_rows;         /* classifier rows per chunk; 0 (default) = as many as
				 keep a chunk of logits near 32 MB (cache-resident) */
	/* the last forward (what backward differentiates) */
	int B, T;
	unsigned computed;    /* LLAMA_LOGPROBS | LLAMA_ENTROPY | LLAMA_VALUES */
	bool cls_done;        /* llama_lm_forward_backward's fused forward already did
				 the classifier's backward */
	int *tokens;          /* (max_B*max_T) copy of the inputs */
	int *targets;         /* (max_B*max_T) copy of the targets; -1 = none */
};

/* Allocates a model for cfg with room for max_B x max_T tokens (max_T <=
 * cfg->seq_len).  Parameters start at zero: fill them with
 * llama_params_init_random or copy a checkpoint into m->params.  Returns 0, or
 * -1 with a lowercase reason in err (bad config, out of memory). */
int llama_model_init(struct llama_model *m, const struct llama_config *cfg,
		     int max_B, int max_T, unsigned flags, char *err, size_t errlen);
/* Frees what llama_model_init allocated and zeroes m (NULL, zeroed or
 * released: nothing to do). */
void llama_model_release(struct llama_model *m);

/* grads = 0 (call before accumulating a step's micro-batches). */
void llama_zero_grads(struct llama_model *m);

/*
 * Forward over tokens (B,T) (row-major, each in [0, vocab)).  Sequences shorter
 * than T are padded at the end with any valid token (e.g. 0) and target -1:
 * attention is causal, so padding never changes the positions before it.
 * what selects the
 * outputs, each (B,T) and borrowed from m->acts until the next forward:
 *   LLAMA_LOGPROBS  acts.logprobs[b*T+t] = log p(targets[b*T+t] | tokens[b, 0..t]);
 *                   targets (B,T) in [-1, vocab), -1 = no target (log-prob 0,
 *                   no gradient).  targets may be NULL only without this bit.
 *   LLAMA_ENTROPY   acts.entropy = entropy of the same next-token softmax.
 *   LLAMA_VALUES    acts.values = head_w . h_final + head_b.
 * Without LOGPROBS and ENTROPY the vocabulary matmul is skipped entirely.
 * Returns 0, or -1 when sizes, tokens or flags are invalid (nothing computed).
 */
int llama_forward(struct llama_model *m, const int *tokens, const int *targets,
		  int B, int T, unsigned what);

/*
 * Backward of the last forward, ACCUMULATING into m->grads: dlogprobs (B,T) is
 * dLoss/dlogprobs, dentropy (B,T) dLoss/dentropy, dvalues (B,T) dLoss/dvalues;
 * each may be NULL (no such term) but must have been computed by the forward
 * when given.  The forward's logits are overwritten (a second backward needs a
 * new forward).  Returns 0, or -1 when a gradient was given for an output the
 * forward did not compute, or the model has no gradients.
 */
int llama_backward(struct llama_model *m, const float *dlogprobs, const float *dentropy,
		   const float *dvalues);

/*
 * Weighted cross-entropy over n tokens: loss = sum_i w_i * (-logprobs_i) / norm,
 * with norm = sum_i w_i when norm <= 0 (weights NULL = all 1).  Writes
 * dlogprobs_i = -w_i / norm and returns the loss (0 when the weights sum to 0).
 * Gradient accumulation: pass the weight sum of the whole optimizer step as
 * norm, and the micro-batch losses add up to the full-batch loss.
 */
float llama_ce_loss(float *dlogprobs, const float *logprobs, const float *weights,
		    int n, float norm);

/*
 * Forward + weighted cross-entropy + backward for language modelling (pre-training
 * with weights NULL, SFT with a response mask): loss = sum_i w_i (-logprob_i) /
 * norm over positions with a target (targets[i] >= 0), norm <= 0 meaning the sum
 * of those w_i.  Gradients accumulate; the loss is written to *loss.  Faster
 * than forward + llama_ce_loss + backward (the classifier's backward is fused
 * into its forward, chunk by chunk) and gives the same gradient.  Returns 0 or
 * -1 as llama_forward.
 */
int llama_lm_forward_backward(struct llama_model *m, const int *tokens, const int *targets,
			      const float *weights, int B, int T, float norm, float *loss);

/* Deterministic random initialisation of a flat parameter buffer (llm.c-like):
 * matrices normal(0, 0.02), the residual projections wo and w2 scaled by
 * 1/sqrt(2 n_layers), norms 1, head_w normal(0, 0.02), head_b 0.  The same
 * seed gives the same bits on every machine. */
void llama_params_init_random(const struct llama_config *cfg, float *params, uint64_t seed);

#endif
