// SPDX-License-Identifier: GPL-2.0
/*
 * syscalls: system call counts, errors and latency (`ktrace syscalls -p 185`).
 *
 * One row per system call (per call and process with -P): how many times it
 * returned, how many of those were errors, the total and the longest time
 * spent in it. The top N (10; --top) by count or by total time (--sort
 * time), printed every interval seconds, count times, or once at Ctrl-C.
 * Names come from a table generated at build time from the kernel's
 * asm/unistd_64.h. Filters select the calling task; -x, --errno and
 * --syscall are applied in the kernel too.
 * --hist adds a log2 histogram of the time in the call (usecs) under each
 * row shown. --slower MS counts nothing: each call that took at least MS
 * milliseconds is one line (pid, tid, comm, call, return value or errno,
 * latency) as it returns.
 * Hooks: raw_syscalls sys_enter and sys_exit, tp_btf with a raw_tp
 * fallback (no tracefs needed). Cost: every system call of the machine
 * runs both hooks, one test and a map update for the unselected ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hist.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "stacks_out.h"
#include "syscall_names.h"
#include "syscalls.h"
#include "syscalls.skel.h"
#include "util.h"

#define N_NAMES (sizeof(kt_syscall_names) / sizeof(kt_syscall_names[0]))

struct syscalls {
	unsigned long top;
	bool by_time;
	bool per_process;
	bool failed;
	int err;
	bool select;
	bool table_opt; /* --top, --sort or -P: options of the table */
	bool slower;
	uint64_t slower_ns;
	unsigned char calls[SYSCALLS_MAX_NR];
	/* without -P: what cpu_stats held at the last read (count, errors, total_ns) */
	uint64_t seen[SYSCALLS_MAX_NR][3];
};

enum { OPT_TOP = 0x2000, OPT_SORT, OPT_ERRNO, OPT_SYSCALL, OPT_SLOWER };

static const struct argp_option options[] = {
	{ "top", OPT_TOP, "N", 0, "Show the N busiest rows (default 10, 0: all)", 0 },
	{ "sort", OPT_SORT, "KEY", 0, "Order by count (default) or time (total time in the call)",
	  0 },
	{ "pids", 'P', NULL, 0, "One row per system call and process (by PID, with its latest name)",
	  0 },
	{ "failed", 'x', NULL, 0, "Only calls that returned an error", 0 },
	{ "errno", OPT_ERRNO, "ERR", 0, "Only calls that failed with ERR (a name, ENOENT, or a number)",
	  0 },
	{ "syscall", OPT_SYSCALL, "LIST", 0,
	  "Only these system calls (comma-separated names or numbers, e.g. open,openat)", 0 },
	{ "slower", OPT_SLOWER, "MS", 0,
	  "No table: print each call that took at least MS milliseconds (e.g. 10, 0.5) as it "
	  "returns",
	  0 },
	{},
};

static const char *syscall_name(uint32_t nr)
{
	return nr < N_NAMES ? kt_syscall_names[nr] : NULL;
}

static int syscall_nr(const char *s)
{
	char *end;
	unsigned long v;

	for (size_t i = 0; i < N_NAMES; i++)
		if (kt_syscall_names[i] && !strcmp(kt_syscall_names[i], s))
			return (int)i;
	v = strtoul(s, &end, 10);
	if (end == s || *end || *s == '-' || v >= SYSCALLS_MAX_NR)
		return -1;
	return (int)v;
}

