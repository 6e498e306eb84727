/*
 * server/worker/spotcheck.c — the reward-hacking watch: when a version
 * becomes active, its best answers by the reward model go to the front of
 * the raters' queue (spot checks), and people's scores of them are set
 * against the reward model's.
 *
 * When the spot checks are picked.  A version with a parent becomes active
 * by hand (POST /api/models/{id}/activate) or by a job (an SFT job's
 * activate, an RL job passing the promotion gate); each calls
 * spotcheck_activated.  The loop's rollback does not: the parent it
 * activates again is not new.  The picks need the version's answers scored by the
 * newest reward model, which at that moment they usually are not:
 *  - the auto-training loop promotes a policy at the end of its RL job, when
 *    the policy has no answers yet; the loop then generates answers from it,
 *    and the score job the reward job queued has already run (it was queued
 *    after the RL job and ran before the generate job), so those answers
 *    have no score.  So the version is marked pending (metrics
 *    spot_check_pending), its generate job queues a score job when it ends
 *    (spotcheck_after_job), and that score job's end picks the spot checks.
 *    Scoring inside the generate job would load a second model in a job that
 *    only generates; the score job already scores with the likelihood prior
 *    exactly as the other jobs read scores.
 *  - activated by hand with answers the newest reward model scored: picked
 *    at once; with answers it did not score: a score job is queued; with no
 *    answers: pending until a generate job of it ends.
 * A version is picked for once (db_spot_pick); a reward model newer than
 * the picks does not re-pick.
 *
 * The verdict (promote_hacking): its rule is in promote.h; it is shown in
 * GET /api/models (spotcheck_json) and the auto-training loop rolls an
 * active policy flagged hacking back to its parent (autotrain.c
 * autotrain_verdict), beside the rollback on people's verdict.
 */
#include "server/worker/job_impl.h"
#include "server/worker/spotcheck.h"
#include "server/worker/worker.h"
#include "server/worker/modelstore.h"
#include "server/worker/promote.h"
#include "db/config.h"
#include "db/db.h"
#include "db/jobs.h"
#include "db/spotcheck.h"
#include "db/versions.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* config spot_check_n when it is missing or out of range (the default of
 * migrations/0008_spot_checks.sql) */
#define SPOT_N_DEFAULT 8
#define SPOT_N_MAX 1000

static int spot_n(struct db *db, int *n)
{
	int64_t v = SPOT_N_DEFAULT;
	int rc = db_config_int(db, "spot_check_n", SPOT_N_DEFAULT, &v);
	*n = v >= 0 && v <= SPOT_N_MAX ? (int)v : SPOT_N_DEFAULT;
	return rc < 0 ? rc : 0;
}

/* Whether version id's spot checks wait for scored answers. */
static int pending(struct db *db, int64_t id, bool *yes)
{
	json_t *m = NULL;
	*yes = false;
	int rc = db_work_model_metrics(db, id, &m);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	*yes = json_is_true(json_object_get(m, "spot_check_pending"));
	json_decref(m);
	return 0;
}

static int queue_score(struct db *db, int64_t *job)
{
	/* only the answers the newest reward model has not scored: the score job
	 * its reward job queued scores every answer there was */
	return db_job_create(db, "score", "{\"unscored\":true}", db_now(), job);
}

int spotcheck_activated(struct db *db, int64_t model_id, bool *queued)
{
	struct db_work_model row = { 0 }, par = { 0 };
	bool has = false, unscored = false;
	int n = 0, picked = 0;
	int64_t job = 0;
	if (queued)
		*queued = false;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_work_model_get(db, model_id, &row)) < 0)
		goto out;
	/* only a trained child has a parent to be compared with */
	if (!modelstore_kind_generates(row.kind) || row.parent_id <= 0 ||
	    db_work_model_get(db, row.parent_id, &par) < 0 || !modelstore_kind_generates(par.kind))
		goto out;
	if ((rc = spot_n(db, &n)) < 0 || n == 0 || (rc = db_spot_has(db, model_id, &has)) < 0 || has)
		goto out;
	if ((rc = db_spot_pick(db, model_id, n, &picked)) < 0)
		goto out;
	if (picked > 0) {
		rc = db_work_model_merge_metrics(db, model_id, "{\"spot_check_pending\":null}");
		fprintf(stderr, "rlhfd: spot checks: model %lld is active: %d of its answers go to the "
			"front of the raters' queue\n", (long long)model_id, picked);
		goto out;
	}
	if ((rc = db_work_model_merge_metrics(db, model_id, "{\"spot_check_pending\":true}")) < 0 ||
	    (rc = db_spot_unscored(db, model_id, &unscored)) < 0)
		goto out;
	if (unscored && (rc = queue_score(db, &job)) == 0 && queued)
		*queued = true;
	if (rc == 0)
		fprintf(stderr, "rlhfd: spot checks: model %lld is active; its spot checks wait for "
			"%s\n", (long long)model_id,
			unscored ? "score job to score its answers" : "answers and their scores");
