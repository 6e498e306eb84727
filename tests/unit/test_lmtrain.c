/*
 * tests/unit/test_lmtrain.c — training sets (lmdata_set_*) and the training
 * loop (lmtrain_run): batches are windows of the stream / whole SFT rows as
 * lmdata_sft_row builds them; accumulating two micro-batches is one batch of
 * twice the rows (same loss, same update to float tolerance); a run lowers the
 * loss below the uniform predictor's ln(V); saves land with or without the
 * training state; a progress hook can stop a run before anything is saved.
 */
#include "model/checkpoint.h"
#include "model/lmdata.h"
#include "model/lmtrain.h"
#include "model/threads.h"
#include "tests/test.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *corpus =
	"The capital of France is Paris. Paris is a big city.\n\n"
	"The capital of Spain is Madrid. Madrid is a big city.\n\n"
	"Geography quiz\n1. What is the capital of France?\n2. What is the capital of Peru?\n\n"
	"The capital of Peru is Lima. Lima is an old city.\n\n"
	"Roses are red, the sky is blue, the sea is green and so are you.\n";

static const char *tmpl = "User: {prompt}\nAssistant:";

static int trained(struct tokenizer *tk)
{
	char err[256];
	tokenizer_init(tk);
	int rc = tokenizer_train(tk, corpus, strlen(corpus), 300, NULL, NULL, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	return rc;
}

static void test_text_batches(void)
{
	struct tokenizer tk;
	REQUIRE(trained(&tk) == 0);
	int *stream = NULL;
	size_t n = 0;
	CHECK_INT_EQ(lmdata_text_stream(&tk, corpus, &stream, &n), 0);
	struct lmdata_set d;
	lmdata_set_init(&d, 16);
	CHECK(!lmdata_set_usable(&d));
	CHECK_INT_EQ(lmdata_set_text(&d, &tk, corpus), 0);
	CHECK(lmdata_set_usable(&d));
	CHECK_INT_EQ(d.n_stream, n);
	/* a set is text or sft, not both */
	CHECK_INT_EQ(lmdata_set_add_sft(&d, &tk, tmpl, "a", "b"), -EINVAL);
	int tok[4 * 16], tg[4 * 16];
	float w[4 * 16];
	uint64_t rng = lmdata_rng_seed(7);
	lmdata_set_batch(&d, 4, &rng, tok, tg, w);
	for (int b = 0; b < 4; b++) {
		/* the row is stream[off .. off+16], wherever it starts */
		size_t off = 0;
		bool found = false;
		for (off = 0; off + 16 < n && !found; off++)
			found = !memcmp(stream + off, tok + b * 16, 16 * sizeof(int)) &&
				stream[off + 16] == tg[b * 16 + 15];
		CHECK_MSG(found, "row %d is not a window of the stream", b);
		for (int t = 0; t < 15; t++)
			CHECK_INT_EQ(tg[b * 16 + t], tok[b * 16 + t + 1]);
		for (int t = 0; t < 16; t++)
			CHECK(w[b * 16 + t] == 1.0f);
	}
	/* the same seed draws the same rows */
	int tok2[4 * 16], tg2[4 * 16];
	float w2[4 * 16];
	rng = lmdata_rng_seed(7);
	lmdata_set_batch(&d, 4, &rng, tok2, tg2, w2);
	CHECK(!memcmp(tok, tok2, sizeof tok));
	lmdata_set_release(&d);
	CHECK(!lmdata_set_usable(&d));
	free(stream);
	tokenizer_release(&tk);
}

static void test_sft_batches(void)
{
	struct tokenizer tk;
	REQUIRE(trained(&tk) == 0);
	const char *pr[3] = { "What is the capital of France?", "What is the capital of Peru?",
			      "What is the capital of Spain?" };
	const char *re[3] = { "Paris.", "The capital of Peru is Lima.", "Madrid." };
	struct lmdata_set d;
	lmdata_set_init(&d, 64);
	for (int i = 0; i < 3; i++)
		CHECK_INT_EQ(lmdata_set_add_sft(&d, &tk, tmpl, pr[i], re[i]), 1);
	/* a row the prompt fills is skipped and counted */
	struct lmdata_set s;
	lmdata_set_init(&s, 3);
	CHECK_INT_EQ(lmdata_set_add_sft(&s, &tk, tmpl, pr[0], re[0]), 0);
	CHECK_INT_EQ(s.skipped, 1);
	CHECK(!lmdata_set_usable(&s));
	lmdata_set_release(&s);
	CHECK_INT_EQ(d.n_rows, 3);
	CHECK(lmdata_set_usable(&d));
	CHECK_INT_EQ(lmdata_set_text(&d, &tk, corpus), -EINVAL);
	if (!lmdata_set_usable(&d)) {   /* failed above: nothing to draw from */
		lmdata_set_release(&d);
		tokenizer_release(&tk);
		REQUIRE(lmdata_set_usable(&d));
	}
	/* every drawn row is one of the three rows lmdata_sft_row builds */
	static int rt[3][64], rg[3][64];
	static float rw[3][64];
	size_t nt = 0;
	for (int i = 0; i < 3; i++)
		nt += (size_t)lmdata_sft_row(&tk, tmpl, pr[i], re[i], 64, rt[i], rg[i], rw[i]);
	CHECK_INT_EQ(d.n_target, nt);
	int tok[8 * 64], tg[8 * 64];
	float w[8 * 64];
	uint64_t rng = lmdata_rng_seed(3);
	lmdata_set_batch(&d, 8, &rng, tok, tg, w);
	int seen[3] = { 0 };
	for (int b = 0; b < 8; b++) {
		int which = -1;
		for (int i = 0; i < 3; i++)
			if (!memcmp(tok + b * 64, rt[i], sizeof rt[i]) &&
			    !memcmp(tg + b * 64, rg[i], sizeof rg[i]) &&
			    !memcmp(w + b * 64, rw[i], sizeof rw[i]))
				which = i;
		CHECK_MSG(which >= 0, "row %d is none of the examples", b);
		if (which >= 0)
			seen[which]++;
	}
	CHECK(seen[0] + seen[1] + seen[2] == 8);
	lmdata_set_release(&d);
	tokenizer_release(&tk);
}

static void test_text_rows(void)
{
	struct tokenizer tk;
	REQUIRE(trained(&tk) == 0);
	const char *doc = "The capital of Peru is Lima.";
	int ids[64];
	size_t n = 0;
	CHECK_INT_EQ(tokenizer_encode(&tk, doc, true, true, ids, 64, &n), 0);
	struct lmdata_set d;
	lmdata_set_init(&d, 40);
	CHECK_INT_EQ(lmdata_set_add_text_row(&d, &tk, doc, 0.25f), 1);
	CHECK_INT_EQ(lmdata_set_add_text_row(&d, &tk, "", 0.25f), 0);
	CHECK_INT_EQ(lmdata_set_add_text_row(&d, &tk, doc, 0.0f), -EINVAL);
	CHECK_INT_EQ(d.n_rows, 1);
	CHECK_INT_EQ(d.n_target, n - 1);
	for (int t = 0; t < 40; t++) {
		CHECK_INT_EQ(d.rows[t], (size_t)t < n ? ids[t] : 0);
		CHECK_INT_EQ(d.tgts[t], (size_t)t + 1 < n ? ids[t + 1] : -1);
		CHECK(d.wts[t] == ((size_t)t + 1 < n ? 0.25f : 0.0f));
	}
	/* a row shorter than the text: cut, still weighted to its end */
	struct lmdata_set s;
	lmdata_set_init(&s, 4);
	CHECK_INT_EQ(lmdata_set_add_text_row(&s, &tk, doc, 1.0f), 1);
	CHECK_INT_EQ(s.n_target, 4);
	CHECK_INT_EQ(s.tgts[3], ids[4]);
	lmdata_set_release(&s);
	/* text rows mix with SFT rows */
	CHECK_INT_EQ(lmdata_set_add_sft(&d, &tk, tmpl, "Capital of Peru?", "Lima."), 1);
	CHECK_INT_EQ(d.n_rows, 2);
	lmdata_set_release(&d);
	tokenizer_release(&tk);
}

static const struct llama_config tiny = { .dim = 16, .hidden_dim = 32, .n_layers = 2,
					  .n_heads = 2, .n_kv_heads = 1, .vocab_size = 0,
					  .seq_len = 16, .shared_classifier = true };

struct seen_reports {
	int n, saves, stop_at;
	double first_loss, last_loss;
};

static int record(void *arg, const struct lmtrain_report *r)
{
	struct seen_reports *s = arg;
	if (r->saved) {
		s->saves++;
		return 0;
	}
	if (!s->n++)
		s->first_loss = r->loss;
	s->last_loss = r->loss;
	return s->stop_at && r->step >= s->stop_at;
}

/* Trains a fresh tiny model for steps; returns its params (caller frees). */
static bool freeze;

static float *train(const struct tokenizer *tk, int batch, int accum, int steps,
		    const char *out, bool weights_only, struct seen_reports *rep, int *rc)
{
	struct llama_config c = tiny;
	c.vocab_size = tk->vocab_size;
	struct llama_model m;
	struct adamw opt;
	struct adamw_config oc;
	char err[256];
	struct lmdata_set d;
	lmdata_set_init(&d, 16);
	CHECK_INT_EQ(lmdata_set_text(&d, tk, corpus), 0);
	CHECK_INT_EQ(llama_model_init(&m, &c, batch, 16, 0, err, sizeof err), 0);
	llama_params_init_random(&c, m.params, 5);
	adamw_config_default(&oc);
	oc.lr = 1e-2f;
	oc.min_lr = 1e-3f;
	oc.total_steps = steps;
	CHECK_INT_EQ(adamw_init(&opt, &oc, &c, err, sizeof err), 0);
	uint64_t rng = lmdata_rng_seed(11);
	struct lmtrain_config tc = { .steps = steps, .batch = batch, .accum = accum,
				     .log_every = 1, .out_path = out, .meta = "{\"kind\":\"base\"}",
				     .weights_only = weights_only, .freeze_embedding = freeze };
	*rc = lmtrain_run(&m, &opt, &d, &rng, &tc, record, rep, err, sizeof err);
	float *p = malloc(m.n_params * sizeof(float));
	memcpy(p, m.params, m.n_params * sizeof(float));
	adamw_release(&opt);
	llama_model_release(&m);
	lmdata_set_release(&d);
	return p;
}

static void test_accumulation_is_one_batch(void)
{
	struct tokenizer tk;
	REQUIRE(trained(&tk) == 0);
	struct llama_config c = tiny;
	c.vocab_size = tk.vocab_size;
	struct seen_reports a = { 0 }, b = { 0 };
	int rca, rcb;
	/* the same rows are drawn in the same order: 2 x 2 accumulated == 1 x 4 */
	float *pa = train(&tk, 2, 2, 3, NULL, false, &a, &rca);
	float *pb = train(&tk, 4, 1, 3, NULL, false, &b, &rcb);
	CHECK_INT_EQ(rca, 0);
	CHECK_INT_EQ(rcb, 0);
	CHECK_NEAR(a.first_loss, b.first_loss, 1e-5);
	CHECK_NEAR(a.last_loss, b.last_loss, 1e-4);
	double maxd = 0.0;
	for (size_t i = 0; i < llama_params_count(&c); i++)
		maxd = fmax(maxd, fabs(pa[i] - pb[i]));
	CHECK_MSG(maxd < 1e-4, "params differ by %g", maxd);
	free(pa);
	free(pb);
	tokenizer_release(&tk);
}

static void test_learns_and_saves(void)
{
	struct tokenizer tk;
	REQUIRE(trained(&tk) == 0);
	char dir[] = "/tmp/rlhfd_lmtrain_XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	char full[128], light[128], side[160];
	snprintf(full, sizeof full, "%s/full.bin", dir);
	snprintf(light, sizeof light, "%s/light.bin", dir);
	struct seen_reports r = { 0 }, r2 = { 0 };
	int rc;
	float *p = train(&tk, 4, 1, 60, full, false, &r, &rc);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(r.n, 60);
	CHECK_INT_EQ(r.saves, 1);
	/* better than the uniform predictor, and better than at the start */
	CHECK_MSG(r.last_loss < log(tk.vocab_size) - 1.0, "loss %g, ln V %g", r.last_loss,
		  log(tk.vocab_size));
	CHECK(r.last_loss < r.first_loss - 1.0);
	struct llama_config c;
	float *q = NULL;
	struct ckpt_state st;
	ckpt_state_init(&st);
	char err[256];
	CHECK_INT_EQ(ckpt_load_model(full, &c, &q, &st, err, sizeof err), 0);
	CHECK(st.has_train && st.step == 60 && st.m && st.v);
	CHECK_STR_EQ(st.meta, "{\"kind\":\"base\"}");
	CHECK(q && !memcmp(p, q, llama_params_count_llama2c(&c) * sizeof(float)));
	free(q);
	free(p);
	p = train(&tk, 4, 1, 60, light, true, &r2, &rc);
	CHECK_INT_EQ(ckpt_load_model(light, &c, &q, &st, err, sizeof err), 0);
	CHECK(!st.has_train && !st.m);
	CHECK_STR_EQ(st.meta, "{\"kind\":\"base\"}");
	free(q);
	free(p);
	ckpt_state_release(&st);
	/* a hook that stops the run: -ECANCELED, nothing saved */
	char stopped[128];
	snprintf(stopped, sizeof stopped, "%s/stopped.bin", dir);
	struct seen_reports r3 = { .stop_at = 5 };
	p = train(&tk, 4, 1, 60, stopped, false, &r3, &rc);
	CHECK_INT_EQ(rc, -ECANCELED);
	CHECK_INT_EQ(r3.n, 5);
	CHECK(access(stopped, F_OK) != 0);
	free(p);
	unlink(full);
	unlink(light);
	snprintf(side, sizeof side, "%s%s", full, CKPT_SIDECAR_SUFFIX);
	unlink(side);
	snprintf(side, sizeof side, "%s%s", light, CKPT_SIDECAR_SUFFIX);
	unlink(side);
	rmdir(dir);
	tokenizer_release(&tk);
}

static void test_frozen_embedding(void)
{
	struct tokenizer tk;
	REQUIRE(trained(&tk) == 0);
	struct llama_config c = tiny;
	c.vocab_size = tk.vocab_size;
	float *init = malloc(llama_params_count(&c) * sizeof(float));
	llama_params_init_random(&c, init, 5);
	struct seen_reports r = { 0 };
	int rc;
	freeze = true;
	float *p = train(&tk, 4, 1, 10, NULL, false, &r, &rc);
	freeze = false;
	CHECK_INT_EQ(rc, 0);
	size_t off, len, off1, len1;
	llama_tensor_span(&c, 0, &off, &len);
	llama_tensor_span(&c, 2, &off1, &len1);
	/* the embedding only shrinks by the decoupled weight decay, by at most
	 * lr * wd per step; wq moves by about lr per step */
	double emb = 0.0, wq = 0.0;
	for (size_t i = 0; i < len; i++)
		emb = fmax(emb, fabs(p[off + i] - init[off + i]) / (fabs(init[off + i]) + 1e-12));
	for (size_t i = 0; i < len1; i++)
		wq = fmax(wq, fabs(p[off1 + i] - init[off1 + i]));
	CHECK_MSG(emb <= 10 * 1e-2 * 0.1 + 1e-6, "embedding moved by %g (relative)", emb);
	CHECK_MSG(wq > 1e-2, "wq moved by only %g", wq);
	free(p);
	free(init);
	tokenizer_release(&tk);
}

int main(void)
{
	threads_set(1);
	RUN(test_text_batches);
	RUN(test_sft_batches);
	RUN(test_text_rows);
	RUN(test_accumulation_is_one_batch);
	RUN(test_learns_and_saves);
	RUN(test_frozen_embedding);
	TEST_MAIN_END();
}
