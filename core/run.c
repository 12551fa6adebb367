// SPDX-License-Identifier: GPL-2.0
/*
 * The lifecycle every subcommand goes through, one function per step:
 *   step_prepare:  parse, open the output (before anything is traced), validate
 *   (step_info:    a command without BPF: meta, its run(), summary)
 *   step_load:     checks, open, plan, configure, load
 *   step_attach:   attach, clocks, ring buffer
 *   step_trace:    meta, start, readiness line, poll/drain loop -> enum kt_stop
 *   step_report:   final drain, lost, summary
 *   (--prom-textfile: the metrics file after every drain, see prom_write)
 *   step_teardown: detach, free, then close and check every output file
 * Subcommands only supply the descriptor hooks; nothing here knows about
 * any particular subcommand, and every record is rendered by output/.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfz.h"
#include "caps.h"
#include "corebtf.h"
#include "features.h"
#include "opts.h"
#include "output.h"
#include "ofile.h"
#include "plan.h"
#include "prom.h"
#include "replay.h"
#include "rlimits.h"
#include "serve.h"
#include "tape.h"
#include "util.h"

static volatile sig_atomic_t stop_signal;
/* Set by kt_stop(), maybe from another thread; the first reason wins. */
static int stop_request;

static enum kt_stop stop_requested(void)
{
	return (enum kt_stop)__atomic_load_n(&stop_request, __ATOMIC_SEQ_CST);
}

bool kt_stopping(void)
{
	return stop_signal || stop_requested();
}

void kt_stop(enum kt_stop why)
{
	int none = KT_STOP_NONE;

	__atomic_compare_exchange_n(&stop_request, &none, (int)why, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() must return so the loop sees the flag */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* `ktrace ... | head`: a closed pipe is EPIPE on write, handled as "stop" */
	signal(SIGPIPE, SIG_IGN);
}

/* ---- libbpf messages: only with -v (core says what failed, in plain words) ---- */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (kt_verbose < 1 || (level == LIBBPF_DEBUG && kt_verbose < 2))
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}


/* ---- the records around the data: core fills them, output/ renders them ---- */

static void write_meta_rec(struct kt_ctx *ctx);

/* The meta record; a layered command's layer (the plan's choice) is one of its members. */
static void write_meta(struct kt_ctx *ctx)
{
	if (ctx->layer)
		kt_meta_add(ctx, "layer", ctx->layer);
	write_meta_rec(ctx);
}

static void write_meta_rec(struct kt_ctx *ctx)
{
	const struct kt_cmd *cmd = ctx->cmd;
	struct kt_meta_attach *at = calloc(cmd->n_hooks ? cmd->n_hooks : 1, sizeof(*at));
	char host[256] = "";
	struct kt_meta_rec m = {
		.version = KT_VERSION,
		.subcommand = cmd->name,
		.argc = ctx->argc,
		.argv = ctx->argv,
		.hostname = host,
		.kernel = kt_kernel_release(),
		.start_realtime_ns = ctx->start_realtime_ns,
		.pid = getpid(),
		.interval_s = ctx->o.interval_s,
		.count = ctx->o.count,
		.duration_s = ctx->o.duration_s,
		.attach = at,
		.nattach = at ? cmd->n_hooks : 0,
		.extra_keys = ctx->meta_keys,
		.extra_vals = ctx->meta_vals,
		.nextra = (size_t)ctx->n_meta,
	};

	gethostname(host, sizeof(host) - 1);
	if (kt_replay_head()) {
		/* what the recording machine said */
		m.hostname = kt_replay_head()->hostname;
		m.kernel = kt_replay_head()->kernel;
		m.pid = (int)kt_replay_head()->pid;
	}
	m.nattach = 0;
	/* the hooks of a layer the plan did not choose are not part of the run */
	for (size_t i = 0; at && i < cmd->n_hooks; i++) {
		const struct kt_hook *h = &cmd->hooks[i];
		const struct kt_hook_state *st = &ctx->hooks[i];
		struct kt_meta_attach *a = &at[m.nattach];

		if (!kt_plan_in_layer(ctx, i))
			continue;
		m.nattach++;
		a->hook = h->name;
		if (st->disabled) {
			a->note = "not needed with these options";
		} else if (st->chosen < 0) {
			a->note = st->why ? st->why : "unavailable";
		} else {
			a->type = kt_attach_name(h->alts[st->chosen].type);
			a->target = h->alts[st->chosen].target;
			a->program = h->alts[st->chosen].prog;
		}
	}
	kt_out_meta(ctx->out, &m);
	kt_out_flush(ctx->out);
	free(at);
}

