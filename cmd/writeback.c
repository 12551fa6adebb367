// SPDX-License-Identifier: GPL-2.0
/*
 * writeback: dirty-page throttling and writeback work (`ktrace writeback 5`).
 *
 * Two tables every interval (or once at Ctrl-C): writers paused by
 * balance_dirty_pages() because too much memory is dirty, per process and
 * device (pauses, total and longest pause, dirty pages and the dirty limit
 * at the latest pause), with --hist a log2 histogram of the pauses per
 * process; and the flusher threads' writeback work per device and reason
 * (background, vmscan, sync, periodic, fs_free_space, ... as this kernel
 * names them), with runs, pages written and time. Hooks (probes/
 * writeback.bpf.c says how they differ between kernels): the
 * balance_dirty_pages tracepoint, and writeback_start/writeback_written as
 * tp_btf, raw_tp or tracepoint. Cost: nothing while little is written; one
 * hash update per pause and per writeback run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "btf_enum.h"
#include "features.h"
#include "hist.h"
#include "khz.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "stacks_out.h"
#include "util.h"
#include "writeback.h"
#include "writeback.skel.h"

#define MAX_REASONS 16

struct writeback {
	char *reasons[MAX_REASONS]; /* enum wb_reason names of this kernel, lowercase */
};

/* HZ (core/khz.h: the kernel's config, else measured); 0 when it cannot be told. */
static unsigned kernel_hz(void)
{
	static unsigned hz;
	static bool known;

	/* asked by the plan and by configure: measuring takes 100 ms, so once */
	if (!known) {
		hz = kt_kernel_hz(NULL);
		known = true;
	}
	return hz;
}

/* The raw balance_dirty_pages programs fit one argument layout, and need HZ. */
static const char *alt_unavailable(const struct kt_alt *alt)
{
	bool is_new = strstr(alt->prog, "bdp_") && strstr(alt->prog, "_new");
	bool is_old = strstr(alt->prog, "bdp_") && strstr(alt->prog, "_old");
	int nargs;

	if (!is_new && !is_old)
		return NULL;
	nargs = kt_btf_tp_nargs("balance_dirty_pages");
	if (is_new && nargs != 8)
		return "not this kernel's argument layout (8 arguments: newer 6.x)";
	if (is_old && nargs != 12)
		return "not this kernel's argument layout (12 arguments: 5.x and earlier 6.x)";
	/* no commas: check lists the alternatives comma-separated */
	if (!kernel_hz())
		return "the pause is in jiffies and this kernel's HZ is unknown (no kernel config and jiffies could not be timed in /proc/timer_list)";
	return NULL;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, writeback_bpf);
}

