/* SPDX-License-Identifier: GPL-2.0 */
/* biosnoop: types shared by probes/biosnoop.bpf.c and cmd/biosnoop.c. */
#ifndef KT_BIOSNOOP_H
#define KT_BIOSNOOP_H

#include "kt_common.h"

/* biosnoop_event.flags */
#define BS_F_QUEUED (1U << 0) /* queue_ns is set: the request was seen at insert */

/*
 * One completed request. hdr.ts is the completion; hdr.pid/tid/uid/comm are
 * the task that inserted (or directly issued) the request, not the one
 * running at completion.
 */
struct biosnoop_event {
	struct kt_rec_hdr hdr;
	__u64 sector;
	__u64 queue_ns; /* insert -> issue */
	__u64 lat_ns;	/* issue -> complete */
	__u32 bytes;
	__u32 dev;	 /* kernel dev_t (major << 20 | minor) of the partition or disk */
	__u32 cmd_flags; /* rq->cmd_flags as the kernel has them: op in the low bits */
	__u32 flags;	 /* BS_F_* */
};

#endif
