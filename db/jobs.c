/*
 * db/jobs.c — jobs, job metrics, model versions (see jobs.h).
 */
#include "db/jobs.h"
#include "db/db_impl.h"

#include <stdio.h>
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
	sqlite3_stmt *st = db_stmt(db, STMT_JOB_INSERT,
		"INSERT INTO jobs(kind, params, created_at) VALUES (:kind, :params, :now)");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":kind", kind);
	db_bind_text(st, ":params", params_json ? params_json : "{}");
	db_bind_int64(st, ":now", now);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return DB_INVALID;
	if (rc != SQLITE_DONE)
		return db_fail(db, "cannot insert a job", rc);
	if (id)
		*id = sqlite3_last_insert_rowid(db->sq);
	return DB_OK;
}

int db_jobs_list(struct db *db, int limit, json_t **out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_JOBS_LIST,
		"SELECT " JOB_COLUMNS " FROM jobs ORDER BY id DESC LIMIT :limit");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":limit", limit);
	json_t *arr = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, job_from_row(st));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return db_fail(db, "cannot list jobs", rc);
	}
	*out = arr;
	return DB_OK;
}

int db_job_get(struct db *db, int64_t id, json_t **out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_JOB_GET,
		"SELECT " JOB_COLUMNS " FROM jobs WHERE id = :id");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":id", id);
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
	sqlite3_stmt *st = db_stmt(db, STMT_JOB_STATUS, "SELECT status FROM jobs WHERE id = :id");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":id", id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(status, 16, "%s", db_col_text(st, 0));
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a job", rc);
}

int db_job_metrics(struct db *db, int64_t id, json_t **out)
{
	char status[16];
	int rc = job_status(db, id, status);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = db_stmt(db, STMT_JOB_METRICS,
		"SELECT step, name, value FROM job_metrics WHERE job_id = :id ORDER BY step, name");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":id", id);
	json_t *arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{sI so sf}",
			"step", (json_int_t)sqlite3_column_int64(st, 0),
			"name", db_col_json_str(st, 1),
			"value", sqlite3_column_double(st, 2)));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return db_fail(db, "cannot read job metrics", rc);
	}
	*out = arr;
	return DB_OK;
}

int db_job_metric_add(struct db *db, int64_t job_id, int64_t step, const char *name, double value)
{
	sqlite3_stmt *st = db_stmt(db, STMT_JOB_METRIC_ADD,
		"INSERT OR REPLACE INTO job_metrics(job_id, step, name, value)"
		" VALUES (:job, :step, :name, :value)");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":job", job_id);
	db_bind_int64(st, ":step", step);
	db_bind_text(st, ":name", name);
	db_bind_double(st, ":value", value);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return DB_NOTFOUND;
	return rc == SQLITE_DONE ? DB_OK : db_fail(db, "cannot add a job metric", rc);
}

int db_job_cancel(struct db *db, int64_t id, int64_t now, char *status_out)
{
	char status[16];
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = job_status(db, id, status)) < 0)
		goto out_rollback;
	sqlite3_stmt *st;
	if (strcmp(status, "queued") == 0) {
		st = db_stmt(db, STMT_JOB_CANCEL_QUEUED,
			"UPDATE jobs SET status = 'cancelled', finished_at = :now WHERE id = :id");
		if (st)
			db_bind_int64(st, ":now", now);
		snprintf(status, sizeof status, "cancelled");
	} else if (strcmp(status, "running") == 0) {
		st = db_stmt(db, STMT_JOB_CANCEL_RUNNING,
			"UPDATE jobs SET cancel_requested = 1 WHERE id = :id");
	} else {
		rc = DB_CONFLICT;
		goto out_rollback;
	}
	if (!st) {
		rc = DB_ERROR;
		goto out_rollback;
	}
	db_bind_int64(st, ":id", id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, "cannot cancel a job", rc);
		goto out_rollback;
	}
	if ((rc = db_commit(db)) < 0)
		return rc;
	if (status_out)
		snprintf(status_out, 16, "%s", status);
	return DB_OK;

