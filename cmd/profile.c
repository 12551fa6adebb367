// SPDX-License-Identifier: GPL-2.0
/*
 * profile: timed sampling of on-CPU kernel and user stacks
 * (`ktrace profile -F 99 10`, `ktrace profile -p 185 -f --svg cpu.svg 30`).
 *
 * A perf event per CPU fires -F times a second (default 49) and counts the
 * interrupted task's stacks: where the CPUs spend their time. The event is
 * hardware CPU cycles when the machine has a PMU, the software cpu-clock
 * otherwise (most VMs); the choice is in the JSON meta record ("event").
 * Hooks: perf_event (attached here, one link per CPU). Cost: F x CPUs
 * samples a second, each one or two stack walks and a hash update: at 49 Hz
 * well under 0.1% of a CPU.
 *
 * --unwind dwarf: user stacks of programs built without frame pointers.
 * Each sample of a task with a user stack is streamed instead (ring buffer
 * "events"): its user registers and the top --stack-copy bytes of its user
 * stack (8 KB by default, as perf), unwound here with the binaries' CFI
 * (core/unwind.h) as records arrive. Cost, measured at 999 Hz on xz: the
 * program runs 5 us per sample instead of 2.3 (the 8 KB copy) and sends
 * about 8 KB of ring buffer; ktrace spends about 35 us per sample unwinding
 * and symbolizing, and keeps the CFI (64 MB at most).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include <bpf/libbpf.h>

#include "caps.h"
#include "ktrace.h"
#include "maps.h"
#include "profile.h"
#include "profile.skel.h"
#include "stackcol.h"
#include "util.h"

struct profile {
	uint64_t freq;
	bool include_idle;
	int cpu; /* -1: all */
	struct kt_stackcol_opts so;
	struct kt_stackcol *sc;
	struct bpf_link **links;
	int n_links;
	char event_desc[96];
};

static const struct argp_option options[] = {
	{ "frequency", 'F', "HZ", 0, "Samples per second on each CPU (default 49)", 0 },
	{ "include-idle", 'I', NULL, 0, "Include samples of the idle task (CPUs doing nothing)", 0 },
	{ "cpu", 'C', "CPU", 0, "Sample only this CPU (default: all)", 0 },
	KT_STACKCOL_OPTIONS,
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct profile *p = ctx->priv;

	if (key == ARGP_KEY_INIT) {
		kt_stackcol_defaults(&p->so);
		p->freq = 49;
		p->cpu = -1;
		return ARGP_ERR_UNKNOWN;
	}
	switch (key) {
	case 'F':
		/* the kernel caps it at kernel.perf_event_max_sample_rate anyway */
		p->freq = kt_arg_u64(state, "-F", arg, 1, 100000);
		break;
	case 'I':
		p->include_idle = true;
		break;
	case 'C':
		p->cpu = (int)kt_arg_u64(state, "-C", arg, 0, 1U << 20);
		break;
	default:
		return kt_stackcol_parse(&p->so, key, arg, state);
	}
	return 0;
}

static int validate(struct kt_ctx *ctx)
{
	struct profile *p = ctx->priv;
	int ncpu = libbpf_num_possible_cpus();

	if (kt_stackcol_pid("-p", &ctx->filter.tgid))
		return -EINVAL;
	p->so.target = ctx->filter.tgid;
	if (p->cpu >= 0 && ncpu > 0 && p->cpu >= ncpu) {
		kt_err("-C %d: this machine has CPUs 0 to %d", p->cpu, ncpu - 1);
		return -EINVAL;
	}
	p->so.value_key = "count";
	p->so.events = "samples";
	p->so.grow = true; /* at most one new stack per CPU and sample */
	p->so.svg_title = "CPU Flame Graph";
	p->so.svg_unit = "samples";
	return kt_stackcol_validate(ctx, &p->so);
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, profile_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct profile_bpf *skel = ctx->skel;
	struct profile *p = ctx->priv;

	skel->rodata->cfg_kernel_stacks = p->so.kernel;
	skel->rodata->cfg_user_stacks = p->so.user;
	skel->rodata->cfg_stack_depth = p->so.depth;
	skel->rodata->cfg_include_idle = p->include_idle;
	skel->rodata->cfg_announce_pids = p->so.user;
	skel->rodata->cfg_unwind_dwarf = p->so.unwind_dwarf;
	skel->rodata->cfg_stack_copy = p->so.stack_copy;
	return kt_stackcol_configure(ctx, &p->so);
}

