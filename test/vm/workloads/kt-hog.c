// SPDX-License-Identifier: GPL-2.0
/*
 * kt-hog: allocate and touch memory, 1 MiB at a time, up to a limit in MiB
 * (default 4096), so that a memory cgroup limit makes the OOM killer pick it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	long limit = argc > 1 ? atol(argv[1]) : 4096;

	for (long i = 0; i < limit; i++) {
		char *p = malloc(1 << 20);

		if (!p) {
			fprintf(stderr, "kt-hog: malloc failed after %ld MiB\n", i);
			return 1;
		}
		memset(p, (int)i | 1, 1 << 20);
	}
	printf("kt-hog: allocated %ld MiB without being killed\n", limit);
	return 0;
}
