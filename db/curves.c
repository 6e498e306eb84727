/*
 * db/curves.c — learning curves from people's scores (see curves.h).
 */
#include "db/curves.h"
#include "db/db_impl.h"

#include <stdio.h>

static json_t *human_row(sqlite3_stmt *st)
{
	return json_pack("{sI sI sI sf sf sI sI sI}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"parent_id", (json_int_t)sqlite3_column_int64(st, 1),
		"prompts", (json_int_t)sqlite3_column_int64(st, 2),
		"mean", sqlite3_column_double(st, 3),
		"parent_mean", sqlite3_column_double(st, 4),
		"worse", (json_int_t)sqlite3_column_int64(st, 5),
		"better", (json_int_t)sqlite3_column_int64(st, 6),
		"ties", (json_int_t)sqlite3_column_int64(st, 7));
}

int db_curves_human(struct db *db, json_t **out)
{
	json_t *rows = NULL;
	int rc = db_json_rows(db, STMT_CURVES_HUMAN,
		"WITH s AS ("
		"  SELECT r.prompt_id, r.model_id, avg(x.mean) AS m"
		"  FROM answer_scores x JOIN responses r ON r.id = x.response_id"
		"  WHERE r.model_id IS NOT NULL GROUP BY r.prompt_id, r.model_id)"
		" SELECT v.id, v.parent_id, count(*), avg(p.m), avg(q.m),"
		"        sum(p.m < q.m), sum(p.m > q.m), sum(p.m = q.m)"
		" FROM model_versions v"
		" JOIN s p ON p.model_id = v.id"
		" JOIN s q ON q.model_id = v.parent_id AND q.prompt_id = p.prompt_id"
		" WHERE v.kind <> 'reward'"
		" GROUP BY v.id ORDER BY v.id",
		NULL, human_row, &rows);
	if (rc < 0)
		return rc;
	json_t *map = json_object();
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		char key[24];
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(row, "id")));
		json_object_del(row, "id");
		if (!map || json_object_set(map, key, row) < 0) {
			json_decref(map);
			json_decref(rows);
			return db_nomem("human curves");
		}
	}
	json_decref(rows);
	*out = map;
	return DB_OK;
}
