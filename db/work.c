/*
 * db/work.c — the worker's queries on jobs and model versions (see work.h).
 */
#include "db/work.h"
#include "db/db_impl.h"
#include "db/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void db_work_job_release(struct db_work_job *j)
{
	free(j->params);
	memset(j, 0, sizeof *j);
}

void db_work_model_release(struct db_work_model *m)
{
	free(m->path);
	free(m->name);
	memset(m, 0, sizeof *m);
}

/* Runs a prepared statement that returns no rows; resets it. */
static int step_done(struct db *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		fprintf(stderr, "db: %s: %s\n", what, sqlite3_errmsg(db->sq));
		return DB_INVALID;
	}
	return rc == SQLITE_DONE ? DB_OK : db_fail(db, what, rc);
}

static char *col_strdup(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	return strdup(db_col_text(st, col));
}

int db_work_recover(struct db *db, const char *reason, int64_t now, int *n)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_RECOVER,
		"UPDATE jobs SET status = 'failed', error = :reason, finished_at = :now,"
		" cancel_requested = 0 WHERE status = 'running'");
	if (!st) {
		db_rollback(db);
		return DB_ERROR;
	}
	db_bind_text(st, ":reason", reason);
	db_bind_int64(st, ":now", now);
	if ((rc = step_done(db, st, "cannot mark interrupted jobs")) < 0) {
		db_rollback(db);
		return rc;
	}
	int changed = sqlite3_changes(db->sq);
	if ((rc = db_commit(db)) < 0)
		return rc;
	if (n)
		*n = changed;
	return DB_OK;
}

/* Reads the job row (id = 0: the oldest queued one) into out; DB_NOTFOUND,
 * or DB_CONFLICT when a named job is not queued.  Inside a transaction. */
static int pick(struct db *db, int64_t id, struct db_work_job *out)
{
	sqlite3_stmt *st = id ?
		db_stmt(db, STMT_WORK_JOB_COPY, "SELECT kind, params, status FROM jobs WHERE id = :id") :
		db_stmt(db, STMT_WORK_OLDEST, "SELECT kind, params, status, id FROM jobs"
			" WHERE status = 'queued' ORDER BY id LIMIT 1");
	if (!st)
		return DB_ERROR;
	if (id)
		db_bind_int64(st, ":id", id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = id ? id : sqlite3_column_int64(st, 3);
		snprintf(out->kind, sizeof out->kind, "%s", db_col_text(st, 0));
		out->params = strdup(db_col_text(st, 1));
		bool queued = strcmp(db_col_text(st, 2), "queued") == 0;
		sqlite3_reset(st);
		if (!out->params)
			return DB_ERROR;
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
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_START,
		"UPDATE jobs SET status = 'running', started_at = :now, progress = 0,"
		" cancel_requested = 0 WHERE id = :id");
	if (!st) {
		rc = DB_ERROR;
		goto out_release;
	}
	db_bind_int64(st, ":now", now);
	db_bind_int64(st, ":id", out->id);
	if ((rc = step_done(db, st, "cannot start a job")) < 0)
		goto out_release;
	if ((rc = db_commit(db)) < 0)
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
	if (progress >= 0) {
		sqlite3_stmt *st = db_stmt(db, STMT_WORK_PROGRESS,
			"UPDATE jobs SET progress = :p WHERE id = :id");
		if (!st) {
			rc = DB_ERROR;
			goto out_rollback;
		}
		db_bind_double(st, ":p", progress > 1 ? 1 : progress);
		db_bind_int64(st, ":id", job_id);
		if ((rc = step_done(db, st, "cannot set job progress")) < 0)
			goto out_rollback;
	}
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
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_CANCEL_FLAG,
		"SELECT cancel_requested FROM jobs WHERE id = :id");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":id", job_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*requested = sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a job", rc);
}

