// SPDX-License-Identifier: GPL-2.0
/*
 * The lifecycle every subcommand goes through:
 *   parse -> validate -> checks -> open -> plan -> configure -> load ->
 *   attach -> meta + readiness -> poll/drain loop -> final print -> detach.
 * Subcommands only supply the descriptor hooks; nothing here knows about
 * any particular subcommand.
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
#include <cJSON.h>

#include "caps.h"
#include "features.h"
#include "output.h"
#include "output_int.h"
#include "plan.h"
#include "util.h"

static volatile sig_atomic_t stop_signal;
static bool output_gone;

bool kt_stopping(void)
{
	return stop_signal || output_gone;
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

/* ---- options ---- */

enum {
	OPT_BUFFER = 0x1000,
};

static const struct argp_option common_options[] = {
	{ "json", 'j', NULL, 0, "Print JSON Lines (one object per line) instead of text", 0 },
	{ "output", 'o', "FILE", 0, "Write data to FILE instead of standard output", 0 },
	{ "timestamp", 'T', NULL, 0, "Include wall-clock time (HH:MM:SS) in text output", 0 },
	{ "verbose", 'v', NULL, 0, "Show attach choices and libbpf's messages", 0 },
	{},
};

static const struct argp_option stream_options[] = {
	{ "duration", 'd', "SECONDS", 0, "Trace this long (e.g. 30, 90s, 5m, 1h), then stop", 0 },
	/* the help text is filled in with the command's default (parse_args) */
	{ "buffer", OPT_BUFFER, "SIZE", 0, NULL, 0 },
	{},
};

/* "16M", "512k", "4096": bytes; 0 on error. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s || *s == '-')
		return 0;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	return *end ? 0 : v;
}

uint64_t kt_arg_u64(struct argp_state *state, const char *opt, const char *arg, uint64_t min,
		    uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < min || v > max) {
		argp_error(state, "invalid value for %s: '%s' (expected an integer from %" PRIu64
				  " to %" PRIu64 ")",
			   opt, arg, min, max);
		return 0;
	}
	return v;
}

/* A duration in seconds: "10", "10s", "2m", "1h". */
static uint64_t parse_seconds(struct argp_state *state, const char *what, const char *arg)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!errno && end != arg && *arg != '-') {
		if (!strcmp(end, "") || !strcmp(end, "s"))
			;
		else if (!strcmp(end, "m"))
			v *= 60;
		else if (!strcmp(end, "h"))
			v *= 3600;
		else
			end = NULL;
		if (end && v > 0 && v <= 365ULL * 86400)
			return v;
	}
	argp_error(state, "invalid %s '%s': expected a positive number of seconds (or with s, m, h)",
		   what, arg);
	return 0;
}

