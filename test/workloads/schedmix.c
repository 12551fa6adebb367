// SPDX-License-Identifier: GPL-2.0
/*
 * schedmix sleep COUNT MSEC | schedmix spin SECONDS: print "ready", wait for
 * a line on standard input, then sleep COUNT times MSEC milliseconds (COUNT
 * voluntary context switches at least) or burn the CPU for SECONDS of wall
 * time, print "done" and wait for another line (or end of input) before it
 * exits. Blocked in read() before and after its work, its own switch counts
 * (/proc/PID/status) and CPU time (/proc/PID/schedstat) can be read around
 * exactly the work.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile uint64_t sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wait_line(void)
{
	char line[64];

	if (!fgets(line, sizeof(line), stdin))
		return;
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "sleep") && strcmp(argv[1], "spin")) ||
	    (!strcmp(argv[1], "sleep") && argc < 4)) {
		fprintf(stderr, "usage: schedmix sleep COUNT MSEC | schedmix spin SECONDS\n");
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	wait_line();
	if (!strcmp(argv[1], "sleep")) {
		long n = atol(argv[2]), ms = atol(argv[3]);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		for (long i = 0; i < n; i++)
			nanosleep(&ts, NULL);
	} else {
		double end = now() + atof(argv[2]);

		while (now() < end)
			for (int i = 0; i < 100000; i++)
				sink += (uint64_t)i * 7 + (sink >> 3);
	}
	printf("done\n");
	fflush(stdout);
	wait_line();
	return 0;
}
