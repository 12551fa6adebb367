// SPDX-License-Identifier: GPL-2.0
/*
 * exec: trace every execve/execveat (`ktrace exec`), or summarize exec,
 * fork and exit activity per interval (`ktrace exec --summary 5`) to find
 * the source of short-lived processes.
 *
 * Hooks: syscalls:sys_enter/exit_execve and _execveat (tracepoints),
 * sched:sched_process_exec (tp_btf, raw_tp) for successful execs; with
 * --summary also sched_process_fork and sched_process_exit (tp_btf, raw_tp).
 * Cost: a hash update per exec and a ~5.6 KiB ring buffer record per
 * reported exec; --summary aggregates in the kernel (a few hash updates per
 * fork, exec and exit) and sends nothing through the ring buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "exec.h"
#include "exec.skel.h"
#include "features.h"
#include "hist.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "util.h"

#define TOP_N 10

struct exec {
	bool time, fails, print_uid, quote, summary;
	uint32_t uid, ppid, max_args;
	bool has_uid;
	const char *name, *line, *cgroup;
	uint64_t cgroup_id, summary_iv;
};

enum {
	OPT_MAX_ARGS = 0x2000,
	OPT_SUMMARY,
};

static const struct argp_option options[] = {
	{ "time", 't', NULL, 0, "Include a TIME(s) column: seconds since tracing started", 0 },
	{ "fails", 'x', NULL, 0, "Only failed execs", 0 },
	{ "uid", 'u', "UID", 0, "Only execs by this user id", 0 },
	{ "print-uid", 'U', NULL, 0, "Include a UID column (the user name when known)", 0 },
	{ "quote", 'q', NULL, 0, "Quote arguments that need it (shell style)", 0 },
	{ "name", 'n', "NAME", 0, "Only commands whose name contains NAME (user space filter)", 0 },
	{ "line", 'l', "LINE", 0, "Only execs with an argument containing LINE (user space filter)", 0 },
	{ "max-args", OPT_MAX_ARGS, "N", 0,
	  "Show at most N arguments, the path included (default 20, at most 128)", 0 },
	{ "cgroup", 'c', "PATH", 0, "Only tasks in this cgroup-v2 directory", 0 },
	{ "ppid", 'P', "PID", 0, "Only execs (and, with --summary, forks and exits) of children of PID",
	  0 },
	{ "summary", OPT_SUMMARY, "SECONDS", OPTION_ARG_OPTIONAL,
	  "Instead of one line per exec, print tables (commands, failures, users, parents with "
	  "fork/exec/exit rates) and a process lifetime histogram every interval (from "
	  "--summary=SECONDS or the positional interval) or at the end",
	  0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct exec *x = ctx->priv;

	switch (key) {
	case ARGP_KEY_INIT:
		x->max_args = 20;
		return ARGP_ERR_UNKNOWN;
	case 't':
		x->time = true;
		break;
	case 'x':
		x->fails = true;
		break;
	case 'u':
		x->uid = (uint32_t)kt_arg_u64(state, "--uid", arg, 0, UINT32_MAX - 1);
		x->has_uid = true;
		break;
	case 'U':
		x->print_uid = true;
		break;
	case 'q':
		x->quote = true;
		break;
	case 'n':
		x->name = arg;
		break;
	case 'l':
		x->line = arg;
		break;
	case OPT_MAX_ARGS:
		x->max_args = (uint32_t)kt_arg_u64(state, "--max-args", arg, 1, EXEC_MAX_ARGS_LIMIT);
		break;
	case 'c':
		x->cgroup = arg;
		break;
	case 'P':
		x->ppid = (uint32_t)kt_arg_u64(state, "--ppid", arg, 1, INT32_MAX);
		break;
	case OPT_SUMMARY:
		x->summary = true;
		if (arg)
			x->summary_iv = kt_arg_u64(state, "--summary", arg, 1, 86400);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Text shows the visible columns in this order; JSON has every one. */
