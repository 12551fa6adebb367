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
 * the kernel but streamed, with the user registers at the sample and a copy
 * of the top of the user stack, for user space to unwind with the binaries'
 * CFI (core/unwind.h). The record is sent sized to what was copied.
 */
#define PROFILE_REC_USTACK	 1
#define PROFILE_STACK_COPY_MIN	 512
#define PROFILE_STACK_COPY_MAX	 16384
#define PROFILE_STACK_COPY_DEF	 8192
#define PROFILE_NREGS		 17 /* x86-64 DWARF registers 0-16 (rax ... r15, rip) */

/* profile_ustack.flags */
#define PROFILE_USTACK_KERNEL_MODE 1 /* sampled in the kernel: regs are where it entered */
#define PROFILE_USTACK_NO_REGS	   2 /* no user registers (this kernel lacks bpf_task_pt_regs) */

struct profile_ustack {
	struct kt_rec_hdr hdr;
	__s64 kstack;		    /* kernel stack id, or a negative errno */
	__u64 regs[PROFILE_NREGS];  /* DWARF numbering: regs[7] is rsp, regs[16] the pc */
	__u32 len;		    /* bytes of stack copied from regs[7] up */
	__u32 flags;
	__u8 data[];		    /* len bytes */
};

#endif