out_rollback:
	db_rollback(db);
	return rc;
}

int db_model_create(struct db *db, const char *kind, const char *name, int64_t parent_id,
		    int64_t job_id, const char *params_json, const char *path, int64_t *id)
{
	sqlite3_stmt *st = db_stmt(db, STMT_MODEL_INSERT,
		"INSERT INTO model_versions(kind, name, parent_id, job_id, params, path, created_at)"
		" VALUES (:kind, :name, :parent, :job, :params, :path, :now)");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":kind", kind);
	db_bind_text(st, ":name", name);
	db_bind_opt_int64(st, ":parent", parent_id);
	db_bind_opt_int64(st, ":job", job_id);
	db_bind_text(st, ":params", params_json ? params_json : "{}");
	db_bind_text(st, ":path", path);
	db_bind_int64(st, ":now", db_now());
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return DB_INVALID;
	if (rc != SQLITE_DONE)
		return db_fail(db, "cannot insert a model version", rc);
	if (id)
		*id = sqlite3_last_insert_rowid(db->sq);
	return DB_OK;
}

int db_models_list(struct db *db, json_t **out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_MODELS_LIST,
		"SELECT m.id, m.kind, m.name, m.parent_id, m.job_id, " ISO_TIME("m.created_at") ","
		" m.params, m.metrics, m.path, m.active,"
		" (SELECT count(*) FROM model_version_ratings r WHERE r.model_id = m.id)"
		" FROM model_versions m ORDER BY m.id DESC");
	if (!st)
		return DB_ERROR;
	json_t *arr = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{sI ss so so so ss so so so sb sI}",
			"id", (json_int_t)sqlite3_column_int64(st, 0),
			"kind", db_col_text(st, 1),
			"name", db_col_json_str(st, 2),
			"parent_id", db_col_json_int(st, 3),
			"job_id", db_col_json_int(st, 4),
			"created_at", db_col_text(st, 5),
			"params", db_col_json(st, 6, "{}"),
			"metrics", db_col_json(st, 7, "{}"),
			"path", db_col_json_str(st, 8),
			"active", sqlite3_column_int(st, 9) != 0,
			"ratings", (json_int_t)sqlite3_column_int64(st, 10)));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return db_fail(db, "cannot list models", rc);
	}
	*out = arr;
	return DB_OK;
}

int db_model_kind(struct db *db, int64_t id, char *kind_out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_MODEL_KIND,
		"SELECT kind FROM model_versions WHERE id = :id");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":id", id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(kind_out, 16, "%s", db_col_text(st, 0));
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a model", rc);
}

int db_model_activate(struct db *db, int64_t id)
{
	char kind[16];
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_model_kind(db, id, kind)) < 0)
		goto out_rollback;
	if (strcmp(kind, "reward") == 0) {
		rc = DB_CONFLICT;
		goto out_rollback;
	}
	sqlite3_stmt *st = db_stmt(db, STMT_MODEL_DEACTIVATE,
		"UPDATE model_versions SET active = 0 WHERE active = 1 AND id <> :id");
	if (!st) {
		rc = DB_ERROR;
		goto out_rollback;
	}
	db_bind_int64(st, ":id", id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, "cannot deactivate models", rc);
		goto out_rollback;
	}
	st = db_stmt(db, STMT_MODEL_ACTIVATE, "UPDATE model_versions SET active = 1 WHERE id = :id");
	if (!st) {
		rc = DB_ERROR;
		goto out_rollback;
	}
	db_bind_int64(st, ":id", id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, "cannot activate a model", rc);
		goto out_rollback;
	}
	return db_commit(db);

out_rollback:
	db_rollback(db);
	return rc;
}

int db_model_active(struct db *db, int64_t *id)
{
	sqlite3_stmt *st = db_stmt(db, STMT_MODEL_ACTIVE,
		"SELECT id FROM model_versions WHERE active = 1");
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read the active model", rc);
}