static int parse_errno(const char *s)
{
	char *end;
	unsigned long v;

	for (int e = 1; e < 4096; e++) {
		const char *n = kt_errno_name(e);

		if (n && !strcasecmp(n, s))
			return e;
	}
	v = strtoul(s, &end, 10);
	if (end == s || *end || *s == '-' || !v || v > 4095)
		return -1;
	return (int)v;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct syscalls *s = ctx->priv;
	char *end, *list, *tok, *save = NULL;
	double ms;

	switch (key) {
	case ARGP_KEY_INIT:
		s->top = 10;
		return 0;
	case OPT_TOP:
		s->top = strtoul(arg, &end, 10);
		if (end == arg || *end || *arg == '-')
			argp_error(state, "--top %s: not a number of rows", arg);
		s->table_opt = true;
		return 0;
	case OPT_SORT:
		if (!strcmp(arg, "count"))
			s->by_time = false;
		else if (!strcmp(arg, "time"))
			s->by_time = true;
		else
			argp_error(state, "--sort %s: sort by count or time", arg);
		s->table_opt = true;
		return 0;
	case 'P':
		s->per_process = true;
		s->table_opt = true;
		return 0;
	case OPT_SLOWER:
		errno = 0;
		ms = strtod(arg, &end);
		if (errno || end == arg || *end || !(ms >= 0) || ms > 1e9)
			argp_error(state, "--slower: '%s' is not a number of milliseconds (e.g. 10, 0.5)",
				   arg);
		s->slower = true;
		/* 0 would mean "off" in the kernel: every call is at least 1 ns */
		s->slower_ns = ms * 1e6 < 1 ? 1 : (uint64_t)(ms * 1e6);
		return 0;
	case 'x':
		s->failed = true;
		return 0;
	case OPT_ERRNO:
		s->err = parse_errno(arg);
		if (s->err < 0)
			argp_error(state, "--errno %s: not an error name (ENOENT) or number (2)", arg);
		return 0;
	case OPT_SYSCALL:
		list = strdup(arg);
		if (!list)
			argp_failure(state, 1, ENOMEM, "--syscall");
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int nr = syscall_nr(tok);

			if (nr < 0) {
				argp_error(state, "--syscall %s: no system call of that name or number",
					   tok);
				free(list);
				return EINVAL;
			}
			s->calls[nr] = 1;
			s->select = true;
		}
		free(list);
		if (!s->select)
			argp_error(state, "--syscall: name at least one system call");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static int validate(struct kt_ctx *ctx)
{
	struct syscalls *s = ctx->priv;

	if (!s->slower)
		return 0;
	if (ctx->o.hist || s->table_opt || ctx->o.interval_s) {
		kt_err("--slower prints each slow call, not a table: it takes no --hist, -P, --top, "
		       "--sort or interval (use -d for a duration)");
		return -EINVAL;
	}
	ctx->stream = true;
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, syscalls_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct syscalls_bpf *skel = ctx->skel;
	struct syscalls *s = ctx->priv;
	const struct kt_alt *in = kt_hook_chosen(ctx, "sys_enter");
	const struct kt_alt *out = kt_hook_chosen(ctx, "sys_exit");
	bool ts_in = in && (in->needs & KT_NEED_TASK_STORAGE);
	bool ts_out = out && (out->needs & KT_NEED_TASK_STORAGE);

	/* entry and exit must keep the call's start in the same place */
	if (ts_in != ts_out) {
		kt_err("sys_enter and sys_exit would keep call start times in different tables "
		       "(task storage on one, a hash on the other): attach both the same way "
		       "(KTRACE_ATTACH)");
		return -EINVAL;
	}
	bpf_map__set_autocreate(ts_in ? skel->maps.starts : skel->maps.task_starts, false);
	kt_meta_add(ctx, "in_flight", ts_in ? "task_storage" : "lru_hash");
	skel->rodata->cfg_per_process = s->per_process;
	skel->rodata->cfg_failed = s->failed;
	skel->rodata->cfg_errno = s->err;
	skel->rodata->cfg_select = s->select;
	memcpy((void *)skel->rodata->cfg_calls, s->calls, sizeof(s->calls));
	skel->rodata->cfg_self = (uint32_t)getpid();
	skel->rodata->cfg_hist = ctx->o.hist;
	skel->rodata->cfg_slower_ns = s->slower_ns;
	if (ctx->o.hist)
		bpf_map__set_max_entries(skel->maps.hists, s->per_process ? SYSCALLS_HIST_ROWS_PID
									  : SYSCALLS_HIST_ROWS);
	if (!s->slower)
		bpf_map__set_max_entries(skel->maps.events, 4096); /* unused: one page */
	if (!s->per_process) /* only calls beyond the per-CPU array's numbers */
		bpf_map__set_max_entries(skel->maps.stats, 64);
	return 0;
}

/* --slower: one line per slow call. */
enum { C_PID, C_TID, C_COMM, C_CALL, C_RET_T, C_LAT, C_RET, C_ERRNO, C_LAT_NS, C_N };
static const struct kt_col slow_cols[C_N] = {
	[C_PID] = { "pid", "PID", 7, 0 },
	[C_TID] = { "tid", "TID", 7, 0 },
	[C_COMM] = { "comm", "COMM", -16, 0 },
	[C_CALL] = { "syscall", "SYSCALL", -20, 0 },
	[C_RET_T] = { "ret_text", "RET", -10, KT_COL_NOJSON },
	[C_LAT] = { "lat_ms", "LAT(ms)", 10, 0 },
	[C_RET] = { "ret", "", 0, KT_COL_HIDDEN },
	[C_ERRNO] = { "errno", "", 0, KT_COL_HIDDEN },
	[C_LAT_NS] = { "lat_ns", "", 0, KT_COL_HIDDEN },
};

static int start(struct kt_ctx *ctx)
{
	struct syscalls *s = ctx->priv;

	if (s->slower)
		kt_out_header(ctx->out, slow_cols, C_N);
	return 0;
}

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct syscalls_event *e = data;
	struct kt_out *out = ctx->out;
	bool err = e->ret < 0 && e->ret >= -4095;
	const char *ename = err ? kt_errno_name((int)-e->ret) : NULL;
	char ret[24];

	(void)size;
	if (ename)
		snprintf(ret, sizeof(ret), "%s", ename);
	else
		snprintf(ret, sizeof(ret), "%lld", (long long)e->ret);
	kt_rec_begin(out, "event", slow_cols, C_N, e->hdr.ts);
	kt_rec_u64(out, e->hdr.pid);
	kt_rec_u64(out, e->hdr.tid);
	kt_rec_str(out, e->hdr.comm, sizeof(e->hdr.comm));
	kt_rec_enum(out, syscall_name(e->nr), e->nr);
	kt_rec_str(out, ret, sizeof(ret));
	kt_rec_f64(out, (double)e->lat_ns / 1e6, 3);
	kt_rec_i64(out, e->ret);
	if (err)
		kt_rec_enum(out, ename, -e->ret);
	else
		kt_rec_none(out);
	kt_rec_u64(out, e->lat_ns);
	kt_rec_end(out);
	return 0;
}

