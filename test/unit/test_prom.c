// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus exposition back end against a golden file
 * (test/unit/data/prom.golden): histograms cumulative across intervals in
 * base units, hostile label values, the cardinality cap and its other
 * series, table rows as counters (KT_COL_COUNT, KT_COL_LABEL), lost
 * counters, fed through kt_out like a command does; the same in OpenMetrics
 * (test/unit/data/prom_om.golden, for serve). When
 * promtool is installed, the same text must pass `promtool check metrics`.
 * KT_UPDATE_GOLDEN=1 rewrites the golden file (review the diff!).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist.h"
#include "kt_test.h"
#include "output.h"
#include "prom.h"

static void compare(const char *tmp, const char *golden_name)
{
	const char *dir = getenv("KT_TEST_DATA");
	char golden[1024];
	char *got = kt_test_slurp(tmp), *want;

	snprintf(golden, sizeof(golden), "%s/%s", dir ? dir : "data", golden_name);
	if (getenv("KT_UPDATE_GOLDEN")) {
		FILE *f = fopen(golden, "w");

		if (f) {
			fputs(got ? got : "", f);
			fclose(f);
		}
	}
	want = kt_test_slurp(golden);
	CHECK(got && want && !strcmp(got, want), "%s differs from %s:\n--- got ---\n%s--- want ---\n%s",
	      tmp, golden, got ? got : "(null)", want ? want : "(missing)");
	free(got);
	free(want);
}

static void promtool(const char *path)
{
	char cmd[512];
	int rc;

	if (system("command -v promtool >/dev/null 2>&1")) {
		printf("promtool not installed (Debian package prometheus): check skipped\n");
		return;
	}
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	rc = system(cmd);
	CHECK(rc == 0, "promtool check metrics failed on %s (exit %d)", path, rc);
}

