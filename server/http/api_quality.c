/*
 * server/http/api_quality.c — quality control of the ratings: marking a
 * group gold (PUT/DELETE /api/groups/{id}/gold, admin) and the review list
 * of flagged and commented answers (GET /api/review, admin).  Gold groups
 * are mixed into the raters' queues and compared with their ratings by
 * db/quality.h; the per-rater figures are part of GET /api/stats.
 */
#include "server/http/api.h"
#include "server/http/api_export.h"
#include "db/db.h"
#include "db/quality.h"

#include <stdio.h>
#include <string.h>

#define GOLD_MAX 64            /* answers in a gold group (db_gold_set) */
#define REVIEW_LIMIT_DEFAULT 100
#define REVIEW_LIMIT_MAX 1000
#define REVIEW_ARG_MAX 200     /* bytes of a tag or flag filter */

/* PUT /api/groups/{id}/gold {"scores": [{"response_id", "score": 1..5}, ...]}:
 * one known score per answer of the group → 200 {"group_id", "gold": n}. */
enum MHD_Result api_gold_put(struct request *r)
{
	json_t *body = http_body_object(r);
	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	struct db_gold_in in[GOLD_MAX];
	json_t *scores = json_object_get(body, "scores"), *v;
	size_t i;
	if (!json_is_array(scores) || json_array_size(scores) == 0 ||
	    json_array_size(scores) > GOLD_MAX) {
		json_decref(body);
		http_bad_field(r, "scores", "'scores' must be an array of 1 to %d objects "
			       "{\"response_id\", \"score\"}, one per answer of the group", GOLD_MAX);
		return http_invalid(r);
	}
	json_array_foreach(scores, i, v) {
		char where[32];
		int64_t resp = 0, score = 0;
		snprintf(where, sizeof where, "scores[%zu]", i);
		if (!json_is_object(v)) {
			json_decref(body);
			http_bad_field(r, where, "'%s' must be an object", where);
			return http_invalid(r);
		}
		if (!json_get_int(r, v, "response_id", where, true, 1, INT64_MAX, &resp) ||
		    !json_get_int(r, v, "score", where, true, 1, 5, &score)) {
			json_decref(body);
			return http_invalid(r);
		}
		for (size_t j = 0; j < i; j++)
			if (in[j].response_id == resp) {
				json_decref(body);
				snprintf(where, sizeof where, "scores[%zu]", i);
				http_bad_field(r, where, "'%s.response_id' gives response %lld a second "
					       "score", where, (long long)resp);
				return http_invalid(r);
			}
		in[i].response_id = resp;
		in[i].score = (int)score;
	}
	int n = (int)json_array_size(scores), bad = -1;
	json_decref(body);
	int rc = db_gold_set(r->db, r->id, in, n, db_now(), &bad);
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "group %lld not found", (long long)r->id);
	if (rc == DB_INVALID && bad >= 0) {
		char where[48];
		snprintf(where, sizeof where, "scores[%d].response_id", bad);
		http_bad_field(r, where, "'%s': response %lld is not in group %lld", where,
			       (long long)in[bad].response_id, (long long)r->id);
		return http_invalid(r);
	}
	if (rc == DB_INVALID) {
		http_bad_field(r, "scores", "'scores' must give every answer of group %lld a score "
			       "(at most %d answers)", (long long)r->id, GOLD_MAX);
		return http_invalid(r);
	}
	if (rc < 0)
		return http_db_error(r, rc, "gold");
	return http_json(r, 200, json_pack("{sI si}", "group_id", (json_int_t)r->id, "gold", n));
}

/* DELETE /api/groups/{id}/gold: the group is an ordinary one again → 200. */
enum MHD_Result api_gold_delete(struct request *r)
{
	int rc = db_gold_clear(r->db, r->id);
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "group %lld not found", (long long)r->id);
	if (rc < 0)
		return http_db_error(r, rc, "gold");
	return http_json(r, 200, json_pack("{sI si}", "group_id", (json_int_t)r->id, "gold", 0));
}

/* A date filter: ISO-8601 or unix seconds (as the exports take it). */
static bool review_time(struct request *r, const char *name, int64_t *out)
{
	const char *s = http_arg(r, name);
	*out = 0;
	if (!s || !*s)
		return true;
	if (!export_parse_time(s, out) || *out <= 0)
		return http_bad_field(r, name, "query parameter '%s' must be ISO-8601 "
				      "(2024-05-01 or 2024-05-01T12:00:00Z) or unix seconds", name);
	return true;
}

/* A text filter ("" = any). */
static bool review_text(struct request *r, const char *name, const char **out)
{
	const char *s = http_arg(r, name);
	*out = s && *s ? s : NULL;
	if (*out && strlen(*out) > REVIEW_ARG_MAX)
		return http_bad_field(r, name, "query parameter '%s' must be at most %d bytes", name,
				      REVIEW_ARG_MAX);
	return true;
}

/* GET /api/review?rater=&split=&tag=&flag=&since=&until=&limit=&before=. */
enum MHD_Result api_review(struct request *r)
{
	struct db_review_filter f = { 0 };
	int64_t limit;
	if (!http_arg_int(r, "rater", 1, INT64_MAX, 0, &f.rater_id) ||
	    !http_arg_int(r, "before", 1, INT64_MAX, 0, &f.before) ||
	    !http_arg_int(r, "limit", 1, REVIEW_LIMIT_MAX, REVIEW_LIMIT_DEFAULT, &limit) ||
	    !review_text(r, "split", &f.split) || !review_text(r, "tag", &f.tag) ||
	    !review_text(r, "flag", &f.flag) || !review_time(r, "since", &f.since) ||
	    !review_time(r, "until", &f.until))
		return http_invalid(r);
	if (f.split && strcmp(f.split, "train") != 0 && strcmp(f.split, "eval") != 0) {
		http_bad_field(r, "split", "query parameter 'split' must be 'train' or 'eval'");
		return http_invalid(r);
	}
	f.limit = (int)limit;
	json_t *out;
	int rc = db_review(r->db, &f, &out);
	if (rc < 0)
		return http_db_error(r, rc, "review");
	return http_json(r, 200, out);
}
