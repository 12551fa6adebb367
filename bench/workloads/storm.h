/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every storm shares: "NAME SECS [INTERVAL_US]" on the command line,
 * a monotonic clock, and one line "ops=N secs=S" on stdout at the end, which
 * the runner turns into a rate. With INTERVAL_US the storm becomes a gentle
 * marker (one operation per interval) for the start-up measurement.
 */
#ifndef KTB_STORM_H
#define KTB_STORM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct storm {
	double secs;
	unsigned int interval_us;
	double start;
};

static inline double storm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int storm_init(struct storm *s, int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s SECS [INTERVAL_US]\n", argv[0]);
		return -1;
	}
	s->secs = strtod(argv[1], NULL);
	s->interval_us = argc == 3 ? (unsigned int)strtoul(argv[2], NULL, 10) : 0;
	s->start = storm_now();
	return s->secs > 0 ? 0 : -1;
}

/* Called after each operation; true while the storm should go on. */
static inline int storm_more(struct storm *s, uint64_t ops)
{
	if (s->interval_us) {
		usleep(s->interval_us);
		return storm_now() - s->start < s->secs;
	}
	/* reading the vDSO clock each time would be part of what we measure */
	if (ops & 63)
		return 1;
	return storm_now() - s->start < s->secs;
}

static inline void storm_report(struct storm *s, uint64_t ops)
{
	printf("ops=%llu secs=%.6f\n", (unsigned long long)ops, storm_now() - s->start);
	fflush(stdout);
}

#endif
