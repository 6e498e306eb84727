/*
 * tests/unit/test_trainer.c — the training procedures of model/trainer.h on
 * tiny models (dim 32, 2 layers, vocabulary 48) and synthetic tasks.
 *
 * Oracles are independent of the trainer: losses and gradients recomputed
 * sequence by sequence with llama_forward / llama_backward and a mask written
 * here from prompt_len; scores read with llama_forward at the last token;
 * answers regenerated with infer_generate one sequence at a time; a reward
 * model built by hand whose score is known to grow with the share of one
 * token; log 2 for DPO's first loss; behaviour (accuracy, reward, EOS rate)
 * measured after training against stated bounds.
 */
#include "model/trainer.h"
#include "model/trainer_impl.h"
#include "model/adamw.h"
#include "model/infer.h"
#include "model/llama.h"
#include "model/stats.h"
#include "model/threads.h"
#include "tests/test.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOCAB 48
#define SEQ 48

static const struct llama_config tiny = { .dim = 32, .hidden_dim = 64, .n_layers = 2,
					  .n_heads = 4, .n_kv_heads = 2, .vocab_size = VOCAB,
					  .seq_len = SEQ, .shared_classifier = true };

static uint64_t rs = 0x1234567ull;
static int irand(int n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (int)((rs >> 11) % (uint64_t)n);
}

static void model_new(struct llama_model *m, int max_B, int max_T, unsigned flags, uint64_t seed)
{
	char err[256];
	if (llama_model_init(m, &tiny, max_B, max_T, flags, err, sizeof err) < 0) {
		fprintf(stderr, "model init: %s\n", err);
		exit(1);
	}
	llama_params_init_random(&tiny, m->params, seed);
}

static void model_copy(struct llama_model *dst, const struct llama_model *src, int max_B,
		       int max_T, unsigned flags)
{
	model_new(dst, max_B, max_T, flags, 0);
	memcpy(dst->params, src->params, src->n_params * sizeof(float));
}

/* ---- hooks that record ------------------------------------------------------ */

struct rec {
	float prog[4096];
	int n_prog;
	int n_metric;
	int cancel_after;   /* polls before cancelling; < 0 = never */
	int polls;
	const char *want;   /* metric name to keep */
	float vals[1024];
	int steps[1024];
	int n_vals;
};

static void rec_progress(void *a, float f)
{
	struct rec *r = a;
	if (r->n_prog < 4096)
		r->prog[r->n_prog++] = f;
}

static void rec_metric(void *a, int step, const char *name, float v)
{
	struct rec *r = a;
	r->n_metric++;
	if (r->want && !strcmp(name, r->want) && r->n_vals < 1024) {
		r->steps[r->n_vals] = step;
		r->vals[r->n_vals++] = v;
	}
}

static void rec_log(void *a, const char *line)
{
	if (getenv("TRAINER_TEST_LOG"))
		fprintf(stderr, "    %s\n", line);
}

static bool rec_cancelled(void *a)
{
	struct rec *r = a;
	r->polls++;
	return r->cancel_after >= 0 && r->polls > r->cancel_after;
}

static struct trainer_hooks rec_hooks(struct rec *r, const char *want)
{
	memset(r, 0, sizeof *r);
	r->cancel_after = -1;
	r->want = want;
	struct trainer_hooks h = { .arg = r, .progress = rec_progress, .metric = rec_metric,
				   .cancelled = rec_cancelled, .log = rec_log };
	return h;
}

static bool prog_ok(const struct rec *r)
{
	if (r->n_prog == 0)
		return false;
	for (int i = 1; i < r->n_prog; i++)
		if (r->prog[i] < r->prog[i - 1] || r->prog[i] < 0 || r->prog[i] > 1)
			return false;
	return fabsf(r->prog[r->n_prog - 1] - 1.0f) < 1e-6f;
}

/* Sum of -log p over the response tokens (prompt_len .. n-1) of s, from one
 * llama_forward of the whole sequence; *count gets how many. */
static double ref_nll(struct llama_model *m, const struct trainer_seq *s, int *count)
{
	int T = s->n - 1, tg[SEQ];
	for (int t = 0; t < T; t++)
		tg[t] = s->tokens[t + 1];
	if (llama_forward(m, s->tokens, tg, 1, T, LLAMA_LOGPROBS) < 0)
		return NAN;
	double nll = 0;
	*count = 0;
	for (int j = s->prompt_len; j < s->n; j++) {
		nll -= m->acts.logprobs[j - 1];
		(*count)++;
	}
	return nll;
}

/* ---- SFT ---------------------------------------------------------------------- */

/* Loss and gradient of the first step against a sequence-by-sequence
 * recomputation with the response mask written here. */
static void test_sft_loss_and_grad_match_reference(void)
{
	enum { N = 6 };
	int toks[N][SEQ];
	struct trainer_seq seqs[N];
	for (int i = 0; i < N; i++) {
		int n = 6 + irand(20), pl = 2 + irand(n - 3);
		toks[i][0] = 1;
		for (int t = 1; t < n; t++)
			toks[i][t] = 3 + irand(VOCAB - 3);
		seqs[i] = (struct trainer_seq){ toks[i], n, pl, false };
	}
	struct llama_model pol, refm;
	model_new(&pol, 2, SEQ, 0, 11); /* max_B 2: three micro-batches per step */
	model_copy(&refm, &pol, 1, SEQ, 0);

	/* reference: per-sequence forward/backward, normalised by the token count */
	int total = 0, c;
	for (int i = 0; i < N; i++)
		total += seqs[i].n - seqs[i].prompt_len;
	double loss = 0;
	llama_zero_grads(&refm);
	for (int i = 0; i < N; i++) {
		loss += ref_nll(&refm, &seqs[i], &c);
		float dlp[SEQ] = { 0 };
		for (int j = seqs[i].prompt_len; j < seqs[i].n; j++)
			dlp[j - 1] = -1.0f / total;
		llama_backward(&refm, dlp, NULL, NULL);
	}
	loss /= total;
	double gnorm = adamw_grad_norm(refm.grads, refm.n_params);

	struct trainer_sft_params p;
	trainer_sft_defaults(&p);
	p.batch_size = N;
	p.max_steps = 1;
	struct rec r;
	struct trainer_hooks h = rec_hooks(&r, "grad_norm");
	struct trainer_sft_result res;
	char err[256];
	int rc = trainer_sft(&pol, seqs, N, &p, &h, &res, err, sizeof err);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(res.steps, 1);
	CHECK_NEAR(res.loss_first, loss, 1e-5 * fabs(loss));
	CHECK_INT_EQ(res.tokens, total);
	CHECK_INT_EQ(r.n_vals, 1);
	CHECK_NEAR(r.vals[0], gnorm, 1e-4 * gnorm);
	CHECK(prog_ok(&r));
	llama_model_release(&pol);
	llama_model_release(&refm);
}

/* A tiny task: prompt (BOS a SEP) -> response (a+10, a+20, EOS).  The
 * response is a function of the prompt, so the loss can go near zero. */
static void make_task(int (*toks)[8], struct trainer_seq *seqs, int n)
{
	for (int i = 0; i < n; i++) {
		int a = 4 + i % 12;
		int v[] = { 1, a, 3, a + 12, a + 24, 2 };
		memcpy(toks[i], v, sizeof v);
		seqs[i] = (struct trainer_seq){ toks[i], 6, 3, true };
	}
}

static void test_sft_learns_and_reports(void)
{
	enum { N = 24 };
	int toks[N][8];
	struct trainer_seq seqs[N];
	make_task(toks, seqs, N);
	struct llama_model pol;
	model_new(&pol, 8, 16, 0, 3);
	struct trainer_sft_params p;
	trainer_sft_defaults(&p);
	p.lr = 1e-2f;
	p.min_lr = 1e-3f;
	p.epochs = 40;
	p.batch_size = 12;
	struct rec r;
	struct trainer_hooks h = rec_hooks(&r, "loss");
	struct trainer_sft_result res;
	char err[256];
	int rc = trainer_sft(&pol, seqs, N, &p, &h, &res, err, sizeof err);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(res.steps, 80);
	CHECK_MSG(res.loss_first > 3.0f, "first loss %g (log 48 = 3.87)", res.loss_first);
	CHECK_MSG(res.loss < 0.1f, "last epoch loss %g", res.loss);
	CHECK_INT_EQ(r.n_vals, 80);
	CHECK_INT_EQ(r.n_metric, 80 * 4); /* loss, lr, grad_norm, tokens_per_sec */
	CHECK(prog_ok(&r));
	/* independent: the trained model's response NLL */
	int c, tot = 0;
	double nll = 0;
	for (int i = 0; i < N; i++) {
		nll += ref_nll(&pol, &seqs[i], &c);
		tot += c;
	}
	CHECK_MSG(nll / tot < 0.1, "response nll %g", nll / tot);
	llama_model_release(&pol);
}

static void test_sft_cancel_and_errors(void)
{
	enum { N = 24 };
	int toks[N][8];
	struct trainer_seq seqs[N];
	make_task(toks, seqs, N);
	struct llama_model pol;
	model_new(&pol, 4, 16, 0, 3);
	struct trainer_sft_params p;
	trainer_sft_defaults(&p);
	p.batch_size = 4;
	struct rec r;
	struct trainer_hooks h = rec_hooks(&r, NULL);
	r.cancel_after = 2;
	struct trainer_sft_result res;
	char err[256];
	int rc = trainer_sft(&pol, seqs, N, &p, &h, &res, err, sizeof err);
	CHECK_INT_EQ(rc, -ECANCELED);
	CHECK_INT_EQ(res.steps, 3);
	CHECK_STR_EQ(err, "cancelled");

	/* no response token anywhere */
	struct trainer_seq only_prompt[2] = { { toks[0], 6, 6, false }, { toks[1], 3, 3, false } };
	rc = trainer_sft(&pol, only_prompt, 2, &p, NULL, &res, err, sizeof err);
	CHECK_INT_EQ(rc, -EINVAL);
	CHECK(strstr(err, "no sequence with a response token") != NULL);
	/* a token outside the vocabulary */
	int bad[] = { 1, 5, VOCAB, 2 };
	struct trainer_seq bs = { bad, 4, 2, true };
	rc = trainer_sft(&pol, &bs, 1, &p, NULL, &res, err, sizeof err);
	CHECK_INT_EQ(rc, -EINVAL);
	CHECK(strstr(err, "outside the vocabulary") != NULL);
	llama_model_release(&pol);
}

/* ---- reward model ----------------------------------------------------------------- */

/* Groups of 4 responses; a response containing token 7 scores 5, others 1. */
enum { RG = 50, RK = 4 };
static int rg_tok[RG][RK][16];
static struct trainer_seq rg_seq[RG][RK];
static float rg_score[RG][RK];
static struct trainer_group rg[RG];

static void make_reward_data(void)
{
	for (int g = 0; g < RG; g++) {
		int pl = 3 + irand(3);
		for (int j = 0; j < RK; j++) {
			int *t = rg_tok[g][j], n = pl + 3 + irand(6);
			t[0] = 1;
			for (int i = 1; i < pl; i++)
				t[i] = 20 + (g * 7 + i) % 20;
			for (int i = pl; i < n - 1; i++) {
				t[i] = 8 + irand(VOCAB - 8);
			}
			bool seven = (j + g) % 2 == 0 || irand(4) == 0;
			if (seven)
				t[pl + irand(n - 1 - pl)] = 7;
			t[n - 1] = 2;
			rg_seq[g][j] = (struct trainer_seq){ t, n, pl, true };
			rg_score[g][j] = seven ? 5.0f : 1.0f;
		}
		/* every 20th group shares a prompt (the same prompt tokens) */
		rg[g] = (struct trainer_group){ rg_seq[g], rg_score[g], RK, g % 20, false, false, false };
	}
}

/* A sequence's score computed here: the value at its last token, or the mean
 * of the values at its response's tokens prompt_len .. n-1. */
static float seq_value(struct llama_model *m, const struct trainer_seq *s, enum llama_score mode)
{
	llama_forward(m, s->tokens, NULL, 1, s->n, LLAMA_VALUES);
	if (mode == LLAMA_SCORE_LAST)
		return m->acts.values[s->n - 1];
	double sum = 0;
	for (int t = s->prompt_len; t < s->n; t++)
		sum += m->acts.values[t];
	return (float)(sum / (s->n - s->prompt_len));
}

static void reward_learns_and_normalises(enum llama_score mode)
{
	make_reward_data();
	struct llama_model rm;
	model_new(&rm, 8, 16, LLAMA_NO_LM, 5);
	rm.score = mode;
	struct trainer_reward_params p;
	trainer_reward_defaults(&p);
	p.lr = 2e-3f;
	p.min_lr = 2e-4f;
	p.epochs = 8;
	struct rec r;
	struct trainer_hooks h = rec_hooks(&r, "heldout_acc");
	struct trainer_reward_result res;
	char err[256];
	trainer_reward_split(rg, RG, p.heldout_frac, p.seed);
	int rc = trainer_reward(&rm, rg, RG, &p, &h, &res, err, sizeof err);
	CHECK_INT_EQ(rc, 0);
	CHECK(prog_ok(&r));
	CHECK_INT_EQ(r.n_vals, 8); /* one per epoch */

	/* independent: scores (last token or response mean), pairs and statistics here */
	struct llama_model one;
	model_copy(&one, &rm, 1, 16, LLAMA_NO_LM | LLAMA_NO_GRADS);
	static float sc[RG][RK];
	double sum = 0, sq = 0;
	for (int g = 0; g < RG; g++)
		for (int j = 0; j < RK; j++) {
			sc[g][j] = seq_value(&one, &rg_seq[g][j], mode);
			sum += sc[g][j];
		}
	double mean = sum / (RG * RK);
	for (int g = 0; g < RG; g++)
		for (int j = 0; j < RK; j++)
			sq += (sc[g][j] - mean) * (sc[g][j] - mean);
	double sd = sqrt(sq / (RG * RK));
	CHECK_NEAR(mean, 0.0, 1e-4);
	CHECK_NEAR(sd, 1.0, 1e-4);
	int pairs = 0, correct = 0, pw[20] = { 0 }, pn[20] = { 0 };
	for (int g = 0; g < RG; g++)
		for (int a = 0; a < RK; a++)
			for (int b = a + 1; b < RK; b++)
				if (rg_score[g][a] != rg_score[g][b]) {
					int hi = rg_score[g][a] > rg_score[g][b] ? a : b, lo = a + b - hi;
					pairs++;
					correct += sc[g][hi] > sc[g][lo];
					/* the held-out pairs by prompt, for the interval */
					if (rg[g].heldout) {
						pn[rg[g].prompt]++;
						pw[rg[g].prompt] += sc[g][hi] > sc[g][lo];
					}
				}
	CHECK_INT_EQ(res.heldout_pairs + res.train_pairs, pairs);
	CHECK_INT_EQ(res.heldout_pairs > 0, 1);
	/* 20% of the prompts (4 of 20) are held out, with all their groups */
	CHECK_INT_EQ(res.heldout_prompts, 4);
	CHECK_INT_EQ(res.train_prompts, 16);
	/* Held out by prompt: 4 of the 20 prompts, about 30 pairs.  The
	 * last-token score got 0.97 to 1 of them over seeds 1..5; the response
	 * mean between 0.77 and 0.97 (it picks up prompt-specific features that
	 * a held-out prompt does not share; with each group its own prompt, as
	 * the old by-group split effectively was, 0.83 to 0.97), with or without
	 * the pointwise term.  So a firm bound for the one and "clearly above
	 * chance" for the other. */
	float bound = mode == LLAMA_SCORE_LAST ? 0.9f : 0.7f;
	CHECK_MSG(res.heldout_acc >= bound, "heldout_acc %g over %d pairs", res.heldout_acc,
		  res.heldout_pairs);
	/* the interval clusters the held-out pairs by prompt: the held-out
	 * prompts with a pair, in any order (the design effect does not depend
	 * on it), into stats_wilson_clustered (test_stats checks its arithmetic) */
	float lo, hi, deff;
	double cw[20];
	int cn[20], k = 0;
	for (int q = 0; q < 20; q++)
		if (pn[q]) {
			cw[k] = pw[q];
			cn[k++] = pn[q];
		}
	CHECK_INT_EQ(k, 4);
	stats_wilson_clustered(cw, cn, k, STATS_Z95, &lo, &hi, &deff);
	CHECK_NEAR(res.heldout_lo, lo, 1e-6);
	CHECK_NEAR(res.heldout_hi, hi, 1e-6);
	CHECK_NEAR(res.heldout_deff, deff, 1e-6);
	CHECK(res.heldout_deff >= 1.0f);
	CHECK_MSG(res.heldout_lo > 0.55f, "heldout interval [%g, %g]", res.heldout_lo,
		  res.heldout_hi);
	CHECK_NEAR((res.train_acc * res.train_pairs + res.heldout_acc * res.heldout_pairs) / pairs,
		   (double)correct / pairs, 1e-6);
	/* trainer_score gives the same scores */
	float s2[RK];
	CHECK_INT_EQ(trainer_score(&rm, rg_seq[3], RK, s2, err, sizeof err), 0);
	for (int j = 0; j < RK; j++)
		CHECK_NEAR(s2[j], sc[3][j], 1e-4);
	llama_model_release(&one);
	llama_model_release(&rm);
}

