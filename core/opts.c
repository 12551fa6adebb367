// SPDX-License-Identifier: GPL-2.0
/*
 * Option parsing for every subcommand: the common options, the options core
 * adds from the descriptor, positional arguments, and the command's own
 * options (its argp table and parse hook).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <ctype.h>

#include "opts.h"
#include "tape.h"
#include "util.h"

enum {
	OPT_BUFFER = 0x1000,
	OPT_CGROUP,
	OPT_LPORT,
	OPT_RPORT,
	OPT_RECORD,
	OPT_PROM_TEXTFILE,
	OPT_HIST,
};

/* Pid and tid bounds: PID_MAX_LIMIT, the largest pid_max a kernel accepts. */
#define KT_PID_MAX (4U << 20)

static const struct argp_option common_options[] = {
	{ "json", 'j', NULL, 0, "Print JSON Lines (one object per line) instead of text", 0 },
	{ "output", 'o', "FILE", 0, "Write data to FILE instead of standard output", 0 },
	{ "timestamp", 'T', NULL, 0, "Include wall-clock time (HH:MM:SS.mmm) in text output", 0 },
	{ "verbose", 'v', NULL, 0, "Show attach choices and libbpf's messages", 0 },
	{},
};

/* Every command that traces (not `check`). */
static const struct argp_option duration_options[] = {
	{ "duration", 'd', "SECONDS", 0, "Trace this long (e.g. 30, 90s, 5m, 1h), then stop", 0 },
	{ "record", OPT_RECORD, "FILE", 0,
	  "Also record what the kernel hands over in FILE, for `ktrace replay FILE` (text or -j, "
	  "here or on another machine)",
	  0 },
	{},
};

/* Commands that take [interval [count]]. */
static const struct argp_option interval_options[] = {
	{ "interval", 'i', "SECONDS", 0,
	  "Print every SECONDS (the same as the positional interval)", 0 },
	{},
};

/* Summary commands: their histograms and losses as metrics for node_exporter. */
static const struct argp_option prom_options[] = {
	{ "prom-textfile", OPT_PROM_TEXTFILE, "DIR", 0,
	  "Also write the results as Prometheus metrics to DIR/ktrace_COMMAND.prom at every interval "
	  "and at the end (for node_exporter's textfile collector; replaced atomically)",
	  0 },
	{},
};

/* Event streams: --buffer (its help names the command's default size). */
#define KT_RINGBUF_DEFAULT (4ULL << 20)

/* The KT_F_* filters' options. */
static const struct argp_option filter_options[] = {
	{ "pid", 'p', "PID", 0, "Only this process (all its threads)", 0 },
	{ "tid", 't', "TID", 0, "Only this thread", 0 },
	{ "uid", 'u', "USER", 0, "Only this user (a user name or a numeric uid)", 0 },
	{ "cgroup", OPT_CGROUP, "PATH", 0,
	  "Only tasks in this cgroup-v2 directory or below it (e.g. "
	  "/sys/fs/cgroup/system.slice/nginx.service)",
	  0 },
	{ "name", 'n', "NAME", 0, "Only tasks whose command name (comm) contains NAME", 0 },
	{ "ipv4", '4', NULL, 0, "Only IPv4 flows", 0 },
	{ "ipv6", '6', NULL, 0, "Only IPv6 flows (IPv4-mapped addresses on IPv6 sockets too)", 0 },
	{ "lport", OPT_LPORT, "PORT", 0, "Only flows with this local port", 0 },
	{ "rport", OPT_RPORT, "PORT", 0, "Only flows with this remote port", 0 },
};
/* The KT_F_* bit that adds each option above. */
static const unsigned filter_bits[] = {
	KT_F_PID, KT_F_TID, KT_F_UID, KT_F_CGROUP, KT_F_COMM,
	KT_F_FAMILY, KT_F_FAMILY, KT_F_PORTS, KT_F_PORTS,
};
#define N_FILTERS (sizeof(filter_options) / sizeof(filter_options[0]))
_Static_assert(sizeof(filter_bits) / sizeof(filter_bits[0]) == N_FILTERS,
	       "one KT_F_* bit per filter option");

