// SPDX-License-Identifier: GPL-2.0
/*
 * sysmix: a known mix of system calls for the syscalls tests.
 *   sysmix N M PATH [S MS]
 *     waits for a line on stdin, then calls getppid() N times and
 *     openat(PATH) M times (PATH must not exist: each fails with ENOENT),
 *     then a second thread sleeps S times MS milliseconds (clock_nanosleep);
 *     prints "getppid N openat M enoent K" and, with S, "sleeper TID".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long sleeps, sleep_ms;
static long sleeper_tid;

static void *sleeper(void *arg)
{
	struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000 };

	(void)arg;
	sleeper_tid = syscall(SYS_gettid);
	for (long i = 0; i < sleeps; i++)
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	char line[16];
	long n, m, enoent = 0;
	pthread_t t;

	if (argc != 4 && argc != 6) {
		fprintf(stderr, "usage: sysmix N M PATH [SLEEPS MS]\n");
		return 2;
	}
	n = atol(argv[1]);
	m = atol(argv[2]);
	if (argc == 6) {
		sleeps = atol(argv[4]);
		sleep_ms = atol(argv[5]);
	}
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid); /* no libc caching: one system call each */
	for (long i = 0; i < m; i++) {
		int fd = openat(AT_FDCWD, argv[3], O_RDONLY);

		if (fd >= 0)
			close(fd);
		else if (errno == ENOENT)
			enoent++;
	}
	printf("getppid %ld openat %ld enoent %ld\n", n, m, enoent);
	if (sleeps) {
		if (pthread_create(&t, NULL, sleeper, NULL) || pthread_join(t, NULL))
			return 1;
		printf("sleeper %ld\n", sleeper_tid);
	}
	return 0;
}