void kt_meta_add(struct kt_ctx *ctx, const char *key, const char *val)
{
	if (ctx->n_meta < KT_MAX_META) {
		ctx->meta_keys[ctx->n_meta] = key;
		ctx->meta_vals[ctx->n_meta] = val;
		ctx->n_meta++;
	}
}

/* Sum of the per-CPU "drops" counters (and each CPU's in per_cpu when given). */
static uint64_t read_drops(struct kt_ctx *ctx, uint64_t **per_cpu, int *ncpu)
{
	struct bpf_map *m = bpf_object__find_map_by_name(ctx->obj, "drops");
	int n = libbpf_num_possible_cpus();
	uint64_t *v, sum = 0;
	uint32_t zero = 0;

	*per_cpu = NULL;
	*ncpu = 0;
	if (kt_tape_replaying()) {
		size_t len;
		const void *p = kt_tape_take(KT_TAPE_DROPS, &len);

		n = (int)(len / sizeof(*v));
		if (!p || !n || !(v = calloc((size_t)n, sizeof(*v))))
			return 0;
		memcpy(v, p, (size_t)n * sizeof(*v));
		goto sum;
	}
	if (!m || n <= 0)
		return 0;
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return 0;
	if (bpf_map_lookup_elem(bpf_map__fd(m), &zero, v)) {
		free(v);
		return 0;
	}
	if (kt_tape_recording())
		kt_tape_put(KT_TAPE_DROPS, v, (size_t)n * sizeof(*v));
sum:
	for (int i = 0; i < n; i++)
		sum += v[i];
	*per_cpu = v;
	*ncpu = n;
	return sum;
}

/* Events the ring buffer could not take since the last report; always once at the end. */
static void report_lost(struct kt_ctx *ctx, bool final)
{
	struct kt_lost_rec l = {
		.what = "events",
		.reason = "ring buffer or in-flight table full",
		.fix = "raise --buffer or narrow the filters",
		.always = final,
	};
	uint64_t *pc, total;
	int n;

	if (!ctx->stream)
		return;
	total = read_drops(ctx, &pc, &n);
	l.count = total - ctx->lost;
	l.per_cpu = pc;
	l.ncpu = (size_t)n;
	ctx->lost = total;
	/* a stream that loses records for more reasons than a full buffer says which */
	if (ctx->lost_why)
		l.reason = ctx->lost_why;
	if (ctx->lost_fix)
		l.fix = ctx->lost_fix;
	if (ctx->counted_what) {
		/* counting in the kernel: what is lost is what a full table could not count */
		l.what = ctx->counted_what;
		l.reason = ctx->lost_why;
		l.fix = ctx->lost_fix;
		l.verb = "not counted";
	}
	kt_out_lost(ctx->out, &l);
	free(pc);
}

/*
 * Runs of the command's programs that the kernel skipped, in total: a program
 * that is still running on a CPU (its task preempted in it, as the newest
 * kernels allow on the faultable system-call tracepoints, or an interrupt
 * nested in it) is not run again there, and the kernel only counts the miss
 * (bpf_prog_info.recursion_misses, 5.12+; 0 before). Each is an event that
 * is not in the results.
 */
static uint64_t read_skips(struct kt_ctx *ctx)
{
	struct bpf_program *p;
	uint64_t sum = 0;

	if (kt_tape_replaying()) {
		size_t n;
		const void *v;

		if (kt_tape_peek() != KT_TAPE_SKIPS)
			return ctx->skipped; /* a tape from before they were recorded */
		v = kt_tape_take(KT_TAPE_SKIPS, &n);
		if (v && n == sizeof(sum))
			memcpy(&sum, v, sizeof(sum));
		return sum;
	}
	if (!ctx->obj)
		return 0;
	bpf_object__for_each_program(p, ctx->obj) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(p);

		memset(&info, 0, sizeof(info));
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			sum += info.recursion_misses;
	}
	if (kt_tape_recording())
		kt_tape_put(KT_TAPE_SKIPS, &sum, sizeof(sum));
	return sum;
}

/* Program runs the kernel skipped since the last report (a record only when there were some). */
static void report_skipped(struct kt_ctx *ctx)
{
	struct kt_lost_rec l = {
		.what = "program runs",
		.verb = "skipped by the kernel",
		.reason = "the program was still running on that CPU, preempted or interrupted",
		.fix = "the events of those runs are missing from the results; a kernel limit",
	};
	uint64_t total = read_skips(ctx);

	l.count = total >= ctx->skipped ? total - ctx->skipped : 0;
	ctx->skipped = total;
	kt_out_lost(ctx->out, &l);
}

