/*
 * tests/unit/test_groupcommit.c — the group-commit writer (db/groupcommit.h)
 * with ratings saves (db_ratings_submit), on a temporary database.
 *
 * To put several saves in one transaction for certain, a first write holds
 * the writer (its run() waits) while the others are queued; released, the
 * writer takes all of them as the next batch.
 */
#include "db/db.h"
#include "db/groupcommit.h"
#include "db/migrate.h"
#include "db/prompts.h"
#include "db/raters.h"
#include "db/ratings.h"
#include "server/http/auth.h"
#include "tests/test.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static char tmp_dir[64];
static char db_path[128];

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

static int64_t make_group(struct db *db, const char *prompt, int k, int64_t *resp)
{
	int64_t pid = 0, gid = 0;
	db_begin(db);
	db_prompt_insert(db, prompt, "train", "test", NULL, &pid);
	db_group_create(db, pid, 0, 0, NULL, &gid);
	for (int i = 0; i < k; i++) {
		char text[64];
		snprintf(text, sizeof text, "%s answer %d", prompt, i);
		db_response_insert(db, gid, pid, 0, "imported", text, -1, &resp[i]);
	}
	db_commit(db);
	return gid;
}

/* Outcomes come back on the writer thread: counted under a lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int n_done;
static bool blocker_running, blocker_release;

static void on_done(struct db_gc_op *op)
{
	pthread_mutex_lock(&lock);
	n_done++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void wait_done(int n)
{
	pthread_mutex_lock(&lock);
	while (n_done < n)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

/* Holds the writer until released; refused, so it leaves nothing. */
static int blocker_run(struct db *db, struct db_gc_op *op)
{
	pthread_mutex_lock(&lock);
	blocker_running = true;
	pthread_cond_broadcast(&cond);
	while (!blocker_release)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return DB_INVALID;
}

static struct db_gc_op blocker;

