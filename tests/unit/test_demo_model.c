/*
 * tests/unit/test_demo_model.c — the demo model pipeline on a tiny
 * configuration (a small corpus, a few steps, seconds): every file is written;
 * the corpora are what the demo world's generators produce; the tokenizer has
 * the asked size and round-trips the corpus; both checkpoints load with the
 * asked shape and the sidecar metadata (kind, template, tokenizer, parent);
 * training moved the weights (random init -> base -> sft) and pre-training beat
 * the uniform predictor; the same seed gives the same bytes, another seed other
 * ones; gen loads the result and answers deterministically.
 * The full demo model is never trained here.
 */
#include "model/checkpoint.h"
#include "model/lmdata.h"
#include "model/threads.h"
#include "model/tokenizer.h"
#include "server/demo/demo_model.h"
#include "server/demo/demo_world.h"
#include "server/worker/gen.h"
#include "tests/test.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void tiny_config(struct demo_model_config *c)
{
	demo_model_config_default(c);
	c->seed = 77;
	c->pretrain_bytes = 40000;
	c->sft_pairs = 60;
	c->vocab_size = 420;
	c->model = (struct llama_config){ .dim = 16, .hidden_dim = 32, .n_layers = 2,
					  .n_heads = 2, .n_kv_heads = 1, .seq_len = 64,
					  .shared_classifier = true };
	c->pretrain = (struct demo_model_phase){ .steps = 40, .batch = 4, .accum = 1, .seq = 64,
						 .lr = 1e-2f, .min_lr = 1e-3f, .warmup = 2,
						 .weight_decay = 0.1f };
	c->sft = (struct demo_model_phase){ .steps = 6, .batch = 4, .accum = 1, .seq = 64,
					    .lr = 1e-3f, .min_lr = 1e-4f, .warmup = 1,
					    .weight_decay = 0.1f };
	c->threads = 1;
	c->progress = NULL;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	if (b) {
		b[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
	return b;
}

static bool same_file(const char *d1, const char *d2, const char *name)
{
	size_t n1 = 0, n2 = 0;
	char *a = slurp(d1, name, &n1), *b = slurp(d2, name, &n2);
	bool same = a && b && n1 == n2 && !memcmp(a, b, n1);
	free(a);
	free(b);
	return same;
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[512];
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static char dir_a[64], dir_b[64], dir_c[64];
static bool built;

static void test_build_writes_everything(void)
{
	struct demo_model_config c;
	struct demo_model_stats st;
	char err[512];
	tiny_config(&c);
	CHECK(!demo_model_ready(dir_a));
	int rc = demo_model_build(dir_a, &c, &st, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	built = rc == 0;
	CHECK(demo_model_ready(dir_a));
	static const char *const files[] = { DEMO_MODEL_PRETRAIN, DEMO_MODEL_SFT_DATA,
					     DEMO_MODEL_TOKENIZER, DEMO_MODEL_BASE,
					     DEMO_MODEL_SFT, DEMO_MODEL_MANIFEST };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char p[512];
		struct stat sb;
		snprintf(p, sizeof p, "%s/%s", dir_a, files[i]);
		CHECK_MSG(stat(p, &sb) == 0 && sb.st_size > 0, "missing %s", files[i]);
	}
	/* parameter count of the shape, by hand: embedding + per layer (2 norms,
	 * wq, wk, wv, wo, w1, w2, w3) + final norm */
	size_t V = (size_t)st.vocab_size, D = 16, H = 32, KV = 8;
	CHECK_INT_EQ(st.n_params, V * D + 2 * (2 * D + D * D + 2 * KV * D + D * D + 3 * D * H) + D);
	CHECK(st.sft_rows + st.sft_skipped == 60);
	/* the uniform predictor's loss is ln V: pre-training did better */
	CHECK_MSG(st.pretrain_loss < log((double)st.vocab_size) - 0.5, "pretrain loss %g",
		  st.pretrain_loss);
	CHECK(st.sft_loss > 0);
	/* a missing piece: not ready */
	char p[512], q[512];
	snprintf(p, sizeof p, "%s/%s", dir_a, DEMO_MODEL_SFT);
	snprintf(q, sizeof q, "%s/moved", dir_a);
	CHECK(rename(p, q) == 0);
	CHECK(!demo_model_ready(dir_a));
	CHECK(rename(q, p) == 0);
	CHECK(demo_model_ready(dir_a));
}

static void test_corpora_are_the_generators(void)
{
	REQUIRE_MSG(built, "the demo model build failed (see test_build)");
	size_t n = 0, m = 0;
	char *txt = slurp(dir_a, DEMO_MODEL_PRETRAIN, &n);
	char *gen = demo_pretrain_text(77, 40000, &m);
	CHECK(txt && gen && n == m && !memcmp(txt, gen, n));
	free(txt);
	free(gen);
	/* one {"prompt","response"} line per generated pair, in order */
	struct demo_pairs pairs;
	CHECK_INT_EQ(demo_sft_pairs(&pairs, 77, 60), 0);
	char *jl = slurp(dir_a, DEMO_MODEL_SFT_DATA, NULL);
	int line = 0;
	for (char *s = jl, *nl; s && *s; s = nl + 1, line++) {
		nl = strchr(s, '\n');
		if (!nl)
			break;
		*nl = '\0';
		json_t *o = json_loads(s, 0, NULL);
		CHECK(o && line < pairs.n);
		if (o && line < pairs.n) {
			CHECK_STR_EQ(json_string_value(json_object_get(o, "prompt")), pairs.v[line].prompt);
			CHECK_STR_EQ(json_string_value(json_object_get(o, "response")),
				     pairs.v[line].response);
		}
		json_decref(o);
	}
	CHECK_INT_EQ(line, 60);
	free(jl);
	demo_pairs_release(&pairs);
}

static void test_tokenizer_round_trips(void)
{
	REQUIRE_MSG(built, "the demo model build failed (see test_build)");
	char p[512], err[256];
	struct tokenizer tk;
	tokenizer_init(&tk);
	snprintf(p, sizeof p, "%s/%s", dir_a, DEMO_MODEL_TOKENIZER);
	CHECK_INT_EQ(tokenizer_load(&tk, p, 0, err, sizeof err), 0);
	CHECK_INT_EQ(tk.vocab_size, 420);
	/* every document of the corpus and a few texts it never saw */
	char *txt = slurp(dir_a, DEMO_MODEL_PRETRAIN, NULL);
	const char *extra[] = { "User: What is the capital of France?\nAssistant: Paris.",
				"Zürich ~ {odd} text 42!" };
	int docs = 0, bad = 0;
	size_t bytes = 0, tokens = 0;
	for (char *s = txt; s && *s && docs < 200;) {
		char *end = strstr(s, "\n\n");
		if (end)
			*end = '\0';
		size_t cap = TOKENIZER_MAX_IDS(strlen(s)), n = 0;
		int *ids = malloc(cap * sizeof(int));
		char *back = NULL;
		if (tokenizer_encode(&tk, s, true, false, ids, cap, &n) < 0 ||
		    tokenizer_decode(&tk, TOKENIZER_BOS, ids + 1, n - 1, &back, NULL, err,
				     sizeof err) < 0 ||
		    strcmp(back, s))
			bad++;
		bytes += strlen(s);
		tokens += n - 1;
		free(ids);
		free(back);
		docs++;
		s = end ? end + 2 : s + strlen(s);
	}
	CHECK_INT_EQ(bad, 0);
	CHECK(docs > 20);
	/* the merges compress: clearly fewer tokens than bytes */
	CHECK_MSG(tokens < bytes * 3 / 4, "%zu tokens for %zu bytes", tokens, bytes);
	for (int i = 0; i < 2; i++) {
		size_t cap = TOKENIZER_MAX_IDS(strlen(extra[i])), n = 0;
		int *ids = malloc(cap * sizeof(int));
		char *back = NULL;
		CHECK_INT_EQ(tokenizer_encode(&tk, extra[i], true, false, ids, cap, &n), 0);
		CHECK_INT_EQ(tokenizer_decode(&tk, TOKENIZER_BOS, ids + 1, n - 1, &back, NULL, err,
					      sizeof err), 0);
		CHECK_STR_EQ(back, extra[i]);
		free(ids);
		free(back);
	}
	free(txt);
	tokenizer_release(&tk);
}

/* Loads dir/name and checks shape and metadata; returns the params. */
static float *check_model(const char *name, const char *kind, const char *parent)
{
	char p[512], err[256];
	struct llama_config c;
	float *params = NULL;
	struct ckpt_state st;
	ckpt_state_init(&st);
	snprintf(p, sizeof p, "%s/%s", dir_a, name);
	CHECK_MSG(ckpt_load_model(p, &c, &params, &st, err, sizeof err) == 0, "%s", err);
	CHECK_INT_EQ(c.dim, 16);
	CHECK_INT_EQ(c.hidden_dim, 32);
	CHECK_INT_EQ(c.n_layers, 2);
	CHECK_INT_EQ(c.n_heads, 2);
	CHECK_INT_EQ(c.n_kv_heads, 1);
	CHECK_INT_EQ(c.vocab_size, 420);
	CHECK_INT_EQ(c.seq_len, 64);
	CHECK(c.shared_classifier);
	CHECK(!st.has_train); /* weights only */
	json_t *m = st.meta ? json_loads(st.meta, 0, NULL) : NULL;
	CHECK(m != NULL);
	CHECK_STR_EQ(json_string_value(json_object_get(m, "kind")), kind);
	CHECK_STR_EQ(json_string_value(json_object_get(m, "template")),
		     "User: {prompt}\nAssistant:");
	CHECK_STR_EQ(json_string_value(json_object_get(m, "tokenizer")), "tokenizer.bin");
	CHECK_INT_EQ(json_integer_value(json_object_get(m, "bos")), 1);
	CHECK_INT_EQ(json_integer_value(json_object_get(m, "eos")), 2);
	if (parent)
		CHECK_STR_EQ(json_string_value(json_object_get(m, "parent")), parent);
	else
		CHECK(json_object_get(m, "parent") == NULL);
	json_decref(m);
	ckpt_state_release(&st);
	return params;
}

static void test_checkpoints(void)
{
	REQUIRE_MSG(built, "the demo model build failed (see test_build)");
	float *base = check_model(DEMO_MODEL_BASE, "base", NULL);
	float *sft = check_model(DEMO_MODEL_SFT, "sft", DEMO_MODEL_BASE);
	struct llama_config c = { .dim = 16, .hidden_dim = 32, .n_layers = 2, .n_heads = 2,
				  .n_kv_heads = 1, .vocab_size = 420, .seq_len = 64,
				  .shared_classifier = true };
	size_t n = llama_params_count_llama2c(&c);
	float *init = malloc(llama_params_count(&c) * sizeof(float));
	llama_params_init_random(&c, init, 77);
	/* training moved every step's weights: init != base != sft */
	CHECK(base && sft && memcmp(base, init, n * sizeof(float)));
	CHECK(base && sft && memcmp(base, sft, n * sizeof(float)));
	free(init);
	free(base);
	free(sft);
	/* the manifest names the files and the shape */
	char *man = slurp(dir_a, DEMO_MODEL_MANIFEST, NULL);
	json_t *m = man ? json_loads(man, 0, NULL) : NULL;
	CHECK(m != NULL);
	CHECK_INT_EQ(json_integer_value(json_object_get(m, "seed")), 77);
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(m, "model"), "vocab_size")),
		     420);
	CHECK_INT_EQ(json_integer_value(json_object_get(m, "params")), n);
	CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(m, "files"), "sft")),
		     DEMO_MODEL_SFT);
	json_decref(m);
	free(man);
}

