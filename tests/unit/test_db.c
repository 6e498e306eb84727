/*
 * tests/unit/test_db.c — the database layer on temporary files under /tmp:
 * migrations, token hashing, ratings (history, all-or-nothing), task leases
 * and assignment, preference pairs, agreement, jobs, models, config, sessions.
 *
 * Expected values are worked out by hand in the comments (or come from the
 * literature: SHA-256 test vectors, Krippendorff's own example), never from
 * the program's output.
 */
#include "db/agreement.h"
#include "db/config.h"
#include "db/db.h"
#include "db/export.h"
#include "db/jobs.h"
#include "db/versions.h"
#include "db/migrate.h"
#include "db/prompts.h"
#include "db/raters.h"
#include "db/ratings.h"
#include "db/rmscores.h"
#include "db/stats.h"
#include "db/tasks.h"
#include "db/traindata.h"
#include "server/http/auth.h"
#include "server/http/http.h"
#include "tests/test.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp_dir[64];
static char db_path[128];
static int db_serial;

/* A fresh, migrated database in its own file. */
static struct db *fresh_db(void)
{
	struct db *db;
	snprintf(db_path, sizeof db_path, "%s/t%d.db", tmp_dir, ++db_serial);
	if (db_open(&db, db_path, false) < 0)
		return NULL;
	if (db_migrate(db, NULL) < 0) {
		db_close(db);
		return NULL;
	}
	return db;
}

static void remove_db(const char *path)
{
	char p[160];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static int64_t query_int(struct db *db, const char *sql)
{
	int64_t v = -1;
	int rc = db_exec_int64(db, sql, &v);
	return rc == DB_OK ? v : rc == DB_NOTFOUND ? -1 : -999;
}

static int64_t make_rater(struct db *db, const char *name)
{
	uint8_t hash[32];
	int64_t id = 0;
	auth_hash(name, strlen(name), hash);
	db_rater_create(db, name, "rater", hash, &id);
	return id;
}

/* A prompt with one group of k answers; ids of the answers in resp[]. */
static int64_t make_group(struct db *db, const char *prompt, int k, int64_t *resp)
{
	int64_t pid = 0, gid = 0;
	db_begin(db);
	db_prompt_insert(db, prompt, "train", "test", NULL, &pid);
	db_group_create(db, pid, 0, 0, NULL, &gid);
	for (int i = 0; i < k; i++) {
		char text[64];
		snprintf(text, sizeof text, "%s answer %d", prompt, i);
		db_response_insert(db, gid, pid, 0, "imported", text, -1, resp ? &resp[i] : NULL);
	}
	db_commit(db);
	return gid;
}

static int64_t task_group(json_t *task)
{
	return task ? json_integer_value(json_object_get(task, "group_id")) : -1;
}

/* ---- migrations ---------------------------------------------------------- */

static void test_migrations_apply_once(void)
{
	struct db *db;
	int applied = -1;
	snprintf(db_path, sizeof db_path, "%s/mig.db", tmp_dir);
	CHECK_INT_EQ(db_open(&db, db_path, false), 0);
	CHECK_INT_EQ(db_migrate(db, &applied), 0);
	CHECK(db_n_migrations >= 1);
	CHECK_INT_EQ(applied, db_n_migrations);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM schema_migrations"), db_n_migrations);
	CHECK_INT_EQ(query_int(db, "SELECT max(version) FROM schema_migrations"), db_n_migrations);
	CHECK_INT_EQ(query_int(db, "PRAGMA user_version"), db_n_migrations);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('raters',"
		"'sessions','prompts','model_versions','gen_groups','responses','ratings','leases',"
		"'skips','jobs','job_metrics','config')"), 12);
	CHECK_INT_EQ(query_int(db, "PRAGMA foreign_keys"), 1);
	/* again, on this and on a new connection: nothing more applied */
	CHECK_INT_EQ(db_migrate(db, &applied), 0);
	CHECK_INT_EQ(applied, 0);
	db_close(db);
	CHECK_INT_EQ(db_open(&db, db_path, false), 0);
	CHECK_INT_EQ(db_migrate(db, &applied), 0);
	CHECK_INT_EQ(applied, 0);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM schema_migrations"), db_n_migrations);
	/* the WAL journal is persistent: a fresh connection reads it back */
	char mode[16] = "";
	CHECK_INT_EQ(db_exec_text(db, "PRAGMA journal_mode", mode, sizeof mode), 0);
	CHECK_STR_EQ(mode, "wal");
	db_close(db);
	remove_db(db_path);
}

static void test_migrations_in_steps_and_failure(void)
{
	static const struct db_migration list[] = {
		{ 1, "a", "CREATE TABLE a(x INTEGER);" },
		{ 2, "b", "CREATE TABLE b(y INTEGER); INSERT INTO b VALUES (7);" },
		{ 3, "bad", "CREATE TABLE c(z INTEGER); INSERT INTO no_such_table VALUES (1);" },
	};
	struct db *db;
	int applied = -1;
	snprintf(db_path, sizeof db_path, "%s/steps.db", tmp_dir);
	CHECK_INT_EQ(db_open(&db, db_path, false), 0);
	CHECK_INT_EQ(db_migrate_list(db, list, 1, &applied), 0);
	CHECK_INT_EQ(applied, 1);
	CHECK_INT_EQ(db_migrate_list(db, list, 2, &applied), 0);
	CHECK_INT_EQ(applied, 1); /* only the new one */
	CHECK_INT_EQ(query_int(db, "SELECT y FROM b"), 7);
	/* a failing migration leaves nothing of itself behind */
	CHECK(db_migrate_list(db, list, 3, &applied) < 0);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'c'"), 0);
	CHECK_INT_EQ(query_int(db, "SELECT max(version) FROM schema_migrations"), 2);
	CHECK_INT_EQ(query_int(db, "PRAGMA user_version"), 2);
	/* a list with a gap is refused */
	static const struct db_migration gap[] = { { 1, "a", "" }, { 3, "c", "" } };
	CHECK(db_migrate_list(db, gap, 2, &applied) < 0);
	db_close(db);
	remove_db(db_path);
}

/* 0006 rebuilds the jobs table (its kind CHECK gains 'score'): a database at
 * version 5 with jobs, their per-step figures, a version and a group made by
 * a job keeps every row, the references still hold and are still enforced,
 * and a migration that leaves a dangling reference is rolled back. */
