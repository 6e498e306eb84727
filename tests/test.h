/*
 * tests/test.h — the unit-test harness shared by every tests/unit/test_*.c.
 *
 * A test is a plain `static void test_x(void)` run by RUN(test_x); CHECK-style
 * macros record a failure (with file:line and the values involved) and let the
 * test go on so one run shows every broken assertion; REQUIRE-style macros
 * record a failure and return from the test (a set-up that failed must never
 * let the test count as passed).  TEST_MAIN_END prints the line
 * `N passed, N failed, N skipped` (counting tests, not assertions) that
 * tests/run.sh adds up, and returns non-zero when anything failed.
 *
 * Skips: TEST_SKIP for an input that is optional everywhere; TEST_SKIP_DEP
 * for one that `make deps-test` installs (SentencePiece, the shared Llama 2
 * vocabulary): under CI (CI set and not "false") that skip is a failure.
 */
#ifndef RLHFD_TEST_H
#define RLHFD_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed_, test_failed_, test_skipped_, test_cur_failed_;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		test_cur_failed_ = 1; \
	} } while (0)

#define CHECK_MSG(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "  %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
		test_cur_failed_ = 1; \
	} } while (0)

#define CHECK_INT_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { \
		fprintf(stderr, "  %s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_); \
		test_cur_failed_ = 1; \
	} } while (0)

#define CHECK_STR_EQ(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_) != 0) { \
		fprintf(stderr, "  %s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b, \
			a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
		test_cur_failed_ = 1; \
	} } while (0)

/* |a - b| <= tol */
#define CHECK_NEAR(a, b, tol) do { double a_ = (a), b_ = (b), t_ = (tol); \
	if (!(fabs(a_ - b_) <= t_)) { \
		fprintf(stderr, "  %s:%d: %s ~= %s: %.9g vs %.9g (tol %.3g)\n", __FILE__, __LINE__, \
			#a, #b, a_, b_, t_); \
		test_cur_failed_ = 1; \
	} } while (0)

/* CHECK / CHECK_MSG that also ends the test when cond fails. */
#define REQUIRE(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "  %s:%d: required: %s\n", __FILE__, __LINE__, #cond); \
		test_cur_failed_ = 1; \
		return; \
	} } while (0)

#define REQUIRE_MSG(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "  %s:%d: required: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
		test_cur_failed_ = 1; \
		return; \
	} } while (0)

#define RUN(fn) do { \
	test_cur_failed_ = 0; \
	fn(); \
	if (test_cur_failed_) { test_failed_++; printf("FAIL %s\n", #fn); } \
	else { test_passed_++; printf("ok   %s\n", #fn); } \
	fflush(stdout); \
	} while (0)

/* Counts fn as skipped (not run) and prints why, so an absent optional input
 * is visible in the closing line. */
#define TEST_SKIP(fn, why) do { \
	test_skipped_++; printf("skip %s: %s\n", #fn, why); fflush(stdout); } while (0)

static inline int test_in_ci_(void)
{
	const char *ci = getenv("CI");
	return ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0;
}

/* A skip for a dependency `make deps-test` installs: a failure under CI. */
#define TEST_SKIP_DEP(fn, why) do { \
	if (test_in_ci_()) { test_failed_++; printf("FAIL %s: skipped under CI: %s\n", #fn, why); } \
	else TEST_SKIP(fn, why); \
	fflush(stdout); } while (0)

#define TEST_MAIN_END() do { \
	printf("%d passed, %d failed, %d skipped\n", test_passed_, test_failed_, test_skipped_); \
	return test_failed_ ? 1 : 0; } while (0)

#endif
