// SPDX-License-Identifier: GPL-2.0
/*
 * open: trace file opens (`ktrace open -x -n myapp`), or summarize them per
 * interval (`ktrace open --summary 10`): top paths, processes, errors.
 *
 * Hooks: syscalls:sys_enter/exit_ of open, openat, openat2 and creat
 * (tracepoints; open, creat and openat2 are optional: not every
 * architecture or kernel has them). Filters on the task (pid, tid, uid,
 * cgroup) run at entry, -x and --path prefixes at exit before anything is
 * reserved. Cost: a hash update and delete per open of a traced task, a
 * user string read and a 5.2 KiB ring buffer record per reported open.
 * --summary aggregates those records in user space (lost ones are counted).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "ktrace.h"
#include "open.h"
#include "open.skel.h"
#include "output.h"
#include "util.h"

#define TOP_N 10

/* A count keyed by a string (a path, or a pid). */
struct centry {
	char *key;
	uint64_t n, fails;
	uint32_t pid;
	char comm[KT_TASK_COMM_LEN];
};

struct ctab {
	struct centry *e;
	size_t n, cap;
};

struct open_opts {
	uint32_t pid, tid, uid;
	bool has_uid, failed, extended, full_path, print_uid, summary;
	const char *name, *cgroup;
	uint64_t cgroup_id, summary_iv;
	const char *prefixes[OPEN_MAX_PREFIXES];
	uint32_t nprefix;
	/* --summary */
	struct ctab paths, procs;
	uint64_t errs[4096], total, fails;
};

