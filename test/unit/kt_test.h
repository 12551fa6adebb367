/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal assertion helper for the unit tests: count, report, exit status. */
#ifndef KT_TEST_H
#define KT_TEST_H

#include <stdio.h>
#include <string.h>

static int kt_test_checks, kt_test_failed;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		kt_test_checks++;                                                                  \
		if (!(cond)) {                                                                     \
			kt_test_failed++;                                                          \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	CHECK(strcmp((a), (b)) == 0, "got \"%s\", want \"%s\"", (a), (b))

static inline int kt_test_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, kt_test_checks, kt_test_failed);
	return kt_test_failed ? 1 : 0;
}

#endif
