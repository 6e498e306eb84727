/*
 * server/cli/cli_tokenizer.c — `rlhfd tokenize`, `rlhfd detokenize` and
 * `rlhfd train-tokenizer`: model/tokenizer.h from the command line.
 *
 *   rlhfd tokenize --tokenizer FILE [--bos] [--eos] TEXT
 *       the token ids, space-separated, on one line
 *   rlhfd detokenize --tokenizer FILE ID...
 *       the text of the ids (as the start of a text: the dummy-prefix space
 *       is dropped, so detokenize(tokenize(TEXT)) prints TEXT), then a newline
 *   rlhfd train-tokenizer --corpus FILE --vocab N --out FILE
 *       a BPE vocabulary of at most N entries; progress on stderr
 *
 * With no model at hand the vocabulary size is the number of entries in the
 * file (tokenizer.bin does not store it).
 */
#include "server/cli/cli.h"
#include "model/tokenizer.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cmd_tokenize(int argc, char **argv)
{
	const char *path = NULL;
	bool bos = false, eos = false;
	const struct cli_opt opts[] = {
		{ "tokenizer", CLI_STR, &path, "tokenizer.bin to use (required)" },
		{ "bos", CLI_FLAG, &bos, "start with BOS (id 1)" },
		{ "eos", CLI_FLAG, &eos, "end with EOS (id 2)" },
		{ 0 }
	};
	char *pos[1];
	int n_pos = 0;
	int rc = cli_parse(argc, argv, opts, "--tokenizer FILE [--bos] [--eos] TEXT",
			   pos, 1, &n_pos);
	if (rc != 0)
		return cli_exit_code(rc);
	if (!path || n_pos != 1) {
		fprintf(stderr, "rlhfd %s: %s\n", argv[0],
			!path ? "--tokenizer FILE is required" : "one TEXT argument is required");
		return 2;
	}

	struct tokenizer t;
	char err[512];
	if (tokenizer_load(&t, path, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "rlhfd %s: %s\n", argv[0], err);
		return 1;
	}
	size_t max = TOKENIZER_MAX_IDS(strlen(pos[0])), n = 0;
	int *ids = malloc(max * sizeof(int));
	if (!ids || tokenizer_encode(&t, pos[0], bos, eos, ids, max, &n) < 0) {
		fprintf(stderr, "rlhfd %s: out of memory encoding %zu bytes\n", argv[0],
			strlen(pos[0]));
		free(ids);
		tokenizer_release(&t);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		printf(i ? " %d" : "%d", ids[i]);
	putchar('\n');
	free(ids);
	tokenizer_release(&t);
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_detokenize(int argc, char **argv)
{
	const char *path = NULL;
	const struct cli_opt opts[] = {
		{ "tokenizer", CLI_STR, &path, "tokenizer.bin to use (required)" },
		{ 0 }
	};
	char **pos = malloc((size_t)(argc > 0 ? argc : 1) * sizeof(char *));
	int *ids = malloc((size_t)(argc > 0 ? argc : 1) * sizeof(int));
	int n_pos = 0, status = 1;
	struct tokenizer t;
	tokenizer_init(&t);
	if (!pos || !ids) {
		fprintf(stderr, "rlhfd %s: out of memory\n", argv[0]);
		goto out;
	}
	int rc = cli_parse(argc, argv, opts, "--tokenizer FILE ID...", pos, argc, &n_pos);
	if (rc != 0) {
		status = cli_exit_code(rc);
		goto out;
	}
	if (!path) {
		fprintf(stderr, "rlhfd %s: --tokenizer FILE is required\n", argv[0]);
		status = 2;
		goto out;
	}
	for (int i = 0; i < n_pos; i++) {
		char *end;
		errno = 0;
		long v = strtol(pos[i], &end, 10);
		if (errno || end == pos[i] || *end || v < INT_MIN || v > INT_MAX) {
			fprintf(stderr, "rlhfd %s: bad token id '%s'\n", argv[0], pos[i]);
			status = 2;
			goto out;
		}
		ids[i] = (int)v;
	}
	char err[512];
	if (tokenizer_load(&t, path, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "rlhfd %s: %s\n", argv[0], err);
		goto out;
	}
	char *text;
	size_t len;
	if (tokenizer_decode(&t, TOKENIZER_BOS, ids, (size_t)n_pos, &text, &len,
			     err, sizeof(err)) < 0) {
		fprintf(stderr, "rlhfd %s: %s\n", argv[0], err);
		goto out;
	}
	fwrite(text, 1, len, stdout);
	putchar('\n');
	free(text);
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	tokenizer_release(&t);
	free(pos);
	free(ids);
	return status;
}

struct train_progress {
	const char *cmd;
	double start;
};

static void print_progress(void *arg, int done, int total)
{
	const struct train_progress *p = arg;
	fprintf(stderr, "rlhfd %s: %d/%d vocabulary entries (%.1f s)\n", p->cmd, done, total,
		now_sec() - p->start);
}

int cmd_train_tokenizer(int argc, char **argv)
{
	const char *corpus_path = NULL, *out_path = NULL;
	int vocab = 0;
	const struct cli_opt opts[] = {
		{ "corpus", CLI_STR, &corpus_path, "text file to learn from (required)" },
		{ "vocab", CLI_INT, &vocab, "vocabulary size, at least 259 (required)" },
		{ "out", CLI_STR, &out_path, "tokenizer.bin to write (required)" },
		{ 0 }
	};
	int rc = cli_parse(argc, argv, opts, "--corpus FILE --vocab N --out FILE", NULL, 0, NULL);
	if (rc != 0)
		return cli_exit_code(rc);
	if (!corpus_path || !out_path || vocab <= 0) {
		fprintf(stderr, "rlhfd %s: --corpus FILE, --vocab N and --out FILE are required\n",
			argv[0]);
		return 2;
	}

	FILE *f = fopen(corpus_path, "rb");
	if (!f) {
		fprintf(stderr, "rlhfd %s: cannot open '%s': %s\n", argv[0], corpus_path,
			strerror(errno));
		return 1;
	}
	char *corpus = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (cap - len < 65536) {
			char *nc = realloc(corpus, cap = cap ? cap * 2 : 1 << 20);
			if (!nc) {
				fprintf(stderr, "rlhfd %s: out of memory reading '%s'\n", argv[0],
					corpus_path);
				free(corpus);
				fclose(f);
				return 1;
			}
			corpus = nc;
		}
		size_t r = fread(corpus + len, 1, cap - len, f);
		len += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "rlhfd %s: cannot read '%s': %s\n", argv[0], corpus_path,
			strerror(errno));
		free(corpus);
		fclose(f);
		return 1;
	}
	fclose(f);

	struct train_progress prog = { argv[0], now_sec() };
	struct tokenizer t;
	char err[512];
	int status = 1;
	fprintf(stderr, "rlhfd %s: training on '%s' (%zu bytes)\n", argv[0], corpus_path, len);
	if (tokenizer_train(&t, corpus, len, vocab, print_progress, &prog, err, sizeof(err)) < 0) {
		fprintf(stderr, "rlhfd %s: %s\n", argv[0], err);
		goto out_free;
	}
	if (tokenizer_save(&t, out_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "rlhfd %s: %s\n", argv[0], err);
		goto out_release;
	}
	fprintf(stderr, "rlhfd %s: wrote '%s': %d entries%s in %.2f s\n", argv[0], out_path,
		t.vocab_size, t.vocab_size < vocab ? " (the corpus has no more repeated pairs)" : "",
		now_sec() - prog.start);
	status = 0;
out_release:
	tokenizer_release(&t);
out_free:
	free(corpus);
	return status;
}
