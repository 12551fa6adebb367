// SPDX-License-Identifier: GPL-2.0
/* Histogram bucket bounds and percentile estimates (see hist.h). */
#include "hist.h"

unsigned kt_log2_slot(uint64_t v)
{
	return v > 1 ? 63 - (unsigned)__builtin_clzll(v) : 0;
}

uint64_t kt_hist_slot_min(const struct kt_hist *h, size_t i)
{
	if (h->kind == KT_HIST_LINEAR)
		return h->min + i * h->step;
	return i == 0 ? 0 : 1ULL << i;
}

uint64_t kt_hist_slot_max(const struct kt_hist *h, size_t i)
{
	if (h->kind == KT_HIST_LINEAR)
		return h->min + (i + 1) * h->step - 1;
	if (i == 0)
		return 1;
	if (i >= 63)
		return UINT64_MAX;
	return (1ULL << (i + 1)) - 1;
}

uint64_t kt_hist_total(const struct kt_hist *h)
{
	uint64_t t = 0;

	for (size_t i = 0; i < h->n; i++)
		t += h->slots[i];
	return t;
}

size_t kt_hist_used(const struct kt_hist *h)
{
	size_t n = h->n;

	while (n > 0 && h->slots[n - 1] == 0)
		n--;
	return n;
}

double kt_hist_percentile(const struct kt_hist *h, double p)
{
	uint64_t total = kt_hist_total(h);
	double rank, seen = 0, v;

	if (!total || p <= 0 || p > 100)
		return -1;
	/* The value below which p% of the samples fall, interpolated inside its bucket. */
	rank = total * p / 100.0;
	for (size_t i = 0; i < h->n; i++) {
		double c = (double)h->slots[i];
		double lo, hi;

		if (!c || seen + c < rank) {
			seen += c;
			continue;
		}
		lo = (double)kt_hist_slot_min(h, i);
		hi = (double)kt_hist_slot_max(h, i);
		/*
		 * Spread over [lo, hi + 1) but never past hi: the estimate stays
		 * inside the inclusive bucket it comes from, so printed with
		 * its fraction dropped it still names a value of that bucket.
		 */
		v = lo + (hi + 1 - lo) * ((rank - seen) / c);
		return v > hi ? hi : v;
	}
	return (double)kt_hist_slot_max(h, kt_hist_used(h) - 1);
}
