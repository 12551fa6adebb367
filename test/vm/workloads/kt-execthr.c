// SPDX-License-Identifier: GPL-2.0
/*
 * kt-execthr: execve() a program from a thread that is not the thread-group
 * leader.  The kernel then makes the calling thread the leader and the pid
 * stays the same; tools that key exec events by thread id lose or mislabel
 * such execs.
 *
 * usage: kt-execthr PROGRAM [ARG...]
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char **args;

static void *run(void *unused)
{
	(void)unused;
	execv(args[0], args);
	perror("kt-execthr: execv");
	_exit(127);
}

int main(int argc, char **argv)
{
	pthread_t t;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: kt-execthr PROGRAM [ARG...]\n");
		return 2;
	}
	args = argv + 1;
	err = pthread_create(&t, NULL, run, NULL);
	if (err) {
		fprintf(stderr, "kt-execthr: pthread_create: %s\n", strerror(err));
		return 1;
	}
	pthread_join(t, NULL); /* does not return: the exec replaces us */
	return 1;
}
