/*
 * server/http/api_stats.c — the stats resource: counts of prompts, answers,
 * ratings and raters, the score histogram and the agreement between raters
 * (db/stats.h computes them), where the auto-training loop stands, and how
 * durable a rating is (serve's --durability, read back from the database
 * connection that writes ratings).
 */
#include "server/http/api.h"
#include "db/config.h"
#include "db/db.h"
#include "db/groupcommit.h"
#include "db/jobs.h"
#include "db/quality.h"
#include "db/ratings.h"
#include "db/stats.h"

#include <stdio.h>

/* The default of auto_train.reward_every_n_ratings and its range, as the loop
 * reads it (server/worker/autotrain.c: a bad value counts as the default). */
#define EVERY_DEFAULT 50
#define EVERY_MAX 1000000

/* {"mode": "full"|"normal", "ratings_synchronous": PRAGMA synchronous of the
 * connection that commits ratings, and with group commit its counters} */
static json_t *durability(struct request *r)
{
	if (!db_gc_running())
		return json_pack("{ss ss}", "mode", "normal", "ratings_synchronous",
				 db_synchronous_name(r->db));
	struct db_gc_stats st;
	db_gc_stats(&st);
	return json_pack("{ss ss s{sI sI sI}}", "mode", "full", "ratings_synchronous",
			 db_gc_synchronous(), "group_commit", "commits", (json_int_t)st.commits,
			 "writes", (json_int_t)st.writes, "max_batch", (json_int_t)st.max_batch);
}

/*
 * GET /api/stats' "auto_train" (read only, for the admin page's Training
 * panel): {"enabled", "every": reward_every_n_ratings, "since_last": current
 * ratings and judged answers newer than the last reward job's marks
 * (db_work_auto_new, counted up to every),
 * "remaining": every - since_last (0 = a round starts when the worker's queue
 * is next empty), "busy": an auto job is queued or running (no new round
 * starts meanwhile)}.  The same counters the worker's autotrain_tick reads.
 */
static json_t *auto_train_state(struct db *db, int *rc)
{
	json_t *at = NULL;
	int64_t every = EVERY_DEFAULT, mark = 0, count = 0;
	bool busy = false;
	*rc = db_config_get(db, "auto_train", &at);
	if (*rc == DB_NOTFOUND)
		*rc = DB_OK;
	if (*rc < 0)
		return NULL;
	json_t *e = json_object_get(at, "reward_every_n_ratings");
	if (json_is_integer(e) && json_integer_value(e) >= 1 && json_integer_value(e) <= EVERY_MAX)
		every = json_integer_value(e);
	bool enabled = json_is_true(json_object_get(at, "enabled"));
	json_decref(at);
	if ((*rc = db_work_auto_state(db, &mark, &busy)) < 0 ||
	    (*rc = db_work_auto_new(db, every, &count)) < 0)
		return NULL;
	return json_pack("{sb sI sI sI sb}", "enabled", enabled, "every", (json_int_t)every,
			 "since_last", (json_int_t)count,
			 "remaining", (json_int_t)(count < every ? every - count : 0), "busy", busy);
}

#define TOO_FAST_DEFAULT 3.0

/*
 * Quality control (db/quality.h): each per_rater entry gains its gold,
 * consensus and time figures, and the stats a "quality" object with the
 * settings they were computed with and the number of gold groups.
 */
static int quality_add(struct db *db, json_t *s)
{
	double too_fast = TOO_FAST_DEFAULT, share = 0.1;
	json_t *v = NULL, *q = NULL, *e;
	int64_t gold = 0;
	int rc = db_config_get(db, "too_fast_seconds", &v);
	if (rc < 0 && rc != DB_NOTFOUND)
		return rc;
	if (json_is_number(v) && json_number_value(v) >= 0)
		too_fast = json_number_value(v);
	json_decref(v);
	v = NULL;
	if ((rc = db_config_get(db, "gold_share", &v)) < 0 && rc != DB_NOTFOUND)
		return rc;
	if (json_is_number(v))
		share = json_number_value(v);
	json_decref(v);
	if ((rc = db_gold_groups(db, &gold)) < 0 || (rc = db_quality_raters(db, too_fast, &q)) < 0)
		return rc;
	size_t i;
	json_array_foreach(json_object_get(s, "per_rater"), i, e) {
		char key[24];
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(e, "id")));
		json_t *f = json_object_get(q, key);
		if (f) {
			json_object_update(e, f);
		} else {
			json_t *none = json_pack("{si sn sn si sn si sn si sn sb}",
				"gold_answers", 0, "gold_mae", "gold_within_1", "gold_pairs", 0,
				"gold_order_agreement", "consensus_answers", 0, "consensus_mae",
				"timed_tasks", 0, "median_seconds", "too_fast", 0);
			json_object_update(e, none);
			json_decref(none);
		}
	}
	json_decref(q);
	json_object_set_new(s, "quality", json_pack("{sf sf sI si}", "too_fast_seconds", too_fast,
		"gold_share", share, "gold_groups", (json_int_t)gold, "min_timed_tasks",
		QUALITY_MIN_TIMED));
	return DB_OK;
}

enum MHD_Result api_stats(struct request *r)
{
	json_t *s;
	int rc = db_stats(r->db, &s);
	if (rc < 0)
		return http_db_error(r, rc, "stats");
	json_t *at = auto_train_state(r->db, &rc);
	if (!at) {
		json_decref(s);
		return http_db_error(r, rc < 0 ? rc : DB_ERROR, "stats");
	}
	json_object_set_new(s, "auto_train", at);
	if ((rc = quality_add(r->db, s)) < 0) {
		json_decref(s);
		return http_db_error(r, rc, "stats");
	}
	json_object_set_new(s, "durability", durability(r));
	return http_json(r, 200, s);
}