int db_work_finish(struct db *db, int64_t job_id, const char *status, const char *error,
		   const char *metrics_json, int64_t model_id, int64_t now)
{
	if (strcmp(status, "succeeded") && strcmp(status, "failed") && strcmp(status, "cancelled"))
		return DB_INVALID;
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_FINISH,
		"UPDATE jobs SET status = :status, error = :error,"
		" metrics = coalesce(:metrics, metrics), model_id = coalesce(:model, model_id),"
		" finished_at = :now,"
		" progress = CASE WHEN :status = 'succeeded' THEN 1 ELSE progress END"
		" WHERE id = :id AND status = 'running'");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":status", status);
	db_bind_text(st, ":error", error);
	db_bind_text(st, ":metrics", metrics_json);
	db_bind_opt_int64(st, ":model", model_id);
	db_bind_int64(st, ":now", now);
	db_bind_int64(st, ":id", job_id);
	int rc = step_done(db, st, "cannot finish a job");
	if (rc < 0)
		return rc;
	return sqlite3_changes(db->sq) == 1 ? DB_OK : DB_CONFLICT;
}

int db_work_retry(struct db *db, int64_t id, int64_t now, int64_t *new_id)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_JOB_COPY,
		"SELECT kind, params, status FROM jobs WHERE id = :id");
	if (!st) {
		rc = DB_ERROR;
		goto out_rollback;
	}
	db_bind_int64(st, ":id", id);
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
		rc = DB_ERROR;
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

int db_work_model_get(struct db *db, int64_t id, struct db_work_model *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_MODEL_GET,
		"SELECT id, kind, parent_id, path, name, active FROM model_versions WHERE id = :id");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":id", id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		snprintf(out->kind, sizeof out->kind, "%s", db_col_text(st, 1));
		out->parent_id = sqlite3_column_int64(st, 2);
		out->path = col_strdup(st, 3);
		out->name = col_strdup(st, 4);
		out->active = sqlite3_column_int(st, 5) != 0;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a model", rc);
}

int db_work_model_latest(struct db *db, const char *kind, int64_t *id)
{
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_MODEL_LATEST,
		"SELECT max(id) FROM model_versions WHERE kind = :kind");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":kind", kind);
	int rc = sqlite3_step(st);
	bool found = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
	if (found)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_fail(db, "cannot read models", rc);
	return found ? DB_OK : DB_NOTFOUND;
}

int db_work_model_set_path(struct db *db, int64_t id, const char *path)
{
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_MODEL_PATH,
		"UPDATE model_versions SET path = :path WHERE id = :id");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":path", path);
	db_bind_int64(st, ":id", id);
	int rc = step_done(db, st, "cannot set a model's path");
	if (rc < 0)
		return rc;
	return sqlite3_changes(db->sq) == 1 ? DB_OK : DB_NOTFOUND;
}

int db_work_model_add_ratings(struct db *db, int64_t id, const int64_t *ids, size_t n)
{
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_MODEL_RATING,
		"INSERT OR IGNORE INTO model_version_ratings(model_id, rating_id) VALUES (:m, :r)");
	if (!st)
		return DB_ERROR;
	for (size_t i = 0; i < n; i++) {
		sqlite3_clear_bindings(st);
		db_bind_int64(st, ":m", id);
		db_bind_int64(st, ":r", ids[i]);
		int rc = step_done(db, st, "cannot record a model's rating");
		if (rc < 0)
			return rc;
	}
	return DB_OK;
}

int db_work_model_set_metrics(struct db *db, int64_t id, const char *metrics_json)
{
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_MODEL_SET_METRICS,
		"UPDATE model_versions SET metrics = :metrics WHERE id = :id");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":metrics", metrics_json ? metrics_json : "{}");
	db_bind_int64(st, ":id", id);
	int rc = step_done(db, st, "cannot set a model's metrics");
	if (rc < 0)
		return rc;
	return sqlite3_changes(db->sq) == 1 ? DB_OK : DB_NOTFOUND;
}

