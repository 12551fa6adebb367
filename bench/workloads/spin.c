// SPDX-License-Identifier: GPL-2.0
/*
 * spin: a CPU-bound loop; ops counts iterations. Sampling (`ktrace profile`)
 * interrupts it F times a second per CPU, and what the interrupt costs shows
 * up as fewer iterations per second. Frame pointers (built with them) make
 * its user stack walkable, as a profiled program's should be.
 */
#include "storm.h"

static __attribute__((noinline)) uint64_t work(uint64_t v)
{
	for (int i = 0; i < 1000; i++)
		v = v * 6364136223846793005ULL + 1442695040888963407ULL;
	return v;
}

int main(int argc, char **argv)
{
	struct storm s;
	uint64_t ops = 0, v = 1;

	if (storm_init(&s, argc, argv))
		return 2;
	s.interval_us = 0;
	do {
		v = work(v);
		ops++;
	} while (storm_more(&s, ops));
	storm_report(&s, ops);
	/* keep v alive */
	return v == 42;
}