enum {
	OPT_PATH = 0x2000,
	OPT_SUMMARY,
};

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Only this process", 0 },
	{ "tid", 't', "TID", 0, "Only this thread", 0 },
	{ "uid", 'u', "UID", 0, "Only this user id", 0 },
	{ "failed", 'x', NULL, 0, "Only failed opens", 0 },
	{ "name", 'n', "NAME", 0, "Only commands whose name contains NAME (user space filter)", 0 },
	{ "extended", 'e', NULL, 0, "Show the flags (decoded) and the mode", 0 },
	{ "full-path", 'F', NULL, 0,
	  "Show relative paths as absolute: the cwd or dirfd is named in the kernel at the call "
	  "(/proc at event time as a fallback)",
	  0 },
	{ "print-uid", 'U', NULL, 0, "Include a UID column (the user name when known)", 0 },
	{ "cgroup", 'c', "PATH", 0, "Only tasks in this cgroup-v2 directory", 0 },
	{ "path", OPT_PATH, "PREFIX", 0,
	  "Only paths starting with PREFIX, filtered in the kernel (repeat up to 8 times)", 0 },
	{ "summary", OPT_SUMMARY, "SECONDS", OPTION_ARG_OPTIONAL,
	  "Instead of one line per open, print the top paths, processes and errors every "
	  "interval (from --summary=SECONDS or the positional interval) or at the end",
	  0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct open_opts *o = ctx->priv;

	switch (key) {
	case 'p':
		o->pid = (uint32_t)kt_arg_u64(state, "--pid", arg, 1, INT32_MAX);
		break;
	case 't':
		o->tid = (uint32_t)kt_arg_u64(state, "--tid", arg, 1, INT32_MAX);
		break;
	case 'u':
		o->uid = (uint32_t)kt_arg_u64(state, "--uid", arg, 0, UINT32_MAX - 1);
		o->has_uid = true;
		break;
	case 'x':
		o->failed = true;
		break;
	case 'n':
		o->name = arg;
		break;
	case 'e':
		o->extended = true;
		break;
	case 'F':
		o->full_path = true;
		break;
	case 'U':
		o->print_uid = true;
		break;
	case 'c':
		o->cgroup = arg;
		break;
	case OPT_PATH:
		if (o->nprefix >= OPEN_MAX_PREFIXES)
			argp_error(state, "too many --path prefixes (at most %d)", OPEN_MAX_PREFIXES);
		else if (!*arg || strlen(arg) > OPEN_PREFIX_MAX)
			argp_error(state, "invalid --path '%s': expected 1 to %d bytes", arg,
				   OPEN_PREFIX_MAX);
		else
			o->prefixes[o->nprefix++] = arg;
		break;
	case OPT_SUMMARY:
		o->summary = true;
		if (arg)
			o->summary_iv = kt_arg_u64(state, "--summary", arg, 1, 86400);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Text shows the visible columns in this order; JSON has every one without NOJSON. */
enum { C_USER, C_PID, C_COMM, C_FD, C_ERR, C_FLAGS_T, C_MODE_T, C_PATH_T, C_N_TEXT };
static struct kt_col cols[] = {
	[C_USER] = { "user", "UID", -8, KT_COL_HIDDEN },
	[C_PID] = { "pid", "PID", 7, 0 },
	[C_COMM] = { "comm", "COMM", -16, 0 },
	[C_FD] = { "fd", "FD", 4, 0 },
	[C_ERR] = { "err_text", "ERR", -7, KT_COL_NOJSON },
	[C_FLAGS_T] = { "flags_text", "FLAGS", -24, KT_COL_NOJSON | KT_COL_HIDDEN },
	[C_MODE_T] = { "mode_text", "MODE", -5, KT_COL_NOJSON | KT_COL_HIDDEN },
	[C_PATH_T] = { "path_text", "PATH", 0, KT_COL_NOJSON },
	{ "uid", "", 0, KT_COL_HIDDEN },
	{ "tid", "", 0, KT_COL_HIDDEN },
	{ "ret", "", 0, KT_COL_HIDDEN },
	{ "errno", "", 0, KT_COL_HIDDEN },
	{ "syscall", "", 0, KT_COL_HIDDEN },
	{ "path", "", 0, KT_COL_HIDDEN },
#define C_EXT (C_N_TEXT + 6) /* JSON-only, with -e */
	{ "dirfd", "", 0, KT_COL_HIDDEN | KT_COL_NOJSON },
	{ "flags", "", 0, KT_COL_HIDDEN | KT_COL_NOJSON },
	{ "mode", "", 0, KT_COL_HIDDEN | KT_COL_NOJSON },
#define C_FULL (C_EXT + 3) /* JSON-only, with -F */
	{ "full_path", "", 0, KT_COL_HIDDEN | KT_COL_NOJSON },
};
#define N_COLS (sizeof(cols) / sizeof(cols[0]))

static int validate(struct kt_ctx *ctx)
{
	struct open_opts *o = ctx->priv;
	int err;

	if (kt_check_pid("-p", o->pid) || kt_check_pid("-t", o->tid))
		return -EINVAL;
	if (o->cgroup) {
		err = kt_cgroup_id(o->cgroup, &o->cgroup_id);
		if (err) {
			kt_err("-c %s: %s", o->cgroup,
			       err == -EMEDIUMTYPE ? "not a cgroup-v2 directory" : strerror(-err));
			return -EINVAL;
		}
	}
	if (o->summary_iv) {
		if (ctx->o.interval_s && ctx->o.interval_s != o->summary_iv) {
			kt_err("two different intervals (--summary=%" PRIu64 " and %" PRIu64
			       "): give it once",
			       o->summary_iv, ctx->o.interval_s);
			return -EINVAL;
		}
		ctx->o.interval_s = o->summary_iv;
	}
	if (o->summary && (o->extended || o->full_path || o->print_uid)) {
		kt_err("-e, -F and -U only apply to the per-open output, not to --summary");
		return -EINVAL;
	}
	if (o->print_uid)
		cols[C_USER].flags &= ~KT_COL_HIDDEN;
	if (o->extended) {
		cols[C_FLAGS_T].flags &= ~KT_COL_HIDDEN;
		cols[C_MODE_T].flags &= ~KT_COL_HIDDEN;
		for (int i = C_EXT; i < C_EXT + 3; i++)
			cols[i].flags &= ~KT_COL_NOJSON;
	}
	if (o->full_path)
		cols[C_FULL].flags &= ~KT_COL_NOJSON;
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, open_bpf);
}

/* Bits 1 << OPEN_SYS_* of the calls whose hook (sys_enter_ or sys_exit_) chose raw_tp. */
static uint32_t raw_calls(const struct kt_ctx *ctx, const char *dir)
{
	static const char *const names[] = {
		[OPEN_SYS_OPEN] = "open", [OPEN_SYS_OPENAT] = "openat",
		[OPEN_SYS_OPENAT2] = "openat2", [OPEN_SYS_CREAT] = "creat",
	};
	uint32_t bits = 0;
	char hook[32];

	for (uint32_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct kt_alt *a;

		snprintf(hook, sizeof(hook), "sys_%s_%s", dir, names[i]);
		a = kt_hook_chosen(ctx, hook);
		if (a && a->type == KT_RAW_TP)
			bits |= 1U << i;
	}
	return bits;
}

static int configure(struct kt_ctx *ctx)
{
	struct open_bpf *skel = ctx->skel;
	struct open_opts *o = ctx->priv;

	/* the raw sys_enter/sys_exit programs serve only the calls whose hook chose them */
	skel->rodata->cfg_raw_enter = raw_calls(ctx, "enter");
	skel->rodata->cfg_raw_exit = raw_calls(ctx, "exit");

	skel->rodata->cfg_tgid = o->pid;
	skel->rodata->cfg_tid = o->tid;
	skel->rodata->cfg_uid = o->has_uid ? o->uid : (uint32_t)-1;
	skel->rodata->cfg_cgroup_id = o->cgroup_id;
	skel->rodata->cfg_failed = o->failed;
	skel->rodata->cfg_full_path = o->full_path;
	skel->rodata->cfg_nprefix = o->nprefix;
	for (uint32_t i = 0; i < o->nprefix; i++) {
		size_t n = strlen(o->prefixes[i]);

		skel->rodata->cfg_prefix_len[i] = (uint32_t)n;
		memcpy((char *)skel->rodata->cfg_prefix[i], o->prefixes[i], n);
	}
	return 0;
}

static int start(struct kt_ctx *ctx)
{
	struct open_opts *o = ctx->priv;

	const struct kt_alt *alt = kt_hook_chosen(ctx, "sys_exit_openat");

	if (o->full_path && alt && !(alt->needs & KT_NEED_BPF_LOOP))
		kt_warn("-F: this kernel lacks bpf_loop (5.17+), so relative paths are resolved "
			"from /proc when printed: best effort, wrong if the process has changed "
			"directory or exited by then");
	if (!o->summary)
		kt_out_header(ctx->out, cols, C_N_TEXT);
	return 0;
}

/* O_* names of flags into v (at most n); returns how many. */
static size_t flag_names(uint64_t f, const char **v, size_t n, char *hex, size_t hexsz)
{
	static const struct {
		uint64_t bits;
		const char *name;
	} names[] = {
		/* multi-bit flags first: they contain O_DIRECTORY and O_DSYNC */
		{ O_TMPFILE, "O_TMPFILE" },   { O_SYNC, "O_SYNC" },	    { O_CREAT, "O_CREAT" },
		{ O_EXCL, "O_EXCL" },	      { O_NOCTTY, "O_NOCTTY" },	    { O_TRUNC, "O_TRUNC" },
		{ O_APPEND, "O_APPEND" },     { O_NONBLOCK, "O_NONBLOCK" }, { O_DSYNC, "O_DSYNC" },
		{ O_ASYNC, "O_ASYNC" },	      { O_DIRECT, "O_DIRECT" },
#if defined(__x86_64__) || defined(__i386__)
		/* glibc defines O_LARGEFILE as 0 on 64-bit; this is the kernel's bit */
		{ 0100000, "O_LARGEFILE" },
#endif
		{ O_DIRECTORY, "O_DIRECTORY" }, { O_NOFOLLOW, "O_NOFOLLOW" }, { O_NOATIME, "O_NOATIME" },
		{ O_CLOEXEC, "O_CLOEXEC" },   { O_PATH, "O_PATH" },
	};
	static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
	size_t k = 0;

	v[k++] = acc[f & O_ACCMODE];
	f &= ~(uint64_t)O_ACCMODE;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && k < n; i++) {
		if ((f & names[i].bits) == names[i].bits) {
			v[k++] = names[i].name;
			f &= ~names[i].bits;
		}
	}
	if (f && k < n) {
		snprintf(hex, hexsz, "0x%" PRIx64, f);
		v[k++] = hex;
	}
	return k;
}

