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

/* The summary of `rlhfd bench train`: the work per token and the throughput
 * (tps tokens/s over the timed steps) of rows of T tokens. */
static void bench_train_report(const struct llama_config *cfg, int T, double tps)
{
	/* matrix-product work per token, forward + backward (3x the forward):
	 * the weight matmuls plus causal attention as computed (64-row blocks) */
	double C = cfg->dim, H = cfg->hidden_dim, KV = llama_kv_dim(cfg), V = cfg->vocab_size;
	double mm = 2.0 * (cfg->n_layers * (2 * C * C + 2 * C * KV + 3 * C * H) + V * C);
	double blocks = 0.0;
	for (int r0 = 0; r0 < T; r0 += 64)
		blocks += (double)(r0 + 64 < T ? 64 : T - r0) * (r0 + 64 < T ? r0 + 64 : T);
	double att = 2.0 * 2.0 * blocks * cfg->dim * cfg->n_layers / T;
	printf("flops_per_token=%.3g (matmul %.3g, attention %.3g), achieved %.1f GFLOP/s\n",
	       3 * (mm + att), 3 * mm, 3 * att, tps * 3 * (mm + att) * 1e-9);
	printf("tokens_per_sec=%.1f\n", tps);
}

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
	if (!status)
		bench_train_report(&cfg, T, (double)N * steps / total);
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
	struct llama_model m = { 0 };
	int status = 1;

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

/* train-lm's command line. */
struct train_lm_opts {
	struct llama_config cfg; /* a new model's shape */
	const char *tok_path, *data_path, *out_path, *init_path, *format, *tmpl, *kind;
	int steps, batch, accum, seed, nthreads, log_every, save_every, warmup;
	float lr, min_lr, wd, clip;
	bool untied, resume;
};

/* What train-lm builds on its way to the first step: zeroed first, released
 * whole by train_lm_release whichever step failed. */
struct train_lm {
	struct llama_config cfg;  /* the model's shape: the options' or --init's */
	int T;                    /* tokens per row */
	int nthreads;             /* threads in use */
	bool sft;                 /* the data is JSONL examples, not text */
	uint64_t rng;             /* the batches' random state */
	struct tokenizer tk;
	struct lmdata_set data;
	struct llama_model m;
	struct adamw opt;
	struct ckpt_state st;     /* --init's training state (for --resume) */
	float *init;              /* --init's weights, or NULL */
	char *buf;                /* the data file's bytes */
	char *meta;               /* the checkpoints' sidecar metadata JSON */
};

static void train_lm_release(struct train_lm *s)
{
	adamw_release(&s->opt);
	llama_model_release(&s->m);
	tokenizer_release(&s->tk);
	lmdata_set_release(&s->data);
	ckpt_state_release(&s->st);
	free(s->init);
	free(s->buf);
	free(s->meta);
}

/* Loads --init (if any), the tokenizer and the training data into s.  0, or
 * -1 after printing what failed. */