static void write_summary(struct kt_ctx *ctx, enum kt_stop why, uint64_t intervals)
{
	struct kt_summary_rec s = {
		.stopped_by = why,
		.duration_ms = (kt_now_mono() - ctx->start_ns) / 1000000,
		.intervals = intervals,
		.stream = ctx->stream,
		.has_events = !ctx->counted_in_kernel,
		.events = ctx->events,
		.lost = ctx->lost,
		.counted_what = ctx->counted_what,
		.counted = ctx->counted,
		.has_stacks = ctx->has_stacks,
		.lost_stacks = ctx->lost_stacks,
		.has_ustacks = ctx->has_ustacks,
		.ustacks_total = ctx->ustacks_total,
		.ustacks_rooted = ctx->ustacks_rooted,
		.skipped_runs = ctx->skipped,
	};

	kt_out_summary(ctx->out, &s);
}

/* ---- --prom-textfile DIR: the metrics of every interval, replaced whole ---- */

static struct {
	int dirfd;
	struct kt_prom *p;
	char name[96]; /* ktrace_<command>.prom */
} prom = { .dirfd = -1 };

/* Before tracing: the directory (no symlink followed) and the metrics' state. */
static int prom_open(struct kt_ctx *ctx)
{
	/* under `ktrace serve` the metrics go to serve, not to a directory */
	int err = ctx->o.prom_dir ? kt_odir_open(ctx->o.prom_dir, &prom.dirfd) : 0;

	if (err) {
		kt_err("--prom-textfile %s: cannot open the directory: %s", ctx->o.prom_dir,
		       err == -ELOOP ? "it is a symbolic link (name the directory it points to)"
		       : err == -ENOENT ? "it does not exist (create it, e.g. "
					  "/var/lib/prometheus/node-exporter)"
					: strerror(-err));
		return err;
	}
	snprintf(prom.name, sizeof(prom.name), "ktrace_%s.prom", ctx->cmd->name);
	prom.p = kt_prom_new(ctx->cmd->name, ctx->cmd->prom_what, KT_PROM_DEFAULT_SERIES);
	if (!prom.p) {
		kt_err("out of memory");
		return -ENOMEM;
	}
	kt_out_set_prom(ctx->out, prom.p);
	return 0;
}

/*
 * Under `ktrace serve`: the metrics in both formats to serve. Serve gone
 * (EPIPE) stops the run quietly (kt_serve_push), it is no failure of the
 * command; metrics too large to send are a warning, every interval.
 */
static int serve_push(struct kt_ctx *ctx)
{
	char *text = NULL, *om = NULL;
	size_t tlen = 0, olen = 0;
	FILE *t = open_memstream(&text, &tlen), *o = open_memstream(&om, &olen);
	int err = t && o ? 0 : -ENOMEM;

	if (!err)
		err = kt_prom_render_fmt(prom.p, t, false);
	if (!err)
		err = kt_prom_render_fmt(prom.p, o, true);
	if (t && fclose(t) && !err)
		err = -ENOMEM;
	if (o && fclose(o) && !err)
		err = -ENOMEM;
	if (!err)
		err = kt_serve_push(text, tlen, om, olen);
	free(text);
	free(om);
	if (err && err != -EPIPE)
		kt_warn("serve: sending the metrics of %s failed: %s", ctx->cmd->name,
			strerror(-err));
	return 0;
}

/*
 * After a drain: every series' cumulative state, as one new file renamed
 * over the old one. Mode 0644: node_exporter runs as its own user and must
 * read it; metrics hold what the labels name (disks, comms, syscalls), no
 * more than `ps` shows every user. A failed write is a warning (the next
 * interval tries again); at the end it fails the run.
 */
static int prom_write(struct kt_ctx *ctx, bool final)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (!prom.p)
		return 0;
	if (kt_serve_child())
		return serve_push(ctx);
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	err = kt_prom_render(prom.p, f);
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (!err)
		err = kt_odir_replace(prom.dirfd, prom.name, buf, len, 0644);
	free(buf);
	if (err && final)
		kt_err("--prom-textfile %s/%s: writing the metrics failed: %s", ctx->o.prom_dir,
		       prom.name, strerror(-err));
	else if (err)
		kt_warn("--prom-textfile %s/%s: writing the metrics failed: %s (trying again at the "
			"next interval)",
			ctx->o.prom_dir, prom.name, strerror(-err));
	return err;
}

static void prom_close(struct kt_ctx *ctx)
{
	if (ctx->out)
		kt_out_set_prom(ctx->out, NULL);
	kt_prom_free(prom.p);
	prom.p = NULL;
	if (prom.dirfd >= 0)
		close(prom.dirfd);
	prom.dirfd = -1;
}

