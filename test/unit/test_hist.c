// SPDX-License-Identifier: GPL-2.0
/* Histogram slot math and percentile estimates. */
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "hist.h"
#include "kt_test.h"
#include "output.h"

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
	CHECK(fabs(p - 127) < 0.01, "p100=%f (the bucket's inclusive max, not 128)", p);
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

static double down(double v)
{
	return (double)(uint64_t)v;
}

/* The bucket of a log2 histogram whose inclusive bounds contain v. */
static size_t bucket_of(const struct kt_hist *h, double v)
{
	for (size_t i = 0; i < h->n; i++)
		if (v >= (double)kt_hist_slot_min(h, i) && v <= (double)kt_hist_slot_max(h, i))
			return i;
	return SIZE_MAX;
}

/* "p50 ~ N" etc. of a histogram rendered as text. */
static void printed(const struct kt_hist *h, const char *unit, double pv[3])
{
	char path[] = "/tmp/kt_test_hist_XXXXXX", *text, *line;
	int fd = mkstemp(path);
	struct kt_out_opts o = { .path = path };
	struct kt_out *out = NULL;

	pv[0] = pv[1] = pv[2] = -1;
	if (fd < 0)
		return;
	close(fd);
	CHECK(kt_out_open(&out, &o) == 0, "open %s", path);
	if (out) {
		kt_out_hist(out, unit, NULL, 0, h, 0, 0);
		kt_out_close(out, false);
	}
	text = kt_test_slurp(path);
	line = text ? strstr(text, "\ncount ") : NULL;
	CHECK(line && sscanf(line + 1, "count %*u, p50 ~ %lf, p90 ~ %lf, p99 ~ %lf", &pv[0], &pv[1],
			     &pv[2]) == 3,
	      "percentile line in:\n%s", text ? text : "(null)");
	free(text);
	unlink(path);
}

/*
 * Percentiles lie inside the bucket they come from, as estimated and as
 * printed, and a histogram of the same samples in ms agrees with the one
 * in µs: the ms value printed is one that a value of the µs estimate's
 * bucket has in ms. (Rounding 1.9 up to "2" put it outside bucket [0, 1].)
 */
static void percentiles_in_bucket(void)
{
	uint64_t us[KT_LOG2_SLOTS] = { 0 }, ms[KT_LOG2_SLOTS] = { 0 };
	struct kt_hist hu = { .kind = KT_HIST_LOG2, .n = KT_LOG2_SLOTS, .slots = us };
	struct kt_hist hm = { .kind = KT_HIST_LOG2, .n = KT_LOG2_SLOTS, .slots = ms };
	static const double ps[3] = { 50, 90, 99 };
	double pu[3], pm[3];

	/* samples from 1.1 ms to 1.9 ms (all in ms bucket [0, 1]), and a few of 9.5 ms */
	for (uint64_t v = 1100; v < 1900; v += 10) {
		us[kt_log2_slot(v)]++;
		ms[kt_log2_slot(v / 1000)]++;
	}
	for (int i = 0; i < 5; i++) {
		us[kt_log2_slot(9500)]++;
		ms[kt_log2_slot(9)]++;
	}
	for (int i = 0; i < 3; i++) {
		double vu = kt_hist_percentile(&hu, ps[i]), vm = kt_hist_percentile(&hm, ps[i]);
		size_t bu = bucket_of(&hu, down(vu)), bm = bucket_of(&hm, down(vm));

		CHECK(bu < hu.n && us[bu], "p%.0f = %f us lies in a used bucket", ps[i], vu);
		CHECK(bm < hm.n && ms[bm], "p%.0f = %f ms lies in a used bucket", ps[i], vm);
		CHECK(vu <= (double)kt_hist_slot_max(&hu, bu), "p%.0f us <= max", ps[i]);
		CHECK(vm <= (double)kt_hist_slot_max(&hm, bm), "p%.0f ms <= max", ps[i]);
	}
	printed(&hu, "usecs", pu);
	printed(&hm, "msecs", pm);
	for (int i = 0; i < 3; i++) {
		size_t bu = bucket_of(&hu, pu[i]), bm = bucket_of(&hm, pm[i]);

		CHECK(bu < hu.n && us[bu], "printed p%.0f = %.0f usecs is in a used bucket", ps[i], pu[i]);
		CHECK(bm < hm.n && ms[bm], "printed p%.0f = %.0f msecs is in a used bucket", ps[i], pm[i]);
		/* agreement: the ms value is what some µs value of pu's bucket reads in ms */
		CHECK(bu < hu.n && pm[i] >= down((double)kt_hist_slot_min(&hu, bu) / 1000) &&
			      pm[i] <= down((double)kt_hist_slot_max(&hu, bu) / 1000),
		      "p%.0f: %.0f msecs agrees with %.0f usecs", ps[i], pm[i], pu[i]);
	}
	/* one sample of 1: [0, 1] holds it, and every percentile prints as 1 at most */
	memset(us, 0, sizeof(us));
	us[0] = 1;
	printed(&hu, "usecs", pu);
	CHECK(pu[0] <= 1 && pu[2] <= 1, "single-bucket percentiles stay in [0, 1]: %.0f %.0f", pu[0],
	      pu[2]);
}

int main(void)
{
	slots();
	linear();
	percentiles();
	percentiles_in_bucket();
	return kt_test_done("test_hist");
}
