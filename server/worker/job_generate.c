/*
 * server/worker/job_generate.c — the generate job: K answers to each prompt from
 * one model, the K answers of up to gen_model.batch prompts from one batched
 * call (server/worker/gen.h, the program's one generation path; model/infer.h
 * runs the live sequences of every prompt of the call together, in far fewer
 * steps than a call per prompt: see infer.h), stored as one
 * generation group per prompt, which /api/tasks/next then hands to raters.
 *
 * Which prompts: params.prompt_ids (in that order), else the prompts of
 * params.split (default train) that have no group from this model yet (with
 * params.again, any of them), at most params.max_prompts (0 = all): those
 * params.pair_model_id answered first, then those with the fewest groups so
 * far (db_traindata_prompts_unanswered).  The loop's generate job of a new
 * policy names its parent: while the SFT model (which answered every prompt)
 * is active, each round takes up the prompts the last rounds did not ask;
 * under a promoted policy, the new one answers that policy's prompts, where
 * people's verdict can compare the two.  With params.explore, up to that
 * many more prompts of the split that people rated answers of and rated
 * none params.min_score (4) or more (db_traindata_prompts_unsolved): another
 * try, from a model that may have learnt since, where no answer was right
 * yet — the best job learns only from answers rated that well, so an item no
 * answer got right is an item it cannot teach.  Those prompts are chosen by
 * how earlier answers were rated, so their groups are marked "explore"
 * (gen_groups.params) and left out of people's verdict, which would see any
 * later answer to a prompt picked for its low scores as better (regression to
 * the mean).  Which model: params.model_id, else the active one.
 *
 * The prompt and answer format are gen.h's: BOS + the model's template with
 * {prompt} replaced ("User: {prompt}\nAssistant:"); the answer is the
 * sampled text after it with its one leading space removed and trailing white
 * space trimmed; it stops at EOS (or BOS), which is not part of the text.
 * responses.ended says whether it stopped (1) or ran into max_tokens or the
 * context (0); token_count counts the answer's tokens, the stop token not
 * included.  A prompt that leaves no room for an answer in the context is
 * skipped (counted in the job's metrics).
 *
 * Seeding: params.seed (default: the job id) mixed with the prompt id seeds
 * the prompt's K streams, so the same model, prompt and seed give the same
 * answers whatever else the job generates.
 *
 * Distinct answers: a group whose answers are word for word the same is
 * worth nothing to a rater or the reward model (no pair, the same score
 * read K times), so an answer whose text another answer of its group already
 * has is drawn again — from a fresh batch of K streams of a derived seed, at
 * most GEN_REDRAWS times — and a duplicate still left is dropped: a group may
 * hold fewer than K answers (metrics redraws, duplicates_dropped).  At
 * temperature 0 (greedy) redrawing cannot help, so the group keeps one
 * answer.  params.distinct false keeps the K samples as drawn: for measuring
 * a model, where a dropped copy would bias the mean.
 *
 * Groups are written in batches (one short transaction per JOB_FLUSH_SEC),
 * so a cancelled job keeps the groups it finished.
 */
#include "server/worker/job_impl.h"
#include "db/db.h"
#include "db/prompts.h"
#include "db/traindata.h"
#include "model/lmdata.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A finished group waiting to be written. */
struct pending {
	int64_t prompt_id;
	int k;
	char **text;      /* (k) owned */
	int *n_tokens;    /* (k) */
	bool *ended;      /* (k) */
	bool explore;     /* a prompt params.explore added */
};

struct gen_state {
	struct job *j;
	int64_t model_id;
	char *group_params;       /* JSON text of the sampling settings */
	char *explore_params;     /* the same with "explore": true */
	struct pending *pend;
	int n_pend, cap_pend;
	double last_write;
	int groups, responses;
};

static void pending_release(struct pending *p)
{
	for (int i = 0; i < p->k && p->text; i++)
		free(p->text[i]);
	free(p->text);
	free(p->n_tokens);
	free(p->ended);
	memset(p, 0, sizeof *p);
}

/* Writes the pending groups in one transaction. */
static int write_groups(struct gen_state *g)
{
	struct job *j = g->j;
	struct db *db = j->env->db;
	if (g->n_pend == 0)
		return 0;
	int rc = db_begin(db);
	for (int i = 0; rc == 0 && i < g->n_pend; i++) {
		struct pending *p = &g->pend[i];
		int64_t gid = 0;
		rc = db_group_create(db, p->prompt_id, g->model_id, j->id,
				     p->explore ? g->explore_params : g->group_params, &gid);
		for (int a = 0; rc == 0 && a < p->k; a++)
			rc = db_work_response_insert(db, gid, p->prompt_id, g->model_id, p->text[a],
						     p->n_tokens[a], p->ended[a], NULL);
	}
	if (rc == 0)
		rc = db_commit(db);
	if (rc < 0) {
		db_rollback(db);
		return job_fail(j, -EIO, "cannot store the answers (database %s)",
				rc == DB_BUSY ? "busy" : "error");
	}
	g->groups += g->n_pend;
	for (int i = 0; i < g->n_pend; i++) {
		g->responses += g->pend[i].k;
		pending_release(&g->pend[i]);
	}
	g->n_pend = 0;
	g->last_write = job_now();
	return 0;
}

