/*
 * server/worker/gen.c — K answers to a prompt from one batched inference call (see
 * gen.h).
 */
#include "server/worker/gen.h"
#include "model/checkpoint.h"
#include "model/lmdata.h"

#include <errno.h>
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
	const char *stmpl = json_string_value(json_object_get(meta, "system_template"));
	const char *kind = json_string_value(json_object_get(meta, "kind"));
	const char *tkname = json_string_value(json_object_get(meta, "tokenizer"));
	g->template = strdup(tmpl ? tmpl : GEN_DEFAULT_TEMPLATE);
	g->kind = kind ? strdup(kind) : NULL;
	g->system_template = stmpl ? strdup(stmpl) : NULL;
	int brc = tokenizer_path ? (snprintf(tkp, sizeof tkp, "%s", tokenizer_path) <
				    (int)sizeof tkp ? 0 : -1)
				 : beside(tkp, sizeof tkp, model_path, tkname ? tkname : "tokenizer.bin");
	json_decref(meta);
	if (!g->template || (kind && !g->kind) || (stmpl && !g->system_template)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (brc < 0) {
		snprintf(err, errlen, "tokenizer path too long for '%s'", model_path);
		goto fail;
	}
	if (tokenizer_load(&g->tk, tkp, g->cfg.vocab_size, err, errlen) < 0)
		goto fail;
	g->batch = infer_batch_size(&g->cfg, max_k, GEN_BATCH_PROMPTS);
	if (infer_init_batch(&g->inf, &g->cfg, g->params, g->batch * max_k, g->batch, err,
			     errlen) < 0)
		goto fail;
	size_t T = (size_t)g->cfg.seq_len, R = (size_t)g->batch * max_k;
	g->max_k = max_k;
	g->tokens = malloc(R * T * sizeof(int));
	g->n_tokens = malloc(R * sizeof(int));
	g->logprobs = malloc(R * T * sizeof(float));
	if (!g->tokens || !g->n_tokens || !g->logprobs) {
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
	free(g->system_template);
	free(g->kind);
	free(g->tokens);
	free(g->n_tokens);
	free(g->logprobs);
	memset(g, 0, sizeof *g);
}

/* The conversation in messages (JSON array text) as a new array of *n
 * lmdata messages borrowing root's strings; NULL when it is not a non-empty
 * array of {"role", "content"} with known roles. */
static struct lmdata_msg *chat_parse(json_t *root, int *n)
{
	size_t len = json_array_size(root);
	struct lmdata_msg *m = len ? calloc(len, sizeof *m) : NULL;
	if (!m)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		json_t *v = json_array_get(root, i);
		const char *role = json_string_value(json_object_get(v, "role"));
		const char *content = json_string_value(json_object_get(v, "content"));
		if (!role || !content) {
			free(m);
			return NULL;
		}
		if (strcmp(role, "system") == 0)
			m[i].role = LMDATA_SYSTEM;
		else if (strcmp(role, "user") == 0)
			m[i].role = LMDATA_USER;
		else if (strcmp(role, "assistant") == 0)
			m[i].role = LMDATA_ASSISTANT;
		else {
			free(m);
			return NULL;
		}
		m[i].content = content;
	}
	*n = (int)len;
	return m;
}