static void test_migration_jobs_rebuild(void)
{
	struct db *db;
	int applied = -1;
	snprintf(db_path, sizeof db_path, "%s/rebuild.db", tmp_dir);
	CHECK_INT_EQ(db_open(&db, db_path, false), 0);
	CHECK(db_n_migrations >= 6);
	CHECK_INT_EQ(db_migrate_list(db, db_migrations, 5, &applied), 0);
	CHECK_INT_EQ(db_exec(db, "INSERT INTO jobs(kind, created_at) VALUES ('sft', 1), ('eval', 2);"
		"INSERT INTO job_metrics(job_id, step, name, value) VALUES (1, 0, 'loss', 1.5),"
		" (1, 1, 'loss', 1.25), (2, 0, 'reward', 0.5);"
		"INSERT INTO model_versions(kind, job_id, created_at) VALUES ('sft', 1, 3);"
		"INSERT INTO prompts(text, split, created_at) VALUES ('p', 'train', 4);"
		"INSERT INTO gen_groups(prompt_id, job_id, created_at) VALUES (1, 2, 5);"), 0);
	CHECK_INT_EQ(query_int(db, "INSERT INTO jobs(kind, created_at) VALUES ('score', 6) RETURNING id"),
		     -999);   /* not a kind yet */
	CHECK_INT_EQ(db_migrate(db, &applied), 0);
	CHECK_INT_EQ(applied, db_n_migrations - 5);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM jobs"), 2);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM job_metrics"), 3);   /* no cascade */
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM job_metrics m JOIN jobs j ON j.id = m.job_id"), 3);
	CHECK_INT_EQ(query_int(db, "SELECT job_id FROM model_versions"), 1);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM sqlite_master WHERE sql LIKE '%jobs_0006%'"), 0);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'jobs_status'"), 1);
	CHECK_INT_EQ(query_int(db, "PRAGMA foreign_keys"), 1);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	int64_t id = 0;
	CHECK_INT_EQ(db_job_create(db, "score", "{}", 7, &id), 0);
	CHECK_INT_EQ(id, 3);
	/* 0007: the kind 'best'; a database that had run jobs keeps its rl_kind */
	CHECK_INT_EQ(query_int(db, "SELECT json_extract(value, '$.rl_kind') = 'ppo' FROM config"
			       " WHERE key = 'auto_train'"), 1);
	CHECK_INT_EQ(db_job_create(db, "best", "{}", 7, &id), 0);
	CHECK_INT_EQ(db_exec(db, "DELETE FROM jobs WHERE id = 4"), 0);
	/* still enforced, and still cascading */
	CHECK(db_exec(db, "INSERT INTO job_metrics(job_id, step, name, value) VALUES (99, 0, 'x', 1)") < 0);
	CHECK_INT_EQ(db_exec(db, "DELETE FROM jobs WHERE id = 3"), 0);
	CHECK(db_exec(db, "INSERT INTO jobs(kind, created_at) VALUES ('nope', 8)") < 0);
	db_close(db);
	remove_db(db_path);

	/* with foreign keys off while it runs, the check before the commit refuses a
	 * migration that leaves a dangling reference */
	static const struct db_migration list[] = {
		{ 1, "a", "CREATE TABLE a(id INTEGER PRIMARY KEY);"
			  "CREATE TABLE b(a_id INTEGER REFERENCES a(id));" },
		{ 2, "dangling", "INSERT INTO b VALUES (42);" },
	};
	snprintf(db_path, sizeof db_path, "%s/dangling.db", tmp_dir);
	CHECK_INT_EQ(db_open(&db, db_path, false), 0);
	CHECK(db_migrate_list(db, list, 2, &applied) < 0);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM b"), 0);
	CHECK_INT_EQ(query_int(db, "PRAGMA user_version"), 1);
	CHECK_INT_EQ(query_int(db, "PRAGMA foreign_keys"), 1);
	db_close(db);
	remove_db(db_path);
}

static void test_newer_db_refused(void)
{
	struct db *db = fresh_db();
	char sql[160];
	CHECK(db != NULL);
	if (!db)
		return;
	/* as written by a future rlhfd: recorded in schema_migrations */
	snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, 'future', 0)",
		 db_n_migrations + 1);
	CHECK_INT_EQ(db_exec(db, sql), 0);
	CHECK_INT_EQ(db_migrate(db, NULL), DB_CONFLICT);
	db_close(db);
	remove_db(db_path);

	/* or only in user_version */
	db = fresh_db();
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", db_n_migrations + 5);
	CHECK_INT_EQ(db_exec(db, sql), 0);
	CHECK_INT_EQ(db_migrate(db, NULL), DB_CONFLICT);
	int v = 0;
	CHECK_INT_EQ(db_schema_version(db, &v), 0);
	CHECK_INT_EQ(v, db_n_migrations + 5);
	db_close(db);
	remove_db(db_path);
}

/* ---- tokens -------------------------------------------------------------- */

static void hex32(const uint8_t *h, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

static void test_token_hashing(void)
{
	uint8_t h[32];
	char hex[65];
	/* FIPS 180-2 test vectors */
	CHECK_INT_EQ(auth_hash("abc", 3, h), 0);
	hex32(h, hex);
	CHECK_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_INT_EQ(auth_hash("", 0, h), 0);
	hex32(h, hex);
	CHECK_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	char t1[65], t2[65];
	CHECK_INT_EQ(auth_random_hex(t1, 32), 0);
	CHECK_INT_EQ(auth_random_hex(t2, 32), 0);
	CHECK_INT_EQ(strlen(t1), 64);
	CHECK(strcmp(t1, t2) != 0);
	CHECK(strspn(t1, "0123456789abcdef") == 64);

	/* the database finds a rater by the hash of its token, and only that */
	struct db *db = fresh_db();
	uint8_t h1[32], h2[32];
	int64_t id;
	struct db_rater r;
	auth_hash(t1, 64, h1);
	auth_hash(t2, 64, h2);
	CHECK_INT_EQ(db_rater_create(db, "ann", "rater", h1, &id), 0);
	CHECK_INT_EQ(db_rater_by_token(db, h1, &r), 0);
	CHECK_INT_EQ(r.id, id);
	CHECK_STR_EQ(r.name, "ann");
	CHECK_STR_EQ(r.role, "rater");
	CHECK_INT_EQ(db_rater_by_token(db, h2, &r), DB_NOTFOUND);
	CHECK_INT_EQ(db_rater_create(db, "x", "boss", h2, NULL), DB_INVALID);
	/* the token itself is nowhere in the database */
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM raters WHERE token_hash = '%s' OR"
		 " CAST(token_hash AS TEXT) = '%s'", t1, t1); /* t1 is hex: safe to quote */
	CHECK_INT_EQ(query_int(db, sql), 0);
	db_close(db);
	remove_db(db_path);
}

/* Migration 4 on a database whose raters share names: the later ones become
 * "name (id)", then names are unique; rater access (disabled) works. */
static void test_rater_names_unique_migration(void)
{
	struct db *db;
	struct db_rater r;
	uint8_t h[32];
	int64_t id = 0;
	snprintf(db_path, sizeof db_path, "%s/t%d.db", tmp_dir, ++db_serial);
	REQUIRE(db_open(&db, db_path, false) == 0);
	int upto2 = 0;
	while (upto2 < db_n_migrations && db_migrations[upto2].version <= 2)
		upto2++;
	REQUIRE(db_migrate_list(db, db_migrations, upto2, NULL) == 0);
	CHECK_INT_EQ(db_exec(db, "INSERT INTO raters(name, role, token_hash, created_at) VALUES"
			     " ('sam', 'rater', zeroblob(32), 1), ('sam', 'rater', randomblob(32), 2),"
			     " ('kim', 'admin', randomblob(32), 3)"), 0);
	CHECK_INT_EQ(db_migrate(db, NULL), 0);
	CHECK_INT_EQ(db_rater_by_id(db, 1, &r), 0);
	CHECK_STR_EQ(r.name, "sam");
	CHECK_INT_EQ(db_rater_by_id(db, 2, &r), 0);
	CHECK_STR_EQ(r.name, "sam (2)");
	CHECK(!r.disabled);
	/* unique from now on, and a disabled rater's token finds no one */
	auth_hash("sam-token", 9, h);
	CHECK_INT_EQ(db_rater_create(db, "sam", "rater", h, NULL), DB_CONFLICT);
	CHECK_INT_EQ(db_rater_create(db, "sam2", "rater", h, &id), 0);
	CHECK_INT_EQ(db_rater_by_token(db, h, &r), 0);
	CHECK_INT_EQ(db_rater_set_disabled(db, id, true), 0);
	CHECK_INT_EQ(db_rater_by_token(db, h, &r), DB_NOTFOUND);
	CHECK_INT_EQ(db_rater_by_id(db, id, &r), 0);
	CHECK(r.disabled);
	/* kim is the only admin */
	CHECK_INT_EQ(db_rater_set_disabled(db, 3, true), DB_CONFLICT);
	db_close(db);
	remove_db(db_path);
}

