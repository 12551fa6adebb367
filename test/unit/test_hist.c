// SPDX-License-Identifier: GPL-2.0
/* Histogram slot math and percentile estimates. */
#include <math.h>
#include <stdint.h>

#include "hist.h"
#include "kt_test.h"

static void slots(void)
{
	struct kt_hist h = { .kind = KT_HIST_LOG2, .n = KT_LOG2_SLOTS };

	CHECK(kt_log2_slot(0) == 0, "0");
	CHECK(kt_log2_slot(1) == 0, "1");
	CHECK(kt_log2_slot(2) == 1, "2");
	CHECK(kt_log2_slot(3) == 1, "3");
	CHECK(kt_log2_slot(4) == 2, "4");
	CHECK(kt_log2_slot(1023) == 9, "1023");
	CHECK(kt_log2_slot(1024) == 10, "1024");
	CHECK(kt_log2_slot(UINT64_MAX) == 63, "max");
	/* every value lands in a bucket whose inclusive bounds contain it */
	for (uint64_t v = 0; v < 100000; v += 7) {
		unsigned s = kt_log2_slot(v);

		CHECK(kt_hist_slot_min(&h, s) <= v && v <= kt_hist_slot_max(&h, s), "v=%llu slot=%u",
		      (unsigned long long)v, s);
	}
	CHECK(kt_hist_slot_min(&h, 0) == 0 && kt_hist_slot_max(&h, 0) == 1, "slot 0");
	CHECK(kt_hist_slot_min(&h, 5) == 32 && kt_hist_slot_max(&h, 5) == 63, "slot 5");
	CHECK(kt_hist_slot_max(&h, 63) == UINT64_MAX, "slot 63");
	/* buckets tile the range without gaps */
	for (size_t i = 1; i < 63; i++)
		CHECK(kt_hist_slot_min(&h, i) == kt_hist_slot_max(&h, i - 1) + 1, "gap at %zu", i);
}

static void linear(void)
{
	uint64_t s[4] = { 1, 2, 3, 4 };
	struct kt_hist h = { .kind = KT_HIST_LINEAR, .min = 100, .step = 10, .n = 4, .slots = s };

	CHECK(kt_hist_slot_min(&h, 0) == 100 && kt_hist_slot_max(&h, 0) == 109, "lin 0");
	CHECK(kt_hist_slot_min(&h, 3) == 130 && kt_hist_slot_max(&h, 3) == 139, "lin 3");
	CHECK(kt_hist_total(&h) == 10, "total");
}

static void percentiles(void)
{
	uint64_t s[KT_LOG2_SLOTS] = { 0 };
	struct kt_hist h = { .kind = KT_HIST_LOG2, .n = KT_LOG2_SLOTS, .slots = s };
	double p;

	CHECK(kt_hist_percentile(&h, 50) == -1, "empty");
	CHECK(kt_hist_used(&h) == 0, "empty used");
	/* 100 samples all in [64,127]: the median is halfway through the bucket */
	s[6] = 100;
	p = kt_hist_percentile(&h, 50);
	CHECK(fabs(p - 96) < 0.01, "p50=%f", p);
	p = kt_hist_percentile(&h, 100);
	CHECK(fabs(p - 128) < 0.01, "p100=%f", p);
	/* 90 fast, 10 slow: p50 among the fast, p99 among the slow */
	s[6] = 0;
	s[3] = 90;   /* 8..15 */
	s[10] = 10;  /* 1024..2047 */
	p = kt_hist_percentile(&h, 50);
	CHECK(p >= 8 && p <= 16, "p50=%f", p);
	p = kt_hist_percentile(&h, 90);
	CHECK(p >= 8 && p <= 16, "p90=%f", p);
	p = kt_hist_percentile(&h, 99);
	CHECK(p >= 1024 && p <= 2048, "p99=%f", p);
	CHECK(kt_hist_used(&h) == 11, "used=%zu", kt_hist_used(&h));
	CHECK(kt_hist_percentile(&h, 0) == -1 && kt_hist_percentile(&h, 101) == -1, "range");
	/* monotonic in p */
	for (double q = 1; q < 100; q += 1)
		CHECK(kt_hist_percentile(&h, q) <= kt_hist_percentile(&h, q + 1), "monotonic at %f", q);
}

int main(void)
{
	slots();
	linear();
	percentiles();
	return kt_test_done("test_hist");
}