static void test_reward_learns_and_normalises(void)
{
	reward_learns_and_normalises(LLAMA_SCORE_LAST);
}

static void test_reward_mean_score_learns_and_normalises(void)
{
	reward_learns_and_normalises(LLAMA_SCORE_MEAN);
}

/* A rule that needs the prompt: an answer that repeats the prompt's token
 * scores 5, any other 1.  Answer-only features cannot rank held-out groups
 * (each token is right for one prompt and wrong for the others), so held-out
 * accuracy shows the model compares answer with prompt. */
static void reward_prompt_conditioned(enum llama_score mode)
{
	enum { NG = 400, K = 4 };
	static int tok[NG][K][8];
	static struct trainer_seq seq[NG][K];
	static float sc[NG][K];
	static struct trainer_group g[NG];
	for (int i = 0; i < NG; i++) {
		int a = 10 + irand(30);
		for (int j = 0; j < K; j++) {
			int b = j == 0 || irand(3) == 0 ? a : 10 + irand(30);
			int v[] = { 1, 5, a, 3, 6, b, 2 };
			memcpy(tok[i][j], v, sizeof v);
			seq[i][j] = (struct trainer_seq){ tok[i][j], 7, 4, true };
			sc[i][j] = b == a ? 5.0f : 1.0f;
		}
		/* each group its own prompt id (held out like before: by group),
		 * so the held-out prompts' tokens were seen in training */
		g[i] = (struct trainer_group){ seq[i], sc[i], K, i, false, false, false };
	}
	struct llama_model rm;
	model_new(&rm, 16, 16, LLAMA_NO_LM, 5);
	rm.score = mode;
	struct trainer_reward_params p;
	trainer_reward_defaults(&p);
	p.epochs = 30;
	p.lr = 1e-3f;
	p.min_lr = 1e-4f;
	struct trainer_reward_result res;
	char err[256];
	trainer_reward_split(g, NG, p.heldout_frac, p.seed);
	CHECK_INT_EQ(trainer_reward(&rm, g, NG, &p, NULL, &res, err, sizeof err), 0);
	/* answer-only features would sit at 0.5 */
	CHECK_MSG(res.heldout_acc >= 0.8f, "heldout_acc %g over %d pairs", res.heldout_acc,
		  res.heldout_pairs);
	llama_model_release(&rm);
}

static void test_reward_prompt_conditioned(void)
{
	reward_prompt_conditioned(LLAMA_SCORE_LAST);
}

static void test_reward_mean_score_prompt_conditioned(void)
{
	reward_prompt_conditioned(LLAMA_SCORE_MEAN);
}

/* train_layers = 1: the embedding and every layer but the top one keep their
 * weights bit for bit; the top layer, final norm and head move. */
static void test_reward_train_layers_freezes_below(void)
{
	make_reward_data();
	struct llama_model rm;
	model_new(&rm, 8, 16, LLAMA_NO_LM, 5);
	float *before = malloc(rm.n_params * sizeof(float));
	memcpy(before, rm.params, rm.n_params * sizeof(float));
	struct trainer_reward_params p;
	trainer_reward_defaults(&p);
	p.epochs = 1;
	p.train_layers = 1;
	struct trainer_reward_result res;
	char err[256];
	CHECK_INT_EQ(trainer_reward(&rm, rg, 12, &p, NULL, &res, err, sizeof err), 0);
	int L = tiny.n_layers;
	for (int k = 0; k < LLAMA_N_TENSORS; k++) {
		size_t off, len;
		llama_tensor_span(&tiny, k, &off, &len);
		if (len == 0)
			continue;
		/* per-layer tensors 1..9: layer L-1 is the last len/L floats */
		size_t frozen = k == 0 ? len : k <= 9 ? len / L * (L - 1) : 0;
		size_t moved = 0, moved_frozen = 0;
		for (size_t i = 0; i < len; i++) {
			bool d = rm.params[off + i] != before[off + i];
			if (i < frozen)
				moved_frozen += d;
			else
				moved += d;
		}
		CHECK_MSG(moved_frozen == 0, "tensor %d: %zu frozen weights moved", k, moved_frozen);
		if (frozen < len) /* the classifier (tied: empty) is skipped above */
			CHECK_MSG(moved > 0, "tensor %d: nothing trained", k);
	}
	free(before);
	llama_model_release(&rm);
}

static void test_reward_errors(void)
{
	make_reward_data();
	struct llama_model rm;
	model_new(&rm, 2, 16, LLAMA_NO_LM, 5);
	struct trainer_reward_params p;
	trainer_reward_defaults(&p);
	struct trainer_reward_result res;
	char err[256];
	/* no rated answer at all */
	float none[RK] = { NAN, NAN, NAN, NAN };
	struct trainer_group g[2] = { { rg_seq[0], none, RK, 0, false, false, false },
				      { rg_seq[1], none, RK, 1, false, false, false } };
	int rc = trainer_reward(&rm, g, 2, &p, NULL, &res, err, sizeof err);
	CHECK_INT_EQ(rc, -EINVAL);
	CHECK(strstr(err, "no rated answers") != NULL);
	rc = trainer_reward(&rm, g, 0, &p, NULL, &res, err, sizeof err);
	CHECK_INT_EQ(rc, -EINVAL);
	/* every rated group held out: nothing to train on */
	float same2[2] = { 3, 3 };
	struct trainer_group h2[1] = { { rg_seq[0], same2, 2, 0, true, false, false } };
	rc = trainer_reward(&rm, h2, 1, &p, NULL, &res, err, sizeof err);
	CHECK_INT_EQ(rc, -EINVAL);
	CHECK(strstr(err, "no training group") != NULL);
	/* a group larger than the model's batch */
	rc = trainer_reward(&rm, rg, 1, &p, NULL, &res, err, sizeof err);
	CHECK_INT_EQ(rc, -EINVAL);
	CHECK(strstr(err, "takes 2 rows") != NULL);
	/* an LM-only model has no gradient buffer problem but a NO_GRADS one does */
	struct llama_model frozen;
	model_new(&frozen, 8, 16, LLAMA_NO_LM | LLAMA_NO_GRADS, 5);
	rc = trainer_reward(&frozen, rg, RG, &p, NULL, &res, err, sizeof err);
	CHECK_INT_EQ(rc, -EINVAL);
	llama_model_release(&frozen);
	llama_model_release(&rm);
}

/* softplus(-x) = -log sigmoid(x), written here */
static double nls(double x)
{
	return x > 0 ? log1p(exp(-x)) : -x + log1p(exp(x));
}

/*
 * The reward loss of the training groups g[0..n) (K = RK each) computed here
 * from trainer_score's scores (written to r, (n, RK)): mu and sigma over the
 * training groups' rated answers; per group the mean over its ordered pairs
 * of -log sigmoid(r_hi - r_lo - ms * gap) plus w times the mean squared error
 * against the standardised scores; the mean over the training groups with a
 * rating.  An order_only group (a rank / pair judgement) takes part in the
 * pairs only.
 */
static double rm_direct_loss(struct llama_model *rm, const struct trainer_group *g, int n,
			     double ms, double w, float *r, double *mu_out, double *sigma_out)
{
	char err[256];
	for (int i = 0; i < n; i++)
		if (trainer_score(rm, g[i].seqs, RK, r + (size_t)i * RK, err, sizeof err) < 0)
			return NAN;
	double sum = 0, sq = 0;
	int m = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++)
			for (int k = 0; k < RK && !g[i].heldout && !g[i].order_only; k++) {
				float sc = g[i].scores[k];
				if (isnan(sc))
					continue;
				if (pass == 0) {
					sum += sc;
					m++;
				} else {
					sq += (sc - sum / m) * (sc - sum / m);
				}
			}
	double mu = sum / m, sigma = sqrt(sq / m);
	sigma = sigma < 0.5 ? 0.5 : sigma;
	double loss = 0;
	int ng = 0;
	for (int i = 0; i < n; i++) {
		if (g[i].heldout)
			continue;
		const float *sc = g[i].scores, *ri = r + (size_t)i * RK;
		double pl = 0, pt = 0;
		int np = 0, nr = 0;
		for (int a = 0; a < RK; a++) {
			if (isnan(sc[a]))
				continue;
			double e = ri[a] - (sc[a] - mu) / sigma;
			pt += g[i].order_only ? 0 : e * e;   /* a judgement's levels: pairs only */
			nr++;
			for (int b = 0; b < RK; b++)
				if (!isnan(sc[b]) && sc[a] > sc[b]) {
					pl += nls(ri[a] - ri[b] - ms * (sc[a] - sc[b]));
					np++;
				}
		}
		if (nr == 0)
			continue;
		loss += (np ? pl / np : 0) + w * pt / nr;
		ng++;
	}
	*mu_out = mu;
	*sigma_out = sigma;
	return loss / ng;
}

/*
 * The loss trainer_reward reports against the formula computed here from
 * trainer_score's scores: one step over every training group at a learning
 * rate too small to move a float weight, so the step's loss is the loss at
 * the given weights.  Groups: pairs, all tied, one rated answer, none rated
 * (ignored), held out (measured only), and two groups of one prompt.
 */
static void test_reward_loss_matches_direct(void)
{
	make_reward_data();
	struct llama_model rm;
	model_new(&rm, 8, 16, LLAMA_NO_LM, 7);
	rm.score = LLAMA_SCORE_LAST;
	for (int i = 0; i < tiny.dim; i++)
		rm.w.head_w[i] = 0.3f * (float)((i % 7) - 3);
	rm.w.head_b[0] = 0.2f;
	enum { NGR = 6 };
	static float sc[NGR][RK] = {
		{ 5, 1, 3, NAN }, { 2, 2, 2, 2 }, { NAN, 4, NAN, NAN },
		{ NAN, NAN, NAN, NAN }, { 1, 4.5f, 2, 5 }, { 3.5f, 1.5f, 1.5f, 4 },
	};
	int prompt[NGR] = { 0, 1, 2, 3, 4, 0 };
	struct trainer_group g[NGR];
	for (int i = 0; i < NGR; i++)
		g[i] = (struct trainer_group){ rg_seq[i], sc[i], RK, prompt[i], i == 4, false, false };
	float r[NGR][RK];
	char err[256];
	double mu, sigma;
	const double w = 0.7, ms = 0.3;
	double loss = rm_direct_loss(&rm, g, NGR, ms, w, &r[0][0], &mu, &sigma);
	REQUIRE(isfinite(loss));

	struct trainer_reward_params p;
	trainer_reward_defaults(&p);
	p.epochs = 1;
	p.batch_groups = 16;
	p.lr = 1e-30f;
	p.min_lr = 0.0f;
	p.warmup_frac = 0.0f;
	p.margin_scale = (float)ms;
	p.pointwise_weight = (float)w;
	p.head_init_std = 0.0f;
	p.normalize = false;
	struct trainer_reward_result res;
	p.grad_clip = 0.0f; /* AdamW leaves rm.grads as they were: the step's gradient */
	CHECK_INT_EQ(trainer_reward(&rm, g, NGR, &p, NULL, &res, err, sizeof err), 0);
	CHECK_INT_EQ(res.steps, 1);
	CHECK_NEAR(res.loss, loss, 1e-5 * (1 + fabs(loss)));

	/* the gradient through the model against central differences of the loss
	 * computed here: the head, the final norm, the top layer's w2 and wo,
	 * the embedding of a prompt token */
	struct { int tensor, index; } probe[] = {
		{ 13, 0 }, { 12, 0 }, { 12, 5 }, { 12, 17 }, { 10, 3 }, { 10, 30 },
		{ 8, 64 * 32 + 11 }, { 8, 64 * 32 + 900 }, { 5, 32 * 32 + 40 },
		{ 0, 21 * 32 + 4 },
	};
	float rr[NGR * RK];
	double mu2, sg2;
	for (size_t q = 0; q < sizeof probe / sizeof probe[0]; q++) {
		size_t off, len;
		llama_tensor_span(&tiny, probe[q].tensor, &off, &len);
		REQUIRE((size_t)probe[q].index < len);
		float *x = rm.params + off + probe[q].index, keep = *x;
		const float h = 1e-2f;
		*x = keep + h;
		double lp = rm_direct_loss(&rm, g, NGR, ms, w, rr, &mu2, &sg2);
		*x = keep - h;
		double lm = rm_direct_loss(&rm, g, NGR, ms, w, rr, &mu2, &sg2);
		*x = keep;
		double fd = (lp - lm) / ((double)(keep + h) - (double)(keep - h));
		double an = rm.grads[off + probe[q].index];
		CHECK_MSG(fabs(an - fd) <= 2e-4 + 2e-2 * fabs(fd),
			  "tensor %d [%d]: gradient %.6g, finite difference %.6g", probe[q].tensor,
			  probe[q].index, an, fd);
	}
	CHECK_NEAR(res.score_mu, mu, 1e-6);
	CHECK_NEAR(res.score_sigma, sigma, 1e-6);
	CHECK_INT_EQ(res.groups_tied, 2);
	CHECK_INT_EQ(res.train_prompts, 3);
	CHECK_INT_EQ(res.heldout_prompts, 1);
	CHECK_INT_EQ(res.train_pairs, 3 + 5);
	CHECK_INT_EQ(res.heldout_pairs, 6);

	/* the weights did not move: the figures from the same scores */
	double hsq = 0, tsq = 0;
	int hn = 0, tn = 0, hc = 0, tp = 0, tc = 0, gp[4] = { 0 }, gc[4] = { 0 };
	for (int i = 0; i < NGR; i++)
		for (int a = 0; a < RK; a++) {
			if (isnan(sc[i][a]))
				continue;
			double e = mu + sigma * r[i][a] - sc[i][a];
			if (i == 4) {
				hsq += e * e;
				hn++;
			} else {
				tsq += e * e;
				tn++;
			}
			for (int b = 0; b < RK; b++) {
				if (isnan(sc[i][b]) || !(sc[i][a] > sc[i][b]))
					continue;
				bool right = r[i][a] > r[i][b];
				double gap = sc[i][a] - sc[i][b];
				int bk = gap <= 1 ? 0 : gap <= 2 ? 1 : gap <= 3 ? 2 : 3;
				if (i == 4) {
					hc += right;
					gp[bk]++;
					gc[bk] += right;
				} else {
					tp++;
					tc += right;
				}
			}
		}
	CHECK_INT_EQ(tp, res.train_pairs);
	CHECK_NEAR(res.train_acc, (double)tc / tp, 1e-6);
	CHECK_NEAR(res.heldout_acc, hc / 6.0, 1e-6);
	CHECK_NEAR(res.heldout_rmse, sqrt(hsq / hn), 1e-5);
	CHECK_NEAR(res.train_rmse, sqrt(tsq / tn), 1e-5);
	/* held-out gaps 3.5, 1, 4, 2.5, 0.5, 3: two pairs in each of (0,1],
	 * (2,3], (3,4] and none in (1,2] */
	CHECK_INT_EQ(gp[0], 2);
	CHECK_INT_EQ(gp[1], 0);
	for (int b = 0; b < 4; b++) {
		CHECK_INT_EQ(res.pairs_by_gap[b], gp[b]);
		if (gp[b])
			CHECK_NEAR(res.acc_by_gap[b], (double)gc[b] / gp[b], 1e-6);
		else
			CHECK(isnan(res.acc_by_gap[b]));
	}
	/* one held-out prompt: no clustering to widen by, Wilson's interval */
	float lo, hi;
	stats_wilson(hc, 6, STATS_Z95, &lo, &hi);
	CHECK_NEAR(res.heldout_lo, lo, 1e-6);
	CHECK_NEAR(res.heldout_hi, hi, 1e-6);
	CHECK_NEAR(res.heldout_deff, 1.0, 1e-7);

	/* every training score equal: sigma floored at 0.5, the loss finite */
	float flat[2][RK] = { { 3, 3, 3, 3 }, { 3, 3, NAN, 3 } };
	struct trainer_group fg[2] = { { rg_seq[0], flat[0], RK, 0, false, false, false },
				       { rg_seq[1], flat[1], RK, 1, false, false, false } };
	CHECK_INT_EQ(trainer_reward(&rm, fg, 2, &p, NULL, &res, err, sizeof err), 0);
	CHECK_NEAR(res.score_mu, 3.0, 1e-6);
	CHECK_NEAR(res.score_sigma, 0.5, 0);
	CHECK(isfinite(res.loss));
	CHECK_INT_EQ(res.groups_tied, 2);
	CHECK(isnan(res.heldout_acc) && isnan(res.heldout_lo) && isnan(res.heldout_rmse));
	CHECK(isnan(res.acc_by_gap[0]));
	llama_model_release(&rm);
}

