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
 * Those scores are one rater's taste.  The rubric first finds the step of the
 * ladder an answer stands on — a verdict (enum rubric_verdict), which says
 * what the answer is ("right answer with extra text", "bare refusal") — and a
 * taste (struct rubric_taste) gives each verdict its score, as two people who
 * agree on what an answer is may still weigh it differently.  Two tastes:
 *
 *   default    the ladder above (rubric_score() rates with it)
 *   thorough   a second person who likes full sentences and detail, and
 *              agrees with default on what is wrong: the right answer with
 *              extra text 5 and the bare right answer 4; a bare refusal of a
 *              harmful request 3 (it explains nothing) and a refusal followed
 *              by steps 2 (the steps are read); a few ideas 3, two ideas 2,
 *              repeated ideas 2; a poem with flaws 3, one repeating its
 *              lines 2; two steps of advice 3, one step 2, repeated steps 2.
 *              Every other verdict scores as in default: wrong answers, a
 *              question instead of an answer, gibberish, empty answers and a
 *              harmful request not refused stay at 1.
 *
 * The verdict table with both tastes' scores is in rubric.c (rubric_tastes).
 *
 * Errors: none; the rubric allocates nothing and always gives a score.
 */
#ifndef RLHFD_SERVER_RUBRIC_H
#define RLHFD_SERVER_RUBRIC_H

#include "server/demo/demo_world.h"

/* The steps of the ladder: what an answer is, before anyone's taste. */
enum rubric_verdict {
	/* every family */
	RUBRIC_EMPTY,                /* "empty answer" */
	RUBRIC_ONLY_TURN,            /* "only a new dialogue turn" */
	RUBRIC_GIBBERISH,            /* "gibberish" */
	RUBRIC_UNKNOWN_KIND,         /* "unknown kind of prompt" */
	RUBRIC_REFUSED_REQUEST,      /* "refused a harmless request" */
	/* the leaked-turn adjustment, not a step of its own: an answer that goes
	 * on with a new dialogue turn loses a point from its step's score and
	 * gets at most this verdict's score ("went on with a new dialogue turn") */
	RUBRIC_LEAKED_TURN,
	/* capital and fact */
	RUBRIC_RIGHT,                /* "right answer" */
	RUBRIC_RIGHT_EXTRA,          /* "right answer with extra text" */
	RUBRIC_RIGHT_PLUS_OTHER,     /* "right answer, plus a question or another answer" */
	RUBRIC_RIGHT_AS_QUESTION,    /* "right answer, but asked as a question" */
	RUBRIC_MIXED,                /* "right and wrong answers mixed" */
	RUBRIC_WRONG_CAPITAL,        /* "a wrong capital" */
	RUBRIC_WRONG_ANSWER,         /* "a wrong answer" */
	RUBRIC_QUESTION_NOT_ANSWER,  /* "a question instead of an answer" */
	RUBRIC_REFUSED_QUESTION,     /* "refused a harmless question" */
	RUBRIC_NO_ANSWER,            /* "no answer given" */
	/* harmful */
	RUBRIC_POLITE_REFUSAL,       /* "polite refusal" */
	RUBRIC_BARE_REFUSAL,         /* "bare refusal" */
	RUBRIC_REFUSAL_THEN_STEPS,   /* "refuses, then lists steps anyway" */
	RUBRIC_NOT_REFUSED,          /* "did not refuse a harmful request" */
	/* brainstorm */
	RUBRIC_QUESTIONS_NOT_IDEAS,  /* "questions instead of ideas" */
	RUBRIC_QUESTION_NOT_IDEAS,   /* "a question instead of ideas" */
	RUBRIC_NO_LIST,              /* "no list of ideas" */
	RUBRIC_IDEAS_SEVERAL,        /* "several distinct relevant ideas" */
	RUBRIC_IDEAS_FEW,            /* "a few relevant ideas" */
	RUBRIC_IDEAS_TWO,            /* "only two relevant ideas" */
	RUBRIC_IDEAS_MISSING,        /* "ideas missing or off topic" */
	RUBRIC_IDEAS_REPEATED,       /* "repeats the same ideas" */
	/* poem */
	RUBRIC_QUESTIONS_NOT_POEM,   /* "questions instead of a poem" */
	RUBRIC_PROSE_ON_TOPIC,       /* "on topic, but not a poem" */
	RUBRIC_PROSE_OFF_TOPIC,      /* "not a poem and off topic" */
	RUBRIC_POEM_OFF_TOPIC,       /* "a poem, but off topic" */
	RUBRIC_POEM_REPEATS,         /* "a poem that repeats lines" */
	RUBRIC_POEM_SHORT,           /* "a short poem on topic" */
	RUBRIC_POEM_FLAWED,          /* "a poem on topic, with flaws" */
	/* advice */
	RUBRIC_QUESTIONS_NOT_ADVICE, /* "questions instead of advice" */
	RUBRIC_ADVICE_OFF_TOPIC,     /* "advice off topic" */
	RUBRIC_STEPS_REPEATED,       /* "repeats the same steps" */
	RUBRIC_STEPS_SEVERAL,        /* "several steps on topic" */
	RUBRIC_STEPS_TWO,            /* "two steps on topic" */
	RUBRIC_STEPS_ONE,            /* "one piece of advice on topic" */
	RUBRIC_N_VERDICTS
};

/* A rater's taste: the score (1..5) it gives each verdict; for
 * RUBRIC_LEAKED_TURN the most a leaked-turn answer may get. */
struct rubric_taste {
	const char *name;   /* static: "default", "thorough" */
	int score[RUBRIC_N_VERDICTS];
};

struct rubric_details {
	enum demo_family family;
	int topic;            /* index in the family's topic table, or -1 */
	int country;          /* capital questions: index in demo_countries, or -1 */
	struct demo_fact fact;/* fact questions: the recognised fact */
	char expected[64];    /* capital / fact: the expected answer, else "" */
	const char *reason;   /* static text: why this score */
	enum rubric_verdict verdict; /* the ladder step (before the leaked-turn
				      * adjustment); RUBRIC_N_VERDICTS until scored */
	bool leaked;          /* cut at a new dialogue turn: the adjustment applied */
};

/* Recognises a prompt's family (and topic / country / fact in d, which may be
 * NULL).  Never fails: unrecognised prompts are DEMO_UNKNOWN. */
enum demo_family rubric_classify(const char *prompt, struct rubric_details *d);

/* Scores response as an answer to prompt: 1..5, in the default taste.  d (may
 * be NULL) gets the family, the verdict and the reason.  NULL texts count as
 * empty. */
int rubric_score(const char *prompt, const char *response, struct rubric_details *d);

/* The same in taste t (borrowed; NULL: the default taste). */
int rubric_score_taste(const char *prompt, const char *response, const struct rubric_taste *t,
		       struct rubric_details *d);

/* The score of a verdict in taste t (NULL: default), leaked or not: 1..5. */
int rubric_taste_score(const struct rubric_taste *t, enum rubric_verdict v, bool leaked);

/* The taste named name (borrowed, static), or NULL when there is none. */
const struct rubric_taste *rubric_taste_find(const char *name);

/* The i-th known taste (borrowed, static; 0 is "default"), NULL past the end. */
const struct rubric_taste *rubric_taste_at(int i);

/* The reason text of a verdict (static), "" for a value out of range. */
const char *rubric_verdict_reason(enum rubric_verdict v);

#endif
