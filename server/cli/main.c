/*
 * server/cli/main.c — `rlhfd`, the one binary: dispatches to a subcommand.
 * The table is the whole CLI; each command lives with the code it drives.
 */
#include "server/cli/cli.h"

#include <stdio.h>
#include <string.h>

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct cli_command commands[] = {
	{ "serve",           cmd_serve,           "run the HTTP server (labeling UI, API, worker)" },
	{ "demo",            cmd_demo,            "demo init: build the demo world into a data dir" },
	{ "tokenize",        cmd_tokenize,        "print the token ids of a text" },
	{ "detokenize",      cmd_detokenize,      "print the text of token ids" },
	{ "train-tokenizer", cmd_train_tokenizer, "train a BPE vocabulary from a text corpus" },
	{ "sample",          cmd_sample,          "generate text from a checkpoint" },
	{ "grad",            cmd_grad,            "loss and gradient of one token sequence" },
	{ "train-lm",        cmd_train_lm,        "pre-train or instruction-tune a model offline" },
	{ "bench",           NULL,                "bench train|sample: throughput on random weights" },
	{ "demo-data",       cmd_demo_data,       "write the demo world's corpora (pre-training, SFT, prompts)" },
	{ "rubric-rate",     cmd_rubric_rate,     "rate waiting tasks through the HTTP API by rubric" },
	{ "import-model",    cmd_import_model,    "add a llama2.c checkpoint + tokenizer as a model version" },
	{ "export-model",    cmd_export_model,    "write a model version as a llama2.c v1 checkpoint" },
	{ NULL, NULL, NULL }
};

static void usage(FILE *f)
{
	fprintf(f, "usage: rlhfd <command> [options]   (rlhfd <command> --help for more)\n\n");
	for (const struct cli_command *c = commands; c->name; c++)
		fprintf(f, "  %-16s %s\n", c->name, c->summary);
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "bench") == 0) {
		if (argc >= 3 && strcmp(argv[2], "train") == 0)
			return cmd_bench_train(argc - 2, argv + 2);
		if (argc >= 3 && strcmp(argv[2], "sample") == 0)
			return cmd_bench_sample(argc - 2, argv + 2);
		fprintf(stderr, "usage: rlhfd bench train|sample [options]\n");
		return argc >= 3 && strcmp(argv[2], "--help") == 0 ? 0 : 2;
	}
	for (const struct cli_command *c = commands; c->name; c++)
		if (c->run && strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "rlhfd: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
