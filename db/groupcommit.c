/*
 * db/groupcommit.c — the group-commit writer (see groupcommit.h).
 *
 * The queue is a singly linked list under one mutex; the writer takes all of
 * it at once (a batch), so a batch is whatever arrived while the previous one
 * was being written and flushed: no timer, no batch size to tune, and a lone
 * write goes out at once.
 */
#include "db/groupcommit.h"
#include "db/db_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct db_gc_op *head, *tail;   /* the queue */
	bool stop;
	bool started;                   /* thread created (start/stop only) */
	atomic_bool running;
	pthread_t thread;
	struct db *db;
	const char *synchronous;
	_Atomic uint64_t commits, writes, max_batch;
} gc = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

const char *db_synchronous_name(struct db *db)
{
	static const char *const names[] = { "off", "normal", "full", "extra" };
	int64_t v = -1;
	if (db_exec_int64(db, "PRAGMA synchronous", &v) < 0 || v < 0 || v > 3)
		return "unknown";
	return names[v];
}

/* Runs op inside a savepoint of the open transaction; false when SQLite has
 * ended the transaction itself (an I/O error, a full disk). */
static bool run_one(struct db_gc_op *op)
{
	struct db *db = gc.db;
	op->rc = db_run(db, STMT_GC_SAVEPOINT, "SAVEPOINT gc_write", NULL);
	if (op->rc == DB_OK) {
		op->rc = op->run(db, op);
		if (sqlite3_get_autocommit(db->sq))
			return false;
		if (op->rc < 0)
			db_run(db, STMT_GC_ROLLBACK_TO, "ROLLBACK TO gc_write", NULL);
		db_run(db, STMT_GC_RELEASE, "RELEASE gc_write", NULL);
	}
	return !sqlite3_get_autocommit(db->sq);
}

/* One transaction for the writes of list (in order), then their callbacks. */
static void run_batch(struct db_gc_op *list)
{
	struct db *db = gc.db;
	uint64_t n = 0, ok = 0;
	int rc = db_begin(db);
	for (struct db_gc_op *op = list; op; op = op->next) {
		n++;
		if (rc < 0) {
			op->rc = rc;
			continue;
		}
		if (!run_one(op)) {
			/* the transaction is gone, and with it what the writes before
			 * this one (and this one) did: they failed; the rest go on in a
			 * new transaction */
			for (struct db_gc_op *p = list; p != op->next; p = p->next)
				if (p->rc == DB_OK)
					p->rc = DB_ERROR;
			ok = 0;
			rc = db_begin(db);
			continue;
		}
		if (op->rc == DB_OK)
			ok++;
	}
	if (rc == DB_OK) {
		if (ok == 0) {
			/* nothing to keep: no commit, no fsync, no change seen by others */
			db_rollback(db);
		} else if ((rc = db_commit(db)) < 0) {
			for (struct db_gc_op *op = list; op; op = op->next)
				if (op->rc == DB_OK)
					op->rc = rc;
		} else {
			atomic_fetch_add_explicit(&gc.commits, 1, memory_order_relaxed);
		}
	}
	atomic_fetch_add_explicit(&gc.writes, n, memory_order_relaxed);
	if (n > atomic_load_explicit(&gc.max_batch, memory_order_relaxed))
		atomic_store_explicit(&gc.max_batch, n, memory_order_relaxed);
	for (struct db_gc_op *op = list, *next; op; op = next) {
		next = op->next;        /* done() may free op */
		op->done(op);
	}
}

static void *gc_main(void *arg)
{
	pthread_mutex_lock(&gc.lock);
	for (;;) {
		while (!gc.head && !gc.stop)
			pthread_cond_wait(&gc.cond, &gc.lock);
		if (!gc.head)
			break;          /* stopping, and nothing left */
		struct db_gc_op *list = gc.head;
		gc.head = gc.tail = NULL;
		pthread_mutex_unlock(&gc.lock);
		run_batch(list);
		pthread_mutex_lock(&gc.lock);
	}
	pthread_mutex_unlock(&gc.lock);
	return NULL;
}

int db_gc_start(const char *path, bool full)
{
	if (gc.started)
		return DB_OK;
	if (db_open(&gc.db, path, false) < 0)
		return DB_ERROR;
	if (db_exec(gc.db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") < 0)
		goto fail;
	/* like the pool's connections: the checkpointer, if running, checkpoints */
	if (db_autocheckpoint_off())
		sqlite3_wal_autocheckpoint(gc.db->sq, 0);
	gc.synchronous = db_synchronous_name(gc.db);
	gc.stop = false;
	if (pthread_create(&gc.thread, NULL, gc_main, NULL) != 0) {
		fprintf(stderr, "db: cannot start the group-commit writer thread\n");
		goto fail;
	}
	gc.started = true;
	atomic_store(&gc.running, true);
	return DB_OK;
fail:
	db_close(gc.db);
	gc.db = NULL;
	return DB_ERROR;
}

void db_gc_stop(void)
{
	if (!gc.started)
		return;
	pthread_mutex_lock(&gc.lock);
	gc.stop = true;
	pthread_cond_signal(&gc.cond);
	pthread_mutex_unlock(&gc.lock);
	pthread_join(gc.thread, NULL);
	atomic_store(&gc.running, false);
	db_close(gc.db);
	gc.db = NULL;
	gc.synchronous = NULL;
	gc.started = false;
}

bool db_gc_running(void)
{
	return atomic_load(&gc.running);
}

void db_gc_submit(struct db_gc_op *op)
{
	op->next = NULL;
	pthread_mutex_lock(&gc.lock);
	if (gc.tail)
		gc.tail->next = op;
	else
		gc.head = op;
	gc.tail = op;
	pthread_cond_signal(&gc.cond);
	pthread_mutex_unlock(&gc.lock);
}

const char *db_gc_synchronous(void)
{
	return db_gc_running() ? gc.synchronous : NULL;
}

void db_gc_stats(struct db_gc_stats *out)
{
	out->commits = atomic_load_explicit(&gc.commits, memory_order_relaxed);
	out->writes = atomic_load_explicit(&gc.writes, memory_order_relaxed);
	out->max_batch = atomic_load_explicit(&gc.max_batch, memory_order_relaxed);
}
