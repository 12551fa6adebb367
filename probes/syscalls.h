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

/*
 * --hist: rows of the histogram map "hists" (one per system call, or per
 * call and process with -P; 1 when --hist is off). A value is 520 bytes:
 * 0.5 MiB of kernel memory, 4 MiB with -P.
 */
#define SYSCALLS_HIST_ROWS 1024
#define SYSCALLS_HIST_ROWS_PID 8192

/* --slower: one call that took at least the threshold. hdr.ts: its return. */
struct syscalls_event {
	struct kt_rec_hdr hdr;
	__s64 ret;
	__u64 lat_ns;
	__u32 nr;
	__u32 pad;
};

/*
 * Without -P, one row per call number in a per-CPU array: no hash, no
 * atomic, no lock on the hot path. count, errors and total_ns only grow
 * (user space reports the difference since its last read); max_ns is the
 * maximum of the interval gen (syscalls_bss.gen), restarted by the first
 * call of a newer interval.
 */
struct syscalls_cpu_val {
	__u64 count;
	__u64 errors;
	__u64 total_ns;
	__u64 max_ns;
	__u64 gen;
};

/* Where a call is between sys_enter and sys_exit (per thread id). */
struct syscalls_start {
	__u64 ts;
	__u32 nr;
	__u32 pad;
};

#endif
