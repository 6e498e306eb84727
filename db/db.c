/*
 * db/db.c — opening connections, the statement cache, transactions and the
 * one-connection-per-thread pool (see db.h).
 */
#include "db/db_impl.h"

#include <jansson.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdatomic.h>
#include <unistd.h>

#define DB_BUSY_TIMEOUT_MS 10000
#define DB_WAL_RESTART_FRAMES 16000   /* 64 MiB of 4 KiB pages */

/* clock_gettime, not time(): glibc's time() reads the kernel's coarse clock,
 * which lags the real one by up to a tick, so a row written just after a
 * client saw second S+1 could be stamped S (and fall outside ?since=S+1). */
int64_t db_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static int64_t db_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * SQLite's own busy handler sleeps in steps of 1 ms and more, which caps a
 * contended writer at a few hundred commits a second per thread.  Commits in
 * WAL with synchronous=NORMAL take tens of microseconds, so this one first
 * yields, then naps briefly, and only backs off to 1 ms sleeps after a while.
 * Returns 0 (give up, SQLITE_BUSY) once busy_timeout_ms have passed.
 */
static int db_busy_handler(void *arg, int count)
{
	struct db *db = arg;
	int64_t now = db_mono_us();
	if (count == 0)
		db->busy_start_us = now;
	else if (now - db->busy_start_us > (int64_t)db->busy_timeout_ms * 1000)
		return 0;
	if (count < 4)
		sched_yield();
	else if (count < 200)
		usleep(50);
	else
		usleep(1000);
	return 1;
}

int db_fail(struct db *db, const char *what, int rc)
{
	int prim = rc & 0xff;
	fprintf(stderr, "db: %s: %s\n", what, db && db->sq ? sqlite3_errmsg(db->sq) : sqlite3_errstr(rc));
	return prim == SQLITE_BUSY || prim == SQLITE_LOCKED ? DB_BUSY : DB_ERROR;
}

int db_nomem(const char *what)
{
	fprintf(stderr, "db: %s: out of memory\n", what);
	return DB_ERROR;
}

int db_exec(struct db *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->sq, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		int prim = rc & 0xff;
		fprintf(stderr, "db: cannot run '%.60s%s': %s\n", sql, strlen(sql) > 60 ? "..." : "",
			msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return prim == SQLITE_BUSY || prim == SQLITE_LOCKED ? DB_BUSY : DB_ERROR;
	}
	return DB_OK;
}

int db_open(struct db **out, const char *path, bool readonly)
{
	struct db *db = calloc(1, sizeof *db);
	if (!db || !(db->path = strdup(path))) {
		fprintf(stderr, "db: cannot open '%s': out of memory\n", path);
		free(db);
		return DB_ERROR;
	}
	db->busy_timeout_ms = DB_BUSY_TIMEOUT_MS;
	/* NOMUTEX: a connection is only ever used by one thread at a time */
	int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
		    SQLITE_OPEN_NOMUTEX;
	/* The database holds prompts, ratings and token hashes: private to the
	 * server's user.  Created 0600 here (SQLite gives the -wal and -shm
	 * files the database file's mode), and an older, wider file narrowed —
	 * by path: never open and close a descriptor of a database this process
	 * may already have open, as closing any descriptor of a file drops every
	 * POSIX lock the process holds on it, SQLite's included, and another
	 * process's close would then checkpoint and delete the write-ahead log
	 * under this one (tests/unit/test_db.c test_other_process_keeps_wal).
	 * O_EXCL: a descriptor only of a file this call creates. */
	if (!readonly) {
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		else if (errno == EEXIST)
			chmod(path, 0600);
	}
	int rc = sqlite3_open_v2(path, &db->sq, flags, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "db: cannot open '%s': %s\n", path,
			db->sq ? sqlite3_errmsg(db->sq) : sqlite3_errstr(rc));
		goto out_free;
	}
	sqlite3_extended_result_codes(db->sq, 1);
	sqlite3_busy_handler(db->sq, db_busy_handler, db);
	/* journal_mode=WAL is persistent; a read-only connection just finds it */
	if (!readonly && db_exec(db, "PRAGMA journal_mode=WAL") < 0)
		goto out_free;
	if (db_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
			"PRAGMA temp_store=MEMORY") < 0)
		goto out_free;
	*out = db;
	return DB_OK;

