// SPDX-License-Identifier: GPL-2.0
/*
 * usdtstorm: a tight loop over a USDT probe, ktb:tick(ops); ops counts hits.
 * `ktrace usdt u:usdtstorm:ktb:tick` puts a uprobe on the probe's nop, and
 * what the trap costs per hit shows up as fewer iterations per second.
 */
#include <sys/sdt.h>

#include "storm.h"

int main(int argc, char **argv)
{
	struct storm s;
	uint64_t ops = 0;

	if (storm_init(&s, argc, argv))
		return 2;
	do {
		DTRACE_PROBE1(ktb, tick, ops);
		ops++;
	} while (storm_more(&s, ops));
	storm_report(&s, ops);
	return 0;
}
