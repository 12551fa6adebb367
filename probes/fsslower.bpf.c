// SPDX-License-Identifier: GPL-2.0
/*
 * fsslower: file-system calls slower than a threshold, one record each.
 *
 * The hooks and what they see are in lib/kt_fs.bpf.h (the system-call
 * layer) and lib/kt_vfs.bpf.h (the VFS layer). Exit drops what is
 * faster than cfg_min_ns before it looks at the file, so a fast call costs
 * the entry's map update and the exit's lookup and delete; a reported one
 * adds the walk of its path (at most KT_FS_DEPTH dentries) and a ring
 * buffer record of about 100 bytes plus its path.
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
#include "fsslower.h"

const volatile __u64 cfg_min_ns = 0;

static __always_inline int on_exit(long ret)
{
	struct kt_fs_start st;
	__u64 lat;

	if (!kt_fs_take(&st))
		return 0;
	lat = bpf_ktime_get_ns() - st.ts;
	if (lat < cfg_min_ns)
		return 0;
	return kt_fs_emit(&st, ret, lat);
}

KT_FS_PROGRAMS(on_exit)

static __always_inline void vfs_done(__u32 fn, struct kt_vfs_start *st, struct kt_vfs_key *key,
				     long ret)
{
	__u64 lat = bpf_ktime_get_ns() - st->ts;

	if (lat >= cfg_min_ns)
		kt_vfs_emit(fn, st, key, ret, lat);
}

KT_VFS_PROGRAMS(vfs_done)

char LICENSE[] SEC("license") = "GPL";
