/*
 * server/worker/job_train.c — the training and evaluation jobs: SFT, the reward
 * model, PPO / RLOO / GRPO, DPO and eval.  Each reads its data from the
 * database (db/traindata.h), tokenizes it through the model's prompt
 * template, builds the models model/trainer.h wants, runs the trainer with
 * the job's hooks, and records a new model version (server/worker/modelstore.h).
 *
 * Data, per kind (prompts of the train split unless said otherwise), as
 * db/traindata.h defines it for the jobs and the exports alike:
 *  - sft: its SFT rows (db_td_group_sft): every answer whose mean current
 *    score is >= min_score (4), plus the imported demonstrations — answers
 *    imported with no model (POST /api/prompts/{id}/responses, NDJSON
 *    imports) that nobody rated — when include_imported (true), and the
 *    demonstrations raters wrote on the rate page (POST /api/demonstrations,
 *    origin human) that nobody rated, always.  A demonstration or imported
 *    answer that was rated counts by its score like any other.  Every example
 *    ends with EOS.  sft.jsonl?split=train exports the same rows.
 *  - reward: the rated answers of every group with a preference pair
 *    (db_td_group_pairs), with their means; answers that ended (EOS) end with
 *    EOS, cut-off ones don't.
 *  - dpo: the preference pairs (db_td_group_pairs): every two rated answers
 *    of a group with different means, the higher one chosen (ties dropped).
 *    pairs.jsonl?split=train exports the same pairs.
 *  - ppo/rloo/grpo: the prompts (split, max_prompts); the trainer samples.
 *  - best: the SFT rows (min_score, no demonstrations) of the prompts the
 *    reward model trained on, each 1 + focus x (the answers of its group
 *    rated below min_score, db_td_group_below) times a pass, plus, with a
 *    credible reward model, its best of rs_k answers the parent samples to
 *    each of those prompts (best_rs); the result averaged with the previous
 *    best policy of the reference (best_soup).
 *  - eval: the prompts of params.split (default eval).
 *
 * Models: policy = params.model_id or the active model; reference =
 * params.ref_model_id or the nearest sft version among the policy and its
 * ancestors, else the policy as it is at the start; reward model =
 * params.reward_model_id or the newest reward model; PPO's value model starts
 * as a copy of the reward model.  A reward model starts from the policy's
 * weights (LLAMA_NO_LM) with a new scalar head.
 */
#include "server/worker/job_impl.h"
#include "db/db.h"
#include "db/traindata.h"
#include "db/versions.h"
#include "model/lmdata.h"
#include "model/rng.h"
#include "server/worker/promote.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tokenized sequences ------------------------------------------------------ */

/* Sequences kept as offsets into one token array until it stops growing. */
struct seqs {
	struct job_toks t;
	struct job_toks prompt;     /* the current group's prompt tokens */
	struct trainer_seq *seq;    /* (n) tokens == NULL until seqs_finish */
	size_t *off;                /* (n) */
	int n, cap;
	int longest;
	int64_t *ratings;           /* rating ids of the sequences used */
	size_t n_ratings, cap_ratings;
};

static void seqs_release(struct seqs *S)
{
	job_toks_release(&S->t);
	job_toks_release(&S->prompt);
	free(S->seq);
	free(S->off);
	free(S->ratings);
	memset(S, 0, sizeof *S);
}

/* Encodes the prompt of group gr, which the next sequences answer. */
static int seqs_prompt(struct job *j, struct seqs *S, const struct tokenizer *tk,
		       const struct modelstore_model *m, const struct db_td_group *gr)
{
	int len;
	S->prompt.n = 0;
	return job_toks_prompt(j, &S->prompt, tk, m, gr->prompt, gr->messages, &len);
}

/* Room for one more sequence and n more tokens. */
static int seqs_reserve(struct job *j, struct seqs *S, size_t n)
{
	if (S->n == S->cap) {
		int cap = S->cap ? S->cap * 2 : 256;
		struct trainer_seq *q = realloc(S->seq, (size_t)cap * sizeof *q);
		if (q)
			S->seq = q;
		size_t *o = q ? realloc(S->off, (size_t)cap * sizeof *o) : NULL;
		if (!q || !o)
			return job_fail(j, -ENOMEM, "out of memory");
		S->off = o;
		S->cap = cap;
	}
	struct job_toks *t = &S->t;
	if (t->n + n > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (cap < t->n + n)
			cap *= 2;
		int *p = realloc(t->ids, cap * sizeof *p);
		if (!p)
			return job_fail(j, -ENOMEM, "out of memory");
		t->ids = p;
		t->cap = cap;
	}
	return 0;
}

/* Appends the current prompt + the answer text; *index = its sequence. */
static int seqs_add(struct job *j, struct seqs *S, const struct tokenizer *tk,
		    const struct modelstore_model *m, const char *text, bool ended, int *index)
{
	int rc = seqs_reserve(j, S, S->prompt.n);
	if (rc < 0)
		return rc;
	struct job_toks *t = &S->t;
	size_t start = t->n;
	int plen = (int)S->prompt.n, rlen;
	/* the prompt, then the answer appended after it */
	memcpy(t->ids + t->n, S->prompt.ids, S->prompt.n * sizeof(int));
	t->n += S->prompt.n;
	if ((rc = job_toks_response(j, t, tk, m, text, ended, &rlen)) < 0)
		return rc;
	S->off[S->n] = start;
	S->seq[S->n] = (struct trainer_seq){ NULL, plen + rlen, plen, ended };
	if (plen + rlen > S->longest)
		S->longest = plen + rlen;
	*index = S->n++;
	return 0;
}

static int seqs_ratings(struct job *j, struct seqs *S, const struct db_td_response *r)
{
	if (r->n_ratings == 0)
		return 0;                   /* an unrated demonstration */
	if (S->n_ratings + (size_t)r->n_ratings > S->cap_ratings) {
		size_t cap = S->cap_ratings ? S->cap_ratings : 256;
		while (cap < S->n_ratings + (size_t)r->n_ratings)
			cap *= 2;
		int64_t *p = realloc(S->ratings, cap * sizeof *p);
		if (!p)
			return job_fail(j, -ENOMEM, "out of memory");
		S->ratings = p;
		S->cap_ratings = cap;
	}
	memcpy(S->ratings + S->n_ratings, r->rating_ids, (size_t)r->n_ratings * sizeof(int64_t));
	S->n_ratings += (size_t)r->n_ratings;
	return 0;
}

/* Appends a sequence of n tokens (copied) whose first plen are its prompt
 * (not trained on); ended: its last token is EOS. */
static int seqs_add_tokens(struct job *j, struct seqs *S, const int *ids, int n, int plen,
			   bool ended)
{
	int rc = seqs_reserve(j, S, (size_t)n);
	if (rc < 0)
		return rc;
	S->off[S->n] = S->t.n;
	memcpy(S->t.ids + S->t.n, ids, (size_t)n * sizeof *ids);
	S->t.n += (size_t)n;
	S->seq[S->n++] = (struct trainer_seq){ NULL, n, plen, ended };
	if (n > S->longest)
		S->longest = n;
	return 0;
}

/* Appends times more entries of sequence idx (its tokens are not copied). */
static int seqs_repeat(struct job *j, struct seqs *S, int idx, int times)
{
	for (int r = 0; r < times; r++) {
		int rc = seqs_reserve(j, S, 0);
		if (rc < 0)
			return rc;
		S->off[S->n] = S->off[idx];
		S->seq[S->n++] = S->seq[idx];
	}
	return 0;
}

static void seqs_finish(struct seqs *S)
{
	for (int i = 0; i < S->n; i++)
		S->seq[i].tokens = S->t.ids + S->off[i];
}

/* The loaded policy and its tokenizer (zeroed until loaded; released
 * whatever was loaded). */
struct base {
	int64_t id;
	struct modelstore_model m;
	struct tokenizer tk;
};

static void base_release(struct base *b)
{
	modelstore_model_release(&b->m);
	tokenizer_release(&b->tk);
	memset(b, 0, sizeof *b);
}

static int base_load(struct job *j, struct base *b)
{
	int rc = job_policy_id(j, &b->id);
	if (rc < 0)
		return rc;
	json_object_set_new(j->resolved, "model_id", json_integer(b->id));
	if ((rc = job_load(j, b->id, &b->m)) < 0)
		return rc;
	if (modelstore_load_tokenizer(&b->m, &b->tk, j->err, sizeof j->err) < 0)
		return -EIO;
	return 0;
}

/* Reads the rated groups of the train split into *td (and the rating mark). */
static int read_groups(struct job *j, bool with_imported, struct db_td_set *td)
{
	if (db_traindata_groups(j->env->db, "train", with_imported, td) < 0)
		return job_fail(j, -EIO, "cannot read the ratings (database error)");
	return 0;
}

