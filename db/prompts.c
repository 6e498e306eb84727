/*
 * db/prompts.c — prompts, groups, responses (see prompts.h).
 */
#include "db/prompts.h"
#include "db/db_impl.h"

#include <string.h>


int db_prompt_insert(struct db *db, const char *text, const char *split, const char *source,
		     const char *meta_json, int64_t *id)
{
	return db_prompt_insert_chat(db, text, NULL, split, source, meta_json, id);
}

int db_prompt_insert_chat(struct db *db, const char *text, const char *messages_json,
			  const char *split, const char *source, const char *meta_json, int64_t *id)
{
	int rc = db_run(db, STMT_PROMPT_INSERT,
		"INSERT INTO prompts(text, messages, split, source, meta, created_at)"
		" VALUES (:text, :messages, :split, :source, :meta, :now)",
		DB_ARGS(DB_TEXT(":text", text), DB_TEXT(":messages", messages_json),
			DB_TEXT(":split", split ? split : "train"),
			DB_TEXT(":source", source ? source : "api"),
			DB_TEXT(":meta", meta_json ? meta_json : "{}"), DB_INT(":now", db_now())));
	if (rc == DB_OK && id)
		*id = db_last_id(db);
	return rc;
}

int db_prompt_set_task_kind(struct db *db, int64_t id, const char *kind)
{
	int rc = db_run(db, STMT_PROMPT_SET_KIND,
		"UPDATE prompts SET task_kind = :kind WHERE id = :id",
		DB_ARGS(DB_TEXT(":kind", kind), DB_INT(":id", id)));
	if (rc == DB_OK && db_changes(db) == 0)
		return DB_NOTFOUND;
	return rc;
}

int db_prompt_exists(struct db *db, int64_t id)
{
	int64_t one;
	return db_int64(db, STMT_PROMPT_EXISTS, "SELECT 1 FROM prompts WHERE id = :id",
			DB_ARGS(DB_INT(":id", id)), &one);
}

int db_prompts_list(struct db *db, const char *split, int64_t after, int limit,
		    json_t **out, int64_t *next_after)
{
	sqlite3_stmt *st = db_stmt(db, STMT_PROMPTS_LIST,
		"SELECT p.id, p.text, p.split, p.source,"
		" (SELECT count(*) FROM responses s WHERE s.prompt_id = p.id),"
		" (SELECT count(*) FROM responses s JOIN ratings r ON r.response_id = s.id"
		"   AND r.superseded_at IS NULL WHERE s.prompt_id = p.id),"
		" " ISO_TIME("p.created_at")
		" FROM prompts p WHERE p.id > :after AND (:split IS NULL OR p.split = :split)"
		" ORDER BY p.id LIMIT :limit");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":after", after);
	db_bind_text(st, ":split", split);
	db_bind_int64(st, ":limit", (int64_t)limit + 1);
	json_t *arr = json_array();
	int rc, n = 0;
	int64_t last = 0;
	*next_after = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			*next_after = last;
			break;
		}
		last = sqlite3_column_int64(st, 0);
		json_array_append_new(arr, json_pack("{sI so ss so sI sI ss}",
			"id", (json_int_t)last,
			"text", db_col_json_str(st, 1),
			"split", db_col_text(st, 2),
			"source", db_col_json_str(st, 3),
			"responses", (json_int_t)sqlite3_column_int64(st, 4),
			"ratings", (json_int_t)sqlite3_column_int64(st, 5),
			"created_at", db_col_text(st, 6)));
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		json_decref(arr);
		return db_fail(db, "cannot list prompts", rc);
	}
	*out = arr;
	return DB_OK;
}

static json_t *rating_row(sqlite3_stmt *st)
{
	return json_pack("{sI sI so si so so so so so ss}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"rater_id", (json_int_t)sqlite3_column_int64(st, 1),
		"rater", db_col_json_str(st, 2),
		"score", sqlite3_column_int(st, 3),
		"helpful", db_col_json_int(st, 4),
		"honest", db_col_json_int(st, 5),
		"harmless", db_col_json_int(st, 6),
		"comment", db_col_json_str(st, 7),
		"flags", db_col_json(st, 8, "[]"),
		"created_at", db_col_text(st, 9));
}