/* Tokens of BOS + the formatted prompt (counted, not kept). */
static int prompt_tokens(struct job *j, const struct gen_model *g, const struct db_td_prompt *p,
			 int *n)
{
	size_t got = 0;
	int *ids = NULL;
	int rc = gen_prompt_tokens(&g->tk, g->template, g->system_template, p->text, p->messages,
				   &ids, &got);
	free(ids);
	if (rc < 0)
		return job_fail(j, rc, "prompt %lld: %s", (long long)p->id,
				rc == -EINVAL ? "cannot read its conversation" : "cannot encode it");
	*n = (int)got;
	return 0;
}

/* splitmix64 of seed and prompt id: the prompt's sampling seed. */
static uint64_t prompt_seed(uint64_t seed, int64_t prompt_id)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ull * (uint64_t)(prompt_id + 1);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Batches of K fresh answers drawn for a group's duplicates. */
#define GEN_REDRAWS 2

static bool text_in(char *const *texts, int n, const char *t)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(texts[i], t))
			return true;
	return false;
}

/* Moves the answers of ans (k of them) into p, up to want in all — with
 * distinct, only those whose text is not yet among p's; the rest stay in ans
 * (release them). */
static void take_answers(struct pending *p, int want, struct gen_answer *ans, int k, bool distinct)
{
	for (int a = 0; a < k && p->k < want; a++) {
		if (!ans[a].text || (distinct && text_in(p->text, p->k, ans[a].text)))
			continue;
		p->text[p->k] = ans[a].text;        /* taken over */
		ans[a].text = NULL;
		p->n_tokens[p->k] = ans[a].n_tokens - (ans[a].finished ? 1 : 0);
		p->ended[p->k] = ans[a].finished;
		p->k++;
	}
}

/* The K answers of each of the n prompts' groups into p[0..n) (their arrays
 * allocated for K; n <= gm->batch), prompt i drawing from pseed[i]: distinct
 * texts, redrawn as the top of the file says, or with params.distinct false
 * the K samples as drawn — each round one batched call over the groups still
 * short; redraws[i] counts group i's redraw batches. */
static int answer_groups(struct job *j, struct gen_model *gm, const struct db_td_prompt *const *ps,
			 int n, struct gen_params *par, const uint64_t *pseed, struct pending *p,
			 int *redraws)
{
	const char *texts[GEN_BATCH_PROMPTS], *msgs[GEN_BATCH_PROMPTS];
	uint64_t seeds[GEN_BATCH_PROMPTS];
	int who[GEN_BATCH_PROMPTS];
	struct gen_answer *ans = calloc((size_t)n * par->k, sizeof *ans);
	char e[300];
	bool distinct = j->s.distinct;
	int rc = 0;
	if (!ans)
		return job_fail(j, -ENOMEM, "out of memory");
	/* greedy draws the same text again: no redraw */
	int max_round = distinct && par->temperature > 0 ? GEN_REDRAWS : 0;
	for (int round = 0; round <= max_round; round++) {
		int m = 0, bad;
		for (int i = 0; i < n; i++) {
			if (p[i].k >= par->k)
				continue;
			who[m] = i;
			texts[m] = ps[i]->text;
			msgs[m] = ps[i]->messages;
			seeds[m++] = round == 0 ? pseed[i] : prompt_seed(pseed[i], -1 - round);
		}
		if (m == 0)
			break;
		if (gen_answers_batch(gm, texts, msgs, seeds, m, par, ans, &bad, e, sizeof e) < 0) {
			rc = job_fail(j, -EINVAL, "prompt %lld: %s",
				      (long long)(bad >= 0 ? ps[who[bad]]->id : ps[who[0]]->id), e);
			break;
		}
		for (int q = 0; q < m; q++) {
			take_answers(&p[who[q]], par->k, ans + (size_t)q * par->k, par->k, distinct);
			redraws[who[q]] += round > 0;
		}
		gen_answers_release(ans, m * par->k);
	}
	free(ans);
	return rc;
}

/* Appends to *ps (*n of them, the first n_main picked as asked) up to
 * params.explore prompts without a good answer yet that are not among them. */
