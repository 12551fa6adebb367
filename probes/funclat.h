/* SPDX-License-Identifier: GPL-2.0 */
/* funclat: types shared by probes/funclat.bpf.c and cmd/funclat.c. */
#ifndef KT_FUNCLAT_H
#define KT_FUNCLAT_H

#include "kt_common.h"

/* Calls in flight per thread (recursion); deeper ones are not timed (counted). */
#define FUNCLAT_DEPTH 8
/* Arguments kept per call for --slower. */
#define FUNCLAT_ARGS 4

/* One call in flight. */
struct funclat_frame {
	__u64 ts;
	__u64 sp; /* stack pointer at entry: pairs the return (uprobes) */
	__u64 args[FUNCLAT_ARGS];
};

/* Per thread (LRU map keyed by tid). */
struct funclat_thread {
	__u32 depth;   /* frames in f[] */
	__u32 skipped; /* entries deeper than FUNCLAT_DEPTH, not timed (kernel: LIFO) */
	struct funclat_frame f[FUNCLAT_DEPTH];
};

/* Indexes of the per-CPU counters "counts". */
enum funclat_count {
	FUNCLAT_CALLS = 0,     /* entries seen (after the filters) */
	FUNCLAT_TOO_DEEP = 1,  /* entries not timed: recursion deeper than FUNCLAT_DEPTH */
	FUNCLAT_NO_RETURN = 2, /* timed entries whose return never came (longjmp, exception) */
	FUNCLAT_MISSES = 3,    /* the per-thread table was full */
	FUNCLAT_NCOUNTS = 4,
};

/* --slower: one call slower than the threshold. */
struct funclat_event {
	struct kt_rec_hdr hdr;
	__u64 lat_ns;
	__u64 args[FUNCLAT_ARGS];
	__u32 depth; /* 1: outermost call in flight */
	__u32 pad;
};

#endif