out_free:
	db_close(db);
	return DB_ERROR;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(db->stmt[i]);
	sqlite3_close(db->sq);
	free(db->path);
	free(db);
}

sqlite3_stmt *db_stmt(struct db *db, enum stmt_id id, const char *sql)
{
	sqlite3_stmt *st = db->stmt[id];
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	int rc = sqlite3_prepare_v3(db->sq, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "db: cannot prepare statement %d: %s\n", (int)id, sqlite3_errmsg(db->sq));
		return NULL;
	}
	db->stmt[id] = st;
	return st;
}

static int db_param(sqlite3_stmt *st, const char *name)
{
	int i = sqlite3_bind_parameter_index(st, name);
	if (i == 0)
		fprintf(stderr, "db: bug: no parameter '%s' in '%.80s'\n", name, sqlite3_sql(st));
	return i;
}

void db_bind_int64(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = db_param(st, name);
	if (i)
		sqlite3_bind_int64(st, i, v);
}

void db_bind_double(sqlite3_stmt *st, const char *name, double v)
{
	int i = db_param(st, name);
	if (i)
		sqlite3_bind_double(st, i, v);
}

void db_bind_text(sqlite3_stmt *st, const char *name, const char *s)
{
	int i = db_param(st, name);
	if (i && s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else if (i)
		sqlite3_bind_null(st, i);
}

void db_bind_blob(sqlite3_stmt *st, const char *name, const void *p, int n)
{
	int i = db_param(st, name);
	if (i)
		sqlite3_bind_blob(st, i, p, n, SQLITE_TRANSIENT);
}

void db_bind_null(sqlite3_stmt *st, const char *name)
{
	int i = db_param(st, name);
	if (i)
		sqlite3_bind_null(st, i);
}

void db_bind_opt_int64(sqlite3_stmt *st, const char *name, int64_t v)
{
	if (v > 0)
		db_bind_int64(st, name, v);
	else
		db_bind_null(st, name);
}

const char *db_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return s ? (const char *)s : "";
}

char *db_col_dup(sqlite3_stmt *st, int col, int *len)
{
	const char *s = db_col_text(st, col);
	int n = sqlite3_column_bytes(st, col);
	char *p = malloc((size_t)n + 1);
	if (p) {
		memcpy(p, s, (size_t)n);
		p[n] = 0;
		if (len)
			*len = n;
	}
	return p;
}

int db_grow(void **arr, int *cap, int need, size_t sz)
{
	if (need <= *cap)
		return 0;
	int c = *cap ? *cap * 2 : 16;
	while (c < need)
		c *= 2;
	void *p = realloc(*arr, (size_t)c * sz);
	if (!p)
		return -1;
	memset((char *)p + (size_t)*cap * sz, 0, (size_t)(c - *cap) * sz);
	*arr = p;
	*cap = c;
	return 0;
}

/* ---- one-call query helpers ---------------------------------------------- */

/* Logs a failed helper statement by its SQL (cut) and returns the code. */
static int fail_sql(struct db *db, const char *sql, int rc)
{
	char what[96];
	snprintf(what, sizeof what, "cannot run '%.60s%s'", sql, strlen(sql) > 60 ? "..." : "");
	return db_fail(db, what, rc);
}

sqlite3_stmt *db_prepare(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args)
{
	sqlite3_stmt *st = db_stmt(db, id, sql);
	if (!st || !args)
		return st;
	for (const struct db_arg *a = args; a->type != DB_ARG_END; a++) {
		switch (a->type) {
		case DB_ARG_INT:
			db_bind_int64(st, a->name, a->i);
			break;
		case DB_ARG_OPT:
			db_bind_opt_int64(st, a->name, a->i);
			break;
		case DB_ARG_REAL:
			db_bind_double(st, a->name, a->d);
			break;
		case DB_ARG_TEXT:
			db_bind_text(st, a->name, a->p);
			break;
		case DB_ARG_BLOB:
			db_bind_blob(st, a->name, a->p, a->n);
			break;
		case DB_ARG_END:
			break;
		}
	}
	return st;
}

int db_run(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args)
{
	sqlite3_stmt *st = db_prepare(db, id, sql, args);
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return DB_INVALID;
	return rc == SQLITE_DONE ? DB_OK : fail_sql(db, sql, rc);
}

