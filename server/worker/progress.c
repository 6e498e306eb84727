/*
 * server/worker/progress.c — the CLI progress bar (see progress.h).
 */
#include "server/worker/progress.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_BAR 24 /* characters of the bar on a tty */

double progress_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_init(struct progress *p, FILE *f)
{
	memset(p, 0, sizeof *p);
	p->f = f;
	p->tty = f && isatty(fileno(f));
	p->interval = 10.0;
	p->start = p->last = progress_now();
}

void progress_phase(struct progress *p, const char *phase)
{
	snprintf(p->phase, sizeof p->phase, "%s", phase);
	p->start = progress_now();
	p->last = 0.0;
}

static void fmt_time(char *buf, size_t n, double sec)
{
	long s = sec < 0 ? 0 : (long)(sec + 0.5);
	if (s >= 3600)
		snprintf(buf, n, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else
		snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
}

void progress_update(struct progress *p, long done, long total, double eta,
		     const char *detail_fmt, ...)
{
	if (!p->f)
		return;
	double now = progress_now();
	bool final = done >= total;
	if (!final && now - p->last < (p->tty ? 0.1 : p->interval))
		return;
	p->last = now;
	if (eta < 0)
		eta = done > 0 ? (now - p->start) / done * (total - done) : 0.0;
	char detail[160] = "", etab[48];
	if (detail_fmt) {
		va_list ap;
		va_start(ap, detail_fmt);
		vsnprintf(detail, sizeof detail, detail_fmt, ap);
		va_end(ap);
	}
	fmt_time(etab, sizeof etab, eta);
	int pct = total > 0 ? (int)(100.0 * done / total) : 100;
	if (p->tty) {
		char bar[PROGRESS_BAR + 1];
		int fill = total > 0 ? (int)((double)PROGRESS_BAR * done / total) : PROGRESS_BAR;
		for (int i = 0; i < PROGRESS_BAR; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[PROGRESS_BAR] = '\0';
		/* \r back to column 0, ESC[K clears what a longer line left */
		fprintf(p->f, "\r%-9s [%s] %3d%% %ld/%ld %s  ETA %s\033[K", p->phase, bar, pct, done,
			total, detail, etab);
		p->drawn = true;
	} else {
		fprintf(p->f, "%s: %ld/%ld (%d%%) %s  ETA %s\n", p->phase, done, total, pct, detail,
			etab);
	}
	fflush(p->f);
}

void progress_end(struct progress *p, const char *fmt, ...)
{
	if (!p->f)
		return;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(p->f, "%s%s: %s (%.1f s)%s\n", p->drawn ? "\r" : "", p->phase, msg,
		progress_now() - p->start, p->tty ? "\033[K" : "");
	p->drawn = false;
	fflush(p->f);
}
