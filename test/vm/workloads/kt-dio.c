// SPDX-License-Identifier: GPL-2.0
/*
 * kt-dio: read a block device with O_DIRECT so that every read reaches the
 * block layer (no page cache).  Used to provoke block I/O for biolat.
 *
 * usage: kt-dio DEVICE COUNT [BLOCKSIZE]     COUNT 0 = until killed
 *
 * Reads BLOCKSIZE (default 4096) bytes at pseudo-random aligned offsets in
 * the first 64 MiB of DEVICE (or all of it when smaller) and prints the
 * number of reads done.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	long count, bs = 4096, done = 0;
	unsigned long span, x = 12345;
	void *buf;
	off_t end;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: kt-dio DEVICE COUNT [BLOCKSIZE]\n");
		return 2;
	}
	count = atol(argv[2]);
	if (argc > 3)
		bs = atol(argv[3]);
	if (bs < 512 || bs % 512) {
		fprintf(stderr, "kt-dio: block size must be a multiple of 512\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "kt-dio: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (posix_memalign(&buf, 4096, (size_t)bs)) {
		fprintf(stderr, "kt-dio: out of memory\n");
		return 1;
	}
	span = 64UL << 20;
	end = lseek(fd, 0, SEEK_END);
	if (end > 0 && (unsigned long)end < span)
		span = (unsigned long)end;
	span /= (unsigned long)bs;
	if (!span) {
		fprintf(stderr, "kt-dio: %s is smaller than one block\n", argv[1]);
		return 1;
	}
	while (!stop && (count == 0 || done < count)) {
		off_t off;

		x = x * 6364136223846793005UL + 1442695040888963407UL;
		off = (off_t)((x >> 33) % span) * bs;
		if (pread(fd, buf, (size_t)bs, off) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "kt-dio: read %s at %lld: %s\n", argv[1],
				(long long)off, strerror(errno));
			return 1;
		}
		done++;
	}
	printf("%ld\n", done);
	return 0;
}
