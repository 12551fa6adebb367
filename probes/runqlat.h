/* SPDX-License-Identifier: GPL-2.0 */
/* runqlat: types shared by probes/runqlat.bpf.c and cmd/runqlat.c. */
#ifndef KT_RUNQLAT_H
#define KT_RUNQLAT_H

#include "kt_common.h"

/* How histograms are split: one for all, per process, per thread, per PID namespace. */
enum runqlat_split {
	RUNQLAT_ALL = 0,
	RUNQLAT_PER_PROCESS = 1,
	RUNQLAT_PER_THREAD = 2,
	RUNQLAT_PER_PIDNS = 3,
};

/*
 * Histogram key: zero when the split is RUNQLAT_ALL. The name is not part of
 * it: a task that renames itself (prctl PR_SET_NAME) stays one histogram.
 */
struct runqlat_key {
	__u32 id; /* tgid, tid or PID namespace inode, by split */
};

struct runqlat_val {
	struct kt_slots slots;
	char comm[KT_TASK_COMM_LEN]; /* process (leader) or thread name at its latest wait */
};

#endif
