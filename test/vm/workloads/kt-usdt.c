// SPDX-License-Identifier: GPL-2.0
/*
 * kt-usdt: USDT probes for the usdt guest test. N times: kt:start(i), a
 * sleep of MS milliseconds, kt:done(i); then N times kt:tick(i), an
 * is-enabled probe (semaphore). Prints "enabled E": the ticks fired.
 *
 * usage: kt-usdt [N [MS]]
 */
#define _SDT_HAS_SEMAPHORES 1
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>
#include <time.h>

unsigned short kt_start_semaphore __attribute__((section(".probes"))) __attribute__((used));
unsigned short kt_done_semaphore __attribute__((section(".probes"))) __attribute__((used));
unsigned short kt_tick_semaphore __attribute__((section(".probes"))) __attribute__((used));

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10, ms = argc > 2 ? atol(argv[2]) : 20, enabled = 0;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	for (long i = 0; i < n; i++) {
		DTRACE_PROBE1(kt, start, i);
		nanosleep(&ts, NULL);
		DTRACE_PROBE1(kt, done, i);
	}
	for (long i = 0; i < n; i++)
		if (kt_tick_semaphore) {
			enabled++;
			DTRACE_PROBE1(kt, tick, i);
		}
	printf("enabled %ld\n", enabled);
	return 0;
}
