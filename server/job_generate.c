/*
 * server/job_generate.c — the generate job: K answers to each prompt from
 * one model, one batched model/infer call per prompt (the K answers a rater
 * compares come from one call), stored as one generation group per prompt,
 * which /api/tasks/next then hands to raters.
 *
 * Which prompts: params.prompt_ids (in that order), else the prompts of
 * params.split (default train) that have no group from this model yet, at
 * most params.max_prompts (0 = all).  Which model: params.model_id, else the
 * active one.
 *
 * A prompt goes in as BOS + the model's template with {prompt} replaced
 * ("User: {prompt}\nAssistant:"); an answer is the sampled text after it,
 * its one leading space removed (the space the template leaves before the
 * answer) and trailing white space trimmed.  It stops at EOS — or BOS, a
 * base model starting its next document — which is not part of the text;
 * responses.ended says whether it stopped (1) or ran into max_tokens or the
 * context (0); token_count counts the answer's tokens, the stop token not
 * included.
 *
 * Seeding: params.seed (default: the job id) mixed with the prompt id seeds
 * the prompt's K streams, so the same model, prompt and seed give the same
 * answers whatever else the job generates.
 *
 * Groups are written in batches (one short transaction per JOB_FLUSH_SEC),
 * so a cancelled job keeps the groups it finished.
 */
#include "server/job_impl.h"
#include "db/db.h"
#include "db/prompts.h"
#include "db/traindata.h"
#include "model/infer.h"

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
};

struct gen_state {
	struct job *j;
	int64_t model_id;
	char *group_params;       /* JSON text of the sampling settings */
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
		rc = db_group_create(db, p->prompt_id, g->model_id, j->id, g->group_params, &gid);
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

/* The answer text of new tokens ids[0..n) after the prompt's last token prev. */
static char *answer_text(const struct tokenizer *tk, int prev, const int *ids, int n)
{
	char *text = NULL;
	size_t len = 0;
	if (tokenizer_decode(tk, prev, ids, (size_t)n, &text, &len, NULL, 0) < 0)
		return strdup("");
	size_t start = len > 0 && text[0] == ' ' ? 1 : 0;
	size_t end = strlen(text);      /* a 0x00 byte ends the text */
	while (end > start && strchr(" \t\r\n", text[end - 1]))
		end--;
	memmove(text, text + start, end - start);
	text[end - start] = 0;
	return text;
}

/* splitmix64 of seed and prompt id: the prompt's sampling seed. */
static uint64_t prompt_seed(uint64_t seed, int64_t prompt_id)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ull * (uint64_t)(prompt_id + 1);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The prompts this job answers: new array *ps of *n. */
static int pick_prompts(struct job *j, int64_t model_id, struct db_td_prompt **ps, int *n)
{
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
						     model_id, j->s.max_prompts, ps, n);
	}
	if (rc < 0)
		return job_fail(j, -EIO, "cannot read the prompts (database error)");
	return 0;
}

