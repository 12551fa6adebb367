// SPDX-License-Identifier: GPL-2.0
/*
 * Subcommand lookup and "did you mean" suggestions; the option-letter check
 * (one meaning per letter across commands, core's options included).
 */
#include "kt_test.h"
#include "ktrace.h"
#include "opts.h"

static const struct kt_cmd a = { .name = "biolat" }, b = { .name = "runqlat" },
			   c = { .name = "tcpretrans" }, d = { .name = "exec" },
			   e = { .name = "open" }, f = { .name = "offcpu" };
static const struct kt_cmd *const tab[] = { &a, &b, &c, &d, &e, &f };
#define N (sizeof(tab) / sizeof(tab[0]))

static const char *closest(const char *s)
{
	const struct kt_cmd *r = kt_cmd_closest(tab, N, s);

	return r ? r->name : "(none)";
}

/* Option tables of made-up commands, each clean on its own. */
static const struct argp_option o_ms[] = {
	{ "milliseconds", 'm', NULL, 0, "ms", 0 },
	{ "pids", 'P', NULL, 0, "per process", 0 },
	{},
};
static const struct argp_option o_ms_too[] = {
	{ "milliseconds", 'm', NULL, 0, "the same meaning: fine", 0 },
	{ "ms", 0, NULL, OPTION_ALIAS, NULL, 0 },
	{},
};
static const struct argp_option o_min[] = {
	{ "min-block-time", 'm', "USECS", 0, "another meaning of -m", 0 },
	{},
};
static const struct argp_option o_pid[] = {
	{ "pid", 'p', "PID", 0, "the command's own -p", 0 },
	{},
};
static const struct argp_option o_disk[] = {
	{ "disk", 'd', "DISK", 0, "-d is core's --duration", 0 },
	{},
};
static const struct argp_option o_count[] = {
	{ "count", 'c', NULL, 0, "-c is core's --summary when the command counts", 0 },
	{},
};
static const struct argp_option o_tid[] = {
	{ "tid", 'L', "TID", 0, "tid under another letter", 0 },
	{ "tids", 'L', NULL, 0, "the same letter twice in one table", 0 },
	{},
};

static int conflicts(const struct kt_cmd *x, const struct kt_cmd *y, char *why, size_t n)
{
	const struct kt_cmd *t[] = { x, y };

	return kt_opts_check_letters(t, y ? 2 : 1, why, n);
}

static void check_letters(void)
{
	struct kt_cmd ms = { .name = "ms", .options = o_ms, .kind = KT_SUMMARY,
			     .pos = KT_POS_INTERVAL };
	struct kt_cmd ms2 = { .name = "ms2", .options = o_ms_too, .kind = KT_SUMMARY };
	struct kt_cmd min = { .name = "min", .options = o_min, .kind = KT_SUMMARY };
	struct kt_cmd pid = { .name = "pid", .options = o_pid, .kind = KT_STREAM };
	struct kt_cmd filt = { .name = "filt", .kind = KT_STREAM, .filters = KT_F_PID | KT_F_UID };
	struct kt_cmd disk = { .name = "disk", .options = o_disk, .kind = KT_SUMMARY };
	struct kt_cmd info = { .name = "info", .options = o_disk, .kind = KT_INFO };
	struct kt_cmd count = { .name = "count", .options = o_count, .kind = KT_STREAM };
	struct kt_cmd counting = { .name = "counting", .options = o_count, .kind = KT_STREAM,
				   .summary_mode = KT_SUM_USER };
	struct kt_cmd tid = { .name = "tid", .options = o_tid, .kind = KT_STREAM };
	char why[256];

	CHECK(conflicts(&ms, &ms2, why, sizeof(why)) == 0, "same meaning, alias: %s", why);
	CHECK(conflicts(&ms, &min, why, sizeof(why)) == 1, "-m twice");
	CHECK_STR(why, "-m is --milliseconds in ms but --min-block-time in min");
	/* a command's own -p against the -p core adds for its filters */
	CHECK(conflicts(&pid, &filt, why, sizeof(why)) == 0, "-p, --pid both: one meaning");
	CHECK(conflicts(&filt, &ms, why, sizeof(why)) == 0, "no shared letter");
	/* core gives every tracing command -d/--duration: a -d DISK clashes in itself */
	CHECK(conflicts(&disk, NULL, why, sizeof(why)) == 1, "-d DISK in a tracing command");
	CHECK_STR(why, "-d is declared 2 times in disk");
	CHECK(conflicts(&info, NULL, why, sizeof(why)) == 0, "no -d/--duration for KT_INFO");
	CHECK(conflicts(&count, NULL, why, sizeof(why)) == 0, "-c alone");
	CHECK(conflicts(&counting, NULL, why, sizeof(why)) == 1, "-c and core's -c/--summary");
	CHECK(conflicts(&count, &counting, why, sizeof(why)) >= 1, "-c twice across commands");
	/* -i/--interval only with positional intervals */
	CHECK(conflicts(&ms, &tid, why, sizeof(why)) == 1, "-L twice in one table");
	CHECK_STR(why, "-L is declared 2 times in tid");
	/* the registered commands: what `ktrace CMD --help` shows is checked by doc.man_options */
}

int main(void)
{
	CHECK(kt_cmd_lookup(tab, N, "biolat") == &a, "exact");
	CHECK(kt_cmd_lookup(tab, N, "bio") == NULL, "no prefix match for lookup");
	CHECK(kt_cmd_lookup(tab, N, "") == NULL, "empty");
	CHECK_STR(closest("biolatt"), "biolat");
	CHECK_STR(closest("runqlta"), "runqlat");
	CHECK_STR(closest("tcp"), "tcpretrans");
	CHECK_STR(closest("exce"), "exec");
	CHECK_STR(closest("offcup"), "offcpu");
	CHECK_STR(closest("xyzzyplugh"), "(none)");
	CHECK_STR(closest("a"), "(none)");
	/* long junk must not overflow anything */
	CHECK_STR(closest("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		  "(none)");
	check_letters();
	return kt_test_done("test_cmdtab");
}
