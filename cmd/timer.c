// SPDX-License-Identifier: GPL-2.0
/*
 * timer: timer expiries per callback function (`ktrace timer 1 5`).
 *
 * One table every interval (or once at Ctrl-C): per callback (named from
 * /proc/kallsyms) and kind (hrtimer or timer-wheel timer), how many timers
 * expired, the average and maximum run time of the callback, and the average
 * and maximum lateness: how long after it was due the timer fired (an
 * hrtimer: its clock at expiry minus its soft expiry, slack included; a
 * wheel timer: jiffies minus its expiry, whole jiffies, needs HZ, see
 * core/khz.h). --hist adds a log2 histogram of the lateness per row. Times
 * are microseconds (-m: milliseconds) in text, nanoseconds in JSON. Hooks:
 * hrtimer_expire_entry (raw_tp), hrtimer_expire_exit, timer_expire_entry
 * and _exit (each tp_btf with a raw_tp fallback). Kernel memory: about 2.3 MiB of maps. Cost: a few
 * hundred nanoseconds per expiry; a busy machine expires thousands of
 * timers per second per CPU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "caps.h"
#include "hist.h"
#include "khz.h"
#include "ksyms.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "stacks_out.h"
#include "timer.h"
#include "timer.skel.h"
#include "util.h"

struct timer {
	unsigned hz;
	char hz_meta[48];
	struct kt_ksyms_lazy ks;
};

static const char *const kind_names[] = { [TIMER_HR] = "hrtimer", [TIMER_WHEEL] = "timer" };

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, timer_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct timer_bpf *skel = ctx->skel;
	struct timer *t = ctx->priv;
	const char *how = NULL;

	t->hz = kt_kernel_hz(&how);
	if (t->hz)
		snprintf(t->hz_meta, sizeof(t->hz_meta), "%u (%s)", t->hz, how);
	else
		snprintf(t->hz_meta, sizeof(t->hz_meta), "unknown");
	kt_meta_add(ctx, "hz", t->hz_meta);
	if (!t->hz)
		kt_warn("the kernel's HZ is unknown (no /boot/config-%s, no /proc/config.gz, "
			"/proc/timer_list unreadable): timer-wheel lateness is not measured",
			kt_kernel_release());
	skel->rodata->cfg_ms = ctx->o.ms;
	skel->rodata->cfg_jiffy_ns = t->hz ? 1000000000ULL / t->hz : 0;
	return 0;
}

static int start(struct kt_ctx *ctx)
{
	struct timer *t = ctx->priv;

	t->ks.lost = "callbacks are shown as addresses";
	return 0;
}

struct entry {
	struct timer_key key;
	struct timer_val val;
};

/* most expiries first, then by function and kind */
static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->val.count != y->val.count)
		return x->val.count > y->val.count ? -1 : 1;
	if (x->key.func != y->key.func)
		return x->key.func < y->key.func ? -1 : 1;
	return x->key.kind < y->key.kind ? -1 : x->key.kind > y->key.kind;
}

static const char *kind_name(uint32_t k)
{
	return k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : NULL;
}

enum {
	C_FUNC,
	C_MODULE,
	C_TYPE,
	C_COUNT,
	C_RUN_AVG,
	C_RUN_MAX,
	C_LATE_AVG,
	C_LATE_MAX,
	C_ADDR,
	C_RUN_TOTAL_NS,
	C_RUN_MAX_NS,
	C_LATE_COUNT,
	C_LATE_TOTAL_NS,
	C_LATE_MAX_NS,
	C_N
};

