/*
 * db/quality.c — gold groups, task times, the per-rater quality figures and
 * the review list (see quality.h).
 */
#include "db/quality.h"
#include "db/config.h"
#include "db/db_impl.h"
#include "db/prompts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define GOLD_SHARE_DEFAULT 0.1

/* ---- gold groups ---------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int db_gold_set(struct db *db, int64_t group_id, const struct db_gold_in *in, int n,
		int64_t now, int *bad_index)
{
	int64_t ids[64];
	int k = 0;
	bool seen[64] = { false };
	*bad_index = -1;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_group_exists(db, group_id, NULL)) < 0 ||
	    (rc = db_group_response_ids(db, group_id, ids, 64, &k)) < 0)
		goto out_rollback;
	if (k > 64 || k == 0) {   /* more answers than a gold group takes, or none */
		rc = DB_INVALID;
		goto out_rollback;
	}
	qsort(ids, k, sizeof ids[0], cmp_i64);
	for (int i = 0; i < n; i++) {
		int64_t *hit = bsearch(&in[i].response_id, ids, k, sizeof ids[0], cmp_i64);
		if (!hit || seen[hit - ids] || in[i].score < 1 || in[i].score > 5) {
			*bad_index = i;
			rc = DB_INVALID;
			goto out_rollback;
		}
		seen[hit - ids] = true;
	}
	if (n != k) {
		rc = DB_INVALID;
		goto out_rollback;
	}
	if ((rc = db_run(db, STMT_GOLD_DELETE, "DELETE FROM gold_scores WHERE group_id = :group",
			 DB_ARGS(DB_INT(":group", group_id)))) < 0)
		goto out_rollback;
	for (int i = 0; i < n; i++)
		if ((rc = db_run(db, STMT_GOLD_INSERT,
				 "INSERT INTO gold_scores(response_id, group_id, score, created_at)"
				 " VALUES (:response, :group, :score, :now)",
				 DB_ARGS(DB_INT(":response", in[i].response_id), DB_INT(":group", group_id),
					 DB_INT(":score", in[i].score), DB_INT(":now", now)))) < 0)
			goto out_rollback;
	return db_commit(db);

out_rollback:
	db_rollback(db);
	return rc;
}

int db_gold_clear(struct db *db, int64_t group_id)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_group_exists(db, group_id, NULL)) < 0 ||
	    (rc = db_run(db, STMT_GOLD_DELETE, "DELETE FROM gold_scores WHERE group_id = :group",
			 DB_ARGS(DB_INT(":group", group_id)))) < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

int db_gold_groups(struct db *db, int64_t *n)
{
	return db_int64(db, STMT_GOLD_GROUPS, "SELECT count(DISTINCT group_id) FROM gold_scores",
			NULL, n);
}

/* true with probability config gold_share (a number in [0, 1]; otherwise the
 * default), drawn from SQLite's generator. */
static int gold_roll(struct db *db, bool *yes)
{
	double share = GOLD_SHARE_DEFAULT;
	json_t *v = NULL;
	int rc = db_config_get(db, "gold_share", &v);
	if (rc < 0 && rc != DB_NOTFOUND)
		return rc;
	if (json_is_number(v) && json_number_value(v) >= 0 && json_number_value(v) <= 1)
		share = json_number_value(v);
	json_decref(v);
	uint64_t u;
	sqlite3_randomness(sizeof u, &u);
	*yes = (double)(u >> 11) / 9007199254740992.0 < share;   /* u / 2^64 in 53 bits */
	return DB_OK;
}

int db_gold_pick(struct db *db, int64_t rater_id, int64_t now, const char *exclude, bool roll,
		 int64_t *group)
{
	if (roll) {
		bool yes = false;
		int rc = gold_roll(db, &yes);
		if (rc < 0)
			return rc;
		if (!yes)
			return DB_NOTFOUND;
	}
	return db_int64(db, STMT_GOLD_PICK,
		"SELECT gs.group_id FROM gold_scores gs"
		" WHERE NOT EXISTS (SELECT 1 FROM ratings r WHERE r.rater_id = :rater"
		"                   AND r.group_id = gs.group_id AND r.superseded_at IS NULL)"
		"  AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.rater_id = :rater"
		"                  AND k.group_id = gs.group_id)"
		"  AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.group_id = gs.group_id"
		"                  AND l.rater_id = :rater AND l.expires_at > :now)"
		"  AND gs.group_id NOT IN (SELECT value FROM json_each(:exclude))"
		" ORDER BY gs.group_id LIMIT 1",
		DB_ARGS(DB_INT(":rater", rater_id), DB_INT(":now", now),
			DB_TEXT(":exclude", exclude ? exclude : "[]")), group);
}

