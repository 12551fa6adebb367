// SPDX-License-Identifier: GPL-2.0
/*
 * Option parsing in core: the options a descriptor's filters, counting mode
 * and positional arguments add, parsed once for every command.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "kt_test.h"
#include "ktrace.h"
#include "opts.h"

static const struct argp_option own[] = {
	{ "milliseconds", 'm', NULL, 0, "ms", 0 },
	{},
};

static int own_seen;

static error_t own_parse(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	(void)state;
	if (key != 'm')
		return ARGP_ERR_UNKNOWN;
	own_seen++;
	return 0;
}

static const struct kt_cmd stream = {
	.name = "stream",
	.options = own,
	.parse = own_parse,
	.filters = KT_F_ALL | KT_F_FAMILY | KT_F_PORTS,
	.summary_mode = KT_SUM_KERNEL,
	.summary_help = "count",
	.kind = KT_STREAM,
	.pos = KT_POS_INTERVAL,
};

static const struct kt_cmd profiler = {
	.name = "profiler",
	.filters = KT_F_PID,
	.kind = KT_SUMMARY,
	.pos = KT_POS_DURATION,
};

static int parse(const struct kt_cmd *cmd, struct kt_ctx *ctx, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(ctx, 0, sizeof(*ctx));
	ctx->cmd = cmd;
	return kt_opts_parse(ctx, argc, argv);
}

/* Exit status of parsing argv in a child (argp exits on usage errors), or 100 + the return. */
static int parse_status(const struct kt_cmd *cmd, char **argv)
{
	struct kt_ctx ctx;
	int st = -1;
	pid_t p;

	fflush(NULL);
	p = fork();
	if (p == 0) {
		/* argp's messages would clutter the test's output */
		if (!freopen("/dev/null", "w", stderr))
			_exit(99);
		_exit(100 + (parse(cmd, &ctx, argv) ? 1 : 0));
	}
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void usage_errors(void)
{
	char *too_long[] = { "ktrace stream", "-n", "0123456789abcdef", NULL };
	char *two_iv[] = { "ktrace stream", "-i", "5", "7", NULL };
	char *bad_pid[] = { "ktrace stream", "-p", "0", NULL };
	char *big_pid[] = { "ktrace stream", "-p", "4194305", NULL };
	char *no_user[] = { "ktrace stream", "-u", "no-such-user-of-this-test", NULL };
	char *not_own[] = { "ktrace profiler", "-n", "x", NULL };
	char *no_cg[] = { "ktrace stream", "--cgroup", "/nonexistent/cgroup", NULL };
	char *not_cg[] = { "ktrace stream", "--cgroup", "/proc", NULL };
	char *pos3[] = { "ktrace stream", "1", "2", "3", NULL };
	char *both[] = { "ktrace stream", "-4", "-6", NULL };
	char *port[] = { "ktrace stream", "--lport", "70000", NULL };

	CHECK(parse_status(&stream, too_long) == KT_EXIT_USAGE, "-n longer than a comm: exit 2");
	CHECK(parse_status(&stream, two_iv) == KT_EXIT_USAGE, "-i 5 with interval 7: exit 2");
	CHECK(parse_status(&stream, bad_pid) == KT_EXIT_USAGE, "-p 0: exit 2");
	CHECK(parse_status(&stream, big_pid) == KT_EXIT_USAGE, "-p above PID_MAX_LIMIT: exit 2");
	CHECK(parse_status(&stream, no_user) == KT_EXIT_USAGE, "-u unknown user: exit 2");
	CHECK(parse_status(&profiler, not_own) == KT_EXIT_USAGE, "-n where not declared: exit 2");
	CHECK(parse_status(&stream, pos3) == KT_EXIT_USAGE, "a third positional argument: exit 2");
	CHECK(parse_status(&stream, both) == KT_EXIT_USAGE, "-4 with -6: exit 2");
	CHECK(parse_status(&stream, port) == KT_EXIT_USAGE, "--lport 70000: exit 2");
	/* checks against the system return an error (kt_run exits 2 for it) */
	CHECK(parse_status(&stream, no_cg) == 101, "--cgroup of a missing directory: an error");
	CHECK(parse_status(&stream, not_cg) == 101, "--cgroup of a non-cgroup: an error");
}

int main(void)
{
	struct kt_ctx ctx;
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	{
		char *argv[] = { "ktrace stream", "-m", "-p", pid, "-t", pid, "-u", "root", "-n",
				 "kworker", "-c", "-i", "5", "5", "3", "-d", "2m", NULL };

		CHECK(parse(&stream, &ctx, argv) == 0, "a full command line parses");
		CHECK(own_seen == 1, "the command's own option reached its parser");
		CHECK(ctx.filter.tgid == (uint32_t)getpid() && ctx.filter.tid == (uint32_t)getpid(),
		      "-p and -t: %u %u", ctx.filter.tgid, ctx.filter.tid);
		CHECK(ctx.filter.uid == 0, "-u root: uid 0 (got %u)", ctx.filter.uid);
		CHECK(ctx.filter.comm_len == 7 && !memcmp(ctx.filter.comm, "kworker", 7), "-n kworker");
		CHECK(ctx.filter.cgroup_id == 0, "no --cgroup: id 0");
		CHECK(ctx.o.summary && ctx.counted_in_kernel, "-c with KT_SUM_KERNEL counts in the kernel");
		CHECK(ctx.o.interval_s == 5 && ctx.o.count == 3, "-i 5 and the same positional interval");
		CHECK(ctx.o.duration_s == 120, "-d 2m: %llu", (unsigned long long)ctx.o.duration_s);
	}
	{
		char *argv[] = { "ktrace stream", "-u", "4242", "-6", "--lport", "443", "--rport=80",
				 NULL };

		CHECK(parse(&stream, &ctx, argv) == 0, "-u NUMBER parses");
		CHECK(ctx.filter.uid == 4242, "-u 4242 (got %u)", ctx.filter.uid);
		CHECK(ctx.filter.family == KT_AF_INET6 && ctx.filter.lport == 443 &&
			      ctx.filter.rport == 80,
		      "-6 --lport 443 --rport 80: %u %u %u", ctx.filter.family, ctx.filter.lport,
		      ctx.filter.rport);
		CHECK(!ctx.o.summary && !ctx.counted_in_kernel, "no -c: streaming");
		CHECK(ctx.filter.tgid == 0 && ctx.filter.comm_len == 0, "no filters: zeros");
	}
	{
		char *argv[] = { NULL, NULL };

		argv[0] = "ktrace stream";
		CHECK(parse(&stream, &ctx, argv) == 0, "no options");
		CHECK(ctx.filter.uid == KT_ANY_UID, "no -u: any uid");
	}
	{
		char *argv[] = { "ktrace profiler", "-p", pid, "30", NULL };

		CHECK(parse(&profiler, &ctx, argv) == 0, "a profiler's command line parses");
		CHECK(ctx.o.duration_s == 30 && ctx.o.interval_s == 0, "positional duration");
		CHECK(ctx.filter.tgid == (uint32_t)getpid(), "-p");
	}
	usage_errors();
	return kt_test_done("test_opts");
}
