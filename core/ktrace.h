/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The subcommand descriptor and the context that core hands to it.
 *
 * A subcommand is data plus a few hooks. Core owns everything that BCC's tools
 * repeat in each main(): option parsing, privilege and kernel checks, libbpf
 * logging, open -> plan attach alternatives -> configure -> load -> attach,
 * polling, signals, interval/count/duration, lost-event accounting, exit codes
 * and teardown. See README.md "Adding a subcommand".
 */
#ifndef KT_KTRACE_H
#define KT_KTRACE_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kt_common.h"
#include "output.h"

struct bpf_object;
struct bpf_object_open_opts;
struct bpf_object_skeleton;
struct kt_out;
struct kt_ctx;
struct kt_ofile;

#define KT_VERSION "0.1.0"

/* Exit codes. */
enum { KT_EXIT_OK = 0, KT_EXIT_FAIL = 1, KT_EXIT_USAGE = 2 };

enum kt_kind {
	KT_STREAM,  /* one record per event through the ring buffer "events" */
	KT_SUMMARY, /* BPF aggregates in maps; drained each interval and at exit */
	KT_INFO,    /* no BPF lifecycle: the descriptor's run() does everything */
};

/* Which BCC-style positional arguments a subcommand takes. */
enum kt_pos {
	KT_POS_NONE,
	KT_POS_INTERVAL, /* [interval [count]] */
	KT_POS_DURATION, /* [duration] */
};

/* Kinds of attach alternative, in no particular order (plans give the order). */
enum kt_attach {
	KT_FENTRY,
	KT_FEXIT,
	KT_KPROBE,
	KT_KRETPROBE,
	KT_TP_BTF,
	KT_RAW_TP,
	KT_TRACEPOINT,
	KT_PERF_EVENT, /* attached by the descriptor's attach() hook */
	KT_UPROBE,     /* user-space function entry, by the descriptor's attach() */
	KT_URETPROBE,  /* user-space function return, by the descriptor's attach() */
	KT_ATTACH_N,
};

/*
 * One way to attach a logical hook. target is the kernel function (fentry,
 * fexit, kprobe, kretprobe), the tracepoint name without category (tp_btf,
 * raw_tp) or "category/name" (tracepoint). prog is the BPF program's name.
 * Two alternatives may share type and target with different programs: one
 * that needs more of the kernel (needs), then a plainer one.
 */
struct kt_alt {
	enum kt_attach type;
	const char *target;
	const char *prog;
	unsigned needs; /* KT_NEED_*: what else prog needs of the kernel */
};

/* kt_alt.needs */
#define KT_NEED_BPF_LOOP (1U << 0) /* the bpf_loop() helper (5.17+) */
/* task-local storage (bpf_task_storage_get) in tracing programs (5.11/5.12+) */
#define KT_NEED_TASK_STORAGE (1U << 1)
#define KT_NEED_BPF_COOKIE (1U << 2) /* bpf_get_attach_cookie() for kprobe/uprobe programs (5.15+) */

#define KT_MAX_ALTS 5

/*
 * A logical hook and its alternatives, best first. Hooks may come in
 * layers (e.g. the file-system commands: "vfs", then "syscall"): a run uses
 * the first layer, in the order the hooks name them, whose every required
 * hook has a working alternative, and none of the others' (no event is seen
 * twice). Hooks without a layer are always planned.
 */
struct kt_hook {
	const char *name;
	bool optional; /* no working alternative: warn and go on */
	struct kt_alt alts[KT_MAX_ALTS];
	const char *layer; /* NULL: not part of a layer */
};

/*
 * Counting mode (-c/--summary): instead of one line per event, aggregate and
 * print tables every interval (-i or the positional interval) and at the end.
 */
enum kt_summary_mode {
	KT_SUM_NONE,   /* the command has no counting mode */
	KT_SUM_USER,   /* records still flow and are counted in user space */
	KT_SUM_KERNEL, /* the BPF side counts: no records (ctx->counted_in_kernel) */
};