enum { C_TIME, C_USER, C_COMM, C_PID, C_PPID, C_RET_TEXT, C_ARGS, C_N_TEXT };
static struct kt_col cols[] = {
	[C_TIME] = { "time_s", "TIME(s)", -8, KT_COL_HIDDEN },
	[C_USER] = { "user", "UID", -8, KT_COL_HIDDEN },
	[C_COMM] = { "comm", "PCOMM", -16, 0 },
	[C_PID] = { "pid", "PID", 7, 0 },
	[C_PPID] = { "ppid", "PPID", 7, 0 },
	[C_RET_TEXT] = { "ret_text", "RET", 6, KT_COL_NOJSON },
	[C_ARGS] = { "args", "ARGS", 0, 0 },
	{ "uid", "", 0, KT_COL_HIDDEN },
	{ "tid", "", 0, KT_COL_HIDDEN },
	{ "parent_comm", "", 0, KT_COL_HIDDEN },
	{ "ret", "", 0, KT_COL_HIDDEN },
	{ "errno", "", 0, KT_COL_HIDDEN },
	{ "syscall", "", 0, KT_COL_HIDDEN },
	{ "path", "", 0, KT_COL_HIDDEN },
};
#define N_COLS (sizeof(cols) / sizeof(cols[0]))

static int validate(struct kt_ctx *ctx)
{
	struct exec *x = ctx->priv;
	int err;

	ctx->counted_in_kernel = x->summary;
	if (kt_check_pid("-P", x->ppid))
		return -EINVAL;
	if (x->cgroup) {
		err = kt_cgroup_id(x->cgroup, &x->cgroup_id);
		if (err) {
			kt_err("-c %s: %s", x->cgroup,
			       err == -EMEDIUMTYPE ? "not a cgroup-v2 directory" : strerror(-err));
			return -EINVAL;
		}
	}
	if (x->summary_iv) {
		if (ctx->o.interval_s && ctx->o.interval_s != x->summary_iv) {
			kt_err("two different intervals (--summary=%llu and %llu): give it once",
			       (unsigned long long)x->summary_iv,
			       (unsigned long long)ctx->o.interval_s);
			return -EINVAL;
		}
		ctx->o.interval_s = x->summary_iv;
	}
	if (x->summary && (x->name || x->line || x->quote || x->time || x->print_uid)) {
		kt_err("--summary counts in the kernel: -n, -l, -q, -t and -U only apply to the "
		       "per-exec output");
		return -EINVAL;
	}
	if (!x->summary) {
		kt_hook_disable(ctx, "process_fork");
		kt_hook_disable(ctx, "process_exit");
	}
	if (x->time)
		cols[C_TIME].flags &= ~KT_COL_HIDDEN;
	if (x->print_uid)
		cols[C_USER].flags &= ~KT_COL_HIDDEN;
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, exec_bpf);
}

static bool raw_sys(const struct kt_ctx *ctx, const char *hook)
{
	const struct kt_alt *a = kt_hook_chosen(ctx, hook);

	return a && a->type == KT_RAW_TP;
}

static int configure(struct kt_ctx *ctx)
{
	struct exec_bpf *skel = ctx->skel;
	struct exec *x = ctx->priv;

	skel->rodata->cfg_ppid = x->ppid;
	skel->rodata->cfg_fails = x->fails;
	skel->rodata->cfg_summary = x->summary;
	skel->rodata->cfg_max_args = x->max_args;
	skel->rodata->cfg_cgroup_id = x->cgroup_id;
	skel->rodata->cfg_uid = x->has_uid ? x->uid : (uint32_t)-1;
	/* Linux 6.x passes group_dead to sched_process_exit; before, the leader's exit counts */
	skel->rodata->cfg_exit_group_dead = kt_btf_tp_nargs("sched_process_exit") == 2;
	/* the raw sys_enter/sys_exit programs serve only the calls whose hook chose them */
	skel->rodata->cfg_raw_enter = (raw_sys(ctx, "sys_enter_execve") ? EXEC_RAW_EXECVE : 0) |
				      (raw_sys(ctx, "sys_enter_execveat") ? EXEC_RAW_EXECVEAT : 0);
	skel->rodata->cfg_raw_exit = (raw_sys(ctx, "sys_exit_execve") ? EXEC_RAW_EXECVE : 0) |
				     (raw_sys(ctx, "sys_exit_execveat") ? EXEC_RAW_EXECVEAT : 0);
	if (x->summary) {
		/* nothing goes through the ring buffer */
		bpf_map__set_max_entries(skel->maps.events, 4096);
	} else {
		/* the summary maps are preallocated: keep them tiny when unused */
		bpf_map__set_max_entries(skel->maps.exec_counts, 1);
		bpf_map__set_max_entries(skel->maps.parents, 1);
	}
	return 0;
}

