/*
 * model/infer.h — inference with a KV cache: K sequences that share a prompt,
 * generated together (the K answers a rater compares come from one call).
 *
 * The prompt is run once, INFER_CHUNK positions at a time, each matrix product
 * one call over the chunk's rows (cblas_sgemm); its keys and values live in one
 * prompt cache that every sequence reads (nothing is copied K times).  Then the
 * K sequences advance in lockstep, one token each per step: every matrix
 * product of a step is one call over the (up to) K live rows — the few-row
 * kernel of infer_matmul, which reads the weights once per step for all of
 * them; attention runs per sequence and head (OpenMP).  A sequence stops at a
 * stop token (EOS, id 2, by default) or after max_new tokens, and drops out of
 * later steps.
 *
 * The architecture is llama2.c's run.c: RMSNorm (eps 1e-5), RoPE with theta
 * 10000 rotating adjacent pairs (x[2i], x[2i+1]) by pos / 10000^((2i mod hs)/hs),
 * grouped-query attention, SwiGLU w2(silu(w1 x) * w3 x), classifier tied to the
 * embedding or separate.  RMSNorm (with OPS_RMSNORM_EPS), the RoPE table and
 * the rotation are the training model's kernels of model/ops.h, so the two
 * paths compute those layers with the same float operations.
 *
 * Every buffer is allocated by infer_init for at most max_k sequences of up to
 * seq_len positions; infer_generate and infer_logits allocate nothing.  One
 * struct infer is used by one thread at a time.
 *
 * Seeding contract: sequence j of a call draws from RNG stream
 * sampler_stream_seed(seed, first_stream + j), so a batch of K equals K calls of
 * one sequence each with first_stream = 0..K-1, token for token.
 *
 * Several prompts at once (infer_generate_batch): each prompt is run once into
 * a prompt cache of its own, then the live sequences of every prompt advance
 * together, one forward pass a step.  A token costs about the same either way
 * (make bench, the demo shape: 4 and 64 rows a step give the same tokens/s);
 * what the batch saves is steps.  One call per prompt runs as many steps as
 * its longest answer, mostly with one or two sequences still live, and every
 * step pays fixed costs whatever its rows — OpenMP barriers between the
 * layers, which on a busy machine wait for a descheduled thread.  (The
 * generate job, 128 prompts x 4 answers on the demo model: 9-22 s one call per
 * prompt on a loaded machine, 3.0 s on an idle one; 2.2 s in batches.)  A
 * sequence computes exactly
 * what it would in a call of its prompt alone as long as a step has at most
 * INFER_FEW_ROWS live rows (the few-row kernel gives each row the same sums
 * whatever the other rows); above that the step's products go through sgemm,
 * whose rounding can differ in the last bits.
 */
#ifndef RLHFD_MODEL_INFER_H
#define RLHFD_MODEL_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "model/llama.h"
#include "model/sampler.h"

#define INFER_BOS 1
#define INFER_EOS 2
#define INFER_MAX_STOP 4
/* prompt positions per prefill sgemm */
#define INFER_CHUNK 64

struct infer {
	struct llama_config cfg;
	struct llama_weights w;  /* borrowed: the caller's parameter buffer */
	int max_k;               /* sequences per call */
	int max_prompts;         /* prompts per call (infer_generate_batch) */
	int max_rows;            /* rows per forward pass: max(max_k, INFER_CHUNK) */

	/* KV caches */
	float *key_prompt;       /* (max_prompts, layer, seq_len, kv_dim) each prompt's */
	float *value_prompt;     /* (max_prompts, layer, seq_len, kv_dim) */
	float *key_seq;          /* (layer, max_k, seq_len, kv_dim) positions after it */
	float *value_seq;        /* (layer, max_k, seq_len, kv_dim) */

	/* activations of the rows of one forward pass */
	float *x;                /* (max_rows, dim) residual stream */
	float *xb;               /* (max_rows, dim) */
	float *xb2;              /* (max_rows, dim) */
	float *q;                /* (max_rows, dim) */
	float *k;                /* (max_rows, kv_dim) */
	float *v;                /* (max_rows, kv_dim) */
	float *hb;               /* (max_rows, hidden_dim) */
	float *hb2;              /* (max_rows, hidden_dim) */
	float *att;              /* (max_rows, n_heads, seq_len) attention weights */
	float *logits;           /* (max_rows, vocab) */
	float *probs;            /* (max_k, vocab) sampling scratch */
	float *rope_cos;         /* (seq_len, head_size / 2) ops_rope_table */
	float *rope_sin;         /* (seq_len, head_size / 2) */
	float *rstd;             /* (max_rows) ops_rmsnorm_forward's cache (unused) */
	int *row_tok;            /* (max_rows) */
	int *row_pos;            /* (max_rows) */
	int *row_slot;           /* (max_rows) sequence, or -1 for a prompt row */
	int *row_prompt;         /* (max_rows) the prompt (cache) of the row */
	int *row_shared;         /* (max_rows) that prompt's length: a sequence row
				    reads positions below it from the prompt cache */
	int *slot_prompt;        /* (max_k) a sequence's prompt */
	int *live;               /* (max_k) sequences still generating */
	struct sampler *samplers;/* (max_k) one RNG stream per sequence */
};

