/*
 * server/cli/cli_demo_data.c — `rlhfd demo-data`: writes the demo world's corpora
 * (pre-training text, SFT pairs as JSONL, the prompt set as JSONL) to files,
 * so the tokenizer trainer, offline training runs and people can use them.
 */
#include "server/cli/cli.h"
#include "server/demo/demo_world.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*writer_fn)(FILE *f, uint64_t seed, long n);

static int write_pretrain(FILE *f, uint64_t seed, long n) { return demo_pretrain_write(f, seed, (size_t)n); }
static int write_sft(FILE *f, uint64_t seed, long n) { return demo_sft_write(f, seed, (int)n); }
static int write_prompts(FILE *f, uint64_t seed, long n) { return demo_prompts_write(f, seed); }

/* Writes one corpus to path ("-" = stdout); 0 or -1 with a message. */
static int write_one(const char *path, writer_fn fn, uint64_t seed, long n)
{
	bool std = strcmp(path, "-") == 0;
	FILE *f = std ? stdout : fopen(path, "w");
	if (!f) {
		fprintf(stderr, "rlhfd demo-data: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	int rc = fn(f, seed, n);
	if (fflush(f) != 0)
		rc = -1;
	if (!std && fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "rlhfd demo-data: cannot write '%s'\n", path);
	else if (!std)
		fprintf(stderr, "wrote %s\n", path);
	return rc;
}

int cmd_demo_data(int argc, char **argv)
{
	const char *pretrain = NULL, *sft = NULL, *prompts = NULL;
	int seed = (int)DEMO_DEFAULT_SEED, bytes = (int)DEMO_PRETRAIN_BYTES, pairs = DEMO_SFT_PAIRS;
	const struct cli_opt opts[] = {
		{ "pretrain", CLI_STR, &pretrain, "write pre-training text to FILE (- = stdout)" },
		{ "pretrain-bytes", CLI_INT, &bytes, "size of the pre-training text (default 1 MiB)" },
		{ "sft", CLI_STR, &sft, "write SFT pairs, JSONL {prompt, response}" },
		{ "sft-pairs", CLI_INT, &pairs, "number of SFT pairs (default 2000)" },
		{ "prompts", CLI_STR, &prompts, "write the prompt set, JSONL {text, split, meta}" },
		{ "seed", CLI_INT, &seed, "generator seed" },
		{ NULL, 0, NULL, NULL },
	};
	int rc = cli_parse(argc, argv, opts, "[--pretrain FILE] [--sft FILE] [--prompts FILE] [--seed S]",
			   NULL, 0, NULL);
	if (rc != 0)
		return cli_exit_code(rc);
	if (!pretrain && !sft && !prompts) {
		fprintf(stderr, "rlhfd demo-data: nothing to do: give --pretrain, --sft or --prompts\n");
		return 2;
	}
	if (bytes <= 0 || pairs <= 0) {
		fprintf(stderr, "rlhfd demo-data: sizes must be positive\n");
		return 2;
	}
	uint64_t s = (uint64_t)(unsigned)seed;
	if (pretrain && write_one(pretrain, write_pretrain, s, bytes) < 0)
		return 1;
	if (sft && write_one(sft, write_sft, s, pairs) < 0)
		return 1;
	if (prompts && write_one(prompts, write_prompts, s, 0) < 0)
		return 1;
	return 0;
}
