/*
 * server/demo/demo_model.c — the demo model pipeline: corpora, tokenizer,
 * pre-training, SFT, manifest (see demo_model.h).
 */
#include "server/demo/demo_model.h"
#include "server/demo/demo_world.h"
#include "server/worker/progress.h"
#include "model/adamw.h"
#include "model/checkpoint.h"
#include "model/lmdata.h"
#include "model/lmtrain.h"
#include "model/threads.h"
#include "model/tokenizer.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void demo_model_config_default(struct demo_model_config *c)
{
	/* Chosen by measurement (see demo_model.h): 1000 steps over a 3 MB corpus
	 * (~2.9 epochs of 1.07 M tokens) give a base model that answers capital
	 * questions in FAQ form right 96% / 92% (train / held-out countries,
	 * greedy) and an SFT model that keeps most of it on held-out countries;
	 * 700 steps over 1 MB left the SFT model right on 27% of them. */
	memset(c, 0, sizeof *c);
	c->seed = DEMO_DEFAULT_SEED;
	c->pretrain_bytes = 3000000;
	c->sft_pairs = DEMO_SFT_PAIRS;
	c->vocab_size = 1024;
	c->model = (struct llama_config){ .dim = 192, .hidden_dim = 512, .n_layers = 4,
					  .n_heads = 6, .n_kv_heads = 6, .vocab_size = 0,
					  .seq_len = 192, .shared_classifier = true };
	c->pretrain = (struct demo_model_phase){ .steps = 1000, .batch = 16, .accum = 1,
						 .seq = 192, .lr = 2e-3f,
						 .warmup = 50, .weight_decay = 0.1f };
	c->sft = (struct demo_model_phase){ .steps = 120, .batch = 16, .accum = 1, .seq = 160,
					    .lr = 5e-4f, .warmup = 12,
					    .weight_decay = 0.1f };
	/* the cosines end at a tenth of the peak (as `rlhfd demo model` sets them) */
	c->pretrain.min_lr = c->pretrain.lr / 10;
	c->sft.min_lr = c->sft.lr / 10;
	c->sft_replay = 0;
	c->sft_replay_weight = 0.25f;
	c->threads = 0;
	c->progress = NULL;
}

/* ---- files ------------------------------------------------------------------- */

static int path_join(char *out, size_t n, const char *dir, const char *name, char *err,
		     size_t errlen)
{
	if ((size_t)snprintf(out, n, "%s/%s", dir, name) >= n) {
		snprintf(err, errlen, "path too long: '%s/%s'", dir, name);
		return -1;
	}
	return 0;
}

/* mkdir -p */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
		snprintf(err, errlen, "path too long: '%s'", dir);
		return -1;
	}
	for (char *s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST) {
				snprintf(err, errlen, "cannot create '%s': %s", p, strerror(errno));
				return -1;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Writes len bytes to dir/name atomically. */
static int write_file(const char *dir, const char *name, const char *buf, size_t len,
		      char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct ckpt_atomic a;
	if (path_join(path, sizeof path, dir, name, err, errlen) < 0 ||
	    ckpt_atomic_begin(&a, path, err, errlen) < 0)
		return -1;
	if (fwrite(buf, 1, len, a.f) != len) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		ckpt_atomic_abort(&a);
		return -1;
	}
	return ckpt_atomic_commit(&a, err, errlen);
}

/* Writes the SFT pairs as JSONL ({"prompt", "response"} per line) to dir/name. */
static int write_pairs(const char *dir, const char *name, const struct demo_pairs *p,
		       char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct ckpt_atomic a;
	if (path_join(path, sizeof path, dir, name, err, errlen) < 0 ||
	    ckpt_atomic_begin(&a, path, err, errlen) < 0)
		return -1;
	for (int i = 0; i < p->n; i++) {
		json_t *o = json_pack("{s:s, s:s}", "prompt", p->v[i].prompt, "response",
				      p->v[i].response);
		int rc = o ? json_dumpf(o, a.f, JSON_COMPACT) : -1;
		json_decref(o);
		if (rc < 0 || fputc('\n', a.f) == EOF) {
			snprintf(err, errlen, "cannot write '%s'", path);
			ckpt_atomic_abort(&a);
			return -1;
		}
	}
	return ckpt_atomic_commit(&a, err, errlen);
}