static void row(struct kt_ctx *ctx, const struct entry *e, double div)
{
	struct timer *t = ctx->priv;
	const struct timer_val *v = &e->val;
	char func[160], addr[24];
	const char *mod;

	kt_ksyms_fmt(kt_ksyms_lazy_get(&t->ks), e->key.func, func, sizeof(func), &mod);
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)e->key.func);
	kt_table_row(ctx->out);
	kt_rec_str(ctx->out, func, sizeof(func));
	if (mod)
		kt_rec_str(ctx->out, mod, strlen(mod));
	else
		kt_rec_none(ctx->out);
	kt_rec_enum(ctx->out, kind_name(e->key.kind), e->key.kind);
	kt_rec_u64(ctx->out, v->count);
	kt_rec_f64(ctx->out, v->count ? (double)v->run_ns / v->count / div : 0, 1);
	kt_rec_f64(ctx->out, (double)v->run_max_ns / div, 1);
	if (v->late_count) {
		kt_rec_f64(ctx->out, (double)v->late_ns / v->late_count / div, 1);
		kt_rec_f64(ctx->out, (double)v->late_max_ns / div, 1);
	} else {
		kt_rec_none(ctx->out);
		kt_rec_none(ctx->out);
	}
	kt_rec_str(ctx->out, addr, strlen(addr));
	kt_rec_u64(ctx->out, v->run_ns);
	kt_rec_u64(ctx->out, v->run_max_ns);
	kt_rec_u64(ctx->out, v->late_count);
	kt_rec_u64(ctx->out, v->late_ns);
	kt_rec_u64(ctx->out, v->late_max_ns);
	kt_rec_end(ctx->out);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct timer_bpf *skel = ctx->skel;
	struct timer *t = ctx->priv;
	struct entry *e = NULL;
	uint64_t now = kt_now_mono();
	struct kt_col cols[C_N] = {
		[C_FUNC] = { "func", "FUNCTION", -32, 0 },
		[C_MODULE] = { "module", "", 0, KT_COL_HIDDEN },
		[C_TYPE] = { "type", "TYPE", -8, 0 },
		[C_COUNT] = { "count", "COUNT", 8, KT_COL_COUNT },
		[C_RUN_AVG] = { "run_avg", ctx->o.ms ? "RUN_AVG_ms" : "RUN_AVG_us", 11, KT_COL_NOJSON },
		[C_RUN_MAX] = { "run_max", "RUN_MAX", 10, KT_COL_NOJSON },
		[C_LATE_AVG] = { "late_avg", "LATE_AVG", 10, KT_COL_NOJSON },
		[C_LATE_MAX] = { "late_max", "LATE_MAX", 10, KT_COL_NOJSON },
		[C_ADDR] = { "func_addr", "", 0, KT_COL_HIDDEN },
		[C_RUN_TOTAL_NS] = { "run_total_ns", "", 0, KT_COL_HIDDEN | KT_COL_COUNT },
		[C_RUN_MAX_NS] = { "run_max_ns", "", 0, KT_COL_HIDDEN },
		[C_LATE_COUNT] = { "late_count", "", 0, KT_COL_HIDDEN | KT_COL_COUNT },
		[C_LATE_TOTAL_NS] = { "late_total_ns", "", 0, KT_COL_HIDDEN | KT_COL_COUNT },
		[C_LATE_MAX_NS] = { "late_max_ns", "", 0, KT_COL_HIDDEN },
	};
	double div = ctx->o.ms ? 1e6 : 1e3;
	int n;

	(void)final;
	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.stats), struct entry, key, val, true, cmp_entry,
			   &e);
	if (n < 0) {
		kt_err("reading the timer table failed: %s", strerror(-n));
		free(e);
		return n;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	kt_table_begin(ctx->out, "timers", "Timer expiries:", cols, C_N);
	for (int i = 0; i < n; i++)
		row(ctx, &e[i], div);
	kt_table_end(ctx->out);
	for (int i = 0; ctx->o.hist && i < n; i++) {
		char func[160];
		struct kt_kv keys[2] = {
			{ "func", kt_ksyms_fmt(kt_ksyms_lazy_get(&t->ks), e[i].key.func, func, sizeof(func), NULL), 0 },
			{ "type", kind_name(e[i].key.kind), e[i].key.kind },
		};
		struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS,
				     (const uint64_t *)e[i].val.late_slots.slots };

		if (e[i].val.late_count)
			kt_out_hist(ctx->out, ctx->o.ms ? "msecs" : "usecs", keys, 2, &h,
				    ctx->interval_start_ns, now);
	}
	free(e);
	kt_out_stacks_lost(ctx->out, "timer expiries",
			   kt_map_take_percpu_u64(bpf_map__fd(skel->maps.misses)),
			   "ktrace's kernel-side table of callbacks is full", "use a shorter interval");
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	struct timer *t = ctx->priv;

	if (t)
		kt_ksyms_free(t->ks.ks);
}

static const struct kt_hook hooks[] = {
	/* raw_tp only: probes/timer.bpf.c says why */
	{ "hrtimer_expire_entry", false,
	  { { KT_RAW_TP, "hrtimer_expire_entry", "hr_entry_raw" } } },
	{ "hrtimer_expire_exit", false,
	  { { KT_TP_BTF, "hrtimer_expire_exit", "hr_exit_btf" },
	    { KT_RAW_TP, "hrtimer_expire_exit", "hr_exit_raw" } } },
	{ "timer_expire_entry", false,
	  { { KT_TP_BTF, "timer_expire_entry", "wheel_entry_btf" },
	    { KT_RAW_TP, "timer_expire_entry", "wheel_entry_raw" } } },
	{ "timer_expire_exit", false,
	  { { KT_TP_BTF, "timer_expire_exit", "wheel_exit_btf" },
	    { KT_RAW_TP, "timer_expire_exit", "wheel_exit_raw" } } },
};

const struct kt_cmd kt_cmd_timer = {
	.modes = KT_M_MS | KT_M_HIST,
	.hist_help = "A log2 histogram of the lateness per callback",
	.name = "timer",
	.summary = "Timer expiries per callback: count, callback run time, lateness",
	.doc = "Summarize timer expiries, hrtimers and timer-wheel timers, per callback function "
	       "(a kernel symbol): how many expired, the average and maximum run time of the "
	       "callback, and the average and maximum lateness (how long after it was due the "
	       "timer fired). Printed every interval seconds, count times, or once at Ctrl-C. "
	       "Timers fire in interrupts for no particular task: there are no task filters. "
	       "Kernel memory: about 2.3 MiB of BPF maps (4096 callbacks).\v"
	       "Examples:\n"
	       "  ktrace timer                  # totals at Ctrl-C\n"
	       "  ktrace timer 1 10             # every second, 10 times\n"
	       "  ktrace timer --hist 5         # lateness histograms every 5 s\n"
	       "  ktrace timer -j -d 10         # 10 seconds, JSON Lines",
	.kind = KT_SUMMARY,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct timer),
	.caps_better = KT_CAP(KT_CAP_SYSLOG),
	.open = open_skel,
	.configure = configure,
	.start = start,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing timer expiries... Hit Ctrl-C to end.",
};
