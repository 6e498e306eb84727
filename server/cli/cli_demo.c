/*
 * server/cli/cli_demo.c — `rlhfd demo`: the demo world from the command line.
 *
 *   demo model [--out DIR]   build the demo model (server/demo/demo_model.h) into DIR
 *                            (default: the build cache, build/demo beside the
 *                            executable); the Makefile's cache rule runs it
 *   demo eval [--dir DIR]    measure a model on the demo prompts with the rubric:
 *                            mean score per split, eval part (a / b) and
 *                            family, how often it answers with a question,
 *                            how much its K answers differ (the quality
 *                            figures of the demo model)
 *   demo init [--data DIR]   put the demo world into a data directory (API.md)
 */
#include "server/cli/cli.h"
#include "db/db.h"
#include "db/versions.h"
#include "db/migrate.h"
#include "db/prompts.h"
#include "db/traindata.h"
#include "model/checkpoint.h"
#include "server/demo/demo_model.h"
#include "server/demo/demo_world.h"
#include "server/worker/gen.h"
#include "server/worker/progress.h"
#include "server/worker/modelstore.h"
#include "server/demo/rubric.h"
#include "server/worker/worker.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The build cache of the demo model: $RLHFD_DEMO_MODEL, else build/demo beside
 * the executable (the repository root for ./rlhfd). */
static void demo_cache_dir(char *out, size_t n)
{
	const char *env = getenv("RLHFD_DEMO_MODEL");
	if (env && *env) {
		snprintf(out, n, "%s", env);
		return;
	}
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0) {
		snprintf(out, n, "build/demo");
		return;
	}
	exe[len] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	if ((size_t)snprintf(out, n, "%.*s/build/demo", (int)(n > 12 ? n - 12 : 0), exe) >= n)
		snprintf(out, n, "build/demo");
}

/* ---- demo model ------------------------------------------------------------ */

