/*
 * db/groupcommit.h — group commit: one writer thread, with its own connection,
 * runs the writes other threads hand it, as many as are waiting, in one
 * transaction (BEGIN IMMEDIATE ... COMMIT) and so with one fsync, then tells
 * each its outcome.
 *
 * Why: a commit in WAL mode with synchronous=FULL fsyncs the WAL, which
 * survives a power cut but costs a disk flush (~0.75 ms here: 1,300 commits/s
 * at best).  While the writer waits for one flush, the next writes queue up
 * and go out together in the next one, so throughput grows with the number of
 * writers waiting instead of being capped by the disk.
 *
 * Each write runs inside its own SAVEPOINT of the batch's transaction: one
 * that fails (a 404, a 400) is rolled back alone and the others commit, so a
 * write sees exactly what it would have seen in a transaction of its own run
 * at that point of the queue (the writes run one after the other, in the
 * order they were handed in).  A write reported DB_OK is committed, and with
 * `full` durable on power loss, before its done callback runs.
 */
#ifndef RLHFD_DB_GROUPCOMMIT_H
#define RLHFD_DB_GROUPCOMMIT_H

#include <stdbool.h>
#include <stdint.h>

struct db;

/* One write.  The caller owns it (and what arg points to) until done(op)
 * has been called; it must stay valid until then. */
struct db_gc_op {
	/* Runs on the writer thread inside a savepoint of an open write
	 * transaction: DB_OK or a negative DB_* code (its writes are then rolled
	 * back).  It never begins, commits or rolls back itself. */
	int (*run)(struct db *db, struct db_gc_op *op);
	/* Called on the writer thread once the outcome is final, op->rc set:
	 * DB_OK only when the write is committed. */
	void (*done)(struct db_gc_op *op);
	int rc;
	struct db_gc_op *next;          /* the queue's */
};

/*
 * Starts the writer thread on its own connection to the database at path,
 * with PRAGMA synchronous=FULL when full (a commit fsyncs the WAL: it survives
 * a power cut), else NORMAL (it survives the process being killed; the next
 * checkpoint's fsync makes it durable).  The setting is read back from the
 * connection (db_gc_synchronous).  Returns DB_OK or DB_ERROR (logged).
 */
int db_gc_start(const char *path, bool full);
/* Runs what is queued, then stops the thread and closes its connection. */
void db_gc_stop(void);
/* Is the writer running (db_gc_submit may be called)? */
bool db_gc_running(void);
/* Queues op (op->run and op->done set); the writer picks it up at once or
 * after the batch it is committing. */
void db_gc_submit(struct db_gc_op *op);

/* The writer connection's PRAGMA synchronous as read back after it was set:
 * "off", "normal", "full" or "extra"; NULL when the writer is not running. */
const char *db_gc_synchronous(void);

/* Since start: transactions committed, writes in them (committed or rolled
 * back alone), and the largest number of writes in one transaction. */
struct db_gc_stats {
	uint64_t commits, writes, max_batch;
};
void db_gc_stats(struct db_gc_stats *out);

/* PRAGMA synchronous of db as above ("normal" for a pool connection). */
const char *db_synchronous_name(struct db *db);

#endif