static int start(struct kt_ctx *ctx)
{
	struct exec *x = ctx->priv;

	if (!x->summary)
		kt_out_header(ctx->out, cols, C_N_TEXT);
	return 0;
}

static bool contains(const char *s, size_t len, const char *needle)
{
	return memmem(s, strnlen(s, len), needle, strlen(needle)) != NULL;
}

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct exec_event *e = data;
	struct exec *x = ctx->priv;
	const char *v[EXEC_MAX_ARGS_LIMIT + 1];
	size_t lens[EXEC_MAX_ARGS_LIMIT + 1], n = 0, off = 0;
	/* the record ends with its arguments (see exec.h) */
	size_t avail = size - offsetof(struct exec_event, args);
	size_t args_len = e->args_len < avail ? e->args_len : avail;
	bool trunc = e->flags & (EXEC_F_TRUNC | EXEC_F_PATH_TRUNC), skip = e->flags & EXEC_F_BLOCK;
	const char *errname = e->ret < 0 ? kt_errno_name(-e->ret) : NULL;
	const char *user = kt_user_name(e->hdr.uid);
	char ret[16], atpath[EXEC_PATH_MAX + 32];

	if (x->name && !contains(e->hdr.comm, sizeof(e->hdr.comm), x->name))
		return 0;
	v[n] = e->path;
	lens[n++] = e->path_len < EXEC_PATH_MAX ? e->path_len : EXEC_PATH_MAX;
	if (e->ret < 0 && (e->flags & EXEC_F_AT) && e->dirfd != AT_FDCWD && e->path[0] != '/') {
		/* name it as the kernel does on success: /dev/fd/N or /dev/fd/N/name */
		snprintf(atpath, sizeof(atpath), "/dev/fd/%d%s%.*s", e->dirfd, lens[0] ? "/" : "",
			 (int)lens[0], e->path);
		v[0] = atpath;
		lens[0] = strlen(atpath);
	}
	/* split the NUL-separated strings; a block from the new mm starts with argv[0] */
	while (off < args_len) {
		const char *s = e->args + off;
		size_t l = strnlen(s, args_len - off);

		off += l + 1;
		if (skip) {
			skip = false;
			continue;
		}
		if (n >= x->max_args) {
			trunc = true;
			break;
		}
		v[n] = s;
		lens[n++] = l;
	}
	/* the block holds argc strings (argv[0] included) unless it was cut */
	if ((e->flags & EXEC_F_BLOCK) && e->argc > n)
		trunc = true;
	if (x->line) {
		bool hit = false;

		for (size_t i = 0; i < n && !hit; i++)
			hit = contains(v[i], lens[i], x->line);
		if (!hit)
			return 0;
	}
	if (e->ret >= 0 || !errname)
		snprintf(ret, sizeof(ret), "%d", e->ret);
	else
		snprintf(ret, sizeof(ret), "%s", errname);

	kt_rec_begin(ctx->out, "event", cols, N_COLS, e->hdr.ts);
	kt_rec_f64(ctx->out, (double)(e->hdr.ts - ctx->start_ns) / 1e9, 3);
	if (user)
		kt_rec_str(ctx->out, user, strlen(user));
	else
		kt_rec_u64(ctx->out, e->hdr.uid);
	kt_rec_str(ctx->out, e->hdr.comm, sizeof(e->hdr.comm));
	kt_rec_u64(ctx->out, e->hdr.pid);
	kt_rec_u64(ctx->out, e->ppid);
	kt_rec_str(ctx->out, ret, strlen(ret));
	kt_rec_strv(ctx->out, v, lens, n, x->quote, trunc);
	kt_rec_u64(ctx->out, e->hdr.uid);
	kt_rec_u64(ctx->out, e->old_tid);
	kt_rec_str(ctx->out, e->pcomm, sizeof(e->pcomm));
	kt_rec_i64(ctx->out, e->ret);
	if (e->ret < 0)
		kt_rec_enum(ctx->out, errname, -e->ret);
	else
		kt_rec_none(ctx->out);
	kt_rec_str(ctx->out, (e->flags & EXEC_F_AT) ? "execveat" : "execve",
		   (e->flags & EXEC_F_AT) ? 8 : 6);
	kt_rec_str(ctx->out, v[0], lens[0]);
	kt_rec_end(ctx->out);
	return 0;
}

