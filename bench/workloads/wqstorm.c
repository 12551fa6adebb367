// SPDX-License-Identifier: GPL-2.0
/*
 * wqstorm: rewrite 64 KiB of $KTB_FILE (a file on a real disk), then sync(),
 * as fast as possible; ops counts the syncs. Each sync wakes the writeback
 * flusher (wb_workfn on the "writeback" workqueue), whose writes queue
 * block-layer and file-system work items: the events of `ktrace wq`.
 */
#include <fcntl.h>
#include <string.h>

#include "storm.h"

int main(int argc, char **argv)
{
	const char *path = getenv("KTB_FILE");
	static char buf[64 << 10];
	struct storm s;
	uint64_t ops = 0;
	int fd;

	if (!path || storm_init(&s, argc, argv))
		return 2;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror("wqstorm: open $KTB_FILE");
		return 1;
	}
	memset(buf, 'w', sizeof(buf));
	do {
		if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
			perror("wqstorm: write $KTB_FILE");
			return 1;
		}
		buf[ops % sizeof(buf)]++; /* new data each time: the pages are dirty again */
		sync();
		ops++;
	} while (storm_more(&s, 0)); /* 0: a sync is slow, read the clock after each */
	close(fd);
	storm_report(&s, ops);
	return 0;
}