int db_gold_remaining(struct db *db, int64_t rater_id, int64_t *n)
{
	return db_int64(db, STMT_GOLD_REMAINING,
		"SELECT count(DISTINCT gs.group_id) FROM gold_scores gs"
		" WHERE NOT EXISTS (SELECT 1 FROM ratings r WHERE r.rater_id = :rater"
		"                   AND r.group_id = gs.group_id AND r.superseded_at IS NULL)"
		"  AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.rater_id = :rater"
		"                  AND k.group_id = gs.group_id)",
		DB_ARGS(DB_INT(":rater", rater_id)), n);
}

int db_task_time_record(struct db *db, int64_t rater_id, int64_t group_id, int64_t now)
{
	return db_run(db, STMT_TASK_TIME_RECORD,
		"INSERT INTO task_times(group_id, rater_id, leased_at, rated_at)"
		" SELECT group_id, rater_id, created_at, :now FROM leases"
		" WHERE group_id = :group AND rater_id = :rater AND expires_at > :now"
		" ON CONFLICT DO NOTHING",
		DB_ARGS(DB_INT(":group", group_id), DB_INT(":rater", rater_id), DB_INT(":now", now)));
}

/* ---- per-rater figures ------------------------------------------------------- */

/* The rater's entry in out, created on first use (borrowed). */
static json_t *rater_entry(json_t *out, int64_t rater_id)
{
	char key[24];
	snprintf(key, sizeof key, "%lld", (long long)rater_id);
	json_t *e = json_object_get(out, key);
	if (!e) {
		e = json_pack("{si sn sn si sn si sn si sn sb}",
			"gold_answers", 0, "gold_mae", "gold_within_1", "gold_pairs", 0,
			"gold_order_agreement", "consensus_answers", 0, "consensus_mae",
			"timed_tasks", 0, "median_seconds", "too_fast", 0);
		json_object_set_new(out, key, e);
	}
	return e;
}

/* One group's gold answers rated by one rater: pairs with different gold
 * scores, and how many of them the rater orders as gold does (ties half). */
static void gold_pairs(const int *score, const int *gold, int m, long *pairs, double *agree)
{
	for (int i = 0; i < m; i++)
		for (int j = i + 1; j < m; j++) {
			if (gold[i] == gold[j])
				continue;
			(*pairs)++;
			int ds = score[i] - score[j], dg = gold[i] - gold[j];
			if (ds == 0)
				*agree += 0.5;
			else if ((ds > 0) == (dg > 0))
				*agree += 1;
		}
}

struct gold_acc {
	int64_t rater;
	long n, within, pairs;
	double abs_sum, agree;
};

static void gold_flush(json_t *out, const struct gold_acc *a)
{
	if (a->rater < 0 || a->n == 0)
		return;
	json_t *e = rater_entry(out, a->rater);
	json_object_set_new(e, "gold_answers", json_integer(a->n));
	json_object_set_new(e, "gold_mae", json_real(a->abs_sum / (double)a->n));
	json_object_set_new(e, "gold_within_1", json_real((double)a->within / (double)a->n));
	json_object_set_new(e, "gold_pairs", json_integer(a->pairs));
	json_object_set_new(e, "gold_order_agreement",
			    a->pairs ? json_real(a->agree / (double)a->pairs) : json_null());
}