static int trainer_error(struct job *j, int rc, const char *what, const char *e)
{
	if (rc == -ECANCELED)
		return rc;
	return job_fail(j, rc, "%s: %s", what, e[0] ? e : "failed");
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* ---- sft ------------------------------------------------------------------------ */

int job_sft(struct job *j)
{
	struct job_settings *s = &j->s;
	struct base b = { 0 };
	struct db_td_set td = { 0 };
	struct seqs S = { 0 };
	struct llama_model pol = { 0 };
	int *rows = NULL;
	char e[512] = "";
	int rc, rated = 0, demos = 0, max_n = 1;

	if ((rc = base_load(j, &b)) < 0 || (rc = read_groups(j, s->include_imported, &td)) < 0)
		goto out;
	for (int g = 0; g < td.n_groups; g++)
		max_n = td.groups[g].n > max_n ? td.groups[g].n : max_n;
	if (!(rows = malloc((size_t)max_n * sizeof *rows))) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	for (int g = 0; g < td.n_groups; g++) {
		struct db_td_group *gr = &td.groups[g];
		int k = db_td_group_sft(gr, s->min_score, rows);
		if (k > 0 && (rc = seqs_prompt(j, &S, &b.tk, &b.m, gr)) < 0)
			goto out;
		for (int i = 0; i < k; i++) {
			struct db_td_response *r = &gr->responses[rows[i]];
			bool demo = isnan(r->mean);   /* an SFT row with no rating */
			int idx;
			if ((rc = seqs_add(j, &S, &b.tk, &b.m, r->text, true, &idx)) < 0 ||
			    (rc = seqs_ratings(j, &S, r)) < 0)
				goto out;
			demo ? demos++ : rated++;
		}
	}
	seqs_finish(&S);
	json_object_set_new(j->metrics, "examples", json_integer(S.n));
	json_object_set_new(j->metrics, "rated_examples", json_integer(rated));
	json_object_set_new(j->metrics, "demonstrations", json_integer(demos));
	if (S.n == 0) {
		rc = job_fail(j, -EINVAL, "no training examples: no answer has a mean score >= %g and "
			      "there is no imported demonstration (%d groups with ratings)",
			      s->min_score, td.n_groups);
		goto out;
	}
	job_log(j, "%d examples (%d rated >= %g, %d demonstrations) from model %lld", S.n, rated,
		s->min_score, demos, (long long)b.id);
	if ((rc = job_llama(j, &pol, &b.m, s->micro_batch, job_max_T(j, &b.m, S.longest), 0)) < 0)
		goto out;
	struct trainer_sft_result res = { 0 };
	rc = trainer_sft(&pol, S.seq, S.n, &s->sft, &j->hooks, &res, e, sizeof e);
	if (rc < 0) {
		rc = trainer_error(j, rc, "sft", e);
		goto out;
	}
	json_object_set_new(j->metrics, "steps", json_integer(res.steps));
	json_object_set_new(j->metrics, "loss", num(res.loss));
	json_object_set_new(j->metrics, "loss_first", num(res.loss_first));
	json_object_set_new(j->metrics, "tokens", json_integer(res.tokens));
	json_object_set_new(j->metrics, "ratings", json_integer((json_int_t)S.n_ratings));
	rc = job_save_version(j, "sft", b.id, &b.m, &pol, j->metrics, S.ratings, S.n_ratings,
			      s->activate);
out:
	llama_model_release(&pol);
	free(rows);
	seqs_release(&S);
	db_td_set_release(&td);
	base_release(&b);
	return rc;
}

/* ---- reward model ---------------------------------------------------------------- */

/* Whether prompt id is held out from reward-model training: a hash of the id
 * and the seed below frac.  The choice of a prompt never depends on which
 * other prompts exist, so it is the same in every round of the loop: a reward
 * model warm-started from the previous one has never trained on a prompt
 * held out now. */
static bool heldout_prompt(int64_t id, uint64_t seed, float frac)
{
	uint64_t st = seed;
	st = rng_splitmix64(&st) ^ (uint64_t)id;     /* the seed mixed first, then the id */
	return (double)(rng_splitmix64(&st) >> 11) * 0x1.0p-53 < frac;
}

/* The JSON array of the distinct prompt ids of the groups flagged held (or
 * not), in group order (new); src[g] is trainer group g's source. */
static json_t *prompt_ids(const struct db_td_group *const *src,
			  const struct trainer_group *groups, int ng, bool held)
{
	json_t *a = json_array();
	int64_t last = -1;
	for (int g = 0; a && g < ng; g++) {
		int64_t id = src[g]->prompt_id;
		if (groups[g].heldout != held || id == last)
			continue;
		bool seen = false;
		for (int h = 0; h < g && !seen; h++)
			seen = groups[h].heldout == held && src[h]->prompt_id == id;
		if (!seen)
			json_array_append_new(a, json_integer(id));
		last = id;
	}
	return a;
}

/* Warm start: the newest reward model, when its network has the policy's
 * shape (its weights then replace the policy's and its head is kept). */
static int warm_start(struct job *j, const struct base *b, struct modelstore_model *prev,
		      int64_t *prev_id)
{
	*prev_id = 0;
	int rc = db_work_model_latest(j->env->db, "reward", prev_id);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc < 0)
		return job_fail(j, -EIO, "cannot read the models (database error)");
	if ((rc = job_load(j, *prev_id, prev)) < 0)
		return rc;
	const struct llama_config *x = &prev->cfg, *y = &b->m.cfg;
	if (x->dim != y->dim || x->hidden_dim != y->hidden_dim || x->n_layers != y->n_layers ||
	    x->n_heads != y->n_heads || x->n_kv_heads != y->n_kv_heads ||
	    x->vocab_size != y->vocab_size) {
		job_log(j, "reward model %lld has another shape than the policy: not warm-started",
			(long long)*prev_id);
		modelstore_model_release(prev);
		*prev_id = 0;
	}
	return 0;
}

/* Warm-started from reward model prev_id: marks seen the scored groups whose
 * every rating that model had (metrics.ratings_upto), so an epoch replays
 * only a sample of them (trainer_reward_params.replay); judgements
 * (levels[g] set) always train.  Counts them into the metrics. */
static int mark_seen(struct job *j, int64_t prev_id, struct trainer_group *groups,
		     const struct db_td_group *const *src, const int *const *levels, int ng)
{
	json_t *pm = NULL;
	if (db_work_model_metrics(j->env->db, prev_id, &pm) < 0)
		return job_fail(j, -EIO, "cannot read reward model %lld (database error)",
				(long long)prev_id);
	json_int_t upto = json_integer_value(json_object_get(pm, "ratings_upto"));
	json_decref(pm);
	int n_seen = 0;
	for (int g = 0; g < ng && upto > 0; g++) {
		bool seen = !levels[g];
		for (int i = 0; i < src[g]->n && seen; i++) {
			const struct db_td_response *r = &src[g]->responses[i];
			for (int q = 0; q < r->n_ratings && seen; q++)
				seen = r->rating_ids[q] <= upto;
		}
		groups[g].seen = seen;
		n_seen += seen && !groups[g].heldout;
	}
	json_object_set_new(j->metrics, "groups_seen", json_integer(n_seen));
	return 0;
}

static json_t *gap_array(const float *acc, const int *n, bool counts)
{
	json_t *a = json_array();
	for (int i = 0; i < 4; i++)
		json_array_append_new(a, counts ? json_integer(n[i]) : num(acc[i]));
	return a;
}

static void reward_metrics(struct job *j, const struct trainer_reward_result *res)
{
	json_t *m = j->metrics;
	json_object_set_new(m, "train_acc", num(res->train_acc));
	json_object_set_new(m, "heldout_acc", num(res->heldout_acc));
	json_object_set_new(m, "heldout_lo", num(res->heldout_lo));
	json_object_set_new(m, "heldout_hi", num(res->heldout_hi));
	json_object_set_new(m, "heldout_deff", num(res->heldout_deff));
	json_object_set_new(m, "heldout_pairs", json_integer(res->heldout_pairs));
	json_object_set_new(m, "train_pairs", json_integer(res->train_pairs));
	json_object_set_new(m, "heldout_prompts", json_integer(res->heldout_prompts));
	json_object_set_new(m, "train_prompts", json_integer(res->train_prompts));
	json_object_set_new(m, "groups_tied", json_integer(res->groups_tied));
	json_object_set_new(m, "heldout_rmse", num(res->heldout_rmse));
	json_object_set_new(m, "train_rmse", num(res->train_rmse));
	json_object_set_new(m, "acc_by_gap", gap_array(res->acc_by_gap, res->pairs_by_gap, false));
	json_object_set_new(m, "pairs_by_gap", gap_array(res->acc_by_gap, res->pairs_by_gap, true));
	json_object_set_new(m, "score_mu", num(res->score_mu));
	json_object_set_new(m, "score_sigma", num(res->score_sigma));
	json_object_set_new(m, "loss", num(res->loss));
	json_object_set_new(m, "norm_mean", num(res->norm_mean));
	json_object_set_new(m, "norm_std", num(res->norm_std));
	json_object_set_new(m, "steps", json_integer(res->steps));
	json_object_set_new(m, "prior_train_acc", num(res->prior_train_acc));
	json_object_set_new(m, "prior_heldout_acc", num(res->prior_heldout_acc));
	json_object_set_new(m, "heldout_acc_network", num(res->heldout_acc_network));
	json_object_set_new(m, "cv_acc", num(res->cv_acc));
	json_object_set_new(m, "cv_lo", num(res->cv_lo));
	json_object_set_new(m, "cv_hi", num(res->cv_hi));
	json_object_set_new(m, "cv_pairs", json_integer(res->cv_pairs));
	json_object_set_new(m, "cv_prompts", json_integer(res->cv_prompts));
	json_object_set_new(m, "cv_folds", json_integer(res->cv_folds));
}