/* Which prompt ids trainer_reward_split held out, sorted, into out. */
static int held_ids(const struct trainer_group *g, int n, int *out)
{
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (!g[i].heldout)
			continue;
		int j = 0;
		while (j < m && out[j] != g[i].prompt)
			j++;
		if (j == m)
			out[m++] = g[i].prompt;
	}
	for (int a = 1; a < m; a++)
		for (int b = a; b > 0 && out[b] < out[b - 1]; b--) {
			int t = out[b];
			out[b] = out[b - 1];
			out[b - 1] = t;
		}
	return m;
}

static void test_reward_split_by_prompt(void)
{
	enum { N = 33 };
	static float rated[RK] = { 1, 2, 3, 4 }, none[RK] = { NAN, NAN, NAN, NAN };
	struct trainer_group g[N], rev[N];
	/* 10 rated prompts 100..109, 3 groups each, and 3 groups of prompt 7
	 * that nobody rated (they make no prompt to choose) */
	for (int i = 0; i < N; i++) {
		bool r = i < 30;
		g[i] = (struct trainer_group){ rg_seq[0], r ? rated : none, RK, r ? 100 + i % 10 : 7,
					      true, false, false };
	}
	trainer_reward_split(g, N, 0.2f, 7);
	int a[N], b[N];
	CHECK_INT_EQ(held_ids(g, N, a), 2);
	for (int i = 0; i < N; i++) /* all groups of a prompt go together */
		for (int j = 0; j < N; j++)
			if (g[i].prompt == g[j].prompt)
				CHECK(g[i].heldout == g[j].heldout);
	CHECK(!g[30].heldout);
	/* the same prompts in any group order */
	for (int i = 0; i < N; i++) {
		rev[i] = g[(i * 7) % N]; /* 7 and 33 coprime: a permutation */
		rev[i].heldout = false;
	}
	trainer_reward_split(rev, N, 0.2f, 7);
	CHECK_INT_EQ(held_ids(rev, N, b), 2);
	CHECK(a[0] == b[0] && a[1] == b[1]);
	/* the seed changes the choice (for these ids and seeds) */
	bool differs = false;
	for (uint64_t s = 8; s < 12 && !differs; s++) {
		trainer_reward_split(rev, N, 0.2f, s);
		held_ids(rev, N, b);
		differs = a[0] != b[0] || a[1] != b[1];
	}
	CHECK(differs);
	/* at least one, at most all but one; none with frac 0 or one prompt */
	trainer_reward_split(g, N, 0.01f, 7);
	CHECK_INT_EQ(held_ids(g, N, a), 1);
	trainer_reward_split(g, N, 0.99f, 7);
	CHECK_INT_EQ(held_ids(g, N, a), 9);
	trainer_reward_split(g, N, 0.0f, 7);
	CHECK_INT_EQ(held_ids(g, N, a), 0);
	trainer_reward_split(g, 3, 0.5f, 7); /* prompts 100, 101, 102 */
	CHECK_INT_EQ(held_ids(g, 3, a), 2);
	g[1].prompt = g[2].prompt = 100;
	trainer_reward_split(g, 3, 0.5f, 7);
	CHECK_INT_EQ(held_ids(g, 3, a), 0);
}

/*
 * The prior's cross-validation folds: every group of a rated prompt in one
 * fold, the prompts spread over the folds by at most one apart, unrated
 * groups in none; the same folds in any group order, other folds under
 * other seeds; folds < 1 refused.
 */
static void test_reward_folds(void)
{
	enum { N = 33, K = 4 };
	static float rated[RK] = { 1, 2, 3, 4 }, none[RK] = { NAN, NAN, NAN, NAN };
	struct trainer_group g[N], rev[N];
	int fold[N], frev[N], other[N];
	/* 10 rated prompts 100..109, 3 groups each, and 3 groups of prompt 7
	 * that nobody rated */
	for (int i = 0; i < N; i++) {
		bool r = i < 30;
		g[i] = (struct trainer_group){ rg_seq[0], r ? rated : none, RK, r ? 100 + i % 10 : 7,
					      false, false, false };
	}
	CHECK_INT_EQ(trainer_reward_folds(g, N, K, 5, fold), 10);
	int size[K] = { 0 };
	for (int i = 0; i < N; i++) {
		if (i >= 30) {
			CHECK_INT_EQ(fold[i], -1);
			continue;
		}
		CHECK(fold[i] >= 0 && fold[i] < K);
		for (int j = 0; j < 30; j++)
			if (g[i].prompt == g[j].prompt)
				CHECK_INT_EQ(fold[i], fold[j]);
		size[fold[i]] += i < 10; /* each prompt once: groups 0..9 */
	}
	for (int f = 0; f < K; f++) /* 10 prompts in 4 folds: 3, 3, 2, 2 */
		CHECK(size[f] == 2 || size[f] == 3);
	for (int i = 0; i < N; i++)
		rev[i] = g[(i * 7) % N];
	CHECK_INT_EQ(trainer_reward_folds(rev, N, K, 5, frev), 10);
	for (int i = 0; i < N; i++)
		CHECK_INT_EQ(frev[i], fold[(i * 7) % N]);
	bool differs = false;
	for (uint64_t s = 6; s < 10 && !differs; s++) {
		trainer_reward_folds(g, N, K, s, other);
		for (int i = 0; i < 10; i++)
			differs = differs || other[i] != fold[i];
	}
	CHECK(differs);
	CHECK_INT_EQ(trainer_reward_folds(g, N, 0, 5, fold), -EINVAL);
}

/*
 * Tied groups alone still teach: every answer of a group has the same score
 * (5 when the group's answers carry token 7, 1 otherwise), so there is no
 * pair anywhere and only the pointwise term trains.  The held-out RMSE must
 * fall well below what a constant prediction gets (about 2).  Then a warm
 * start: a second call from the trained, normalised weights with
 * head_init_std 0 and a learning rate too small to move them keeps the head
 * as it is — its scores already have mean 0 and std 1 over the same answers.
 */
static void test_reward_tied_groups_teach_and_warm_start(void)
{
	enum { NG = 60 };
	static int tok[NG][RK][12];
	static struct trainer_seq seq[NG][RK];
	static float sc[NG][RK];
	static struct trainer_group g[NG];
	for (int i = 0; i < NG; i++) {
		bool seven = i % 2 == 0;
		for (int j = 0; j < RK; j++) {
			int *t = tok[i][j], n = 6 + irand(6);
			t[0] = 1;
			t[1] = 20 + i % 20;
			t[2] = 3;
			for (int q = 3; q < n - 1; q++)
				t[q] = 8 + irand(VOCAB - 8);
			if (seven)
				t[3 + irand(n - 4)] = 7;
			else
				for (int q = 3; q < n - 1; q++)
					t[q] = t[q] == 7 ? 8 : t[q];
			t[n - 1] = 2;
			seq[i][j] = (struct trainer_seq){ t, n, 3, true };
			sc[i][j] = seven ? 5.0f : 1.0f;
		}
		g[i] = (struct trainer_group){ seq[i], sc[i], RK, i, false, false, false };
	}
	struct llama_model rm;
	model_new(&rm, 8, 16, LLAMA_NO_LM, 9);
	rm.score = LLAMA_SCORE_MEAN;
	struct trainer_reward_params p;
	trainer_reward_defaults(&p);
	p.lr = 2e-3f;
	p.min_lr = 2e-4f;
	p.epochs = 8;
	trainer_reward_split(g, NG, p.heldout_frac, p.seed);
	struct trainer_reward_result res;
	char err[256];
	CHECK_INT_EQ(trainer_reward(&rm, g, NG, &p, NULL, &res, err, sizeof err), 0);
	CHECK_INT_EQ(res.train_pairs, 0);
	CHECK_INT_EQ(res.heldout_pairs, 0);
	CHECK_INT_EQ(res.groups_tied, NG - 12);
	CHECK_INT_EQ(res.heldout_prompts, 12);
	CHECK(isnan(res.heldout_acc) && isnan(res.heldout_lo) && isnan(res.heldout_hi));
	CHECK_NEAR(res.score_sigma, 2.0, 0.3);
	CHECK_MSG(res.heldout_rmse < 1.0f, "heldout_rmse %g (train %g)", res.heldout_rmse,
		  res.train_rmse);

	/* warm start from the normalised reward model */
	struct llama_model rm2;
	model_copy(&rm2, &rm, 8, 16, LLAMA_NO_LM);
	rm2.score = LLAMA_SCORE_MEAN;
	p.head_init_std = 0.0f;
	p.epochs = 1;
	p.lr = 1e-30f;
	p.min_lr = 0.0f;
	struct trainer_reward_result res2;
	CHECK_INT_EQ(trainer_reward(&rm2, g, NG, &p, NULL, &res2, err, sizeof err), 0);
	CHECK_NEAR(res2.norm_mean, 0.0, 1e-4);
	CHECK_NEAR(res2.norm_std, 1.0, 1e-4);
	CHECK_NEAR(res2.heldout_rmse * res.norm_std, res.heldout_rmse * res2.norm_std, 0.5);
	for (int i = 0; i < tiny.dim; i++)
		CHECK_NEAR(rm2.w.head_w[i], rm.w.head_w[i], 1e-4);

	/* replay: with groups marked seen, an epoch is the unseen training groups
	 * and as many seen ones (at least batch_groups), so fewer steps; with
	 * replay 0, or nothing seen, every training group */
	int n_train = 0, n_new = 0;
	for (int i = 0; i < NG; i++) {
		g[i].seen = i % 5 != 0;
		n_train += !g[i].heldout;
		n_new += !g[i].heldout && !g[i].seen;
	}
	int n_seen = n_train - n_new, rep = n_new < n_seen ? n_new : n_seen;
	rep = rep < p.batch_groups ? p.batch_groups : rep;
	CHECK(n_new > 0 && n_new + rep < n_train);
	p.epochs = 2;
	CHECK_INT_EQ(trainer_reward(&rm2, g, NG, &p, NULL, &res2, err, sizeof err), 0);
	CHECK_INT_EQ(res2.steps, 2 * ((n_new + rep + p.batch_groups - 1) / p.batch_groups));
	p.replay = 0.0f;
	CHECK_INT_EQ(trainer_reward(&rm2, g, NG, &p, NULL, &res2, err, sizeof err), 0);
	CHECK_INT_EQ(res2.steps, 2 * ((n_train + p.batch_groups - 1) / p.batch_groups));
	p.replay = 1.0f;
	for (int i = 0; i < NG; i++)
		g[i].seen = false;
	CHECK_INT_EQ(trainer_reward(&rm2, g, NG, &p, NULL, &res2, err, sizeof err), 0);
	CHECK_INT_EQ(res2.steps, 2 * ((n_train + p.batch_groups - 1) / p.batch_groups));
	llama_model_release(&rm2);
	llama_model_release(&rm);
}

/* ---- a hand-built reward model ---------------------------------------------------- */

/*
 * One working layer: attention with zero queries and keys is a uniform mean
 * over the positions so far; the value path copies coordinate 0 of the
 * normalised embedding — non-zero only for token X — into coordinate 1 of the
 * residual; the head (0.5) reads coordinate 1 after the final RMSNorm.  So
 * the score at the last token is 0.5 m / rms(x_last + m e1), m = f * xn_X[0]
 * with f the share of X among the tokens so far: 0 without X, growing with f
 * up to about 2.7.
 */
#define TOKX 7
/* ---- the likelihood prior ----------------------------------------------------------- */

static void test_prior_features_direct(void)
{
	float lp[] = { -0.5f, -30.0f, -2.0f }, ulp[] = { -1.5f, -25.0f, -1.0f };
	float f[TRAINER_PRIOR_FEATS];
	int tok[] = { 11, 12, 13 };
	trainer_prior_features(f, lp, ulp, 3, tok);
	CHECK_NEAR(f[0], (-0.5 - 20.0 - 2.0) / 3.0, 1e-6); /* -30 floored at -20 */
	CHECK_NEAR(f[1], -20.0, 1e-6);
	/* lp - ulp after both are floored: 1, 0, -1 */
	CHECK_NEAR(f[2], 0.0, 1e-6);
	CHECK_NEAR(f[3], -1.0, 1e-6);
	CHECK_NEAR(f[4], log(3.0), 1e-6);
	CHECK_NEAR(f[5], 0.0, 1e-6);             /* 1 + 0 - 1 */
	CHECK_NEAR(f[6], 0.0, 1e-6);             /* under 4 tokens: no 4-gram */
	float one[] = { -1.25f };
	trainer_prior_features(f, one, NULL, 1, NULL);
	CHECK_NEAR(f[0], -1.25, 1e-6);
	CHECK_NEAR(f[1], -1.25, 1e-6);
	CHECK_NEAR(f[2], 0.0, 1e-6);             /* no empty-prompt log-probs: no PMI */
	CHECK_NEAR(f[3], 0.0, 1e-6);
	CHECK_NEAR(f[4], 0.0, 1e-6);
	CHECK_NEAR(f[5], 0.0, 1e-6);
	CHECK_NEAR(f[6], 0.0, 1e-6);
	/* "a b c d a b c d e": 6 4-grams, "a b c d" twice, so 5 distinct: 1 - 5/6;
	 * the PMI sum 9 * (-1 - -3) = 18 */
	float lp9[9], ulp9[9];
	int tok9[] = { 5, 6, 7, 8, 5, 6, 7, 8, 9 };
	for (int i = 0; i < 9; i++) {
		lp9[i] = -1.0f;
		ulp9[i] = -3.0f;
	}
	trainer_prior_features(f, lp9, ulp9, 9, tok9);
	CHECK_NEAR(f[2], 2.0, 1e-6);
	CHECK_NEAR(f[5], 18.0, 1e-5);
	CHECK_NEAR(f[6], 1.0 - 5.0 / 6.0, 1e-6);
	/* one token over and over: one distinct 4-gram of 7 */
	int same[10] = { 4, 4, 4, 4, 4, 4, 4, 4, 4, 4 };
	float lp10[10] = { 0 };
	trainer_prior_features(f, lp10, NULL, 10, same);
	CHECK_NEAR(f[6], 1.0 - 1.0 / 7.0, 1e-6);
	/* only the first L tokens count: "a b c d a b c" has 4 distinct 4-grams,
	 * and "a b c d a b c d" the 5th, "a b c d" again */
	trainer_prior_features(f, lp9, ulp9, 7, tok9);
	CHECK_NEAR(f[6], 0.0, 1e-6);
	trainer_prior_features(f, lp9, ulp9, 8, tok9);
	CHECK_NEAR(f[6], 1.0 - 4.0 / 5.0, 1e-6);
	CHECK_NEAR(f[TRAINER_PRIOR_OVERLAP], 0.0, 1e-6); /* the collecting calls set it */
	CHECK_NEAR(f[TRAINER_PRIOR_RECOGNITION], 0.0, 1e-6); /* and this one */
	struct trainer_prior pr = { .w = { 2.0f, -1.0f, 0.5f, 0.0f, 1.0f, 0.25f, -2.0f, 3.0f, -0.5f },
				    .b = 0.5f,
				    .mu = { -1.0f, -3.0f, 0.0f, 0.0f, 1.0f, 4.0f, 0.0f, 0.5f, -1.0f },
				    .sd = { 0.5f, 2.0f, 4.0f, 1.0f, 1.0f, 2.0f, 0.5f, 0.25f, 2.0f } };
	float x[] = { -0.5f, -4.0f, 2.0f, 7.0f, 1.0f, 8.0f, 0.25f, 0.75f, -3.0f };
	/* 0.5 + 2 * (-0.5 + 1) / 0.5 - (-4 + 3) / 2 + 0.5 * 2 / 4 + 0 + 1 * 0
	 * + 0.25 * (8 - 4) / 2 - 2 * 0.25 / 0.5 + 3 * (0.75 - 0.5) / 0.25
	 * - 0.5 * (-3 + 1) / 2 */
	CHECK_NEAR(trainer_prior_score(&pr, x), 0.5 + 2.0 + 0.5 + 0.25 + 0.5 - 1.0 + 3.0 + 0.5, 1e-6);
	/* a feature of weight 0 says nothing, whatever its scale (a prior
	 * recorded with fewer features) */
	pr.w[8] = 0.0f;
	pr.sd[8] = 0.0f;
	x[8] = NAN;
	CHECK_NEAR(trainer_prior_score(&pr, x), 0.5 + 2.0 + 0.5 + 0.25 + 0.5 - 1.0 + 3.0, 1e-6);
}

/* Words joined by '|', for the trainer_words checks. */
struct joined {
	char s[256];
	size_t n;
};

static void join_word(void *ctx, const char *word, size_t len)
{
	struct joined *j = ctx;
	if (j->n && j->n < sizeof j->s - 1)
		j->s[j->n++] = '|';
	for (size_t i = 0; i < len && j->n < sizeof j->s - 1; i++)
		j->s[j->n++] = word[i];
	j->s[j->n] = '\0';
}

