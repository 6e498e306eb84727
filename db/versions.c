/*
 * db/versions.c — the model_versions table (see versions.h).
 */
#include "db/versions.h"
#include "db/db_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_model_create(struct db *db, const char *kind, const char *name, int64_t parent_id,
		    int64_t job_id, const char *params_json, const char *path, int64_t *id)
{
	int rc = db_run(db, STMT_MODEL_INSERT,
		"INSERT INTO model_versions(kind, name, parent_id, job_id, params, path, created_at)"
		" VALUES (:kind, :name, :parent, :job, :params, :path, :now)",
		DB_ARGS(DB_TEXT(":kind", kind), DB_TEXT(":name", name), DB_OPT(":parent", parent_id),
			DB_OPT(":job", job_id), DB_TEXT(":params", params_json ? params_json : "{}"),
			DB_TEXT(":path", path), DB_INT(":now", db_now())));
	if (rc == DB_OK && id)
		*id = db_last_id(db);
	return rc;
}

static json_t *model_from_row(sqlite3_stmt *st)
{
	return json_pack("{sI ss so so so ss so so so sb sI}",
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
		"ratings", (json_int_t)sqlite3_column_int64(st, 10));
}

int db_models_list(struct db *db, json_t **out)
{
	return db_json_rows(db, STMT_MODELS_LIST,
		"SELECT m.id, m.kind, m.name, m.parent_id, m.job_id, " ISO_TIME("m.created_at") ","
		" m.params, m.metrics, m.path, m.active,"
		" (SELECT count(*) FROM model_version_ratings r WHERE r.model_id = m.id)"
		" FROM model_versions m ORDER BY m.id DESC", NULL, model_from_row, out);
}

int db_model_kind(struct db *db, int64_t id, char *kind_out)
{
	return db_text(db, STMT_MODEL_KIND, "SELECT kind FROM model_versions WHERE id = :id",
		       DB_ARGS(DB_INT(":id", id)), kind_out, 16);
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
	if ((rc = db_run(db, STMT_MODEL_DEACTIVATE,
			 "UPDATE model_versions SET active = 0 WHERE active = 1 AND id <> :id",
			 DB_ARGS(DB_INT(":id", id)))) < 0 ||
	    (rc = db_run(db, STMT_MODEL_ACTIVATE, "UPDATE model_versions SET active = 1 WHERE id = :id",
			 DB_ARGS(DB_INT(":id", id)))) < 0)
		goto out_rollback;
	return db_commit(db);

out_rollback:
	db_rollback(db);
	return rc;
}

int db_model_active(struct db *db, int64_t *id)
{
	return db_int64(db, STMT_MODEL_ACTIVE, "SELECT id FROM model_versions WHERE active = 1",
			NULL, id);
}

/* ---- the worker's side ------------------------------------------------- */

void db_work_model_release(struct db_work_model *m)
{
	free(m->path);
	free(m->name);
	memset(m, 0, sizeof *m);
}

/* *out = a new copy of the column's text, NULL for NULL.  0, or -1 when out
 * of memory. */
static int col_strdup(sqlite3_stmt *st, int col, char **out)
{
	*out = NULL;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	*out = strdup(db_col_text(st, col));
	return *out ? 0 : -1;
}

int db_work_model_get(struct db *db, int64_t id, struct db_work_model *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_prepare(db, STMT_WORK_MODEL_GET,
		"SELECT id, kind, parent_id, path, name, active FROM model_versions WHERE id = :id",
		DB_ARGS(DB_INT(":id", id)));
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	bool nomem = false;
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		snprintf(out->kind, sizeof out->kind, "%s", db_col_text(st, 1));
		out->parent_id = sqlite3_column_int64(st, 2);
		nomem = col_strdup(st, 3, &out->path) < 0 || col_strdup(st, 4, &out->name) < 0;
		out->active = sqlite3_column_int(st, 5) != 0;
	}
	sqlite3_reset(st);
	if (nomem) {
		db_work_model_release(out);
		return db_nomem("cannot read a model");
	}
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a model", rc);
}

