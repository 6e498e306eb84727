/*
 * server/cli_demo.c — `rlhfd demo`: the demo world from the command line.
 *
 *   demo model [--out DIR]   build the demo model (server/demo_model.h) into DIR
 *                            (default: the build cache, build/demo beside the
 *                            executable); the Makefile's cache rule runs it
 *   demo eval [--dir DIR]    measure a model on the demo prompts with the rubric:
 *                            mean score per split and family, how often it
 *                            answers with a question, how much its K answers
 *                            differ (the quality figures of the demo model)
 *   demo init [--data DIR]   put the demo world into a data directory (API.md)
 */
#include "server/cli.h"
#include "server/demo_model.h"
#include "server/demo_world.h"
#include "server/gen.h"
#include "server/progress.h"
#include "server/rubric.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int demo_eval_cmd(int argc, char **argv)
{
	char def_dir[PATH_MAX], mp[PATH_MAX];
	demo_cache_dir(def_dir, sizeof def_dir);
	const char *dir = def_dir, *model = NULL, *tokenizer = NULL, *split = "all",
		   *family = NULL, *which = "sft";
	struct gen_params gp;
	gen_params_default(&gp);
	int seed = 1, show = 0, limit = 0, threads = 0, pseed = (int)DEMO_DEFAULT_SEED;
	struct cli_opt opts[] = {
		{ "dir", CLI_STR, &dir, "demo model directory (build/demo)" },
		{ "which", CLI_STR, &which, "sft or base: the model of --dir (sft)" },
		{ "model", CLI_STR, &model, "a checkpoint instead (tokenizer from its sidecar)" },
		{ "tokenizer", CLI_STR, &tokenizer, "tokenizer.bin of --model" },
		{ "split", CLI_STR, &split, "train, eval or all (all)" },
		{ "family", CLI_STR, &family, "only this family (capital, fact, poem, ...)" },
		{ "raw", CLI_FLAG, &gp.raw, "BOS + prompt, no template (a base model's view)" },
		{ "k", CLI_INT, &gp.k, "answers per prompt (4)" },
		{ "temperature", CLI_FLOAT, &gp.temperature, "sampling temperature (1)" },
		{ "top-p", CLI_FLOAT, &gp.top_p, "nucleus mass (0.95)" },
		{ "max-tokens", CLI_INT, &gp.max_tokens, "new tokens per answer (96)" },
		{ "seed", CLI_INT, &seed, "sampling seed (1)" },
		{ "prompt-seed", CLI_INT, &pseed, "seed of the prompt set" },
		{ "limit", CLI_INT, &limit, "at most N prompts per split (0 = all)" },
		{ "show", CLI_INT, &show, "print the answers of the first N groups" },
		{ "threads", CLI_INT, &threads, "threads (0 = all cores)" },
		{ 0 }
	};
	int rc = cli_parse(argc, argv, opts, "[--dir DIR | --model FILE] [options]", NULL, 0, NULL);
	if (rc)
		return cli_exit_code(rc);
	if (strcmp(split, "all") && strcmp(split, "train") && strcmp(split, "eval")) {
		fprintf(stderr, "rlhfd demo eval: --split must be train, eval or all\n");
		return 2;
	}
	if (gp.k < 1 || gp.k > GEN_MAX_K) {
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
	if (gen_model_load(&g, model, tokenizer, gp.k, err, sizeof err) < 0) {
		fprintf(stderr, "rlhfd demo eval: %s\n", err);
		return 1;
	}
	struct demo_prompts ps;
	if (demo_prompts_build(&ps, (uint64_t)(unsigned)pseed) < 0) {
		fprintf(stderr, "rlhfd demo eval: out of memory\n");
		gen_model_release(&g);
		return 1;
	}
	struct eval_tally tl[2] = { 0 };
	struct progress bar;
	progress_init(&bar, stderr);
	progress_phase(&bar, "eval");
	int total = 0, done = 0, shown = 0, per[2] = { 0 };
	for (int i = 0; i < ps.n; i++) {
		const struct demo_prompt *pr = &ps.v[i];
		if ((!strcmp(split, "train") && pr->eval) || (!strcmp(split, "eval") && !pr->eval) ||
		    (family && strcmp(family, demo_family_name(pr->family))))
			continue;
		if (!limit || per[pr->eval]++ < limit)
			total++;
	}
	per[0] = per[1] = 0;
	rc = 0;
	for (int i = 0; i < ps.n && !rc; i++) {
		const struct demo_prompt *pr = &ps.v[i];
		if ((!strcmp(split, "train") && pr->eval) || (!strcmp(split, "eval") && !pr->eval) ||
		    (family && strcmp(family, demo_family_name(pr->family))))
			continue;
		if (limit && per[pr->eval]++ >= limit)
			continue;
		struct gen_answer a[GEN_MAX_K];
		struct gen_params p = gp;
		p.seed = (uint64_t)(unsigned)seed * 1000003u + (uint64_t)i;
		if (gen_answers(&g, pr->text, &p, a, err, sizeof err) < 0) {
			fprintf(stderr, "rlhfd demo eval: prompt %d: %s\n", i, err);
			rc = 1;
			break;
		}
		struct eval_tally *t = &tl[pr->eval];
		int sc[GEN_MAX_K], lo = 5, hi = 1, distinct = 0;
		double mean = 0.0;
		for (int j = 0; j < p.k; j++) {
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
			for (int k = 0; k < j; k++)
				dup |= !strcmp(a[k].text, a[j].text);
			distinct += !dup;
		}
		mean /= p.k;
		double var = 0.0;
		for (int j = 0; j < p.k; j++)
			var += (sc[j] - mean) * (sc[j] - mean);
		t->sd += sqrt(var / p.k);
		t->groups++;
		t->distinct += distinct;
		t->spread += hi > lo;
		t->right_and_wrong += hi >= 4 && lo <= 2;
		if (shown < show) {
			shown++;
			printf("### [%s/%s] %s\n", pr->eval ? "eval" : "train",
			       demo_family_name(pr->family), pr->text);
			for (int j = 0; j < p.k; j++)
				printf("  (%d) %s%s\n", sc[j], a[j].text, a[j].finished ? "" : " [...]");
		}
		gen_answers_release(a, p.k);
		progress_update(&bar, ++done, total, -1.0, NULL);
	}
	progress_end(&bar, "%d prompts", done);
	if (!rc) {
		printf("model '%s'%s, k %d, temperature %.2f, top-p %.2f, max tokens %d\n", model,
		       gp.raw ? " (raw prompts, no template)" : "", gp.k, gp.temperature, gp.top_p,
		       gp.max_tokens);
		tally_print("train", &tl[0], gp.k);
		tally_print("eval", &tl[1], gp.k);
	}
	demo_prompts_release(&ps);
	gen_model_release(&g);
	return rc;
}

/* ---- demo init ---------------------------------------------------------------- */

static int demo_init_cmd(int argc, char **argv)
{
	fprintf(stderr, "rlhfd demo init: not built yet (needs the database)\n");
	return 1;
}

int cmd_demo(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "model"))
		return demo_model_cmd(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "eval"))
		return demo_eval_cmd(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "init"))
		return demo_init_cmd(argc - 1, argv + 1);
	bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
	fprintf(help ? stdout : stderr,
		"usage: rlhfd demo init|model|eval [options]   (rlhfd demo <cmd> --help)\n"
		"  init   put the demo world into a data directory (--data DIR)\n"
		"  model  build the demo model (corpora, tokenizer, base, sft)\n"
		"  eval   rate a model's answers to the demo prompts with the rubric\n");
	return help ? 0 : 2;
}