int job_reward(struct job *j)
{
	struct job_settings *s = &j->s;
	struct base b = { 0 };
	struct db_td_set td = { 0 };
	struct seqs S = { 0 };
	struct modelstore_model prev = { 0 };
	struct llama_model rm = { 0 };
	struct rm_prior prior = { 0 };
	struct trainer_group *groups = NULL;
	int *first = NULL;
	const struct db_td_group **src = NULL;  /* trainer group g's answers */
	const int **levels = NULL;              /* ... and a judgement's levels (NULL: scores) */
	float *scores = NULL;
	int64_t prev_id = 0;
	char e[512] = "";
	int rc, ng = 0, max_k = 1, rated_answers = 0, n_judged = 0;

	if ((rc = base_load(j, &b)) < 0 || (rc = read_groups(j, false, &td)) < 0)
		goto out;
	/* the auto-training mark: these ratings have been looked at, whatever happens */
	json_object_set_new(j->metrics, "ratings_upto", json_integer(td.max_rating_id));
	json_object_set_new(j->metrics, "orderings_upto", json_integer(td.max_ordering_id));
	size_t cap = (size_t)(td.n_groups + td.n_orders ? td.n_groups + td.n_orders : 1);
	groups = calloc(cap, sizeof *groups);
	first = calloc(cap, sizeof *first);
	src = calloc(cap, sizeof *src);
	levels = calloc(cap, sizeof *levels);
	if (!groups || !first || !src || !levels) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	/* every group with a rated answer: pairs teach the order, every score
	 * teaches how good an answer is */
	for (int g = 0; g < td.n_groups; g++) {
		struct db_td_group *gr = &td.groups[g];
		int k = 0;
		for (int i = 0; i < gr->n; i++)
			k += !isnan(gr->responses[i].mean);
		if (k == 0)
			continue;
		rated_answers += k;
		if ((rc = seqs_prompt(j, &S, &b.tk, &b.m, gr)) < 0)
			goto out;
		first[ng] = S.n;
		for (int i = 0; i < gr->n; i++) {
			struct db_td_response *r = &gr->responses[i];
			int idx;
			if (isnan(r->mean))
				continue;
			if ((rc = seqs_add(j, &S, &b.tk, &b.m, r->text, r->ended, &idx)) < 0 ||
			    (rc = seqs_ratings(j, &S, r)) < 0)
				goto out;
		}
		src[ng] = gr;
		groups[ng].k = k;
		groups[ng].prompt = (int)gr->prompt_id;
		groups[ng].heldout = heldout_prompt(gr->prompt_id, s->reward.seed, s->reward.heldout_frac);
		ng++;
		max_k = k > max_k ? k : max_k;
	}
	/* every rank or pair judgement with a pair: its levels order its answers
	 * (pairs with the level gap as margin), with no pointwise term */
	for (int o = 0; o < td.n_orders; o++) {
		struct db_td_order *od = &td.orders[o];
		if (db_td_order_pairs(od, NULL) == 0)
			continue;
		if ((rc = seqs_prompt(j, &S, &b.tk, &b.m, &od->g)) < 0)
			goto out;
		first[ng] = S.n;
		for (int i = 0; i < od->g.n; i++) {
			int idx;
			if ((rc = seqs_add(j, &S, &b.tk, &b.m, od->g.responses[i].text,
					   od->g.responses[i].ended, &idx)) < 0)
				goto out;
		}
		src[ng] = &od->g;
		levels[ng] = od->level;
		groups[ng].k = od->g.n;
		groups[ng].prompt = (int)od->g.prompt_id;
		groups[ng].heldout = heldout_prompt(od->g.prompt_id, s->reward.seed,
						    s->reward.heldout_frac);
		groups[ng].order_only = true;
		ng++;
		n_judged++;
		max_k = od->g.n > max_k ? od->g.n : max_k;
	}
	json_object_set_new(j->metrics, "groups", json_integer(ng));
	json_object_set_new(j->metrics, "judgements", json_integer(n_judged));
	if (ng == 0) {
		rc = job_fail(j, -EINVAL, "no ratings: no answer of a train prompt is rated (%d groups)",
			      td.n_groups);
		goto out;
	}
	/* at least one prompt held out when there are two */
	int n_held = 0, n_train = 0;
	for (int g = 0; g < ng; g++)
		groups[g].heldout ? n_held++ : n_train++;
	bool two_prompts = false;
	for (int g = 1; g < ng && !two_prompts; g++)
		two_prompts = src[g]->prompt_id != src[0]->prompt_id;
	if (n_held == 0 && s->reward.heldout_frac > 0 && two_prompts)
		for (int g = 0; g < ng; g++)
			groups[g].heldout = src[g]->prompt_id == src[0]->prompt_id;
	seqs_finish(&S);
	scores = malloc((size_t)S.n * sizeof *scores);
	if (!scores) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	float lo = INFINITY, hi = -INFINITY;
	for (int g = 0, q = 0; g < ng; g++) {
		const struct db_td_group *gr = src[g];
		for (int i = 0; i < gr->n; i++) {
			if (levels[g]) {
				scores[q++] = (float)levels[g][i];
				continue;
			}
			if (isnan(gr->responses[i].mean))
				continue;
			scores[q] = (float)gr->responses[i].mean;
			lo = scores[q] < lo ? scores[q] : lo;
			hi = scores[q] > hi ? scores[q] : hi;
			q++;
		}
		groups[g].seqs = S.seq + first[g];
		groups[g].scores = scores + first[g];
	}
	/* every score the same and no judgement: nothing tells one answer from
	 * another (a judgement here has a pair) */
	if (n_judged == 0 && hi - lo < 1e-6f) {
		rc = job_fail(j, -EINVAL, "no signal: all %d rated answers have the mean score %g; a "
			      "reward model needs answers rated differently", S.n, (double)lo);
		goto out;
	}
	if (s->warm_start && (rc = warm_start(j, &b, &prev, &prev_id)) < 0)
		goto out;
	json_object_set_new(j->metrics, "warm_start_from", prev_id ? json_integer(prev_id) : json_null());
	if (prev_id && (rc = mark_seen(j, prev_id, groups, src, levels, ng)) < 0)
		goto out;
	job_log(j, "%d groups, %d rated answers, from model %lld%s", ng, rated_answers,
		(long long)b.id, prev_id ? ", warm-started from the last reward model" : "");
	int B = s->micro_batch > max_k ? s->micro_batch : max_k;
	if ((rc = job_llama(j, &rm, prev_id ? &prev : &b.m, B, job_max_T(j, &b.m, S.longest),
			    LLAMA_NO_LM)) < 0)
		goto out;
	rm.score = modelstore_score_parse(s->score);
	json_object_set_new(j->resolved, "score", json_string(s->score));
	/* the likelihood prior: the base model's reference, the model RL trains against */
	json_object_del(b.m.meta, "prior");
	if (s->prior) {
		int64_t ref_id;
		if ((rc = job_ref_id(j, b.id, &ref_id)) < 0 ||
		    (rc = rm_prior_lm(j, &prior, ref_id, NULL, 0, &b.m, &b.tk, B, rm.max_T)) < 0 ||
		    (rc = rm_prior_idf(j, &prior, &b.tk, &b.m)) < 0 ||
		    (rc = rm_prior_cache(j, &prior)) < 0)
			goto out;
		rm.prior = &prior.pr;
	}
	struct trainer_reward_params rp = s->reward;
	if (prev_id) {
		rp.head_init_std = 0;           /* keep the previous head */
		if (!json_object_get(j->params, "epochs"))
			rp.epochs = s->warm_epochs;
	}
	struct trainer_reward_result res = { 0 };
	rc = trainer_reward(&rm, groups, ng, &rp, &j->hooks, &res, e, sizeof e);
	if (rc < 0) {
		rc = trainer_error(j, rc, "reward", e);
		goto out;
	}
	reward_metrics(j, &res);
	if (s->prior) {
		rm_prior_cache_report(j);
		json_object_set_new(j->metrics, "prior", rm_prior_json(&prior));
		json_object_set_new(b.m.meta, "prior", rm_prior_meta(&prior));
	}
	json_object_set_new(j->metrics, "answers", json_integer(S.n));
	json_object_set_new(j->metrics, "ratings", json_integer((json_int_t)S.n_ratings));
	json_object_set_new(j->metrics, "train_prompt_ids", prompt_ids(src, groups, ng, false));
	json_object_set_new(j->metrics, "heldout_prompt_ids", prompt_ids(src, groups, ng, true));
	rc = job_save_version(j, "reward", b.id, &b.m, &rm, j->metrics, S.ratings, S.n_ratings, false);
out:
	llama_model_release(&rm);
	rm_prior_release(&prior);
	modelstore_model_release(&prev);
	free(groups);
	free(first);
	free(src);
	free(levels);
	free(scores);
	seqs_release(&S);
	db_td_set_release(&td);
	base_release(&b);
	return rc;
}

/* ---- prompts for on-policy RL and eval ------------------------------------------------ */

struct prompts {
	struct job_toks t;
	struct trainer_prompt *p;
	size_t *off;
	int n, longest;
};

static void prompts_release(struct prompts *P)
{
	job_toks_release(&P->t);
	free(P->p);
	free(P->off);
	memset(P, 0, sizeof *P);
}

/* Keeps the prompts of P that leave room for an answer in T positions, in
 * order; returns how many were left out. */
static int prompts_fit(struct prompts *P, int T)
{
	int kept = 0;
	for (int i = 0; i < P->n; i++)
		if (P->p[i].n + 1 < T)
			P->p[kept++] = P->p[i];
	int dropped = P->n - kept;
	P->n = kept;
	return dropped;
}

/* Tokenizes prompts ps[0..n) into P. */
static int prompts_tokenize(struct job *j, const struct base *b, const struct db_td_prompt *ps,
			    int n, struct prompts *P)
{
	P->p = calloc((size_t)(n ? n : 1), sizeof *P->p);
	P->off = calloc((size_t)(n ? n : 1), sizeof *P->off);
	if (!P->p || !P->off)
		return job_fail(j, -ENOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		int len, rc;
		P->off[i] = P->t.n;
		if ((rc = job_toks_prompt(j, &P->t, &b->tk, &b->m, ps[i].text, ps[i].messages, &len)) < 0)
			return rc;
		P->p[i].n = len;
		P->longest = len > P->longest ? len : P->longest;
	}
	for (int i = 0; i < n; i++)
		P->p[i].tokens = P->t.ids + P->off[i];
	P->n = n;
	return 0;
}

static int prompts_read(struct job *j, const struct base *b, const char *split, struct prompts *P)
{
	struct db_td_prompt *ps = NULL;
	int n = 0;
	if (db_traindata_prompts(j->env->db, split, j->s.max_prompts, &ps, &n) < 0)
		return job_fail(j, -EIO, "cannot read the prompts (database error)");
	int rc = n == 0 ? job_fail(j, -EINVAL, "no prompts in the %s split", split) :
			  prompts_tokenize(j, b, ps, n, P);
	db_td_prompts_free(ps, n);
	return rc;
}

/* The prompts whose ids are the integers of the JSON array ids (borrowed), at
 * most max (<= 0: all). */
