// SPDX-License-Identifier: GPL-2.0
/*
 * fsops: metadata operations per directory or per process (`ktrace fsops`).
 *
 * Counts creates, unlinks, renames, mkdirs, rmdirs, setattrs and fsyncs
 * (and their errors) per directory (the directory the entry is in: a
 * rename's source, an mkdir's parent), or with -P per process, and prints
 * the top N rows by total every interval seconds, count times, or once at
 * Ctrl-C: who is hammering which directory. --dir keeps one directory (and
 * what is below it). Hooks (core/fsvfs.h): the VFS functions by
 * fentry/fexit or kprobes where the kernel allows it, else raw_syscalls
 * sys_enter and sys_exit (tp_btf, else raw_tp); probes/lib/kt_fs.bpf.h
 * says what each layer sees. Each metadata call is a ring buffer record,
 * counted here. Cost: in the VFS each call of the hooked functions runs an
 * entry and an exit program (opens too: whether one creates is known at
 * exit); at the system-call layer every system call of the machine runs
 * both hooks. A metadata call adds a map update and delete, a dentry walk
 * and a record. The table is bounded
 * (FSOPS_MAX_ROWS rows, FSOPS_MAX_BYTES of names); what does not fit is
 * counted in an "[other]" row.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsops.h"
#include "fsops.skel.h"
#include "fsrec.h"
#include "fsvfs.h"
#include "ktrace.h"
#include "output.h"
#include "util.h"

#define FSOPS_MAX_ROWS 65536
#define FSOPS_MAX_BYTES (8u << 20)
#define FSOPS_SLOTS (2 * FSOPS_MAX_ROWS)

enum { OPT_TOP = 0x2000, OPT_DIR };

/* The operations counted, in the order of the columns. */
static const uint32_t ops[] = { KT_FS_CREATE, KT_FS_UNLINK,  KT_FS_RENAME, KT_FS_MKDIR,
				KT_FS_RMDIR,  KT_FS_SETATTR, KT_FS_FSYNC };
#define NOPS (sizeof(ops) / sizeof(ops[0]))

struct row {
	char *dir;    /* per directory */
	uint32_t pid; /* per process */
	char comm[KT_TASK_COMM_LEN];
	uint64_t n[NOPS];
	uint64_t total, errors;
};

struct fsops {
	bool per_process;
	bool top_set;
	unsigned long top;
	const char *dir;
	size_t dir_len;
	struct row **slots; /* open addressing */
	struct row *other;  /* what did not fit */
	size_t n_rows, bytes;
	char path[KT_FS_DIR_MAX + 2 * KT_FS_PATH_MAX + 8];
};

