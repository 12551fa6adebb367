/* SPDX-License-Identifier: GPL-2.0 */
/* writeback: types shared by probes/writeback.bpf.c and cmd/writeback.c. */
#ifndef KT_WRITEBACK_H
#define KT_WRITEBACK_H

#include "kt_common.h"

#define WB_NAME_LEN 32 /* the tracepoints' bdi name: "MAJ:MIN" of the disk */

/* Dirty-page throttling of one process on one bdi. */
struct wb_throttle_key {
	__u32 pid; /* tgid */
	__u32 pad;
	char bdi[WB_NAME_LEN];
};

struct wb_throttle_val {
	__u64 count;	 /* pauses (balance_dirty_pages with pause > 0) */
	__u64 total_ms;	 /* pause time as the kernel planned it, in ms (jiffy resolution) */
	__u64 max_ms;
	__u64 dirty;	 /* dirty pages (global) at the latest pause */
	__u64 limit;	 /* the global dirty limit in pages at the latest pause */
	char comm[KT_TASK_COMM_LEN];
	struct kt_slots slots; /* log2 of the pause in ms */
};

/* Writeback work on one bdi for one reason. */
struct wb_work_key {
	char bdi[WB_NAME_LEN];
	__u32 reason; /* enum wb_reason, this kernel's numbering */
	__u32 pad;
};

struct wb_work_val {
	__u64 count; /* wb_writeback() runs: writeback_start to writeback_written */
	__u64 pages; /* written (the work's nr_pages went down by this much) */
	__u64 total_ns;
	__u64 max_ns;
};

/* A running wb_writeback() in a flusher thread. */
struct wb_start {
	__u64 ts;
	__s64 nr_pages;
};

#endif
