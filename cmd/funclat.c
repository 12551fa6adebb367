// SPDX-License-Identifier: GPL-2.0
/*
 * funclat: latency histogram of one function (`ktrace funclat c:malloc`,
 * `ktrace funclat -p 185 /usr/sbin/mysqld:dispatch_command 5`).
 *
 * User functions (BINARY:FUNC) are timed with a uprobe and a uretprobe on
 * the function's file offset (core/utarget.h finds the file inside the
 * process's root and the symbol; -p attaches to that process only). Kernel
 * functions (k:FUNC) with fentry + fexit, else kprobe + kretprobe. --arg N
 * makes a histogram of the function's Nth argument instead (entry only),
 * --slower MS streams each call slower than MS with its first four
 * arguments. Calls in flight are paired per thread by stack pointer, so
 * recursion and longjmp are handled (probes/funclat.bpf.c).
 * Cost: a uprobe and a uretprobe trap per call, about 2-3 microseconds per
 * call together on this machine's kernel (bench/ funclat case); kernel
 * functions cost a tenth of that with fentry.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "funclat.h"
#include "features.h"
#include "funclat.skel.h"
#include "hist.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "plan.h"
#include "stacks_out.h"
#include "tape.h"
#include "utarget.h"
#include "util.h"

enum { OPT_NSECS = 0x2000, OPT_USECS, OPT_ARG, OPT_SLOWER };

struct funclat {
	const char *spec;
	char binary[4096];
	char func[512];
	bool kernel;
	uint64_t div; /* ns per unit */
	const char *unit;
	unsigned arg;
	uint64_t min_ns;
	bool slower;
	struct kt_utarget *ut;
	struct bpf_link *links[2];
	char offset_str[32];
	char impl[256]; /* an IFUNC's implementation, by name */
	uint64_t taken[FUNCLAT_NCOUNTS];
};

static const struct argp_option options[] = {
	{ "milliseconds", 'm', NULL, 0, "Histogram in milliseconds (default: microseconds)", 0 },
	{ "usecs", OPT_USECS, NULL, 0, "Histogram in microseconds (the default)", 0 },
	{ "nsecs", OPT_NSECS, NULL, 0, "Histogram in nanoseconds", 0 },
	{ "arg", OPT_ARG, "N", 0,
	  "Histogram of the Nth argument's value (1-6) at entry instead of latency "
	  "(e.g. malloc sizes)",
	  0 },
	{ "slower", OPT_SLOWER, "MS", 0,
	  "Also print each call slower than MS milliseconds (decimals allowed), with its first "
	  "four arguments",
	  0 },
	{},
};

/* Kernel function targets are filled in by validate(); the defaults are what `check` shows. */
static char kfunc[160] = "vfs_read";
static char ulabel[4800] = "BINARY:FUNC";

static struct kt_hook hooks[] = {
	{ "entry", false,
	  { { KT_UPROBE, ulabel, "u_entry" },
	    { KT_FENTRY, kfunc, "f_entry" },
	    { KT_KPROBE, kfunc, "k_entry" } } },
	{ "return", false,
	  { { KT_URETPROBE, ulabel, "u_return" },
	    { KT_FEXIT, kfunc, "f_return" },
	    { KT_KRETPROBE, kfunc, "k_return" } } },
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct funclat *f = ctx->priv;
	char *end;
	double ms;