/* ---- --summary ---- */

struct count {
	struct exec_key k;
	uint64_t n;
};

struct parent {
	uint32_t ppid;
	struct exec_parent p;
};

static int collect_hist(const void *key, const void *val, void *arg)
{
	const struct kt_slots *s = val;
	struct kt_slots *h = arg;

	(void)key;
	for (int i = 0; i < KT_MAX_SLOTS; i++)
		h->slots[i] += s->slots[i];
	return 0;
}

static int cmp_comm_ppid(const void *a, const void *b)
{
	const struct count *x = a, *y = b;
	int r = strncmp(x->k.comm, y->k.comm, sizeof(x->k.comm));

	if (r)
		return r;
	return x->k.ppid < y->k.ppid ? -1 : x->k.ppid > y->k.ppid;
}

/* A row of a grouped table: what it counts and how many. */
struct group {
	const struct count *first; /* one of its entries, for the key */
	uint64_t n, failed, parents;
	uint32_t err_top_n;
};

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

static int cmp_parent(const void *a, const void *b)
{
	const struct parent *x = a, *y = b;
	uint64_t tx = x->p.forks + x->p.execs + x->p.exits, ty = y->p.forks + y->p.execs + y->p.exits;

	return tx < ty ? 1 : tx > ty ? -1 : (x->ppid > y->ppid) - (x->ppid < y->ppid);
}

/*
 * Groups counts (sorted so equal keys are adjacent under same(), and within
 * a group by parent) into groups sorted by count, largest first.
 */
static size_t group_by(const struct count *c, size_t n, struct group *g,
		       bool (*same)(const struct count *, const struct count *), bool fails_only)
{
	const struct count *prev = NULL;
	size_t ng = 0;

	for (size_t i = 0; i < n; i++) {
		if (fails_only && !c[i].k.err)
			continue;
		if (!ng || !same(g[ng - 1].first, &c[i])) {
			g[ng++] = (struct group){ .first = &c[i] };
			prev = NULL;
		}
		g[ng - 1].n += c[i].n;
		g[ng - 1].failed += c[i].k.err ? c[i].n : 0;
		/* a parent seen again (another user or error) is not a new one */
		if (!prev || prev->k.ppid != c[i].k.ppid)
			g[ng - 1].parents++;
		prev = &c[i];
	}
	qsort(g, ng, sizeof(*g), cmp_group);
	return ng;
}

static bool same_comm(const struct count *a, const struct count *b)
{
	return !strncmp(a->k.comm, b->k.comm, sizeof(a->k.comm));
}

static bool same_err(const struct count *a, const struct count *b)
{
	return a->k.err == b->k.err;
}

static bool same_uid(const struct count *a, const struct count *b)
{
	return a->k.uid == b->k.uid;
}

static int cmp_err(const void *a, const void *b)
{
	const struct count *x = a, *y = b;

	return x->k.err != y->k.err ? (x->k.err > y->k.err) - (x->k.err < y->k.err)
				    : cmp_comm_ppid(a, b);
}