struct entry {
	struct syscalls_key key;
	struct syscalls_val val;
};

struct hentry {
	struct syscalls_key key;
	struct kt_slots val;
};

/* --hist: the histogram of each row shown, in the table's order. */
static void hists(struct kt_ctx *ctx, const struct entry *e, size_t rows)
{
	struct syscalls_bpf *skel = ctx->skel;
	struct syscalls *s = ctx->priv;
	struct hentry *h = NULL;
	uint64_t now = kt_now_mono();
	int n;

	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.hists), struct hentry, key, val, true, NULL, &h);
	if (n < 0) {
		kt_err("reading the system call histograms failed: %s", strerror(-n));
		free(h);
		return;
	}
	for (size_t i = 0; i < rows; i++) {
		const struct hentry *m = NULL;
		struct kt_kv keys[2];
		size_t nk = 0;
		const char *name = syscall_name(e[i].key.nr);

		for (int j = 0; j < n && !m; j++)
			if (h[j].key.nr == e[i].key.nr && h[j].key.pid == e[i].key.pid)
				m = &h[j];
		if (!m)
			continue;
		if (s->per_process)
			keys[nk++] = (struct kt_kv){ "pid", NULL, e[i].key.pid };
		keys[nk++] = name ? (struct kt_kv){ "syscall", name, 0 }
				  : (struct kt_kv){ "syscall", NULL, e[i].key.nr };
		kt_out_hist(ctx->out, "usecs", keys, nk,
			    &(struct kt_hist){ KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS,
							       (const uint64_t *)m->val.slots },
			    ctx->interval_start_ns, now);
	}
	free(h);
}

static int cmp_count(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->val.count != y->val.count)
		return x->val.count < y->val.count ? 1 : -1;
	if (x->key.nr != y->key.nr)
		return x->key.nr < y->key.nr ? -1 : 1;
	return x->key.pid < y->key.pid ? -1 : x->key.pid > y->key.pid;
}

