// SPDX-License-Identifier: GPL-2.0
/*
 * kt-open: open each path given (read-only) and close it again, reporting
 * what happened.  Missing paths are expected: the open test checks that the
 * failure is reported with its errno. With KT_OPEN_LINGER=SECONDS in the
 * environment it stays that long afterwards (so /proc still shows its cwd).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);

		if (fd < 0) {
			printf("%s: %s\n", argv[i], strerror(errno));
			continue;
		}
		printf("%s: fd %d\n", argv[i], fd);
		close(fd);
	}
	fflush(stdout);
	if (getenv("KT_OPEN_LINGER"))
		sleep((unsigned)atoi(getenv("KT_OPEN_LINGER")));
	return 0;
}
