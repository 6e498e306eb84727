/*
 * server/http/api_admin.c — the admin's controls: enqueue generation and training
 * jobs, follow and cancel jobs, list and activate model versions, settings,
 * statistics.
 *
 * /api/generate and /api/train only validate and insert a queued job row;
 * the worker thread (server/worker/worker.c) runs it.
 */
#include "server/http/api.h"
#include "db/config.h"
#include "db/db.h"
#include "db/jobs.h"
#include "db/versions.h"
#include "db/prompts.h"
#include "db/stats.h"
#include "server/worker/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROMPT_IDS 100000

int api_config_ints(struct db *db, int *ratings_per_group, int *lease_seconds)
{
	int64_t per = 1, lease = 600;
	int rc = db_config_int(db, "ratings_per_group", 1, &per);
	if (rc == 0)
		rc = db_config_int(db, "lease_seconds", 600, &lease);
	*ratings_per_group = per >= 1 && per <= 1000 ? (int)per : 1;
	*lease_seconds = lease >= 1 && lease <= 7 * 86400 ? (int)lease : 600;
	return rc;
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

enum MHD_Result api_generate(struct request *r)
{
	static const char *const SPLITS[] = { "train", "eval", NULL };
	json_t *body = http_body_object(r);
	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	static const char *const KEYS[] = { "prompt_ids", "split", "k", "temperature", "top_p", "top_k",
					    "max_tokens", "model_id", "seed", "max_prompts", NULL };
	json_t *params = json_object();
	enum MHD_Result ret;
	int64_t k = 4, max_tokens = 0, model = 0, seed = 0, top_k = 0;
	double temp = 0, top_p = 0;
	const char *split = NULL;
	if (!only_keys(r, body, KEYS) ||
	    !json_get_int(r, body, "k", NULL, false, 1, 64, &k) ||
	    !json_get_enum(r, body, "split", NULL, false, SPLITS, &split) ||
	    !json_get_number(r, body, "temperature", NULL, false, 0, 10, &temp) ||
	    !json_get_number(r, body, "top_p", NULL, false, 1e-6, 1, &top_p) ||
	    !json_get_int(r, body, "top_k", NULL, false, 0, 1000000, &top_k) ||
	    !json_get_int(r, body, "max_tokens", NULL, false, 1, 65536, &max_tokens) ||
	    !json_get_int(r, body, "model_id", NULL, false, 1, INT64_MAX, &model) ||
	    !json_get_int(r, body, "seed", NULL, false, 0, INT64_MAX, &seed)) {
		ret = http_invalid(r);
		goto out;
	}
	json_object_set_new(params, "k", json_integer(k));
	static const char *const COPY[] = { "split", "temperature", "top_p", "top_k", "max_tokens",
					    "model_id", "seed", "max_prompts", NULL };
	for (const char *const *c = COPY; *c; c++)
		if (json_object_get(body, *c) && !json_is_null(json_object_get(body, *c)))
			json_object_set(params, *c, json_object_get(body, *c));

	json_t *ids = json_object_get(body, "prompt_ids");
	if (ids && !json_is_null(ids)) {
		if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > MAX_PROMPT_IDS) {
			http_bad_field(r, "prompt_ids", "'prompt_ids' must be an array of 1 to %d prompt ids",
				       MAX_PROMPT_IDS);
			ret = http_invalid(r);
			goto out;
		}
		size_t i;
		json_t *v;
		json_array_foreach(ids, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) < 1) {
				char at[40];
				snprintf(at, sizeof at, "prompt_ids[%zu]", i);
				http_bad_field(r, at, "'%s' must be a positive integer", at);
				ret = http_invalid(r);
				goto out;
			}
		}
		json_array_foreach(ids, i, v) {
			int rc = db_prompt_exists(r->db, json_integer_value(v));
			if (rc < 0) {
				ret = rc == DB_NOTFOUND ?
				      http_error(r, 404, "not_found", "prompt %lld not found",
						 (long long)json_integer_value(v)) :
				      http_db_error(r, rc, "prompt");
				goto out;
			}
		}
		json_object_set(params, "prompt_ids", ids);
	}
	if (!job_params_check("generate", params, false, NULL, r->err_field, sizeof r->err_field,
			      r->err_msg, sizeof r->err_msg)) {
		ret = http_invalid(r);
		goto out;
	}
	if (model && !model_ref_ok(r, model, "model_id", true, &ret))
		goto out;
	ret = enqueue(r, "generate", params);