/* ---- training ------------------------------------------------------------------ */

/* What the progress callback keeps across the steps of one phase. */
struct train_watch {
	struct progress *bar;
	size_t tokens_per_step;
	double ema;           /* smoothed loss for the bar */
	double tail_sum;      /* loss summed over the last 10% of steps */
	int tail_n, tail_from;
};

static int on_step(void *arg, const struct lmtrain_report *r)
{
	struct train_watch *w = arg;
	if (r->saved)
		return 0;
	w->ema = r->step == r->first + 1 ? r->loss : 0.9 * w->ema + 0.1 * r->loss;
	if (r->step > w->tail_from) {
		w->tail_sum += r->loss;
		w->tail_n++;
	}
	double tps = r->elapsed > 0 ? (double)(r->step - r->first) * w->tokens_per_step / r->elapsed
				    : 0.0;
	progress_update(w->bar, r->step - r->first, r->steps - r->first, r->eta,
			"loss %.3f  %.0f tok/s", w->ema, tps);
	return 0;
}

/*
 * One phase: trains params (llama_params_count(cfg) floats, updated in place)
 * on d with the phase's settings and saves path with meta.  *loss gets the mean
 * loss of the last 10% of steps.
 */
static int train_phase(const char *name, const struct llama_config *cfg, float *params,
		       const struct lmdata_set *d, const struct demo_model_phase *ph, bool freeze,
		       uint64_t seed, const char *path, const char *meta, struct progress *bar,
		       double *loss, char *err, size_t errlen)
{
	struct llama_model m;
	struct adamw opt;
	struct adamw_config oc;
	int rc = -1;
	if (llama_model_init(&m, cfg, ph->batch, d->T, 0, err, errlen) < 0)
		return -1;
	memcpy(m.params, params, m.n_params * sizeof(float));
	adamw_config_default(&oc);
	oc.lr = ph->lr;
	oc.min_lr = ph->min_lr;
	oc.warmup_steps = ph->warmup;
	oc.total_steps = ph->steps;
	oc.weight_decay = ph->weight_decay;
	oc.grad_clip = 1.0f;
	if (adamw_init(&opt, &oc, cfg, err, errlen) < 0)
		goto out_model;
	uint64_t rng = lmdata_rng_seed(seed);
	struct lmtrain_config tc = { .steps = ph->steps, .batch = ph->batch, .accum = ph->accum,
				     .log_every = 1, .save_every = 0, .out_path = path,
				     .meta = meta, .weights_only = true,
				     .freeze_embedding = freeze };
	struct train_watch w = { .bar = bar,
				 .tokens_per_step = (size_t)ph->batch * ph->accum * d->T,
				 .tail_from = ph->steps - (ph->steps + 9) / 10 };
	progress_phase(bar, name);
	if (lmtrain_run(&m, &opt, d, &rng, &tc, on_step, &w, err, errlen) < 0)
		goto out_opt;
	*loss = w.tail_n ? w.tail_sum / w.tail_n : 0.0;
	progress_end(bar, "%d steps, loss %.3f", ph->steps, *loss);
	memcpy(params, m.params, m.n_params * sizeof(float));
	rc = 0;
out_opt:
	adamw_release(&opt);
out_model:
	llama_model_release(&m);
	return rc;
}

/*
 * Adds n documents of the pre-training text, evenly spaced, as replay rows of
 * weight w to the SFT set.  0 or -ENOMEM.
 */