/* Steps st once: DB_OK on a row whose first column is not NULL (st left on
 * it), DB_NOTFOUND, or the failure (st reset). */
static int first_value(struct db *db, sqlite3_stmt *st, const char *sql)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		return DB_OK;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DB_NOTFOUND : fail_sql(db, sql, rc);
}

int db_int64(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args,
	     int64_t *out)
{
	sqlite3_stmt *st = db_prepare(db, id, sql, args);
	if (!st)
		return DB_ERROR;
	int rc = first_value(db, st, sql);
	if (rc == DB_OK) {
		*out = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return rc;
}

int db_double(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args,
	      double *out)
{
	sqlite3_stmt *st = db_prepare(db, id, sql, args);
	if (!st)
		return DB_ERROR;
	int rc = first_value(db, st, sql);
	if (rc == DB_OK) {
		*out = sqlite3_column_double(st, 0);
		sqlite3_reset(st);
	}
	return rc;
}

int db_text(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args,
	    char *buf, size_t size)
{
	sqlite3_stmt *st = db_prepare(db, id, sql, args);
	if (!st)
		return DB_ERROR;
	int rc = first_value(db, st, sql);
	if (rc == DB_OK) {
		snprintf(buf, size, "%s", db_col_text(st, 0));
		sqlite3_reset(st);
	}
	return rc;
}

int db_json_rows(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args,
		 json_t *(*row)(sqlite3_stmt *st), json_t **out)
{
	sqlite3_stmt *st = db_prepare(db, id, sql, args);
	if (!st)
		return DB_ERROR;
	json_t *arr = json_array();
	int rc = arr ? SQLITE_ROW : SQLITE_NOMEM;
	while (rc == SQLITE_ROW && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(arr, row(st)) < 0)
			rc = SQLITE_NOMEM;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return fail_sql(db, sql, rc);
	}
	*out = arr;
	return DB_OK;
}

int64_t db_last_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->sq);
}

int db_changes(struct db *db)
{
	return sqlite3_changes(db->sq);
}

/* One uncached statement: prepared, stepped once, handed to read. */
static int exec_one(struct db *db, const char *sql, void (*read)(sqlite3_stmt *st, void *arg),
		    void *arg)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db->sq, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail_sql(db, sql, rc);
	rc = first_value(db, st, sql);
	if (rc == DB_OK)
		read(st, arg);
	sqlite3_finalize(st);
	return rc;
}

static void read_int64(sqlite3_stmt *st, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
}

struct text_out {
	char *buf;
	size_t size;
};

static void read_text(sqlite3_stmt *st, void *arg)
{
	struct text_out *t = arg;
	snprintf(t->buf, t->size, "%s", db_col_text(st, 0));
}

int db_exec_int64(struct db *db, const char *sql, int64_t *out)
{
	return exec_one(db, sql, read_int64, out);
}

int db_exec_text(struct db *db, const char *sql, char *buf, size_t size)
{
	struct text_out t = { buf, size };
	return exec_one(db, sql, read_text, &t);
}

/* ---- JSON from columns -------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned min;
	unsigned cp;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) { len = 2; cp = s[0] & 0x1f; min = 0x80; }
	else if ((s[0] & 0xf0) == 0xe0) { len = 3; cp = s[0] & 0x0f; min = 0x800; }
	else if ((s[0] & 0xf8) == 0xf0) { len = 4; cp = s[0] & 0x07; min = 0x10000; }
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

json_t *db_json_str(const char *s, size_t n)
{
	if (!s)
		return json_null();
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, bad = 0;
	while (i < n) {
		size_t l = utf8_len(u + i, n - i);
		if (!l) { bad++; l = 1; }
		i += l;
	}
	if (!bad && memchr(s, 0, n) == NULL)
		return json_stringn_nocheck(s, n);
	/* rebuild with U+FFFD (3 bytes) for each bad byte; NUL is dropped */
	char *buf = malloc(n + 2 * bad + 1);
	if (!buf)
		return json_null();
	size_t o = 0;
	for (i = 0; i < n;) {
		size_t l = utf8_len(u + i, n - i);
		if (!l) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			if (!(l == 1 && s[i] == 0)) {
				memcpy(buf + o, s + i, l);
				o += l;
			}
			i += l;
		}
	}
	json_t *j = json_stringn_nocheck(buf, o);
	free(buf);
	return j;
}