struct kt_cmd {
	const char *name;
	const char *summary;  /* one line for `ktrace --help` */
	const char *doc;      /* argp doc: text before \v is shown above the options, after it below */
	const char *args_doc; /* NULL: derived from pos */
	/* Its own options only: core adds the common ones, the filters and -c/--summary. */
	const struct argp_option *options;
	/* Parses the subcommand's own options; state->input is the struct kt_ctx. */
	error_t (*parse)(int key, char *arg, struct argp_state *state);
	/*
	 * KT_F_* filters core adds as options (-p, -t, -u, --cgroup, -n),
	 * validates, and writes into the BPF object's "kt_filter" before load.
	 * The BPF program applies them to the right task (kt.bpf.h).
	 */
	unsigned filters;
	/* KT_M_* modes core adds as options and keeps in ctx->o (one meaning everywhere). */
	unsigned modes;
	/* --hist's help, what it histograms (with KT_M_HIST); NULL: core's words. */
	const char *hist_help;
	/* Which task the filters select, for --help (NULL: "the traced task"). */
	const char *filter_task;
	enum kt_summary_mode summary_mode;
	/* Help of -c/--summary: what is counted and printed. */
	const char *summary_help;
	enum kt_kind kind;
	enum kt_pos pos;
	/*
	 * Positional arguments before pos's that the command's parse takes
	 * itself (ARGP_KEY_ARG with state->arg_num < lead_args), e.g. a probe
	 * target; give args_doc then.
	 */
	unsigned lead_args;
	const struct kt_hook *hooks;
	size_t n_hooks;
	size_t priv_size; /* bytes of zeroed private state at ctx->priv */
	/*
	 * Capabilities beyond the base set (CAP_BPF, CAP_PERFMON) that make the
	 * command's results more complete, e.g. CAP_SYSLOG for kernel symbol
	 * names (bits 1ULL << CAP_*: core/caps.h); check names what is missing.
	 */
	uint64_t caps_better;
	/*
	 * Optional: NULL when this kernel can run alt, else why not (static
	 * text), for what the kernel's features do not say, e.g. which
	 * argument layout a raw tracepoint has here. Plans and check use it.
	 */
	const char *(*alt_unavailable)(const struct kt_alt *alt);

	/*
	 * After parsing: cross-check options, disable hooks the options do not
	 * need. Returns 0, a negative errno, or 1 to run without BPF: run()
	 * then does everything (as for KT_INFO), e.g. usdt's listing.
	 */
	int (*validate)(struct kt_ctx *ctx);
	/* Open the skeleton (use KT_SKEL_OPEN). */
	int (*open)(struct kt_ctx *ctx);
	/* After the attach plan is chosen, before load: rodata, map sizes. */
	int (*configure)(struct kt_ctx *ctx);
	/*
	 * Attach a KT_PERF_EVENT, KT_UPROBE or KT_URETPROBE alternative, or any
	 * other the descriptor wants to own (e.g. a kprobe on a function named
	 * at run time): when set, it is called for every chosen alternative and
	 * returns 1 to let core attach that one itself.
	 */
	int (*attach)(struct kt_ctx *ctx, const struct kt_hook *hook, const struct kt_alt *alt);
	/* After attach, before the readiness line: e.g. print a text header. */
	int (*start)(struct kt_ctx *ctx);
	/*
	 * STREAM: one ring-buffer record (size already checked against min_record).
	 * A SUMMARY command with handle() may stream too: its validate() sets
	 * ctx->stream (e.g. an option that shows individual slow events).
	 */
	int (*handle)(struct kt_ctx *ctx, const void *data, size_t size);
	size_t min_record;
	/* STREAM: default ring buffer bytes (0: 4 MiB); --buffer overrides */
	uint64_t ringbuf_default;
	/* Print what was aggregated; final is set on the last call. */
	int (*drain)(struct kt_ctx *ctx, bool final);
	/* Free private state; called once, also after a failed start. */
	void (*finish)(struct kt_ctx *ctx);
	/* KT_INFO (or validate() returned 1): the whole command. */
	int (*run)(struct kt_ctx *ctx);
	/*
	 * What the histograms measure, for metric names (ktrace_<name>_<what>_seconds),
	 * e.g. "latency"; NULL: "duration" (time units) or "value".
	 */
	const char *prom_what;
	/* Readiness line shown on stderr in text mode after attach. */
	const char *tracing_msg;
	/*
	 * What this kernel's hooks give less of than newer ones (e.g. a
	 * tracepoint without an argument), for `check`; NULL: nothing missing.
	 */
	const char *(*kernel_note)(void);
};

