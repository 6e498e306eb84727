/*
 * tests/unit/test_infer.c — model/infer against an independent reference: a
 * plain-loop forward written here straight from the architecture (llama2.c's
 * run.c: RMSNorm eps 1e-5, RoPE theta 10000 on adjacent pairs, GQA, SwiGLU,
 * tied or separate classifier), one token at a time, no BLAS, in double.
 * Then batched generation against single-sequence generation, seeding, stop
 * tokens, log-probs, errors.
 */
#include "model/checkpoint.h"
#include "model/infer.h"
#include "tests/test.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- the reference model ---------------------------------------------------- */

struct ref {
	struct llama_config c;
	struct llama_weights w;
	double *kc, *vc;     /* (layer, seq_len, kv_dim) */
};

static void ref_init(struct ref *r, const struct llama_config *c, float *params)
{
	r->c = *c;
	llama_weights_map(&r->w, c, params);
	size_t n = (size_t)c->n_layers * c->seq_len * (c->dim / c->n_heads * c->n_kv_heads);
	r->kc = calloc(n, sizeof(double));
	r->vc = calloc(n, sizeof(double));
}

static void ref_free(struct ref *r)
{
	free(r->kc);
	free(r->vc);
}

/* y (d) = W (d, m) x (m) */
static void ref_matvec(double *y, const float *W, const double *x, int d, int m)
{
	for (int i = 0; i < d; i++) {
		double s = 0;
		for (int j = 0; j < m; j++)
			s += (double)W[(size_t)i * m + j] * x[j];
		y[i] = s;
	}
}

static void ref_rmsnorm(double *o, const double *x, const float *g, int d)
{
	double ss = 0;
	for (int i = 0; i < d; i++)
		ss += x[i] * x[i];
	double inv = 1.0 / sqrt(ss / d + 1e-5);
	for (int i = 0; i < d; i++)
		o[i] = x[i] * inv * g[i];
}

/* RoPE: pair (v[2i], v[2i+1]) of each head turned by pos / 10000^(2i / hs) */
static void ref_rope(double *v, int width, int hs, int pos)
{
	for (int h0 = 0; h0 < width; h0 += hs)
		for (int i = 0; i < hs / 2; i++) {
			double ang = pos / pow(10000.0, 2.0 * i / hs);
			double a = v[h0 + 2 * i], b = v[h0 + 2 * i + 1];
			v[h0 + 2 * i] = a * cos(ang) - b * sin(ang);
			v[h0 + 2 * i + 1] = a * sin(ang) + b * cos(ang);
		}
}

/* logits (vocab) after token at position pos (earlier positions already run) */
static void ref_forward(struct ref *r, int token, int pos, double *logits)
{
	const struct llama_config *c = &r->c;
	const struct llama_weights *w = &r->w;
	int d = c->dim, H = c->hidden_dim, hs = d / c->n_heads, kvd = hs * c->n_kv_heads;
	int group = c->n_heads / c->n_kv_heads;
	double *x = calloc(d, 8), *xb = calloc(d, 8), *q = calloc(d, 8), *k = calloc(kvd, 8),
	       *v = calloc(kvd, 8), *att = calloc(d, 8), *o = calloc(d, 8), *h1 = calloc(H, 8),
	       *h3 = calloc(H, 8), *sc = calloc(c->seq_len, 8);

	for (int i = 0; i < d; i++)
		x[i] = w->token_embedding[(size_t)token * d + i];
	for (int l = 0; l < c->n_layers; l++) {
		ref_rmsnorm(xb, x, w->rms_att + (size_t)l * d, d);
		ref_matvec(q, w->wq + (size_t)l * d * d, xb, d, d);
		ref_matvec(k, w->wk + (size_t)l * kvd * d, xb, kvd, d);
		ref_matvec(v, w->wv + (size_t)l * kvd * d, xb, kvd, d);
		ref_rope(q, d, hs, pos);
		ref_rope(k, kvd, hs, pos);
		double *kl = r->kc + (size_t)l * c->seq_len * kvd, *vl = r->vc + (size_t)l * c->seq_len * kvd;
		memcpy(kl + (size_t)pos * kvd, k, kvd * 8);
		memcpy(vl + (size_t)pos * kvd, v, kvd * 8);
		for (int h = 0; h < c->n_heads; h++) {
			int kh = h / group;
			double mx = -1e300, z = 0;
			for (int t = 0; t <= pos; t++) {
				double s = 0;
				for (int i = 0; i < hs; i++)
					s += q[h * hs + i] * kl[(size_t)t * kvd + kh * hs + i];
				sc[t] = s / sqrt((double)hs);
				mx = sc[t] > mx ? sc[t] : mx;
			}
			for (int t = 0; t <= pos; t++)
				z += (sc[t] = exp(sc[t] - mx));
			for (int i = 0; i < hs; i++) {
				double s = 0;
				for (int t = 0; t <= pos; t++)
					s += sc[t] / z * vl[(size_t)t * kvd + kh * hs + i];
				att[h * hs + i] = s;
			}
		}
		ref_matvec(o, w->wo + (size_t)l * d * d, att, d, d);
		for (int i = 0; i < d; i++)
			x[i] += o[i];
		ref_rmsnorm(xb, x, w->rms_ffn + (size_t)l * d, d);
		ref_matvec(h1, w->w1 + (size_t)l * H * d, xb, H, d);
		ref_matvec(h3, w->w3 + (size_t)l * H * d, xb, H, d);
		for (int i = 0; i < H; i++)
			h1[i] = h1[i] / (1.0 + exp(-h1[i])) * h3[i];
		ref_matvec(o, w->w2 + (size_t)l * d * H, h1, d, H);
		for (int i = 0; i < d; i++)
			x[i] += o[i];
	}
	ref_rmsnorm(xb, x, w->rms_final, d);
	ref_matvec(logits, w->wcls, xb, c->vocab_size, d);
	free(x); free(xb); free(q); free(k); free(v); free(att); free(o); free(h1); free(h3);
	free(sc);
}

