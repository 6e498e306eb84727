/*
 * server/http/api_jobs.c — the jobs resource: start generation, training and
 * evaluation jobs, list them, follow one (its metrics per step), cancel or
 * retry it, and the registry of job kinds the admin page builds its forms
 * from.
 *
 *   POST /api/generate, POST /api/train   validate against the registry of
 *                               job kinds (server/worker/worker.h,
 *                               job_params_check) and insert a queued job
 *                               row → 202 {"job_id"}; the worker thread
 *                               (server/worker/worker.c) runs it
 *   GET  /api/jobs/kinds        every kind with its parameters, their
 *                               types, ranges and defaults (job_kinds_json)
 *   GET  /api/jobs/{id}         the job; its "metrics" hold "settings", every
 *                               parameter's value as the job ran it
 *                               (server/worker/job.h), once it has ended
 *   POST /api/jobs/{id}/retry   a failed or cancelled job queued again: a new
 *                               job with the same kind and params → 202
 *                               {"job_id", "retry_of"}; 404 unknown id; 409
 *                               when the job is queued, running or succeeded.
 */
#include "server/http/api.h"
#include "server/worker/worker.h"
#include "db/db.h"
#include "db/jobs.h"
#include "db/prompts.h"
#include "db/versions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inserts a queued job of kind with params (borrowed) and answers 202. */
static enum MHD_Result enqueue(struct request *r, const char *kind, json_t *params)
{
	char *text = json_dumps(params, HTTP_JSON_FLAGS);
	int64_t id = 0;
	int rc;
	if (!text)
		return http_error(r, 500, "internal", "cannot encode the parameters");
	if ((rc = db_begin(r->db)) < 0 ||
	    (rc = db_job_create(r->db, kind, text, db_now(), &id)) < 0 ||
	    (rc = db_commit(r->db)) < 0) {
		db_rollback(r->db);
		free(text);
		return http_db_error(r, rc, "job");
	}
	free(text);
	worker_wake();
	return http_json(r, 202, json_pack("{sI}", "job_id", (json_int_t)id));
}

/* A model id field: must exist (404) and, when generating, not be a reward
 * model (409).  Returns true, or false after queueing the answer in *ret. */
static bool model_ref_ok(struct request *r, int64_t id, const char *field, bool generator,
			 enum MHD_Result *ret)
{
	char kind[16];
	int rc = db_model_kind(r->db, id, kind);
	if (rc == DB_NOTFOUND)
		*ret = http_error(r, 404, "not_found", "'%s': model %lld not found", field, (long long)id);
	else if (rc < 0)
		*ret = http_db_error(r, rc, "model");
	else if (generator && strcmp(kind, "reward") == 0)
		*ret = http_error(r, 409, "conflict", "'%s': model %lld is a reward model and cannot "
				  "generate", field, (long long)id);
	else
		return true;
	return false;
}

/* The model id params[key] names (0 when none): checked already. */
static int64_t model_param(json_t *params, const char *key)
{
	return json_integer_value(json_object_get(params, key));
}

/* Every prompt of ids exists; else false after queueing a 404 in *ret. */
static bool prompts_exist(struct request *r, json_t *ids, enum MHD_Result *ret)
{
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		int rc = db_prompt_exists(r->db, json_integer_value(v));
		if (rc < 0) {
			*ret = rc == DB_NOTFOUND ?
			       http_error(r, 404, "not_found", "prompt %lld not found",
					  (long long)json_integer_value(v)) :
			       http_db_error(r, rc, "prompt");
			return false;
		}
	}
	return true;
}

/* The body is the generate job's params, checked against the registry; they
 * are stored in the registry's order, without nulls (null = the default). */
enum MHD_Result api_generate(struct request *r)
{
	json_t *body = http_body_object(r);
	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	json_t *params = json_object();
	enum MHD_Result ret;
	if (!job_params_check("generate", body, false, NULL, r->err_field, sizeof r->err_field,
			      r->err_msg, sizeof r->err_msg)) {
		ret = http_invalid(r);
		goto out;
	}
	const char *name;
	for (size_t i = 0; (name = job_param_name("generate", i)); i++) {
		json_t *v = json_object_get(body, name);
		if (v && !json_is_null(v))
			json_object_set(params, name, v);
	}
	json_t *ids = json_object_get(params, "prompt_ids");
	int64_t model = model_param(params, "model_id");
	if ((ids && !prompts_exist(r, ids, &ret)) ||
	    (model && !model_ref_ok(r, model, "model_id", true, &ret)))
		goto out;
	ret = enqueue(r, "generate", params);
out:
	json_decref(params);
	json_decref(body);
	return ret;
}

