/*
 * server/worker/job_score.c — the score job: a reward model's scores of every
 * answer, rated or not, of the prompts of params.split (null = both splits),
 * stored beside the human scores (db/rmscores.h) for the admin's prompt page
 * and the exports.  The reward model is params.reward_model_id or the newest
 * one; the worker queues a score job after every reward job that succeeds
 * (job.c record_end).  With params.unscored only the answers that model has
 * no score of yet: the spot checks' score job (spotcheck.c) needs the scores
 * of a generate job's new answers, not the thousands the reward job's own
 * score job already wrote, and it runs in the loop's time.
 *
 * An answer is read as the reward job trained on it: the reward model's
 * prompt template and tokenizer, the answer's tokens, EOS when it ended.  The
 * stored score is the reward model's score as the other jobs use it: with a
 * likelihood prior recorded in its metadata (model/trainer.h struct
 * trainer_prior, attached by job_prior.c with its language model), the
 * answers of the prompts it trained on (its metrics' train_prompt_ids) get
 * network + prior, as RL scores them, and every other answer (held-out
 * prompts, the eval split, prompts rated or added since) the prior alone, as
 * eval and the promotion gate score unseen prompts.  Without a prior it is
 * the network's score.  A reward model trained with normalize (the default)
 * gives network + prior mean 0 and std 1 over its training answers; the prior
 * alone is on that scale, not centred.
 *
 * Scoring runs in chunks (trainer_score, micro_batch rows a forward pass),
 * the answers of trained-on prompts first, each chunk's scores written in one
 * transaction, with progress and cancellation between chunks.
 */
