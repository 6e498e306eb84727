/*
 * tests/unit/test_work.c — the worker's queries (db/jobs.h, db/versions.h,
 * db/ratings.h, db/traindata.h)
 * on temporary databases: the job queue (claim order, progress and metric
 * batches, finish, recovery after a crash, retry), model version rows, the
 * auto-training counters, and the training data reads (means, rating ids,
 * superseded ratings, imported demonstrations, unanswered prompts).
 *
 * Expected values are worked out by hand in the comments.
 */
#include "db/db.h"
#include "db/export.h"
#include "db/jobs.h"
#include "db/demonstrations.h"
#include "db/migrate.h"
#include "db/prompts.h"
#include "db/raters.h"
#include "db/ratings.h"
#include "db/traindata.h"
#include "db/versions.h"
#include "model/rl.h"
#include "server/http/auth.h"
#include "tests/test.h"

#include <stdlib.h>
#include <unistd.h>

static char tmp_dir[64];
static int db_serial;

static struct db *fresh_db(void)
{
	struct db *db;
	char path[128];
	snprintf(path, sizeof path, "%s/w%d.db", tmp_dir, ++db_serial);
	if (db_open(&db, path, false) < 0)
		return NULL;
	if (db_migrate(db, NULL) < 0) {
		db_close(db);
		return NULL;
	}
	return db;
}

static int64_t query_int(struct db *db, const char *sql)
{
	int64_t v = -1;
	int rc = db_exec_int64(db, sql, &v);
	return rc == DB_OK ? v : rc == DB_NOTFOUND ? -1 : -999;
}

/* The text of the first column of the first row (static buffer). */
static const char *query_text(struct db *db, const char *sql)
{
	static char buf[512];
	buf[0] = 0;
	return db_exec_text(db, sql, buf, sizeof buf) == DB_ERROR ? "(bad sql)" : buf;
}

static int64_t make_rater(struct db *db, const char *name)
{
	uint8_t hash[32];
	int64_t id = 0;
	auth_hash(name, strlen(name), hash);
	db_rater_create(db, name, "rater", hash, &id);
	return id;
}

static int64_t make_prompt(struct db *db, const char *text, const char *split)
{
	int64_t id = 0;
	db_prompt_insert(db, text, split, "test", NULL, &id);
	return id;
}

/* Prompts "q0".."q<n-1>" into p (n), those from eval_from on in the eval
 * split, the others in train. */
static void make_prompts(struct db *db, int64_t *p, int n, int eval_from)
{
	for (int i = 0; i < n; i++) {
		char t[16];
		snprintf(t, sizeof t, "q%d", i);
		p[i] = make_prompt(db, t, i >= eval_from ? "eval" : "train");
	}
}

/* A group of k answers to prompt pid by model (0 = imported); ids in resp. */
static int64_t make_group(struct db *db, int64_t pid, int64_t model, int k, int64_t *resp)
{
	int64_t gid = 0;
	db_begin(db);
	db_group_create(db, pid, model, 0, NULL, &gid);
	for (int i = 0; i < k; i++) {
		char text[64];
		snprintf(text, sizeof text, "answer %d of group %lld", i, (long long)gid);
		if (model > 0)
			db_work_response_insert(db, gid, pid, model, text, 3 + i, i != 1, &resp[i]);
		else
			db_response_insert(db, gid, pid, 0, "elsewhere", text, -1, &resp[i]);
	}
	db_commit(db);
	return gid;
}

static int rate(struct db *db, int64_t rater, int64_t gid, int64_t resp, int score, int64_t now)
{
	struct db_rating_in in = { .response_id = resp, .score = score };
	return db_ratings_save(db, rater, gid, &in, 1, now, NULL);
}

/* ---- the job queue --------------------------------------------------------- */

static void test_claim_oldest_first(void)
{
	struct db *db = fresh_db();
	int64_t a, b, c;
	struct db_work_job j;
	CHECK_INT_EQ(db_work_claim(db, 10, &j), DB_NOTFOUND);
	db_job_create(db, "generate", "{\"k\":2}", 1, &a);
	db_job_create(db, "sft", NULL, 2, &b);
	db_job_create(db, "reward", NULL, 3, &c);
	/* cancelling the oldest leaves b as the oldest queued */
	CHECK_INT_EQ(db_job_cancel(db, a, 4, NULL), 0);
	CHECK_INT_EQ(db_work_claim(db, 50, &j), 0);
	CHECK_INT_EQ(j.id, b);
	CHECK_STR_EQ(j.kind, "sft");
	CHECK_STR_EQ(j.params, "{}");
	db_work_job_release(&j);
	CHECK_STR_EQ(query_text(db, "SELECT status FROM jobs WHERE id = 2"), "running");
	CHECK_INT_EQ(query_int(db, "SELECT started_at FROM jobs WHERE id = 2"), 50);
	/* the next claim skips the running job */
	CHECK_INT_EQ(db_work_claim(db, 51, &j), 0);
	CHECK_INT_EQ(j.id, c);
	db_work_job_release(&j);
	CHECK_INT_EQ(db_work_claim(db, 52, &j), DB_NOTFOUND);
	/* claiming by id: only a queued job */
	CHECK_INT_EQ(db_work_claim_id(db, b, 53, &j), DB_CONFLICT);
	CHECK_INT_EQ(db_work_claim_id(db, 99, 53, &j), DB_NOTFOUND);
	int64_t d;
	db_job_create(db, "eval", "{\"model_id\":1}", 5, &d);
	CHECK_INT_EQ(db_work_claim_id(db, d, 54, &j), 0);
	CHECK_STR_EQ(j.params, "{\"model_id\":1}");
	db_work_job_release(&j);
	db_close(db);
}

/* A score job waits for every other queued kind, older or newer; among
 * score jobs the oldest first. */
static void test_claim_score_last(void)
{
	struct db *db = fresh_db();
	int64_t s1, b, s2, g;
	struct db_work_job j;
	db_job_create(db, "score", "{\"reward_model_id\":1}", 1, &s1);
	db_job_create(db, "best", NULL, 2, &b);
	db_job_create(db, "score", "{}", 3, &s2);
	db_job_create(db, "generate", NULL, 4, &g);
	int64_t want[] = { b, g, s1, s2 };
	for (int i = 0; i < 4; i++) {
		CHECK_INT_EQ(db_work_claim(db, 10 + i, &j), 0);
		CHECK_INT_EQ(j.id, want[i]);
		db_work_job_release(&j);
	}
	CHECK_INT_EQ(db_work_claim(db, 20, &j), DB_NOTFOUND);
	db_close(db);
}

static void test_report_and_finish(void)
{
	struct db *db = fresh_db();
	int64_t id;
	struct db_work_job j;
	db_job_create(db, "sft", NULL, 1, &id);
	CHECK_INT_EQ(db_work_claim(db, 2, &j), 0);
	db_work_job_release(&j);
	struct db_work_metric m[3] = {
		{ 1, "loss", 2.5 }, { 1, "lr", 0.001 }, { 2, "loss", 2.0 },
	};
	CHECK_INT_EQ(db_work_report(db, id, 0.25, m, 3), 0);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM job_metrics WHERE job_id = 1"), 3);
	CHECK_INT_EQ(query_int(db, "SELECT progress * 100 FROM jobs WHERE id = 1"), 25);
	/* a second report replaces (job, name, step) and leaves progress with -1 */
	struct db_work_metric again = { 2, "loss", 1.5 };
	CHECK_INT_EQ(db_work_report(db, id, -1, &again, 1), 0);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM job_metrics WHERE job_id = 1"), 3);
	CHECK_INT_EQ(query_int(db, "SELECT value * 10 FROM job_metrics WHERE step = 2"), 15);
	CHECK_INT_EQ(query_int(db, "SELECT progress * 100 FROM jobs WHERE id = 1"), 25);

	bool req = true;
	CHECK_INT_EQ(db_work_cancel_requested(db, id, &req), 0);
	CHECK(!req);
	CHECK_INT_EQ(db_job_cancel(db, id, 3, NULL), 0);
	CHECK_INT_EQ(db_work_cancel_requested(db, id, &req), 0);
	CHECK(req);

	CHECK_INT_EQ(db_work_finish(db, id, "done", NULL, NULL, 0, 9), DB_INVALID);
	CHECK_INT_EQ(db_work_finish(db, id, "succeeded", NULL, "{\"steps\":2}", 0, 9), 0);
	CHECK_STR_EQ(query_text(db, "SELECT status FROM jobs WHERE id = 1"), "succeeded");
	CHECK_INT_EQ(query_int(db, "SELECT progress FROM jobs WHERE id = 1"), 1);
	CHECK_INT_EQ(query_int(db, "SELECT finished_at FROM jobs WHERE id = 1"), 9);
	CHECK_STR_EQ(query_text(db, "SELECT metrics FROM jobs WHERE id = 1"), "{\"steps\":2}");
	/* a finished job cannot finish again */
	CHECK_INT_EQ(db_work_finish(db, id, "failed", "x", NULL, 0, 10), DB_CONFLICT);
	db_close(db);
}

