/*
 * model/lmdata.c — training rows from text and (prompt, response) pairs
 * (see lmdata.h).
 */
#include "model/lmdata.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *lmdata_format_prompt(const char *tmpl, const char *prompt)
{
	const char *at = strstr(tmpl, "{prompt}");
	size_t n = strlen(tmpl) + strlen(prompt) + 1;
	char *s = malloc(n);
	if (!s)
		return NULL;
	if (!at)
		snprintf(s, n, "%s%s", tmpl, prompt);
	else
		snprintf(s, n, "%.*s%s%s", (int)(at - tmpl), tmpl, prompt, at + 8);
	return s;
}

/* Encodes text (with BOS/EOS as asked) into a new array *ids of *n tokens. */
static int encode_new(const struct tokenizer *tk, const char *text, bool bos, bool eos,
		      int **ids, size_t *n)
{
	size_t cap = TOKENIZER_MAX_IDS(strlen(text));
	*ids = malloc(cap * sizeof(int));
	if (!*ids)
		return -ENOMEM;
	int rc = tokenizer_encode(tk, text, bos, eos, *ids, cap, n);
	if (rc < 0) {
		free(*ids);
		*ids = NULL;
	}
	return rc;
}

int lmdata_text_stream(const struct tokenizer *tk, const char *corpus, int **ids, size_t *n)
{
	size_t cap = 0, len = 0;
	int *out = NULL;
	const char *p = corpus;
	*ids = NULL;
	*n = 0;
	while (*p) {
		while (*p == '\n')
			p++;
		if (!*p)
			break;
		/* a text runs to the next blank line */
		const char *end = strstr(p, "\n\n");
		size_t tl = end ? (size_t)(end - p) : strlen(p), used = tl;
		while (tl > 0 && (p[tl - 1] == '\n' || p[tl - 1] == '\r'))
			tl--; /* the line break that ends the file is not part of the text */
		char *text = malloc(tl + 1);
		if (!text)
			goto nomem;
		memcpy(text, p, tl);
		text[tl] = '\0';
		size_t need = len + TOKENIZER_MAX_IDS(tl);
		if (need > cap) {
			size_t nc = need * 2;
			int *q = realloc(out, nc * sizeof(int));
			if (!q) {
				free(text);
				goto nomem;
			}
			out = q;
			cap = nc;
		}
		size_t got = 0;
		int rc = tokenizer_encode(tk, text, true, true, out + len, cap - len, &got);
		free(text);
		if (rc < 0) {
			free(out);
			return rc;
		}
		len += got;
		p += used;
	}
	*ids = out;
	*n = len;
	return 0;
nomem:
	free(out);
	return -ENOMEM;
}

int lmdata_sft_row(const struct tokenizer *tk, const char *tmpl, const char *prompt,
		   const char *response, int T, int *tokens, int *targets, float *weights)
{
	if (T <= 0)
		return -EINVAL;
	char *ptext = lmdata_format_prompt(tmpl, prompt);
	if (!ptext)
		return -ENOMEM;
	size_t fl = strlen(ptext) + strlen(response) + 2;
	char *full = malloc(fl);
	if (!full) {
		free(ptext);
		return -ENOMEM;
	}
	snprintf(full, fl, "%s %s", ptext, response);
	int *pids = NULL, *ids = NULL;
	size_t np = 0, nf = 0;
	int rc = encode_new(tk, ptext, true, false, &pids, &np);
	if (rc >= 0)
		rc = encode_new(tk, full, true, true, &ids, &nf);
	free(ptext);
	free(full);
	if (rc < 0) {
		free(pids);
		free(ids);
		return rc;
	}
	size_t k = 0;
	while (k < np && k < nf && pids[k] == ids[k])
		k++;
	/* ids[k..nf) is the response (and EOS): target t predicts ids[t+1] */
	int weighted = 0;
	for (int t = 0; t < T; t++) {
		tokens[t] = (size_t)t < nf ? ids[t] : 0;
		targets[t] = (size_t)(t + 1) < nf ? ids[t + 1] : -1;
		bool resp = (size_t)(t + 1) >= k && (size_t)(t + 1) < nf && k > 0;
		weights[t] = resp ? 1.0f : 0.0f;
		weighted += resp;
	}
	free(pids);
	free(ids);
	return weighted;
}
