/*
 * server/worker/spotcheck.h — the reward-hacking watch inside the worker
 * (spotcheck.c): the hooks the job runner calls.  What HTTP may call
 * (spotcheck_activated, spotcheck_json) is in worker.h.
 */
#ifndef RLHFD_SERVER_WORKER_SPOTCHECK_H
#define RLHFD_SERVER_WORKER_SPOTCHECK_H

#include <stdbool.h>
#include <stdint.h>

struct db;
struct job;
struct db_spot;

/* After job j succeeded, inside the transaction that records its end: a
 * generate job of the active version whose spot checks are pending queues a
 * score job (its answers are not scored yet); a score job picks the pending
 * spot checks of the active version.  0 or a negative DB_ code. */
int spotcheck_after_job(struct job *j);

/* The hacking verdict on figures db_spot_get read (promote_hacking); *p its
 * sign-test p-value; why (may be NULL) gets the reason when flagged. */
bool spotcheck_hacking(const struct db_spot *s, double *p, char *why, size_t why_len);

#endif
