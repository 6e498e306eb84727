/*
 * db/curves.h — learning curves read from people's scores: how each
 * generating version's answers were rated against its parent's on the same
 * prompts (the learning curve measured by raters, not by the reward model).
 */
#ifndef RLHFD_DB_CURVES_H
#define RLHFD_DB_CURVES_H

#include <jansson.h>

struct db;

/*
 * *out = new object keyed by version id (as text), one entry per generating
 * version (not a reward model) with a parent where both have rated answers
 * on at least one prompt:
 *   {"parent_id", "prompts", "mean", "parent_mean", "worse", "better", "ties"}
 * A prompt's score for a version is the mean over its rated answers of their
 * mean current score (migrations/0003_scores.sql answer_scores), as
 * db_work_model_verdict counts it; mean / parent_mean are the means of those
 * per-prompt scores over the shared prompts (each prompt weighs the same),
 * worse / better / ties count the prompts where the version's is lower /
 * higher / equal.
 */
int db_curves_human(struct db *db, json_t **out);

#endif
