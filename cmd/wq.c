// SPDX-License-Identifier: GPL-2.0
/*
 * wq: work items per work function and workqueue (`ktrace wq 1 5`).
 *
 * One table every interval (or once at Ctrl-C): per work function (named
 * from /proc/kallsyms) and workqueue, how many items ran, their total and
 * maximum run time (workqueue_execute_start to _end) and their average and
 * maximum queueing delay (workqueue_queue_work to execute_start); --hist
 * adds a log2 histogram of each. Times are microseconds (-m: milliseconds)
 * in text, nanoseconds in JSON. Items queued before ktrace started (or
 * forgotten by its bounded pending table) run with no delay and no
 * workqueue name: "queued" in JSON counts the items that have both. Hooks:
 * workqueue_queue_work, _execute_start and _execute_end, each tp_btf with
 * a raw_tp fallback. Kernel memory: about 4 MiB of maps (probes/wq.bpf.c).
 * Cost: a few hundred nanoseconds per queued and per run work item.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "caps.h"
#include "hist.h"
#include "ksyms.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "stacks_out.h"
#include "util.h"
#include "wq.h"
#include "wq.skel.h"

struct wq {
	struct kt_ksyms_lazy ks;
};

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, wq_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct wq_bpf *skel = ctx->skel;

	skel->rodata->cfg_ms = ctx->o.ms;
	return 0;
}

static int start(struct kt_ctx *ctx)
{
	struct wq *w = ctx->priv;

	w->ks.lost = "work functions are shown as addresses";
	return 0;
}

struct entry {
	struct wq_key key;
	struct wq_val val;
};

/* by total run time (largest first), then by function and workqueue */
static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->val.run_ns != y->val.run_ns)
		return x->val.run_ns > y->val.run_ns ? -1 : 1;
	if (x->key.func != y->key.func)
		return x->key.func < y->key.func ? -1 : 1;
	return strncmp(x->key.wq, y->key.wq, WQ_NAME_LEN);
}

enum {
	C_FUNC,
	C_MODULE,
	C_WQ,
	C_COUNT,
	C_RUN_TOTAL,
	C_RUN_AVG,
	C_RUN_MAX,
	C_DELAY_AVG,
	C_DELAY_MAX,
	C_ADDR,
	C_QUEUED,
	C_RUN_TOTAL_NS,
	C_RUN_MAX_NS,
	C_DELAY_TOTAL_NS,
	C_DELAY_MAX_NS,
	C_N
};

static void row(struct kt_ctx *ctx, const struct entry *e, double div)
{
	struct wq *w = ctx->priv;
	const struct wq_val *v = &e->val;
	char func[160], addr[24];
	const char *mod;

	kt_ksyms_fmt(kt_ksyms_lazy_get(&w->ks), e->key.func, func, sizeof(func), &mod);
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)e->key.func);
	kt_table_row(ctx->out);
	kt_rec_str(ctx->out, func, sizeof(func));
	if (mod)
		kt_rec_str(ctx->out, mod, strlen(mod));
	else
		kt_rec_none(ctx->out);
	if (e->key.wq[0])
		kt_rec_str(ctx->out, e->key.wq, WQ_NAME_LEN);
	else
		kt_rec_none(ctx->out);
	kt_rec_u64(ctx->out, v->count);
	kt_rec_f64(ctx->out, (double)v->run_ns / div, 1);
	kt_rec_f64(ctx->out, v->count ? (double)v->run_ns / v->count / div : 0, 1);
	kt_rec_f64(ctx->out, (double)v->run_max_ns / div, 1);
	if (v->queued) {
		kt_rec_f64(ctx->out, (double)v->delay_ns / v->queued / div, 1);
		kt_rec_f64(ctx->out, (double)v->delay_max_ns / div, 1);
	} else {
		kt_rec_none(ctx->out);
		kt_rec_none(ctx->out);
	}
	kt_rec_str(ctx->out, addr, strlen(addr));
	kt_rec_u64(ctx->out, v->queued);
	kt_rec_u64(ctx->out, v->run_ns);
	kt_rec_u64(ctx->out, v->run_max_ns);
	kt_rec_u64(ctx->out, v->delay_ns);
	kt_rec_u64(ctx->out, v->delay_max_ns);
	kt_rec_end(ctx->out);
}

