/*
 * db/db.h — the SQLite connection: opening with the project's pragmas, the
 * per-connection cache of prepared statements, transactions, and the pool that
 * gives every thread its own connection.
 *
 * Every query the program runs is one function in a db/ source file; its SQL is prepared
 * once per connection (on first use) and bound by name.  Writes run inside
 * db_begin() (BEGIN IMMEDIATE) ... db_commit(), so a writer takes SQLite's
 * write lock up front and never deadlocks upgrading a read.
 *
 * Errors: functions return 0 (DB_OK) or a negative DB_E* code.  A SQLite
 * failure is logged to stderr once, where it happens ("db: ...").  Functions
 * that hand back JSON return a new reference (caller json_decref()s it).
 */
#ifndef RLHFD_DB_DB_H
#define RLHFD_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "db/stmt.h"

enum {
	DB_OK = 0,
	DB_ERROR = -1,     /* SQLite failed (logged); the server answers 500 */
	DB_NOTFOUND = -2,  /* the id named does not exist */
	DB_CONFLICT = -3,  /* the state forbids it (409) */
	DB_INVALID = -4,   /* the input does not fit the data (400) */
	DB_BUSY = -5,      /* the write lock stayed taken past the busy timeout (503) */
};

struct db {
	sqlite3 *sq;
	char *path;                     /* owned copy */
	sqlite3_stmt *stmt[STMT_COUNT]; /* prepared on first use, finalized by db_close */
	int busy_timeout_ms;
	int64_t busy_start_us;          /* when the current wait for a lock began */
};

/*
 * Opens (creating if missing) the database at path with WAL,
 * synchronous=NORMAL (durable against a process crash), foreign_keys=ON and a
 * busy handler that waits up to busy_timeout_ms.  Does not migrate.
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
 */
int db_checkpointer_start(const char *path, int interval_ms);
/* Read transactions that last (export cursors) count themselves here; no
 * RESTART checkpoint runs while any is open. */
extern _Atomic int db_long_readers;
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
