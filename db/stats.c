/*
 * db/stats.c — counts, histogram, per-rater counts, agreement (see stats.h).
 */
#include "db/stats.h"
#include "db/agreement.h"
#include "db/db_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int db_counts(struct db *db, struct db_counts *out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_STATS_COUNTS,
		"SELECT (SELECT count(*) FROM prompts), (SELECT count(*) FROM responses),"
		" (SELECT count(*) FROM gen_groups),"
		" (SELECT count(*) FROM ratings WHERE superseded_at IS NULL),"
		" (SELECT count(*) FROM ratings), (SELECT count(*) FROM raters),"
		" (SELECT count(*) FROM jobs WHERE status = 'queued'),"
		" (SELECT count(*) FROM jobs WHERE status = 'running')");
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->prompts = sqlite3_column_int64(st, 0);
		out->responses = sqlite3_column_int64(st, 1);
		out->groups = sqlite3_column_int64(st, 2);
		out->ratings = sqlite3_column_int64(st, 3);
		out->ratings_total = sqlite3_column_int64(st, 4);
		out->raters = sqlite3_column_int64(st, 5);
		out->jobs_queued = sqlite3_column_int64(st, 6);
		out->jobs_running = sqlite3_column_int64(st, 7);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? DB_OK : db_fail(db, "cannot count", rc);
}

int db_agreement(struct db *db, json_t **out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_STATS_AGREEMENT,
		"SELECT response_id, score FROM ratings WHERE superseded_at IS NULL"
		" AND response_id IN (SELECT response_id FROM ratings WHERE superseded_at IS NULL"
		"                     GROUP BY response_id HAVING count(*) >= 2)"
		" ORDER BY response_id");
	if (!st)
		return DB_ERROR;
	double *values = NULL;
	int *unit_len = NULL;
	size_t nv = 0, cap_v = 0;
	int nu = 0, cap_u = 0, rc;
	int64_t last = -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t resp = sqlite3_column_int64(st, 0);
		if (nv == cap_v) {
			cap_v = cap_v ? 2 * cap_v : 256;
			double *p = realloc(values, cap_v * sizeof *p);
			if (!p)
				goto out_oom;
			values = p;
		}
		if (resp != last) {
			if (nu == cap_u) {
				cap_u = cap_u ? 2 * cap_u : 128;
				int *p = realloc(unit_len, cap_u * sizeof *p);
				if (!p)
					goto out_oom;
				unit_len = p;
			}
			unit_len[nu++] = 0;
			last = resp;
		}
		values[nv++] = sqlite3_column_double(st, 1);
		unit_len[nu - 1]++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(values);
		free(unit_len);
		return db_fail(db, "cannot read ratings for agreement", rc);
	}
	struct agreement_counts c;
	double alpha = agreement_alpha_interval(values, unit_len, nu, &c);
	free(values);
	free(unit_len);

	int64_t groups = 0;
	if ((rc = db_int64(db, STMT_STATS_GROUPS_MULTI,
			   "SELECT count(*) FROM gen_groups WHERE n_raters >= 2", NULL, &groups)) < 0)
		return rc;

	*out = json_pack("{so ss sI si si sI}",
		"alpha", isnan(alpha) ? json_null() : json_real(alpha),
		"metric", "interval",
		"groups", (json_int_t)groups,
		"units", c.units,
		"values", c.values,
		"pairs", (json_int_t)c.pairs);
	return DB_OK;

out_oom:
	sqlite3_reset(st);
	free(values);
	free(unit_len);
	return db_nomem("cannot compute agreement");
}

int db_stats(struct db *db, json_t **out)
{
	struct db_counts c;
	int rc = db_counts(db, &c);
	if (rc < 0)
		return rc;
	json_t *s = json_pack("{sI sI sI sI sI sI}",
		"prompts", (json_int_t)c.prompts, "responses", (json_int_t)c.responses,
		"groups", (json_int_t)c.groups, "ratings", (json_int_t)c.ratings,
		"ratings_total", (json_int_t)c.ratings_total, "raters", (json_int_t)c.raters);

	json_int_t hist[5] = { 0 };
	sqlite3_stmt *st = db_stmt(db, STMT_STATS_HISTOGRAM,
		"SELECT score, count(*) FROM ratings WHERE superseded_at IS NULL GROUP BY score");
	if (!st)
		goto out_error;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int score = sqlite3_column_int(st, 0);
		if (score >= 1 && score <= 5)
			hist[score - 1] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto out_fail;
	json_object_set_new(s, "score_histogram",
		json_pack("[IIIII]", hist[0], hist[1], hist[2], hist[3], hist[4]));

	st = db_stmt(db, STMT_STATS_PER_RATER,
		"SELECT r.id, r.name, r.role, count(t.id) FROM raters r"
		" LEFT JOIN ratings t ON t.rater_id = r.id AND t.superseded_at IS NULL"
		" GROUP BY r.id ORDER BY r.id");
	if (!st)
		goto out_error;
	json_t *per = json_array();
	json_object_set_new(s, "per_rater", per);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(per, json_pack("{sI so ss sI}",
			"id", (json_int_t)sqlite3_column_int64(st, 0),
			"name", db_col_json_str(st, 1),
			"role", db_col_text(st, 2),
			"ratings", (json_int_t)sqlite3_column_int64(st, 3)));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto out_fail;

	st = db_stmt(db, STMT_STATS_JOBS, "SELECT status, count(*) FROM jobs GROUP BY status");
	if (!st)
		goto out_error;
	json_t *jobs = json_pack("{sisisisisi}", "queued", 0, "running", 0, "succeeded", 0,
				 "failed", 0, "cancelled", 0);
	json_object_set_new(s, "jobs", jobs);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(jobs, db_col_text(st, 0), json_integer(sqlite3_column_int64(st, 1)));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto out_fail;

	json_t *agreement;
	if ((rc = db_agreement(db, &agreement)) < 0) {
		json_decref(s);
		return rc;
	}
	json_object_set_new(s, "agreement", agreement);
	*out = s;
	return DB_OK;

out_fail:
	json_decref(s);
	return db_fail(db, "cannot compute stats", rc);
out_error:
	json_decref(s);
	return DB_ERROR;
}
