// SPDX-License-Identifier: GPL-2.0
/*
 * runqlat: run-queue (scheduler) latency histograms (`ktrace runqlat -P 1 5`).
 *
 * Measures how long tasks wait runnable for a CPU: from wakeup, or from being
 * preempted, until they run. log2 histograms in microseconds (-m:
 * milliseconds), for everything or one per process (-P), thread (-L) or PID
 * namespace (--pidnss). The -p/-t/--cgroup filters select the task that waits, not
 * the one that woke it.
 * Hooks: sched_wakeup, sched_wakeup_new, sched_switch, each tp_btf with a
 * raw_tp fallback. Cost: these fire on every context switch and wakeup, a
 * few hundred nanoseconds each: busy servers do millions per second, so
 * expect a few percent of one CPU there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hist.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "runqlat.h"
#include "runqlat.skel.h"
#include "stacks_out.h"
#include "util.h"

struct runqlat {
	enum runqlat_split split;
};

enum { OPT_PIDNSS = 0x2000 };

static const struct argp_option options[] = {
	{ "pids", 'P', NULL, 0, "One histogram per process (by PID, with its latest name)", 0 },
	{ "tids", 'L', NULL, 0, "One histogram per thread (by TID, with its latest name)", 0 },
	{ "pidnss", OPT_PIDNSS, NULL, 0, "One histogram per PID namespace", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct runqlat *r = ctx->priv;
	enum runqlat_split s = RUNQLAT_ALL;

	switch (key) {
	case 'P':
		s = RUNQLAT_PER_PROCESS;
		break;
	case 'L':
		s = RUNQLAT_PER_THREAD;
		break;
	case OPT_PIDNSS:
		s = RUNQLAT_PER_PIDNS;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	if (r->split != RUNQLAT_ALL && r->split != s)
		argp_error(state, "-P, -L and --pidnss are exclusive: choose one way to split");
	r->split = s;
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, runqlat_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct runqlat_bpf *skel = ctx->skel;
	struct runqlat *r = ctx->priv;

	skel->rodata->cfg_split = r->split;
	skel->rodata->cfg_ms = ctx->o.ms;
	return 0;
}

struct entry {
	struct runqlat_key key;
	struct runqlat_val val;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct runqlat_key *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct runqlat_bpf *skel = ctx->skel;
	struct runqlat *r = ctx->priv;
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
	if (!n && r->split == RUNQLAT_ALL) {
		/* an interval without a wait still gets its (empty) histogram */
		static const uint64_t none[1];
		struct kt_hist h = { KT_HIST_LOG2, 0, 0, 1, none };

		kt_out_hist(ctx->out, unit, NULL, 0, &h, ctx->interval_start_ns, now);
	}
	for (size_t i = 0; i < (size_t)n; i++) {
		struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS,
				     (const uint64_t *)e[i].val.slots.slots };
		char comm[KT_TASK_COMM_LEN + 1];
		struct kt_kv keys[2];
		size_t nk = 0;

		memcpy(comm, e[i].val.comm, KT_TASK_COMM_LEN);
		comm[KT_TASK_COMM_LEN] = 0;
		switch (r->split) {
		case RUNQLAT_PER_PROCESS:
			keys[nk++] = (struct kt_kv){ "pid", NULL, e[i].key.id };
			keys[nk++] = (struct kt_kv){ "comm", comm, 0 };
			break;
		case RUNQLAT_PER_THREAD:
			keys[nk++] = (struct kt_kv){ "tid", NULL, e[i].key.id };
			keys[nk++] = (struct kt_kv){ "comm", comm, 0 };
			break;
		case RUNQLAT_PER_PIDNS:
			keys[nk++] = (struct kt_kv){ "pidns", NULL, e[i].key.id };
			break;
		default:
			break;
		}
		kt_out_hist(ctx->out, unit, keys, nk, &h, ctx->interval_start_ns, now);
	}
	free(e);
	kt_out_stacks_lost(ctx->out, "run-queue waits",
			   kt_map_take_percpu_u64(bpf_map__fd(skel->maps.misses)),
			   "ktrace's kernel-side tables are full",
			   "split less (-P/-L make one histogram per task) or filter (-p, --cgroup)");
	return 0;
}

static const struct kt_hook hooks[] = {
	{ "sched_wakeup", false,
	  { { KT_TP_BTF, "sched_wakeup", "wakeup_btf" },
	    { KT_RAW_TP, "sched_wakeup", "wakeup_raw" } } },
	{ "sched_wakeup_new", false,
	  { { KT_TP_BTF, "sched_wakeup_new", "wakeup_new_btf" },
	    { KT_RAW_TP, "sched_wakeup_new", "wakeup_new_raw" } } },
	{ "sched_switch", false,
	  { { KT_TP_BTF, "sched_switch", "switch_btf" },
	    { KT_RAW_TP, "sched_switch", "switch_raw" } } },
};

const struct kt_cmd kt_cmd_runqlat = {
	.modes = KT_M_MS,
	.name = "runqlat",
	.summary = "Run-queue latency histograms: how long runnable tasks wait for a CPU",
	.doc = "Summarize scheduler run-queue latency as histograms: the time from a task's "
	       "wakeup, or from its preemption, until it runs on a CPU. Printed every interval "
	       "seconds, count times, or once at Ctrl-C. Filters select the waiting task.\v"
	       "Examples:\n"
	       "  ktrace runqlat                # one histogram at Ctrl-C\n"
	       "  ktrace runqlat -m 5           # milliseconds, every 5 seconds\n"
	       "  ktrace runqlat -P 1 10        # per process, 1 s intervals, 10 times\n"
	       "  ktrace runqlat -p 185 -L      # threads of process 185 only\n"
	       "  ktrace runqlat --pidnss       # per PID namespace (containers)\n"
	       "  ktrace runqlat --cgroup /sys/fs/cgroup/system.slice/mysql.service -j",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the task that waits, not the one that wakes it",
	.kind = KT_SUMMARY,
	.prom_what = "latency",
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct runqlat),
	.open = open_skel,
	.configure = configure,
	.drain = drain,
	.tracing_msg = "Tracing run queue latency... Hit Ctrl-C to end.",
};