static int prompts_read_ids(struct job *j, const struct base *b, json_t *ids, int max,
			    struct prompts *P)
{
	size_t n = json_array_size(ids);
	if (max > 0 && n > (size_t)max)
		n = (size_t)max;
	int64_t *v = malloc((n ? n : 1) * sizeof *v), missing = 0;
	if (!v)
		return job_fail(j, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = json_integer_value(json_array_get(ids, i));
	struct db_td_prompt *ps = NULL;
	int got = 0;
	int rc = db_traindata_prompts_by_id(j->env->db, v, (int)n, &ps, &got, &missing);
	free(v);
	if (rc == DB_NOTFOUND)
		return job_fail(j, -ENOENT, "prompt %lld is gone", (long long)missing);
	if (rc < 0)
		return job_fail(j, -EIO, "cannot read the prompts (database error)");
	rc = prompts_tokenize(j, b, ps, got, P);
	db_td_prompts_free(ps, got);
	return rc;
}

/* Loads version id into m unless it is the one already in b (then *same). */
static int load_other(struct job *j, const struct base *b, int64_t id, struct modelstore_model *m,
		      bool *same)
{
	*same = id == b->id;
	return *same ? 0 : job_load(j, id, m);
}

static void rl_metrics(struct job *j, const struct trainer_rl_result *res)
{
	json_object_set_new(j->metrics, "iterations", json_integer(res->iterations));
	json_object_set_new(j->metrics, "steps", json_integer(res->steps));
	json_object_set_new(j->metrics, "reward_first", num(res->reward_first));
	json_object_set_new(j->metrics, "reward_last", num(res->reward_last));
	json_object_set_new(j->metrics, "kl_last", num(res->kl_last));
	json_object_set_new(j->metrics, "kl_beta", num(res->kl_beta));
	json_object_set_new(j->metrics, "entropy_last", num(res->entropy_last));
	json_object_set_new(j->metrics, "eos_rate_last", num(res->eos_rate_last));
	json_object_set_new(j->metrics, "response_len_last", num(res->response_len_last));
	json_object_set_new(j->metrics, "stop_reason", json_string(trainer_rl_stop_name(res->stop_reason)));
	json_object_set_new(j->metrics, "stopped_at", json_integer(res->stopped_at));
	json_object_set_new(j->metrics, "kl_max", num(res->kl_max));
	json_object_set_new(j->metrics, "entropy_first", num(res->entropy_first));
	if (res->stop_reason != TRAINER_RL_DONE)
		job_log(j, "stopped early at update %d: %s (KL %.3f, largest %.3f; entropy %.3f, first "
			"%.3f)", res->stopped_at, trainer_rl_stop_name(res->stop_reason), res->kl_last,
			res->kl_max, res->entropy_last, res->entropy_first);
}

/* ---- ppo, rloo, grpo ----------------------------------------------------------------- */

bool job_reward_credible(json_t *rm_metrics, float need, char *why, size_t why_len)
{
	json_t *lo = json_object_get(rm_metrics, "heldout_lo");
	if (!json_is_number(lo)) {
		snprintf(why, why_len, "it has no held-out accuracy by prompt (%d held-out pairs)",
			 (int)json_integer_value(json_object_get(rm_metrics, "heldout_pairs")));
		return false;
	}
	if (json_number_value(lo) > need)
		return true;
	json_t *deff = json_object_get(rm_metrics, "heldout_deff");
	snprintf(why, why_len, "it is not credibly better than chance on held-out prompts: pairwise "
		 "accuracy %.3f, 95%% interval [%.3f, %.3f] over %d pairs (design effect of their "
		 "prompts %.2f), and the lower bound must be above %.2f",
		 json_number_value(json_object_get(rm_metrics, "heldout_acc")),
		 json_number_value(lo), json_number_value(json_object_get(rm_metrics, "heldout_hi")),
		 (int)json_integer_value(json_object_get(rm_metrics, "heldout_pairs")),
		 json_is_number(deff) ? json_number_value(deff) : 1.0, need);
	return false;
}

/* Sampling as the RL step samples (s->rl: max_new, temperature, top_p, EOS),
 * k answers per prompt, the seed s->rl.seed ^ salt: the promotion gate's and
 * rejection sampling's answers. */
static void rl_eval_params(const struct job_settings *s, int k, uint64_t salt,
			   struct trainer_eval_params *ev)
{
	trainer_eval_defaults(ev);
	ev->k = k;
	ev->max_new = s->rl.max_new;
	ev->temperature = s->rl.temperature;
	ev->top_p = s->rl.top_p;
	ev->eos_id = s->rl.eos_id;
	ev->seed = s->rl.seed ^ salt;
}

/* The promotion gate (server/worker/promote.h): the candidate pol and its
 * parent (b's weights) answer the reward model's held-out prompts with the
 * same sampling streams; *activate says whether pol may replace its parent.
 * The decision and its reasons go into the job's metrics as "promotion". */
static int promote_gate(struct job *j, const struct base *b, struct llama_model *pol,
			struct llama_model *ref, struct llama_model *rm, json_t *rm_metrics,
			float margin, int B, int T, bool *activate)
{
	struct job_settings *s = &j->s;
	struct prompts H = { 0 };
	struct llama_model par = { 0 };
	struct trainer_eval_result ec = { 0 };
	struct trainer_eval_params ev;
	struct promote_verdict v = { 0 };
	char e[512] = "";
	int rc;

	*activate = false;
	if (!strcmp(s->promote, "never") || !strcmp(s->promote, "always")) {
		*activate = !strcmp(s->promote, "always");
		json_object_set_new(j->metrics, "promotion", json_pack("{ss ss}", "decision",
			*activate ? "promoted" : "candidate", "mode", s->promote));
		return 0;
	}
	json_t *ids = json_object_get(rm_metrics, "heldout_prompt_ids");
	if ((rc = prompts_read_ids(j, b, ids, 0, &H)) < 0)
		goto out;
	/* the models were sized for the RL prompts: a longer held-out prompt
	 * would leave no room for an answer, so it is left out of the comparison */
	int dropped = prompts_fit(&H, T);
	if (dropped > 0)
		job_log(j, "promotion gate: %d held-out prompts longer than the %d positions the "
			"models were made with are left out", dropped, T);
	rl_eval_params(s, 4, 0x5eed9a7e, &ev);
	if (H.n > 0) {
		if ((rc = job_llama(j, &par, &b->m, B, T, LLAMA_NO_GRADS)) < 0)
			goto out;
		job_log(j, "promotion gate: the new policy and its parent answer %d held-out prompts",
			H.n);
		/* held-out prompts: scored as unseen prompts are (struct trainer_prior) */
		if (rm->prior)
			rm->prior->alone = true;
		/* one generation of each: the parent's answers come back beside the
		 * candidate's (the same sampling streams) */
		if ((rc = trainer_eval(pol, ref, &par, rm, H.p, H.n, &ev, NULL, &ec, e, sizeof e)) < 0) {
			rc = trainer_error(j, rc, "promotion gate", e);
			goto out;
		}
	}
	/* a reward model not credibly better than chance (a job that did not
	 * require it to be: best) cannot promote by its win rate */
	char doubt[400];
	bool credible = job_reward_credible(rm_metrics, PROMOTE_RM_LO, doubt, sizeof doubt);
	struct promote_input in = {
		.n_prompts = H.n, .k = ev.k, .kl = H.n ? ec.kl : NAN, .kl_budget = s->rl.kl_ceiling,
		.rm_doubt = credible ? NULL : doubt,
		.margin = margin,
		.cand = { ec.reward, ec.tokens, ec.n_tokens, ec.stride,
			  ec.response_len, ec.eos_rate },
		.parent = { ec.parent_reward, ec.parent_tokens, ec.parent_n_tokens, ec.stride,
			    ec.parent_response_len, ec.parent_eos_rate },
	};
	if (H.n == 0)
		in.n_prompts = 0;
	promote_decide(&in, &v);
	*activate = v.promote;
	json_t *reasons = json_array();
	for (int i = 0; i < v.n_reasons; i++) {
		json_array_append_new(reasons, json_string(v.reasons[i]));
		job_log(j, "promotion gate: %s", v.reasons[i]);
	}
	json_object_set_new(j->metrics, "promotion", json_pack("{ss ss so so sb sb so so so so si si so so so so so}",
		"decision", v.promote ? "promoted" : "candidate", "mode", "gate", "reasons", reasons,
		"margin", num(margin),
		"sound", v.sound, "rm_leans", v.rm_leans,
		"win_rate", num(v.win_rate), "win_lo", num(v.win_lo), "win_hi", num(v.win_hi),
		"win_deff", num(v.win_deff),
		"answers", v.answers, "prompts", H.n,
		"distinct", num(v.distinct_cand), "distinct_parent", num(v.distinct_parent),
		"kl", num(in.kl), "response_len", num(in.cand.response_len),
		"response_len_parent", num(in.parent.response_len)));
	job_log(j, "promotion gate: %s (win rate %.3f [%.3f, %.3f] over %d answers)",
		v.promote ? "promoted" : "kept as a candidate; the parent stays active", v.win_rate,
		v.win_lo, v.win_hi, v.answers);
out:
	trainer_eval_result_release(&ec);
	llama_model_release(&par);
	prompts_release(&H);
	return rc;
}

/*
 * What every job that trains a policy against a reward model resolves first:
 * the reference (*ref_id) of policy policy_id, the reward model (*rm_id) and
 * its metrics (*rmm, new), both ids recorded as resolved; and the gate: no
 * training on a reward model that cannot tell answers apart on held-out
 * prompts (require_reward_acc).
 */
static int policy_models(struct job *j, int64_t policy_id, int64_t *ref_id, int64_t *rm_id,
			 json_t **rmm)
{
	char why[400];
	int rc;
	if ((rc = job_ref_id(j, policy_id, ref_id)) < 0 || (rc = job_reward_id(j, rm_id)) < 0)
		return rc;
	json_object_set_new(j->resolved, "ref_model_id", json_integer(*ref_id));
	json_object_set_new(j->resolved, "reward_model_id", json_integer(*rm_id));
	if (db_work_model_metrics(j->env->db, *rm_id, rmm) < 0)
		return job_fail(j, -EIO, "cannot read reward model %lld (database error)",
				(long long)*rm_id);
	if (j->s.require_reward_acc > 0 && !job_reward_credible(*rmm, j->s.require_reward_acc, why,
								sizeof why))
		return job_fail(j, -EINVAL, "reward model %lld: %s; rate more answers and train a new "
				"reward model (or set require_reward_acc to 0)", (long long)*rm_id, why);
	return 0;
}

int job_rl(struct job *j)
{
	struct job_settings *s = &j->s;
	struct base b = { 0 };
	struct prompts P = { 0 };
	struct modelstore_model mref = { 0 }, mrm = { 0 };
	struct llama_model pol = { 0 }, ref = { 0 }, rm = { 0 }, val = { 0 };
	struct rm_prior prior = { 0 };
	json_t *rmm = NULL;
	bool same_ref = false;
	bool ppo = !strcmp(j->kind, "ppo");
	int64_t ref_id = 0, rm_id = 0;
	char e[512] = "";
	int rc;

	if ((rc = base_load(j, &b)) < 0 || (rc = policy_models(j, b.id, &ref_id, &rm_id, &rmm)) < 0)
		goto out;
	if ((rc = load_other(j, &b, ref_id, &mref, &same_ref)) < 0 ||
	    (rc = job_load(j, rm_id, &mrm)) < 0)
		goto out;
	if (mrm.cfg.vocab_size != b.m.cfg.vocab_size) {
		rc = job_fail(j, -EINVAL, "reward model %lld has a vocabulary of %d, the policy %d",
			      (long long)rm_id, mrm.cfg.vocab_size, b.m.cfg.vocab_size);
		goto out;
	}
	if (!strcmp(s->rl_prompts, "rated")) {
		/* the prompts the reward model has evidence about */
		json_t *ids = json_object_get(rmm, "train_prompt_ids");
		if (!json_array_size(ids)) {
			rc = job_fail(j, -EINVAL, "reward model %lld does not list the prompts it trained "
				      "on: train a new reward model, or pass prompts: \"all\"",
				      (long long)rm_id);
			goto out;
		}
		rc = prompts_read_ids(j, &b, ids, s->max_prompts, &P);
	} else {
		rc = prompts_read(j, &b, s->split ? s->split : "train", &P);
	}
	if (rc < 0)
		goto out;
	const struct modelstore_model *refm = same_ref ? &b.m : &mref;
	int T = job_max_T(j, &b.m, P.longest + s->rl.max_new);
	T = T < refm->cfg.seq_len ? T : refm->cfg.seq_len;
	T = T < mrm.cfg.seq_len ? T : mrm.cfg.seq_len;
	int B = s->micro_batch < 2 ? 2 : s->micro_batch;
	if ((rc = job_llama(j, &pol, &b.m, B, T, 0)) < 0 ||
	    (rc = job_llama(j, &ref, refm, B, T, LLAMA_NO_GRADS)) < 0 ||
	    (rc = job_llama(j, &rm, &mrm, B, T, LLAMA_NO_LM | LLAMA_NO_GRADS)) < 0 ||
	    (rc = rm_prior_attach(j, &mrm, &b.tk, &rm, &prior, &ref, ref_id, B, T)) < 0 ||
	    (ppo && (rc = job_llama(j, &val, &mrm, B, T, LLAMA_NO_LM)) < 0))
		goto out;
	s->rl.eos_id = b.m.eos_id;
	job_log(j, "%d %s prompts, policy %lld, reference %lld, reward model %lld, %d positions",
		P.n, s->rl_prompts, (long long)b.id, (long long)ref_id, (long long)rm_id, T);
	struct trainer_rl_result res = { 0 };
	if (ppo)
		rc = trainer_ppo(&pol, &ref, &val, &rm, P.p, P.n, &s->rl, &j->hooks, &res, e, sizeof e);
	else
		rc = trainer_group_rl(!strcmp(j->kind, "rloo") ? TRAINER_RLOO : TRAINER_GRPO, &pol, &ref,
				      &rm, P.p, P.n, &s->rl, &j->hooks, &res, e, sizeof e);
	if (rc < 0) {
		rc = trainer_error(j, rc, j->kind, e);
		goto out;
	}
	rl_metrics(j, &res);
	json_object_set_new(j->metrics, "prompts", json_integer(P.n));
	json_object_set_new(j->metrics, "ref_model_id", json_integer(ref_id));
	json_object_set_new(j->metrics, "reward_model_id", json_integer(rm_id));
	bool activate = false;
	/* the gate's answers through the worker's store of prior features (not
	 * the rollouts: each is new) */
	if (s->activate && rm.prior && (rc = rm_prior_cache(j, &prior)) < 0)
		goto out;
	if (s->activate && (rc = promote_gate(j, &b, &pol, &ref, &rm, rmm, 0, B, T, &activate)) < 0)
		goto out;
	if (s->activate && rm.prior)
		rm_prior_cache_report(j);
	rc = job_save_version(j, "policy", b.id, &b.m, &pol, j->metrics, NULL, 0, activate);
out:
	json_decref(rmm);
	llama_model_release(&val);
	llama_model_release(&rm);
	rm_prior_release(&prior);
	llama_model_release(&ref);
	llama_model_release(&pol);
	modelstore_model_release(&mrm);
	modelstore_model_release(&mref);
	prompts_release(&P);
	base_release(&b);
	return rc;
}

/* ---- best: fine-tuning on the answers people rated best --------------------------- */

/*
 * Rejection-sampling fine-tuning (expert iteration; Llama 2's "rejection
 * sampling" stage): the reference model — the policy's nearest sft ancestor —
 * is fine-tuned on the answers people rated at least min_score, of the
 * prompts the reward model trained on, and the result goes through the same
 * promotion gate as an RL policy.  It takes the raters' own verdicts as its
 * targets, so it needs no reward model to be right about unseen answers,
 * and by default it does not wait for one to be (require_reward_acc 0, where
 * RL's is 0.55): held out by prompt the demo's reward model is near chance
 * in some runs whatever the ratings say (make bench-loop of 2026-12-04,
 * seeds 4 and 6: 0.51-0.63, the lower bound at most 0.53 in every round),
 * and a gate on it kept best from every round of those runs.  What keeps a
 * best policy out is what judges it: the promotion gate (a reward model at
 * chance cannot promote by its win rate, promote.h) and people's verdict on
 * its fresh answers against the active model's (autotrain.c).  On all-equal
 * scores the reward job finds no signal and makes no model, so best has none
 * and refuses; on random scores its candidate is as good as the reference
 * and people's verdict does not promote it (a signed-rank test at 0.01, and
 * at 0.05 in its final look only when a credible reward model leans its way:
 * on random scores none is credible).  The
 * reward model still decides which prompts are held out for the gate (its
 * held-out prompts are never trained on here).
 *
 * Starting from the reference each time, with every good answer rated so
 * far, keeps rounds from compounding: a round's policy is the reference plus
 * what all the ratings say, not the last policy plus a little more.  On the
 * demo world (1,073 round-0 ratings, noise 0.1) it moved the eval prompts'
 * rubric mean from 2.49 to 2.98 (part a), where 30 RLOO iterations moved it
 * by 0.16 at most.
 */
static int cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/*
 * ptx: documents of the text the base model was pre-trained on (the model
 * store's corpus, when known), added to S as whole sequences — BOS text EOS,
 * as pre-training read them, cut to ptx_tokens — s->ptx of them per
 * best-rated answer, spaced evenly through the corpus from an offset the
 * seed and job pick.  Fine-tuning on the answers to the rated prompts alone
 * pulls what the model says about everything else toward those prompts'
 * items: on the demo, a policy fine-tuned on answers about the countries of
 * the rated prompts names those countries when asked about others.  Replaying
 * what pre-training taught keeps the rest in place (InstructGPT's "PPO-ptx",
 * here beside rejection-sampling fine-tuning).  Metrics ptx_documents and
 * ptx_tokens; without a corpus a log line says so and nothing is added.
 */
static int seqs_ptx(struct job *j, struct seqs *S, struct base *b, int answers)
{
	struct job_settings *s = &j->s;
	char *text = NULL;
	size_t len = 0;
	int want = (int)lround(s->ptx * answers), taken = 0, *ids = NULL;
	long long tokens = 0;
	int rc = 0;
	if (want <= 0)
		goto out_metrics;
	if (modelstore_load_corpus(&b->m, &text, &len, j->err, sizeof j->err) < 0)
		return -EIO;
	if (!text) {
		job_log(j, "ptx: model %lld has no pre-training text (import-model --corpus): "
			"fine-tuning on the answers alone", (long long)b->id);
		goto out_metrics;
	}
	size_t docs = lmdata_texts_count(text), dl;
	if ((size_t)want > docs)
		want = (int)docs;
	uint64_t h = (s->sft.seed + (uint64_t)j->id) * 0x9E3779B97F4A7C15ull;
	size_t off = docs ? (size_t)((h >> 33) % docs) : 0, i = 0;
	const char *doc_text;
	struct lmdata_texts it;
	lmdata_texts_init(&it, text);
	for (; taken < want && lmdata_texts_next(&it, &doc_text, &dl); i++) {
		/* want evenly spaced documents, counted from off */
		if (!lmdata_texts_spread((i - off + docs) % docs, (size_t)want, docs))
			continue;
		char *doc = strndup(doc_text, dl);
		int *q = doc ? realloc(ids, TOKENIZER_MAX_IDS(dl) * sizeof *ids) : NULL;
		size_t n = 0;
		if (!q) {
			free(doc);
			rc = job_fail(j, -ENOMEM, "out of memory");
			goto out;
		}
		ids = q;
		rc = tokenizer_encode(&b->tk, doc, true, true, ids, TOKENIZER_MAX_IDS(dl), &n);
		free(doc);
		if (rc < 0) {
			rc = job_fail(j, rc, "cannot encode the pre-training text");
			goto out;
		}
		bool ended = (int)n <= s->ptx_tokens;
		if (!ended)
			n = (size_t)s->ptx_tokens;
		if (n >= 2) {
			if ((rc = seqs_add_tokens(j, S, ids, (int)n, 1, ended)) < 0)
				goto out;
			taken++;
			tokens += (long long)n - 1;
		}
	}
	rc = 0;
	job_log(j, "ptx: %d documents of the pre-training text (%lld tokens) beside %d answers",
		taken, tokens, answers);
out_metrics:
	json_object_set_new(j->metrics, "ptx_documents", json_integer(taken));
	json_object_set_new(j->metrics, "ptx_tokens", json_integer(tokens));
out:
	free(ids);
	free(text);
	return rc;
}

/*
 * The previous best policy of reference ref_id: the newest policy an earlier
 * best job fine-tuned from it (db_work_model_best_latest: not rolled back,
 * not found unsound by its gate), unless people have rated its answers below
 * its parent's (promote_rollback on the same prompts, as for an active
 * policy).  *prev gets its id, or 0 when there is none.  Metric
 * previous_model_id: the newest one, left out or not.
 */
static int best_previous(struct job *j, int64_t ref_id, int64_t *prev)
{
	struct db_work_model row = { 0 };
	int64_t id = 0;
	int worse = 0, better = 0, ties = 0;
	double p = 1;
	*prev = 0;
	int rc = db_work_model_best_latest(j->env->db, ref_id, &id);
	if (rc == DB_NOTFOUND) {
		job_log(j, "no earlier best policy of reference %lld", (long long)ref_id);
		return 0;
	}
	if (rc < 0 || (rc = db_work_model_get(j->env->db, id, &row)) < 0)
		return job_fail(j, -EIO, "cannot read the previous best policy of reference %lld "
				"(database error)", (long long)ref_id);
	int64_t parent = row.parent_id;
	db_work_model_release(&row);
	if (parent > 0 && db_work_model_verdict(j->env->db, id, parent, &worse, &better, &ties) < 0)
		return job_fail(j, -EIO, "cannot read people's scores of model %lld (database "
				"error)", (long long)id);
	if (parent > 0 && promote_rollback(worse, better, &p))
		job_log(j, "the previous best policy %lld is rated below its parent %lld on %d of %d "
			"prompts (sign test p = %.4f): left out", (long long)id, (long long)parent,
			worse, worse + better + ties, p);
	else
		*prev = id;
	json_object_set_new(j->metrics, "previous_model_id", json_integer(id));
	return 0;
}

/*
 * Whether the soup this job just made (its metrics "soup") has policy
 * parent_id among its members, and with what share of the weights: the chain
 * of with_model_id, each a soup of its own, walked back as far as its members
 * reach; each step back keeps 1 - weight of the soup before it (a soup is
 * weight * new + (1 - weight) * previous).  *margin gets the job's
 * soup_margin when the parent's share is at least PROMOTE_SOUP_SHARE (the
 * promotion gate's non-inferiority margin, promote.h), else stays 0.
 * Metrics soup.has_parent, soup.parent_share (when it has).
 */
static int soup_has(struct job *j, int64_t parent_id, float *margin)
{
	json_t *soup = json_object_get(j->metrics, "soup");
	json_int_t members = json_integer_value(json_object_get(soup, "members"));
	int64_t id = json_integer_value(json_object_get(soup, "with_model_id"));
	double share = 1.0 - json_number_value(json_object_get(soup, "weight"));
	bool has = false;
	if (!soup)
		return 0;
	for (json_int_t m = members - 1; m > 0 && id > 0; m--) {
		json_t *pm = NULL;
		if ((has = id == parent_id))
			break;
		if (db_work_model_metrics(j->env->db, id, &pm) < 0)
			return job_fail(j, -EIO, "cannot read model %lld's metrics (database error)",
					(long long)id);
		json_t *ps = json_object_get(pm, "soup");
		share *= 1.0 - json_number_value(json_object_get(ps, "weight"));
		id = json_integer_value(json_object_get(ps, "with_model_id"));
		json_decref(pm);
	}
	json_object_set_new(soup, "has_parent", json_boolean(has));
	if (!has)
		return 0;
	json_object_set_new(soup, "parent_share", json_real(share));
	if (share >= PROMOTE_SOUP_SHARE - 1e-6) {
		*margin = j->s.soup_margin;
		job_log(j, "soup: the parent %lld is among its members (a share of %.3f), so the "
			"promotion gate asks that the reward model not prefer the parent by more than "
			"%.2f", (long long)parent_id, share, j->s.soup_margin);
	} else {
		job_log(j, "soup: the parent %lld is among its members with a share of %.3f only "
			"(under %.3f), so the promotion gate asks that it beat the parent",
			(long long)parent_id, share, PROMOTE_SOUP_SHARE);
	}
	return 0;
}

/*
 * soup: the policy just fine-tuned from the reference, averaged with the
 * previous best policy of the same reference (best_previous) — a model soup
 * (Wortsman et al., 2022: the mean of the weights of models fine-tuned from
 * one start).  The previous policy is a soup of m members (its metrics
 * "soup".members, else 1); the new one weighs 1/min(m + 1, s->best_soup), so
 * the first best_soup members are averaged alike and older ones then decay
 * (an exponential average: a round's ratings never stop counting, yet the
 * newest, trained on the most, keeps its share).  Each round's fine-tuning
 * is noisy — one seed's policy to the next differs by up to 0.2 on the
 * demo's development split — and the mean of several is better than a
 * typical one: in three kept learning runs (seeds 1-3, 2026-12-05) the
 * soups of rounds 1-2 and of rounds 1-3 moved the development split (all /
 * part a / part b over the SFT model) +0.64 / +0.84 / +0.47 on average where
 * the rounds' policies moved it +0.55 / +0.81 / +0.32, and on those runs'
 * final ratings the soup of two policies fine-tuned alike with two seeds
 * +0.66 / +0.85 / +0.49 where each moved it +0.57 / +0.79 / +0.39 (each
 * figure of a run +-0.17 to +-0.30).  Metric soup: {members, with_model_id,
 * weight}; no previous policy: members 1.
 */
static int best_soup(struct job *j, int64_t ref_id, struct llama_model *pol)
{
	struct modelstore_model prev = { 0 };
	json_t *pm = NULL;
	int64_t id;
	int rc = best_previous(j, ref_id, &id);
	if (rc < 0)
		return rc;
	if (id == 0) {
		json_object_set_new(j->metrics, "soup", json_pack("{si}", "members", 1));
		return 0;
	}
	if ((rc = job_load(j, id, &prev)) < 0)
		goto out;
	if (llama_params_count(&prev.cfg) != pol->n_params) {
		rc = job_fail(j, -EINVAL, "the previous best policy %lld is not shaped like the new "
			      "one: cannot average them", (long long)id);
		goto out;
	}
	if (db_work_model_metrics(j->env->db, id, &pm) < 0) {
		rc = job_fail(j, -EIO, "cannot read model %lld's metrics (database error)", (long long)id);
		goto out;
	}
	json_int_t m = json_integer_value(json_object_get(json_object_get(pm, "soup"), "members"));
	m = m > 0 ? m : 1;
	int window = (int)(m + 1 < j->s.best_soup ? m + 1 : j->s.best_soup);
	float wn = 1.0f / (float)window;
	for (size_t i = 0; i < pol->n_params; i++)
		pol->params[i] = wn * pol->params[i] + (1.0f - wn) * prev.params[i];
	json_object_set_new(j->metrics, "soup", json_pack("{sI sI sf}", "members", m + 1,
				"with_model_id", (json_int_t)id, "weight", (double)wn));
	job_log(j, "soup: the new weights (a share of %.3f) averaged with the previous best policy "
		"%lld (%lld members)", wn, (long long)id, (long long)m);
	rc = 0;
out:
	json_decref(pm);
	modelstore_model_release(&prev);
	return rc;
}

/*
 * Rejection sampling proper (Llama 2's): the parent — the policy the job
 * improves — answers each of the reward model's training prompts rs_k times,
 * the reward model scores the answers as RL scores rated prompts (network +
 * prior), and each prompt's best answer joins people's best-rated ones when it
 * ended and scored at least rs_min (scores are normalised over the rated
 * answers: 0 the mean, 1 one standard deviation above).  People's answers
 * teach the prompts they rated well; the picks add an answer wherever the
 * parent can give a good one, which the reward model tells on the prompts it
 * trained on.  Only with a reward model credibly better than chance on its
 * held-out prompts (rs_require_acc): on random or uninformative ratings the
 * job trains on people's answers alone, as before.  rm (borrowed) is the
 * reward model with its prior attached, as the promotion gate uses it.  Adds
 * to S (finished again); metrics "rs".
 */
static int best_rs(struct job *j, const struct base *b, json_t *rmm, struct llama_model *rm,
		   int B, int T, struct seqs *S)
{
	struct job_settings *s = &j->s;
	struct prompts P = { 0 };
	struct llama_model par = { 0 };
	struct trainer_eval_result ec = { 0 };
	struct trainer_eval_params ev;
	char why[400], e[512] = "";
	int *buf = NULL, added = 0, rc;

	if (s->rs_k <= 0)
		return 0;
	if (!job_reward_credible(rmm, s->rs_require_acc, why, sizeof why)) {
		job_log(j, "rejection sampling: none: %s", why);
		json_object_set_new(j->metrics, "rs", json_pack("{si ss}", "added", 0, "skipped", why));
		return 0;
	}
	if ((rc = prompts_read_ids(j, b, json_object_get(rmm, "train_prompt_ids"), 0, &P)) < 0)
		goto out;
	prompts_fit(&P, T);
	if ((rc = job_llama(j, &par, &b->m, B, T, LLAMA_NO_GRADS)) < 0)
		goto out;
	if (rm->prior)
		rm->prior->alone = false;       /* its training prompts: network + prior */
	rl_eval_params(s, s->rs_k, 0xbe57, &ev);
	job_log(j, "rejection sampling: the parent %lld answers %d training prompts %d times",
		(long long)b->id, P.n, ev.k);
	if (P.n > 0 &&
	    (rc = trainer_eval(&par, NULL, NULL, rm, P.p, P.n, &ev, NULL, &ec, e, sizeof e)) < 0) {
		rc = trainer_error(j, rc, "rejection sampling", e);
		goto out;
	}
	if (!(buf = malloc((size_t)(T + ec.stride + 1) * sizeof *buf))) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < P.n; i++) {
		int best = -1;
		for (int q = 0; q < ev.k; q++) {
			int a = i * ev.k + q, n = ec.n_tokens[a];
			bool ended = n > 1 && ec.tokens[(size_t)a * ec.stride + n - 1] == ev.eos_id;
			if (ended && ec.reward[a] >= s->rs_min && (best < 0 || ec.reward[a] > ec.reward[best]))
				best = a;
		}
		if (best < 0)
			continue;
		int plen = P.p[i].n, n = ec.n_tokens[best];
		memcpy(buf, P.p[i].tokens, (size_t)plen * sizeof *buf);
		memcpy(buf + plen, ec.tokens + (size_t)best * ec.stride, (size_t)n * sizeof *buf);
		if ((rc = seqs_add_tokens(j, S, buf, plen + n, plen, true)) < 0)
			goto out;
		added++;
	}
	seqs_finish(S);
	job_log(j, "rejection sampling: the reward model's best answer of %d of %d prompts scored "
		"at least %g: added", added, P.n, (double)s->rs_min);
	json_object_set_new(j->metrics, "rs", json_pack("{si si si sf sI}", "added", added,
				"prompts", P.n, "k", ev.k, "min", (double)s->rs_min,
				"from_model_id", (json_int_t)b->id));
	rc = 0;
out:
	free(buf);
	trainer_eval_result_release(&ec);
	llama_model_release(&par);
	prompts_release(&P);
	return rc;
}