/* ---- output files other than -o (e.g. --svg): opened by core, closed and checked by core ---- */

int kt_output_file(struct kt_ctx *ctx, const char *opt, const char *path, struct kt_ofile **of)
{
	int err;

	if (ctx->n_ofiles >= KT_MAX_OFILES)
		return -ENOSPC;
	err = kt_ofile_open(of, path);
	if (err) {
		kt_err("%s %s: cannot open the file for writing: %s", opt, path,
		       kt_ofile_strerror(err));
		return err;
	}
	ctx->ofiles[ctx->n_ofiles].opt = opt;
	ctx->ofiles[ctx->n_ofiles].of = *of;
	ctx->n_ofiles++;
	/* two outputs written into one file would interleave into neither */
	if (kt_ofile_same(*of, kt_out_ofile(ctx->out))) {
		kt_err("%s %s: the same file as -o: give each output its own file", opt, path);
		return -EINVAL;
	}
	for (int i = 0; i < ctx->n_ofiles - 1; i++)
		if (kt_ofile_same(*of, ctx->ofiles[i].of)) {
			kt_err("%s %s: the same file as %s: give each output its own file", opt, path,
			       ctx->ofiles[i].opt);
			return -EINVAL;
		}
	return 0;
}

struct kt_ofile *kt_output_file_get(struct kt_ctx *ctx, const char *opt)
{
	for (int i = 0; i < ctx->n_ofiles; i++)
		if (!strcmp(ctx->ofiles[i].opt, opt))
			return ctx->ofiles[i].of;
	return NULL;
}

/* ---- polling ---- */

static int on_record(void *arg, void *data, size_t size)
{
	struct kt_ctx *ctx = arg;

	if (size < ctx->cmd->min_record) {
		kt_warn("short record from the kernel (%zu bytes), ignored", size);
		return 0;
	}
	ctx->events++;
	if (kt_tape_recording())
		kt_tape_put(KT_TAPE_REC, data, size);
	return ctx->cmd->handle ? ctx->cmd->handle(ctx, data, size) : 0;
}

/* A reader that closed our stdout pipe shows up as POLLERR on it. */
static bool output_closed(struct kt_ctx *ctx, int timeout_ms)
{
	struct pollfd p = { .fd = kt_out_fd(ctx->out), .events = 0 };

	if (poll(&p, 1, timeout_ms) > 0 && (p.revents & (POLLERR | POLLHUP)))
		return true;
	return false;
}

/* Why the output stopped taking data, if it did. */
static enum kt_stop output_state(struct kt_ctx *ctx)
{
	int err = kt_out_err(ctx->out);

	if (!err)
		return KT_STOP_NONE;
	return err == EPIPE ? KT_STOP_OUTPUT_CLOSED : KT_STOP_OUTPUT_ERROR;
}

/* Milliseconds poll may sleep before the next interval or the end. */
static int loop_timeout(uint64_t next, uint64_t end)
{
	uint64_t now = kt_now_mono(), wake = UINT64_MAX;
	uint64_t ms;

	if (next && next < wake)
		wake = next;
	if (end && end < wake)
		wake = end;
	if (wake == UINT64_MAX)
		return 200;
	ms = (wake > now ? wake - now : 0) / 1000000;
	return ms > 200 ? 200 : (int)ms;
}

/* Waits for records (or just for time to pass); a stop reason, or KT_STOP_NONE. */
static enum kt_stop poll_once(struct kt_ctx *ctx, struct ring_buffer *rb, int timeout)
{
	enum kt_stop why;

	if (rb) {
		int err = ring_buffer__poll(rb, timeout);

		if (err < 0 && err != -EINTR) {
			kt_err("polling the ring buffer failed: %s", strerror(-err));
			return KT_STOP_ERROR;
		}
		if (output_closed(ctx, 0))
			return KT_STOP_OUTPUT_CLOSED;
	} else if (output_closed(ctx, timeout)) {
		return KT_STOP_OUTPUT_CLOSED;
	}
	kt_out_flush(ctx->out);
	why = output_state(ctx);
	if (why)
		return why;
	if (stop_requested())
		return stop_requested();
	if (stop_signal)
		return KT_STOP_SIGNAL;
	return KT_STOP_NONE;
}

static enum kt_stop run_loop(struct kt_ctx *ctx, struct ring_buffer *rb, uint64_t *intervals)
{
	uint64_t iv_ns = ctx->o.interval_s * 1000000000ULL;
	uint64_t end = ctx->o.duration_s ? ctx->start_ns + ctx->o.duration_s * 1000000000ULL : 0;
	uint64_t next = iv_ns ? ctx->start_ns + iv_ns : 0;

