/*
 * model/llama_layout.c — the flat parameter layout of model/llama.h.
 */
#include "model/llama.h"

#include <stdio.h>

int llama_config_check(const struct llama_config *c, char *err, size_t errlen)
{
	const char *why = NULL;
	if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 ||
	    c->n_kv_heads <= 0 || c->vocab_size <= 0 || c->seq_len <= 0)
		why = "every size must be positive";
	else if (c->dim % c->n_heads != 0)
		why = "dim must be a multiple of n_heads";
	else if (c->n_heads % c->n_kv_heads != 0)
		why = "n_heads must be a multiple of n_kv_heads";
	else if ((c->dim / c->n_heads) % 2 != 0)
		why = "head size must be even for rope";
	else if (c->dim > 65536 || c->hidden_dim > 262144 || c->n_layers > 1024 ||
		 c->vocab_size > 1 << 22 || c->seq_len > 1 << 20)
		why = "a size is implausibly large";
	if (why && err)
		snprintf(err, errlen, "%s", why);
	return why ? -1 : 0;
}

/* Sizes of the tensors in layout order. */
static void layout_sizes(const struct llama_config *c, size_t s[14])
{
	size_t L = (size_t)c->n_layers, d = (size_t)c->dim, h = (size_t)c->hidden_dim;
	size_t kv = (size_t)llama_kv_dim(c), V = (size_t)c->vocab_size;
	s[0] = V * d;       /* token_embedding */
	s[1] = L * d;       /* rms_att */
	s[2] = L * d * d;   /* wq */
	s[3] = L * kv * d;  /* wk */
	s[4] = L * kv * d;  /* wv */
	s[5] = L * d * d;   /* wo */
	s[6] = L * d;       /* rms_ffn */
	s[7] = L * h * d;   /* w1 */
	s[8] = L * d * h;   /* w2 */
	s[9] = L * h * d;   /* w3 */
	s[10] = d;          /* rms_final */
	s[11] = c->shared_classifier ? 0 : V * d; /* wcls */
	s[12] = d;          /* head_w */
	s[13] = 1;          /* head_b */
}

size_t llama_params_count(const struct llama_config *c)
{
	size_t s[14], n = 0;
	layout_sizes(c, s);
	for (int i = 0; i < 14; i++)
		n += s[i];
	return n;
}

size_t llama_params_count_llama2c(const struct llama_config *c)
{
	size_t s[14];
	layout_sizes(c, s);
	return llama_params_count(c) - s[12] - s[13];
}

void llama_weights_map(struct llama_weights *w, const struct llama_config *c, float *base)
{
	size_t s[14];
	float **t[14] = { &w->token_embedding, &w->rms_att, &w->wq, &w->wk, &w->wv, &w->wo,
			  &w->rms_ffn, &w->w1, &w->w2, &w->w3, &w->rms_final, &w->wcls,
			  &w->head_w, &w->head_b };
	layout_sizes(c, s);
	for (int i = 0; i < 14; i++) {
		*t[i] = base;
		base += s[i];
	}
	if (c->shared_classifier)
		w->wcls = w->token_embedding;
}

/* norms (1, 6, 10) and the head bias (13) are not decayed */
static const bool layout_matrix[14] = { 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0 };

bool llama_param_is_matrix(const struct llama_config *c, size_t i)
{
	size_t s[14], off = 0;
	layout_sizes(c, s);
	for (int k = 0; k < 14; k++) {
		if (i < off + s[k])
			return layout_matrix[k];
		off += s[k];
	}
	return false;
}

bool llama_tensor_is_matrix(int k)
{
	return k >= 0 && k < 14 && layout_matrix[k];
}

void llama_tensor_span(const struct llama_config *c, int k, size_t *off, size_t *len)
{
	size_t s[14], o = 0;
	layout_sizes(c, s);
	for (int i = 0; i < k && i < 14; i++)
		o += s[i];
	*off = o;
	*len = k >= 0 && k < 14 ? s[k] : 0;
}