/* The options core adds to cmd, by group; returns how many groups (at most KT_OPT_GROUPS). */
#define KT_OPT_GROUPS 8
struct opt_groups {
	const struct argp_option *g[KT_OPT_GROUPS];
	const char *header[KT_OPT_GROUPS];
	size_t n;
	struct argp_option filters[N_FILTERS + 1];
	struct argp_option summary[2];
	struct argp_option modes[3];
	struct argp_option stream[2];
	char filter_header[160];
	char buffer_help[128];
};

static void core_groups(const struct kt_cmd *cmd, struct opt_groups *o)
{
	size_t nf = 0;

	memset(o, 0, sizeof(*o));
	if (cmd->summary_mode != KT_SUM_NONE) {
		o->summary[0] = (struct argp_option){ "summary", 'c', NULL, 0,
						      cmd->summary_help ? cmd->summary_help
									: "Count instead of printing each event",
						      0 };
		o->g[o->n++] = o->summary; /* among the command's own options */
	}
	if (cmd->modes) {
		size_t m = 0;

		if (cmd->modes & KT_M_MS)
			o->modes[m++] = (struct argp_option){ "milliseconds", 'm', NULL, 0,
							      "Times in milliseconds (default: microseconds)",
							      0 };
		if (cmd->modes & KT_M_HIST)
			o->modes[m++] = (struct argp_option){
				"hist", OPT_HIST, NULL, 0,
				cmd->hist_help ? cmd->hist_help : "Log2 histograms besides the table", 0
			};
		o->g[o->n++] = o->modes; /* among the command's own options too */
	}
	for (size_t i = 0; i < N_FILTERS; i++)
		if (cmd->filters & filter_bits[i])
			o->filters[nf++] = filter_options[i];
	if (nf) {
		snprintf(o->filter_header, sizeof(o->filter_header), "Filters (on %s):",
			 cmd->filter_task ? cmd->filter_task : "the traced task");
		o->header[o->n] = o->filter_header;
		o->g[o->n++] = o->filters;
	}
	o->header[o->n] = "Common options:";
	o->g[o->n++] = common_options;
	if (cmd->kind != KT_INFO) {
		o->header[o->n] = "";
		o->g[o->n++] = duration_options;
	}
	if (cmd->pos == KT_POS_INTERVAL) {
		o->header[o->n] = "";
		o->g[o->n++] = interval_options;
	}
	if (cmd->kind == KT_SUMMARY) {
		o->header[o->n] = "";
		o->g[o->n++] = prom_options;
	}
	if (cmd->kind == KT_STREAM || cmd->handle) {
		uint64_t def = cmd->ringbuf_default ? cmd->ringbuf_default : KT_RINGBUF_DEFAULT;

		snprintf(o->buffer_help, sizeof(o->buffer_help),
			 "Ring buffer size (e.g. 512K, 16M; default %" PRIu64 "%s): raise it if events "
			 "are lost",
			 def >= (1ULL << 20) ? def >> 20 : def >> 10, def >= (1ULL << 20) ? "M" : "K");
		o->stream[0] = (struct argp_option){ "buffer", OPT_BUFFER, "SIZE", 0, o->buffer_help, 0 };
		o->header[o->n] = "";
		o->g[o->n++] = o->stream;
	}
}

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

/* Interval from -i or the positional argument: both must agree. */
static void set_interval(struct argp_state *state, struct kt_ctx *ctx, const char *what,
			 const char *arg)
{
	uint64_t v = parse_seconds(state, what, arg);

	if (ctx->o.interval_s && ctx->o.interval_s != v)
		argp_error(state, "two different intervals (%" PRIu64 " and %" PRIu64
				  " seconds): give it once",
			   ctx->o.interval_s, v);
	ctx->o.interval_s = v;
}