static int pick_explore(struct job *j, struct db_td_prompt **ps, int *n)
{
	struct db_td_prompt *u = NULL;
	int nu = 0, added = 0, n_main = *n;
	/* enough to find explore of them even when every asked one is among them */
	if (db_traindata_prompts_unsolved(j->env->db, j->s.split ? j->s.split : "train",
					  j->s.min_score, n_main + j->s.explore, &u, &nu) < 0)
		return job_fail(j, -EIO, "cannot read the prompts to explore (database error)");
	struct db_td_prompt *all = realloc(*ps, (size_t)(n_main + nu + 1) * sizeof *all);
	if (!all) {
		db_td_prompts_free(u, nu);
		return job_fail(j, -ENOMEM, "out of memory");
	}
	*ps = all;
	for (int i = 0; i < nu && added < j->s.explore; i++) {
		bool asked = false;
		for (int q = 0; q < n_main && !asked; q++)
			asked = all[q].id == u[i].id;
		if (asked)
			continue;
		all[n_main + added++] = u[i];
		memset(&u[i], 0, sizeof u[i]);
	}
	*n = n_main + added;
	db_td_prompts_free(u, nu);
	return added;
}

/* The prompts this job answers: new array *ps of *n, the last *n_explore of
 * them params.explore's. */
static int pick_prompts(struct job *j, int64_t model_id, struct db_td_prompt **ps, int *n,
			int *n_explore)
{
	*n_explore = 0;
	json_t *ids = json_object_get(j->params, "prompt_ids");
	int rc;
	if (json_is_array(ids) && json_array_size(ids) > 0) {
		size_t cnt = json_array_size(ids), i;
		int64_t *v = malloc(cnt * sizeof *v), missing = 0;
		json_t *e;
		if (!v)
			return job_fail(j, -ENOMEM, "out of memory");
		json_array_foreach(ids, i, e)
			v[i] = json_integer_value(e);
		rc = db_traindata_prompts_by_id(j->env->db, v, (int)cnt, ps, n, &missing);
		free(v);
		if (rc == DB_NOTFOUND)
			return job_fail(j, -ENOENT, "prompt %lld not found", (long long)missing);
	} else {
		rc = db_traindata_prompts_unanswered(j->env->db, j->s.split ? j->s.split : "train",
						     j->s.again ? 0 : model_id, j->s.pair_model_id,
						     j->s.max_prompts, ps, n);
	}
	if (rc < 0)
		return job_fail(j, -EIO, "cannot read the prompts (database error)");
	if (j->s.explore > 0) {
		if ((rc = pick_explore(j, ps, n)) < 0)
			return rc;
		*n_explore = rc;
	}
	return 0;
}

