/*
 * server/worker/progress.h — a progress bar for long CLI work (training the demo
 * model, generating answers): phase, done/total, a free-form detail (loss,
 * tokens/s), and the ETA.  On a terminal it is one line redrawn in place (at
 * most ten times a second); otherwise (a log, a pipe, `make run` under CI) a
 * plain line every few seconds, so logs stay short but show life.
 *
 * Ownership: struct progress borrows the FILE; phase and detail strings are
 * copied.  Not thread-safe: one thread reports.
 */
#ifndef RLHFD_SERVER_PROGRESS_H
#define RLHFD_SERVER_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

struct progress {
	FILE *f;            /* NULL = silent */
	bool tty;           /* redraw one line in place */
	double interval;    /* seconds between plain lines (not a tty) */
	double start;       /* when the phase began (monotonic seconds) */
	double last;        /* when a line was last written */
	bool drawn;         /* a tty line is on screen, not yet ended */
	char phase[32];
};

/* Reports to f (NULL = nowhere), as a tty line when f is a terminal. */
void progress_init(struct progress *p, FILE *f);

/* Starts a phase: the clock for its ETA restarts. */
void progress_phase(struct progress *p, const char *phase);

/*
 * done of total units, with detail (printf-style, may be NULL) after the
 * counts.  eta < 0 = computed from the phase's mean rate.  Rate-limited:
 * a tty redraws at most every 0.1 s, plain output every interval seconds;
 * done == total always prints.
 */
void progress_update(struct progress *p, long done, long total, double eta,
		     const char *detail_fmt, ...) __attribute__((format(printf, 5, 6)));

/* Ends the phase with a final line: "<phase>: <message> (<seconds> s)". */
void progress_end(struct progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Monotonic seconds. */
double progress_now(void);

#endif
