// SPDX-License-Identifier: GPL-2.0
/*
 * offcpu_waiter MODE MS [COUNT]: block off-CPU for MS milliseconds COUNT
 * times (default 1) in a known way, then exit. MODE: sleep (nanosleep), pipe
 * (read from a pipe a child writes to after MS), futex (FUTEX_WAIT with a
 * timeout). The system calls are made with an inline `syscall` instruction
 * from the kt_block_* functions themselves: glibc has no frame pointers, so
 * a stack taken inside a libc wrapper would lose its caller, while here the
 * innermost user frame is ours.
 */
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int futex_word;

static inline long raw_syscall4(long nr, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noinline)) void kt_block_sleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	raw_syscall4(SYS_nanosleep, (long)&ts, 0, 0, 0);
}

__attribute__((noinline)) void kt_block_pipe(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	int p[2];
	char c;
	pid_t k;

	if (pipe(p))
		exit(1);
	k = fork();
	if (k == 0) {
		nanosleep(&ts, NULL);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		_exit(0);
	}
	raw_syscall4(SYS_read, p[0], (long)&c, 1, 0);
	waitpid(k, NULL, 0);
	close(p[0]);
	close(p[1]);
}

__attribute__((noinline)) void kt_block_futex(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	raw_syscall4(SYS_futex, (long)&futex_word, FUTEX_WAIT_PRIVATE, 0, (long)&ts);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "sleep";
	long ms = argc > 2 ? atol(argv[2]) : 200;
	int n = argc > 3 ? atoi(argv[3]) : 1;

	for (int i = 0; i < n; i++) {
		if (!strcmp(mode, "sleep"))
			kt_block_sleep(ms);
		else if (!strcmp(mode, "pipe"))
			kt_block_pipe(ms);
		else if (!strcmp(mode, "futex"))
			kt_block_futex(ms);
		else
			return 2;
	}
	return 0;
}
