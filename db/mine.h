/*
 * db/mine.h — reading back one rater's own recent work: the groups they rated,
 * newest first, with their current ratings or judgement (the rate page's undo and
 * "previous", GET /api/ratings/mine).  Read only.
 */
#ifndef RLHFD_DB_MINE_H
#define RLHFD_DB_MINE_H

#include <stdint.h>
#include <jansson.h>

struct db;

/*
 * *out = new array of up to limit groups in which rater_id has current
 * ratings or a current rank / pair judgement (the orderings table), the one
 * rated last first (order key: the newest current rating's or judgement row's
 * created_at, then its id — see MINE_KEY in mine.c — so a re-rated group
 * moves to the front), each
 *   {"group_id", "prompt_id", "prompt", "rated_at" (ISO-8601, the latest
 *    current rating or judgement), "responses": [{"id","text"}] (by id),
 *    "ratings": [{"response_id","score","helpful","honest","harmless",
 *                 "comment","flags","created_at"}] (current ones, by response id),
 *    "judgement": null | {"kind": "rank" | "pair", "verdict" (pair; null for
 *                 rank), "strength" (pair a / b; else null),
 *                 "items": [{"response_id","place","level"}] (by place, then id)}}.
 * before > 0 keeps only groups whose order key is below it; *next_before is
 * the order key of the last group returned when there may be more (a full
 * page), else 0.  One read transaction, so the page is consistent.
 */
int db_ratings_mine(struct db *db, int64_t rater_id, int64_t before, int limit,
		    json_t **out, int64_t *next_before);

#endif