static error_t common_parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;

	switch (key) {
	case 'j':
		ctx->o.json = true;
		break;
	case 'o':
		ctx->o.output = arg;
		break;
	case 'T':
		ctx->o.timestamp = true;
		break;
	case 'v':
		ctx->o.verbose++;
		break;
	case 'd':
		ctx->o.duration_s = parse_seconds(state, "--duration", arg);
		break;
	case OPT_BUFFER:
		ctx->o.ringbuf_bytes = parse_size(arg);
		if (ctx->o.ringbuf_bytes < 4096 || ctx->o.ringbuf_bytes > (1ULL << 30))
			argp_error(state, "invalid --buffer '%s': expected a size from 4K to 1G", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static error_t top_parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	const struct kt_cmd *cmd = ctx->cmd;
	error_t r = ARGP_ERR_UNKNOWN;

	if (key == ARGP_KEY_INIT) {
		for (unsigned i = 0; state->root_argp->children && state->root_argp->children[i].argp;
		     i++)
			state->child_inputs[i] = ctx;
	}
	if (cmd->parse)
		r = cmd->parse(key, arg, state);
	if (r != ARGP_ERR_UNKNOWN)
		return r;
	if (key != ARGP_KEY_ARG)
		return ARGP_ERR_UNKNOWN;
	switch (cmd->pos) {
	case KT_POS_INTERVAL:
		if (state->arg_num == 0)
			ctx->o.interval_s = parse_seconds(state, "interval", arg);
		else if (state->arg_num == 1)
			ctx->o.count = kt_arg_u64(state, "count", arg, 1, UINT32_MAX);
		else
			argp_error(state, "unexpected argument '%s' (usage: [interval [count]])", arg);
		return 0;
	case KT_POS_DURATION:
		if (state->arg_num == 0)
			ctx->o.duration_s = parse_seconds(state, "duration", arg);
		else
			argp_error(state, "unexpected argument '%s' (usage: [duration])", arg);
		return 0;
	default:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	}
}

static int parse_args(struct kt_ctx *ctx, int argc, char **argv)
{
	const struct kt_cmd *cmd = ctx->cmd;
	struct argp common = { common_options, common_parse };
	struct argp_option sopts[sizeof(stream_options) / sizeof(stream_options[0])];
	struct argp stream = { sopts, common_parse };
	uint64_t rb = cmd->ringbuf_default ? cmd->ringbuf_default : 4ULL << 20;
	char rb_doc[128];
	struct argp_child children[3] = {
		{ &common, 0, "Common options:", 100 },
	};
	const char *args_doc = cmd->args_doc;
	struct argp argp = { cmd->options, top_parse, NULL, cmd->doc, children };

	memcpy(sopts, stream_options, sizeof(sopts));
	snprintf(rb_doc, sizeof(rb_doc),
		 "Ring buffer size (e.g. 512K, 16M; default %" PRIu64 "%s): raise it if events are lost",
		 rb >= 1 << 20 ? rb >> 20 : rb >> 10, rb >= 1 << 20 ? "M" : "K");
	for (size_t i = 0; sopts[i].name; i++)
		if (sopts[i].key == OPT_BUFFER)
			sopts[i].doc = rb_doc;
	if (cmd->kind == KT_STREAM)
		children[1] = (struct argp_child){ &stream, 0, NULL, 100 };
	if (!args_doc)
		args_doc = cmd->pos == KT_POS_INTERVAL ? "[interval [count]]"
			 : cmd->pos == KT_POS_DURATION ? "[duration]"
						       : NULL;
	argp.args_doc = args_doc;
	argp_err_exit_status = KT_EXIT_USAGE;
	return argp_parse(&argp, argc, argv, 0, NULL, ctx);
}

/* ---- libbpf messages: only with -v (core says what failed, in plain words) ---- */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (kt_verbose < 1 || (level == LIBBPF_DEBUG && kt_verbose < 2))
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

/* ---- records core writes itself ---- */

static void write_meta(struct kt_ctx *ctx)
{
	cJSON *m, *a;
	char host[256] = "", t[48], ns[32];

	if (!kt_out_json(ctx->out))
		return;
	gethostname(host, sizeof(host) - 1);
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "meta");
	cJSON_AddStringToObject(m, "version", KT_VERSION);
	cJSON_AddStringToObject(m, "subcommand", ctx->cmd->name);
	a = cJSON_AddArrayToObject(m, "cmdline");
	for (int i = 0; i < ctx->argc; i++) {
		char *c = kt_utf8_clean(ctx->argv[i], strlen(ctx->argv[i]), NULL);

		cJSON_AddItemToArray(a, cJSON_CreateString(c ? c : ""));
		free(c);
	}
	cJSON_AddStringToObject(m, "hostname", host);
	cJSON_AddStringToObject(m, "kernel", kt_kernel_release());
	kt_fmt_rfc3339(t, sizeof(t), ctx->start_realtime_ns);
	cJSON_AddStringToObject(m, "start_time", t);
	snprintf(ns, sizeof(ns), "%" PRIu64, ctx->start_realtime_ns);
	cJSON_AddStringToObject(m, "start_time_ns", ns);
	cJSON_AddNumberToObject(m, "pid", getpid());
	if (ctx->o.interval_s)
		cJSON_AddNumberToObject(m, "interval_s", (double)ctx->o.interval_s);
	if (ctx->o.count)
		cJSON_AddNumberToObject(m, "count", (double)ctx->o.count);
	if (ctx->o.duration_s)
		cJSON_AddNumberToObject(m, "duration_s", (double)ctx->o.duration_s);
	a = cJSON_AddArrayToObject(m, "attach");
	for (size_t i = 0; i < ctx->cmd->n_hooks; i++) {
		const struct kt_hook *h = &ctx->cmd->hooks[i];
		const struct kt_hook_state *st = &ctx->hooks[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "hook", h->name);
		if (st->disabled) {
			cJSON_AddNullToObject(e, "type");
			cJSON_AddStringToObject(e, "note", "not needed with these options");
		} else if (st->chosen < 0) {
			cJSON_AddNullToObject(e, "type");
			cJSON_AddStringToObject(e, "note", st->why ? st->why : "unavailable");
		} else {
			cJSON_AddStringToObject(e, "type", kt_attach_name(h->alts[st->chosen].type));
			cJSON_AddStringToObject(e, "target", h->alts[st->chosen].target);
		}
		cJSON_AddItemToArray(a, e);
	}
	for (int i = 0; i < ctx->n_meta; i++)
		cJSON_AddStringToObject(m, ctx->meta_keys[i], ctx->meta_vals[i]);
	kt_out_json_obj(ctx->out, m);
	kt_out_flush(ctx->out);
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
	if (!m || n <= 0)
		return 0;
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return 0;
	if (bpf_map_lookup_elem(bpf_map__fd(m), &zero, v)) {
		free(v);
		return 0;
	}
	for (int i = 0; i < n; i++)
		sum += v[i];
	*per_cpu = v;
	*ncpu = n;
	return sum;
}