static int quality_gold(struct db *db, json_t *out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_QUALITY_GOLD,
		/* from the gold answers (few) into the ratings by answer, not a scan
		 * of every rating in rater order */
		"SELECT c.rater_id, c.group_id, c.score, g.score FROM gold_scores g"
		" CROSS JOIN current_ratings c ON c.response_id = g.response_id"
		" ORDER BY c.rater_id, c.group_id, c.response_id");
	if (!st)
		return DB_ERROR;
	struct gold_acc a = { .rater = -1 };
	int score[64], gold[64], m = 0, rc;
	int64_t group = -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t rater = sqlite3_column_int64(st, 0), g = sqlite3_column_int64(st, 1);
		if (rater != a.rater || g != group) {
			gold_pairs(score, gold, m, &a.pairs, &a.agree);
			m = 0;
			group = g;
		}
		if (rater != a.rater) {
			gold_flush(out, &a);
			a = (struct gold_acc){ .rater = rater };
		}
		int s = sqlite3_column_int(st, 2), gs = sqlite3_column_int(st, 3);
		a.n++;
		a.abs_sum += abs(s - gs);
		a.within += abs(s - gs) <= 1;
		if (m < 64) {   /* a gold group has at most 64 answers (db_gold_set) */
			score[m] = s;
			gold[m++] = gs;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, "cannot read gold ratings", rc);
	gold_pairs(score, gold, m, &a.pairs, &a.agree);
	gold_flush(out, &a);
	return DB_OK;
}

static int quality_consensus(struct db *db, json_t *out)
{
	/* the mean of the other raters' current scores of an answer is
	 * (sum - own) / (n - 1) from one pass over the answers rated twice or
	 * more (a correlated subquery per rating was 4 times slower) */
	sqlite3_stmt *st = db_stmt(db, STMT_QUALITY_CONSENSUS,
		"WITH a AS MATERIALIZED (SELECT response_id, sum(score) AS s, count(*) AS n"
		"  FROM current_ratings GROUP BY response_id HAVING count(*) >= 2)"
		" SELECT c.rater_id, count(*), sum(abs(c.score - CAST(a.s - c.score AS REAL) / (a.n - 1)))"
		" FROM a JOIN current_ratings c ON c.response_id = a.response_id GROUP BY c.rater_id");
	if (!st)
		return DB_ERROR;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *e = rater_entry(out, sqlite3_column_int64(st, 0));
		int64_t n = sqlite3_column_int64(st, 1);
		json_object_set_new(e, "consensus_answers", json_integer(n));
		json_object_set_new(e, "consensus_mae", json_real(sqlite3_column_double(st, 2) / (double)n));
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? DB_OK : db_fail(db, "cannot read consensus", rc);
}

static void times_flush(json_t *out, int64_t rater, const int64_t *secs, int n, double too_fast)
{
	if (rater < 0 || n == 0)
		return;
	json_t *e = rater_entry(out, rater);
	/* secs is sorted (the query orders it) */
	double median = n % 2 ? (double)secs[n / 2] : (secs[n / 2 - 1] + secs[n / 2]) / 2.0;
	json_object_set_new(e, "timed_tasks", json_integer(n));
	json_object_set_new(e, "median_seconds", json_real(median));
	json_object_set_new(e, "too_fast", json_boolean(n >= QUALITY_MIN_TIMED && median < too_fast));
}

static int quality_times(struct db *db, double too_fast, json_t *out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_QUALITY_TIMES,
		"SELECT rater_id, rated_at - leased_at AS s FROM task_times ORDER BY rater_id, s");
	if (!st)
		return DB_ERROR;
	int64_t *secs = NULL, rater = -1;
	int n = 0, cap = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t r = sqlite3_column_int64(st, 0);
		if (r != rater) {
			times_flush(out, rater, secs, n, too_fast);
			rater = r;
			n = 0;
		}
		if (db_grow((void **)&secs, &cap, n + 1, sizeof *secs) < 0) {
			sqlite3_reset(st);
			free(secs);
			return db_nomem("cannot read task times");
		}
		secs[n++] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		times_flush(out, rater, secs, n, too_fast);
	free(secs);
	return rc == SQLITE_DONE ? DB_OK : db_fail(db, "cannot read task times", rc);
}

