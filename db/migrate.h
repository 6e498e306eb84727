/*
 * db/migrate.h — the schema migrations runner.
 *
 * migrations/NNNN_name.sql are compiled into the binary by the Makefile
 * (build/gen/migrations.c defines db_migrations[] in file order), so the
 * running program never looks for them on disk.  Each one is applied once, in
 * its own BEGIN IMMEDIATE transaction, and recorded in schema_migrations
 * (version, name, applied_at); PRAGMA user_version mirrors the latest version
 * so `sqlite3 x.db 'PRAGMA user_version'` answers without the table.
 */
#ifndef RLHFD_DB_MIGRATE_H
#define RLHFD_DB_MIGRATE_H

struct db;

struct db_migration {
	int version;       /* NNNN of the file name, 1, 2, ... */
	const char *name;  /* the rest of the file name, without .sql */
	const char *sql;
};

extern const struct db_migration db_migrations[];
extern const int db_n_migrations;

/*
 * Applies the migrations in list[0..n-1] that the database lacks.  Refuses
 * (DB_CONFLICT, message on stderr) a database whose schema is newer than the
 * newest migration in the list, i.e. written by a newer rlhfd.  Safe to run
 * from several processes at once: the version check happens inside the write
 * transaction.  *applied (may be NULL) gets the number applied now.
 */
int db_migrate_list(struct db *db, const struct db_migration *list, int n, int *applied);

/* db_migrate_list over the built-in migrations. */
int db_migrate(struct db *db, int *applied);

/* The schema version of the database: the highest recorded migration, or 0. */
int db_schema_version(struct db *db, int *version);

#endif