/* A "lost" record (JSON) or a line on stderr (text); always at the end of a stream. */
static void report_lost(struct kt_ctx *ctx, bool final)
{
	uint64_t *pc, total;
	int n;
	uint64_t delta;

	if (ctx->cmd->kind != KT_STREAM)
		return;
	total = read_drops(ctx, &pc, &n);
	delta = total - ctx->lost;
	ctx->lost = total;
	if (!delta && !final) {
		free(pc);
		return;
	}
	if (kt_out_json(ctx->out)) {
		cJSON *o = cJSON_CreateObject(), *a;
		char t[48];

		cJSON_AddStringToObject(o, "type", "lost");
		kt_fmt_rfc3339(t, sizeof(t), kt_now_real());
		cJSON_AddStringToObject(o, "time", t);
		cJSON_AddNumberToObject(o, "count", (double)delta);
		cJSON_AddNumberToObject(o, "total", (double)total);
		a = cJSON_AddArrayToObject(o, "per_cpu");
		for (int i = 0; i < n; i++)
			cJSON_AddItemToArray(a, cJSON_CreateNumber((double)pc[i]));
		cJSON_AddBoolToObject(o, "final", final);
		kt_out_json_obj(ctx->out, o);
	}
	if (delta)
		kt_warn("%" PRIu64 " events lost (ring buffer or in-flight table full; %" PRIu64
			" lost in total): raise --buffer or narrow the filters",
			delta, total);
	free(pc);
}

static void write_summary(struct kt_ctx *ctx, const char *why, uint64_t intervals)
{
	cJSON *o;
	char t[48];

	if (ctx->cmd->kind == KT_STREAM && !kt_out_json(ctx->out)) {
		if (!ctx->counted_in_kernel)
			fprintf(stderr, "ktrace: %" PRIu64 " events reported, %" PRIu64 " lost\n",
				ctx->events, ctx->lost);
		else if (ctx->lost)
			fprintf(stderr, "ktrace: %" PRIu64 " events lost\n", ctx->lost);
	}
	if (!kt_out_json(ctx->out))
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "summary");
	kt_fmt_rfc3339(t, sizeof(t), kt_now_real());
	cJSON_AddStringToObject(o, "end_time", t);
	cJSON_AddNumberToObject(o, "duration_s",
				(double)((kt_now_mono() - ctx->start_ns) / 1000000) / 1000.0);
	cJSON_AddStringToObject(o, "stopped_by", why);
	cJSON_AddNumberToObject(o, "intervals", (double)intervals);
	if (ctx->cmd->kind == KT_STREAM) {
		if (!ctx->counted_in_kernel)
			cJSON_AddNumberToObject(o, "events", (double)ctx->events);
		cJSON_AddNumberToObject(o, "lost", (double)ctx->lost);
	}
	kt_out_json_obj(ctx->out, o);
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
	return ctx->cmd->handle ? ctx->cmd->handle(ctx, data, size) : 0;
}

/* A reader that closed our stdout pipe shows up as POLLERR on it. */
static bool stdout_closed(struct kt_ctx *ctx, int timeout_ms)
{
	struct pollfd p = { .fd = fileno(kt_out_file(ctx->out)), .events = 0 };

	if (poll(&p, 1, timeout_ms) > 0 && (p.revents & (POLLERR | POLLHUP)))
		return true;
	return false;
}