static void test_recover_and_retry(void)
{
	struct db *db = fresh_db();
	int64_t a, b, c, n2;
	struct db_work_job j;
	db_job_create(db, "ppo", "{\"iterations\":3}", 1, &a);
	db_job_create(db, "generate", NULL, 2, &b);
	CHECK_INT_EQ(db_work_claim(db, 3, &j), 0);      /* a runs ... */
	db_work_job_release(&j);
	int n = -1;
	CHECK_INT_EQ(db_work_recover(db, "interrupted: test", 7, &n, NULL), 0); /* ... and the process died */
	CHECK_INT_EQ(n, 1);
	CHECK_STR_EQ(query_text(db, "SELECT status || ' ' || error FROM jobs WHERE id = 1"),
		     "failed interrupted: test");
	CHECK_STR_EQ(query_text(db, "SELECT status FROM jobs WHERE id = 2"), "queued");
	/* retry: a new queued job with the same kind and params */
	CHECK_INT_EQ(db_work_retry(db, a, 8, &c), 0);
	CHECK_INT_EQ(c, 3);
	CHECK_STR_EQ(query_text(db, "SELECT kind || ' ' || status || ' ' || params FROM jobs WHERE id = 3"),
		     "ppo queued {\"iterations\":3}");
	/* a queued job and a succeeded one cannot be retried; unknown is not found */
	CHECK_INT_EQ(db_work_retry(db, b, 8, &n2), DB_CONFLICT);
	CHECK_INT_EQ(db_work_retry(db, 42, 8, &n2), DB_NOTFOUND);
	CHECK_INT_EQ(db_job_cancel(db, b, 9, NULL), 0);   /* cancelled: may be retried */
	CHECK_INT_EQ(db_work_retry(db, b, 9, &n2), 0);
	CHECK_INT_EQ(n2, 4);
	db_close(db);
}

/* ---- model versions ------------------------------------------------------- */

static void test_models(void)
{
	struct db *db = fresh_db();
	int64_t base, sft, rm1, rm2, latest = 0;
	struct db_work_model m;
	db_model_create(db, "base", "tiny", 0, 0, NULL, "models/1.bin", &base);
	db_model_create(db, "sft", NULL, base, 0, NULL, NULL, &sft);
	CHECK_INT_EQ(db_work_model_latest(db, "reward", &latest), DB_NOTFOUND);
	db_model_create(db, "reward", NULL, sft, 0, NULL, NULL, &rm1);
	db_model_create(db, "reward", NULL, sft, 0, NULL, NULL, &rm2);
	CHECK_INT_EQ(db_work_model_latest(db, "reward", &latest), 0);
	CHECK_INT_EQ(latest, rm2);
	CHECK_INT_EQ(db_work_model_get(db, base, &m), 0);
	CHECK_STR_EQ(m.kind, "base");
	CHECK_STR_EQ(m.path, "models/1.bin");
	CHECK_STR_EQ(m.name, "tiny");
	CHECK_INT_EQ(m.parent_id, 0);
	db_work_model_release(&m);
	CHECK_INT_EQ(db_work_model_set_path(db, sft, "models/2.bin"), 0);
	CHECK_INT_EQ(db_work_model_set_path(db, 99, "x"), DB_NOTFOUND);
	CHECK_INT_EQ(db_work_model_get(db, sft, &m), 0);
	CHECK_INT_EQ(m.parent_id, base);
	CHECK_STR_EQ(m.path, "models/2.bin");
	CHECK(m.name == NULL);
	db_work_model_release(&m);
	CHECK_INT_EQ(db_work_model_get(db, 77, &m), DB_NOTFOUND);

	/* metrics merge: keys added, replaced, removed by null */
	CHECK_INT_EQ(db_work_model_merge_metrics(db, sft, "{\"loss\":2,\"steps\":5}"), 0);
	CHECK_INT_EQ(db_work_model_merge_metrics(db, sft, "{\"loss\":1,\"steps\":null,\"eval\":{\"kl\":0.5}}"), 0);
	CHECK_STR_EQ(query_text(db, "SELECT metrics FROM model_versions WHERE id = 2"),
		     "{\"loss\":1,\"eval\":{\"kl\":0.5}}");

	/* one key set, nulls kept (an eval figure that could not be measured) */
	CHECK_INT_EQ(db_work_model_set_metric(db, sft, "eval", "{\"kl\":null,\"win_rate\":0.5}"), 0);
	CHECK_STR_EQ(query_text(db, "SELECT metrics FROM model_versions WHERE id = 2"),
		     "{\"loss\":1,\"eval\":{\"kl\":null,\"win_rate\":0.5}}");
	CHECK_INT_EQ(db_work_model_set_metric(db, sft, "a.b", "1"), DB_INVALID);
	CHECK_INT_EQ(db_work_model_set_metric(db, 99, "x", "1"), DB_NOTFOUND);
	CHECK_INT_EQ(db_work_model_set_metrics(db, rm1, "{\"acc\":0.75}"), 0);
	CHECK_STR_EQ(query_text(db, "SELECT metrics FROM model_versions WHERE id = 3"), "{\"acc\":0.75}");

	/* rating ids: needs real ratings (foreign key) */
	int64_t r = make_rater(db, "ann"), pid = make_prompt(db, "p", "train"), resp[2];
	int64_t gid = make_group(db, pid, 0, 2, resp);
	rate(db, r, gid, resp[0], 5, 10);
	rate(db, r, gid, resp[1], 2, 10);
	int64_t ids[3] = { 1, 2, 1 };
	CHECK_INT_EQ(db_work_model_add_ratings(db, rm2, ids, 3), 0);
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM model_version_ratings WHERE model_id = 4"), 2);
	int64_t bad = 999;
	CHECK(db_work_model_add_ratings(db, rm2, &bad, 1) < 0);
	db_close(db);
}

/* The candidate people's verdict may promote over its parent: the newest the
 * gate kept for the reward model's judgement alone, when not judged yet. */
static void test_candidate(void)
{
	struct db *db = fresh_db();
	int64_t base, c[5], id = -1;
	static const char *const metrics[5] = {
		/* before the gate said whether a refusal was sound: as sound */
		"{\"promotion\":{\"decision\":\"candidate\",\"mode\":\"gate\"}}",
		"{\"promotion\":{\"decision\":\"candidate\",\"mode\":\"gate\",\"sound\":true}}",
		/* collapsed or over its KL budget: nothing for people to overrule */
		"{\"promotion\":{\"decision\":\"candidate\",\"mode\":\"gate\",\"sound\":false}}",
		/* promote "never": kept by the user's choice, not the gate's */
		"{\"promotion\":{\"decision\":\"candidate\",\"mode\":\"never\"}}",
		"{\"promotion\":{\"decision\":\"promoted\",\"mode\":\"gate\",\"sound\":true}}",
	};
	db_model_create(db, "sft", NULL, 0, 0, NULL, NULL, &base);
	CHECK_INT_EQ(db_work_model_candidate(db, base, &id), DB_NOTFOUND);
	for (int i = 0; i < 5; i++) {
		db_model_create(db, "policy", NULL, base, 0, NULL, NULL, &c[i]);
		CHECK_INT_EQ(db_work_model_merge_metrics(db, c[i], metrics[i]), 0);
	}
	CHECK_INT_EQ(db_work_model_candidate(db, base, &id), 0);
	CHECK_INT_EQ(id, c[1]);
	/* another parent's candidates are not this one's */
	CHECK_INT_EQ(db_work_model_candidate(db, c[0], &id), DB_NOTFOUND);
	/* judged by people (kept at its final look): none, the older one was
	 * superseded by it */
	CHECK_INT_EQ(db_work_model_merge_metrics(db, c[1], "{\"verdict\":{\"decision\":\"kept\"}}"), 0);
	CHECK_INT_EQ(db_work_model_candidate(db, base, &id), DB_NOTFOUND);
	/* a newer one is judged next */
	int64_t c5;
	db_model_create(db, "policy", NULL, base, 0, NULL, NULL, &c5);
	CHECK_INT_EQ(db_work_model_merge_metrics(db, c5, metrics[1]), 0);
	CHECK_INT_EQ(db_work_model_candidate(db, base, &id), 0);
	CHECK_INT_EQ(id, c5);
	db_close(db);
}

