/*
 * tests/unit/test_lmdata.c — training rows of model/lmdata.c: the SFT mask
 * covers exactly the response and its EOS, inputs and targets are the encoding
 * of the whole example shifted by one, truncation, and the text stream.  The
 * oracle is the tokenizer itself (encoding the pieces directly) and decoding
 * the weighted targets back to the response text.  With RLHFD_SHARED (or
 * ../shared) holding llama2-tokenizer.bin, the same on the real Llama 2
 * vocabulary.
 */
#include "model/lmdata.h"
#include "tests/test.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static const char *corpus =
	"User: What is the capital of France?\nAssistant: The capital of France is Paris.\n\n"
	"User: What is the capital of Spain?\nAssistant: The capital of Spain is Madrid.\n\n"
	"The capital of Peru is Lima. Lima is a big city.\n\n"
	"User: Tell me a poem.\nAssistant: Roses are red, the sky is blue.\n";

static const char *tmpl = "User: {prompt}\nAssistant:";

static int trained(struct tokenizer *tk)
{
	char err[256];
	tokenizer_init(tk);
	int rc = tokenizer_train(tk, corpus, strlen(corpus), 330, NULL, NULL, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	return rc;
}

static void test_format_prompt(void)
{
	char *s = lmdata_format_prompt(tmpl, "Hi there");
	CHECK_STR_EQ(s, "User: Hi there\nAssistant:");
	free(s);
	s = lmdata_format_prompt("Q: ", "why?");
	CHECK_STR_EQ(s, "Q: why?");
	free(s);
	s = lmdata_format_prompt("[{prompt}] ({prompt})", "x");
	CHECK_STR_EQ(s, "[x] ({prompt})"); /* the first placeholder only */
	free(s);
}

/* Checks one row against the tokenizer: returns the weighted count. */
static int check_row(const struct tokenizer *tk, const char *prompt, const char *response, int T)
{
	int *tok = malloc(T * sizeof(int)), *tg = malloc(T * sizeof(int));
	float *w = malloc(T * sizeof(float));
	int n = lmdata_sft_row(tk, tmpl, prompt, response, T, tok, tg, w);
	/* the whole example, encoded directly */
	char *p = lmdata_format_prompt(tmpl, prompt);
	size_t fl = strlen(p) + strlen(response) + 2;
	char *full = malloc(fl);
	snprintf(full, fl, "%s %s", p, response);
	size_t cap = TOKENIZER_MAX_IDS(fl), nf = 0, np = 0;
	int *ids = malloc(cap * sizeof(int)), *pids = malloc(cap * sizeof(int));
	CHECK_INT_EQ(tokenizer_encode(tk, full, true, true, ids, cap, &nf), 0);
	CHECK_INT_EQ(tokenizer_encode(tk, p, true, false, pids, cap, &np), 0);
	CHECK_INT_EQ(tok[0], TOKENIZER_BOS);
	int weighted = 0, first_w = -1, last_w = -1;
	for (int t = 0; t < T; t++) {
		CHECK_INT_EQ(tok[t], (size_t)t < nf ? ids[t] : 0);
		CHECK_INT_EQ(tg[t], (size_t)(t + 1) < nf ? ids[t + 1] : -1);
		CHECK(w[t] == 0.0f || w[t] == 1.0f);
		if (w[t] > 0) {
			weighted++;
			if (first_w < 0) first_w = t;
			last_w = t;
			CHECK(tg[t] >= 0);
		}
	}
	CHECK_INT_EQ(n, weighted);
	if (weighted > 0) {
		/* weighted targets are one contiguous run */
		CHECK_INT_EQ(last_w - first_w + 1, weighted);
		/* before it, the targets spell the prompt's tokens */
		for (int t = 0; t < first_w; t++)
			CHECK((size_t)(t + 1) < np && tg[t] == pids[t + 1]);
		if ((size_t)T + 1 >= nf) {
			/* the whole response fits: it ends with EOS and decodes to " response" */
			CHECK_INT_EQ(tg[last_w], TOKENIZER_EOS);
			char *text = NULL;
			CHECK_INT_EQ(tokenizer_decode(tk, tok[first_w], tg + first_w, weighted - 1, &text,
						      NULL, NULL, 0), 0);
			size_t rl = strlen(response);
			CHECK_MSG(text && strlen(text) >= rl &&
				  strcmp(text + strlen(text) - rl, response) == 0,
				  "weighted text '%s'", text ? text : "(null)");
			free(text);
		}
	}
	free(tok); free(tg); free(w); free(p); free(full); free(ids); free(pids);
	return n;
}

static void test_sft_row(void)
{
	struct tokenizer tk;
	REQUIRE(trained(&tk) == 0);
	CHECK(check_row(&tk, "What is the capital of France?", "The capital of France is Paris.", 64) > 3);
	CHECK(check_row(&tk, "Tell me a poem.", "Roses are red, the sky is blue.", 80) > 3);
	/* a response with characters the vocabulary never saw (byte tokens) */
	CHECK(check_row(&tk, "Say something odd.", "Zürich ~ 42!", 64) > 3);
	tokenizer_release(&tk);
}

static void test_sft_truncation(void)
{
	struct tokenizer tk;
	REQUIRE(trained(&tk) == 0);
	const char *pr = "What is the capital of France?", *re = "The capital of France is Paris.";
	int full = check_row(&tk, pr, re, 64);
	/* a row that cuts the response 3 tokens in: fewer weighted targets */
	char *p = lmdata_format_prompt(tmpl, pr);
	int ids[128];
	size_t np = 0;
	CHECK_INT_EQ(tokenizer_encode(&tk, p, true, false, ids, 128, &np), 0);
	free(p);
	int cut = check_row(&tk, pr, re, (int)np + 2);
	CHECK_MSG(cut > 0 && cut <= 3 && cut < full, "cut %d of %d", cut, full);
	/* a row the prompt fills: nothing to learn */
	int *tok = malloc(4 * sizeof(int)), *tg = malloc(4 * sizeof(int));
	float *w = malloc(4 * sizeof(float));
	CHECK_INT_EQ(lmdata_sft_row(&tk, tmpl, pr, re, 4, tok, tg, w), 0);
	CHECK_INT_EQ(lmdata_sft_row(&tk, tmpl, pr, re, 0, tok, tg, w), -EINVAL);
	free(tok); free(tg); free(w);
	tokenizer_release(&tk);
}

/* The texts of a corpus: blank lines separate, runs of them make no empty
 * text, the line breaks that end a text are not part of it. */
static void test_texts(void)
{
	const char *corpus = "\n\nA\n\n\nB b\r\n\n\r\n\nC\nc\n";
	const char *want[] = { "A", "B b", "C\nc" }, *t;
	size_t len, n = 0;
	struct lmdata_texts it;
	lmdata_texts_init(&it, corpus);
	while (lmdata_texts_next(&it, &t, &len)) {
		REQUIRE(n < 3);
		CHECK_INT_EQ(len, strlen(want[n]));
		CHECK(strncmp(t, want[n], len) == 0);
		n++;
	}
	CHECK_INT_EQ(n, 3);
	CHECK(!lmdata_texts_next(&it, &t, &len)); /* stays at the end */
	CHECK_INT_EQ(lmdata_texts_count(corpus), 3);
	CHECK_INT_EQ(lmdata_texts_count(""), 0);
	CHECK_INT_EQ(lmdata_texts_count("\n\n\n\r\n\n"), 0);
	CHECK_INT_EQ(lmdata_texts_count("one text, no line break"), 1);
}

/* want of n texts spread evenly: 3 of 10 are 3, 6, 9; every (n, want) takes
 * exactly want, the last text among them, and no two neighbours unless
 * want > n / 2. */
static void test_texts_spread(void)
{
	int got[10], k = 0;
	for (size_t r = 0; r < 10; r++)
		if (lmdata_texts_spread(r, 3, 10))
			got[k++] = (int)r;
	CHECK_INT_EQ(k, 3);
	CHECK_INT_EQ(got[0], 3);
	CHECK_INT_EQ(got[1], 6);
	CHECK_INT_EQ(got[2], 9);
	for (size_t n = 1; n <= 40; n++)
		for (size_t w = 0; w <= n; w++) {
			size_t taken = 0, prev = (size_t)-1;
			bool adjacent = false;
			for (size_t r = 0; r < n; r++)
				if (lmdata_texts_spread(r, w, n)) {
					adjacent |= prev != (size_t)-1 && r == prev + 1;
					prev = r;
					taken++;
				}
			CHECK_INT_EQ(taken, w);
			if (w > 0)
				CHECK(lmdata_texts_spread(n - 1, w, n));
			if (2 * w <= n)
				CHECK(!adjacent);
		}
	CHECK(!lmdata_texts_spread(0, 1, 0));
	CHECK(!lmdata_texts_spread(5, 5, 5));
}

static void test_text_stream(void)
{
	struct tokenizer tk;
	REQUIRE(trained(&tk) == 0);
	const char *a = "The capital of Peru is Lima.", *b = "Lima is a big city.\nIt is old.";
	char text[256];
	snprintf(text, sizeof text, "\n%s\n\n\n%s\n", a, b);
	int *ids = NULL;
	size_t n = 0;
	CHECK_INT_EQ(lmdata_text_stream(&tk, text, &ids, &n), 0);
	int want[256];
	size_t na = 0, nb = 0;
	CHECK_INT_EQ(tokenizer_encode(&tk, a, true, true, want, 128, &na), 0);
	/* the second text keeps its inner line break and loses the trailing one */
	CHECK_INT_EQ(tokenizer_encode(&tk, b, true, true, want + na, 128, &nb), 0);
	CHECK_INT_EQ(n, na + nb);
	for (size_t i = 0; i < n && i < na + nb; i++)
		CHECK_INT_EQ(ids[i], want[i]);
	free(ids);
	CHECK_INT_EQ(lmdata_text_stream(&tk, "\n\n\n", &ids, &n), 0);
	CHECK_INT_EQ(n, 0);
	free(ids);
	tokenizer_release(&tk);
}

/* Where the shared Llama 2 vocabulary is, into path; false when absent. */
static bool llama2_vocab_present(char *path, size_t n)
{
	const char *dir = getenv("RLHFD_SHARED");
	snprintf(path, n, "%s/data/llama2-tokenizer.bin", dir && *dir ? dir : "../shared");
	FILE *f = fopen(path, "rb");
	if (f)
		fclose(f);
	return f != NULL;
}

/* The real Llama 2 vocabulary, when the shared data is there. */
static void test_llama2_vocab(void)
{
	char path[1024], err[256];
	struct tokenizer tk;
	REQUIRE(llama2_vocab_present(path, sizeof path));
	tokenizer_init(&tk);
	REQUIRE_MSG(tokenizer_load(&tk, path, 32000, err, sizeof err) == 0, "%s", err);
	CHECK(check_row(&tk, "What is the capital of France?", "The capital of France is Paris.", 48) > 3);
	CHECK(check_row(&tk, "How do I apply for a job?", "Write a short CV, then send it with a letter.", 64) > 5);
	tokenizer_release(&tk);
}

int main(void)
{
	RUN(test_format_prompt);
	RUN(test_sft_row);
	RUN(test_sft_truncation);
	RUN(test_texts);
	RUN(test_texts_spread);
	RUN(test_text_stream);
	char path[1024];
	if (llama2_vocab_present(path, sizeof path))
		RUN(test_llama2_vocab);
	else
		TEST_SKIP_DEP(test_llama2_vocab, "no llama2-tokenizer.bin (set RLHFD_SHARED)");
	TEST_MAIN_END();
}
