/*
 * tests/unit/test_cli_sample.c — `rlhfd sample` end to end: a random model and
 * a small tokenizer written to files, the command run in-process with stdout
 * captured.  The expected greedy ids come from infer_logits over the whole
 * growing sequence (no KV cache: the prefill path), not from the generation
 * code the command uses; the expected text from the tokenizer's decoder.
 */
#include "model/checkpoint.h"
#include "model/infer.h"
#include "model/tokenizer.h"
#include "server/cli/cli.h"
#include "tests/test.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64], model_path[128], tok_path[128], out_path[128], err_path[128];
static struct llama_config cfg;
static float *params;
static struct tokenizer tok;

/* runs cmd_sample with argv, stdout and stderr into files; returns its exit code */
static int run(const char *const *args, int n, char **out, char **errtext)
{
	char *argv[32];
	for (int i = 0; i < n; i++)
		argv[i] = (char *)args[i];
	argv[n] = NULL;
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	int rc = cmd_sample(n, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so); close(se); close(fo); close(fe);
	const char *paths[2] = { out_path, err_path };
	char **dst[2] = { out, errtext };
	for (int k = 0; k < 2; k++) {
		if (!dst[k])
			continue;
		FILE *f = fopen(paths[k], "rb");
		char *buf = calloc(1, 1 << 20);
		size_t len = fread(buf, 1, (1 << 20) - 1, f);
		buf[len] = 0;
		fclose(f);
		*dst[k] = buf;
	}
	return rc;
}

/* whitespace-separated ints of one line into ids; returns how many */
static int parse_ids(const char *line, int *ids, int max)
{
	int n = 0;
	char *end;
	while (n < max) {
		long v = strtol(line, &end, 10);
		if (end == line)
			break;
		ids[n++] = (int)v;
		line = end;
		if (*line == '\n')
			break;
	}
	return n;
}

/* the greedy continuation by re-running the whole sequence each step */
static int greedy_by_full_forward(const int *prompt, int np, int steps, int *out)
{
	struct infer inf;
	char err[256];
	int *seq = malloc(cfg.seq_len * sizeof(int)), n = 0;
	float *lg = malloc((size_t)cfg.seq_len * cfg.vocab_size * sizeof(float));
	memcpy(seq, prompt, np * sizeof(int));
	CHECK_INT_EQ(infer_init(&inf, &cfg, params, 1, err, sizeof(err)), 0);
	while (n < steps && np + n < cfg.seq_len) {
		infer_logits(&inf, seq, np + n, lg, err, sizeof(err));
		int t = sampler_argmax(lg + (size_t)(np + n - 1) * cfg.vocab_size, cfg.vocab_size);
		if (t == INFER_EOS || t == INFER_BOS)
			break;
		seq[np + n] = t;
		out[n++] = t;
	}
	infer_release(&inf);
	free(seq);
	free(lg);
	return n;
}

static void test_greedy_ids(void)
{
	const char *prompt = "ab ba a";
	int pids[64], want[64], got[64];
	size_t np = 0;
	char *out = NULL;
	CHECK_INT_EQ(tokenizer_encode(&tok, prompt, true, false, pids, 64, &np), 0);
	int n_want = greedy_by_full_forward(pids, (int)np, 30, want);
	const char *args[] = { "sample", "--model", model_path, "--tokenizer", tok_path,
			       "--prompt", prompt, "--temperature", "0", "--steps", "30", "--ids",
			       "--threads", "1" };
	CHECK_INT_EQ(run(args, 14, &out, NULL), 0);
	int n_got = parse_ids(out, got, 64);
	CHECK_INT_EQ(n_got, n_want);
	CHECK(n_got > 3);
	CHECK(memcmp(got, want, n_want * sizeof(int)) == 0);
	CHECK(strchr(out, '\n') == out + strlen(out) - 1); /* one line */
	free(out);

	/* -k 3 greedy: three identical lines */
	const char *args3[] = { "sample", "--model", model_path, "--tokenizer", tok_path,
				"--prompt", prompt, "--temperature", "0", "--steps", "30", "--ids",
				"-k", "3" };
	CHECK_INT_EQ(run(args3, 14, &out, NULL), 0);
	char *line = out;
	for (int j = 0; j < 3; j++) {
		CHECK_INT_EQ(parse_ids(line, got, 64), n_want);
		CHECK(memcmp(got, want, n_want * sizeof(int)) == 0);
		line = strchr(line, '\n');
		CHECK(line != NULL);
		if (!line)
			break;
		line++;
	}
	CHECK(line && *line == 0);
	free(out);
}

static void test_text_is_decoded_ids(void)
{
	const char *prompt = "ba ab";
	char *ids_out = NULL, *text_out = NULL, *text = NULL;
	int pids[64], got[64];
	size_t np = 0, len = 0;
	char err[256];
	const char *a1[] = { "sample", "--model", model_path, "--tokenizer", tok_path, "--prompt",
			     prompt, "--seed", "11", "--steps", "25", "--ids" };
	const char *a2[] = { "sample", "--model", model_path, "--tokenizer", tok_path, "--prompt",
			     prompt, "--seed", "11", "--steps", "25" };
	CHECK_INT_EQ(run(a1, 12, &ids_out, NULL), 0);
	CHECK_INT_EQ(run(a2, 11, &text_out, NULL), 0);
	int n = parse_ids(ids_out, got, 64);
	CHECK_INT_EQ(tokenizer_encode(&tok, prompt, true, false, pids, 64, &np), 0);
	int all[128];
	memcpy(all, pids + 1, (np - 1) * sizeof(int));
	memcpy(all + np - 1, got, n * sizeof(int));
	CHECK_INT_EQ(tokenizer_decode(&tok, TOKENIZER_BOS, all, np - 1 + n, &text, &len, err,
				      sizeof(err)), 0);
	/* the prompt's text, its continuation, a newline */
	CHECK(strncmp(text_out, prompt, strlen(prompt)) == 0);
	CHECK(strlen(text_out) == len + 1 && memcmp(text_out, text, len) == 0);
	free(ids_out);
	free(text_out);
	free(text);
}

