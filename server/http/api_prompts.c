/*
 * server/http/api_prompts.c — importing and browsing prompts and their answers.
 *
 * A prompt is plain text ("text", or "prompt" as JSONL files name it) or a
 * conversation ("messages": [{"role", "content"}]): an optional system
 * message first, then user and assistant turns alternating, starting and
 * ending with the user, whose last message is the one the answers reply to.
 * The conversation is stored as checked (role and content only) and its last
 * user message as the prompt's text (migrations/0013_conversations.sql).
 */
#include "server/http/api.h"
#include "db/db.h"
#include "db/prompts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PROMPTS 100000        /* per request */
#define MAX_TEXT (1 << 20)        /* bytes per prompt or answer */
#define MAX_ANSWERS 64            /* per group */
#define MAX_MESSAGES 64           /* per conversation */

static const char *const SPLITS[] = { "train", "eval", NULL };

/* One prompt to import, checked; pointers borrowed from the parsed body. */
struct prompt_item {
	const char *text, *split, *source, *model;
	const char *task_kind; /* NULL: the config default */
	json_t *messages;    /* the checked conversation (new: role and content
				only), or NULL for a plain prompt */
	json_t *meta;        /* object or NULL */
	json_t *responses;   /* array of strings / {"text","model"?} or NULL */
};

/* Checks an answer list: 1..MAX_ANSWERS strings or {"text","model"?}. */
static bool responses_check(struct request *r, json_t *list, const char *where)
{
	char path[96];
	snprintf(path, sizeof path, "%s%sresponses", where, *where ? "." : "");
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > MAX_ANSWERS)
		return http_bad_field(r, path, "'%s' must be an array of 1 to %d answers", path, MAX_ANSWERS);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		char at[136];
		const char *s;
		snprintf(at, sizeof at, "%s[%zu]", path, i);
		if (json_is_string(v)) {
			if (json_string_length(v) == 0 || json_string_length(v) > MAX_TEXT)
				return http_bad_field(r, at, "'%s' must be a non-empty string", at);
			continue;
		}
		if (!json_is_object(v))
			return http_bad_field(r, at, "'%s' must be a string or an object with \"text\"", at);
		if (!json_get_string(r, v, "text", at, true, true, MAX_TEXT, &s) ||
		    !json_get_string(r, v, "model", at, false, true, 200, &s))
			return false;
	}
	return true;
}

static const char *const ROLES[] = { "system", "user", "assistant", NULL };

/* Checks a conversation (see the top) into a new array of {"role","content"}
 * at *out, and *last = its last message's content (borrowed from list). */
static bool messages_check(struct request *r, json_t *list, const char *where, json_t **out,
			   const char **last)
{
	char path[96];
	snprintf(path, sizeof path, "%s%smessages", where, *where ? "." : "");
	size_t n = json_array_size(list);
	if (!json_is_array(list) || n == 0 || n > MAX_MESSAGES)
		return http_bad_field(r, path, "'%s' must be an array of 1 to %d messages", path,
				      MAX_MESSAGES);
	size_t total = 0, i;
	bool sys0 = false;
	json_t *v;
	json_array_foreach(list, i, v) {
		char at[136];
		const char *role, *content;
		snprintf(at, sizeof at, "%s[%zu]", path, i);
		if (!json_is_object(v))
			return http_bad_field(r, at, "'%s' must be an object with \"role\" and "
					      "\"content\"", at);
		if (!json_get_enum(r, v, "role", at, true, ROLES, &role) ||
		    !json_get_string(r, v, "content", at, true, true, MAX_TEXT, &content))
			return false;
		char field[160];
		snprintf(field, sizeof field, "%s.content", at);
		if (content[strspn(content, " \t\r\n")] == '\0')
			return http_bad_field(r, field, "'%s' must not be blank", field);
		if ((total += strlen(content)) > MAX_TEXT)
			return http_bad_field(r, path, "'%s' holds more than %d bytes of text", path,
					      MAX_TEXT);
		/* system first only, then user, assistant, user, ... */
		if (i == 0)
			sys0 = strcmp(role, "system") == 0;
		size_t turn = sys0 ? i - 1 : i;
		const char *want = sys0 && i == 0 ? "system" : turn % 2 == 0 ? "user" : "assistant";
		if (strcmp(role, want) != 0) {
			char rf[160];
			snprintf(rf, sizeof rf, "%s.role", at);
			return http_bad_field(r, rf, "'%s' must be '%s': a system message may only "
					      "come first, then user and assistant take turns, the "
					      "user first", rf, want);
		}
		*last = content;
	}
	if (strcmp(json_string_value(json_object_get(json_array_get(list, n - 1), "role")),
		   "user") != 0)
		return http_bad_field(r, path, "the last of '%s' must be from the user", path);
	*out = json_array();
	json_array_foreach(list, i, v)
		json_array_append_new(*out, json_pack("{sO sO}", "role", json_object_get(v, "role"),
						      "content", json_object_get(v, "content")));
	return true;
}