/* best "from": "previous" starts from the newest policy a best job made from
 * the same reference that was neither rolled back nor found unsound. */
static void test_best_latest(void)
{
	struct db *db = fresh_db();
	int64_t sft, other, jb, jr, p[6], id = -1;
	char m[128];
	db_model_create(db, "sft", NULL, 0, 0, NULL, NULL, &sft);
	db_model_create(db, "sft", NULL, 0, 0, NULL, NULL, &other);
	db_job_create(db, "best", NULL, 1, &jb);
	db_job_create(db, "rloo", NULL, 2, &jr);
	CHECK_INT_EQ(db_work_model_best_latest(db, sft, &id), DB_NOTFOUND);
	/* p0 best sound, p1 best promoted, p2 an rloo policy, p3 best of another
	 * reference, p4 best rolled back, p5 best unsound */
	static const struct { int job; int ref; const char *extra; } v[6] = {
		{ 0, 0, "\"promotion\":{\"decision\":\"candidate\",\"mode\":\"gate\",\"sound\":true}" },
		{ 0, 0, "\"promotion\":{\"decision\":\"promoted\",\"mode\":\"gate\",\"sound\":true}" },
		{ 1, 0, "\"promotion\":{\"decision\":\"promoted\",\"mode\":\"gate\",\"sound\":true}" },
		{ 0, 1, "\"promotion\":{\"decision\":\"candidate\",\"mode\":\"never\"}" },
		{ 0, 0, "\"rollback\":{\"to\":1}" },
		{ 0, 0, "\"promotion\":{\"decision\":\"candidate\",\"mode\":\"gate\",\"sound\":false}" },
	};
	for (int i = 0; i < 6; i++) {
		db_model_create(db, "policy", NULL, sft, v[i].job ? jr : jb, NULL, NULL, &p[i]);
		snprintf(m, sizeof m, "{\"ref_model_id\":%lld,%s}",
			 (long long)(v[i].ref ? other : sft), v[i].extra);
		CHECK_INT_EQ(db_work_model_merge_metrics(db, p[i], m), 0);
	}
	CHECK_INT_EQ(db_work_model_best_latest(db, sft, &id), 0);
	CHECK_INT_EQ(id, p[1]);
	CHECK_INT_EQ(db_work_model_best_latest(db, other, &id), 0);
	CHECK_INT_EQ(id, p[3]);
	/* rolled back later: the one before it */
	CHECK_INT_EQ(db_work_model_merge_metrics(db, p[1], "{\"rollback\":{\"to\":1}}"), 0);
	CHECK_INT_EQ(db_work_model_best_latest(db, sft, &id), 0);
	CHECK_INT_EQ(id, p[0]);
	db_close(db);
}

/* People's verdict on one policy against another: per prompt, the mean of
 * its answers' mean scores, compared. */
static void test_verdict(void)
{
	struct db *db = fresh_db();
	int64_t base, pol, ann = make_rater(db, "ann"), bob = make_rater(db, "bob");
	db_model_create(db, "sft", NULL, 0, 0, NULL, NULL, &base);
	db_model_create(db, "policy", NULL, base, 0, NULL, NULL, &pol);
	int64_t p[4], r[2], ra[2];
	make_prompts(db, p, 4, 4);
	/* q0: base 4 and 2 (mean 3), pol 2 by ann and 5 by bob (mean 3.5): better */
	int64_t g = make_group(db, p[0], base, 2, r);
	rate(db, ann, g, r[0], 4, 10);
	rate(db, ann, g, r[1], 2, 10);
	g = make_group(db, p[0], pol, 1, ra);
	rate(db, ann, g, ra[0], 2, 10);
	rate(db, bob, g, ra[0], 5, 10);
	/* q1: base 5, pol 1: worse; q2: 3 and 3: a tie */
	g = make_group(db, p[1], base, 1, r);
	rate(db, ann, g, r[0], 5, 10);
	int64_t g1 = make_group(db, p[1], pol, 1, ra), r1 = ra[0];
	rate(db, ann, g1, r1, 1, 10);
	g = make_group(db, p[2], base, 1, r);
	rate(db, ann, g, r[0], 3, 10);
	g = make_group(db, p[2], pol, 1, ra);
	rate(db, ann, g, ra[0], 3, 10);
	/* q3: only pol rated, base unrated: not counted */
	g = make_group(db, p[3], base, 1, r);
	g = make_group(db, p[3], pol, 1, ra);
	rate(db, ann, g, ra[0], 1, 10);
	int worse = -1, better = -1, ties = -1;
	CHECK_INT_EQ(db_work_model_verdict(db, pol, base, &worse, &better, &ties), 0);
	CHECK_INT_EQ(worse, 1);
	CHECK_INT_EQ(better, 1);
	CHECK_INT_EQ(ties, 1);
	/* the same prompts as numbers, in prompt order: q0 3.5 - 3, q1 1 - 5,
	 * q2 3 - 3 (q3 unpaired); the other way round, negated */
	double *d = NULL;
	int n = -1;
	CHECK_INT_EQ(db_work_model_paired(db, pol, base, DB_PAIRED_ALL, &d, &n), 0);
	CHECK_INT_EQ(n, 3);
	if (n == 3) {
		CHECK_NEAR(d[0], 0.5, 1e-12);
		CHECK_NEAR(d[1], -4.0, 1e-12);
		CHECK_NEAR(d[2], 0.0, 1e-12);
	}
	free(d);
	CHECK_INT_EQ(db_work_model_paired(db, base, pol, DB_PAIRED_ALL, &d, &n), 0);
	CHECK(n == 3 && d[0] == -0.5 && d[1] == 4.0);
	free(d);
	/* no rated answers in common: none, and no array */
	CHECK_INT_EQ(db_work_model_paired(db, pol, 99, DB_PAIRED_ALL, &d, &n), 0);
	CHECK(n == 0 && d == NULL);
	/* how much of a model's answers is rated (the final look's trigger): base
	 * wrote 5, q3's unrated; pol 4, all rated, q0's by two raters */
	int64_t rated = -1, total = -1;
	CHECK_INT_EQ(db_work_model_rated(db, base, 1, &rated, &total), 0);
	CHECK(rated == 4 && total == 5);
	CHECK_INT_EQ(db_work_model_rated(db, pol, 1, &rated, &total), 0);
	CHECK(rated == 4 && total == 4);
	CHECK_INT_EQ(db_work_model_rated(db, pol, 2, &rated, &total), 0);
	CHECK(rated == 1 && total == 4);
	CHECK_INT_EQ(db_work_model_rated(db, 99, 1, &rated, &total), 0);
	CHECK(rated == 0 && total == 0);
	/* a re-rating supersedes: ann now gives pol's q1 answer a 5 (q1 a tie) */
	rate(db, ann, g1, r1, 5, 11);
	CHECK_INT_EQ(db_work_model_verdict(db, pol, base, &worse, &better, &ties), 0);
	CHECK_INT_EQ(worse, 0);
	CHECK_INT_EQ(better, 1);
	CHECK_INT_EQ(ties, 2);
	/* answers written to explore (a prompt picked for its low scores) are
	 * no part of it: base's q3 answer now rated 1, a tie with pol's 1; pol's
	 * explore group on q3 rated 5 changes nothing */
	int64_t rb[1];
	g = make_group(db, p[3], base, 1, rb);
	rate(db, ann, g, rb[0], 1, 12);
	const char *marks[2] = { "{\"k\":1,\"explore\":true}", "{\"k\":1,\"explore\":false}" };
	for (int e = 0; e < 2; e++) {
		int64_t ge = 0, re = 0;
		db_begin(db);
		CHECK_INT_EQ(db_group_create(db, p[3], pol, 0, marks[e], &ge), 0);
		CHECK_INT_EQ(db_work_response_insert(db, ge, p[3], pol, marks[e], 2, true, &re), 0);
		db_commit(db);
		rate(db, ann, ge, re, 5, 12 + e);
		CHECK_INT_EQ(db_work_model_verdict(db, pol, base, &worse, &better, &ties), 0);
		/* explore: still the tie; then a group marked otherwise counts:
		 * pol's q3 mean (1 + 5) / 2 against 1 */
		CHECK(worse == 0 && better == 1 + e && ties == 3 - e);
	}
	/* the unseen prompts (the rollback's): those either model was trained
	 * on are left out — q0 (better) among pol's training ratings, q2 (a tie)
	 * among the training prompts of base's reward model; left q1 (a tie)
	 * and q3 (better), both ways; all four when asked for all */
	char tm[160];
	snprintf(tm, sizeof tm, "SELECT x.id FROM ratings x JOIN responses r ON r.id = x.response_id"
		 " WHERE r.prompt_id = %lld LIMIT 1", (long long)p[0]);
	int64_t q0_rating = query_int(db, tm), rm = 0;
	CHECK_INT_EQ(db_work_model_add_ratings(db, pol, &q0_rating, 1), 0);
	db_model_create(db, "reward", NULL, base, 0, NULL, NULL, &rm);
	snprintf(tm, sizeof tm, "{\"train_prompt_ids\":[%lld]}", (long long)p[2]);
	CHECK_INT_EQ(db_work_model_set_metrics(db, rm, tm), 0);
	snprintf(tm, sizeof tm, "{\"reward_model_id\":%lld}", (long long)rm);
	CHECK_INT_EQ(db_work_model_set_metrics(db, base, tm), 0);
	CHECK_INT_EQ(db_work_model_verdict(db, pol, base, &worse, &better, &ties), 0);
	CHECK(worse == 0 && better == 1 && ties == 1);
	CHECK_INT_EQ(db_work_model_paired(db, base, pol, DB_PAIRED_UNSEEN, &d, &n), 0);
	CHECK(n == 2 && d[0] == 0.0 && d[1] == -2.0);
	free(d);
	CHECK_INT_EQ(db_work_model_paired(db, pol, base, DB_PAIRED_ALL, &d, &n), 0);
	CHECK(n == 4 && d[0] == 0.5 && d[1] == 0.0 && d[2] == 0.0 && d[3] == 2.0);
	free(d);
	/* the trained ones alone (the candidate's promotion): q0 and q2 */
	CHECK_INT_EQ(db_work_model_paired(db, pol, base, DB_PAIRED_TRAINED, &d, &n), 0);
	CHECK(n == 2 && d[0] == 0.5 && d[1] == 0.0);
	free(d);
	/* a prompt of the eval split is the user's measure, in no verdict: pol
	 * rated 1 against base's 5 there on three answers each changes none of
	 * the figures above */
	int64_t pe = make_prompt(db, "e0", "eval"), re3[3];
	for (int who = 0; who < 2; who++) {
		g = make_group(db, pe, who ? pol : base, 3, re3);
		for (int i = 0; i < 3; i++)
			rate(db, ann, g, re3[i], who ? 1 : 5, 14);
	}
	CHECK_INT_EQ(db_work_model_verdict(db, pol, base, &worse, &better, &ties), 0);
	CHECK(worse == 0 && better == 1 && ties == 1);
	for (int which = DB_PAIRED_ALL; which <= DB_PAIRED_TRAINED; which++) {
		CHECK_INT_EQ(db_work_model_paired(db, pol, base, (enum db_paired)which, &d, &n), 0);
		CHECK_INT_EQ(n, which == DB_PAIRED_ALL ? 4 : 2);
		free(d);
	}
	json_t *m = NULL;
	CHECK_INT_EQ(db_work_model_set_metrics(db, pol, "{\"a\":[1,2]}"), 0);
	CHECK_INT_EQ(db_work_model_metrics(db, pol, &m), 0);
	CHECK_INT_EQ(json_array_size(json_object_get(m, "a")), 2);
	json_decref(m);
	CHECK_INT_EQ(db_work_model_metrics(db, 99, &m), DB_NOTFOUND);
	db_close(db);
}