static void hists(struct kt_ctx *ctx, const struct entry *e, uint64_t now)
{
	struct wq *w = ctx->priv;
	const char *unit = ctx->o.ms ? "msecs" : "usecs";
	char func[160];
	struct kt_kv keys[3] = {
		{ "func", kt_ksyms_fmt(kt_ksyms_lazy_get(&w->ks), e->key.func, func, sizeof(func), NULL), 0 },
		{ "workqueue", e->key.wq[0] ? e->key.wq : "-", 0 },
		{ "time", "run", 0 },
	};
	struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS,
			     (const uint64_t *)e->val.run_slots.slots };
	char wq[WQ_NAME_LEN + 1];

	memcpy(wq, e->key.wq, WQ_NAME_LEN);
	wq[WQ_NAME_LEN] = 0;
	if (wq[0])
		keys[1].str = wq;
	kt_out_hist(ctx->out, unit, keys, 3, &h, ctx->interval_start_ns, now);
	if (!e->val.queued)
		return;
	keys[2].str = "queue delay";
	h.slots = (const uint64_t *)e->val.delay_slots.slots;
	kt_out_hist(ctx->out, unit, keys, 3, &h, ctx->interval_start_ns, now);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct wq_bpf *skel = ctx->skel;
	struct entry *e = NULL;
	uint64_t now = kt_now_mono();
	struct kt_col cols[C_N] = {
		[C_FUNC] = { "func", "FUNCTION", -30, 0 },
		[C_MODULE] = { "module", "", 0, KT_COL_HIDDEN },
		[C_WQ] = { "workqueue", "WORKQUEUE", -22, 0 },
		[C_COUNT] = { "count", "COUNT", 8, KT_COL_COUNT },
		[C_RUN_TOTAL] = { "run_total", ctx->o.ms ? "RUN_msecs" : "RUN_usecs", 12, KT_COL_NOJSON },
		[C_RUN_AVG] = { "run_avg", "RUN_AVG", 10, KT_COL_NOJSON },
		[C_RUN_MAX] = { "run_max", "RUN_MAX", 10, KT_COL_NOJSON },
		[C_DELAY_AVG] = { "delay_avg", "DELAY_AVG", 10, KT_COL_NOJSON },
		[C_DELAY_MAX] = { "delay_max", "DELAY_MAX", 10, KT_COL_NOJSON },
		[C_ADDR] = { "func_addr", "", 0, KT_COL_HIDDEN },
		[C_QUEUED] = { "queued", "", 0, KT_COL_HIDDEN | KT_COL_COUNT },
		[C_RUN_TOTAL_NS] = { "run_total_ns", "", 0, KT_COL_HIDDEN | KT_COL_COUNT },
		[C_RUN_MAX_NS] = { "run_max_ns", "", 0, KT_COL_HIDDEN },
		[C_DELAY_TOTAL_NS] = { "delay_total_ns", "", 0, KT_COL_HIDDEN | KT_COL_COUNT },
		[C_DELAY_MAX_NS] = { "delay_max_ns", "", 0, KT_COL_HIDDEN },
	};
	double div = ctx->o.ms ? 1e6 : 1e3;
	int n;

	(void)final;
	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.stats), struct entry, key, val, true, cmp_entry,
			   &e);
	if (n < 0) {
		kt_err("reading the work item table failed: %s", strerror(-n));
		free(e);
		return n;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	kt_table_begin(ctx->out, "work", "Work items:", cols, C_N);
	for (int i = 0; i < n; i++)
		row(ctx, &e[i], div);
	kt_table_end(ctx->out);
	for (int i = 0; ctx->o.hist && i < n; i++)
		hists(ctx, &e[i], now);
	free(e);
	kt_out_stacks_lost(ctx->out, "work item runs",
			   kt_map_take_percpu_u64(bpf_map__fd(skel->maps.misses)),
			   "ktrace's kernel-side table of work functions is full",
			   "use a shorter interval");
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	struct wq *w = ctx->priv;

	if (w)
		kt_ksyms_free(w->ks.ks);
}

static const struct kt_hook hooks[] = {
	{ "workqueue_queue_work", false,
	  { { KT_TP_BTF, "workqueue_queue_work", "queue_btf" },
	    { KT_RAW_TP, "workqueue_queue_work", "queue_raw" } } },
	{ "workqueue_execute_start", false,
	  { { KT_TP_BTF, "workqueue_execute_start", "start_btf" },
	    { KT_RAW_TP, "workqueue_execute_start", "start_raw" } } },
	{ "workqueue_execute_end", false,
	  { { KT_TP_BTF, "workqueue_execute_end", "end_btf" },
	    { KT_RAW_TP, "workqueue_execute_end", "end_raw" } } },
};

const struct kt_cmd kt_cmd_wq = {
	.modes = KT_M_MS | KT_M_HIST,
	.hist_help = "Log2 histograms of the run time and of the queueing delay per work function",
	.name = "wq",
	.summary = "Work items per work function and workqueue: count, run time, queueing delay",
	.doc = "Summarize the kernel's deferred work: per work function (a kernel symbol) and "
	       "workqueue, how many work items ran, their total, average and maximum run time, "
	       "and their average and maximum queueing delay (from queue_work to the start of the "
	       "run). Printed every interval seconds, count times, or once at Ctrl-C. Work items "
	       "run in kernel workers for no particular task: there are no task filters. Kernel "
	       "memory: about 4 MiB of BPF maps (2048 functions x workqueues, 16384 pending items, "
	       "4096 running items).\v"
	       "Examples:\n"
	       "  ktrace wq                     # totals at Ctrl-C\n"
	       "  ktrace wq 1 10                # every second, 10 times\n"
	       "  ktrace wq --hist -m 5         # histograms in milliseconds, every 5 s\n"
	       "  ktrace wq -j 10 1             # 10 seconds, JSON Lines",
	.kind = KT_SUMMARY,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct wq),
	.caps_better = KT_CAP(KT_CAP_SYSLOG),
	.open = open_skel,
	.configure = configure,
	.start = start,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing work items... Hit Ctrl-C to end.",
};