static const char *run_loop(struct kt_ctx *ctx, struct ring_buffer *rb, uint64_t *intervals)
{
	uint64_t iv_ns = ctx->o.interval_s * 1000000000ULL;
	uint64_t end = ctx->o.duration_s ? ctx->start_ns + ctx->o.duration_s * 1000000000ULL : 0;
	uint64_t next = iv_ns ? ctx->start_ns + iv_ns : 0;

	ctx->interval_start_ns = ctx->start_ns;
	for (;;) {
		uint64_t now = kt_now_mono(), wake = UINT64_MAX;
		int timeout;

		if (next && next < wake)
			wake = next;
		if (end && end < wake)
			wake = end;
		timeout = wake == UINT64_MAX ? 200 : (int)((wake > now ? wake - now : 0) / 1000000);
		if (timeout > 200)
			timeout = 200;
		if (rb) {
			int err = ring_buffer__poll(rb, timeout);

			if (err < 0 && err != -EINTR) {
				kt_err("polling the ring buffer failed: %s", strerror(-err));
				return "error";
			}
			if (stdout_closed(ctx, 0))
				output_gone = true;
		} else if (stdout_closed(ctx, timeout)) {
			output_gone = true;
		}
		kt_out_flush(ctx->out);
		if (kt_out_err(ctx->out))
			output_gone = true;
		if (output_gone)
			return "output_closed";
		if (stop_signal)
			return "signal";
		now = kt_now_mono();
		if (next && now >= next) {
			bool last = ctx->o.count && *intervals + 1 >= ctx->o.count;

			(*intervals)++;
			if (ctx->cmd->drain && ctx->cmd->drain(ctx, last))
				return "error";
			report_lost(ctx, false);
			kt_out_flush(ctx->out);
			ctx->interval_start_ns = now;
			next += iv_ns;
			if (last)
				return "count";
		}
		if (end && now >= end)
			return "duration";
	}
}

/* ---- the lifecycle ---- */

static int fail(int err)
{
	return err == -EINVAL ? KT_EXIT_USAGE : KT_EXIT_FAIL;
}