	switch (key) {
	case 'm':
	case OPT_USECS:
	case OPT_NSECS:
		if (f->unit && strcmp(f->unit, key == 'm' ? "msecs" : key == OPT_USECS ? "usecs" :
								       "nsecs"))
			argp_error(state, "-m, --usecs and --nsecs exclude each other: choose one unit");
		f->unit = key == 'm' ? "msecs" : key == OPT_USECS ? "usecs" : "nsecs";
		f->div = key == 'm' ? 1000000 : key == OPT_USECS ? 1000 : 1;
		return 0;
	case OPT_ARG:
		f->arg = (unsigned)kt_arg_u64(state, "--arg", arg, 1, 6);
		return 0;
	case OPT_SLOWER:
		errno = 0;
		ms = strtod(arg, &end);
		if (errno || end == arg || *end || !(ms >= 0) || ms > 1e9)
			argp_error(state, "invalid --slower '%s': expected milliseconds (e.g. 20 or 0.5)",
				   arg);
		f->min_ns = (uint64_t)(ms * 1e6);
		f->slower = true;
		return 0;
	case ARGP_KEY_ARG:
		if (state->arg_num != 0)
			return ARGP_ERR_UNKNOWN;
		f->spec = arg;
		return 0;
	case ARGP_KEY_END:
		if (!f->spec)
			argp_error(state, "missing the function: BINARY:FUNC (c:malloc, /usr/bin/x:main) or k:FUNC");
		return ARGP_ERR_UNKNOWN;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

#define USER_TYPES ((1U << KT_UPROBE) | (1U << KT_URETPROBE))
#define KERNEL_TYPES ((1U << KT_FENTRY) | (1U << KT_FEXIT) | (1U << KT_KPROBE) | (1U << KT_KRETPROBE))

static int validate(struct kt_ctx *ctx)
{
	struct funclat *f = ctx->priv;
	int err;

	/* a tape holds the kernel's data, not the traced files this command resolves names in */
	if (ctx->o.record || kt_tape_replaying()) {
		kt_err("%s: --record and replay are not supported: the functions and probes are found in the traced process's files, which a replay cannot read",
		       ctx->cmd->name);
		return -EINVAL;
	}

	if (!f->unit) {
		f->unit = "usecs";
		f->div = 1000;
	}
	if (f->arg && f->slower) {
		kt_err("--arg and --slower exclude each other: --arg histograms an argument at entry, --slower times calls");
		return -EINVAL;
	}
	if (!strncmp(f->spec, "k:", 2) || !strchr(f->spec, ':')) {
		const char *fn = strncmp(f->spec, "k:", 2) ? f->spec : f->spec + 2;

		if (!*fn || strlen(fn) >= sizeof(kfunc) || strpbrk(fn, "*?[:/")) {
			kt_err("invalid kernel function '%s': one name, e.g. k:vfs_read", f->spec);
			return -EINVAL;
		}
		f->kernel = true;
		strcpy(kfunc, fn);
		strcpy(f->func, fn);
		/* fentry reads no arguments here: --arg and --slower need kprobes */
		for (int i = 0; i < 2; i++)
			kt_hook_keep(&hooks[i], f->arg || f->slower ?
							(1U << KT_KPROBE) | (1U << KT_KRETPROBE) :
							KERNEL_TYPES);
		kt_meta_add(ctx, "function", f->func);
		return 0;
	}
	if (!strncmp(f->spec, "u:", 2) || !strncmp(f->spec, "t:", 2)) {
		kt_err("'%s': funclat times functions (BINARY:FUNC or k:FUNC); USDT probes are timed with `ktrace usdt --latency`",
		       f->spec);
		return -EINVAL;
	}
	if (!kt_utarget_split(f->spec, f->binary, sizeof(f->binary), f->func, sizeof(f->func)) ||
	    strpbrk(f->func, "*?[")) {
		kt_err("invalid function '%s': BINARY:FUNC with one function name (c:malloc)", f->spec);
		return -EINVAL;
	}
	err = kt_utarget_open(f->binary, (int)ctx->filter.tgid, &f->ut);
	if (err)
		return err == -ENOMEM ? err : -ENOENT;
	err = kt_utarget_match(f->ut, f->func, 1, f->spec);
	if (err)
		return err == -EINVAL ? err : -ENOENT;
	if (f->ut->funcs[0].ifunc) {
		err = kt_utarget_ifunc(f->ut, 0, (int)ctx->filter.tgid, f->spec, f->impl,
				       sizeof(f->impl));
		if (err)
			return err == -EINVAL ? err : -ENOENT;
		/* say so: the probe is not where the symbol points */
		kt_warn("%s is an IFUNC: probing the implementation process %u uses, %s at offset 0x%" PRIx64 " of %s",
			f->func, ctx->filter.tgid, *f->impl ? f->impl : "(no symbol)",
			f->ut->funcs[0].offset, f->ut->path);
		kt_meta_add(ctx, "ifunc_implementation", *f->impl ? f->impl : "(no symbol)");
	}
	snprintf(ulabel, sizeof(ulabel), "%s:%s", f->ut->path, f->func);
	snprintf(f->offset_str, sizeof(f->offset_str), "0x%" PRIx64, f->ut->funcs[0].offset);
	kt_hook_keep(&hooks[0], USER_TYPES);
	kt_hook_keep(&hooks[1], USER_TYPES);
	kt_meta_add(ctx, "function", f->func);
	kt_meta_add(ctx, "binary", f->ut->path);
	kt_meta_add(ctx, "offset", f->offset_str);
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, funclat_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct funclat_bpf *skel = ctx->skel;
	struct funclat *f = ctx->priv;
	const struct kt_alt *a = kt_hook_chosen(ctx, "entry"), *r = kt_hook_chosen(ctx, "return");
	int err;

	/* validate() cut the other kind's alternatives out of the plan: keep them unloaded */
	kt_plan_autoload_chosen(ctx);

	skel->rodata->cfg_div = f->arg ? 1 : f->div;
	skel->rodata->cfg_arg = f->arg;
	skel->rodata->cfg_min_ns = f->min_ns;
	skel->rodata->cfg_stream = f->slower;
	skel->rodata->cfg_match_sp = !f->kernel;
	/* each hook on its own: KTRACE_ATTACH=kprobe leaves the return on fexit */
	err = 0;
	if (a && a->type == KT_FENTRY)
		err = bpf_program__set_attach_target(skel->progs.f_entry, 0, f->func);
	if (!err && r && r->type == KT_FEXIT)
		err = bpf_program__set_attach_target(skel->progs.f_return, 0, f->func);
	if (err) {
		kt_err("k:%s: cannot set the fentry/fexit target: %s", f->func, strerror(-err));
		return err;
	}
	return 0;
}

static int attach(struct kt_ctx *ctx, const struct kt_hook *hook, const struct kt_alt *alt)
{
	struct funclat_bpf *skel = ctx->skel;
	struct funclat *f = ctx->priv;
	bool ret = hook == &hooks[1];
	struct bpf_link *l;
	int err;

	if (alt->type == KT_UPROBE || alt->type == KT_URETPROBE) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret);

		l = bpf_program__attach_uprobe_opts(ret ? skel->progs.u_return : skel->progs.u_entry,
						    ctx->filter.tgid ? (int)ctx->filter.tgid : -1,
						    f->ut->fdpath, (size_t)f->ut->funcs[0].offset, &uo);
	} else if (alt->type == KT_KPROBE || alt->type == KT_KRETPROBE) {
		LIBBPF_OPTS(bpf_kprobe_opts, ko, .retprobe = ret);

		l = bpf_program__attach_kprobe_opts(ret ? skel->progs.k_return : skel->progs.k_entry,
						    f->func, &ko);
	} else {
		return 1; /* fentry/fexit: core attaches the program as loaded */
	}
	if (!l) {
		err = -errno;
		kt_err("attaching a %s to %s failed: %s%s", kt_attach_name(alt->type), alt->target,
		       strerror(-err),
		       err == -EPERM || err == -EACCES ? " (needs CAP_BPF and CAP_PERFMON)" : "");
		return err;
	}
	f->links[ret] = l;
	return 0;
}