static int train_lm_load(struct train_lm *s, const struct train_lm_opts *o)
{
	char err[512];
	s->rng = lmdata_rng_seed((uint64_t)o->seed);
	s->cfg = o->cfg;
	s->cfg.shared_classifier = !o->untied;
	s->nthreads = threads_set(o->nthreads);
	s->T = s->cfg.seq_len;
	if (o->init_path) {
		if (ckpt_load_model(o->init_path, &s->cfg, &s->init, &s->st, err, sizeof err) < 0) {
			fprintf(stderr, "rlhfd train-lm: %s\n", err);
			return -1;
		}
		if (s->T > s->cfg.seq_len)
			s->T = s->cfg.seq_len;
	}
	lmdata_set_init(&s->data, s->T);
	if (tokenizer_load(&s->tk, o->tok_path, o->init_path ? s->cfg.vocab_size : 0, err,
			   sizeof err) < 0) {
		fprintf(stderr, "rlhfd train-lm: %s\n", err);
		return -1;
	}
	if (!o->init_path)
		s->cfg.vocab_size = s->tk.vocab_size;
	if (llama_config_check(&s->cfg, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd train-lm: bad model shape: %s\n", err);
		return -1;
	}
	size_t len = 0;
	s->buf = read_file(o->data_path, &len, err, sizeof err);
	if (!s->buf) {
		fprintf(stderr, "rlhfd train-lm: %s\n", err);
		return -1;
	}
	s->sft = !strcmp(o->format, "jsonl") ||
		 (!strcmp(o->format, "auto") && s->buf[strspn(s->buf, " \t\r\n")] == '{');
	if (s->sft ? lm_data_sft(&s->data, &s->tk, s->buf, o->tmpl, err, sizeof err) < 0 :
		     lmdata_set_text(&s->data, &s->tk, s->buf) < 0) {
		if (!s->sft)
			snprintf(err, sizeof err, "cannot tokenize the text (out of memory)");
		fprintf(stderr, "rlhfd train-lm: '%s': %s\n", o->data_path, err);
		return -1;
	}
	if (!lmdata_set_usable(&s->data)) {
		fprintf(stderr, "rlhfd train-lm: '%s' holds too little data (%s)\n", o->data_path,
			s->sft ? "no usable {\"prompt\", \"response\"} line" : "fewer tokens than one row");
		return -1;
	}
	return 0;
}

/* Makes the model (--init's weights or random ones), its optimizer (with
 * --init's state on --resume) and the checkpoints' metadata.  0, or -1 after
 * printing what failed. */
static int train_lm_model(struct train_lm *s, const struct train_lm_opts *o)
{
	char err[512];
	if (llama_model_init(&s->m, &s->cfg, o->batch, s->T, 0, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd train-lm: %s\n", err);
		return -1;
	}
	if (s->init)
		memcpy(s->m.params, s->init, s->m.n_params * sizeof(float));
	else
		llama_params_init_random(&s->cfg, s->m.params, (uint64_t)o->seed);

	struct adamw_config oc;
	adamw_config_default(&oc);
	oc.lr = o->lr;
	oc.min_lr = o->min_lr >= 0.0f ? o->min_lr : o->lr / 10;
	oc.warmup_steps = o->warmup >= 0 ? o->warmup : o->steps / 20;
	oc.total_steps = o->steps;
	oc.weight_decay = o->wd;
	oc.grad_clip = o->clip;
	if (adamw_init(&s->opt, &oc, &s->cfg, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd train-lm: %s\n", err);
		return -1;
	}
	if (o->resume) {
		if (!o->init_path || !s->st.has_train || !s->st.m || !s->st.v) {
			fprintf(stderr, "rlhfd train-lm: --resume needs --init with a saved training state\n");
			return -1;
		}
		memcpy(s->opt.m, s->st.m, s->opt.n * sizeof(float));
		memcpy(s->opt.v, s->st.v, s->opt.n * sizeof(float));
		s->opt.step = s->st.step > 0 && s->st.step < 1 << 30 ? (int)s->st.step : 0;
		memcpy(&s->rng, &s->st.rng[0], sizeof s->rng);
	}
	json_t *jm = json_pack("{s:s, s:s, s:i, s:i}", "kind",
			       o->kind ? o->kind : s->sft ? "sft" : "base", "template", o->tmpl,
			       "bos", TOKENIZER_BOS, "eos", TOKENIZER_EOS);
	s->meta = jm ? json_dumps(jm, JSON_COMPACT) : NULL;
	json_decref(jm);
	if (!s->meta) {
		fprintf(stderr, "rlhfd train-lm: out of memory\n");
		return -1;
	}
	return 0;
}

/* Prints the plan, then trains and saves.  0, or -1 after printing what failed. */
static int train_lm_run(struct train_lm *s, const struct train_lm_opts *o)
{
	const struct llama_config *c = &s->cfg;
	const struct lmdata_set *d = &s->data;
	char err[512];
	printf("train-lm: %s data, %zu %s, %zu weighted tokens%s; model dim %d hidden %d layers %d "
	       "heads %d kv %d vocab %d seq %d (%zu params); %d steps of %d x %d x %d tokens, "
	       "%d threads\n",
	       s->sft ? "sft" : "text", s->sft ? d->n_rows : d->n_stream,
	       s->sft ? "examples" : "tokens", d->n_target, d->skipped ? " (some lines skipped)" : "",
	       c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size, s->T,
	       llama_params_count_llama2c(c), o->steps, o->accum, o->batch, s->T, s->nthreads);
	if (d->skipped)
		printf("train-lm: skipped %zu lines (no prompt/response, or the prompt fills the row)\n",
		       d->skipped);
	fflush(stdout);

	if (s->opt.step >= o->steps) /* when resuming, --steps is the total */
		printf("train-lm: the checkpoint is already at step %d of %d\n", s->opt.step, o->steps);
	struct lmtrain_config tc = { .steps = o->steps, .batch = o->batch, .accum = o->accum,
				     .log_every = o->log_every, .save_every = o->save_every,
				     .out_path = o->out_path, .meta = s->meta };
	if (lmtrain_run(&s->m, &s->opt, d, &s->rng, &tc, print_step, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd train-lm: %s\n", err);
		return -1;
	}
	return 0;
}

int cmd_train_lm(int argc, char **argv)
{
	struct train_lm_opts o = {
		.cfg = { .dim = 64, .hidden_dim = 172, .n_layers = 5, .n_heads = 8, .n_kv_heads = 4,
			 .vocab_size = 0, .seq_len = 256, .shared_classifier = true },
		.format = "auto", .tmpl = "User: {prompt}\nAssistant:",
		.steps = 1000, .batch = 8, .accum = 1, .seed = 1, .log_every = 10, .warmup = -1,
		.lr = 1e-3f, .min_lr = -1.0f, .wd = 0.1f, .clip = 1.0f
	};
	struct cli_opt opts[] = {
		{ "tokenizer", CLI_STR, &o.tok_path, "tokenizer.bin (required)" },
		{ "data", CLI_STR, &o.data_path, "text file (texts split by blank lines) or JSONL (required)" },
		{ "out", CLI_STR, &o.out_path, "checkpoint to write (v1 + .rlhfd sidecar) (required)" },
		{ "init", CLI_STR, &o.init_path, "start from this checkpoint (else a new model)" },
		{ "format", CLI_STR, &o.format, "text, jsonl or auto (by the first character)" },
		{ "template", CLI_STR, &o.tmpl, "jsonl prompt template, {prompt} replaced" },
		{ "kind", CLI_STR, &o.kind, "metadata kind (default: base for text, sft for jsonl)" },
		{ "dim", CLI_INT, &o.cfg.dim, "new model: residual width (64)" },
		{ "hidden", CLI_INT, &o.cfg.hidden_dim, "new model: SwiGLU width (172)" },
		{ "layers", CLI_INT, &o.cfg.n_layers, "new model: layers (5)" },
		{ "heads", CLI_INT, &o.cfg.n_heads, "new model: query heads (8)" },
		{ "kv-heads", CLI_INT, &o.cfg.n_kv_heads, "new model: key/value heads (4)" },
		{ "seq", CLI_INT, &o.cfg.seq_len, "tokens per row (new model: also seq_len) (256)" },
		{ "untied", CLI_FLAG, &o.untied, "new model: a classifier separate from the embedding" },
		{ "steps", CLI_INT, &o.steps, "optimizer steps in all (with --resume, counted from 0) (1000)" },
		{ "batch", CLI_INT, &o.batch, "rows per micro-batch (8)" },
		{ "accum", CLI_INT, &o.accum, "micro-batches per step (1)" },
		{ "lr", CLI_FLOAT, &o.lr, "peak learning rate (1e-3)" },
		{ "min-lr", CLI_FLOAT, &o.min_lr, "end of the cosine (lr/10)" },
		{ "warmup", CLI_INT, &o.warmup, "warmup steps (steps/20)" },
		{ "weight-decay", CLI_FLOAT, &o.wd, "AdamW decoupled decay on matrices (0.1)" },
		{ "clip", CLI_FLOAT, &o.clip, "global gradient-norm clip, 0 = off (1.0)" },
		{ "seed", CLI_INT, &o.seed, "random seed: init and batches (1)" },
		{ "threads", CLI_INT, &o.nthreads, "threads (0 = all cores)" },
		{ "log-every", CLI_INT, &o.log_every, "progress line every N steps (10)" },
		{ "save-every", CLI_INT, &o.save_every, "also save every N steps (0 = at the end)" },
		{ "resume", CLI_FLAG, &o.resume, "with --init: continue its AdamW state and step count" },
		{ 0 }
	};
	int rc = cli_parse(argc, argv, opts, "--tokenizer FILE --data FILE --out FILE [options]",
			   NULL, 0, NULL);
	if (rc)
		return cli_exit_code(rc);
	if (!o.tok_path || !o.data_path || !o.out_path) {
		fprintf(stderr, "rlhfd train-lm: --tokenizer, --data and --out are required\n");
		return 2;
	}
	if (o.steps <= 0 || o.batch <= 0 || o.accum <= 0 || o.log_every <= 0 || o.save_every < 0 ||
	    !(o.lr > 0.0f)) {
		fprintf(stderr, "rlhfd train-lm: --steps, --batch, --accum, --log-every and --lr must be positive\n");
		return 2;
	}
	if (strcmp(o.format, "auto") && strcmp(o.format, "text") && strcmp(o.format, "jsonl")) {
		fprintf(stderr, "rlhfd train-lm: --format must be text, jsonl or auto\n");
		return 2;
	}
	struct train_lm s = { 0 };
	rc = train_lm_load(&s, &o) < 0 || train_lm_model(&s, &o) < 0 || train_lm_run(&s, &o) < 0;
	train_lm_release(&s);
	return rc;
}
