/* SPDX-License-Identifier: GPL-2.0 */
/* offcpu: types shared by probes/offcpu.bpf.c and cmd/offcpu.c. */
#ifndef KT_OFFCPU_H
#define KT_OFFCPU_H

#include "kt_common.h"
#include "kt_stacks.bpf.h"

/* What the blocked time is summed under. */
struct offcpu_key {
	__u32 tgid;
	__u32 tid;
	__s64 kstack; /* stack id, or a negative errno when not captured */
	__s64 ustack;
	char comm[KT_TASK_COMM_LEN];
};

struct offcpu_val {
	__u64 total_ns;
	__u64 count;
};

/*
 * --unwind dwarf: a task with a user stack that blocks is streamed at once
 * with its user registers and stack copy (OFFCPU_REC_OUT: it is current
 * then, and its user stack is unchanged until it runs again); when it runs
 * again after a block within -m/-M, OFFCPU_REC_IN says for how long. User
 * space pairs the two by thread id.
 */
#define OFFCPU_REC_OUT 1
#define OFFCPU_REC_IN  2
#define OFFCPU_USTACK_STREAMED (-1000) /* offcpu_key.ustack: the stack went to user space */

struct offcpu_out {
	struct kt_rec_hdr hdr; /* the task that blocks */
	__s64 kstack;
	struct kt_ustack u;
	__u8 data[]; /* u.len bytes */
};

struct offcpu_in {
	struct kt_rec_hdr hdr; /* pid, tid, comm: the task that runs again */
	__u64 delta_ns;
};

/* --state: any state */
#define OFFCPU_ANY_STATE 0xffffffffU

#endif
