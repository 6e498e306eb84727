/*
 * db/db_impl.h — db/'s own header, included only by db/'s sources: the connection
 * behind the opaque struct db, its cache of prepared statements (one id per
 * query), the helpers every query function uses to prepare, bind by name and
 * read, and the one-call query helpers (db_run, db_int64, db_double,
 * db_text, db_json_rows) for the common shapes.
 *
 * A query function does
 *     return db_int64(db, STMT_X, "SELECT n FROM t WHERE id = :id",
 *                     DB_ARGS(DB_INT(":id", id)), &n);
 * or, when it reads several columns or rows itself,
 *     sqlite3_stmt *st = db_prepare(db, STMT_X, "SELECT ... WHERE id = :id",
 *                                   DB_ARGS(DB_INT(":id", id)));
 *     if (!st) return DB_ERROR;
 *     rc = sqlite3_step(st); ...
 *     sqlite3_reset(st);
 * so the SQL stays beside the code that reads its columns, and is compiled
 * only on the connection's first call.  Always reset a statement after use
 * (db_stmt also resets): an unreset statement keeps a read transaction open.
 */
#ifndef RLHFD_DB_DB_IMPL_H
#define RLHFD_DB_DB_IMPL_H

#include "db/db.h"

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

/* An ISO-8601 UTC text ("2024-05-01T12:00:00Z") from a unix-seconds column,
 * in SQL. */
#define ISO_TIME(col) "strftime('%Y-%m-%dT%H:%M:%SZ', " col ", 'unixepoch')"

/* The prompts the model versions ids (an SQL list of parameters, ":a, :b")
 * were trained on, in SQL (a SELECT of one column): the prompts of their
 * training ratings (model_version_ratings: SFT, best, DPO) and the training
 * prompts of the reward model they were trained against
 * (metrics.reward_model_id's metrics.train_prompt_ids: best and RL train
 * there and nowhere else).  A policy answers those better than its parent for
 * having learnt them, whatever it does elsewhere: people's verdict tells
 * them from the rest (versions.c db_work_model_paired). */
#define TRAINED_PROMPTS(ids) \
	"SELECT r.prompt_id FROM model_version_ratings v JOIN ratings x ON x.id = v.rating_id" \
	" JOIN responses r ON r.id = x.response_id WHERE v.model_id IN (" ids ")" \
	" UNION SELECT e.value FROM model_versions m" \
	" JOIN model_versions rm ON rm.id = json_extract(m.metrics, '$.reward_model_id')," \
	" json_each(rm.metrics, '$.train_prompt_ids') e WHERE m.id IN (" ids ")"