json_t *db_col_json_str(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	const char *s = (const char *)sqlite3_column_text(st, col);
	return db_json_str(s ? s : "", (size_t)sqlite3_column_bytes(st, col));
}

json_t *db_col_json(sqlite3_stmt *st, int col, const char *fallback_json)
{
	json_t *j = NULL;
	if (sqlite3_column_type(st, col) != SQLITE_NULL)
		j = json_loadb((const char *)sqlite3_column_text(st, col),
			       (size_t)sqlite3_column_bytes(st, col), JSON_DECODE_ANY, NULL);
	if (!j)
		j = json_loads(fallback_json, JSON_DECODE_ANY, NULL);
	return j ? j : json_null();
}

json_t *db_col_json_int(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	return json_integer(sqlite3_column_int64(st, col));
}

/* ---- transactions ------------------------------------------------------ */

int db_begin(struct db *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}

int db_begin_read(struct db *db)
{
	return db_exec(db, "BEGIN");
}

int db_commit(struct db *db)
{
	int rc = db_exec(db, "COMMIT");
	if (rc < 0)
		db_rollback(db);
	return rc;
}

void db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->sq))
		sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- pool -------------------------------------------------------------- */

/*
 * A thread keeps its connection in a thread-local pointer (the fast path).
 * When a thread exits (thread-per-connection mode) the key's destructor puts
 * its connection on the free list for the next new thread, so connections
 * are reused rather than leaked.  The lock guards only the lists.
 */
_Atomic int db_long_readers;

static char *pool_path;
static atomic_bool pool_no_autocheckpoint;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static pthread_key_t pool_key;
static struct db **pool_all;       /* every connection opened, for close_all */
static int pool_n, pool_cap;
static struct db **pool_free;      /* connections of exited threads */
static int pool_nfree;
static __thread struct db *pool_mine;

static void pool_thread_exit(void *p)
{
	pthread_mutex_lock(&pool_lock);
	if (pool_free)
		pool_free[pool_nfree++] = p; /* capacity == pool_cap >= pool_n */
	pthread_mutex_unlock(&pool_lock);
}

static void pool_make_key(void)
{
	pthread_key_create(&pool_key, pool_thread_exit);
}

int db_pool_init(const char *path)
{
	pthread_once(&pool_once, pool_make_key);
	free(pool_path);
	pool_path = strdup(path);
	return pool_path ? DB_OK : db_nomem("cannot start the connection pool");
}

const char *db_pool_path(void)
{
	return pool_path;
}

/* Registers a new connection; the caller holds pool_lock. */
static int pool_add(struct db *db)
{
	if (pool_n == pool_cap) {
		int cap = pool_cap ? 2 * pool_cap : 16;
		struct db **a = realloc(pool_all, cap * sizeof *a);
		if (!a)
			return DB_ERROR;
		pool_all = a;
		struct db **f = realloc(pool_free, cap * sizeof *f);
		if (!f)
			return DB_ERROR;
		pool_free = f;
		pool_cap = cap;
	}
	pool_all[pool_n++] = db;
	return DB_OK;
}

struct db *db_pool_get(void)
{
	if (pool_mine)
		return pool_mine;
	struct db *db = NULL;
	pthread_mutex_lock(&pool_lock);
	if (pool_nfree > 0)
		db = pool_free[--pool_nfree];
	pthread_mutex_unlock(&pool_lock);
	if (!db) {
		if (!pool_path || db_open(&db, pool_path, false) < 0)
			return NULL;
		if (atomic_load(&pool_no_autocheckpoint))
			sqlite3_wal_autocheckpoint(db->sq, 0);
		pthread_mutex_lock(&pool_lock);
		int rc = pool_add(db);
		pthread_mutex_unlock(&pool_lock);
		if (rc < 0) {
			fprintf(stderr, "db: cannot grow the connection pool: out of memory\n");
			db_close(db);
			return NULL;
		}
	}
	pthread_setspecific(pool_key, db);
	pool_mine = db;
	return db;
}

bool db_autocheckpoint_off(void)
{
	return atomic_load(&pool_no_autocheckpoint);
}

