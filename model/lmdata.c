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

/* Appends s (n bytes) to the growing string *buf (*len used, *cap allocated):
 * 0, or -1 when out of memory (*buf freed). */
static int cat(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = (*len + n + 1) * 2;
		char *p = realloc(*buf, nc);
		if (!p) {
			free(*buf);
			*buf = NULL;
			return -1;
		}
		*buf = p;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* Appends tmpl with its first placeholder ph replaced by s (s appended when
 * tmpl has none). */
static int cat_filled(char **buf, size_t *len, size_t *cap, const char *tmpl, const char *ph,
		      const char *s)
{
	const char *at = strstr(tmpl, ph);
	size_t pre = at ? (size_t)(at - tmpl) : strlen(tmpl);
	const char *post = at ? at + strlen(ph) : "";
	return cat(buf, len, cap, tmpl, pre) < 0 || cat(buf, len, cap, s, strlen(s)) < 0 ||
	       cat(buf, len, cap, post, strlen(post)) < 0 ? -1 : 0;
}

char *lmdata_format_chat(const char *tmpl, const char *sys_tmpl, const struct lmdata_msg *m,
			 int n)
{
	size_t len = 0, cap = 0;
	char *s = NULL;
	if (cat(&s, &len, &cap, "", 0) < 0)
		return NULL;
	for (int i = 0; i < n; i++) {
		int rc;
		switch (m[i].role) {
		case LMDATA_SYSTEM:
			rc = cat_filled(&s, &len, &cap, sys_tmpl ? sys_tmpl : LMDATA_SYSTEM_TEMPLATE,
					"{system}", m[i].content);
			break;
		case LMDATA_USER:
			rc = cat_filled(&s, &len, &cap, tmpl, "{prompt}", m[i].content);
			break;
		default:
			rc = cat(&s, &len, &cap, " ", 1) < 0 ||
			     cat(&s, &len, &cap, m[i].content, strlen(m[i].content)) < 0 ||
			     cat(&s, &len, &cap, "\n", 1) < 0 ? -1 : 0;
		}
		if (rc < 0)
			return NULL; /* cat freed s */
	}
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

void lmdata_texts_init(struct lmdata_texts *it, const char *corpus)
{
	it->p = corpus;
}

bool lmdata_texts_next(struct lmdata_texts *it, const char **text, size_t *len)
{
	for (;;) {
		const char *p = it->p;
		while (*p == '\n')
			p++;
		if (!*p) {
			it->p = p;
			return false;
		}
		const char *end = strstr(p, "\n\n");
		size_t used = end ? (size_t)(end - p) : strlen(p), tl = used;
		while (tl > 0 && (p[tl - 1] == '\n' || p[tl - 1] == '\r'))
			tl--; /* the line break that ends the file is not part of the text */
		it->p = p + used;
		if (tl > 0) { /* "\r\n\n" is no text */
			*text = p;
			*len = tl;
			return true;
		}
	}
}

size_t lmdata_texts_count(const char *corpus)
{
	struct lmdata_texts it;
	const char *t;
	size_t len, n = 0;
	lmdata_texts_init(&it, corpus);
	while (lmdata_texts_next(&it, &t, &len))
		n++;
	return n;
}

bool lmdata_texts_spread(size_t r, size_t want, size_t n)
{
	return n > 0 && r < n && r * want / n != (r + 1) * want / n;
}

int lmdata_text_stream(const struct tokenizer *tk, const char *corpus, int **ids, size_t *n)
{
	size_t cap = 0, len = 0, tl;
	int *out = NULL;
	const char *t;
	struct lmdata_texts it;
	*ids = NULL;
	*n = 0;
	lmdata_texts_init(&it, corpus);
	while (lmdata_texts_next(&it, &t, &tl)) {
		char *text = strndup(t, tl);
		if (!text)
			goto nomem;
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

/* ---- a training set ------------------------------------------------------ */

void lmdata_set_init(struct lmdata_set *d, int T)
{
	memset(d, 0, sizeof *d);
	d->T = T;
}

void lmdata_set_release(struct lmdata_set *d)
{
	if (!d)
		return;
	int T = d->T;
	free(d->stream);
	free(d->rows);
	free(d->tgts);
	free(d->wts);
	lmdata_set_init(d, T);
}

int lmdata_set_text(struct lmdata_set *d, const struct tokenizer *tk, const char *corpus)
{
	if (d->sft || d->stream)
		return -EINVAL;
	int rc = lmdata_text_stream(tk, corpus, &d->stream, &d->n_stream);
	if (rc < 0)
		return rc;
	d->n_target = d->n_stream;
	return 0;
}

/* Room for one more row. */
static int set_grow(struct lmdata_set *d)
{
	size_t T = (size_t)d->T;
	if (d->n_rows == d->cap_rows) {
		size_t nc = d->cap_rows ? d->cap_rows * 2 : 256;
		int *r = realloc(d->rows, nc * T * sizeof(int));
		if (r)
			d->rows = r;
		int *g = realloc(d->tgts, nc * T * sizeof(int));
		if (g)
			d->tgts = g;
		float *w = realloc(d->wts, nc * T * sizeof(float));
		if (w)
			d->wts = w;
		if (!r || !g || !w)
			return -ENOMEM;
		d->cap_rows = nc;
	}
	return 0;
}

int lmdata_set_add_sft(struct lmdata_set *d, const struct tokenizer *tk, const char *tmpl,
		       const char *prompt, const char *response)
{
	size_t T = (size_t)d->T;
	if (d->stream || T == 0)
		return -EINVAL;
	d->sft = true;
	int rc = set_grow(d);
	if (rc < 0)
		return rc;
	int n = lmdata_sft_row(tk, tmpl, prompt, response, d->T, d->rows + d->n_rows * T,
			       d->tgts + d->n_rows * T, d->wts + d->n_rows * T);
	if (n < 0)
		return n;
	if (n == 0) {
		d->skipped++;
		return 0;
	}
	d->n_target += (size_t)n;
	d->n_rows++;
	return 1;
}

int lmdata_set_add_text_row(struct lmdata_set *d, const struct tokenizer *tk, const char *text,
			    float weight)
{
	size_t T = (size_t)d->T;
	if (d->stream || T == 0 || !(weight > 0.0f))
		return -EINVAL;
	d->sft = true;
	if (!*text)
		return 0;
	int rc = set_grow(d);
	if (rc < 0)
		return rc;
	int *ids = NULL;
	size_t n = 0;
	rc = encode_new(tk, text, true, true, &ids, &n);
	if (rc < 0)
		return rc;
	int *tok = d->rows + d->n_rows * T, *tg = d->tgts + d->n_rows * T;
	float *w = d->wts + d->n_rows * T;
	for (size_t t = 0; t < T; t++) {
		tok[t] = t < n ? ids[t] : 0;
		tg[t] = t + 1 < n ? ids[t + 1] : -1;
		w[t] = t + 1 < n ? weight : 0.0f;
		d->n_target += t + 1 < n;
	}
	free(ids);
	d->n_rows++;
	return 1;
}

bool lmdata_set_usable(const struct lmdata_set *d)
{
	return d->sft ? d->n_rows > 0 : d->stream && d->n_stream >= (size_t)d->T + 1;
}

uint64_t lmdata_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	uint64_t x = *s;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	return x ^ (x >> 33);
}

void lmdata_set_batch(const struct lmdata_set *d, int B, uint64_t *rng, int *tok, int *tg,
		      float *w)
{
	int T = d->T;
	for (int b = 0; b < B; b++) {
		if (!d->sft) {
			size_t span = d->n_stream - (size_t)T - 1;
			size_t off = span ? lmdata_rand(rng) % (span + 1) : 0;
			for (int t = 0; t < T; t++) {
				tok[b * T + t] = d->stream[off + t];
				tg[b * T + t] = d->stream[off + t + 1];
				w[b * T + t] = 1.0f;
			}
		} else {
			size_t r = lmdata_rand(rng) % d->n_rows;
			memcpy(tok + b * T, d->rows + r * T, T * sizeof(int));
			memcpy(tg + b * T, d->tgts + r * T, T * sizeof(int));
			memcpy(w + b * T, d->wts + r * T, T * sizeof(float));
		}
	}
}
