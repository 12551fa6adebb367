// SPDX-License-Identifier: GPL-2.0
/*
 * fsstorm: a small-file metadata storm on $KTB_PATH's file system, as fast
 * as possible: create "$KTB_PATH.new" (open O_CREAT, a 16-byte write,
 * close), rename it to "$KTB_PATH.tmp", unlink that. ops counts the
 * file-system calls an fs tracer reports by that name: open (a create),
 * write, rename and unlink, 4 per file (close is not one of them).
 */
#include <fcntl.h>
#include <stdio.h>

#include "storm.h"

int main(int argc, char **argv)
{
	const char *path = getenv("KTB_PATH");
	char a[4096], b[4096];
	struct storm s;
	uint64_t ops = 0;

	if (!path || storm_init(&s, argc, argv))
		return 2;
	snprintf(a, sizeof(a), "%s.new", path);
	snprintf(b, sizeof(b), "%s.tmp", path);
	do {
		int fd = open(a, O_CREAT | O_WRONLY | O_TRUNC, 0644);

		if (fd < 0 || write(fd, "0123456789abcdef", 16) != 16) {
			perror("fsstorm: create $KTB_PATH.new");
			return 1;
		}
		close(fd);
		if (rename(a, b) || unlink(b)) {
			perror("fsstorm: rename/unlink");
			return 1;
		}
		ops += 4;
	} while (storm_more(&s, ops));
	storm_report(&s, ops);
	return 0;
}
