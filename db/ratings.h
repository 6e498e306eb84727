/*
 * db/ratings.h — storing ratings.
 *
 * Rating rows are immutable: rating an answer again marks the rater's current
 * row superseded and inserts a new current row, so history is kept and each
 * rating id names one judgement (model versions record the ids they used).
 */
#ifndef RLHFD_DB_RATINGS_H
#define RLHFD_DB_RATINGS_H

#include <stdint.h>
#include <jansson.h>

#include "db/groupcommit.h"

struct db;

struct db_rating_in {
	int64_t response_id;
	int score;                      /* 1..5 */
	int helpful, honest, harmless;  /* 1..5, or 0 when not given */
	const char *comment;            /* borrowed; NULL when not given */
	const char *flags_json;         /* borrowed JSON array text; NULL for [] */
};

/*
 * Saves in[0..n-1] as the rater's current ratings in group_id, all or none, in
 * one write transaction (committed before returning DB_OK), and drops the
 * rater's lease on the group.  DB_NOTFOUND: no such group (*bad_index -1) or
 * no such response (*bad_index its entry).  DB_INVALID: a response of another
 * group, one rated twice, or a score out of 1..5 (*bad_index the entry).
 * bad_index may be NULL.  Nothing is stored unless DB_OK is returned.
 */
int db_ratings_save(struct db *db, int64_t rater_id, int64_t group_id,
		    const struct db_rating_in *in, int n, int64_t now, int *bad_index);

/*
 * A rank or pair judgement of one group (the orderings table, migrations/
 * 0009_task_kinds.sql): each placed answer with its place and level (higher
 * is better, equal is a tie).  The caller (the HTTP handler) works the places
 * and levels out from what the rater sent.
 */
struct db_order_item {
	int64_t response_id;
	int place, level;
};
struct db_order_in {
	const char *kind;               /* "rank" or "pair" */
	const char *verdict;            /* pair: "a", "b", "tie", "both_bad"; rank: NULL */
	int strength;                   /* pair a / b: 1..3; otherwise 0 */
	const struct db_order_item *items;
	int n;
};

/*
 * Saves o as the rater's current judgement of group_id, replacing every
 * current ordering of theirs in the group, in one write transaction, and
 * drops the rater's lease on the group.  DB_NOTFOUND: no such group
 * (*bad_index -1) or no such response (*bad_index its item).  DB_INVALID: a
 * response of another group or placed twice (*bad_index the item), or, for
 * "rank", an answer of the group left out (*bad_index -1, *missing its id).
 * bad_index and missing may be NULL.  Nothing is stored unless DB_OK.
 */
int db_order_save(struct db *db, int64_t rater_id, int64_t group_id,
		  const struct db_order_in *o, int64_t now, int *bad_index, int64_t *missing);

/*
 * The same save run by the group-commit writer (db/groupcommit.h): many
 * requests' saves in one transaction and one fsync, each in a savepoint of
 * its own, so a refused save changes nothing and fails no other.  Fill the
 * fields above op and call db_ratings_submit; done(&job->op) runs on the
 * writer thread when the outcome is final: job->op.rc is what
 * db_ratings_save would have returned (DB_OK: committed) and job->bad_index
 * what it would have set (and job->missing, for an order).  in (and what it points to) must stay valid until
 * then.  Only while db_gc_running().
 */
struct db_ratings_job {
	struct db_gc_op op;             /* first: done() gets &job->op */
	int64_t rater_id, group_id, now;
	const struct db_rating_in *in;
	int n;
	const struct db_order_in *order; /* set: saves this judgement (db_order_save)
					    instead of in[0..n) */
	int bad_index;
	int64_t missing;                /* db_order_save's *missing */
};
void db_ratings_submit(struct db_ratings_job *job, void (*done)(struct db_gc_op *op));

/* *out = new array of every rating (current and superseded) the rater gave
 * the response, oldest first: [{"id","score","helpful","honest","harmless",
 * "comment","flags","created_at","superseded_at"}]. */
int db_rating_history(struct db *db, int64_t rater_id, int64_t response_id, json_t **out);

/* Auto-training's counters: *count = current ratings with id > after,
 * counting at most cap; *id = the largest rating id (0 when none). */
int db_work_ratings_after(struct db *db, int64_t after, int64_t cap, int64_t *count);
int db_work_max_rating_id(struct db *db, int64_t *id);
/* The same for rank and pair judgements, counted by the answers they place
 * (current orderings rows, migrations/0009): a ranking of 4 answers counts as
 * 4 ratings do. */
int db_work_orderings_after(struct db *db, int64_t after, int64_t cap, int64_t *count);
int db_work_max_ordering_id(struct db *db, int64_t *id);

#endif
