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
 * weight w to the SFT set.  0, or -1 when out of memory.
 */
static int add_replay(struct lmdata_set *d, const struct tokenizer *tk, const char *text, int n,
		      float w)
{
	size_t docs = lmdata_texts_count(text), want = n < 0 ? 0 : (size_t)n, r = 0, len;
	const char *t;
	struct lmdata_texts it;
	if (want > docs)
		want = docs;
	lmdata_texts_init(&it, text);
	for (; want > 0 && lmdata_texts_next(&it, &t, &len); r++) {
		if (!lmdata_texts_spread(r, want, docs))
			continue;
		char *doc = strndup(t, len);
		int rc = doc ? lmdata_set_add_text_row(d, tk, doc, w) : -1;
		free(doc);
		if (rc < 0)
			return -1;
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

/* One build's state: set up by demo_model_build, filled phase by phase,
 * released whole by build_release whichever phase failed. */
struct build {
	const char *dir;              /* where the files go */
	const struct demo_model_config *c;
	struct demo_model_stats st;
	struct progress bar;
	char *text;                   /* the pre-training text (len bytes) */
	size_t len;
	struct demo_pairs pairs;      /* the instruction pairs */
	struct tokenizer tk;
	struct lmdata_set pre, sft;   /* the token rows of both phases */
	struct llama_config cfg;      /* the shape, with the tokenizer's vocab_size */
	float *params;                /* the weights: random, then base, then sft */
};

static void build_release(struct build *b)
{
	tokenizer_release(&b->tk);
	demo_pairs_release(&b->pairs);
	lmdata_set_release(&b->pre);
	lmdata_set_release(&b->sft);
	free(b->text);
	free(b->params);
}

/* 1. the corpora, generated and written. */
static int build_corpora(struct build *b, char *err, size_t errlen)
{
	const struct demo_model_config *c = b->c;
	double t = progress_now();
	progress_phase(&b->bar, "corpus");
	b->text = demo_pretrain_text(c->seed, c->pretrain_bytes, &b->len);
	if (!b->text || demo_sft_pairs(&b->pairs, c->seed, c->sft_pairs) < 0) {
		snprintf(err, errlen, "out of memory generating the demo corpora");
		return -1;
	}
	if (write_file(b->dir, DEMO_MODEL_PRETRAIN, b->text, b->len, err, errlen) < 0 ||
	    write_pairs(b->dir, DEMO_MODEL_SFT_DATA, &b->pairs, err, errlen) < 0)
		return -1;
	progress_end(&b->bar, "%zu bytes of pre-training text, %d instruction pairs", b->len,
		     b->pairs.n);
	b->st.sec_corpus = progress_now() - t;
	return 0;
}

/* 2. the tokenizer, trained on the pre-training text and written. */
static int build_tokenizer(struct build *b, char *err, size_t errlen)
{
	char path[PATH_MAX];
	double t = progress_now();
	progress_phase(&b->bar, "tokenizer");
	if (tokenizer_train(&b->tk, b->text, b->len, b->c->vocab_size, NULL, NULL, err, errlen) < 0 ||
	    path_join(path, sizeof path, b->dir, DEMO_MODEL_TOKENIZER, err, errlen) < 0 ||
	    tokenizer_save(&b->tk, path, err, errlen) < 0)
		return -1;
	b->st.vocab_size = b->tk.vocab_size;
	progress_end(&b->bar, "%d entries", b->tk.vocab_size);
	b->st.sec_tokenizer = progress_now() - t;
	return 0;
}

/* The token data of both phases: the pre-training stream; the instruction
 * pairs through the template, plus the replayed documents. */
static int build_data(struct build *b, char *err, size_t errlen)
{
	const struct demo_model_config *c = b->c;
	if (lmdata_set_text(&b->pre, &b->tk, b->text) < 0) {
		snprintf(err, errlen, "out of memory tokenizing the pre-training text");
		return -1;
	}
	for (int i = 0; i < b->pairs.n; i++)
		if (lmdata_set_add_sft(&b->sft, &b->tk, DEMO_MODEL_TEMPLATE, b->pairs.v[i].prompt,
				       b->pairs.v[i].response) < 0) {
			snprintf(err, errlen, "out of memory tokenizing the instruction pairs");
			return -1;
		}
	if (add_replay(&b->sft, &b->tk, b->text, c->sft_replay, c->sft_replay_weight) < 0) {
		snprintf(err, errlen, "out of memory tokenizing the replayed documents");
		return -1;
	}
	if (!lmdata_set_usable(&b->pre) || !lmdata_set_usable(&b->sft)) {
		snprintf(err, errlen, "the demo corpora are too small for rows of %d / %d tokens",
			 b->pre.T, b->sft.T);
		return -1;
	}
	b->st.pretrain_tokens = b->pre.n_stream;
	b->st.sft_rows = b->sft.n_rows;
	b->st.sft_skipped = b->sft.skipped;
	return 0;
}

/* 3. the base model: pre-trained from random weights (or, with reuse_base,
 * the one already in the directory). */
static int build_base(struct build *b, char *err, size_t errlen)
{
	const struct demo_model_config *c = b->c;
	char path[PATH_MAX], *meta = NULL;
	int rc = -1;
	b->cfg.vocab_size = b->tk.vocab_size;
	if (llama_config_check(&b->cfg, err, errlen) < 0)
		return -1;
	b->st.n_params = llama_params_count_llama2c(&b->cfg);
	b->params = malloc(llama_params_count(&b->cfg) * sizeof(float));
	if (!b->params) {
		snprintf(err, errlen, "out of memory for %zu parameters", b->st.n_params);
		return -1;
	}
	llama_params_init_random(&b->cfg, b->params, c->seed);
	double t = progress_now();
	meta = model_meta("base", "demo-base", NULL, c->seed);
	if (!meta || path_join(path, sizeof path, b->dir, DEMO_MODEL_BASE, err, errlen) < 0) {
		if (!meta)
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (c->reuse_base) {
		if (load_base(path, &b->cfg, b->params, err, errlen) < 0)
			goto out;
	} else if (train_phase("pretrain", &b->cfg, b->params, &b->pre, &c->pretrain, false,
			       c->seed, path, meta, &b->bar, &b->st.pretrain_loss, err, errlen) < 0) {
		goto out;
	}
	b->st.sec_pretrain = progress_now() - t;
	rc = 0;
out:
	free(meta);
	return rc;
}

/* 4. the SFT model: instruction-tuned from the base weights. */
static int build_sft(struct build *b, char *err, size_t errlen)
{
	const struct demo_model_config *c = b->c;
	char path[PATH_MAX];
	double t = progress_now();
	char *meta = model_meta("sft", "demo-sft", DEMO_MODEL_BASE, c->seed);
	int rc = -1;
	if (!meta || path_join(path, sizeof path, b->dir, DEMO_MODEL_SFT, err, errlen) < 0 ||
	    train_phase("sft", &b->cfg, b->params, &b->sft, &c->sft, c->sft_freeze_embedding,
			c->seed + 1, path, meta, &b->bar, &b->st.sft_loss, err, errlen) < 0) {
		if (!meta)
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	b->st.sec_sft = progress_now() - t;
	rc = 0;
out:
	free(meta);
	return rc;
}

/* 5. the manifest, last: its presence says the directory is complete. */
static int build_manifest(struct build *b, char *err, size_t errlen)
{
	char *man = manifest(b->c, &b->cfg, &b->st);
	if (!man) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = write_file(b->dir, DEMO_MODEL_MANIFEST, man, strlen(man), err, errlen);
	free(man);
	return rc < 0 ? -1 : 0;
}

int demo_model_build(const char *dir, const struct demo_model_config *c,
		     struct demo_model_stats *stats, char *err, size_t errlen)
{
	struct build b = { .dir = dir, .c = c, .cfg = c->model };
	char path[PATH_MAX];

	progress_init(&b.bar, c->progress);
	lmdata_set_init(&b.pre, c->pretrain.seq);
	lmdata_set_init(&b.sft, c->sft.seq);
	if (c->pretrain.seq > b.cfg.seq_len || c->sft.seq > b.cfg.seq_len || c->pretrain.seq < 2 ||
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
	int rc = build_corpora(&b, err, errlen) < 0 || build_tokenizer(&b, err, errlen) < 0 ||
		 build_data(&b, err, errlen) < 0 || build_base(&b, err, errlen) < 0 ||
		 build_sft(&b, err, errlen) < 0 || build_manifest(&b, err, errlen) < 0 ? -1 : 0;
	if (stats)
		*stats = b.st;
	build_release(&b);
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
