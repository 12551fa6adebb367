// SPDX-License-Identifier: GPL-2.0
/*
 * callstorm: a tight loop of calls to an empty function, ktb_call(); ops
 * counts calls. `ktrace funclat callstorm:ktb_call` puts a uprobe and a
 * uretprobe on it, and what the two traps cost per call shows up as fewer
 * calls per second.
 */
#include "storm.h"

volatile uint64_t ktb_sink;

__attribute__((noinline)) void ktb_call(uint64_t v)
{
	ktb_sink = v;
	__asm__ volatile("");
}

int main(int argc, char **argv)
{
	struct storm s;
	uint64_t ops = 0;

	if (storm_init(&s, argc, argv))
		return 2;
	do {
		ktb_call(ops);
		ops++;
	} while (storm_more(&s, ops));
	storm_report(&s, ops);
	return 0;
}
