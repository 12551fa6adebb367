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

int main(void)
{
	hist_log2();
	hist_linear();
	table();
	return kt_test_done("test_render");
}
