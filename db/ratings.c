/*
 * db/ratings.c — saving ratings with history (see ratings.h).
 */
#include "db/ratings.h"
#include "db/db_impl.h"
#include "db/groupcommit.h"
#include "db/prompts.h"
#include "db/quality.h"
#include "db/tasks.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


static bool score_ok(int v, bool optional)
{
	return (optional && v == 0) || (v >= 1 && v <= 5);
}

/* Index of id in the sorted ids[0..n-1], or -1. */
static int find_sorted(const int64_t *ids, int n, int64_t id)
{
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (ids[mid] == id)
			return mid;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Checks every entry against the group's responses (sorted ids) before any
 * write: membership, no duplicates, score ranges. */
static int ratings_check(const struct db_rating_in *in, int n, const int64_t *ids, int k,
			 int *bad_index)
{
	bool *seen = calloc(k ? k : 1, sizeof *seen);
	if (!seen)
		return db_nomem("cannot check ratings");
	int rc = DB_OK;
	for (int i = 0; i < n; i++) {
		int j = find_sorted(ids, k, in[i].response_id);
		if (j < 0 || seen[j] || !score_ok(in[i].score, false) || !score_ok(in[i].helpful, true) ||
		    !score_ok(in[i].honest, true) || !score_ok(in[i].harmless, true)) {
			if (bad_index)
				*bad_index = i;
			rc = DB_INVALID;
			break;
		}
		seen[j] = true;
	}
	free(seen);
	return rc;
}

/* The group's response ids (sorted), new array in *ids_out. */
static int group_ids(struct db *db, int64_t group_id, int64_t **ids_out, int *k)
{
	int64_t small[64];
	int n;
	int rc = db_group_response_ids(db, group_id, small, 64, &n);
	if (rc < 0)
		return rc;
	int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
	if (!ids)
		return db_nomem("cannot read a group's responses");
	if (n <= 64) {
		memcpy(ids, small, n * sizeof *ids);
	} else if ((rc = db_group_response_ids(db, group_id, ids, n, &n)) < 0) {
		free(ids);
		return rc;
	}
	*ids_out = ids;
	*k = n;
	return DB_OK;
}

/* Has the rater a current rating in the group?  If not, this save is their
 * first: the group counts one more rater (n_raters), and none of their
 * ratings there needs superseding. */
static int group_rater_known(struct db *db, int64_t rater_id, int64_t group_id, bool *known)
{
	int64_t k;
	/* a score or an ordering: either makes the rater one of the group's */
	int rc = db_int64(db, STMT_RATER_IN_GROUP,
		"SELECT EXISTS (SELECT 1 FROM ratings WHERE rater_id = :rater AND group_id = :group"
		" AND superseded_at IS NULL) OR EXISTS (SELECT 1 FROM orderings"
		" WHERE rater_id = :rater AND group_id = :group AND superseded_at IS NULL)",
		DB_ARGS(DB_INT(":group", group_id), DB_INT(":rater", rater_id)), &k);
	if (rc < 0)
		return rc;
	*known = k != 0;
	if (*known)
		return DB_OK;
	return db_run(db, STMT_GROUP_ADD_RATER,
		"UPDATE gen_groups SET n_raters = n_raters + 1 WHERE id = :group",
		DB_ARGS(DB_INT(":group", group_id)));
}

/* Marks the rater's current rating of the response superseded. */
static int rating_supersede(struct db *db, int64_t rater_id, int64_t response_id, int64_t now)
{
	return db_run(db, STMT_RATING_SUPERSEDE,
		"UPDATE ratings SET superseded_at = :now"
		" WHERE rater_id = :rater AND response_id = :response AND superseded_at IS NULL",
		DB_ARGS(DB_INT(":now", now), DB_INT(":rater", rater_id),
			DB_INT(":response", response_id)));
}

static int rating_insert(struct db *db, int64_t rater_id, int64_t group_id,
			 const struct db_rating_in *r, int64_t now)
{
	return db_run(db, STMT_RATING_INSERT,
		"INSERT INTO ratings(response_id, group_id, rater_id, score, helpful, honest,"
		" harmless, comment, flags, created_at, guideline_version) VALUES (:response, :group,"
		" :rater, :score, :helpful, :honest, :harmless, :comment, :flags, :now,"
		" (SELECT max(version) FROM guidelines))",   /* the version in force */
		DB_ARGS(DB_INT(":response", r->response_id), DB_INT(":group", group_id),
			DB_INT(":rater", rater_id), DB_INT(":score", r->score),
			DB_OPT(":helpful", r->helpful), DB_OPT(":honest", r->honest),
			DB_OPT(":harmless", r->harmless), DB_TEXT(":comment", r->comment),
			DB_TEXT(":flags", r->flags_json ? r->flags_json : "[]"), DB_INT(":now", now)));
}

/* The save itself, inside the caller's write transaction; on failure the
 * caller rolls back (the whole transaction, or the group committer's
 * savepoint). */
static int ratings_save_in_tx(struct db *db, int64_t rater_id, int64_t group_id,
			      const struct db_rating_in *in, int n, int64_t now, int *bad_index)
{
	int64_t *ids = NULL;
	int k, rc;

	if (bad_index)
		*bad_index = -1;
	/* a group always has answers: none means no such group (or an empty one) */
	if ((rc = group_ids(db, group_id, &ids, &k)) < 0 ||
	    (k == 0 && (rc = db_group_exists(db, group_id, NULL)) < 0))
		goto out;
	int bad = -1;
	if ((rc = ratings_check(in, n, ids, k, &bad)) < 0) {
		if (bad_index)
			*bad_index = bad;
		/* an answer that does not exist at all is an unknown id */
		if (rc == DB_INVALID && bad >= 0 && find_sorted(ids, k, in[bad].response_id) < 0 &&
		    db_response_exists(db, in[bad].response_id, NULL) == DB_NOTFOUND)
			rc = DB_NOTFOUND;
		goto out;
	}
	bool known = false;
	if (n > 0 && (rc = group_rater_known(db, rater_id, group_id, &known)) < 0)
		goto out;
	/* the first save in a leased group: how long the task took (db/quality.h) */
	if (n > 0 && !known && (rc = db_task_time_record(db, rater_id, group_id, now)) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		if ((known && (rc = rating_supersede(db, rater_id, in[i].response_id, now)) < 0) ||
		    (rc = rating_insert(db, rater_id, group_id, &in[i], now)) < 0) {
			if (bad_index)
				*bad_index = i;
			goto out;
		}
	rc = db_lease_delete(db, rater_id, group_id);
out:
	free(ids);
	return rc;
}

int db_ratings_save(struct db *db, int64_t rater_id, int64_t group_id,
		    const struct db_rating_in *in, int n, int64_t now, int *bad_index)
{
	int rc = db_begin(db);
	if (rc < 0) {
		if (bad_index)
			*bad_index = -1;
		return rc;
	}
	if ((rc = ratings_save_in_tx(db, rater_id, group_id, in, n, now, bad_index)) < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

/* ---- rank and pair judgements ---------------------------------------------- */

/* Checks the items against the group's responses (sorted ids): membership,
 * no answer twice, and for a ranking every answer placed. */
static int order_check(const struct db_order_in *o, const int64_t *ids, int k,
		       int *bad_index, int64_t *missing)
{
	bool *seen = calloc(k ? k : 1, sizeof *seen);
	if (!seen)
		return db_nomem("cannot check a judgement");
	int rc = DB_OK;
	for (int i = 0; i < o->n && rc == DB_OK; i++) {
		int j = find_sorted(ids, k, o->items[i].response_id);
		if (j < 0 || seen[j]) {
			*bad_index = i;
			rc = DB_INVALID;
		} else {
			seen[j] = true;
		}
	}
	for (int j = 0; rc == DB_OK && strcmp(o->kind, "rank") == 0 && j < k; j++)
		if (!seen[j]) {
			*missing = ids[j];
			rc = DB_INVALID;
		}
	free(seen);
	return rc;
}

static int order_save_in_tx(struct db *db, int64_t rater_id, int64_t group_id,
			    const struct db_order_in *o, int64_t now, int *bad_index,
			    int64_t *missing)
{
	int64_t *ids = NULL;
	int k, rc, bad = -1;
	int64_t miss = 0;

	if ((rc = group_ids(db, group_id, &ids, &k)) < 0 ||
	    (k == 0 && (rc = db_group_exists(db, group_id, NULL)) < 0))
		goto out;
	if ((rc = order_check(o, ids, k, &bad, &miss)) < 0) {
		if (rc == DB_INVALID && bad >= 0 &&
		    find_sorted(ids, k, o->items[bad].response_id) < 0 &&
		    db_response_exists(db, o->items[bad].response_id, NULL) == DB_NOTFOUND)
			rc = DB_NOTFOUND;
		goto out;
	}
	bool known = false;
	if ((rc = group_rater_known(db, rater_id, group_id, &known)) < 0)
		goto out;
	/* a ranking or a comparison is a task too: its time (db/quality.h) */
	if (!known && (rc = db_task_time_record(db, rater_id, group_id, now)) < 0)
		goto out;
	if (known && (rc = db_run(db, STMT_ORDER_SUPERSEDE,
			"UPDATE orderings SET superseded_at = :now WHERE rater_id = :rater"
			" AND group_id = :group AND superseded_at IS NULL",
			DB_ARGS(DB_INT(":now", now), DB_INT(":rater", rater_id),
				DB_INT(":group", group_id)))) < 0)
		goto out;
	for (int i = 0; i < o->n; i++) {
		const struct db_order_item *it = &o->items[i];
		if ((rc = db_run(db, STMT_ORDER_INSERT,
			"INSERT INTO orderings(group_id, rater_id, response_id, kind, place, level,"
			" verdict, strength, created_at) VALUES (:group, :rater, :response, :kind,"
			" :place, :level, :verdict, :strength, :now)",
			DB_ARGS(DB_INT(":group", group_id), DB_INT(":rater", rater_id),
				DB_INT(":response", it->response_id), DB_TEXT(":kind", o->kind),
				DB_INT(":place", it->place), DB_INT(":level", it->level),
				DB_TEXT(":verdict", o->verdict), DB_OPT(":strength", o->strength),
				DB_INT(":now", now)))) < 0) {
			bad = i;
			goto out;
		}
	}
	rc = db_lease_delete(db, rater_id, group_id);
out:
	if (bad_index)
		*bad_index = bad;
	if (missing)
		*missing = miss;
	free(ids);
	return rc;
}

int db_order_save(struct db *db, int64_t rater_id, int64_t group_id,
		  const struct db_order_in *o, int64_t now, int *bad_index, int64_t *missing)
{
	int rc = db_begin(db);
	if (rc < 0) {
		if (bad_index)
			*bad_index = -1;
		return rc;
	}
	if ((rc = order_save_in_tx(db, rater_id, group_id, o, now, bad_index, missing)) < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

static int ratings_job_run(struct db *db, struct db_gc_op *op)
{
	struct db_ratings_job *job = (struct db_ratings_job *)op;
	if (job->order)
		return order_save_in_tx(db, job->rater_id, job->group_id, job->order, job->now,
					&job->bad_index, &job->missing);
	return ratings_save_in_tx(db, job->rater_id, job->group_id, job->in, job->n, job->now,
				  &job->bad_index);
}

void db_ratings_submit(struct db_ratings_job *job, void (*done)(struct db_gc_op *op))
{
	job->op.run = ratings_job_run;
	job->op.done = done;
	job->bad_index = -1;
	job->missing = 0;
	db_gc_submit(&job->op);
}

static json_t *history_row(sqlite3_stmt *st)
{
	return json_pack("{sI si so so so so so ss so}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"score", sqlite3_column_int(st, 1),
		"helpful", db_col_json_int(st, 2),
		"honest", db_col_json_int(st, 3),
		"harmless", db_col_json_int(st, 4),
		"comment", db_col_json_str(st, 5),
		"flags", db_col_json(st, 6, "[]"),
		"created_at", db_col_text(st, 7),
		"superseded_at", db_col_json_str(st, 8));
}

int db_rating_history(struct db *db, int64_t rater_id, int64_t response_id, json_t **out)
{
	return db_json_rows(db, STMT_RATING_HISTORY,
		"SELECT id, score, helpful, honest, harmless, comment, flags, "
		ISO_TIME("created_at") ", CASE WHEN superseded_at IS NULL THEN NULL ELSE "
		ISO_TIME("superseded_at") " END"
		" FROM ratings WHERE rater_id = :rater AND response_id = :response ORDER BY id",
		DB_ARGS(DB_INT(":rater", rater_id), DB_INT(":response", response_id)), history_row, out);
}

int db_work_ratings_after(struct db *db, int64_t after, int64_t cap, int64_t *count)
{
	/* a rowid range scan that stops after cap rows: cheap whatever the table size */
	return db_int64(db, STMT_RATINGS_AFTER,
		"SELECT count(*) FROM (SELECT 1 FROM ratings WHERE id > :after"
		" AND superseded_at IS NULL LIMIT :cap)",
		DB_ARGS(DB_INT(":after", after), DB_INT(":cap", cap)), count);
}

int db_work_max_rating_id(struct db *db, int64_t *id)
{
	return db_int64(db, STMT_RATING_MAX, "SELECT coalesce(max(id), 0) FROM ratings", NULL, id);
}

int db_work_orderings_after(struct db *db, int64_t after, int64_t cap, int64_t *count)
{
	return db_int64(db, STMT_ORDERINGS_AFTER,
		"SELECT count(*) FROM (SELECT 1 FROM orderings WHERE id > :after"
		" AND superseded_at IS NULL LIMIT :cap)",
		DB_ARGS(DB_INT(":after", after), DB_INT(":cap", cap)), count);
}

int db_work_max_ordering_id(struct db *db, int64_t *id)
{
	return db_int64(db, STMT_ORDERING_MAX, "SELECT coalesce(max(id), 0) FROM orderings", NULL,
			id);
}
