// SPDX-License-Identifier: GPL-2.0
/*
 * biolat: block I/O latency histograms (`ktrace biolat -m 5`).
 *
 * Measures issue -> completion (or insert -> completion with -Q) of every
 * block request, as log2 histograms in microseconds or milliseconds,
 * optionally one per disk (-D) or per request type (--flags).
 * Hooks: block_rq_insert (-Q, --cgroup), block_rq_issue, block_rq_complete, each
 * tp_btf with a raw_tp fallback. Cost: two map operations per request.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "biolat.h"
#include "biolat.skel.h"
#include "features.h"
#include "hist.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "util.h"

struct biolat {
	bool ms, per_disk, per_flags, queued;
	const char *disk;
	uint32_t dev;
};

enum { OPT_FLAGS = 0x2000 };

static const struct argp_option options[] = {
	{ "milliseconds", 'm', NULL, 0, "Histogram in milliseconds (default: microseconds)", 0 },
	{ "disks", 'D', NULL, 0, "One histogram per disk (partitions separately)", 0 },
	{ "queued", 'Q', NULL, 0, "Include the time queued in the OS (from insert, not issue)", 0 },
	{ "flags", OPT_FLAGS, NULL, 0, "One histogram per request type (e.g. Sync-Write, Read)", 0 },
	{ "disk", 'b', "DISK", 0, "Only this disk or partition (e.g. sda, nvme0n1p2, loop3)", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct biolat *b = ctx->priv;

	switch (key) {
	case 'm':
		b->ms = true;
		break;
	case 'D':
		b->per_disk = true;
		break;
	case 'Q':
		b->queued = true;
		break;
	case OPT_FLAGS:
		b->per_flags = true;
		break;
	case 'b':
		b->disk = arg;
		if (kt_blkdev_lookup(arg, &b->dev))
			argp_error(state, "no block device named '%s' (see /sys/class/block)", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int validate(struct kt_ctx *ctx)
{
	struct biolat *b = ctx->priv;

	/* insert is where the submitter is still current: needed for -Q and for --cgroup */
	if (!b->queued && !ctx->filter.cgroup_id)
		kt_hook_disable(ctx, "rq_insert");
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, biolat_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct biolat_bpf *skel = ctx->skel;
	struct biolat *b = ctx->priv;

	skel->rodata->cfg_queued = b->queued;
	skel->rodata->cfg_per_disk = b->per_disk;
	skel->rodata->cfg_per_flags = b->per_flags;
	skel->rodata->cfg_ms = b->ms;
	skel->rodata->cfg_dev = b->dev;
	/* Linux 5.11 dropped the request_queue argument of block_rq_issue/insert */
	skel->rodata->cfg_rq_arg1 = kt_btf_tp_nargs("block_rq_issue") == 2;
	return 0;
}

static const char *op_name(uint32_t op)
{
	static const char *const ops[] = { "Read", "Write", "Flush", "Discard", "SecureErase",
					   "ZoneReset", "WriteSame", "ZoneResetAll",
					   "WriteZeroes", "ZoneOpen", "ZoneClose", "ZoneFinish" };

	/* ops 0..11 have kept their numbers since REQ_OP_* became an enum (4.10) */
	return op < sizeof(ops) / sizeof(ops[0]) ? ops[op] : NULL;
}

static void flags_name(uint32_t f, char *buf, size_t sz)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ BIOLAT_F_SYNC, "Sync" },	{ BIOLAT_F_META, "Meta" },
		{ BIOLAT_F_PRIO, "Prio" },	{ BIOLAT_F_FUA, "FUA" },
		{ BIOLAT_F_PREFLUSH, "Preflush" }, { BIOLAT_F_RAHEAD, "ReadAhead" },
		{ BIOLAT_F_BACKGROUND, "Background" }, { BIOLAT_F_NOWAIT, "NoWait" },
	};
	const char *op = op_name(f & 0xff);
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit)
			n += (size_t)snprintf(buf + n, n < sz ? sz - n : 0, "%s-", names[i].name);
	if (n >= sz)
		n = sz - 1;
	if (op)
		snprintf(buf + n, sz - n, "%s", op);
	else
		snprintf(buf + n, sz - n, "Op%u", f & 0xff);
}