/* The current ratings of one response as a new array. */
static int response_ratings(struct db *db, int64_t response_id, json_t **out)
{
	return db_json_rows(db, STMT_RESPONSE_RATINGS,
		"SELECT r.id, r.rater_id, t.name, r.score, r.helpful, r.honest, r.harmless,"
		" r.comment, r.flags, " ISO_TIME("r.created_at")
		" FROM current_ratings r JOIN raters t ON t.id = r.rater_id"
		" WHERE r.response_id = :id ORDER BY r.id",
		DB_ARGS(DB_INT(":id", response_id)), rating_row, out);
}

/* The response's mean score from answer_scores (the one definition the
 * exports and the jobs read too) as a new JSON real, null when unrated.  The
 * view is asked for one answer, so SQLite computes just that one. */
static int response_mean(struct db *db, int64_t response_id, json_t **out)
{
	double mean;
	int rc = db_double(db, STMT_RESPONSE_MEAN,
		"SELECT mean FROM answer_scores WHERE response_id = :id",
		DB_ARGS(DB_INT(":id", response_id)), &mean);
	if (rc < 0 && rc != DB_NOTFOUND)
		return rc;
	*out = rc == DB_OK ? json_real(mean) : json_null();
	return DB_OK;
}

/* A response of db_prompt_get: "ratings" and "mean_score" are filled in
 * afterwards (placeholders here keep the keys in their order); "rm_score" and
 * "rm_model_id" are the newest reward model's score of it (rm_scores), null
 * when no reward model scored it; "explore" whether a generate job's explore
 * wrote its group (server/worker/job_generate.c). */
static json_t *response_row(sqlite3_stmt *st)
{
	return json_pack("{sI so so so sI so ss sn sn so so so sb}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"text", db_col_json_str(st, 1),
		"model_id", db_col_json_int(st, 2),
		"model", db_col_json_str(st, 3),
		"group_id", (json_int_t)sqlite3_column_int64(st, 4),
		"token_count", db_col_json_int(st, 5),
		"created_at", db_col_text(st, 6),
		"ratings",
		"mean_score",
		"rm_score", sqlite3_column_type(st, 7) == SQLITE_NULL ? json_null() :
			    json_real(sqlite3_column_double(st, 7)),
		"rm_model_id", db_col_json_int(st, 8),
		"gold_score", db_col_json_int(st, 9),
		"explore", sqlite3_column_int(st, 10) != 0);
}

int db_prompt_get(struct db *db, int64_t id, json_t **out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_PROMPT_GET,
		"SELECT id, text, split, source, meta, " ISO_TIME("created_at") ", task_kind, messages"
		" FROM prompts WHERE id = :id");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":id", id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a prompt", rc);
	}
	json_t *p = json_pack("{sI so so ss so so ss}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"text", db_col_json_str(st, 1),
		"messages", db_col_json(st, 7, "null"),
		"split", db_col_text(st, 2),
		"source", db_col_json_str(st, 3),
		"meta", db_col_json(st, 4, "{}"),
		"created_at", db_col_text(st, 5));
	/* null: the config's task_kind applies */
	json_object_set_new(p, "task_kind", db_col_json_str(st, 6));
	sqlite3_reset(st);

	/* responses first, then their ratings: one statement at a time */
	json_t *resp;
	rc = db_json_rows(db, STMT_PROMPT_RESPONSES,
		"SELECT r.id, r.text, r.model_id, r.model_name, r.group_id, r.token_count, "
		ISO_TIME("r.created_at") ", s.score, s.model_id,"
		" (SELECT gs.score FROM gold_scores gs WHERE gs.response_id = r.id),"
		" (SELECT json_extract(g.params, '$.explore') IS 1 FROM gen_groups g"
		"  WHERE g.id = r.group_id) FROM responses r"
		" LEFT JOIN rm_scores s ON s.response_id = r.id AND s.model_id ="
		"  (SELECT max(model_id) FROM rm_scores WHERE response_id = r.id)"
		" WHERE r.prompt_id = :id ORDER BY r.group_id, r.id",
		DB_ARGS(DB_INT(":id", id)), response_row, &resp);
	if (rc < 0) {
		json_decref(p);
		return rc;
	}
	size_t i;
	json_t *r;
	json_array_foreach(resp, i, r) {
		json_t *ratings = NULL, *mean = NULL;
		int64_t rid = json_integer_value(json_object_get(r, "id"));
		if ((rc = response_ratings(db, rid, &ratings)) < 0 ||
		    (rc = response_mean(db, rid, &mean)) < 0) {
			json_decref(ratings);
			json_decref(p);
			json_decref(resp);
			return rc;
		}
		json_object_set_new(r, "ratings", ratings);
		json_object_set_new(r, "mean_score", mean);
	}
	json_object_set_new(p, "responses", resp);
	*out = p;
	return DB_OK;
}

