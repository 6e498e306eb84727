/*
 * db/migrate.c — applies the built-in migrations (see migrate.h).
 *
 * These statements run once per process, before any request, so they are
 * plain sqlite3_exec text rather than cached prepared statements.
 *
 * Foreign keys are off while a migration runs (SQLite's procedure for
 * rebuilding a table, "Making Other Kinds Of Table Schema Changes": with them
 * on, dropping a referenced table deletes its rows first, cascading, and
 * renaming one rewrites the references to it) and checked before the
 * migration commits: a migration that leaves a dangling reference is rolled
 * back.  The pragma cannot change inside a transaction, so it is set around
 * the loop.
 */
#include "db/migrate.h"
#include "db/db_impl.h"

#include <stdio.h>

static const char MIGRATIONS_TABLE[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" applied_at INTEGER NOT NULL)";

/* Highest version in schema_migrations or PRAGMA user_version, whichever is
 * larger (either alone proves the schema is at least that new). */
static int migrate_read_version(struct db *db, int *version)
{
	int64_t v = 0, m = 0;
	int rc;
	if ((rc = db_exec_int64(db, "PRAGMA user_version", &v)) < 0 ||
	    (rc = db_exec_int64(db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
				&m)) < 0)
		return rc;
	*version = (int)(m > v ? m : v);
	return DB_OK;
}

int db_schema_version(struct db *db, int *version)
{
	int rc = db_exec(db, MIGRATIONS_TABLE);
	return rc < 0 ? rc : migrate_read_version(db, version);
}

static int migrate_record(struct db *db, const struct db_migration *m)
{
	sqlite3_stmt *st;
	char pragma[64];
	int rc = sqlite3_prepare_v2(db->sq,
		"INSERT INTO schema_migrations(version, name, applied_at) VALUES (:v, :name, :now)",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db, "cannot record a migration", rc);
	db_bind_int64(st, ":v", m->version);
	db_bind_text(st, ":name", m->name);
	db_bind_int64(st, ":now", db_now());
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, "cannot record a migration", rc);
	snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
	return db_exec(db, pragma);
}

/* DB_OK when PRAGMA foreign_key_check finds no dangling reference. */
static int migrate_check_keys(struct db *db, const struct db_migration *m)
{
	char table[128] = "";
	int rc = db_exec_text(db, "PRAGMA foreign_key_check", table, sizeof table);
	if (rc == DB_NOTFOUND)
		return DB_OK;
	if (rc == DB_OK) {
		fprintf(stderr, "db: migration '%04d_%s' leaves a dangling reference in table %s\n",
			m->version, m->name, table);
		return DB_ERROR;
	}
	return rc;
}

static int migrate_run(struct db *db, const struct db_migration *list, int n, int *applied);

int db_migrate_list(struct db *db, const struct db_migration *list, int n, int *applied)
{
	int rc = db_exec(db, "PRAGMA foreign_keys = OFF");
	if (rc < 0)
		return rc;
	rc = migrate_run(db, list, n, applied);
	int on = db_exec(db, "PRAGMA foreign_keys = ON");
	return rc < 0 ? rc : on;
}

static int migrate_run(struct db *db, const struct db_migration *list, int n, int *applied)
{
	int done = 0, rc;
	int newest = n > 0 ? list[n - 1].version : 0;

	for (int i = 0; i < n; i++)
		if (list[i].version != i + 1) {
			fprintf(stderr, "db: migration '%04d_%s' is out of sequence (expected %04d)\n",
				list[i].version, list[i].name, i + 1);
			return DB_ERROR;
		}
	if ((rc = db_exec(db, MIGRATIONS_TABLE)) < 0)
		return rc;
	for (int i = 0; i < n; i++) {
		int version;
		if ((rc = db_begin(db)) < 0)
			return rc;
		if ((rc = migrate_read_version(db, &version)) < 0)
			goto out_rollback;
		if (version > newest) {
			fprintf(stderr, "db: database '%s' has schema version %d, newer than this "
				"rlhfd knows (%d); use a newer rlhfd or another --data directory\n",
				db->path, version, newest);
			rc = DB_CONFLICT;
			goto out_rollback;
		}
		if (version >= list[i].version) {
			db_rollback(db);
			continue;
		}
		if ((rc = db_exec(db, list[i].sql)) < 0) {
			fprintf(stderr, "db: migration '%04d_%s' failed; database left at version %d\n",
				list[i].version, list[i].name, version);
			goto out_rollback;
		}
		if ((rc = migrate_check_keys(db, &list[i])) < 0 ||
		    (rc = migrate_record(db, &list[i])) < 0 || (rc = db_commit(db)) < 0)
			goto out_rollback;
		done++;
	}
	/* an empty list still refuses a newer database */
	if (n == 0) {
		int version;
		if ((rc = migrate_read_version(db, &version)) < 0)
			return rc;
		if (version > 0) {
			fprintf(stderr, "db: database '%s' has schema version %d, newer than this "
				"rlhfd knows (0)\n", db->path, version);
			return DB_CONFLICT;
		}
	}
	if (applied)
		*applied = done;
	return DB_OK;

out_rollback:
	db_rollback(db);
	return rc;
}

int db_migrate(struct db *db, int *applied)
{
	return db_migrate_list(db, db_migrations, db_n_migrations, applied);
}