static void test_deterministic(void)
{
	REQUIRE_MSG(built, "the demo model build failed (see test_build)");
	struct demo_model_config c;
	char err[512];
	tiny_config(&c);
	CHECK_MSG(demo_model_build(dir_b, &c, NULL, err, sizeof err) == 0, "%s", err);
	static const char *const files[] = {
		DEMO_MODEL_PRETRAIN, DEMO_MODEL_SFT_DATA, DEMO_MODEL_TOKENIZER, DEMO_MODEL_BASE,
		DEMO_MODEL_BASE CKPT_SIDECAR_SUFFIX, DEMO_MODEL_SFT,
		DEMO_MODEL_SFT CKPT_SIDECAR_SUFFIX, DEMO_MODEL_MANIFEST
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		CHECK_MSG(same_file(dir_a, dir_b, files[i]), "%s differs between two builds",
			  files[i]);
	/* another seed: other corpora, other weights */
	c.seed = 78;
	CHECK_MSG(demo_model_build(dir_c, &c, NULL, err, sizeof err) == 0, "%s", err);
	CHECK(!same_file(dir_a, dir_c, DEMO_MODEL_PRETRAIN));
	CHECK(!same_file(dir_a, dir_c, DEMO_MODEL_BASE));
	CHECK(!same_file(dir_a, dir_c, DEMO_MODEL_SFT));
}

static void test_bad_config(void)
{
	struct demo_model_config c;
	char err[512] = "";
	tiny_config(&c);
	c.sft.seq = 65; /* longer than the context */
	CHECK(demo_model_build(dir_c, &c, NULL, err, sizeof err) < 0);
	CHECK(err[0] != '\0');
	tiny_config(&c);
	c.vocab_size = 100; /* under the 259 base entries */
	CHECK(demo_model_build(dir_c, &c, NULL, err, sizeof err) < 0);
}

static void test_gen_answers(void)
{
	REQUIRE_MSG(built, "the demo model build failed (see test_build)");
	char p[512], err[256];
	struct gen_model g;
	snprintf(p, sizeof p, "%s/%s", dir_a, DEMO_MODEL_SFT);
	CHECK_MSG(gen_model_load(&g, p, NULL, 4, err, sizeof err) == 0, "%s", err);
	if (!g.params)
		return;
	CHECK_STR_EQ(g.template, "User: {prompt}\nAssistant:");
	CHECK_STR_EQ(g.kind, "sft");
	struct gen_params gp;
	gen_params_default(&gp);
	gp.k = 4;
	gp.max_tokens = 12;
	gp.seed = 5;
	struct gen_answer a[4], b[4], one;
	CHECK_INT_EQ(gen_answers(&g, "What is the capital of France?", NULL, &gp, a, err, sizeof err), 0);
	CHECK_INT_EQ(gen_answers(&g, "What is the capital of France?", NULL, &gp, b, err, sizeof err), 0);
	for (int j = 0; j < 4; j++) {
		CHECK_STR_EQ(a[j].text, b[j].text);
		CHECK(a[j].n_tokens >= 1 && a[j].n_tokens <= 12);
		CHECK(a[j].logprob <= 0.0f);
		CHECK(a[j].finished || a[j].n_tokens == 12);
	}
	/* answer 0 of a batch is the answer of a batch of one (RNG stream 0) */
	gp.k = 1;
	CHECK_INT_EQ(gen_answers(&g, "What is the capital of France?", NULL, &gp, &one, err, sizeof err), 0);
	CHECK_STR_EQ(one.text, a[0].text);
	gen_answers_release(&one, 1);
	gen_answers_release(a, 4);
	gen_answers_release(b, 4);
	/* a prompt longer than the context is refused, not cut */
	char longp[2048];
	memset(longp, 'x', sizeof longp - 1);
	for (size_t i = 7; i < sizeof longp - 1; i += 8)
		longp[i] = ' ';
	longp[sizeof longp - 1] = '\0';
	CHECK(gen_answers(&g, longp, NULL, &gp, &one, err, sizeof err) < 0);
	gen_model_release(&g);
}

int main(void)
{
	threads_set(1);
	snprintf(dir_a, sizeof dir_a, "/tmp/rlhfd_demo_model_%d_a", (int)getpid());
	snprintf(dir_b, sizeof dir_b, "/tmp/rlhfd_demo_model_%d_b", (int)getpid());
	snprintf(dir_c, sizeof dir_c, "/tmp/rlhfd_demo_model_%d_c", (int)getpid());
	RUN(test_build_writes_everything);
	RUN(test_corpora_are_the_generators);
	RUN(test_tokenizer_round_trips);
	RUN(test_checkpoints);
	RUN(test_deterministic);
	RUN(test_bad_config);
	RUN(test_gen_answers);
	rm_rf(dir_a);
	rm_rf(dir_b);
	rm_rf(dir_c);
	TEST_MAIN_END();
}