static bool prompt_check(struct request *r, json_t *v, const char *where, struct prompt_item *it)
{
	if (!json_is_object(v))
		return http_bad_field(r, where, "'%s' must be an object", where);
	memset(it, 0, sizeof *it);
	it->split = "train";
	/* "text", or "prompt" as in JSONL files; or a conversation */
	const char *key = !json_object_get(v, "text") && json_object_get(v, "prompt") ? "prompt" : "text";
	json_t *msgs = json_object_get(v, "messages");
	if (msgs && !json_is_null(msgs)) {
		char path[96];
		snprintf(path, sizeof path, "%s%smessages", where, *where ? "." : "");
		if (json_object_get(v, "text") || json_object_get(v, "prompt"))
			return http_bad_field(r, path, "'%s' is given with 'text' or 'prompt': a "
					      "prompt is one or the other", path);
		if (!messages_check(r, msgs, where, &it->messages, &it->text))
			return false;
	}
	if ((!it->messages && !json_get_string(r, v, key, where, true, true, MAX_TEXT, &it->text)) ||
	    !json_get_enum(r, v, "split", where, false, SPLITS, &it->split) ||
	    !json_get_string(r, v, "source", where, false, true, 100, &it->source) ||
	    !json_get_string(r, v, "model", where, false, true, 200, &it->model) ||
	    !json_get_enum(r, v, "task_kind", where, false, API_TASK_KINDS, &it->task_kind))
		return false;
	json_t *meta = json_object_get(v, "meta");
	if (meta && !json_is_null(meta)) {
		char path[96];
		snprintf(path, sizeof path, "%s.meta", where);
		if (!json_is_object(meta))
			return http_bad_field(r, path, "'%s' must be an object", path);
		it->meta = meta;
	}
	json_t *resp = json_object_get(v, "responses");
	if (resp && !json_is_null(resp)) {
		if (!responses_check(r, resp, where))
			return false;
		it->responses = resp;
	}
	return true;
}

/* Inserts a group with the answers in list for prompt pid (caller's transaction). */
static int insert_answers(struct db *db, int64_t pid, json_t *list, const char *dflt_model,
			  int64_t *group, json_t *ids)
{
	int rc = db_group_create(db, pid, 0, 0, NULL, group);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		const char *text = json_is_string(v) ? json_string_value(v) :
				   json_string_value(json_object_get(v, "text"));
		const char *model = json_is_object(v) && json_is_string(json_object_get(v, "model")) ?
				    json_string_value(json_object_get(v, "model")) : dflt_model;
		int64_t id;
		if (rc < 0 || (rc = db_response_insert(db, *group, pid, 0, model, text, -1, &id)) < 0)
			return rc;
		if (ids)
			json_array_append_new(ids, json_integer(id));
	}
	return rc;
}

/* Splits an NDJSON body into a new array of its objects (blank lines skipped);
 * NULL after setting r->err_* ("line N: ..."). */
