/*
 * server/cli/cli_sample.c — `rlhfd sample` (text from a checkpoint) and
 * `rlhfd bench sample` (generation throughput on random weights), both over
 * model/infer.h.
 */
#include "server/cli/cli.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/checkpoint.h"
#include "model/infer.h"
#include "model/tokenizer.h"

static double now_sec(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Fills a model with small uniform weights (norm gains 1): speed does not
 * depend on the values, but sampling should see a spread-out distribution. */
static void random_weights(const struct llama_config *c, float *p, uint64_t seed)
{
	size_t n = llama_params_count(c);
	uint64_t s = sampler_stream_seed(seed, 0);
	struct llama_weights w;
	for (size_t i = 0; i < n; i++)
		p[i] = (sampler_random_f32(&s) - 0.5f) * 0.2f;
	llama_weights_map(&w, c, p);
	for (size_t i = 0; i < (size_t)c->n_layers * c->dim; i++)
		w.rms_att[i] = w.rms_ffn[i] = 1.0f;
	for (int i = 0; i < c->dim; i++)
		w.rms_final[i] = 1.0f;
}

int cmd_bench_sample(int argc, char **argv)
{
	struct llama_config c = { .dim = 288, .hidden_dim = 768, .n_layers = 6, .n_heads = 6,
				  .n_kv_heads = 0, .vocab_size = 32000, .seq_len = 256,
				  .shared_classifier = true };
	int batch = 4, steps = 0, threads = 0, top_k = 0, seed = 1, prompts = 1;
	float temperature = 1.0f, top_p = 1.0f;
	bool untied = false;
	struct cli_opt opts[] = {
		{ "dim", CLI_INT, &c.dim, "model width (288: stories15M)" },
		{ "hidden", CLI_INT, &c.hidden_dim, "SwiGLU width (768)" },
		{ "layers", CLI_INT, &c.n_layers, "layers (6)" },
		{ "heads", CLI_INT, &c.n_heads, "query heads (6)" },
		{ "kv-heads", CLI_INT, &c.n_kv_heads, "key/value heads (= heads)" },
		{ "vocab", CLI_INT, &c.vocab_size, "vocabulary (32000)" },
		{ "seq", CLI_INT, &c.seq_len, "context length (256)" },
		{ "untied", CLI_FLAG, &untied, "separate classifier" },
		{ "batch", CLI_INT, &batch, "sequences K generated together (4)" },
		{ "prompts", CLI_INT, &prompts, "prompts per call, K sequences each (1): "
		  "infer_generate_batch, as the generate job runs" },
		{ "steps", CLI_INT, &steps, "new tokens per sequence (seq - 1)" },
		{ "threads", CLI_INT, &threads, "threads (all cores)" },
		{ "temperature", CLI_FLOAT, &temperature, "sampling temperature (1; 0 = greedy)" },
		{ "top-p", CLI_FLOAT, &top_p, "nucleus mass (1 = off)" },
		{ "top-k", CLI_INT, &top_k, "top-k (0 = off)" },
		{ "seed", CLI_INT, &seed, "seed of weights and sampling (1)" },
		{ 0 }
	};
	static char name[] = "bench sample"; /* main hands us argv from "sample" on */
	argv[0] = name;
	int rc = cli_parse(argc, argv, opts, "[options]", NULL, 0, NULL);
	if (rc != 0)
		return cli_exit_code(rc);
	if (c.n_kv_heads == 0)
		c.n_kv_heads = c.n_heads;
	c.shared_classifier = !untied;
	char err[256];
	if (llama_config_check(&c, err, sizeof(err)) < 0) {
		fprintf(stderr, "rlhfd bench sample: %s\n", err);
		return 2;
	}
	if (steps <= 0)
		steps = c.seq_len - 1;
	if (batch < 1 || steps > c.seq_len - 1 || prompts < 1 || (long)prompts * batch > 4096) {
		fprintf(stderr, "rlhfd bench sample: want --batch >= 1, --prompts >= 1 (prompts x "
			"batch <= 4096) and --steps <= seq - 1 (%d)\n", c.seq_len - 1);
		return 2;
	}
	infer_set_threads(threads);

	size_t np = llama_params_count(&c);
	float *params = malloc(np * sizeof(float));
	size_t R = (size_t)prompts * batch;
	int *tokens = malloc(R * steps * sizeof(int)), *n_tok = malloc(R * sizeof(int));
	/* prompt i: one token (BOS for the first, then 3, 4, ...), its own streams */
	int *pt = malloc((size_t)prompts * sizeof(int));
	struct infer_prompt *ps = malloc((size_t)prompts * sizeof *ps);
	struct infer inf = { 0 };
	struct infer_params ip;
	int status = 1;
	double t0, dt;
	long total = 0;
	if (!params || !tokens || !n_tok || !pt || !ps) {
		fprintf(stderr, "rlhfd bench sample: out of memory (%zu parameters)\n", np);
		goto out;
	}
	random_weights(&c, params, (uint64_t)seed);
	for (int i = 0; i < prompts; i++) {
		pt[i] = i == 0 ? INFER_BOS : 3 + (i - 1) % (c.vocab_size - 3);
		ps[i] = (struct infer_prompt){ pt + i, 1, (uint64_t)seed, i * batch, -1 };
	}
	if (infer_init_batch(&inf, &c, params, (int)R, prompts, err, sizeof(err)) < 0) {
		fprintf(stderr, "rlhfd bench sample: %s\n", err);
		goto out;
	}
	infer_params_default(&ip);
	ip.k = batch;
	ip.temperature = temperature;
	ip.top_p = top_p;
	ip.top_k = top_k;
	ip.seed = (uint64_t)seed;
	ip.n_stop = 0; /* every sequence runs the full --steps */

	/* warm-up: thread pools, page faults of the caches */
	ip.max_new = steps < 8 ? steps : 8;
	infer_generate_batch(&inf, ps, prompts, &ip, tokens, n_tok, NULL, err, sizeof(err));
	ip.max_new = steps;
	t0 = now_sec();
	rc = infer_generate_batch(&inf, ps, prompts, &ip, tokens, n_tok, NULL, err, sizeof(err));
	dt = now_sec() - t0;
	if (rc < 0) {
		fprintf(stderr, "rlhfd bench sample: %s\n", err);
		goto out;
	}
	for (size_t j = 0; j < R; j++)
		total += n_tok[j];
	printf("model dim=%d hidden=%d layers=%d heads=%d kv_heads=%d vocab=%d seq=%d params=%zu\n",
	       c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len,
	       llama_params_count_llama2c(&c));
	printf("prompts=%d batch=%d steps=%d threads=%d temperature=%g top_p=%g top_k=%d\n", prompts,
	       batch, steps, threads, temperature, top_p, top_k);
	printf("tokens=%ld seconds=%.4f ms_per_step=%.3f\n", total, dt, dt * 1e3 / steps);
	printf("tokens_per_sec=%.1f\n", total / dt);
	status = 0;
out:
	infer_release(&inf);
	free(params);
	free(tokens);
	free(n_tok);
	free(pt);
	free(ps);
	return status;
}

/* What `rlhfd sample` holds: zeroed first, released whole by sample_release
 * whichever step failed. */
struct sample_state {
	struct llama_config cfg;
	struct tokenizer tok;
	struct infer inf;
	float *params;
	int *prompt_ids;          /* BOS + the prompt's tokens */
	size_t n_prompt;
	int *out, *n_out;         /* (k, steps) new tokens; (k) how many of each */
};

static void sample_release(struct sample_state *s)
{
	infer_release(&s->inf);
	tokenizer_release(&s->tok);
	free(s->params);
	free(s->prompt_ids);
	free(s->out);
	free(s->n_out);
}

/* Loads the checkpoint and its tokenizer, encodes the prompt (after BOS) and
 * makes the inference state for k samples.  0, or -1 after printing what
 * failed. */
static int sample_load(struct sample_state *s, const char *cmd, const char *model,
		       const char *tok_path, const char *prompt, int k)
{
	size_t max_ids = TOKENIZER_MAX_IDS(strlen(prompt));
	char err[512];
	if (ckpt_load_model(model, &s->cfg, &s->params, NULL, err, sizeof(err)) < 0 ||
	    tokenizer_load(&s->tok, tok_path, s->cfg.vocab_size, err, sizeof(err)) < 0) {
		fprintf(stderr, "rlhfd %s: %s\n", cmd, err);
		return -1;
	}
	s->prompt_ids = malloc(max_ids * sizeof(int));
	if (!s->prompt_ids || tokenizer_encode(&s->tok, prompt, true, false, s->prompt_ids,
					       max_ids, &s->n_prompt) < 0) {
		fprintf(stderr, "rlhfd %s: cannot encode the prompt\n", cmd);
		return -1;
	}
	if ((int)s->n_prompt > s->cfg.seq_len) {
		fprintf(stderr, "rlhfd %s: the prompt is %zu tokens, the model's context is %d\n",
			cmd, s->n_prompt, s->cfg.seq_len);
		return -1;
	}
	if (infer_init(&s->inf, &s->cfg, s->params, k, err, sizeof(err)) < 0) {
		fprintf(stderr, "rlhfd %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

/* Generates ip->k samples of at most ip->max_new tokens after the prompt into
 * s->out.  0, or -1 after printing what failed. */
static int sample_generate(struct sample_state *s, const char *cmd, const struct infer_params *ip)
{
	char err[512];
	s->out = malloc((size_t)ip->k * (ip->max_new ? ip->max_new : 1) * sizeof(int));
	s->n_out = malloc((size_t)ip->k * sizeof(int));
	if (!s->out || !s->n_out) {
		fprintf(stderr, "rlhfd %s: out of memory\n", cmd);
		return -1;
	}
	if (infer_generate(&s->inf, s->prompt_ids, (int)s->n_prompt, ip, s->out, s->n_out, NULL,
			   err, sizeof(err)) < 0) {
		fprintf(stderr, "rlhfd %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

/* Prints the k samples (rows of steps tokens in s->out) without their stop
 * token: the new token ids, one line per sample (ids), else the prompt and its
 * continuation as llama2.c prints them, "---" between samples.  0, or -1 after
 * printing what failed. */
static int sample_print(const struct sample_state *s, const char *cmd, int k, int steps, bool ids)
{
	char err[512];
	for (int j = 0; j < k; j++) {
		const int *o = s->out + (size_t)j * steps;
		int n = s->n_out[j];
		if (n > 0 && (o[n - 1] == INFER_EOS || o[n - 1] == INFER_BOS))
			n--; /* the stop token is not part of the answer */
		if (ids) {
			for (int i = 0; i < n; i++)
				printf(i ? " %d" : "%d", o[i]);
			putchar('\n');
			continue;
		}
		size_t all_n = s->n_prompt - 1 + (size_t)n, len = 0;
		int *all = malloc((all_n ? all_n : 1) * sizeof(int));
		char *text = NULL;
		if (!all) {
			fprintf(stderr, "rlhfd %s: out of memory\n", cmd);
			return -1;
		}
		memcpy(all, s->prompt_ids + 1, (s->n_prompt - 1) * sizeof(int));
		memcpy(all + s->n_prompt - 1, o, (size_t)n * sizeof(int));
		if (tokenizer_decode(&s->tok, TOKENIZER_BOS, all, all_n, &text, &len, err,
				     sizeof(err)) < 0) {
			fprintf(stderr, "rlhfd %s: %s\n", cmd, err);
			free(all);
			return -1;
		}
		if (j > 0)
			fputs("---\n", stdout);
		fwrite(text, 1, len, stdout);
		putchar('\n');
		free(text);
		free(all);
	}
	return 0;
}

int cmd_sample(int argc, char **argv)
{
	const char *model = NULL, *tok_path = NULL, *prompt = "";
	float temperature = 1.0f, top_p = 0.9f;
	int top_k = 0, steps = 256, seed = INT_MIN, k = 1, threads = 0;
	bool ids = false;
	struct cli_opt opts[] = {
		{ "model", CLI_STR, &model, "llama2.c checkpoint, v0 or v1 (required)" },
		{ "tokenizer", CLI_STR, &tok_path, "tokenizer.bin (required)" },
		{ "prompt", CLI_STR, &prompt, "text to continue (after BOS); default none" },
		{ "temperature", CLI_FLOAT, &temperature, "1.0; 0 = greedy, deterministic" },
		{ "top-p", CLI_FLOAT, &top_p, "nucleus mass, 0.9; 1 = off" },
		{ "top-k", CLI_INT, &top_k, "keep the k most likely; 0 = off" },
		{ "steps", CLI_INT, &steps, "most new tokens per sample, 256 (to the context end)" },
		{ "seed", CLI_INT, &seed, "sampling seed; default from the clock" },
		{ "k", CLI_INT, &k, "samples generated together, 1" },
		{ "ids", CLI_FLAG, &ids, "print the new token ids, one line per sample" },
		{ "threads", CLI_INT, &threads, "threads, default all cores" },
		{ 0 }
	};
	int rc = cli_parse(argc, argv, opts, "--model FILE --tokenizer FILE [options]", NULL, 0, NULL);
	if (rc != 0)
		return cli_exit_code(rc);
	if (!model || !tok_path) {
		fprintf(stderr, "rlhfd %s: --model FILE and --tokenizer FILE are required\n", argv[0]);
		return 2;
	}
	if (k < 1 || k > 1024 || steps < 0 || temperature < 0.0f) {
		fprintf(stderr, "rlhfd %s: want 1 <= -k <= 1024, --steps >= 0, --temperature >= 0\n",
			argv[0]);
		return 2;
	}
	infer_set_threads(threads);

	struct sample_state s = { 0 };
	struct infer_params ip;
	rc = 1;
	if (sample_load(&s, argv[0], model, tok_path, prompt, k) < 0)
		goto out;
	if (steps > s.cfg.seq_len)
		steps = s.cfg.seq_len; /* no more can fit; keeps the buffers small */
	infer_params_default(&ip);
	ip.k = k;
	ip.max_new = steps;
	ip.temperature = temperature;
	ip.top_p = top_p;
	ip.top_k = top_k;
	ip.seed = seed == INT_MIN ? (uint64_t)time(NULL) : (uint64_t)(int64_t)seed;
	/* EOS ends a sample; so does BOS, which TinyStories models emit between stories */
	ip.stop_ids[0] = INFER_EOS;
	ip.stop_ids[1] = INFER_BOS;
	ip.n_stop = 2;
	if (sample_generate(&s, argv[0], &ip) < 0 || sample_print(&s, argv[0], k, steps, ids) < 0)
		goto out;
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	sample_release(&s);
	return rc;
}
