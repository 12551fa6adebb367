/* SPDX-License-Identifier: GPL-2.0 */
/* oom: types shared by probes/oom.bpf.c and cmd/oom.c. */
#ifndef KT_OOM_H
#define KT_OOM_H

#include "kt_common.h"

#define OOM_CG_DEPTH 12	  /* cgroup path components kept (leaf first) */
#define OOM_CG_NAME 64	  /* bytes of each component */
#define OOM_STACK_DEPTH 48 /* kernel frames of the triggering task */

/* oom_event.flags */
#define OOM_F_VICTIM (1U << 0)	 /* victim comm, uid and memory are known */
#define OOM_F_OC (1U << 1)	 /* from oom_kill_process: totalpages, constraint, memcg */
#define OOM_F_MEMCG (1U << 2)	 /* oc->memcg was set: a memory-cgroup OOM */
#define OOM_F_PGTABLES (1U << 3) /* pgtables_kb is set */
#define OOM_F_CG_TRUNC (1U << 4) /* the cgroup path is deeper than OOM_CG_DEPTH */
#define OOM_F_ADJ (1U << 5)	 /* oom_score_adj is set */
#define OOM_F_UID (1U << 6)	 /* victim_uid is set */

/* hdr: the triggering task (current when the OOM killer runs). */
struct oom_event {
	struct kt_rec_hdr hdr;
	__u32 victim_pid; /* tgid when known from the task, else the tracepoint's pid */
	__u32 victim_tid;
	__u32 victim_uid;
	__s16 oom_score_adj;
	__u8 flags;	 /* OOM_F_* */
	__u8 constraint; /* enum oom_constraint (with OOM_F_OC) */
	char victim_comm[KT_TASK_COMM_LEN];
	__u64 total_vm_kb;
	__u64 anon_rss_kb;
	__u64 file_rss_kb;
	__u64 shmem_rss_kb;
	__u64 pgtables_kb;
	__u64 totalpages; /* size of the OOM domain in pages (with OOM_F_OC) */
	__u32 ncg;	  /* cgroup path components in cg[] (leaf first) */
	__s32 nstack;	  /* bytes from bpf_get_stack(), or a negative errno */
	char cg[OOM_CG_DEPTH][OOM_CG_NAME];
	__u64 stack[OOM_STACK_DEPTH];
};

#endif