static int start(struct kt_ctx *ctx)
{
	struct funclat *f = ctx->priv;
	static const struct kt_col cols[] = {
		{ "comm", "COMM", -16, 0 },   { "pid", "PID", 7, 0 },	  { "tid", "TID", 7, 0 },
		{ "lat_ms", "LAT(ms)", 10, 0 }, { "depth", "DEPTH", 5, 0 }, { "arg1", "ARG1", 18, 0 },
		{ "arg2", "ARG2", 18, 0 },    { "arg3", "ARG3", 18, 0 },  { "arg4", "ARG4", 18, 0 },
	};

	if (f->slower)
		kt_out_header(ctx->out, cols, sizeof(cols) / sizeof(cols[0]));
	return 0;
}

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	static const struct kt_col cols[] = {
		{ "comm", "COMM", -16, 0 },   { "pid", "PID", 7, 0 },	  { "tid", "TID", 7, 0 },
		{ "lat_ms", "LAT(ms)", 10, 0 }, { "depth", "DEPTH", 5, 0 }, { "arg1", "ARG1", 18, 0 },
		{ "arg2", "ARG2", 18, 0 },    { "arg3", "ARG3", 18, 0 },  { "arg4", "ARG4", 18, 0 },
	};
	const struct funclat_event *e = data;
	char hex[FUNCLAT_ARGS][24];

	(void)size;
	kt_rec_begin(ctx->out, "event", cols, sizeof(cols) / sizeof(cols[0]), e->hdr.ts);
	kt_rec_str(ctx->out, e->hdr.comm, sizeof(e->hdr.comm));
	kt_rec_u64(ctx->out, e->hdr.pid);
	kt_rec_u64(ctx->out, e->hdr.tid);
	kt_rec_f64(ctx->out, (double)e->lat_ns / 1e6, 3);
	kt_rec_u64(ctx->out, e->depth);
	for (int i = 0; i < FUNCLAT_ARGS; i++) {
		/* hex strings: an argument is often a pointer, and may exceed 2^53 */
		snprintf(hex[i], sizeof(hex[i]), "0x%" PRIx64, (uint64_t)e->args[i]);
		kt_rec_str(ctx->out, hex[i], sizeof(hex[i]));
	}
	kt_rec_end(ctx->out);
	return 0;
}

