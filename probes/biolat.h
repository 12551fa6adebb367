/* SPDX-License-Identifier: GPL-2.0 */
/* biolat: types shared by probes/biolat.bpf.c and cmd/biolat.c. */
#ifndef KT_BIOLAT_H
#define KT_BIOLAT_H

#include "kt_common.h"

/* Histogram key: zero fields when that split (-D, -F) is off. */
struct biolat_key {
	__u32 dev;   /* kernel dev_t (major << 20 | minor) of the partition or disk */
	__u32 flags; /* rq->cmd_flags as the kernel has them: op in the low bits, REQ_* above */
};

#endif
