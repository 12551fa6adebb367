/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Histograms in user space: the slot layout shared with BPF (probes/lib/
 * kt_hist.bpf.h), inclusive bucket bounds and percentile estimates.
 *
 * log2: slot 0 holds 0 and 1, slot i >= 1 holds [2^i, 2^(i+1) - 1], as in
 * BCC, so text output lines up with what users know.
 * linear: slot i holds [min + i*step, min + (i+1)*step - 1].
 */
#ifndef KT_HIST_H
#define KT_HIST_H

#include <stdint.h>
#include <stddef.h>

#define KT_LOG2_SLOTS 64

enum kt_hist_kind { KT_HIST_LOG2, KT_HIST_LINEAR };

struct kt_hist {
	enum kt_hist_kind kind;
	uint64_t min, step; /* linear only */
	size_t n;	    /* number of slots */
	const uint64_t *slots;
};

unsigned kt_log2_slot(uint64_t v);
uint64_t kt_hist_slot_min(const struct kt_hist *h, size_t i);
uint64_t kt_hist_slot_max(const struct kt_hist *h, size_t i);
uint64_t kt_hist_total(const struct kt_hist *h);
/* Index of the last non-empty slot + 1 (0 when empty). */
size_t kt_hist_used(const struct kt_hist *h);
/*
 * Estimate of the p-th percentile (0 < p <= 100) assuming values spread
 * evenly within a bucket; returns -1 for an empty histogram. The estimate
 * lies inside the bucket it comes from: min <= v <= max (inclusive), so
 * floor(v) is a value of that bucket.
 */
double kt_hist_percentile(const struct kt_hist *h, double p);

#endif
