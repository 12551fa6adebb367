// SPDX-License-Identifier: GPL-2.0
/*
 * execstorm: spawn $KTB_PROG (a copy of /bin/true under a marker name) and
 * wait for it, again and again; ops counts execs that succeeded and exited 0,
 * each one an event for `ktrace exec`.
 */
#include <spawn.h>
#include <sys/wait.h>

#include "storm.h"

extern char **environ;

int main(int argc, char **argv)
{
	const char *prog = getenv("KTB_PROG");
	struct storm s;
	uint64_t ops = 0;

	if (!prog || storm_init(&s, argc, argv))
		return 2;
	do {
		char *args[] = { (char *)prog, NULL };
		pid_t pid;
		int st, err;

		err = posix_spawn(&pid, prog, NULL, NULL, args, environ);
		if (err) {
			fprintf(stderr, "execstorm: spawn $KTB_PROG: error %d\n", err);
			return 1;
		}
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ops++;
	} while (s.interval_us ? storm_more(&s, ops) : storm_now() - s.start < s.secs);
	storm_report(&s, ops);
	return 0;
}
