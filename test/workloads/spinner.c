// SPDX-License-Identifier: GPL-2.0
/*
 * spinner [SECONDS]: burn one CPU for SECONDS (default 1, fractions allowed)
 * in kt_spin_hot(), called through kt_spin_outer() from main(). Built with
 * frame pointers, so a profiler resolves its samples to these names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t sink;

__attribute__((noinline)) void kt_spin_hot(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		sink += i * 7 + (sink >> 3);
}

__attribute__((noinline)) void kt_spin_outer(double seconds)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		kt_spin_hot(2000000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
}

int main(int argc, char **argv)
{
	kt_spin_outer(argc > 1 ? atof(argv[1]) : 1.0);
	return 0;
}