static int add_replay(struct lmdata_set *d, const struct tokenizer *tk, const char *text, int n,
		      float w)
{
	if (n <= 0)
		return 0;
	int docs = 1;
	for (const char *p = strstr(text, "\n\n"); p; p = strstr(p + 2, "\n\n"))
		docs++;
	int want = n < docs ? n : docs, taken = 0, i = 0;
	const char *p = text;
	while (*p && taken < want) {
		const char *end = strstr(p, "\n\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		/* document i is taken when it is the first at or after taken * docs / want */
		if ((long)i * want >= (long)taken * docs) {
			char *doc = strndup(p, len);
			int rc = doc ? lmdata_set_add_text_row(d, tk, doc, w) : -ENOMEM;
			free(doc);
			if (rc < 0)
				return rc;
			taken++;
		}
		i++;
		if (!end)
			break;
		p = end + 2;
	}
	return 0;
}

/* Reads an existing base checkpoint of shape cfg into params. */
static int load_base(const char *path, const struct llama_config *cfg, float *params, char *err,
		     size_t errlen)
{
	struct llama_config lc;
	float *p = NULL;
	if (ckpt_load_model(path, &lc, &p, NULL, err, errlen) < 0)
		return -1;
	if (lc.dim != cfg->dim || lc.hidden_dim != cfg->hidden_dim ||
	    lc.n_layers != cfg->n_layers || lc.n_heads != cfg->n_heads ||
	    lc.n_kv_heads != cfg->n_kv_heads || lc.vocab_size != cfg->vocab_size ||
	    lc.seq_len != cfg->seq_len || lc.shared_classifier != cfg->shared_classifier) {
		snprintf(err, errlen, "'%s' has another shape than the configuration", path);
		free(p);
		return -1;
	}
	memcpy(params, p, llama_params_count(cfg) * sizeof(float));
	free(p);
	return 0;
}

/* The sidecar metadata of one checkpoint: a new string. */
static char *model_meta(const char *kind, const char *name, const char *parent, uint64_t seed)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I}", "kind", kind, "name", name,
			      "template", DEMO_MODEL_TEMPLATE, "tokenizer", DEMO_MODEL_TOKENIZER,
			      "bos", TOKENIZER_BOS, "eos", TOKENIZER_EOS, "seed", (json_int_t)seed);
	if (o && parent)
		json_object_set_new(o, "parent", json_string(parent));
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return s;
}

static json_t *phase_json(const struct demo_model_phase *p)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:f, s:f, s:i, s:f}", "steps", p->steps, "batch",
			 p->batch, "accum", p->accum, "seq", p->seq, "lr", (double)p->lr, "min_lr",
			 (double)p->min_lr, "warmup", p->warmup, "weight_decay",
			 (double)p->weight_decay);
}

/* The manifest: what was built and how (no timings: the same config gives the
 * same bytes). */
static char *manifest(const struct demo_model_config *c, const struct llama_config *cfg,
		      const struct demo_model_stats *s)
{
	json_t *o = json_pack(
		"{s:i, s:I, s:I, s:i, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b}, s:I, s:o, s:o,"
		" s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:{s:f, s:f}, s:I, s:I}",
		"version", 1, "seed", (json_int_t)c->seed, "pretrain_bytes",
		(json_int_t)c->pretrain_bytes, "sft_pairs", c->sft_pairs,
		"model", "dim", cfg->dim, "hidden_dim", cfg->hidden_dim, "n_layers", cfg->n_layers,
		"n_heads", cfg->n_heads, "n_kv_heads", cfg->n_kv_heads, "vocab_size",
		cfg->vocab_size, "seq_len", cfg->seq_len, "shared_classifier",
		cfg->shared_classifier,
		"params", (json_int_t)s->n_params, "pretrain", phase_json(&c->pretrain), "sft",
		phase_json(&c->sft),
		"files", "tokenizer", DEMO_MODEL_TOKENIZER, "base", DEMO_MODEL_BASE, "sft",
		DEMO_MODEL_SFT, "pretrain_text", DEMO_MODEL_PRETRAIN, "sft_data",
		DEMO_MODEL_SFT_DATA,
		"template", DEMO_MODEL_TEMPLATE,
		"loss", "pretrain", s->pretrain_loss, "sft", s->sft_loss,
		"pretrain_tokens", (json_int_t)s->pretrain_tokens, "sft_rows",
		(json_int_t)s->sft_rows);
	if (o) {
		json_object_set_new(o, "sft_replay", json_integer(c->sft_replay));
		json_object_set_new(o, "sft_replay_weight", json_real(c->sft_replay_weight));
	}
	char *txt = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return txt;
}