int job_generate(struct job *j)
{
	struct job_settings *s = &j->s;
	struct gen_state g = { .j = j };
	struct gen_model *gm;
	struct db_td_prompt *ps = NULL;
	int n_ps = 0, rc;

	if ((rc = job_policy_id(j, &g.model_id)) < 0)
		return rc;
	json_object_set_new(j->resolved, "model_id", json_integer(g.model_id));
	json_object_set_new(j->metrics, "model_id", json_integer(g.model_id));
	if ((rc = job_cache_get(j, g.model_id, s->k, &gm)) < 0)
		return rc;
	int n_explore = 0;
	if ((rc = pick_prompts(j, g.model_id, &ps, &n_ps, &n_explore)) < 0)
		return rc;
	uint64_t seed = json_is_integer(json_object_get(j->params, "seed")) ? s->seed : (uint64_t)j->id;
	json_t *gp = json_pack("{si sf sf si si sI}", "k", s->k, "temperature", (double)s->temperature,
			       "top_p", (double)s->top_p, "top_k", s->top_k,
			       "max_tokens", s->max_tokens, "seed", (json_int_t)seed);
	g.group_params = gp ? json_dumps(gp, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
	if (gp)
		json_object_set_new(gp, "explore", json_true());
	g.explore_params = gp ? json_dumps(gp, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(gp);
	g.pend = calloc((size_t)(n_ps > 0 ? n_ps : 1), sizeof *g.pend);
	if (!g.group_params || !g.explore_params || !g.pend) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	job_log(j, "%d prompts x %d answers from model %lld", n_ps, s->k, (long long)g.model_id);
	if (s->explore > 0)
		job_log(j, "explore: %d of them rated before with no answer rated %g or more", n_explore,
			s->min_score);

	struct gen_params par;
	gen_params_default(&par);
	par.k = s->k;
	par.temperature = s->temperature;
	par.top_p = s->top_p;
	par.top_k = s->top_k;
	par.max_tokens = s->max_tokens;
	long long tokens_total = 0, ended_total = 0, skipped = 0;
	int redrawn = 0, groups_redrawn = 0, dropped = 0;
	double t0 = job_now();
	g.last_write = t0;
	for (int i0 = 0; i0 < n_ps; ) {
		if (job_cancelled(j)) {
			rc = -ECANCELED;
			break;
		}
		/* the next gm->batch prompts with room for an answer */
		const struct db_td_prompt *bp[GEN_BATCH_PROMPTS];
		uint64_t bseed[GEN_BATCH_PROMPTS];
		int bidx[GEN_BATCH_PROMPTS], bredraw[GEN_BATCH_PROMPTS] = { 0 }, nb = 0;
		int first = g.n_pend;
		for (; i0 < n_ps && nb < gm->batch; i0++) {
			int plen = 0;
			if ((rc = prompt_tokens(j, gm, &ps[i0], &plen)) < 0)
				goto out;
			if (plen + 1 > gm->cfg.seq_len) {
				skipped++;
				job_log(j, "prompt %lld skipped: %d tokens leave no room in the context of %d",
					(long long)ps[i0].id, plen, gm->cfg.seq_len);
				continue;
			}
			struct pending *p = &g.pend[g.n_pend];
			p->prompt_id = ps[i0].id;
			p->text = calloc((size_t)s->k, sizeof *p->text);
			p->n_tokens = calloc((size_t)s->k, sizeof *p->n_tokens);
			p->ended = calloc((size_t)s->k, sizeof *p->ended);
			if (!p->text || !p->n_tokens || !p->ended) {
				pending_release(p);
				rc = job_fail(j, -ENOMEM, "out of memory");
				goto out;
			}
			p->explore = i0 >= n_ps - n_explore;
			g.n_pend++;
			bp[nb] = &ps[i0];
			bseed[nb] = prompt_seed(seed, ps[i0].id);
			bidx[nb++] = i0;
		}
		if (nb > 0 && (rc = answer_groups(j, gm, bp, nb, &par, bseed, &g.pend[first],
						  bredraw)) < 0)
			goto out;
		for (int q = 0; q < nb; q++) {
			struct pending *p = &g.pend[first + q];
			redrawn += bredraw[q];
			groups_redrawn += bredraw[q] > 0;
			dropped += s->k - p->k;
			double len_sum = 0;
			for (int a = 0; a < p->k; a++) {
				tokens_total += p->n_tokens[a] + p->ended[a];
				ended_total += p->ended[a];
				len_sum += p->n_tokens[a];
			}
			job_metric(j, bidx[q], "response_len", len_sum / p->k);
		}
		job_progress(j, (float)i0 / n_ps);
		if ((job_now() - g.last_write >= JOB_FLUSH_SEC || g.n_pend >= 256) &&
		    (rc = write_groups(&g)) < 0)
			goto out;
	}
	/* what was generated is kept, even when cancelled */
	int wrc = write_groups(&g);
	if (rc == 0)
		rc = wrc;
	double secs = job_now() - t0;
	json_object_set_new(j->metrics, "prompts", json_integer(n_ps));
	json_object_set_new(j->metrics, "groups", json_integer(g.groups));
	if (s->explore > 0)
		json_object_set_new(j->metrics, "explore_prompts", json_integer(n_explore));
	json_object_set_new(j->metrics, "responses", json_integer(g.responses));
	json_object_set_new(j->metrics, "skipped", json_integer(skipped));
	json_object_set_new(j->metrics, "k", json_integer(s->k));
	json_object_set_new(j->metrics, "groups_redrawn", json_integer(groups_redrawn));
	json_object_set_new(j->metrics, "redraws", json_integer(redrawn));
	json_object_set_new(j->metrics, "duplicates_dropped", json_integer(dropped));
	if (dropped > 0)
		job_log(j, "%d answers identical to another of their group dropped (after %d redraw "
			"batches in %d groups)", dropped, redrawn, groups_redrawn);
	json_object_set_new(j->metrics, "tokens", json_integer(tokens_total));
	if (g.responses > 0)
		json_object_set_new(j->metrics, "eos_rate", json_real((double)ended_total / g.responses));
	if (secs > 0)
		json_object_set_new(j->metrics, "tokens_per_sec", json_real(tokens_total / secs));
	if (rc == 0 && n_ps == 0)
		job_log(j, "nothing to do: no prompt without answers from model %lld", (long long)g.model_id);
out:
	for (int i = 0; i < g.n_pend; i++)
		pending_release(&g.pend[i]);
	free(g.pend);
	free(g.group_params);
	free(g.explore_params);
	db_td_prompts_free(ps, n_ps);
	return rc;
}
