/*
 * server/http/api_guidelines.c — the rating guidelines (db/guidelines.h):
 * raters read the version in force, admins write a new one.  The text is a
 * markdown subset the pages render safely (web/js/markdown.js); the server
 * stores it as given and never renders it.
 */
#include "server/http/api.h"
#include "db/db.h"
#include "db/guidelines.h"

#define MAX_GUIDELINES 100000       /* bytes */

json_t *api_guidelines_current(struct request *r)
{
	json_t *g = NULL;
	int rc = db_guidelines_current(r->db, &g);
	if (rc == DB_NOTFOUND)
		return json_null();
	return rc < 0 ? NULL : g;
}

/*
 * GET /api/guidelines (rater) — 200 {"guidelines": {"version","text",
 * "author","created_at"} | null, "versions": [{"version","author",
 * "created_at","length"}] (newest first)}.
 */
enum MHD_Result api_guidelines_get(struct request *r)
{
	json_t *cur = api_guidelines_current(r), *versions = NULL;
	if (!cur)
		return http_error(r, 500, "internal", "database error");
	int rc = db_guidelines_versions(r->db, &versions);
	if (rc < 0) {
		json_decref(cur);
		return http_db_error(r, rc, "guidelines");
	}
	return http_json(r, 200, json_pack("{so so}", "guidelines", cur, "versions", versions));
}

/*
 * PUT /api/guidelines (admin) — {"text"}: a new version, in force at once
 * (ratings saved from now on carry it).  201 {"version","text","author",
 * "created_at"}.  400 when text is missing, not a string or longer than
 * MAX_GUIDELINES bytes; an empty text is a version too (no guidelines).
 */
enum MHD_Result api_guidelines_put(struct request *r)
{
	json_t *body = http_body_object(r), *cur = NULL;
	const char *text = NULL;
	int64_t version;
	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	if (!json_get_string(r, body, "text", NULL, true, false, MAX_GUIDELINES, &text)) {
		json_decref(body);
		return http_invalid(r);
	}
	int rc = db_guidelines_add(r->db, text, r->rater.id, db_now(), &version);
	json_decref(body);
	if (rc < 0)
		return http_db_error(r, rc, "guidelines");
	if ((rc = db_guidelines_current(r->db, &cur)) < 0)
		return http_db_error(r, rc, "guidelines");
	return http_json(r, 201, cur);
}
