/*
 * db/tasks.c — task assignment, leases, skips (see tasks.h).
 */
#include "db/tasks.h"
#include "db/db_impl.h"
#include "db/prompts.h"
#include "db/quality.h"


/* The rater's live lease: *group and *expires, or DB_NOTFOUND. */
static int lease_held(struct db *db, int64_t rater_id, int64_t now, const char *exclude,
		      int64_t *group, int64_t *expires)
{
	sqlite3_stmt *st = db_stmt(db, STMT_LEASE_HELD,
		"SELECT group_id, expires_at FROM leases"
		" WHERE rater_id = :rater AND expires_at > :now"
		"  AND group_id NOT IN (SELECT value FROM json_each(:exclude))"
		" ORDER BY expires_at, group_id LIMIT 1");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":rater", rater_id);
	db_bind_int64(st, ":now", now);
	db_bind_text(st, ":exclude", exclude);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*group = sqlite3_column_int64(st, 0);
		*expires = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read leases", rc);
}

/* The groups with exactly n raters that the rater may take now, as g. */
#define TASK_OPEN \
	" FROM gen_groups g" \
	" WHERE g.n_raters = :n" \
	"  AND EXISTS (SELECT 1 FROM responses s WHERE s.group_id = g.id" \
	"              AND s.origin <> 'human')"   /* a demonstration is no task */ \
	"  AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.rater_id = :rater" \
	"                  AND r.group_id = g.id AND r.superseded_at IS NULL)" \
	"  AND NOT EXISTS (SELECT 1 FROM orderings o WHERE o.rater_id = :rater" \
	"                  AND o.group_id = g.id AND o.superseded_at IS NULL)" \
	"  AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.rater_id = :rater AND k.group_id = g.id)" \
	"  AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.group_id = g.id AND l.rater_id = :rater" \
	"                  AND l.expires_at > :now)" \
	"  AND g.id NOT IN (SELECT value FROM json_each(:exclude))" \
	"  AND g.n_raters + (SELECT count(*) FROM leases l WHERE l.group_id = g.id" \
	"                    AND l.expires_at > :now AND l.rater_id <> :rater) < :per_group" \
	"  AND NOT EXISTS (SELECT 1 FROM gold_scores gs WHERE gs.group_id = g.id)"   /* gold: db_gold_pick */

/* A group's pick key: a multiplicative (Fibonacci) hash of its id onto
 * 0..2^32-1, spread evenly over consecutive ids; the expression of the
 * gen_groups_pick_key index (migrations/0010_queue_order.sql), which SQL must repeat as is. */
#define PICK_KEY "((g.id * 2654435761) % 4294967296)"

/* The first group with exactly n raters that the rater may take now, in the
 * order of mode (fifo: by id; gap: scored groups by rm_gap, then id; key:
 * the first pick key at or after key): DB_OK and *group, or DB_NOTFOUND. */
enum pick_mode { PICK_FIFO, PICK_GAP, PICK_KEY_AT };

static int task_pick_level(struct db *db, int64_t rater_id, int64_t now, int per_group, int64_t n,
			   const char *exclude, enum pick_mode mode, int64_t key, int64_t *group)
{
#define OPEN_ARGS(...) DB_ARGS(DB_INT(":n", n), DB_TEXT(":exclude", exclude), \
	DB_INT(":per_group", per_group), DB_INT(":rater", rater_id), DB_INT(":now", now), __VA_ARGS__)
	if (mode == PICK_GAP)
		return db_int64(db, STMT_TASK_PICK_GAP,
			"SELECT g.id" TASK_OPEN " AND g.rm_gap IS NOT NULL"
			" ORDER BY g.rm_gap, g.id LIMIT 1", OPEN_ARGS(DB_END), group);
	if (mode == PICK_KEY_AT)
		return db_int64(db, STMT_TASK_PICK_KEY,
			"SELECT g.id" TASK_OPEN " AND " PICK_KEY " >= :key"
			" ORDER BY " PICK_KEY " LIMIT 1", OPEN_ARGS(DB_INT(":key", key)), group);
	return db_int64(db, STMT_TASK_PICK,
		"SELECT g.id" TASK_OPEN " ORDER BY g.id LIMIT 1", OPEN_ARGS(DB_END), group);
#undef OPEN_ARGS
}