struct entry {
	struct biolat_key key;
	struct kt_slots val;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct biolat_key *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->flags < y->flags ? -1 : x->flags > y->flags;
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct biolat_bpf *skel = ctx->skel;
	struct biolat *b = ctx->priv;
	struct entry *e = NULL;
	uint64_t now = kt_now_mono();
	const char *unit = b->ms ? "msecs" : "usecs";
	int n;

	(void)final;
	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.hists), struct entry, key, val, true, cmp_entry,
			   &e);
	if (n < 0) {
		kt_err("reading the histograms failed: %s", strerror(-n));
		free(e);
		return n;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	if (!n && !b->per_disk && !b->per_flags) {
		/* an interval without I/O still gets its (empty) histogram */
		static const uint64_t none[1];
		struct kt_hist h = { KT_HIST_LOG2, 0, 0, 1, none };

		kt_out_hist(ctx->out, unit, NULL, 0, &h, ctx->interval_start_ns, now);
	}
	for (size_t i = 0; i < (size_t)n; i++) {
		struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS, (const uint64_t *)e[i].val.slots };
		struct kt_kv keys[2];
		char disk[64], flags[128];
		size_t nk = 0;

		if (b->per_disk) {
			keys[nk++] = (struct kt_kv){ "disk",
						     kt_blkdev_name(e[i].key.dev, disk, sizeof(disk)) };
		}
		if (b->per_flags) {
			flags_name(e[i].key.flags, flags, sizeof(flags));
			keys[nk++] = (struct kt_kv){ "flags", flags };
		}
		kt_out_hist(ctx->out, unit, keys, nk, &h, ctx->interval_start_ns, now);
	}
	free(e);
	return 0;
}

static const struct kt_hook hooks[] = {
	{ "rq_insert", false,
	  { { KT_TP_BTF, "block_rq_insert", "insert_btf" },
	    { KT_RAW_TP, "block_rq_insert", "insert_raw" } } },
	{ "rq_issue", false,
	  { { KT_TP_BTF, "block_rq_issue", "issue_btf" },
	    { KT_RAW_TP, "block_rq_issue", "issue_raw" } } },
	{ "rq_complete", false,
	  { { KT_TP_BTF, "block_rq_complete", "complete_btf" },
	    { KT_RAW_TP, "block_rq_complete", "complete_raw" } } },
};

const struct kt_cmd kt_cmd_biolat = {
	.name = "biolat",
	.summary = "Block I/O latency histograms, per disk or per request type",
	.doc = "Summarize block device I/O latency as histograms: the time from issue to the "
	       "device to completion (add the time queued in the OS with -Q). Printed every "
	       "interval seconds, count times, or once at Ctrl-C.\v"
	       "Examples:\n"
	       "  ktrace biolat                 # one histogram at Ctrl-C\n"
	       "  ktrace biolat -m 5            # milliseconds, every 5 seconds\n"
	       "  ktrace biolat -D 1 10         # per disk, 1 s intervals, 10 times\n"
	       "  ktrace biolat -Q --flags      # include OS queueing, per request type\n"
	       "  ktrace biolat -b nvme0n1 -j   # one disk, JSON Lines\n"
	       "  ktrace biolat --cgroup /sys/fs/cgroup/system.slice/mysql.service",
	.options = options,
	.parse = parse,
	.filters = KT_F_CGROUP,
	.filter_task = "the task that submits the I/O",
	.kind = KT_SUMMARY,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct biolat),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.drain = drain,
	.tracing_msg = "Tracing block device I/O... Hit Ctrl-C to end.",
};
