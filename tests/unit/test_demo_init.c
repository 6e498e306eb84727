/*
 * tests/unit/test_demo_init.c — `rlhfd demo init` on a tiny demo model built
 * here (never the full one): the two versions registered (names, kinds,
 * parent, the SFT one active, weights equal to the built checkpoints), the
 * demo prompt set loaded as the generator makes it (texts, splits, meta,
 * source), one group of 4 answers from demo-sft per train prompt and none for
 * eval prompts, by one succeeded generate job; a second run changes nothing.
 * The database is read with SQLite directly, not through db/.
 */
#include "model/checkpoint.h"
#include "model/threads.h"
#include "server/cli/cli.h"
#include "server/demo/demo_model.h"
#include "server/demo/demo_world.h"
#include "tests/test.h"

#include <dirent.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char model_dir[64], data_dir[64];
static bool built;

static int64_t q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int run_init(void)
{
	char *argv[] = { "demo", "init", "--data", data_dir, "--model-dir", model_dir, "--quiet",
			 "--max-tokens", "4", NULL };
	return cmd_demo(9, argv);
}

/* Every table's row count, as one string. */
static void counts(sqlite3 *db, char *out, size_t n)
{
	static const char *const tables[] = { "prompts", "model_versions", "jobs", "gen_groups",
					      "responses", "job_metrics", "config", "raters" };
	size_t w = 0;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		char sql[96];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[i]);
		w += (size_t)snprintf(out + w, n - w, "%s=%lld ", tables[i], (long long)q_int(db, sql));
	}
}

