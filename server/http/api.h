/*
 * server/http/api.h — the endpoints (one plain function each), routed by the
 * table in server/http/routes.c.  What each answers is the contract in
 * API.md (../shared/API.md); the comment beside each route says it briefly.
 */
#ifndef RLHFD_SERVER_API_H
#define RLHFD_SERVER_API_H

#include "server/http/http.h"

/* api_auth.c */
enum MHD_Result api_healthz(struct request *r);
enum MHD_Result api_metrics(struct request *r);
enum MHD_Result api_login(struct request *r);
enum MHD_Result api_logout(struct request *r);
enum MHD_Result api_me(struct request *r);
enum MHD_Result api_raters_create(struct request *r);
enum MHD_Result api_raters_list(struct request *r);
enum MHD_Result api_rater_update(struct request *r);
enum MHD_Result api_rater_token(struct request *r);

/* api_prompts.c */
enum MHD_Result api_prompts_create(struct request *r);
enum MHD_Result api_prompts_list(struct request *r);
enum MHD_Result api_prompt_get(struct request *r);
enum MHD_Result api_prompt_responses(struct request *r);

/* api_rate.c */
enum MHD_Result api_task_next(struct request *r);
enum MHD_Result api_task_skip(struct request *r);
enum MHD_Result api_ratings_create(struct request *r);
enum MHD_Result api_ratings_mine(struct request *r);

/* api_export.c */
enum MHD_Result api_export_ratings_jsonl(struct request *r);
enum MHD_Result api_export_ratings_csv(struct request *r);
enum MHD_Result api_export_pairs(struct request *r);
enum MHD_Result api_export_sft(struct request *r);

/* api_jobs.c */
enum MHD_Result api_generate(struct request *r);
enum MHD_Result api_train(struct request *r);
enum MHD_Result api_job_kinds(struct request *r);
enum MHD_Result api_jobs_list(struct request *r);
enum MHD_Result api_job_get(struct request *r);
enum MHD_Result api_job_metrics(struct request *r);
enum MHD_Result api_job_cancel(struct request *r);
enum MHD_Result api_job_retry(struct request *r);

/* api_models.c */
enum MHD_Result api_models_list(struct request *r);
enum MHD_Result api_model_activate(struct request *r);

/* api_disagree.c */
enum MHD_Result api_disagreements(struct request *r);

/* api_quality.c */
enum MHD_Result api_gold_put(struct request *r);
enum MHD_Result api_gold_delete(struct request *r);
enum MHD_Result api_review(struct request *r);
/* api_demonstrations.c */
enum MHD_Result api_demonstration_create(struct request *r);
enum MHD_Result api_demonstrations_list(struct request *r);
/* POST /api/ratings's "demonstration": true when absent (*text NULL) or a
 * text to store (borrowed from body); false after setting r->err_* when it
 * is not a non-blank string of at most 20,000 bytes. */
bool api_demonstration_field(struct request *r, json_t *body, const char **text);
/* Stores text as the caller's demonstration on the prompt of group (its own
 * transaction): a DB_* code, DB_NOTFOUND for an unknown group. */
int api_demonstration_store(struct request *r, int64_t group, const char *text, int64_t *id);

/* api_guidelines.c */
enum MHD_Result api_guidelines_get(struct request *r);
enum MHD_Result api_guidelines_put(struct request *r);
/* The guidelines in force as GET /api/guidelines gives them (new), json null
 * when none were written, NULL on a database error. */
json_t *api_guidelines_current(struct request *r);

/* api_config.c */
enum MHD_Result api_config_get(struct request *r);
enum MHD_Result api_config_put(struct request *r);

/* api_stats.c */
enum MHD_Result api_stats(struct request *r);

/* The config keys the server validates (others are stored as given) and the
 * effective values for a request (api_config.c). */
int api_config_ints(struct db *db, int *ratings_per_group, int *lease_seconds);
/* The task kinds ("score", "rank", "pair"; NULL-terminated) and the config's
 * default one (task_kind; "score" when unset or unreadable: static string). */
extern const char *const API_TASK_KINDS[];
const char *api_task_kind_default(struct db *db);
/* queue_order as an index into api_queue_orders ("fifo", "uncertain", "auto":
 * the order of enum db_queue_order) and queue_random_share (0..1); defaults
 * ("auto", 0.2) for a missing or bad value. */
extern const char *const api_queue_orders[];
int api_config_queue(struct db *db, int *order, double *random_share);

/* The caller's {"rated_today","remaining"} (new), NULL on a database error
 * (api_auth.c). */
json_t *api_progress(struct request *r);

/* Shuffles arr in place in an order fixed by seed (api_rate.c). */
void api_shuffle(json_t *arr, uint64_t seed);

#endif
