/*
 * db/versions.h — the model_versions table (and model_version_ratings, the
 * exact rating ids a version was trained from): recording versions, listing
 * them, the one active generator, and what the worker reads to load one.
 *
 * One generating model (base, sft or policy) is active at a time; activating
 * an older one is a rollback.  Functions run inside the caller's transaction
 * (or in autocommit) unless they say "own transaction".
 */
#ifndef RLHFD_DB_VERSIONS_H
#define RLHFD_DB_VERSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct db;

/* kind: base sft reward policy (else DB_INVALID).  parent_id/job_id <= 0 store
 * NULL; params_json NULL for {}; path may be NULL.  Not active. */
int db_model_create(struct db *db, const char *kind, const char *name, int64_t parent_id,
		    int64_t job_id, const char *params_json, const char *path, int64_t *id);

/* *out = new array, newest first: [{"id","kind","name","parent_id","job_id",
 * "created_at","params","metrics","path","active","ratings"}] (ratings = how
 * many rating ids the version records). */
int db_models_list(struct db *db, json_t **out);

/* The model's kind (kind_out >= 16 bytes) or DB_NOTFOUND. */
int db_model_kind(struct db *db, int64_t id, char *kind_out);

/* Makes the model the one active generator, in one own write transaction.
 * DB_NOTFOUND; DB_CONFLICT for a reward model. */
int db_model_activate(struct db *db, int64_t id);

/* The active model's id, or DB_NOTFOUND. */
int db_model_active(struct db *db, int64_t *id);

/* ---- the worker's side ------------------------------------------------- */

/* A model version as the worker loads it.  Strings are owned. */
struct db_work_model {
	int64_t id;
	char kind[16];      /* base sft reward policy */
	int64_t parent_id;  /* 0 = none */
	char *path;         /* relative to the data directory (or absolute); may be NULL */
	char *name;         /* may be NULL */
	bool active;
};
void db_work_model_release(struct db_work_model *m);

/* DB_NOTFOUND for an unknown id. */
int db_work_model_get(struct db *db, int64_t id, struct db_work_model *out);

/* The newest policy trained from version parent whose promotion gate kept it
 * as a candidate (metrics.promotion.decision "candidate", mode "gate") for
 * the reward model's judgement alone (metrics.promotion.sound not false: a
 * gate that found collapse, runaway length, lost stops or KL over budget
 * leaves nothing for people to overrule), when people have not judged it yet
 * (no metrics.verdict): *id, or DB_NOTFOUND.  Only the newest: an older one
 * was superseded, judged or not. */
int db_work_model_candidate(struct db *db, int64_t parent, int64_t *id);

/* Of the answers model wrote (not a person's own), *total, and *rated: those
 * in groups with at least per_group raters. */
int db_work_model_rated(struct db *db, int64_t model, int64_t per_group, int64_t *rated,
			int64_t *total);

/* The newest policy a best job fine-tuned with reference ref
 * (metrics.ref_model_id) that was neither rolled back (metrics.rollback) nor
 * found unsound by its promotion gate (metrics.promotion.sound false: collapse,
 * runaway length, lost stops, KL over budget): *id, or DB_NOTFOUND. */
int db_work_model_best_latest(struct db *db, int64_t ref, int64_t *id);

/* The newest version of kind (by id): *id, or DB_NOTFOUND. */
int db_work_model_latest(struct db *db, const char *kind, int64_t *id);

/* Sets the version's file path.  DB_NOTFOUND for an unknown id. */
int db_work_model_set_path(struct db *db, int64_t id, const char *path);

/* Records rating ids[0..n) as used to train model id (duplicates ignored). */
int db_work_model_add_ratings(struct db *db, int64_t id, const int64_t *ids, size_t n);

/* metrics = metrics_json (a JSON object text; NULL for {}), replacing. */
int db_work_model_set_metrics(struct db *db, int64_t id, const char *metrics_json);

/* metrics.<key> = value_json (any JSON text; nulls kept), other keys left.
 * key: letters, digits and '_' only (else DB_INVALID). */
int db_work_model_set_metric(struct db *db, int64_t id, const char *key, const char *value_json);

/* metrics = json_patch(metrics, patch_json): keys of the patch object are
 * added or replaced, a null value removes a key (RFC 7396). */
int db_work_model_merge_metrics(struct db *db, int64_t id, const char *patch_json);

/* The version's metrics object: *out new.  DB_NOTFOUND for an unknown id. */
int db_work_model_metrics(struct db *db, int64_t id, json_t **out);

/*
 * People's scores of version a against version b, paired by prompt: over
 * the prompts where both have rated answers, per prompt a's mean human score
 * (the mean of its answers' mean current scores, migrations/0003_scores.sql)
 * minus b's — into *diff (new, the caller frees; NULL when *n is 0), in
 * prompt id order; *n how many.  Answers of groups marked "explore"
 * (gen_groups.params; the generate job's explore: prompts chosen because
 * their earlier answers were rated low) do not count: on prompts picked for
 * a low score, any later answer tends to look better.  Nor do the prompts of
 * the eval split: they are the measure a user reads the loop by, and a
 * decision that read them would be tuned on the measure (an eval of 16
 * rated answers per prompt from each model would outvote the loop's own
 * ratings in a rollback).  With
 * DB_PAIRED_UNSEEN, neither do the prompts either version was trained on
 * (db_impl.h TRAINED_PROMPTS: its training ratings' and its reward model's
 * training prompts); with DB_PAIRED_TRAINED only those count.  A policy
 * fine-tuned on a prompt's best-rated answers repeats them there, which says
 * nothing of the prompts it has not seen — on a user's own 40 capital
 * questions (2026-12-06), best's candidates were rated better than the SFT
 * model on 25-26 of 32 prompts, most of them trained on, and promoted, while
 * they answered 20 other countries' capitals 0.5 points worse (of 5).
 */
enum db_paired { DB_PAIRED_ALL = 0, DB_PAIRED_UNSEEN = 1, DB_PAIRED_TRAINED = 2 }; /* the SQL reads the numbers */
int db_work_model_paired(struct db *db, int64_t a, int64_t b, enum db_paired which,
			 double **diff, int *n);

/* The unseen prompts' signs (rollback: is a worse than b where neither
 * learnt the answers?): of db_work_model_paired(DB_PAIRED_UNSEEN), the
 * prompts where a's score is lower (*worse), higher (*better), equal (*ties). */
int db_work_model_verdict(struct db *db, int64_t a, int64_t b, int *worse, int *better, int *ties);

#endif