int kt_run(const struct kt_cmd *cmd, int argc, char **argv, int full_argc, char **full_argv)
{
	struct kt_ctx ctx = { .cmd = cmd, .argc = full_argc, .argv = full_argv };
	struct kt_out_opts oo = {};
	struct ring_buffer *rb = NULL;
	const char *why = "error";
	uint64_t intervals = 0;
	int err, rc = KT_EXIT_FAIL;
	bool loaded = false;

	/* 4 MiB holds thousands of records of a kilobyte */
	ctx.o.ringbuf_bytes = cmd->ringbuf_default ? cmd->ringbuf_default : 4ULL << 20;
	ctx.hooks = calloc(cmd->n_hooks ? cmd->n_hooks : 1, sizeof(*ctx.hooks));
	ctx.priv = calloc(1, cmd->priv_size ? cmd->priv_size : 1);
	if (!ctx.hooks || !ctx.priv) {
		kt_err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < cmd->n_hooks; i++)
		ctx.hooks[i].chosen = -1;
	if (parse_args(&ctx, argc, argv)) {
		rc = KT_EXIT_USAGE;
		goto out;
	}
	kt_verbose = ctx.o.verbose;
	oo.path = ctx.o.output;
	oo.json = ctx.o.json;
	oo.timestamp = ctx.o.timestamp;
	err = kt_out_open(&ctx.out, &oo);
	if (err) {
		kt_err("cannot open output file '%s': %s", ctx.o.output, strerror(-err));
		goto out;
	}
	if (cmd->validate) {
		err = cmd->validate(&ctx);
		if (err) {
			rc = fail(err);
			goto out;
		}
	}
	/* a command without hooks (check) looks at every command's */
	if (cmd->n_hooks ? kt_plan_env_check(&cmd, 1) : kt_plan_env_check(kt_cmds, kt_n_cmds)) {
		rc = KT_EXIT_USAGE;
		goto out;
	}
	setup_signals();
	if (cmd->kind == KT_INFO) {
		ctx.start_ns = kt_now_mono();
		ctx.start_realtime_ns = kt_now_real();
		write_meta(&ctx);
		rc = cmd->run(&ctx);
		write_summary(&ctx, rc == KT_EXIT_OK ? "complete" : "error", 0);
		kt_out_flush(ctx.out);
		goto out;
	}
	if (kt_check_privileges()) {
		uint64_t need = kt_caps_required();
		char all[128], miss[128], sp[128];

		kt_err("ktrace needs root or %s (missing: %s; have: %s): run as root or grant them, e.g. setpriv --inh-caps %s --ambient-caps %s",
		       kt_caps_str(need, all, sizeof(all)),
		       kt_caps_str(kt_caps_missing(need), miss, sizeof(miss)), kt_privileges_desc(),
		       kt_caps_setpriv(need, sp, sizeof(sp)), sp);
		goto out;
	}
	if (!kt_have_btf()) {
		kt_err("kernel BTF not found at /sys/kernel/btf/vmlinux: ktrace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 2020)");
		goto out;
	}
	libbpf_set_print(libbpf_print);
	kt_memlock_raise();

	err = cmd->open(&ctx);
	if (err) {
		kt_err("cannot open the BPF object of %s: %s", cmd->name, strerror(-err));
		goto out;
	}
	err = kt_plan_choose(&ctx);
	if (err)
		goto out;
	kt_plan_log(&ctx);
	kt_plan_apply(&ctx);
	if (cmd->kind == KT_STREAM) {
		struct bpf_map *ev = bpf_object__find_map_by_name(ctx.obj, "events");
		uint64_t sz = 4096;

		/* a ring buffer is a power of two pages */
		while (sz < ctx.o.ringbuf_bytes)
			sz <<= 1;
		if (ev)
			bpf_map__set_max_entries(ev, (uint32_t)sz);
	}
	if (cmd->configure) {
		err = cmd->configure(&ctx);
		if (err) {
			rc = fail(err);
			goto out;
		}
	}
	/* libbpf parses its own copy to load: do not hold two */
	kt_vmlinux_btf_release();
	err = bpf_object__load_skeleton(ctx.skel_obj);
	/* give the BTF parses' memory back to the system */
	malloc_trim(0);
	if (err) {
		kt_err("loading the BPF programs of %s failed: %s (run with -v to see the verifier's log)",
		       cmd->name, strerror(-err));
		goto out;
	}
	loaded = true;
	err = kt_plan_attach(&ctx);
	if (err)
		goto out;

	ctx.start_ns = kt_now_mono();
	ctx.start_realtime_ns = kt_now_real();
	kt_out_set_clock(ctx.out, ctx.start_ns, ctx.start_realtime_ns);
	if (cmd->kind == KT_STREAM) {
		struct bpf_map *ev = bpf_object__find_map_by_name(ctx.obj, "events");

		if (ev) {
			rb = ring_buffer__new(bpf_map__fd(ev), on_record, &ctx, NULL);
			if (!rb) {
				kt_err("cannot set up the ring buffer: %s", strerror(errno));
				goto out;
			}
		}
	}
	write_meta(&ctx);
	if (cmd->start && cmd->start(&ctx))
		goto out;
	kt_out_flush(ctx.out);
	fprintf(stderr, "%s\n", cmd->tracing_msg ? cmd->tracing_msg : "Tracing... Hit Ctrl-C to end.");

	why = run_loop(&ctx, rb, &intervals);
	if (rb)
		ring_buffer__consume(rb);
	/* the count-th interval was the final print already */
	if (strcmp(why, "count") && strcmp(why, "output_closed") && cmd->drain &&
	    (ctx.o.interval_s == 0 || kt_now_mono() > ctx.interval_start_ns))
		cmd->drain(&ctx, true);
	if (strcmp(why, "output_closed")) {
		report_lost(&ctx, true);
		write_summary(&ctx, why, intervals);
		kt_out_flush(&ctx.out[0]);
	}
	rc = strcmp(why, "error") ? KT_EXIT_OK : KT_EXIT_FAIL;
out:
	ring_buffer__free(rb);
	if (loaded || ctx.obj)
		kt_plan_detach(&ctx);
	if (cmd->finish)
		cmd->finish(&ctx);
	if (ctx.skel && ctx.skel_destroy)
		ctx.skel_destroy(ctx.skel);
	kt_out_close(ctx.out);
	for (size_t i = 0; i < cmd->n_hooks; i++)
		free((void *)ctx.hooks[i].why);
	free(ctx.hooks);
	free(ctx.priv);
	return rc;
}
