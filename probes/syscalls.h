/* SPDX-License-Identifier: GPL-2.0 */
/* syscalls: types shared by probes/syscalls.bpf.c and cmd/syscalls.c. */
#ifndef KT_SYSCALLS_H
#define KT_SYSCALLS_H

#include "kt_common.h"

/* System call numbers the --syscall set can name (x86_64 has ~460). */
#define SYSCALLS_MAX_NR 1024

/* One row: a system call, and the process when -P (pid 0 otherwise). */
struct syscalls_key {
	__u32 nr;
	__u32 pid;
};

struct syscalls_val {
	__u64 count;
	__u64 errors;	/* returned -1..-4095 */
	__u64 total_ns;
	__u64 max_ns;
	char comm[KT_TASK_COMM_LEN]; /* -P: the process's name at its latest call */
};

/* Where a call is between sys_enter and sys_exit (per thread id). */
struct syscalls_start {
	__u64 ts;
	__u32 nr;
	__u32 pad;
};

#endif
