/*
 * db/jobs.c — the jobs and job_metrics tables (see jobs.h).
 */
#include "db/jobs.h"
#include "db/ratings.h"
#include "db/db_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB_COLUMNS \
	"id, kind, status, progress, params, metrics, error, model_id, cancel_requested, " \
	ISO_TIME("created_at") ", " ISO_TIME("started_at") ", " ISO_TIME("finished_at")

static json_t *job_from_row(sqlite3_stmt *st)
{
	return json_pack("{sI ss ss sf so so so so sb so so so}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"kind", db_col_text(st, 1),
		"status", db_col_text(st, 2),
		"progress", sqlite3_column_double(st, 3),
		"params", db_col_json(st, 4, "{}"),
		"metrics", db_col_json(st, 5, "{}"),
		"error", db_col_json_str(st, 6),
		"model_id", db_col_json_int(st, 7),
		"cancel_requested", sqlite3_column_int(st, 8) != 0,
		"created_at", db_col_json_str(st, 9),
		"started_at", db_col_json_str(st, 10),
		"finished_at", db_col_json_str(st, 11));
}

int db_job_create(struct db *db, const char *kind, const char *params_json, int64_t now,
		  int64_t *id)
{
	int rc = db_run(db, STMT_JOB_INSERT,
		"INSERT INTO jobs(kind, params, created_at) VALUES (:kind, :params, :now)",
		DB_ARGS(DB_TEXT(":kind", kind), DB_TEXT(":params", params_json ? params_json : "{}"),
			DB_INT(":now", now)));
	if (rc == DB_OK && id)
		*id = db_last_id(db);
	return rc;
}

int db_jobs_list(struct db *db, int limit, json_t **out)
{
	return db_json_rows(db, STMT_JOBS_LIST,
		"SELECT " JOB_COLUMNS " FROM jobs ORDER BY id DESC LIMIT :limit",
		DB_ARGS(DB_INT(":limit", limit)), job_from_row, out);
}

int db_job_get(struct db *db, int64_t id, json_t **out)
{
	sqlite3_stmt *st = db_prepare(db, STMT_JOB_GET,
		"SELECT " JOB_COLUMNS " FROM jobs WHERE id = :id", DB_ARGS(DB_INT(":id", id)));
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = job_from_row(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a job", rc);
}

/* The job's status (>= 16 bytes) or DB_NOTFOUND. */
static int job_status(struct db *db, int64_t id, char *status)
{
	return db_text(db, STMT_JOB_STATUS, "SELECT status FROM jobs WHERE id = :id",
		       DB_ARGS(DB_INT(":id", id)), status, 16);
}

static json_t *metric_from_row(sqlite3_stmt *st)
{
	return json_pack("{sI so sf}",
		"step", (json_int_t)sqlite3_column_int64(st, 0),
		"name", db_col_json_str(st, 1),
		"value", sqlite3_column_double(st, 2));
}

int db_job_metrics(struct db *db, int64_t id, json_t **out)
{
	char status[16];
	int rc = job_status(db, id, status);
	if (rc < 0)
		return rc;
	return db_json_rows(db, STMT_JOB_METRICS,
		"SELECT step, name, value FROM job_metrics WHERE job_id = :id ORDER BY step, name",
		DB_ARGS(DB_INT(":id", id)), metric_from_row, out);
}

int db_job_metric_add(struct db *db, int64_t job_id, int64_t step, const char *name, double value)
{
	int rc = db_run(db, STMT_JOB_METRIC_ADD,
		"INSERT OR REPLACE INTO job_metrics(job_id, step, name, value)"
		" VALUES (:job, :step, :name, :value)",
		DB_ARGS(DB_INT(":job", job_id), DB_INT(":step", step), DB_TEXT(":name", name),
			DB_REAL(":value", value)));
	return rc == DB_INVALID ? DB_NOTFOUND : rc; /* the foreign key: no such job */
}

int db_job_cancel(struct db *db, int64_t id, int64_t now, char *status_out)
{
	char status[16];
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = job_status(db, id, status)) < 0)
		goto out_rollback;
	if (strcmp(status, "queued") == 0) {
		rc = db_run(db, STMT_JOB_CANCEL_QUEUED,
			"UPDATE jobs SET status = 'cancelled', finished_at = :now WHERE id = :id",
			DB_ARGS(DB_INT(":now", now), DB_INT(":id", id)));
		snprintf(status, sizeof status, "cancelled");
	} else if (strcmp(status, "running") == 0) {
		rc = db_run(db, STMT_JOB_CANCEL_RUNNING,
			"UPDATE jobs SET cancel_requested = 1 WHERE id = :id", DB_ARGS(DB_INT(":id", id)));
	} else {
		rc = DB_CONFLICT;
	}
	if (rc < 0)
		goto out_rollback;
	if ((rc = db_commit(db)) < 0)
		return rc;
	if (status_out)
		snprintf(status_out, 16, "%s", status);
	return DB_OK;