/* The directory names the kernel walked (leaf first), as an absolute path. */
static bool kernel_dir(const struct open_event *e, const char *names, size_t len, char *buf,
		       size_t sz)
{
	const char *comp[OPEN_DIR_DEPTH];
	size_t n = 0, off = 0, w = 0;

	if (!(e->dir_flags & OPEN_DIR_OK) || len > OPEN_DIR_MAX)
		return false;
	while (off < len && n < OPEN_DIR_DEPTH) {
		comp[n++] = names + off;
		off += strnlen(names + off, len - off) + 1;
	}
	buf[0] = 0;
	for (size_t i = n; i-- > 0;) {
		size_t l = strnlen(comp[i], (size_t)(names + len - comp[i]));

		if (w + l + 2 > sz)
			return false;
		buf[w++] = '/';
		memcpy(buf + w, comp[i], l);
		w += l;
	}
	if (!w)
		buf[w++] = '/';
	buf[w] = 0;
	return true;
}

/*
 * The absolute path of a relative one: against the directory the kernel
 * named at the call (the cwd or openat's dirfd), else against /proc now, best
 * effort (the process may be gone, or have changed directory or closed the
 * fd since).
 */
static bool resolve(const struct open_event *e, const char *path, size_t len, const char *dir,
		    size_t dlen, char *buf, size_t sz)
{
	char link[64], base[PATH_MAX];
	ssize_t n;

	if (len && path[0] == '/') {
		snprintf(buf, sz, "%.*s", (int)len, path);
		return true;
	}
	if (kernel_dir(e, dir, dlen, base, sizeof(base))) {
		n = (ssize_t)strlen(base);
	} else {
		if (e->dirfd == AT_FDCWD)
			snprintf(link, sizeof(link), "/proc/%u/task/%u/cwd", e->hdr.pid, e->hdr.tid);
		else
			snprintf(link, sizeof(link), "/proc/%u/fd/%d", e->hdr.pid, e->dirfd);
		n = readlink(link, base, sizeof(base) - 1);
		if (n < 0 && e->dirfd == AT_FDCWD) {
			/* the thread may be gone while its process lives on */
			snprintf(link, sizeof(link), "/proc/%u/cwd", e->hdr.pid);
			n = readlink(link, base, sizeof(base) - 1);
		}
		if (n <= 0)
			return false;
		base[n] = 0;
	}
	while (len >= 2 && path[0] == '.' && path[1] == '/') {
		path += 2;
		len -= 2;
	}
	if (len == 1 && path[0] == '.')
		len = 0;
	snprintf(buf, sz, "%s%s%.*s", base, (len && base[n - 1] != '/') ? "/" : "", (int)len, path);
	return true;
}

