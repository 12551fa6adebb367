// SPDX-License-Identifier: GPL-2.0
/*
 * biosnoop: one line per completed block I/O request (`ktrace biosnoop`).
 *
 * Each line names the task that submitted the request (taken at
 * block_rq_insert or, for a request issued directly, block_rq_issue, in the
 * submitter's context: completions run in IRQ context, where the current task
 * has nothing to do with the request), the device, the request type, the
 * sector, the size, and the device latency (issue -> complete); -Q adds the
 * time queued in the OS (insert -> issue). --slower MS keeps slow requests
 * only, in the kernel. Hooks: block_rq_insert, block_rq_issue,
 * block_rq_merge, block_rq_complete (tp_btf -> raw_tp). Cost: one hash update
 * per insert/issue, one ring buffer record per completion.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biosnoop.h"
#include "biosnoop.skel.h"
#include "btf_enum.h"
#include "features.h"
#include "ktrace.h"
#include "output.h"
#include "util.h"

#define MAX_FLAG_BITS 32
#define DEV_CACHE 16

enum { OPT_SLOWER = 0x2000 };

static const struct kt_col cols_tmpl[] = {
	{ "comm", "COMM", -16, 0 },
	{ "pid", "PID", 7, 0 },
	{ "disk", "DISK", -9, 0 },
	{ "rwbs", "T", -4, 0 },
	{ "op", "", 0, KT_COL_HIDDEN },
	{ "sector", "SECTOR", 12, 0 },
	{ "bytes", "BYTES", 8, 0 },
	{ "queue_ms", "QUE(ms)", 8, KT_COL_HIDDEN },
	{ "lat_ms", "LAT(ms)", 8, 0 },
};
#define NCOLS (sizeof(cols_tmpl) / sizeof(cols_tmpl[0]))

struct biosnoop {
	bool queued;
	uint32_t dev;
	uint64_t min_ns;
	/* this kernel's REQ_ flag bits (from BTF), -1 when it has none of that name */
	int bit_sync, bit_meta, bit_rahead, bit_fua, bit_preflush;
	uint32_t op_bits;
	struct {
		uint32_t dev;
		char name[32];
	} names[DEV_CACHE];
	size_t n_names;
	struct kt_col cols[NCOLS];
};

static const struct argp_option options[] = {
	{ "queued", 'Q', NULL, 0, "Show the time queued in the OS (insert to issue) too", 0 },
	{ "disk", 'b', "DISK", 0, "Only this disk or partition (e.g. sda, nvme0n1p2, loop3)", 0 },
	{ "slower", OPT_SLOWER, "MS", 0,
	  "Only requests slower than MS milliseconds (device latency; with -Q, queue time included)",
	  0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct biosnoop *b = ctx->priv;
	char *end;
	double ms;

	switch (key) {
	case 'Q':
		b->queued = true;
		break;
	case 'b':
		if (kt_blkdev_lookup(arg, &b->dev))
			argp_error(state, "no block device named '%s' (see /sys/class/block)", arg);
		break;
	case OPT_SLOWER:
		errno = 0;
		ms = strtod(arg, &end);
		if (errno || end == arg || *end || !(ms >= 0) || ms > 1e9)
			argp_error(state, "--slower: '%s' is not a number of milliseconds (e.g. 10, 0.5)",
				   arg);
		b->min_ns = (uint64_t)(ms * 1e6);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, biosnoop_bpf);
}

static int bit_of(char **names, const char *name)
{
	for (int i = 0; i < MAX_FLAG_BITS; i++)
		if (names[i] && !strcmp(names[i], name))
			return i;
	return -1;
}

/* The REQ_ bits are renumbered between kernels: find them in this kernel's BTF. */
static void load_flag_bits(struct biosnoop *b)
{
	char *names[MAX_FLAG_BITS] = { 0 };
	int n = kt_btf_enum_names("req_flag_bits", "__REQ_", names, MAX_FLAG_BITS);

	b->op_bits = 8;
	b->bit_sync = b->bit_meta = b->bit_rahead = b->bit_fua = b->bit_preflush = -1;
	if (n < 0) {
		kt_warn("no enum req_flag_bits in the kernel's BTF (%s): the T column shows the "
			"operation only",
			strerror(-n));
		return;
	}
	for (uint32_t i = 0; i < MAX_FLAG_BITS; i++) {
		if (names[i]) {
			b->op_bits = i;
			break;
		}
	}
	b->bit_sync = bit_of(names, "SYNC");
	b->bit_meta = bit_of(names, "META");
	b->bit_rahead = bit_of(names, "RAHEAD");
	b->bit_fua = bit_of(names, "FUA");
	b->bit_preflush = bit_of(names, "PREFLUSH");
	for (int i = 0; i < MAX_FLAG_BITS; i++)
		free(names[i]);
}

static int configure(struct kt_ctx *ctx)
{
	struct biosnoop_bpf *skel = ctx->skel;
	struct biosnoop *b = ctx->priv;

	skel->rodata->cfg_dev = b->dev;
	skel->rodata->cfg_min_ns = b->min_ns;
	skel->rodata->cfg_queued = b->queued;
	/* Linux 5.11 dropped the request_queue argument of block_rq_issue/insert */
	skel->rodata->cfg_rq_arg1 = kt_btf_tp_nargs("block_rq_issue") == 2;
	load_flag_bits(b);
	ctx->lost_why = "ring buffer or in-flight table full, or the request's issue was not seen "
			"(the issue hook was already running on that CPU)";
	return 0;
}

static int start(struct kt_ctx *ctx)
{
	struct biosnoop *b = ctx->priv;

	memcpy(b->cols, cols_tmpl, sizeof(b->cols));
	kt_col_show(b->cols, NCOLS, "queue_ms", KT_IN_TEXT, b->queued);
	kt_out_header(ctx->out, b->cols, NCOLS);
	return 0;
}

static bool has(uint32_t f, int bit)
{
	return bit >= 0 && (f & (1U << bit));
}

/* blktrace's RWBS letters: F(lush before), the op, then F(UA), A(head), S(ync), M(eta). */
static void rwbs(const struct biosnoop *b, uint32_t f, char *buf, size_t sz)
{
	static const char letters[] = { 'R', 'W', 'F', 'D', 'N', 'E' };
	uint32_t op = f & ((1U << b->op_bits) - 1);
	size_t n = 0;

	if (has(f, b->bit_preflush) && n + 1 < sz)
		buf[n++] = 'F';
	if (n + 1 < sz)
		buf[n++] = op < sizeof(letters) ? letters[op] : 'N';
	if (has(f, b->bit_fua) && n + 1 < sz)
		buf[n++] = 'F';
	if (has(f, b->bit_rahead) && n + 1 < sz)
		buf[n++] = 'A';
	if (has(f, b->bit_sync) && n + 1 < sz)
		buf[n++] = 'S';
	if (has(f, b->bit_meta) && n + 1 < sz)
		buf[n++] = 'M';
	buf[n] = 0;
}

/* Device names, looked up once per device (a readlink in /sys each). */
static const char *dev_name(struct biosnoop *b, uint32_t dev)
{
	size_t i;

	for (i = 0; i < b->n_names; i++)
		if (b->names[i].dev == dev)
			return b->names[i].name;
	i = b->n_names < DEV_CACHE ? b->n_names++ : dev % DEV_CACHE;
	b->names[i].dev = dev;
	kt_blkdev_name(dev, b->names[i].name, sizeof(b->names[i].name));
	return b->names[i].name;
}

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct biosnoop_event *e = data;
	struct biosnoop *b = ctx->priv;
	struct kt_out *out = ctx->out;
	uint32_t op = e->cmd_flags & ((1U << b->op_bits) - 1);
	char t[16];

	(void)size;
	rwbs(b, e->cmd_flags, t, sizeof(t));
	kt_rec_begin(out, "event", b->cols, NCOLS, e->hdr.ts);
	kt_rec_str(out, e->hdr.comm, sizeof(e->hdr.comm));
	kt_rec_u64(out, e->hdr.pid);
	kt_rec_str(out, dev_name(b, e->dev), 32);
	kt_rec_str(out, t, sizeof(t));
	kt_rec_enum(out, kt_blk_op_name(op), op);
	kt_rec_u64(out, e->sector);
	kt_rec_u64(out, e->bytes);
	if (e->flags & BS_F_QUEUED)
		kt_rec_f64(out, (double)e->queue_ns / 1e6, 3);
	else
		kt_rec_none(out);
	kt_rec_f64(out, (double)e->lat_ns / 1e6, 3);
	kt_rec_end(out);
	return 0;
}

