/*
 * server/worker/autotrain.h — the auto-training loop (autotrain.c), internal to
 * the worker: the worker thread starts a loop (autotrain_tick), a job of the
 * loop queues the next one (autotrain_queue_next), and the registry's listing
 * describes the settings (autotrain_params_json).  The check PUT /api/config
 * calls, autotrain_check, is public: server/worker/worker.h.
 */
#ifndef RLHFD_SERVER_AUTOTRAIN_H
#define RLHFD_SERVER_AUTOTRAIN_H

#include <stdbool.h>
#include <jansson.h>

struct db;
struct job;

/* Queues the first job of a loop (a reward job) when auto-training is on
 * and enough new ratings came in; true when it did.  The worker thread calls
 * it when the queue is empty. */
bool autotrain_tick(struct db *db);

/* After job j of a loop succeeded, inside the transaction that records it:
 * queues the loop's next job (reward → auto_train.rl_kind → generate), or
 * none when auto-training was switched off meanwhile.  Returns 0 or a
 * negative DB_ code (the transaction is then rolled back). */
int autotrain_queue_next(struct job *j);

/* The auto_train settings as GET /api/jobs/kinds lists them (new): an array
 * of {"name","type","default","min"?,"max"?,"choices"?,"help"}. */
json_t *autotrain_params_json(void);

#endif
