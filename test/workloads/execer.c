// SPDX-License-Identifier: GPL-2.0
/*
 * execer: exec a program in ways that trip up exec tracers.
 *   execer thread PATH [ARG...]   execve from a thread that is not the leader
 *   execer at PATH [ARG...]       execveat(AT_FDCWD, PATH, ...)
 *   execer atfd PATH [ARG...]     execveat(open(PATH), "", ..., AT_EMPTY_PATH)
 * argv[0] of the new image is PATH. On failure it prints the error and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static char **args;

static void *thread_exec(void *arg)
{
	(void)arg;
	printf("thread tid %ld of pid %d execs %s\n", (long)syscall(SYS_gettid), getpid(), args[0]);
	fflush(stdout);
	execve(args[0], args, environ);
	fprintf(stderr, "execve %s: %s\n", args[0], strerror(errno));
	_exit(1);
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc < 3) {
		fprintf(stderr, "usage: execer thread|at|atfd PATH [ARG...]\n");
		return 2;
	}
	args = argv + 2;
	if (!strcmp(argv[1], "thread")) {
		if (pthread_create(&t, NULL, thread_exec, NULL))
			return 1;
		/* the leader waits; the exec in the thread kills it */
		for (;;)
			pause();
	} else if (!strcmp(argv[1], "at")) {
		syscall(SYS_execveat, AT_FDCWD, args[0], args, environ, 0);
	} else if (!strcmp(argv[1], "atfd")) {
		int fd = open(args[0], O_PATH | O_CLOEXEC);

		if (fd < 0) {
			perror("open");
			return 1;
		}
		syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	fprintf(stderr, "execveat %s: %s\n", args[0], strerror(errno));
	return 1;
}
