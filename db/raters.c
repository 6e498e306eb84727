/*
 * db/raters.c — raters and sessions (see raters.h).
 */
#include "db/raters.h"
#include "db/db_impl.h"

#include <stdio.h>
#include <string.h>

/* Reads id, name, role, disabled from columns col.. of a row. */
static void rater_from_row(sqlite3_stmt *st, int col, struct db_rater *out)
{
	out->id = sqlite3_column_int64(st, col);
	snprintf(out->name, sizeof out->name, "%s", db_col_text(st, col + 1));
	snprintf(out->role, sizeof out->role, "%s", db_col_text(st, col + 2));
	out->disabled = sqlite3_column_int(st, col + 3) != 0;
}

int db_rater_create(struct db *db, const char *name, const char *role,
		    const uint8_t hash[DB_HASH_LEN], int64_t *id)
{
	if (strcmp(role, "rater") != 0 && strcmp(role, "admin") != 0)
		return DB_INVALID;
	sqlite3_stmt *st = db_stmt(db, STMT_RATER_INSERT,
		"INSERT INTO raters(name, role, token_hash, created_at)"
		" VALUES (:name, :role, :hash, :now)");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":name", name);
	db_bind_text(st, ":role", role);
	db_bind_blob(st, ":hash", hash, DB_HASH_LEN);
	db_bind_int64(st, ":now", db_now());
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return DB_CONFLICT; /* the name is taken (or the same token twice) */
	if (rc != SQLITE_DONE)
		return db_fail(db, "cannot insert a rater", rc);
	if (id)
		*id = sqlite3_last_insert_rowid(db->sq);
	return DB_OK;
}

static int rater_one(struct db *db, sqlite3_stmt *st, struct db_rater *out)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rater_from_row(st, 0, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a rater", rc);
}

int db_rater_by_token(struct db *db, const uint8_t hash[DB_HASH_LEN], struct db_rater *out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_RATER_BY_TOKEN,
		"SELECT id, name, role, disabled FROM raters WHERE token_hash = :hash AND disabled = 0");
	if (!st)
		return DB_ERROR;
	db_bind_blob(st, ":hash", hash, DB_HASH_LEN);
	return rater_one(db, st, out);
}

int db_rater_by_id(struct db *db, int64_t id, struct db_rater *out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_RATER_BY_ID,
		"SELECT id, name, role, disabled FROM raters WHERE id = :id");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":id", id);
	return rater_one(db, st, out);
}

int db_rater_count(struct db *db, int64_t *n)
{
	return db_int64(db, STMT_RATER_COUNT, "SELECT count(*) FROM raters", NULL, n);
}

int db_admin_count(struct db *db, int64_t *n)
{
	return db_int64(db, STMT_RATER_COUNT_ADMINS, "SELECT count(*) FROM raters WHERE role = 'admin'",
			NULL, n);
}

static json_t *rater_row(sqlite3_stmt *st)
{
	return json_pack("{sI so ss sI ss sb}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"name", db_col_json_str(st, 1),
		"role", db_col_text(st, 2),
		"ratings", (json_int_t)sqlite3_column_int64(st, 3),
		"created_at", db_col_text(st, 4),
		"disabled", sqlite3_column_int(st, 5));
}

int db_raters_list(struct db *db, json_t **out)
{
	return db_json_rows(db, STMT_RATERS_LIST,
		"SELECT r.id, r.name, r.role,"
		" (SELECT count(*) FROM ratings t WHERE t.rater_id = r.id AND t.superseded_at IS NULL),"
		" " ISO_TIME("r.created_at") ", r.disabled"
		" FROM raters r ORDER BY r.id", NULL, rater_row, out);
}

/* A change of one row: DB_NOTFOUND when no row changed, DB_CONFLICT when a
 * UNIQUE index refused it (the only constraint these updates can meet). */
static int change_one(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args)
{
	int rc = db_run(db, id, sql, args);
	if (rc == DB_INVALID)
		return DB_CONFLICT;
	if (rc < 0)
		return rc;
	return db_changes(db) > 0 ? DB_OK : DB_NOTFOUND;
}

