// SPDX-License-Identifier: GPL-2.0
/*
 * opens: open files in the ways the open tests need.
 *   opens at PATH          openat(AT_FDCWD, PATH, O_RDONLY)
 *   opens at2 PATH         openat2(AT_FDCWD, PATH, {O_RDONLY})
 *   opens creat PATH       openat2(AT_FDCWD, PATH, {O_CREAT|O_WRONLY|O_CLOEXEC, 0640})
 *   opens sysopen PATH     open(PATH, O_RDONLY) through the open syscall (where it exists)
 *   opens syscreat PATH    creat(PATH, 0600) through the creat syscall (where it exists)
 *   opens dirfd DIR REL    openat(open(DIR), REL), then waits for a line on stdin
 *   opens storm THREADS SECONDS PATH
 *                          waits for a line on stdin, then THREADS threads
 *                          openat+close PATH for SECONDS; prints "opens N" (every
 *                          openat call it made, failed or not)
 *   opens distinct N PREFIX
 *                          openat PREFIX0 .. PREFIX<N-1> (N distinct paths, which
 *                          fail when they do not exist), pausing 1 ms every 500
 *                          opens so that a reader can keep up; prints "opens N"
 * Each single open prints "fd N errno E".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *storm_path;
static double storm_secs;
static atomic_ulong storm_opens;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *storm(void *arg)
{
	double end = now() + storm_secs;
	unsigned long n = 0;

	(void)arg;
	while (now() < end) {
		for (int i = 0; i < 64; i++) {
			int fd = openat(AT_FDCWD, storm_path, O_RDONLY);

			n++;
			if (fd >= 0)
				close(fd);
		}
	}
	atomic_fetch_add(&storm_opens, n);
	return NULL;
}

static void wait_line(void)
{
	char buf[64];

	if (!fgets(buf, sizeof(buf), stdin))
		return;
}

static void report(long fd)
{
	printf("fd %ld errno %d\n", fd, fd < 0 ? errno : 0);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "at")) {
		report(openat(AT_FDCWD, argv[2], O_RDONLY));
	} else if (argc >= 3 && (!strcmp(argv[1], "at2") || !strcmp(argv[1], "creat"))) {
		struct open_how how = { .flags = O_RDONLY };

		if (!strcmp(argv[1], "creat"))
			how = (struct open_how){ .flags = O_CREAT | O_WRONLY | O_CLOEXEC, .mode = 0640 };
		report(syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how)));
#ifdef SYS_open
	} else if (argc >= 3 && !strcmp(argv[1], "sysopen")) {
		report(syscall(SYS_open, argv[2], O_RDONLY));
	} else if (argc >= 3 && !strcmp(argv[1], "syscreat")) {
		report(syscall(SYS_creat, argv[2], 0600));
#endif
	} else if (argc >= 4 && !strcmp(argv[1], "dirfd")) {
		int dfd = open(argv[2], O_RDONLY | O_DIRECTORY);

		if (dfd < 0) {
			perror(argv[2]);
			return 1;
		}
		report(openat(dfd, argv[3], O_RDONLY));
		wait_line();
	} else if (argc >= 4 && !strcmp(argv[1], "distinct")) {
		long n = atol(argv[2]);
		char path[4096];

		for (long i = 0; i < n; i++) {
			int fd;

			snprintf(path, sizeof(path), "%s%ld", argv[3], i);
			fd = openat(AT_FDCWD, path, O_RDONLY);
			if (fd >= 0)
				close(fd);
			if (i % 500 == 499)
				usleep(1000);
		}
		printf("opens %ld\n", n);
		fflush(stdout);
	} else if (argc >= 5 && !strcmp(argv[1], "storm")) {
		int n = atoi(argv[2]);
		pthread_t t[64];

		if (n < 1 || n > 64)
			return 2;
		storm_secs = atof(argv[3]);
		storm_path = argv[4];
		printf("ready\n");
		fflush(stdout);
		wait_line();
		for (int i = 0; i < n; i++)
			pthread_create(&t[i], NULL, storm, NULL);
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		printf("opens %lu\n", (unsigned long)atomic_load(&storm_opens));
		fflush(stdout);
	} else {
		fprintf(stderr, "usage: see the comment at the top of opens.c\n");
		return 2;
	}
	return 0;
}
