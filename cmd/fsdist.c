// SPDX-License-Identifier: GPL-2.0
/*
 * fsdist: file-system call latency histograms (`ktrace fsdist -m 5`).
 *
 * One log2 histogram per operation (read, write, open, fsync, getattr) and
 * file-system type, in microseconds (-m: milliseconds), every interval
 * seconds, count times, or once at Ctrl-C. Hooks (core/fsvfs.h): the VFS
 * functions by fentry/fexit or kprobes where the kernel allows it (each
 * call of them costs an entry and an exit program), else raw_syscalls
 * sys_enter and sys_exit (tp_btf, else raw_tp: every system call of the
 * machine runs both); probes/lib/kt_fs.bpf.h says what each layer sees. A
 * file-system call of a selected task adds a map update, delete and an
 * atomic add, no record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fsdist.h"
#include "fsdist.skel.h"
#include "fsrec.h"
#include "fsvfs.h"
#include "hist.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "stacks_out.h"
#include "util.h"

enum { OPT_FSTYPE = 0x2000 };

struct fsdist {
	char fstype[KT_FS_TYPE_MAX];
};

static const struct argp_option options[] = {
	{ "fstype", OPT_FSTYPE, "TYPE", 0,
	  "Only this file-system type (as in /proc/filesystems: ext4, xfs, tmpfs, nfs4...)", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct fsdist *f = ctx->priv;

	switch (key) {
	case OPT_FSTYPE:
		if (!*arg || strlen(arg) >= KT_FS_TYPE_MAX || strchr(arg, '/'))
			argp_error(state, "invalid --fstype '%s': a file-system type name of 1 to %d bytes "
				   "(see /proc/filesystems)", arg, KT_FS_TYPE_MAX - 1);
		memcpy(f->fstype, arg, strlen(arg));
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, fsdist_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct fsdist_bpf *skel = ctx->skel;
	struct fsdist *f = ctx->priv;

	skel->rodata->cfg_ms = ctx->o.ms;
	skel->rodata->cfg_self = (uint32_t)getpid();
	kt_fs_layer_configure(ctx, skel->rodata->cfg_vfs, "file-system calls");
	skel->rodata->cfg_ops = 1U << KT_FS_READ | 1U << KT_FS_WRITE | 1U << KT_FS_OPEN |
				1U << KT_FS_CREATE | 1U << KT_FS_FSYNC | 1U << KT_FS_GETATTR;
	skel->rodata->cfg_fstype_len = (uint32_t)strlen(f->fstype);
	memcpy((char *)skel->rodata->cfg_fstype, f->fstype, sizeof(f->fstype));
	return 0;
}

struct entry {
	struct fsdist_key key;
	struct kt_slots val;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct fsdist_key *x = a, *y = b;
	int c = strncmp(x->fstype, y->fstype, KT_FS_TYPE_MAX);

	return c ? c : (x->op > y->op) - (x->op < y->op);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct fsdist_bpf *skel = ctx->skel;
	struct entry *e = NULL;
	uint64_t now = kt_now_mono();
	const char *unit = ctx->o.ms ? "msecs" : "usecs";
	int n;

	(void)final;
	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.hists), struct entry, key, val, true, cmp_entry,
			   &e);
	if (n < 0) {
		kt_err("reading the histograms failed: %s", strerror(-n));
		free(e);
		return n;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	for (size_t i = 0; i < (size_t)n; i++) {
		struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS,
				     (const uint64_t *)e[i].val.slots };
		char type[KT_FS_TYPE_MAX + 1];
		struct kt_kv keys[2];

		memcpy(type, e[i].key.fstype, KT_FS_TYPE_MAX);
		type[KT_FS_TYPE_MAX] = 0;
		keys[0] = (struct kt_kv){ "fstype", type[0] ? type : "-", 0 };
		keys[1] = (struct kt_kv){ "op", kt_fs_op_name(e[i].key.op), e[i].key.op };
		kt_out_hist(ctx->out, unit, keys, 2, &h, ctx->interval_start_ns, now);
	}
	free(e);
	kt_out_stacks_lost(ctx->out, "file-system calls",
			   kt_map_take_percpu_u64(bpf_map__fd(skel->maps.misses)),
			   "ktrace's histogram table is full",
			   "filter (--fstype, -p, --cgroup)");
	return 0;
}

const struct kt_cmd kt_cmd_fsdist = {
	.modes = KT_M_MS,
	.name = "fsdist",
	.summary = "File-system call latency histograms per operation and file-system type",
	.doc = "Summarize the latency of file-system calls (read, write, open, fsync, getattr) as "
	       "log2 histograms, one per operation and file-system type. Printed every interval "
	       "seconds, count times, or once at Ctrl-C. Measured in the VFS where the kernel "
	       "allows it, else at the system-call layer (see the man page). Filters select the "
	       "calling task.\v"
	       "Examples:\n"
	       "  ktrace fsdist                  # histograms at Ctrl-C\n"
	       "  ktrace fsdist -m 5             # milliseconds, every 5 seconds\n"
	       "  ktrace fsdist --fstype ext4 1 10 # ext4 only, 1 s intervals, 10 times\n"
	       "  ktrace fsdist -p 185 -j        # one process, as JSON Lines",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the task making the call",
	.kind = KT_SUMMARY,
	.pos = KT_POS_INTERVAL,
	.hooks = kt_fs_hooks,
	.n_hooks = KT_FS_N_HOOKS,
	.alt_unavailable = kt_fs_alt_unavailable,
	.priv_size = sizeof(struct fsdist),
	.open = open_skel,
	.configure = configure,
	.drain = drain,
	.tracing_msg = "Tracing file-system call latency... Hit Ctrl-C to end.",
};
