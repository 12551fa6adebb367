// SPDX-License-Identifier: GPL-2.0
/*
 * memhog MIB [HOLD_SECS]: allocates MIB mebibytes one at a time, writing
 * every page so that it is resident (anonymous RSS), prints "ready" and
 * then sleeps HOLD_SECS seconds (default 0). The oom test runs it twice in
 * a small memory cgroup: an idle victim, then a hog that invokes the OOM
 * killer. Allocation is paced so the OOM comes at a predictable point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB (1UL << 20)

int main(int argc, char **argv)
{
	long n, hold;

	if (argc < 2) {
		fprintf(stderr, "usage: %s MIB [HOLD_SECS]\n", argv[0]);
		return 2;
	}
	n = strtol(argv[1], NULL, 10);
	hold = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	for (long i = 0; i < n; i++) {
		/* mmap, not malloc: every mebibyte is its own anonymous mapping */
		char *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		memset(p, 0x5a, MIB);
		usleep(1000);
	}
	printf("ready %ld\n", n);
	fflush(stdout);
	if (hold > 0)
		sleep((unsigned)hold);
	return 0;
}