struct bpf_link;

/* Run-time state of one hook of the plan. */
struct kt_hook_state {
	bool disabled;
	int chosen; /* index into alts, -1: none */
	const char *why; /* why nothing was chosen */
	unsigned forced; /* KTRACE_ATTACH: bit per enum kt_attach allowed, 0: any */
	struct bpf_link *link; /* NULL also when another hook attached the same program */
};

/* The modes of struct kt_cmd's modes. */
#define KT_M_MS (1U << 0)   /* -m/--milliseconds: ctx->o.ms, times in ms (default: us) */
#define KT_M_HIST (1U << 1) /* --hist: ctx->o.hist, log2 histograms besides the table */

struct kt_common_opts {
	bool summary; /* -c/--summary */
	bool ms;      /* -m/--milliseconds (KT_M_MS) */
	bool hist;    /* --hist (KT_M_HIST) */
	bool json;
	bool timestamp;
	int verbose;
	const char *output;
	uint64_t interval_s; /* 0: none */
	uint64_t count;      /* 0: unlimited */
	uint64_t duration_s; /* 0: until signalled */
	uint64_t ringbuf_bytes;
	const char *record; /* --record FILE: the tape for `ktrace replay` */
	const char *prom_dir; /* --prom-textfile DIR */
};

struct kt_ctx {
	const struct kt_cmd *cmd;
	struct kt_common_opts o;
	int argc;
	char **argv; /* the full command line, for the meta record */
	void *priv;
	struct kt_out *out;

	void *skel;
	struct bpf_object_skeleton *skel_obj;
	struct bpf_object *obj;
	void (*skel_destroy)(void *skel);

	struct kt_hook_state *hooks;
	/* the layer of hooks the plan chose (NULL: the command has none); "layer" in the meta record */
	const char *layer;

	uint64_t start_ns;          /* CLOCK_MONOTONIC at attach (BPF's ktime) */
	uint64_t start_realtime_ns; /* wall clock at attach */
	uint64_t interval_start_ns; /* monotonic, start of the current interval */
	uint64_t events;            /* records handled */
	bool stream;                /* records flow through "events" (kind STREAM, or set in validate) */
	bool counted_in_kernel;     /* -c with KT_SUM_KERNEL (set by core): no records */
	struct kt_filter_cfg filter; /* the common filters, as written into "kt_filter" */
	const char *cgroup_path;     /* --cgroup, for messages */
	/* Counting mode, in the command's own words (set in validate; NULL: core's words) */
	const char *counted_what;   /* e.g. "retransmits" */
	const char *lost_why;       /* which kernel table overflows (streams: why records are lost) */
	const char *lost_fix;       /* the option that helps */
	uint64_t counted;           /* added up by the command's drains */
	uint64_t lost;              /* records the BPF side counted as dropped */
	bool has_stacks;            /* a stack command: the summary carries lost_stacks */
	uint64_t lost_stacks;       /* stacks the kernel could not store (stack map full) */
	bool has_ustacks;           /* user stacks collected: the summary says how many are complete */
	uint64_t ustacks_total;     /* sum of the values of stacks with user frames */
	uint64_t ustacks_rooted;    /* of them, those whose user stack reaches a known root */
	uint64_t skipped;           /* runs of the programs the kernel skipped (recursion_misses) */

