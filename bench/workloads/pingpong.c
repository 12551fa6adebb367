// SPDX-License-Identifier: GPL-2.0
/*
 * pingpong: two processes pass one byte back and forth through two pipes;
 * every round trip is two wake-ups and at least two context switches (the
 * hot path of `ktrace runqlat` and `ktrace offcpu`). ops counts round trips.
 */
#include <signal.h>
#include <sys/wait.h>

#include "storm.h"

int main(int argc, char **argv)
{
	int ping[2], pong[2];
	struct storm s;
	uint64_t ops = 0;
	char c = 0;
	pid_t child;

	if (storm_init(&s, argc, argv))
		return 2;
	if (pipe(ping) || pipe(pong)) {
		perror("pingpong: pipe");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("pingpong: fork");
		return 1;
	}
	if (child == 0) {
		/* echo until the parent closes its end (ours must be closed for EOF) */
		close(ping[1]);
		close(pong[0]);
		while (read(ping[0], &c, 1) == 1)
			if (write(pong[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	close(ping[0]);
	close(pong[1]);
	do {
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) {
			perror("pingpong: pipe i/o");
			kill(child, SIGKILL);
			return 1;
		}
		ops++;
	} while (storm_more(&s, ops));
	close(ping[1]);
	waitpid(child, NULL, 0);
	storm_report(&s, ops);
	return 0;
}
