// SPDX-License-Identifier: GPL-2.0
/*
 * sched: context switches, migrations and on-CPU time per task (`ktrace
 * sched -p 185 5`).
 *
 * One row per thread (per process with -P): voluntary switches (it blocked),
 * involuntary ones (it was preempted while runnable), migrations to another
 * CPU, and on-CPU time; the top N (10; --top) by switches, or by --sort
 * voluntary|involuntary|migrations|time, every interval seconds, count times,
 * or once at Ctrl-C. --matrix adds the CPU-to-CPU migration counts. On-CPU
 * time is counted when a slice ends: a task that runs through a whole
 * interval without a switch shows its time in the interval it is switched
 * out in. Filters select the task switched out or migrated.
 * Hooks: sched_switch and sched_migrate_task, tp_btf with a raw_tp fallback
 * (the same on 5.10 and the newest kernels). Cost: every context switch of
 * the machine runs the switch hook; a selected task costs a hash update.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "sched.h"
#include "sched.skel.h"
#include "stacks_out.h"
#include "util.h"

enum sched_sort { BY_SWITCHES, BY_VOLUNTARY, BY_INVOLUNTARY, BY_MIGRATIONS, BY_TIME };

static const char *const sort_names[] = {
	[BY_SWITCHES] = "switches",	  [BY_VOLUNTARY] = "voluntary",
	[BY_INVOLUNTARY] = "involuntary", [BY_MIGRATIONS] = "migrations",
	[BY_TIME] = "time",
};

static const char *const sort_titles[] = {
	[BY_SWITCHES] = "context switches",	[BY_VOLUNTARY] = "voluntary switches",
	[BY_INVOLUNTARY] = "involuntary switches", [BY_MIGRATIONS] = "migrations",
	[BY_TIME] = "on-CPU time",
};

struct sched {
	unsigned long top;
	enum sched_sort sort;
	bool per_process, per_thread, matrix;
};

enum { OPT_TOP = 0x2000, OPT_SORT, OPT_MATRIX };

static const struct argp_option options[] = {
	{ "top", OPT_TOP, "N", 0, "Show the N busiest rows (default 10, 0: all)", 0 },
	{ "sort", OPT_SORT, "KEY", 0,
	  "Order by switches (default: voluntary + involuntary), voluntary, involuntary, "
	  "migrations or time (on-CPU)",
	  0 },
	{ "pids", 'P', NULL, 0, "One row per process (by PID, with its latest name)", 0 },
	{ "tids", 'L', NULL, 0, "One row per thread (by TID, with its latest name; the default)", 0 },
	{ "matrix", OPT_MATRIX, NULL, 0, "Also count migrations per source and destination CPU", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct sched *s = ctx->priv;
	char *end;
	size_t i;

	switch (key) {
	case ARGP_KEY_INIT:
		s->top = 10;
		return 0;
	case OPT_TOP:
		s->top = strtoul(arg, &end, 10);
		if (end == arg || *end || *arg == '-')
			argp_error(state, "--top %s: not a number of rows", arg);
		return 0;
	case OPT_SORT:
		for (i = 0; i < sizeof(sort_names) / sizeof(sort_names[0]); i++)
			if (!strcmp(arg, sort_names[i]))
				break;
		if (i == sizeof(sort_names) / sizeof(sort_names[0]))
			argp_error(state,
				   "--sort %s: sort by switches, voluntary, involuntary, migrations or time",
				   arg);
		else
			s->sort = (enum sched_sort)i;
		return 0;
	case 'P':
		s->per_process = true;
		break;
	case 'L':
		s->per_thread = true;
		break;
	case OPT_MATRIX:
		s->matrix = true;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	if (s->per_process && s->per_thread)
		argp_error(state, "-P and -L are exclusive: one row per process or per thread");
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, sched_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct sched_bpf *skel = ctx->skel;
	struct sched *s = ctx->priv;

	skel->rodata->cfg_per_process = s->per_process;
	skel->rodata->cfg_matrix = s->matrix;
	if (!s->matrix)
		bpf_map__set_max_entries(skel->maps.cells, 1);
	kt_meta_add(ctx, "rows", s->per_process ? "process" : "thread");
	return 0;
}

struct entry {
	struct sched_key key;
	struct sched_val val;
};

struct cell {
	struct sched_cell key;
	uint64_t n;
};

/* qsort has no argument: the drain sets the key before it collects. */
static enum sched_sort sort_by;

static uint64_t sort_value(const struct sched_val *v)
{
	switch (sort_by) {
	case BY_VOLUNTARY:
		return v->voluntary;
	case BY_INVOLUNTARY:
		return v->involuntary;
	case BY_MIGRATIONS:
		return v->migrations;
	case BY_TIME:
		return v->oncpu_ns;
	default:
		return v->voluntary + v->involuntary;
	}
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	uint64_t vx = sort_value(&x->val), vy = sort_value(&y->val);

	if (vx != vy)
		return vx < vy ? 1 : -1;
	return x->key.id < y->key.id ? -1 : x->key.id > y->key.id;
}

