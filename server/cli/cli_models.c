/*
 * server/cli/cli_models.c — `rlhfd import-model` and `rlhfd export-model`: bring
 * a llama2.c checkpoint and its tokenizer into a data directory as a model
 * version, and take any version out as a llama2.c v1 file.  Both work on the
 * database directly (a running server sees the new version at once; SQLite
 * serialises the writes).  The files are server/worker/modelstore.h's.
 */
#include "server/cli/cli.h"
#include "server/worker/modelstore.h"
#include "db/db.h"
#include "db/migrate.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Opens (creating the directory and database if needed) and migrates
 * <data>/rlhfd.db. */
static struct db *open_data(const char *cmd, const char *data, bool create)
{
	char path[PATH_MAX];
	struct db *db;
	if (create && mkdir(data, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "rlhfd %s: cannot create '%s': %s\n", cmd, data, strerror(errno));
		return NULL;
	}
	if ((size_t)snprintf(path, sizeof path, "%s/rlhfd.db", data) >= sizeof path) {
		fprintf(stderr, "rlhfd %s: data directory path too long\n", cmd);
		return NULL;
	}
	struct stat st;
	if (!create && stat(path, &st) != 0) {
		fprintf(stderr, "rlhfd %s: cannot open '%s': %s\n", cmd, path, strerror(errno));
		return NULL;
	}
	if (db_open(&db, path, false) < 0)
		return NULL;
	if (db_migrate(db, NULL) < 0) {
		db_close(db);
		return NULL;
	}
	return db;
}

int cmd_import_model(int argc, char **argv)
{
	const char *data = "data", *model = NULL, *tok = NULL, *name = NULL, *tmpl = NULL,
		   *sys_tmpl = NULL, *kind = "base", *corpus = NULL;
	bool activate = false;
	const struct cli_opt opts[] = {
		{ "data", CLI_STR, &data, "data directory (./data)" },
		{ "model", CLI_STR, &model, "llama2.c checkpoint, v0 or v1 (required)" },
		{ "tokenizer", CLI_STR, &tok, "its tokenizer.bin (required)" },
		{ "name", CLI_STR, &name, "a name for the version" },
		{ "template", CLI_STR, &tmpl, "prompt template with {prompt} (default: the "
		  "checkpoint's sidecar, else \"User: {prompt}\\nAssistant:\")" },
		{ "system-template", CLI_STR, &sys_tmpl, "how a conversation's system message is "
		  "written, with {system} (default: the checkpoint's sidecar, else "
		  "\"System: {system}\\n\")" },
		{ "corpus", CLI_STR, &corpus, "the text the model was pre-trained on, documents "
		  "separated by blank lines: the best job replays some of it beside the rated "
		  "answers (ptx), so that they do not pull what the model says about everything else" },
		{ "kind", CLI_STR, &kind, "base (default), sft, policy or reward" },
		{ "activate", CLI_FLAG, &activate, "make it the active model (new answers come from it)" },
		{ NULL, CLI_FLAG, NULL, NULL },
	};
	int rc = cli_parse(argc, argv, opts, "--data DIR --model FILE --tokenizer FILE [--name N] "
			   "[--template T] [--system-template T] [--corpus FILE] [--kind K] [--activate]", NULL, 0, NULL);
	if (rc != 0)
		return cli_exit_code(rc);
	if (!model || !tok) {
		fprintf(stderr, "rlhfd import-model: --model and --tokenizer are required\n");
		return 2;
	}
	struct db *db = open_data("import-model", data, true);
	if (!db)
		return 1;
	char err[600];
	int64_t id = 0;
	rc = modelstore_import(db, data, model, tok, kind, name, tmpl, sys_tmpl, corpus, activate, &id,
			       err, sizeof err);
	db_close(db);
	if (rc < 0) {
		fprintf(stderr, "rlhfd import-model: %s\n", err);
		return 1;
	}
	printf("model_id=%lld\n", (long long)id);
	return 0;
}

int cmd_export_model(int argc, char **argv)
{
	const char *data = "data", *out = NULL, *tok_out = NULL;
	int id = 0;
	const struct cli_opt opts[] = {
		{ "data", CLI_STR, &data, "data directory (./data)" },
		{ "id", CLI_INT, &id, "model version id (required)" },
		{ "out", CLI_STR, &out, "llama2.c v1 checkpoint to write (required)" },
		{ "tokenizer-out", CLI_STR, &tok_out, "also copy the version's tokenizer.bin here" },
		{ NULL, CLI_FLAG, NULL, NULL },
	};
	int rc = cli_parse(argc, argv, opts, "--data DIR --id N --out FILE [--tokenizer-out FILE]",
			   NULL, 0, NULL);
	if (rc != 0)
		return cli_exit_code(rc);
	if (id <= 0 || !out) {
		fprintf(stderr, "rlhfd export-model: --id (a positive version id) and --out are required\n");
		return 2;
	}
	struct db *db = open_data("export-model", data, false);
	if (!db)
		return 1;
	char err[600];
	rc = modelstore_export(db, data, id, out, tok_out, err, sizeof err);
	db_close(db);
	if (rc < 0) {
		fprintf(stderr, "rlhfd export-model: %s\n", err);
		return 1;
	}
	return 0;
}