int job_generate(struct job *j)
{
	struct job_settings *s = &j->s;
	struct gen_state g = { .j = j };
	struct modelstore_model *m;
	struct tokenizer *tk;
	struct db_td_prompt *ps = NULL;
	struct job_toks pt = { 0 };
	struct infer inf;
	bool have_inf = false;
	int *tokens = NULL, *n_tokens = NULL, n_ps = 0, rc;
	char e[300];

	if ((rc = job_policy_id(j, &g.model_id)) < 0)
		return rc;
	json_object_set_new(j->resolved, "model_id", json_integer(g.model_id));
	json_object_set_new(j->metrics, "model_id", json_integer(g.model_id));
	if ((rc = job_cache_get(j, g.model_id, &m, &tk)) < 0)
		return rc;
	if ((rc = pick_prompts(j, g.model_id, &ps, &n_ps)) < 0)
		return rc;
	uint64_t seed = json_is_integer(json_object_get(j->params, "seed")) ? s->seed : (uint64_t)j->id;
	json_t *gp = json_pack("{si sf sf si si sI}", "k", s->k, "temperature", (double)s->temperature,
			       "top_p", (double)s->top_p, "top_k", s->top_k,
			       "max_tokens", s->max_tokens, "seed", (json_int_t)seed);
	g.group_params = gp ? json_dumps(gp, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(gp);
	g.pend = calloc((size_t)(n_ps > 0 ? n_ps : 1), sizeof *g.pend);
	tokens = malloc((size_t)s->k * s->max_tokens * sizeof *tokens);
	n_tokens = malloc((size_t)s->k * sizeof *n_tokens);
	if (!g.group_params || !g.pend || !tokens || !n_tokens) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	if (infer_init(&inf, &m->cfg, m->params, s->k, e, sizeof e) < 0) {
		rc = job_fail(j, -ENOMEM, "model %lld: %s", (long long)g.model_id, e);
		goto out;
	}
	have_inf = true;
	job_log(j, "%d prompts x %d answers from model %lld", n_ps, s->k, (long long)g.model_id);

	struct infer_params ip;
	infer_params_default(&ip);
	ip.k = s->k;
	ip.max_new = s->max_tokens;
	ip.temperature = s->temperature;
	ip.top_p = s->top_p;
	ip.top_k = s->top_k;
	ip.stop_ids[0] = m->eos_id;
	ip.stop_ids[1] = m->bos_id;
	ip.n_stop = m->eos_id == m->bos_id ? 1 : 2;
	long long tokens_total = 0, ended_total = 0, skipped = 0;
	double t0 = job_now();
	g.last_write = t0;
	for (int i = 0; i < n_ps; i++) {
		if (job_cancelled(j)) {
			rc = -ECANCELED;
			break;
		}
		int plen;
		pt.n = 0;
		if ((rc = job_toks_prompt(j, &pt, tk, m, ps[i].text, &plen)) < 0)
			goto out;
		if (plen >= m->cfg.seq_len) {
			skipped++;
			job_log(j, "prompt %lld skipped: %d tokens leave no room in the context of %d",
				(long long)ps[i].id, plen, m->cfg.seq_len);
			job_progress(j, (float)(i + 1) / n_ps);
			continue;
		}
		ip.seed = prompt_seed(seed, ps[i].id);
		ip.first_stream = 0;
		if (infer_generate(&inf, pt.ids, plen, &ip, tokens, n_tokens, NULL, e, sizeof e) < 0) {
			rc = job_fail(j, -EINVAL, "prompt %lld: %s", (long long)ps[i].id, e);
			goto out;
		}
		struct pending *p = &g.pend[g.n_pend];
		p->prompt_id = ps[i].id;
		p->text = calloc((size_t)s->k, sizeof *p->text);
		p->n_tokens = calloc((size_t)s->k, sizeof *p->n_tokens);
		p->ended = calloc((size_t)s->k, sizeof *p->ended);
		if (!p->text || !p->n_tokens || !p->ended) {
			pending_release(p);
			rc = job_fail(j, -ENOMEM, "out of memory");
			goto out;
		}
		p->k = s->k;
		g.n_pend++;
		double len_sum = 0;
		for (int a = 0; a < s->k; a++) {
			const int *row = tokens + (size_t)a * s->max_tokens;
			int n = n_tokens[a];
			bool stop = n > 0 && (row[n - 1] == m->eos_id || row[n - 1] == m->bos_id);
			int body = stop ? n - 1 : n;
			p->text[a] = answer_text(tk, pt.ids[plen - 1], row, body);
			if (!p->text[a]) {
				rc = job_fail(j, -ENOMEM, "out of memory");
				goto out;
			}
			p->n_tokens[a] = body;
			p->ended[a] = stop;
			tokens_total += n;
			ended_total += stop;
			len_sum += body;
		}
		job_metric(j, i, "response_len", len_sum / s->k);
		job_progress(j, (float)(i + 1) / n_ps);
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
	json_object_set_new(j->metrics, "responses", json_integer(g.responses));
	json_object_set_new(j->metrics, "skipped", json_integer(skipped));
	json_object_set_new(j->metrics, "k", json_integer(s->k));
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
	free(tokens);
	free(n_tokens);
	if (have_inf)
		infer_release(&inf);
	job_toks_release(&pt);
	db_td_prompts_free(ps, n_ps);
	return rc;
}