/* One level in the queue's order: see db_task_next_ordered. */
static int task_pick_in(struct db *db, int64_t rater_id, int64_t now, int per_group, int64_t n,
			const char *exclude, const struct db_queue *q, bool uncertain,
			int64_t *group)
{
	int rc;
	if (uncertain && q->random) {
		/* the first key at or after the random point, else wrap around */
		rc = task_pick_level(db, rater_id, now, per_group, n, exclude, PICK_KEY_AT,
				     q->random_key, group);
		if (rc == DB_NOTFOUND && q->random_key > 0)
			rc = task_pick_level(db, rater_id, now, per_group, n, exclude, PICK_KEY_AT,
					     0, group);
		return rc;
	}
	if (uncertain && (rc = task_pick_level(db, rater_id, now, per_group, n, exclude, PICK_GAP,
					       0, group)) != DB_NOTFOUND)
		return rc;
	return task_pick_level(db, rater_id, now, per_group, n, exclude, PICK_FIFO, 0, group);
}

/* Whether the queue's order is "uncertain" now: as set, or for "auto" once
 * a score job has written a reward-model score. */
static int queue_uncertain(struct db *db, const struct db_queue *q, bool *uncertain)
{
	if (q->order != DB_QUEUE_AUTO) {
		*uncertain = q->order == DB_QUEUE_UNCERTAIN;
		return DB_OK;
	}
	int64_t any = 0;
	int rc = db_int64(db, STMT_RM_SCORED, "SELECT EXISTS (SELECT 1 FROM rm_scores)", NULL, &any);
	*uncertain = rc == DB_OK && any;
	return rc;
}

/*
 * Spot checks first (the reward-hacking watch, db/spotcheck.h): the open
 * group of a spot-checked answer the rater may take now, the newest
 * version's first, then by the answer's reward score (highest first);
 * DB_NOTFOUND when none, and the order below decides.  CROSS JOIN keeps
 * SQLite reading from spot_checks (a few rows per version) rather than
 * walking every open group for a match.
 */
static int task_pick_spot(struct db *db, int64_t rater_id, int64_t now, int per_group,
			  const char *exclude, int64_t *group)
{
	return db_int64(db, STMT_TASK_PICK_SPOT,
		"SELECT g.id FROM spot_checks c CROSS JOIN gen_groups g ON g.id = c.group_id"
		" WHERE g.n_raters < :per_group"
		"  AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.rater_id = :rater"
		"                  AND r.group_id = g.id AND r.superseded_at IS NULL)"
		"  AND NOT EXISTS (SELECT 1 FROM orderings o WHERE o.rater_id = :rater"
		"                  AND o.group_id = g.id AND o.superseded_at IS NULL)"
		"  AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.rater_id = :rater AND k.group_id = g.id)"
		"  AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.group_id = g.id AND l.rater_id = :rater"
		"                  AND l.expires_at > :now)"
		"  AND g.id NOT IN (SELECT value FROM json_each(:exclude))"
		"  AND g.n_raters + (SELECT count(*) FROM leases l WHERE l.group_id = g.id"
		"                    AND l.expires_at > :now AND l.rater_id <> :rater) < :per_group"
		" ORDER BY c.model_id DESC, c.rm_score DESC, g.id LIMIT 1",
		DB_ARGS(DB_TEXT(":exclude", exclude), DB_INT(":per_group", per_group),
			DB_INT(":rater", rater_id), DB_INT(":now", now)), group);
}

/*
 * The group the rater gets: among open groups (fewer than per_group raters),
 * those closest to done first, then in the queue's order (fifo: the oldest).
 * Finishing groups first gives every group its per_group raters early, which
 * is what agreement needs.  Each level (a rater count) is one index range read
 * in the queue's order, so finished groups cost nothing however many there
 * are.  DB_NOTFOUND when none.
 */