out:
	json_decref(params);
	json_decref(body);
	return ret;
}

enum MHD_Result api_train(struct request *r)
{
	static const char *const KINDS[] = { "sft", "reward", "ppo", "rloo", "grpo", "dpo", "eval", NULL };
	json_t *body = http_body_object(r);
	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	enum MHD_Result ret;
	static const char *const KEYS[] = { "kind", "params", NULL };
	const char *kind = NULL;
	int64_t model = 0, reward = 0;
	if (!only_keys(r, body, KEYS) || !json_get_enum(r, body, "kind", NULL, true, KINDS, &kind)) {
		ret = http_invalid(r);
		goto out;
	}
	json_t *params = json_object_get(body, "params");
	if (params && !json_is_null(params) && !json_is_object(params)) {
		http_bad_field(r, "params", "'params' must be an object");
		ret = http_invalid(r);
		goto out;
	}
	json_t *p = json_is_object(params) ? json_incref(params) : json_object();
	if (!json_get_int(r, p, "model_id", "params", strcmp(kind, "eval") == 0, 1, INT64_MAX, &model) ||
	    !json_get_int(r, p, "reward_model_id", "params", false, 1, INT64_MAX, &reward)) {
		json_decref(p);
		ret = http_invalid(r);
		goto out;
	}
	/* every key known for the kind, every value in range (server/worker/job_params.c) */
	if (!job_params_check(kind, p, false, "params", r->err_field, sizeof r->err_field, r->err_msg,
			      sizeof r->err_msg)) {
		json_decref(p);
		ret = http_invalid(r);
		goto out;
	}
	if ((model && !model_ref_ok(r, model, "params.model_id", false, &ret)) ||
	    (reward && !model_ref_ok(r, reward, "params.reward_model_id", false, &ret))) {
		json_decref(p);
		goto out;
	}
	ret = enqueue(r, kind, p);
	json_decref(p);
out:
	json_decref(body);
	return ret;
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

enum MHD_Result api_models_list(struct request *r)
{
	json_t *list;
	int rc = db_models_list(r->db, &list);
	if (rc < 0)
		return http_db_error(r, rc, "models");
	return http_json(r, 200, json_pack("{so}", "models", list));
}

enum MHD_Result api_model_activate(struct request *r)
{
	int rc = db_model_activate(r->db, r->id);
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "model %lld not found", (long long)r->id);
	if (rc == DB_CONFLICT)
		return http_error(r, 409, "not_activatable", "model %lld is a reward model; only base, "
				  "sft and policy models generate", (long long)r->id);
	if (rc < 0)
		return http_db_error(r, rc, "model");
	return http_json(r, 200, json_pack("{sI sb}", "id", (json_int_t)r->id, "active", 1));
}

static enum MHD_Result config_answer(struct request *r)
{
	json_t *all;
	int rc = db_config_all(r->db, &all);
	if (rc < 0)
		return http_db_error(r, rc, "config");
	return http_json(r, 200, all);
}

enum MHD_Result api_config_get(struct request *r)
{
	return config_answer(r);
}

/* Same JSON kind: an integer stays an integer, a number may be given as an
 * integer (1 for 1.0), true/false are one kind. */
static bool same_kind(json_t *old, json_t *v)
{
	if (json_is_boolean(old))
		return json_is_boolean(v);
	if (json_is_integer(old))
		return json_is_integer(v);
	if (json_is_real(old))
		return json_is_number(v);
	return json_typeof(old) == json_typeof(v);
}

/*
 * The settings are the keys in the config table (migrations insert each new
 * one with its default); PUT may change their values, not add keys.  A value
 * keeps its JSON kind, auto_train is checked key by key, and the ranges the
 * server relies on are checked here.
 */