static const struct argp_option options[] = {
	{ "pids", 'P', NULL, 0, "One row per process (by PID, with its latest name), not per directory",
	  0 },
	{ "top", OPT_TOP, "N", 0, "Show the N busiest rows (default 10, 0: all)", 0 },
	{ "dir", OPT_DIR, "DIR", 0,
	  "Only operations in directory DIR or below it (an absolute path; user space filter)", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct fsops *f = ctx->priv;

	switch (key) {
	case 'P':
		f->per_process = true;
		break;
	case OPT_TOP:
		f->top = (unsigned long)kt_arg_u64(state, "--top", arg, 0, FSOPS_MAX_ROWS);
		f->top_set = true;
		break;
	case OPT_DIR:
		if (arg[0] != '/')
			argp_error(state, "invalid --dir '%s': an absolute path (e.g. /var/lib/mysql)",
				   arg);
		f->dir = arg;
		f->dir_len = strlen(arg);
		while (f->dir_len > 1 && arg[f->dir_len - 1] == '/')
			f->dir_len--;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int validate(struct kt_ctx *ctx)
{
	struct fsops *f = ctx->priv;

	if (!f->top_set)
		f->top = 10;
	f->slots = calloc(FSOPS_SLOTS, sizeof(*f->slots));
	if (!f->slots) {
		kt_err("allocating the table of counts failed: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, fsops_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct fsops_bpf *skel = ctx->skel;
	uint32_t mask = 0;

	for (size_t i = 0; i < NOPS; i++)
		mask |= 1U << ops[i];
	skel->rodata->cfg_self = (uint32_t)getpid();
	kt_fs_layer_configure(ctx, skel->rodata->cfg_vfs, "metadata calls");
	skel->rodata->cfg_ops = mask;
	return 0;
}

static uint64_t hash(const char *s, size_t len, uint32_t pid)
{
	uint64_t h = 1469598103934665603ULL ^ pid;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The row of (dir, pid), made when there is room; the "[other]" row when not. */
static struct row *row_of(struct fsops *f, const char *dir, size_t len, uint32_t pid)
{
	size_t i = hash(dir, len, pid) % FSOPS_SLOTS;
	struct row *r;

	for (;; i = (i + 1) % FSOPS_SLOTS) {
		r = f->slots[i];
		if (!r)
			break;
		if (r->pid == pid && (!dir || (r->dir && !strcmp(r->dir, dir))))
			return r;
	}
	if (f->n_rows >= FSOPS_MAX_ROWS || f->bytes + len + 1 > FSOPS_MAX_BYTES)
		goto other;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto other;
	if (dir) {
		r->dir = strndup(dir, len);
		if (!r->dir) {
			free(r);
			goto other;
		}
	}
	r->pid = pid;
	f->slots[i] = r;
	f->n_rows++;
	f->bytes += len + 1;
	return r;
other:
	if (!f->other)
		f->other = calloc(1, sizeof(*f->other));
	return f->other;
}

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct kt_fs_event *e = data;
	struct fsops *f = ctx->priv;
	struct row *r;
	size_t n, i;

	if (!kt_fs_event_ok(e, size))
		return 0;
	for (i = 0; i < NOPS && ops[i] != e->op; i++)
		;
	if (i == NOPS)
		return 0;
	n = kt_fs_event_path(e, f->path, sizeof(f->path));
	n = kt_fs_dirname(f->path, n);
	if (f->dir && !(!strncmp(f->path, f->dir, f->dir_len) &&
			(f->path[f->dir_len] == '/' || !f->path[f->dir_len] || f->dir_len == 1)))
		return 0;
	r = f->per_process ? row_of(f, NULL, 0, e->hdr.pid) : row_of(f, f->path, n, 0);
	if (!r)
		return 0;
	if (f->per_process)
		memcpy(r->comm, e->hdr.comm, sizeof(r->comm));
	r->n[i]++;
	r->total++;
	if (e->ret < 0 && e->ret >= -4095)
		r->errors++;
	return 0;
}

static int cmp_total(const void *a, const void *b)
{
	const struct row *x = *(const struct row *const *)a, *y = *(const struct row *const *)b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->dir && y->dir ? strcmp(x->dir, y->dir) : 0;
}

static void reset(struct fsops *f)
{
	for (size_t i = 0; i < FSOPS_SLOTS && f->n_rows; i++) {
		if (!f->slots[i])
			continue;
		free(f->slots[i]->dir);
		free(f->slots[i]);
		f->slots[i] = NULL;
		f->n_rows--;
	}
	f->n_rows = 0;
	f->bytes = 0;
	free(f->other);
	f->other = NULL;
}

/* DIR or PID COMM first, then one column per operation, TOTAL, ERRORS */
#define NCOLS_MAX (2 + NOPS + 2)

static size_t make_cols(const struct fsops *f, struct kt_col *c)
{
	static const char *const hdr[NOPS] = { "CREATE", "UNLINK", "RENAME", "MKDIR",
					       "RMDIR",  "SETATTR", "FSYNC" };
	size_t n = 0;

	if (f->per_process) {
		c[n++] = (struct kt_col){ "pid", "PID", 7, 0 };
		c[n++] = (struct kt_col){ "comm", "COMM", -16, 0 };
	}
	for (size_t i = 0; i < NOPS; i++)
		c[n++] = (struct kt_col){ kt_fs_op_name(ops[i]), hdr[i], 8, 0 };
	c[n++] = (struct kt_col){ "total", "TOTAL", 8, 0 };
	c[n++] = (struct kt_col){ "errors", "ERRORS", 7, 0 };
	if (!f->per_process)
		c[n++] = (struct kt_col){ "dir", "DIR", 0, 0 }; /* last: its width varies */
	return n;
}

static void put_row(struct kt_ctx *ctx, const struct fsops *f, const struct row *r, bool other)
{
	kt_table_row(ctx->out);
	if (f->per_process) {
		if (other) {
			kt_rec_none(ctx->out);
			kt_rec_str(ctx->out, "[other]", 7);
		} else {
			kt_rec_u64(ctx->out, r->pid);
			kt_rec_str(ctx->out, r->comm, sizeof(r->comm));
		}
	}
	for (size_t i = 0; i < NOPS; i++)
		kt_rec_u64(ctx->out, r->n[i]);
	kt_rec_u64(ctx->out, r->total);
	kt_rec_u64(ctx->out, r->errors);
	if (!f->per_process) {
		if (other)
			kt_rec_str(ctx->out, "[other]", 7);
		else
			kt_rec_str(ctx->out, r->dir, strlen(r->dir));
	}
	kt_rec_end(ctx->out);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct fsops *f = ctx->priv;
	struct kt_col cols[NCOLS_MAX];
	struct row **rows;
	size_t ncols = make_cols(f, cols), n = 0, show;
	char title[96];

	(void)final;
	rows = malloc((f->n_rows ? f->n_rows : 1) * sizeof(*rows));
	if (!rows) {
		kt_err("sorting the counts failed: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (size_t i = 0; i < FSOPS_SLOTS && n < f->n_rows; i++)
		if (f->slots[i])
			rows[n++] = f->slots[i];
	kt_qsort(rows, n, sizeof(*rows), cmp_total);
	show = f->top && f->top < n ? f->top : n;
	snprintf(title, sizeof(title), "%s %s by metadata operations:",
		 f->top ? "Top" : "All", f->per_process ? "processes" : "directories");
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	kt_table_begin(ctx->out, "fsops", title, cols, ncols);
	for (size_t i = 0; i < show; i++)
		put_row(ctx, f, rows[i], false);
	if (f->other)
		put_row(ctx, f, f->other, true);
	kt_table_end(ctx->out);
	free(rows);
	reset(f);
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	struct fsops *f = ctx->priv;

	if (f->slots)
		reset(f);
	free(f->slots);
	f->slots = NULL;
}

const struct kt_cmd kt_cmd_fsops = {
	.name = "fsops",
	.summary = "Metadata operations (create, unlink, rename...) per directory or process",
	.doc = "Count file-system metadata calls (create, unlink, rename, mkdir, rmdir, setattr, "
	       "fsync) and their errors per directory, or per process with -P, and print the top "
	       "N rows by total every interval seconds, count times, or once at Ctrl-C: who is "
	       "hammering which directory. Measured in the VFS where the kernel allows it, else at "
	       "the system-call layer (see the man page). "
	       "Filters select the calling task.\v"
	       "Examples:\n"
	       "  ktrace fsops                      # busiest directories at Ctrl-C\n"
	       "  ktrace fsops 5                    # every 5 seconds\n"
	       "  ktrace fsops -P --dir /var/spool  # who is hammering /var/spool\n"
	       "  ktrace fsops --top 0 -j -d 10     # every directory, 10 s, as JSON Lines",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the task making the call",
	.kind = KT_STREAM,
	.pos = KT_POS_INTERVAL,
	.hooks = kt_fs_hooks,
	.n_hooks = KT_FS_N_HOOKS,
	.alt_unavailable = kt_fs_alt_unavailable,
	.priv_size = sizeof(struct fsops),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.handle = handle,
	.min_record = offsetof(struct kt_fs_event, data),
	.ringbuf_default = 1ULL << 22,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing file-system metadata calls... Hit Ctrl-C to end.",
};