static error_t core_parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct kt_filter_cfg *f = &ctx->filter;

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
	case OPT_RECORD:
		ctx->o.record = arg;
		break;
	case OPT_PROM_TEXTFILE:
		if (!*arg)
			argp_error(state, "--prom-textfile needs a directory");
		ctx->o.prom_dir = arg;
		break;
	case 'i':
		set_interval(state, ctx, "--interval", arg);
		break;
	case 'c':
		ctx->o.summary = true;
		break;
	case 'm':
		ctx->o.ms = true;
		break;
	case OPT_HIST:
		ctx->o.hist = true;
		break;
	case OPT_BUFFER:
		ctx->o.ringbuf_bytes = parse_size(arg);
		if (ctx->o.ringbuf_bytes < 4096 || ctx->o.ringbuf_bytes > (1ULL << 30))
			argp_error(state, "invalid --buffer '%s': expected a size from 4K to 1G", arg);
		break;
	case 'p':
		f->tgid = (uint32_t)kt_arg_u64(state, "-p", arg, 1, KT_PID_MAX);
		break;
	case 't':
		f->tid = (uint32_t)kt_arg_u64(state, "-t", arg, 1, KT_PID_MAX);
		break;
	case 'u':
		if (isdigit((unsigned char)arg[0]))
			f->uid = (uint32_t)kt_arg_u64(state, "-u", arg, 0, KT_ANY_UID - 1);
		else if (kt_user_uid(arg, &f->uid))
			argp_error(state, "-u %s: no such user in /etc/passwd (give a numeric uid)",
				   arg);
		break;
	case OPT_CGROUP:
		ctx->cgroup_path = arg;
		break;
	case '4':
	case '6':
		if (f->family && f->family != (key == '4' ? KT_AF_INET : KT_AF_INET6))
			argp_error(state, "-4 and -6 exclude each other (give neither for both)");
		f->family = key == '4' ? KT_AF_INET : KT_AF_INET6;
		break;
	case OPT_LPORT:
		f->lport = (uint16_t)kt_arg_u64(state, "--lport", arg, 1, 65535);
		break;
	case OPT_RPORT:
		f->rport = (uint16_t)kt_arg_u64(state, "--rport", arg, 1, 65535);
		break;
	case 'n':
		if (!*arg || strlen(arg) >= KT_TASK_COMM_LEN)
			argp_error(state, "invalid -n '%s': a command name (comm) has 1 to %d bytes",
				   arg, KT_TASK_COMM_LEN - 1);
		f->comm_len = (uint32_t)strlen(arg);
		memcpy(f->comm, arg, f->comm_len);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static size_t n_children; /* of the argp being parsed */

static error_t top_parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	const struct kt_cmd *cmd = ctx->cmd;
	error_t r = ARGP_ERR_UNKNOWN;
	unsigned pos;

	/* state->root_argp is glibc's wrapper around ours: count our children ourselves */
	if (key == ARGP_KEY_INIT) {
		for (size_t i = 0; i < n_children; i++)
			state->child_inputs[i] = ctx;
	}
	if (cmd->parse)
		r = cmd->parse(key, arg, state);
	if (r != ARGP_ERR_UNKNOWN)
		return r;
	if (key != ARGP_KEY_ARG)
		return ARGP_ERR_UNKNOWN;
	/* the command's parse took its lead arguments (e.g. funclat's target) */
	pos = state->arg_num - cmd->lead_args;
	switch (cmd->pos) {
	case KT_POS_INTERVAL:
		if (pos == 0)
			set_interval(state, ctx, "interval", arg);
		else if (pos == 1)
			ctx->o.count = kt_arg_u64(state, "count", arg, 1, UINT32_MAX);
		else
			argp_error(state, "unexpected argument '%s' (usage: [interval [count]])", arg);
		return 0;
	case KT_POS_DURATION:
		if (pos == 0)
			ctx->o.duration_s = parse_seconds(state, "duration", arg);
		else
			argp_error(state, "unexpected argument '%s' (usage: [duration])", arg);
		return 0;
	default:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	}
}

