// SPDX-License-Identifier: GPL-2.0
/*
 * biotop: the processes doing block I/O, like top (`ktrace biotop 5`).
 *
 * One row per process, device and operation (read, write, flush...): I/Os,
 * kilobytes and the average device latency (issue -> completion), the top N
 * by bytes (or --sort ios, avg), every interval seconds (1 by default).
 * Each request is charged to the task that submitted it: kt_blk.bpf.h takes
 * the task at block_rq_insert (or block_rq_issue for a request issued
 * directly), in the submitter's context, never at completion, which runs in
 * IRQ context. Filters select that task. Hooks: block_rq_insert,
 * block_rq_issue, block_rq_merge, block_rq_complete (tp_btf -> raw_tp).
 * Cost: one hash update per insert/issue, one lookup/delete and three
 * atomic adds per completion; no record per request reaches user space.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "biotop.h"
#include "biotop.skel.h"
#include "btf_enum.h"
#include "features.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "stacks_out.h"
#include "util.h"

#define MAX_FLAG_BITS 32

enum sort_key { SORT_BYTES, SORT_IOS, SORT_AVG };

struct biotop {
	unsigned long top;
	enum sort_key sort;
	uint32_t dev;
	uint32_t op_bits;
	bool printed; /* an interval was printed: the next starts with a blank line */
};

enum { OPT_TOP = 0x2000, OPT_SORT };

static const struct argp_option options[] = {
	{ "sort", OPT_SORT, "KEY", 0,
	  "Order by bytes (default), ios (requests) or avg (average latency)", 0 },
	{ "top", OPT_TOP, "N", 0, "Show the N busiest rows (default 20, 0: all)", 0 },
	{ "disk", 'b', "DISK", 0, "Only this disk or partition (e.g. sda, nvme0n1p2, loop3)", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct biotop *t = ctx->priv;
	char *end;

	switch (key) {
	case ARGP_KEY_INIT:
		t->top = 20;
		return 0;
	case OPT_TOP:
		errno = 0;
		t->top = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || *arg == '-')
			argp_error(state, "--top %s: not a number of rows", arg);
		return 0;
	case OPT_SORT:
		if (!strcmp(arg, "bytes"))
			t->sort = SORT_BYTES;
		else if (!strcmp(arg, "ios"))
			t->sort = SORT_IOS;
		else if (!strcmp(arg, "avg"))
			t->sort = SORT_AVG;
		else
			argp_error(state, "--sort %s: sort by bytes, ios or avg", arg);
		return 0;
	case 'b':
		if (kt_blkdev_lookup(arg, &t->dev))
			argp_error(state, "no block device named '%s' (see /sys/class/block)", arg);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static int validate(struct kt_ctx *ctx)
{
	/* like top (and BCC's biotop): a screen every second unless told otherwise */
	if (!ctx->o.interval_s)
		ctx->o.interval_s = 1;
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, biotop_bpf);
}

/* The operation takes the bits of cmd_flags below the first REQ_ flag (REQ_OP_BITS). */
static uint32_t op_bits(void)
{
	char *names[MAX_FLAG_BITS] = { 0 };
	int n = kt_btf_enum_names("req_flag_bits", "__REQ_", names, MAX_FLAG_BITS);
	uint32_t bits = 8;

	for (uint32_t i = 0; n >= 0 && i < MAX_FLAG_BITS; i++) {
		if (names[i]) {
			bits = i;
			break;
		}
	}
	for (int i = 0; i < MAX_FLAG_BITS; i++)
		free(names[i]);
	return bits;
}

static int configure(struct kt_ctx *ctx)
{
	struct biotop_bpf *skel = ctx->skel;
	struct biotop *t = ctx->priv;

	t->op_bits = op_bits();
	skel->rodata->cfg_dev = t->dev;
	skel->rodata->cfg_op_bits = t->op_bits;
	/* Linux 5.11 dropped the request_queue argument of block_rq_issue/insert */
	skel->rodata->cfg_rq_arg1 = kt_btf_tp_nargs("block_rq_issue") == 2;
	return 0;
}

struct entry {
	struct biotop_key key;
	struct biotop_val val;
};

static double avg_ns(const struct biotop_val *v)
{
	return v->lat_n ? (double)v->lat_ns / (double)v->lat_n : 0;
}

/* Ties fall back to bytes, then ios, then the key: the same input, the same order. */
static int cmp_rest(const struct entry *x, const struct entry *y)
{
	if (x->val.bytes != y->val.bytes)
		return x->val.bytes < y->val.bytes ? 1 : -1;
	if (x->val.ios != y->val.ios)
		return x->val.ios < y->val.ios ? 1 : -1;
	if (x->key.pid != y->key.pid)
		return x->key.pid < y->key.pid ? -1 : 1;
	if (x->key.dev != y->key.dev)
		return x->key.dev < y->key.dev ? -1 : 1;
	if (x->key.op != y->key.op)
		return x->key.op < y->key.op ? -1 : 1;
	return memcmp(x->key.comm, y->key.comm, sizeof(x->key.comm));
}

static int cmp_bytes(const void *a, const void *b)
{
	return cmp_rest(a, b);
}

static int cmp_ios(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->val.ios != y->val.ios)
		return x->val.ios < y->val.ios ? 1 : -1;
	return cmp_rest(x, y);
}