/* ---- auto-training counters ---------------------------------------------- */

static void test_auto_state(void)
{
	struct db *db = fresh_db();
	int64_t mark = -1, cnt = -1, maxid = -1, j;
	bool busy = true;
	CHECK_INT_EQ(db_work_auto_state(db, &mark, &busy), 0);
	CHECK_INT_EQ(mark, 0);
	CHECK(!busy);
	CHECK_INT_EQ(db_work_max_rating_id(db, &maxid), 0);
	CHECK_INT_EQ(maxid, 0);

	int64_t ann = make_rater(db, "ann"), bob = make_rater(db, "bob");
	int64_t pid = make_prompt(db, "p", "train"), resp[3];
	int64_t gid = make_group(db, pid, 0, 3, resp);
	rate(db, ann, gid, resp[0], 4, 1);   /* rating 1 */
	rate(db, ann, gid, resp[1], 3, 1);   /* rating 2 */
	rate(db, bob, gid, resp[0], 2, 1);   /* rating 3 */
	rate(db, ann, gid, resp[1], 5, 2);   /* rating 4 supersedes 2 */
	CHECK_INT_EQ(db_work_max_rating_id(db, &maxid), 0);
	CHECK_INT_EQ(maxid, 4);
	/* current ratings after id 0: 1, 3, 4 (2 was superseded) */
	CHECK_INT_EQ(db_work_ratings_after(db, 0, 100, &cnt), 0);
	CHECK_INT_EQ(cnt, 3);
	CHECK_INT_EQ(db_work_ratings_after(db, 0, 2, &cnt), 0);   /* capped */
	CHECK_INT_EQ(cnt, 2);
	CHECK_INT_EQ(db_work_ratings_after(db, 3, 100, &cnt), 0);
	CHECK_INT_EQ(cnt, 1);

	/* a queued auto reward job marks its ratings_upto and makes it busy */
	db_job_create(db, "reward", "{\"auto\":true,\"ratings_upto\":3}", 5, &j);
	CHECK_INT_EQ(db_work_auto_state(db, &mark, &busy), 0);
	CHECK_INT_EQ(mark, 3);
	CHECK(busy);
	/* a manual reward job that ran records a later mark in its metrics */
	int64_t k;
	struct db_work_job w;
	db_job_create(db, "reward", NULL, 6, &k);
	CHECK_INT_EQ(db_job_cancel(db, j, 7, NULL), 0);
	CHECK_INT_EQ(db_work_claim(db, 8, &w), 0);
	CHECK_INT_EQ(w.id, k);
	db_work_job_release(&w);
	CHECK_INT_EQ(db_work_finish(db, k, "failed", "no rated pairs", "{\"ratings_upto\":4}", 0, 9), 0);
	CHECK_INT_EQ(db_work_auto_state(db, &mark, &busy), 0);
	CHECK_INT_EQ(mark, 4);
	CHECK(!busy);
	/* other kinds do not move the mark */
	db_job_create(db, "sft", "{\"ratings_upto\":100}", 10, &k);
	CHECK_INT_EQ(db_work_auto_state(db, &mark, &busy), 0);
	CHECK_INT_EQ(mark, 4);

	/* rank and pair judgements: counted by the answers they place, current
	 * rows only, after their own mark */
	int64_t omark = -1;
	CHECK_INT_EQ(db_work_auto_order_mark(db, &omark), 0);
	CHECK_INT_EQ(omark, 0);
	CHECK_INT_EQ(db_work_max_ordering_id(db, &maxid), 0);
	CHECK_INT_EQ(maxid, 0);
	int64_t gid2 = make_group(db, pid, 0, 3, resp);
	struct db_order_item it[3] = { { resp[0], 1, 3 }, { resp[1], 2, 2 }, { resp[2], 3, 1 } };
	struct db_order_in rank = { "rank", NULL, 0, it, 3 };
	CHECK_INT_EQ(db_order_save(db, ann, gid2, &rank, 11, NULL, NULL), 0);    /* rows 1-3 */
	CHECK_INT_EQ(db_order_save(db, bob, gid2, &rank, 12, NULL, NULL), 0);    /* rows 4-6 */
	CHECK_INT_EQ(db_order_save(db, ann, gid2, &rank, 13, NULL, NULL), 0);    /* 7-9 supersede 1-3 */
	CHECK_INT_EQ(db_work_max_ordering_id(db, &maxid), 0);
	CHECK_INT_EQ(maxid, 9);
	CHECK_INT_EQ(db_work_orderings_after(db, 0, 100, &cnt), 0);
	CHECK_INT_EQ(cnt, 6);
	CHECK_INT_EQ(db_work_orderings_after(db, 6, 100, &cnt), 0);
	CHECK_INT_EQ(cnt, 3);
	CHECK_INT_EQ(db_work_orderings_after(db, 0, 4, &cnt), 0);     /* capped */
	CHECK_INT_EQ(cnt, 4);
	/* a reward job's orderings_upto (params or metrics) moves the judgements'
	 * mark, not the ratings' */
	db_job_create(db, "reward", "{\"auto\":true,\"ratings_upto\":4,\"orderings_upto\":6}", 14, &k);
	CHECK_INT_EQ(db_work_auto_order_mark(db, &omark), 0);
	CHECK_INT_EQ(omark, 6);
	CHECK_INT_EQ(db_work_auto_state(db, &mark, &busy), 0);
	CHECK_INT_EQ(mark, 4);
	db_close(db);
}

