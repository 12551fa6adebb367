// SPDX-License-Identifier: GPL-2.0
/*
 * memstall: time tasks spend stalled in the kernel's memory paths
 * (`ktrace memstall 5`).
 *
 * Direct reclaim, memory-cgroup reclaim and compaction, each a begin/end
 * tracepoint pair run by the stalled task (probes/memstall.bpf.c says which
 * and how they differ between kernels). Every interval (or once at Ctrl-C):
 * a table per process (and kind and memory cgroup) and one per memory
 * cgroup, with count, total and max time and pages reclaimed; a pressure
 * table with the PSI memory totals (/proc/pressure/memory, and each
 * cgroup-v2 memory cgroup's memory.pressure) and their share of the
 * interval; --hist a log2 histogram per kind. --slower MS streams single
 * stalls instead. Memory cgroups are named by their path in the memory
 * controller's hierarchy (v1 or v2; core/cgname.h). Each tracepoint has
 * tp_btf, raw_tp and tracepoint alternatives. Cost: a few hundred
 * nanoseconds per stall; nothing when memory is plentiful.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgname.h"
#include "hist.h"
#include "ktrace.h"
#include "maps.h"
#include "memstall.h"
#include "memstall.skel.h"
#include "output.h"
#include "util.h"

#define PSI_PREV_MAX 256

struct memstall {
	uint64_t slower_ns;
	struct kt_cgnames *cg;
	struct kt_psi sys_prev;
	bool sys_ok;
	struct {
		uint64_t id;
		struct kt_psi psi;
		uint64_t at;
	} prev[PSI_PREV_MAX];
	size_t n_prev;
};

enum { OPT_SLOWER = 0x2200 };

static const struct argp_option options[] = {
	{ "slower", OPT_SLOWER, "MS", 0,
	  "Stream each stall of at least MS milliseconds instead of the tables", 0 },
	{},
};

static const char *const kind_names[MS_KINDS] = {
	[MS_DIRECT] = "direct_reclaim",
	[MS_MEMCG] = "memcg_reclaim",
	[MS_COMPACT] = "compaction",
};

static const char *kind_name(uint32_t k)
{
	return k < MS_KINDS ? kind_names[k] : NULL;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct memstall *m = ctx->priv;
	char *end;
	double ms;

	switch (key) {
	case OPT_SLOWER:
		errno = 0;
		ms = strtod(arg, &end);
		if (errno || end == arg || *end || !(ms >= 0) || ms > 1e9)
			argp_error(state, "--slower: '%s' is not a number of milliseconds (e.g. 10, 0.5)",
				   arg);
		/* 0 ms: every stall (1 ns keeps the stream on) */
		m->slower_ns = ms * 1e6 < 1 ? 1 : (uint64_t)(ms * 1e6);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static int validate(struct kt_ctx *ctx)
{
	struct memstall *m = ctx->priv;

	if (ctx->o.hist && m->slower_ns) {
		kt_err("--hist and --slower exclude each other: --slower streams single stalls");
		return -EINVAL;
	}
	if (!m->slower_ns) {
		/* the tables are counted in the kernel: no records, drops are stalls not counted */
		ctx->counted_in_kernel = true;
		ctx->counted_what = "memory stalls";
		ctx->lost_why = "ktrace's kernel-side tables are full";
		ctx->lost_fix = "filter (-p, -u, --cgroup) or use a shorter interval";
	}
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, memstall_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct memstall_bpf *skel = ctx->skel;
	struct memstall *m = ctx->priv;

	skel->rodata->cfg_slower_ns = m->slower_ns;
	/* what differs between kernels, for whoever reads the evidence */
	kt_meta_add(ctx, "kernel_notes",
		    "reclaim tracepoints: same arguments on 5.10 and 6.x; cgroup v1 and v2 memcg "
		    "reclaim share mm_vmscan_memcg_reclaim_*; compaction arguments changed "
		    "(5.10 pfns, 6.x compact_control) and are not read");
	return 0;
}

static struct kt_col ev_cols[] = {
	{ "pid", "PID", 7, 0 },	       { "tid", "TID", 7, 0 },
	{ "comm", "COMM", -16, 0 },    { "kind", "KIND", -15, 0 },
	{ "ms", "LAT_ms", 10, 0 },     { "pages", "PAGES", 8, 0 },
	{ "order", "ORDER", 5, 0 },    { "memcg", "MEMCG", 0, 0 },
	{ "memcg_id", "", 0, KT_COL_HIDDEN },
};
#define N_EV_COLS (sizeof(ev_cols) / sizeof(ev_cols[0]))

