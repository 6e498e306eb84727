/*
 * server/cli/cli.c — the option parser shared by every subcommand (see cli.h).
 */
#include "server/cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *cli_arg_hint(enum cli_type t)
{
	switch (t) {
	case CLI_STR:   return " S";
	case CLI_INT:   return " N";
	case CLI_FLOAT: return " X";
	case CLI_FLAG:  return "";
	}
	return "";
}

static void cli_usage(FILE *f, const char *cmd, const char *usage, const struct cli_opt *opts)
{
	fprintf(f, "usage: rlhfd %s %s\n", cmd, usage ? usage : "");
	for (const struct cli_opt *o = opts; o && o->name; o++) {
		char left[64];
		snprintf(left, sizeof(left), "%s%s%s", strlen(o->name) == 1 ? "-" : "--",
			 o->name, cli_arg_hint(o->type));
		fprintf(f, "  %-20s %s\n", left, o->help ? o->help : "");
	}
}

static int cli_set(const struct cli_opt *o, const char *val)
{
	char *end;
	errno = 0;
	switch (o->type) {
	case CLI_STR:
		*(const char **)o->dst = val;
		return 0;
	case CLI_INT: {
		long v = strtol(val, &end, 10);
		if (errno || end == val || *end || v < -2147483647L || v > 2147483647L)
			return -1;
		*(int *)o->dst = (int)v;
		return 0;
	}
	case CLI_FLOAT: {
		float v = strtof(val, &end);
		if (errno || end == val || *end)
			return -1;
		*(float *)o->dst = v;
		return 0;
	}
	case CLI_FLAG:
		*(bool *)o->dst = true;
		return 0;
	}
	return -1;
}

int cli_parse(int argc, char **argv, const struct cli_opt *opts, const char *usage,
	      char **positional, int max_pos, int *n_pos)
{
	const char *cmd = argc > 0 ? argv[0] : "?";
	int np = 0;
	bool only_pos = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			cli_usage(stdout, cmd, usage, opts);
			return 1;
		}
		/* an option is --name or -x; a lone "-" or a negative number is a value */
		bool is_opt = !only_pos && a[0] == '-' && a[1] &&
			      !(a[1] >= '0' && a[1] <= '9');
		if (!is_opt) {
			if (np >= max_pos) {
				fprintf(stderr, "rlhfd %s: unexpected argument '%s'\n", cmd, a);
				cli_usage(stderr, cmd, usage, opts);
				return -1;
			}
			positional[np++] = argv[i];
			continue;
		}
		const char *name = a + (a[1] == '-' ? 2 : 1);
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const struct cli_opt *o = opts;
		for (; o && o->name; o++)
			if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0)
				break;
		if (!o || !o->name) {
			fprintf(stderr, "rlhfd %s: unknown option '%s'\n", cmd, a);
			cli_usage(stderr, cmd, usage, opts);
			return -1;
		}
		const char *val = NULL;
		if (o->type != CLI_FLAG) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				fprintf(stderr, "rlhfd %s: option '%s' needs a value\n", cmd, a);
				return -1;
			}
		} else if (eq) {
			fprintf(stderr, "rlhfd %s: option '--%s' takes no value\n", cmd, o->name);
			return -1;
		}
		if (cli_set(o, val) < 0) {
			fprintf(stderr, "rlhfd %s: bad value '%s' for option '--%s'\n", cmd, val, o->name);
			return -1;
		}
	}
	if (n_pos)
		*n_pos = np;
	return 0;
}
