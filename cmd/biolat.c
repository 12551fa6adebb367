// SPDX-License-Identifier: GPL-2.0
/*
 * biolat: block I/O latency histograms (`ktrace biolat -m 5`).
 *
 * Measures issue -> completion (or insert -> completion with -Q) of every
 * block request, as log2 histograms in microseconds or milliseconds,
 * optionally one per disk (-D) or per request type (--flags).
 * Hooks: block_rq_insert and block_rq_merge (-Q, --cgroup), block_rq_issue,
 * block_rq_complete, each tp_btf with a raw_tp fallback. Cost: two map
 * operations per request. --flags names rq->cmd_flags with this kernel's REQ_ bits.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biolat.h"
#include "biolat.skel.h"
#include "btf_enum.h"
#include "features.h"
#include "hist.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "util.h"

#define MAX_FLAG_BITS 32

struct biolat {
	bool per_disk, per_flags, queued;
	const char *disk;
	uint32_t dev;
	/* --flags: this kernel's enum req_flag_bits, its REQ_ names by bit (prefix dropped) */
	char *flag_bits[MAX_FLAG_BITS];
	uint32_t op_bits;
};

enum { OPT_FLAGS = 0x2000 };

static const struct argp_option options[] = {
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
	if (!b->queued && !ctx->filter.cgroup_id) {
		kt_hook_disable(ctx, "rq_insert");
		/* without insert no start is taken before the scheduler could merge */
		kt_hook_disable(ctx, "rq_merge");
	}
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, biolat_bpf);
}

/*
 * The REQ_* bits are added, removed and renumbered between kernels: read
 * them from this kernel's BTF. The op takes the bits below the first flag
 * (REQ_OP_BITS).
 */
static void load_flag_bits(struct biolat *b)
{
	int n = kt_btf_enum_names("req_flag_bits", "__REQ_", b->flag_bits, MAX_FLAG_BITS);

	b->op_bits = 8;
	if (n < 0) {
		kt_warn("no enum req_flag_bits in the kernel's BTF (%s): --flags shows request flags as "
			"bit numbers",
			strerror(-n));
		return;
	}
	for (uint32_t i = 0; i < MAX_FLAG_BITS; i++) {
		if (b->flag_bits[i]) {
			b->op_bits = i;
			break;
		}
	}
}

static void finish(struct kt_ctx *ctx)
{
	struct biolat *b = ctx->priv;

	for (size_t i = 0; i < MAX_FLAG_BITS; i++)
		free(b->flag_bits[i]);
}

static int configure(struct kt_ctx *ctx)
{
	struct biolat_bpf *skel = ctx->skel;
	struct biolat *b = ctx->priv;

	skel->rodata->cfg_queued = b->queued;
	skel->rodata->cfg_per_disk = b->per_disk;
	skel->rodata->cfg_per_flags = b->per_flags;
	skel->rodata->cfg_ms = ctx->o.ms;
	skel->rodata->cfg_dev = b->dev;
	/* Linux 5.11 dropped the request_queue argument of block_rq_issue/insert */
	skel->rodata->cfg_rq_arg1 = kt_btf_tp_nargs("block_rq_issue") == 2;
	if (b->per_flags)
		load_flag_bits(b);
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

/*
 * The name biolat prints for a REQ_ bit: blktrace's and biolatency's words
 * where the kernel's name is terse; otherwise the kernel's name in CamelCase,
 * so that a bit a newer kernel adds is still shown.
 */
static void flag_word(const char *kname, char *buf, size_t sz)
{
	static const struct {
		const char *kname, *word;
	} words[] = {
		{ "FAILFAST_DEV", "FailFastDev" },
		{ "FAILFAST_TRANSPORT", "FailFastTransport" },
		{ "FAILFAST_DRIVER", "FailFastDriver" },
		{ "NOMERGE", "NoMerge" },
		{ "FUA", "FUA" },
		{ "RAHEAD", "ReadAhead" },
		{ "NOWAIT", "NoWait" },
		{ "NOWAIT_INLINE", "NoWaitInline" },
		{ "HIPRI", "HiPri" },
		{ "NOUNMAP", "NoUnmap" },
		{ "P2PDMA", "P2PDMA" },
		{ "FS_PRIVATE", "FSPrivate" },
	};
	bool up = true;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strcmp(kname, words[i].kname)) {
			snprintf(buf, sz, "%s", words[i].word);
			return;
		}
	}
	for (const char *p = kname; *p && n + 1 < sz; p++) {
		if (*p == '_') {
			up = true;
			continue;
		}
		buf[n++] = up ? (char)toupper((unsigned char)*p) : (char)tolower((unsigned char)*p);
		up = false;
	}
	buf[n] = 0;
}

/* e.g. "Sync-Idle-Write": the flags in bit order, then the op, like biolatency -F */
static void flags_name(const struct biolat *b, uint32_t f, char *buf, size_t sz)
{
	uint32_t op = f & ((1U << b->op_bits) - 1);
	const char *op_s = op_name(op);
	size_t n = 0;

	buf[0] = 0;
	for (uint32_t bit = b->op_bits; bit < MAX_FLAG_BITS; bit++) {
		char word[48];

		if (!(f & (1U << bit)))
			continue;
		if (b->flag_bits[bit])
			flag_word(b->flag_bits[bit], word, sizeof(word));
		else
			snprintf(word, sizeof(word), "Bit%u", bit);
		n += (size_t)snprintf(buf + n, n < sz ? sz - n : 0, "%s-", word);
	}
	if (n >= sz)
		n = sz - 1;
	if (op_s)
		snprintf(buf + n, sz - n, "%s", op_s);
	else
		snprintf(buf + n, sz - n, "Op%u", op);
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
	const char *unit = ctx->o.ms ? "msecs" : "usecs";
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
		char disk[64], flags[512];
		size_t nk = 0;

		if (b->per_disk) {
			keys[nk++] = (struct kt_kv){ "disk",
						     kt_blkdev_name(e[i].key.dev, disk, sizeof(disk)) };
		}
		if (b->per_flags) {
			flags_name(b, e[i].key.flags, flags, sizeof(flags));
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
	/* optional: without it a merged request's start lingers until its
	 * struct request is inserted again, which resets it */
	{ "rq_merge", true,
	  { { KT_TP_BTF, "block_rq_merge", "merge_btf" },
	    { KT_RAW_TP, "block_rq_merge", "merge_raw" } } },
	{ "rq_complete", false,
	  { { KT_TP_BTF, "block_rq_complete", "complete_btf" },
	    { KT_RAW_TP, "block_rq_complete", "complete_raw" } } },
};

const struct kt_cmd kt_cmd_biolat = {
	.modes = KT_M_MS,
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
	.prom_what = "latency",
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct biolat),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing block device I/O... Hit Ctrl-C to end.",
};
