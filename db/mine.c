/*
 * db/mine.c — a rater's own recent groups with their current ratings (see
 * mine.h).  Read only: the write path of ratings stays in ratings.c.
 */
#include "db/mine.h"
#include "db/db_impl.h"

static json_t *group_row(sqlite3_stmt *st)
{
	return json_pack("{sI sI ss}",
		"group_id", (json_int_t)sqlite3_column_int64(st, 0),
		"key", (json_int_t)sqlite3_column_int64(st, 1),
		"rated_at", db_col_text(st, 2));
}

static json_t *response_row(sqlite3_stmt *st)
{
	return json_pack("{sI so}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"text", db_col_json_str(st, 1));
}

static json_t *rating_row(sqlite3_stmt *st)
{
	return json_pack("{sI si so so so so so ss}",
		"response_id", (json_int_t)sqlite3_column_int64(st, 0),
		"score", sqlite3_column_int(st, 1),
		"helpful", db_col_json_int(st, 2),
		"honest", db_col_json_int(st, 3),
		"harmless", db_col_json_int(st, 4),
		"comment", db_col_json_str(st, 5),
		"flags", db_col_json(st, 6, "[]"),
		"created_at", db_col_text(st, 7));
}

/* Adds prompt_id, prompt, responses and ratings to the group object g. */
static int group_fill(struct db *db, int64_t rater_id, json_t *g)
{
	int64_t group = json_integer_value(json_object_get(g, "group_id"));
	sqlite3_stmt *st = db_prepare(db, STMT_MINE_PROMPT,
		"SELECT p.id, p.text FROM gen_groups g JOIN prompts p ON p.id = g.prompt_id"
		" WHERE g.id = :group", DB_ARGS(DB_INT(":group", group)));
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a rated group", rc);
	}
	json_object_set_new(g, "prompt_id", json_integer(sqlite3_column_int64(st, 0)));
	json_object_set_new(g, "prompt", db_col_json_str(st, 1));
	sqlite3_reset(st);

	json_t *responses = NULL, *ratings = NULL;
	rc = db_json_rows(db, STMT_MINE_RESPONSES,
		"SELECT id, text FROM responses WHERE group_id = :group ORDER BY id",
		DB_ARGS(DB_INT(":group", group)), response_row, &responses);
	if (rc == DB_OK)
		rc = db_json_rows(db, STMT_MINE_RATINGS,
			"SELECT response_id, score, helpful, honest, harmless, comment, flags, "
			ISO_TIME("created_at") " FROM ratings WHERE rater_id = :rater"
			" AND group_id = :group AND superseded_at IS NULL ORDER BY response_id",
			DB_ARGS(DB_INT(":rater", rater_id), DB_INT(":group", group)), rating_row,
			&ratings);
	if (rc < 0) {
		json_decref(responses);
		return rc;
	}
	json_object_set_new(g, "responses", responses);
	json_object_set_new(g, "ratings", ratings);
	return DB_OK;
}

int db_ratings_mine(struct db *db, int64_t rater_id, int64_t before, int limit,
		    json_t **out, int64_t *next_before)
{
	json_t *groups = NULL;
	int64_t last = 0;
	*out = NULL;
	*next_before = 0;
	int rc = db_begin_read(db);
	if (rc < 0)
		return rc;
	/* the rater's current ratings through ratings_current_rater, one row a group */
	rc = db_json_rows(db, STMT_MINE_GROUPS,
		"SELECT group_id, max(id) AS k, " ISO_TIME("max(created_at)")
		" FROM ratings WHERE rater_id = :rater AND superseded_at IS NULL"
		" GROUP BY group_id HAVING :before <= 0 OR k < :before"
		" ORDER BY k DESC LIMIT :limit",
		DB_ARGS(DB_INT(":rater", rater_id), DB_INT(":before", before), DB_INT(":limit", limit)),
		group_row, &groups);
	size_t i;
	json_t *g;
	json_array_foreach(groups, i, g) {
		if (rc < 0)
			break;
		last = json_integer_value(json_object_get(g, "key"));
		json_object_del(g, "key");
		rc = group_fill(db, rater_id, g);
	}
	db_rollback(db);   /* ends the read transaction */
	if (rc < 0) {
		json_decref(groups);
		return rc;
	}
	*out = groups;
	if ((int)json_array_size(groups) == limit)
		*next_before = last;
	return DB_OK;
}
