/* server/cli_tokenizer.c — TEMPORARY placeholder, replaced by its owner. */
#include "server/cli.h"
#include <stdio.h>
int cmd_tokenize(int argc, char **argv) { (void)argc; fprintf(stderr, "rlhfd %s: not built yet\n", argv[0]); return 1; }
int cmd_detokenize(int argc, char **argv) { (void)argc; fprintf(stderr, "rlhfd %s: not built yet\n", argv[0]); return 1; }
int cmd_train_tokenizer(int argc, char **argv) { (void)argc; fprintf(stderr, "rlhfd %s: not built yet\n", argv[0]); return 1; }
