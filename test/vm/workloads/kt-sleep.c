// SPDX-License-Identifier: GPL-2.0
/*
 * kt-sleep: block many times for a short while (default: 50 sleeps of 20 ms)
 * so that offcpu sees this task leave the CPU.
 *
 * usage: kt-sleep [COUNT [MSEC]]
 */
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) static void kt_sleep_once(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 50, ms = argc > 2 ? atol(argv[2]) : 20;

	for (long i = 0; i < n; i++)
		kt_sleep_once(ms);
	return 0;
}