/* The reasons are numbered by the kernel's enum wb_reason, which has grown: read it. */
static int configure(struct kt_ctx *ctx)
{
	struct writeback_bpf *skel = ctx->skel;
	struct writeback *w = ctx->priv;
	int n = kt_btf_enum_names("wb_reason", "WB_REASON_", w->reasons, MAX_REASONS);

	skel->rodata->cfg_hz = kernel_hz();

	if (n < 0)
		kt_warn("no enum wb_reason in the kernel's BTF (%s): reasons are shown as numbers",
			strerror(-n));
	for (int i = 0; i < MAX_REASONS; i++)
		for (char *p = w->reasons[i]; p && *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	kt_meta_add(ctx, "kernel_notes",
		    "balance_dirty_pages: its raw arguments differ (12 up to 6.x, 8 in newer 6.x, "
		    "the pause in jiffies): the tracepoint record (pause in ms) comes first, "
		    "tp_btf/raw_tp need the layout and HZ; writeback_start/written: same "
		    "arguments on 5.10 and 6.x");
	return 0;
}

static const char *reason_name(struct writeback *w, uint32_t r)
{
	return r < MAX_REASONS && w->reasons[r] && strcmp(w->reasons[r], "max") ? w->reasons[r] : NULL;
}

/* "254:0" -> "vda" (the bdi of a disk is named by its device number). */
static void disk_name(const char *bdi, char *buf, size_t sz)
{
	unsigned maj, min;
	char end;

	if (sscanf(bdi, "%u:%u%c", &maj, &min, &end) == 2 && maj < 4096 && min < (1U << 20))
		kt_blkdev_name(maj << 20 | min, buf, sz);
	else
		snprintf(buf, sz, "-");
}

struct tentry {
	struct wb_throttle_key key;
	struct wb_throttle_val val;
};

struct wentry {
	struct wb_work_key key;
	struct wb_work_val val;
};

static int cmp_throttle(const void *a, const void *b)
{
	const struct tentry *x = a, *y = b;

	if (x->val.total_ms != y->val.total_ms)
		return x->val.total_ms > y->val.total_ms ? -1 : 1;
	return x->key.pid < y->key.pid ? -1 : x->key.pid > y->key.pid;
}

static int cmp_work(const void *a, const void *b)
{
	const struct wentry *x = a, *y = b;
	int c = strncmp(x->key.bdi, y->key.bdi, WB_NAME_LEN);

	if (c)
		return c;
	return x->key.reason < y->key.reason ? -1 : x->key.reason > y->key.reason;
}

static void throttle_table(struct kt_ctx *ctx, const struct tentry *e, size_t n)
{
	static const struct kt_col cols[] = {
		{ "pid", "PID", 7, KT_COL_LABEL },		 { "comm", "COMM", -16, 0 },
		{ "bdi", "BDI", -8, 0 },	 { "disk", "DISK", -8, 0 },
		{ "pauses", "PAUSES", 7, KT_COL_COUNT }, { "total_ms", "TOTAL_ms", 9, KT_COL_COUNT },
		{ "max_ms", "MAX_ms", 7, 0 },	 { "dirty_pages", "DIRTY", 9, 0 },
		{ "limit_pages", "LIMIT", 9, 0 },
	};
	char disk[32];

	kt_table_begin(ctx->out, "throttled", "Dirty-page throttling (balance_dirty_pages pauses):",
		       cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < n; i++) {
		kt_table_row(ctx->out);
		kt_rec_u64(ctx->out, e[i].key.pid);
		kt_rec_str(ctx->out, e[i].val.comm, sizeof(e[i].val.comm));
		kt_rec_str(ctx->out, e[i].key.bdi, sizeof(e[i].key.bdi));
		disk_name(e[i].key.bdi, disk, sizeof(disk));
		kt_rec_str(ctx->out, disk, sizeof(disk));
		kt_rec_u64(ctx->out, e[i].val.count);
		kt_rec_u64(ctx->out, e[i].val.total_ms);
		kt_rec_u64(ctx->out, e[i].val.max_ms);
		kt_rec_u64(ctx->out, e[i].val.dirty);
		kt_rec_u64(ctx->out, e[i].val.limit);
		kt_rec_end(ctx->out);
	}
	kt_table_end(ctx->out);
}

static void work_table(struct kt_ctx *ctx, const struct wentry *e, size_t n)
{
	static const struct kt_col cols[] = {
		{ "bdi", "BDI", -8, 0 },	  { "disk", "DISK", -8, 0 },
		{ "reason", "REASON", -14, 0 },	  { "runs", "RUNS", 6, KT_COL_COUNT },
		{ "pages", "PAGES", 9, KT_COL_COUNT },	  { "total", "TOTAL_ms", 11, KT_COL_NOJSON },
		{ "max", "MAX_ms", 10, KT_COL_NOJSON }, { "total_ns", "", 0, KT_COL_HIDDEN | KT_COL_COUNT },
		{ "max_ns", "", 0, KT_COL_HIDDEN },
	};
	struct writeback *w = ctx->priv;
	char disk[32];

	kt_table_begin(ctx->out, "writeback", "Writeback work per device and reason:", cols,
		       sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < n; i++) {
		kt_table_row(ctx->out);
		kt_rec_str(ctx->out, e[i].key.bdi, sizeof(e[i].key.bdi));
		disk_name(e[i].key.bdi, disk, sizeof(disk));
		kt_rec_str(ctx->out, disk, sizeof(disk));
		kt_rec_enum(ctx->out, reason_name(w, e[i].key.reason), e[i].key.reason);
		kt_rec_u64(ctx->out, e[i].val.count);
		kt_rec_u64(ctx->out, e[i].val.pages);
		kt_rec_f64(ctx->out, (double)e[i].val.total_ns / 1e6, 3);
		kt_rec_f64(ctx->out, (double)e[i].val.max_ns / 1e6, 3);
		kt_rec_u64(ctx->out, e[i].val.total_ns);
		kt_rec_u64(ctx->out, e[i].val.max_ns);
		kt_rec_end(ctx->out);
	}
	kt_table_end(ctx->out);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct writeback_bpf *skel = ctx->skel;
	struct tentry *t = NULL;
	struct wentry *e = NULL;
	uint64_t now = kt_now_mono();
	int nt, nw;

	(void)final;
	nt = KT_MAP_COLLECT(bpf_map__fd(skel->maps.throttles), struct tentry, key, val, true,
			    cmp_throttle, &t);
	nw = KT_MAP_COLLECT(bpf_map__fd(skel->maps.works), struct wentry, key, val, true, cmp_work,
			    &e);
	if (nt < 0 || nw < 0) {
		kt_err("reading the writeback tables failed: %s", strerror(nt < 0 ? -nt : -nw));
		free(t);
		free(e);
		return nt < 0 ? nt : nw;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	throttle_table(ctx, t, (size_t)nt);
	work_table(ctx, e, (size_t)nw);
	for (size_t i = 0; ctx->o.hist && i < (size_t)nt; i++) {
		struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS,
				     (const uint64_t *)t[i].val.slots.slots };
		char comm[KT_TASK_COMM_LEN + 1], bdi[WB_NAME_LEN + 1];
		struct kt_kv keys[3] = {
			{ "pid", NULL, t[i].key.pid }, { "comm", comm, 0 }, { "bdi", bdi, 0 },
		};

		memcpy(comm, t[i].val.comm, KT_TASK_COMM_LEN);
		comm[KT_TASK_COMM_LEN] = 0;
		memcpy(bdi, t[i].key.bdi, WB_NAME_LEN);
		bdi[WB_NAME_LEN] = 0;
		kt_out_hist(ctx->out, "msecs", keys, 3, &h, ctx->interval_start_ns, now);
	}
	free(t);
	free(e);
	kt_out_stacks_lost(ctx->out, "throttling pauses and writeback runs",
			   kt_map_take_percpu_u64(bpf_map__fd(skel->maps.misses)),
			   "ktrace's kernel-side tables are full",
			   "filter the writers (-p, -u, --cgroup) or use a shorter interval");
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	struct writeback *w = ctx->priv;

	for (int i = 0; w && i < MAX_REASONS; i++)
		free(w->reasons[i]);
}

/* written before start: attached first, so no start waits for a missing end */
static const struct kt_hook hooks[] = {
	{ "writeback_written", false,
	  { { KT_TP_BTF, "writeback_written", "written_btf" },
	    { KT_RAW_TP, "writeback_written", "written_raw" },
	    { KT_TRACEPOINT, "writeback/writeback_written", "written_tp" } } },
	{ "writeback_start", false,
	  { { KT_TP_BTF, "writeback_start", "start_btf" },
	    { KT_RAW_TP, "writeback_start", "start_raw" },
	    { KT_TRACEPOINT, "writeback/writeback_start", "start_tp" } } },
	/* the trace record first: the raw arguments differ between kernels (alt_unavailable) */
	{ "balance_dirty_pages", false,
	  { { KT_TRACEPOINT, "writeback/balance_dirty_pages", "bdp_tp" },
	    { KT_TP_BTF, "balance_dirty_pages", "bdp_btf_new" },
	    { KT_TP_BTF, "balance_dirty_pages", "bdp_btf_old" },
	    { KT_RAW_TP, "balance_dirty_pages", "bdp_raw_new" },
	    { KT_RAW_TP, "balance_dirty_pages", "bdp_raw_old" } } },
};

const struct kt_cmd kt_cmd_writeback = {
	.modes = KT_M_HIST,
	.hist_help = "A log2 histogram of the throttling pauses per process",
	.name = "writeback",
	.summary = "Dirty-page throttling of writers, and writeback work per device and reason",
	.doc = "Summarize dirty-page writeback: the pauses balance_dirty_pages() imposes on "
	       "writers when too much memory is dirty (per process and device: pauses, total and "
	       "longest pause in ms, dirty pages and the dirty limit), and the flusher threads' "
	       "writeback work per device and reason (background, sync, periodic, vmscan, ...): "
	       "runs, pages written and time. Printed every interval seconds, count times, or once "
	       "at Ctrl-C. Filters select the throttled writer; the work table is per device.\v"
	       "Examples:\n"
	       "  ktrace writeback              # totals at Ctrl-C\n"
	       "  ktrace writeback 5            # every 5 seconds\n"
	       "  ktrace writeback --hist -p 1234  # pauses of one process, with histograms\n"
	       "  ktrace writeback -j 10 1      # one 10 s interval as JSON Lines",
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the throttled writer; writeback work is not filtered",
	.kind = KT_SUMMARY,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct writeback),
	.alt_unavailable = alt_unavailable,
	.open = open_skel,
	.configure = configure,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing writeback and dirty throttling... Hit Ctrl-C to end.",
};
