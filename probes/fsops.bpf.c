// SPDX-License-Identifier: GPL-2.0
/*
 * fsops: one record per metadata call (create, unlink, rename, mkdir, rmdir,
 * setattr, fsync), which user space counts per directory or process.
 *
 * The hooks are lib/kt_fs.bpf.h's (the system-call layer) or
 * lib/kt_vfs.bpf.h's (the VFS layer). Only the metadata calls are kept at
 * entry (system calls: opens only with O_CREAT, or openat2's which cannot be
 * told before the call; vfs_open: every open); exit keeps an open only if
 * it created the file. Cost per kept call: the entry's map update, the exit's
 * lookup and delete, the walk of its directory and a ring buffer record of
 * about 150 bytes plus its path. Reads, writes and stats cost one switch on
 * the call number.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"

KT_DEFINE_STREAM();

#define KT_FS_EVENTS
#define KT_FS_LOST drops
#include "kt_fs.bpf.h"
#include "fsops.h"

static __always_inline int on_exit(long ret)
{
	struct kt_fs_start st;

	if (!kt_fs_take(&st))
		return 0;
	return kt_fs_emit(&st, ret, bpf_ktime_get_ns() - st.ts);
}

KT_FS_PROGRAMS(on_exit)

static __always_inline void vfs_done(__u32 fn, struct kt_vfs_start *st, struct kt_vfs_key *key,
				     long ret)
{
	kt_vfs_emit(fn, st, key, ret, bpf_ktime_get_ns() - st->ts);
}

KT_VFS_PROGRAMS(vfs_done)

char LICENSE[] SEC("license") = "GPL";
