/*
 * server/worker/job_score.c — the score job: a reward model's scores of every
 * answer, rated or not, of the prompts of params.split (null = both splits),
 * stored beside the human scores (db/rmscores.h) for the admin's prompt page
 * and the exports.  The reward model is params.reward_model_id or the newest
 * one; the worker queues a score job after every reward job that succeeds
 * (job.c record_end).
 *
 * An answer is read as the reward job trained on it: the reward model's
 * prompt template and tokenizer, the answer's tokens, EOS when it ended.  The
 * stored score is the model's output, which a reward model trained with
 * normalize (the default) gives with mean 0 and std 1 over its training
 * answers.  Scoring runs in chunks (trainer_score, micro_batch rows a forward
 * pass), each chunk's scores written in one transaction, with progress and
 * cancellation between chunks.
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

int job_score(struct job *j)
{
	struct job_settings *s = &j->s;
	struct modelstore_model mrm = { 0 };
	struct tokenizer tk = { 0 };
	struct llama_model rm = { 0 };
	struct db_rm_set set = { 0 };
	struct job_toks t = { 0 }, pt = { 0 };
	struct trainer_seq *seq = NULL;
	size_t *off = NULL;
	int64_t *ids = NULL;
	float *scores = NULL;
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
	if (db_rm_answers(j->env->db, s->split, &set) < 0) {
		rc = job_fail(j, -EIO, "cannot read the answers (database error)");
		goto out;
	}
	json_object_set_new(j->metrics, "answers", json_integer(set.n));
	json_object_set_new(j->metrics, "prompts", json_integer(set.n_prompts));
	if (set.n == 0) {
		job_log(j, "no answers to score");
		goto out;
	}
	size_t n = (size_t)set.n;
	seq = malloc(n * sizeof *seq);
	off = malloc(n * sizeof *off);
	ids = malloc(n * sizeof *ids);
	scores = malloc(n * sizeof *scores);
	if (!seq || !off || !ids || !scores) {
		rc = job_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	/* each prompt tokenized once, copied before each of its answers */
	for (int i = 0, last = -1, plen = 0; i < set.n; i++) {
		struct db_rm_answer *a = &set.answers[i];
		if (a->prompt != last) {
			pt.n = 0;
			if ((rc = job_toks_prompt(j, &pt, &tk, &mrm, set.prompts[a->prompt].text,
						  &plen)) < 0)
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
	if ((rc = job_llama(j, &rm, &mrm, s->micro_batch, T, LLAMA_NO_LM | LLAMA_NO_GRADS)) < 0)
		goto out;
	job_log(j, "reward model %lld scores %d answers of %d prompts (%s), %d positions",
		(long long)rm_id, set.n, set.n_prompts, s->split ? s->split : "both splits", T);
	double sum = 0, sum2 = 0;
	for (int i0 = 0; i0 < set.n; i0 += SCORE_CHUNK) {
		if (job_cancelled(j)) {
			rc = -ECANCELED;
			goto out;
		}
		int nc = set.n - i0 < SCORE_CHUNK ? set.n - i0 : SCORE_CHUNK;
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
		job_progress(j, (float)(i0 + nc) / (float)set.n);
	}
	double mean = sum / set.n, var = sum2 / set.n - mean * mean;
	json_object_set_new(j->metrics, "score_mean", json_real(mean));
	json_object_set_new(j->metrics, "score_std", json_real(var > 0 ? sqrt(var) : 0));
out:
	llama_model_release(&rm);
	free(seq);
	free(off);
	free(ids);
	free(scores);
	job_toks_release(&t);
	job_toks_release(&pt);
	db_rm_set_release(&set);
	tokenizer_release(&tk);
	modelstore_model_release(&mrm);
	return rc;
}
