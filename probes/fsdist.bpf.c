// SPDX-License-Identifier: GPL-2.0
/*
 * fsdist: log2 latency histograms of file-system calls, per operation and
 * file-system type.
 *
 * The hooks are lib/kt_fs.bpf.h's (the system-call layer) or
 * lib/kt_vfs.bpf.h's (the VFS layer). Exit finds the
 * file (or the directory a path starts from) for its file-system type and
 * adds the call to the histogram of (operation, type): no path walk, no
 * record. Cost per call of a selected task: the entry's map update, the
 * exit's lookup and delete, a few reads of kernel pointers and an atomic
 * add; the histogram table holds FSDIST_MAX_HISTS keys (about 0.6 MB).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"

/* Calls that could not be counted: the histogram table was full, or the call's entry was lost. */
KT_DEFINE_PERCPU_U64(misses);

#define KT_FS_LOST misses
#include "kt_fs.bpf.h"
#include "fsdist.h"

const volatile bool cfg_ms = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FSDIST_MAX_HISTS);
	__type(key, struct fsdist_key);
	__type(value, struct kt_slots);
} hists SEC(".maps");

/* Adds a call of op on a file-system type (fstype: KT_FS_TYPE_MAX bytes) to its histogram. */
static __always_inline void count(struct fsdist_key *key, __u32 op, __u64 lat)
{
	static const struct kt_slots zero;
	struct kt_slots *h;

	key->op = op == KT_FS_CREATE ? KT_FS_OPEN : op;
	h = bpf_map_lookup_elem(&hists, key);
	if (!h) {
		bpf_map_update_elem(&hists, key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, key);
		if (!h) {
			__u32 z = 0;
			__u64 *n = bpf_map_lookup_elem(&misses, &z);

			if (n)
				*n += 1;
			return;
		}
	}
	kt_slot_add(h, kt_log2(cfg_ms ? lat / 1000000 : lat / 1000), 1);
}

static __always_inline int on_exit(long ret)
{
	struct fsdist_key key = {};
	struct kt_fs_start st;
	struct kt_fs_where w;
	__u64 lat;

	if (!kt_fs_take(&st))
		return 0;
	lat = bpf_ktime_get_ns() - st.ts;
	kt_fs_where(&st, ret, &w);
	if (!w.d || !kt_fs_type(w.d, key.fstype))
		return 0;
	count(&key, st.op, lat);
	return 0;
}

KT_FS_PROGRAMS(on_exit)

static __always_inline void vfs_done(__u32 fn, struct kt_vfs_start *st, struct kt_vfs_key *k,
				     long ret)
{
	__u64 lat = bpf_ktime_get_ns() - st->ts;
	struct fsdist_key key = {};
	struct vfsmount *vm;
	struct dentry *d;
	__u32 op;

	(void)k;
	(void)ret;
	d = kt_vfs_where(fn, st, &vm, &op);
	if (!d || !kt_fs_wanted(op) || !kt_fs_type(d, key.fstype))
		return;
	count(&key, op, lat);
}

KT_VFS_PROGRAMS(vfs_done)

char LICENSE[] SEC("license") = "GPL";