static int cmp_cell(const void *a, const void *b)
{
	const struct sched_cell *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

static const struct kt_col cols_tid[] = {
	{ "pid", "PID", 7, KT_COL_LABEL },
	{ "tid", "TID", 7, KT_COL_LABEL },
	{ "comm", "COMM", -16, 0 },
	{ "voluntary", "VOLUNTARY", 10, KT_COL_COUNT },
	{ "involuntary", "INVOLUNTARY", 12, KT_COL_COUNT },
	{ "migrations", "MIGRATIONS", 11, KT_COL_COUNT },
	{ "oncpu_ms", "ONCPU_ms", 13, KT_COL_COUNT },
};
static const struct kt_col cols_pid[] = {
	{ "pid", "PID", 7, KT_COL_LABEL },
	{ "comm", "COMM", -16, 0 },
	{ "voluntary", "VOLUNTARY", 10, KT_COL_COUNT },
	{ "involuntary", "INVOLUNTARY", 12, KT_COL_COUNT },
	{ "migrations", "MIGRATIONS", 11, KT_COL_COUNT },
	{ "oncpu_ms", "ONCPU_ms", 13, KT_COL_COUNT },
};
static const struct kt_col cols_cell[] = {
	{ "from_cpu", "FROM", 5, 0 },
	{ "to_cpu", "TO", 5, 0 },
	{ "count", "MIGRATIONS", 11, 0 },
};

static int drain_matrix(struct kt_ctx *ctx)
{
	struct sched_bpf *skel = ctx->skel;
	struct cell *c = NULL;
	int n;

	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.cells), struct cell, key, n, true, cmp_cell, &c);
	if (n < 0) {
		kt_err("reading the migration matrix failed: %s", strerror(-n));
		free(c);
		return n;
	}
	kt_table_begin(ctx->out, "migrations", "Migrations from CPU to CPU (non-zero cells):",
		       cols_cell, sizeof(cols_cell) / sizeof(cols_cell[0]));
	for (int i = 0; i < n; i++) {
		kt_table_row(ctx->out);
		kt_rec_u64(ctx->out, c[i].key.from);
		kt_rec_u64(ctx->out, c[i].key.to);
		kt_rec_u64(ctx->out, c[i].n);
		kt_rec_end(ctx->out);
	}
	kt_table_end(ctx->out);
	free(c);
	return 0;
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct sched_bpf *skel = ctx->skel;
	struct sched *s = ctx->priv;
	struct entry *e = NULL;
	const char *what = s->per_process ? "processes" : "threads";
	char title[96];
	size_t rows;
	int n, err = 0;

	(void)final;
	sort_by = s->sort;
	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.stats), struct entry, key, val, true, cmp_entry,
			   &e);
	if (n < 0) {
		kt_err("reading the scheduler counts failed: %s", strerror(-n));
		free(e);
		return n;
	}
	rows = s->top && s->top < (size_t)n ? s->top : (size_t)n;
	if (s->top)
		snprintf(title, sizeof(title), "Top %lu %s by %s:", s->top, what,
			 sort_titles[s->sort]);
	else
		snprintf(title, sizeof(title), "%c%s by %s:", what[0] - 'a' + 'A', what + 1,
			 sort_titles[s->sort]);
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	if (s->per_process)
		kt_table_begin(ctx->out, "sched", title, cols_pid,
			       sizeof(cols_pid) / sizeof(cols_pid[0]));
	else
		kt_table_begin(ctx->out, "sched", title, cols_tid,
			       sizeof(cols_tid) / sizeof(cols_tid[0]));
	for (size_t i = 0; i < rows; i++) {
		const struct sched_val *v = &e[i].val;

		kt_table_row(ctx->out);
		kt_rec_u64(ctx->out, v->pid);
		if (!s->per_process)
			kt_rec_u64(ctx->out, e[i].key.id);
		kt_rec_str(ctx->out, v->comm, sizeof(v->comm));
		kt_rec_u64(ctx->out, v->voluntary);
		kt_rec_u64(ctx->out, v->involuntary);
		kt_rec_u64(ctx->out, v->migrations);
		kt_rec_f64(ctx->out, (double)v->oncpu_ns / 1e6, 3);
		kt_rec_end(ctx->out);
	}
	kt_table_end(ctx->out);
	free(e);
	if (s->matrix)
		err = drain_matrix(ctx);
	kt_out_stacks_lost(ctx->out, "scheduler events",
			   kt_map_take_percpu_u64(bpf_map__fd(skel->maps.misses)),
			   "ktrace's kernel-side tables are full",
			   "report more often (interval), use -P, or filter (-p, -u, --cgroup)");
	return err;
}

static const struct kt_hook hooks[] = {
	{ "sched_switch", false,
	  { { KT_TP_BTF, "sched_switch", "switch_btf" },
	    { KT_RAW_TP, "sched_switch", "switch_raw" } } },
	{ "sched_migrate_task", false,
	  { { KT_TP_BTF, "sched_migrate_task", "migrate_btf" },
	    { KT_RAW_TP, "sched_migrate_task", "migrate_raw" } } },
};

const struct kt_cmd kt_cmd_sched = {
	.name = "sched",
	.summary = "Context switches (voluntary, involuntary), migrations and on-CPU time per task",
	.doc = "Count, per thread (or per process with -P), the context switches in which it "
	       "blocked (voluntary) or was preempted (involuntary), its migrations to other "
	       "CPUs and its time on a CPU; the top N by switches or by --sort. Printed every "
	       "interval seconds, count times, or once at Ctrl-C. Filters select the task "
	       "switched out or migrated. Kernel memory: at most 16384 rows (~2 MB) and, "
	       "with --matrix, 16384 CPU pairs (~1 MB).\v"
	       "Examples:\n"
	       "  ktrace sched                     # top 10 threads by switches at Ctrl-C\n"
	       "  ktrace sched -p 185 --sort time  # threads of process 185 by on-CPU time\n"
	       "  ktrace sched -P --top 20 5       # per process, every 5 seconds\n"
	       "  ktrace sched --sort migrations --matrix  # who moves, between which CPUs\n"
	       "  ktrace sched -n java -j 1 10     # JSON, 1 s intervals, 10 times",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the task switched out, or the task migrated",
	.kind = KT_SUMMARY,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct sched),
	.open = open_skel,
	.configure = configure,
	.drain = drain,
	.tracing_msg = "Tracing context switches and migrations... Hit Ctrl-C to end.",
};