int demo_model_build(const char *dir, const struct demo_model_config *c,
		     struct demo_model_stats *stats, char *err, size_t errlen)
{
	struct demo_model_stats st = { 0 };
	struct progress bar;
	struct tokenizer tk;
	struct demo_pairs pairs = { 0 };
	struct lmdata_set pre, sft;
	struct llama_config cfg = c->model;
	char path[PATH_MAX];
	char *text = NULL, *meta = NULL, *man = NULL;
	float *params = NULL;
	size_t len = 0;
	int rc = -1;

	progress_init(&bar, c->progress);
	tokenizer_init(&tk);
	lmdata_set_init(&pre, c->pretrain.seq);
	lmdata_set_init(&sft, c->sft.seq);
	if (c->pretrain.seq > cfg.seq_len || c->sft.seq > cfg.seq_len || c->pretrain.seq < 2 ||
	    c->sft.seq < 2 || c->vocab_size < TOKENIZER_N_BASE || c->sft_pairs <= 0 ||
	    c->pretrain_bytes == 0) {
		snprintf(err, errlen, "bad demo model configuration (row lengths, vocabulary, sizes)");
		return -1;
	}
	if (make_dirs(dir, err, errlen) < 0)
		return -1;
	threads_set(c->threads);
	/* an old manifest goes first: an interrupted rebuild is never "ready" */
	if (path_join(path, sizeof path, dir, DEMO_MODEL_MANIFEST, err, errlen) < 0 ||
	    (unlink(path) < 0 && errno != ENOENT)) {
		if (errno != ENOENT)
			snprintf(err, errlen, "cannot remove '%s': %s", path, strerror(errno));
		return -1;
	}

	/* 1. corpora */
	double t = progress_now();
	progress_phase(&bar, "corpus");
	text = demo_pretrain_text(c->seed, c->pretrain_bytes, &len);
	if (!text || demo_sft_pairs(&pairs, c->seed, c->sft_pairs) < 0) {
		snprintf(err, errlen, "out of memory generating the demo corpora");
		goto out;
	}
	if (write_file(dir, DEMO_MODEL_PRETRAIN, text, len, err, errlen) < 0 ||
	    write_pairs(dir, DEMO_MODEL_SFT_DATA, &pairs, err, errlen) < 0)
		goto out;
	progress_end(&bar, "%zu bytes of pre-training text, %d instruction pairs", len, pairs.n);
	st.sec_corpus = progress_now() - t;

	/* 2. tokenizer */
	t = progress_now();
	progress_phase(&bar, "tokenizer");
	if (tokenizer_train(&tk, text, len, c->vocab_size, NULL, NULL, err, errlen) < 0 ||
	    path_join(path, sizeof path, dir, DEMO_MODEL_TOKENIZER, err, errlen) < 0 ||
	    tokenizer_save(&tk, path, err, errlen) < 0)
		goto out;
	st.vocab_size = tk.vocab_size;
	progress_end(&bar, "%d entries", tk.vocab_size);
	st.sec_tokenizer = progress_now() - t;