static int cmp_uid(const void *a, const void *b)
{
	const struct count *x = a, *y = b;

	return x->k.uid != y->k.uid ? (x->k.uid > y->k.uid) - (x->k.uid < y->k.uid)
				    : cmp_comm_ppid(a, b);
}

static double rate(uint64_t n, double secs)
{
	return secs > 0 ? (double)n / secs : 0;
}

static void print_totals(struct kt_out *out, const struct count *c, size_t n,
			 const struct parent *p, size_t np, double secs)
{
	static const struct kt_col tc[] = {
		{ "seconds", "SECS", 6 },     { "execs", "EXECS", 7 },   { "failed", "FAILED", 7 },
		{ "parents", "PARENTS", 8 },  { "forks", "FORKS", 7 },   { "exits", "EXITS", 7 },
		{ "exec_per_s", "EXEC/s", 8 }, { "fork_per_s", "FORK/s", 8 },
		{ "exit_per_s", "EXIT/s", 8 },
	};
	uint64_t execs = 0, failed = 0, forks = 0, exits = 0, parents = 0;

	for (size_t i = 0; i < n; i++) {
		execs += c[i].n;
		failed += c[i].k.err ? c[i].n : 0;
	}
	for (size_t i = 0; i < np; i++) {
		forks += p[i].p.forks;
		exits += p[i].p.exits;
		parents += p[i].p.execs > 0;
	}
	kt_table_begin(out, "exec_totals", "Totals:", tc, sizeof(tc) / sizeof(tc[0]));
	kt_table_row(out);
	kt_rec_f64(out, secs, 1);
	kt_rec_u64(out, execs);
	kt_rec_u64(out, failed);
	kt_rec_u64(out, parents);
	kt_rec_u64(out, forks);
	kt_rec_u64(out, exits);
	kt_rec_f64(out, rate(execs, secs), 1);
	kt_rec_f64(out, rate(forks, secs), 1);
	kt_rec_f64(out, rate(exits, secs), 1);
	kt_rec_end(out);
	kt_table_end(out);
}

static void print_groups(struct kt_ctx *ctx, struct count *c, size_t n, struct group *g)
{
	static const struct kt_col cc[] = {
		{ "comm", "COMM", -16 },
		{ "execs", "EXECS", 7 },
		{ "failed", "FAILED", 7 },
		{ "parents", "PARENTS", 8 },
	};
	static const struct kt_col ec[] = {
		{ "errno", "ERRNO", -12 },
		{ "count", "COUNT", 7 },
		{ "comm", "TOP COMM", -16 },
	};
	static const struct kt_col uc[] = {
		{ "user", "USER", -16 },
		{ "uid", "UID", 8 },
		{ "execs", "EXECS", 7 },
	};
	struct kt_out *out = ctx->out;
	size_t ng;

	qsort(c, n, sizeof(*c), cmp_comm_ppid);
	ng = group_by(c, n, g, same_comm, false);
	kt_table_begin(out, "exec_commands", "Commands started (top 10):", cc, 4);
	for (size_t i = 0; i < ng && i < TOP_N; i++) {
		kt_table_row(out);
		kt_rec_str(out, g[i].first->k.comm, sizeof(g[i].first->k.comm));
		kt_rec_u64(out, g[i].n);
		kt_rec_u64(out, g[i].failed);
		kt_rec_u64(out, g[i].parents);
		kt_rec_end(out);
	}
	kt_table_end(out);

	qsort(c, n, sizeof(*c), cmp_err);
	ng = group_by(c, n, g, same_err, true);
	kt_table_begin(out, "exec_failures", "Failed execs by error:", ec, 3);
	for (size_t i = 0; i < ng && i < TOP_N; i++) {
		const struct count *top = NULL;

		/* the command that failed most with this error */
		for (size_t j = 0; j < n; j++)
			if (c[j].k.err == g[i].first->k.err && (!top || c[j].n > top->n))
				top = &c[j];
		kt_table_row(out);
		kt_rec_enum(out, kt_errno_name(g[i].first->k.err), g[i].first->k.err);
		kt_rec_u64(out, g[i].n);
		kt_rec_str(out, top->k.comm, sizeof(top->k.comm));
		kt_rec_end(out);
	}
	kt_table_end(out);

	qsort(c, n, sizeof(*c), cmp_uid);
	ng = group_by(c, n, g, same_uid, false);
	kt_table_begin(out, "exec_users", "Users:", uc, 3);
	for (size_t i = 0; i < ng && i < TOP_N; i++) {
		const char *u = kt_user_name(g[i].first->k.uid);

		kt_table_row(out);
		if (u)
			kt_rec_str(out, u, strlen(u));
		else
			kt_rec_none(out);
		kt_rec_u64(out, g[i].first->k.uid);
		kt_rec_u64(out, g[i].n);
		kt_rec_end(out);
	}
	kt_table_end(out);
}

