/*
 * db/mine.c — a rater's own recent groups with their current ratings (see
 * mine.h).  Read only: the write path of ratings stays in ratings.c.
 */
#include "db/mine.h"
#include "db/db_impl.h"

/*
 * A group's order key among the rater's: created_at * 2^21 + (row id mod
 * 2^20) * 2 + (1 for a judgement row), the largest over the group's current
 * rows.  Ratings and judgements have ids of their own, so the time orders
 * them; within a second the id does (the newer row of one table first), and
 * the last bit keeps a rating and a judgement row apart.  Below 2^53 until
 * 2106, so exact in JSON numbers.
 */
#define MINE_KEY(tbl_bit) "created_at * 2097152 + (id % 1048576) * 2 + " tbl_bit

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

static json_t *item_row(sqlite3_stmt *st)
{
	return json_pack("{sI si si}",
		"response_id", (json_int_t)sqlite3_column_int64(st, 0),
		"place", sqlite3_column_int(st, 1),
		"level", sqlite3_column_int(st, 2));
}

/* Adds "judgement" (the rater's current rank / pair judgement of group, or
 * null) to g. */
static int judgement_fill(struct db *db, int64_t rater_id, int64_t group, json_t *g)
{
	sqlite3_stmt *st = db_prepare(db, STMT_MINE_JUDGEMENT,
		"SELECT kind, verdict, strength FROM orderings WHERE rater_id = :rater"
		" AND group_id = :group AND superseded_at IS NULL LIMIT 1",
		DB_ARGS(DB_INT(":rater", rater_id), DB_INT(":group", group)));
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		json_object_set_new(g, "judgement", json_null());
		return DB_OK;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return db_fail(db, "cannot read a judgement", rc);
	}
	json_t *j = json_pack("{ss so so}",
		"kind", db_col_text(st, 0),
		"verdict", db_col_json_str(st, 1),
		"strength", db_col_json_int(st, 2));
	sqlite3_reset(st);
	json_t *items = NULL;
	rc = db_json_rows(db, STMT_MINE_JUDGEMENT_ITEMS,
		"SELECT response_id, place, level FROM orderings WHERE rater_id = :rater"
		" AND group_id = :group AND superseded_at IS NULL ORDER BY place, response_id",
		DB_ARGS(DB_INT(":rater", rater_id), DB_INT(":group", group)), item_row, &items);
	if (rc < 0) {
		json_decref(j);
		return rc;
	}
	json_object_set_new(j, "items", items);
	json_object_set_new(g, "judgement", j);
	return DB_OK;
}

/* Adds prompt_id, prompt, responses, ratings and judgement to the group object g. */
static int group_fill(struct db *db, int64_t rater_id, json_t *g)
{
	int64_t group = json_integer_value(json_object_get(g, "group_id"));
	sqlite3_stmt *st = db_prepare(db, STMT_MINE_PROMPT,
		"SELECT p.id, p.text, p.messages FROM gen_groups g JOIN prompts p ON p.id = g.prompt_id"
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
	json_object_set_new(g, "messages", db_col_json(st, 2, "null"));
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
	return judgement_fill(db, rater_id, group, g);
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
	/* the rater's current ratings (through ratings_current_rater) and
	 * judgement rows, one row a group */
	rc = db_json_rows(db, STMT_MINE_GROUPS,
		"SELECT group_id, max(kk) AS k, " ISO_TIME("max(t)") " FROM ("
		" SELECT group_id, " MINE_KEY("0") " AS kk, created_at AS t FROM ratings"
		"  WHERE rater_id = :rater AND superseded_at IS NULL"
		" UNION ALL SELECT group_id, " MINE_KEY("1") ", created_at FROM orderings"
		"  WHERE rater_id = :rater AND superseded_at IS NULL)"
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
