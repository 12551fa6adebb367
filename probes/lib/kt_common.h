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

/*
 * The common filters (pid, tid, uid, cgroup, comm), declared by a command
 * (kt_cmd.filters) and written by core into the BPF object's read-only
 * global "kt_filter" before load: commands never copy them. Every field's
 * zero value (uid: KT_ANY_UID) means "no filter".
 */
#define KT_ANY_UID 0xffffffffU
#define KT_CGROUP_MAX_DEPTH 16
/* Which filters (struct kt_cmd.filters; the mask of kt_filter_*_mask() in BPF) */
#define KT_F_PID (1U << 0)    /* -p/--pid PID: the process (thread group) */
#define KT_F_TID (1U << 1)    /* -t/--tid TID: the thread */
#define KT_F_UID (1U << 2)    /* -u/--uid UID or user name (the real uid) */
#define KT_F_CGROUP (1U << 3) /* --cgroup PATH: a cgroup-v2 directory or below */
#define KT_F_COMM (1U << 4)   /* -n/--name NAME: the command name contains NAME */
/* every filter on a task */
#define KT_F_ALL (KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM)
/* filters on a network flow (kt_filter_flow() in BPF) */
#define KT_F_FAMILY (1U << 5) /* -4/--ipv4, -6/--ipv6 */
#define KT_F_PORTS (1U << 6)  /* --lport PORT, --rport PORT */
#define KT_AF_INET 2
#define KT_AF_INET6 10
struct kt_filter_cfg {
	__u32 tgid;
	__u32 tid;
	__u32 uid;
	__u32 comm_len; /* bytes of comm to look for; 0: any command */
	__u64 cgroup_id; /* cgroup-v2 id: this cgroup or one below it */
	char comm[KT_TASK_COMM_LEN]; /* a part of the task's comm */
	__u16 family; /* KT_AF_INET or KT_AF_INET6; 0: both */
	__u16 lport;  /* host order; 0: any */
	__u16 rport;
	__u16 pad;
};

/* A log2 or linear histogram value in a BPF hash map. */
struct kt_slots {
	__u64 slots[KT_MAX_SLOTS];
};

#endif
