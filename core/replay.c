// SPDX-License-Identifier: GPL-2.0
/* --record and `ktrace replay`: see replay.h and tape.h. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "ofile.h"
#include "replay.h"
#include "tape.h"
#include "util.h"

#define TAPE_LAYOUT 1

/* The head item: fixed fields, then argc NUL-terminated strings (the full command line). */
struct tape_head {
	uint32_t layout;
	uint32_t pid;
	uint32_t ncpu;
	uint32_t argc;
	uint64_t start_ns;
	uint64_t start_realtime_ns;
	char version[16];
	char cmd[32];
	char hostname[256];
	char kernel[128];
};

static struct tape_head head;
static struct kt_replay_head replay_head;
static bool have_head;

const struct kt_replay_head *kt_replay_head(void)
{
	return have_head ? &replay_head : NULL;
}

static void put_str(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

void kt_record_start(struct kt_ctx *ctx, struct kt_ofile *of)
{
	struct tape_head h = {
		.layout = TAPE_LAYOUT,
		.pid = (uint32_t)getpid(),
		.ncpu = (uint32_t)libbpf_num_possible_cpus(),
		.argc = (uint32_t)ctx->argc,
		.start_ns = ctx->start_ns,
		.start_realtime_ns = ctx->start_realtime_ns,
	};
	size_t len = 0, off = 0;
	char *args, *plan;

	put_str(h.version, sizeof(h.version), KT_VERSION);
	put_str(h.cmd, sizeof(h.cmd), ctx->cmd->name);
	gethostname(h.hostname, sizeof(h.hostname) - 1);
	put_str(h.kernel, sizeof(h.kernel), kt_kernel_release());
	for (int i = 0; i < ctx->argc; i++)
		len += strlen(ctx->argv[i]) + 1;
	args = malloc(len ? len : 1);
	if (!args)
		return;
	for (int i = 0; i < ctx->argc; i++) {
		size_t l = strlen(ctx->argv[i]) + 1;

		memcpy(args + off, ctx->argv[i], l);
		off += l;
	}
	kt_tape_record(kt_ofile_stream(of));
	kt_tape_put2(KT_TAPE_HEAD, &h, sizeof(h), args, len);
	free(args);

	/* the plan: per hook i32 chosen, u8 disabled, the reason nothing was chosen (NUL-terminated) */
	len = 0;
	for (size_t i = 0; i < ctx->cmd->n_hooks; i++)
		len += 5 + strlen(ctx->hooks[i].why ? ctx->hooks[i].why : "") + 1;
	plan = malloc(len ? len : 1);
	if (!plan)
		return;
	off = 0;
	for (size_t i = 0; i < ctx->cmd->n_hooks; i++) {
		const struct kt_hook_state *st = &ctx->hooks[i];
		int32_t chosen = st->chosen;
		const char *why = st->why ? st->why : "";

		memcpy(plan + off, &chosen, 4);
		plan[off + 4] = st->disabled;
		memcpy(plan + off + 5, why, strlen(why) + 1);
		off += 5 + strlen(why) + 1;
	}
	kt_tape_put(KT_TAPE_PLAN, plan, len);
	free(plan);
}

int kt_replay_plan(struct kt_ctx *ctx)
{
	size_t len, off = 0;
	const char *p = kt_tape_take(KT_TAPE_PLAN, &len);

	if (!p)
		goto bad;
	for (size_t i = 0; i < ctx->cmd->n_hooks; i++) {
		struct kt_hook_state *st = &ctx->hooks[i];
		int32_t chosen;
		size_t wl;

		if (len - off < 6)
			goto bad;
		memcpy(&chosen, p + off, 4);
		wl = strnlen(p + off + 5, len - off - 5);
		if (wl == len - off - 5 || chosen < -1 || chosen >= KT_MAX_ALTS ||
		    (chosen >= 0 && !ctx->cmd->hooks[i].alts[chosen].prog))
			goto bad;
		st->chosen = chosen;
		st->disabled = p[off + 4] != 0;
		if (wl)
			st->why = strdup(p + off + 5);
		off += 5 + wl + 1;
	}
	if (off == len)
		return 0;
bad:
	kt_err("the tape's attach plan does not fit %s's hooks (recorded by another version of ktrace?)",
	       ctx->cmd->name);
	return -EINVAL;
}

/* Options that say how to print, which the replay's own replace: dropped from the recorded ones. */
static int output_option(char **argv, int i, int argc)
{
	const char *a = argv[i];

	/* the recording's --prom-textfile directory is not the replay's to write */
	if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--record") ||
	    !strcmp(a, "--prom-textfile"))
		return i + 1 < argc ? 2 : 1;
	if (!strncmp(a, "--output=", 9) || !strncmp(a, "--record=", 9) ||
	    !strncmp(a, "--prom-textfile=", 16) || (!strncmp(a, "-o", 2) && a[2]))
		return 1;
	if (!strcmp(a, "--json") || !strcmp(a, "--timestamp") || !strcmp(a, "--verbose"))
		return 1;
	/* -j, -T, -v and bundles of only those */
	if (a[0] == '-' && a[1] && a[1] != '-' && strspn(a + 1, "jTv") == strlen(a + 1))
		return 1;
	return 0;
}

