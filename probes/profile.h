/* SPDX-License-Identifier: GPL-2.0 */
/* profile: types shared by probes/profile.bpf.c and cmd/profile.c. */
#ifndef KT_PROFILE_H
#define KT_PROFILE_H

#include "kt_common.h"
#include "kt_stacks.bpf.h"

struct profile_key {
	__u32 tgid;
	__u32 pad;
	__s64 kstack; /* stack id, or a negative errno when not captured */
	__s64 ustack;
	char comm[KT_TASK_COMM_LEN];
};

/*
 * --unwind dwarf: a sample of a task with a user stack is not counted in
 * the kernel but streamed with its user registers and stack copy (see
 * struct kt_ustack), sized to what was copied.
 */
#define PROFILE_REC_USTACK 1

struct profile_ustack {
	struct kt_rec_hdr hdr;
	__s64 kstack; /* kernel stack id, or a negative errno */
	struct kt_ustack u;
	__u8 data[]; /* u.len bytes */
};

#endif