struct infer_params {
	int k;                   /* sequences, 1..max_k */
	int max_new;             /* most new tokens per sequence (clipped to seq_len - prompt) */
	float temperature;       /* 0 = greedy */
	float top_p;             /* >= 1 or <= 0 = off */
	int top_k;               /* <= 0 = off */
	uint64_t seed;
	int first_stream;        /* RNG stream of sequence 0 (see the contract above) */
	int stop_ids[INFER_MAX_STOP]; /* tokens that end a sequence (kept in its output) */
	int n_stop;
};

/* k = 1, 256 tokens, temperature 1, top-p 0.9, no top-k, seed 0, stop at EOS. */
void infer_params_default(struct infer_params *p);

/*
 * Allocates the caches and buffers for up to max_k sequences.  params (borrowed,
 * llama_params_count(cfg) floats) must outlive inf; weights may change between
 * calls (training), never during one.  Returns 0, or -1 with err set.
 */
int infer_init(struct infer *inf, const struct llama_config *cfg, float *params, int max_k,
	       char *err, size_t errlen);
/* The same for up to max_k sequences of up to max_prompts prompts in one
 * infer_generate_batch call (infer_init is max_prompts 1). */
int infer_init_batch(struct infer *inf, const struct llama_config *cfg, float *params, int max_k,
		     int max_prompts, char *err, size_t errlen);
/* KV-cache bytes of one sequence (or one prompt) of cfg: what a caller sizes
 * max_k and max_prompts by. */
size_t infer_seq_bytes(const struct llama_config *cfg);
/* Frees what infer_init allocated and zeroes inf (NULL, zeroed or released:
 * nothing to do). */
void infer_release(struct infer *inf);

/*
 * Generates p->k continuations of prompt (n_prompt ids, BOS included if wanted;
 * 1 <= n_prompt <= seq_len).  Outputs, row j for sequence j:
 *   tokens    (k, max_new) the new ids; a stop token that ended it is included;
 *   n_tokens  (k) how many;
 *   logprobs  (k, max_new) or NULL: log p(token) under the model at temperature 1
 *             (the policy's own probability, whatever the sampling settings).
 * max_new here is p->max_new as given (the row stride), even when clipped.
 * Returns 0, or -1 with err set (bad ids, k, lengths).
 */
int infer_generate(struct infer *inf, const int *prompt, int n_prompt,
		   const struct infer_params *p, int *tokens, int *n_tokens, float *logprobs,
		   char *err, size_t errlen);

/* One prompt of infer_generate_batch: its ids (borrowed) and the RNG of its
 * sequences — sequence j draws from sampler_stream_seed(seed, first_stream + j),
 * the stream infer_generate gives it with the same seed and first_stream. */
struct infer_prompt {
	const int *tokens;       /* (n) */
	int n;                   /* 1..seq_len */
	uint64_t seed;
	int first_stream;
	int max_new;             /* its own limit (at most p->max_new, the rows'
				    stride; clipped to its room too); < 0 =
				    p->max_new */
};

/* Bytes of KV cache infer_batch_size lets one batch take. */
#define INFER_BATCH_BYTES ((size_t)256 << 20)
/* The most prompts (at least 1, at most want) whose k sequences each and
 * prompt caches fit INFER_BATCH_BYTES: what infer_init_batch is sized by. */
int infer_batch_size(const struct llama_config *cfg, int k, int want);

/*
 * p->k continuations of each of n_prompts prompts (n_prompts <= max_prompts,
 * n_prompts * k <= max_k), generated together (see the top).  Sequence j of
 * prompt i is row i * k + j of the outputs, laid out as infer_generate's;
 * p->seed and p->first_stream are not read (each prompt has its own).  Each
 * prompt's max_new is clipped to its own room.  Returns 0, or -1 with err set.
 */
int infer_generate_batch(struct infer *inf, const struct infer_prompt *prompts, int n_prompts,
			 const struct infer_params *p, int *tokens, int *n_tokens, float *logprobs,
			 char *err, size_t errlen);

/*
 * Logits after each position of one token sequence (n <= seq_len):
 * logits (n, vocab_size), row t = the prediction of token t+1.  Uses the prompt
 * cache (a following infer_generate starts afresh).  Returns 0 or -1.
 */
int infer_logits(struct infer *inf, const int *tokens, int n, float *logits, char *err,
		 size_t errlen);

/*
 * out (n, d) = in (n, m) @ W^T with W (d, m) row-major — the matrix product of
 * every layer.  Up to INFER_FEW_ROWS rows it is a register-blocked kernel that
 * reads each weight row once for all rows (OpenBLAS's sgemm would pack all of
 * W on every call, which dominates a decode step); above, cblas_sgemm.
 */
#define INFER_FEW_ROWS 16
void infer_matmul(float *out, const float *in, const float *w, int n, int m, int d);

/* Threads for OpenMP loops and OpenBLAS (n <= 0: all cores). */
void infer_set_threads(int n);

#endif
