// SPDX-License-Identifier: GPL-2.0
/* napper [COUNT [USECS]]: COUNT times (default 10) sleep USECS (default 1000). */
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10;
	long us = argc > 2 ? atol(argv[2]) : 1000;
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	for (int i = 0; i < n; i++)
		nanosleep(&ts, NULL);
	return 0;
}
