// SPDX-License-Identifier: GPL-2.0
/*
 * kt-ppid: a known number of system calls for the syscalls guest test:
 * N getppid() (raw, no libc cache), then S clock_nanosleep() of MS
 * milliseconds each. Prints "tid TID".
 *
 * usage: kt-ppid N [S MS]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 5000;
	long s = argc > 2 ? atol(argv[2]) : 0, ms = argc > 3 ? atol(argv[3]) : 50;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	for (long i = 0; i < s; i++)
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	printf("tid %ld\n", (long)syscall(SYS_gettid));
	return 0;
}
