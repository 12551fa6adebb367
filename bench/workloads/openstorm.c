// SPDX-License-Identifier: GPL-2.0
/*
 * openstorm: openat() and close() of $KTB_PATH as fast as possible; ops
 * counts successful opens (each one an event for `ktrace open`). The path
 * comes from the environment so that it is not in our own argv, where an
 * exec tracer would see it too.
 */
#include <fcntl.h>

#include "storm.h"

int main(int argc, char **argv)
{
	const char *path = getenv("KTB_PATH");
	struct storm s;
	uint64_t ops = 0;

	if (!path || storm_init(&s, argc, argv))
		return 2;
	do {
		int fd = openat(AT_FDCWD, path, O_RDONLY);

		if (fd < 0) {
			perror("openstorm: open $KTB_PATH");
			return 1;
		}
		close(fd);
		ops++;
	} while (storm_more(&s, ops));
	storm_report(&s, ops);
	return 0;
}
