/* SPDX-License-Identifier: GPL-2.0 */
/* wq: types shared by probes/wq.bpf.c and cmd/wq.c. */
#ifndef KT_WQ_H
#define KT_WQ_H

#include "kt_common.h"

/* Bytes of a workqueue name kept (the kernel's WQ_NAME_LEN is 24 up to 6.8, 32 since). */
#define WQ_NAME_LEN 32

/* One row: the work function and the workqueue it was queued on ("" when not seen). */
struct wq_key {
	__u64 func;
	char wq[WQ_NAME_LEN];
};

struct wq_val {
	__u64 count;	   /* work items that finished running */
	__u64 run_ns;	   /* total run time */
	__u64 run_max_ns;
	__u64 queued;	   /* of those, how many were seen being queued */
	__u64 delay_ns;	   /* their total queueing delay */
	__u64 delay_max_ns;
	struct kt_slots run_slots;   /* log2 of the run time in the unit */
	struct kt_slots delay_slots; /* log2 of the queueing delay in the unit */
};

#endif