int main(void)
{
	uint64_t s[KT_LOG2_SLOTS] = { 0 };
	struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_LOG2_SLOTS, s };
	struct kt_kv disk[] = { { "disk", "vda", 0 } };
	/* a comm with a quote, a backslash, a newline, ESC, CSI (C1) and a byte that is not UTF-8 */
	struct kt_kv hostile[] = { { "comm", "a\"b\\c\nd\xff\x1b[1m\xc2\x9b", 0 }, { "pid", NULL, 42 } };
	struct kt_kv comm[] = { { "comm", "w1", 0 }, { "pid", NULL, 1 } };
	struct kt_out_opts oo = { .path = "/dev/null" };
	struct kt_lost_rec lost = { .what = "events", .reason = "ring buffer full", .fix = "-" };
	const char *tmp = "/tmp/kt_prom_unit.prom";
	struct kt_prom *p = kt_prom_new("bio-lat", "latency", 4);
	struct kt_prom *q = NULL;
	struct kt_out *out = NULL;
	FILE *f;

	CHECK(p != NULL, "kt_prom_new");
	CHECK(kt_out_open(&out, &oo) == 0, "open /dev/null");
	if (!p || !out)
		return kt_test_done("test_prom");
	kt_out_set_prom(out, p);

	/* interval 1: 3 values in [4, 8) us, 1 in [0, 2) us */
	s[2] = 3;
	s[0] = 1;
	kt_out_hist(out, "usecs", disk, 1, &h, 0, 0);
	/* interval 2 (the command drained and reset): 2 in [16, 32) us */
	memset(s, 0, sizeof(s));
	s[4] = 2;
	kt_out_hist(out, "usecs", disk, 1, &h, 0, 0);

	/* cap 4: three comm series, the fourth and fifth fold into other */
	memset(s, 0, sizeof(s));
	s[1] = 1;
	kt_out_hist(out, "msecs", hostile, 2, &h, 0, 0);
	for (int i = 0; i < 4; i++) {
		char c[8];

		snprintf(c, sizeof(c), "w%d", i);
		comm[0].str = c;
		comm[1].num = i;
		kt_out_hist(out, "msecs", comm, 2, &h, 0, 0);
	}

	/* keys that are no label names: le is reserved, a-b and a_b read the same */
	{
		struct kt_kv odd[] = { { "le", "x", 0 }, { "a-b", "1", 0 }, { "a_b", "2", 0 },
				       { "__x", "3", 0 } };

		kt_out_hist(out, "nsecs", odd, 4, &h, 0, 0);
	}

	/* a command that says nothing of what it measures: kbytes become bytes */
	q = kt_prom_new("sizes", NULL, 10);
	CHECK(q != NULL, "kt_prom_new");
	kt_out_set_prom(out, q);
	memset(s, 0, sizeof(s));
	s[10] = 5;
	kt_out_hist(out, "kbytes", NULL, 0, &h, 0, 0);
	kt_out_set_prom(out, p);

	/* a table drained twice: strings, enums and KT_COL_LABEL numbers label the counters */
	{
		static const struct kt_col tc[] = {
			{ "irq", "IRQ", 5, KT_COL_LABEL },
			{ "name", "NAME", -20, 0 },
			{ "rw", "T", 2, KT_COL_NOJSON }, /* derived for text: no label */
			{ "op", "", 0, KT_COL_HIDDEN },
			{ "count", "COUNT", 10, KT_COL_COUNT },
			{ "max_ns", "", 0, KT_COL_HIDDEN }, /* a maximum: not summed */
			{ "total_ns", "", 0, KT_COL_HIDDEN | KT_COL_COUNT },
			{ "errors", "ERR", 5, KT_COL_COUNT },
		};

		for (int iv = 0; iv < 2; iv++) {
			kt_table_begin(out, "hardirqs", "t", tc, 8);
			kt_table_row(out);
			kt_rec_u64(out, 36);
			kt_rec_str(out, "virtio\"1", 16);
			kt_rec_str(out, "R", 2);
			kt_rec_enum(out, "read", 0);
			kt_rec_u64(out, 100);
			kt_rec_u64(out, 5);
			kt_rec_u64(out, 1500000000);
			kt_rec_f64(out, 1, 0);
			kt_rec_end(out);
			kt_table_row(out);
			kt_rec_u64(out, 7);
			kt_rec_str(out, "eth0", 16);
			kt_rec_str(out, "W", 2);
			kt_rec_enum(out, NULL, 9);
			kt_rec_u64(out, 3);
			kt_rec_u64(out, 5);
			kt_rec_u64(out, 250000);
			kt_rec_f64(out, 0, 0);
			kt_rec_end(out);
			kt_table_end(out);
		}
	}

	lost.count = 0;
	kt_out_lost(out, &lost);
	lost.count = 7;
	kt_out_lost(out, &lost);
	lost.count = 2;
	kt_out_lost(out, &lost);
	CHECK(kt_out_err(out) == 0, "no output error: %d", kt_out_err(out));

	f = fopen(tmp, "w");
	CHECK(f != NULL, "create %s", tmp);
	if (f) {
		CHECK(kt_prom_render(p, f) == 0, "render");
		CHECK(!q || kt_prom_render(q, f) == 0, "render");
		fclose(f);
		compare(tmp, "prom.golden");
		promtool(tmp);
		unlink(tmp);
	}
	/* OpenMetrics (serve): counter families without _total, canonical le, HELP escaped */
	f = fopen(tmp, "w");
	CHECK(f != NULL, "create %s", tmp);
	if (f) {
		char *om;

		CHECK(kt_prom_render_fmt(p, f, true) == 0, "render OpenMetrics");
		CHECK(!q || kt_prom_render_fmt(q, f, true) == 0, "render OpenMetrics");
		fputs("# EOF\n", f);
		fclose(f);
		compare(tmp, "prom_om.golden");
		om = kt_test_slurp(tmp);
		CHECK(om && !strstr(om, "_total counter\n"), "an OpenMetrics counter family ends in _total");
		CHECK(om && strstr(om, "_total{"), "its samples keep _total");
		CHECK(om && !strstr(om, "le=\"1\"") && !strstr(om, "le=\"2\""),
		      "integral le values are canonical (1.0)");
		free(om);
		unlink(tmp);
	}
	kt_out_close(out, false);
	kt_prom_free(p);
	kt_prom_free(q);
	kt_prom_free(NULL);
	return kt_test_done("test_prom");
}