static int task_pick(struct db *db, int64_t rater_id, int64_t now, int per_group,
		     const char *exclude, const struct db_queue *q, int64_t *group)
{
	int64_t levels[64];
	int n = 0, rc;
	bool uncertain;
	if ((rc = task_pick_spot(db, rater_id, now, per_group, exclude, group)) != DB_NOTFOUND ||
	    (rc = queue_uncertain(db, q, &uncertain)) < 0)
		return rc;
	/* quality control: a gold_share of new tasks are gold groups (db/quality.h) */
	if ((rc = db_gold_pick(db, rater_id, now, exclude, true, group)) != DB_NOTFOUND)
		return rc;
	sqlite3_stmt *st = db_stmt(db, STMT_TASK_LEVELS,
		"SELECT DISTINCT n_raters FROM gen_groups WHERE n_raters < :per_group"
		" ORDER BY n_raters DESC LIMIT 64");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":per_group", per_group);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		levels[n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, "cannot pick a task", rc);
	for (int i = 0; i < n; i++)
		if ((rc = task_pick_in(db, rater_id, now, per_group, levels[i], exclude, q, uncertain,
				       group)) != DB_NOTFOUND)
			return rc;
	/* no ordinary group left: a gold one the rater has not seen, if any */
	return db_gold_pick(db, rater_id, now, exclude, false, group);
}

static json_t *task_response_row(sqlite3_stmt *st)
{
	return json_pack("{sI so}",
		"id", (json_int_t)sqlite3_column_int64(st, 0),
		"text", db_col_json_str(st, 1));
}

/* The task's JSON for a group (prompt and responses), lease expiry given. */
static int task_load(struct db *db, int64_t group_id, int64_t expires, json_t **out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_TASK_PROMPT,
		"SELECT p.id, p.text, " ISO_TIME(":expires") ", p.task_kind, p.messages"
		" FROM gen_groups g JOIN prompts p ON p.id = g.prompt_id WHERE g.id = :group");
	if (!st)
		return DB_ERROR;
	db_bind_int64(st, ":group", group_id);
	db_bind_int64(st, ":expires", expires);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a task", rc);
	}
	json_t *task = json_pack("{sI sI so so ss}",
		"prompt_id", (json_int_t)sqlite3_column_int64(st, 0),
		"group_id", (json_int_t)group_id,
		"prompt", db_col_json_str(st, 1),
		"messages", db_col_json(st, 4, "null"),
		"lease_expires_at", db_col_text(st, 2));
	/* the prompt's own kind, or null: the handler fills in the config default */
	json_object_set_new(task, "task_kind", db_col_json_str(st, 3));
	sqlite3_reset(st);

	json_t *resp;
	rc = db_json_rows(db, STMT_TASK_RESPONSES,
		"SELECT id, text FROM responses WHERE group_id = :group ORDER BY id",
		DB_ARGS(DB_INT(":group", group_id)), task_response_row, &resp);
	if (rc < 0) {
		json_decref(task);
		return rc;
	}
	json_object_set_new(task, "responses", resp);
	*out = task;
	return DB_OK;
}

int db_task_next(struct db *db, int64_t rater_id, int64_t now, int per_group,
		 int lease_seconds, json_t **task)
{
	return db_task_next_excluding(db, rater_id, now, per_group, lease_seconds, NULL, task);
}

int db_task_next_excluding(struct db *db, int64_t rater_id, int64_t now, int per_group,
			   int lease_seconds, const char *exclude, json_t **task)
{
	const struct db_queue fifo = { .order = DB_QUEUE_FIFO };
	return db_task_next_ordered(db, rater_id, now, per_group, lease_seconds, exclude, &fifo,
				    task);
}

int db_task_next_ordered(struct db *db, int64_t rater_id, int64_t now, int per_group,
			 int lease_seconds, const char *exclude, const struct db_queue *q,
			 json_t **task)
{
	int64_t group = 0, expires = 0;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if (!exclude)
		exclude = "[]";
	rc = lease_held(db, rater_id, now, exclude, &group, &expires);
	if (rc == DB_NOTFOUND) {
		if ((rc = db_run(db, STMT_LEASE_PURGE, "DELETE FROM leases WHERE expires_at <= :now",
				 DB_ARGS(DB_INT(":now", now)))) < 0 ||
		    (rc = task_pick(db, rater_id, now, per_group, exclude, q, &group)) < 0)
			goto out_rollback;
		expires = now + lease_seconds;
		rc = db_run(db, STMT_LEASE_UPSERT,
			"INSERT INTO leases(group_id, rater_id, created_at, expires_at)"
			" VALUES (:group, :rater, :now, :expires)"
			" ON CONFLICT(group_id, rater_id) DO UPDATE"
			" SET created_at = excluded.created_at, expires_at = excluded.expires_at",
			DB_ARGS(DB_INT(":group", group), DB_INT(":rater", rater_id), DB_INT(":now", now),
				DB_INT(":expires", expires)));
		if (rc < 0)
			goto out_rollback;
	} else if (rc < 0) {
		goto out_rollback;
	}
	if ((rc = task_load(db, group, expires, task)) < 0)
		goto out_rollback;
	if ((rc = db_commit(db)) < 0) {
		json_decref(*task);
		*task = NULL;
		return rc;
	}
	return DB_OK;

out_rollback:
	db_rollback(db);
	return rc;
}