int db_work_model_latest(struct db *db, const char *kind, int64_t *id)
{
	return db_int64(db, STMT_WORK_MODEL_LATEST,
			"SELECT max(id) FROM model_versions WHERE kind = :kind",
			DB_ARGS(DB_TEXT(":kind", kind)), id);
}

/* Runs an UPDATE of one version: DB_NOTFOUND when it changed no row. */
static int update_one(struct db *db, enum stmt_id id, const char *sql, const struct db_arg *args)
{
	int rc = db_run(db, id, sql, args);
	if (rc < 0)
		return rc;
	return db_changes(db) == 1 ? DB_OK : DB_NOTFOUND;
}

int db_work_model_set_path(struct db *db, int64_t id, const char *path)
{
	return update_one(db, STMT_WORK_MODEL_PATH,
		"UPDATE model_versions SET path = :path WHERE id = :id",
		DB_ARGS(DB_TEXT(":path", path), DB_INT(":id", id)));
}

int db_work_model_add_ratings(struct db *db, int64_t id, const int64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = db_run(db, STMT_WORK_MODEL_RATING,
			"INSERT OR IGNORE INTO model_version_ratings(model_id, rating_id) VALUES (:m, :r)",
			DB_ARGS(DB_INT(":m", id), DB_INT(":r", ids[i])));
		if (rc < 0)
			return rc;
	}
	return DB_OK;
}

int db_work_model_set_metrics(struct db *db, int64_t id, const char *metrics_json)
{
	return update_one(db, STMT_WORK_MODEL_SET_METRICS,
		"UPDATE model_versions SET metrics = :metrics WHERE id = :id",
		DB_ARGS(DB_TEXT(":metrics", metrics_json ? metrics_json : "{}"), DB_INT(":id", id)));
}

int db_work_model_set_metric(struct db *db, int64_t id, const char *key, const char *value_json)
{
	if (!key[0] || strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
	    strlen(key))
		return DB_INVALID;
	return update_one(db, STMT_WORK_MODEL_METRIC_KEY,
		"UPDATE model_versions SET metrics = json_set(metrics, '$.' || :key, json(:value))"
		" WHERE id = :id",
		DB_ARGS(DB_TEXT(":key", key), DB_TEXT(":value", value_json), DB_INT(":id", id)));
}

int db_work_model_merge_metrics(struct db *db, int64_t id, const char *patch_json)
{
	return update_one(db, STMT_WORK_MODEL_METRICS,
		"UPDATE model_versions SET metrics = json_patch(metrics, :patch) WHERE id = :id",
		DB_ARGS(DB_TEXT(":patch", patch_json), DB_INT(":id", id)));
}

static json_t *metrics_row(sqlite3_stmt *st)
{
	return db_col_json(st, 0, "{}");
}

int db_work_model_metrics(struct db *db, int64_t id, json_t **out)
{
	json_t *rows = NULL;
	int rc = db_json_rows(db, STMT_WORK_MODEL_METRICS_GET,
		"SELECT metrics FROM model_versions WHERE id = :id",
		DB_ARGS(DB_INT(":id", id)), metrics_row, &rows);
	if (rc < 0)
		return rc;
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return DB_NOTFOUND;
	}
	*out = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return DB_OK;
}

int db_work_model_candidate(struct db *db, int64_t parent, int64_t *id)
{
	return db_int64(db, STMT_WORK_MODEL_CANDIDATE,
		"SELECT id FROM (SELECT id, metrics FROM model_versions"
		"  WHERE kind = 'policy' AND parent_id = :parent"
		"  AND json_extract(metrics, '$.promotion.decision') = 'candidate'"
		"  AND json_extract(metrics, '$.promotion.mode') = 'gate'"
		"  AND coalesce(json_extract(metrics, '$.promotion.sound'), 1) = 1"
		"  ORDER BY id DESC LIMIT 1)"
		" WHERE json_type(metrics, '$.verdict') IS NULL",
		DB_ARGS(DB_INT(":parent", parent)), id);
}