/* ---- training data ----------------------------------------------------------- */

static void test_traindata_groups(void)
{
	struct db *db = fresh_db();
	int64_t model = 0;
	db_model_create(db, "base", NULL, 0, 0, NULL, NULL, &model);
	int64_t ann = make_rater(db, "ann"), bob = make_rater(db, "bob");
	int64_t p1 = make_prompt(db, "capital of France?", "train");
	int64_t p2 = make_prompt(db, "capital of Peru?", "eval");
	int64_t p3 = make_prompt(db, "a poem", "train");
	int64_t g1r[3], g2r[2], g3r[2], g4r[2];
	int64_t g1 = make_group(db, p1, model, 3, g1r);  /* generated; answer 1 did not end */
	int64_t g2 = make_group(db, p2, model, 2, g2r);  /* eval split */
	int64_t g3 = make_group(db, p3, 0, 2, g3r);      /* imported, never rated */
	int64_t g4 = make_group(db, p3, model, 2, g4r);  /* generated, never rated */
	(void)g4;
	/* ratings:            ann  bob
	 *   g1 answer 0        5    4      mean 4.5
	 *   g1 answer 1        2 -> 1      re-rated by ann: current 1, mean 1
	 *   g1 answer 2        -    -      unrated: left out
	 *   g2 answer 0        3           (eval split)
	 * ids: 1 (ann g1a0), 2 (bob g1a0), 3 (ann g1a1, superseded), 4 (ann g2a0),
	 *      5 (ann g1a1 again) */
	CHECK_INT_EQ(rate(db, ann, g1, g1r[0], 5, 1), 0);
	CHECK_INT_EQ(rate(db, bob, g1, g1r[0], 4, 1), 0);
	CHECK_INT_EQ(rate(db, ann, g1, g1r[1], 2, 1), 0);
	CHECK_INT_EQ(rate(db, ann, g2, g2r[0], 3, 1), 0);
	CHECK_INT_EQ(rate(db, ann, g1, g1r[1], 1, 2), 0);

	struct db_td_set s;
	CHECK_INT_EQ(db_traindata_groups(db, "train", false, &s), 0);
	CHECK_INT_EQ(s.max_rating_id, 5);
	CHECK_INT_EQ(s.n_groups, 1);
	if (s.n_groups == 1) {
		struct db_td_group *g = &s.groups[0];
		CHECK_INT_EQ(g->id, g1);
		CHECK_INT_EQ(g->prompt_id, p1);
		CHECK_INT_EQ(g->model_id, model);
		CHECK_STR_EQ(g->prompt, "capital of France?");
		CHECK_INT_EQ(g->n, 2);
		if (g->n == 2) {
			CHECK_INT_EQ(g->responses[0].id, g1r[0]);
			CHECK_NEAR(g->responses[0].mean, 4.5, 1e-12);
			CHECK_INT_EQ(g->responses[0].n_ratings, 2);
			CHECK_INT_EQ(g->responses[0].rating_ids[0], 1);
			CHECK_INT_EQ(g->responses[0].rating_ids[1], 2);
			CHECK(g->responses[0].ended);
			CHECK(!g->responses[0].imported);
			CHECK_INT_EQ(g->responses[1].id, g1r[1]);
			CHECK_NEAR(g->responses[1].mean, 1.0, 1e-12);
			CHECK_INT_EQ(g->responses[1].n_ratings, 1);
			CHECK_INT_EQ(g->responses[1].rating_ids[0], 5);
			CHECK(!g->responses[1].ended);   /* made with ended = (i != 1) */
			CHECK_STR_EQ(g->responses[1].text, "answer 1 of group 1");
		}
	}
	db_td_set_release(&s);

	/* with imported demonstrations: g3's two unrated imported answers join */
	CHECK_INT_EQ(db_traindata_groups(db, "train", true, &s), 0);
	CHECK_INT_EQ(s.n_groups, 2);
	if (s.n_groups == 2) {
		CHECK_INT_EQ(s.groups[1].id, g3);
		CHECK_INT_EQ(s.groups[1].n, 2);
		CHECK_INT_EQ(s.groups[1].model_id, 0);
		CHECK(s.groups[1].responses[0].imported);
		CHECK(s.groups[1].responses[0].ended);   /* imported counts as ended */
		CHECK(isnan(s.groups[1].responses[0].mean));
		CHECK_INT_EQ(s.groups[1].responses[0].n_ratings, 0);
	}
	db_td_set_release(&s);

	/* both splits */
	CHECK_INT_EQ(db_traindata_groups(db, NULL, false, &s), 0);
	CHECK_INT_EQ(s.n_groups, 2);
	if (s.n_groups == 2) {
		CHECK_INT_EQ(s.groups[1].id, g2);
		CHECK_NEAR(s.groups[1].responses[0].mean, 3.0, 1e-12);
	}
	db_td_set_release(&s);
	db_close(db);
}

/* The scattered order of prompt ids that ties fall back on, computed here. */
static uint64_t scatter(int64_t id)
{
	return ((uint64_t)id * 2654435761u) % 4294967296u;
}

/*
 * Prompts a model has not answered come fewest groups first, ties in the
 * scattered order of their ids: the limited generate job of each new model
 * (the loop's, each round) takes up the prompts the earlier ones did not ask,
 * where ordering by id asked the same lowest ids every round and left the
 * rest with their first group only.
 */