int gen_prompt_tokens(const struct tokenizer *tk, const char *tmpl, const char *sys_tmpl,
		      const char *prompt, const char *messages, int **ids, size_t *n)
{
	char *text = NULL;
	int rc = 0;
	*ids = NULL;
	*n = 0;
	if (messages) {
		json_t *root = json_loads(messages, 0, NULL);
		int nm = 0;
		struct lmdata_msg *m = root ? chat_parse(root, &nm) : NULL;
		if (m && !(text = lmdata_format_chat(tmpl, sys_tmpl, m, nm)))
			rc = -ENOMEM;
		else if (!m)
			rc = -EINVAL;
		free(m);
		json_decref(root);
	} else if (!(text = lmdata_format_prompt(tmpl, prompt))) {
		rc = -ENOMEM;
	}
	if (rc < 0)
		return rc;
	size_t cap = TOKENIZER_MAX_IDS(strlen(text)) + 1;
	if (!(*ids = malloc(cap * sizeof **ids))) {
		free(text);
		return -ENOMEM;
	}
	rc = tokenizer_encode(tk, text, true, false, *ids, cap - 1, n);
	free(text);
	if (rc < 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc < 0 ? rc : 0;
}

int gen_answers(struct gen_model *g, const char *prompt, const char *messages,
		const struct gen_params *p, struct gen_answer *out, char *err, size_t errlen)
{
	int bad;
	return gen_answers_batch(g, &prompt, &messages, &p->seed, 1, p, out, &bad, err, errlen);
}

/* Answer j of a generation (row j of g's buffers, stride max_new) as text,
 * after the prompt's last token; 0 or -1 with err set. */
static int answer_text(struct gen_model *g, const struct gen_params *p, int row, int max_new,
		       int last, struct gen_answer *a, char *err, size_t errlen)
{
	const int *tok = g->tokens + (size_t)row * max_new;
	int n = g->n_tokens[row];
	bool fin = n > 0 && (tok[n - 1] == INFER_EOS || tok[n - 1] == INFER_BOS);
	char *s = NULL;
	if (tokenizer_decode(&g->tk, last, tok, (size_t)(fin ? n - 1 : n), &s, NULL, err, errlen) < 0)
		return -1;
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
		lp += g->logprobs[(size_t)row * max_new + t];
	*a = (struct gen_answer){ .text = s, .n_tokens = n, .finished = fin, .logprob = lp };
	return 0;
}

int gen_answers_batch(struct gen_model *g, const char *const *prompts,
		      const char *const *messages, const uint64_t *seeds, int n,
		      const struct gen_params *p, struct gen_answer *out, int *bad, char *err,
		      size_t errlen)
{
	int T = g->cfg.seq_len, rc = 0, K = p->k;
	*bad = -1;
	if (K < 1 || K > g->max_k || p->max_tokens < 1) {
		snprintf(err, errlen, "k must be 1..%d and max_tokens positive", g->max_k);
		return -1;
	}
	if (n < 1 || n > g->batch) {
		snprintf(err, errlen, "%d prompts in one call: want 1..%d", n, g->batch);
		return -1;
	}
	int *ids[GEN_BATCH_PROMPTS] = { 0 };
	struct infer_prompt ips[GEN_BATCH_PROMPTS];
	struct gen_answer *ans = NULL;
	int made = 0;
	for (int i = 0; i < n; i++) {
		size_t n_prompt = 0;
		const char *msg = messages ? messages[i] : NULL;
		if (p->raw) { /* BOS + the bare text: a base model's view */
			size_t cap = TOKENIZER_MAX_IDS(strlen(prompts[i]));
			ids[i] = malloc(cap * sizeof *ids[i]);
			rc = ids[i] ? tokenizer_encode(&g->tk, prompts[i], true, false, ids[i], cap,
						       &n_prompt) : -ENOMEM;
		} else {
			rc = gen_prompt_tokens(&g->tk, g->template, g->system_template, prompts[i], msg,
					       &ids[i], &n_prompt);
		}
		/* the prompt must leave room for one new token */
		if (rc < 0 || n_prompt + 1 > (size_t)T) {
			snprintf(err, errlen, rc == -EINVAL ? "cannot read the conversation of the prompt"
					      : rc < 0      ? "cannot encode the prompt"
					      : "the prompt (%zu tokens) leaves no room in a context of %d",
				 n_prompt, T);
			*bad = i;
			rc = -1;
			goto out;
		}
		ips[i] = (struct infer_prompt){ ids[i], (int)n_prompt, seeds[i], 0, -1 };
	}
	struct infer_params ip;
	infer_params_default(&ip);
	ip.k = K;
	ip.max_new = p->max_tokens < T ? p->max_tokens : T;
	ip.temperature = p->temperature;
	ip.top_p = p->top_p;
	ip.top_k = p->top_k;
	/* EOS ends an answer; so does BOS (a base model's next document) */
	ip.stop_ids[0] = INFER_EOS;
	ip.stop_ids[1] = INFER_BOS;
	ip.n_stop = 2;
	if ((rc = infer_generate_batch(&g->inf, ips, n, &ip, g->tokens, g->n_tokens, g->logprobs,
				       err, errlen)) < 0)
		goto out;
	if (!(ans = calloc((size_t)n * K, sizeof *ans))) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
		goto out;
	}
	for (; made < n * K; made++) {
		const struct infer_prompt *pr = &ips[made / K];
		if ((rc = answer_text(g, p, made, ip.max_new, pr->tokens[pr->n - 1], &ans[made], err,
				      errlen)) < 0)
			goto out;
	}
	memcpy(out, ans, (size_t)n * K * sizeof *out);
	made = 0; /* taken over by out */
out:
	if (ans)
		gen_answers_release(ans, made);
	free(ans);
	for (int i = 0; i < n; i++)
		free(ids[i]);
	return rc < 0 ? -1 : 0;
}

void gen_answers_release(struct gen_answer *a, int k)
{
	for (int j = 0; j < k; j++) {
		free(a[j].text);
		a[j].text = NULL;
	}
}
