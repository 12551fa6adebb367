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
 * microseconds): narrow busy servers down with -p/-t or --min-block-time.
 *
 * --unwind dwarf: every switch-out of a matching task with a user stack is
 * streamed with its user registers and a copy of the top of its user stack
 * (the task is current then, and its stack stays as it is until it runs
 * again), and kept here by thread id; when the task runs again after a
 * block within -m/-M, a small record says how long it was off-CPU, and the
 * kept copy is unwound (core/unwind.h) and charged. Cost: the copy and
 * about 8 KB of ring buffer per context switch of a matching task, short
 * blocks included (only the kernel knows the block's length at the end):
 * use -p/-t. Memory: at most OFFCPU_PENDING_MAX copies kept (one per
 * blocked thread, 64 MB at most).
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

/* --unwind dwarf: a blocked thread's stack copy, until it runs again */
struct pending {
	struct pending *next;
	uint32_t pid, tid;
	uint64_t ts;
	int64_t kstack;
	char comm[KT_TASK_COMM_LEN + 1];
	struct kt_ustack u;
	size_t len;
	uint8_t *data;
};

#define OFFCPU_PENDING_MAX     4096U /* threads blocked at once whose copies are kept */
#define OFFCPU_PENDING_BUCKETS 1024U

struct offcpu {
	struct pending *pending[OFFCPU_PENDING_BUCKETS];
	size_t npending;
	uint64_t evicted, unpaired;
	bool user_threads, kernel_threads;
	uint64_t min_us, max_us;
	uint32_t state;
	struct kt_stackcol_opts so;
	struct kt_stackcol *sc;
};

enum {
	OPT_STATE = 0x2000,
	OPT_USER_THREADS,
	OPT_MIN,
	OPT_MAX,
};

static const struct argp_option options[] = {
	{ "user-threads-only", OPT_USER_THREADS, NULL, 0, "Only user threads (no kernel threads)", 0 },
	{ "kernel-threads-only", 'k', NULL, 0, "Only kernel threads", 0 },
	{ "min-block-time", OPT_MIN, "USECS", 0,
	  "Only blocks of at least USECS microseconds (default 1)", 0 },
	{ "max-block-time", OPT_MAX, "USECS", 0, "Only blocks of at most USECS microseconds", 0 },
	{ "state", OPT_STATE, "STATE", 0,
	  "Only tasks that blocked in this state: S (interruptible sleep), D (uninterruptible), "
	  "R (preempted), T, t, or the kernel's number", 0 },
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
	case OPT_USER_THREADS:
		o->user_threads = true;
		break;
	case 'k':
		o->kernel_threads = true;
		break;
	case OPT_MIN:
		o->min_us = kt_arg_u64(state, "--min-block-time", arg, 0, UINT64_MAX / 1000);
		break;
	case OPT_MAX:
		o->max_us = kt_arg_u64(state, "--max-block-time", arg, 1, UINT64_MAX / 1000);
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

	if (kt_stackcol_pid("-p", &ctx->filter.tgid))
		return -EINVAL;
	o->so.target = ctx->filter.tgid;
	if (o->user_threads && o->kernel_threads) {
		kt_err("--user-threads-only and -k (--kernel-threads-only) exclude each other");
		return -EINVAL;
	}
	if (o->min_us > o->max_us) {
		kt_err("--min-block-time %llu is above --max-block-time %llu: nothing could match",
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

	skel->rodata->cfg_user_threads_only = o->user_threads;
	skel->rodata->cfg_kernel_threads_only = o->kernel_threads;
	skel->rodata->cfg_kernel_stacks = o->so.kernel;
	skel->rodata->cfg_user_stacks = o->so.user;
	skel->rodata->cfg_stack_depth = o->so.depth;
	skel->rodata->cfg_state = o->state;
	skel->rodata->cfg_min_ns = o->min_us * 1000;
	skel->rodata->cfg_max_ns = o->max_us * 1000;
	skel->rodata->cfg_announce_pids = o->so.user;
	skel->rodata->cfg_unwind_dwarf = o->so.unwind_dwarf;
	skel->rodata->cfg_stack_copy = o->so.stack_copy;
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

static struct pending **pending_find(struct offcpu *o, uint32_t tid)
{
	struct pending **pp = &o->pending[tid % OFFCPU_PENDING_BUCKETS];

	while (*pp && (*pp)->tid != tid)
		pp = &(*pp)->next;
	return pp;
}

static void pending_drop(struct offcpu *o, struct pending **pp)
{
	struct pending *p = *pp;

	*pp = p->next;
	free(p->data);
	free(p);
	o->npending--;
}

/* Full: forget the oldest copy (a thread that exited while blocked never runs again). */
static void pending_evict(struct offcpu *o)
{
	struct pending **oldest = NULL;

	for (size_t i = 0; i < OFFCPU_PENDING_BUCKETS; i++)
		for (struct pending **pp = &o->pending[i]; *pp; pp = &(*pp)->next)
			if (!oldest || (*pp)->ts < (*oldest)->ts)
				oldest = pp;
	if (oldest) {
		pending_drop(o, oldest);
		o->evicted++;
	}
}

static int on_out(struct offcpu *o, const struct offcpu_out *r, size_t size)
{
	struct pending **pp = pending_find(o, r->hdr.tid), *p = *pp;
	size_t len = size - sizeof(*r);

	if (len > r->u.len)
		len = r->u.len;
	if (!p) {
		if (o->npending >= OFFCPU_PENDING_MAX)
			pending_evict(o);
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->tid = r->hdr.tid;
		p->next = o->pending[p->tid % OFFCPU_PENDING_BUCKETS];
		o->pending[p->tid % OFFCPU_PENDING_BUCKETS] = p;
		o->npending++;
	}
	if (len != p->len || !p->data) {
		uint8_t *d = realloc(p->data, len ? len : 1);

		if (!d)
			return -ENOMEM;
		p->data = d;
	}
	memcpy(p->data, r->data, len);
	p->len = len;
	p->pid = r->hdr.pid;
	p->ts = r->hdr.ts;
	p->kstack = r->kstack;
	p->u = r->u;
	memcpy(p->comm, r->hdr.comm, KT_TASK_COMM_LEN);
	p->comm[KT_TASK_COMM_LEN] = 0;
	return 0;
}

/* --unwind dwarf: a blocked task's stack copy, or the end of its block */
static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct kt_rec_hdr *h = data;
	struct offcpu *o = ctx->priv;
	struct pending **pp;
	int err;

	if (!o->sc)
		return 0;
	if (h->type == OFFCPU_REC_OUT && size >= sizeof(struct offcpu_out))
		return on_out(o, data, size);
	if (h->type != OFFCPU_REC_IN || size < sizeof(struct offcpu_in))
		return 0;
	pp = pending_find(o, h->tid);
	if (!*pp) {
		/* its copy was lost (ring buffer full) or forgotten */
		o->unpaired++;
		return 0;
	}
	err = kt_stackcol_add_copy(o->sc, (*pp)->pid, (*pp)->comm, (*pp)->kstack, &(*pp)->u,
				   (*pp)->data, (*pp)->len,
				   ((const struct offcpu_in *)data)->delta_ns / 1000);
	pending_drop(o, pp);
	return err;
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
	if (final && (o->evicted || o->unpaired))
		kt_warn("--unwind dwarf: %llu blocks not charged (their stack copies were lost to a "
			"full ring buffer or forgotten: at most %u blocked threads are kept); raise "
			"--buffer or narrow with -p/-t",
			(unsigned long long)(o->evicted + o->unpaired), OFFCPU_PENDING_MAX);
	return kt_stackcol_report(o->sc, final);
}

static void finish(struct kt_ctx *ctx)
{
	struct offcpu *o = ctx->priv;

	kt_stackcol_free(o->sc);
	o->sc = NULL;
	for (size_t i = 0; i < OFFCPU_PENDING_BUCKETS; i++)
		while (o->pending[i])
			pending_drop(o, &o->pending[i]);
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
	       "  ktrace offcpu --min-block-time 1000 --user-threads-only 5   # >= 1 ms\n"
	       "  ktrace offcpu --state D 10         # uninterruptible (I/O) waits only\n"
	       "  ktrace offcpu -f 30 > out.folded   # folded stacks for flame graph tools\n"
	       "  ktrace offcpu --svg off.svg 30     # write a flame graph\n"
	       "  ktrace offcpu --unwind dwarf -p 185 10  # programs without frame pointers",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the task that blocks",
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
	.handle = handle,
	.min_record = sizeof(struct kt_rec_hdr),
	.ringbuf_default = 8ULL << 20,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing off-CPU time (us) by stack... Hit Ctrl-C to end.",
};
