/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared by every BPF object and user space (fixed-width types only).
 */
#ifndef KT_COMMON_H
#define KT_COMMON_H

/* BPF gets the __u* types from vmlinux.h, user space from the uapi headers */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KT_TASK_COMM_LEN 16
#define KT_MAX_SLOTS 64

/* The header every stream record starts with. */
struct kt_rec_hdr {
	__u64 ts;   /* bpf_ktime_get_ns() */
	__u32 type; /* subcommand-defined record type */
	__u32 size; /* bytes of the whole record */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u32 cpu;
	__u32 uid;
	char comm[KT_TASK_COMM_LEN];
};

/* A log2 or linear histogram value in a BPF hash map. */
struct kt_slots {
	__u64 slots[KT_MAX_SLOTS];
};

#endif