out_rollback:
	db_rollback(db);
	return rc;
}

/* ---- the worker's side ------------------------------------------------- */

void db_work_job_release(struct db_work_job *j)
{
	free(j->params);
	memset(j, 0, sizeof *j);
}

int db_work_recover(struct db *db, const char *reason, int64_t now, int *n, int *n_requeued)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	/* an auto-training job carries on: a copy is queued before the
	 * interrupted one is marked failed (the loop never waits for ratings
	 * that may not come) */
	rc = db_run(db, STMT_WORK_RECOVER_AUTO,
		"INSERT INTO jobs(kind, params, created_at)"
		" SELECT kind, params, :now FROM jobs"
		" WHERE status = 'running' AND json_extract(params, '$.auto') = 1 ORDER BY id",
		DB_ARGS(DB_INT(":now", now)));
	int requeued = rc < 0 ? 0 : db_changes(db);
	if (rc >= 0)
		rc = db_run(db, STMT_WORK_RECOVER,
			"UPDATE jobs SET status = 'failed', error = :reason, finished_at = :now,"
			" cancel_requested = 0 WHERE status = 'running'",
			DB_ARGS(DB_TEXT(":reason", reason), DB_INT(":now", now)));
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	int changed = db_changes(db);
	if ((rc = db_commit(db)) < 0)
		return rc;
	if (n)
		*n = changed;
	if (n_requeued)
		*n_requeued = requeued;
	return DB_OK;
}

/* Reads the job row (id = 0: the oldest queued one, score jobs last) into
 * out; DB_NOTFOUND, or DB_CONFLICT when a named job is not queued.  Inside a
 * transaction.  A score job (an answer's rm_score beside the human ones) is
 * the worker's idle work: queued by a reward job before the loop's RL and
 * generate jobs, it waits for them, so a loop round is not slowed by it and
 * it scores the new round's answers too. */
static int pick(struct db *db, int64_t id, struct db_work_job *out)
{
	sqlite3_stmt *st = id ?
		db_prepare(db, STMT_WORK_JOB_COPY, "SELECT kind, params, status FROM jobs WHERE id = :id",
			   DB_ARGS(DB_INT(":id", id))) :
		db_prepare(db, STMT_WORK_OLDEST, "SELECT kind, params, status, id FROM jobs"
			   " WHERE status = 'queued' ORDER BY kind = 'score', id LIMIT 1", NULL);
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = id ? id : sqlite3_column_int64(st, 3);
		snprintf(out->kind, sizeof out->kind, "%s", db_col_text(st, 0));
		out->params = strdup(db_col_text(st, 1));
		bool queued = strcmp(db_col_text(st, 2), "queued") == 0;
		sqlite3_reset(st);
		if (!out->params)
			return db_nomem("cannot read the job queue");
		if (!queued) {
			db_work_job_release(out);
			return DB_CONFLICT;
		}
		return DB_OK;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read the job queue", rc);
}

static int claim(struct db *db, int64_t id, int64_t now, struct db_work_job *out)
{
	memset(out, 0, sizeof *out);
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = pick(db, id, out)) < 0)
		goto out_rollback;
	rc = db_run(db, STMT_WORK_START,
		"UPDATE jobs SET status = 'running', started_at = :now, progress = 0,"
		" cancel_requested = 0 WHERE id = :id",
		DB_ARGS(DB_INT(":now", now), DB_INT(":id", out->id)));
	if (rc < 0 || (rc = db_commit(db)) < 0)
		goto out_release;
	return DB_OK;

out_release:
	db_work_job_release(out);
out_rollback:
	db_rollback(db);
	return rc;
}

int db_work_claim(struct db *db, int64_t now, struct db_work_job *out)
{
	return claim(db, 0, now, out);
}

int db_work_claim_id(struct db *db, int64_t id, int64_t now, struct db_work_job *out)
{
	if (id <= 0)
		return DB_NOTFOUND;
	return claim(db, id, now, out);
}

int db_work_report(struct db *db, int64_t job_id, double progress,
		   const struct db_work_metric *m, size_t n)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if (progress >= 0 &&
	    (rc = db_run(db, STMT_WORK_PROGRESS, "UPDATE jobs SET progress = :p WHERE id = :id",
			 DB_ARGS(DB_REAL(":p", progress > 1 ? 1 : progress),
				 DB_INT(":id", job_id)))) < 0)
		goto out_rollback;
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "%s", m[i].name);
		if ((rc = db_job_metric_add(db, job_id, m[i].step, name, m[i].value)) < 0)
			goto out_rollback;
	}
	return db_commit(db);

out_rollback:
	db_rollback(db);
	return rc;
}

