/*
 * server/cli/cli_model.c — the training subcommands: `rlhfd bench train` (training
 * throughput on random weights), `rlhfd grad` (loss and gradient of one token
 * sequence, the contract in API.md) and `rlhfd train-lm` (offline pre-training
 * or SFT).  The model math is model/llama.c and model/adamw.c.
 */
#include "server/cli/cli.h"
#include "model/adamw.h"
#include "model/checkpoint.h"
#include "model/llama.h"
#include "model/lmdata.h"
#include "model/lmtrain.h"
#include "model/threads.h"
#include "model/tokenizer.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
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
	static char name[] = "bench train"; /* main hands us argv from "train" on */
	argv[0] = name;
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
	if (!status) {
		/* matrix-product work per token, forward + backward (3x the forward):
		 * the weight matmuls plus causal attention as computed (64-row blocks) */
		double C = cfg.dim, H = cfg.hidden_dim, KV = llama_kv_dim(&cfg), V = cfg.vocab_size;
		double mm = 2.0 * (cfg.n_layers * (2 * C * C + 2 * C * KV + 3 * C * H) + V * C);
		double blocks = 0.0;
		for (int r0 = 0; r0 < T; r0 += 64)
			blocks += (double)(r0 + 64 < T ? 64 : T - r0) * (r0 + 64 < T ? r0 + 64 : T);
		double att = 2.0 * 2.0 * blocks * cfg.dim * cfg.n_layers / T;
		double tps = (double)N * steps / total;
		printf("flops_per_token=%.3g (matmul %.3g, attention %.3g), achieved %.1f GFLOP/s\n",
		       3 * (mm + att), 3 * mm, 3 * att, tps * 3 * (mm + att) * 1e-9);
		printf("tokens_per_sec=%.1f\n", tps);
	}
	free(tokens);
	adamw_release(&opt);
	llama_model_release(&m);
	return status;
}

/* ---- grad --------------------------------------------------------------- */