int job_best(struct job *j)
{
	struct job_settings *s = &j->s;
	struct base b = { 0 };
	struct db_td_set td = { 0 };
	struct seqs S = { 0 };
	struct modelstore_model mref = { 0 }, mrm = { 0 }, mprev = { 0 };
	struct llama_model pol = { 0 }, ref = { 0 }, rm = { 0 };
	struct rm_prior prior = { 0 };
	json_t *rmm = NULL;
	int64_t ref_id = 0, rm_id = 0;
	bool same_ref = false;
	int *rows = NULL, max_n = 1, used_groups = 0, answers = 0;
	char e[512] = "";
	int rc;

	if ((rc = base_load(j, &b)) < 0 || (rc = policy_models(j, b.id, &ref_id, &rm_id, &rmm)) < 0)
		goto out;
	json_t *ids = json_object_get(rmm, "train_prompt_ids");
	if (!json_array_size(ids)) {
		rc = job_fail(j, -EINVAL, "reward model %lld does not list the prompts it trained on: "
			      "train a new reward model", (long long)rm_id);
		goto out;
	}
	if ((rc = read_groups(j, false, &td)) < 0)
		goto out;
	for (int g = 0; g < td.n_groups; g++)
		max_n = td.groups[g].n > max_n ? td.groups[g].n : max_n;
	if (!(rows = malloc((size_t)max_n * sizeof *rows))) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	/* the reward model's training prompts, sorted for a binary search */
	size_t n_ids = json_array_size(ids);
	int64_t *train = malloc(n_ids * sizeof *train);
	if (!train) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_ids; i++)
		train[i] = json_integer_value(json_array_get(ids, i));
	qsort(train, n_ids, sizeof *train, cmp_int64);
	for (int g = 0; g < td.n_groups && rc == 0; g++) {
		struct db_td_group *gr = &td.groups[g];
		if (!bsearch(&gr->prompt_id, train, n_ids, sizeof *train, cmp_int64))
			continue;
		int k = db_td_group_sft(gr, s->min_score, rows);
		if (k > 0) {
			used_groups++;
			rc = seqs_prompt(j, &S, &b.tk, &b.m, gr);
		}
		/* focus: once, plus focus times for every answer it was preferred to */
		int more = s->best_focus * db_td_group_below(gr, s->min_score);
		for (int i = 0; i < k && rc == 0; i++) {
			int idx;
			if ((rc = seqs_add(j, &S, &b.tk, &b.m, gr->responses[rows[i]].text, true, &idx)) == 0 &&
			    (rc = seqs_repeat(j, &S, idx, more)) == 0)
				rc = seqs_ratings(j, &S, &gr->responses[rows[i]]);
			answers++;
		}
	}
	free(train);
	if (rc < 0)
		goto out;
	/* the replayed documents are as many as the answers' sequences, repeats
	 * included, so focus keeps ptx's share */
	int weighted = S.n;
	if ((rc = seqs_ptx(j, &S, &b, weighted)) < 0)
		goto out;
	seqs_finish(&S);
	json_object_set_new(j->metrics, "examples", json_integer(answers));
	json_object_set_new(j->metrics, "weighted_examples", json_integer(weighted));
	json_object_set_new(j->metrics, "groups", json_integer(used_groups));
	json_object_set_new(j->metrics, "ratings", json_integer((json_int_t)S.n_ratings));
	if (answers == 0) {
		rc = job_fail(j, -EINVAL, "no answer of reward model %lld's %zu training prompts has a "
			      "mean score >= %g", (long long)rm_id, n_ids, s->min_score);
		goto out;
	}
	if ((rc = load_other(j, &b, ref_id, &mref, &same_ref)) < 0 || (rc = job_load(j, rm_id, &mrm)) < 0)
		goto out;
	const struct modelstore_model *refm = same_ref ? &b.m : &mref;
	if (refm->cfg.vocab_size != b.m.cfg.vocab_size || mrm.cfg.vocab_size != b.m.cfg.vocab_size) {
		rc = job_fail(j, -EINVAL, "the policy %lld, its reference %lld and reward model %lld "
			      "do not share a vocabulary", (long long)b.id, (long long)ref_id,
			      (long long)rm_id);
		goto out;
	}
	/* where fine-tuning starts: the reference afresh, the parent, or the
	 * previous best policy of this reference */
	int64_t from_id = ref_id;
	if (!strcmp(s->best_from, "parent"))
		from_id = b.id;
	else if (!strcmp(s->best_from, "previous")) {
		int64_t prev_id;
		if ((rc = best_previous(j, ref_id, &prev_id)) < 0)
			goto out;
		from_id = prev_id ? prev_id : ref_id;
	}
	const char *from_what = from_id == ref_id ? "reference" : s->best_from;
	const struct modelstore_model *fromm = from_id == ref_id ? refm : from_id == b.id ? &b.m : &mprev;
	if (fromm == &mprev && (rc = job_load(j, from_id, &mprev)) < 0)
		goto out;
	job_log(j, "%d answers rated >= %g on %d of reward model %lld's training prompts "
		"(%d sequences a pass with focus %d): fine-tuning the %s %lld (reference %lld, "
		"parent %lld)", answers, s->min_score, used_groups, (long long)rm_id, weighted,
		s->best_focus, from_what, (long long)from_id, (long long)ref_id, (long long)b.id);
	/* the gate's answers need room after its held-out prompts */
	int T = job_max_T(j, refm, S.longest > s->rl.max_new + 64 ? S.longest : s->rl.max_new + 64);
	T = T < mrm.cfg.seq_len ? T : mrm.cfg.seq_len;
	int B = s->micro_batch < 2 ? 2 : s->micro_batch;
	/* the reference and the reward model (with its prior), loaded once for
	 * rejection sampling and the promotion gate */
	if ((s->activate || s->rs_k > 0) &&
	    ((rc = job_llama(j, &ref, refm, B, T, LLAMA_NO_GRADS)) < 0 ||
	     (rc = job_llama(j, &rm, &mrm, B, T, LLAMA_NO_LM | LLAMA_NO_GRADS)) < 0 ||
	     (rc = rm_prior_attach(j, &mrm, &b.tk, &rm, &prior, &ref, ref_id, B, T)) < 0 ||
	     /* the worker's store of prior features: the gate's parent answers
	      * as last round's candidate did */
	     (rm.prior && (rc = rm_prior_cache(j, &prior)) < 0)))
		goto out;
	if ((rc = best_rs(j, &b, rmm, &rm, B, T, &S)) < 0)
		goto out;
	int T_train = job_max_T(j, refm, S.longest);
	if ((rc = job_llama(j, &pol, fromm, B, T > T_train ? T : T_train, 0)) < 0)
		goto out;
	struct trainer_sft_result res = { 0 };
	if ((rc = trainer_sft(&pol, S.seq, S.n, &s->sft, &j->hooks, &res, e, sizeof e)) < 0) {
		rc = trainer_error(j, rc, "best", e);
		goto out;
	}
	/* from the reference afresh: the mean with the previous rounds' (soup) */
	if (from_id == ref_id && s->best_soup > 1 && (rc = best_soup(j, ref_id, &pol)) < 0)
		goto out;
	json_object_set_new(j->metrics, "steps", json_integer(res.steps));
	json_object_set_new(j->metrics, "loss", num(res.loss));
	json_object_set_new(j->metrics, "loss_first", num(res.loss_first));
	json_object_set_new(j->metrics, "tokens", json_integer(res.tokens));
	json_object_set_new(j->metrics, "ref_model_id", json_integer(ref_id));
	json_object_set_new(j->metrics, "from_model_id", json_integer(from_id));
	json_object_set_new(j->metrics, "reward_model_id", json_integer(rm_id));
	bool activate = false;
	float margin = 0;
	if (s->activate && s->soup_margin > 0 && (rc = soup_has(j, b.id, &margin)) < 0)
		goto out;
	if (s->activate && (rc = promote_gate(j, &b, &pol, &ref, &rm, rmm, margin, B, T,
					      &activate)) < 0)
		goto out;
	if (rm.prior)
		rm_prior_cache_report(j);
	rc = job_save_version(j, "policy", b.id, &b.m, &pol, j->metrics, S.ratings, S.n_ratings,
			      activate);
