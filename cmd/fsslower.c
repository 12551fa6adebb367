// SPDX-License-Identifier: GPL-2.0
/*
 * fsslower: file-system calls slower than a threshold (`ktrace fsslower 10`).
 *
 * One line per read, write, open, create, fsync, rename, unlink, mkdir,
 * rmdir, setattr or getattr call that took at least MIN_MS milliseconds
 * (default 10; 0: every call), with the task, the bytes and file offset of
 * reads and writes, the latency, the file-system type and the full path.
 * Hooks (core/fsvfs.h): the VFS functions (vfs_read, vfs_write, vfs_open,
 * ...) by fentry/fexit or kprobes where the kernel allows it, else
 * raw_syscalls sys_enter and sys_exit (tp_btf, else raw_tp), which every
 * kernel has; probes/lib/kt_fs.bpf.h says what each layer sees and what it
 * does not. Cost: in the VFS, each call of those functions runs an entry
 * and an exit program; at the system-call layer every system call of the
 * machine runs both hooks. A call of a selected task adds a map update and
 * delete, a reported one a dentry walk and a ring buffer record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsrec.h"
#include "fsvfs.h"
#include "fsslower.h"
#include "fsslower.skel.h"
#include "ktrace.h"
#include "output.h"
#include "syscall_names.h"
#include "util.h"

#define N_NAMES (sizeof(kt_syscall_names) / sizeof(kt_syscall_names[0]))

enum { OPT_FSTYPE = 0x2000 };

struct fsslower {
	uint64_t min_ns;
	bool min_set;
	char fstype[KT_FS_TYPE_MAX];
	char path[KT_FS_DIR_MAX + 2 * KT_FS_PATH_MAX + 8];
	char path2[KT_FS_DIR_MAX + 2 * KT_FS_PATH_MAX + 8];
	char file[2 * (KT_FS_DIR_MAX + 2 * KT_FS_PATH_MAX + 8) + 4];
};

static const struct argp_option options[] = {
	{ "fstype", OPT_FSTYPE, "TYPE", 0,
	  "Only this file-system type (as in /proc/filesystems: ext4, xfs, tmpfs, nfs4...)", 0 },
	{},
};

/* Parses a threshold in milliseconds into ns; -1 when it is not one. */
static int64_t parse_ms(const char *arg)
{
	char *end;
	double ms;

	errno = 0;
	ms = strtod(arg, &end);
	if (errno || end == arg || *end || !(ms >= 0) || ms > 1e9)
		return -1;
	return (int64_t)(ms * 1e6);
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct fsslower *f = ctx->priv;
	int64_t ns;

	switch (key) {
	case OPT_FSTYPE:
		if (!*arg || strlen(arg) >= KT_FS_TYPE_MAX || strchr(arg, '/'))
			argp_error(state, "invalid --fstype '%s': a file-system type name of 1 to %d bytes "
				   "(see /proc/filesystems)", arg, KT_FS_TYPE_MAX - 1);
		memcpy(f->fstype, arg, strlen(arg));
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			argp_error(state, "unexpected argument '%s' (usage: [MIN_MS]; -d for a duration)",
				   arg);
		ns = parse_ms(arg);
		if (ns < 0)
			argp_error(state, "invalid MIN_MS '%s': a number of milliseconds (e.g. 10, 0.5; "
				   "0 shows every call)", arg);
		f->min_ns = (uint64_t)ns;
		f->min_set = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int validate(struct kt_ctx *ctx)
{
	struct fsslower *f = ctx->priv;
	int err;

	if (!f->min_set)
		f->min_ns = 10 * 1000000ULL;
	err = kt_fs_mounts_load();
	if (err)
		kt_warn("reading /proc/self/mountinfo failed (%s): the file-system type of path-based "
			"calls is that of the directory they start from", strerror(-err));
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, fsslower_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct fsslower_bpf *skel = ctx->skel;
	struct fsslower *f = ctx->priv;

	skel->rodata->cfg_min_ns = f->min_ns;
	skel->rodata->cfg_self = (uint32_t)getpid();
	kt_fs_layer_configure(ctx, skel->rodata->cfg_vfs, "file-system calls");
	skel->rodata->cfg_ops = (1U << KT_FS_NOPS) - 1;
	skel->rodata->cfg_fstype_len = (uint32_t)strlen(f->fstype);
	memcpy((char *)skel->rodata->cfg_fstype, f->fstype, sizeof(f->fstype));
	return 0;
}

static struct kt_col cols[] = {
	{ "comm", "COMM", -16, 0 },
	{ "pid", "PID", 7, 0 },
	{ "tid", "TID", 7, KT_COL_HIDDEN },
	{ "op", "OP", -7, 0 },
	{ "syscall", "SYSCALL", -10, KT_COL_HIDDEN },
	/* the VFS layer: the function that was called, e.g. notify_change */
	{ "func", "FUNC", -15, KT_COL_HIDDEN },
	{ "bytes", "BYTES", 8, 0 },
	{ "offset", "OFFSET", 11, 0 },
	{ "lat_ms", "LAT(ms)", 9, 0 },
	{ "errno", "ERR", -7, KT_COL_HIDDEN },
	{ "fstype", "FSTYPE", -7, 0 },
	{ "path", "PATH", 0, KT_COL_HIDDEN },
	{ "new_path", "NEW_PATH", 0, KT_COL_HIDDEN },
	/* text: the path, and a rename's new one after " -> " */
	{ "file", "FILE", 0, KT_COL_NOJSON },
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static int start(struct kt_ctx *ctx)
{
	kt_out_header(ctx->out, cols, NCOLS);
	return 0;
}

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct kt_fs_event *e = data;
	struct fsslower *f = ctx->priv;
	struct kt_out *out = ctx->out;
	const char *type = e->fstype;
	size_t n, n2, nf;
	bool err = e->ret < 0 && e->ret >= -4095;

	if (!kt_fs_event_ok(e, size))
		return 0;
	n = kt_fs_event_path(e, f->path, sizeof(f->path));
	n2 = kt_fs_event_path2(e, f->path2, sizeof(f->path2));
	if (e->flags & KT_FS_E_TYPE_DIR) {
		const char *t = kt_fs_mount_type(f->path);

		if (t)
			type = t;
		if (f->fstype[0] && strncmp(type, f->fstype, KT_FS_TYPE_MAX))
			return 0;
	}
	nf = n;
	memcpy(f->file, f->path, n);
	if (n2) {
		memcpy(f->file + nf, " -> ", 4);
		memcpy(f->file + nf + 4, f->path2, n2);
		nf += 4 + n2;
	}
	kt_rec_begin(out, "event", cols, NCOLS, e->hdr.ts);
	kt_rec_str(out, e->hdr.comm, sizeof(e->hdr.comm));
	kt_rec_u64(out, e->hdr.pid);
	kt_rec_u64(out, e->hdr.tid);
	kt_rec_enum(out, kt_fs_op_name(e->op), e->op);
	if (e->flags & KT_FS_E_VFS) {
		kt_rec_none(out);
		kt_rec_enum(out, kt_fs_vfs_name(e->nr), e->nr);
	} else {
		kt_rec_enum(out, e->nr < N_NAMES ? kt_syscall_names[e->nr] : NULL, e->nr);
		kt_rec_none(out);
	}
	if ((e->op == KT_FS_READ || e->op == KT_FS_WRITE) && !err)
		kt_rec_u64(out, (uint64_t)e->ret);
	else
		kt_rec_none(out);
	if (e->flags & KT_FS_E_OFFSET)
		kt_rec_u64(out, e->offset);
	else
		kt_rec_none(out);
	kt_rec_f64(out, (double)e->lat_ns / 1e6, 3);
	if (err)
		kt_rec_enum(out, kt_errno_name((int)-e->ret), -e->ret);
	else
		kt_rec_none(out);
	if (type[0])
		kt_rec_str(out, type, KT_FS_TYPE_MAX);
	else
		kt_rec_none(out);
	kt_rec_str(out, f->path, n);
	if (n2)
		kt_rec_str(out, f->path2, n2);
	else
		kt_rec_none(out);
	kt_rec_str(out, f->file, nf);
	kt_rec_end(out);
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	(void)ctx;
	kt_fs_mounts_free();
}

const struct kt_cmd kt_cmd_fsslower = {
	.name = "fsslower",
	.summary = "File-system calls slower than a threshold, with the file's full path",
	.doc = "Trace file-system calls (read, write, open, create, fsync, rename, unlink, mkdir, "
	       "rmdir, setattr, getattr) that take at least MIN_MS milliseconds (default 10, 0: "
	       "all), on any file system: the task, the operation, the bytes and file offset of "
	       "reads and writes, the latency, the file-system type and the file's full path. "
	       "Measured in the VFS where the kernel allows it, else at the system-call layer (see "
	       "the man page).\v"
	       "Examples:\n"
	       "  ktrace fsslower                 # calls over 10 ms\n"
	       "  ktrace fsslower 1 --fstype ext4 # ext4 calls over 1 ms\n"
	       "  ktrace fsslower 0 -p 185 -d 5   # every call of process 185 for 5 s\n"
	       "  ktrace fsslower 50 -T -j        # over 50 ms, timestamped, as JSON Lines",
	.args_doc = "[MIN_MS]",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the task making the call",
	.kind = KT_STREAM,
	.pos = KT_POS_NONE,
	.hooks = kt_fs_hooks,
	.n_hooks = KT_FS_N_HOOKS,
	.alt_unavailable = kt_fs_alt_unavailable,
	.priv_size = sizeof(struct fsslower),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.start = start,
	.handle = handle,
	.finish = finish,
	.min_record = offsetof(struct kt_fs_event, data),
	.ringbuf_default = 1ULL << 22,
	.tracing_msg = "Tracing file-system calls... Hit Ctrl-C to end.",
};