void db_pool_close_all(void)
{
	pthread_mutex_lock(&pool_lock);
	for (int i = 0; i < pool_n; i++)
		db_close(pool_all[i]);
	free(pool_all);
	free(pool_free);
	pool_all = pool_free = NULL;
	pool_n = pool_cap = pool_nfree = 0;
	pthread_mutex_unlock(&pool_lock);
	/* only the calling thread's pointers can be cleared; the others are gone */
	if (pool_mine)
		pthread_setspecific(pool_key, NULL);
	pool_mine = NULL;
}

/* ---- checkpointer -------------------------------------------------------- */

static pthread_t ckpt_thread;
static bool ckpt_running;
static pthread_mutex_t ckpt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ckpt_cond = PTHREAD_COND_INITIALIZER;
static bool ckpt_stop;
static struct db *ckpt_db;
static int ckpt_interval_ms;

/*
 * One round: a passive checkpoint (copies the WAL back without blocking
 * anyone).  Under a steady stream of commits a passive checkpoint never quite
 * catches up, and SQLite only rewinds the WAL once all of it has been copied
 * back, so the WAL would grow without end.  So when it is past
 * DB_WAL_RESTART_FRAMES, passive rounds repeat while they still find much to
 * copy, and then a RESTART checkpoint, which holds writers off only while it
 * copies the last few frames and syncs, lets the next commit start the WAL
 * over.  Measured under wrk: writers wait 3-15 ms once or twice a second,
 * instead of 50-100 ms for a RESTART straight after a long passive round.
 */
static void ckpt_round(sqlite3 *sq)
{
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(sq, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	/* a RESTART waits for every reader to finish and holds writers off
	 * meanwhile: never while an export streams (a long read) */
	if (rc == SQLITE_OK && log > DB_WAL_RESTART_FRAMES && atomic_load(&db_long_readers) == 0) {
		for (int i = 0; i < 10 && rc == SQLITE_OK; i++) {
			int64_t t = db_mono_us();
			rc = sqlite3_wal_checkpoint_v2(sq, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
			if (db_mono_us() - t < 3000)
				break;
		}
		if (rc == SQLITE_OK)
			rc = sqlite3_wal_checkpoint_v2(sq, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
	}
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		fprintf(stderr, "db: checkpoint failed: %s\n", sqlite3_errmsg(sq));
}

static void *ckpt_main(void *arg)
{
	pthread_mutex_lock(&ckpt_lock);
	while (!ckpt_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(ckpt_interval_ms % 1000) * 1000000;
		ts.tv_sec += ckpt_interval_ms / 1000 + ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&ckpt_cond, &ckpt_lock, &ts);
		if (ckpt_stop)
			break;
		/* the slow part (copying pages, fsync) runs without the lock */
		pthread_mutex_unlock(&ckpt_lock);
		ckpt_round(ckpt_db->sq);
		pthread_mutex_lock(&ckpt_lock);
	}
	pthread_mutex_unlock(&ckpt_lock);
	return NULL;
}

int db_checkpointer_start(const char *path, int interval_ms)
{
	if (ckpt_running)
		return DB_OK;
	if (db_open(&ckpt_db, path, false) < 0)
		return DB_ERROR;
	/* a RESTART that cannot have the database to itself soon gives up
	 * (until the next round) rather than hold writers off */
	ckpt_db->busy_timeout_ms = 50;
	ckpt_interval_ms = interval_ms > 0 ? interval_ms : 100;
	ckpt_stop = false;
	if (pthread_create(&ckpt_thread, NULL, ckpt_main, NULL) != 0) {
		fprintf(stderr, "db: cannot start the checkpointer thread\n");
		db_close(ckpt_db);
		ckpt_db = NULL;
		return DB_ERROR;
	}
	ckpt_running = true;
	atomic_store(&pool_no_autocheckpoint, true);
	return DB_OK;
}

void db_checkpointer_stop(void)
{

	if (!ckpt_running)
		return;
	pthread_mutex_lock(&ckpt_lock);
	ckpt_stop = true;
	pthread_cond_signal(&ckpt_cond);
	pthread_mutex_unlock(&ckpt_lock);
	pthread_join(ckpt_thread, NULL);
	/* a last full checkpoint so the database file alone is up to date */
	sqlite3_wal_checkpoint_v2(ckpt_db->sq, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	db_close(ckpt_db);
	ckpt_db = NULL;
	ckpt_running = false;
	atomic_store(&pool_no_autocheckpoint, false);
}
