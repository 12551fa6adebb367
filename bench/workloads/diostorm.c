// SPDX-License-Identifier: GPL-2.0
/*
 * diostorm: 4 KiB O_DIRECT reads at scattered offsets of $KTB_FILE (a file
 * filled with data, so every read reaches the disk and is one block request
 * for `ktrace biolat`). ops counts reads.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <fcntl.h>
#include <sys/stat.h>

#include "storm.h"

#define BLK 4096

int main(int argc, char **argv)
{
	const char *path = getenv("KTB_FILE");
	struct storm s;
	struct stat st;
	uint64_t ops = 0, nblk, x = 88172645463325252ULL;
	void *buf;
	int fd;

	if (!path || storm_init(&s, argc, argv))
		return 2;
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0 || fstat(fd, &st) || st.st_size < BLK) {
		perror("diostorm: open $KTB_FILE with O_DIRECT");
		return 1;
	}
	nblk = (uint64_t)st.st_size / BLK;
	if (posix_memalign(&buf, BLK, BLK))
		return 1;
	do {
		/* xorshift: scattered offsets defeat any read-ahead in the device */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (pread(fd, buf, BLK, (off_t)((x % nblk) * BLK)) != BLK) {
			perror("diostorm: pread");
			return 1;
		}
		ops++;
	} while (s.interval_us ? storm_more(&s, ops) : storm_now() - s.start < s.secs);
	storm_report(&s, ops);
	return 0;
}
