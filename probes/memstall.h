/* SPDX-License-Identifier: GPL-2.0 */
/* memstall: types shared by probes/memstall.bpf.c and cmd/memstall.c. */
#ifndef KT_MEMSTALL_H
#define KT_MEMSTALL_H

#include "kt_common.h"

/* What a task was stalled in. */
enum memstall_kind {
	MS_DIRECT = 0,	/* direct reclaim: the allocating task frees memory itself */
	MS_MEMCG = 1,	/* memory-cgroup reclaim: over memory.max/high (v2) or limit_in_bytes (v1) */
	MS_COMPACT = 2, /* compaction (direct, or kcompactd's own) */
	MS_KINDS = 3,
};

/* In-flight stall: thread and kind (a memcg reclaim may run inside a direct one). */
struct memstall_start_key {
	__u32 tid;
	__u32 kind;
};

struct memstall_start {
	__u64 ts;
	__s32 order; /* allocation order of a reclaim; -1 for compaction */
	__u32 pad;
};

/* One row of the summary: a process, a kind and the task's memory cgroup. */
struct memstall_key {
	__u32 pid; /* tgid */
	__u32 kind;
	__u64 memcg; /* kernfs id of the task's memory cgroup (its inode); 0: none */
};

struct memstall_val {
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	__u64 pages; /* reclaimed (nr_reclaimed); 0 for compaction */
	char comm[KT_TASK_COMM_LEN]; /* the process's name at its latest stall */
	struct kt_slots slots; /* log2 of the stall in microseconds */
};

/* --slower: one stall. hdr is the task at the end of the stall. */
struct memstall_event {
	struct kt_rec_hdr hdr;
	__u64 delta_ns;
	__u64 pages;
	__u64 memcg;
	__u32 kind;
	__s32 order;
};

#endif