static json_t *ndjson_parse(struct request *r)
{
	json_t *all = json_array();
	const char *p = r->body ? r->body : "", *end = p + r->body_len;
	int line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		line++;
		const char *q = p;
		p = nl ? nl + 1 : end;
		while (len && (q[len - 1] == '\r' || q[len - 1] == ' ' || q[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		json_error_t err;
		json_t *v = json_loadb(q, len, JSON_REJECT_DUPLICATES, &err);
		char where[32];
		snprintf(where, sizeof where, "line %d", line);
		if (!v) {
			http_bad_field(r, where, "line %d: malformed JSON: %s", line, err.text);
			json_decref(all);
			return NULL;
		}
		if (json_array_size(all) >= MAX_PROMPTS) {
			json_decref(v);
			json_decref(all);
			http_bad_field(r, where, "more than %d prompts in one request", MAX_PROMPTS);
			return NULL;
		}
		json_array_append_new(all, v);
	}
	return all;
}

static bool is_ndjson(struct request *r)
{
	const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	return ct && (strncasecmp(ct, "application/x-ndjson", 20) == 0 ||
		      strncasecmp(ct, "application/jsonl", 17) == 0 ||
		      strncasecmp(ct, "application/x-jsonlines", 23) == 0);
}

enum MHD_Result api_prompts_create(struct request *r)
{
	bool ndjson = is_ndjson(r);
	json_t *body = NULL, *list;
	if (ndjson) {
		if (!(list = body = ndjson_parse(r)))
			return http_error(r, 400, "bad_json", "%s", r->err_msg);
	} else {
		if (!(body = http_body_object(r)))
			return http_error(r, 400, "bad_json", "%s", r->err_msg);
		list = json_object_get(body, "prompts");
	}
	struct prompt_item *items = NULL;
	json_t *ids = NULL, *groups = NULL;
	enum MHD_Result ret;
	size_t n = json_array_size(list);
	if (!json_is_array(list) || n == 0 || n > MAX_PROMPTS) {
		if (ndjson)
			http_bad_field(r, "", "the body holds no prompt lines");
		else
			http_bad_field(r, "prompts", "'prompts' must be an array of 1 to %d prompts",
				       MAX_PROMPTS);
		ret = http_invalid(r);
		goto out_free;
	}
	if (!(items = calloc(n, sizeof *items))) {
		ret = http_error(r, 500, "internal", "out of memory");
		goto out_free;
	}
	/* everything is checked before anything is written */
	for (size_t i = 0; i < n; i++) {
		char where[32];
		if (ndjson)
			snprintf(where, sizeof where, "line %zu", i + 1);
		else
			snprintf(where, sizeof where, "prompts[%zu]", i);
		if (!prompt_check(r, json_array_get(list, i), where, &items[i])) {
			ret = http_invalid(r);
			goto out_free;
		}
	}
	ids = json_array();
	groups = json_array();
	int rc = db_begin(r->db);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct prompt_item *it = &items[i];
		char *meta = it->meta ? json_dumps(it->meta, JSON_COMPACT) : NULL;
		char *msgs = it->messages ? json_dumps(it->messages, JSON_COMPACT) : NULL;
		int64_t pid, gid;
		rc = (it->meta && !meta) || (it->messages && !msgs) ? DB_ERROR :
		     db_prompt_insert_chat(r->db, it->text, msgs, it->split,
					   it->source ? it->source : ndjson ? "jsonl" : "api", meta,
					   &pid);
		free(meta);
		free(msgs);
		if (rc == 0 && it->task_kind)
			rc = db_prompt_set_task_kind(r->db, pid, it->task_kind);
		if (rc == 0)
			json_array_append_new(ids, json_integer(pid));
		if (rc == 0 && it->responses) {
			rc = insert_answers(r->db, pid, it->responses, it->model ? it->model : "imported",
					    &gid, NULL);
			if (rc == 0)
				json_array_append_new(groups, json_integer(gid));
		}
	}
	if (rc < 0 || (rc = db_commit(r->db)) < 0) {
		db_rollback(r->db);
		ret = http_db_error(r, rc, "prompts");
		goto out_free;
	}
	ret = http_json(r, 201, json_pack("{sI sO sO}", "inserted", (json_int_t)n, "ids", ids,
					  "group_ids", groups));
out_free:
	json_decref(ids);
	json_decref(groups);
	for (size_t i = 0; items && i < n; i++)
		json_decref(items[i].messages);
	free(items);
	json_decref(body);
	return ret;
}

enum MHD_Result api_prompts_list(struct request *r)
{
	const char *split = http_arg(r, "split");
	int64_t limit, after, next = 0;
	if (split && !*split)
		split = NULL;
	if (split && strcmp(split, "train") != 0 && strcmp(split, "eval") != 0) {
		http_bad_field(r, "split", "query parameter 'split' must be 'train' or 'eval'");
		return http_invalid(r);
	}
	if (!http_arg_int(r, "limit", 1, 1000, 100, &limit) ||
	    !http_arg_int(r, "after", 0, INT64_MAX, 0, &after))
		return http_invalid(r);
	json_t *list;
	int rc = db_prompts_list(r->db, split, after, (int)limit, &list, &next);
	if (rc < 0)
		return http_db_error(r, rc, "prompts");
	return http_json(r, 200, json_pack("{so so}", "prompts", list,
					   "next_after", next ? json_integer(next) : json_null()));
}

enum MHD_Result api_prompt_get(struct request *r)
{
	json_t *p;
	int rc = db_prompt_get(r->db, r->id, &p);
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "prompt %lld not found", (long long)r->id);
	if (rc < 0)
		return http_db_error(r, rc, "prompt");
	return http_json(r, 200, p);
}

enum MHD_Result api_prompt_responses(struct request *r)
{
	json_t *body = http_body_object(r);
	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	enum MHD_Result ret;
	json_t *list = json_object_get(body, "responses");
	if (!responses_check(r, list, "")) {
		ret = http_invalid(r);
		goto out;
	}
	int64_t group = 0;
	json_t *ids = json_array();
	int rc = db_begin(r->db);
	if (rc == 0)
		rc = db_prompt_exists(r->db, r->id);
	if (rc == 0)
		rc = insert_answers(r->db, r->id, list, "imported", &group, ids);
	if (rc < 0 || (rc = db_commit(r->db)) < 0) {
		db_rollback(r->db);
		json_decref(ids);
		ret = rc == DB_NOTFOUND ?
		      http_error(r, 404, "not_found", "prompt %lld not found", (long long)r->id) :
		      http_db_error(r, rc, "responses");
		goto out;
	}
	ret = http_json(r, 201, json_pack("{so sI}", "ids", ids, "group_id", (json_int_t)group));
out:
	json_decref(body);
	return ret;
}