/* ---- --summary: counts in user space ---- */

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct centry *ctab_get(struct ctab *t, const char *key)
{
	size_t i;

	if (2 * (t->n + 1) > t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct centry *e = calloc(cap, sizeof(*e));

		if (!e)
			return NULL;
		for (size_t j = 0; j < t->cap; j++) {
			if (!t->e[j].key)
				continue;
			for (i = hash(t->e[j].key) & (cap - 1); e[i].key; i = (i + 1) & (cap - 1))
				;
			e[i] = t->e[j];
		}
		free(t->e);
		t->e = e;
		t->cap = cap;
	}
	for (i = hash(key) & (t->cap - 1); t->e[i].key; i = (i + 1) & (t->cap - 1))
		if (!strcmp(t->e[i].key, key))
			return &t->e[i];
	t->e[i].key = strdup(key);
	if (!t->e[i].key)
		return NULL;
	t->n++;
	return &t->e[i];
}

static void ctab_free(struct ctab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->e[i].key);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

static void count(struct open_opts *o, const struct open_event *e, size_t plen)
{
	char key[OPEN_PATH_MAX + 1], pid[16];
	struct centry *c;
	bool fail = e->ret < 0;

	o->total++;
	o->fails += fail;
	if (fail && -e->ret < 4096)
		o->errs[-e->ret]++;
	/* a path with an embedded NUL cannot happen: the kernel read stops there */
	memcpy(key, e->data, plen);
	key[plen] = 0;
	c = ctab_get(&o->paths, key);
	if (c) {
		c->n++;
		c->fails += fail;
	}
	snprintf(pid, sizeof(pid), "%u", e->hdr.pid);
	c = ctab_get(&o->procs, pid);
	if (c) {
		c->n++;
		c->fails += fail;
		c->pid = e->hdr.pid;
		memcpy(c->comm, e->hdr.comm, sizeof(c->comm));
	}
}