/* False (after setting r->err_*) when obj has a key not in allowed. */
static bool only_keys(struct request *r, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		const char *const *a = allowed;
		while (*a && strcmp(*a, key) != 0)
			a++;
		if (!*a)
			return http_bad_field(r, key, "unknown field '%s'", key);
	}
	return true;
}

/* body.kind: a kind of the registry that POST /api/train starts (every one
 * but generate, which has POST /api/generate). */
static bool train_kind(struct request *r, json_t *body, const char **kind)
{
	const char *kinds[32];
	size_t n = 0;
	for (size_t i = 0; job_kind_name(i) && n + 1 < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(job_kind_name(i), "generate"))
			kinds[n++] = job_kind_name(i);
	kinds[n] = NULL;
	return json_get_enum(r, body, "kind", NULL, true, kinds, kind);
}

enum MHD_Result api_train(struct request *r)
{
	json_t *body = http_body_object(r);
	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	enum MHD_Result ret;
	static const char *const KEYS[] = { "kind", "params", NULL };
	const char *kind = NULL;
	json_t *p = NULL;
	if (!only_keys(r, body, KEYS) || !train_kind(r, body, &kind)) {
		ret = http_invalid(r);
		goto out;
	}
	json_t *params = json_object_get(body, "params");
	if (params && !json_is_null(params) && !json_is_object(params)) {
		http_bad_field(r, "params", "'params' must be an object");
		ret = http_invalid(r);
		goto out;
	}
	p = json_is_object(params) ? json_incref(params) : json_object();
	/* every key known for the kind, every value in range (server/worker/job_params.c) */
	if (!job_params_check(kind, p, false, "params", r->err_field, sizeof r->err_field, r->err_msg,
			      sizeof r->err_msg)) {
		ret = http_invalid(r);
		goto out;
	}
	int64_t model = model_param(p, "model_id"), reward = model_param(p, "reward_model_id");
	if ((model && !model_ref_ok(r, model, "params.model_id", false, &ret)) ||
	    (reward && !model_ref_ok(r, reward, "params.reward_model_id", false, &ret)))
		goto out;
	ret = enqueue(r, kind, p);
out:
	json_decref(p);
	json_decref(body);
	return ret;
}

enum MHD_Result api_job_kinds(struct request *r)
{
	json_t *kinds = job_kinds_json();
	if (!kinds)
		return http_error(r, 500, "internal", "cannot list the job kinds");
	return http_json(r, 200, kinds);
}

enum MHD_Result api_jobs_list(struct request *r)
{
	int64_t limit;
	json_t *list;
	if (!http_arg_int(r, "limit", 1, 1000, 100, &limit))
		return http_invalid(r);
	int rc = db_jobs_list(r->db, (int)limit, &list);
	if (rc < 0)
		return http_db_error(r, rc, "jobs");
	return http_json(r, 200, json_pack("{so}", "jobs", list));
}

enum MHD_Result api_job_get(struct request *r)
{
	json_t *job;
	int rc = db_job_get(r->db, r->id, &job);
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "job %lld not found", (long long)r->id);
	if (rc < 0)
		return http_db_error(r, rc, "job");
	return http_json(r, 200, job);
}

enum MHD_Result api_job_metrics(struct request *r)
{
	json_t *series;
	int rc = db_job_metrics(r->db, r->id, &series);
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "job %lld not found", (long long)r->id);
	if (rc < 0)
		return http_db_error(r, rc, "job metrics");
	return http_json(r, 200, json_pack("{sI so}", "job_id", (json_int_t)r->id, "series", series));
}

enum MHD_Result api_job_cancel(struct request *r)
{
	char status[16];
	int rc = db_job_cancel(r->db, r->id, db_now(), status);
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "job %lld not found", (long long)r->id);
	if (rc == DB_CONFLICT)
		return http_error(r, 409, "job_finished", "job %lld has already finished", (long long)r->id);
	if (rc < 0)
		return http_db_error(r, rc, "job");
	if (strcmp(status, "running") == 0)
		worker_cancel(r->id);
	return http_json(r, 200, json_pack("{sI ss sb}", "id", (json_int_t)r->id, "status", status,
					   "cancel_requested", strcmp(status, "running") == 0));
}

enum MHD_Result api_job_retry(struct request *r)
{
	int64_t id = 0;
	int rc = db_work_retry(r->db, r->id, db_now(), &id);
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "job %lld not found", (long long)r->id);
	if (rc == DB_CONFLICT)
		return http_error(r, 409, "not_retryable", "job %lld is queued, running or succeeded; "
				  "only failed and cancelled jobs can be retried", (long long)r->id);
	if (rc < 0)
		return http_db_error(r, rc, "job");
	worker_wake();
	return http_json(r, 202, json_pack("{sI sI}", "job_id", (json_int_t)id,
					   "retry_of", (json_int_t)r->id));
}
