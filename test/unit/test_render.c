// SPDX-License-Identifier: GPL-2.0
/*
 * Text rendering against golden files in test/unit/data: log2 and linear
 * histograms with percentiles, key lines, column tables with hostile strings.
 * KT_UPDATE_GOLDEN=1 rewrites the golden files (review the diff!).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist.h"
#include "kt_test.h"
#include "output.h"

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
	unlink(tmp);
}

static struct kt_out *open_text(const char *path)
{
	struct kt_out_opts o = { .path = path };
	struct kt_out *out = NULL;

	CHECK(kt_out_open(&out, &o) == 0, "open %s", path);
	return out;
}

static void hist_log2(void)
{
	uint64_t s[KT_LOG2_SLOTS] = { 0 };
	struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_LOG2_SLOTS, s };
	struct kt_kv keys[] = { { "disk", "vda", 0 }, { "flags", "Sync-Write", 0 } };
	const char *tmp = "/tmp/kt_render_log2.txt";
	struct kt_out *out = open_text(tmp);

	s[5] = 11;
	s[6] = 62;
	s[7] = 23;
	s[8] = 6;
	s[9] = 122;
	kt_out_hist(out, "usecs", keys, 2, &h, 0, 0);
	memset(s, 0, sizeof(s));
	kt_out_hist(out, "msecs", NULL, 0, &h, 0, 0);
	s[20] = 3; /* a wide bound: columns widen to fit */
	kt_out_hist(out, "usecs", NULL, 0, &h, 0, 0);
	kt_out_close(out, false);
	compare(tmp, "hist_log2.txt");
}

static void hist_linear(void)
{
	uint64_t s[6] = { 0, 4, 0, 9, 1, 0 };
	struct kt_hist h = { KT_HIST_LINEAR, 100, 10, 6, s };
	struct kt_kv keys[] = { { "pid", NULL, 4242 } };
	const char *tmp = "/tmp/kt_render_linear.txt";
	struct kt_out *out = open_text(tmp);

	kt_out_hist(out, "ms", keys, 1, &h, 0, 0);
	kt_out_close(out, false);
	compare(tmp, "hist_linear.txt");
}

static void table(void)
{
	static const struct kt_col cols[] = {
		{ "pid", "PID", 7 },
		{ "hidden", "HIDDEN", 6, KT_COL_HIDDEN },
		{ "comm", "COMM", -16 },
		{ "err", "ERR", 6 },
		{ "path", "PATH", 0 },
	};
	const char *tmp = "/tmp/kt_render_table.txt";
	struct kt_out *out = open_text(tmp);
	const char *argv[] = { "/bin/echo", "it's", "a\nb" };
	size_t lens[] = { 9, 4, 3 };
	static const struct kt_col argcols[] = { { "args", "ARGS", 0 } };

	kt_out_header(out, cols, 5);
	kt_rec_begin(out, "event", cols, 5, 0);
	kt_rec_i64(out, 1234);
	kt_rec_i64(out, 99);
	kt_rec_str(out, "evil\x1b[2Jcomm", 16);
	kt_rec_enum(out, "ENOENT", 2);
	kt_rec_str(out, "/etc/new\nline\xff", 64);
	kt_rec_end(out);
	kt_rec_begin(out, "event", cols, 5, 0);
	kt_rec_i64(out, 1);
	kt_rec_none(out);
	kt_rec_str(out, "init", 16);
	kt_rec_enum(out, NULL, 0);
	kt_rec_str(out, "/", 2);
	kt_rec_end(out);
	kt_rec_begin(out, "event", argcols, 1, 0);
	kt_rec_strv(out, argv, lens, 3, true, true);
	kt_rec_end(out);
	kt_out_close(out, false);
	compare(tmp, "table.txt");
}

/* The records around the data: every lost record has one shape, summary names its stop. */
static void lost_and_summary(void)
{
	const char *tmp = "/tmp/kt_render_lost.json";
	struct kt_out_opts o = { .path = tmp, .json = true };
	struct kt_out *out = NULL;
	const uint64_t pc[] = { 2, 1 };
	struct kt_lost_rec ev = { .what = "events", .count = 3, .reason = "ring buffer full",
				  .fix = "raise --buffer", .per_cpu = pc, .ncpu = 2 };
	struct kt_lost_rec ks = { .what = "kernel stacks", .count = 4, .reason = "map full",
				  .fix = "raise --stack-storage-size" };
	struct kt_summary_rec sum = { .stopped_by = KT_STOP_OUTPUT_ERROR, .duration_ms = 1500,
				      .intervals = 2, .stream = true, .has_events = true,
				      .events = 10, .lost = 5 };
	static const char *const keys[] = { "count", "total", "reason", "fix", "per_cpu", "final",
					    "what", "time" };
	char *text, *line, *save = NULL;
	int n = 0;

	CHECK(kt_out_open(&out, &o) == 0, "open");
	kt_out_lost(out, &ev);
	kt_out_lost(out, &ks);
	ev.count = 2;
	kt_out_set_final(out);
	kt_out_lost(out, &ev);
	ks.count = 0; /* nothing lost: no record... */
	kt_out_lost(out, &ks);
	ev.count = 0;
	ev.always = true; /* ...unless asked for */
	kt_out_lost(out, &ev);
	kt_out_summary(out, &sum);
	kt_out_close(out, false);
	text = kt_test_slurp(tmp);
	unlink(tmp);
	CHECK(text != NULL, "read back");
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		n++;
		if (strstr(line, "\"type\":\"lost\""))
			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
				char kk[32];

				snprintf(kk, sizeof(kk), "\"%s\":", keys[k]);
				CHECK(strstr(line, kk), "lost record %d has %s: %s", n, keys[k], line);
			}
		if (n == 1)
			CHECK(strstr(line, "\"what\":\"events\",\"count\":3,\"total\":3,") &&
				      strstr(line, "\"per_cpu\":[2,1],\"final\":false"),
			      "first events record: %s", line);
		if (n == 2)
			CHECK(strstr(line, "\"count\":4,\"total\":4,") && strstr(line, "\"per_cpu\":null"),
			      "stacks record: %s", line);
		if (n == 3)
			CHECK(strstr(line, "\"count\":2,\"total\":5,") && strstr(line, "\"final\":true"),
			      "totals run per kind, final after kt_out_set_final: %s", line);
		if (n == 4)
			CHECK(strstr(line, "\"count\":0,\"total\":5,"), "an always record: %s", line);
		if (n == 5)
			CHECK(strstr(line, "\"type\":\"summary\"") && strstr(line, "\"duration_s\":1.500") &&
				      strstr(line, "\"stopped_by\":\"output_error\"") &&
				      strstr(line, "\"events\":10,\"lost\":5"),
			      "summary: %s", line);
	}
	CHECK(n == 5, "five lines, got %d", n);
	free(text);
	for (int i = 0; i < KT_STOP_N; i++)
		CHECK(strcmp(kt_stop_name((enum kt_stop)i), "unknown"), "stop %d has a name", i);
}

int main(void)
{
	hist_log2();
	hist_linear();
	table();
	lost_and_summary();
	return kt_test_done("test_render");
}