	ctx->interval_start_ns = ctx->start_ns;
	for (;;) {
		enum kt_stop why = poll_once(ctx, rb, loop_timeout(next, end));
		uint64_t now;

		if (why)
			return why;
		now = kt_now_mono();
		if (next && now >= next) {
			bool last = ctx->o.count && *intervals + 1 >= ctx->o.count;

			(*intervals)++;
			if (kt_tape_recording()) {
				uint8_t fin = last;

				kt_tape_put(KT_TAPE_TICK, &fin, 1);
			}
			if (last)
				kt_out_set_final(ctx->out);
			if (ctx->cmd->drain && ctx->cmd->drain(ctx, last))
				return output_state(ctx) ? output_state(ctx) : KT_STOP_ERROR;
			report_lost(ctx, false);
			report_skipped(ctx);
			if (!last) /* the last interval's metrics are the final ones, step_report's */
				prom_write(ctx, false);
			kt_out_flush(ctx->out);
			why = output_state(ctx);
			if (why)
				return why;
			ctx->interval_start_ns = now;
			next += iv_ns;
			if (last)
				return KT_STOP_COUNT;
		}
		if (end && now >= end)
			return KT_STOP_DURATION;
	}
}

/* The records a replay hands to the command: aligned copies (a tape packs them unaligned). */
static int replay_record(struct kt_ctx *ctx, const void *p, size_t n)
{
	static void *buf;
	static size_t cap;

	if (n > cap) {
		void *b = realloc(buf, n);

		if (!b)
			return -ENOMEM;
		buf = b;
		cap = n;
	}
	memcpy(buf, p, n);
	return on_record(ctx, buf, n);
}

/* A replay's loop: the tape's records and ticks, until its stop. */
static enum kt_stop replay_loop(struct kt_ctx *ctx, uint64_t *intervals)
{
	ctx->interval_start_ns = ctx->start_ns;
	for (;;) {
		enum kt_tape_item t = kt_tape_peek();
		enum kt_stop why;
		const uint8_t *p;
		uint32_t w;
		size_t n;

		if (t == KT_TAPE_REC) {
			p = kt_tape_take(t, &n);
			if (replay_record(ctx, p, n))
				return KT_STOP_ERROR;
		} else if (t == KT_TAPE_TICK) {
			uint64_t tick;
			bool last;

			p = kt_tape_take(t, &n);
			last = n && p[0];
			tick = kt_now_mono();
			(*intervals)++;
			if (last)
				kt_out_set_final(ctx->out);
			if (ctx->cmd->drain && ctx->cmd->drain(ctx, last))
				return output_state(ctx) ? output_state(ctx) : KT_STOP_ERROR;
			report_lost(ctx, false);
			report_skipped(ctx);
			if (!last)
				prom_write(ctx, false);
			ctx->interval_start_ns = tick;
			if (last)
				return KT_STOP_COUNT;
		} else if (t == KT_TAPE_END) {
			p = kt_tape_take(t, &n);
			if (n != sizeof(w))
				return KT_STOP_ERROR;
			memcpy(&w, p, sizeof(w));
			return w > KT_STOP_NONE && w < KT_STOP_N ? (enum kt_stop)w : KT_STOP_ERROR;
		} else if (!t) {
			kt_warn("the tape ends without the run's stop (the recording was killed): "
				"what it holds is shown");
			return KT_STOP_SIGNAL;
		} else {
			kt_err("the tape does not match this replay: item %d among the records", t);
			return KT_STOP_ERROR;
		}
		kt_out_flush(ctx->out);
		why = output_state(ctx);
		if (why)
			return why;
	}
}

/* ---- the lifecycle, one step per function ---- */

/* Everything a run holds, for the steps and the teardown. */
struct run {
	struct kt_ctx ctx;
	struct ring_buffer *rb;
	struct kt_ofile *tape; /* --record */
	bool loaded;
	bool started; /* the command's start() succeeded: its drain may run */
	bool info;    /* validate() chose to run without BPF (e.g. a listing): run() does all */
	bool prom_failed; /* the last --prom-textfile write failed */
};

static int fail(int err)
{
	return err == -EINVAL ? KT_EXIT_USAGE : KT_EXIT_FAIL;
}

