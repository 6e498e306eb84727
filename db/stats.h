/*
 * db/stats.h — counts for the admin page and /metrics, and the agreement
 * between raters.
 */
#ifndef RLHFD_DB_STATS_H
#define RLHFD_DB_STATS_H

#include <stdint.h>
#include <jansson.h>

struct db;

struct db_counts {
	int64_t prompts, responses, groups, ratings, ratings_total, raters;
	int64_t jobs_queued, jobs_running;
};

int db_counts(struct db *db, struct db_counts *out);

/* *out = new {"alpha": number|null, "metric": "interval", "groups": groups with
 * >= 2 raters, "units": responses with >= 2 raters, "values", "pairs"}.
 * Units are responses; values are current scores. */
int db_agreement(struct db *db, json_t **out);

/* *out = new {"prompts","responses","groups","ratings","ratings_total","raters",
 * "score_histogram": [n1..n5], "per_rater": [{"id","name","role","ratings"}],
 * "jobs": {"queued","running","succeeded","failed","cancelled"},
 * "agreement": db_agreement()}.  Counts of ratings are current ratings;
 * ratings_total includes superseded ones. */
int db_stats(struct db *db, json_t **out);

#endif
