/* server/cli_sample.c — TEMPORARY placeholder, replaced by its owner. */
#include "server/cli.h"
#include <stdio.h>
int cmd_sample(int argc, char **argv) { (void)argc; fprintf(stderr, "rlhfd %s: not built yet\n", argv[0]); return 1; }
int cmd_bench_sample(int argc, char **argv) { (void)argc; fprintf(stderr, "rlhfd %s: not built yet\n", argv[0]); return 1; }
