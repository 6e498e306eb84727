/*
 * db/spotcheck.c — the spot_checks table (see spotcheck.h).
 */
#include "db/spotcheck.h"
#include "db/db_impl.h"

#include <math.h>
#include <string.h>

int db_spot_has(struct db *db, int64_t model_id, bool *has)
{
	int64_t n = 0;
	int rc = db_int64(db, STMT_SPOT_HAS,
		"SELECT EXISTS (SELECT 1 FROM spot_checks WHERE model_id = :m)",
		DB_ARGS(DB_INT(":m", model_id)), &n);
	*has = rc == DB_OK && n != 0;
	return rc < 0 ? rc : DB_OK;
}

int db_spot_pick(struct db *db, int64_t model_id, int n, int *picked)
{
	bool has = false;
	int rc;
	*picked = 0;
	if (n <= 0 || (rc = db_spot_has(db, model_id, &has)) < 0 || has)
		return n <= 0 || has ? DB_OK : rc;
	/* the best unrated answer of each prompt under the newest reward model,
	 * the n best of those */
	rc = db_run(db, STMT_SPOT_PICK,
		"WITH rm AS (SELECT max(id) AS id FROM model_versions WHERE kind = 'reward'),"
		" c AS (SELECT r.id, r.group_id, s.score, s.model_id AS rm_id,"
		"       row_number() OVER (PARTITION BY r.prompt_id ORDER BY s.score DESC, r.id) AS k"
		"       FROM responses r JOIN rm_scores s ON s.response_id = r.id"
		"       AND s.model_id = (SELECT id FROM rm)"
		"       WHERE r.model_id = :m AND NOT EXISTS (SELECT 1 FROM current_ratings x"
		"                                             WHERE x.response_id = r.id))"
		" INSERT INTO spot_checks(model_id, response_id, group_id, rm_model_id, rm_score, created_at)"
		" SELECT :m, id, group_id, rm_id, score, :now FROM c WHERE k = 1"
		" ORDER BY score DESC, id LIMIT :n",
		DB_ARGS(DB_INT(":m", model_id), DB_INT(":n", n), DB_INT(":now", db_now())));
	if (rc == DB_OK)
		*picked = db_changes(db);
	return rc;
}

int db_spot_unscored(struct db *db, int64_t model_id, bool *unscored)
{
	int64_t n = 0;
	int rc = db_int64(db, STMT_SPOT_UNSCORED,
		"SELECT EXISTS (SELECT 1 FROM responses r"
		" WHERE r.model_id = :m AND NOT EXISTS (SELECT 1 FROM rm_scores s"
		"   WHERE s.response_id = r.id"
		"   AND s.model_id = (SELECT max(id) FROM model_versions WHERE kind = 'reward')))"
		" AND EXISTS (SELECT 1 FROM model_versions WHERE kind = 'reward')",
		DB_ARGS(DB_INT(":m", model_id)), &n);
	*unscored = rc == DB_OK && n != 0;
	return rc < 0 ? rc : DB_OK;
}

static double col_real(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

int db_spot_get(struct db *db, int64_t model_id, struct db_spot *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_prepare(db, STMT_SPOT_FIGURES,
		"SELECT max(s.rm_model_id), count(*), avg(s.rm_score), count(x.response_id),"
		"       coalesce(sum(x.raters), 0), avg(x.mean),"
		"       (SELECT parent_id FROM model_versions WHERE id = :m)"
		" FROM spot_checks s LEFT JOIN answer_scores x ON x.response_id = s.response_id"
		" WHERE s.model_id = :m",
		DB_ARGS(DB_INT(":m", model_id)));
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return db_fail(db, "cannot read the spot checks", rc);
	}
	out->answers = sqlite3_column_int(st, 1);
	out->rm_model_id = sqlite3_column_int64(st, 0);
	out->rm_mean = col_real(st, 2);
	out->rated = sqlite3_column_int(st, 3);
	out->ratings = sqlite3_column_int(st, 4);
	out->human_mean = col_real(st, 5);
	out->parent_id = sqlite3_column_int64(st, 6);
	sqlite3_reset(st);
	if (out->answers == 0)
		return DB_NOTFOUND;

	/* paired with the parent, prompt by prompt */
	st = db_prepare(db, STMT_SPOT_PAIRED,
		"WITH v AS (SELECT r.prompt_id, avg(x.mean) AS h, avg(s.rm_score) AS rm"
		"           FROM spot_checks s JOIN responses r ON r.id = s.response_id"
		"           JOIN answer_scores x ON x.response_id = s.response_id"
		"           WHERE s.model_id = :m GROUP BY r.prompt_id),"
		" p AS (SELECT r.prompt_id, avg(x.mean) AS h, avg(q.score) AS rm"
		"       FROM responses r JOIN answer_scores x ON x.response_id = r.id"
		"       JOIN rm_scores q ON q.response_id = r.id AND q.model_id = :rm"
		"       WHERE r.model_id = :parent AND r.prompt_id IN (SELECT prompt_id FROM v)"
		"       GROUP BY r.prompt_id)"
		" SELECT count(*), avg(v.rm), avg(p.rm), avg(v.h), avg(p.h),"
		"        coalesce(sum(v.h < p.h), 0), coalesce(sum(v.h > p.h), 0),"
		"        coalesce(sum(v.h = p.h), 0)"
		" FROM v JOIN p ON p.prompt_id = v.prompt_id",
		DB_ARGS(DB_INT(":m", model_id), DB_INT(":rm", out->rm_model_id),
			DB_INT(":parent", out->parent_id)));
	if (!st)
		return DB_ERROR;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return db_fail(db, "cannot read the spot checks", rc);
	}
	out->prompts = sqlite3_column_int(st, 0);
	out->rm_paired = col_real(st, 1);
	out->parent_rm_paired = col_real(st, 2);
	out->human_paired = col_real(st, 3);
	out->parent_human_paired = col_real(st, 4);
	out->worse = sqlite3_column_int(st, 5);
	out->better = sqlite3_column_int(st, 6);
	out->ties = sqlite3_column_int(st, 7);
	sqlite3_reset(st);
	return DB_OK;
}
