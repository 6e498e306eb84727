/*
 * tests/unit/test_cli_grad.c — `rlhfd grad` end to end, against the contract in
 * API.md: a random untied GQA model saved as a llama2.c v0 file (RoPE tables
 * between rms_final and the classifier), T int32 tokens, the command run
 * in-process.  Oracles independent of model/llama.c: the printed loss against
 * the mean cross-entropy of the inference module's logits (model/infer.h), and
 * gradient entries — three per tensor, found by their position in the v0 file
 * as the format lays it out — against central differences of that loss with
 * the float perturbed in the file itself.
 */
#include "model/checkpoint.h"
#include "model/infer.h"
#include "server/cli/cli.h"
#include "tests/test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64], model_path[128], tok_path[128], grad_path[128], out_path[128],
	err_path[128];

static const struct llama_config cfg = { .dim = 12, .hidden_dim = 20, .n_layers = 2,
	.n_heads = 3, .n_kv_heads = 1, .vocab_size = 11, .seq_len = 8,
	.shared_classifier = false };
static const int tokens[8] = { 1, 5, 9, 2, 10, 0, 4, 7 };

/* runs cmd_grad with stdout/stderr captured; returns the exit code */
static int run_grad(const char *model, const char *toks, char *out, size_t outlen)
{
	char *argv[] = { "grad", "--model", (char *)model, "--tokens", (char *)toks, "--out",
			 grad_path, "--threads", "1", NULL };
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	int rc = cmd_grad(9, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so); close(se); close(fo); close(fe);
	FILE *f = fopen(out_path, "rb");
	size_t n = f ? fread(out, 1, outlen - 1, f) : 0;
	out[n] = '\0';
	if (f)
		fclose(f);
	return rc;
}

/* mean cross-entropy of tokens[1..T) by the inference module, in double */
static double infer_loss(const char *model, int T)
{
	struct llama_config c;
	float *p = NULL;
	char err[256];
	struct infer inf;
	if (ckpt_load(model, &c, &p, err, sizeof err) < 0 ||
	    infer_init(&inf, &c, p, 1, err, sizeof err) < 0) {
		fprintf(stderr, "  %s\n", err);
		free(p);
		return NAN;
	}
	float *logits = malloc(sizeof(float) * T * c.vocab_size);
	double loss = NAN;
	if (infer_logits(&inf, tokens, T - 1, logits, err, sizeof err) == 0) {
		loss = 0;
		for (int t = 0; t < T - 1; t++) {
			const float *z = logits + (size_t)t * c.vocab_size;
			double m = -1e30, s = 0;
			for (int j = 0; j < c.vocab_size; j++) if (z[j] > m) m = z[j];
			for (int j = 0; j < c.vocab_size; j++) s += exp((double)z[j] - m);
			loss += m + log(s) - z[tokens[t + 1]];
		}
		loss /= T - 1;
	}
	free(logits);
	infer_release(&inf);
	free(p);
	return loss;
}