	/* token data of both phases */
	if (lmdata_set_text(&pre, &tk, text) < 0) {
		snprintf(err, errlen, "out of memory tokenizing the pre-training text");
		goto out;
	}
	for (int i = 0; i < pairs.n; i++)
		if (lmdata_set_add_sft(&sft, &tk, DEMO_MODEL_TEMPLATE, pairs.v[i].prompt,
				       pairs.v[i].response) < 0) {
			snprintf(err, errlen, "out of memory tokenizing the instruction pairs");
			goto out;
		}
	if (add_replay(&sft, &tk, text, c->sft_replay, c->sft_replay_weight) < 0) {
		snprintf(err, errlen, "out of memory tokenizing the replayed documents");
		goto out;
	}
	if (!lmdata_set_usable(&pre) || !lmdata_set_usable(&sft)) {
		snprintf(err, errlen, "the demo corpora are too small for rows of %d / %d tokens",
			 pre.T, sft.T);
		goto out;
	}
	st.pretrain_tokens = pre.n_stream;
	st.sft_rows = sft.n_rows;
	st.sft_skipped = sft.skipped;

	/* 3. pre-training from random weights */
	cfg.vocab_size = tk.vocab_size;
	if (llama_config_check(&cfg, err, errlen) < 0)
		goto out;
	st.n_params = llama_params_count_llama2c(&cfg);
	params = malloc(llama_params_count(&cfg) * sizeof(float));
	if (!params) {
		snprintf(err, errlen, "out of memory for %zu parameters", st.n_params);
		goto out;
	}
	llama_params_init_random(&cfg, params, c->seed);
	t = progress_now();
	meta = model_meta("base", "demo-base", NULL, c->seed);
	if (!meta || path_join(path, sizeof path, dir, DEMO_MODEL_BASE, err, errlen) < 0) {
		if (!meta)
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (c->reuse_base) {
		if (load_base(path, &cfg, params, err, errlen) < 0)
			goto out;
	} else if (train_phase("pretrain", &cfg, params, &pre, &c->pretrain, false, c->seed,
			       path, meta, &bar, &st.pretrain_loss, err, errlen) < 0) {
		goto out;
	}
	st.sec_pretrain = progress_now() - t;

	/* 4. instruction tuning from the base weights */
	free(meta);
	t = progress_now();
	meta = model_meta("sft", "demo-sft", DEMO_MODEL_BASE, c->seed);
	if (!meta || path_join(path, sizeof path, dir, DEMO_MODEL_SFT, err, errlen) < 0 ||
	    train_phase("sft", &cfg, params, &sft, &c->sft, c->sft_freeze_embedding, c->seed + 1,
			path, meta, &bar, &st.sft_loss, err, errlen) < 0) {
		if (!meta)
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	st.sec_sft = progress_now() - t;

	/* 5. the manifest, last */
	man = manifest(c, &cfg, &st);
	if (!man) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (write_file(dir, DEMO_MODEL_MANIFEST, man, strlen(man), err, errlen) < 0)
		goto out;
	rc = 0;
out:
	if (stats)
		*stats = st;
	tokenizer_release(&tk);
	demo_pairs_release(&pairs);
	lmdata_set_release(&pre);
	lmdata_set_release(&sft);
	free(text);
	free(meta);
	free(man);
	free(params);
	return rc;
}

bool demo_model_ready(const char *dir)
{
	static const char *const names[] = { DEMO_MODEL_MANIFEST, DEMO_MODEL_TOKENIZER,
					     DEMO_MODEL_BASE, DEMO_MODEL_BASE CKPT_SIDECAR_SUFFIX,
					     DEMO_MODEL_SFT, DEMO_MODEL_SFT CKPT_SIDECAR_SUFFIX };
	char path[PATH_MAX], err[PATH_MAX + 64];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct stat sb;
		if (path_join(path, sizeof path, dir, names[i], err, sizeof err) < 0 ||
		    stat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
			return false;
	}
	return true;
}