static void test_unanswered_order(void)
{
	struct db *db = fresh_db();
	int64_t m[4] = { 0 }, r[2], pr[8];
	db_model_create(db, "base", NULL, 0, 0, NULL, NULL, &m[0]);
	for (int i = 1; i < 4; i++)
		db_model_create(db, "policy", NULL, m[0], 0, NULL, NULL, &m[i]);
	make_prompts(db, pr, 8, 8);
	/* groups so far: q0 2 (m0 and an import), q1 q2 q3 1 (m0), q4 1 (import),
	 * q5 q6 q7 none */
	make_group(db, pr[0], m[0], 2, r);
	make_group(db, pr[0], 0, 2, r);
	for (int i = 1; i <= 3; i++)
		make_group(db, pr[i], m[0], 2, r);
	make_group(db, pr[4], 0, 2, r);
	struct db_td_prompt *p;
	int n;
	/* m1 has answered none: q5 q6 q7 (0 groups), then q1..q4 (1), then q0 (2),
	 * each tier in scattered order */
	CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "train", m[1], 0, 0, &p, &n), 0);
	CHECK_INT_EQ(n, 8);
	int tier[8] = { 2, 1, 1, 1, 1, 0, 0, 0 };
	for (int i = 0; i + 1 < n; i++) {
		int a = (int)(p[i].id - pr[0]), b = (int)(p[i + 1].id - pr[0]);
		CHECK(tier[a] < tier[b] || (tier[a] == tier[b] && scatter(p[i].id) < scatter(p[i + 1].id)));
	}
	if (n == 8)
		CHECK_INT_EQ(p[7].id, pr[0]);
	db_td_prompts_free(p, n);
	/* three models of three prompts each, as three rounds of the loop: every
	 * prompt gets its second group before any gets a third from them */
	int got[8] = { 0 };
	for (int i = 1; i < 4; i++) {
		CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "train", m[i], 0, 3, &p, &n), 0);
		CHECK_INT_EQ(n, 3);
		for (int k = 0; k < n; k++) {
			make_group(db, p[k].id, m[i], 2, r);
			got[p[k].id - pr[0]]++;
		}
		db_td_prompts_free(p, n);
	}
	/* m1 took q5 q6 q7 (no group yet); m2 and m3 took six of the seven with
	 * one group then (q1..q7), never q0 (two already): one prompt still has
	 * one group, every other two, none three */
	int count[8] = { 2, 1, 1, 1, 1, 0, 0, 0 }, ones = 0;
	for (int i = 0; i < 8; i++) {
		count[i] += got[i];
		CHECK(count[i] == 1 || count[i] == 2);
		ones += count[i] == 1;
	}
	CHECK_INT_EQ(ones, 1);
	CHECK_INT_EQ(got[0], 0);
	CHECK(got[5] >= 1 && got[6] >= 1 && got[7] >= 1);
	/* model 0: every prompt, the same order (the loop's "again": more
	 * answers from a model that has answered them all) */
	CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "train", 0, 0, 0, &p, &n), 0);
	CHECK_INT_EQ(n, 8);
	db_td_prompts_free(p, n);
	CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "train", m[1], 0, 0, &p, &n), 0);
	CHECK_INT_EQ(n, 8 - 3);
	db_td_prompts_free(p, n);
	/* paired with m1 (a candidate's parent): m1's three prompts first, then
	 * the rest by their groups; a new model m4 */
	int64_t m4 = 0;
	db_model_create(db, "policy", NULL, m[1], 0, NULL, NULL, &m4);
	CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "train", m4, m[1], 3, &p, &n), 0);
	CHECK_INT_EQ(n, 3);
	for (int k = 0; k < n; k++)
		CHECK(p[k].id == pr[5] || p[k].id == pr[6] || p[k].id == pr[7]);
	db_td_prompts_free(p, n);
	/* m4 trained against a reward model that trained on q5 and q6: of m1's
	 * prompts q7 first, then the untrained ones (q0..q4) before q5 and q6 */
	int64_t rm = 0;
	char tm[96];
	db_model_create(db, "reward", NULL, m[1], 0, NULL, NULL, &rm);
	snprintf(tm, sizeof tm, "{\"train_prompt_ids\":[%lld,%lld]}", (long long)pr[5], (long long)pr[6]);
	CHECK_INT_EQ(db_work_model_set_metrics(db, rm, tm), 0);
	snprintf(tm, sizeof tm, "{\"reward_model_id\":%lld}", (long long)rm);
	CHECK_INT_EQ(db_work_model_set_metrics(db, m4, tm), 0);
	CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "train", m4, m[1], 0, &p, &n), 0);
	CHECK_INT_EQ(n, 8);
	if (n == 8) {
		CHECK_INT_EQ(p[0].id, pr[7]);
		CHECK((p[6].id == pr[5] && p[7].id == pr[6]) || (p[6].id == pr[6] && p[7].id == pr[5]));
	}
	db_td_prompts_free(p, n);
	/* without a pair model (not the loop's answers for a verdict) the order
	 * reads no training: m4's is a model's that trained on nothing */
	struct db_td_prompt *q;
	int nq;
	int64_t m5 = 0;
	db_model_create(db, "policy", NULL, m[1], 0, NULL, NULL, &m5);
	CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "train", m4, 0, 0, &p, &n), 0);
	CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "train", m5, 0, 0, &q, &nq), 0);
	CHECK(n == 8 && nq == 8);
	for (int k = 0; k < n && k < nq; k++)
		CHECK_INT_EQ(p[k].id, q[k].id);
	db_td_prompts_free(p, n);
	db_td_prompts_free(q, nq);
	db_close(db);
}

/*
 * The prompts a generate job's explore takes: rated, and no answer's mean
 * current score at min_score or more; fewest groups first, then scattered.
 */
static void test_unsolved(void)
{
	struct db *db = fresh_db();
	int64_t m = 0, ann = make_rater(db, "ann"), bob = make_rater(db, "bob"), r[2], p[7];
	db_model_create(db, "base", NULL, 0, 0, NULL, NULL, &m);
	make_prompts(db, p, 7, 6);
	/* q0 5 and 2: right once; q1 3 and 2 */
	int64_t g = make_group(db, p[0], m, 2, r);
	rate(db, ann, g, r[0], 5, 10);
	rate(db, ann, g, r[1], 2, 10);
	g = make_group(db, p[1], m, 2, r);
	rate(db, ann, g, r[0], 3, 10);
	rate(db, ann, g, r[1], 2, 10);
	/* q2: two groups, 1 1 and 2 3 */
	for (int k = 0; k < 2; k++) {
		g = make_group(db, p[2], m, 2, r);
		rate(db, ann, g, r[0], 1 + k, 10);
		rate(db, ann, g, r[1], 1 + 2 * k, 10);
	}
	/* q3 answered, not rated; q4 not answered */
	make_group(db, p[3], m, 2, r);
	/* q5: ann's 5 replaced by a 3, bob 4: the mean 3.5; the other 2 */
	g = make_group(db, p[5], m, 2, r);
	rate(db, ann, g, r[0], 5, 10);
	rate(db, ann, g, r[0], 3, 11);
	rate(db, bob, g, r[0], 4, 11);
	rate(db, ann, g, r[1], 2, 10);
	/* q6 of the eval split, 1 and 2 */
	g = make_group(db, p[6], m, 2, r);
	rate(db, ann, g, r[0], 1, 10);
	rate(db, ann, g, r[1], 2, 10);
	struct db_td_prompt *u;
	int n;
	/* min 4: q1 and q5 (one group each, scattered), then q2 (two) */
	CHECK_INT_EQ(db_traindata_prompts_unsolved(db, "train", 4.0, 0, &u, &n), 0);
	CHECK_INT_EQ(n, 3);
	if (n == 3) {
		int64_t a = scatter(p[1]) < scatter(p[5]) ? p[1] : p[5];
		CHECK_INT_EQ(u[0].id, a);
		CHECK_INT_EQ(u[1].id, a == p[1] ? p[5] : p[1]);
		CHECK_INT_EQ(u[2].id, p[2]);
		CHECK_STR_EQ(u[2].text, "q2");
	}
	db_td_prompts_free(u, n);
	/* min 3.5: q5's mean is enough, and q1's 3 not */
	CHECK_INT_EQ(db_traindata_prompts_unsolved(db, "train", 3.5, 0, &u, &n), 0);
	CHECK(n == 2 && u[0].id == p[1] && u[1].id == p[2]);
	db_td_prompts_free(u, n);
	/* at most one; both splits */
	CHECK_INT_EQ(db_traindata_prompts_unsolved(db, "train", 4.0, 1, &u, &n), 0);
	CHECK_INT_EQ(n, 1);
	db_td_prompts_free(u, n);
	CHECK_INT_EQ(db_traindata_prompts_unsolved(db, NULL, 4.0, 0, &u, &n), 0);
	CHECK_INT_EQ(n, 4);
	db_td_prompts_free(u, n);
	db_close(db);
}

/* Answers waiting for raters: in groups fewer than per_group have rated,
 * imported ones too, never a demonstration. */