/* What needs the system: a process that exists, a cgroup directory. */
static int check_filters(struct kt_ctx *ctx)
{
	int err;

	/* a replay's filters were checked on the machine that recorded it */
	if (kt_tape_replaying())
		return 0;
	if (kt_check_pid("-p", ctx->filter.tgid) || kt_check_pid("-t", ctx->filter.tid))
		return -EINVAL;
	if (ctx->cgroup_path) {
		uint64_t id = 0;

		err = kt_cgroup_id(ctx->cgroup_path, &id);
		ctx->filter.cgroup_id = id;
		if (err) {
			kt_err("--cgroup %s: %s", ctx->cgroup_path,
			       err == -EMEDIUMTYPE ? "not a cgroup-v2 directory (look under "
						     "/sys/fs/cgroup)"
						   : strerror(-err));
			return -EINVAL;
		}
	}
	return 0;
}

int kt_opts_parse(struct kt_ctx *ctx, int argc, char **argv)
{
	const struct kt_cmd *cmd = ctx->cmd;
	struct opt_groups g;
	struct argp core[KT_OPT_GROUPS];
	struct argp_child children[KT_OPT_GROUPS + 1];
	const char *args_doc = cmd->args_doc;
	struct argp argp = { cmd->options, top_parse, NULL, cmd->doc, children };
	int err;

	core_groups(cmd, &g);
	memset(children, 0, sizeof(children));
	for (size_t i = 0; i < g.n; i++) {
		core[i] = (struct argp){ g.g[i], core_parse };
		/* no header: merged with the command's options; "": the group above */
		children[i] = (struct argp_child){ &core[i], 0,
						   g.header[i] && *g.header[i] ? g.header[i] : NULL,
						   g.header[i] ? 100 + (int)i : 0 };
	}
	if (!args_doc)
		args_doc = cmd->pos == KT_POS_INTERVAL ? "[interval [count]]"
			 : cmd->pos == KT_POS_DURATION ? "[duration]"
						       : NULL;
	argp.args_doc = args_doc;
	n_children = g.n;
	argp_err_exit_status = KT_EXIT_USAGE;
	ctx->filter.uid = KT_ANY_UID;
	err = argp_parse(&argp, argc, argv, 0, NULL, ctx);
	if (err)
		return err;
	ctx->counted_in_kernel = ctx->o.summary && cmd->summary_mode == KT_SUM_KERNEL;
	return check_filters(ctx) ? -EINVAL : 0;
}

/*
 * The long name an option letter stands for in one option table (an alias:
 * its option's); *count is raised for each entry with that letter.
 */
static const char *letter_in(const struct argp_option *o, int letter, int *count)
{
	const char *name = NULL, *found = NULL;

	for (; o && (o->name || o->key || o->doc); o++) {
		if (!(o->flags & OPTION_ALIAS))
			name = o->name;
		if (o->key == letter) {
			(*count)++;
			if (!found)
				found = name ? name : "";
		}
	}
	return found;
}

/* The long name letter stands for in cmd (its own options, then core's), or NULL. */
static const char *cmd_letter(const struct kt_cmd *cmd, int letter, int *count)
{
	struct opt_groups g;
	const char *name = letter_in(cmd->options, letter, count);

	/* the names are string literals: they outlive g */
	core_groups(cmd, &g);
	for (size_t i = 0; i < g.n; i++) {
		const char *n = letter_in(g.g[i], letter, count);

		if (!name)
			name = n;
	}
	return name;
}

int kt_opts_check_letters(const struct kt_cmd *const *tab, size_t n, char *why, size_t whysz)
{
	int bad = 0;

	if (whysz)
		why[0] = 0;
	for (int letter = 1; letter < 128; letter++) {
		const struct kt_cmd *first = NULL;
		const char *first_name = NULL;

		if (!isprint(letter))
			continue;
		for (size_t i = 0; i < n; i++) {
			int count = 0;
			const char *name = cmd_letter(tab[i], letter, &count);

			if (!name)
				continue;
			if (count > 1 && !bad++ && whysz)
				snprintf(why, whysz, "-%c is declared %d times in %s", letter, count,
					 tab[i]->name);
			if (!first) {
				first = tab[i];
				first_name = name;
			} else if (strcmp(first_name, name)) {
				if (!bad++ && whysz)
					snprintf(why, whysz, "-%c is --%s in %s but --%s in %s", letter,
						 first_name, first->name, name, tab[i]->name);
			}
		}
	}
	return bad;
}