static void replay_usage(FILE *f)
{
	fprintf(f, "Usage: ktrace replay [-j] [-T] [-v] [-o FILE] [--prom-textfile DIR] TAPE\n\n"
		   "Run the decode and output of a recorded run again (ktrace COMMAND --record TAPE):\n"
		   "the same command with the same options, without root, BPF or the machine it was\n"
		   "recorded on. The output options are the replay's own: text unless -j.\n\n"
		   "  -j, --json          Print JSON Lines instead of text\n"
		   "  -o, --output=FILE   Write data to FILE instead of standard output\n"
		   "  -T, --timestamp     Include wall-clock time (HH:MM:SS.mmm) in text output\n"
		   "      --prom-textfile=DIR  A summary's metrics to DIR/ktrace_COMMAND.prom\n"
		   "  -v, --verbose       Say more\n"
		   "  -?, --help          Show this help\n\n"
		   "Names the replaying machine resolves itself (kernel and user symbols, user and\n"
		   "device names) come from that machine, not from the recording.\n");
}

int kt_replay_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },	 { "timestamp", no_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },	 { "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'H' },
		{ "prom-textfile", required_argument, NULL, 'P' },
		{},
	};
	bool json = false, ts = false;
	int verbose = 0, c, rc = KT_EXIT_FAIL, nfull = 0, nsub = 0;
	const char *out = NULL, *prom_dir = NULL, *p, *end;
	char **full = NULL, **sub = NULL, name[64];
	const struct kt_cmd *cmd;
	size_t len;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:jTvo:", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'T':
			ts = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'o':
			out = optarg;
			break;
		case 'P':
			prom_dir = optarg;
			break;
		case 'H':
			replay_usage(stdout);
			return KT_EXIT_OK;
		case ':':
			fprintf(stderr, "ktrace replay: %s needs an argument\n", argv[optind - 1]);
			replay_usage(stderr);
			return KT_EXIT_USAGE;
		case '?':
			if (optopt == '?') {
				replay_usage(stdout);
				return KT_EXIT_OK;
			}
			/* fall through */
		default:
			fprintf(stderr, "ktrace replay: unknown option '%s'\n", argv[optind - 1]);
			replay_usage(stderr);
			return KT_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "ktrace replay: %s\n",
			optind == argc ? "which tape? (ktrace replay TAPE)" : "one tape at a time");
		replay_usage(stderr);
		return KT_EXIT_USAGE;
	}
	if (kt_tape_load(argv[optind]))
		return KT_EXIT_FAIL;
	p = kt_tape_take(KT_TAPE_HEAD, &len);
	if (!p || len < sizeof(head)) {
		kt_err("%s: the tape has no head (it was cut before tracing started)", argv[optind]);
		goto out;
	}
	memcpy(&head, p, sizeof(head));
	if (head.layout != TAPE_LAYOUT) {
		kt_err("%s: a tape of layout %u, which this ktrace (%s) cannot read", argv[optind],
		       head.layout, KT_VERSION);
		goto out;
	}
	head.version[sizeof(head.version) - 1] = head.cmd[sizeof(head.cmd) - 1] = '\0';
	head.hostname[sizeof(head.hostname) - 1] = head.kernel[sizeof(head.kernel) - 1] = '\0';
	if (strcmp(head.version, KT_VERSION))
		kt_warn("the tape was recorded by ktrace %s, this is %s: records may not decode",
			head.version, KT_VERSION);
	if ((int)head.ncpu != libbpf_num_possible_cpus())
		kt_warn("the tape was recorded with %u possible CPUs, this machine has %d: per-CPU "
			"tables will not replay",
			head.ncpu, libbpf_num_possible_cpus());
	cmd = kt_cmd_find(head.cmd);
	if (!cmd || cmd->kind == KT_INFO) {
		kt_err("the tape was recorded by `ktrace %s`, which this ktrace cannot replay", head.cmd);
		goto out;
	}
	/* the recorded command line: "ktrace", the command, its options */
	full = calloc(head.argc + 1, sizeof(*full));
	sub = calloc(head.argc + 10, sizeof(*sub));
	if (!full || !sub)
		goto out;
	p += sizeof(head);
	end = p + (len - sizeof(head));
	for (uint32_t i = 0; i < head.argc; i++) {
		size_t l = strnlen(p, (size_t)(end - p));

		if (p + l >= end) {
			kt_err("%s: the tape's command line is damaged", argv[optind]);
			goto out;
		}
		full[nfull++] = (char *)p;
		p += l + 1;
	}
	snprintf(name, sizeof(name), "ktrace %s", cmd->name);
	sub[nsub++] = name;
	for (int i = 2; i < nfull;) {
		int skip = output_option(full, i, nfull);

		if (!skip)
			sub[nsub++] = full[i];
		i += skip ? skip : 1;
	}
	if (json)
		sub[nsub++] = "-j";
	if (ts)
		sub[nsub++] = "-T";
	for (int i = 0; i < verbose && i < 2; i++)
		sub[nsub++] = "-v";
	if (out) {
		sub[nsub++] = "-o";
		sub[nsub++] = (char *)out;
	}
	if (prom_dir) {
		sub[nsub++] = "--prom-textfile";
		sub[nsub++] = (char *)prom_dir;
	}
	replay_head = (struct kt_replay_head){
		.pid = head.pid,
		.ncpu = head.ncpu,
		.start_ns = head.start_ns,
		.start_realtime_ns = head.start_realtime_ns,
		.hostname = head.hostname,
		.kernel = head.kernel,
		.version = head.version,
		.cmd = head.cmd,
	};
	have_head = true;
	rc = kt_run(cmd, nsub, sub, nfull, full);
out:
	have_head = false;
	free(full);
	free(sub);
	kt_tape_unload();
	return rc;
}