int db_rater_rename(struct db *db, int64_t id, const char *name)
{
	return change_one(db, STMT_RATER_RENAME, "UPDATE raters SET name = :name WHERE id = :id",
			  DB_ARGS(DB_TEXT(":name", name), DB_INT(":id", id)));
}

int db_rater_set_disabled(struct db *db, int64_t id, bool disabled)
{
	int64_t admins = 0;
	struct db_rater r;
	int rc = db_rater_by_id(db, id, &r);
	if (rc < 0)
		return rc;
	if (disabled && !r.disabled && strcmp(r.role, "admin") == 0) {
		if ((rc = db_int64(db, STMT_ADMINS_ENABLED,
				   "SELECT count(*) FROM raters WHERE role = 'admin' AND disabled = 0",
				   NULL, &admins)) < 0)
			return rc;
		if (admins <= 1)
			return DB_CONFLICT;     /* the last admin would lock everyone out */
	}
	if ((rc = change_one(db, STMT_RATER_SET_DISABLED,
			     "UPDATE raters SET disabled = :disabled WHERE id = :id",
			     DB_ARGS(DB_INT(":disabled", disabled), DB_INT(":id", id)))) < 0 || !disabled)
		return rc;
	return db_run(db, STMT_SESSIONS_OF_RATER_DELETE, "DELETE FROM sessions WHERE rater_id = :id",
		      DB_ARGS(DB_INT(":id", id)));
}

int db_rater_set_token(struct db *db, int64_t id, const uint8_t hash[DB_HASH_LEN])
{
	return change_one(db, STMT_RATER_SET_TOKEN, "UPDATE raters SET token_hash = :hash WHERE id = :id",
			  DB_ARGS(DB_BLOB(":hash", hash, DB_HASH_LEN), DB_INT(":id", id)));
}

int db_session_create(struct db *db, const uint8_t id_hash[DB_HASH_LEN], int64_t rater_id,
		      const char *csrf, int64_t now, int64_t expires_at)
{
	return db_run(db, STMT_SESSION_INSERT,
		"INSERT INTO sessions(id_hash, rater_id, csrf, created_at, expires_at)"
		" VALUES (:hash, :rater, :csrf, :now, :expires)",
		DB_ARGS(DB_BLOB(":hash", id_hash, DB_HASH_LEN), DB_INT(":rater", rater_id),
			DB_TEXT(":csrf", csrf), DB_INT(":now", now), DB_INT(":expires", expires_at)));
}

int db_session_get(struct db *db, const uint8_t id_hash[DB_HASH_LEN], int64_t now,
		   struct db_rater *out, char *csrf_out, size_t csrf_size)
{
	sqlite3_stmt *st = db_stmt(db, STMT_SESSION_GET,
		"SELECT r.id, r.name, r.role, r.disabled, s.csrf FROM sessions s"
		" JOIN raters r ON r.id = s.rater_id"
		" WHERE s.id_hash = :hash AND s.expires_at > :now AND r.disabled = 0");
	if (!st)
		return DB_ERROR;
	db_bind_blob(st, ":hash", id_hash, DB_HASH_LEN);
	db_bind_int64(st, ":now", now);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rater_from_row(st, 0, out);
		snprintf(csrf_out, csrf_size, "%s", db_col_text(st, 4));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a session", rc);
}

int db_session_delete(struct db *db, const uint8_t id_hash[DB_HASH_LEN])
{
	return db_run(db, STMT_SESSION_DELETE, "DELETE FROM sessions WHERE id_hash = :hash",
		      DB_ARGS(DB_BLOB(":hash", id_hash, DB_HASH_LEN)));
}

int db_sessions_trim(struct db *db, int64_t rater_id, int keep)
{
	return db_run(db, STMT_SESSION_TRIM,
		"DELETE FROM sessions WHERE rater_id = :rater AND id_hash NOT IN"
		" (SELECT id_hash FROM sessions WHERE rater_id = :rater"
		"  ORDER BY created_at DESC, expires_at DESC, id_hash LIMIT :keep)",
		DB_ARGS(DB_INT(":rater", rater_id), DB_INT(":keep", keep)));
}

int db_sessions_purge(struct db *db, int64_t now)
{
	return db_run(db, STMT_SESSION_PURGE, "DELETE FROM sessions WHERE expires_at <= :now",
		      DB_ARGS(DB_INT(":now", now)));
}
