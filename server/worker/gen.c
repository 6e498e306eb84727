/*
 * server/worker/gen.c — K answers to a prompt from one batched inference call (see
 * gen.h).
 */
#include "server/worker/gen.h"
#include "model/checkpoint.h"
#include "model/lmdata.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gen_params_default(struct gen_params *p)
{
	p->k = 4;
	p->temperature = 1.0f;
	p->top_p = 0.95f;
	p->top_k = 0;
	p->max_tokens = 96;
	p->seed = 0;
	p->raw = false;
}

/* dir of path + name into out; name alone when path has no directory. */
static int beside(char *out, size_t n, const char *path, const char *name)
{
	if (name[0] == '/')
		return snprintf(out, n, "%s", name) < (int)n ? 0 : -1;
	const char *slash = strrchr(path, '/');
	int dl = slash ? (int)(slash - path) : 0;
	int w = slash ? snprintf(out, n, "%.*s/%s", dl, path, name) : snprintf(out, n, "%s", name);
	return w >= 0 && (size_t)w < n ? 0 : -1;
}

int gen_model_load(struct gen_model *g, const char *model_path, const char *tokenizer_path,
		   int max_k, char *err, size_t errlen)
{
	struct ckpt_state st;
	char tkp[PATH_MAX];
	memset(g, 0, sizeof *g);
	tokenizer_init(&g->tk);
	ckpt_state_init(&st);
	if (max_k < 1 || max_k > GEN_MAX_K) {
		snprintf(err, errlen, "k must be 1..%d", GEN_MAX_K);
		return -1;
	}
	if (ckpt_load_model(model_path, &g->cfg, &g->params, &st, err, errlen) < 0)
		goto fail;
	json_t *meta = st.meta ? json_loads(st.meta, 0, NULL) : NULL;
	const char *tmpl = json_string_value(json_object_get(meta, "template"));
	const char *kind = json_string_value(json_object_get(meta, "kind"));
	const char *tkname = json_string_value(json_object_get(meta, "tokenizer"));
	g->template = strdup(tmpl ? tmpl : GEN_DEFAULT_TEMPLATE);
	g->kind = kind ? strdup(kind) : NULL;
	int brc = tokenizer_path ? (snprintf(tkp, sizeof tkp, "%s", tokenizer_path) <
				    (int)sizeof tkp ? 0 : -1)
				 : beside(tkp, sizeof tkp, model_path, tkname ? tkname : "tokenizer.bin");
	json_decref(meta);
	if (!g->template || (kind && !g->kind)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (brc < 0) {
		snprintf(err, errlen, "tokenizer path too long for '%s'", model_path);
		goto fail;
	}
	if (tokenizer_load(&g->tk, tkp, g->cfg.vocab_size, err, errlen) < 0)
		goto fail;
	if (infer_init(&g->inf, &g->cfg, g->params, max_k, err, errlen) < 0)
		goto fail;
	size_t T = (size_t)g->cfg.seq_len;
	g->max_k = max_k;
	g->prompt_ids = malloc((T + 3) * sizeof(int));
	g->tokens = malloc((size_t)max_k * T * sizeof(int));
	g->n_tokens = malloc((size_t)max_k * sizeof(int));
	g->logprobs = malloc((size_t)max_k * T * sizeof(float));
	if (!g->prompt_ids || !g->tokens || !g->n_tokens || !g->logprobs) {
		snprintf(err, errlen, "out of memory for '%s'", model_path);
		goto fail;
	}
	ckpt_state_release(&st);
	return 0;
fail:
	ckpt_state_release(&st);
	gen_model_release(g);
	return -1;
}

void gen_model_release(struct gen_model *g)
{
	infer_release(&g->inf); /* safe on a zeroed struct */
	tokenizer_release(&g->tk);
	free(g->params);
	free(g->template);
	free(g->kind);
	free(g->prompt_ids);
	free(g->tokens);
	free(g->n_tokens);
	free(g->logprobs);
	memset(g, 0, sizeof *g);
}

int gen_answers(struct gen_model *g, const char *prompt, const struct gen_params *p,
		struct gen_answer *out, char *err, size_t errlen)
{
	int T = g->cfg.seq_len;
	if (p->k < 1 || p->k > g->max_k || p->max_tokens < 1) {
		snprintf(err, errlen, "k must be 1..%d and max_tokens positive", g->max_k);
		return -1;
	}
	char *text = p->raw ? strdup(prompt) : lmdata_format_prompt(g->template, prompt);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* the prompt must leave room for one new token; a longer one is refused
	 * before encoding the whole of it */
	size_t cap = TOKENIZER_MAX_IDS(strlen(text)), n_prompt = 0;
	int *ids = cap <= (size_t)T + 3 ? g->prompt_ids : malloc(cap * sizeof(int));
	int rc = ids ? tokenizer_encode(&g->tk, text, true, false, ids, cap, &n_prompt) : -1;
	free(text);
	if (rc < 0 || n_prompt + 1 > (size_t)T) {
		snprintf(err, errlen, rc < 0 ? "cannot encode the prompt"
					     : "the prompt (%zu tokens) leaves no room in a context of %d",
			 n_prompt, T);
		if (ids != g->prompt_ids)
			free(ids);
		return -1;
	}
	struct infer_params ip;
	infer_params_default(&ip);
	ip.k = p->k;
	ip.max_new = p->max_tokens < T ? p->max_tokens : T;
	ip.temperature = p->temperature;
	ip.top_p = p->top_p;
	ip.top_k = p->top_k;
	ip.seed = p->seed;
	ip.first_stream = 0;
	/* EOS ends an answer; so does BOS (a base model's next document) */
	ip.stop_ids[0] = INFER_EOS;
	ip.stop_ids[1] = INFER_BOS;
	ip.n_stop = 2;
	rc = infer_generate(&g->inf, ids, (int)n_prompt, &ip, g->tokens, g->n_tokens, g->logprobs,
			    err, errlen);
	int last = ids[n_prompt - 1];
	if (ids != g->prompt_ids)
		free(ids);
	if (rc < 0)
		return -1;
	struct gen_answer ans[GEN_MAX_K];
	for (int j = 0; j < p->k; j++) {
		const int *tok = g->tokens + (size_t)j * ip.max_new;
		int n = g->n_tokens[j];
		bool fin = n > 0 && (tok[n - 1] == INFER_EOS || tok[n - 1] == INFER_BOS);
		char *s = NULL;
		if (tokenizer_decode(&g->tk, last, tok, (size_t)(fin ? n - 1 : n), &s, NULL, err,
				     errlen) < 0) {
			gen_answers_release(ans, j);
			return -1;
		}
		/* a 0x00 byte would end the C string early: the text is what precedes it */
		size_t len = strlen(s);
		char *b = s;
		if (p->raw) /* a bare continuation: all leading white space */
			b += strspn(s, " \t\r\n");
		else if (s[0] == ' ') /* the one space after "Assistant:" */
			b++;
		while (len > (size_t)(b - s) && strchr(" \t\r\n", s[len - 1]))
			s[--len] = '\0';
		memmove(s, b, strlen(b) + 1);
		float lp = 0.0f;
		for (int t = 0; t < n; t++)
			lp += g->logprobs[(size_t)j * ip.max_new + t];
		ans[j] = (struct gen_answer){ .text = s, .n_tokens = n, .finished = fin, .logprob = lp };
	}
	memcpy(out, ans, (size_t)p->k * sizeof *out);
	return 0;
}

void gen_answers_release(struct gen_answer *a, int k)
{
	for (int j = 0; j < k; j++) {
		free(a[j].text);
		a[j].text = NULL;
	}
}
