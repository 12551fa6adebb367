/* SPDX-License-Identifier: GPL-2.0 */
/* sched: types shared by probes/sched.bpf.c and cmd/sched.c. */
#ifndef KT_SCHED_H
#define KT_SCHED_H

#include "kt_common.h"

/* Rows the kernel-side tables hold between two reports (state the bound). */
#define SCHED_MAX_ROWS 16384
#define SCHED_MAX_CELLS 16384

/* One row: a thread (tid), or a process (tgid) with -P. */
struct sched_key {
	__u32 id;
};

struct sched_val {
	__u64 voluntary;   /* switched out while blocking (prev state not TASK_RUNNING) */
	__u64 involuntary; /* switched out while still runnable: preempted, or yielded */
	__u64 migrations;  /* moved to another CPU (sched_migrate_task, orig != dest) */
	__u64 oncpu_ns;	   /* on-CPU time of the slices that ended (switch-in to switch-out) */
	__u32 pid;	   /* tgid */
	__u32 pad;
	char comm[KT_TASK_COMM_LEN]; /* thread (process with -P) name at its latest event */
};

/* A cell of the CPU-to-CPU migration matrix (--matrix). */
struct sched_cell {
	__u32 from;
	__u32 to;
};

/* What runs on a CPU since when: the slice that its next switch-out ends. */
struct sched_running {
	__u64 ts;
	__u32 tid; /* 0: not known (running since before ktrace attached) */
	__u32 pad;
};

#endif
