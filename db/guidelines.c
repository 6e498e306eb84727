/*
 * db/guidelines.c — the guideline versions (see guidelines.h).
 */
#include "db/guidelines.h"
#include "db/db_impl.h"

int db_guidelines_add(struct db *db, const char *text, int64_t author_id, int64_t now,
		      int64_t *version)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc = db_run(db, STMT_GUIDELINES_INSERT,
		"INSERT INTO guidelines(text, author_id, created_at) VALUES (:text, :author, :now)",
		DB_ARGS(DB_TEXT(":text", text), DB_OPT(":author", author_id), DB_INT(":now", now)));
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	*version = db_last_id(db);
	return db_commit(db);
}

static json_t *current_row(sqlite3_stmt *st)
{
	return json_pack("{sI so so so}",
		"version", (json_int_t)sqlite3_column_int64(st, 0),
		"text", db_col_json_str(st, 1),
		"author", db_col_json_str(st, 2),
		"created_at", db_col_json_str(st, 3));
}

int db_guidelines_current(struct db *db, json_t **out)
{
	json_t *rows = NULL;
	int rc = db_json_rows(db, STMT_GUIDELINES_CURRENT,
		"SELECT g.version, g.text, t.name, " ISO_TIME("g.created_at")
		" FROM guidelines g LEFT JOIN raters t ON t.id = g.author_id"
		" ORDER BY g.version DESC LIMIT 1",
		NULL, current_row, &rows);
	if (rc < 0)
		return rc;
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return DB_NOTFOUND;
	}
	*out = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return DB_OK;
}

static json_t *version_row(sqlite3_stmt *st)
{
	return json_pack("{sI so so sI}",
		"version", (json_int_t)sqlite3_column_int64(st, 0),
		"author", db_col_json_str(st, 1),
		"created_at", db_col_json_str(st, 2),
		"length", (json_int_t)sqlite3_column_int64(st, 3));
}

int db_guidelines_versions(struct db *db, json_t **out)
{
	return db_json_rows(db, STMT_GUIDELINES_VERSIONS,
		"SELECT g.version, t.name, " ISO_TIME("g.created_at") ", length(CAST(g.text AS BLOB))"
		" FROM guidelines g LEFT JOIN raters t ON t.id = g.author_id"
		" ORDER BY g.version DESC",
		NULL, version_row, out);
}
