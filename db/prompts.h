/*
 * db/prompts.h — prompts, generation groups and responses (answers).
 *
 * A group is the set of K answers to one prompt that a rater sees together:
 * written by one generation job (model_id set) or imported (model_id NULL,
 * model_name saying where they came from).  Writers here run inside the
 * caller's transaction (db_begin ... db_commit) so an import is all-or-nothing.
 */
#ifndef RLHFD_DB_PROMPTS_H
#define RLHFD_DB_PROMPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct db;

/* split is "train" or "eval"; source e.g. "api", "demo"; meta_json is JSON
 * object text or NULL for {}. */
int db_prompt_insert(struct db *db, const char *text, const char *split, const char *source,
		     const char *meta_json, int64_t *id);
/* The same with a conversation: messages_json is the checked JSON array of
 * {"role","content"} (migrations/0013_conversations.sql) and text its last
 * user message; messages_json NULL = a plain prompt. */
int db_prompt_insert_chat(struct db *db, const char *text, const char *messages_json,
			  const char *split, const char *source, const char *meta_json, int64_t *id);
/* Sets prompt id's task kind ("score", "rank", "pair"; NULL = the config
 * default task_kind).  DB_NOTFOUND when there is no such prompt. */
int db_prompt_set_task_kind(struct db *db, int64_t id, const char *kind);

/* DB_OK if the prompt exists, else DB_NOTFOUND. */
int db_prompt_exists(struct db *db, int64_t id);

/* Up to limit prompts with id > after (split NULL = both), by id:
 * *out = new array [{"id","text","split","source","responses","ratings","created_at"}]
 * (responses / current ratings counted); *next_after = the last id when more
 * follow, else 0. */
int db_prompts_list(struct db *db, const char *split, int64_t after, int limit,
		    json_t **out, int64_t *next_after);

/* *out = new object {"id","text","messages","split","source","meta","created_at","task_kind",
 * "responses": [{"id","text","model_id","model","group_id","token_count",
 * "created_at","mean_score","ratings": [{"id","rater_id","rater","score",
 * "helpful","honest","harmless","comment","flags","created_at"}],
 * "rm_score","rm_model_id"}]} with current ratings only, and the score of the
 * newest reward model that scored the answer (db/rmscores.h; null, null when
 * none did); "messages" is the conversation array, null for a plain prompt;
 * DB_NOTFOUND for an unknown id. */
int db_prompt_get(struct db *db, int64_t id, json_t **out);

/* model_id / job_id <= 0 store NULL; params_json NULL for {}. */
int db_group_create(struct db *db, int64_t prompt_id, int64_t model_id, int64_t job_id,
		    const char *params_json, int64_t *id);
/* DB_OK and the group's prompt (prompt_id may be NULL) or DB_NOTFOUND. */
int db_group_exists(struct db *db, int64_t group_id, int64_t *prompt_id);
/* The group's response ids in id order, at most max of them in ids[];
 * *n = how many the group has (may exceed max). */
int db_group_response_ids(struct db *db, int64_t group_id, int64_t *ids, int max, int *n);

/* DB_OK and the response's group (group_id may be NULL), or DB_NOTFOUND. */
int db_response_exists(struct db *db, int64_t response_id, int64_t *group_id);

/* model_id <= 0 stores NULL (imported answer); model_name may be NULL;
 * token_count < 0 stores NULL. */
int db_response_insert(struct db *db, int64_t group_id, int64_t prompt_id, int64_t model_id,
		       const char *model_name, const char *text, int token_count, int64_t *id);

/* An answer written by a model (the generate job): model_id > 0, ended 1
 * (stopped at EOS/BOS) or 0 (ran into max tokens / the context),
 * token_count >= 0. */
int db_work_response_insert(struct db *db, int64_t group_id, int64_t prompt_id,
			    int64_t model_id, const char *text, int token_count, bool ended,
			    int64_t *id);

#endif
