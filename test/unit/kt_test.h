/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal assertion helper for the unit tests: count, report, exit status. */
#ifndef KT_TEST_H
#define KT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int kt_test_checks, kt_test_failed;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		kt_test_checks++;                                                                  \
		if (!(cond)) {                                                                     \
			kt_test_failed++;                                                          \
			fprintf(stderr, "FAIL %s:%d: %s:", __FILE__, __LINE__, #cond);             \
			fprintf(stderr, " " __VA_ARGS__);                                          \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

/* The whole file as a NUL-terminated string (NULL if it cannot be read). */
static inline char *kt_test_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = n >= 0 ? calloc(1, (size_t)n + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

#define CHECK_STR(a, b)                                                                            \
	CHECK(strcmp((a), (b)) == 0, "got \"%s\", want \"%s\"", (a), (b))

static inline int kt_test_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, kt_test_checks, kt_test_failed);
	return kt_test_failed ? 1 : 0;
}

#endif
