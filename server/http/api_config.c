/*
 * server/http/api_config.c — the config resource: the server's settings
 * (GET/PUT /api/config), kept in the config table, and the effective values
 * of the ones a request needs (api_config_ints, api_config_queue).  PUT changes values, never
 * keys; auto_train is merged key by key and checked as the loop will read it
 * (autotrain_check, server/worker/autotrain.c), so a setting the loop's jobs
 * would refuse is a 400, not a failed job later.
 */
#include "server/http/api.h"
#include "db/config.h"
#include "db/db.h"
#include "server/worker/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const char *const API_TASK_KINDS[] = { "score", "rank", "pair", NULL };

const char *api_task_kind_default(struct db *db)
{
	json_t *v = NULL;
	const char *kind = "score";
	if (db_config_get(db, "task_kind", &v) == 0 && json_is_string(v))
		for (const char *const *c = API_TASK_KINDS; *c; c++)
			if (strcmp(json_string_value(v), *c) == 0)
				kind = *c;
	json_decref(v);
	return kind;
}

const char *const api_queue_orders[] = { "fifo", "uncertain", "auto", NULL };

int api_config_queue(struct db *db, int *order, double *random_share)
{
	json_t *v = NULL;
	int rc = db_config_get(db, "queue_order", &v);
	*order = 2;     /* "auto" */
	for (int k = 0; rc == 0 && api_queue_orders[k]; k++)
		if (json_is_string(v) && strcmp(json_string_value(v), api_queue_orders[k]) == 0)
			*order = k;
	json_decref(v);
	v = NULL;
	*random_share = 0.2;
	if (rc == 0 || rc == DB_NOTFOUND)
		rc = db_config_get(db, "queue_random_share", &v);
	if (rc == 0 && json_is_number(v) && json_number_value(v) >= 0 && json_number_value(v) <= 1)
		*random_share = json_number_value(v);
	json_decref(v);
	return rc == DB_NOTFOUND ? 0 : rc;
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
 * keeps its JSON kind, the ranges the server relies on are checked here, and
 * auto_train, merged with the current one, by autotrain_check.
 */
static bool config_check(struct request *r, json_t *body, json_t *current)
{
	int64_t i;
	const char *key, *sub, *kind;
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
	double d;
	const char *order;
	if (!json_get_int(r, body, "ratings_per_group", NULL, false, 1, 1000, &i) ||
	    !json_get_int(r, body, "lease_seconds", NULL, false, 1, 7 * 86400, &i) ||
	    !json_get_int(r, body, "max_body_bytes", NULL, false, 1024, (int64_t)1 << 30, &i) ||
	    !json_get_int(r, body, "spot_check_n", NULL, false, 0, 1000, &i) ||
	    !json_get_enum(r, body, "task_kind", NULL, false, API_TASK_KINDS, &kind) ||
	    !json_get_enum(r, body, "queue_order", NULL, false, api_queue_orders, &order) ||
	    !json_get_number(r, body, "queue_random_share", NULL, false, 0, 1, &d))
		return false;
	json_t *at = json_object_get(body, "auto_train");
	if (!at)
		return true;
	/* the auto_train object as it will be: the current one with these keys */
	json_t *merged = json_deep_copy(json_object_get(current, "auto_train"));
	if (!merged || json_object_update(merged, at) < 0) {
		json_decref(merged);
		return http_bad_field(r, "auto_train", "'auto_train' must be an object");
	}
	bool ok = autotrain_check(merged, r->err_field, sizeof r->err_field, r->err_msg,
				  sizeof r->err_msg);
	json_decref(merged);
	return ok;
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
		} else if (strcmp(key, "queue_random_share") == 0 && json_is_integer(v)) {
			/* kept a real, so that 1 and then 0.5 are both accepted */
			json_t *real = json_real((double)json_integer_value(v));
			rc = real ? db_config_set(r->db, key, real) : DB_ERROR;
			json_decref(real);
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