static const char *words_of(const struct tokenizer *tk, const int *tok, int n)
{
	static struct joined j;
	j.n = 0;
	j.s[0] = '\0';
	trainer_words(tk, tok, n, join_word, &j);
	return j.s;
}

/*
 * The overlap by hand.  Over N = 3 prompts "what", "is", "the" and "of" are
 * in every one (weight log(4/4) = 0), "capital" in two (log(4/3)); "paraguay"
 * in none (log 4).  The prompt "What is the capital of Paraguay?" — its last
 * word in three tokens — and answers that hold both weighed words, one of
 * them, none, or a word that only begins like one.
 */
static void test_prior_overlap_direct(void)
{
	static const char *const pieces[] = {
		"<unk>", "<s>", "</s>", " What", " is", " the", " capital", " of", " Par", "agu",
		"ay", "?", " The", " As", "uncion", ".", " Paris", "\xc3\xa9", " CAPITAL",
	};
	enum { NP = sizeof pieces / sizeof pieces[0] };
	float scores[NP] = { 0 };
	struct tokenizer tk;
	char err[256];
	REQUIRE(tokenizer_build(&tk, pieces, NULL, scores, NP, err, sizeof err) == 0);
	int prompt[] = { 1, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	CHECK_STR_EQ(words_of(&tk, prompt, 10), "what|is|the|capital|of|paraguay");
	/* BOS, EOS and unknown end a word; letters beyond ASCII are in one */
	int parts[] = { 8, 2, 9, 8, 17, 0, 10 };
	CHECK_STR_EQ(words_of(&tk, parts, 7), "par|agu|par\xc3\xa9|ay");
	struct trainer_idf d;
	REQUIRE(trainer_idf_init(&d, &tk, 3) == 0);
	const char *every[] = { "what", "is", "the", "of" };
	for (int i = 0; i < 4; i++)
		REQUIRE(trainer_idf_add(&d, every[i], strlen(every[i]), 3) == 0);
	REQUIRE(trainer_idf_add(&d, "capital", 7, 2) == 0);
	CHECK_NEAR(trainer_idf_weight(&d, trainer_word_key("the", 3)), 0.0, 1e-6);
	CHECK_NEAR(trainer_idf_weight(&d, trainer_word_key("capital", 7)), log(4.0 / 3.0), 1e-6);
	CHECK_NEAR(trainer_idf_weight(&d, trainer_word_key("paraguay", 8)), log(4.0), 1e-6);
	double cap = log(4.0 / 3.0), par = log(4.0);
	int full[] = { 12, 6, 7, 8, 9, 10, 4, 13, 14, 15, 2 };   /* "The capital of Paraguay is Asuncion." */
	int capital[] = { 18 };                                  /* " CAPITAL" */
	int paris[] = { 16, 15 }, par_is[] = { 8, 4 };          /* "Paris." and "Par is" */
	CHECK_NEAR(trainer_prior_overlap(&d, prompt, 10, full, 11), 1.0, 1e-6);
	CHECK_NEAR(trainer_prior_overlap(&d, prompt, 10, capital, 1), cap / (cap + par), 1e-6);
	CHECK_NEAR(trainer_prior_overlap(&d, prompt, 10, paris, 2), 0.0, 1e-6);
	CHECK_NEAR(trainer_prior_overlap(&d, prompt, 10, par_is, 2), 0.0, 1e-6);
	/* no table, no answer, or a prompt of words every prompt has: 0 */
	CHECK_NEAR(trainer_prior_overlap(NULL, prompt, 10, full, 11), 0.0, 1e-6);
	CHECK_NEAR(trainer_prior_overlap(&d, prompt, 10, full, 0), 0.0, 1e-6);
	int common[] = { 1, 3, 4, 5 };
	CHECK_NEAR(trainer_prior_overlap(&d, common, 4, full, 11), 0.0, 1e-6);
	/* a word added twice keeps its last count; the table grows past its
	 * first size and keeps every word */
	REQUIRE(trainer_idf_add(&d, "capital", 7, 3) == 0);
	CHECK_NEAR(trainer_idf_weight(&d, trainer_word_key("capital", 7)), 0.0, 1e-6);
	char w[16];
	for (int i = 0; i < 200; i++) {
		snprintf(w, sizeof w, "w%d", i);
		REQUIRE(trainer_idf_add(&d, w, strlen(w), 1 + i % 3) == 0);
	}
	CHECK_INT_EQ((int)d.n, 205);
	for (int i = 0; i < 200; i += 37) {
		snprintf(w, sizeof w, "w%d", i);
		CHECK_NEAR(trainer_idf_weight(&d, trainer_word_key(w, strlen(w))),
			   log(4.0 / (2.0 + i % 3)), 1e-6);
	}
	trainer_idf_release(&d);
	tokenizer_release(&tk);
}

/* The scoring tests' tokenizer for VOCAB ids: "<unk>", "<s>", "</s>", then
 * by id mod 5 a comma, " W<id>", " w<id - 1>" (the same word in lower case),
 * "x" (which runs on the word before it) and " v<id>"; and their word
 * weights over 4 prompts (test_words, test_df; others in none). */
static struct tokenizer test_tk;
static struct trainer_idf test_idf;
static const char *const test_words[] = { "w6", "w11", "v9", "w6x", "v14", "w21" };
static const int test_df[] = { 2, 1, 3, 4, 1, 2 };
enum { TEST_PROMPTS = 4, TEST_WORDS = 6 };

static void test_idf_fill(void)
{
	if (test_idf.key)
		return;
	static char text[VOCAB][16];
	const char *pieces[VOCAB];
	float scores[VOCAB] = { 0 };
	char err[256];
	for (int i = 0; i < VOCAB; i++) {
		switch (i < 3 ? -1 : i % 5) {
		case -1: snprintf(text[i], sizeof text[i], "%s", i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>"); break;
		case 0: snprintf(text[i], sizeof text[i], ","); break;
		case 1: snprintf(text[i], sizeof text[i], " W%d", i); break;
		case 2: snprintf(text[i], sizeof text[i], " w%d", i - 1); break;
		case 3: snprintf(text[i], sizeof text[i], "x"); break;
		default: snprintf(text[i], sizeof text[i], " v%d", i); break;
		}
		pieces[i] = text[i];
	}
	REQUIRE(tokenizer_build(&test_tk, pieces, NULL, scores, VOCAB, err, sizeof err) == 0);
	REQUIRE(trainer_idf_init(&test_idf, &test_tk, TEST_PROMPTS) == 0);
	for (int i = 0; i < TEST_WORDS; i++)
		REQUIRE(trainer_idf_add(&test_idf, test_words[i], strlen(test_words[i]), test_df[i]) == 0);
}

/* A word's weight as the tests count it: log((N + 1) / (df + 1)). */
static double direct_weight(const char *w)
{
	for (int i = 0; i < TEST_WORDS; i++)
		if (!strcmp(w, test_words[i]))
			return log((TEST_PROMPTS + 1.0) / (test_df[i] + 1.0));
	return log(TEST_PROMPTS + 1.0);
}

/* The distinct lower-case words of tok (n) in the test tokenizer's text,
 * split here by hand: into words (each < 32 bytes, a most 64); their count. */
static int direct_words(const int *tok, int n, char words[][32])
{
	char text[4 * SEQ * 16] = "";
	size_t tl = 0;
	for (int i = 0; i < n; i++) {
		const char *p = tok[i] > 2 ? test_tk.pieces[tok[i]] : " ";
		if (i > 0 && tok[i - 1] == 1 && p[0] == ' ')
			p++;    /* after BOS a piece's leading space is dropped */
		tl += (size_t)snprintf(text + tl, sizeof text - tl, "%s", p);
	}
	int nw = 0;
	for (char *q = strtok(text, " ,"); q; q = strtok(NULL, " ,")) {
		for (char *c = q; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		bool dup = false;
		for (int i = 0; i < nw && !dup; i++)
			dup = !strcmp(words[i], q);
		if (!dup && nw < 64)
			snprintf(words[nw++], 32, "%s", q);
	}
	return nw;
}

/* The prior's empty prompt in the tests: BOS and one more token. */
static const int test_uncond[] = { 1, 3 };

/* The response tokens' log-probs of s under lm into lp (floored); their count. */
static int direct_logprobs(struct llama_model *lm, const struct trainer_seq *s, float *lp)
{
	int tg[SEQ];
	for (int t = 0; t < s->n; t++)
		tg[t] = t + 1 < s->n && t + 1 >= s->prompt_len ? s->tokens[t + 1] : -1;
	llama_forward(lm, s->tokens, tg, 1, s->n, LLAMA_LOGPROBS);
	int L = 0;
	for (int t = s->prompt_len - 1; t < s->n - 1; t++) {
		float x = lm->acts.logprobs[t];
		lp[L++] = x > TRAINER_PRIOR_FLOOR ? x : TRAINER_PRIOR_FLOOR;
	}
	return L;
}

/* The features of s computed here from two forwards of lm, after its prompt
 * and after test_uncond: mean and min of the response tokens' log-probs, mean
 * and min of their difference, log of their count, the difference's sum and
 * the share of the response's 4-grams with an equal one before them. */
static void direct_features(struct llama_model *lm, const struct trainer_seq *s,
			    const struct trainer_idf *idf, float *f)
{
	float lp[SEQ], ulp[SEQ];
	int L = direct_logprobs(lm, s, lp), a = s->n - s->prompt_len, nu = 2, tok[SEQ + 2];
	memcpy(tok, test_uncond, sizeof test_uncond);
	memcpy(tok + nu, s->tokens + s->prompt_len, (size_t)a * sizeof *tok);
	struct trainer_seq u = { tok, nu + a, nu, s->ended };
	CHECK_INT_EQ(direct_logprobs(lm, &u, ulp), L);
	double sum = 0, dsum = 0;
	float mn = 0, dmn = 0;
	for (int t = 0; t < L; t++) {
		sum += lp[t];
		dsum += lp[t] - ulp[t];
		mn = t == 0 || lp[t] < mn ? lp[t] : mn;
		dmn = t == 0 || lp[t] - ulp[t] < dmn ? lp[t] - ulp[t] : dmn;
	}
	f[0] = (float)(sum / L);
	f[1] = mn;
	f[2] = (float)(dsum / L);
	f[3] = dmn;
	f[4] = logf((float)L);
	f[5] = (float)dsum;
	/* rep-4: the 4-grams with no equal one before them are the distinct ones */
	const int *y = s->tokens + s->prompt_len;
	int m = L - 3, distinct = 0;
	for (int i = 0; i < m; i++) {
		bool seen = false;
		for (int j = 0; j < i && !seen; j++)
			seen = !memcmp(y + i, y + j, 4 * sizeof *y);
		distinct += !seen;
	}
	f[6] = m > 0 ? 1.0f - (float)distinct / (float)m : 0.0f;
	/* the overlap: the prompt's distinct words, the weight of those the
	 * answer has */
	static char pw[64][32], aw[64][32];
	int np = direct_words(s->tokens, s->prompt_len, pw), na = direct_words(y, a, aw);
	double all = 0, found = 0;
	for (int i = 0; idf && i < np; i++) {
		bool in = false;
		for (int k = 0; k < na; k++)
			in = in || !strcmp(pw[i], aw[k]);
		all += direct_weight(pw[i]);
		found += in ? direct_weight(pw[i]) : 0.0;
	}
	f[TRAINER_PRIOR_OVERLAP] = all > 0 ? (float)(found / all) : 0.0f;
}

/* The reward-data fixture of the prior tests: the groups' answers, the idf of
 * their words, the frozen language model of the prior and a fresh reward
 * model scoring by its mean (each the same for the same seeds every call). */
static void prior_models(struct llama_model *lm, struct llama_model *rm)
{
	make_reward_data();
	test_idf_fill();
	model_new(lm, RK, SEQ, LLAMA_NO_GRADS, 0x5EED);
	model_new(rm, RK, SEQ, LLAMA_NO_LM, 0xBEEF);
	rm->score = LLAMA_SCORE_MEAN;
}

/*
 * Ratings that follow a language model's likelihood (each group's answers
 * scored 1..4 by their mean token log-prob under lm, or the reverse): the
 * prior alone orders held-out prompts' answers almost perfectly, its weight
 * on the mean log-prob has the ratings' sign, the held-out figures are the
 * prior's, and a model scoring with `alone` gives exactly the prior's score
 * computed here from direct forwards.
 */
static void reward_prior_case(bool reverse)
{
	struct llama_model lm, rm;
	prior_models(&lm, &rm);
	static float f[RG][RK][TRAINER_PRIOR_FEATS], sc[RG][RK];
	struct trainer_group g[RG];
	for (int a = 0; a < RG; a++) {
		for (int k = 0; k < RK; k++)
			direct_features(&lm, &rg_seq[a][k], &test_idf, f[a][k]);
		for (int k = 0; k < RK; k++) {
			int rank = 1;
			for (int q = 0; q < RK; q++)
				rank += f[a][q][0] < f[a][k][0];
			sc[a][k] = (float)(reverse ? RK + 1 - rank : rank);
		}
		g[a] = (struct trainer_group){ rg_seq[a], sc[a], RK, a, false, false, false };
	}
	/* the answers' overlaps vary, so the scores below check them too */
	int some = 0, none = 0;
	for (int a = 0; a < RG; a++)
		for (int k = 0; k < RK; k++) {
			some += f[a][k][TRAINER_PRIOR_OVERLAP] > 0.0f;
			none += f[a][k][TRAINER_PRIOR_OVERLAP] == 0.0f;
		}
	CHECK(some >= RG * RK / 8 && none >= RG * RK / 8);
	trainer_reward_split(g, RG, 0.3f, 3);
	struct trainer_prior pr = { .lm = &lm, .uncond = test_uncond, .n_uncond = 2,
				    .idf = &test_idf };
	rm.prior = &pr;
	struct trainer_reward_params p;
	trainer_reward_defaults(&p);
	p.epochs = 1;
	struct trainer_reward_result res;
	char err[256] = "";
	CHECK_INT_EQ(trainer_reward(&rm, g, RG, &p, NULL, &res, err, sizeof err), 0);
	CHECK(res.prior_heldout_acc >= 0.9f);
	CHECK(res.prior_train_acc >= 0.9f);
	CHECK(reverse ? pr.w[0] < 0 : pr.w[0] > 0);
	CHECK_NEAR(res.heldout_acc, res.prior_heldout_acc, 1e-6);
	CHECK(isfinite(res.heldout_acc_network));
	pr.alone = true;
	float got[RK];
	for (int a = 0; a < RG; a += 7) {
		CHECK_INT_EQ(trainer_score(&rm, rg_seq[a], RK, got, err, sizeof err), 0);
		for (int k = 0; k < RK; k++)
			CHECK_NEAR(got[k], trainer_prior_score(&pr, f[a][k]), 1e-4);
	}
	/* without alone the network's score is added */
	pr.alone = false;
	CHECK_INT_EQ(trainer_score(&rm, rg_seq[0], RK, got, err, sizeof err), 0);
	rm.prior = NULL;
	float net[RK];
	CHECK_INT_EQ(trainer_score(&rm, rg_seq[0], RK, net, err, sizeof err), 0);
	for (int k = 0; k < RK; k++)
		CHECK_NEAR(got[k], net[k] + trainer_prior_score(&pr, f[0][k]), 1e-4);
	llama_model_release(&rm);
	llama_model_release(&lm);
}

/* A prior over lm with fixed weights of every sign, for the scoring tests. */
static struct trainer_prior fixed_prior(struct llama_model *lm)
{
	test_idf_fill();
	return (struct trainer_prior){ .lm = lm, .uncond = test_uncond, .n_uncond = 2,
				       .idf = &test_idf,
				       .w = { 0.7f, -0.3f, 0.4f, 0.2f, -0.5f, 0.1f, -0.6f, 0.8f, 0.6f },
				       .b = 0.1f,
				       .mu = { -3.0f, -5.0f, 0.0f, -1.0f, 2.0f, 1.0f, 0.1f, 0.3f, -0.5f },
				       .sd = { 1.0f, 2.0f, 0.5f, 1.0f, 0.3f, 3.0f, 0.2f, 0.4f, 0.7f } };
}

/*
 * trainer_collect runs its rows sorted by length, so a batch pads little:
 * each row still gets its own outputs.  Twelve groups of answers of 5 to 13
 * tokens, in their given order, scored at once (network plus prior, and the
 * prior alone) against each scored by itself.
 */
static void test_collect_sorted_rows_keep_their_outputs(void)
{
	make_reward_data();
	struct llama_model lm, rm;
	model_new(&lm, RK, SEQ, LLAMA_NO_GRADS, 0x5EED);
	model_new(&rm, RK, SEQ, LLAMA_NO_LM, 0xBEEF);
	rm.score = LLAMA_SCORE_MEAN;
	struct trainer_prior pr = fixed_prior(&lm);
	rm.prior = &pr;
	enum { N = 12 * RK };
	const struct trainer_seq *all = &rg_seq[0][0];
	int lens[SEQ + 1] = { 0 }, distinct = 0;
	for (int i = 0; i < N; i++)
		distinct += lens[all[i].n]++ == 0;
	CHECK(distinct >= 4);
	static float got[N], one[N];
	char err[256] = "";
	for (int alone = 0; alone < 2; alone++) {
		pr.alone = alone;
		CHECK_INT_EQ(trainer_score(&rm, all, N, got, err, sizeof err), 0);
		for (int i = 0; i < N; i++)
			CHECK_INT_EQ(trainer_score(&rm, all + i, 1, one + i, err, sizeof err), 0);
		for (int i = 0; i < N; i++)
			CHECK_NEAR(got[i], one[i], 1e-4);
	}
	llama_model_release(&rm);
	llama_model_release(&lm);
}

/* A store of prior features for the tests: a small map by key, counting. */
enum { TC_MAX = 512 };
struct test_cache {
	uint64_t key[TC_MAX];
	float f[TC_MAX][TRAINER_PRIOR_FEATS];
	int n, gets, hits, puts;
};

static bool tc_get(void *ctx, uint64_t key, float *f)
{
	struct test_cache *c = ctx;
	c->gets++;
	for (int i = 0; i < c->n; i++)
		if (c->key[i] == key) {
			memcpy(f, c->f[i], sizeof c->f[i]);
			c->hits++;
			return true;
		}
	return false;
}

static void tc_put(void *ctx, uint64_t key, const float *f)
{
	struct test_cache *c = ctx;
	c->puts++;
	for (int i = 0; i < c->n; i++)
		if (c->key[i] == key) {
			memcpy(c->f[i], f, sizeof c->f[i]);
			return;
		}
	if (c->n < TC_MAX) {
		c->key[c->n] = key;
		memcpy(c->f[c->n++], f, sizeof c->f[0]);
	}
}

/*
 * The prior's features through a store (struct trainer_prior_cache): scores
 * with an empty store are those without one, and every answer is put in it;
 * scored again, every answer is found and nothing computed, with the same
 * scores; what the store holds is what is used (a planted feature vector
 * gives the score computed here from it); and an answer cut to max_T is
 * neither found nor put.  The key: equal token sequences alike, one token or
 * the prompt length apart not.
 */
static void test_prior_cache(void)
{
	make_reward_data();
	struct llama_model lm, rm;
	model_new(&lm, RK, SEQ, LLAMA_NO_GRADS, 0x5EED);
	model_new(&rm, RK, SEQ, LLAMA_NO_LM, 0xBEEF);
	rm.score = LLAMA_SCORE_MEAN;
	static struct test_cache c;
	memset(&c, 0, sizeof c);
	struct trainer_prior_cache tc = { tc_get, tc_put, &c };
	struct trainer_prior pr = fixed_prior(&lm);
	pr.alone = true;
	rm.prior = &pr;
	enum { N = 6 * RK };
	const struct trainer_seq *all = &rg_seq[0][0];
	static float plain[N], first[N], again[N];
	char err[256] = "";
	CHECK_INT_EQ(trainer_score(&rm, all, N, plain, err, sizeof err), 0);
	pr.cache = &tc;
	CHECK_INT_EQ(trainer_score(&rm, all, N, first, err, sizeof err), 0);
	int distinct = c.n;
	CHECK(distinct > N / 2);
	CHECK_INT_EQ(c.puts, N - c.hits);   /* every miss put (twins found) */
	int hits0 = c.hits, puts0 = c.puts;
	CHECK_INT_EQ(trainer_score(&rm, all, N, again, err, sizeof err), 0);
	CHECK_INT_EQ(c.hits - hits0, N);
	CHECK_INT_EQ(c.puts, puts0);        /* nothing computed */
	for (int i = 0; i < N; i++) {
		CHECK_NEAR(first[i], plain[i], 1e-5);
		CHECK_NEAR(again[i], plain[i], 1e-5);
	}
	/* what the store says is used, but for the overlap, computed every time
	 * (it depends on the prior's idf, not its language model) */
	float planted[TRAINER_PRIOR_FEATS] = { -1.0f, -2.0f, 0.5f, 0.25f, 1.5f, 6.0f, 0.5f, -9.0f,
					       -0.75f };
	float one;
	tc_put(&c, trainer_seq_hash(&all[3]), planted);
	CHECK_INT_EQ(trainer_score(&rm, &all[3], 1, &one, err, sizeof err), 0);
	planted[TRAINER_PRIOR_OVERLAP] = trainer_prior_overlap(&test_idf, all[3].tokens,
							       all[3].prompt_len,
							       all[3].tokens + all[3].prompt_len,
							       all[3].n - all[3].prompt_len);
	CHECK(planted[TRAINER_PRIOR_OVERLAP] >= 0.0f && planted[TRAINER_PRIOR_OVERLAP] <= 1.0f);
	CHECK_NEAR(one, trainer_prior_score(&pr, planted), 1e-6);
	/* the key */
	int tok[SEQ];
	memcpy(tok, all[5].tokens, (size_t)all[5].n * sizeof *tok);
	struct trainer_seq twin = { tok, all[5].n, all[5].prompt_len, all[5].ended };
	CHECK(trainer_seq_hash(&twin) == trainer_seq_hash(&all[5]));
	twin.prompt_len++;
	CHECK(trainer_seq_hash(&twin) != trainer_seq_hash(&all[5]));
	twin.prompt_len--;
	tok[twin.n - 1] ^= 1;
	CHECK(trainer_seq_hash(&twin) != trainer_seq_hash(&all[5]));
	/* cut to max_T: computed every time, never put */
	int longest = 0;
	for (int i = 0; i < N; i++)
		longest = all[i].n > all[longest].n ? i : longest;
	const struct trainer_seq *cut = &all[longest];
	int max_T = cut->prompt_len + 2;
	CHECK(cut->n > max_T);
	memset(&c, 0, sizeof c);
	struct trainer_rows rows = { 0 };
	struct trainer_run run;
	trainer_run_init(&run, NULL, err, sizeof err);
	float f1[TRAINER_PRIOR_FEATS], f2[TRAINER_PRIOR_FEATS];
	REQUIRE(trainer_rows_init(&rows, 1, SEQ) == 0);
	CHECK_INT_EQ(trainer_prior_collect(&pr, &rows, &run, &cut, 1, max_T, NULL, 0, f1), 0);
	CHECK_INT_EQ(c.puts, 0);
	CHECK_INT_EQ(trainer_prior_collect(&pr, &rows, &run, &cut, 1, max_T, NULL, 0, f2), 0);
	CHECK_INT_EQ(c.hits, 0);
	CHECK_INT_EQ(c.puts, 0);
	CHECK(f1[4] < logf((float)(cut->n - cut->prompt_len)));   /* fewer tokens read */
	/* twins in one call (the same tokens twice, as a conversation and its
	 * transcript typed out make them): run once, the same features to the
	 * bit, put once */
	tok[twin.n - 1] ^= 1;
	const struct trainer_seq *pair[3] = { &all[5], &all[6], &twin };
	float fp[3][TRAINER_PRIOR_FEATS];
	memset(&c, 0, sizeof c);
	trainer_rows_release(&rows);
	REQUIRE(trainer_rows_init(&rows, 3, SEQ) == 0);
	CHECK_INT_EQ(trainer_prior_collect(&pr, &rows, &run, pair, 3, 0, NULL, 0, &fp[0][0]), 0);
	CHECK(trainer_seq_hash(&twin) == trainer_seq_hash(&all[5]));
	CHECK(trainer_seq_hash(&all[6]) != trainer_seq_hash(&all[5]));
	CHECK(!memcmp(fp[0], fp[2], sizeof fp[0]));
	CHECK_INT_EQ(c.puts, 2);
	trainer_rows_release(&rows);
	llama_model_release(&rm);
	llama_model_release(&lm);
}

/* ---- the recognition feature's rivals ---------------------------------------------- */

/* The rivals of ans (A tokens) to prompt (P tokens) among the n prompts
 * ptok[i] (plen[i] tokens), found here by hand: each prompt's score is the
 * sum, over the answer's distinct words that it has too and that at most a
 * quarter of the prompts have, of log((n + 1) / (df + 1)); the prompts with
 * a score above 0 and not the answer's own prompt (the same tokens), best
 * first, ties to the lower index, up to the first that scores below the own
 * prompt (direct_cut counts the lists so cut).  Their scores into sc, every
 * prompt's into score (n); their number. */
static int direct_cut;
static int direct_rivals(const int *const *ptok, const int *plen, int n, const int *prompt,
			 int P, const int *ans, int A, int k, int *out, double *sc, double *score)
{
	static char pw[64][64][32], aw[64][32];
	int npw[64], df_ok[64];
	for (int i = 0; i < n; i++) {
		npw[i] = direct_words(ptok[i], plen[i], pw[i]);
		score[i] = 0;
	}
	int na = direct_words(ans, A, aw);
	for (int w = 0; w < na; w++) {
		int df = 0;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < npw[i]; j++)
				df += !strcmp(pw[i][j], aw[w]);
		df_ok[w] = 4 * df <= n;
		for (int i = 0; df_ok[w] && i < n; i++)
			for (int j = 0; j < npw[i]; j++)
				if (!strcmp(pw[i][j], aw[w]))
					score[i] += log((n + 1.0) / (df + 1.0));
	}
	/* the own prompt's score: the highest of the prompts with its tokens
	 * (all alike), 0 when none shares a word */
	double own_score = 0;
	for (int i = 0; i < n; i++)
		if (plen[i] == P && !memcmp(ptok[i], prompt, (size_t)P * sizeof *prompt))
			own_score = score[i] > own_score ? score[i] : own_score;
	int got = 0;
	bool taken[64] = { false };
	while (got < k) {
		int best = -1;
		for (int i = 0; i < n; i++) {
			bool own = plen[i] == P && !memcmp(ptok[i], prompt, (size_t)P * sizeof *prompt);
			if (taken[i] || own || score[i] <= 0)
				continue;
			if (best < 0 || score[i] > score[best] + 1e-9)
				best = i;
		}
		if (best < 0)
			break;
		/* below the own prompt (a tie within rounding is not below) */
		if (score[best] < own_score - 1e-5) {
			direct_cut++;
			break;
		}
		taken[best] = true;
		sc[got] = score[best];
		out[got++] = best;
	}
	return got;
}

/*
 * trainer_rivals_pick against direct_rivals over 16 prompts of the test
 * tokenizer's words (" W<id>", " w<id - 1>", "x" running on, " v<id>"):
 * prompt 5 has prompt 2's tokens (neither is a rival of an answer to the
 * other) and prompt 9 prompt 3's (both rivals, the lower index first on a
 * tie), and token 11 (" W11") is in 6 of them, so its word names none.
 * Random answers over the same tokens; an answer whose only shared word is
 * "w11" has no rivals.
 */
static void test_rivals_pick_direct(void)
{
	test_idf_fill();
	enum { NP = 16, K = TRAINER_PRIOR_RIVALS };
	static int ptok[NP][10];
	int plen[NP];
	const int *pp[NP];
	for (int i = 0; i < NP; i++) {
		plen[i] = 3 + irand(6);
		ptok[i][0] = 1;
		for (int t = 1; t < plen[i]; t++)
			ptok[i][t] = 12 + irand(24);
		if (i % 3 == 0)
			ptok[i][1 + irand(plen[i] - 1)] = 11;
		pp[i] = ptok[i];
	}
	plen[5] = plen[2];
	memcpy(ptok[5], ptok[2], sizeof ptok[2]);
	plen[9] = plen[3];
	memcpy(ptok[9], ptok[3], sizeof ptok[3]);
	struct trainer_rivals rv;
	REQUIRE(trainer_rivals_init(&rv, &test_tk, pp, plen, NP) == 0);
	CHECK_INT_EQ(rv.n, NP);
	float score[NP] = { 0 };
	int touched[NP], got[K], want[K], some = 0, full = 0;
	double sc[K], all[NP];
	for (int a = 0; a < 300; a++) {
		int ans[12], A = 2 + irand(10), own = a % NP;
		for (int t = 0; t < A; t++)
			ans[t] = 11 + irand(25);
		int n = trainer_rivals_pick(&rv, pp[own], plen[own], ans, A, K, got, score, touched);
		int m = direct_rivals(pp, plen, NP, pp[own], plen[own], ans, A, K, want, sc, all);
		CHECK_INT_EQ(n, m);
		/* the same prompt, or one of the same score (a tie the sums' order
		 * may round either way) */
		for (int i = 0; i < n && i < m; i++)
			CHECK(got[i] == want[i] || fabs(all[got[i]] - sc[i]) < 1e-5);
		for (int i = 0; i < n; i++) {
			CHECK(got[i] >= 0 && got[i] < NP && got[i] != own);
			CHECK(!(own == 2 && got[i] == 5) && !(own == 5 && got[i] == 2));
			for (int j = 0; j < i; j++)
				CHECK(got[j] != got[i]);
		}
		for (int i = 0; i < NP; i++)
			CHECK(score[i] == 0.0f);        /* the scratch left as found */
		some += n > 0;
		full += n == K;
	}
	CHECK(some > 100 && full > 20);
	CHECK_MSG(direct_cut > 10, "%d lists cut at the own prompt's score", direct_cut);
	/* prompt 3's words, answered to prompt 0: prompts 3 and 9 tie, 3 first */
	int n = trainer_rivals_pick(&rv, pp[0], plen[0], ptok[3] + 1, plen[3] - 1, K, got, score,
				    touched);
	CHECK(n >= 2);
	CHECK_INT_EQ(got[0], 3);
	CHECK_INT_EQ(got[1], 9);
	/* only "w11": in 6 prompts of 16, more than a quarter */
	int w11[] = { 11 };
	CHECK_INT_EQ(trainer_rivals_pick(&rv, pp[1], plen[1], w11, 1, K, got, score, touched), 0);
	/* the set's hash: the same prompts the same, a token changed another */
	struct trainer_rivals rv2;
	REQUIRE(trainer_rivals_init(&rv2, &test_tk, pp, plen, NP) == 0);
	CHECK(rv2.hash == rv.hash && rv.hash != 0);
	trainer_rivals_release(&rv2);
	ptok[7][1] ^= 1;
	REQUIRE(trainer_rivals_init(&rv2, &test_tk, pp, plen, NP) == 0);
	CHECK(rv2.hash != rv.hash);
	trainer_rivals_release(&rv2);
	ptok[7][1] ^= 1;
	trainer_rivals_release(&rv);
	/* no prompts: no rivals */
	REQUIRE(trainer_rivals_init(&rv, &test_tk, NULL, NULL, 0) == 0);
	CHECK_INT_EQ(trainer_rivals_pick(&rv, pp[0], plen[0], ptok[3] + 1, plen[3] - 1, K, got,
					 score, touched), 0);
	trainer_rivals_release(&rv);
}

/*
 * The recognition feature against a direct computation: for each answer of
 * the reward fixture, its rivals (trainer_rivals_pick, checked above) among
 * the fixture's prompts, the answer's floored token log-probs after its own
 * prompt and after each rival by single forwards here, summed over the
 * tokens both have, and -log(1 + sum exp(S_rival - S_own)).  The collecting
 * call runs micro-batches of 3 rows over 400 answers (each of the fixture's
 * twice), so its rivals run in two pools, several forwards each; a batch of
 * 1 gives the same.
 */
static void test_prior_recognition_direct(void)
{
	make_reward_data();
	test_idf_fill();
	struct llama_model lm;
	model_new(&lm, 3, SEQ, LLAMA_NO_GRADS, 0x5EED);
	enum { NG = RG, N = 2 * NG * RK, K = TRAINER_PRIOR_RIVALS };
	const int *pp[NG];
	int plen[NG];
	for (int g = 0; g < NG; g++) {
		pp[g] = rg_seq[g][0].tokens;
		plen[g] = rg_seq[g][0].prompt_len;
	}
	struct trainer_rivals rv;
	REQUIRE(trainer_rivals_init(&rv, &test_tk, pp, plen, NG) == 0);
	struct trainer_prior pr = fixed_prior(&lm);
	pr.rivals = &rv;
	const struct trainer_seq *seqs[N];
	/* every answer twice: more than one pool of answers (256) */
	for (int i = 0; i < N; i++)
		seqs[i] = &rg_seq[(i / RK) % NG][i % RK];
	static float f[N][TRAINER_PRIOR_FEATS];
	struct trainer_rows rows = { 0 };
	struct trainer_run run;
	char err[256] = "";
	trainer_run_init(&run, NULL, err, sizeof err);
	REQUIRE(trainer_rows_init(&rows, 3, SEQ) == 0);
	CHECK_INT_EQ(trainer_prior_collect(&pr, &rows, &run, seqs, N, 0, NULL, 0, &f[0][0]), 0);
	float score[NG] = { 0 };
	int touched[NG], pick[K], with = 0, below = 0;
	for (int i = 0; i < N; i++) {
		const struct trainer_seq *s = seqs[i];
		int a = s->n - s->prompt_len;
		int n = trainer_rivals_pick(&rv, s->tokens, s->prompt_len, s->tokens + s->prompt_len,
					    a, K, pick, score, touched);
		float lp[SEQ], lr[SEQ];
		int L = direct_logprobs(&lm, s, lp);
		double sum = 0;
		for (int j = 0; j < n; j++) {
			int tok[2 * SEQ], P = plen[pick[j]];
			memcpy(tok, pp[pick[j]], (size_t)P * sizeof *tok);
			memcpy(tok + P, s->tokens + s->prompt_len, (size_t)a * sizeof *tok);
			struct trainer_seq r = { tok, P + a, P, s->ended };
			if (r.n > SEQ)
				r.n = SEQ;              /* the model's context */
			int Lr = direct_logprobs(&lm, &r, lr), m = Lr < L ? Lr : L;
			double d = 0;
			for (int t = 0; t < m; t++)
				d += lr[t] - lp[t];
			sum += exp(d);
		}
		CHECK_NEAR(f[i][TRAINER_PRIOR_RECOGNITION], -log(1.0 + sum), 1e-3);
		with += n > 0;
		below += f[i][TRAINER_PRIOR_RECOGNITION] < -0.01f;
	}
	CHECK(with > N / 2 && below > N / 4);
	/* one row at a time: the same features */
	static float one[N][TRAINER_PRIOR_FEATS];
	trainer_rows_release(&rows);
	REQUIRE(trainer_rows_init(&rows, 1, SEQ) == 0);
	CHECK_INT_EQ(trainer_prior_collect(&pr, &rows, &run, seqs, N, 0, NULL, 0, &one[0][0]), 0);
	for (int i = 0; i < N; i++)
		CHECK_NEAR(one[i][TRAINER_PRIOR_RECOGNITION], f[i][TRAINER_PRIOR_RECOGNITION], 1e-4);
	/* without rivals the feature is 0 and the others are as they were */
	pr.rivals = NULL;
	CHECK_INT_EQ(trainer_prior_collect(&pr, &rows, &run, seqs, N, 0, NULL, 0, &one[0][0]), 0);
	for (int i = 0; i < N; i++) {
		CHECK_NEAR(one[i][TRAINER_PRIOR_RECOGNITION], 0.0, 1e-9);
		for (int k = 0; k < TRAINER_PRIOR_RECOGNITION; k++)
			CHECK_NEAR(one[i][k], f[i][k], 1e-4);
	}
	trainer_rows_release(&rows);
	trainer_rivals_release(&rv);
	llama_model_release(&lm);
}

/*
 * The prior's cross-validated accuracy against a direct computation: with
 * cv_folds K every rated group is scored by a prior fitted to the other
 * folds, so the correct pairs it counts are the sums, over the folds f, of
 * what trainer_reward itself reports as the prior's held-out accuracy when
 * the caller holds out fold f (trainer_reward_folds) — the same fit on the
 * same groups in the same order, so equal to the pair.  The ratings follow
 * the likelihood on two of three prompts and go against it on the third, so
 * the figure is neither 0 nor 1.  Cross-validation leaves the prior of the
 * split as it was (the same weights as without it), and its interval holds
 * its accuracy.
 */
static void test_reward_prior_cv(void)
{
	enum { K = 4 };
	struct llama_model lm, rm;
	prior_models(&lm, &rm);
	static float f[TRAINER_PRIOR_FEATS], lp[RG][RK], sc[RG][RK];
	struct trainer_group g[RG];
	for (int a = 0; a < RG; a++) {
		for (int k = 0; k < RK; k++) {
			direct_features(&lm, &rg_seq[a][k], &test_idf, f);
			lp[a][k] = f[0];
		}
		for (int k = 0; k < RK; k++) {
			int rank = 1;
			for (int q = 0; q < RK; q++)
				rank += lp[a][q] < lp[a][k];
			sc[a][k] = (float)(a % 3 == 0 ? RK + 1 - rank : rank);
		}
		/* two groups to each prompt: folds go by prompt */
		g[a] = (struct trainer_group){ rg_seq[a], sc[a], RK, a / 2, false, false, false };
	}
	trainer_reward_split(g, RG, 0.2f, 3);
	static struct test_cache c;
	memset(&c, 0, sizeof c);
	struct trainer_prior_cache tc = { tc_get, tc_put, &c };
	struct trainer_prior pr = { .lm = &lm, .uncond = test_uncond, .n_uncond = 2,
				    .idf = &test_idf, .cache = &tc };
	rm.prior = &pr;
	struct trainer_reward_params p;
	trainer_reward_defaults(&p);
	CHECK_INT_EQ(p.cv_folds, 5);
	p.epochs = 1;
	p.cv_folds = K;
	struct trainer_reward_result res, one;
	char err[256] = "";
	CHECK_INT_EQ(trainer_reward(&rm, g, RG, &p, NULL, &res, err, sizeof err), 0);
	struct trainer_prior fitted = pr;
	CHECK_INT_EQ(res.cv_folds, K);
	CHECK_INT_EQ(res.cv_prompts, RG / 2);
	CHECK(res.cv_acc > 0.2f && res.cv_acc < 0.9f);
	CHECK(res.cv_lo <= res.cv_acc && res.cv_acc <= res.cv_hi && res.cv_lo >= 0 && res.cv_hi <= 1);
	CHECK(res.cv_pairs > res.heldout_pairs);
	/* the split's prior as without cross-validation (the same network from
	 * the same start: the normalisation at the end rescales w by the
	 * scores' std, the network's with the prior's) */
	p.cv_folds = 0;
	llama_model_release(&rm);
	model_new(&rm, RK, SEQ, LLAMA_NO_LM, 0xBEEF);
	rm.score = LLAMA_SCORE_MEAN;
	rm.prior = &pr;
	CHECK_INT_EQ(trainer_reward(&rm, g, RG, &p, NULL, &one, err, sizeof err), 0);
	CHECK(isnan(one.cv_acc) && one.cv_pairs == 0 && one.cv_folds == 0);
	CHECK(one.prior_heldout_acc == res.prior_heldout_acc);
	CHECK(!memcmp(pr.w, fitted.w, sizeof pr.w) && pr.b == fitted.b);
	CHECK(!memcmp(pr.mu, fitted.mu, sizeof pr.mu) && !memcmp(pr.sd, fitted.sd, sizeof pr.sd));
	/* directly: fold f held out, the rest trained on */
	int fold[RG], pairs = 0;
	long correct = 0;
	CHECK_INT_EQ(trainer_reward_folds(g, RG, K, p.seed, fold), RG / 2);
	for (int fo = 0; fo < K; fo++) {
		struct trainer_group h[RG];
		for (int a = 0; a < RG; a++) {
			h[a] = g[a];
			h[a].heldout = fold[a] == fo;
		}
		CHECK_INT_EQ(trainer_reward(&rm, h, RG, &p, NULL, &one, err, sizeof err), 0);
		pairs += one.heldout_pairs;
		correct += lroundf(one.prior_heldout_acc * one.heldout_pairs);
	}
	CHECK_INT_EQ(res.cv_pairs, pairs);
	CHECK_INT_EQ(lroundf(res.cv_acc * res.cv_pairs), correct);
	/* a bad fold count is refused */
	p.cv_folds = 1;
	CHECK_INT_EQ(trainer_reward(&rm, g, RG, &p, NULL, &one, err, sizeof err), -EINVAL);
	CHECK(strstr(err, "cv_folds 1") != NULL);
	llama_model_release(&rm);
	llama_model_release(&lm);
}

static void test_reward_prior_follows_likelihood(void) { reward_prior_case(false); }
static void test_reward_prior_reversed(void) { reward_prior_case(true); }

static void build_rm(struct llama_model *m, unsigned flags)
{
	model_new(m, 16, SEQ, flags, 0);
	memset(m->params, 0, m->n_params * sizeof(float));
	const struct llama_config *c = &tiny;
	int C = c->dim;
	for (int v = 0; v < c->vocab_size; v++)
		m->w.token_embedding[(size_t)v * C + 2 + v % (C - 2)] = 1.0f;
	m->w.token_embedding[(size_t)TOKX * C + 0] = 1.0f;
	for (int i = 0; i < c->n_layers * C; i++)
		m->w.rms_att[i] = m->w.rms_ffn[i] = 1.0f;
	for (int i = 0; i < C; i++)
		m->w.rms_final[i] = 1.0f;
	m->w.wv[0] = 1.0f;                /* layer 0: v[0] = xn[0] */
	m->w.wo[(size_t)1 * C + 0] = 1.0f; /* layer 0: x[1] += ao[0] */
	m->w.head_w[1] = 0.5f;
}

static void make_prompts(int (*pt)[4], struct trainer_prompt *pr, int n)
{
	for (int i = 0; i < n; i++) {
		pt[i][0] = 1;
		for (int t = 1; t < 4; t++)
			pt[i][t] = 10 + irand(30);
		pr[i] = (struct trainer_prompt){ pt[i], 4 };
	}
}

static void test_built_rm_rewards_token(void)
{
	struct llama_model rm;
	build_rm(&rm, LLAMA_NO_LM | LLAMA_NO_GRADS);
	int a[] = { 1, 10, 11, 12, 13, 14, 15, 2 };
	int b[] = { 1, 10, 11, 12, TOKX, 14, 15, 2 };
	int c[] = { 1, 10, TOKX, 12, TOKX, TOKX, 15, 2 };
	struct trainer_seq s[3] = { { a, 8, 4, true }, { b, 8, 4, true }, { c, 8, 4, true } };
	float v[3];
	char err[128];
	CHECK_INT_EQ(trainer_score(&rm, s, 3, v, err, sizeof err), 0);
	CHECK_NEAR(v[0], 0.0, 1e-6);
	/* one X among 8 tokens, EOS last: the mean value m = (1/8) xn_X[0] lands
	 * in coordinate 1 beside EOS's own unit coordinate (RMSNorm eps 1e-5) */
	double m = 1.0 / 8 / sqrt(2.0 / 32 + 1e-5);
	CHECK_NEAR(v[1], 0.5 * m / sqrt((1 + m * m) / 32 + 1e-5), 1e-5);
	CHECK(v[2] > v[1]);
	llama_model_release(&rm);
}

/* ---- PPO and RLOO / GRPO ---------------------------------------------------------- */

/* Expected reward of a policy, measured here: 4 answers of up to 8 tokens to
 * each prompt sampled with infer_generate (temperature 1, its own seed), each
 * scored by rm at its last token with llama_forward. */
static double policy_reward(const struct llama_model *pol, struct llama_model *rm1,
			    const struct trainer_prompt *pr, int np)
{
	struct infer inf;
	char err[256];
	if (infer_init(&inf, &tiny, pol->params, 4, err, sizeof err) < 0)
		return NAN;
	double sum = 0;
	for (int i = 0; i < np; i++) {
		int tok[4 * 8], nt[4];
		struct infer_params ip;
		infer_params_default(&ip);
		ip.k = 4;
		ip.max_new = 8;
		ip.top_p = 1.0f;
		ip.seed = 999;
		ip.first_stream = 4 * i;
		infer_generate(&inf, pr[i].tokens, pr[i].n, &ip, tok, nt, NULL, err, sizeof err);
		for (int j = 0; j < 4; j++) {
			int full[SEQ];
			memcpy(full, pr[i].tokens, pr[i].n * sizeof(int));
			memcpy(full + pr[i].n, tok + 8 * j, nt[j] * sizeof(int));
			struct trainer_seq s = { full, pr[i].n + nt[j], pr[i].n, false };
			sum += seq_value(rm1, &s, rm1->score);
		}
	}
	infer_release(&inf);
	return sum / (4 * np);
}

static void rl_params(struct trainer_rl_params *p)
{
	trainer_rl_defaults(p);
	p->lr = 3e-3f;
	p->min_lr = 3e-3f;
	p->value_lr = 3e-3f;
	p->iterations = 30;
	p->prompts_per_iter = 8;
	p->k = 4;
	p->max_new = 8;
	p->epochs = 2;
	p->minibatch = 16;
	p->missing_eos_penalty = 0.0f;
	/* a fixed, firm KL coefficient (the KL-regularised optimum keeps
	 * KL(pi || ref) <= reward range / beta); the tests check KL < 6 nats per
	 * answer all along */
	p->kl_beta = 0.5f;
	p->kl_target = 0.0f;
	p->kl_coef = 0.5f;
	/* these tests measure learning under a fixed coefficient: no hard
	 * stops (tested on their own below) */
	p->kl_ceiling = 0.0f;
	p->entropy_floor = 0.0f;
}

static void test_ppo_raises_reward(void)
{
	enum { NP = 16 };
	int pt[NP][4];
	struct trainer_prompt pr[NP];
	make_prompts(pt, pr, NP);
	struct llama_model pol, ref, value, rm;
	model_new(&pol, 16, SEQ, 0, 21);
	model_copy(&ref, &pol, 16, SEQ, LLAMA_NO_GRADS);
	build_rm(&rm, LLAMA_NO_LM | LLAMA_NO_GRADS);
	build_rm(&value, LLAMA_NO_LM); /* the worker starts the value model from the rm */
	struct llama_model rm1;
	build_rm(&rm1, LLAMA_NO_LM | LLAMA_NO_GRADS);
	double before = policy_reward(&pol, &rm1, pr, NP);
	struct trainer_rl_params p;
	rl_params(&p);
	/* PPO's penalty is per token, summed over the answer: a lighter beta */
	p.kl_beta = 0.2f;
	struct rec r;
	struct trainer_hooks h = rec_hooks(&r, "kl");
	struct trainer_rl_result res;
	char err[256];
	int rc = trainer_ppo(&pol, &ref, &value, &rm, pr, NP, &p, &h, &res, err, sizeof err);
	CHECK_MSG(rc == 0, "rc %d: %s", rc, err);
	CHECK(prog_ok(&r));
	CHECK_INT_EQ(res.iterations, p.iterations);
	CHECK_INT_EQ(r.n_vals, p.iterations);
	/* policy == ref before the first update: KL exactly 0 */
	CHECK_NEAR(r.vals[0], 0.0, 1e-6);
	for (int i = 0; i < r.n_vals; i++)
		CHECK_MSG(r.vals[i] < 6.0f, "kl %g at %d", r.vals[i], i);
	double after = policy_reward(&pol, &rm1, pr, NP);
	CHECK_MSG(after > before + 0.4, "ppo reward %g -> %g (trainer: %g -> %g)", before, after,
		  res.reward_first, res.reward_last);
	llama_model_release(&rm1);
	llama_model_release(&pol);
	llama_model_release(&ref);
	llama_model_release(&value);
	llama_model_release(&rm);
}

/*
 * RLOO / GRPO against the hand-built reward model: the same policy and
 * prompts trained with three sampling seeds, the learning rate annealed
 * (cosine to a tenth) so that each run ends on a settled policy; the reward
 * gain, measured independently, must be clear in every run and 0.4 on
 * average.
 *
 * Why not one run at a constant rate (as before): RLOO's advantages are raw
 * score differences, small next to kl_coef 0.5 (GRPO divides them by the
 * group's std), so at a constant 3e-3 the policy swings — the reward climbs,
 * KL grows, the K3 term pulls the policy back, again and again.  The reward
 * after the last update was a snapshot of that swing, and its phase depends
 * on every rounding: on an AMD EPYC the run ended in a trough (gain 0.07),
 * and 1e-5 relative noise in the initial weights alone spread the gain of
 * that one run between 0.2 and 1.1.  Annealed, and averaged over the three
 * seeds, it stayed between 0.87 and 0.94 under the same noise (GRPO 0.92 to
 * 1.02).
 */
static void group_rl_case(enum trainer_rl_kind kind)
{
	enum { NP = 16, SEEDS = 3 };
	const char *name = kind == TRAINER_RLOO ? "rloo" : "grpo";
	int pt[NP][4];
	struct trainer_prompt pr[NP];
	make_prompts(pt, pr, NP);
	struct llama_model pol0, rm, rm1;
	model_new(&pol0, 16, SEQ, 0, 22);
	build_rm(&rm, LLAMA_NO_LM | LLAMA_NO_GRADS);
	build_rm(&rm1, LLAMA_NO_LM | LLAMA_NO_GRADS);
	double before = policy_reward(&pol0, &rm1, pr, NP), gain_sum = 0;
	struct trainer_rl_params p;
	struct trainer_rl_result res;
	char err[256];
	for (int s = 0; s < SEEDS; s++) {
		struct llama_model pol, ref;
		model_copy(&pol, &pol0, 16, SEQ, 0);
		model_copy(&ref, &pol0, 16, SEQ, LLAMA_NO_GRADS);
		rl_params(&p);
		p.min_lr = 3e-4f;
		p.seed = 1 + (uint64_t)s;
		struct rec r;
		struct trainer_hooks h = rec_hooks(&r, "kl");
		int rc = trainer_group_rl(kind, &pol, &ref, &rm, pr, NP, &p, &h, &res, err, sizeof err);
		CHECK_MSG(rc == 0, "rc %d: %s", rc, err);
		CHECK(prog_ok(&r));
		CHECK_NEAR(r.vals[0], 0.0, 1e-6);
		for (int i = 0; i < r.n_vals; i++)
			CHECK_MSG(r.vals[i] < 6.0f, "kl %g at %d", r.vals[i], i);
		double gain = policy_reward(&pol, &rm1, pr, NP) - before;
		CHECK_MSG(gain > 0.2, "%s seed %d: reward %g -> %g (trainer: %g -> %g)", name,
			  (int)p.seed, before, before + gain, res.reward_first, res.reward_last);
		gain_sum += gain;
		llama_model_release(&pol);
		llama_model_release(&ref);
	}
	CHECK_MSG(gain_sum / SEEDS > 0.4, "%s: mean reward gain %g over %d seeds", name,
		  gain_sum / SEEDS, SEEDS);
	llama_model_release(&rm1);
	/* k = 1 has no group baseline */
	struct llama_model ref;
	model_copy(&ref, &pol0, 16, SEQ, LLAMA_NO_GRADS);
	p.k = 1;
	int rc = trainer_group_rl(kind, &pol0, &ref, &rm, pr, NP, &p, NULL, &res, err, sizeof err);
	CHECK_INT_EQ(rc, -EINVAL);
	llama_model_release(&pol0);
	llama_model_release(&ref);
	llama_model_release(&rm);
}

static void test_rloo_raises_reward(void) { group_rl_case(TRAINER_RLOO); }
static void test_grpo_raises_reward(void) { group_rl_case(TRAINER_GRPO); }

/* Share of token X among the answer's tokens. */
static float x_share(void *arg, const struct trainer_seq *s)
{
	int *calls = arg, c = 0;
	(*calls)++;
	for (int t = s->prompt_len; t < s->n; t++)
		c += s->tokens[t] == TOKX;
	return s->n > s->prompt_len ? (float)c / (s->n - s->prompt_len) : 0.0f;
}

/* Share of X in 4 sampled answers of up to 8 tokens to each prompt. */
static double sampled_x_share(const struct llama_model *pol, const struct trainer_prompt *pr, int np)
{
	struct infer inf;
	char err[256];
	if (infer_init(&inf, &tiny, pol->params, 4, err, sizeof err) < 0)
		return NAN;
	long x = 0, all = 0;
	for (int i = 0; i < np; i++) {
		int tok[4 * 8], nt[4];
		struct infer_params ip;
		infer_params_default(&ip);
		ip.k = 4;
		ip.max_new = 8;
		ip.top_p = 1.0f;
		ip.seed = 555;
		ip.first_stream = 4 * i;
		infer_generate(&inf, pr[i].tokens, pr[i].n, &ip, tok, nt, NULL, err, sizeof err);
		for (int j = 0; j < 4; j++)
			for (int t = 0; t < nt[j]; t++) {
				x += tok[8 * j + t] == TOKX;
				all++;
			}
	}
	infer_release(&inf);
	return (double)x / all;
}

/* A programmatic reward (score_fn) in place of the reward model. */
static void test_group_rl_score_fn(void)
{
	enum { NP = 16 };
	int pt[NP][4];
	struct trainer_prompt pr[NP];
	make_prompts(pt, pr, NP);
	struct llama_model pol, ref;
	model_new(&pol, 16, SEQ, 0, 24);
	model_copy(&ref, &pol, 16, SEQ, LLAMA_NO_GRADS);
	double before = sampled_x_share(&pol, pr, NP);
	struct trainer_rl_params p;
	rl_params(&p);
	p.kl_coef = 0.05f;
	int calls = 0;
	p.score_fn = x_share;
	p.score_arg = &calls;
	struct trainer_rl_result res;
	char err[256];
	int rc = trainer_group_rl(TRAINER_GRPO, &pol, &ref, NULL, pr, NP, &p, NULL, &res, err,
				  sizeof err);
	CHECK_MSG(rc == 0, "rc %d: %s", rc, err);
	CHECK_INT_EQ(calls, p.iterations * p.prompts_per_iter * p.k);
	double after = sampled_x_share(&pol, pr, NP);
	CHECK_MSG(before < 0.1 && after > 0.3, "share of X %g -> %g", before, after);
	llama_model_release(&pol);
	llama_model_release(&ref);
}

/* Records the per-update "kl", "kl_beta" and "entropy" metrics. */
struct rl_rec {
	float kl[256], beta[256], ent[256];
	int n_kl, n_beta, n_ent;
};

static void rl_rec_metric(void *a, int step, const char *name, float v)
{
	struct rl_rec *r = a;
	(void)step;
	if (!strcmp(name, "kl") && r->n_kl < 256)
		r->kl[r->n_kl++] = v;
	else if (!strcmp(name, "kl_beta") && r->n_beta < 256)
		r->beta[r->n_beta++] = v;
	else if (!strcmp(name, "entropy") && r->n_ent < 256)
		r->ent[r->n_ent++] = v;
}

/* Always token X: the more X, the better (x_share), at a learning rate that
 * drives the policy there fast, no KL term — KL to the reference climbs and
 * the entropy collapses. */
static void degenerate_params(struct trainer_rl_params *p, int *calls)
{
	rl_params(p);
	p->lr = 1e-2f;
	p->min_lr = 1e-2f;
	p->kl_coef = 0.0f;
	p->kl_target = 0.0f;
	p->iterations = 20;
	p->score_fn = x_share;
	p->score_arg = calls;
}

static int run_group(struct llama_model *pol0, const struct trainer_prompt *pr, int np,
		     const struct trainer_rl_params *p, struct rl_rec *rr,
		     struct trainer_rl_result *res)
{
	struct llama_model pol, ref;
	model_copy(&pol, pol0, 16, SEQ, 0);
	model_copy(&ref, pol0, 16, SEQ, LLAMA_NO_GRADS);
	memset(rr, 0, sizeof *rr);
	struct rec dummy;
	struct trainer_hooks h = rec_hooks(&dummy, NULL);
	h.arg = rr;
	h.metric = rl_rec_metric;
	h.progress = NULL;
	h.cancelled = NULL;
	char err[256];
	int rc = trainer_group_rl(TRAINER_GRPO, &pol, &ref, NULL, pr, np, p, &h, res, err,
				  sizeof err);
	if (rc)
		fprintf(stderr, "  group rl: %s\n", err);
	llama_model_release(&pol);
	llama_model_release(&ref);
	return rc;
}

/*
 * The KL ceiling: the degenerate reward drives KL past 4 nats per answer.
 * With the ceiling on, the run stops at the first batch above it, before
 * that batch's update (the optimizer steps say so), and returns 0; with it
 * off, the same run goes through every iteration (the same batches up to
 * the stop: same seeds, same updates) and its KL passes the ceiling.
 */
static void test_group_rl_kl_ceiling(void)
{
	enum { NP = 16 };
	int pt[NP][4];
	struct trainer_prompt pr[NP];
	make_prompts(pt, pr, NP);
	struct llama_model pol0;
	model_new(&pol0, 16, SEQ, 0, 24);
	struct trainer_rl_params p;
	int calls = 0;
	degenerate_params(&p, &calls);
	struct rl_rec off, on;
	struct trainer_rl_result ro, rn;
	p.kl_ceiling = 0.0f;
	p.entropy_floor = 0.0f;
	REQUIRE(run_group(&pol0, pr, NP, &p, &off, &ro) == 0);
	CHECK_INT_EQ(ro.stop_reason, TRAINER_RL_DONE);
	CHECK_STR_EQ(trainer_rl_stop_name(ro.stop_reason), "done");
	CHECK_INT_EQ(ro.iterations, p.iterations);
	CHECK_INT_EQ(ro.stopped_at, p.iterations);
	CHECK_INT_EQ(off.n_kl, p.iterations);
	float kmax = 0;
	int first_above = -1;
	for (int i = 0; i < off.n_kl; i++) {
		kmax = off.kl[i] > kmax ? off.kl[i] : kmax;
		if (first_above < 0 && off.kl[i] > 4.0f)
			first_above = i;
	}
	CHECK_NEAR(ro.kl_max, kmax, 0);
	REQUIRE_MSG(first_above > 0 && first_above < p.iterations - 1,
		    "kl never passed 4 early enough (max %g)", kmax);

	p.kl_ceiling = 4.0f;
	REQUIRE(run_group(&pol0, pr, NP, &p, &on, &rn) == 0);
	CHECK_INT_EQ(rn.stop_reason, TRAINER_RL_KL_CEILING);
	CHECK_STR_EQ(trainer_rl_stop_name(rn.stop_reason), "kl_ceiling");
	CHECK_INT_EQ(rn.stopped_at, first_above);
	CHECK_INT_EQ(rn.iterations, first_above);
	/* the stopping batch was not trained on: one step per minibatch of
	 * each update before it (32 answers, minibatch 16, 2 epochs) */
	CHECK_INT_EQ(rn.steps, first_above * p.epochs * 2);
	CHECK_INT_EQ(ro.steps, p.iterations * p.epochs * 2);
	/* up to the stop the run is the same; the stopping batch reported */
	CHECK_INT_EQ(on.n_kl, first_above + 1);
	for (int i = 0; i <= first_above; i++)
		CHECK_NEAR(on.kl[i], off.kl[i], 0);
	CHECK_NEAR(rn.kl_last, off.kl[first_above], 0);
	CHECK(rn.kl_max > 4.0f);
	CHECK_NEAR(rn.entropy_first, off.ent[0], 0);
	CHECK_STR_EQ(trainer_rl_stop_name(99), "unknown");
	llama_model_release(&pol0);
}

/* The entropy floor on the same degenerate run: the entropy falls below
 * 0.7 of the first batch's; the run stops there, before that update. */
static void test_group_rl_entropy_floor(void)
{
	enum { NP = 16 };
	int pt[NP][4];
	struct trainer_prompt pr[NP];
	make_prompts(pt, pr, NP);
	struct llama_model pol0;
	model_new(&pol0, 16, SEQ, 0, 24);
	struct trainer_rl_params p;
	int calls = 0;
	degenerate_params(&p, &calls);
	p.kl_ceiling = 0.0f;
	p.entropy_floor = 0.0f;
	struct rl_rec off, on;
	struct trainer_rl_result ro, rn;
	REQUIRE(run_group(&pol0, pr, NP, &p, &off, &ro) == 0);
	int first_below = -1;
	for (int i = 1; i < off.n_ent && first_below < 0; i++)
		if (off.ent[i] < 0.7f * off.ent[0])
			first_below = i;
	REQUIRE_MSG(first_below > 0 && first_below < p.iterations - 1,
		    "entropy %g -> %g never fell below 0.7 of the first early enough", off.ent[0],
		    off.ent[off.n_ent - 1]);
	p.entropy_floor = 0.7f;
	REQUIRE(run_group(&pol0, pr, NP, &p, &on, &rn) == 0);
	CHECK_INT_EQ(rn.stop_reason, TRAINER_RL_ENTROPY_FLOOR);
	CHECK_STR_EQ(trainer_rl_stop_name(rn.stop_reason), "entropy_floor");
	CHECK_INT_EQ(rn.stopped_at, first_below);
	CHECK_INT_EQ(rn.steps, first_below * p.epochs * 2);
	CHECK_NEAR(rn.entropy_first, off.ent[0], 0);
	CHECK_NEAR(rn.entropy_last, off.ent[first_below], 0);
	CHECK(rn.entropy_last < 0.7f * rn.entropy_first);
	llama_model_release(&pol0);
}

/* The adaptive coefficient of group RL: each update's kl_beta is the
 * controller (rl_kl_control, written out here) applied to the previous one
 * and the previous batch's KL; KL above the target raises it. */
static void test_group_rl_adaptive_kl_coef(void)
{
	enum { NP = 16 };
	int pt[NP][4];
	struct trainer_prompt pr[NP];
	make_prompts(pt, pr, NP);
	struct llama_model pol0;
	model_new(&pol0, 16, SEQ, 0, 24);
	struct trainer_rl_params p;
	int calls = 0;
	degenerate_params(&p, &calls);
	p.iterations = 10;
	p.kl_coef = 0.05f;
	p.kl_target = 0.5f;
	p.kl_horizon = 100.0f;
	p.kl_ceiling = 0.0f;
	p.entropy_floor = 0.0f;
	struct rl_rec rr;
	struct trainer_rl_result res;
	REQUIRE(run_group(&pol0, pr, NP, &p, &rr, &res) == 0);
	REQUIRE(rr.n_beta == p.iterations && rr.n_kl == p.iterations);
	double coef = 0.05;
	for (int i = 0; i < p.iterations; i++) {
		CHECK_NEAR(rr.beta[i], coef, 1e-6 * coef);
		double e = rr.kl[i] / 0.5 - 1;
		e = e < -0.2 ? -0.2 : e > 0.2 ? 0.2 : e;
		coef *= 1 + e * 32 / 100.0;
	}
	CHECK_NEAR(res.kl_beta, coef, 1e-6 * coef);
	CHECK_MSG(res.kl_beta > 0.05f, "kl %g .. %g, coef 0.05 -> %g", rr.kl[0],
		  rr.kl[p.iterations - 1], res.kl_beta);
	llama_model_release(&pol0);
}

/* PPO shares the stops: the degenerate reward, a fixed small beta, the KL
 * ceiling at 4 — it stops before the update of the first batch above it. */
static void test_ppo_kl_ceiling(void)
{
	enum { NP = 16 };
	int pt[NP][4];
	struct trainer_prompt pr[NP];
	make_prompts(pt, pr, NP);
	struct llama_model pol, ref, value;
	model_new(&pol, 16, SEQ, 0, 24);
	model_copy(&ref, &pol, 16, SEQ, LLAMA_NO_GRADS);
	build_rm(&value, LLAMA_NO_LM);
	struct trainer_rl_params p;
	int calls = 0;
	degenerate_params(&p, &calls);
	p.kl_beta = 0.01f;
	p.kl_ceiling = 4.0f;
	p.iterations = 30;
	struct rl_rec rr;
	memset(&rr, 0, sizeof rr);
	struct trainer_hooks h = { .arg = &rr, .metric = rl_rec_metric };
	struct trainer_rl_result res;
	char err[256];
	int rc = trainer_ppo(&pol, &ref, &value, NULL, pr, NP, &p, &h, &res, err, sizeof err);
	CHECK_MSG(rc == 0, "rc %d: %s", rc, err);
	CHECK_INT_EQ(res.stop_reason, TRAINER_RL_KL_CEILING);
	CHECK_MSG(res.stopped_at > 0 && res.stopped_at < p.iterations, "stopped at %d",
		  res.stopped_at);
	CHECK_INT_EQ(res.iterations, res.stopped_at);
	CHECK_INT_EQ(res.steps, res.stopped_at * p.epochs * 2);
	CHECK_INT_EQ(rr.n_kl, res.stopped_at + 1);
	for (int i = 0; i < rr.n_kl - 1; i++)
		CHECK(rr.kl[i] <= 4.0f);
	CHECK(rr.kl[rr.n_kl - 1] > 4.0f);
	CHECK_NEAR(res.kl_max, rr.kl[rr.n_kl - 1], 0);
	llama_model_release(&pol);
	llama_model_release(&ref);
	llama_model_release(&value);
}

/* With a reward model that scores everything 0, the missing-EOS penalty is
 * the only signal: answers learn to end. */
static void test_missing_eos_penalty(void)
{
	enum { NP = 16 };
	int pt[NP][4];
	struct trainer_prompt pr[NP];
	make_prompts(pt, pr, NP);
	struct llama_model pol, ref, rm;
	model_new(&pol, 16, SEQ, 0, 23);
	model_copy(&ref, &pol, 16, SEQ, LLAMA_NO_GRADS);
	model_new(&rm, 16, SEQ, LLAMA_NO_LM | LLAMA_NO_GRADS, 0);
	memset(rm.w.head_w, 0, tiny.dim * sizeof(float));
	rm.w.head_b[0] = 0.0f;
	struct trainer_rl_params p;
	rl_params(&p);
	p.missing_eos_penalty = 1.0f;
	p.kl_coef = 0.05f;
	p.iterations = 20;
	struct rec r;
	struct trainer_hooks h = rec_hooks(&r, "eos_rate");
	struct trainer_rl_result res;
	char err[256];
	int rc = trainer_group_rl(TRAINER_RLOO, &pol, &ref, &rm, pr, NP, &p, &h, &res, err,
				  sizeof err);
	CHECK_MSG(rc == 0, "rc %d: %s", rc, err);
	CHECK_MSG(r.vals[0] < 0.4f, "first eos_rate %g", r.vals[0]);
	CHECK_MSG(res.eos_rate_last > r.vals[0] + 0.4f, "eos_rate %g -> %g", r.vals[0],
		  res.eos_rate_last);
	llama_model_release(&pol);
	llama_model_release(&ref);
	llama_model_release(&rm);
}

/* ---- DPO ------------------------------------------------------------------------------- */

static void test_dpo(void)
{
	enum { N = 12 };
	int ct[N][8], rt[N][8];
	struct trainer_pair pairs[N];
	for (int i = 0; i < N; i++) {
		int a = 10 + irand(20);
		int c[] = { 1, a, 3, 30, 31, 2 }, r[] = { 1, a, 3, 40, 41, 42, 2 };
		memcpy(ct[i], c, sizeof c);
		memcpy(rt[i], r, sizeof r);
		pairs[i].chosen = (struct trainer_seq){ ct[i], 6, 3, true };
		pairs[i].rejected = (struct trainer_seq){ rt[i], 7, 3, true };
	}
	struct llama_model pol, ref;
	model_new(&pol, 4, 16, 0, 31); /* 2 pairs per micro-batch */
	model_copy(&ref, &pol, 3, 16, LLAMA_NO_GRADS);
	struct trainer_dpo_params p;
	trainer_dpo_defaults(&p);
	p.lr = 1e-3f;
	p.min_lr = 1e-3f;
	p.epochs = 10;
	p.batch_pairs = 6;
	struct rec r;
	struct trainer_hooks h = rec_hooks(&r, "loss");
	struct trainer_dpo_result res;
	char err[256];
	int rc = trainer_dpo(&pol, &ref, pairs, N, &p, &h, &res, err, sizeof err);
	CHECK_MSG(rc == 0, "rc %d: %s", rc, err);
	CHECK(prog_ok(&r));
	CHECK_INT_EQ(res.steps, 20);
	CHECK_NEAR(res.loss_first, log(2.0), 1e-5);
	CHECK_NEAR(r.vals[0], log(2.0), 1e-5);
	CHECK_MSG(res.reward_acc >= 1.0f, "reward_acc %g", res.reward_acc);
	CHECK_MSG(res.loss < 0.5f, "loss %g", res.loss);
	/* independent: the implicit reward of chosen beats rejected on every pair */
	struct llama_model one, rone;
	model_copy(&one, &pol, 1, 16, LLAMA_NO_GRADS);
	model_copy(&rone, &ref, 1, 16, LLAMA_NO_GRADS);
	int c;
	int wins = 0;
	for (int i = 0; i < N; i++) {
		double zc = -ref_nll(&one, &pairs[i].chosen, &c) + ref_nll(&rone, &pairs[i].chosen, &c);
		double zr = -ref_nll(&one, &pairs[i].rejected, &c) +
			    ref_nll(&rone, &pairs[i].rejected, &c);
		wins += zc > zr;
	}
	CHECK_INT_EQ(wins, N);
	llama_model_release(&one);
	llama_model_release(&rone);
	llama_model_release(&pol);
	llama_model_release(&ref);
}

/* ---- eval ---------------------------------------------------------------------------------- */

/* The eval tests' sampling: k answers of at most 10 tokens, temperature 1, seed 77. */
static void eval_test_params(struct trainer_eval_params *p, int k)
{
	trainer_eval_defaults(p);
	p->k = k;
	p->max_new = 10;
	p->temperature = 1.0f;
	p->seed = 77;
}

static void test_eval(void)
{
	enum { NP = 5, K = 3 };
	int pt[NP][4];
	struct trainer_prompt pr[NP];
	make_prompts(pt, pr, NP);
	struct llama_model pol, ref, parent, rm;
	model_new(&pol, 8, SEQ, LLAMA_NO_GRADS, 41);
	model_copy(&ref, &pol, 5, SEQ, LLAMA_NO_GRADS);
	model_copy(&parent, &pol, 2, SEQ, LLAMA_NO_GRADS);
	build_rm(&rm, LLAMA_NO_LM | LLAMA_NO_GRADS);
	rm.score = LLAMA_SCORE_MEAN; /* eval reads scores as the reward model says */
	struct trainer_eval_params p;
	eval_test_params(&p, K);
	struct rec r;
	struct trainer_hooks h = rec_hooks(&r, NULL);
	struct trainer_eval_result res;
	char err[256];
	int rc = trainer_eval(&pol, &ref, &parent, &rm, pr, NP, &p, &h, &res, err, sizeof err);
	CHECK_MSG(rc == 0, "rc %d: %s", rc, err);
	CHECK(prog_ok(&r));
	CHECK_INT_EQ(res.n_answers, NP * K);
	/* policy == ref: every answer's log-prob sum is the same under both */
	CHECK_NEAR(res.kl, 0.0, 1e-6);
	/* parent == policy, same seed and streams: the same answers, all ties */
	CHECK_NEAR(res.win_rate, 0.5, 1e-9);
	for (int a = 0; a < res.n_answers; a++)
		CHECK(res.parent_reward[a] == res.reward[a]);

	/* answers regenerated one at a time (stream i*k+j), rescored independently */
	struct infer inf;
	CHECK_INT_EQ(infer_init(&inf, &tiny, pol.params, 1, err, sizeof err), 0);
	struct llama_model one;
	model_copy(&one, &rm, 1, SEQ, LLAMA_NO_LM | LLAMA_NO_GRADS);
	double rsum = 0;
	int same = 0;
	for (int i = 0; i < NP; i++)
		for (int j = 0; j < K; j++) {
			int a = i * K + j, tok[16], nt, full[SEQ];
			struct infer_params ip;
			infer_params_default(&ip);
			ip.k = 1;
			ip.max_new = 10;
			ip.temperature = 1.0f;
			ip.top_p = 1.0f;
			ip.seed = 77;
			ip.first_stream = a;
			infer_generate(&inf, pr[i].tokens, 4, &ip, tok, &nt, NULL, err, sizeof err);
			same += nt == res.n_tokens[a] &&
				!memcmp(tok, res.tokens + (size_t)a * res.stride, nt * sizeof(int));
			memcpy(full, pr[i].tokens, 4 * sizeof(int));
			memcpy(full + 4, tok, nt * sizeof(int));
			struct trainer_seq s = { full, 4 + nt, 4, false };
			rsum += seq_value(&one, &s, LLAMA_SCORE_MEAN);
		}
	CHECK_INT_EQ(same, NP * K);
	CHECK_NEAR(res.reward_mean, rsum / (NP * K), 1e-5);
	/* parent == policy: its answers are the policy's */
	CHECK(!memcmp(res.parent_tokens, res.tokens, (size_t)res.n_answers * res.stride * sizeof(int)));
	trainer_eval_result_release(&res);

	/* another parent: its answers and their figures are those the parent
	 * gives evaluated alone with the same seed (the gate's second generation,
	 * which these replace) */
	struct llama_model other;
	model_new(&other, 8, SEQ, LLAMA_NO_GRADS, 99);
	struct trainer_eval_result alone;
	CHECK_INT_EQ(trainer_eval(&pol, &ref, &other, &rm, pr, NP, &p, NULL, &res, err, sizeof err), 0);
	CHECK_INT_EQ(trainer_eval(&other, NULL, NULL, &rm, pr, NP, &p, NULL, &alone, err, sizeof err), 0);
	int diff = 0;
	for (int a = 0; a < res.n_answers; a++) {
		CHECK_INT_EQ(res.parent_n_tokens[a], alone.n_tokens[a]);
		CHECK(!memcmp(res.parent_tokens + (size_t)a * res.stride, alone.tokens + (size_t)a * alone.stride,
			      (size_t)alone.n_tokens[a] * sizeof(int)));
		CHECK(res.parent_reward[a] == alone.reward[a]);
		diff += res.n_tokens[a] != res.parent_n_tokens[a] ||
			memcmp(res.tokens + (size_t)a * res.stride, res.parent_tokens + (size_t)a * res.stride,
			       (size_t)res.n_tokens[a] * sizeof(int)) != 0;
	}
	CHECK(diff > 0); /* the two models answer differently: the check above can fail */
	CHECK_NEAR(res.parent_response_len, alone.response_len, 1e-6);
	CHECK_NEAR(res.parent_eos_rate, alone.eos_rate, 1e-6);
	trainer_eval_result_release(&alone);
	trainer_eval_result_release(&res);
	llama_model_release(&other);

	/* without ref, parent, rm: NAN figures, answers still there */
	rc = trainer_eval(&pol, NULL, NULL, NULL, pr, NP, &p, NULL, &res, err, sizeof err);
	CHECK_INT_EQ(rc, 0);
	CHECK(isnan(res.kl) && isnan(res.win_rate) && isnan(res.reward_mean));
	CHECK(!res.parent_tokens && isnan(res.parent_response_len) && isnan(res.parent_eos_rate));
	CHECK(res.tokens && res.n_tokens[0] > 0);
	trainer_eval_result_release(&res);
	infer_release(&inf);
	llama_model_release(&one);
	llama_model_release(&pol);
	llama_model_release(&ref);
	llama_model_release(&parent);
	llama_model_release(&rm);
}

/*
 * The promotion gate's scores with a likelihood prior over the reference:
 * trainer_eval reads the reference's log-probs of the candidate's answers,
 * collected for the KL, as the features' first forward.  Each answer's
 * reward is the prior's score of features computed here one answer at a time
 * with a forward of their own (plus the network's score when the prior does
 * not score alone).  Through a store, the parent's answers — here the
 * candidate's word for word — are found, not computed, and a second call
 * finds every answer.
 */
static void test_eval_prior(void)
{
	enum { NP = 5, K = 3, N = NP * K };
	int pt[NP][4];
	struct trainer_prompt pr[NP];
	make_prompts(pt, pr, NP);
	struct llama_model pol, ref, parent, rm, one;
	model_new(&pol, 8, SEQ, LLAMA_NO_GRADS, 41);
	model_new(&ref, 8, SEQ, LLAMA_NO_GRADS, 43);    /* not the policy: its log-probs differ */
	model_copy(&parent, &pol, 2, SEQ, LLAMA_NO_GRADS);
	build_rm(&rm, LLAMA_NO_LM | LLAMA_NO_GRADS);
	rm.score = LLAMA_SCORE_MEAN;
	model_copy(&one, &rm, 1, SEQ, LLAMA_NO_LM | LLAMA_NO_GRADS);
	struct trainer_prior prior = fixed_prior(&ref), plain = fixed_prior(&ref);
	static struct test_cache c;
	memset(&c, 0, sizeof c);
	struct trainer_prior_cache tc = { tc_get, tc_put, &c };
	rm.prior = &prior;
	struct trainer_eval_params p;
	eval_test_params(&p, K);
	struct trainer_rows rows = { 0 };
	struct trainer_run run;
	char err[256] = "";
	trainer_run_init(&run, NULL, err, sizeof err);
	REQUIRE(trainer_rows_init(&rows, 1, SEQ) == 0);
	for (int pass = 0; pass < 3; pass++) {
		/* pass 0: the prior alone; 1: network + prior; 2: alone, through the store */
		prior.alone = pass != 1;
		prior.cache = pass == 2 ? &tc : NULL;
		struct trainer_eval_result res;
		int rc = trainer_eval(&pol, &ref, &parent, &rm, pr, NP, &p, NULL, &res, err, sizeof err);
		CHECK_MSG(rc == 0, "pass %d: rc %d: %s", pass, rc, err);
		if (rc)
			continue;
		double worst = 0;
		for (int a = 0; a < N; a++) {
			int full[SEQ], nt = res.n_tokens[a];
			memcpy(full, pr[a / K].tokens, 4 * sizeof(int));
			memcpy(full + 4, res.tokens + (size_t)a * res.stride, (size_t)nt * sizeof(int));
			struct trainer_seq sq = { full, 4 + nt, 4, false };
			const struct trainer_seq *sp = &sq;
			float f[TRAINER_PRIOR_FEATS];
			CHECK_INT_EQ(trainer_prior_collect(&plain, &rows, &run, &sp, 1, 0, NULL, 0, f), 0);
			double want = trainer_prior_score(&plain, f) +
				      (pass == 1 ? seq_value(&one, &sq, LLAMA_SCORE_MEAN) : 0.0);
			double d = fabs(res.reward[a] - want);
			worst = d > worst ? d : worst;
			CHECK_NEAR(res.parent_reward[a], res.reward[a], 1e-5);
		}
		CHECK_MSG(worst < 1e-4, "pass %d: a reward %g from its direct computation", pass, worst);
		if (pass == 2) {
			/* the parent's answers are the candidate's: all found */
			CHECK_INT_EQ(c.hits, N);
			CHECK(c.puts > 0 && c.puts <= N);
			int puts = c.puts;
			trainer_eval_result_release(&res);
			CHECK_INT_EQ(trainer_eval(&pol, &ref, &parent, &rm, pr, NP, &p, NULL, &res, err,
						  sizeof err), 0);
			CHECK_INT_EQ(c.hits, 3 * N);
			CHECK_INT_EQ(c.puts, puts);
		}
		trainer_eval_result_release(&res);
	}
	trainer_rows_release(&rows);
	llama_model_release(&one);
	llama_model_release(&pol);
	llama_model_release(&ref);
	llama_model_release(&parent);
	llama_model_release(&rm);
}

/*
 * A rank or pair judgement (order_only): its levels make pairs, their gap the
 * margin, with no pointwise term and no part in the scores' mean and spread.
 * Two scored groups and one judgement; the loss of one step that cannot move
 * a weight against the formula, mu against the scored answers' mean.
 */
static void test_reward_order_only(void)
{
	make_reward_data();
	struct llama_model rm;
	model_new(&rm, 8, 16, LLAMA_NO_LM, 7);
	rm.score = LLAMA_SCORE_LAST;
	for (int i = 0; i < tiny.dim; i++)
		rm.w.head_w[i] = 0.3f * (float)((i % 7) - 3);
	static float sc[3][RK] = { { 5, 1, 3, NAN }, { 2, 4, 4, 1 }, { 3, 0, 2, 2 } };
	struct trainer_group g[3];
	for (int i = 0; i < 3; i++)
		g[i] = (struct trainer_group){ rg_seq[i], sc[i], RK, i, false, i == 2, false };
	float r[3][RK];
	double mu, sigma;
	const double w = 0.7, ms = 0.3;
	double loss = rm_direct_loss(&rm, g, 3, ms, w, &r[0][0], &mu, &sigma);
	REQUIRE(isfinite(loss));
	struct trainer_reward_params p;
	trainer_reward_defaults(&p);
	p.epochs = 1;
	p.batch_groups = 16;
	p.lr = 1e-30f;
	p.min_lr = 0.0f;
	p.warmup_frac = 0.0f;
	p.margin_scale = (float)ms;
	p.pointwise_weight = (float)w;
	p.head_init_std = 0.0f;
	p.normalize = false;
	p.grad_clip = 0.0f;
	struct trainer_reward_result res;
	char err[256];
	CHECK_INT_EQ(trainer_reward(&rm, g, 3, &p, NULL, &res, err, sizeof err), 0);
	CHECK_NEAR(res.loss, loss, 1e-5 * (1 + fabs(loss)));
	/* the scored answers 5 1 3 2 4 4 1: mean 20/7, the levels left out */
	CHECK_NEAR(res.score_mu, 20.0 / 7.0, 1e-6);
	/* pairs: 3 + 5 (4 = 4 ties) + 5 (2 = 2 ties) */
	CHECK_INT_EQ(res.train_pairs, 13);
	CHECK_INT_EQ(res.groups_tied, 0);
	llama_model_release(&rm);
}

int main(void)
{
	/* tiny models: one thread is fastest, and immune to a busy machine */
	threads_set(1);
	RUN(test_sft_loss_and_grad_match_reference);
	RUN(test_sft_learns_and_reports);
	RUN(test_sft_cancel_and_errors);
	RUN(test_reward_learns_and_normalises);
	RUN(test_reward_mean_score_learns_and_normalises);
	RUN(test_reward_prompt_conditioned);
	RUN(test_reward_mean_score_prompt_conditioned);
	RUN(test_reward_train_layers_freezes_below);
	RUN(test_reward_errors);
	RUN(test_reward_loss_matches_direct);
	RUN(test_reward_order_only);
	RUN(test_reward_split_by_prompt);
	RUN(test_reward_folds);
	RUN(test_reward_tied_groups_teach_and_warm_start);
	RUN(test_prior_features_direct);
	RUN(test_prior_overlap_direct);
	RUN(test_collect_sorted_rows_keep_their_outputs);
	RUN(test_reward_prior_follows_likelihood);
	RUN(test_prior_cache);
	RUN(test_rivals_pick_direct);
	RUN(test_prior_recognition_direct);
	RUN(test_reward_prior_cv);
	RUN(test_reward_prior_reversed);
	RUN(test_built_rm_rewards_token);
	RUN(test_ppo_raises_reward);
	RUN(test_rloo_raises_reward);
	RUN(test_grpo_raises_reward);
	RUN(test_group_rl_score_fn);
	RUN(test_missing_eos_penalty);
	RUN(test_group_rl_kl_ceiling);
	RUN(test_group_rl_entropy_floor);
	RUN(test_group_rl_adaptive_kl_coef);
	RUN(test_ppo_kl_ceiling);
	RUN(test_dpo);
	RUN(test_eval);
	RUN(test_eval_prior);
	TEST_MAIN_END();
}
