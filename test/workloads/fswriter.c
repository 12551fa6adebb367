// SPDX-License-Identifier: GPL-2.0
/*
 * fswriter DIR NFILES [HOSTILE]: a known mix of file-system calls in DIR, by
 * relative paths from it (chdir), for the fs commands' tests:
 *  - "data": 3 times a 64 KiB write then fsync (3 writes, 3 fsyncs);
 *  - NFILES times: create "fNNN" (open O_CREAT|O_EXCL, a 16-byte write,
 *    close), rename it to "gNNN", unlink "gNNN";
 *  - mkdir "sub", rmdir "sub"; chmod "data" (a setattr); stat "data";
 *  - with HOSTILE: create and unlink a file of that name.
 * It waits for a line on stdin before it starts (the test attaches first)
 * and prints "done" when it is finished.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "fswriter: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void create(const char *name, size_t n)
{
	static const char buf[65536];
	int fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0644);

	if (fd < 0)
		die(name);
	if (write(fd, buf, n) != (ssize_t)n)
		die("write");
	if (close(fd))
		die("close");
}

int main(int argc, char **argv)
{
	static char block[65536];
	char a[32], b[32], line[16];
	struct stat st;
	int fd, n;

	if (argc < 3)
		return 2;
	n = atoi(argv[2]);
	if (chdir(argv[1]))
		die(argv[1]);
	if (!fgets(line, sizeof(line), stdin))
		return 2;
	fd = open("data", O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0)
		die("data");
	for (int i = 0; i < 3; i++) {
		memset(block, 'a' + i, sizeof(block));
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			die("write data");
		if (fsync(fd))
			die("fsync");
	}
	close(fd);
	for (int i = 0; i < n; i++) {
		snprintf(a, sizeof(a), "f%03d", i);
		snprintf(b, sizeof(b), "g%03d", i);
		create(a, 16);
		if (rename(a, b))
			die("rename");
		if (unlink(b))
			die("unlink");
	}
	if (mkdir("sub", 0755) || rmdir("sub"))
		die("sub");
	if (chmod("data", 0600))
		die("chmod");
	if (stat("data", &st))
		die("stat");
	if (argc > 3) {
		create(argv[3], 1);
		if (unlink(argv[3]))
			die("unlink hostile");
	}
	printf("done\n");
	return 0;
}
