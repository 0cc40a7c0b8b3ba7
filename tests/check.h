/* SPDX-License-Identifier: MIT */
/*
 * The check counters of the C unit-test programs: CHECK() counts a
 * condition and reports it with its line when false; CHECK_ERR() compares
 * a 0-or-negative-errno result with the one wanted; REQUIRE_ERR() does too
 * for a call whose result the checks after it build on (an open, a map), and
 * ends the program when it fails, so that no check goes on with a handle it
 * never got or has already closed; check_report() prints the tally and gives
 * the exit status.
 */
#ifndef SHMFS_TESTS_CHECK_H
#define SHMFS_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;

#define CHECK(cond, ...)                                             \
	do {                                                         \
		checks++;                                            \
		if (!(cond)) {                                       \
			failures++;                                  \
			fprintf(stderr, "FAIL line %d: ", __LINE__); \
			fprintf(stderr, __VA_ARGS__);                \
			fputc('\n', stderr);                         \
		}                                                    \
	} while (0)

#define CHECK_ERR(expr, want)                                               \
	do {                                                                \
		int got_ = (expr);                                          \
		CHECK(got_ == (want), "%s = %d (%s), want %d", #expr, got_, \
		      strerror(got_ < 0 ? -got_ : got_), (int)(want));      \
	} while (0)

#define REQUIRE_ERR(expr, want)                                                    \
	do {                                                                       \
		int failed_ = failures;                                            \
		CHECK_ERR(expr, want);                                             \
		if (failures != failed_) {                                         \
			fprintf(stderr, "cannot go on after line %d\n", __LINE__); \
			exit(1);                                                   \
		}                                                                  \
	} while (0)

/* Print "WHAT: all N checks passed" or the failures; 0 or 1 for exit(). */
static inline int check_report(const char *what)
{
	if (failures) {
		printf("%s: %d of %d checks failed\n", what, failures, checks);
		return 1;
	}
	printf("%s: all %d checks passed\n", what, checks);
	return 0;
}

#endif
