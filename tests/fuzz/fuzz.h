/*
 * tests/fuzz/fuzz.h — what every libFuzzer target in tests/fuzz/ shares: a
 * scratch directory for the files a target hands to loaders, writing a file,
 * failing loudly (abort, so libFuzzer saves the input as a crash), and
 * recording a known defect that the target steps around.
 *
 * Scratch files go under $FUZZ_TMPDIR (tests/fuzz/run.sh points it at a
 * directory in /dev/shm that it removes afterwards), else /dev/shm, else
 * /tmp: loaders fsync what they write, which costs nothing on tmpfs.
 *
 * A known defect is one the target detects before it happens and steps
 * around, so that the rest of the code still gets fuzzed (a crash on every
 * few inputs would stop the run).  fuzz_known() prints a line
 * "KNOWN DEFECT: <what>" the first time, and saves that input as
 * known-<slug> in $FUZZ_ARTIFACTS (else the working directory), where
 * tests/fuzz/run.sh finds and reports it.  Each use names the defect; remove
 * the guard when the defect is fixed.
 */
#ifndef RLHFD_TESTS_FUZZ_H
#define RLHFD_TESTS_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* UBSan stops at its first report. */
__attribute__((used)) const char *__ubsan_default_options(void);
__attribute__((used)) const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

/* Prints "fuzz: <message>" and aborts: libFuzzer saves the input as a crash. */
__attribute__((noreturn, format(printf, 1, 2)))
static inline void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("fuzz: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define FUZZ_ASSERT(cond, ...) do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

/* The process's scratch directory (created on first use, removed at exit by
 * fuzz_scratch_cleanup when the run ends normally). */
static char fuzz_dir_[PATH_MAX];

static inline void fuzz_scratch_cleanup(void)
{
	char cmd[PATH_MAX + 16];
	if (!fuzz_dir_[0])
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: cannot remove %s\n", fuzz_dir_);
}

static inline const char *fuzz_scratch_dir(void)
{
	if (fuzz_dir_[0])
		return fuzz_dir_;
	const char *base = getenv("FUZZ_TMPDIR");
	struct stat st;
	if (!base || !*base)
		base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
	snprintf(fuzz_dir_, sizeof fuzz_dir_, "%s/rlhfd-fuzz-XXXXXX", base);
	if (!mkdtemp(fuzz_dir_))
		fuzz_fail("cannot make a scratch directory under %s: %s", base, strerror(errno));
	atexit(fuzz_scratch_cleanup);
	return fuzz_dir_;
}

/* "<scratch>/<name>" into out (PATH_MAX). */
static inline char *fuzz_path(char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", fuzz_scratch_dir(), name);
	return out;
}

/* Writes n bytes to path (replacing it); aborts when it cannot. */
static inline void fuzz_write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
		fuzz_fail("cannot write %s: %s", path, strerror(errno));
}

/*
 * A known defect was about to happen on this input and the target stepped
 * around it.  slug names it in a file name ("sampler-empty-nucleus").
 * Reports it once per slug and process; counts every hit.
 */
#define FUZZ_MAX_KNOWN 8
static struct { const char *slug; long hits; } fuzz_known_[FUZZ_MAX_KNOWN];

static inline void fuzz_known_summary(void)
{
	for (int i = 0; i < FUZZ_MAX_KNOWN && fuzz_known_[i].slug; i++)
		fprintf(stderr, "KNOWN DEFECT: %s: %ld inputs stepped around\n", fuzz_known_[i].slug,
			fuzz_known_[i].hits);
}

static inline void fuzz_known(const char *slug, const char *what, const uint8_t *data, size_t size)
{
	int i = 0;
	while (i < FUZZ_MAX_KNOWN && fuzz_known_[i].slug && strcmp(fuzz_known_[i].slug, slug) != 0)
		i++;
	if (i == FUZZ_MAX_KNOWN)
		fuzz_fail("too many kinds of known defect");
	if (fuzz_known_[i].slug) {
		fuzz_known_[i].hits++;
		return;
	}
	if (i == 0)
		atexit(fuzz_known_summary);
	fuzz_known_[i].slug = slug;
	fuzz_known_[i].hits = 1;
	const char *dir = getenv("FUZZ_ARTIFACTS");
	char path[PATH_MAX] = "";
	if (dir && *dir) {
		snprintf(path, sizeof path, "%s/known-%s", dir, slug);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
			fuzz_fail("cannot write %s", path);
	}
	fprintf(stderr, "KNOWN DEFECT: %s: %s (stepped around%s%s)\n", slug, what,
		path[0] ? "; input saved as " : "", path);
}

/* Little-endian reads from a byte string (any alignment). */
static inline uint32_t fuzz_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline float fuzz_f32(const uint8_t *p)
{
	union { uint32_t u; float f; } x = { .u = fuzz_u32(p) };
	return x.f;
}

#endif