out:
	json_decref(rmm);
	llama_model_release(&rm);
	rm_prior_release(&prior);
	llama_model_release(&ref);
	llama_model_release(&pol);
	modelstore_model_release(&mrm);
	modelstore_model_release(&mref);
	modelstore_model_release(&mprev);
	free(rows);
	seqs_release(&S);
	db_td_set_release(&td);
	base_release(&b);
	return rc;
}

/* ---- dpo -------------------------------------------------------------------------------- */

/* Adds the pairs of a group (od NULL: its scores' pairs, rated answers only)
 * or of a judgement od (of group gr = &od->g) to S and *pidx (sequence index
 * pairs, *np of them, room for *cap). */
static int dpo_add(struct job *j, struct seqs *S, struct base *b, const struct db_td_group *gr,
		   const struct db_td_order *od, int (**pidx)[2], int *cap, int *np)
{
	int k = od ? db_td_order_pairs(od, NULL) : db_td_group_pairs(gr, NULL);
	int rc;
	if (k == 0)
		return 0;
	if ((rc = seqs_prompt(j, S, &b->tk, &b->m, gr)) < 0)
		return rc;
	int *idx = calloc((size_t)gr->n, sizeof *idx);
	if (!idx)
		return job_fail(j, -ENOMEM, "out of memory");
	for (int i = 0; i < gr->n; i++) {
		idx[i] = -1;
		if (!od && isnan(gr->responses[i].mean))
			continue;
		if ((rc = seqs_add(j, S, &b->tk, &b->m, gr->responses[i].text,
				   gr->responses[i].ended, &idx[i])) < 0 ||
		    (!od && (rc = seqs_ratings(j, S, &gr->responses[i])) < 0)) {
			free(idx);
			return rc;
		}
	}
	if (*np + k > *cap) {
		int c = *cap;
		while (c < *np + k)
			c = c ? c * 2 : 256;
		int (*q)[2] = realloc(*pidx, (size_t)c * sizeof *q);
		if (!q) {
			free(idx);
			return job_fail(j, -ENOMEM, "out of memory");
		}
		*pidx = q;
		*cap = c;
	}
	/* the pairs, from answer indexes to sequence indexes */
	int (*pp)[2] = *pidx + *np;
	if (od)
		db_td_order_pairs(od, pp);
	else
		db_td_group_pairs(gr, pp);
	for (int p = 0; p < k; p++) {
		pp[p][0] = idx[pp[p][0]];
		pp[p][1] = idx[pp[p][1]];
	}
	*np += k;
	free(idx);
	return 0;
}

