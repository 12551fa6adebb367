// SPDX-License-Identifier: GPL-2.0
/*
 * irq: time spent in hard-IRQ handlers and soft-IRQs (`ktrace irq 1 5`).
 *
 * Two tables every interval (or once at Ctrl-C): hard IRQs by number and
 * handler name, soft-IRQs by vector (NET_RX, TIMER, ...), each with count,
 * total and max time; --hist adds a log2 histogram per row, --per-cpu splits
 * every row per CPU. Times are microseconds (-m: milliseconds) in text, and
 * nanoseconds (total_ns, max_ns) in JSON. Hooks: irq_handler_entry/exit and
 * softirq_entry/exit, each tp_btf with a raw_tp fallback. Cost: softirqs
 * run thousands of times per second per CPU on a busy network server, each
 * event costs a few hundred nanoseconds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hist.h"
#include "irq.h"
#include "irq.skel.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "stacks_out.h"
#include "util.h"

struct irq {
	bool per_cpu;
};

enum { OPT_PER_CPU = 0x2100 };

static const struct argp_option options[] = {
	{ "per-cpu", OPT_PER_CPU, NULL, 0, "One row (and histogram) per CPU", 0 },
	{},
};

/*
 * Soft-IRQ vectors in the kernel's ABI order (enum in include/linux/interrupt.h,
 * the same numbers the softirq tracepoints and /proc/softirqs use; IRQ_POLL
 * was BLOCK_IOPOLL before 4.5).
 */
static const char *const softirq_names[] = {
	"HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU",
};


static const char *irq_softirq_name(unsigned vec)
{
	return vec < sizeof(softirq_names) / sizeof(softirq_names[0]) ? softirq_names[vec] : NULL;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct irq *r = ctx->priv;

	(void)arg;
	switch (key) {
	case OPT_PER_CPU:
		r->per_cpu = true;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, irq_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct irq_bpf *skel = ctx->skel;
	struct irq *r = ctx->priv;

	skel->rodata->cfg_ms = ctx->o.ms;
	skel->rodata->cfg_per_cpu = r->per_cpu;
	return 0;
}

struct entry {
	struct irq_key key;
	struct irq_val val;
};

/* hard IRQs first, then by total time (largest first), then by number and CPU */
static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->key.kind != y->key.kind)
		return x->key.kind < y->key.kind ? -1 : 1;
	if (x->val.total_ns != y->val.total_ns)
		return x->val.total_ns > y->val.total_ns ? -1 : 1;
	if (x->key.id != y->key.id)
		return x->key.id < y->key.id ? -1 : 1;
	return x->key.cpu < y->key.cpu ? -1 : x->key.cpu > y->key.cpu;
}

enum { C_ID, C_NAME, C_CPU, C_COUNT, C_TOTAL, C_MAX, C_TOTAL_NS, C_MAX_NS, C_N };

static void row(struct kt_out *out, const struct entry *e, double div)
{
	char name[IRQ_NAME_LEN + 1];

	kt_table_row(out);
	if (e->key.kind == IRQ_HARD) {
		memcpy(name, e->val.name, IRQ_NAME_LEN);
		name[IRQ_NAME_LEN] = 0;
		kt_rec_u64(out, e->key.id);
		kt_rec_str(out, name, sizeof(name));
	} else {
		kt_rec_enum(out, irq_softirq_name(e->key.id), e->key.id);
	}
	kt_rec_u64(out, e->key.cpu);
	kt_rec_u64(out, e->val.count);
	kt_rec_f64(out, (double)e->val.total_ns / div, 1);
	kt_rec_f64(out, (double)e->val.max_ns / div, 1);
	kt_rec_u64(out, e->val.total_ns);
	kt_rec_u64(out, e->val.max_ns);
	kt_rec_end(out);
}