enum stmt_id {
	/* raters.c */
	STMT_RATER_INSERT, STMT_RATER_BY_TOKEN, STMT_RATER_BY_ID, STMT_RATER_COUNT,
	STMT_RATER_COUNT_ADMINS, STMT_RATERS_LIST,
	STMT_SESSION_INSERT, STMT_SESSION_GET, STMT_SESSION_DELETE, STMT_SESSION_PURGE,
	STMT_SESSION_TRIM, STMT_RATER_RENAME, STMT_RATER_SET_DISABLED, STMT_RATER_SET_TOKEN,
	STMT_SESSIONS_OF_RATER_DELETE, STMT_ADMINS_ENABLED,
	/* prompts.c */
	STMT_PROMPT_INSERT, STMT_PROMPT_SET_KIND, STMT_PROMPT_EXISTS, STMT_PROMPTS_LIST, STMT_PROMPT_GET,
	STMT_PROMPT_RESPONSES, STMT_RESPONSE_RATINGS, STMT_RESPONSE_MEAN,
	STMT_GROUP_INSERT, STMT_GROUP_EXISTS, STMT_GROUP_RESPONSE_IDS, STMT_RESPONSE_INSERT,
	STMT_RESPONSE_INSERT_MODEL, STMT_RESPONSE_EXISTS,
	/* tasks.c */
	STMT_LEASE_HELD, STMT_LEASE_PURGE, STMT_TASK_LEVELS, STMT_TASK_PICK, STMT_LEASE_UPSERT,
	STMT_TASK_PROMPT, STMT_TASK_RESPONSES, STMT_TASK_REMAINING, STMT_RATED_SINCE,
	STMT_SKIP_INSERT, STMT_LEASE_DELETE, STMT_TASK_PICK_SPOT, STMT_TASK_PICK_GAP,
	STMT_TASK_PICK_KEY, STMT_RM_SCORED,
	/* ratings.c */
	STMT_RATER_IN_GROUP, STMT_GROUP_ADD_RATER, STMT_RATING_SUPERSEDE, STMT_RATING_INSERT,
	STMT_RATING_HISTORY, STMT_RATINGS_AFTER, STMT_RATING_MAX, STMT_ORDERINGS_AFTER,
	STMT_ORDERING_MAX, STMT_WORK_AUTO_ORDER_MARK,
	STMT_ORDER_SUPERSEDE, STMT_ORDER_INSERT, STMT_TD_ORDERS,
	/* jobs.c */
	STMT_JOB_INSERT, STMT_JOBS_LIST, STMT_JOB_GET, STMT_JOB_METRICS, STMT_JOB_STATUS,
	STMT_JOB_CANCEL_QUEUED, STMT_JOB_CANCEL_RUNNING, STMT_JOB_METRIC_ADD,
	STMT_WORK_RECOVER, STMT_WORK_RECOVER_AUTO, STMT_WORK_OLDEST, STMT_WORK_START, STMT_WORK_PROGRESS,
	STMT_WORK_CANCEL_FLAG, STMT_WORK_FINISH, STMT_WORK_JOB_COPY, STMT_WORK_AUTO_MARK,
	STMT_WORK_AUTO_BUSY,
	STMT_WORK_OPEN_ANSWERS,
	/* versions.c */
	STMT_MODEL_INSERT, STMT_MODELS_LIST, STMT_MODEL_KIND, STMT_MODEL_DEACTIVATE,
	STMT_MODEL_ACTIVATE, STMT_MODEL_ACTIVE,
	STMT_WORK_MODEL_GET, STMT_WORK_MODEL_LATEST, STMT_WORK_MODEL_PATH, STMT_WORK_MODEL_RATING,
	STMT_WORK_MODEL_METRICS, STMT_WORK_MODEL_SET_METRICS, STMT_WORK_MODEL_METRIC_KEY,
	STMT_WORK_MODEL_METRICS_GET, STMT_WORK_MODEL_PAIRED, STMT_WORK_MODEL_CANDIDATE,
	STMT_WORK_MODEL_RATED,
	STMT_WORK_MODEL_BEST_LATEST,
	/* curves.c */
	STMT_CURVES_HUMAN,
	/* config.c */
	STMT_CONFIG_ALL, STMT_CONFIG_GET, STMT_CONFIG_SET,
	/* stats.c */
	STMT_STATS_COUNTS, STMT_STATS_HISTOGRAM, STMT_STATS_PER_RATER, STMT_STATS_JOBS,
	STMT_STATS_AGREEMENT, STMT_STATS_GROUPS_MULTI,
	/* mine.c */
	STMT_MINE_GROUPS, STMT_MINE_PROMPT, STMT_MINE_RESPONSES, STMT_MINE_RATINGS,
	STMT_MINE_JUDGEMENT, STMT_MINE_JUDGEMENT_ITEMS,
	/* export.c (its own read-only connection; pairs and SFT rows through
	 * traindata.c's cursor) */
	STMT_EXPORT_RATINGS,
	/* traindata.c */
	STMT_TD_GROUPS, STMT_TD_PROMPTS, STMT_TD_PROMPTS_NEW, STMT_TD_PROMPTS_UNSOLVED,
	STMT_TD_PROMPT_BY_ID,
	/* rmscores.c */
	STMT_RM_ANSWERS, STMT_RM_PUT, STMT_RM_GET, STMT_RM_GAPS,
	/* disagree.c */
	STMT_DISAGREEMENTS,
	/* quality.c */
	STMT_GOLD_DELETE, STMT_GOLD_INSERT, STMT_GOLD_GROUPS, STMT_GOLD_PICK, STMT_GOLD_REMAINING, STMT_TASK_TIME_RECORD,
	STMT_QUALITY_GOLD, STMT_QUALITY_CONSENSUS, STMT_QUALITY_TIMES, STMT_REVIEW, STMT_REVIEW_FLAGS,
	/* demonstrations.c */
	STMT_DEMO_INSERT, STMT_DEMOS_LIST,
	/* guidelines.c */
	STMT_GUIDELINES_INSERT, STMT_GUIDELINES_CURRENT, STMT_GUIDELINES_VERSIONS,
	/* spotcheck.c */
	STMT_SPOT_HAS, STMT_SPOT_PICK, STMT_SPOT_UNSCORED, STMT_SPOT_FIGURES, STMT_SPOT_PAIRED,
	/* groupcommit.c */
	STMT_GC_SAVEPOINT, STMT_GC_ROLLBACK_TO, STMT_GC_RELEASE,
	STMT_COUNT
};

struct db {
	sqlite3 *sq;
	char *path;                     /* owned copy */
	sqlite3_stmt *stmt[STMT_COUNT]; /* prepared on first use, finalized by db_close */
	int busy_timeout_ms;
	int64_t busy_start_us;          /* when the current wait for a lock began */
};

/* Read transactions that last (export cursors) count themselves here; the
 * checkpointer runs no RESTART checkpoint while any is open. */
extern _Atomic int db_long_readers;

/* Does the checkpointer run (db_checkpointer_start)?  Then a connection
 * opened for a thread of its own turns automatic checkpoints off, as the
 * pool's do. */
bool db_autocheckpoint_off(void);



/* The connection's statement for id, prepared from sql on first use, reset and
 * with bindings cleared; NULL when SQLite refuses it (logged). Borrowed. */
