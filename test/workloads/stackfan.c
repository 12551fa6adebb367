// SPDX-License-Identifier: GPL-2.0
/*
 * stackfan N: blocks off-CPU N times (a 1 us nanosleep), each time under a
 * different user stack: the binary digits of i (0 <= i < N) choose, level by
 * level, between kt_fan0() and kt_fan1() for KT_FAN_LEVELS levels, so N up
 * to 2^KT_FAN_LEVELS gives N distinct stacks. The system call is made inline from kt_fan_leaf()
 * (glibc has no frame pointers). Prints "stacks N" at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>

#define KT_FAN_LEVELS 16

static inline long raw_syscall2(long nr, long a, long b)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noinline)) void kt_fan_leaf(void)
{
	struct timespec ts = { 0, 1000 };

	raw_syscall2(SYS_nanosleep, (long)&ts, 0);
}

void kt_fan0(long i, int level);
void kt_fan1(long i, int level);

static void next(long i, int level)
{
	if (level == KT_FAN_LEVELS)
		kt_fan_leaf();
	else if ((i >> level) & 1)
		kt_fan1(i, level + 1);
	else
		kt_fan0(i, level + 1);
}

__attribute__((noinline)) void kt_fan0(long i, int level)
{
	next(i, level);
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

__attribute__((noinline)) void kt_fan1(long i, int level)
{
	next(i, level);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;

	if (n > (1L << KT_FAN_LEVELS))
		return 2;
	for (long i = 0; i < n; i++)
		next(i, 0);
	printf("stacks %ld\n", n);
	return 0;
}