int db_work_model_best_latest(struct db *db, int64_t ref, int64_t *id)
{
	return db_int64(db, STMT_WORK_MODEL_BEST_LATEST,
		"SELECT m.id FROM model_versions m JOIN jobs j ON j.id = m.job_id"
		" WHERE m.kind = 'policy' AND j.kind = 'best'"
		" AND json_extract(m.metrics, '$.ref_model_id') = :ref"
		" AND json_type(m.metrics, '$.rollback') IS NULL"
		" AND coalesce(json_extract(m.metrics, '$.promotion.sound'), 1) = 1"
		" ORDER BY m.id DESC LIMIT 1",
		DB_ARGS(DB_INT(":ref", ref)), id);
}

int db_work_model_rated(struct db *db, int64_t model, int64_t per_group, int64_t *rated,
			int64_t *total)
{
	sqlite3_stmt *st = db_prepare(db, STMT_WORK_MODEL_RATED,
		"SELECT count(*), coalesce(sum(g.n_raters >= :per_group), 0)"
		" FROM responses r JOIN gen_groups g ON g.id = r.group_id"
		" WHERE r.model_id = :m AND r.origin <> 'human'",
		DB_ARGS(DB_INT(":m", model), DB_INT(":per_group", per_group)));
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*total = sqlite3_column_int64(st, 0);
		*rated = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? DB_OK : db_fail(db, "model answers rated", rc);
}

int db_work_model_paired(struct db *db, int64_t a, int64_t b, enum db_paired which,
			 double **diff, int *n)
{
	*diff = NULL;
	*n = 0;
	sqlite3_stmt *st = db_prepare(db, STMT_WORK_MODEL_PAIRED,
		"WITH trained(prompt_id) AS (" TRAINED_PROMPTS(":a, :b") "),"
		" s AS ("
		"  SELECT r.prompt_id, r.model_id, avg(x.mean) AS m"
		"  FROM answer_scores x JOIN responses r ON r.id = x.response_id"
		"  JOIN gen_groups g ON g.id = r.group_id JOIN prompts pr ON pr.id = r.prompt_id"
		"  WHERE r.model_id IN (:a, :b) AND json_extract(g.params, '$.explore') IS NOT 1"
		"  AND pr.split <> 'eval'"
		"  AND (:which = 0 OR (r.prompt_id IN trained) = (:which = 2))"
		"  GROUP BY r.prompt_id, r.model_id)"
		" SELECT p.m - q.m FROM s p JOIN s q ON q.prompt_id = p.prompt_id"
		" WHERE p.model_id = :a AND q.model_id = :b ORDER BY p.prompt_id",
		DB_ARGS(DB_INT(":a", a), DB_INT(":b", b), DB_INT(":which", which)));
	if (!st)
		return DB_ERROR;
	int rc, cap = 0;
	double *d = NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (db_grow((void **)&d, &cap, *n + 1, sizeof *d) < 0) {
			sqlite3_reset(st);
			free(d);
			*n = 0;
			return db_fail(db, "model pairs: out of memory", SQLITE_NOMEM);
		}
		d[(*n)++] = sqlite3_column_double(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(d);
		*n = 0;
		return db_fail(db, "model pairs", rc);
	}
	*diff = d;
	return DB_OK;
}

int db_work_model_verdict(struct db *db, int64_t a, int64_t b, int *worse, int *better, int *ties)
{
	double *d = NULL;
	int n = 0, rc = db_work_model_paired(db, a, b, DB_PAIRED_UNSEEN, &d, &n);
	if (rc < 0)
		return rc;
	*worse = *better = *ties = 0;
	for (int i = 0; i < n; i++) {
		*worse += d[i] < 0;
		*better += d[i] > 0;
		*ties += d[i] == 0;
	}
	free(d);
	return DB_OK;
}