static int cmp_centry(const void *a, const void *b)
{
	const struct centry *x = a, *y = b;

	if (!x->key || !y->key)
		return !x->key - !y->key;
	return x->n < y->n ? 1 : x->n > y->n ? -1 : strcmp(x->key, y->key);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	static const struct kt_col tc[] = {
		{ "seconds", "SECS", 6 }, { "opens", "OPENS", 8 }, { "failed", "FAILED", 8 },
		{ "opens_per_s", "OPENS/s", 9 }, { "paths", "PATHS", 7 }, { "processes", "PROCS", 6 },
	};
	static const struct kt_col pc[] = {
		{ "opens", "OPENS", 8 }, { "failed", "FAILED", 7 }, { "path", "PATH", 0 },
	};
	static const struct kt_col rc[] = {
		{ "pid", "PID", 7 }, { "comm", "COMM", -16 }, { "opens", "OPENS", 8 },
		{ "failed", "FAILED", 7 },
	};
	static const struct kt_col ec[] = { { "errno", "ERRNO", -14 }, { "count", "COUNT", 8 } };
	struct open_opts *o = ctx->priv;
	struct kt_out *out = ctx->out;
	double secs = (double)(kt_now_mono() - ctx->interval_start_ns) / 1e9;

	if (!o->summary)
		return 0;
	/* stopping just after an interval ended: no empty stub of a new one */
	if (final && ctx->o.interval_s && !o->total && secs < (double)ctx->o.interval_s / 2)
		return 0;
	if (ctx->o.timestamp)
		kt_out_time_line(out);
	kt_table_begin(out, "open_totals", "Totals:", tc, sizeof(tc) / sizeof(tc[0]));
	kt_table_row(out);
	kt_rec_f64(out, secs, 1);
	kt_rec_u64(out, o->total);
	kt_rec_u64(out, o->fails);
	kt_rec_f64(out, secs > 0 ? (double)o->total / secs : 0, 1);
	kt_rec_u64(out, o->paths.n);
	kt_rec_u64(out, o->procs.n);
	kt_rec_end(out);
	kt_table_end(out);

	if (o->paths.e)
		qsort(o->paths.e, o->paths.cap, sizeof(struct centry), cmp_centry);
	kt_table_begin(out, "open_paths", "Top paths:", pc, 3);
	for (size_t i = 0; i < o->paths.n && i < TOP_N; i++) {
		kt_table_row(out);
		kt_rec_u64(out, o->paths.e[i].n);
		kt_rec_u64(out, o->paths.e[i].fails);
		kt_rec_str(out, o->paths.e[i].key, strlen(o->paths.e[i].key));
		kt_rec_end(out);
	}
	kt_table_end(out);

	if (o->procs.e)
		qsort(o->procs.e, o->procs.cap, sizeof(struct centry), cmp_centry);
	kt_table_begin(out, "open_processes", "Top processes:", rc, 4);
	for (size_t i = 0; i < o->procs.n && i < TOP_N; i++) {
		kt_table_row(out);
		kt_rec_u64(out, o->procs.e[i].pid);
		kt_rec_str(out, o->procs.e[i].comm, sizeof(o->procs.e[i].comm));
		kt_rec_u64(out, o->procs.e[i].n);
		kt_rec_u64(out, o->procs.e[i].fails);
		kt_rec_end(out);
	}
	kt_table_end(out);

	kt_table_begin(out, "open_errors", "Failures by error:", ec, 2);
	for (int shown = 0; shown < TOP_N; shown++) {
		int best = 0;

		for (int i = 1; i < 4096; i++)
			if (o->errs[i] > o->errs[best])
				best = i;
		if (!best || !o->errs[best])
			break;
		kt_table_row(out);
		kt_rec_enum(out, kt_errno_name(best), best);
		kt_rec_u64(out, o->errs[best]);
		kt_rec_end(out);
		o->errs[best] = 0;
	}
	kt_table_end(out);
	kt_out_text(out, "\n");

	ctab_free(&o->paths);
	ctab_free(&o->procs);
	memset(o->errs, 0, sizeof(o->errs));
	o->total = o->fails = 0;
	return 0;
}

