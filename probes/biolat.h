/* SPDX-License-Identifier: GPL-2.0 */
/* biolat: types shared by probes/biolat.bpf.c and cmd/biolat.c. */
#ifndef KT_BIOLAT_H
#define KT_BIOLAT_H

#include "kt_common.h"

/* Histogram key: zero fields when that split (-D, -F) is off. */
struct biolat_key {
	__u32 dev;   /* kernel dev_t (major << 20 | minor) of the partition or disk */
	__u32 flags; /* request op in the low byte, BIOLAT_F_* above it */
};

/* Request flags, normalised in BPF (their bit positions differ between kernels). */
#define BIOLAT_F_SYNC (1U << 8)
#define BIOLAT_F_META (1U << 9)
#define BIOLAT_F_PRIO (1U << 10)
#define BIOLAT_F_FUA (1U << 11)
#define BIOLAT_F_PREFLUSH (1U << 12)
#define BIOLAT_F_RAHEAD (1U << 13)
#define BIOLAT_F_BACKGROUND (1U << 14)
#define BIOLAT_F_NOWAIT (1U << 15)

#endif
