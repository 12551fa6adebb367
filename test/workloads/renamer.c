// SPDX-License-Identifier: GPL-2.0
/*
 * renamer SECONDS NAME: burn one CPU for SECONDS, renaming itself to NAME
 * (prctl PR_SET_NAME) halfway, so that a tool keyed by pid sees one process
 * under two names.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

static volatile uint64_t sink;

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void spin_until(const struct timespec *t0, double seconds)
{
	while (since(t0) < seconds)
		for (int i = 0; i < 100000; i++)
			sink += (uint64_t)i * 7 + (sink >> 3);
}

int main(int argc, char **argv)
{
	struct timespec t0;
	double seconds;

	if (argc != 3) {
		fprintf(stderr, "usage: renamer SECONDS NAME\n");
		return 2;
	}
	seconds = atof(argv[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	spin_until(&t0, seconds / 2);
	if (prctl(PR_SET_NAME, argv[2], 0, 0, 0)) {
		perror("renamer: prctl(PR_SET_NAME)");
		return 1;
	}
	spin_until(&t0, seconds);
	return 0;
}