static void test_admin_bootstrap(void)
{
	struct db *db = fresh_db();
	struct db_rater r;
	uint8_t h[32];
	int64_t n;
	/* a hand-chosen admin token under 16 characters is refused */
	CHECK_INT_EQ(auth_bootstrap_admin(db, tmp_dir, "secret-admin"), -1);
	CHECK_INT_EQ(db_rater_count(db, &n), 0);
	CHECK_INT_EQ(n, 0);
	CHECK_INT_EQ(auth_bootstrap_admin(db, tmp_dir, "secret-admin-token"), 0);
	auth_hash("secret-admin-token", 18, h);
	CHECK_INT_EQ(db_rater_by_token(db, h, &r), 0);
	CHECK_STR_EQ(r.role, "admin");
	/* not again on a database with raters */
	CHECK_INT_EQ(auth_bootstrap_admin(db, tmp_dir, "other-admin-token"), 0);
	CHECK_INT_EQ(db_rater_count(db, &n), 0);
	CHECK_INT_EQ(n, 1);
	db_close(db);
	remove_db(db_path);
}

/* ---- ratings ------------------------------------------------------------- */

static void test_rating_replace_keeps_history(void)
{
	struct db *db = fresh_db();
	int64_t resp[3];
	int64_t g = make_group(db, "p", 3, resp);
	int64_t a = make_rater(db, "a");
	struct db_rating_in in = { .response_id = resp[0], .score = 2, .comment = "meh" };
	CHECK_INT_EQ(db_ratings_save(db, a, g, &in, 1, 1000, NULL), 0);
	in.score = 5;
	in.helpful = 4;
	in.comment = NULL;
	in.flags_json = "[\"funny\"]";
	CHECK_INT_EQ(db_ratings_save(db, a, g, &in, 1, 2000, NULL), 0);

	json_t *h = NULL;
	CHECK_INT_EQ(db_rating_history(db, a, resp[0], &h), 0);
	CHECK_INT_EQ(json_array_size(h), 2);
	json_t *old = json_array_get(h, 0), *cur = json_array_get(h, 1);
	CHECK_INT_EQ(json_integer_value(json_object_get(old, "score")), 2);
	CHECK_STR_EQ(json_string_value(json_object_get(old, "comment")), "meh");
	CHECK_STR_EQ(json_string_value(json_object_get(old, "superseded_at")), "1970-01-01T00:33:20Z");
	CHECK_INT_EQ(json_integer_value(json_object_get(cur, "score")), 5);
	CHECK_INT_EQ(json_integer_value(json_object_get(cur, "helpful")), 4);
	CHECK(json_is_null(json_object_get(cur, "superseded_at")));
	CHECK(json_is_null(json_object_get(cur, "honest")));
	CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(cur, "flags"), 0)), "funny");
	json_decref(h);

	/* one current rating; the group counts the rater once */
	struct db_counts c;
	CHECK_INT_EQ(db_counts(db, &c), 0);
	CHECK_INT_EQ(c.ratings, 1);
	CHECK_INT_EQ(c.ratings_total, 2);
	CHECK_INT_EQ(query_int(db, "SELECT n_raters FROM gen_groups"), 1);
	db_close(db);
	remove_db(db_path);
}

static void test_ratings_all_or_nothing(void)
{
	struct db *db = fresh_db();
	int64_t r1[2], r2[2];
	int64_t g1 = make_group(db, "p1", 2, r1);
	make_group(db, "p2", 2, r2);
	int64_t a = make_rater(db, "a");
	int bad = -1;
	json_t *task;

	/* hold a lease on g1: a failed save must not drop it */
	CHECK_INT_EQ(db_task_next(db, a, 100, 1, 600, &task), 0);
	CHECK_INT_EQ(task_group(task), g1);
	json_decref(task);

	struct db_rating_in mixed[2] = {
		{ .response_id = r1[0], .score = 4 },
		{ .response_id = r2[0], .score = 3 },   /* answer of another group */
	};
	CHECK_INT_EQ(db_ratings_save(db, a, g1, mixed, 2, 200, &bad), DB_INVALID);
	CHECK_INT_EQ(bad, 1);
	struct db_rating_in dup[2] = {
		{ .response_id = r1[0], .score = 4 }, { .response_id = r1[0], .score = 2 },
	};
	CHECK_INT_EQ(db_ratings_save(db, a, g1, dup, 2, 200, &bad), DB_INVALID);
	CHECK_INT_EQ(bad, 1);
	struct db_rating_in range[2] = {
		{ .response_id = r1[0], .score = 4 }, { .response_id = r1[1], .score = 4, .harmless = 6 },
	};
	CHECK_INT_EQ(db_ratings_save(db, a, g1, range, 2, 200, &bad), DB_INVALID);
	CHECK_INT_EQ(bad, 1);
	range[1].harmless = 0;
	range[0].score = 0;
	CHECK_INT_EQ(db_ratings_save(db, a, g1, range, 2, 200, &bad), DB_INVALID);
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(db_ratings_save(db, a, 999, range, 1, 200, &bad), DB_NOTFOUND);
	CHECK_INT_EQ(bad, -1); /* the group is unknown */
	struct db_rating_in ghost[2] = {
		{ .response_id = r1[1], .score = 4 }, { .response_id = 424242, .score = 4 },
	};
	CHECK_INT_EQ(db_ratings_save(db, a, g1, ghost, 2, 200, &bad), DB_NOTFOUND);
	CHECK_INT_EQ(bad, 1); /* the answer is unknown */

	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM ratings"), 0);
	CHECK_INT_EQ(query_int(db, "SELECT n_raters FROM gen_groups WHERE id = 1"), 0);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM leases"), 1);

	/* the valid request stores both and ends the lease */
	range[0].score = 1;
	CHECK_INT_EQ(db_ratings_save(db, a, g1, range, 2, 200, &bad), 0);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM ratings"), 2);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM leases"), 0);
	db_close(db);
	remove_db(db_path);
}

/* ---- tasks --------------------------------------------------------------- */

/*
 * The uncertainty-first queue: db_rm_scores_put keeps each group's rm_gap (the
 * smallest distance between two of its answers' scores under the newest
 * reward model that scored it), and db_task_next_ordered hands out the
 * smallest gap first, unscored groups last, fifo by id, "auto" as fifo until
 * a score exists, and a random pick at the first pick key at or after the
 * point ((id * 2654435761) mod 2^32, worked out here by hand).
 */
