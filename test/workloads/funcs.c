// SPDX-License-Identifier: GPL-2.0
/*
 * funcs STEP... : function and USDT targets for funclat, funccount and usdt.
 * Waits for a line on stdin (ktrace attaches first), runs the steps in
 * order, prints what it did, e.g. "nap 10 malloc 200 getppid 500".
 *   nap N MS       N times: USDT funcs:start(i), nap(MS) (a noinline nanosleep), USDT funcs:done(i, MS)
 *   malloc N SIZE  N times malloc(SIZE) then free
 *   getppid N      N calls of libc's getppid()
 *   recurse D      rec(D): D nested calls, the innermost sleeps 2 ms
 *   jump N         N calls of leap(), left by longjmp from below: they never return
 *   loop N         N calls of an empty noinline function (overhead benchmarks)
 *   query N        N times USDT funcs:query(i), an is-enabled probe (semaphore)
 *   strlen N       N calls of libc's strlen (an IFUNC) through the PLT
 * Every USDT probe has a semaphore; query's argument is computed only when
 * the semaphore says a tracer is attached, and "query N enabled E" says how
 * many times it was.
 */
#define _SDT_HAS_SEMAPHORES 1
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <time.h>
#include <unistd.h>

unsigned short funcs_start_semaphore __attribute__((section(".probes"))) __attribute__((used));
unsigned short funcs_done_semaphore __attribute__((section(".probes"))) __attribute__((used));
unsigned short funcs_query_semaphore __attribute__((section(".probes"))) __attribute__((used));

static jmp_buf env;
static volatile long sink;
/* through a volatile pointer: the compiler may not fold or inline the strlen calls */
static size_t (*volatile strlen_p)(const char *) = strlen;

__attribute__((noinline)) void nap(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
	__asm__ volatile("");
}

__attribute__((noinline)) long rec(int d)
{
	if (d <= 1) {
		nap(2);
		return 1;
	}
	return rec(d - 1) + 1;
}

__attribute__((noinline)) void below(void)
{
	longjmp(env, 1);
}

__attribute__((noinline)) void leap(void)
{
	below();
	sink++; /* never reached */
}

__attribute__((noinline)) void empty(long i)
{
	sink = i;
	__asm__ volatile("");
}

int main(int argc, char **argv)
{
	char line[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (int a = 1; a + 1 < argc; a += 2) {
		long n = atol(argv[a + 1]);

		if (!strcmp(argv[a], "nap") && a + 2 < argc) {
			long ms = atol(argv[a + 2]);

			for (long i = 0; i < n; i++) {
				DTRACE_PROBE1(funcs, start, i);
				nap(ms);
				DTRACE_PROBE2(funcs, done, i, ms);
			}
			printf("nap %ld ", n);
			a++;
		} else if (!strcmp(argv[a], "malloc") && a + 2 < argc) {
			size_t sz = (size_t)atol(argv[a + 2]);

			for (long i = 0; i < n; i++) {
				char *p = malloc(sz);

				sink += (long)(p != NULL);
				free(p);
			}
			printf("malloc %ld ", n);
			a++;
		} else if (!strcmp(argv[a], "getppid")) {
			for (long i = 0; i < n; i++)
				sink += getppid();
			printf("getppid %ld ", n);
		} else if (!strcmp(argv[a], "recurse")) {
			printf("recurse %ld ", rec((int)n));
		} else if (!strcmp(argv[a], "jump")) {
			for (long i = 0; i < n; i++)
				if (!setjmp(env))
					leap();
			printf("jump %ld ", n);
		} else if (!strcmp(argv[a], "loop")) {
			for (long i = 0; i < n; i++)
				empty(i);
			printf("loop %ld ", n);
		} else if (!strcmp(argv[a], "strlen")) {
			for (long i = 0; i < n; i++)
				sink += (long)strlen_p(argv[a]);
			printf("strlen %ld ", n);
		} else if (!strcmp(argv[a], "query")) {
			long enabled = 0;

			for (long i = 0; i < n; i++) {
				if (funcs_query_semaphore) {
					enabled++;
					DTRACE_PROBE1(funcs, query, i * 10);
				}
			}
			printf("query %ld enabled %ld ", n, enabled);
		} else {
			fprintf(stderr, "funcs: unknown step %s\n", argv[a]);
			return 2;
		}
	}
	printf("\n");
	return 0;
}
