/*
 * db/demonstrations.c — rater-written answers (see demonstrations.h).
 */
#include "db/demonstrations.h"
#include "db/db_impl.h"
#include "db/prompts.h"

#include <stdio.h>

static int demonstration_insert(struct db *db, int64_t rater_id, int64_t group_id,
				int64_t prompt_id, const char *text, int64_t now, int64_t *id)
{
	int rc = db_run(db, STMT_DEMO_INSERT,
		"INSERT INTO responses(group_id, prompt_id, model_id, text, created_at, origin,"
		" author_id) VALUES (:group, :prompt, NULL, :text, :now, 'human', :rater)",
		DB_ARGS(DB_INT(":group", group_id), DB_INT(":prompt", prompt_id),
			DB_TEXT(":text", text), DB_INT(":now", now), DB_INT(":rater", rater_id)));
	if (rc == DB_OK)
		*id = db_last_id(db);
	return rc;
}

int db_demonstration_add(struct db *db, int64_t rater_id, int64_t group_id, int64_t prompt_id,
			 const char *text, int64_t now, int64_t *id, int64_t *group,
			 int64_t *prompt)
{
	char params[80];
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if (group_id > 0)
		rc = db_group_exists(db, group_id, &prompt_id);
	else
		rc = db_prompt_exists(db, prompt_id);
	if (rc < 0)
		goto fail;
	if (group_id > 0)
		snprintf(params, sizeof params, "{\"origin\":\"human\",\"group_id\":%lld}",
			 (long long)group_id);
	else
		snprintf(params, sizeof params, "{\"origin\":\"human\"}");
	if ((rc = db_group_create(db, prompt_id, 0, 0, params, group)) < 0 ||
	    (rc = demonstration_insert(db, rater_id, *group, prompt_id, text, now, id)) < 0)
		goto fail;
	*prompt = prompt_id;
	return db_commit(db);
fail:
	db_rollback(db);
	return rc;
}

static json_t *demonstration_row(sqlite3_stmt *st)
{
	return json_pack("{sI sI so sI so so so so so}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"prompt_id", (json_int_t)sqlite3_column_int64(st, 1),
		"prompt", db_col_json_str(st, 2),
		"group_id", (json_int_t)sqlite3_column_int64(st, 3),
		"source_group_id", db_col_json_int(st, 4),
		"text", db_col_json_str(st, 5),
		"rater_id", db_col_json_int(st, 6),
		"rater", db_col_json_str(st, 7),
		"created_at", db_col_json_str(st, 8));
}

int db_demonstrations_list(struct db *db, int64_t before, int limit, json_t **out,
			   int64_t *next_before)
{
	json_t *rows = NULL;
	/* one row more than asked says whether older ones follow */
	int rc = db_json_rows(db, STMT_DEMOS_LIST,
		"SELECT r.id, r.prompt_id, p.text, r.group_id, json_extract(g.params, '$.group_id'),"
		" r.text, r.author_id, t.name, " ISO_TIME("r.created_at")
		" FROM responses r JOIN prompts p ON p.id = r.prompt_id"
		" JOIN gen_groups g ON g.id = r.group_id LEFT JOIN raters t ON t.id = r.author_id"
		" WHERE r.origin = 'human' AND (:before <= 0 OR r.id < :before)"
		" ORDER BY r.id DESC LIMIT :limit",
		DB_ARGS(DB_INT(":before", before), DB_INT(":limit", (int64_t)limit + 1)),
		demonstration_row, &rows);
	if (rc < 0)
		return rc;
	*next_before = 0;
	if (json_array_size(rows) > (size_t)limit) {
		json_array_remove(rows, (size_t)limit);
		*next_before = json_integer_value(json_object_get(json_array_get(rows, (size_t)limit - 1), "id"));
	}
	*out = rows;
	return DB_OK;
}
