// SPDX-License-Identifier: GPL-2.0
/* Subcommand lookup and "did you mean" suggestions. */
#include "kt_test.h"
#include "ktrace.h"

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
	return kt_test_done("test_cmdtab");
}