static void test_grad_contract(void)
{
	size_t n = llama_params_count(&cfg), n2c = llama_params_count_llama2c(&cfg);
	float *p = malloc(n * sizeof(float));
	uint64_t s = 12345;
	for (size_t i = 0; i < n; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (float)(((s >> 40) / 16777216.0 - 0.5) * 0.8);
	}
	char err[256];
	CHECK_INT_EQ(ckpt_save_v0(model_path, &cfg, p, err, sizeof err), 0);
	FILE *f = fopen(tok_path, "wb");
	int T = 8;
	for (int t = 0; t < T; t++) {
		unsigned char b[4] = { tokens[t] & 255, tokens[t] >> 8 & 255, tokens[t] >> 16 & 255,
				       (unsigned)tokens[t] >> 24 };
		fwrite(b, 1, 4, f);
	}
	fclose(f);
	char out[4096];
	CHECK_INT_EQ(run_grad(model_path, tok_path, out, sizeof out), 0);
	float loss = NAN;
	CHECK_MSG(sscanf(out, "loss=%f", &loss) == 1, "output '%s'", out);
	double want = infer_loss(model_path, T);
	CHECK_NEAR(loss, want, 1e-5 * fabs(want));

	/* the gradient file: n2c floats, v0 order, no RoPE tables, no scalar head */
	f = fopen(grad_path, "rb");
	float *g = malloc((n2c + 1) * sizeof(float));
	size_t got = fread(g, sizeof(float), n2c + 1, f);
	fclose(f);
	CHECK_INT_EQ(got, n2c);

	/* v0 file: 7 int32 header, tensors, RoPE tables (2 x seq_len x hs/2) before wcls */
	size_t off_wcls, len;
	llama_tensor_span(&cfg, 11, &off_wcls, &len);
	size_t rope = (size_t)cfg.seq_len * (cfg.dim / cfg.n_heads);
	FILE *mf = fopen(model_path, "rb");
	fseek(mf, 0, SEEK_END);
	long fsize = ftell(mf);
	fclose(mf);
	CHECK_INT_EQ(fsize, 28 + 4 * (long)(n2c + rope));
	char *file = malloc(fsize);
	mf = fopen(model_path, "rb");
	CHECK_INT_EQ(fread(file, 1, fsize, mf), fsize);
	fclose(mf);
	char pert[160];
	snprintf(pert, sizeof pert, "%s/pert.bin", dir);
	for (int k = 0; k < 12; k++) {
		size_t off;
		llama_tensor_span(&cfg, k, &off, &len);
		size_t pick[3] = { off, off + len / 2, off + len - 1 };
		for (int q = 0; q < 3; q++) {
			size_t i = pick[q];
			long at = 28 + 4 * (long)(i < off_wcls ? i : i + rope);
			float v0, v;
			memcpy(&v0, file + at, 4);
			const float h = 1e-3f;
			double lp, lm;
			v = v0 + h; memcpy(file + at, &v, 4);
			f = fopen(pert, "wb"); fwrite(file, 1, fsize, f); fclose(f);
			lp = infer_loss(pert, T);
			v = v0 - h; memcpy(file + at, &v, 4);
			f = fopen(pert, "wb"); fwrite(file, 1, fsize, f); fclose(f);
			lm = infer_loss(pert, T);
			memcpy(file + at, &v0, 4);
			double fd = (lp - lm) / (2.0 * h);
			CHECK_MSG(fabs(fd - g[i]) <= 2e-3 + 2e-2 * fabs(fd),
				  "tensor %d index %zu: file says %.6g, differences %.6g", k, i - off,
				  g[i], fd);
		}
	}
	unlink(pert);
	free(file);
	free(g);
	free(p);
}

static void test_grad_bad_input(void)
{
	char out[4096], bad[160];
	snprintf(bad, sizeof bad, "%s/bad.bin", dir);
	/* a token outside the vocabulary */
	FILE *f = fopen(bad, "wb");
	int v[3] = { 1, 11, 2 };
	fwrite(v, 4, 3, f);
	fclose(f);
	CHECK(run_grad(model_path, bad, out, sizeof out) != 0);
	/* more tokens than the context */
	f = fopen(bad, "wb");
	int many[12] = { 0 };
	fwrite(many, 4, 12, f);
	fclose(f);
	CHECK(run_grad(model_path, bad, out, sizeof out) != 0);
	/* not a whole number of int32, and a single token */
	f = fopen(bad, "wb");
	fwrite(many, 1, 6, f);
	fclose(f);
	CHECK(run_grad(model_path, bad, out, sizeof out) != 0);
	f = fopen(bad, "wb");
	fwrite(many, 4, 1, f);
	fclose(f);
	CHECK(run_grad(model_path, bad, out, sizeof out) != 0);
	/* the tokens file as a model */
	CHECK(run_grad(tok_path, tok_path, out, sizeof out) != 0);
	unlink(bad);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/rlhfd-test-grad-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(model_path, sizeof model_path, "%s/model.bin", dir);
	snprintf(tok_path, sizeof tok_path, "%s/tokens.bin", dir);
	snprintf(grad_path, sizeof grad_path, "%s/grad.bin", dir);
	snprintf(out_path, sizeof out_path, "%s/out.txt", dir);
	snprintf(err_path, sizeof err_path, "%s/err.txt", dir);
	RUN(test_grad_contract);
	RUN(test_grad_bad_input);
	unlink(model_path); unlink(tok_path); unlink(grad_path); unlink(out_path); unlink(err_path);
	rmdir(dir);
	TEST_MAIN_END();
}