int job_dpo(struct job *j)
{
	struct job_settings *s = &j->s;
	struct base b = { 0 };
	struct db_td_set td = { 0 };
	struct seqs S = { 0 };
	struct modelstore_model mref = { 0 };
	struct llama_model pol = { 0 }, ref = { 0 };
	struct trainer_pair *pairs = NULL;
	int (*pidx)[2] = NULL;
	bool same_ref = false;
	int64_t ref_id = 0;
	char e[512] = "";
	int rc, np = 0, cap = 0;

	if ((rc = base_load(j, &b)) < 0 || (rc = job_ref_id(j, b.id, &ref_id)) < 0)
		goto out;
	json_object_set_new(j->resolved, "ref_model_id", json_integer(ref_id));
	if ((rc = load_other(j, &b, ref_id, &mref, &same_ref)) < 0 ||
	    (rc = read_groups(j, false, &td)) < 0)
		goto out;
	for (int g = 0; g < td.n_groups; g++)
		if ((rc = dpo_add(j, &S, &b, &td.groups[g], NULL, &pidx, &cap, &np)) < 0)
			goto out;
	/* then the rank and pair judgements' pairs */
	int np_scores = np;
	for (int o = 0; o < td.n_orders; o++)
		if ((rc = dpo_add(j, &S, &b, &td.orders[o].g, &td.orders[o], &pidx, &cap, &np)) < 0)
			goto out;
	json_object_set_new(j->metrics, "judgement_pairs", json_integer(np - np_scores));
	json_object_set_new(j->metrics, "pairs", json_integer(np));
	if (np == 0) {
		rc = job_fail(j, -EINVAL, "no rated pairs: need at least one group with two answers of "
			      "different mean scores (%d groups with ratings)", td.n_groups);
		goto out;
	}
	seqs_finish(&S);
	pairs = malloc((size_t)np * sizeof *pairs);
	if (!pairs) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < np; i++)
		pairs[i] = (struct trainer_pair){ S.seq[pidx[i][0]], S.seq[pidx[i][1]] };
	const struct modelstore_model *refm = same_ref ? &b.m : &mref;
	int T = job_max_T(j, &b.m, S.longest);
	int B = s->micro_batch < 2 ? 2 : s->micro_batch;
	if ((rc = job_llama(j, &pol, &b.m, B, T, 0)) < 0 ||
	    (rc = job_llama(j, &ref, refm, B, T, LLAMA_NO_GRADS)) < 0)
		goto out;
	job_log(j, "%d pairs, policy %lld, reference %lld", np, (long long)b.id, (long long)ref_id);
	struct trainer_dpo_result res = { 0 };
	rc = trainer_dpo(&pol, &ref, pairs, np, &s->dpo, &j->hooks, &res, e, sizeof e);
	if (rc < 0) {
		rc = trainer_error(j, rc, "dpo", e);
		goto out;
	}
	json_object_set_new(j->metrics, "loss", num(res.loss));
	json_object_set_new(j->metrics, "loss_first", num(res.loss_first));
	json_object_set_new(j->metrics, "reward_acc", num(res.reward_acc));
	json_object_set_new(j->metrics, "margin", num(res.margin));
	json_object_set_new(j->metrics, "steps", json_integer(res.steps));
	json_object_set_new(j->metrics, "ref_model_id", json_integer(ref_id));
	json_object_set_new(j->metrics, "ratings", json_integer((json_int_t)S.n_ratings));
	rc = job_save_version(j, "policy", b.id, &b.m, &pol, j->metrics, S.ratings, S.n_ratings,
			      s->activate);