static void test_open_answers(void)
{
	struct db *db = fresh_db();
	int64_t m = 0, r[3], r2[3], hid, hgroup, hprompt, n = -1;
	db_model_create(db, "base", NULL, 0, 0, NULL, NULL, &m);
	int64_t ann = make_rater(db, "ann"), bob = make_rater(db, "bob");
	int64_t a = make_prompt(db, "a", "train"), b = make_prompt(db, "b", "eval");
	int64_t g1 = make_group(db, a, m, 3, r);
	make_group(db, b, 0, 2, r2);
	CHECK_INT_EQ(db_work_open_answers(db, 1, &n), 0);
	CHECK_INT_EQ(n, 5);
	/* a demonstration is no task */
	CHECK_INT_EQ(db_demonstration_add(db, ann, g1, 0, "my own answer", 1, &hid, &hgroup, &hprompt), 0);
	CHECK_INT_EQ(db_work_open_answers(db, 1, &n), 0);
	CHECK_INT_EQ(n, 5);
	/* g1 rated by one rater: closed with one rater a group, open with two */
	CHECK_INT_EQ(rate(db, ann, g1, r[0], 4, 2), 0);
	CHECK_INT_EQ(db_work_open_answers(db, 1, &n), 0);
	CHECK_INT_EQ(n, 2);
	CHECK_INT_EQ(db_work_open_answers(db, 2, &n), 0);
	CHECK_INT_EQ(n, 5);
	CHECK_INT_EQ(rate(db, bob, g1, r[1], 2, 3), 0);
	CHECK_INT_EQ(db_work_open_answers(db, 2, &n), 0);
	CHECK_INT_EQ(n, 2);
	db_close(db);
}

static void test_traindata_prompts(void)
{
	struct db *db = fresh_db();
	int64_t m1 = 0, m2 = 0, r[2];
	db_model_create(db, "base", NULL, 0, 0, NULL, NULL, &m1);
	db_model_create(db, "sft", NULL, m1, 0, NULL, NULL, &m2);
	int64_t a = make_prompt(db, "a", "train"), b = make_prompt(db, "b", "eval");
	int64_t c = make_prompt(db, "c", "train"), d = make_prompt(db, "d", "train");
	make_group(db, a, m1, 2, r);   /* a answered by m1 */
	make_group(db, c, m2, 2, r);   /* c answered by m2 */
	make_group(db, d, 0, 2, r);    /* d has imported answers only */
	struct db_td_prompt *p;
	int n;
	CHECK_INT_EQ(db_traindata_prompts(db, "train", 0, &p, &n), 0);
	CHECK_INT_EQ(n, 3);
	if (n == 3) {
		CHECK_INT_EQ(p[0].id, a);
		CHECK_INT_EQ(p[1].id, c);
		CHECK_STR_EQ(p[2].text, "d");
	}
	db_td_prompts_free(p, n);
	CHECK_INT_EQ(db_traindata_prompts(db, NULL, 2, &p, &n), 0);
	CHECK_INT_EQ(n, 2);
	if (n == 2)
		CHECK_INT_EQ(p[1].id, b);
	db_td_prompts_free(p, n);
	/* unanswered by m1 in train: c, d; by m2: a, d; by m1 in eval: b */
	CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "train", m1, 0, 0, &p, &n), 0);
	CHECK_INT_EQ(n, 2);
	if (n == 2)
		CHECK((p[0].id == c && p[1].id == d) || (p[0].id == d && p[1].id == c));
	db_td_prompts_free(p, n);
	/* a and d have a group each: which comes first is test_unanswered_order's */
	CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "train", m2, 0, 0, &p, &n), 0);
	CHECK_INT_EQ(n, 2);
	if (n == 2)
		CHECK((p[0].id == a && p[1].id == d) || (p[0].id == d && p[1].id == a));
	db_td_prompts_free(p, n);
	CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "train", m2, 0, 1, &p, &n), 0);
	CHECK_INT_EQ(n, 1);
	db_td_prompts_free(p, n);
	CHECK_INT_EQ(db_traindata_prompts_unanswered(db, "eval", m1, 0, 0, &p, &n), 0);
	CHECK_INT_EQ(n, 1);
	db_td_prompts_free(p, n);
	/* by id, in the order asked; a missing id is named */
	int64_t ids[3] = { d, a, b }, missing = 0;
	CHECK_INT_EQ(db_traindata_prompts_by_id(db, ids, 3, &p, &n, &missing), 0);
	CHECK_INT_EQ(n, 3);
	if (n == 3) {
		CHECK_STR_EQ(p[0].text, "d");
		CHECK_STR_EQ(p[1].text, "a");
		CHECK_STR_EQ(p[2].text, "b");
	}
	db_td_prompts_free(p, n);
	int64_t bad[2] = { a, 99 };
	CHECK_INT_EQ(db_traindata_prompts_by_id(db, bad, 2, &p, &n, &missing), DB_NOTFOUND);
	CHECK_INT_EQ(missing, 99);
	db_close(db);
}

/* ---- one definition: what the exports hand out is what the jobs train on --- */

struct pair {
	int64_t chosen, rejected;
	double score_chosen, score_rejected;
};

/* The pairs of one group as the reward trainer forms them from the scores it
 * is fed (job_reward: the group's rated answers, means as floats), asking
 * model/rl.c's own rule (rl_rm_pair_loss) about every two answers i < j. */
static int reward_pairs(const struct db_td_group *g, struct pair *out)
{
	int rated[16], k = 0, n = 0;
	for (int i = 0; i < g->n && k < 16; i++)
		if (!isnan(g->responses[i].mean))
			rated[k++] = i;
	for (int a = 0; a < k; a++)
		for (int b = a + 1; b < k; b++) {
			const struct db_td_response *ra = &g->responses[rated[a]], *rb = &g->responses[rated[b]];
			float s[2] = { (float)ra->mean, (float)rb->mean }, r[2] = { 1, 0 };
			struct rl_pair_stats st;
			rl_rm_pair_loss(NULL, &st, r, s, 2, 0.0f, 0.0f);
			if (st.n_pairs == 0)
				continue;
			/* r favours a: counted correct exactly when a is the better-rated */
			const struct db_td_response *hi = st.n_correct ? ra : rb, *lo = st.n_correct ? rb : ra;
			out[n++] = (struct pair){ hi->id, lo->id, hi->mean, lo->mean };
		}
	return n;
}

static void check_pairs(const char *what, const struct pair *got, int n, const struct pair *want, int n_want)
{
	CHECK_MSG(n == n_want, "%s: %d pairs, want %d", what, n, n_want);
	for (int i = 0; i < n && i < n_want; i++) {
		CHECK_MSG(got[i].chosen == want[i].chosen && got[i].rejected == want[i].rejected,
			  "%s pair %d: %lld > %lld, want %lld > %lld", what, i, (long long)got[i].chosen,
			  (long long)got[i].rejected, (long long)want[i].chosen, (long long)want[i].rejected);
		CHECK_NEAR(got[i].score_chosen, want[i].score_chosen, 1e-6);
		CHECK_NEAR(got[i].score_rejected, want[i].score_rejected, 1e-6);
	}
}

