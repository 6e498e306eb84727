/*
 * db/tasks.h — handing rating tasks to raters: leases and skips.
 *
 * A task is a group (a prompt and its K answers).  A group goes to at most
 * per_group distinct raters (config ratings_per_group), never to a rater who
 * rated or skipped it.  Asking again before answering returns the same lease
 * (a rater holds one live lease, or a few with db_task_next_excluding).  A lease that expires is reclaimed:
 * it no longer counts against per_group (and the group may be handed out
 * again, also to the same rater, who has neither rated nor skipped it).
 * New tasks go first to the open groups of spot-checked answers (a newly
 * active version's best answers by the reward model, db/spotcheck.h), then
 * to the open groups closest to done, so with per_group > 1 raters overlap on
 * the same groups early and agreement can be measured; then in the queue's
 * order (struct db_queue): the oldest first ("fifo"), or the groups whose
 * answers the newest reward model scored closest together first
 * ("uncertain", gen_groups.rm_gap, migrations/0010_queue_order.sql), with a
 * share of random picks.
 */
#ifndef RLHFD_DB_TASKS_H
#define RLHFD_DB_TASKS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct db;

/*
 * In one write transaction: the rater's live lease if any, else a new lease
 * (expiring at now + lease_seconds) on the first group the rater may take.
 * *task = new {"prompt_id","group_id","prompt","messages","responses":[{"id","text"}]
 * (by id; the caller shuffles), "lease_expires_at","task_kind"} ("messages":
 * the conversation array of a conversation prompt, else null; "task_kind": the
 * prompt's own kind, else null) or DB_NOTFOUND when nothing is left for this
 * rater.
 */
int db_task_next(struct db *db, int64_t rater_id, int64_t now, int per_group,
		 int lease_seconds, json_t **task);

/*
 * db_task_next, but never one of the groups in exclude (JSON array text of
 * group ids, NULL for none): a live lease on another group is returned, else
 * a new lease is taken, so a rater may hold a second lease while the first is
 * still shown (the rating page preloads the next task with
 * ?exclude=<the group it shows>).
 */
int db_task_next_excluding(struct db *db, int64_t rater_id, int64_t now, int per_group,
			   int lease_seconds, const char *exclude, json_t **task);

/*
 * The order of the queue (config queue_order, queue_random_share).  Within the
 * open groups closest to done: DB_QUEUE_FIFO by id; DB_QUEUE_UNCERTAIN the
 * groups with an rm_gap smallest gap first (ties by id), then the unscored
 * ones by id — or, when random is set (the caller draws it with probability
 * queue_random_share), the group whose pick key (a hash of its id onto
 * 0..2^32-1, migrations/0010_queue_order.sql) comes first at or after random_key, wrapping
 * around: a pick that depends on no score.  DB_QUEUE_AUTO is UNCERTAIN once
 * rm_scores has a row, FIFO before.
 */
enum db_queue_order { DB_QUEUE_FIFO, DB_QUEUE_UNCERTAIN, DB_QUEUE_AUTO };
struct db_queue {
	enum db_queue_order order;
	bool random;
	int64_t random_key;             /* 0..2^32-1 */
};

/* db_task_next_excluding with the queue's order q (the other two: FIFO). */
int db_task_next_ordered(struct db *db, int64_t rater_id, int64_t now, int per_group,
			 int lease_seconds, const char *exclude, const struct db_queue *q,
			 json_t **task);

/* How many groups db_task_next could hand this rater now (its live lease
 * included). */
int db_task_remaining(struct db *db, int64_t rater_id, int64_t now, int per_group, int64_t *n);

/* Groups the rater rated (current ratings) at or after since. */
int db_rated_groups_since(struct db *db, int64_t rater_id, int64_t since, int64_t *n);

/* Records that the rater skipped the group and drops the rater's lease on it,
 * in one write transaction.  DB_NOTFOUND for an unknown group; skipping twice
 * is fine. */
int db_task_skip(struct db *db, int64_t rater_id, int64_t group_id, int64_t now);

/* Drops the rater's lease on the group (inside the caller's transaction). */
int db_lease_delete(struct db *db, int64_t rater_id, int64_t group_id);

#endif