out:
	llama_model_release(&ref);
	llama_model_release(&pol);
	modelstore_model_release(&mref);
	free(pairs);
	free(pidx);
	seqs_release(&S);
	db_td_set_release(&td);
	base_release(&b);
	return rc;
}

/* ---- eval ----------------------------------------------------------------------------------- */

int job_eval(struct job *j)
{
	struct job_settings *s = &j->s;
	struct base b = { 0 };
	struct prompts P = { 0 };
	struct modelstore_model mref = { 0 }, mpar = { 0 }, mrm = { 0 };
	struct llama_model pol = { 0 }, ref = { 0 }, par = { 0 }, rm = { 0 };
	struct rm_prior prior = { 0 };
	struct trainer_eval_result res = { 0 };
	bool same_ref = false, with_rm = false;   /* with_rm: a reward model scores too */
	int64_t ref_id = 0, rm_id = 0, parent_id = 0;
	char e[512] = "";
	int rc;
	const char *split = s->split ? s->split : "eval";

	if ((rc = base_load(j, &b)) < 0 || (rc = job_ref_id(j, b.id, &ref_id)) < 0)
		goto out;
	j->model_id = b.id;         /* the job's model: the one evaluated */
	if ((rc = load_other(j, &b, ref_id, &mref, &same_ref)) < 0)
		goto out;
	/* the parent, when it is a language model: for the win rate */
	struct db_work_model row;
	if (db_work_model_get(j->env->db, b.id, &row) == 0) {
		parent_id = row.parent_id;
		db_work_model_release(&row);
	}
	if (parent_id > 0 && db_work_model_get(j->env->db, parent_id, &row) == 0) {
		if (!modelstore_kind_generates(row.kind))
			parent_id = 0;
		db_work_model_release(&row);
	}
	if (parent_id > 0 && (rc = job_load(j, parent_id, &mpar)) < 0)
		goto out;
	/* the reward model is optional here: no figures that need it without one */
	if (s->reward_model_id || db_work_model_latest(j->env->db, "reward", &rm_id) == 0) {
		if ((rc = job_reward_id(j, &rm_id)) < 0 || (rc = job_load(j, rm_id, &mrm)) < 0)
			goto out;
		with_rm = true;
	}
	if ((rc = prompts_read(j, &b, split, &P)) < 0)
		goto out;
	const struct modelstore_model *refm = same_ref ? &b.m : &mref;
	int T = job_max_T(j, &b.m, P.longest + s->eval.max_new);
	T = T < refm->cfg.seq_len ? T : refm->cfg.seq_len;
	if (with_rm)
		T = T < mrm.cfg.seq_len ? T : mrm.cfg.seq_len;
	if (parent_id > 0)
		T = T < mpar.cfg.seq_len ? T : mpar.cfg.seq_len;
	int B = s->micro_batch;
	if ((rc = job_llama(j, &pol, &b.m, B, T, LLAMA_NO_GRADS)) < 0 ||
	    (rc = job_llama(j, &ref, refm, B, T, LLAMA_NO_GRADS)) < 0 ||
	    (parent_id > 0 && (rc = job_llama(j, &par, &mpar, B, T, LLAMA_NO_GRADS)) < 0) ||
	    (with_rm && (rc = job_llama(j, &rm, &mrm, B, T, LLAMA_NO_LM | LLAMA_NO_GRADS)) < 0) ||
	    (with_rm && (rc = rm_prior_attach(j, &mrm, &b.tk, &rm, &prior, &ref, ref_id, B, T)) < 0))
		goto out;
	prior.pr.alone = true;      /* prompts of any split: scored as unseen prompts are */
	s->eval.eos_id = b.m.eos_id;
	job_log(j, "model %lld on %d %s prompts (reference %lld, parent %lld, reward model %lld)",
		(long long)b.id, P.n, split, (long long)ref_id, (long long)parent_id, (long long)rm_id);
	rc = trainer_eval(&pol, &ref, parent_id > 0 ? &par : NULL, with_rm ? &rm : NULL, P.p, P.n,
			  &s->eval, &j->hooks, &res, e, sizeof e);
	if (rc < 0) {
		rc = trainer_error(j, rc, "eval", e);
		goto out;
	}
	for (int i = 0; i < res.n_answers; i++) {
		if (res.reward)
			job_metric(j, i, "reward", res.reward[i]);
		if (res.seq_kl)
			job_metric(j, i, "kl", res.seq_kl[i]);
		job_metric(j, i, "response_len", res.n_tokens[i]);
	}
	json_t *fig = json_pack("{so so so so so si si ss sI sI sI sI}",
		"reward_mean", num(res.reward_mean), "kl", num(res.kl), "win_rate", num(res.win_rate),
		"response_len", num(res.response_len), "eos_rate", num(res.eos_rate),
		"answers", res.n_answers, "prompts", P.n, "split", split,
		"reward_model_id", (json_int_t)rm_id, "ref_model_id", (json_int_t)ref_id,
		"parent_id", (json_int_t)parent_id, "job_id", (json_int_t)j->id);
	char *text = fig ? json_dumps(fig, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
	if (fig)
		json_object_update(j->metrics, fig);
	json_decref(fig);
	if (!text) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	int drc = db_work_model_set_metric(j->env->db, b.id, "eval", text);
	free(text);
	if (drc < 0)
		rc = job_fail(j, -EIO, "cannot store the figures on model %lld (database %s)",
			      (long long)b.id, drc == DB_BUSY ? "busy" : "error");
out:
	trainer_eval_result_release(&res);
	llama_model_release(&rm);
	rm_prior_release(&prior);
	llama_model_release(&par);
	llama_model_release(&ref);
	llama_model_release(&pol);
	modelstore_model_release(&mrm);
	modelstore_model_release(&mpar);
	modelstore_model_release(&mref);
	prompts_release(&P);
	base_release(&b);
	return rc;
}