static void table(struct kt_ctx *ctx, enum irq_kind kind, const struct entry *e, size_t n)
{
	struct irq *r = ctx->priv;
	bool hard = kind == IRQ_HARD;
	struct kt_col cols[C_N] = {
		[C_ID] = { "irq", "IRQ", 5, KT_COL_LABEL },
		[C_NAME] = { "name", "NAME", -20, 0 },
		[C_CPU] = { "cpu", "CPU", 4, KT_COL_LABEL },
		[C_COUNT] = { "count", "COUNT", 10, KT_COL_COUNT },
		[C_TOTAL] = { "total", ctx->o.ms ? "TOTAL_msecs" : "TOTAL_usecs", 14, KT_COL_NOJSON },
		[C_MAX] = { "max", ctx->o.ms ? "MAX_msecs" : "MAX_usecs", 12, KT_COL_NOJSON },
		[C_TOTAL_NS] = { "total_ns", "", 0, KT_COL_HIDDEN | KT_COL_COUNT },
		[C_MAX_NS] = { "max_ns", "", 0, KT_COL_HIDDEN },
	};
	const struct kt_col *c = cols;
	size_t nc = C_N;

	kt_col_show(cols, C_N, "cpu", KT_IN_TEXT | KT_IN_JSON, r->per_cpu);
	if (!hard) {
		/* one column: the vector's name in text, "vec" and "vec_raw" in JSON */
		cols[C_NAME] = (struct kt_col){ "vec", "SOFTIRQ", -10, 0 };
		c = cols + 1;
		nc = C_N - 1;
	}
	kt_table_begin(ctx->out, hard ? "hardirqs" : "softirqs",
		       hard ? "Hard IRQs:" : "Soft IRQs:", c, nc);
	for (size_t i = 0; i < n; i++)
		if (e[i].key.kind == (uint32_t)kind)
			row(ctx->out, &e[i], ctx->o.ms ? 1e6 : 1e3);
	kt_table_end(ctx->out);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct irq_bpf *skel = ctx->skel;
	struct irq *r = ctx->priv;
	struct entry *e = NULL;
	uint64_t now = kt_now_mono();
	int n;

	(void)final;
	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.stats), struct entry, key, val, true, cmp_entry,
			   &e);
	if (n < 0) {
		kt_err("reading the IRQ times failed: %s", strerror(-n));
		free(e);
		return n;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	table(ctx, IRQ_HARD, e, (size_t)n);
	table(ctx, IRQ_SOFT, e, (size_t)n);
	for (size_t i = 0; ctx->o.hist && i < (size_t)n; i++) {
		struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS,
				     (const uint64_t *)e[i].val.slots.slots };
		char name[IRQ_NAME_LEN + 1];
		struct kt_kv keys[3];
		size_t nk = 0;

		if (e[i].key.kind == IRQ_HARD) {
			memcpy(name, e[i].val.name, IRQ_NAME_LEN);
			name[IRQ_NAME_LEN] = 0;
			keys[nk++] = (struct kt_kv){ "irq", NULL, e[i].key.id };
			keys[nk++] = (struct kt_kv){ "name", name, 0 };
		} else if (irq_softirq_name(e[i].key.id)) {
			keys[nk++] = (struct kt_kv){ "softirq", irq_softirq_name(e[i].key.id), 0 };
		} else {
			keys[nk++] = (struct kt_kv){ "softirq", NULL, e[i].key.id };
		}
		if (r->per_cpu)
			keys[nk++] = (struct kt_kv){ "cpu", NULL, e[i].key.cpu };
		kt_out_hist(ctx->out, ctx->o.ms ? "msecs" : "usecs", keys, nk, &h,
			    ctx->interval_start_ns, now);
	}
	free(e);
	kt_out_stacks_lost(ctx->out, "IRQ handler runs",
			   kt_map_take_percpu_u64(bpf_map__fd(skel->maps.misses)),
			   "ktrace's kernel-side table is full", "drop --per-cpu");
	return 0;
}

static const struct kt_hook hooks[] = {
	{ "irq_handler_entry", false,
	  { { KT_TP_BTF, "irq_handler_entry", "hard_entry_btf" },
	    { KT_RAW_TP, "irq_handler_entry", "hard_entry_raw" } } },
	{ "irq_handler_exit", false,
	  { { KT_TP_BTF, "irq_handler_exit", "hard_exit_btf" },
	    { KT_RAW_TP, "irq_handler_exit", "hard_exit_raw" } } },
	{ "softirq_entry", false,
	  { { KT_TP_BTF, "softirq_entry", "soft_entry_btf" },
	    { KT_RAW_TP, "softirq_entry", "soft_entry_raw" } } },
	{ "softirq_exit", false,
	  { { KT_TP_BTF, "softirq_exit", "soft_exit_btf" },
	    { KT_RAW_TP, "softirq_exit", "soft_exit_raw" } } },
};

const struct kt_cmd kt_cmd_irq = {
	.modes = KT_M_MS | KT_M_HIST,
	.hist_help = "A log2 histogram of the handler time per IRQ and vector",
	.name = "irq",
	.summary = "Time spent in hard-IRQ handlers and soft-IRQs, per IRQ and per vector",
	.doc = "Summarize the time CPUs spend in hard-IRQ handlers (per IRQ number and handler "
	       "name) and in soft-IRQs (per vector: NET_RX, TIMER, RCU, ...): count, total and "
	       "maximum time. Printed every interval seconds, count times, or once at Ctrl-C. "
	       "Interrupts belong to no task: there are no task filters.\v"
	       "Examples:\n"
	       "  ktrace irq                    # totals at Ctrl-C\n"
	       "  ktrace irq 1 10               # every second, 10 times\n"
	       "  ktrace irq --hist -m 5        # histograms in milliseconds, every 5 s\n"
	       "  ktrace irq --per-cpu -j 1     # one row per CPU, JSON Lines",
	.options = options,
	.parse = parse,
	.kind = KT_SUMMARY,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct irq),
	.open = open_skel,
	.configure = configure,
	.drain = drain,
	.tracing_msg = "Tracing hard and soft IRQ time... Hit Ctrl-C to end.",
};