out:
	db_work_model_release(&row);
	db_work_model_release(&par);
	if (rc == 0 && (rc = db_commit(db)) == 0)
		return 0;
	db_rollback(db);
	return rc;
}

int spotcheck_after_job(struct job *j)
{
	struct db *db = j->env->db;
	int64_t active = 0, job = 0;
	bool wait = false, unscored = false;
	int n = 0, picked = 0;
	int rc = db_model_active(db, &active);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc < 0 || (rc = pending(db, active, &wait)) < 0 || !wait)
		return rc;
	if (!strcmp(j->kind, "generate")) {
		if (json_integer_value(json_object_get(j->metrics, "model_id")) != active)
			return 0;
		if ((rc = db_spot_unscored(db, active, &unscored)) < 0 || !unscored)
			return rc;
		if ((rc = queue_score(db, &job)) == 0)
			job_log(j, "spot checks: queued score job %lld to score the answers of the "
				"active model %lld", (long long)job, (long long)active);
		return rc;
	}
	if (strcmp(j->kind, "score"))
		return 0;
	if ((rc = spot_n(db, &n)) < 0 || (rc = db_spot_pick(db, active, n, &picked)) < 0)
		return rc;
	if (picked > 0) {
		rc = db_work_model_merge_metrics(db, active, "{\"spot_check_pending\":null}");
		job_log(j, "spot checks: %d answers of the active model %lld go to the front of the "
			"raters' queue", picked, (long long)active);
	}
	return rc;
}

bool spotcheck_hacking(const struct db_spot *s, double *p, char *why, size_t why_len)
{
	bool flag = promote_hacking(s->rm_paired, s->parent_rm_paired, s->worse, s->better, p);
	if (flag && why && why_len)
		snprintf(why, why_len, "the reward model scores its spot-checked answers above its "
			 "parent's (%.3f against %.3f) while people score them lower (%.2f against "
			 "%.2f: worse on %d of %d prompts, better on %d; sign test p = %.4f)",
			 s->rm_paired, s->parent_rm_paired, s->human_paired, s->parent_human_paired,
			 s->worse, s->prompts, s->better, *p);
	return flag;
}

/* A mean as JSON: null when there was nothing to average. */
static json_t *mean_json(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

int spotcheck_json(struct db *db, int64_t model_id, json_t **out)
{
	struct db_spot s;
	int rc = db_spot_get(db, model_id, &s);
	if (rc < 0)
		return rc;
	double p = 1;
	char why[400];
	bool flag = spotcheck_hacking(&s, &p, why, sizeof why);
	json_t *o = json_pack("{sI si so si si so so si so so so so si si si sf sb so}",
		"rm_model_id", (json_int_t)s.rm_model_id,
		"answers", s.answers,
		"rm_mean", mean_json(s.rm_mean),
		"rated", s.rated,
		"ratings", s.ratings,
		"human_mean", mean_json(s.human_mean),
		"parent_id", s.parent_id > 0 ? json_integer(s.parent_id) : json_null(),
		"prompts", s.prompts,
		"rm_paired", mean_json(s.rm_paired),
		"parent_rm_paired", mean_json(s.parent_rm_paired),
		"human_paired", mean_json(s.human_paired),
		"parent_human_paired", mean_json(s.parent_human_paired),
		"worse", s.worse, "better", s.better, "ties", s.ties,
		"p", p,
		"hacking", flag,
		"hacking_reason", flag ? json_string(why) : json_null());
	if (!o)
		return DB_ERROR;
	*out = o;
	return 0;
}