static void test_exports_are_training_data(void)
{
	struct db *db = fresh_db();
	char path[128];
	snprintf(path, sizeof path, "%s/w%d.db", tmp_dir, db_serial);
	int64_t model = 0;
	db_model_create(db, "base", NULL, 0, 0, NULL, NULL, &model);
	int64_t ann = make_rater(db, "ann"), bob = make_rater(db, "bob"), cy = make_rater(db, "cy");
	int64_t p1 = make_prompt(db, "capital of France?", "train");
	int64_t p2 = make_prompt(db, "a poem", "train");
	int64_t p3 = make_prompt(db, "capital of Peru?", "eval");
	int64_t a[5], b[3], c[2], d[2], e[1];
	int64_t g1 = make_group(db, p1, model, 5, a);
	int64_t g2 = make_group(db, p2, 0, 3, b);      /* imported */
	int64_t g3 = make_group(db, p2, model, 2, c);
	int64_t g4 = make_group(db, p3, model, 2, d);  /* eval split */
	int64_t g5 = make_group(db, p1, 0, 1, e);      /* imported, never rated */
	/* current ratings        ann      bob  cy    mean
	 *   g1 a0                 5        4          4.5
	 *   g1 a1                 2 -> 4   5          4.5   (ann re-rated; counting the
	 *                                                    superseded 2 would give 11/3)
	 *   g1 a2                 3        4    4     11/3
	 *   g1 a3                 -                   unrated
	 *   g1 a4                               1     1
	 *   g2 b0 (imported)      2                   2
	 *   g2 b1 (imported)      -                   unrated: a demonstration for SFT
	 *   g2 b2 (imported)           1    4         2.5
	 *   g3 c0, c1             3, 3                tie: no pair
	 *   g4 d0, d1 (eval)      5, 1                a pair, but not of the train split */
	CHECK_INT_EQ(rate(db, ann, g1, a[0], 5, 10), 0);
	CHECK_INT_EQ(rate(db, ann, g1, a[1], 2, 10), 0);
	CHECK_INT_EQ(rate(db, ann, g1, a[2], 3, 10), 0);
	CHECK_INT_EQ(rate(db, bob, g1, a[0], 4, 11), 0);
	CHECK_INT_EQ(rate(db, bob, g1, a[1], 5, 11), 0);
	CHECK_INT_EQ(rate(db, bob, g1, a[2], 4, 11), 0);
	CHECK_INT_EQ(rate(db, cy, g1, a[2], 4, 12), 0);
	CHECK_INT_EQ(rate(db, cy, g1, a[4], 1, 12), 0);
	CHECK_INT_EQ(rate(db, ann, g1, a[1], 4, 13), 0);
	CHECK_INT_EQ(rate(db, ann, g2, b[0], 2, 14), 0);
	CHECK_INT_EQ(rate(db, bob, g2, b[2], 1, 14), 0);
	CHECK_INT_EQ(rate(db, cy, g2, b[2], 4, 15), 0);
	CHECK_INT_EQ(rate(db, ann, g3, c[0], 3, 16), 0);
	CHECK_INT_EQ(rate(db, ann, g3, c[1], 3, 16), 0);
	CHECK_INT_EQ(rate(db, ann, g4, d[0], 5, 17), 0);
	CHECK_INT_EQ(rate(db, ann, g4, d[1], 1, 17), 0);

	/* by hand: every rated i < j of a group whose means differ, the higher
	 * chosen; g1's a0 ~ a1 tie is dropped */
	const double third = 11.0 / 3.0;
	struct pair want[7] = {
		{ a[0], a[2], 4.5, third }, { a[0], a[4], 4.5, 1 }, { a[1], a[2], 4.5, third },
		{ a[1], a[4], 4.5, 1 }, { a[2], a[4], third, 1 }, { b[2], b[0], 2.5, 2 },
		{ d[0], d[1], 5, 1 },
	};

	/* pairs.jsonl's cursor, split=train (and both splits: g4's pair joins) */
	struct pair got[16];
	int n;
	struct db_export *x;
	struct db_pair_row row;
	for (int both = 0; both < 2; both++) {
		struct db_export_filter f = { .split = both ? NULL : "train", .min_raters = 1 };
		CHECK_INT_EQ(db_export_pairs_open(path, &f, &x), 0);
		for (n = 0; n < 16 && db_export_pairs_next(x, &row) == 1; n++)
			got[n] = (struct pair){ row.chosen_id, row.rejected_id, row.score_chosen,
						 row.score_rejected };
		db_export_close(x);
		check_pairs(both ? "pairs.jsonl" : "pairs.jsonl?split=train", got, n, want, both ? 7 : 6);
	}

	/* what the DPO job trains on: its groups (db_traindata_groups, train, no
	 * demonstrations) and their pairs, as job_dpo takes them */
	struct db_td_set s;
	CHECK_INT_EQ(db_traindata_groups(db, "train", false, &s), 0);
	n = 0;
	for (int g = 0; g < s.n_groups; g++) {
		int pp[16][2];
		int k = db_td_group_pairs(&s.groups[g], pp);
		for (int i = 0; i < k && n < 16; i++) {
			const struct db_td_response *hi = &s.groups[g].responses[pp[i][0]];
			const struct db_td_response *lo = &s.groups[g].responses[pp[i][1]];
			got[n++] = (struct pair){ hi->id, lo->id, hi->mean, lo->mean };
		}
	}
	check_pairs("dpo", got, n, want, 6);

	/* what the reward job trains on: the groups with a pair, their rated
	 * answers' means as floats; the trainer's own pairs from those */
	n = 0;
	int groups = 0;
	for (int g = 0; g < s.n_groups; g++) {
		if (db_td_group_pairs(&s.groups[g], NULL) == 0)
			continue;   /* job_reward's has_pair */
		groups++;
		n += reward_pairs(&s.groups[g], got + n);
	}
	CHECK_INT_EQ(groups, 2);   /* g1, g2; g3 is all tie */
	check_pairs("reward", got, n, want, 6);
	/* a1's ratings are the current ones only: bob's and ann's second */
	CHECK_INT_EQ(s.groups[0].responses[1].n_ratings, 2);
	db_td_set_release(&s);

	/* sft.jsonl (split=train, min_score 4, demonstrations) = the SFT job's
	 * rows: a0 and a1 (4.5), b1 and e0 (imported, unrated) */
	int64_t want_sft[4] = { a[0], a[1], b[1], e[0] };
	struct db_export_filter f = { .split = "train", .min_raters = 1, .min_score = 4,
				      .with_imported = true };
	struct db_sft_row sr;
	int64_t ids[16];
	CHECK_INT_EQ(db_export_sft_open(path, &f, &x), 0);
	for (n = 0; n < 16 && db_export_sft_next(x, &sr) == 1; n++) {
		ids[n] = sr.response_id;
		CHECK(n < 2 ? sr.score == 4.5 && sr.raters == 2 : isnan(sr.score) && sr.raters == 0);
	}
	db_export_close(x);
	CHECK_INT_EQ(n, 4);
	for (int i = 0; i < n && i < 4; i++)
		CHECK_INT_EQ(ids[i], want_sft[i]);
	CHECK_INT_EQ(db_traindata_groups(db, "train", true, &s), 0);
	n = 0;
	int seen = 0;
	for (int g = 0; g < s.n_groups; g++) {
		int rows[16];
		int k = db_td_group_sft(&s.groups[g], 4, rows);
		for (int i = 0; i < k && n < 16; i++)
			ids[n++] = s.groups[g].responses[rows[i]].id;
		/* the answers a best job's row of the group was preferred to (its
		 * focus repeats), unrated ones not counted: by the table above */
		const struct db_td_group *gr = &s.groups[g];
		if (gr->id == g1) {
			CHECK_INT_EQ(db_td_group_below(gr, 4), 2);     /* a2 11/3, a4 1 */
			CHECK_INT_EQ(db_td_group_below(gr, 4.5), 2);   /* 4.5 is not below 4.5 */
			CHECK_INT_EQ(db_td_group_below(gr, 5), 4);     /* a0, a1 too; a3 unrated */
			CHECK_INT_EQ(db_td_group_below(gr, 1), 0);
		} else if (gr->id == g2) {
			CHECK_INT_EQ(db_td_group_below(gr, 4), 2);     /* b0 2, b2 2.5; b1 unrated */
		} else if (gr->id == g3) {
			CHECK_INT_EQ(db_td_group_below(gr, 4), 2);
			CHECK_INT_EQ(db_td_group_below(gr, 3), 0);
		} else if (gr->id == g5) {
			CHECK_INT_EQ(db_td_group_below(gr, 5), 0);     /* never rated */
		}
		seen |= (gr->id == g1) | (gr->id == g2) << 1 | (gr->id == g3) << 2 | (gr->id == g5) << 3;
	}
	CHECK_INT_EQ(seen, 15);
	db_td_set_release(&s);
	CHECK_INT_EQ(n, 4);
	for (int i = 0; i < n && i < 4; i++)
		CHECK_INT_EQ(ids[i], want_sft[i]);
	db_close(db);
}

int main(void)
{
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/rlhfd-test-work-XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_claim_oldest_first);
	RUN(test_unanswered_order);
	RUN(test_unsolved);
	RUN(test_open_answers);
	RUN(test_claim_score_last);
	RUN(test_report_and_finish);
	RUN(test_recover_and_retry);
	RUN(test_models);
	RUN(test_verdict);
	RUN(test_candidate);
	RUN(test_best_latest);
	RUN(test_auto_state);
	RUN(test_traindata_groups);
	RUN(test_traindata_prompts);
	RUN(test_exports_are_training_data);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp_dir);
	TEST_MAIN_END();
}