int db_work_model_set_metric(struct db *db, int64_t id, const char *key, const char *value_json)
{
	if (!key[0] || strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
	    strlen(key))
		return DB_INVALID;
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_MODEL_METRIC_KEY,
		"UPDATE model_versions SET metrics = json_set(metrics, '$.' || :key, json(:value))"
		" WHERE id = :id");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":key", key);
	db_bind_text(st, ":value", value_json);
	db_bind_int64(st, ":id", id);
	int rc = step_done(db, st, "cannot set a model's metric");
	if (rc < 0)
		return rc;
	return sqlite3_changes(db->sq) == 1 ? DB_OK : DB_NOTFOUND;
}

int db_work_model_merge_metrics(struct db *db, int64_t id, const char *patch_json)
{
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_MODEL_METRICS,
		"UPDATE model_versions SET metrics = json_patch(metrics, :patch) WHERE id = :id");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":patch", patch_json);
	db_bind_int64(st, ":id", id);
	int rc = step_done(db, st, "cannot set a model's metrics");
	if (rc < 0)
		return rc;
	return sqlite3_changes(db->sq) == 1 ? DB_OK : DB_NOTFOUND;
}

int db_work_response_insert(struct db *db, int64_t group_id, int64_t prompt_id,
			    int64_t model_id, const char *text, int token_count, bool ended,
			    int64_t *id)
{
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_RESPONSE_INSERT,
		"INSERT INTO responses(group_id, prompt_id, model_id, text, token_count, ended,"
		" created_at) VALUES (:group, :prompt, :model, :text, :tokens, :ended, :now)");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":group", group_id);
	db_bind_int64(st, ":prompt", prompt_id);
	db_bind_opt_int64(st, ":model", model_id);
	db_bind_text(st, ":text", text);
	db_bind_int64(st, ":tokens", token_count);
	db_bind_int64(st, ":ended", ended ? 1 : 0);
	db_bind_int64(st, ":now", db_now());
	int rc = step_done(db, st, "cannot insert a response");
	if (rc == DB_OK && id)
		*id = sqlite3_last_insert_rowid(db->sq);
	return rc;
}

/* ---- auto-training ---------------------------------------------------- */

int db_work_auto_state(struct db *db, int64_t *mark, bool *busy)
{
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_AUTO_MARK,
		"SELECT coalesce(max(max(coalesce(json_extract(metrics, '$.ratings_upto'), 0),"
		" coalesce(json_extract(params, '$.ratings_upto'), 0))), 0)"
		" FROM jobs WHERE kind = 'reward'");
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*mark = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_fail(db, "cannot read the auto-training mark", rc);
	st = db_stmt(db, STMT_WORK_AUTO_BUSY,
		"SELECT EXISTS (SELECT 1 FROM jobs WHERE status IN ('queued', 'running')"
		" AND json_extract(params, '$.auto') = 1)");
	if (!st)
		return DB_ERROR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*busy = sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? DB_OK : db_fail(db, "cannot read the job queue", rc);
}

int db_work_ratings_after(struct db *db, int64_t after, int64_t cap, int64_t *count)
{
	/* a rowid range scan that stops after cap rows: cheap whatever the table size */
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_RATINGS_AFTER,
		"SELECT count(*) FROM (SELECT 1 FROM ratings WHERE id > :after"
		" AND superseded_at IS NULL LIMIT :cap)");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":after", after);
	db_bind_int64(st, ":cap", cap);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? DB_OK : db_fail(db, "cannot count ratings", rc);
}

int db_work_max_rating_id(struct db *db, int64_t *id)
{
	sqlite3_stmt *st = db_stmt(db, STMT_WORK_MAX_RATING,
		"SELECT coalesce(max(id), 0) FROM ratings");
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? DB_OK : db_fail(db, "cannot read ratings", rc);
}
