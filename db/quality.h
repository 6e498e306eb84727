/*
 * db/quality.h — quality control of the ratings: gold groups (answers whose
 * scores an admin knows), mixing them into the raters' queues, how long a
 * task took, the per-rater figures the admin's Overview shows, and the
 * review list of flagged and commented answers.
 *
 * Gold: an admin gives every answer of a group a known score 1-5
 * (db_gold_set); the group is then gold.  A gold group is no longer handed
 * out by the ordinary queue (db/tasks.c): each new task is, with probability
 * gold_share (config), the oldest gold group the rater has neither rated nor
 * skipped, else an ordinary one; when no ordinary one is left a gold one
 * is given.  Raters are not told.  Their ratings of gold groups are stored
 * and used (exports, training) like any other: they are real judgements of
 * real answers; the gold scores are not ratings and no training job reads
 * them.
 */
#ifndef RLHFD_DB_QUALITY_H
#define RLHFD_DB_QUALITY_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct db;

/* One answer's gold score. */
struct db_gold_in {
	int64_t response_id;
	int score;   /* 1..5 */
};

/*
 * Makes group_id gold with these scores, one per answer of the group
 * (replacing any it had), in one write transaction.  DB_NOTFOUND for an
 * unknown group; DB_INVALID when in is not exactly the group's answers each
 * once with a score 1..5 (*bad_index = the first entry at fault, or -1 when
 * an answer of the group is missing).
 */
int db_gold_set(struct db *db, int64_t group_id, const struct db_gold_in *in, int n,
		int64_t now, int *bad_index);
/* The group is gold no more (its raters' ratings stay).  DB_NOTFOUND for an
 * unknown group. */
int db_gold_clear(struct db *db, int64_t group_id);

/*
 * Inside db_task_next's transaction: the oldest gold group the rater has not
 * rated, skipped or leased (live) and that is not in exclude (JSON array
 * text), into *group.  With roll, first draws whether this task is gold at
 * all (probability config gold_share, default 0.1): DB_NOTFOUND when the
 * draw says no or no gold group is left.
 */
int db_gold_pick(struct db *db, int64_t rater_id, int64_t now, const char *exclude, bool roll,
		 int64_t *group);

/* How many gold groups the rater has neither rated nor skipped (what
 * db_gold_pick can still give them). */
int db_gold_remaining(struct db *db, int64_t rater_id, int64_t *n);

/* Inside the first save of a rater's ratings in a group: records when their
 * live lease on it began and now (task_times), if they hold one. */
int db_task_time_record(struct db *db, int64_t rater_id, int64_t group_id, int64_t now);

/*
 * Per rater, *out (new) = {"<rater id>": {
 *   "gold_answers": current ratings of gold answers,
 *   "gold_mae": mean |score - gold score| over them (null when none),
 *   "gold_within_1": share of them within 1 point of the gold score,
 *   "gold_pairs": pairs of gold answers of one group with different gold
 *                 scores that the rater rated both of,
 *   "gold_order_agreement": over those pairs, (pairs the rater orders as gold
 *                 does + half the pairs the rater ties) / gold_pairs (null
 *                 when none),
 *   "consensus_answers": the rater's current ratings of answers that other
 *                 raters rated too,
 *   "consensus_mae": mean |score - mean of the other raters' current scores|
 *                 over them (null when none),
 *   "timed_tasks": tasks with a time (task_times),
 *   "median_seconds": median of rated_at - leased_at over them (null when
 *                 none; the mean of the middle two for an even count),
 *   "too_fast": at least QUALITY_MIN_TIMED tasks and median_seconds below
 *                 too_fast_seconds}} for every rater with any of these.
 */
#define QUALITY_MIN_TIMED 3
int db_quality_raters(struct db *db, double too_fast_seconds, json_t **out);

/* How many groups are gold. */
int db_gold_groups(struct db *db, int64_t *n);

/* The review list's filters (NULL / 0 = any). */
struct db_review_filter {
	int64_t rater_id;
	const char *split;      /* "train" | "eval" */
	const char *tag;        /* the prompt's meta.tag or meta.family, or one of meta.tags */
	const char *flag;       /* one flag the rating carries */
	int64_t since, until;   /* since <= created_at < until (unix seconds; 0 = open) */
	int64_t before;         /* rating id < before (paging) */
	int limit;
};

/*
 * The current ratings that carry a flag or a non-blank comment, newest
 * first, filtered.  *out (new) = {"items": [{"rating_id", "rater_id",
 * "rater", "prompt_id", "prompt", "split", "group_id", "response_id",
 * "response", "score", "flags", "comment", "created_at"}], "next_before":
 * the last item's rating id when the page is full, else null, "flag_kinds":
 * every flag any current rating carries, sorted}.
 */
int db_review(struct db *db, const struct db_review_filter *f, json_t **out);

#endif
