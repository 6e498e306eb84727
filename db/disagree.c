/*
 * db/disagree.c — pairs the raters and the reward model order oppositely
 * (see disagree.h).
 */
#include "db/disagree.h"
#include "db/db_impl.h"

#include <stdbool.h>

/* One answer of a pair: columns base.. = id, text, mean, ratings, rm. */
static json_t *answer(sqlite3_stmt *st, int base)
{
	return json_pack("{sI so sf sI sf}",
		"id", (json_int_t)sqlite3_column_int64(st, base),
		"text", db_col_json_str(st, base + 1),
		"mean_score", sqlite3_column_double(st, base + 2),
		"ratings", (json_int_t)sqlite3_column_int64(st, base + 3),
		"rm_score", sqlite3_column_double(st, base + 4));
}

int db_disagreements(struct db *db, const char *split, int limit, json_t **out)
{
	/*
	 * scored: the answers with a current human mean and a score from the
	 * newest reward model; pairs: each two of one group once (x.id < y.id),
	 * with size = (mean_x - mean_y) * (rm_y - rm_x), which is positive
	 * exactly when the two orders are opposite and the same whichever of
	 * the two is x.  The one row of totals is always there (LEFT JOIN), so
	 * the counts and the model come back when no pair disagrees.
	 */
	sqlite3_stmt *st = db_prepare(db, STMT_DISAGREEMENTS,
		"WITH m(id) AS (SELECT max(model_id) FROM rm_scores),"
		" scored AS MATERIALIZED ("
		"  SELECT r.id, r.group_id, r.prompt_id, s.mean, s.raters, rs.score AS rm"
		"  FROM m JOIN rm_scores rs ON rs.model_id = m.id"
		"  JOIN responses r ON r.id = rs.response_id"
		"  JOIN prompts p ON p.id = r.prompt_id"
		"  JOIN answer_scores s ON s.response_id = r.id"
		"  WHERE :split IS NULL OR p.split = :split),"
		" pairs AS MATERIALIZED ("
		"  SELECT x.prompt_id AS pid, x.group_id AS gid,"
		"         x.id AS xid, x.mean AS xm, x.raters AS xn, x.rm AS xr,"
		"         y.id AS yid, y.mean AS ym, y.raters AS yn, y.rm AS yr,"
		"         (x.mean - y.mean) * (y.rm - x.rm) AS size"
		"  FROM scored x JOIN scored y ON y.group_id = x.group_id AND y.id > x.id),"
		" totals AS (SELECT count(*) AS compared,"
		"            coalesce(sum(size > 0), 0) AS disagree FROM pairs),"
		" top AS (SELECT * FROM pairs WHERE size > 0"
		"         ORDER BY size DESC, pid, gid, xid, yid LIMIT :limit)"
		" SELECT m.id, t.compared, t.disagree, top.pid, p.text, top.gid, top.size,"
		"        top.xid, rx.text, top.xm, top.xn, top.xr,"
		"        top.yid, ry.text, top.ym, top.yn, top.yr"
		" FROM m, totals t LEFT JOIN top ON 1"
		" LEFT JOIN prompts p ON p.id = top.pid"
		" LEFT JOIN responses rx ON rx.id = top.xid"
		" LEFT JOIN responses ry ON ry.id = top.yid"
		" ORDER BY top.size DESC, top.pid, top.gid, top.xid, top.yid",
		DB_ARGS(DB_TEXT(":split", split), DB_INT(":limit", limit)));
	if (!st)
		return DB_ERROR;
	json_t *items = json_array(), *res = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!res)
			res = json_pack("{so sI sI}",
				"reward_model_id", db_col_json_int(st, 0),
				"pairs_compared", (json_int_t)sqlite3_column_int64(st, 1),
				"disagreements", (json_int_t)sqlite3_column_int64(st, 2));
		if (sqlite3_column_type(st, 3) == SQLITE_NULL)
			continue;   /* no pair disagrees */
		json_t *x = answer(st, 7), *y = answer(st, 12);
		/* a is the answer the raters prefer */
		bool swap = sqlite3_column_double(st, 9) < sqlite3_column_double(st, 14);
		json_array_append_new(items, json_pack("{sI so sI sf so so}",
			"prompt_id", (json_int_t)sqlite3_column_int64(st, 3),
			"prompt", db_col_json_str(st, 4),
			"group_id", (json_int_t)sqlite3_column_int64(st, 5),
			"size", sqlite3_column_double(st, 6),
			"a", swap ? y : x,
			"b", swap ? x : y));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(items);
		json_decref(res);
		return db_fail(db, "cannot read the disagreements", rc);
	}
	if (!res || !items) {
		json_decref(items);
		json_decref(res);
		return db_nomem("cannot read the disagreements");
	}
	json_object_set_new(res, "items", items);
	*out = res;
	return DB_OK;
}