static int perf_open(const struct profile *p, bool hw, int cpu)
{
	struct perf_event_attr a = {
		.size = sizeof(a),
		.type = hw ? PERF_TYPE_HARDWARE : PERF_TYPE_SOFTWARE,
		.config = hw ? PERF_COUNT_HW_CPU_CYCLES : PERF_COUNT_SW_CPU_CLOCK,
		.freq = 1,
		.sample_freq = p->freq,
	};
	int fd = (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* The hardware cycles event where there is a PMU (more precise, sees IRQs-off code). */
static bool use_hardware(const struct profile *p, int cpu)
{
	int fd;

	if (access("/sys/bus/event_source/devices/cpu", F_OK) &&
	    access("/sys/bus/event_source/devices/cpu_core", F_OK))
		return false;
	fd = perf_open(p, true, cpu);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int attach(struct kt_ctx *ctx, const struct kt_hook *hook, const struct kt_alt *alt)
{
	struct profile *p = ctx->priv;
	struct profile_bpf *skel = ctx->skel;
	int ncpu = libbpf_num_possible_cpus(), first, last, err = 0;
	bool hw;

	(void)hook;
	(void)alt;
	if (ncpu <= 0) {
		kt_err("cannot count the CPUs: %s", strerror(-ncpu));
		return ncpu ? ncpu : -EINVAL;
	}
	first = p->cpu >= 0 ? p->cpu : 0;
	last = p->cpu >= 0 ? p->cpu : ncpu - 1;
	p->links = calloc((size_t)(last - first + 1), sizeof(*p->links));
	if (!p->links)
		return -ENOMEM;
	hw = use_hardware(p, first);
	snprintf(p->event_desc, sizeof(p->event_desc), "%s at %llu Hz",
		 hw ? "cycles (hardware)" : "cpu-clock (software: no hardware PMU)",
		 (unsigned long long)p->freq);
	kt_meta_add(ctx, "event", p->event_desc);
	kt_info("sampling with %s", p->event_desc);
	for (int cpu = first; cpu <= last; cpu++) {
		int fd = perf_open(p, hw, cpu);
		struct bpf_link *l;

		if (fd == -ENODEV && p->cpu < 0)
			continue; /* an offline CPU */
		if (fd < 0) {
			kt_err("cannot open a %s perf event on CPU %d: %s%s", hw ? "cycles" : "cpu-clock",
			       cpu, strerror(-fd),
			       fd == -EACCES || fd == -EPERM ?
				       " (needs root or CAP_PERFMON; see kernel.perf_event_paranoid)" :
			       fd == -ENODEV ? " (CPU offline?)" : "");
			return fd;
		}
		l = bpf_program__attach_perf_event(skel->progs.do_sample, fd);
		if (!l) {
			err = -errno;
			close(fd);
			kt_err("attaching the sampling program to CPU %d failed: %s", cpu,
			       strerror(-err));
			return err;
		}
		/* the link owns fd from here: bpf_link__destroy() closes it */
		p->links[p->n_links++] = l;
	}
	if (!p->n_links) {
		kt_err("no online CPU to sample");
		return -ENODEV;
	}
	return 0;
}

static int start(struct kt_ctx *ctx)
{
	struct profile *p = ctx->priv;
	int err = kt_stackcol_new(ctx, &p->so, &p->sc);

	if (err)
		kt_err("cannot set up stack symbolization: %s", strerror(-err));
	return err;
}

static int add_one(const void *key, const void *val, void *arg)
{
	const struct profile_key *k = key;
	char comm[KT_TASK_COMM_LEN + 1];
	uint64_t n;

	memcpy(&n, val, sizeof(n));
	memcpy(comm, k->comm, KT_TASK_COMM_LEN);
	comm[KT_TASK_COMM_LEN] = 0;
	return kt_stackcol_add(arg, k->tgid, comm, k->kstack, k->ustack, n);
}

/* --unwind dwarf: one sample with its user registers and stack copy */
static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct profile_ustack *r = data;
	struct profile *p = ctx->priv;
	char comm[KT_TASK_COMM_LEN + 1];

	if (!p->sc || r->hdr.type != PROFILE_REC_USTACK)
		return 0;
	memcpy(comm, r->hdr.comm, KT_TASK_COMM_LEN);
	comm[KT_TASK_COMM_LEN] = 0;
	/* never past what arrived */
	return kt_stackcol_add_copy(p->sc, r->hdr.pid, comm, r->kstack, &r->u, r->data,
				    size - sizeof(*r), 1);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct profile_bpf *skel = ctx->skel;
	struct profile *p = ctx->priv;
	int n;

	if (!p->sc)
		return 0;
	n = kt_map_drain(bpf_map__fd(skel->maps.counts), sizeof(struct profile_key),
			 sizeof(uint64_t), true, add_one, p->sc);
	if (n < 0) {
		kt_err("reading the samples failed: %s", strerror(-n));
		return n;
	}
	return kt_stackcol_report(p->sc, final);
}

static void finish(struct kt_ctx *ctx)
{
	struct profile *p = ctx->priv;

	for (int i = 0; i < p->n_links; i++)
		bpf_link__destroy(p->links[i]);
	free(p->links);
	p->links = NULL;
	p->n_links = 0;
	kt_stackcol_free(p->sc);
	p->sc = NULL;
}

static const struct kt_hook hooks[] = {
	/* the target is only a label: attach() picks cycles when there is a PMU */
	{ "sample", false, { { KT_PERF_EVENT, "cycles/cpu-clock", "do_sample" } } },
};

const struct kt_cmd kt_cmd_profile = {
	.name = "profile",
	.summary = "Sample on-CPU kernel and user stacks at a timed interval",
	.doc = "Profile CPU usage by sampling the stacks of whatever runs on each CPU, -F times "
	       "a second, and print the stacks with their sample counts, most first. Traces "
	       "for duration seconds, or until Ctrl-C.\v"
	       "Examples:\n"
	       "  ktrace profile 10                  # all CPUs, 49 Hz, for 10 seconds\n"
	       "  ktrace profile -F 99 -p 185        # one process, until Ctrl-C\n"
	       "  ktrace profile -K -C 1 5           # kernel stacks of CPU 1 only\n"
	       "  ktrace profile -f 30 > out.folded  # folded stacks for flame graph tools\n"
	       "  ktrace profile --svg cpu.svg 30    # write a flame graph\n"
	       "  ktrace profile --unwind dwarf -p 185 10  # programs without frame pointers",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the task on the CPU when it is sampled",
	.kind = KT_SUMMARY,
	.pos = KT_POS_DURATION,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	/* CAP_SYSLOG: kernel symbol names, CAP_SYS_PTRACE: user symbols of others' processes */
	.caps_better = KT_CAP(KT_CAP_SYSLOG) | KT_CAP(KT_CAP_SYS_PTRACE),
	.priv_size = sizeof(struct profile),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.attach = attach,
	.start = start,
	.handle = handle,
	.min_record = sizeof(struct profile_ustack),
	/* --unwind dwarf: some 8 KB a sample; 8 MiB hold 2 s of 2 CPUs at 499 Hz */
	.ringbuf_default = 8ULL << 20,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Sampling on-CPU stacks... Hit Ctrl-C to end.",
};
