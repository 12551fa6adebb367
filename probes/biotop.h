/* SPDX-License-Identifier: GPL-2.0 */
/* biotop: types shared by probes/biotop.bpf.c and cmd/biotop.c. */
#ifndef KT_BIOTOP_H
#define KT_BIOTOP_H

#include "kt_common.h"

/* Rows the kernel-side table holds per interval (~10240 * 100 bytes, about 1 MiB). */
#define BIOTOP_MAX_ROWS 10240

/* One row: a process (as it submitted the request), a device and an operation. */
struct biotop_key {
	__u32 pid;
	__u32 dev; /* kernel dev_t (major << 20 | minor) of the partition or disk */
	__u32 op;  /* REQ_OP_*: rq->cmd_flags below the first flag bit */
	__u32 pad;
	char comm[KT_TASK_COMM_LEN];
};

struct biotop_val {
	__u64 ios;
	__u64 bytes;
	__u64 lat_ns; /* sum of issue -> completion over lat_n of the requests */
	__u64 lat_n;  /* requests whose issue was seen (see kt_blk_complete) */
};

#endif