static int cmp_time(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->val.total_ns != y->val.total_ns)
		return x->val.total_ns < y->val.total_ns ? 1 : -1;
	return cmp_count(a, b);
}

static const struct kt_col cols_all[] = {
	{ "syscall", "SYSCALL", -20, 0 },   { "count", "COUNT", 10, KT_COL_COUNT },
	{ "errors", "ERRORS", 8, KT_COL_COUNT }, { "total_us", "TOTAL_us", 14, KT_COL_COUNT },
	{ "max_us", "MAX_us", 12, 0 },
};
static const struct kt_col cols_pid[] = {
	{ "pid", "PID", 7, KT_COL_LABEL },  { "comm", "COMM", -16, 0 },
	{ "syscall", "SYSCALL", -20, 0 },   { "count", "COUNT", 10, KT_COL_COUNT },
	{ "errors", "ERRORS", 8, KT_COL_COUNT }, { "total_us", "TOTAL_us", 14, KT_COL_COUNT },
	{ "max_us", "MAX_us", 12, 0 },
};

/*
 * Without -P: the rows of the per-CPU array, summed over CPUs, minus what
 * the last read saw; then the next interval's maxima start over (gen).
 * Calls beyond the array (none on x86_64) are in the hash, appended.
 */
/* One CPU's row into the sum; its maximum only if it is of interval *gen. */
static void fold_row(void *acc, const void *value, void *arg)
{
	struct syscalls_cpu_val *a = acc;
	const struct syscalls_cpu_val *v = value;

	a->count += v->count;
	a->errors += v->errors;
	a->total_ns += v->total_ns;
	if (v->gen == *(const uint64_t *)arg && v->max_ns > a->max_ns)
		a->max_ns = v->max_ns;
}

static int collect_array(struct kt_ctx *ctx, struct entry **out)
{
	struct syscalls_bpf *skel = ctx->skel;
	struct syscalls *s = ctx->priv;
	uint64_t g = skel->bss->gen;
	struct syscalls_cpu_val *v;
	struct entry *e, *h = NULL;
	int n = 0, nh, err;

	v = calloc(SYSCALLS_MAX_NR, sizeof(*v));
	e = calloc(SYSCALLS_MAX_NR, sizeof(*e));
	if (!v || !e) {
		free(v);
		free(e);
		return -ENOMEM;
	}
	/* from here on, calls count toward the next interval's maxima */
	skel->bss->gen = g + 1;
	err = kt_map_percpu_fold(bpf_map__fd(skel->maps.cpu_stats), SYSCALLS_MAX_NR, sizeof(*v),
				 fold_row, &g, v);
	if (err) {
		free(v);
		free(e);
		return err;
	}
	for (uint32_t nr = 0; nr < SYSCALLS_MAX_NR; nr++) {
		if (v[nr].count == s->seen[nr][0])
			continue;
		e[n].key.nr = nr;
		e[n].val.count = v[nr].count - s->seen[nr][0];
		e[n].val.errors = v[nr].errors - s->seen[nr][1];
		e[n].val.total_ns = v[nr].total_ns - s->seen[nr][2];
		e[n].val.max_ns = v[nr].max_ns;
		s->seen[nr][0] = v[nr].count;
		s->seen[nr][1] = v[nr].errors;
		s->seen[nr][2] = v[nr].total_ns;
		n++;
	}
	free(v);
	nh = KT_MAP_COLLECT(bpf_map__fd(skel->maps.stats), struct entry, key, val, true, NULL, &h);
	if (nh > 0) {
		struct entry *m = realloc(e, ((size_t)n + (size_t)nh) * sizeof(*e));

		if (m) {
			e = m;
			memcpy(e + n, h, (size_t)nh * sizeof(*h));
			n += nh;
		}
	}
	free(h);
	qsort(e, (size_t)n, sizeof(*e), s->by_time ? cmp_time : cmp_count);
	*out = e;
	return n;
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct syscalls_bpf *skel = ctx->skel;
	struct syscalls *s = ctx->priv;
	struct entry *e = NULL;
	char title[96];
	size_t rows;
	int n;

	(void)final;
	if (s->slower)
		return 0; /* a stream: nothing aggregated */
	if (s->per_process)
		n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.stats), struct entry, key, val, true,
				   s->by_time ? cmp_time : cmp_count, &e);
	else
		n = collect_array(ctx, &e);
	if (n < 0) {
		kt_err("reading the system call counts failed: %s", strerror(-n));
		free(e);
		return n;
	}
	rows = s->top && s->top < (size_t)n ? s->top : (size_t)n;
	if (s->top)
		snprintf(title, sizeof(title), "Top %lu system calls%s by %s:", s->top,
			 s->per_process ? " and processes" : "", s->by_time ? "total time" : "count");
	else
		snprintf(title, sizeof(title), "System calls%s by %s:",
			 s->per_process ? " and processes" : "", s->by_time ? "total time" : "count");
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	if (s->per_process)
		kt_table_begin(ctx->out, "syscalls", title, cols_pid,
			       sizeof(cols_pid) / sizeof(cols_pid[0]));
	else
		kt_table_begin(ctx->out, "syscalls", title, cols_all,
			       sizeof(cols_all) / sizeof(cols_all[0]));
	for (size_t i = 0; i < rows; i++) {
		const struct syscalls_val *v = &e[i].val;

		kt_table_row(ctx->out);
		if (s->per_process) {
			kt_rec_u64(ctx->out, e[i].key.pid);
			kt_rec_str(ctx->out, v->comm, sizeof(v->comm));
		}
		kt_rec_enum(ctx->out, syscall_name(e[i].key.nr), e[i].key.nr);
		kt_rec_u64(ctx->out, v->count);
		kt_rec_u64(ctx->out, v->errors);
		kt_rec_f64(ctx->out, (double)v->total_ns / 1000.0, 3);
		kt_rec_f64(ctx->out, (double)v->max_ns / 1000.0, 3);
		kt_rec_end(ctx->out);
	}
	kt_table_end(ctx->out);
	if (ctx->o.hist)
		hists(ctx, e, rows);
	free(e);
	kt_out_stacks_lost(ctx->out, "system calls",
			   kt_map_take_percpu_u64(bpf_map__fd(skel->maps.misses)),
			   "ktrace's kernel-side table is full",
			   "drop -P or filter (-p, --cgroup, --syscall)");
	return 0;
}

