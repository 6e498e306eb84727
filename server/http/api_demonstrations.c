/*
 * server/http/api_demonstrations.c — "write a better answer": a rater's own
 * answer to the prompt of a task, stored as a response of origin human
 * (db/demonstrations.h), and the admin's list of them.
 */
#include "server/http/api.h"
#include "db/db.h"
#include "db/demonstrations.h"

#include <string.h>

#define MAX_DEMONSTRATION 20000     /* bytes: a long answer, far below the body cap */

/* Has s a character that is not white space? */
static bool has_text(const char *s)
{
	for (; *s; s++)
		if (!strchr(" \t\r\n\v\f", *s))
			return true;
	return false;
}

bool api_demonstration_field(struct request *r, json_t *body, const char **text)
{
	*text = NULL;
	if (!json_get_string(r, body, "demonstration", NULL, false, true, MAX_DEMONSTRATION, text))
		return false;
	if (*text && !has_text(*text))
		return http_bad_field(r, "demonstration", "'demonstration' must not be only white space");
	return true;
}

int api_demonstration_store(struct request *r, int64_t group, const char *text, int64_t *id)
{
	int64_t new_group, prompt;
	/* this thread's connection: after a group commit the answer may be
	 * written on another thread than the one that took the request */
	struct db *db = db_pool_get();
	if (!db)
		return DB_ERROR;
	return db_demonstration_add(db, r->rater.id, group, 0, text, db_now(), id, &new_group,
				    &prompt);
}

/*
 * POST /api/demonstrations (rater) — {"group_id" | "prompt_id", "text"}:
 * the caller's answer to the prompt of that group (the task shown) or to
 * that prompt.  201 {"id", "group_id", "prompt_id"} (the new answer and its
 * own group).  400 for a missing/empty/blank or too long text, no or both
 * ids; 404 for an unknown group or prompt.
 */
enum MHD_Result api_demonstration_create(struct request *r)
{
	json_t *body = http_body_object(r);
	const char *text = NULL;
	int64_t group = 0, prompt = 0, id = 0, new_group = 0;
	enum MHD_Result ret;

	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	if (!json_get_int(r, body, "group_id", NULL, false, 1, INT64_MAX, &group) ||
	    !json_get_int(r, body, "prompt_id", NULL, false, 1, INT64_MAX, &prompt) ||
	    !json_get_string(r, body, "text", NULL, true, true, MAX_DEMONSTRATION, &text))
		goto invalid;
	if (!has_text(text)) {
		http_bad_field(r, "text", "'text' must not be only white space");
		goto invalid;
	}
	if ((group > 0) == (prompt > 0)) {
		http_bad_field(r, "group_id", "give either 'group_id' or 'prompt_id'");
		goto invalid;
	}
	int rc = db_demonstration_add(r->db, r->rater.id, group, prompt, text, db_now(), &id,
				      &new_group, &prompt);
	if (rc == DB_NOTFOUND)
		ret = group ? http_error(r, 404, "not_found", "group %lld not found", (long long)group) :
			      http_error(r, 404, "not_found", "prompt %lld not found", (long long)prompt);
	else if (rc < 0)
		ret = http_db_error(r, rc, "demonstration");
	else
		ret = http_json(r, 201, json_pack("{sI sI sI}", "id", (json_int_t)id,
						  "group_id", (json_int_t)new_group,
						  "prompt_id", (json_int_t)prompt));
	json_decref(body);
	return ret;
invalid:
	json_decref(body);
	return http_invalid(r);
}

/*
 * GET /api/demonstrations?limit=&before= (admin) — newest first:
 * 200 {"demonstrations": [{"id","prompt_id","prompt","group_id",
 * "source_group_id","text","rater_id","rater","created_at"}], "next_before"}.
 * limit 1..200 (default 50).
 */
enum MHD_Result api_demonstrations_list(struct request *r)
{
	int64_t limit, before, next = 0;
	json_t *list;
	if (!http_arg_int(r, "limit", 1, 200, 50, &limit) ||
	    !http_arg_int(r, "before", 1, INT64_MAX, 0, &before))
		return http_invalid(r);
	int rc = db_demonstrations_list(r->db, before, (int)limit, &list, &next);
	if (rc < 0)
		return http_db_error(r, rc, "demonstrations");
	return http_json(r, 200, json_pack("{so so}", "demonstrations", list,
					   "next_before", next ? json_integer(next) : json_null()));
}
