// SPDX-License-Identifier: GPL-2.0
/*
 * kt-spin: burn CPU in user space for a number of seconds (default 2), so
 * that profile sees samples and, with two of them on one CPU, runqlat sees
 * run-queue waits.
 */
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* noinline so that the function shows up in sampled stacks */
__attribute__((noinline)) static unsigned long kt_spin_work(unsigned long x)
{
	for (int i = 0; i < 100000; i++)
		x = x * 2862933555777941757UL + 3037000493UL;
	return x;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0, end = now() + secs;
	volatile unsigned long sink = 1;

	while (now() < end)
		sink = kt_spin_work(sink);
	return 0;
}
