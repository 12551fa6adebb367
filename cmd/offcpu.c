// SPDX-License-Identifier: GPL-2.0
/*
 * offcpu: time blocked off-CPU, summed by kernel and user stack
 * (`ktrace offcpu -p 185 10`, `ktrace offcpu -f --svg off.svg 30`).
 *
 * When a task is switched out its stacks and the time are recorded; when it
 * runs again the time it spent off-CPU is added to that stack. Shows why
 * threads wait: sleeps, locks, I/O, pipes, page faults. Output: stacks with
 * the total microseconds blocked (most first), folded lines (-f) or a
 * flame graph (--svg).
 * Hooks: sched_switch, tp_btf with a raw_tp fallback. Cost: every context
 * switch runs the program; matching tasks add one or two stack walks (a few
 * microseconds): narrow busy servers down with -p/-t or -m.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "ktrace.h"
#include "maps.h"
#include "offcpu.h"
#include "offcpu.skel.h"
#include "stackcol.h"
#include "util.h"

struct offcpu {
	uint32_t pid, tid;
	bool user_threads, kernel_threads;
	uint64_t min_us, max_us;
	uint32_t state;
	struct kt_stackcol_opts so;
	struct kt_stackcol *sc;
};

enum { OPT_STATE = 0x2000 };

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Only the threads of this process", 0 },
	{ "tid", 't', "TID", 0, "Only this thread", 0 },
	{ "user-threads-only", 'u', NULL, 0, "Only user threads (no kernel threads)", 0 },
	{ "kernel-threads-only", 'k', NULL, 0, "Only kernel threads", 0 },
	{ "user-stacks-only", 'U', NULL, 0, "Show user stacks only (no kernel frames)", 0 },
	{ "kernel-stacks-only", 'K', NULL, 0, "Show kernel stacks only (no user frames)", 0 },
	{ "min-block-time", 'm', "USECS", 0, "Only blocks of at least USECS microseconds (default 1)", 0 },
	{ "max-block-time", 'M', "USECS", 0, "Only blocks of at most USECS microseconds", 0 },
	{ "state", OPT_STATE, "STATE", 0,
	  "Only tasks that blocked in this state: S (interruptible sleep), D (uninterruptible), "
	  "R (preempted), T, t, or the kernel's number", 0 },
	{ "delimited", 'd', NULL, 0, "Put a delimiter between kernel and user frames", 0 },
	KT_STACKCOL_OPTIONS,
	{},
};

static int parse_state(const char *s, uint32_t *st)
{
	static const struct {
		const char *name;
		uint32_t v;
	} names[] = { { "R", 0 }, { "S", 1 }, { "D", 2 }, { "T", 4 }, { "t", 8 } };
	char *end;
	unsigned long v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i].name)) {
			*st = names[i].v;
			return 0;
		}
	}
	v = strtoul(s, &end, 0);
	if (end == s || *end || *s == '-' || v > 0x7f)
		return -EINVAL;
	*st = (uint32_t)v;
	return 0;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct offcpu *o = ctx->priv;

	if (key == ARGP_KEY_INIT) {
		kt_stackcol_defaults(&o->so);
		o->min_us = 1;
		o->max_us = UINT64_MAX / 1000;
		o->state = OFFCPU_ANY_STATE;
		return ARGP_ERR_UNKNOWN;
	}
	switch (key) {
	case 'p':
		o->pid = (uint32_t)kt_arg_u64(state, "-p", arg, 1, 0x7fffffff);
		break;
	case 't':
		o->tid = (uint32_t)kt_arg_u64(state, "-t", arg, 1, 0x7fffffff);
		break;
	case 'u':
		o->user_threads = true;
		break;
	case 'k':
		o->kernel_threads = true;
		break;
	case 'U':
		o->so.kernel = false;
		break;
	case 'K':
		o->so.user = false;
		break;
	case 'd':
		o->so.delimited = true;
		break;
	case 'm':
		o->min_us = kt_arg_u64(state, "-m", arg, 0, UINT64_MAX / 1000);
		break;
	case 'M':
		o->max_us = kt_arg_u64(state, "-M", arg, 1, UINT64_MAX / 1000);
		break;
	case OPT_STATE:
		if (parse_state(arg, &o->state))
			argp_error(state, "--state %s: not a task state (S, D, R, T, t or a number "
					  "up to 0x7f)", arg);
		break;
	default:
		return kt_stackcol_parse(&o->so, key, arg, state);
	}
	return 0;
}

static int validate(struct kt_ctx *ctx)
{
	struct offcpu *o = ctx->priv;

	if (kt_check_pid("-p", o->pid) || kt_check_pid("-t", o->tid))
		return -EINVAL;
	if (o->user_threads && o->kernel_threads) {
		kt_err("-u (user threads only) and -k (kernel threads only) exclude each other");
		return -EINVAL;
	}
	if (o->min_us > o->max_us) {
		kt_err("-m %llu is above -M %llu: nothing could match",
		       (unsigned long long)o->min_us, (unsigned long long)o->max_us);
		return -EINVAL;
	}
	o->so.value_key = "total_us";
	o->so.events = "off-CPU blocks";
	o->so.svg_title = "Off-CPU Time Flame Graph";
	o->so.svg_unit = "us";
	return kt_stackcol_validate(ctx, &o->so);
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, offcpu_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct offcpu_bpf *skel = ctx->skel;
	struct offcpu *o = ctx->priv;

	skel->rodata->cfg_tgid = o->pid;
	skel->rodata->cfg_tid = o->tid;
	skel->rodata->cfg_user_threads_only = o->user_threads;
	skel->rodata->cfg_kernel_threads_only = o->kernel_threads;
	skel->rodata->cfg_kernel_stacks = o->so.kernel;
	skel->rodata->cfg_user_stacks = o->so.user;
	skel->rodata->cfg_state = o->state;
	skel->rodata->cfg_min_ns = o->min_us * 1000;
	skel->rodata->cfg_max_ns = o->max_us * 1000;
	skel->rodata->cfg_announce_pids = o->so.user;
	return kt_stackcol_configure(ctx, &o->so);
}

static int start(struct kt_ctx *ctx)
{
	struct offcpu *o = ctx->priv;
	int err = kt_stackcol_new(ctx, &o->so, &o->sc);

	if (err)
		kt_err("cannot set up stack symbolization: %s", strerror(-err));
	return err;
}

static int add_one(const void *key, const void *val, void *arg)
{
	const struct offcpu_key *k = key;
	const struct offcpu_val *v = val;
	char comm[KT_TASK_COMM_LEN + 1];

	memcpy(comm, k->comm, KT_TASK_COMM_LEN);
	comm[KT_TASK_COMM_LEN] = 0;
	return kt_stackcol_add(arg, k->tgid, comm, k->kstack, k->ustack, v->total_ns / 1000);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct offcpu_bpf *skel = ctx->skel;
	struct offcpu *o = ctx->priv;
	int n;

	if (!o->sc)
		return 0;
	n = kt_map_drain(bpf_map__fd(skel->maps.times), sizeof(struct offcpu_key),
			 sizeof(struct offcpu_val), true, add_one, o->sc);
	if (n < 0) {
		kt_err("reading the off-CPU times failed: %s", strerror(-n));
		return n;
	}
	return kt_stackcol_report(o->sc, final);
}

static void finish(struct kt_ctx *ctx)
{
	struct offcpu *o = ctx->priv;

	kt_stackcol_free(o->sc);
	o->sc = NULL;
}

static const struct kt_hook hooks[] = {
	{ "sched_switch", false,
	  { { KT_TP_BTF, "sched_switch", "switch_btf" },
	    { KT_RAW_TP, "sched_switch", "switch_raw" } } },
};

const struct kt_cmd kt_cmd_offcpu = {
	.name = "offcpu",
	.summary = "Time blocked off-CPU, by kernel and user stack",
	.doc = "Summarize the time threads spend blocked off-CPU (sleeping, waiting for locks, "
	       "I/O, pipes, page faults) by the stacks where they blocked, in microseconds, "
	       "most first. Traces for duration seconds, or until Ctrl-C.\v"
	       "Examples:\n"
	       "  ktrace offcpu 10                   # all threads for 10 seconds\n"
	       "  ktrace offcpu -p 185               # one process, until Ctrl-C\n"
	       "  ktrace offcpu -m 1000 -u 5         # user threads blocked >= 1 ms\n"
	       "  ktrace offcpu --state D 10         # uninterruptible (I/O) waits only\n"
	       "  ktrace offcpu -f 30 > out.folded   # folded stacks for flame graph tools\n"
	       "  ktrace offcpu --svg off.svg 30     # write a flame graph",
	.options = options,
	.parse = parse,
	.kind = KT_SUMMARY,
	.pos = KT_POS_DURATION,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	/* CAP_SYSLOG: kernel symbol names, CAP_SYS_PTRACE: user symbols of others' processes */
	.caps_better = KT_CAP(KT_CAP_SYSLOG) | KT_CAP(KT_CAP_SYS_PTRACE),
	.priv_size = sizeof(struct offcpu),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.start = start,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing off-CPU time (us) by stack... Hit Ctrl-C to end.",
};
