/*
 * server/cli/ — the command-line area: main() and every subcommand.  It wires
 * the other areas together, so it may use model/, db/ and the public header
 * of every area (server/http/http.h, server/worker/worker.h and the worker's
 * other public headers, server/demo/demo.h and the headers it lists); no
 * area includes it.
 *
 * server/cli/cli.h — the `rlhfd` command line: one table of subcommands (main.c)
 * and a small option parser every subcommand shares, so all of them accept
 * `--name value`, `--name=value`, `--help`, and report bad options the same way.
 *
 * Errors, the same in every subcommand:
 *   - a subcommand (cmd_*) returns the process exit code: 0 when it did its
 *     work (or printed --help), 1 when the work failed, 2 for a bad command
 *     line (cli_parse's errors, a missing or out-of-range option);
 *   - a failure is reported once, on stderr, as one lowercase line
 *     "rlhfd <cmd>: <what failed>[: <why>]", <cmd> the subcommand as typed
 *     ("train-lm", "bench train", "demo init"); a failure the layer below has
 *     already printed (db/ prints "db: ...", the server's start-up and the
 *     worker "rlhfd ...") is not printed again;
 *   - a subcommand's helpers return 0 or -1 (NULL for a pointer) and have
 *     either printed the failure or written it into an err buffer for their
 *     caller to print;
 *   - results go to stdout; progress and log lines to stderr.
 */
#ifndef RLHFD_SERVER_CLI_H
#define RLHFD_SERVER_CLI_H

#include <stdbool.h>

enum cli_type { CLI_STR, CLI_INT, CLI_FLOAT, CLI_FLAG };

/* One option.  dst points to a const char * (CLI_STR; borrowed from argv),
 * int (CLI_INT), float (CLI_FLOAT) or bool (CLI_FLAG).  name is without the
 * dashes ("port" for --port); a one-letter name is written -k. */
struct cli_opt {
	const char *name;
	enum cli_type type;
	void *dst;
	const char *help;
};

/*
 * Parses argv[1..argc-1] (argv[0] is the subcommand's name) against opts, which
 * ends with a zeroed entry.  Arguments that are not options are collected, in
 * order, into positional[] (borrowed from argv; at most max_pos, *n_pos set).
 * Returns 0 on success, 1 when --help was asked for (usage printed to stdout),
 * -1 on a bad option (message and usage to stderr).
 */
int cli_parse(int argc, char **argv, const struct cli_opt *opts, const char *usage,
	      char **positional, int max_pos, int *n_pos);

/* Turns cli_parse's result into a process exit code: 0 for help, 2 for error. */
static inline int cli_exit_code(int parse_rc) { return parse_rc > 0 ? 0 : 2; }

/* Subcommands; each returns the process exit code. */
int cmd_serve(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_train_tokenizer(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_grad(int argc, char **argv);
int cmd_train_lm(int argc, char **argv);
int cmd_bench_train(int argc, char **argv);
int cmd_bench_sample(int argc, char **argv);
int cmd_rubric_rate(int argc, char **argv);
int cmd_demo_data(int argc, char **argv);
int cmd_import_model(int argc, char **argv);
int cmd_export_model(int argc, char **argv);

#endif