/* Options, the output (opened before anything is traced) and the command's own checks. */
static int step_prepare(struct run *r, int argc, char **argv)
{
	struct kt_ctx *ctx = &r->ctx;
	const struct kt_cmd *cmd = ctx->cmd;
	struct kt_out_opts oo = {};
	int err;

	/* 4 MiB holds thousands of records of a kilobyte */
	ctx->o.ringbuf_bytes = cmd->ringbuf_default ? cmd->ringbuf_default : 4ULL << 20;
	ctx->hooks = calloc(cmd->n_hooks ? cmd->n_hooks : 1, sizeof(*ctx->hooks));
	ctx->priv = calloc(1, cmd->priv_size ? cmd->priv_size : 1);
	if (!ctx->hooks || !ctx->priv) {
		kt_err("out of memory");
		return KT_EXIT_FAIL;
	}
	for (size_t i = 0; i < cmd->n_hooks; i++)
		ctx->hooks[i].chosen = -1;
	if (kt_opts_parse(ctx, argc, argv))
		return KT_EXIT_USAGE;
	if (kt_serve_child()) {
		/* serve runs the command until serve stops, its metrics updated every interval */
		if (ctx->o.count || ctx->o.duration_s || ctx->o.prom_dir) {
			kt_err("serve runs %s until serve stops and serves its metrics itself: drop %s",
			       cmd->name, ctx->o.prom_dir ? "--prom-textfile" : "the count and -d");
			return KT_EXIT_USAGE;
		}
		if (!ctx->o.interval_s)
			ctx->o.interval_s = 1;
	}
	kt_verbose = ctx->o.verbose;
	oo.path = ctx->o.output;
	oo.json = ctx->o.json;
	oo.timestamp = ctx->o.timestamp;
	err = kt_out_open(&ctx->out, &oo);
	if (err) {
		kt_err("-o %s: cannot open the file for writing: %s", ctx->o.output,
		       kt_ofile_strerror(err));
		return KT_EXIT_FAIL;
	}
	ctx->stream = cmd->kind == KT_STREAM;
	if (cmd->validate) {
		err = cmd->validate(ctx);
		if (err > 0 && cmd->run)
			r->info = true;
		else if (err)
			return fail(err < 0 ? err : -EINVAL);
	}
	if (ctx->o.record && kt_output_file(ctx, "--record", ctx->o.record, &r->tape))
		return KT_EXIT_FAIL;
	if ((ctx->o.prom_dir || kt_serve_child()) && prom_open(ctx))
		return KT_EXIT_FAIL;
	/* a command without hooks (check) looks at every command's */
	if (cmd->n_hooks ? kt_plan_env_check(&cmd, 1) : kt_plan_env_check(kt_cmds, kt_n_cmds))
		return KT_EXIT_USAGE;
	setup_signals();
	return KT_EXIT_OK;
}

/* A command without BPF (check): its own run() between the meta and summary records. */
static int step_info(struct run *r)
{
	struct kt_ctx *ctx = &r->ctx;
	int rc;

	ctx->start_ns = kt_now_mono();
	ctx->start_realtime_ns = kt_now_real();
	write_meta(ctx);
	rc = ctx->cmd->run(ctx);
	write_summary(ctx, rc == KT_EXIT_OK ? KT_STOP_COMPLETE : KT_STOP_ERROR, 0);
	kt_out_flush(ctx->out);
	return rc;
}

/*
 * Privileges, BTF, open -> plan -> configure -> load. A replay opens and
 * configures as the recording did, with its plan, and loads nothing.
 */