static void rec_memcg(struct kt_ctx *ctx, uint64_t id)
{
	struct memstall *m = ctx->priv;
	const char *p = kt_cgnames_path(m->cg, id);

	if (p)
		kt_rec_str(ctx->out, p, strlen(p));
	else
		kt_rec_none(ctx->out);
	kt_rec_u64(ctx->out, id);
}

static int start(struct kt_ctx *ctx)
{
	struct memstall *m = ctx->priv;
	int err;

	/* here, not in configure: a --record tape has what these read from here on */
	err = kt_cgnames_open(&m->cg, "memory");
	if (err)
		kt_warn("no memory cgroup hierarchy is mounted (%s): memory cgroups are shown by id",
			strerror(-err));
	m->sys_ok = !kt_psi_read("/proc/pressure/memory", &m->sys_prev);
	if (m->slower_ns)
		kt_out_header(ctx->out, ev_cols, N_EV_COLS);
	return 0;
}

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct memstall_event *e = data;

	(void)size;
	kt_rec_begin(ctx->out, "event", ev_cols, N_EV_COLS, e->hdr.ts);
	kt_rec_u64(ctx->out, e->hdr.pid);
	kt_rec_u64(ctx->out, e->hdr.tid);
	kt_rec_str(ctx->out, e->hdr.comm, sizeof(e->hdr.comm));
	kt_rec_enum(ctx->out, kind_name(e->kind), e->kind);
	kt_rec_f64(ctx->out, (double)e->delta_ns / 1e6, 3);
	kt_rec_u64(ctx->out, e->pages);
	if (e->order >= 0)
		kt_rec_i64(ctx->out, e->order);
	else
		kt_rec_none(ctx->out);
	rec_memcg(ctx, e->memcg);
	kt_rec_end(ctx->out);
	return 0;
}

struct entry {
	struct memstall_key key;
	struct memstall_val val;
};

static int cmp_total(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->val.total_ns != y->val.total_ns)
		return x->val.total_ns > y->val.total_ns ? -1 : 1;
	if (x->key.pid != y->key.pid)
		return x->key.pid < y->key.pid ? -1 : 1;
	return x->key.kind < y->key.kind ? -1 : x->key.kind > y->key.kind;
}

static int cmp_memcg(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->key.memcg != y->key.memcg)
		return x->key.memcg < y->key.memcg ? -1 : 1;
	return x->key.kind < y->key.kind ? -1 : x->key.kind > y->key.kind;
}

static void put_stats(struct kt_out *out, const struct memstall_val *v)
{
	kt_rec_u64(out, v->count);
	kt_rec_f64(out, (double)v->total_ns / 1e6, 3);
	kt_rec_f64(out, (double)v->max_ns / 1e6, 3);
	kt_rec_u64(out, v->pages);
	kt_rec_u64(out, v->total_ns);
	kt_rec_u64(out, v->max_ns);
}

#define STAT_COLS                                                                                  \
	{ "count", "COUNT", 8, KT_COL_COUNT }, { "total", "TOTAL_ms", 12, KT_COL_NOJSON },                    \
		{ "max", "MAX_ms", 10, KT_COL_NOJSON }, { "pages", "PAGES", 9, KT_COL_COUNT },                \
		{ "total_ns", "", 0, KT_COL_HIDDEN | KT_COL_COUNT }, { "max_ns", "", 0, KT_COL_HIDDEN }

static void process_table(struct kt_ctx *ctx, struct entry *e, size_t n)
{
	static const struct kt_col cols[] = {
		{ "pid", "PID", 7, KT_COL_LABEL },	   { "comm", "COMM", -16, 0 },
		{ "kind", "KIND", -15, 0 }, STAT_COLS,
		{ "memcg", "MEMCG", 0, 0 }, { "memcg_id", "", 0, KT_COL_HIDDEN },
	};

	kt_qsort(e, n, sizeof(*e), cmp_total);
	kt_table_begin(ctx->out, "processes", "Stalls per process:", cols,
		       sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < n; i++) {
		kt_table_row(ctx->out);
		kt_rec_u64(ctx->out, e[i].key.pid);
		kt_rec_str(ctx->out, e[i].val.comm, sizeof(e[i].val.comm));
		kt_rec_enum(ctx->out, kind_name(e[i].key.kind), e[i].key.kind);
		put_stats(ctx->out, &e[i].val);
		rec_memcg(ctx, e[i].key.memcg);
		kt_rec_end(ctx->out);
	}
	kt_table_end(ctx->out);
}