static void build_tiny(void)
{
	struct demo_model_config c;
	char err[512];
	demo_model_config_default(&c);
	c.seed = 5;
	c.pretrain_bytes = 30000;
	c.sft_pairs = 40;
	c.vocab_size = 400;
	c.model = (struct llama_config){ .dim = 16, .hidden_dim = 32, .n_layers = 1, .n_heads = 2,
					  .n_kv_heads = 2, .seq_len = 64, .shared_classifier = true };
	c.pretrain = (struct demo_model_phase){ .steps = 5, .batch = 2, .accum = 1, .seq = 64,
						 .lr = 1e-2f, .min_lr = 1e-3f };
	c.sft = (struct demo_model_phase){ .steps = 2, .batch = 2, .accum = 1, .seq = 64,
					    .lr = 1e-3f, .min_lr = 1e-4f };
	c.threads = 1;
	int rc = demo_model_build(model_dir, &c, NULL, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	built = rc == 0;
}

/* The checkpoint at data_dir/rel holds the same weights as model_dir/name. */
static bool same_weights(const char *rel, const char *name)
{
	char a[256], b[256];
	struct llama_config ca, cb;
	float *pa = NULL, *pb = NULL;
	snprintf(a, sizeof a, "%s/%s", data_dir, rel);
	snprintf(b, sizeof b, "%s/%s", model_dir, name);
	bool same = ckpt_load(a, &ca, &pa, NULL, 0) == 0 && ckpt_load(b, &cb, &pb, NULL, 0) == 0 &&
		    ca.dim == cb.dim && ca.vocab_size == cb.vocab_size &&
		    !memcmp(pa, pb, llama_params_count_llama2c(&ca) * sizeof(float));
	free(pa);
	free(pb);
	return same;
}

static void test_init(void)
{
	build_tiny();
	REQUIRE_MSG(built, "the tiny demo model was not built");
	CHECK_INT_EQ(run_init(), 0);
	char path[256];
	snprintf(path, sizeof path, "%s/rlhfd.db", data_dir);
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		CHECK(0);
		return;
	}
	/* the versions */
	CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM model_versions"), 2);
	int64_t base = q_int(db, "SELECT id FROM model_versions WHERE kind = 'base' AND name = 'demo-base'");
	int64_t sft = q_int(db, "SELECT id FROM model_versions WHERE kind = 'sft' AND name = 'demo-sft'");
	CHECK(base > 0 && sft > 0);
	CHECK_INT_EQ(q_int(db, "SELECT parent_id FROM model_versions WHERE name = 'demo-sft'"), base);
	CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM model_versions WHERE name = 'demo-base' AND parent_id IS NULL"), 1);
	CHECK_INT_EQ(q_int(db, "SELECT id FROM model_versions WHERE active = 1"), sft);
	sqlite3_stmt *st;
	CHECK(sqlite3_prepare_v2(db, "SELECT name, path FROM model_versions", -1, &st, NULL) == SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *rel = (const char *)sqlite3_column_text(st, 1);
		CHECK_MSG(rel && same_weights(rel, !strcmp(name, "demo-sft") ? DEMO_MODEL_SFT
									 : DEMO_MODEL_BASE),
			  "version %s at %s", name, rel ? rel : "(null)");
	}
	sqlite3_finalize(st);

	/* the prompts, as the generator makes them, in order */
	struct demo_prompts ps;
	CHECK_INT_EQ(demo_prompts_build(&ps, DEMO_DEFAULT_SEED), 0);
	CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM prompts"), ps.n);
	CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM prompts WHERE source = 'demo'"), ps.n);
	CHECK(sqlite3_prepare_v2(db, "SELECT text, split, meta FROM prompts ORDER BY id", -1, &st,
				 NULL) == SQLITE_OK);
	int i = 0, n_train = 0;
	while (sqlite3_step(st) == SQLITE_ROW && i < ps.n) {
		CHECK_STR_EQ((const char *)sqlite3_column_text(st, 0), ps.v[i].text);
		CHECK_STR_EQ((const char *)sqlite3_column_text(st, 1), ps.v[i].eval ? "eval" : "train");
		json_t *a = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
		json_t *b = json_loads(ps.v[i].meta, 0, NULL);
		CHECK(a && b && json_equal(a, b));
		json_decref(a);
		json_decref(b);
		n_train += !ps.v[i].eval;
		i++;
	}
	sqlite3_finalize(st);
	CHECK_INT_EQ(i, ps.n);
	demo_prompts_release(&ps);

	/* one group of 4 per train prompt, from demo-sft, none for eval */
	CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM gen_groups"), n_train);
	CHECK_INT_EQ(q_int(db, "SELECT count(DISTINCT g.prompt_id) FROM gen_groups g JOIN prompts p"
			       " ON p.id = g.prompt_id WHERE p.split = 'train'"), n_train);
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM gen_groups WHERE model_id = %lld", (long long)sft);
	CHECK_INT_EQ(q_int(db, sql), n_train);
	CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM (SELECT group_id FROM responses GROUP BY group_id"
			       " HAVING count(*) = 4)"), n_train);
	CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM responses"), 4 * n_train);
	CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM responses WHERE token_count > 4"), 0);
	CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM jobs"), 1);
	CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM jobs WHERE kind = 'generate' AND status = 'succeeded'"), 1);

	/* again: nothing changes */
	char before[512], after[512];
	counts(db, before, sizeof before);
	sqlite3_close(db);
	CHECK_INT_EQ(run_init(), 0);
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	counts(db, after, sizeof after);
	CHECK_STR_EQ(after, before);
	CHECK_INT_EQ(q_int(db, "SELECT id FROM model_versions WHERE active = 1"), sft);
	sqlite3_close(db);
}

static void test_bad_options(void)
{
	char *a1[] = { "demo", "init", "--max-tokens", "0", NULL };
	CHECK_INT_EQ(cmd_demo(4, a1), 2);
	char *a2[] = { "demo", "init", "--bogus", NULL };
	CHECK_INT_EQ(cmd_demo(3, a2), 2);
	char *a3[] = { "demo", "frobnicate", NULL };
	CHECK_INT_EQ(cmd_demo(2, a3), 2);
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[512];
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
			struct stat sb;
			if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
				rm_rf(p);
			else
				unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

int main(void)
{
	threads_set(1);
	snprintf(model_dir, sizeof model_dir, "/tmp/rlhfd_demo_init_%d_model", (int)getpid());
	snprintf(data_dir, sizeof data_dir, "/tmp/rlhfd_demo_init_%d_data", (int)getpid());
	RUN(test_init);
	RUN(test_bad_options);
	rm_rf(model_dir);
	rm_rf(data_dir);
	TEST_MAIN_END();
}