/* Reads a whole file into a new buffer (*len bytes, NUL-terminated). */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n < cap)
			break;
		char *nb = cap > SIZE_MAX / 4 ? NULL : realloc(buf, cap * 2 + 1);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	if (!buf) {
		snprintf(err, errlen, "out of memory reading '%s'", path);
		fclose(f);
		return NULL;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

int cmd_grad(int argc, char **argv)
{
	const char *model_path = NULL, *tokens_path = NULL, *out_path = NULL;
	int nthreads = 0;
	struct cli_opt opts[] = {
		{ "model", CLI_STR, &model_path, "llama2.c checkpoint, v0 or v1 (required)" },
		{ "tokens", CLI_STR, &tokens_path, "T little-endian int32 token ids (required)" },
		{ "out", CLI_STR, &out_path, "where to write the float32 gradient (required)" },
		{ "threads", CLI_INT, &nthreads, "threads (0 = all cores)" },
		{ 0 }
	};
	int rc = cli_parse(argc, argv, opts, "--model FILE --tokens FILE --out FILE", NULL, 0, NULL);
	if (rc)
		return cli_exit_code(rc);
	if (!model_path || !tokens_path || !out_path) {
		fprintf(stderr, "rlhfd grad: --model, --tokens and --out are required\n");
		return 2;
	}
	char err[512];
	struct llama_config cfg;
	float *params = NULL;
	size_t nbytes = 0;
	char *raw = NULL;
	struct llama_model m;
	int status = 1;
	bool have_model = false;

	threads_set(nthreads);
	if (ckpt_load(model_path, &cfg, &params, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd grad: %s\n", err);
		goto out;
	}
	raw = read_file(tokens_path, &nbytes, err, sizeof err);
	if (!raw) {
		fprintf(stderr, "rlhfd grad: %s\n", err);
		goto out;
	}
	if (nbytes % 4 != 0 || nbytes / 4 < 2) {
		fprintf(stderr, "rlhfd grad: '%s' must hold at least 2 int32 token ids (%zu bytes)\n",
			tokens_path, nbytes);
		goto out;
	}
	size_t T = nbytes / 4;
	if (T - 1 > (size_t)cfg.seq_len) {
		fprintf(stderr, "rlhfd grad: '%s' has %zu tokens; the model reads at most %d + 1\n",
			tokens_path, T, cfg.seq_len);
		goto out;
	}
	int *tok = malloc(T * sizeof(int));
	if (!tok) {
		fprintf(stderr, "rlhfd grad: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < T; i++) {
		const unsigned char *b = (const unsigned char *)raw + 4 * i;
		int32_t v = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
				      (uint32_t)b[3] << 24);
		if (v < 0 || v >= cfg.vocab_size) {
			fprintf(stderr, "rlhfd grad: token %zu of '%s' is %d, outside [0, %d)\n", i,
				tokens_path, (int)v, cfg.vocab_size);
			free(tok);
			goto out;
		}
		tok[i] = v;
	}
	if (llama_model_init(&m, &cfg, 1, (int)(T - 1), 0, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd grad: %s\n", err);
		free(tok);
		goto out;
	}
	have_model = true;
	memcpy(m.params, params, m.n_params * sizeof(float));
	float loss = 0.0f;
	if (llama_lm_forward_backward(&m, tok, tok + 1, NULL, 1, (int)(T - 1), 0.0f, &loss) < 0) {
		fprintf(stderr, "rlhfd grad: forward/backward failed\n");
		free(tok);
		goto out;
	}
	free(tok);
	/* the flat layout is the v0 order; the scalar head (last) is not written */
	size_t n = llama_params_count_llama2c(&cfg);
	FILE *f = fopen(out_path, "wb");
	if (!f) {
		fprintf(stderr, "rlhfd grad: cannot open '%s': %s\n", out_path, strerror(errno));
		goto out;
	}
	size_t w = fwrite(m.grads, sizeof(float), n, f);
	if (fclose(f) != 0 || w != n) {
		fprintf(stderr, "rlhfd grad: cannot write '%s': %s\n", out_path, strerror(errno));
		goto out;
	}
	printf("loss=%.9g\n", loss);
	status = 0;
out:
	if (have_model)
		llama_model_release(&m);
	free(params);
	free(raw);
	return status;
}

/* ---- train-lm ----------------------------------------------------------- */

/*
 * Training data, tokenized once into a struct lmdata_set (model/lmdata.h):
 *   text:  texts separated by blank lines (as the tokenizer trainer reads a
 *          corpus), each as BOS text EOS, concatenated into one stream; a batch
 *          row is a random window of T+1 tokens, every target weighted 1.
 *   jsonl: one {"prompt", "response"} object per line ("completion" is taken for
 *          "response", as /api/export/sft.jsonl writes it); a row is
 *          lmdata_sft_row's: BOS + template(prompt) + " " + response + EOS,
 *          weighted on the response tokens and the EOS only (SFT).
 * Lines that are not such an object count as skipped, as rows that do not fit.
 */
static int lm_data_sft(struct lmdata_set *d, const struct tokenizer *tk, char *buf,
		       const char *tmpl, char *err, size_t errlen)
{
	d->sft = true;
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *cur = line;
		line = nl ? nl + 1 : NULL;
		if (strspn(cur, " \t\r") == strlen(cur))
			continue;
		json_error_t jerr;
		json_t *o = json_loads(cur, 0, &jerr);
		const char *prompt = json_string_value(json_object_get(o, "prompt"));
		const char *resp = json_string_value(json_object_get(o, "response"));
		if (!resp)
			resp = json_string_value(json_object_get(o, "completion"));
		int n = prompt && resp ? lmdata_set_add_sft(d, tk, tmpl, prompt, resp) : 0;
		if (!(prompt && resp))
			d->skipped++;
		json_decref(o);
		if (n < 0) {
			snprintf(err, errlen, "cannot tokenize an example (out of memory)");
			return -1;
		}
	}
	return 0;
}

static void fmt_eta(char *buf, size_t n, double sec)
{
	long s = sec < 0 ? 0 : (long)(sec + 0.5);
	if (s >= 3600)
		snprintf(buf, n, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else
		snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
}

/* train-lm's progress: a line per report on stdout. */
static int print_step(void *arg, const struct lmtrain_report *r)
{
	if (r->saved) {
		printf("saved '%s' at step %d\n", r->saved, r->step);
	} else {
		char eta[32];
		fmt_eta(eta, sizeof eta, r->eta);
		printf("step %d/%d loss %.4f lr %.2e grad_norm %.3f tokens/s %.0f eta %s\n",
		       r->step, r->steps, r->loss, r->lr, r->grad_norm, r->tokens_per_sec, eta);
	}
	fflush(stdout);
	return 0;
}

int cmd_train_lm(int argc, char **argv)
{
	struct llama_config cfg = { .dim = 64, .hidden_dim = 172, .n_layers = 5, .n_heads = 8,
				    .n_kv_heads = 4, .vocab_size = 0, .seq_len = 256,
				    .shared_classifier = true };
	const char *tok_path = NULL, *data_path = NULL, *out_path = NULL, *init_path = NULL;
	const char *format = "auto", *tmpl = "User: {prompt}\nAssistant:", *kind = NULL;
	int steps = 1000, batch = 8, accum = 1, seed = 1, nthreads = 0, log_every = 10,
	    save_every = 0, warmup = -1;
	float lr = 1e-3f, min_lr = -1.0f, wd = 0.1f, clip = 1.0f;
	bool untied = false, resume = false;
	struct cli_opt opts[] = {
		{ "tokenizer", CLI_STR, &tok_path, "tokenizer.bin (required)" },
		{ "data", CLI_STR, &data_path, "text file (texts split by blank lines) or JSONL (required)" },
		{ "out", CLI_STR, &out_path, "checkpoint to write (v1 + .rlhfd sidecar) (required)" },
		{ "init", CLI_STR, &init_path, "start from this checkpoint (else a new model)" },
		{ "format", CLI_STR, &format, "text, jsonl or auto (by the first character)" },
		{ "template", CLI_STR, &tmpl, "jsonl prompt template, {prompt} replaced" },
		{ "kind", CLI_STR, &kind, "metadata kind (default: base for text, sft for jsonl)" },
		{ "dim", CLI_INT, &cfg.dim, "new model: residual width (64)" },
		{ "hidden", CLI_INT, &cfg.hidden_dim, "new model: SwiGLU width (172)" },
		{ "layers", CLI_INT, &cfg.n_layers, "new model: layers (5)" },
		{ "heads", CLI_INT, &cfg.n_heads, "new model: query heads (8)" },
		{ "kv-heads", CLI_INT, &cfg.n_kv_heads, "new model: key/value heads (4)" },
		{ "seq", CLI_INT, &cfg.seq_len, "tokens per row (new model: also seq_len) (256)" },
		{ "untied", CLI_FLAG, &untied, "new model: a classifier separate from the embedding" },
		{ "steps", CLI_INT, &steps, "optimizer steps in all (with --resume, counted from 0) (1000)" },
		{ "batch", CLI_INT, &batch, "rows per micro-batch (8)" },
		{ "accum", CLI_INT, &accum, "micro-batches per step (1)" },
		{ "lr", CLI_FLOAT, &lr, "peak learning rate (1e-3)" },
		{ "min-lr", CLI_FLOAT, &min_lr, "end of the cosine (lr/10)" },
		{ "warmup", CLI_INT, &warmup, "warmup steps (steps/20)" },
		{ "weight-decay", CLI_FLOAT, &wd, "AdamW decoupled decay on matrices (0.1)" },
		{ "clip", CLI_FLOAT, &clip, "global gradient-norm clip, 0 = off (1.0)" },
		{ "seed", CLI_INT, &seed, "random seed: init and batches (1)" },
		{ "threads", CLI_INT, &nthreads, "threads (0 = all cores)" },
		{ "log-every", CLI_INT, &log_every, "progress line every N steps (10)" },
		{ "save-every", CLI_INT, &save_every, "also save every N steps (0 = at the end)" },
		{ "resume", CLI_FLAG, &resume, "with --init: continue its AdamW state and step count" },
		{ 0 }
	};
	int rc = cli_parse(argc, argv, opts, "--tokenizer FILE --data FILE --out FILE [options]",
			   NULL, 0, NULL);
	if (rc)
		return cli_exit_code(rc);
	if (!tok_path || !data_path || !out_path) {
		fprintf(stderr, "rlhfd train-lm: --tokenizer, --data and --out are required\n");
		return 2;
	}
	if (steps <= 0 || batch <= 0 || accum <= 0 || log_every <= 0 || save_every < 0 ||
	    !(lr > 0.0f)) {
		fprintf(stderr, "rlhfd train-lm: --steps, --batch, --accum, --log-every and --lr must be positive\n");
		return 2;
	}
	if (strcmp(format, "auto") && strcmp(format, "text") && strcmp(format, "jsonl")) {
		fprintf(stderr, "rlhfd train-lm: --format must be text, jsonl or auto\n");
		return 2;
	}
	char err[512];
	int status = 1;
	struct tokenizer tk;
	struct lmdata_set data;
	struct llama_model m;
	struct adamw opt;
	struct ckpt_state st;
	float *init = NULL;
	char *buf = NULL, *meta = NULL;
	bool have_m = false, have_opt = false;
	uint64_t rng = lmdata_rng_seed((uint64_t)seed);

	cfg.shared_classifier = !untied;
	ckpt_state_init(&st);
	tokenizer_init(&tk);
	nthreads = threads_set(nthreads);
	int T = cfg.seq_len;
	if (init_path) {
		if (ckpt_load_model(init_path, &cfg, &init, &st, err, sizeof err) < 0) {
			fprintf(stderr, "rlhfd train-lm: %s\n", err);
			lmdata_set_init(&data, T);
			goto out;
		}
		if (T > cfg.seq_len)
			T = cfg.seq_len;
	}
	lmdata_set_init(&data, T);
	if (tokenizer_load(&tk, tok_path, init_path ? cfg.vocab_size : 0, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd train-lm: %s\n", err);
		goto out;
	}
	if (!init_path)
		cfg.vocab_size = tk.vocab_size;
	if (llama_config_check(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd train-lm: bad model shape: %s\n", err);
		goto out;
	}
	size_t len = 0;
	buf = read_file(data_path, &len, err, sizeof err);
	if (!buf) {
		fprintf(stderr, "rlhfd train-lm: %s\n", err);
		goto out;
	}
	bool sft = !strcmp(format, "jsonl") ||
		   (!strcmp(format, "auto") && buf[strspn(buf, " \t\r\n")] == '{');
	if (sft ? lm_data_sft(&data, &tk, buf, tmpl, err, sizeof err) < 0 :
		  lmdata_set_text(&data, &tk, buf) < 0) {
		if (!sft)
			snprintf(err, sizeof err, "cannot tokenize the text (out of memory)");
		fprintf(stderr, "rlhfd train-lm: '%s': %s\n", data_path, err);
		goto out;
	}
	if (!lmdata_set_usable(&data)) {
		fprintf(stderr, "rlhfd train-lm: '%s' holds too little data (%s)\n", data_path,
			sft ? "no usable {\"prompt\", \"response\"} line" : "fewer tokens than one row");
		goto out;
	}
	if (llama_model_init(&m, &cfg, batch, T, 0, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd train-lm: %s\n", err);
		goto out;
	}
	have_m = true;
	if (init)
		memcpy(m.params, init, m.n_params * sizeof(float));
	else
		llama_params_init_random(&cfg, m.params, (uint64_t)seed);

	struct adamw_config oc;
	adamw_config_default(&oc);
	oc.lr = lr;
	oc.min_lr = min_lr >= 0.0f ? min_lr : lr / 10;
	oc.warmup_steps = warmup >= 0 ? warmup : steps / 20;
	oc.total_steps = steps;
	oc.weight_decay = wd;
	oc.grad_clip = clip;
	if (adamw_init(&opt, &oc, &cfg, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd train-lm: %s\n", err);
		goto out;
	}
	have_opt = true;
	if (resume) {
		if (!init_path || !st.has_train || !st.m || !st.v) {
			fprintf(stderr, "rlhfd train-lm: --resume needs --init with a saved training state\n");
			goto out;
		}
		memcpy(opt.m, st.m, opt.n * sizeof(float));
		memcpy(opt.v, st.v, opt.n * sizeof(float));
		opt.step = st.step > 0 && st.step < 1 << 30 ? (int)st.step : 0;
		memcpy(&rng, &st.rng[0], sizeof rng);
	}
	json_t *jm = json_pack("{s:s, s:s, s:i, s:i}", "kind", kind ? kind : sft ? "sft" : "base",
			       "template", tmpl, "bos", TOKENIZER_BOS, "eos", TOKENIZER_EOS);
	meta = jm ? json_dumps(jm, JSON_COMPACT) : NULL;
	json_decref(jm);
	if (!meta) {
		fprintf(stderr, "rlhfd train-lm: out of memory\n");
		goto out;
	}
	printf("train-lm: %s data, %zu %s, %zu weighted tokens%s; model dim %d hidden %d layers %d "
	       "heads %d kv %d vocab %d seq %d (%zu params); %d steps of %d x %d x %d tokens, "
	       "%d threads\n",
	       sft ? "sft" : "text", sft ? data.n_rows : data.n_stream, sft ? "examples" : "tokens",
	       data.n_target, data.skipped ? " (some lines skipped)" : "", cfg.dim, cfg.hidden_dim,
	       cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.vocab_size, T,
	       llama_params_count_llama2c(&cfg), steps, accum, batch, T, nthreads);
	if (data.skipped)
		printf("train-lm: skipped %zu lines (no prompt/response, or the prompt fills the row)\n",
		       data.skipped);
	fflush(stdout);

	if (opt.step >= steps) /* when resuming, --steps is the total */
		printf("train-lm: the checkpoint is already at step %d of %d\n", opt.step, steps);
	struct lmtrain_config tc = { .steps = steps, .batch = batch, .accum = accum,
				     .log_every = log_every, .save_every = save_every,
				     .out_path = out_path, .meta = meta };
	if (lmtrain_run(&m, &opt, &data, &rng, &tc, print_step, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd train-lm: %s\n", err);
		goto out;
	}
	status = 0;
out:
	if (have_opt)
		adamw_release(&opt);
	if (have_m)
		llama_model_release(&m);
	tokenizer_release(&tk);
	lmdata_set_release(&data);
	ckpt_state_release(&st);
	free(init);
	free(buf);
	free(meta);
	return status;
}
