// SPDX-License-Identifier: GPL-2.0
/*
 * kt-fsw DIR N: in DIR (by relative paths, after chdir), N times: create
 * "kt-fswNNN" with a 16-byte write and an fsync, rename it to "kt-fsxNNN",
 * unlink that; then mkdir and rmdir "kt-fsdir". With "trunc" as a third
 * argument, then: create "kt-trunc" with one byte, open it again with
 * O_TRUNC (which truncates it through notify_change inside the open: a
 * setattr only the VFS layer sees) and unlink it. For the fs commands'
 * guest tests, which count these by name.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char a[32], b[32];
	int n;

	if (argc < 3 || argc > 4 || chdir(argv[1]))
		return 2;
	n = atoi(argv[2]);
	for (int i = 0; i < n; i++) {
		int fd;

		snprintf(a, sizeof(a), "kt-fsw%03d", i);
		snprintf(b, sizeof(b), "kt-fsx%03d", i);
		fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0 || write(fd, "0123456789abcdef", 16) != 16 || fsync(fd) || close(fd))
			return 1;
		if (rename(a, b) || unlink(b))
			return 1;
	}
	if (mkdir("kt-fsdir", 0755) || rmdir("kt-fsdir"))
		return 1;
	if (argc == 4) {
		int fd = open("kt-trunc", O_CREAT | O_EXCL | O_WRONLY, 0644);

		if (fd < 0 || write(fd, "x", 1) != 1 || close(fd))
			return 1;
		fd = open("kt-trunc", O_WRONLY | O_TRUNC);
		if (fd < 0 || close(fd) || unlink("kt-trunc"))
			return 1;
	}
	printf("ok\n");
	return 0;
}
