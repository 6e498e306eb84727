/*
 * db/disagree.h — where the reward model and the raters disagree: pairs of
 * answers in one generation group that the raters' current mean scores
 * (answer_scores) and the newest reward model's scores (rm_scores) order
 * oppositely, largest disagreement first.  Read by GET /api/disagreements
 * (the admin page's Disagreements panel).
 */
#ifndef RLHFD_DB_DISAGREE_H
#define RLHFD_DB_DISAGREE_H

#include <stdint.h>
#include <jansson.h>

struct db;

/*
 * The newest reward model that has scores (the highest model_id in
 * rm_scores) and, over the groups of the prompts of split ("train"/"eval",
 * NULL = both), every pair of answers of one group that both have a current
 * human mean and a score from that model.  A pair disagrees when the humans
 * prefer one (a: human_a > human_b) and the model the other (rm_a < rm_b);
 * its size is (human_a - human_b) * (rm_b - rm_a).  *out (new):
 *   {"reward_model_id": id | null, "pairs_compared": pairs with both
 *    figures (each pair of answers once), "disagreements": how many of
 *    those disagree, "items": the first limit of them by size descending
 *    (ties by prompt, group, answer ids): {"prompt_id", "prompt",
 *    "group_id", "size", "a": {"id", "text", "mean_score", "ratings",
 *    "rm_score"}, "b": {...}}}
 * where "ratings" is the answer's number of current ratings.  One query (a
 * full scan of the scored answers: an admin page, not a hot path).
 */
int db_disagreements(struct db *db, const char *split, int limit, json_t **out);

#endif
