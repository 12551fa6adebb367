// SPDX-License-Identifier: GPL-2.0
/*
 * sysmix: a known mix of system calls for the syscalls tests.
 *   sysmix N M PATH   waits for a line on stdin, then calls getppid() N times
 *                     and openat(PATH) M times (PATH must not exist: each
 *                     fails with ENOENT); prints "getppid N openat M enoent K"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char line[16];
	long n, m, enoent = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: sysmix N M PATH\n");
		return 2;
	}
	n = atol(argv[1]);
	m = atol(argv[2]);
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
	return 0;
}
