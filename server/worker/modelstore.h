/*
 * server/worker/modelstore.h — model versions on disk: each version row of
 * model_versions names a llama2.c checkpoint under <data>/models/ with the
 * project's sidecar beside it (model/checkpoint.h), and the tokenizer it
 * speaks.
 *
 * Layout of <data>/models/:
 *
 *   <id>.bin, <id>.bin.rlhfd      version <id>: llama2.c v1 + sidecar (scalar
 *                                  head, metadata JSON)
 *   tokenizer-<sha256 prefix>.bin  a tokenizer (llama2.c format), named by its
 *                                  content so versions share one file
 *   corpus-<sha256 prefix>.txt     the pre-training text a base model read,
 *                                  when known (demo init; import-model
 *                                  --corpus): blank-line separated documents
 *
 * The row's path is stored relative to the data directory ("models/7.bin"),
 * so a data directory can be moved.  The sidecar metadata is a JSON object:
 *   {"kind": "base"|"sft"|"reward"|"policy", "template": "User: {prompt}\nAssistant:",
 *    "tokenizer": "tokenizer-ab12….bin" (relative to the checkpoint's
 *    directory), "bos": 1, "eos": 2, "score": "mean"|"last" (reward models:
 *    how the scalar head scores an answer; absent = "last"), ...}
 * and, when the pre-training text is known, "corpus": "corpus-cd34….txt"
 * (relative to the checkpoint's directory; the best job replays documents of
 * it, server/worker/job_train.c).
 * A derived version keeps its parent's metadata (template, tokenizer, corpus)
 * with its own kind.  A checkpoint without "tokenizer" uses tokenizer.bin beside it,
 * one without "template" the default template below.
 *
 * Writing a new version (modelstore_save): the files are written atomically
 * under a temporary name first (no database lock held while writing
 * megabytes), then one short write transaction inserts the row, renames the
 * files to <id>.bin and commits.  A crash in between leaves at most an orphan
 * file that a later version of the same id overwrites.
 *
 * Errors: functions return 0 or -1 with a lowercase message in err (size
 * errlen), the subject quoted.
 */
#ifndef RLHFD_SERVER_MODELSTORE_H
#define RLHFD_SERVER_MODELSTORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "model/llama.h"
#include "model/tokenizer.h"

struct db;

#define MODELSTORE_DEFAULT_TEMPLATE "User: {prompt}\nAssistant:"

/* A version loaded from disk. */
struct modelstore_model {
	int64_t id;
	char kind[16];               /* base sft reward policy */
	int64_t parent_id;           /* 0 = none */
	struct llama_config cfg;
	float *params;               /* (llama_params_count(&cfg)) owned, scalar head included */
	json_t *meta;                /* owned: the sidecar metadata object ({} when none) */
	const char *template;        /* borrowed from meta, or the default template */
	const char *system_template; /* borrowed from meta "system_template", NULL = the
					default (model/lmdata.h: LMDATA_SYSTEM_TEMPLATE) */
	enum llama_score score;      /* reward models: meta "score" "mean", else LAST */
	int bos_id, eos_id;          /* meta "bos"/"eos", else 1 and 2 */
	char path[PATH_MAX];         /* the checkpoint */
	char tokenizer_path[PATH_MAX];
};

/* A reward model's score reading by its metadata name: "mean" is
 * LLAMA_SCORE_MEAN, anything else (NULL, "last") LLAMA_SCORE_LAST; and back. */
enum llama_score modelstore_score_parse(const char *name);
const char *modelstore_score_name(enum llama_score score);

/* True for the kinds that write answers (base, sft, policy). */
bool modelstore_kind_generates(const char *kind);

/* The checkpoint file of version id (its row's path, under data_dir when
 * relative) into out (size n). */
int modelstore_path(struct db *db, const char *data_dir, int64_t id, char *out, size_t n,
		    char *err, size_t errlen);

/* Loads version id of the database (its row, checkpoint and sidecar).  Errors
 * name the version: "model 7: cannot open 'data/models/7.bin': ...". */
int modelstore_load(struct db *db, const char *data_dir, int64_t id,
		    struct modelstore_model *m, char *err, size_t errlen);
void modelstore_model_release(struct modelstore_model *m);

/* Loads m's tokenizer (vocab_size entries) into tk (empty). */
int modelstore_load_tokenizer(const struct modelstore_model *m, struct tokenizer *tk,
			      char *err, size_t errlen);

/* A new version to record. */
struct modelstore_version {
	const char *kind;            /* base sft reward policy */
	const char *name;            /* may be NULL */
	int64_t parent_id, job_id;   /* 0 = none */
	const char *params_json;     /* hyper-parameters (NULL = {}) */
	const char *metrics_json;    /* summary figures (NULL = {}) */
	const int64_t *rating_ids;   /* the exact ratings it was trained from */
	size_t n_ratings;
	bool activate;               /* make it the active generator (generating kinds) */
	const json_t *meta;          /* borrowed sidecar metadata; "kind" is overwritten */
	const char *score;           /* reward models: "mean" or "last", written as meta
					"score" (how to read the scalar head); NULL = none */
};

/* Writes cfg/params (borrowed; llama_params_count floats, head included) as
 * a new version: files, row, rating ids, metrics; then activates it when
 * asked.  *id = the new version. */
int modelstore_save(struct db *db, const char *data_dir, const struct modelstore_version *v,
		    const struct llama_config *cfg, const float *params, int64_t *id,
		    char *err, size_t errlen);

/* Copies the tokenizer file at src into <data>/models/ under its content
 * name (if not there already); *name (size n) = that file name.  The file
 * must load as a tokenizer of vocab_size entries (0 = any). */
int modelstore_put_tokenizer(const char *data_dir, const char *src, int vocab_size,
			     char *name, size_t n, char *err, size_t errlen);

/* Copies the text file at src (not empty, no NUL byte) into <data>/models/
 * under its content name (if not there already); *name (size n) = that file
 * name, for the metadata's "corpus". */
int modelstore_put_corpus(const char *data_dir, const char *src, char *name, size_t n,
			  char *err, size_t errlen);

/* Reads m's corpus (metadata "corpus") into *text, a new NUL-terminated
 * buffer of *len bytes the caller frees; *text = NULL when m names none. */
int modelstore_load_corpus(const struct modelstore_model *m, char **text, size_t *len,
			   char *err, size_t errlen);

/*
 * Imports a llama2.c checkpoint (v0 or v1, with or without our sidecar) and
 * its tokenizer as a new version of kind (NULL = "base"), named name (may be
 * NULL), with the prompt template tmpl (NULL = the sidecar's, else the
 * default), the system-message template sys_tmpl (with {system}; NULL =
 * the sidecar's, else model/lmdata.h's default) and the pre-training text at
 * corpus_path (NULL = the sidecar's, if any), activated when activate.
 * *id = the new version.
 */
int modelstore_import(struct db *db, const char *data_dir, const char *model_path,
		      const char *tokenizer_path, const char *kind, const char *name,
		      const char *tmpl, const char *sys_tmpl, const char *corpus_path, bool activate,
		      int64_t *id, char *err, size_t errlen);

/* Writes version id as a llama2.c v1 checkpoint at out_path (atomically; no
 * sidecar), and its tokenizer at tokenizer_out when that is not NULL. */
int modelstore_export(struct db *db, const char *data_dir, int64_t id, const char *out_path,
		      const char *tokenizer_out, char *err, size_t errlen);

#endif