static void print_parents(struct kt_out *out, struct parent *p, size_t np, double secs)
{
	static const struct kt_col pc[] = {
		{ "ppid", "PPID", 7 },	      { "comm", "PARENT", -16 },   { "forks", "FORKS", 7 },
		{ "execs", "EXECS", 7 },      { "exits", "EXITS", 7 },	   { "fork_per_s", "FORK/s", 8 },
		{ "exec_per_s", "EXEC/s", 8 }, { "exit_per_s", "EXIT/s", 8 },
	};

	qsort(p, np, sizeof(*p), cmp_parent);
	kt_table_begin(out, "exec_parents", "Top parents (forks, execs by children, children exited):",
		       pc, sizeof(pc) / sizeof(pc[0]));
	for (size_t i = 0; i < np && i < TOP_N; i++) {
		kt_table_row(out);
		kt_rec_u64(out, p[i].ppid);
		kt_rec_str(out, p[i].p.comm, sizeof(p[i].p.comm));
		kt_rec_u64(out, p[i].p.forks);
		kt_rec_u64(out, p[i].p.execs);
		kt_rec_u64(out, p[i].p.exits);
		kt_rec_f64(out, rate(p[i].p.forks, secs), 1);
		kt_rec_f64(out, rate(p[i].p.execs, secs), 1);
		kt_rec_f64(out, rate(p[i].p.exits, secs), 1);
		kt_rec_end(out);
	}
	kt_table_end(out);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct exec_bpf *skel = ctx->skel;
	struct exec *x = ctx->priv;
	struct count *cv = NULL;
	struct parent *pv = NULL;
	size_t nc = 0, np = 0;
	struct kt_slots life = {};
	struct group *g = NULL;
	uint64_t now = kt_now_mono();
	double secs = (double)(now - ctx->interval_start_ns) / 1e9;
	int err;

	if (!x->summary)
		return 0;
	err = KT_MAP_COLLECT(bpf_map__fd(skel->maps.exec_counts), struct count, k, n, true, NULL,
			     &cv);
	nc = err > 0 ? (size_t)err : 0;
	if (err >= 0) {
		err = KT_MAP_COLLECT(bpf_map__fd(skel->maps.parents), struct parent, ppid, p, true,
				     NULL, &pv);
		np = err > 0 ? (size_t)err : 0;
	}
	if (err >= 0)
		err = kt_map_drain(bpf_map__fd(skel->maps.lifetimes), sizeof(uint32_t),
				   sizeof(struct kt_slots), true, collect_hist, &life);
	if (err >= 0 && nc) {
		g = calloc(nc, sizeof(*g));
		if (!g)
			err = -ENOMEM;
	}
	if (err < 0) {
		kt_err("reading the exec counters failed: %s", strerror(-err));
		goto out;
	}
	/* stopping just after an interval ended: no empty stub of a new one */
	if (final && ctx->o.interval_s && !nc && !np && secs < (double)ctx->o.interval_s / 2) {
		err = 0;
		goto out;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	print_totals(ctx->out, cv, nc, pv, np, secs);
	print_groups(ctx, cv, nc, g);
	print_parents(ctx->out, pv, np, secs);
	{
		struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS, (const uint64_t *)life.slots };
		struct kt_kv k = { "lifetime", "exited processes", 0 };

		kt_out_text(ctx->out, "\n");
		kt_out_hist(ctx->out, "msecs", &k, 1, &h, ctx->interval_start_ns, now);
	}
	kt_out_text(ctx->out, "\n");
	err = 0;
out:
	free(cv);
	free(pv);
	free(g);
	return err;
}