int db_work_cancel_requested(struct db *db, int64_t job_id, bool *requested)
{
	int64_t flag;
	int rc = db_int64(db, STMT_WORK_CANCEL_FLAG, "SELECT cancel_requested FROM jobs WHERE id = :id",
			  DB_ARGS(DB_INT(":id", job_id)), &flag);
	if (rc == DB_OK)
		*requested = flag != 0;
	return rc;
}

int db_work_finish(struct db *db, int64_t job_id, const char *status, const char *error,
		   const char *metrics_json, int64_t model_id, int64_t now)
{
	if (strcmp(status, "succeeded") && strcmp(status, "failed") && strcmp(status, "cancelled"))
		return DB_INVALID;
	int rc = db_run(db, STMT_WORK_FINISH,
		"UPDATE jobs SET status = :status, error = :error,"
		" metrics = coalesce(:metrics, metrics), model_id = coalesce(:model, model_id),"
		" finished_at = :now,"
		" progress = CASE WHEN :status = 'succeeded' THEN 1 ELSE progress END"
		" WHERE id = :id AND status = 'running'",
		DB_ARGS(DB_TEXT(":status", status), DB_TEXT(":error", error),
			DB_TEXT(":metrics", metrics_json), DB_OPT(":model", model_id),
			DB_INT(":now", now), DB_INT(":id", job_id)));
	if (rc < 0)
		return rc;
	return db_changes(db) == 1 ? DB_OK : DB_CONFLICT;
}

int db_work_retry(struct db *db, int64_t id, int64_t now, int64_t *new_id)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = db_prepare(db, STMT_WORK_JOB_COPY,
		"SELECT kind, params, status FROM jobs WHERE id = :id", DB_ARGS(DB_INT(":id", id)));
	if (!st) {
		rc = DB_ERROR;
		goto out_rollback;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		rc = rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a job", rc);
		goto out_rollback;
	}
	char kind[16];
	snprintf(kind, sizeof kind, "%s", db_col_text(st, 0));
	char *params = strdup(db_col_text(st, 1));
	bool finished_badly = strcmp(db_col_text(st, 2), "failed") == 0 ||
			      strcmp(db_col_text(st, 2), "cancelled") == 0;
	sqlite3_reset(st);
	if (!params) {
		rc = db_nomem("cannot retry a job");
		goto out_rollback;
	}
	if (!finished_badly) {
		free(params);
		rc = DB_CONFLICT;
		goto out_rollback;
	}
	rc = db_job_create(db, kind, params, now, new_id);
	free(params);
	if (rc < 0)
		goto out_rollback;
	return db_commit(db);

out_rollback:
	db_rollback(db);
	return rc;
}

int db_work_auto_order_mark(struct db *db, int64_t *mark)
{
	return db_int64(db, STMT_WORK_AUTO_ORDER_MARK,
		"SELECT coalesce(max(max(coalesce(json_extract(metrics, '$.orderings_upto'), 0),"
		" coalesce(json_extract(params, '$.orderings_upto'), 0))), 0)"
		" FROM jobs WHERE kind = 'reward'", NULL, mark);
}

int db_work_auto_new(struct db *db, int64_t cap, int64_t *count)
{
	int64_t mark, omark, rated, judged;
	bool busy;
	int rc;
	if ((rc = db_work_auto_state(db, &mark, &busy)) < 0 ||
	    (rc = db_work_auto_order_mark(db, &omark)) < 0 ||
	    (rc = db_work_ratings_after(db, mark, cap, &rated)) < 0 ||
	    (rc = db_work_orderings_after(db, omark, cap, &judged)) < 0)
		return rc;
	*count = rated + judged < cap ? rated + judged : cap;
	return DB_OK;
}

int db_work_open_answers(struct db *db, int64_t per_group, int64_t *n)
{
	return db_int64(db, STMT_WORK_OPEN_ANSWERS,
		"SELECT count(*) FROM gen_groups g JOIN responses s ON s.group_id = g.id"
		" WHERE g.n_raters < :per_group AND s.origin <> 'human'",
		DB_ARGS(DB_INT(":per_group", per_group)), n);
}

int db_work_auto_state(struct db *db, int64_t *mark, bool *busy)
{
	int64_t m, b;
	int rc = db_int64(db, STMT_WORK_AUTO_MARK,
		"SELECT coalesce(max(max(coalesce(json_extract(metrics, '$.ratings_upto'), 0),"
		" coalesce(json_extract(params, '$.ratings_upto'), 0))), 0)"
		" FROM jobs WHERE kind = 'reward'", NULL, &m);
	if (rc == DB_OK)
		rc = db_int64(db, STMT_WORK_AUTO_BUSY,
			"SELECT EXISTS (SELECT 1 FROM jobs WHERE status IN ('queued', 'running')"
			" AND json_extract(params, '$.auto') = 1)", NULL, &b);
	if (rc < 0)
		return rc;
	*mark = m;
	*busy = b != 0;
	return DB_OK;
}