static int ref_argmax(const double *x, int n)
{
	int b = 0;
	for (int i = 1; i < n; i++)
		if (x[i] > x[b])
			b = i;
	return b;
}

/* ---- random models -------------------------------------------------------------- */

static uint64_t rs = 0x853c49e6748fea9bull;
static double urand(void) /* [-1, 1) */
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (double)(rs >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static float *random_model(const struct llama_config *c, double logit_scale)
{
	size_t n = llama_params_count(c);
	float *p = malloc(n * sizeof(float));
	struct llama_weights w;
	llama_weights_map(&w, c, p);
	int d = c->dim, H = c->hidden_dim, kvd = c->dim / c->n_heads * c->n_kv_heads, L = c->n_layers;
	struct { float *t; size_t n; double s; } ts[] = {
		{ w.token_embedding, (size_t)c->vocab_size * d, 1.0 },
		{ w.rms_att, (size_t)L * d, 0 }, { w.rms_ffn, (size_t)L * d, 0 },
		{ w.rms_final, (size_t)d, 0 },
		{ w.wq, (size_t)L * d * d, 1.7 / sqrt(d) }, { w.wk, (size_t)L * kvd * d, 1.7 / sqrt(d) },
		{ w.wv, (size_t)L * kvd * d, 1.0 / sqrt(d) }, { w.wo, (size_t)L * d * d, 1.0 / sqrt(d) },
		{ w.w1, (size_t)L * H * d, 1.5 / sqrt(d) }, { w.w3, (size_t)L * H * d, 1.5 / sqrt(d) },
		{ w.w2, (size_t)L * d * H, 1.0 / sqrt(H) },
		{ w.wcls, c->shared_classifier ? 0 : (size_t)c->vocab_size * d, logit_scale / sqrt(d) },
		{ w.head_w, (size_t)d + 1, 1.0 },
	};
	for (size_t k = 0; k < sizeof(ts) / sizeof(ts[0]); k++)
		for (size_t i = 0; i < ts[k].n; i++)
			ts[k].t[i] = ts[k].s == 0 ? (float)(1.0 + 0.2 * urand()) : (float)(ts[k].s * urand());
	return p;
}

/* odd sizes, GQA 5:1, seq_len over one prefill chunk, separate classifier */
static const struct llama_config CFG_A = { .dim = 40, .hidden_dim = 37, .n_layers = 3,
	.n_heads = 5, .n_kv_heads = 1, .vocab_size = 53, .seq_len = 150, .shared_classifier = false };
/* tied classifier, GQA 2:1 */
static const struct llama_config CFG_B = { .dim = 24, .hidden_dim = 50, .n_layers = 2,
	.n_heads = 4, .n_kv_heads = 2, .vocab_size = 31, .seq_len = 40, .shared_classifier = true };
/* plain multi-head, one layer */
static const struct llama_config CFG_C = { .dim = 18, .hidden_dim = 29, .n_layers = 1,
	.n_heads = 3, .n_kv_heads = 3, .vocab_size = 67, .seq_len = 33, .shared_classifier = false };

static void random_tokens(int *t, int n, int vocab)
{
	for (int i = 0; i < n; i++)
		t[i] = (int)((urand() + 1.0) * 0.5 * vocab) % vocab;
}

/* ---- tests ------------------------------------------------------------------------ */

static void check_logits(const struct llama_config *c, float *p, int threads)
{
	struct infer inf;
	struct ref r;
	char err[256] = "";
	int n = c->seq_len, V = c->vocab_size;
	int *tok = malloc(n * sizeof(int));
	float *lg = malloc((size_t)n * V * sizeof(float));
	double *rl = malloc(V * sizeof(double)), worst = 0, scale = 0;

	infer_set_threads(threads);
	random_tokens(tok, n, V);
	CHECK_INT_EQ(infer_init(&inf, c, p, 3, err, sizeof(err)), 0);
	CHECK_INT_EQ(infer_logits(&inf, tok, n, lg, err, sizeof(err)), 0);
	ref_init(&r, c, p);
	int agree = 0;
	for (int t = 0; t < n; t++) {
		ref_forward(&r, tok[t], t, rl);
		for (int i = 0; i < V; i++) {
			double e = fabs(lg[(size_t)t * V + i] - rl[i]);
			worst = e > worst ? e : worst;
			scale = fabs(rl[i]) > scale ? fabs(rl[i]) : scale;
		}
		agree += sampler_argmax(lg + (size_t)t * V, V) == ref_argmax(rl, V);
	}
	CHECK_MSG(worst < 2e-5 * (1 + scale), "max |diff| %.3g (logits up to %.3g)", worst, scale);
	CHECK_INT_EQ(agree, n);
	ref_free(&r);
	infer_release(&inf);
	free(tok);
	free(lg);
	free(rl);
}

static void test_logits_match_reference(void)
{
	const struct llama_config *cs[] = { &CFG_A, &CFG_B, &CFG_C };
	for (int i = 0; i < 3; i++) {
		float *p = random_model(cs[i], 3.0);
		check_logits(cs[i], p, 1);
		check_logits(cs[i], p, 2);
		free(p);
	}
}

/* the reference's greedy continuation of prompt */
static int ref_greedy(const struct llama_config *c, float *p, const int *prompt, int np, int max_new,
		      int *out)
{
	struct ref r;
	double *rl = malloc(c->vocab_size * sizeof(double));
	int n = 0, tok = 0;
	ref_init(&r, c, p);
	for (int t = 0; t < np; t++)
		ref_forward(&r, prompt[t], t, rl);
	while (n < max_new && np + n <= c->seq_len) {
		tok = ref_argmax(rl, c->vocab_size);
		out[n++] = tok;
		if (tok == INFER_EOS || np + n >= c->seq_len)
			break;
		ref_forward(&r, tok, np + n - 1, rl);
	}
	ref_free(&r);
	free(rl);
	return n;
}

static void test_greedy_matches_reference(void)
{
	const struct llama_config *cs[] = { &CFG_A, &CFG_B, &CFG_C };
	int prompt_len[] = { 70, 5, 1 }; /* CFG_A: a prompt longer than one chunk */
	for (int i = 0; i < 3; i++) {
		const struct llama_config *c = cs[i];
		float *p = random_model(c, 4.0);
		struct infer inf;
		struct infer_params ip;
		char err[256];
		int np = prompt_len[i], max_new = c->seq_len; /* more than fits: clipped */
		int *prompt = malloc(np * sizeof(int)), *want = malloc(c->seq_len * sizeof(int));
		int *got = malloc(3 * max_new * sizeof(int)), n_got[3];
		random_tokens(prompt, np, c->vocab_size);
		prompt[0] = INFER_BOS;
		int n_want = ref_greedy(c, p, prompt, np, max_new, want);
		CHECK(n_want >= 1);

		infer_set_threads(i == 1 ? 2 : 1);
		CHECK_INT_EQ(infer_init(&inf, c, p, 3, err, sizeof(err)), 0);
		infer_params_default(&ip);
		ip.k = 3;
		ip.temperature = 0.0f;
		ip.max_new = max_new;
		CHECK_INT_EQ(infer_generate(&inf, prompt, np, &ip, got, n_got, NULL, err, sizeof(err)), 0);
		for (int j = 0; j < 3; j++) {
			CHECK_INT_EQ(n_got[j], n_want);
			int same = 0;
			for (int t = 0; t < n_want && t < n_got[j]; t++)
				same += got[j * max_new + t] == want[t];
			CHECK_MSG(same == n_want, "config %d sequence %d: %d of %d tokens agree", i, j,
				  same, n_want);
		}
		/* the whole sequence fits seq_len: prompt + new <= seq_len */
		CHECK(np + n_got[0] <= c->seq_len);
		infer_release(&inf);
		free(prompt);
		free(want);
		free(got);
		free(p);
	}
}

/* Generates with k sequences; returns the tokens (k, max_new) as a new array. */
static int *gen(struct infer *inf, const int *prompt, int np, int k, int first_stream,
		uint64_t seed, int max_new, int *n_tok, float *lp)
{
	struct infer_params ip;
	char err[256] = "";
	int *t = calloc((size_t)k * max_new, sizeof(int));
	infer_params_default(&ip);
	ip.k = k;
	ip.first_stream = first_stream;
	ip.seed = seed;
	ip.max_new = max_new;
	ip.temperature = 1.3f;
	ip.top_p = 0.95f;
	ip.top_k = 25;
	ip.stop_ids[1] = 7; /* a second stop token, so that stops are frequent */
	ip.n_stop = 2;
	int rc = infer_generate(inf, prompt, np, &ip, t, n_tok, lp, err, sizeof(err));
	CHECK_MSG(rc == 0, "%s", err);
	return t;
}

static void test_batched_equals_single(void)
{
	/* a small vocabulary so that EOS comes up and some sequences stop early */
	const struct llama_config *c = &CFG_B;
	float *p = random_model(c, 1.0);
	struct infer inf;
	char err[256];
	int prompt[3] = { INFER_BOS, 17, 9 }, K = 4, M = 30, nb[4], ns[4];
	float lpb[4 * 30], lps[30];
	int stopped = 0, full = 0;

	for (int threads = 1; threads <= 2; threads++) {
		infer_set_threads(threads);
		CHECK_INT_EQ(infer_init(&inf, c, p, K, err, sizeof(err)), 0);
		for (uint64_t seed = 1; seed <= 6; seed++) {
			int *b = gen(&inf, prompt, 3, K, 0, seed, M, nb, lpb);
			for (int j = 0; j < K; j++) {
				int *s = gen(&inf, prompt, 3, 1, j, seed, M, ns, lps);
				CHECK_INT_EQ(ns[0], nb[j]);
				CHECK(memcmp(s, b + j * M, nb[j] * sizeof(int)) == 0);
				for (int t = 0; t < nb[j] && t < ns[0]; t++)
					CHECK_NEAR(lps[t], lpb[j * M + t], 1e-5);
				/* a stop token only ever last; a sequence without one ran to max_new */
				for (int t = 0; t + 1 < nb[j]; t++)
					CHECK(b[j * M + t] != INFER_EOS && b[j * M + t] != 7);
				int last = b[j * M + nb[j] - 1];
				if (last == INFER_EOS || last == 7)
					stopped++;
				else {
					CHECK_INT_EQ(nb[j], M);
					full++;
				}
				free(s);
			}
			free(b);
		}
		infer_release(&inf);
	}
	/* both kinds of ending happened, so the live-row bookkeeping was exercised */
	CHECK_MSG(stopped > 0 && full > 0, "stopped %d, ran full %d", stopped, full);
	free(p);
}

/*
 * Several prompts in one call: each sequence is token for token what a call
 * of its prompt alone gives (prompts of different lengths, seeds and first
 * streams; 5 x 3 = 15 live rows at most, within the few-row kernel); and a
 * prompt without room for a new token gets none while the others go on.
 */
static void test_batch_of_prompts(void)
{
	const struct llama_config *c = &CFG_B;
	float *p = random_model(c, 1.0);
	struct infer inf, one;
	char err[256];
	enum { NP = 5, K = 3, M = 30 };
	int toks[NP][12], lens[NP] = { 3, 7, 1, 12, 5 };
	struct infer_prompt ps[NP];
	for (int i = 0; i < NP; i++) {
		toks[i][0] = INFER_BOS;
		random_tokens(toks[i] + 1, lens[i] - 1, c->vocab_size);
		ps[i] = (struct infer_prompt){ toks[i], lens[i], 100 + (uint64_t)i * 7, i * 11, -1 };
	}
	int tb[NP * K * M], nb[NP * K], ts[K * M], ns[K];
	float lb[NP * K * M], ls[K * M];
	struct infer_params ip;
	infer_params_default(&ip);
	ip.k = K;
	ip.max_new = M;
	ip.temperature = 1.0f;
	ip.top_p = 0.9f;
	ip.stop_ids[1] = 7;
	ip.n_stop = 2;
	for (int threads = 1; threads <= 2; threads++) {
		infer_set_threads(threads);
		CHECK_INT_EQ(infer_init_batch(&inf, c, p, NP * K, NP, err, sizeof(err)), 0);
		CHECK_INT_EQ(infer_init(&one, c, p, K, err, sizeof(err)), 0);
		CHECK_MSG(infer_generate_batch(&inf, ps, NP, &ip, tb, nb, lb, err, sizeof(err)) == 0,
			  "%s", err);
		int differ = 0;
		for (int i = 0; i < NP; i++) {
			struct infer_params q = ip;
			q.seed = ps[i].seed;
			q.first_stream = ps[i].first_stream;
			CHECK_INT_EQ(infer_generate(&one, ps[i].tokens, ps[i].n, &q, ts, ns, ls, err,
						    sizeof(err)), 0);
			for (int j = 0; j < K; j++) {
				int r = i * K + j;
				CHECK_INT_EQ(nb[r], ns[j]);
				CHECK(memcmp(tb + (size_t)r * M, ts + (size_t)j * M, ns[j] * sizeof(int)) == 0);
				for (int t = 0; t < ns[j]; t++)
					CHECK(lb[(size_t)r * M + t] == ls[(size_t)j * M + t]);
				differ += i > 0 && (nb[r] != nb[j] || memcmp(tb + (size_t)r * M, tb + (size_t)j * M,
									  nb[r] * sizeof(int)));
			}
		}
		CHECK(differ > 0); /* the prompts' answers are not all the same */
		/* a prompt that fills the context: no new token for it, the others unchanged */
		int full[64];
		full[0] = INFER_BOS;
		random_tokens(full + 1, c->seq_len - 1, c->vocab_size);
		struct infer_prompt two[2] = { { full, c->seq_len, 5, 0, -1 }, ps[1] };
		int t2[2 * K * M], n2[2 * K];
		CHECK(c->seq_len <= 64);
		CHECK_INT_EQ(infer_generate_batch(&inf, two, 2, &ip, t2, n2, NULL, err, sizeof(err)), 0);
		for (int j = 0; j < K; j++) {
			CHECK_INT_EQ(n2[j], 0);
			CHECK_INT_EQ(n2[K + j], nb[K + j]);
			CHECK(memcmp(t2 + (size_t)(K + j) * M, tb + (size_t)(K + j) * M, nb[K + j] * sizeof(int)) == 0);
		}
		/* a prompt's own limit: its answers are the first tokens of the unlimited ones */
		struct infer_prompt lim[NP];
		memcpy(lim, ps, sizeof lim);
		lim[2].max_new = 4;
		int t3[NP * K * M], n3[NP * K];
		CHECK_INT_EQ(infer_generate_batch(&inf, lim, NP, &ip, t3, n3, NULL, err, sizeof(err)), 0);
		for (int r = 0; r < NP * K; r++) {
			int want = r / K == 2 && nb[r] > 4 ? 4 : nb[r];
			CHECK_INT_EQ(n3[r], want);
			CHECK(memcmp(t3 + (size_t)r * M, tb + (size_t)r * M, want * sizeof(int)) == 0);
		}
		/* more prompts or sequences than the engine holds */
		CHECK_INT_EQ(infer_generate_batch(&one, ps, 2, &ip, tb, nb, NULL, err, sizeof(err)), -1);
		infer_release(&one);
		infer_release(&inf);
	}
	free(p);
}

static void test_seeds(void)
{
	const struct llama_config *c = &CFG_C;
	float *p = random_model(c, 1.0);
	struct infer inf;
	char err[256];
	int prompt[2] = { INFER_BOS, 40 }, K = 3, M = 20, n1[3], n2[3], n3[3];
	infer_set_threads(1);
	CHECK_INT_EQ(infer_init(&inf, c, p, K, err, sizeof(err)), 0);
	int *a = gen(&inf, prompt, 2, K, 0, 99, M, n1, NULL);
	int *b = gen(&inf, prompt, 2, K, 0, 99, M, n2, NULL);
	int *d = gen(&inf, prompt, 2, K, 0, 100, M, n3, NULL);
	CHECK(memcmp(n1, n2, sizeof(n1)) == 0 && memcmp(a, b, K * M * sizeof(int)) == 0);
	CHECK(memcmp(a, d, K * M * sizeof(int)) != 0);
	/* the K sequences of one call differ from each other */
	CHECK(memcmp(a, a + M, M * sizeof(int)) != 0 && memcmp(a + M, a + 2 * M, M * sizeof(int)) != 0);
	free(a);
	free(b);
	free(d);
	infer_release(&inf);
	free(p);
}

static void test_logprobs_match_reference(void)
{
	const struct llama_config *c = &CFG_A;
	float *p = random_model(c, 3.0);
	struct infer inf;
	struct ref r;
	char err[256];
	int prompt[4] = { INFER_BOS, 3, 33, 8 }, K = 2, M = 25, n[2];
	float lp[2 * 25];
	double *rl = malloc(c->vocab_size * sizeof(double));
	infer_set_threads(1);
	CHECK_INT_EQ(infer_init(&inf, c, p, K, err, sizeof(err)), 0);
	int *t = gen(&inf, prompt, 4, K, 0, 5, M, n, lp);
	for (int j = 0; j < K; j++) {
		ref_init(&r, c, p);
		for (int i = 0; i < 4; i++)
			ref_forward(&r, prompt[i], i, rl);
		for (int s = 0; s < n[j]; s++) {
			double mx = rl[0], z = 0;
			for (int v = 1; v < c->vocab_size; v++)
				mx = rl[v] > mx ? rl[v] : mx;
			for (int v = 0; v < c->vocab_size; v++)
				z += exp(rl[v] - mx);
			int tok = t[j * M + s];
			CHECK_NEAR(lp[j * M + s], rl[tok] - mx - log(z), 1e-4);
			CHECK(lp[j * M + s] <= 0.0f);
			if (s + 1 < n[j])
				ref_forward(&r, tok, 4 + s, rl);
		}
		ref_free(&r);
	}
	free(t);
	free(rl);
	infer_release(&inf);
	free(p);
}

static void test_from_checkpoint_file(void)
{
	/* a llama2.c v0 file through ckpt_load gives the reference's logits */
	const struct llama_config *c = &CFG_B;
	float *p = random_model(c, 2.0), *q = NULL;
	struct llama_config got;
	char path[] = "/tmp/test_infer_ckpt.XXXXXX", err[256] = "";
	int fd = mkstemp(path);
	close(fd);
	CHECK_INT_EQ(ckpt_save_v0(path, c, p, err, sizeof(err)), 0);
	CHECK_INT_EQ(ckpt_load(path, &got, &q, err, sizeof(err)), 0);
	unlink(path);
	if (q) {
		check_logits(&got, q, 1);
		free(q);
	}
	free(p);
}

static void test_matmul_kernel(void)
{
	/* every row count around the kernel's blocks (4) and its limit (16), widths
	 * with and without a 16-float tail, output counts with and without a tail of
	 * 4: against a plain double loop */
	int ns[] = { 1, 2, 3, 4, 5, 7, 8, 13, 16, 17, 33 };
	int ms[] = { 1, 8, 16, 37, 48, 64, 100 };
	int ds[] = { 1, 3, 4, 9, 64, 130 };
	float *in = malloc(33 * 100 * sizeof(float)), *w = malloc(130 * 100 * sizeof(float));
	float *out = malloc(33 * 130 * sizeof(float));
	for (int i = 0; i < 33 * 100; i++)
		in[i] = (float)urand();
	for (int i = 0; i < 130 * 100; i++)
		w[i] = (float)urand();
	for (int threads = 1; threads <= 2; threads++) {
		infer_set_threads(threads);
		int bad = 0;
		for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
			for (size_t b = 0; b < sizeof(ms) / sizeof(ms[0]); b++)
				for (size_t e = 0; e < sizeof(ds) / sizeof(ds[0]); e++) {
					int n = ns[a], m = ms[b], d = ds[e];
					for (int i = 0; i < n * d; i++)
						out[i] = NAN;
					infer_matmul(out, in, w, n, m, d);
					for (int r = 0; r < n; r++)
						for (int o = 0; o < d; o++) {
							double s = 0;
							for (int i = 0; i < m; i++)
								s += (double)in[r * m + i] * w[o * m + i];
							if (!(fabs(out[r * d + o] - s) <= 1e-5 * (1 + fabs(s) + m * 0.1)))
								bad++;
						}
				}
		CHECK_MSG(bad == 0, "%d wrong outputs with %d threads", bad, threads);
	}
	/* the classifier's shape, across the parallel threshold */
	int n = 4, m = 48, d = 4099;
	float *wbig = malloc((size_t)d * m * sizeof(float)), *ob = malloc((size_t)n * d * sizeof(float));
	for (int i = 0; i < d * m; i++)
		wbig[i] = (float)urand();
	infer_set_threads(2);
	infer_matmul(ob, in, wbig, n, m, d);
	int bad = 0;
	for (int r = 0; r < n; r++)
		for (int o = 0; o < d; o++) {
			double s = 0;
			for (int i = 0; i < m; i++)
				s += (double)in[r * m + i] * wbig[(size_t)o * m + i];
			bad += !(fabs(ob[r * d + o] - s) <= 1e-5 * (1 + fabs(s)));
		}
	CHECK_INT_EQ(bad, 0);
	infer_set_threads(1);
	free(wbig);
	free(ob);
	free(in);
	free(w);
	free(out);
}

static void test_errors(void)
{
	const struct llama_config *c = &CFG_C;
	float *p = random_model(c, 1.0);
	struct infer inf;
	struct infer_params ip;
	char err[256];
	int prompt[40], tok[8 * 5], n[8];
	float lg[67 * 2];
	for (int i = 0; i < 40; i++)
		prompt[i] = i % 60;
	CHECK_INT_EQ(infer_init(&inf, c, p, 2, err, sizeof(err)), 0);
	infer_params_default(&ip);
	ip.max_new = 5;
	ip.k = 3;
	err[0] = 0;
	CHECK_INT_EQ(infer_generate(&inf, prompt, 3, &ip, tok, n, NULL, err, sizeof(err)), -1);
	CHECK(strstr(err, "sequences") != NULL);
	ip.k = 1;
	CHECK_INT_EQ(infer_generate(&inf, prompt, 0, &ip, tok, n, NULL, err, sizeof(err)), -1);
	CHECK_INT_EQ(infer_generate(&inf, prompt, 34, &ip, tok, n, NULL, err, sizeof(err)), -1);
	prompt[2] = 67;
	CHECK_INT_EQ(infer_generate(&inf, prompt, 3, &ip, tok, n, NULL, err, sizeof(err)), -1);
	CHECK(strstr(err, "vocabulary") != NULL);
	prompt[2] = -1;
	CHECK_INT_EQ(infer_logits(&inf, prompt, 3, lg, err, sizeof(err)), -1);
	prompt[2] = 2;
	CHECK_INT_EQ(infer_logits(&inf, prompt, 34, lg, err, sizeof(err)), -1);
	/* a prompt that fills the context: nothing to add; one short of it: one token */
	ip.stop_ids[0] = -5; /* never stops */
	CHECK_INT_EQ(infer_generate(&inf, prompt, 33, &ip, tok, n, NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(n[0], 0);
	CHECK_INT_EQ(infer_generate(&inf, prompt, 32, &ip, tok, n, NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(n[0], 1);
	CHECK_INT_EQ(infer_generate(&inf, prompt, 29, &ip, tok, n, NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(n[0], 4);
	/* bad configs and sizes at set-up */
	struct infer bad;
	struct llama_config bc = *c;
	bc.n_kv_heads = 2;
	CHECK_INT_EQ(infer_init(&bad, &bc, p, 1, err, sizeof(err)), -1);
	CHECK_INT_EQ(infer_init(&bad, c, p, 0, err, sizeof(err)), -1);
	infer_release(&inf);
	free(p);
}

int main(void)
{
	RUN(test_logits_match_reference);
	RUN(test_greedy_matches_reference);
	RUN(test_batched_equals_single);
	RUN(test_batch_of_prompts);
	RUN(test_seeds);
	RUN(test_logprobs_match_reference);
	RUN(test_from_checkpoint_file);
	RUN(test_matmul_kernel);
	RUN(test_errors);
	TEST_MAIN_END();
}