/*
 * The syscalls' own tracepoints come first: the kernel runs them only for
 * the call they name, and they cost nothing for the millions of other
 * calls. They need their ids from tracefs, which is root's (mode 0700); a
 * user with only CAP_BPF and CAP_PERFMON gets the raw tracepoints
 * sys_enter/sys_exit instead, one program for both calls that runs (and
 * returns at once) for every system call: on 6.18, a getppid() loop took
 * 137 ns a call untraced, 210 ns with the syscall tracepoints attached and
 * 500-700 ns with the raw ones.
 */
static const struct kt_hook hooks[] = {
	{ "sys_enter_execve", false,
	  { { KT_TRACEPOINT, "syscalls/sys_enter_execve", "enter_execve" },
	    { KT_RAW_TP, "sys_enter", "sys_enter_raw" } } },
	{ "sys_exit_execve", false,
	  { { KT_TRACEPOINT, "syscalls/sys_exit_execve", "exit_execve" },
	    { KT_RAW_TP, "sys_exit", "sys_exit_raw" } } },
	/* execveat is Linux 3.19+: without it, execve alone */
	{ "sys_enter_execveat", true,
	  { { KT_TRACEPOINT, "syscalls/sys_enter_execveat", "enter_execveat" },
	    { KT_RAW_TP, "sys_enter", "sys_enter_raw" } } },
	{ "sys_exit_execveat", true,
	  { { KT_TRACEPOINT, "syscalls/sys_exit_execveat", "exit_execveat" },
	    { KT_RAW_TP, "sys_exit", "sys_exit_raw" } } },
	{ "process_exec", false,
	  { { KT_TP_BTF, "sched_process_exec", "sched_exec_btf" },
	    { KT_RAW_TP, "sched_process_exec", "sched_exec_raw" } } },
	{ "process_fork", false,
	  { { KT_TP_BTF, "sched_process_fork", "fork_btf" },
	    { KT_RAW_TP, "sched_process_fork", "fork_raw" } } },
	{ "process_exit", false,
	  { { KT_TP_BTF, "sched_process_exit", "exit_btf" },
	    { KT_RAW_TP, "sched_process_exit", "exit_raw" } } },
};

const struct kt_cmd kt_cmd_exec = {
	.name = "exec",
	.summary = "Trace new processes (execve/execveat), or summarize fork/exec/exit storms",
	.doc = "Trace every execve and execveat, successful or not: the process, its parent, the "
	       "return value and the arguments. With --summary, count execs, forks and exits per "
	       "parent in the kernel and print tables every interval, to find what starts "
	       "short-lived processes.\v"
	       "Positional [interval [count]]: with --summary, print every interval seconds; "
	       "without, report lost events every interval. After count intervals, stop.\n\n"
	       "Examples:\n"
	       "  ktrace exec                    # every exec\n"
	       "  ktrace exec -x                 # only failed execs (ENOENT, EACCES...)\n"
	       "  ktrace exec -U -u 1000 -t      # one user's, with user names and times\n"
	       "  ktrace exec -P 1234 -q         # children of pid 1234, arguments quoted\n"
	       "  ktrace exec -n cron -l backup  # comm contains cron, an argument has backup\n"
	       "  ktrace exec --summary 5        # load is high but top shows nothing\n"
	       "  ktrace exec -c /sys/fs/cgroup/system.slice/foo.service -j",
	.options = options,
	.parse = parse,
	.kind = KT_STREAM,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct exec),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.start = start,
	.handle = handle,
	.min_record = offsetof(struct exec_event, args),
	.drain = drain,
	.tracing_msg = "Tracing exec()... Hit Ctrl-C to end.",
};
