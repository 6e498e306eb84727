/*
 * db/demonstrations.h — answers raters write themselves ("write a better
 * answer" on the rate page).
 *
 * A demonstration is a response of origin 'human' (migrations/0010): no
 * model, its author the rater, alone in a generation group of its own on the
 * prompt (params {"origin": "human", "group_id": the group the rater was
 * shown}), so it never joins the answers other raters compare and
 * /api/tasks/next never hands it out.  With no model and no rating it is an
 * SFT row by db/traindata.h's rule (the SFT job and sft.jsonl take it) — and,
 * like any answer, by its mean score once someone rates it.
 */
#ifndef RLHFD_DB_DEMONSTRATIONS_H
#define RLHFD_DB_DEMONSTRATIONS_H

#include <stdint.h>
#include <jansson.h>

struct db;

/*
 * Stores text as rater_id's demonstration, in one write transaction, for the
 * prompt of group_id (> 0), or else for prompt_id.  DB_NOTFOUND when that
 * group or prompt does not exist.  *id = the new response, *group = its new
 * group, *prompt = its prompt.
 */
int db_demonstration_add(struct db *db, int64_t rater_id, int64_t group_id, int64_t prompt_id,
			 const char *text, int64_t now, int64_t *id, int64_t *group,
			 int64_t *prompt);

/*
 * Up to limit demonstrations with id < before (before <= 0: from the
 * newest), newest first: *out = new array [{"id","prompt_id","prompt",
 * "group_id","source_group_id","text","rater_id","rater","created_at"}];
 * *next_before = the last id listed when older ones follow, else 0.
 */
int db_demonstrations_list(struct db *db, int64_t before, int limit, json_t **out,
			   int64_t *next_before);

#endif
