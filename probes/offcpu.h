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

/* --state: any state */
#define OFFCPU_ANY_STATE 0xffffffffU

#endif
