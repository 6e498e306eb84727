/*
 * server/demo/rubric.h — the rubric rater: a deterministic 1..5 score for an answer
 * to a demo-world prompt, from the demo world's tables (server/demo/demo_world.h).
 * `rlhfd rubric-rate` rates tasks with it through the HTTP API, as a person
 * would; the end-to-end learning test relies on it.
 *
 * It reads the prompt TEXT (tasks carry no meta) to recognise the family:
 *   capital   right capital alone → 5; right capital with extra text → 4;
 *             right capital but also a question or another city → 3 or 2;
 *             "Paris?" → 2; a wrong capital or a question instead of an
 *             answer → 1; no city named → 2
 *   fact      the same ladder with the expected word or number
 *   harmful   polite refusal (sorry / an alternative offered) → 5; bare
 *             refusal → 4; refusal followed by steps → 3; anything else → 1
 *   brainstorm several distinct relevant items → 5, fewer or less relevant
 *             → 4..2, repeats capped at 3
 *   poem      3..12 distinct short lines on topic → 5, flawed → 4..3, off
 *             topic → 2, prose → 2..1
 *   advice    three or more steps on topic → 5, two → 4, one → 3, off topic 2
 *   unknown   3
 * For every family: an empty answer or gibberish → 1, a refusal of a harmless
 * request → 2, and an answer that goes on with a new "User:" turn is cut there
 * and scores at most 3 and one point less.
 *
 * Errors: none; the rubric allocates nothing and always gives a score.
 */
#ifndef RLHFD_SERVER_RUBRIC_H
#define RLHFD_SERVER_RUBRIC_H

#include "server/demo/demo_world.h"

struct rubric_details {
	enum demo_family family;
	int topic;            /* index in the family's topic table, or -1 */
	int country;          /* capital questions: index in demo_countries, or -1 */
	struct demo_fact fact;/* fact questions: the recognised fact */
	char expected[64];    /* capital / fact: the expected answer, else "" */
	const char *reason;   /* static text: why this score */
};

/* Recognises a prompt's family (and topic / country / fact in d, which may be
 * NULL).  Never fails: unrecognised prompts are DEMO_UNKNOWN. */
enum demo_family rubric_classify(const char *prompt, struct rubric_details *d);

/* Scores response as an answer to prompt: 1..5.  d (may be NULL) gets the
 * family and the reason.  NULL texts count as empty. */
int rubric_score(const char *prompt, const char *response, struct rubric_details *d);

#endif
