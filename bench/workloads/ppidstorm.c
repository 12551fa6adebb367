// SPDX-License-Identifier: GPL-2.0
/*
 * ppidstorm: getppid() as fast as possible, the cheapest system call there
 * is, so that what a syscall tracer adds to each call is most of its cost.
 * The raw system call: glibc does not cache getppid, but be explicit.
 */
#include <sys/syscall.h>

#include "storm.h"

int main(int argc, char **argv)
{
	struct storm s;
	uint64_t ops = 0;

	if (storm_init(&s, argc, argv))
		return 2;
	do {
		syscall(SYS_getppid);
		ops++;
	} while (storm_more(&s, ops));
	storm_report(&s, ops);
	return 0;
}
