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
 */
#ifndef RLHFD_MODEL_LLAMA_H
#define RLHFD_MODEL_LLAMA_H

#include <stddef.h>
#include <stdbool.h>

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

#endif
