/*
 * server/cli_model.c — the training subcommands: `rlhfd bench train` (training
 * throughput on random weights), `rlhfd grad` (loss and gradient of one token
 * sequence, the contract in API.md) and `rlhfd train-lm` (offline pre-training
 * or SFT).  The model math is model/llama.c and model/adamw.c.
 */
#include "server/cli.h"
#include "model/adamw.h"
#include "model/llama.h"
#include "model/threads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- bench train -------------------------------------------------------- */

int cmd_bench_train(int argc, char **argv)
{
	struct llama_config cfg = { .dim = 288, .hidden_dim = 768, .n_layers = 6, .n_heads = 6,
				    .n_kv_heads = 6, .vocab_size = 32000, .seq_len = 256,
				    .shared_classifier = true };
	int batch = 8, steps = 5, nthreads = 0, seed = 1, cls_rows = 0;
	bool untied = false;
	struct cli_opt opts[] = {
		{ "dim", CLI_INT, &cfg.dim, "residual width (288)" },
		{ "hidden", CLI_INT, &cfg.hidden_dim, "SwiGLU width (768)" },
		{ "layers", CLI_INT, &cfg.n_layers, "layers (6)" },
		{ "heads", CLI_INT, &cfg.n_heads, "query heads (6)" },
		{ "kv-heads", CLI_INT, &cfg.n_kv_heads, "key/value heads (6)" },
		{ "vocab", CLI_INT, &cfg.vocab_size, "vocabulary (32000)" },
		{ "seq", CLI_INT, &cfg.seq_len, "tokens per sequence (256)" },
		{ "batch", CLI_INT, &batch, "sequences per step (8)" },
		{ "steps", CLI_INT, &steps, "timed optimizer steps (5)" },
		{ "threads", CLI_INT, &nthreads, "threads (0 = all cores)" },
		{ "seed", CLI_INT, &seed, "random seed (1)" },
		{ "untied", CLI_FLAG, &untied, "separate classifier instead of tied" },
		{ "cls-rows", CLI_INT, &cls_rows, "classifier rows per chunk (0 = auto; tuning)" },
		{ 0 }
	};
	int rc = cli_parse(argc, argv, opts, "[options]", NULL, 0, NULL);
	if (rc)
		return cli_exit_code(rc);
	cfg.shared_classifier = !untied;
	char err[256];
	if (steps <= 0 || batch <= 0) {
		fprintf(stderr, "rlhfd bench train: --steps and --batch must be positive\n");
		return 2;
	}
	if (llama_config_check(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd bench train: bad shape: %s\n", err);
		return 2;
	}
	nthreads = threads_set(nthreads);

	struct llama_model m;
	struct adamw opt;
	struct adamw_config oc;
	adamw_config_default(&oc);
	if (llama_model_init(&m, &cfg, batch, cfg.seq_len, 0, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd bench train: cannot make the model: %s\n", err);
		return 1;
	}
	if (adamw_init(&opt, &oc, &cfg, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd bench train: cannot make the optimizer: %s\n", err);
		llama_model_release(&m);
		return 1;
	}
	llama_params_init_random(&cfg, m.params, (uint64_t)seed);
	m.cls_rows = cls_rows;

	int T = cfg.seq_len, N = batch * T;
	int *tokens = malloc(sizeof(int) * (N + 1));
	if (!tokens) {
		fprintf(stderr, "rlhfd bench train: out of memory\n");
		adamw_release(&opt);
		llama_model_release(&m);
		return 1;
	}
	uint64_t s = (uint64_t)seed * 2654435761u + 1;
	for (int i = 0; i <= N; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		tokens[i] = (int)((s >> 33) % (uint64_t)cfg.vocab_size);
	}
	printf("bench train: dim %d hidden %d layers %d heads %d kv %d vocab %d seq %d batch %d "
	       "threads %d params %zu (%s classifier)\n",
	       cfg.dim, cfg.hidden_dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.vocab_size,
	       cfg.seq_len, batch, nthreads, llama_params_count_llama2c(&cfg),
	       cfg.shared_classifier ? "tied" : "separate");
	double total = 0.0;
	int status = 0;
	for (int step = 0; step <= steps; step++) {
		double t0 = now_sec();
		float loss = 0.0f;
		llama_zero_grads(&m);
		/* targets = the inputs shifted by one token */
		if (llama_lm_forward_backward(&m, tokens, tokens + 1, NULL, batch, T, 0.0f, &loss) < 0) {
			fprintf(stderr, "rlhfd bench train: forward/backward failed\n");
			status = 1;
			break;
		}
		adamw_step(&opt, m.params, m.grads, 1.0f, NULL);
		double dt = now_sec() - t0;
		if (step > 0)
			total += dt;
		printf("%s %d: loss %.4f, %.1f ms, %.0f tokens/s\n", step ? "step" : "warm-up",
		       step, loss, dt * 1e3, N / dt);
		fflush(stdout);
	}
	if (!status)
		printf("tokens_per_sec=%.1f\n", (double)N * steps / total);
	free(tokens);
	adamw_release(&opt);
	llama_model_release(&m);
	return status;
}

/* ---- grad --------------------------------------------------------------- */

int cmd_grad(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "rlhfd %s: waiting for the checkpoint reader (model/checkpoint.h)\n",
		argv[0]);
	return 1;
}

/* ---- train-lm ----------------------------------------------------------- */

int cmd_train_lm(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "rlhfd %s: waiting for the tokenizer and checkpoint writer\n", argv[0]);
	return 1;
}