/* Rows merged per memory cgroup and kind (e sorted by cmp_memcg). */
static void memcg_table(struct kt_ctx *ctx, struct entry *e, size_t n)
{
	static const struct kt_col cols[] = {
		{ "memcg", "MEMCG", -40, 0 }, { "memcg_id", "", 0, KT_COL_HIDDEN },
		{ "kind", "KIND", -15, 0 },    STAT_COLS,
	};

	kt_qsort(e, n, sizeof(*e), cmp_memcg);
	kt_table_begin(ctx->out, "memcgs", "Stalls per memory cgroup:", cols,
		       sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < n;) {
		struct memstall_val v = e[i].val;
		size_t j = i + 1;

		for (; j < n && e[j].key.memcg == e[i].key.memcg && e[j].key.kind == e[i].key.kind;
		     j++) {
			v.count += e[j].val.count;
			v.total_ns += e[j].val.total_ns;
			v.pages += e[j].val.pages;
			if (e[j].val.max_ns > v.max_ns)
				v.max_ns = e[j].val.max_ns;
		}
		kt_table_row(ctx->out);
		rec_memcg(ctx, e[i].key.memcg);
		kt_rec_enum(ctx->out, kind_name(e[i].key.kind), e[i].key.kind);
		put_stats(ctx->out, &v);
		kt_rec_end(ctx->out);
		i = j;
	}
	kt_table_end(ctx->out);
}

static const struct kt_col psi_cols[] = {
	{ "scope", "PRESSURE", -40, 0 },
	{ "memcg_id", "", 0, KT_COL_HIDDEN },
	{ "some_pct", "SOME_%", 8, 0 },
	{ "full_pct", "FULL_%", 8, 0 },
	{ "some_total_us", "SOME_TOTAL_us", 15, 0 },
	{ "full_total_us", "FULL_TOTAL_us", 15, 0 },
};

/* One pressure row: cumulative totals, and the share of the interval when prev is known. */
static void psi_row(struct kt_ctx *ctx, const char *scope, uint64_t id, const struct kt_psi *now,
		    const struct kt_psi *prev, uint64_t span_ns)
{
	struct kt_out *out = ctx->out;

	kt_table_row(out);
	if (scope)
		kt_rec_str(out, scope, strlen(scope));
	else
		kt_rec_none(out);
	if (id)
		kt_rec_u64(out, id);
	else
		kt_rec_none(out);
	if (prev && span_ns && now->some_us >= prev->some_us)
		kt_rec_f64(out, 100.0 * (double)(now->some_us - prev->some_us) * 1e3 / (double)span_ns, 2);
	else
		kt_rec_none(out);
	if (prev && span_ns && now->has_full && now->full_us >= prev->full_us)
		kt_rec_f64(out, 100.0 * (double)(now->full_us - prev->full_us) * 1e3 / (double)span_ns, 2);
	else
		kt_rec_none(out);
	kt_rec_u64(out, now->some_us);
	if (now->has_full)
		kt_rec_u64(out, now->full_us);
	else
		kt_rec_none(out);
	kt_rec_end(out);
}