int db_task_remaining(struct db *db, int64_t rater_id, int64_t now, int per_group, int64_t *n)
{
	/* open groups through the n_raters index, plus the group of a live lease
	 * if config lowered per_group under it (db_task_next still returns it);
	 * gold groups apart, as db_gold_pick hands them out */
	int64_t gold = 0;
	int rc = db_gold_remaining(db, rater_id, &gold);
	if (rc < 0 || (rc = db_int64(db, STMT_TASK_REMAINING,
		"SELECT count(*) FROM gen_groups g"
		" WHERE (g.n_raters < :per_group OR g.id IN (SELECT group_id FROM leases"
		"        WHERE rater_id = :rater AND expires_at > :now))"
		"  AND EXISTS (SELECT 1 FROM responses s WHERE s.group_id = g.id"
		"              AND s.origin <> 'human')"   /* a demonstration is no task */
		"  AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.rater_id = :rater"
		"                  AND r.group_id = g.id AND r.superseded_at IS NULL)"
		"  AND NOT EXISTS (SELECT 1 FROM orderings o WHERE o.rater_id = :rater"
		"                  AND o.group_id = g.id AND o.superseded_at IS NULL)"
		"  AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.rater_id = :rater AND k.group_id = g.id)"
		"  AND (EXISTS (SELECT 1 FROM leases l WHERE l.group_id = g.id AND l.rater_id = :rater"
		"               AND l.expires_at > :now)"
		"       OR g.n_raters + (SELECT count(*) FROM leases l WHERE l.group_id = g.id"
		"                        AND l.expires_at > :now AND l.rater_id <> :rater) < :per_group)"
		"  AND NOT EXISTS (SELECT 1 FROM gold_scores gs WHERE gs.group_id = g.id)",
		DB_ARGS(DB_INT(":rater", rater_id), DB_INT(":now", now), DB_INT(":per_group", per_group)),
		n)) < 0)
		return rc;
	*n += gold;
	return DB_OK;
}

int db_rated_groups_since(struct db *db, int64_t rater_id, int64_t since, int64_t *n)
{
	return db_int64(db, STMT_RATED_SINCE,
		"SELECT count(*) FROM (SELECT group_id FROM ratings"
		" WHERE rater_id = :rater AND created_at >= :since AND superseded_at IS NULL"
		" UNION SELECT group_id FROM orderings"
		" WHERE rater_id = :rater AND created_at >= :since AND superseded_at IS NULL)",
		DB_ARGS(DB_INT(":rater", rater_id), DB_INT(":since", since)), n);
}

int db_lease_delete(struct db *db, int64_t rater_id, int64_t group_id)
{
	return db_run(db, STMT_LEASE_DELETE,
		"DELETE FROM leases WHERE group_id = :group AND rater_id = :rater",
		DB_ARGS(DB_INT(":group", group_id), DB_INT(":rater", rater_id)));
}

int db_task_skip(struct db *db, int64_t rater_id, int64_t group_id, int64_t now)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_group_exists(db, group_id, NULL)) < 0)
		goto out_rollback;
	if ((rc = db_run(db, STMT_SKIP_INSERT,
			 "INSERT INTO skips(rater_id, group_id, created_at) VALUES (:rater, :group, :now)"
			 " ON CONFLICT DO NOTHING",
			 DB_ARGS(DB_INT(":rater", rater_id), DB_INT(":group", group_id),
				 DB_INT(":now", now)))) < 0 ||
	    (rc = db_lease_delete(db, rater_id, group_id)) < 0)
		goto out_rollback;
	return db_commit(db);

out_rollback:
	db_rollback(db);
	return rc;
}