static void test_queue_orders(void)
{
	struct db *db = fresh_db();
	int64_t r1[3], r2[3], r3[3], r4[3];
	int64_t g1 = make_group(db, "p1", 3, r1), g2 = make_group(db, "p2", 3, r2);
	int64_t g3 = make_group(db, "p3", 3, r3), g4 = make_group(db, "p4", 3, r4);
	int64_t a = make_rater(db, "a");
	int64_t m1 = 0, m2 = 0;
	CHECK_INT_EQ(db_model_create(db, "reward", "rm1", 0, 0, NULL, NULL, &m1), 0);
	CHECK_INT_EQ(db_model_create(db, "reward", "rm2", 0, 0, NULL, NULL, &m2), 0);
	json_t *t = NULL;
	struct db_queue fifo = { .order = DB_QUEUE_FIFO }, unc = { .order = DB_QUEUE_UNCERTAIN };
	struct db_queue aut = { .order = DB_QUEUE_AUTO };

	/* no scores: auto and uncertain are fifo */
	CHECK_INT_EQ(db_task_next_ordered(db, a, 10, 1, 1, NULL, &aut, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);
	CHECK_INT_EQ(db_task_next_ordered(db, a, 20, 1, 1, NULL, &unc, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);

	/* model 1 scores g1: gaps 0.5 and 2 -> 0.5; g2: 3, 1, 1.25 -> 0.25;
	 * g3: one answer scored -> no gap; g4 unscored */
	int64_t ids[] = { r1[0], r1[1], r1[2], r2[0], r2[1], r2[2], r3[0] };
	float sc[] = { 0.0f, 2.5f, 0.5f, 3.0f, 1.0f, 1.25f, 7.0f };
	CHECK_INT_EQ(db_rm_scores_put(db, m1, 0, ids, sc, 7), 0);
	CHECK_INT_EQ(query_int(db, "SELECT CAST(round(rm_gap * 1000) AS INTEGER) FROM gen_groups WHERE id = 1"), 500);
	CHECK_INT_EQ(query_int(db, "SELECT CAST(round(rm_gap * 1000) AS INTEGER) FROM gen_groups WHERE id = 2"), 250);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM gen_groups WHERE rm_gap IS NULL"), 2);
	/* uncertain: g2, g1, then the unscored g3, g4 by id (each asked after the last lease expired) */
	int64_t want[] = { g2, g1, g3, g4 };
	for (int i = 0; i < 4; i++) {
		CHECK_INT_EQ(db_task_next_ordered(db, a, 100 + 10 * i, 1, 1, NULL, &unc, &t), 0);
		CHECK_INT_EQ(task_group(t), want[i]);
		json_decref(t);
		CHECK_INT_EQ(db_task_skip(db, a, want[i], 101 + 10 * i), 0);
	}
	int64_t b = make_rater(db, "b");
	CHECK_INT_EQ(db_task_next_ordered(db, b, 200, 1, 1, NULL, &aut, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);   /* auto = uncertain once scored */
	json_decref(t);
	CHECK_INT_EQ(db_task_next_ordered(db, b, 210, 1, 1, NULL, &fifo, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);

	/* model 2 rescores g1 only (gap 0.1): g1 comes first; model 1 again
	 * (older) changes nothing */
	float sc2[] = { 1.0f, 1.1f, 3.0f };
	CHECK_INT_EQ(db_rm_scores_put(db, m2, 0, r1, sc2, 3), 0);
	CHECK_INT_EQ(query_int(db, "SELECT CAST(round(rm_gap * 1000) AS INTEGER) FROM gen_groups WHERE id = 1"), 100);
	CHECK_INT_EQ(db_rm_scores_put(db, m1, 0, r1, sc, 3), 0);
	CHECK_INT_EQ(query_int(db, "SELECT CAST(round(rm_gap * 1000) AS INTEGER) FROM gen_groups WHERE id = 1"), 100);
	CHECK_INT_EQ(query_int(db, "SELECT rm_gap_model FROM gen_groups WHERE id = 1"), m2);
	CHECK_INT_EQ(db_task_next_ordered(db, b, 220, 1, 1, NULL, &unc, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);

	/* random picks: keys of ids 1..4 are 2654435761, 1013904226 (5308871522
	 * - 2^32), 3668339987 (7963307283 - 2^32), 2027808452 (10617743044 -
	 * 2*2^32): sorted g2 < g4 < g1 < g3 */
	struct db_queue rnd = { .order = DB_QUEUE_UNCERTAIN, .random = true };
	const int64_t keys[] = { 0, 1013904226, 1013904227, 2027808452, 2654435761, 3000000000,
				 3668339987, 3668339988, 4294967295 };
	const int64_t picks[] = { g2, g2, g4, g4, g1, g3, g3, g2, g2 };
	for (int i = 0; i < 9; i++) {
		rnd.random_key = keys[i];
		CHECK_INT_EQ(db_task_next_ordered(db, b, 300 + 10 * i, 1, 1, NULL, &rnd, &t), 0);
		CHECK_INT_EQ(task_group(t), picks[i]);
		json_decref(t);
	}
	/* fifo ignores random */
	rnd.order = DB_QUEUE_FIFO;
	rnd.random_key = 3000000000;
	CHECK_INT_EQ(db_task_next_ordered(db, b, 400, 1, 1, NULL, &rnd, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);
	db_close(db);
	remove_db(db_path);
}

static void test_lease_expiry_and_reclaim(void)
{
	struct db *db = fresh_db();
	int64_t g1 = make_group(db, "p1", 2, NULL);
	int64_t g2 = make_group(db, "p2", 2, NULL);
	int64_t a = make_rater(db, "a"), b = make_rater(db, "b"), c = make_rater(db, "c");
	json_t *t = NULL;

	CHECK_INT_EQ(db_task_next(db, a, 1000, 1, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	CHECK_STR_EQ(json_string_value(json_object_get(t, "lease_expires_at")), "1970-01-01T00:26:40Z");
	CHECK_INT_EQ(json_array_size(json_object_get(t, "responses")), 2);
	json_decref(t);
	CHECK_INT_EQ(db_task_next(db, b, 1000, 1, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	/* both groups leased (ratings_per_group 1): nothing for c */
	CHECK_INT_EQ(db_task_next(db, c, 1500, 1, 600, &t), DB_NOTFOUND);
	int64_t n = -1;
	CHECK_INT_EQ(db_task_remaining(db, c, 1500, 1, &n), 0);
	CHECK_INT_EQ(n, 0);
	CHECK_INT_EQ(db_task_remaining(db, a, 1500, 1, &n), 0);
	CHECK_INT_EQ(n, 1); /* its own lease */

	/* a asks again before answering: the same lease, not extended */
	CHECK_INT_EQ(db_task_next(db, a, 1599, 1, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	CHECK_STR_EQ(json_string_value(json_object_get(t, "lease_expires_at")), "1970-01-01T00:26:40Z");
	json_decref(t);

	/* at 1600 both leases have expired (expires_at = 1600 is not > 1600):
	 * c reclaims g1, the first free group */
	CHECK_INT_EQ(db_task_next(db, c, 1600, 1, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	CHECK_STR_EQ(json_string_value(json_object_get(t, "lease_expires_at")), "1970-01-01T00:36:40Z");
	json_decref(t);
	/* the expired rows were purged; only c's lease is left */
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM leases"), 1);
	/* a lost g1 to c and gets g2 */
	CHECK_INT_EQ(db_task_next(db, a, 1601, 1, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	db_close(db);
	remove_db(db_path);
}

static void test_never_twice_to_one_rater(void)
{
	struct db *db = fresh_db();
	int64_t r1[2];
	int64_t g1 = make_group(db, "p1", 2, r1);
	int64_t g2 = make_group(db, "p2", 2, NULL);
	int64_t g3 = make_group(db, "p3", 2, NULL);
	int64_t a = make_rater(db, "a");
	json_t *t = NULL;

	CHECK_INT_EQ(db_task_next(db, a, 10, 3, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);
	struct db_rating_in in = { .response_id = r1[1], .score = 3 };
	CHECK_INT_EQ(db_ratings_save(db, a, g1, &in, 1, 11, NULL), 0);
	/* rated: never g1 again, even though 2 more raters may take it */
	CHECK_INT_EQ(db_task_next(db, a, 12, 3, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	CHECK_INT_EQ(db_task_skip(db, a, g2, 13), 0);
	CHECK_INT_EQ(db_task_skip(db, a, g2, 13), 0); /* twice is fine */
	CHECK_INT_EQ(db_task_skip(db, a, 12345, 13), DB_NOTFOUND);
	/* skipped: never g2 again */
	CHECK_INT_EQ(db_task_next(db, a, 14, 3, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g3);
	json_decref(t);
	CHECK_INT_EQ(db_ratings_save(db, a, g3, NULL, 0, 15, NULL), 0); /* ends the lease only */
	CHECK_INT_EQ(db_task_skip(db, a, g3, 16), 0);
	CHECK_INT_EQ(db_task_next(db, a, 17, 3, 600, &t), DB_NOTFOUND);
	/* even much later, after every lease expired */
	CHECK_INT_EQ(db_task_next(db, a, 100000, 3, 600, &t), DB_NOTFOUND);
	int64_t n = -1;
	CHECK_INT_EQ(db_task_remaining(db, a, 100000, 3, &n), 0);
	CHECK_INT_EQ(n, 0);
	CHECK_INT_EQ(db_rated_groups_since(db, a, 0, &n), 0);
	CHECK_INT_EQ(n, 1);
	CHECK_INT_EQ(db_rated_groups_since(db, a, 12, &n), 0);
	CHECK_INT_EQ(n, 0);
	db_close(db);
	remove_db(db_path);
}

static void test_ratings_per_group(void)
{
	struct db *db = fresh_db();
	int64_t r1[2];
	int64_t g1 = make_group(db, "p1", 2, r1);
	int64_t g2 = make_group(db, "p2", 2, NULL);
	int64_t a = make_rater(db, "a"), b = make_rater(db, "b"), c = make_rater(db, "c");
	int64_t d = make_rater(db, "d");
	json_t *t = NULL;

	/* two raters per group: a and b share g1, c gets g2 */
	CHECK_INT_EQ(db_task_next(db, a, 10, 2, 100, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);
	CHECK_INT_EQ(db_task_next(db, b, 10, 2, 100, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);
	CHECK_INT_EQ(db_task_next(db, c, 10, 2, 100, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	/* a rates g1 (1 rater + b's lease = 2): d gets g2 beside c */
	struct db_rating_in in = { .response_id = r1[0], .score = 5 };
	CHECK_INT_EQ(db_ratings_save(db, a, g1, &in, 1, 20, NULL), 0);
	CHECK_INT_EQ(db_task_next(db, d, 30, 2, 100, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	/* b's lease (expires 110) lapses; d has g2 until 130; at 120 g1 has one
	 * rater and no live lease, so a new rater e could take it ... */
	int64_t e = make_rater(db, "e");
	CHECK_INT_EQ(db_task_next(db, e, 120, 2, 100, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);
	/* ... and now g1 is full again (a rated + e's lease): b, who let the lease
	 * lapse, finds g1 full and g2 full (c and d leases until 110/130: c's
	 * lapsed at 110, so g2 has d only) -> b gets g2 */
	CHECK_INT_EQ(db_task_next(db, b, 121, 2, 100, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	/* with ratings_per_group 1, a group one rater rated is done for others */
	CHECK_INT_EQ(db_task_next(db, make_rater(db, "f"), 500, 1, 100, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	db_close(db);
	remove_db(db_path);
}

static void test_closest_to_done_first(void)
{
	/* three raters per group: after a rates g2, b is sent to g2 (one rater
	 * already) rather than to the older, untouched g1; with g2 at its limit
	 * (a rated, b and c leased) d goes to g1 */
	struct db *db = fresh_db();
	int64_t r2[2];
	int64_t g1 = make_group(db, "p1", 2, NULL);
	int64_t g2 = make_group(db, "p2", 2, r2);
	int64_t a = make_rater(db, "a"), b = make_rater(db, "b"), c = make_rater(db, "c");
	int64_t d = make_rater(db, "d");
	json_t *t = NULL;
	struct db_rating_in in = { .response_id = r2[0], .score = 2 };
	CHECK_INT_EQ(db_ratings_save(db, a, g2, &in, 1, 5, NULL), 0);
	CHECK_INT_EQ(db_task_next(db, b, 10, 3, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	CHECK_INT_EQ(db_task_next(db, c, 10, 3, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	CHECK_INT_EQ(db_task_next(db, d, 10, 3, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);
	/* a has rated g2; it can still get g1 */
	int64_t n = -1;
	CHECK_INT_EQ(db_task_remaining(db, a, 10, 3, &n), 0);
	CHECK_INT_EQ(n, 1);
	/* ratings_per_group lowered to 1 under b's live lease on g2 (which now
	 * has a rater): b still gets its lease back, and counts it */
	CHECK_INT_EQ(db_task_remaining(db, b, 11, 1, &n), 0);
	CHECK_INT_EQ(n, 1);
	CHECK_INT_EQ(db_task_next(db, b, 11, 1, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	db_close(db);
	remove_db(db_path);
}

static void test_exclude_preloads_a_second_lease(void)
{
	/* the rating page shows g1 and preloads: ?exclude=g1 leases g2; asked
	 * again with the same exclude it gets g2 again (held); without exclude
	 * the oldest lease (g1) comes first; after rating g1, g2 comes */
	struct db *db = fresh_db();
	int64_t r1[2];
	int64_t g1 = make_group(db, "p1", 2, r1);
	int64_t g2 = make_group(db, "p2", 2, NULL);
	int64_t a = make_rater(db, "a"), b = make_rater(db, "b");
	char ex1[32], ex12[48];
	json_t *t = NULL;
	snprintf(ex1, sizeof ex1, "[%lld]", (long long)g1);
	snprintf(ex12, sizeof ex12, "[%lld,%lld]", (long long)g1, (long long)g2);
	CHECK_INT_EQ(db_task_next(db, a, 10, 1, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);
	CHECK_INT_EQ(db_task_next_excluding(db, a, 11, 1, 600, ex1, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	CHECK_INT_EQ(db_task_next_excluding(db, a, 12, 1, 600, ex1, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	CHECK_INT_EQ(db_task_next(db, a, 13, 1, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g1);
	json_decref(t);
	CHECK_INT_EQ(db_task_next_excluding(db, a, 13, 1, 600, ex12, &t), DB_NOTFOUND);
	CHECK_INT_EQ(db_task_next(db, b, 14, 1, 600, &t), DB_NOTFOUND); /* both leased to a */
	struct db_rating_in in = { .response_id = r1[0], .score = 3 };
	CHECK_INT_EQ(db_ratings_save(db, a, g1, &in, 1, 15, NULL), 0);
	CHECK_INT_EQ(db_task_next(db, a, 16, 1, 600, &t), 0);
	CHECK_INT_EQ(task_group(t), g2);
	json_decref(t);
	db_close(db);
	remove_db(db_path);
}

/* ---- pairs and agreement ------------------------------------------------- */

static void test_pairs_tie_dropping(void)
{
	/* means 4, 2, 4, 3: of the 6 pairs (0,2) is a tie, dropped; the others by
	 * hand: (0,1) 4>2, (0,3) 4>3, (2,1) 4>2, (3,1) 3>2, (2,3) 4>3 */
	struct db_td_response rs[5] = { { .mean = 4 }, { .mean = 2 }, { .mean = 4 }, { .mean = 3 } };
	struct db_td_group grp = { .n = 4, .responses = rs };
	int pairs[10][2];
	int n = db_td_group_pairs(&grp, pairs);
	CHECK_INT_EQ(n, 5);
	CHECK_INT_EQ(db_td_group_pairs(&grp, NULL), 5);
	int want[5][2] = { { 0, 1 }, { 0, 3 }, { 2, 1 }, { 3, 1 }, { 2, 3 } };
	for (int i = 0; i < 5 && i < n; i++) {
		CHECK_INT_EQ(pairs[i][0], want[i][0]);
		CHECK_INT_EQ(pairs[i][1], want[i][1]);
	}
	/* an unrated answer (NAN) in the middle takes part in no pair */
	struct db_td_response ru[3] = { { .mean = 2 }, { .mean = NAN }, { .mean = 5 } };
	struct db_td_group gu = { .n = 3, .responses = ru };
	CHECK_INT_EQ(db_td_group_pairs(&gu, pairs), 1);
	CHECK_INT_EQ(pairs[0][0], 2);
	CHECK_INT_EQ(pairs[0][1], 0);
	struct db_td_response same[3] = { { .mean = 3 }, { .mean = 3 }, { .mean = 3 } };
	struct db_td_group gs = { .n = 3, .responses = same };
	CHECK_INT_EQ(db_td_group_pairs(&gs, pairs), 0);
	/* the same text twice (5 and 2) is no preference: of (0,1) (0,2) (1,2)
	 * only (0,2) 5>3 and (2,1) 3>2 are left; the same holds for a ranking */
	char ta[] = "Paris.", tb[] = "Paris.", tc[] = "Lyon.";
	struct db_td_response rt[3] = { { .text = ta, .text_len = 6, .mean = 5 },
					{ .text = tb, .text_len = 6, .mean = 2 },
					{ .text = tc, .text_len = 5, .mean = 3 } };
	struct db_td_group gt = { .n = 3, .responses = rt };
	CHECK_INT_EQ(db_td_group_pairs(&gt, pairs), 2);
	CHECK_INT_EQ(pairs[0][0], 0);
	CHECK_INT_EQ(pairs[0][1], 2);
	CHECK_INT_EQ(pairs[1][0], 2);
	CHECK_INT_EQ(pairs[1][1], 1);
	int lv[3] = { 3, 1, 2 };
	struct db_td_order ot = { .g = gt, .level = lv };
	CHECK_INT_EQ(db_td_order_pairs(&ot, pairs), 2);
	CHECK_INT_EQ(pairs[0][0], 0);
	CHECK_INT_EQ(pairs[0][1], 2);
	CHECK_INT_EQ(pairs[1][0], 2);
	CHECK_INT_EQ(pairs[1][1], 1);

	/* through the database: raters a and b rate a group of 3 answers
	 *   answer0: a=5 b=4 -> 4.5;  answer1: a=2 b=3 -> 2.5;  answer2: a=3 b=2 -> 2.5
	 * pairs: (0,1) and (0,2); (1,2) is a tie.  A second group with one rated
	 * answer has no pair. */
	struct db *db = fresh_db();
	int64_t r[3], s[2];
	int64_t g = make_group(db, "which?", 3, r);
	int64_t g2 = make_group(db, "lonely", 2, s);
	int64_t a = make_rater(db, "a"), b = make_rater(db, "b");
	struct db_rating_in ia[3] = { { .response_id = r[0], .score = 5 },
		{ .response_id = r[1], .score = 2 }, { .response_id = r[2], .score = 3 } };
	struct db_rating_in ib[3] = { { .response_id = r[0], .score = 4 },
		{ .response_id = r[1], .score = 3 }, { .response_id = r[2], .score = 2 } };
	struct db_rating_in one = { .response_id = s[0], .score = 1 };
	CHECK_INT_EQ(db_ratings_save(db, a, g, ia, 3, 100, NULL), 0);
	CHECK_INT_EQ(db_ratings_save(db, b, g, ib, 3, 100, NULL), 0);
	CHECK_INT_EQ(db_ratings_save(db, a, g2, &one, 1, 100, NULL), 0);

	struct db_export_filter f = { .since = 0, .split = NULL, .min_raters = 1 };
	struct db_export *x;
	struct db_pair_row row;
	CHECK_INT_EQ(db_export_pairs_open(db_path, &f, &x), 0);
	int got = 0;
	while (db_export_pairs_next(x, &row) == 1) {
		CHECK_INT_EQ(row.chosen_id, r[0]);
		CHECK_NEAR(row.score_chosen, 4.5, 1e-12);
		CHECK_NEAR(row.score_rejected, 2.5, 1e-12);
		CHECK_INT_EQ(row.rejected_id, got == 0 ? r[1] : r[2]);
		CHECK_STR_EQ(row.prompt, "which?");
		CHECK_STR_EQ(row.chosen, "which? answer 0");
		got++;
	}
	CHECK_INT_EQ(got, 2);
	db_export_close(x);

	/* sft with min_score 4: only answer0 (4.5) */
	f.min_score = 4;
	struct db_sft_row m;
	CHECK_INT_EQ(db_export_sft_open(db_path, &f, &x), 0);
	got = 0;
	while (db_export_sft_next(x, &m) == 1) {
		CHECK_INT_EQ(m.response_id, r[0]);
		CHECK_INT_EQ(m.raters, 2);
		got++;
	}
	CHECK_INT_EQ(got, 1);
	db_export_close(x);

	/* ratings export with min_raters 2: the 6 ratings of g, not g2's */
	f.min_raters = 2;
	struct db_rating_row rr;
	CHECK_INT_EQ(db_export_ratings_open(db_path, &f, &x), 0);
	got = 0;
	while (db_export_ratings_next(x, &rr) == 1) {
		CHECK_INT_EQ(rr.group_id, g);
		got++;
	}
	CHECK_INT_EQ(got, 6);
	db_export_close(x);
	/* split filter: every prompt is train */
	f.min_raters = 1;
	f.split = "eval";
	CHECK_INT_EQ(db_export_ratings_open(db_path, &f, &x), 0);
	CHECK_INT_EQ(db_export_ratings_next(x, &rr), 0);
	db_export_close(x);

	/* agreement on those ratings: units = answers with 2 raters: (5,4) (2,3)
	 * (3,2) -> n = 6.  D_o = 1/6 * (2 + 2 + 2) = 1.  Values 5,4,2,3,3,2: mean
	 * 19/6, sum of squares about the mean = 67 - 361/6 = 41/6, so
	 * sum_{i!=j} = 2*6*41/6 = 82 and D_e = 82/30.  alpha = 1 - 30/82. */
	json_t *ag;
	CHECK_INT_EQ(db_agreement(db, &ag), 0);
	CHECK_NEAR(json_real_value(json_object_get(ag, "alpha")), 1.0 - 30.0 / 82.0, 1e-12);
	CHECK_INT_EQ(json_integer_value(json_object_get(ag, "units")), 3);
	CHECK_INT_EQ(json_integer_value(json_object_get(ag, "groups")), 1);
	CHECK_INT_EQ(json_integer_value(json_object_get(ag, "pairs")), 3);
	json_decref(ag);
	db_close(db);
	remove_db(db_path);
}

static void test_alpha_krippendorff_example(void)
{
	/* Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the
	 * 4 observers x 12 units example with missing values; published results:
	 * interval alpha = 0.849 (nominal 0.743).  Unit 12 has one value only. */
	double v[] = {
		1, 1, 1,        /* unit 1: A B D */
		2, 2, 3, 2,     /* unit 2 */
		3, 3, 3, 3,
		3, 3, 3, 3,
		2, 2, 2, 2,
		1, 2, 3, 4,
		4, 4, 4, 4,
		1, 1, 2, 1,
		2, 2, 2, 2,
		5, 5, 5,        /* unit 10: B C D */
		1, 1,           /* unit 11: C D */
		3,              /* unit 12: B only, not pairable */
	};
	int len[] = { 3, 4, 4, 4, 4, 4, 4, 4, 4, 3, 2, 1 };
	struct agreement_counts c;
	double alpha = agreement_alpha_interval(v, len, 12, &c);
	CHECK_NEAR(alpha, 0.849, 0.0005);
	CHECK_INT_EQ(c.units, 11);
	CHECK_INT_EQ(c.values, 40);

	/* small example by hand: 2 raters, 3 units (1,2) (3,3) (5,4).
	 * D_o = (2 + 0 + 2) / 6 = 2/3; values mean 3, squares about it 10,
	 * sum_{i!=j} = 2*6*10 = 120, D_e = 120 / 30 = 4; alpha = 1 - 1/6. */
	double s[] = { 1, 2, 3, 3, 5, 4 };
	int sl[] = { 2, 2, 2 };
	CHECK_NEAR(agreement_alpha_interval(s, sl, 3, NULL), 1.0 - 1.0 / 6.0, 1e-12);
	/* perfect agreement is 1; all values equal is undefined */
	double p[] = { 1, 1, 5, 5 };
	int pl[] = { 2, 2 };
	CHECK_NEAR(agreement_alpha_interval(p, pl, 2, NULL), 1.0, 1e-12);
	double e[] = { 3, 3, 3, 3 };
	CHECK(isnan(agreement_alpha_interval(e, pl, 2, NULL)));
	CHECK(isnan(agreement_alpha_interval(e, pl, 0, NULL)));
}

/* ---- jobs, models, config, sessions -------------------------------------- */

static void test_job_states(void)
{
	struct db *db = fresh_db();
	int64_t j1, j2, j3;
	char status[16];
	json_t *job;
	CHECK_INT_EQ(db_job_create(db, "sft", "{\"epochs\":1}", 100, &j1), 0);
	CHECK_INT_EQ(db_job_create(db, "generate", NULL, 101, &j2), 0);
	CHECK_INT_EQ(db_job_create(db, "nonsense", NULL, 101, &j3), DB_INVALID);
	CHECK_INT_EQ(db_job_create(db, "ppo", NULL, 102, &j3), 0);

	CHECK_INT_EQ(db_job_cancel(db, j1, 200, status), 0);
	CHECK_STR_EQ(status, "cancelled");
	CHECK_INT_EQ(db_job_cancel(db, j1, 201, status), DB_CONFLICT);
	CHECK_INT_EQ(db_job_cancel(db, 999, 201, status), DB_NOTFOUND);
	CHECK_INT_EQ(db_job_get(db, j1, &job), 0);
	CHECK_STR_EQ(json_string_value(json_object_get(job, "status")), "cancelled");
	CHECK_STR_EQ(json_string_value(json_object_get(job, "finished_at")), "1970-01-01T00:03:20Z");
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(job, "params"), "epochs")), 1);
	json_decref(job);

	db_exec(db, "UPDATE jobs SET status = 'running' WHERE id = 2");
	CHECK_INT_EQ(db_job_cancel(db, j2, 300, status), 0);
	CHECK_STR_EQ(status, "running");
	CHECK_INT_EQ(db_job_get(db, j2, &job), 0);
	CHECK(json_is_true(json_object_get(job, "cancel_requested")));
	json_decref(job);

	json_t *list;
	CHECK_INT_EQ(db_jobs_list(db, 50, &list), 0);
	CHECK_INT_EQ(json_array_size(list), 3);
	CHECK_INT_EQ(json_integer_value(json_object_get(json_array_get(list, 0), "id")), j3);
	json_decref(list);

	CHECK_INT_EQ(db_job_metric_add(db, j3, 2, "kl", 0.5), 0);
	CHECK_INT_EQ(db_job_metric_add(db, j3, 1, "kl", 0.25), 0);
	CHECK_INT_EQ(db_job_metrics(db, j3, &list), 0);
	CHECK_INT_EQ(json_array_size(list), 2);
	CHECK_NEAR(json_real_value(json_object_get(json_array_get(list, 0), "value")), 0.25, 0);
	json_decref(list);
	CHECK_INT_EQ(db_job_metrics(db, 999, &list), DB_NOTFOUND);
	db_close(db);
	remove_db(db_path);
}

static void test_model_activate(void)
{
	struct db *db = fresh_db();
	int64_t base, rew, pol, act = 0;
	char kind[16];
	CHECK_INT_EQ(db_model_create(db, "base", "demo", 0, 0, NULL, "/m/base.bin", &base), 0);
	CHECK_INT_EQ(db_model_create(db, "reward", NULL, base, 0, NULL, NULL, &rew), 0);
	CHECK_INT_EQ(db_model_create(db, "policy", NULL, base, 0, NULL, NULL, &pol), 0);
	CHECK_INT_EQ(db_model_create(db, "giant", NULL, 0, 0, NULL, NULL, NULL), DB_INVALID);
	CHECK_INT_EQ(db_model_active(db, &act), DB_NOTFOUND);
	CHECK_INT_EQ(db_model_activate(db, base), 0);
	CHECK_INT_EQ(db_model_active(db, &act), 0);
	CHECK_INT_EQ(act, base);
	CHECK_INT_EQ(db_model_activate(db, rew), DB_CONFLICT);
	CHECK_INT_EQ(db_model_activate(db, 4242), DB_NOTFOUND);
	CHECK_INT_EQ(db_model_activate(db, pol), 0);
	CHECK_INT_EQ(db_model_activate(db, pol), 0); /* twice is fine */
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM model_versions WHERE active = 1"), 1);
	CHECK_INT_EQ(db_model_active(db, &act), 0);
	CHECK_INT_EQ(act, pol);
	CHECK_INT_EQ(db_model_kind(db, rew, kind), 0);
	CHECK_STR_EQ(kind, "reward");
	json_t *list;
	CHECK_INT_EQ(db_models_list(db, &list), 0);
	CHECK_INT_EQ(json_array_size(list), 3);
	json_t *first = json_array_get(list, 0); /* newest first: the policy */
	CHECK_INT_EQ(json_integer_value(json_object_get(first, "parent_id")), base);
	CHECK(json_is_true(json_object_get(first, "active")));
	json_decref(list);
	db_close(db);
	remove_db(db_path);
}

static void test_config_defaults_and_set(void)
{
	struct db *db = fresh_db();
	int64_t v;
	json_t *all;
	CHECK_INT_EQ(db_config_int(db, "ratings_per_group", -1, &v), 0);
	CHECK_INT_EQ(v, 1);
	CHECK_INT_EQ(db_config_int(db, "lease_seconds", -1, &v), 0);
	CHECK_INT_EQ(v, 600);
	CHECK_INT_EQ(db_config_int(db, "max_body_bytes", -1, &v), 0);
	CHECK_INT_EQ(v, 8388608);
	CHECK_INT_EQ(db_config_int(db, "no_such_key", 77, &v), 0);
	CHECK_INT_EQ(v, 77);
	json_t *three = json_integer(3);
	CHECK_INT_EQ(db_config_set(db, "ratings_per_group", three), 0);
	json_decref(three);
	CHECK_INT_EQ(db_config_int(db, "ratings_per_group", -1, &v), 0);
	CHECK_INT_EQ(v, 3);
	CHECK_INT_EQ(db_config_all(db, &all), 0);
	CHECK(json_is_false(json_object_get(json_object_get(all, "auto_train"), "enabled")));
	/* a new installation's loop: 'best' (0007_best.sql) */
	CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(all, "auto_train"), "rl_kind")), "best");
	json_decref(all);
	db_close(db);
	remove_db(db_path);
}

static void test_sessions(void)
{
	struct db *db = fresh_db();
	int64_t a = make_rater(db, "a");
	uint8_t h[32], other[32];
	struct db_rater r;
	char csrf[65];
	auth_hash("cookie", 6, h);
	auth_hash("other", 5, other);
	CHECK_INT_EQ(db_session_create(db, h, a, "c5rf", 100, 200), 0);
	CHECK_INT_EQ(db_session_get(db, h, 150, &r, csrf, sizeof csrf), 0);
	CHECK_INT_EQ(r.id, a);
	CHECK_STR_EQ(csrf, "c5rf");
	CHECK_INT_EQ(db_session_get(db, other, 150, &r, csrf, sizeof csrf), DB_NOTFOUND);
	CHECK_INT_EQ(db_session_get(db, h, 200, &r, csrf, sizeof csrf), DB_NOTFOUND); /* expired */
	CHECK_INT_EQ(db_sessions_purge(db, 200), 0);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM sessions"), 0);
	CHECK_INT_EQ(db_session_create(db, h, a, "x", 100, 900), 0);
	CHECK_INT_EQ(db_session_delete(db, h), 0);
	CHECK_INT_EQ(db_session_get(db, h, 150, &r, csrf, sizeof csrf), DB_NOTFOUND);
	db_close(db);
	remove_db(db_path);
}

static void test_stats_and_invalid_utf8(void)
{
	struct db *db = fresh_db();
	int64_t r[2];
	int64_t g = make_group(db, "p", 2, r);
	int64_t a = make_rater(db, "a");
	struct db_rating_in in[2] = { { .response_id = r[0], .score = 5 }, { .response_id = r[1], .score = 1 } };
	CHECK_INT_EQ(db_ratings_save(db, a, g, in, 2, 5, NULL), 0);
	json_t *s;
	CHECK_INT_EQ(db_stats(db, &s), 0);
	json_t *hist = json_object_get(s, "score_histogram");
	CHECK_INT_EQ(json_array_size(hist), 5);
	CHECK_INT_EQ(json_integer_value(json_array_get(hist, 0)), 1);
	CHECK_INT_EQ(json_integer_value(json_array_get(hist, 1)), 0);
	CHECK_INT_EQ(json_integer_value(json_array_get(hist, 4)), 1);
	CHECK_INT_EQ(json_integer_value(json_object_get(s, "prompts")), 1);
	CHECK_INT_EQ(json_integer_value(json_object_get(s, "ratings")), 2);
	CHECK(json_is_null(json_object_get(json_object_get(s, "agreement"), "alpha")));
	json_decref(s);

	/* a model may write half a UTF-8 character; the JSON still comes out */
	int64_t pid;
	db_prompt_insert(db, "caf\xc3", "eval", NULL, NULL, &pid);
	json_t *p;
	CHECK_INT_EQ(db_prompt_get(db, pid, &p), 0);
	CHECK_STR_EQ(json_string_value(json_object_get(p, "text")), "caf\xef\xbf\xbd");
	json_decref(p);
	CHECK_INT_EQ(db_prompt_get(db, 9999, &p), DB_NOTFOUND);
	db_close(db);
	remove_db(db_path);
}

/*
 * Another process reading the database while the server has it open — a
 * person's `sqlite3 rlhfd.db "select ..."`, a backup — must not take the
 * server's write-ahead log away.  SQLite's locks are POSIX record locks, which
 * a process loses on every one of its locks on a file when it closes *any*
 * descriptor of that file; db_open once opened and closed the database file
 * to narrow its mode, and from the second connection on the server held no
 * lock at all: the reader's close found itself alone, checkpointed and
 * deleted the -wal and -shm files under the server, whose next writes went to
 * a deleted file ("disk I/O error"; a rating answered 2xx then lost).
 */
static void test_other_process_keeps_wal(void)
{
	struct db *db = fresh_db(), *db2 = NULL;
	REQUIRE(db);
	REQUIRE(db_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)") == DB_OK);
	REQUIRE(db_open(&db2, db_path, false) == DB_OK); /* the server's pool grows */
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		/* a process of its own (a forked copy would share this one's
		 * SQLite lock bookkeeping): this test binary, run as a reader */
		execl("/proc/self/exe", "test_db", "--sqlite-read", db_path, (char *)NULL);
		_exit(2);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the other process could not read");
	char wal[160];
	snprintf(wal, sizeof wal, "%s-wal", db_path);
	CHECK_MSG(access(wal, F_OK) == 0, "'%s' deleted by another process's close", wal);
	CHECK_INT_EQ(db_exec(db, "INSERT INTO t VALUES (2)"), DB_OK);
	CHECK_INT_EQ(db_exec(db2, "INSERT INTO t VALUES (3)"), DB_OK);
	db_close(db2);
	db_close(db);
	/* what was written after the reader left is in the file */
	REQUIRE(db_open(&db, db_path, false) == DB_OK);
	CHECK_INT_EQ(query_int(db, "SELECT sum(x) FROM t"), 6);
	db_close(db);
	remove_db(db_path);
}

/* `test_db --sqlite-read PATH`: what the sqlite3 shell does with a query —
 * open read-write, read, close — as another process; exit status 0 if read. */
static int sqlite_read(const char *path)
{
	sqlite3 *sq = NULL;
	int ok = sqlite3_open_v2(path, &sq, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
		 sqlite3_exec(sq, "SELECT count(*) FROM t", NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(sq);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--sqlite-read") == 0)
		return sqlite_read(argv[2]);
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/rlhfd-test-db-XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_migrations_apply_once);
	RUN(test_migrations_in_steps_and_failure);
	RUN(test_migration_jobs_rebuild);
	RUN(test_newer_db_refused);
	RUN(test_other_process_keeps_wal);
	RUN(test_token_hashing);
	RUN(test_admin_bootstrap);
	RUN(test_rater_names_unique_migration);
	RUN(test_rating_replace_keeps_history);
	RUN(test_ratings_all_or_nothing);
	RUN(test_lease_expiry_and_reclaim);
	RUN(test_never_twice_to_one_rater);
	RUN(test_ratings_per_group);
	RUN(test_closest_to_done_first);
	RUN(test_exclude_preloads_a_second_lease);
	RUN(test_queue_orders);
	RUN(test_pairs_tie_dropping);
	RUN(test_alpha_krippendorff_example);
	RUN(test_job_states);
	RUN(test_model_activate);
	RUN(test_config_defaults_and_set);
	RUN(test_sessions);
	RUN(test_stats_and_invalid_utf8);
	char tok[160];
	snprintf(tok, sizeof tok, "%s/admin.token", tmp_dir);
	unlink(tok);
	rmdir(tmp_dir);
	TEST_MAIN_END();
}