static const char *const sys_names[] = { "open", "openat", "openat2", "creat" };

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct open_event *e = data;
	struct open_opts *o = ctx->priv;
	struct kt_out *out = ctx->out;
	/* the record ends after the path's NUL and -F's names (see open.h) */
	size_t avail = size - offsetof(struct open_event, data);
	size_t plen = e->path_len < avail ? e->path_len : avail - 1;
	const char *path = e->data, *dir = e->data + plen + 1;
	size_t dlen = e->dir_len < avail - plen - 1 ? e->dir_len : avail - plen - 1;
	const char *errname = e->ret < 0 ? kt_errno_name(-e->ret) : NULL;
	const char *user, *names[24];
	char full[PATH_MAX + OPEN_PATH_MAX + 2], err[16], flags[256], mode[16], hex[24];
	bool have_full = false;
	size_t nn = 0;

	if (o->name && !memmem(e->hdr.comm, strnlen(e->hdr.comm, sizeof(e->hdr.comm)), o->name,
			       strlen(o->name)))
		return 0;
	if (o->summary) {
		count(o, e, plen);
		return 0;
	}
	if (o->full_path)
		have_full = resolve(e, path, plen, dir, dlen, full, sizeof(full));
	if (e->ret >= 0)
		snprintf(err, sizeof(err), "0");
	else if (errname)
		snprintf(err, sizeof(err), "%s", errname);
	else
		snprintf(err, sizeof(err), "%d", -e->ret);
	if (o->extended) {
		size_t n = 0;

		nn = flag_names(e->flags, names, sizeof(names) / sizeof(names[0]), hex, sizeof(hex));
		flags[0] = 0;
		for (size_t i = 0; i < nn; i++)
			n += (size_t)snprintf(flags + n, n < sizeof(flags) ? sizeof(flags) - n : 0,
					      "%s%s", i ? "|" : "", names[i]);
		if ((e->flags & O_CREAT) || (e->flags & O_TMPFILE) == O_TMPFILE)
			snprintf(mode, sizeof(mode), "%04o", e->mode);
		else
			snprintf(mode, sizeof(mode), "-");
	}

	kt_rec_begin(out, "event", cols, N_COLS, e->hdr.ts);
	user = kt_user_name(e->hdr.uid);
	if (user)
		kt_rec_str(out, user, strlen(user));
	else
		kt_rec_u64(out, e->hdr.uid);
	kt_rec_u64(out, e->hdr.pid);
	kt_rec_str(out, e->hdr.comm, sizeof(e->hdr.comm));
	if (e->ret >= 0)
		kt_rec_i64(out, e->ret);
	else
		kt_rec_none(out);
	kt_rec_str(out, err, strlen(err));
	kt_rec_str(out, o->extended ? flags : "", o->extended ? strlen(flags) : 0);
	kt_rec_str(out, o->extended ? mode : "", o->extended ? strlen(mode) : 0);
	if (have_full)
		kt_rec_str(out, full, strlen(full));
	else
		kt_rec_str(out, path, plen);
	kt_rec_u64(out, e->hdr.uid);
	kt_rec_u64(out, e->hdr.tid);
	kt_rec_i64(out, e->ret);
	if (e->ret < 0)
		kt_rec_enum(out, errname, -e->ret);
	else
		kt_rec_none(out);
	kt_rec_str(out, e->sys < 4 ? sys_names[e->sys] : "?", strlen(e->sys < 4 ? sys_names[e->sys] : "?"));
	kt_rec_str(out, path, plen);
	kt_rec_i64(out, e->dirfd);
	kt_rec_u64(out, e->flags);
	kt_rec_u64(out, e->mode);
	if (have_full)
		kt_rec_str(out, full, strlen(full));
	else
		kt_rec_none(out);
	if (o->extended)
		kt_rec_extra_strlist(out, "flag_names", names, nn);
	kt_rec_end(out);
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	struct open_opts *o = ctx->priv;

	ctab_free(&o->paths);
	ctab_free(&o->procs);
}