static const struct kt_hook hooks[] = {
	{ "rq_insert", false,
	  { { KT_TP_BTF, "block_rq_insert", "insert_btf" },
	    { KT_RAW_TP, "block_rq_insert", "insert_raw" } } },
	{ "rq_issue", false,
	  { { KT_TP_BTF, "block_rq_issue", "issue_btf" },
	    { KT_RAW_TP, "block_rq_issue", "issue_raw" } } },
	/* optional: without it a merged request's entry lingers until its
	 * struct request is inserted again, which resets it */
	{ "rq_merge", true,
	  { { KT_TP_BTF, "block_rq_merge", "merge_btf" },
	    { KT_RAW_TP, "block_rq_merge", "merge_raw" } } },
	{ "rq_complete", false,
	  { { KT_TP_BTF, "block_rq_complete", "complete_btf" },
	    { KT_RAW_TP, "block_rq_complete", "complete_raw" } } },
};

const struct kt_cmd kt_cmd_biosnoop = {
	.name = "biosnoop",
	.summary = "Block I/O requests one by one, with the submitting task and latency",
	.doc = "Trace block device I/O: one line per completed request with the task that "
	       "submitted it (COMM, PID), the disk, the type (T: blktrace's R/W/F/D letters with "
	       "A for read-ahead, S for sync, M for metadata), the first sector, the size and the "
	       "device latency (issue to completion); -Q adds the time queued in the OS.\v"
	       "Examples:\n"
	       "  ktrace biosnoop                 # every request\n"
	       "  ktrace biosnoop -Q -T           # with OS queue time and timestamps\n"
	       "  ktrace biosnoop -b nvme0n1      # one disk\n"
	       "  ktrace biosnoop --slower 10 -j  # requests over 10 ms, as JSON Lines\n"
	       "  ktrace biosnoop -p 1234 30      # one process's I/O for 30 seconds",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the task that submits the I/O",
	.kind = KT_STREAM,
	.pos = KT_POS_DURATION,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct biosnoop),
	.open = open_skel,
	.configure = configure,
	.start = start,
	.handle = handle,
	.min_record = sizeof(struct biosnoop_event),
	.ringbuf_default = 1ULL << 20,
	.tracing_msg = "Tracing block device I/O... Hit Ctrl-C to end.",
};