sqlite3_stmt *db_stmt(struct db *db, enum stmt_id id, const char *sql);

/* Bind by parameter name (":name").  A name the statement lacks is a bug; it
 * is logged and the parameter stays NULL. */
void db_bind_int64(sqlite3_stmt *st, const char *name, int64_t v);
void db_bind_double(sqlite3_stmt *st, const char *name, double v);
void db_bind_text(sqlite3_stmt *st, const char *name, const char *s); /* NULL binds NULL; copied */
void db_bind_blob(sqlite3_stmt *st, const char *name, const void *p, int n); /* copied */
void db_bind_null(sqlite3_stmt *st, const char *name);
/* binds v, or NULL when v <= 0 (optional ids and optional 1..5 scores) */
void db_bind_opt_int64(sqlite3_stmt *st, const char *name, int64_t v);

/* Logs "db: <what>: <sqlite message>" and returns DB_ERROR, or DB_BUSY for
 * SQLITE_BUSY/SQLITE_LOCKED. */
int db_fail(struct db *db, const char *what, int rc);
/* Logs "db: <what>: out of memory" and returns DB_ERROR. */
int db_nomem(const char *what);

/* Column as text, "" for NULL (borrowed until the next step/reset). */
const char *db_col_text(sqlite3_stmt *st, int col);
/* Column as a new NUL-terminated copy of its bytes ("" for NULL), NULL when out
 * of memory; *len (may be NULL) = their count. */
char *db_col_dup(sqlite3_stmt *st, int col, int *len);
/* Grows *arr (of *cap elements of size sz) to hold at least need, the new
 * elements zeroed; 0, or -1 when out of memory (*arr unchanged). */
int db_grow(void **arr, int *cap, int need, size_t sz);

/* Column as a new JSON string (null for NULL).  Bytes that are not UTF-8
 * (a model can emit half a character) become U+FFFD instead of failing. */
struct json_t;
struct json_t *db_col_json_str(sqlite3_stmt *st, int col);
/* Column holding JSON text as a new JSON value; fallback_json when NULL/bad. */
struct json_t *db_col_json(sqlite3_stmt *st, int col, const char *fallback_json);
/* Column as a new JSON integer, or null when NULL. */
struct json_t *db_col_json_int(sqlite3_stmt *st, int col);


/* ---- one-call query helpers ---------------------------------------------- */

/*
 * A named binding: DB_INT(":id", v), DB_OPT(":parent", v) (NULL when v <= 0:
 * optional ids and optional 1..5 scores), DB_REAL(":p", v), DB_TEXT(":name",
 * s) (NULL binds NULL; copied), DB_BLOB(":hash", p, n) (copied).  DB_ARGS(...)
 * makes the list the helpers take (ended by DB_END); NULL binds nothing.
 */
enum db_arg_type { DB_ARG_END, DB_ARG_INT, DB_ARG_OPT, DB_ARG_REAL, DB_ARG_TEXT, DB_ARG_BLOB };
struct db_arg {
	const char *name;
	enum db_arg_type type;
	int64_t i;
	double d;
	const void *p;
	int n;
};
#define DB_INT(nm, v)     { .name = (nm), .type = DB_ARG_INT, .i = (v) }
#define DB_OPT(nm, v)     { .name = (nm), .type = DB_ARG_OPT, .i = (v) }
#define DB_REAL(nm, v)    { .name = (nm), .type = DB_ARG_REAL, .d = (v) }
#define DB_TEXT(nm, s)    { .name = (nm), .type = DB_ARG_TEXT, .p = (s) }
#define DB_BLOB(nm, b, k) { .name = (nm), .type = DB_ARG_BLOB, .p = (b), .n = (k) }
#define DB_END            { .name = NULL, .type = DB_ARG_END }
#define DB_ARGS(...)      ((const struct db_arg[]){ __VA_ARGS__, DB_END })

/* The statement for id (prepared from sql on first use, reset) with args
 * bound; NULL when SQLite refuses the SQL (logged).  Borrowed. */
sqlite3_stmt *db_prepare(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args);

/* Runs a statement that returns no rows: DB_OK, DB_INVALID when a constraint
 * refuses it (not logged: the input does not fit), else as db_fail. */
int db_run(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args);

/* The first column of the first row, as an integer or a double into *out or
 * as text into buf (size bytes, cut to fit).  DB_NOTFOUND when there is no
 * row or the value is NULL. */
int db_int64(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args,
	     int64_t *out);
int db_double(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args,
	      double *out);
int db_text(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args,
	    char *buf, size_t size);

/* Every row, turned into JSON by row(st) (a new value, or NULL when out of
 * memory), appended in order to a new array *out. */
struct json_t;
int db_json_rows(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args,
		 struct json_t *(*row)(sqlite3_stmt *st), struct json_t **out);

/* After a db_run: the rowid of the last INSERT / the rows the last statement
 * changed, on this connection. */
int64_t db_last_id(struct db *db);
int db_changes(struct db *db);

#endif