/*
 * open and creat do not exist on newer architectures (arm64), openat2
 * before 5.6. The syscalls' own tracepoints come first: the kernel runs
 * them only for the call they name, and they cost nothing for the other
 * calls. They need their ids from tracefs, which is root's (mode 0700); a
 * user with only CAP_BPF and CAP_PERFMON gets the raw tracepoints
 * sys_enter/sys_exit instead, one program for all four calls that runs (and
 * returns at once) for every system call: on 6.18, a getppid() loop took
 * 137 ns a call untraced, 210 ns with the syscall tracepoints attached and
 * 500-700 ns with the raw ones.
 */
#define OPEN_HOOKS(sys, optional)                                                                \
	{ "sys_enter_" #sys, optional,                                                           \
	  { { KT_TRACEPOINT, "syscalls/sys_enter_" #sys, "enter_" #sys },                        \
	    { KT_RAW_TP, "sys_enter", "sys_enter_raw" } } },                                     \
	{ "sys_exit_" #sys, optional,                                                            \
	  { { KT_TRACEPOINT, "syscalls/sys_exit_" #sys, "exit_" #sys "_walk", KT_NEED_BPF_LOOP }, \
	    { KT_TRACEPOINT, "syscalls/sys_exit_" #sys, "exit_" #sys },                          \
	    { KT_RAW_TP, "sys_exit", "sys_exit_raw_walk", KT_NEED_BPF_LOOP },                    \
	    { KT_RAW_TP, "sys_exit", "sys_exit_raw" } } }

static const struct kt_hook hooks[] = {
	OPEN_HOOKS(open, true),
	OPEN_HOOKS(openat, false),
	OPEN_HOOKS(openat2, true),
	OPEN_HOOKS(creat, true),
};

const struct kt_cmd kt_cmd_open = {
	.name = "open",
	.summary = "Trace file opens (open, openat, openat2, creat) with errors and flags",
	.doc = "Trace every open, openat, openat2 and creat: the process, the fd or the error, "
	       "and the path. --path keeps only paths under given prefixes, in the kernel, for "
	       "cheap auditing of sensitive files. With --summary, print the top paths, "
	       "processes and errors every interval.\v"
	       "Positional [interval [count]]: with --summary, print every interval seconds; "
	       "without, report lost events every interval. After count intervals, stop. "
	       "-d SECONDS stops after that long.\n\n"
	       "Examples:\n"
	       "  ktrace open                      # every open\n"
	       "  ktrace open -x -n myapp          # the config file myapp cannot find\n"
	       "  ktrace open -p 1234 -e -F        # one process, flags, absolute paths\n"
	       "  ktrace open --path /etc/shadow --path /root/.ssh/ -U\n"
	       "  ktrace open --summary 10 -d 60   # top paths every 10 s for a minute\n"
	       "  ktrace open -x -j -o fails.jsonl",
	.options = options,
	.parse = parse,
	.kind = KT_STREAM,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct open_opts),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.start = start,
	.handle = handle,
	.min_record = offsetof(struct open_event, data) + 1, /* the path's NUL */
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing open()... Hit Ctrl-C to end.",
};