static bool config_check(struct request *r, json_t *body, json_t *current)
{
	static const char *const RL[] = { "ppo", "rloo", "grpo", "dpo", NULL };
	int64_t i;
	const char *s, *key, *sub;
	json_t *v, *w;
	json_object_foreach(body, key, v) {
		json_t *old = json_object_get(current, key);
		if (!old)
			return http_bad_field(r, key, "unknown setting '%s'", key);
		if (!same_kind(old, v))
			return http_bad_field(r, key, "'%s' must be %s like its current value", key,
					      json_is_integer(old) ? "an integer" : json_is_number(old) ?
					      "a number" : json_is_boolean(old) ? "true or false" :
					      json_is_string(old) ? "a string" : json_is_object(old) ?
					      "an object" : "an array");
		if (!json_is_object(v))
			continue;
		json_object_foreach(v, sub, w) {
			char path[160];
			snprintf(path, sizeof path, "%s.%s", key, sub);
			json_t *o = json_object_get(old, sub);
			if (!o)
				return http_bad_field(r, path, "unknown setting '%s'", path);
			if (!same_kind(o, w))
				return http_bad_field(r, path, "'%s' must have the type of its current value",
						      path);
		}
	}
	if (!json_get_int(r, body, "ratings_per_group", NULL, false, 1, 1000, &i) ||
	    !json_get_int(r, body, "lease_seconds", NULL, false, 1, 7 * 86400, &i) ||
	    !json_get_int(r, body, "max_body_bytes", NULL, false, 1024, (int64_t)1 << 30, &i))
		return false;
	json_t *at = json_object_get(body, "auto_train");
	if (!at)
		return true;
	if (!json_get_int(r, at, "reward_every_n_ratings", "auto_train", false, 1, 1000000, &i) ||
	    !json_get_enum(r, at, "rl_kind", "auto_train", false, RL, &s) ||
	    !json_get_int(r, at, "generate_k", "auto_train", false, 1, 64, &i) ||
	    !json_get_int(r, at, "generate_prompts", "auto_train", false, 0, 10000000, &i))
		return false;
	/* the loop's job params, checked as POST /api/train checks them */
	json_t *rk = json_object_get(at, "rl_kind");
	if (!json_is_string(rk))
		rk = json_object_get(json_object_get(current, "auto_train"), "rl_kind");
	json_t *rp = json_object_get(at, "rl_params"), *wp = json_object_get(at, "reward_params");
	return (!rp || job_params_check(json_is_string(rk) ? json_string_value(rk) : "ppo", rp, false,
					"auto_train.rl_params", r->err_field, sizeof r->err_field,
					r->err_msg, sizeof r->err_msg)) &&
	       (!wp || job_params_check("reward", wp, false, "auto_train.reward_params", r->err_field,
					sizeof r->err_field, r->err_msg, sizeof r->err_msg));
}

enum MHD_Result api_config_put(struct request *r)
{
	json_t *body = http_body_object(r);
	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	const char *key;
	json_t *v, *current;
	int rc = db_begin(r->db);
	if (rc == 0 && (rc = db_config_all(r->db, &current)) == 0) {
		bool ok = config_check(r, body, current);
		json_decref(current);
		if (!ok) {
			db_rollback(r->db);
			json_decref(body);
			return http_invalid(r);
		}
	}
	json_object_foreach(body, key, v) {
		if (rc < 0)
			break;
		json_t *old = NULL;
		/* auto_train is merged key by key */
		if (strcmp(key, "auto_train") == 0 && db_config_get(r->db, key, &old) == 0 &&
		    json_is_object(old)) {
			json_object_update(old, v);
			rc = db_config_set(r->db, key, old);
		} else {
			rc = db_config_set(r->db, key, v);
		}
		json_decref(old);
	}
	if (rc < 0 || (rc = db_commit(r->db)) < 0) {
		db_rollback(r->db);
		json_decref(body);
		return http_db_error(r, rc, "config");
	}
	json_t *mb = json_object_get(body, "max_body_bytes");
	if (json_is_integer(mb))
		atomic_store(&http_max_body, json_integer_value(mb));
	json_decref(body);
	return config_answer(r);
}

enum MHD_Result api_stats(struct request *r)
{
	json_t *s;
	int rc = db_stats(r->db, &s);
	if (rc < 0)
		return http_db_error(r, rc, "stats");
	return http_json(r, 200, s);
}
