/* server/cli_model.c — TEMPORARY placeholder, replaced by its owner. */
#include "server/cli.h"
#include <stdio.h>
int cmd_grad(int argc, char **argv) { (void)argc; fprintf(stderr, "rlhfd %s: not built yet\n", argv[0]); return 1; }
int cmd_train_lm(int argc, char **argv) { (void)argc; fprintf(stderr, "rlhfd %s: not built yet\n", argv[0]); return 1; }
int cmd_bench_train(int argc, char **argv) { (void)argc; fprintf(stderr, "rlhfd %s: not built yet\n", argv[0]); return 1; }
