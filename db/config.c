/*
 * db/config.c — the config table (see config.h).
 */
#include "db/config.h"
#include "db/db_impl.h"

#include <stdlib.h>

int db_config_all(struct db *db, json_t **out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_CONFIG_ALL, "SELECT key, value FROM config ORDER BY key");
	if (!st)
		return DB_ERROR;
	json_t *obj = json_object();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(obj, db_col_text(st, 0), db_col_json(st, 1, "null"));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(obj);
		return db_fail(db, "cannot read config", rc);
	}
	*out = obj;
	return DB_OK;
}

int db_config_get(struct db *db, const char *key, json_t **out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_CONFIG_GET, "SELECT value FROM config WHERE key = :key");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":key", key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = db_col_json(st, 0, "null");
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read config", rc);
}

int db_config_int(struct db *db, const char *key, int64_t dflt, int64_t *out)
{
	json_t *v;
	int rc = db_config_get(db, key, &v);
	if (rc == DB_NOTFOUND) {
		*out = dflt;
		return DB_OK;
	}
	if (rc < 0)
		return rc;
	*out = json_is_integer(v) ? json_integer_value(v) : dflt;
	json_decref(v);
	return DB_OK;
}

int db_config_set(struct db *db, const char *key, const json_t *value)
{
	char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!text)
		return DB_INVALID;
	int rc = db_run(db, STMT_CONFIG_SET,
		"INSERT INTO config(key, value) VALUES (:key, :value)"
		" ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		DB_ARGS(DB_TEXT(":key", key), DB_TEXT(":value", text)));
	free(text);
	return rc;
}