static int demo_model_cmd(int argc, char **argv)
{
	struct demo_model_config c;
	demo_model_config_default(&c);
	char def_dir[PATH_MAX];
	demo_cache_dir(def_dir, sizeof def_dir);
	const char *out = def_dir;
	int seed = (int)c.seed, bytes = (int)c.pretrain_bytes;
	bool force = false, q = false;
	struct cli_opt opts[] = {
		{ "out", CLI_STR, &out, "directory to write (build/demo beside the executable)" },
		{ "force", CLI_FLAG, &force, "rebuild even when the directory holds a model" },
		{ "seed", CLI_INT, &seed, "seed of corpora, weights and batches" },
		{ "threads", CLI_INT, &c.threads, "threads (0 = all cores)" },
		{ "quiet", CLI_FLAG, &q, "no progress bar" },
		{ "pretrain-bytes", CLI_INT, &bytes, "size of the pre-training text" },
		{ "sft-pairs", CLI_INT, &c.sft_pairs, "instruction pairs" },
		{ "vocab", CLI_INT, &c.vocab_size, "BPE vocabulary size" },
		{ "dim", CLI_INT, &c.model.dim, "residual width" },
		{ "hidden", CLI_INT, &c.model.hidden_dim, "SwiGLU width" },
		{ "layers", CLI_INT, &c.model.n_layers, "layers" },
		{ "heads", CLI_INT, &c.model.n_heads, "query heads" },
		{ "kv-heads", CLI_INT, &c.model.n_kv_heads, "key/value heads" },
		{ "seq", CLI_INT, &c.model.seq_len, "context length (pre-training rows)" },
		{ "pretrain-steps", CLI_INT, &c.pretrain.steps, "pre-training steps" },
		{ "pretrain-batch", CLI_INT, &c.pretrain.batch, "pre-training rows per step" },
		{ "pretrain-lr", CLI_FLOAT, &c.pretrain.lr, "pre-training peak learning rate" },
		{ "sft-steps", CLI_INT, &c.sft.steps, "SFT steps" },
		{ "sft-batch", CLI_INT, &c.sft.batch, "SFT rows per step" },
		{ "sft-lr", CLI_FLOAT, &c.sft.lr, "SFT peak learning rate" },
		{ "sft-seq", CLI_INT, &c.sft.seq, "SFT row length" },
		{ "sft-replay", CLI_INT, &c.sft_replay, "pre-training documents mixed into SFT" },
		{ "sft-replay-weight", CLI_FLOAT, &c.sft_replay_weight, "their token weight" },
		{ "sft-freeze-embedding", CLI_FLAG, &c.sft_freeze_embedding, "SFT keeps the embedding" },
		{ "reuse-base", CLI_FLAG, &c.reuse_base, "keep --out's base model, only redo SFT" },
		{ 0 }
	};
	int rc = cli_parse(argc, argv, opts, "[--out DIR] [options]", NULL, 0, NULL);
	if (rc)
		return cli_exit_code(rc);
	c.seed = (uint64_t)(unsigned)seed;
	c.pretrain_bytes = bytes > 0 ? (size_t)bytes : 0;
	c.pretrain.seq = c.model.seq_len;
	c.pretrain.warmup = c.pretrain.steps / 20;
	c.sft.warmup = c.sft.steps / 10;
	c.pretrain.min_lr = c.pretrain.lr / 10;
	c.sft.min_lr = c.sft.lr / 10;
	if (c.sft.seq > c.model.seq_len)
		c.sft.seq = c.model.seq_len;
	c.progress = q ? NULL : stderr;
	if (!force && demo_model_ready(out)) {
		fprintf(stderr, "rlhfd demo model: '%s' already holds a demo model (--force rebuilds)\n",
			out);
		return 0;
	}
	struct demo_model_stats st;
	char err[512];
	double t0 = progress_now();
	if (demo_model_build(out, &c, &st, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd demo model: %s\n", err);
		return 1;
	}
	printf("demo model in '%s': dim %d hidden %d layers %d heads %d kv %d vocab %d seq %d, "
	       "%zu params\n",
	       out, c.model.dim, c.model.hidden_dim, c.model.n_layers, c.model.n_heads,
	       c.model.n_kv_heads, st.vocab_size, c.model.seq_len, st.n_params);
	printf("data: %zu pre-training tokens, %zu SFT rows (%zu skipped)\n", st.pretrain_tokens,
	       st.sft_rows, st.sft_skipped);
	printf("loss: pretrain %.3f, sft %.3f\n", st.pretrain_loss, st.sft_loss);
	printf("time: corpus %.1f s, tokenizer %.1f s, pretrain %.1f s, sft %.1f s, total %.1f s\n",
	       st.sec_corpus, st.sec_tokenizer, st.sec_pretrain, st.sec_sft, progress_now() - t0);
	return 0;
}

/* ---- demo eval --------------------------------------------------------------- */

/* The first non-empty line of s holds a question mark. */
static bool opens_with_question(const char *s)
{
	s += strspn(s, " \t\r\n");
	const char *nl = strchr(s, '\n');
	size_t n = nl ? (size_t)(nl - s) : strlen(s);
	return memchr(s, '?', n) != NULL;
}

struct eval_tally {
	int n, groups;
	double score;
	double fam_score[DEMO_N_FAMILIES];
	int fam_n[DEMO_N_FAMILIES];
	int question, finished, user_turn, five;
	double distinct;         /* distinct answer texts per group, summed */
	int spread;              /* groups whose scores differ */
	int right_and_wrong;     /* groups with a score >= 4 and one <= 2 */
	double sd;               /* within-group score std, summed */
};

static void tally_print(const char *name, const struct eval_tally *t, int k)
{
	if (!t->n)
		return;
	printf("%-6s %4d prompts x %d: rubric mean %.2f (5s %.0f%%) | question-first %.0f%% | "
	       "ended %.0f%% | new User: turn %.0f%% | distinct/group %.2f | groups with differing "
	       "scores %.0f%%, right+wrong %.0f%%, score sd %.2f\n",
	       name, t->groups, k, t->score / t->n, 100.0 * t->five / t->n,
	       100.0 * t->question / t->n, 100.0 * t->finished / t->n, 100.0 * t->user_turn / t->n,
	       t->distinct / t->groups, 100.0 * t->spread / t->groups,
	       100.0 * t->right_and_wrong / t->groups, t->sd / t->groups);
	printf("       by family:");
	for (int f = 1; f < DEMO_N_FAMILIES; f++)
		if (t->fam_n[f])
			printf(" %s %.2f (%d)", demo_family_name(f), t->fam_score[f] / t->fam_n[f],
			       t->fam_n[f]);
	printf("\n");
}

/* Which prompts demo eval asks and how it samples. */
struct eval_opts {
	const char *split;       /* "train", "eval" or "all" */
	const char *family;      /* only this family's prompts, or NULL */
	int limit;               /* at most this many prompts per split (0 = all) */
	int show;                /* print the answers of the first show groups */
	int seed;                /* sampling seed */
	struct gen_params gp;
};

/* Whether o selects prompt pr (the per-split limit aside). */
static bool eval_selects(const struct eval_opts *o, const struct demo_prompt *pr)
{
	return !((!strcmp(o->split, "train") && pr->eval) ||
		 (!strcmp(o->split, "eval") && !pr->eval) ||
		 (o->family && strcmp(o->family, demo_family_name(pr->family))));
}

/* Scores the k answers a to prompt pr with the rubric and adds them to t as
 * one group; prints them when show. */
static void tally_group(struct eval_tally *t, const struct demo_prompt *pr,
			const struct gen_answer *a, int k, bool show)
{
	int sc[GEN_MAX_K], lo = 5, hi = 1, distinct = 0;
	double mean = 0.0;
	for (int j = 0; j < k; j++) {
		struct rubric_details d;
		sc[j] = rubric_score(pr->text, a[j].text, &d);
		mean += sc[j];
		lo = sc[j] < lo ? sc[j] : lo;
		hi = sc[j] > hi ? sc[j] : hi;
		t->score += sc[j];
		t->n++;
		t->five += sc[j] == 5;
		t->fam_score[pr->family] += sc[j];
		t->fam_n[pr->family]++;
		t->question += opens_with_question(a[j].text);
		t->finished += a[j].finished;
		t->user_turn += strstr(a[j].text, "User:") != NULL;
		bool dup = false;
		for (int i = 0; i < j; i++)
			dup |= !strcmp(a[i].text, a[j].text);
		distinct += !dup;
	}
	mean /= k;
	double var = 0.0;
	for (int j = 0; j < k; j++)
		var += (sc[j] - mean) * (sc[j] - mean);
	t->sd += sqrt(var / k);
	t->groups++;
	t->distinct += distinct;
	t->spread += hi > lo;
	t->right_and_wrong += hi >= 4 && lo <= 2;
	if (show) {
		printf("### [%s/%s] %s\n", !pr->eval ? "train" : pr->part == 'b' ? "eval b" : "eval a",
		       demo_family_name(pr->family), pr->text);
		for (int j = 0; j < k; j++)
			printf("  (%d) %s%s\n", sc[j], a[j].text, a[j].finished ? "" : " [...]");
	}
}

/* Answers every prompt of ps that o selects with g and scores the answers into
 * tl[0] (train split) and tl[1] (eval split), the eval ones also into tl[2]
 * (eval part a) or tl[3] (part b: pre-training-only items, demo_world.h),
 * with a progress bar on stderr.  0, or -1 after printing what failed. */
static int eval_prompts(struct gen_model *g, const struct demo_prompts *ps,
			const struct eval_opts *o, struct eval_tally tl[4])
{
	char err[512];
	struct progress bar;
	progress_init(&bar, stderr);
	progress_phase(&bar, "eval");
	int total = 0, done = 0, shown = 0, per[2] = { 0 }, rc = 0;
	for (int i = 0; i < ps->n; i++) {
		const struct demo_prompt *pr = &ps->v[i];
		if (eval_selects(o, pr) && (!o->limit || per[pr->eval]++ < o->limit))
			total++;
	}
	per[0] = per[1] = 0;
	for (int i = 0; i < ps->n && !rc; i++) {
		const struct demo_prompt *pr = &ps->v[i];
		if (!eval_selects(o, pr) || (o->limit && per[pr->eval]++ >= o->limit))
			continue;
		struct gen_answer a[GEN_MAX_K];
		struct gen_params p = o->gp;
		p.seed = (uint64_t)(unsigned)o->seed * 1000003u + (uint64_t)i;
		if (gen_answers(g, pr->text, NULL, &p, a, err, sizeof err) < 0) {
			fprintf(stderr, "rlhfd demo eval: prompt %d: %s\n", i, err);
			rc = -1;
			break;
		}
		tally_group(&tl[pr->eval], pr, a, p.k, shown < o->show);
		if (pr->eval)
			tally_group(&tl[pr->part == 'b' ? 3 : 2], pr, a, p.k, false);
		if (shown < o->show)
			shown++;
		gen_answers_release(a, p.k);
		progress_update(&bar, ++done, total, -1.0, NULL);
	}
	progress_end(&bar, "%d prompts", done);
	return rc;
}

static int demo_eval_cmd(int argc, char **argv)
{
	char def_dir[PATH_MAX], mp[PATH_MAX];
	demo_cache_dir(def_dir, sizeof def_dir);
	const char *dir = def_dir, *model = NULL, *tokenizer = NULL, *which = "sft";
	struct eval_opts o = { .split = "all", .seed = 1 };
	gen_params_default(&o.gp);
	int threads = 1, pseed = (int)DEMO_DEFAULT_SEED;
	struct cli_opt opts[] = {
		{ "dir", CLI_STR, &dir, "demo model directory (build/demo)" },
		{ "which", CLI_STR, &which, "sft or base: the model of --dir (sft)" },
		{ "model", CLI_STR, &model, "a checkpoint instead (tokenizer from its sidecar)" },
		{ "tokenizer", CLI_STR, &tokenizer, "tokenizer.bin of --model" },
		{ "split", CLI_STR, &o.split, "train, eval or all (all)" },
		{ "family", CLI_STR, &o.family, "only this family (capital, fact, poem, ...)" },
		{ "raw", CLI_FLAG, &o.gp.raw, "BOS + prompt, no template (a base model's view)" },
		{ "k", CLI_INT, &o.gp.k, "answers per prompt (4)" },
		{ "temperature", CLI_FLOAT, &o.gp.temperature, "sampling temperature (1)" },
		{ "top-p", CLI_FLOAT, &o.gp.top_p, "nucleus mass (0.95)" },
		{ "max-tokens", CLI_INT, &o.gp.max_tokens, "new tokens per answer (96)" },
		{ "seed", CLI_INT, &o.seed, "sampling seed (1)" },
		{ "prompt-seed", CLI_INT, &pseed, "seed of the prompt set" },
		{ "limit", CLI_INT, &o.limit, "at most N prompts per split (0 = all)" },
		{ "show", CLI_INT, &o.show, "print the answers of the first N groups" },
		{ "threads", CLI_INT, &threads, "threads (1: a small model samples fastest on one)" },
		{ 0 }
	};
	int rc = cli_parse(argc, argv, opts, "[--dir DIR | --model FILE] [options]", NULL, 0, NULL);
	if (rc)
		return cli_exit_code(rc);
	if (strcmp(o.split, "all") && strcmp(o.split, "train") && strcmp(o.split, "eval")) {
		fprintf(stderr, "rlhfd demo eval: --split must be train, eval or all\n");
		return 2;
	}
	if (o.gp.k < 1 || o.gp.k > GEN_MAX_K) {
		fprintf(stderr, "rlhfd demo eval: -k must be 1..%d\n", GEN_MAX_K);
		return 2;
	}
	if (!model) {
		snprintf(mp, sizeof mp, "%s/%s", dir,
			 strcmp(which, "base") ? DEMO_MODEL_SFT : DEMO_MODEL_BASE);
		model = mp;
	}
	char err[512];
	struct gen_model g;
	infer_set_threads(threads);
	if (gen_model_load(&g, model, tokenizer, o.gp.k, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd demo eval: %s\n", err);
		return 1;
	}
	struct demo_prompts ps;
	if (demo_prompts_build(&ps, (uint64_t)(unsigned)pseed) < 0) {
		fprintf(stderr, "rlhfd demo eval: out of memory\n");
		gen_model_release(&g);
		return 1;
	}
	struct eval_tally tl[4] = { 0 };
	rc = eval_prompts(&g, &ps, &o, tl) < 0 ? 1 : 0;
	if (!rc) {
		printf("model '%s'%s, k %d, temperature %.2f, top-p %.2f, max tokens %d\n", model,
		       o.gp.raw ? " (raw prompts, no template)" : "", o.gp.k, o.gp.temperature,
		       o.gp.top_p, o.gp.max_tokens);
		tally_print("train", &tl[0], o.gp.k);
		tally_print("eval", &tl[1], o.gp.k);
		tally_print("eval a", &tl[2], o.gp.k);
		tally_print("eval b", &tl[3], o.gp.k);
	}
	demo_prompts_release(&ps);
	gen_model_release(&g);
	return rc;
}

/* ---- demo init ---------------------------------------------------------------- */

/*
 * `rlhfd demo init`: the demo world in a data directory, idempotently —
 *   1. the demo model (the build cache, trained first when missing),
 *      registered as two versions, "demo-base" (base) and "demo-sft" (sft,
 *      parent demo-base), the SFT one made active when it is registered;
 *   2. the demo prompt set (train/eval splits, meta), source "demo", loaded
 *      once in one transaction;
 *   3. K = 4 answers per train prompt from demo-sft, one group per prompt, by
 *      the worker's generate job run synchronously (worker_run_new_job) — the
 *      same code the server runs — for the prompts that have none from it.
 * Each step looks at the database first (versions by name and kind, prompts
 * by source, prompts without a group from demo-sft), so a second run finds
 * everything done and changes nothing.
 */
#define DEMO_BASE_NAME "demo-base"
#define DEMO_SFT_NAME "demo-sft"
#define DEMO_SOURCE "demo"

/* The id of the version named name of kind, or 0. */
static int64_t find_version(json_t *models, const char *name, const char *kind)
{
	size_t i;
	json_t *m;
	int64_t id = 0;
	json_array_foreach(models, i, m) {
		const char *n = json_string_value(json_object_get(m, "name"));
		const char *k = json_string_value(json_object_get(m, "kind"));
		if (n && k && !strcmp(n, name) && !strcmp(k, kind)) {
			int64_t v = json_integer_value(json_object_get(m, "id"));
			if (!id || v < id) /* the first registered */
				id = v;
		}
	}
	return id;
}

/* Records the checkpoint dir/file (with the demo tokenizer and the text the
 * base model read) as a new version. */
static int register_version(struct db *db, const char *data, const char *dir, const char *file,
			    const char *kind, const char *name, int64_t parent, bool activate,
			    int64_t *id, char *err, size_t errlen)
{
	char path[PATH_MAX], tok[PATH_MAX], corpus[PATH_MAX], tok_name[64], corpus_name[64], e[512];
	struct llama_config cfg;
	struct ckpt_state st;
	float *params = NULL;
	int rc = -1;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path ||
	    (size_t)snprintf(tok, sizeof tok, "%s/%s", dir, DEMO_MODEL_TOKENIZER) >= sizeof tok ||
	    (size_t)snprintf(corpus, sizeof corpus, "%s/%s", dir, DEMO_MODEL_PRETRAIN) >= sizeof corpus) {
		snprintf(err, errlen, "path too long: '%s'", dir);
		return -1;
	}
	ckpt_state_init(&st);
	if (ckpt_load_model(path, &cfg, &params, &st, e, sizeof e) < 0) {
		snprintf(err, errlen, "%s", e);
		ckpt_state_release(&st);
		return -1;
	}
	json_t *meta = st.meta ? json_loads(st.meta, 0, NULL) : NULL;
	ckpt_state_release(&st);
	if (!json_is_object(meta)) {
		json_decref(meta);
		meta = json_object();
	}
	/* the build's manifest says how it was made: the version's params */
	char man_path[PATH_MAX];
	snprintf(man_path, sizeof man_path, "%s/%s", dir, DEMO_MODEL_MANIFEST);
	json_t *man = json_load_file(man_path, 0, NULL);
	json_t *loss = json_object_get(man, "loss");
	json_t *metrics = json_pack("{s:O?}", "train_loss",
				    json_object_get(loss, !strcmp(kind, "base") ? "pretrain" : "sft"));
	char *params_json = man ? json_dumps(man, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *metrics_json = metrics ? json_dumps(metrics, JSON_COMPACT) : NULL;
	if (modelstore_put_tokenizer(data, tok, cfg.vocab_size, tok_name, sizeof tok_name, err,
				     errlen) < 0)
		goto out;
	json_object_set_new(meta, "tokenizer", json_string(tok_name));
	/* the text the base model read, for the best job's replay (ptx) */
	if (modelstore_put_corpus(data, corpus, corpus_name, sizeof corpus_name, err, errlen) < 0)
		goto out;
	json_object_set_new(meta, "corpus", json_string(corpus_name));
	struct modelstore_version v = { .kind = kind, .name = name, .parent_id = parent,
					.params_json = params_json, .metrics_json = metrics_json,
					.activate = activate, .meta = meta };
	rc = modelstore_save(db, data, &v, &cfg, params, id, err, errlen);
out:
	json_decref(meta);
	json_decref(man);
	json_decref(metrics);
	free(params_json);
	free(metrics_json);
	free(params);
	return rc;
}

/* True when a prompt of source "demo" exists; -1 on a database error. */
static int demo_prompts_present(struct db *db)
{
	int64_t after = 0;
	do {
		json_t *list = NULL;
		if (db_prompts_list(db, NULL, after, 1000, &list, &after) < 0)
			return -1;
		size_t i;
		json_t *p;
		bool found = false;
		json_array_foreach(list, i, p) {
			const char *src = json_string_value(json_object_get(p, "source"));
			found |= src && !strcmp(src, DEMO_SOURCE);
		}
		json_decref(list);
		if (found)
			return 1;
	} while (after > 0);
	return 0;
}

/* Loads the demo prompt set in one transaction; *n_train and *n_eval get the counts. */
static int load_prompts(struct db *db, int *n_train, int *n_eval, char *err, size_t errlen)
{
	struct demo_prompts ps;
	if (demo_prompts_build(&ps, DEMO_DEFAULT_SEED) < 0) {
		snprintf(err, errlen, "out of memory building the demo prompts");
		return -1;
	}
	int rc = db_begin(db);
	for (int i = 0; rc == 0 && i < ps.n; i++) {
		int64_t id;
		rc = db_prompt_insert(db, ps.v[i].text, ps.v[i].eval ? "eval" : "train", DEMO_SOURCE,
				      ps.v[i].meta, &id);
		*(ps.v[i].eval ? n_eval : n_train) += rc == 0;
	}
	if (rc == 0)
		rc = db_commit(db);
	if (rc < 0) {
		db_rollback(db);
		snprintf(err, errlen, "cannot store the demo prompts (database %s)",
			 rc == DB_BUSY ? "busy" : "error");
	}
	demo_prompts_release(&ps);
	return rc < 0 ? -1 : 0;
}

static void gen_progress(void *arg, float frac)
{
	progress_update(arg, (long)(frac * 1000.0f + 0.5f), 1000, -1.0, NULL);
}

/* The directory of a built demo model: --model-dir (model_dir), else the build
 * cache (in cache, PATH_MAX bytes), trained there first when it holds none —
 * or, when that fails (the build directory may be read-only), in
 * <data>/demo-model (in fallback, PATH_MAX bytes).  NULL after printing what
 * failed. */
static const char *init_model_dir(const char *data, const char *model_dir, bool quiet,
				  char *cache, char *fallback)
{
	char err[1024];
	const char *dir = model_dir;
	if (!dir) {
		demo_cache_dir(cache, PATH_MAX);
		dir = cache;
	}
	if (demo_model_ready(dir))
		return dir;
	struct demo_model_config c;
	demo_model_config_default(&c);
	c.progress = quiet ? NULL : stderr;
	if (!quiet)
		fprintf(stderr, "rlhfd demo init: no demo model in '%s' yet: training "
			"it (once; a few minutes)\n", dir);
	if (demo_model_build(dir, &c, NULL, err, sizeof err) < 0 && !model_dir) {
		snprintf(fallback, PATH_MAX, "%s/demo-model", data);
		if (!quiet)
			fprintf(stderr, "rlhfd demo init: %s; building in '%s'\n", err, fallback);
		dir = fallback;
		if (!demo_model_ready(dir) && demo_model_build(dir, &c, NULL, err, sizeof err) < 0) {
			fprintf(stderr, "rlhfd demo init: %s\n", err);
			return NULL;
		}
	} else if (!demo_model_ready(dir)) {
		fprintf(stderr, "rlhfd demo init: %s\n", err);
		return NULL;
	}
	return dir;
}

/* demo init, step 1: the two versions of the demo model, registered unless
 * they are; *sft_id gets demo-sft's id, *changed is set when they were added.
 * 0, or -1 after printing what failed. */
static int init_models(struct db *db, const char *data, const char *model_dir, bool quiet,
		       int64_t *sft_id, bool *changed)
{
	char cache[PATH_MAX], fallback[PATH_MAX], err[1024];
	json_t *models = NULL;
	if (db_models_list(db, &models) < 0) {
		fprintf(stderr, "rlhfd demo init: cannot read the model versions\n");
		return -1;
	}
	int64_t base_id = find_version(models, DEMO_BASE_NAME, "base");
	*sft_id = find_version(models, DEMO_SFT_NAME, "sft");
	json_decref(models);
	if (base_id && *sft_id)
		return 0;
	const char *dir = init_model_dir(data, model_dir, quiet, cache, fallback);
	if (!dir)
		return -1;
	if (!base_id && register_version(db, data, dir, DEMO_MODEL_BASE, "base", DEMO_BASE_NAME,
					 0, false, &base_id, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd demo init: %s\n", err);
		return -1;
	}
	if (!*sft_id && register_version(db, data, dir, DEMO_MODEL_SFT, "sft", DEMO_SFT_NAME,
					 base_id, true, sft_id, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd demo init: %s\n", err);
		return -1;
	}
	printf("registered the demo models: base #%lld, sft #%lld (active)\n",
	       (long long)base_id, (long long)*sft_id);
	*changed = true;
	return 0;
}

/* demo init, step 2: the demo prompt set, loaded unless a demo prompt is
 * there; *changed is set when it was loaded.  0, or -1 after printing what
 * failed. */
static int init_prompts(struct db *db, bool *changed)
{
	char err[1024];
	int present = demo_prompts_present(db);
	if (present < 0) {
		fprintf(stderr, "rlhfd demo init: cannot read the prompts\n");
		return -1;
	}
	if (present)
		return 0;
	int n_train = 0, n_eval = 0;
	if (load_prompts(db, &n_train, &n_eval, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd demo init: %s\n", err);
		return -1;
	}
	printf("loaded %d demo prompts (%d train, %d eval)\n", n_train + n_eval, n_train, n_eval);
	*changed = true;
	return 0;
}

/* demo init, step 3: 4 answers of demo-sft (sft_id) of at most max_tokens
 * tokens to each train prompt that has none from it, by a generate job run
 * here (progress on bar); *changed is set when there were any.  0, or -1
 * after printing what failed. */
static int init_answers(struct db *db, const char *data, int64_t sft_id, int max_tokens,
			bool quiet, struct progress *bar, bool *changed)
{
	char params[160], err[1024];
	struct db_td_prompt *todo = NULL;
	int n_todo = 0;
	if (db_traindata_prompts_unanswered(db, "train", sft_id, 0, 0, &todo, &n_todo) < 0) {
		fprintf(stderr, "rlhfd demo init: cannot read the prompts\n");
		return -1;
	}
	db_td_prompts_free(todo, n_todo);
	if (n_todo == 0)
		return 0;
	int64_t job_id = 0;
	snprintf(params, sizeof params,
		 "{\"k\": 4, \"split\": \"train\", \"model_id\": %lld, \"seed\": 1, "
		 "\"max_tokens\": %d}",
		 (long long)sft_id, max_tokens);
	progress_phase(bar, "answers");
	if (worker_run_new_job(data, "generate", params, quiet ? NULL : gen_progress, bar, &job_id,
			       NULL, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd demo init: generate job %lld: %s\n", (long long)job_id, err);
		return -1;
	}
	progress_end(bar, "%d prompts x 4 answers (job %lld)", n_todo, (long long)job_id);
	printf("generated 4 answers for each of %d train prompts (job %lld)\n", n_todo,
	       (long long)job_id);
	*changed = true;
	return 0;
}

static int demo_init_cmd(int argc, char **argv)
{
	const char *data = "data", *model_dir = NULL;
	bool quiet = false;
	int max_tokens = 96;
	char dbpath[PATH_MAX];
	struct cli_opt opts[] = {
		{ "data", CLI_STR, &data, "data directory (./data)" },
		{ "model-dir", CLI_STR, &model_dir,
		  "a built demo model (default: build/demo beside the executable)" },
		{ "quiet", CLI_FLAG, &quiet, "no progress bars" },
		{ "max-tokens", CLI_INT, &max_tokens, "longest answer in tokens (96)" },
		{ 0 }
	};
	int rc = cli_parse(argc, argv, opts, "[--data DIR]", NULL, 0, NULL);
	if (rc)
		return cli_exit_code(rc);
	if (max_tokens < 1) {
		fprintf(stderr, "rlhfd demo init: --max-tokens must be positive\n");
		return 2;
	}
	if (mkdir(data, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "rlhfd demo init: cannot create '%s': %s\n", data, strerror(errno));
		return 1;
	}
	if ((size_t)snprintf(dbpath, sizeof dbpath, "%s/rlhfd.db", data) >= sizeof dbpath) {
		fprintf(stderr, "rlhfd demo init: data directory path too long\n");
		return 1;
	}
	struct db *db;
	if (db_open(&db, dbpath, false) < 0 || db_migrate(db, NULL) < 0) {
		fprintf(stderr, "rlhfd demo init: cannot open the database '%s'\n", dbpath);
		return 1;
	}
	struct progress bar;
	progress_init(&bar, quiet ? NULL : stderr);
	int64_t sft_id = 0;
	bool changed = false;
	rc = 1;
	if (init_models(db, data, model_dir, quiet, &sft_id, &changed) == 0 &&
	    init_prompts(db, &changed) == 0 &&
	    init_answers(db, data, sft_id, max_tokens, quiet, &bar, &changed) == 0) {
		printf("%s '%s'\n", changed ? "demo world ready in" : "demo world already in place in",
		       data);
		rc = 0;
	}
	db_close(db);
	return rc;
}

int cmd_demo(int argc, char **argv)
{
	/* the subcommand's argv[0] names it in usage and errors: "rlhfd demo init" */
	static char name_model[] = "demo model", name_eval[] = "demo eval",
		    name_init[] = "demo init";
	if (argc >= 2 && !strcmp(argv[1], "model")) {
		argv[1] = name_model;
		return demo_model_cmd(argc - 1, argv + 1);
	}
	if (argc >= 2 && !strcmp(argv[1], "eval")) {
		argv[1] = name_eval;
		return demo_eval_cmd(argc - 1, argv + 1);
	}
	if (argc >= 2 && !strcmp(argv[1], "init")) {
		argv[1] = name_init;
		return demo_init_cmd(argc - 1, argv + 1);
	}
	bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
	fprintf(help ? stdout : stderr,
		"usage: rlhfd demo init|model|eval [options]   (rlhfd demo <cmd> --help)\n"
		"  init   put the demo world into a data directory (--data DIR)\n"
		"  model  build the demo model (corpora, tokenizer, base, sft)\n"
		"  eval   rate a model's answers to the demo prompts with the rubric\n");
	return help ? 0 : 2;
}
