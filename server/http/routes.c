/*
 * server/http/routes.c — THE routing table: every endpoint, its method, path, and
 * who may call it.  Matching is in order; a path that matches with another
 * method answers 405; unknown /api paths 404; other GETs are static files.
 */
#include "server/http/api.h"

const struct route http_routes[] = {
	/* method  path                            role        handler */
	{ "GET",  "/healthz",                      ROLE_NONE,  api_healthz },
	{ "GET",  "/metrics",                      ROLE_NONE,  api_metrics },

	{ "POST", "/api/login",                    ROLE_NONE,  api_login },
	{ "POST", "/api/logout",                   ROLE_NONE,  api_logout },
	{ "GET",  "/api/me",                       ROLE_RATER, api_me },

	{ "POST", "/api/raters",                   ROLE_ADMIN, api_raters_create },
	{ "GET",  "/api/raters",                   ROLE_ADMIN, api_raters_list },
	{ "PATCH", "/api/raters/{id}",             ROLE_ADMIN, api_rater_update },
	{ "POST", "/api/raters/{id}/token",        ROLE_ADMIN, api_rater_token },

	{ "POST", "/api/prompts",                  ROLE_ADMIN, api_prompts_create },
	{ "GET",  "/api/prompts",                  ROLE_ADMIN, api_prompts_list },
	{ "GET",  "/api/prompts/{id}",             ROLE_ADMIN, api_prompt_get },
	{ "POST", "/api/prompts/{id}/responses",   ROLE_ADMIN, api_prompt_responses },

	{ "GET",  "/api/tasks/next",               ROLE_RATER, api_task_next },
	{ "POST", "/api/tasks/{id}/skip",          ROLE_RATER, api_task_skip },
	{ "POST", "/api/ratings",                  ROLE_RATER, api_ratings_create },
	{ "GET",  "/api/ratings/mine",             ROLE_RATER, api_ratings_mine },
	{ "POST", "/api/demonstrations",           ROLE_RATER, api_demonstration_create },
	{ "GET",  "/api/demonstrations",           ROLE_ADMIN, api_demonstrations_list },
	{ "GET",  "/api/guidelines",               ROLE_RATER, api_guidelines_get },
	{ "PUT",  "/api/guidelines",               ROLE_ADMIN, api_guidelines_put },

	{ "GET",  "/api/export/ratings.jsonl",     ROLE_ADMIN, api_export_ratings_jsonl },
	{ "GET",  "/api/export/ratings.csv",       ROLE_ADMIN, api_export_ratings_csv },
	{ "GET",  "/api/export/pairs.jsonl",       ROLE_ADMIN, api_export_pairs },
	{ "GET",  "/api/export/sft.jsonl",         ROLE_ADMIN, api_export_sft },

	{ "POST", "/api/generate",                 ROLE_ADMIN, api_generate },
	{ "POST", "/api/train",                    ROLE_ADMIN, api_train },
	{ "GET",  "/api/jobs",                     ROLE_ADMIN, api_jobs_list },
	{ "GET",  "/api/jobs/kinds",               ROLE_ADMIN, api_job_kinds },
	{ "GET",  "/api/jobs/{id}",                ROLE_ADMIN, api_job_get },
	{ "GET",  "/api/jobs/{id}/metrics",        ROLE_ADMIN, api_job_metrics },
	{ "POST", "/api/jobs/{id}/cancel",         ROLE_ADMIN, api_job_cancel },
	{ "POST", "/api/jobs/{id}/retry",          ROLE_ADMIN, api_job_retry },
	{ "GET",  "/api/models",                   ROLE_ADMIN, api_models_list },
	{ "POST", "/api/models/{id}/activate",     ROLE_ADMIN, api_model_activate },
	{ "GET",  "/api/disagreements",            ROLE_ADMIN, api_disagreements },
	{ "PUT",  "/api/groups/{id}/gold",         ROLE_ADMIN, api_gold_put },
	{ "DELETE", "/api/groups/{id}/gold",       ROLE_ADMIN, api_gold_delete },
	{ "GET",  "/api/review",                   ROLE_ADMIN, api_review },

	{ "GET",  "/api/config",                   ROLE_ADMIN, api_config_get },
	{ "PUT",  "/api/config",                   ROLE_ADMIN, api_config_put },
	{ "GET",  "/api/stats",                    ROLE_ADMIN, api_stats },
	{ NULL, NULL, ROLE_NONE, NULL },
};
