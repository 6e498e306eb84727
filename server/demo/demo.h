/*
 * server/demo/ — the demo area: what a fresh install serves so the loop can be
 * watched with no model and no data of one's own.  It may use model/, db/
 * and the worker's public headers (server/worker/worker.h, modelstore.h,
 * gen.h, progress.h); nothing of server/http/ or server/cli/.  Its public
 * headers, which the CLI includes:
 *
 *   demo_world.h  the tables (countries, facts, instruction families) and the
 *                 deterministic generators of corpora and prompts
 *                 (demo_world.c, demo_corpus.c)
 *   demo_model.h  the pipeline that trains the demo model from a seed
 *   rubric.h      the rubric rater's 1..5 score for a demo answer
 *   httpc.h       the small HTTP client the rubric rater rates through
 *
 * Errors, the same in every header: a function that can fail returns 0 or -1
 * (NULL for a new pointer); one that takes (err, errlen) writes there a
 * lowercase message naming what failed (a file or URL in quotes), the others
 * fail only when out of memory or (the *_write ones) when writing fails.  Predicates return bool, lookups an index or -1, the rubric never
 * fails.  Nothing here prints an error: the caller (the CLI) does.
 *
 * This header only gathers them.
 */
#ifndef RLHFD_SERVER_DEMO_H
#define RLHFD_SERVER_DEMO_H

#include "server/demo/demo_model.h"
#include "server/demo/demo_world.h"
#include "server/demo/httpc.h"
#include "server/demo/rubric.h"

#endif