int db_group_create(struct db *db, int64_t prompt_id, int64_t model_id, int64_t job_id,
		    const char *params_json, int64_t *id)
{
	int rc = db_run(db, STMT_GROUP_INSERT,
		"INSERT INTO gen_groups(prompt_id, model_id, job_id, params, created_at)"
		" VALUES (:prompt, :model, :job, :params, :now)",
		DB_ARGS(DB_INT(":prompt", prompt_id), DB_OPT(":model", model_id), DB_OPT(":job", job_id),
			DB_TEXT(":params", params_json ? params_json : "{}"), DB_INT(":now", db_now())));
	if (rc == DB_OK && id)   /* DB_INVALID: unknown prompt/model/job */
		*id = db_last_id(db);
	return rc;
}

int db_group_exists(struct db *db, int64_t group_id, int64_t *prompt_id)
{
	int64_t p;
	int rc = db_int64(db, STMT_GROUP_EXISTS, "SELECT prompt_id FROM gen_groups WHERE id = :id",
			  DB_ARGS(DB_INT(":id", group_id)), &p);
	if (rc == DB_OK && prompt_id)
		*prompt_id = p;
	return rc;
}

int db_group_response_ids(struct db *db, int64_t group_id, int64_t *ids, int max, int *n)
{
	sqlite3_stmt *st = db_stmt(db, STMT_GROUP_RESPONSE_IDS,
		"SELECT id FROM responses WHERE group_id = :id ORDER BY id");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":id", group_id);
	int rc, k = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (k < max)
			ids[k] = sqlite3_column_int64(st, 0);
		k++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, "cannot read a group's responses", rc);
	*n = k;
	return DB_OK;
}

int db_response_exists(struct db *db, int64_t response_id, int64_t *group_id)
{
	int64_t g;
	int rc = db_int64(db, STMT_RESPONSE_EXISTS, "SELECT group_id FROM responses WHERE id = :id",
			  DB_ARGS(DB_INT(":id", response_id)), &g);
	if (rc == DB_OK && group_id)
		*group_id = g;
	return rc;
}

int db_response_insert(struct db *db, int64_t group_id, int64_t prompt_id, int64_t model_id,
		       const char *model_name, const char *text, int token_count, int64_t *id)
{
	/* token_count < 0 stores NULL */
	const struct db_arg tokens = token_count >= 0 ? (struct db_arg)DB_INT(":tokens", token_count) :
				      (struct db_arg)DB_TEXT(":tokens", NULL);
	int rc = db_run(db, STMT_RESPONSE_INSERT,
		"INSERT INTO responses(group_id, prompt_id, model_id, model_name, text, token_count,"
		" created_at, origin) VALUES (:group, :prompt, :model, :name, :text, :tokens, :now,"
		" CASE WHEN :model IS NULL THEN 'import' ELSE 'model' END)",
		DB_ARGS(DB_INT(":group", group_id), DB_INT(":prompt", prompt_id),
			DB_OPT(":model", model_id), DB_TEXT(":name", model_name), DB_TEXT(":text", text),
			tokens, DB_INT(":now", db_now())));
	if (rc == DB_OK && id)
		*id = db_last_id(db);
	return rc;
}

int db_work_response_insert(struct db *db, int64_t group_id, int64_t prompt_id,
			    int64_t model_id, const char *text, int token_count, bool ended,
			    int64_t *id)
{
	int rc = db_run(db, STMT_RESPONSE_INSERT_MODEL,
		"INSERT INTO responses(group_id, prompt_id, model_id, text, token_count, ended,"
		" created_at) VALUES (:group, :prompt, :model, :text, :tokens, :ended, :now)",
		DB_ARGS(DB_INT(":group", group_id), DB_INT(":prompt", prompt_id),
			DB_OPT(":model", model_id), DB_TEXT(":text", text),
			DB_INT(":tokens", token_count), DB_INT(":ended", ended ? 1 : 0),
			DB_INT(":now", db_now())));
	if (rc == DB_OK && id)
		*id = db_last_id(db);
	return rc;
}