static void test_seeds(void)
{
	char *a = NULL, *b = NULL, *c = NULL;
	const char *s5[] = { "sample", "--model", model_path, "--tokenizer", tok_path, "--seed",
			     "5", "--steps", "40", "--ids", "-k", "3", "--top-p", "0.95" };
	const char *s6[] = { "sample", "--model", model_path, "--tokenizer", tok_path, "--seed",
			     "6", "--steps", "40", "--ids", "-k", "3", "--top-p", "0.95" };
	CHECK_INT_EQ(run(s5, 14, &a, NULL), 0);
	CHECK_INT_EQ(run(s5, 14, &b, NULL), 0);
	CHECK_INT_EQ(run(s6, 14, &c, NULL), 0);
	CHECK_STR_EQ(a, b);
	CHECK(strcmp(a, c) != 0);
	/* three lines, not all the same */
	char *l2 = strchr(a, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	CHECK(strchr(l3, '\n') && strchr(l3, '\n')[1] == 0);
	CHECK(strncmp(a, l2, l2 - a) != 0 || strncmp(l2, l3, l3 - l2) != 0);
	free(a);
	free(b);
	free(c);
}

static void test_errors(void)
{
	char *out = NULL, *err = NULL;
	const char *no_model[] = { "sample", "--tokenizer", tok_path };
	CHECK_INT_EQ(run(no_model, 3, &out, &err), 2);
	CHECK(strstr(err, "--model") != NULL);
	free(out);
	free(err);
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/none.bin", dir);
	const char *bad_model[] = { "sample", "--model", missing, "--tokenizer", tok_path };
	CHECK_INT_EQ(run(bad_model, 5, &out, &err), 1);
	CHECK_MSG(strstr(err, "none.bin'") != NULL, "%s", err);
	CHECK(out[0] == 0);
	free(out);
	free(err);
	const char *bad_k[] = { "sample", "--model", model_path, "--tokenizer", tok_path, "-k", "0" };
	CHECK_INT_EQ(run(bad_k, 7, &out, &err), 2);
	free(out);
	free(err);
}

/* a small vocabulary in the Llama 2 id layout: <unk> <s> </s>, 256 byte
 * tokens, then letters and merged pieces */
static void build_tokenizer(void)
{
	static char byte_names[256][8];
	const char *extra[] = { " ", "a", "b", " a", " b", "ab", "ba", " ab", " ba", "aa", "bb" };
	int n_extra = sizeof(extra) / sizeof(extra[0]), n = 3 + 256 + n_extra;
	const char **pieces = malloc(n * sizeof(char *));
	float *scores = malloc(n * sizeof(float));
	char err[256];
	pieces[0] = "<unk>";
	pieces[1] = "\n<s>\n";
	pieces[2] = "\n</s>\n";
	for (int b = 0; b < 256; b++) {
		snprintf(byte_names[b], sizeof(byte_names[b]), "<0x%02X>", b);
		pieces[3 + b] = byte_names[b];
	}
	for (int i = 0; i < n; i++)
		scores[i] = 0.0f;
	for (int i = 0; i < n_extra; i++) {
		pieces[259 + i] = extra[i];
		scores[259 + i] = (float)-i;
	}
	CHECK_INT_EQ(tokenizer_build(&tok, pieces, NULL, scores, n, err, sizeof(err)), 0);
	CHECK_INT_EQ(tokenizer_save(&tok, tok_path, err, sizeof(err)), 0);
	free(pieces);
	free(scores);
}

int main(void)
{
	char err[256];
	snprintf(dir, sizeof(dir), "/tmp/test_cli_sample.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(model_path, sizeof(model_path), "%s/model.bin", dir);
	snprintf(tok_path, sizeof(tok_path), "%s/tok.bin", dir);
	snprintf(out_path, sizeof(out_path), "%s/out.txt", dir);
	snprintf(err_path, sizeof(err_path), "%s/err.txt", dir);
	tokenizer_init(&tok);
	build_tokenizer();

	cfg = (struct llama_config){ .dim = 16, .hidden_dim = 20, .n_layers = 2, .n_heads = 2,
				     .n_kv_heads = 1, .vocab_size = tok.vocab_size, .seq_len = 64,
				     .shared_classifier = false };
	size_t np = llama_params_count(&cfg);
	params = calloc(np, sizeof(float));
	uint64_t s = 77;
	for (size_t i = 0; i < llama_params_count_llama2c(&cfg); i++)
		params[i] = (sampler_random_f32(&s) - 0.5f) * 1.5f;
	if (ckpt_save_v1(model_path, &cfg, params, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}

	RUN(test_greedy_ids);
	RUN(test_text_is_decoded_ids);
	RUN(test_seeds);
	RUN(test_errors);

	const char *files[] = { model_path, tok_path, out_path, err_path };
	for (int i = 0; i < 4; i++)
		unlink(files[i]);
	rmdir(dir);
	tokenizer_release(&tok);
	free(params);
	TEST_MAIN_END();
}