	/* output files besides -o (kt_output_file), closed and checked by core */
#define KT_MAX_OFILES 4
	struct {
		const char *opt;
		struct kt_ofile *of;
	} ofiles[KT_MAX_OFILES];
	int n_ofiles;

	/* extra string members of the JSON meta record (kt_meta_add) */
#define KT_MAX_META 8
	const char *meta_keys[KT_MAX_META];
	const char *meta_vals[KT_MAX_META];
	int n_meta;
};

/*
 * Open a bpftool skeleton into ctx. Usage in a descriptor's open():
 *	return KT_SKEL_OPEN(ctx, biolat_bpf);
 */
#define KT_SKEL_OPEN(ctx, name)                                                                    \
	({                                                                                         \
		struct name *__s = name##__open_opts(kt_skel_open_opts());                         \
		int __err = 0;                                                                     \
		if (!__s) {                                                                        \
			__err = -errno;                                                            \
		} else {                                                                           \
			(ctx)->skel = __s;                                                         \
			(ctx)->skel_obj = __s->skeleton;                                           \
			(ctx)->obj = __s->obj;                                                     \
			(ctx)->skel_destroy = (void (*)(void *))name##__destroy;                   \
		}                                                                                  \
		__err;                                                                             \
	})

/* Options for opening a skeleton (core/caps.h says why). */
const struct bpf_object_open_opts *kt_skel_open_opts(void);

/* The registered subcommands (cmd/commands.c). */
extern const struct kt_cmd *const kt_cmds[];
extern const size_t kt_n_cmds;

const struct kt_cmd *kt_cmd_find(const char *name);
const struct kt_cmd *kt_cmd_lookup(const struct kt_cmd *const *tab, size_t n, const char *name);
const struct kt_cmd *kt_cmd_closest(const struct kt_cmd *const *tab, size_t n, const char *name);
/* Closest command name by edit distance, or NULL when nothing is close. */
const struct kt_cmd *kt_cmd_suggest(const char *name);

/* Run one subcommand with argv[0] == its name; returns the exit code. */
int kt_run(const struct kt_cmd *cmd, int argc, char **argv, int full_argc, char **full_argv);

/* Plan helpers for descriptors. */
int kt_hook_disable(struct kt_ctx *ctx, const char *hook);
/* The alternative chosen for a hook, or NULL if none (disabled/optional missing). */
const struct kt_alt *kt_hook_chosen(const struct kt_ctx *ctx, const char *hook);

/* Parse a positive integer option value; argp_error()s on bad input. */
uint64_t kt_arg_u64(struct argp_state *state, const char *opt, const char *arg, uint64_t min,
		    uint64_t max);

/* Adds "key":"val" to the JSON meta record (strings must outlive the run). */
void kt_meta_add(struct kt_ctx *ctx, const char *key, const char *val);

/* True when the run should stop (signal, output closed, duration over, kt_stop()). */
bool kt_stopping(void);
/*
 * Ends the run as if by Ctrl-C (the final results are printed), with why
 * (e.g. KT_STOP_TARGET_EXITED) as the summary's stopped_by. May be called
 * from any thread; the first reason wins.
 */
void kt_stop(enum kt_stop why);

/*
 * An output file named by option opt (e.g. "--svg"), opened now, before
 * tracing, by the rules of core/ofile.h; core flushes, closes and checks it
 * at the end (a write error fails the run). Prints the error itself;
 * -EINVAL when the file is one -o or another such option already names.
 */
int kt_output_file(struct kt_ctx *ctx, const char *opt, const char *path, struct kt_ofile **of);
/* The file kt_output_file() opened for opt, or NULL. */
struct kt_ofile *kt_output_file_get(struct kt_ctx *ctx, const char *opt);

#endif