static const struct kt_hook hooks[] = {
	{ "sys_enter", false,
	  { { KT_TP_BTF, "sys_enter", "enter_btf_ts", KT_NEED_TASK_STORAGE },
	    { KT_TP_BTF, "sys_enter", "enter_btf" },
	    { KT_RAW_TP, "sys_enter", "enter_raw" } } },
	{ "sys_exit", false,
	  { { KT_TP_BTF, "sys_exit", "exit_btf_ts", KT_NEED_TASK_STORAGE },
	    { KT_TP_BTF, "sys_exit", "exit_btf" },
	    { KT_RAW_TP, "sys_exit", "exit_raw" } } },
};

const struct kt_cmd kt_cmd_syscalls = {
	.modes = KT_M_HIST,
	.hist_help = "A log2 histogram of the time in the call (usecs) per row shown",
	.name = "syscalls",
	.summary = "System call counts, errors and latency, per call or per process",
	.doc = "Count system calls by name, with their errors and their total and longest time, "
	       "the top N by count or by total time. Printed every interval seconds, count "
	       "times, or once at Ctrl-C. Filters select the calling task.\v"
	       "Examples:\n"
	       "  ktrace syscalls                    # top 10 calls at Ctrl-C\n"
	       "  ktrace syscalls -p 185 --sort time # where process 185 spends its time\n"
	       "  ktrace syscalls -P --top 20 5      # per process, every 5 seconds\n"
	       "  ktrace syscalls -x                 # failed calls only\n"
	       "  ktrace syscalls --errno ENOENT -P  # who gets ENOENT, and from which call\n"
	       "  ktrace syscalls --syscall open,openat,stat -j\n"
	       "  ktrace syscalls --hist -p 185      # latency histogram of each call\n"
	       "  ktrace syscalls --slower 100       # each call that took 100 ms or more",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the task making the call",
	.kind = KT_SUMMARY,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct syscalls),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.start = start,
	.handle = handle,
	.min_record = sizeof(struct syscalls_event),
	.drain = drain,
	.tracing_msg = "Tracing system calls... Hit Ctrl-C to end.",
};