static int step_load(struct run *r)
{
	struct kt_ctx *ctx = &r->ctx;
	const struct kt_cmd *cmd = ctx->cmd;
	bool replay = kt_tape_replaying();
	int err;

	if (!replay && kt_check_privileges()) {
		uint64_t need = kt_caps_required();
		char all[128], miss[128], sp[128];

		kt_err("ktrace needs root or %s (missing: %s; have: %s): run as root or grant them, e.g. setpriv --inh-caps %s --ambient-caps %s",
		       kt_caps_str(need, all, sizeof(all)),
		       kt_caps_str(kt_caps_missing(need), miss, sizeof(miss)), kt_privileges_desc(),
		       kt_caps_setpriv(need, sp, sizeof(sp)), sp);
		return KT_EXIT_FAIL;
	}
	if (!replay && !kt_have_btf()) {
		kt_err("kernel BTF not found at /sys/kernel/btf/vmlinux: ktrace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 2020)");
		return KT_EXIT_FAIL;
	}
	libbpf_set_print(libbpf_print);
	if (!replay)
		kt_memlock_raise();
	if (!replay && kt_nofile_ensure())
		return KT_EXIT_FAIL;

	err = cmd->open(ctx);
	if (err) {
		kt_err("cannot open the BPF object of %s: %s", cmd->name, strerror(-err));
		return KT_EXIT_FAIL;
	}
	if (replay ? kt_replay_plan(ctx) : kt_plan_choose(ctx))
		return KT_EXIT_FAIL;
	if (replay)
		kt_plan_layer_from_choice(ctx);
	if (!replay)
		kt_plan_log(ctx);
	kt_plan_apply(ctx);
	if (ctx->stream) {
		struct bpf_map *ev = bpf_object__find_map_by_name(ctx->obj, "events");
		uint64_t sz = 4096;

		/* a ring buffer is a power of two pages */
		while (sz < ctx->o.ringbuf_bytes)
			sz <<= 1;
		if (ev) {
			static char bytes[24];

			bpf_map__set_max_entries(ev, (uint32_t)sz);
			snprintf(bytes, sizeof(bytes), "%" PRIu64, sz);
			kt_meta_add(ctx, "buffer_bytes", bytes);
		}
	}
	if (kt_filter_write(ctx))
		return KT_EXIT_FAIL;
	if (cmd->configure) {
		err = cmd->configure(ctx);
		if (err)
			return fail(err);
	}
	if (replay)
		return KT_EXIT_OK;
	/* CO-RE against the kernel's types the object names, not all of them */
	err = kt_core_btf_prepare(ctx->obj);
	if (err) {
		kt_err("cannot prepare the kernel's BTF for CO-RE: %s", strerror(-err));
		return KT_EXIT_FAIL;
	}
	/* libbpf parses its own copy to load: do not hold two */
	kt_vmlinux_btf_release();
	err = bpf_object__load_skeleton(ctx->skel_obj);
	/* the unpacked object is libbpf's input only until the load */
	kt_bpf_inflate_release();
	/* give the BTF parses' memory back to the system */
	malloc_trim(0);
	if (err) {
		kt_err("loading the BPF programs of %s failed: %s (run with -v to see the verifier's log)",
		       cmd->name, strerror(-err));
		return KT_EXIT_FAIL;
	}
	r->loaded = true;
	return KT_EXIT_OK;
}

/* Attach, start the clocks, set up the ring buffer. */
static int step_attach(struct run *r)
{
	struct kt_ctx *ctx = &r->ctx;

	if (kt_replay_head()) {
		/* the recording's clocks; nothing to attach */
		ctx->start_ns = kt_replay_head()->start_ns;
		ctx->start_realtime_ns = kt_replay_head()->start_realtime_ns;
		kt_clock_pin(ctx->start_ns);
		kt_clock_pin_real(ctx->start_ns, ctx->start_realtime_ns);
		kt_out_set_clock(ctx->out, ctx->start_ns, ctx->start_realtime_ns);
		return KT_EXIT_OK;
	}
	if (kt_plan_attach(ctx))
		return KT_EXIT_FAIL;
	ctx->start_ns = kt_now_mono();
	ctx->start_realtime_ns = kt_now_real();
	kt_out_set_clock(ctx->out, ctx->start_ns, ctx->start_realtime_ns);
	if (ctx->stream) {
		struct bpf_map *ev = bpf_object__find_map_by_name(ctx->obj, "events");

		if (ev) {
			r->rb = ring_buffer__new(bpf_map__fd(ev), on_record, ctx, NULL);
			if (!r->rb) {
				kt_err("cannot set up the ring buffer: %s", strerror(errno));
				return KT_EXIT_FAIL;
			}
		}
	}
	return KT_EXIT_OK;
}

/* Meta record, the command's start, readiness line, then the loop until a stop. */
static enum kt_stop step_trace(struct run *r, uint64_t *intervals)
{
	struct kt_ctx *ctx = &r->ctx;
	const struct kt_cmd *cmd = ctx->cmd;

	if (r->tape)
		kt_record_start(ctx, r->tape);
	write_meta(ctx);
	if (cmd->start && cmd->start(ctx))
		return KT_STOP_ERROR;
	r->started = true;
	kt_out_flush(ctx->out);
	if (output_state(ctx))
		return output_state(ctx);
	if (kt_tape_replaying())
		return replay_loop(ctx, intervals);
	if (kt_serve_child())
		kt_serve_ready(); /* serve says when all its commands are ready */
	else
		fprintf(stderr, "%s\n",
			cmd->tracing_msg ? cmd->tracing_msg : "Tracing... Hit Ctrl-C to end.");
	return run_loop(ctx, r->rb, intervals);
}

/* What is left to print after the loop: the final drain, lost events, the summary. */
static enum kt_stop step_report(struct run *r, enum kt_stop why, uint64_t intervals)
{
	struct kt_ctx *ctx = &r->ctx;
	const struct kt_cmd *cmd = ctx->cmd;