static int cmp_avg(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	double ax = avg_ns(&x->val), ay = avg_ns(&y->val);

	if (ax != ay)
		return ax < ay ? 1 : -1;
	return cmp_rest(x, y);
}

static const struct kt_col cols[] = {
	{ "pid", "PID", 7, KT_COL_LABEL },
	{ "comm", "COMM", -16, 0 },
	{ "disk", "DISK", -9, 0 },
	{ "rw", "T", -2, KT_COL_NOJSON },
	{ "op", "", 0, KT_COL_HIDDEN },
	{ "ios", "I/O", 7, KT_COL_COUNT },
	{ "kbytes", "KBYTES", 10, KT_COL_NOJSON },
	{ "bytes", "", 0, KT_COL_HIDDEN | KT_COL_COUNT },
	{ "avg_ms", "AVG(ms)", 9, 0 },
	{ "interval_s", "", 0, KT_COL_HIDDEN },
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

/* blktrace's letter of an operation: R, W, F(lush), D(iscard), E (secure erase), N otherwise. */
static const char *op_letter(uint32_t op)
{
	static const char *const letters[] = { "R", "W", "F", "D", "N", "E" };

	return op < sizeof(letters) / sizeof(letters[0]) ? letters[op] : "N";
}

static int drain(struct kt_ctx *ctx, bool final)
{
	static int (*const cmps[])(const void *, const void *) = { cmp_bytes, cmp_ios, cmp_avg };
	struct biotop_bpf *skel = ctx->skel;
	struct biotop *t = ctx->priv;
	uint64_t now = kt_now_mono();
	double secs = (double)(now - ctx->interval_start_ns) / 1e9;
	struct entry *e = NULL;
	size_t rows;
	int n;

	(void)final;
	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.counts), struct entry, key, val, true,
			   cmps[t->sort], &e);
	if (n < 0) {
		kt_err("reading the I/O counts failed: %s", strerror(-n));
		free(e);
		return n;
	}
	rows = t->top && t->top < (size_t)n ? t->top : (size_t)n;
	if (t->printed)
		kt_out_text(ctx->out, "\n");
	t->printed = true;
	kt_out_header(ctx->out, cols, NCOLS);
	for (size_t i = 0; i < rows; i++) {
		const struct biotop_key *k = &e[i].key;
		const struct biotop_val *v = &e[i].val;
		char disk[64];

		/* the interval's end: every row of one interval has the same time */
		kt_rec_begin(ctx->out, "row", cols, NCOLS, now);
		kt_rec_u64(ctx->out, k->pid);
		kt_rec_str(ctx->out, k->comm, sizeof(k->comm));
		kt_rec_str(ctx->out, kt_blkdev_name(k->dev, disk, sizeof(disk)), sizeof(disk));
		kt_rec_str(ctx->out, op_letter(k->op), 2);
		kt_rec_enum(ctx->out, kt_blk_op_name(k->op), k->op);
		kt_rec_u64(ctx->out, v->ios);
		kt_rec_u64(ctx->out, (v->bytes + 1023) / 1024);
		kt_rec_u64(ctx->out, v->bytes);
		if (v->lat_n)
			kt_rec_f64(ctx->out, avg_ns(v) / 1e6, 3);
		else
			kt_rec_none(ctx->out); /* no issue seen: no latency */
		kt_rec_f64(ctx->out, secs, 3);
		kt_rec_end(ctx->out);
	}
	if (n > 0 && rows < (size_t)n)
		kt_out_text(ctx->out, "(%zu more rows; --top 0 shows all)\n", (size_t)n - rows);
	free(e);
	kt_out_stacks_lost(ctx->out, "requests", kt_map_take_percpu_u64(bpf_map__fd(skel->maps.misses)),
			   "ktrace's kernel-side tables are full (in-flight requests or rows)",
			   "filter (-p, --cgroup, -b) or use longer intervals less often");
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

const struct kt_cmd kt_cmd_biotop = {
	.name = "biotop",
	.summary = "Top processes by block I/O: requests, kilobytes and latency per interval",
	.doc = "Show the processes doing block device I/O, like top: one row per process, disk "
	       "and operation (T: R read, W write, F flush, D discard) with the requests (I/O) "
	       "completed in the interval, their kilobytes and their average device latency "
	       "(issue to completion). Each request counts for the task that submitted it, not "
	       "the one running when it completed. The top 20 by bytes, every interval seconds "
	       "(default 1), count times. In the kernel: 16384 requests in flight (~2 MiB) and "
	       "10240 rows per interval (~1 MiB).\v"
	       "Examples:\n"
	       "  ktrace biotop                  # every second, top 20 by bytes\n"
	       "  ktrace biotop 5 3              # three 5-second screens\n"
	       "  ktrace biotop --sort avg -b sda  # the slowest requesters on sda\n"
	       "  ktrace biotop --top 0 -j 10 1  # every row of one 10 s interval, JSON Lines\n"
	       "  ktrace biotop --cgroup /sys/fs/cgroup/system.slice/mysql.service",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the task that submits the I/O",
	.kind = KT_SUMMARY,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct biotop),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.drain = drain,
	.tracing_msg = "Tracing block device I/O... Hit Ctrl-C to end.",
};