/* The system's and each v2 memory cgroup's PSI memory totals (e sorted by cmp_memcg). */
static void pressure_table(struct kt_ctx *ctx, const struct entry *e, size_t n, uint64_t now_ns)
{
	struct memstall *m = ctx->priv;
	struct kt_psi cur;

	kt_table_begin(ctx->out, "pressure", "Memory pressure (PSI):", psi_cols,
		       sizeof(psi_cols) / sizeof(psi_cols[0]));
	if (m->sys_ok && !kt_psi_read("/proc/pressure/memory", &cur)) {
		psi_row(ctx, "system", 0, &cur, &m->sys_prev, now_ns - ctx->interval_start_ns);
		m->sys_prev = cur;
	}
	for (size_t i = 0; m->cg && i < n; i++) {
		const struct kt_psi *prev = NULL;
		size_t k;

		if (!e[i].key.memcg || (i && e[i - 1].key.memcg == e[i].key.memcg))
			continue;
		if (kt_cgnames_psi(m->cg, e[i].key.memcg, "memory.pressure", &cur))
			continue;
		for (k = 0; k < m->n_prev && m->prev[k].id != e[i].key.memcg; k++)
			;
		if (k < m->n_prev)
			prev = &m->prev[k].psi;
		psi_row(ctx, kt_cgnames_path(m->cg, e[i].key.memcg), e[i].key.memcg, &cur, prev,
			prev ? now_ns - m->prev[k].at : 0);
		if (k == m->n_prev && m->n_prev < PSI_PREV_MAX)
			m->n_prev++;
		if (k < m->n_prev)
			m->prev[k] = (typeof(m->prev[k])){ e[i].key.memcg, cur, now_ns };
	}
	kt_table_end(ctx->out);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct memstall_bpf *skel = ctx->skel;
	struct memstall *m = ctx->priv;
	struct entry *e = NULL;
	uint64_t now = kt_now_mono();
	int n;

	(void)final;
	if (m->slower_ns)
		return 0;
	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.stats), struct entry, key, val, true, NULL, &e);
	if (n < 0) {
		kt_err("reading the memory stalls failed: %s", strerror(-n));
		free(e);
		return n;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	process_table(ctx, e, (size_t)n);
	memcg_table(ctx, e, (size_t)n);
	pressure_table(ctx, e, (size_t)n, now);
	for (uint32_t k = 0; ctx->o.hist && k < MS_KINDS; k++) {
		uint64_t slots[KT_MAX_SLOTS] = { 0 };
		struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS, slots };
		struct kt_kv key = { "kind", kind_name(k), 0 };
		bool any = false;

		for (size_t i = 0; i < (size_t)n; i++) {
			if (e[i].key.kind != k)
				continue;
			any = true;
			for (size_t s = 0; s < KT_MAX_SLOTS; s++)
				slots[s] += e[i].val.slots.slots[s];
		}
		if (any)
			kt_out_hist(ctx->out, "usecs", &key, 1, &h, ctx->interval_start_ns, now);
	}
	for (size_t i = 0; i < (size_t)n; i++)
		ctx->counted += e[i].val.count;
	free(e);
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	struct memstall *m = ctx->priv;

	if (m)
		kt_cgnames_free(m->cg);
}

/* Ends first: attached before their begins, so no begin waits for a missing end. */
#define MS_HOOK(hook, tp, cat, prog)                                                               \
	{ hook, false,                                                                             \
	  { { KT_TP_BTF, tp, prog "_btf" },                                                        \
	    { KT_RAW_TP, tp, prog "_raw" },                                                        \
	    { KT_TRACEPOINT, cat "/" tp, prog "_tp" } } }

static const struct kt_hook hooks[] = {
	MS_HOOK("direct_reclaim_end", "mm_vmscan_direct_reclaim_end", "vmscan", "direct_reclaim_end"),
	MS_HOOK("memcg_reclaim_end", "mm_vmscan_memcg_reclaim_end", "vmscan", "memcg_reclaim_end"),
	MS_HOOK("compaction_end", "mm_compaction_end", "compaction", "compact_end"),
	MS_HOOK("direct_reclaim_begin", "mm_vmscan_direct_reclaim_begin", "vmscan",
		"direct_reclaim_begin"),
	MS_HOOK("memcg_reclaim_begin", "mm_vmscan_memcg_reclaim_begin", "vmscan",
		"memcg_reclaim_begin"),
	MS_HOOK("compaction_begin", "mm_compaction_begin", "compaction", "compact_begin"),
};

const struct kt_cmd kt_cmd_memstall = {
	.modes = KT_M_HIST,
	.hist_help = "A log2 histogram of the stall time per kind",
	.name = "memstall",
	.summary = "Time tasks stall in memory reclaim and compaction, per process and memory cgroup",
	.doc = "Summarize the time tasks spend stalled in the kernel's memory paths: direct "
	       "reclaim, memory-cgroup reclaim (over a cgroup's limit) and compaction. Tables per "
	       "process and per memory cgroup (by path) with count, total and maximum time and "
	       "pages reclaimed, and the PSI memory pressure of the system and of each cgroup-v2 "
	       "memory cgroup seen (share of the interval stalled). Printed every interval "
	       "seconds, count times, or once at Ctrl-C. Filters select the stalled task.\v"
	       "Examples:\n"
	       "  ktrace memstall               # totals at Ctrl-C\n"
	       "  ktrace memstall 5             # every 5 seconds\n"
	       "  ktrace memstall --hist -j 10 1  # histograms per kind, JSON, one 10 s interval\n"
	       "  ktrace memstall --slower 10   # each stall of 10 ms or more\n"
	       "  ktrace memstall -p 1234       # one process",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the stalled task",
	.kind = KT_STREAM,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct memstall),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.start = start,
	.handle = handle,
	.min_record = sizeof(struct memstall_event),
	.ringbuf_default = 256 << 10,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing memory stalls... Hit Ctrl-C to end.",
};