int db_quality_raters(struct db *db, double too_fast_seconds, json_t **out)
{
	json_t *o = json_object();
	int rc;
	if (!o)
		return db_nomem("cannot compute rater quality");
	if ((rc = db_begin_read(db)) < 0)
		goto out_free;
	if ((rc = quality_gold(db, o)) < 0 || (rc = quality_consensus(db, o)) < 0 ||
	    (rc = quality_times(db, too_fast_seconds, o)) < 0) {
		db_rollback(db);
		goto out_free;
	}
	db_rollback(db);   /* a read: nothing to commit */
	*out = o;
	return DB_OK;

out_free:
	json_decref(o);
	return rc;
}

/* ---- review ------------------------------------------------------------------- */

static json_t *review_row(sqlite3_stmt *st)
{
	return json_pack("{sI sI so sI so ss sI sI so si so so ss}",
		"rating_id", (json_int_t)sqlite3_column_int64(st, 0),
		"rater_id", (json_int_t)sqlite3_column_int64(st, 1),
		"rater", db_col_json_str(st, 2),
		"prompt_id", (json_int_t)sqlite3_column_int64(st, 3),
		"prompt", db_col_json_str(st, 4),
		"split", db_col_text(st, 5),
		"group_id", (json_int_t)sqlite3_column_int64(st, 6),
		"response_id", (json_int_t)sqlite3_column_int64(st, 7),
		"response", db_col_json_str(st, 8),
		"score", sqlite3_column_int(st, 9),
		"flags", db_col_json(st, 10, "[]"),
		"comment", db_col_json_str(st, 11),
		"created_at", db_col_text(st, 12));
}

static json_t *flag_row(sqlite3_stmt *st)
{
	return db_col_json_str(st, 0);
}

int db_review(struct db *db, const struct db_review_filter *f, json_t **out)
{
	json_t *items = NULL, *kinds = NULL;
	int rc = db_json_rows(db, STMT_REVIEW,
		"SELECT c.id, c.rater_id, ra.name, p.id, p.text, p.split, c.group_id, c.response_id,"
		" r.text, c.score, c.flags, c.comment, " ISO_TIME("c.created_at")
		" FROM ratings c JOIN raters ra ON ra.id = c.rater_id"
		" JOIN responses r ON r.id = c.response_id JOIN prompts p ON p.id = r.prompt_id"
		" WHERE c.superseded_at IS NULL"
		"  AND (json_array_length(c.flags) > 0 OR trim(coalesce(c.comment, '')) <> '')"
		"  AND (:rater IS NULL OR c.rater_id = :rater)"
		"  AND (:split IS NULL OR p.split = :split)"
		"  AND (:tag IS NULL OR json_extract(p.meta, '$.tag') = :tag"
		"       OR json_extract(p.meta, '$.family') = :tag"
		"       OR EXISTS (SELECT 1 FROM json_each(p.meta, '$.tags') t WHERE t.value = :tag))"
		"  AND (:flag IS NULL OR EXISTS (SELECT 1 FROM json_each(c.flags) x WHERE x.value = :flag))"
		"  AND (:since IS NULL OR c.created_at >= :since)"
		"  AND (:until IS NULL OR c.created_at < :until)"
		"  AND (:before IS NULL OR c.id < :before)"
		" ORDER BY c.id DESC LIMIT :limit",
		DB_ARGS(DB_OPT(":rater", f->rater_id), DB_TEXT(":split", f->split),
			DB_TEXT(":tag", f->tag), DB_TEXT(":flag", f->flag), DB_OPT(":since", f->since),
			DB_OPT(":until", f->until), DB_OPT(":before", f->before),
			DB_INT(":limit", f->limit)), review_row, &items);
	if (rc < 0)
		return rc;
	rc = db_json_rows(db, STMT_REVIEW_FLAGS,
		"SELECT DISTINCT x.value FROM ratings c, json_each(c.flags) x"
		" WHERE c.superseded_at IS NULL AND x.type = 'text' ORDER BY x.value",
		NULL, flag_row, &kinds);
	if (rc < 0) {
		json_decref(items);
		return rc;
	}
	size_t n = json_array_size(items);
	json_t *last = n ? json_array_get(items, n - 1) : NULL;
	*out = json_pack("{so so so}", "items", items,
		"next_before", last && (int)n == f->limit ?
			json_incref(json_object_get(last, "rating_id")) : json_null(),
		"flag_kinds", kinds);
	return DB_OK;
}