#include "server/worker/job_impl.h"
#include "db/db.h"
#include "db/rmscores.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* sequences a trainer_score call and a write transaction take */
#define SCORE_CHUNK 64

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* trained[p] = whether prompt p of set is among the reward model's
 * train_prompt_ids (its version's metrics, borrowed); none listed: none. */
static int trained_prompts(struct job *j, json_t *rmm, const struct db_rm_set *set, bool *trained)
{
	json_t *a = json_object_get(rmm, "train_prompt_ids");
	size_t n = json_array_size(a);
	int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
	if (!ids)
		return job_fail(j, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		ids[i] = json_integer_value(json_array_get(a, i));
	qsort(ids, n, sizeof *ids, cmp_id);
	for (int p = 0; p < set->n_prompts; p++)
		trained[p] = n && bsearch(&set->prompts[p].id, ids, n, sizeof *ids, cmp_id);
	free(ids);
	return 0;
}

int job_score(struct job *j)
{
	struct job_settings *s = &j->s;
	struct modelstore_model mrm = { 0 };
	struct tokenizer tk = { 0 };
	struct llama_model rm = { 0 };
	struct rm_prior prior = { 0 };
	struct db_rm_set set = { 0 };
	struct job_toks t = { 0 }, pt = { 0 };
	struct trainer_seq *seq = NULL;
	size_t *off = NULL;
	int64_t *ids = NULL;
	int *ord = NULL;
	bool *trained = NULL;
	float *scores = NULL;
	json_t *rmm = NULL;
	int64_t rm_id = 0;
	char e[512] = "";
	int rc, longest = 0;

	if ((rc = job_reward_id(j, &rm_id)) < 0)
		goto out;
	json_object_set_new(j->resolved, "reward_model_id", json_integer(rm_id));
	json_object_set_new(j->metrics, "reward_model_id", json_integer(rm_id));
	if ((rc = job_load(j, rm_id, &mrm)) < 0)
		goto out;
	if (modelstore_load_tokenizer(&mrm, &tk, j->err, sizeof j->err) < 0) {
		rc = -EIO;
		goto out;
	}
	if (db_work_model_metrics(j->env->db, rm_id, &rmm) < 0) {
		rc = job_fail(j, -EIO, "cannot read reward model %lld (database error)", (long long)rm_id);
		goto out;
	}
	if (db_rm_answers(j->env->db, s->split, s->unscored ? rm_id : 0, &set) < 0) {
		rc = job_fail(j, -EIO, "cannot read the answers (database error)");
		goto out;
	}
	json_object_set_new(j->metrics, "answers", json_integer(set.n));
	json_object_set_new(j->metrics, "unscored_only", json_boolean(s->unscored));
	json_object_set_new(j->metrics, "prompts", json_integer(set.n_prompts));
	if (set.n == 0) {
		job_log(j, "no answers to score");
		goto out;
	}
	size_t n = (size_t)set.n;
	seq = malloc(n * sizeof *seq);
	off = malloc(n * sizeof *off);
	ids = malloc(n * sizeof *ids);
	ord = malloc(n * sizeof *ord);
	scores = malloc(n * sizeof *scores);
	trained = calloc((size_t)set.n_prompts, sizeof *trained);
	if (!seq || !off || !ids || !ord || !scores || !trained) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	/* the answers of the prompts the reward model trained on first, then the
	 * others (each part in the set's order, a prompt's answers together) */
	if ((rc = trained_prompts(j, rmm, &set, trained)) < 0)
		goto out;
	int n_trained = 0, n_train_prompts = 0;
	for (int i = 0; i < set.n; i++)
		if (trained[set.answers[i].prompt])
			ord[n_trained++] = i;
	for (int i = 0, k = n_trained; i < set.n; i++)
		if (!trained[set.answers[i].prompt])
			ord[k++] = i;
	for (int p = 0; p < set.n_prompts; p++)
		n_train_prompts += trained[p];
	/* each prompt tokenized once, copied before each of its answers */
	for (int i = 0, last = -1, plen = 0; i < set.n; i++) {
		struct db_rm_answer *a = &set.answers[ord[i]];
		if (a->prompt != last) {
			pt.n = 0;
			if ((rc = job_toks_prompt(j, &pt, &tk, &mrm, set.prompts[a->prompt].text,
						  set.prompts[a->prompt].messages, &plen)) < 0)
				goto out;
			last = a->prompt;
		}
		if (t.n + pt.n > t.cap) {
			size_t cap = t.cap ? t.cap : 4096;
			while (cap < t.n + pt.n)
				cap *= 2;
			int *p = realloc(t.ids, cap * sizeof *p);
			if (!p) {
				rc = job_fail(j, -ENOMEM, "out of memory");
				goto out;
			}
			t.ids = p;
			t.cap = cap;
		}
		off[i] = t.n;
		memcpy(t.ids + t.n, pt.ids, pt.n * sizeof(int));
		t.n += pt.n;
		int rlen;
		if ((rc = job_toks_response(j, &t, &tk, &mrm, a->text, a->ended, &rlen)) < 0)
			goto out;
		seq[i] = (struct trainer_seq){ NULL, plen + rlen, plen, a->ended };
		ids[i] = a->id;
		longest = plen + rlen > longest ? plen + rlen : longest;
	}
	for (int i = 0; i < set.n; i++)
		seq[i].tokens = t.ids + off[i];
	int T = job_max_T(j, &mrm, longest);
	if ((rc = job_llama(j, &rm, &mrm, s->micro_batch, T, LLAMA_NO_LM | LLAMA_NO_GRADS)) < 0 ||
	    (rc = rm_prior_attach(j, &mrm, &tk, &rm, &prior, NULL, 0, s->micro_batch, T)) < 0 ||
	    (rm.prior && (rc = rm_prior_cache(j, &prior)) < 0))
		goto out;
	bool with_prior = rm.prior != NULL;
	int n_alone = with_prior ? set.n - n_trained : 0;
	json_object_set_new(j->metrics, "prior_model_id",
			    with_prior ? json_integer(prior.model_id) : json_null());
	json_object_set_new(j->metrics, "train_prompts", json_integer(n_train_prompts));
	json_object_set_new(j->metrics, "answers_prior_alone", json_integer(n_alone));
	if (with_prior)
		job_log(j, "reward model %lld (likelihood prior from model %lld) scores %d answers of "
			"%d prompts (%s), %d positions: %d of the %d prompts it trained on with "
			"network + prior, %d of other prompts with the prior alone", (long long)rm_id,
			(long long)prior.model_id, set.n, set.n_prompts,
			s->split ? s->split : "both splits", T, n_trained, n_train_prompts, n_alone);
	else
		job_log(j, "reward model %lld (no prior) scores %d answers of %d prompts (%s), "
			"%d positions", (long long)rm_id, set.n, set.n_prompts,
			s->split ? s->split : "both splits", T);
	double sum = 0, sum2 = 0;
	for (int i0 = 0; i0 < set.n;) {
		if (job_cancelled(j)) {
			rc = -ECANCELED;
			goto out;
		}
		/* a chunk never spans the two parts: the prior is alone for the second */
		int end = i0 < n_trained ? n_trained : set.n;
		int nc = end - i0 < SCORE_CHUNK ? end - i0 : SCORE_CHUNK;
		prior.pr.alone = i0 >= n_trained;
		if ((rc = trainer_score(&rm, seq + i0, nc, scores + i0, e, sizeof e)) < 0) {
			rc = job_fail(j, rc, "score: %s", e[0] ? e : "failed");
			goto out;
		}
		for (int i = i0; i < i0 + nc; i++) {
			if (!isfinite(scores[i])) {
				rc = job_fail(j, -EINVAL, "reward model %lld gives answer %lld a score "
					      "that is not a number", (long long)rm_id, (long long)ids[i]);
				goto out;
			}
			sum += scores[i];
			sum2 += (double)scores[i] * scores[i];
		}
		int drc = db_rm_scores_put(j->env->db, rm_id, j->id, ids + i0, scores + i0, nc);
		if (drc < 0) {
			rc = job_fail(j, -EIO, "cannot store the scores (database %s)",
				      drc == DB_BUSY ? "busy" : "error");
			goto out;
		}
		i0 += nc;
		job_progress(j, (float)i0 / (float)set.n);
	}
	if (with_prior)
		rm_prior_cache_report(j);
	double mean = sum / set.n, var = sum2 / set.n - mean * mean;
	json_object_set_new(j->metrics, "score_mean", json_real(mean));
	json_object_set_new(j->metrics, "score_std", json_real(var > 0 ? sqrt(var) : 0));
out:
	llama_model_release(&rm);
	rm_prior_release(&prior);
	json_decref(rmm);
	free(seq);
	free(off);
	free(ids);
	free(ord);
	free(trained);
	free(scores);
	job_toks_release(&t);
	job_toks_release(&pt);
	db_rm_set_release(&set);
	tokenizer_release(&tk);
	modelstore_model_release(&mrm);
	return rc;
}
