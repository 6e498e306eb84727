/*
 * db/db.h — the SQLite connection: opening with the project's pragmas,
 * transactions, and the pool that gives every thread its own connection.
 *
 * Every query the program runs is one function in a db/ source file, grouped
 * by table (db/prompts.h, db/ratings.h, db/jobs.h, db/versions.h, ...); its
 * SQL is prepared once per connection (on first use) and bound by name.
 * Writes run inside db_begin() (BEGIN IMMEDIATE) ... db_commit(), so a writer
 * takes SQLite's write lock up front and never deadlocks upgrading a read.
 * struct db is opaque outside db/ (db/db_impl.h, the statement cache and the
 * query helpers, is db/'s own), and only db/ includes sqlite3.h.
 *
 * Errors, for every function in db/:
 *  - an action or a query returns DB_OK (0) or a negative DB_* code below;
 *    an id that does not exist is DB_NOTFOUND, an input the schema refuses
 *    (a constraint) DB_INVALID, a state that forbids it DB_CONFLICT;
 *  - a cursor's *_next returns 1 with a row, 0 at the end, or a negative code;
 *  - a pure helper that touches no database (db_td_group_pairs, db_now, ...)
 *    returns what its comment says (a count, a value);
 *  - a SQLite failure or running out of memory is logged to stderr once,
 *    where it happens ("db: cannot ..."), and returned as DB_ERROR (DB_BUSY
 *    when the write lock stayed taken); the caller does not log it again.
 * Functions that hand back JSON return a new reference (caller json_decref()s
 * it).  On failure there is nothing for the caller to free.
 */
#ifndef RLHFD_DB_DB_H
#define RLHFD_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	DB_OK = 0,
	DB_ERROR = -1,     /* SQLite failed or out of memory (logged); the server answers 500 */
	DB_NOTFOUND = -2,  /* the id named does not exist */
	DB_CONFLICT = -3,  /* the state forbids it (409) */
	DB_INVALID = -4,   /* the input does not fit the data (400) */
	DB_BUSY = -5,      /* the write lock stayed taken past the busy timeout (503) */
};

/* One connection (opaque: see db/db_impl.h). */
struct db;

/*
 * Opens (creating if missing) the database at path with WAL,
 * synchronous=NORMAL (durable against a process crash), foreign_keys=ON and a
 * busy handler that waits up to 10 s.  Does not migrate.
 * Returns 0 and sets *out (new; db_close() it), or DB_ERROR with a message on
 * stderr.  readonly opens for reading only (exports).
 */
int db_open(struct db **out, const char *path, bool readonly);
void db_close(struct db *db);

/* BEGIN IMMEDIATE / BEGIN (deferred, for multi-statement reads) / COMMIT /
 * ROLLBACK.  db_rollback is safe to call when no transaction is open. */
int db_begin(struct db *db);
int db_begin_read(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* Runs SQL text with no result rows (schema, pragmas); logs on failure. */
int db_exec(struct db *db, const char *sql);

/*
 * Runs one statement of SQL text, prepared for this call only (what runs once
 * per process, and tests), and reads the first column of its first row:
 * as an integer into *out, or as text into buf (size bytes, cut to fit).
 * DB_NOTFOUND when there is no row or the value is NULL.
 */
int db_exec_int64(struct db *db, const char *sql, int64_t *out);
int db_exec_text(struct db *db, const char *sql, char *buf, size_t size);

/* A new JSON string from len bytes at s (NULL gives JSON null).  Bytes that
 * are not UTF-8 (a model can emit half a character) become U+FFFD and NULs
 * are dropped, so stored text always turns into valid JSON. */
struct json_t;
struct json_t *db_json_str(const char *s, size_t len);

/* Current unix time in seconds (what every created_at is). */
int64_t db_now(void);

/*
 * Background WAL checkpoints.  A commit in WAL mode with synchronous=NORMAL
 * only appends to the WAL (no fsync); the fsync happens when the WAL is
 * copied back into the database (a checkpoint).  By default SQLite runs that
 * inside whichever commit crosses 1000 pages, stalling that request for the
 * fsync.  db_checkpointer_start turns automatic checkpoints off on pool
 * connections opened afterwards and runs a passive checkpoint from its own
 * thread and connection every interval_ms instead (passive checkpoints never
 * block readers or writers), plus a short RESTART one when the WAL passes
 * 64 MiB so it is rewound (see ckpt_round in db.c).  Stop it before closing
 * the pool: the last round truncates the WAL.  Returns 0 or DB_ERROR.
 * No RESTART runs while an export streams (see db_long_readers in db_impl.h).
 */
int db_checkpointer_start(const char *path, int interval_ms);
void db_checkpointer_stop(void);

/*
 * The connection pool: one connection per thread, opened on the thread's
 * first db_pool_get() and kept until db_pool_close_all().  db_pool_init
 * records the path (copied); db_pool_get returns the calling thread's
 * connection (borrowed) or NULL when it cannot be opened (logged).
 * db_pool_close_all closes every connection the pool opened; call it only when
 * no other thread uses the pool any more (after the HTTP daemon stopped).
 */
int db_pool_init(const char *path);
struct db *db_pool_get(void);
const char *db_pool_path(void);
void db_pool_close_all(void);

#endif
