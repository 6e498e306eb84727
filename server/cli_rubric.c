/* server/cli_rubric.c — TEMPORARY placeholder, replaced by its owner. */
#include "server/cli.h"
#include <stdio.h>
int cmd_rubric_rate(int argc, char **argv) { (void)argc; fprintf(stderr, "rlhfd %s: not built yet\n", argv[0]); return 1; }