static void hold_writer(void)
{
	blocker_running = blocker_release = false;
	blocker = (struct db_gc_op){ .run = blocker_run, .done = on_done };
	db_gc_submit(&blocker);
	pthread_mutex_lock(&lock);
	while (!blocker_running)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static void release_writer(void)
{
	pthread_mutex_lock(&lock);
	blocker_release = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void job(struct db_ratings_job *j, int64_t rater, int64_t group, const struct db_rating_in *in,
		int n)
{
	*j = (struct db_ratings_job){ .rater_id = rater, .group_id = group, .now = 100, .in = in, .n = n };
	db_ratings_submit(j, on_done);
}

static void test_batch_each_as_alone(void)
{
	struct db *db;
	int64_t r1[3], r2[2];
	snprintf(db_path, sizeof db_path, "%s/gc.db", tmp_dir);
	REQUIRE(db_open(&db, db_path, false) == DB_OK);
	REQUIRE(db_migrate(db, NULL) == DB_OK);
	int64_t a = make_rater(db, "ann"), b = make_rater(db, "bob");
	int64_t g1 = make_group(db, "one", 3, r1), g2 = make_group(db, "two", 2, r2);
	REQUIRE(db_gc_start(db_path, true) == DB_OK);
	CHECK(db_gc_running());
	CHECK_STR_EQ(db_gc_synchronous(), "full");
	CHECK_STR_EQ(db_synchronous_name(db), "normal");

	/* one batch: good, refused (another group's answer), no such group,
	 * good (another rater), no such answer, and ann again on g1 (replaces
	 * her first save, which is in the same transaction) */
	struct db_rating_in good[3] = { { .response_id = r1[0], .score = 5 }, { .response_id = r1[1], .score = 3 }, { .response_id = r1[2], .score = 1 } };
	struct db_rating_in again[1] = { { .response_id = r1[0], .score = 2 } };
	struct db_rating_in other[2] = { { .response_id = r2[0], .score = 4 }, { .response_id = r1[0], .score = 4 } };
	struct db_rating_in ghost[2] = { { .response_id = r2[0], .score = 4 }, { .response_id = 9999, .score = 4 } };
	struct db_ratings_job j[6];
	struct db_gc_stats s0, s1;
	db_gc_stats(&s0);
	n_done = 0;
	hold_writer();
	job(&j[0], a, g1, good, 3);
	job(&j[1], a, g2, other, 2);
	job(&j[2], a, 777, good, 3);
	job(&j[3], b, g1, good, 3);
	job(&j[4], b, g2, ghost, 2);
	job(&j[5], a, g1, again, 1);
	release_writer();
	wait_done(7);
	db_gc_stats(&s1);
	CHECK_INT_EQ(blocker.rc, DB_INVALID);
	CHECK_INT_EQ(j[0].op.rc, DB_OK);
	CHECK_INT_EQ(j[1].op.rc, DB_INVALID);
	CHECK_INT_EQ(j[1].bad_index, 1);
	CHECK_INT_EQ(j[2].op.rc, DB_NOTFOUND);
	CHECK_INT_EQ(j[2].bad_index, -1);
	CHECK_INT_EQ(j[3].op.rc, DB_OK);
	CHECK_INT_EQ(j[4].op.rc, DB_NOTFOUND);
	CHECK_INT_EQ(j[4].bad_index, 1);
	CHECK_INT_EQ(j[5].op.rc, DB_OK);
	/* the blocker's batch alone (refused: no commit), then one commit */
	CHECK_INT_EQ(s1.commits - s0.commits, 1);
	CHECK_INT_EQ(s1.writes - s0.writes, 7);
	CHECK(s1.max_batch >= 6);

	/* what each save alone would have left: ann 2,3,1 on g1 (her first
	 * rating of r1[0] superseded), bob 5,3,1 on g1, nothing on g2 */
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM ratings WHERE group_id = 2"), 0);
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT group_concat(score, ',') FROM (SELECT score FROM ratings"
		 " WHERE rater_id = %lld AND superseded_at IS NULL ORDER BY response_id)", (long long)a);
	char buf[32] = "";
	CHECK(db_exec_text(db, sql, buf, sizeof buf) == DB_OK && strcmp(buf, "2,3,1") == 0);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM ratings WHERE rater_id = %lld", (long long)a);
	CHECK_INT_EQ(query_int(db, sql), 4);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM ratings WHERE rater_id = %lld"
		 " AND superseded_at IS NULL", (long long)b);
	CHECK_INT_EQ(query_int(db, sql), 3);
	CHECK_INT_EQ(query_int(db, "SELECT n_raters FROM gen_groups WHERE id = 1"), 2);

	/* a batch of refused saves only: no commit, the database unchanged */
	int64_t version = query_int(db, "PRAGMA data_version");
	n_done = 0;
	hold_writer();
	job(&j[0], a, g2, other, 2);
	job(&j[1], b, 777, good, 3);
	release_writer();
	wait_done(3);
	struct db_gc_stats s2;
	db_gc_stats(&s2);
	CHECK_INT_EQ(j[0].op.rc, DB_INVALID);
	CHECK_INT_EQ(j[1].op.rc, DB_NOTFOUND);
	CHECK_INT_EQ(s2.commits, s1.commits);
	CHECK_INT_EQ(query_int(db, "PRAGMA data_version"), version);

	db_gc_stop();
	CHECK(!db_gc_running());
	CHECK(db_gc_synchronous() == NULL);
	/* normal: what the writer's connection reads back */
	REQUIRE(db_gc_start(db_path, false) == DB_OK);
	CHECK_STR_EQ(db_gc_synchronous(), "normal");
	db_gc_stop();
	db_close(db);
}

int main(void)
{
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/rlhfd-test-gc-XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_batch_each_as_alone);
	char p[160];
	const char *suffix[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", db_path, suffix[i]);
		unlink(p);
	}
	rmdir(tmp_dir);
	TEST_MAIN_END();
}