	if (!r->started || why == KT_STOP_OUTPUT_CLOSED || why == KT_STOP_OUTPUT_ERROR)
		return why; /* nothing was started, or nothing more can be written */
	if (kt_tape_recording()) {
		uint32_t w = why;

		kt_tape_put(KT_TAPE_END, &w, sizeof(w));
	}
	if (r->rb)
		ring_buffer__consume(r->rb);
	/* a replay: the stop, when its count-th tick ended the loop, and the records consumed after it */
	if (kt_tape_peek() == KT_TAPE_END) {
		size_t n;

		kt_tape_take(KT_TAPE_END, &n);
	}
	while (kt_tape_peek() == KT_TAPE_REC) {
		size_t n;
		const void *p = kt_tape_take(KT_TAPE_REC, &n);

		if (replay_record(ctx, p, n))
			break;
	}
	kt_out_set_final(ctx->out);
	/* the count-th interval was the final print already */
	if (why != KT_STOP_COUNT && cmd->drain &&
	    (ctx->o.interval_s == 0 || kt_now_mono() > ctx->interval_start_ns)) {
		if (cmd->drain(ctx, true) && why != KT_STOP_ERROR)
			why = output_state(ctx) ? output_state(ctx) : KT_STOP_ERROR;
	}
	if (!output_state(ctx)) {
		report_lost(ctx, true);
		report_skipped(ctx);
		write_summary(ctx, why, intervals);
		kt_out_flush(ctx->out);
	}
	if (prom_write(ctx, true))
		r->prom_failed = true;
	if (output_state(ctx) && why != KT_STOP_ERROR)
		why = output_state(ctx);
	return why;
}

/*
 * Detach and free everything, then close the outputs: a write error found
 * at the last flush or close still fails the run, after the programs are
 * gone. A reader that went away (EPIPE) is no error.
 */
static int step_teardown(struct run *r, int rc)
{
	struct kt_ctx *ctx = &r->ctx;
	const struct kt_cmd *cmd = ctx->cmd;
	int err;

	ring_buffer__free(r->rb);
	prom_close(ctx);
	if (r->loaded || ctx->obj)
		kt_plan_detach(ctx);
	if (cmd->finish)
		cmd->finish(ctx);
	if (ctx->skel && ctx->skel_destroy)
		ctx->skel_destroy(ctx->skel);
	for (int i = 0; i < ctx->n_ofiles; i++) {
		struct kt_ofile *of = ctx->ofiles[i].of;
		char name[4096];

		snprintf(name, sizeof(name), "%s", kt_ofile_name(of));
		err = kt_ofile_close(of, rc != KT_EXIT_OK);
		if (err && err != -EPIPE) {
			kt_err("%s %s: writing the file failed: %s", ctx->ofiles[i].opt, name,
			       strerror(-err));
			rc = KT_EXIT_FAIL;
		}
	}
	if (ctx->out) {
		char name[4096];

		snprintf(name, sizeof(name), "%s", kt_out_name(ctx->out));
		err = kt_out_close(ctx->out, rc != KT_EXIT_OK);
		if (err && err != -EPIPE) {
			kt_err("writing to %s failed: %s%s", name, strerror(-err),
			       err == -ENOSPC ? " (free some space, or write to another file system with -o)"
					      : "");
			rc = KT_EXIT_FAIL;
		}
	}
	for (size_t i = 0; ctx->hooks && i < cmd->n_hooks; i++)
		free((void *)ctx->hooks[i].why);
	free(ctx->hooks);
	free(ctx->priv);
	return rc;
}

int kt_run(const struct kt_cmd *cmd, int argc, char **argv, int full_argc, char **full_argv)
{
	struct run r = { .ctx = { .cmd = cmd, .argc = full_argc, .argv = full_argv } };
	enum kt_stop why;
	uint64_t intervals = 0;
	int rc;

	rc = step_prepare(&r, argc, argv);
	if (rc == KT_EXIT_OK && (cmd->kind == KT_INFO || r.info))
		rc = step_info(&r);
	else if (rc == KT_EXIT_OK)
		rc = step_load(&r);
	if (rc == KT_EXIT_OK && cmd->kind != KT_INFO && !r.info)
		rc = step_attach(&r);
	if (rc == KT_EXIT_OK && cmd->kind != KT_INFO && !r.info) {
		why = step_trace(&r, &intervals);
		why = step_report(&r, why, intervals);
		kt_info("stopped by %s", kt_stop_name(why));
		rc = why == KT_STOP_ERROR || why == KT_STOP_OUTPUT_ERROR || r.prom_failed
			     ? KT_EXIT_FAIL
			     : KT_EXIT_OK;
	}
	return step_teardown(&r, rc);
}