/* The per-CPU counters: what changed since the last report. */
static void take_counts(struct kt_ctx *ctx, uint64_t *delta)
{
	struct funclat_bpf *skel = ctx->skel;
	struct funclat *f = ctx->priv;
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.counts);
	uint64_t *v = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*v)) : NULL;

	for (uint32_t k = 0; k < FUNCLAT_NCOUNTS; k++) {
		uint64_t sum = 0;

		if (v && !bpf_map_lookup_elem(fd, &k, v))
			for (int c = 0; c < ncpu; c++)
				sum += v[c];
		delta[k] = sum - f->taken[k];
		f->taken[k] = sum;
	}
	free(v);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct funclat_bpf *skel = ctx->skel;
	struct funclat *f = ctx->priv;
	uint64_t slots[KT_MAX_SLOTS] = {}, d[FUNCLAT_NCOUNTS];
	uint32_t zero = 0;
	struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS, slots };
	struct kt_kv keys[1] = { { "function", f->func, 0 } };
	char unit[16];

	(void)final;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.hist), &zero, slots)) {
		kt_err("reading the histogram failed: %s", strerror(errno));
		return -errno;
	}
	/* reset for the next interval: calls racing with this lose at most a count each */
	{
		static const uint64_t none[KT_MAX_SLOTS];

		bpf_map_update_elem(bpf_map__fd(skel->maps.hist), &zero, none, BPF_ANY);
	}
	take_counts(ctx, d);
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	if (f->arg)
		snprintf(unit, sizeof(unit), "arg%u", f->arg);
	kt_out_hist(ctx->out, f->arg ? unit : f->unit, keys, 1, &h, ctx->interval_start_ns,
		    kt_now_mono());
	ctx->counted += d[FUNCLAT_CALLS];
	kt_out_stacks_lost(ctx->out, "calls without a return", d[FUNCLAT_NO_RETURN],
			   "the function was left by longjmp or an exception",
			   "none needed: these calls are not in the histogram");
	kt_out_stacks_lost(ctx->out, "calls too deep", d[FUNCLAT_TOO_DEEP],
			   "recursion deeper than 8 calls in flight in one thread",
			   "none: the outer 8 calls are timed");
	kt_out_stacks_lost(ctx->out, "calls", d[FUNCLAT_MISSES],
			   "ktrace's per-thread table (8192 threads) is full", "filter with -p or -t");
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	struct funclat *f = ctx->priv;

	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(f->links[i]);
		f->links[i] = NULL;
	}
	kt_utarget_free(f->ut);
	f->ut = NULL;
}

const struct kt_cmd kt_cmd_funclat = {
	.name = "funclat",
	.summary = "Latency histogram of a user or kernel function (or of an argument)",
	.doc = "Time every call of one function and print a log2 histogram of the latencies "
	       "every interval seconds, count times, or once at Ctrl-C. FUNCTION is BINARY:FUNC "
	       "(a path, or a library name: c for libc, pthread...) or k:FUNC for a kernel "
	       "function. With -p, only that process is probed and BINARY is looked up in its "
	       "mappings. Recursion and longjmp are handled per thread. "
	       "Kernel memory: 8192 threads x 400 bytes in flight (3.2 MB).\v"
	       "Examples:\n"
	       "  ktrace funclat c:malloc                  # every process's malloc, microseconds\n"
	       "  ktrace funclat -m -p 185 /usr/sbin/mysqld:dispatch_command 5\n"
	       "  ktrace funclat --arg 1 -p 185 c:malloc   # malloc sizes of process 185\n"
	       "  ktrace funclat --slower 50 c:fsync       # each fsync over 50 ms, with arguments\n"
	       "  ktrace funclat k:vfs_read                # a kernel function (fentry or kprobe)",
	.args_doc = "FUNCTION [interval [count]]",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the thread that calls the function",
	.kind = KT_STREAM,
	.pos = KT_POS_INTERVAL,
	.lead_args = 1,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct funclat),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.attach = attach,
	.start = start,
	.handle = handle,
	.min_record = sizeof(struct funclat_event),
	.ringbuf_default = 1U << 20,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing function calls... Hit Ctrl-C to end.",
};
