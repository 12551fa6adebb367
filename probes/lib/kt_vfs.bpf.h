/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VFS layer of the file-system commands (included by kt_fs.bpf.h; the
 * design is there). One entry and one exit program per VFS function, each
 * as fentry/fexit and as kprobe/kretprobe; core's plan takes this layer when
 * every one of them attaches, else the system-call layer.
 *
 * Arguments: where the file, path or dentry of a call is depends on the
 * kernel (a struct user_namespace * came first in 5.12, a struct mnt_idmap *
 * in 6.3; vfs_rename takes a struct renamedata * since 5.12): user space
 * finds each function's layout in the kernel's BTF and writes it to
 * cfg_vfs, read-only, so that the verifier knows each index and keeps one
 * branch of each choice below.
 *
 * In-flight calls are keyed by (thread, function, depth): a call of one VFS
 * function inside another (overlayfs, nfsd, ecryptfs: a getattr inside a
 * setattr, a write inside a write) has its own entry, and a nested call of
 * the same function goes one level deeper (at most KT_VFS_DEPTH). Exit takes
 * the deepest. The table is a plain hash: a call that finds it full, or is
 * nested too deep, is counted as lost (kt_vfs_lost), never dropped silently.
 */
#ifndef KT_VFS_BPF_H
#define KT_VFS_BPF_H

#include <bpf/bpf_tracing.h>

const volatile struct kt_vfs_layout cfg_vfs[KT_VFS_NFNS] = {};

#define KT_VFS_DEPTH 4
/* renames in flight at once (each keeps its old name: about 280 bytes) */
#define KT_VFS_RENAMES 1024

struct kt_vfs_key {
	__u32 tid;
	__u16 fn;
	__u16 depth;
};

struct kt_vfs_start {
	__u64 ts;
	__u64 obj, obj2; /* what the call is about (kt_vfs_layout); rename: old and new dentry */
	__u64 offset;
	__u32 flags; /* KT_FS_E_OFFSET */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_FS_INFLIGHT);
	__type(key, struct kt_vfs_key);
	__type(value, struct kt_vfs_start);
} fs_vstarts SEC(".maps");

/* A rename's old name and directory, taken at entry: the rename gives the dentry its new name. */
struct kt_vfs_rename {
	__u64 old_parent;
	char name[KT_FS_NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_VFS_RENAMES);
	__type(key, struct kt_vfs_key);
	__type(value, struct kt_vfs_rename);
} fs_vrenames SEC(".maps");

/* what the in-flight tables lose: counted where the command counts lost calls */
#define kt_vfs_lost() kt_count_drop(&KT_FS_LOST)

/* Before 5.12 vfs_rename took the dentries; before 6.8 (or so) a superblock listed its mounts in a list_head. */
struct super_block___old {
	struct list_head s_mounts;
} __attribute__((preserve_access_index));

struct mount___old {
	struct list_head mnt_instance;
} __attribute__((preserve_access_index));

/* cfg_vfs[fn].flags for a fn the verifier may not know (masked: a bound every verifier keeps) */
static __always_inline __u8 kt_vfs_lflags(__u32 fn)
{
	asm volatile("" : "+r"(fn));
	fn &= 15;
	return fn < KT_VFS_NFNS ? cfg_vfs[fn].flags : 0;
}

static __always_inline __u32 kt_vfs_op(__u32 fn)
{
	switch (fn) {
	case KT_VFS_READ:
		return KT_FS_READ;
	case KT_VFS_WRITE:
		return KT_FS_WRITE;
	case KT_VFS_OPEN:
		return KT_FS_OPEN;
	case KT_VFS_FSYNC:
		return KT_FS_FSYNC;
	case KT_VFS_RENAME:
		return KT_FS_RENAME;
	case KT_VFS_UNLINK:
		return KT_FS_UNLINK;
	case KT_VFS_MKDIR:
		return KT_FS_MKDIR;
	case KT_VFS_RMDIR:
		return KT_FS_RMDIR;
	case KT_VFS_CREATE:
	case KT_VFS_MKNOD:
		return KT_FS_CREATE;
	case KT_VFS_SETATTR:
		return KT_FS_SETATTR;
	case KT_VFS_DO_FSYNC:
		return KT_FS_FSYNC;
	default:
		return KT_FS_GETATTR;
	}
}

/*
 * The mount to walk a dentry's path through, for the functions that get
 * only a dentry (unlink, mkdir, rmdir, create, mknod, notify_change,
 * rename): the first mount of its superblock in the caller's mount
 * namespace (the first at all when none is), of at most four. A file
 * system mounted at several places is shown under one of them.
 */
static __always_inline struct vfsmount *kt_vfs_mount(struct dentry *d)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct mnt_namespace *ns = BPF_CORE_READ(t, nsproxy, mnt_ns);
	struct super_block *sb = BPF_CORE_READ(d, d_sb);
	struct mount *m, *first = NULL;

	if (!sb)
		return NULL;
	if (bpf_core_field_exists(struct mount___old, mnt_instance)) {
		struct super_block___old *o = (void *)sb;
		struct list_head *head = &o->s_mounts, *pos = BPF_CORE_READ(o, s_mounts.next);

		for (int i = 0; i < 4; i++) {
			if (!pos || pos == head)
				break;
			m = (void *)pos - bpf_core_field_offset(struct mount___old, mnt_instance);
			if (!first)
				first = m;
			if (BPF_CORE_READ(m, mnt_ns) == ns) {
				first = m;
				break;
			}
			pos = BPF_CORE_READ(pos, next);
		}
	} else {
		m = BPF_CORE_READ(sb, s_mounts);
		for (int i = 0; i < 4 && m; i++) {
			if (!first)
				first = m;
			if (BPF_CORE_READ(m, mnt_ns) == ns) {
				first = m;
				break;
			}
			m = BPF_CORE_READ(m, mnt_next_for_sb);
		}
	}
	if (!first)
		return NULL;
	return (void *)first + bpf_core_field_offset(struct mount, mnt);
}

/*
 * Entry: a call of fn about obj (and obj2) starts. Global: verified once,
 * whatever program calls it (its arguments are plain numbers).
 */
__noinline int kt_vfs_begin(__u32 fn, __u64 obj, __u64 obj2)
{
	struct kt_vfs_start st = {};
	struct kt_vfs_key key = {};
	__u64 id = bpf_get_current_pid_tgid();
	__u32 op, d;
	long err;

	if (fn >= KT_VFS_NFNS)
		return 0;
	op = kt_vfs_op(fn);
	if (fn == KT_VFS_OPEN) {
		/* whether it creates is known at exit */
		if (!kt_fs_wanted(KT_FS_OPEN) && !kt_fs_wanted(KT_FS_CREATE))
			return 0;
	} else if (!kt_fs_wanted(op)) {
		return 0;
	}
	if ((id >> 32) == cfg_self || !kt_filter_current())
		return 0;
	if (fn == KT_VFS_FSYNC || fn == KT_VFS_GETATTR_NOSEC) {
		/* inside the outer function of its pair: that one counts */
		struct kt_vfs_key ok = { .tid = (__u32)id,
					 .fn = fn == KT_VFS_FSYNC ? KT_VFS_DO_FSYNC : KT_VFS_GETATTR };

		if (bpf_map_lookup_elem(&fs_vstarts, &ok))
			return 0;
	}
	if (fn == KT_VFS_DO_FSYNC)
		obj = (__u64)kt_fs_fd_file((long)(__u32)obj);
	if (!obj)
		return 0;
	if (fn == KT_VFS_READ || fn == KT_VFS_WRITE || fn == KT_VFS_FSYNC || fn == KT_VFS_DO_FSYNC) {
		/* I/O on pipes, sockets, ttys and devices is not file-system I/O */
		struct file *f = (struct file *)obj;
		__u32 fmt = BPF_CORE_READ(f, f_inode, i_mode) & KT_S_IFMT;
		__s64 pos;

		if (fmt != KT_S_IFREG && fmt != KT_S_IFDIR)
			return 0;
		/* the loff_t * is NULL for stream files */
		if ((fn == KT_VFS_READ || fn == KT_VFS_WRITE) && obj2 &&
		    !bpf_probe_read_kernel(&pos, sizeof(pos), (void *)obj2)) {
			st.offset = (__u64)pos;
			st.flags = KT_FS_E_OFFSET;
		}
		obj2 = 0;
	}
	if (fn == KT_VFS_RENAME && (kt_vfs_lflags(KT_VFS_RENAME) & KT_VFS_L_RENAMEDATA)) {
		struct renamedata *rd = (struct renamedata *)obj;

		obj = (__u64)BPF_CORE_READ(rd, old_dentry);
		obj2 = (__u64)BPF_CORE_READ(rd, new_dentry);
	}
	st.obj = obj;
	st.obj2 = obj2;
	key.tid = (__u32)id;
	key.fn = (__u16)fn;
	st.ts = bpf_ktime_get_ns();
	for (d = 0; d < KT_VFS_DEPTH; d++) {
		key.depth = (__u16)d;
		err = bpf_map_update_elem(&fs_vstarts, &key, &st, BPF_NOEXIST);
		if (!err)
			break;
		if (err != -17 /* EEXIST: an outer call of fn; go one deeper */) {
			kt_vfs_lost();
			return 0;
		}
	}
	if (d == KT_VFS_DEPTH) {
		kt_vfs_lost();
		return 0;
	}
	if (fn == KT_VFS_RENAME) {
		struct dentry *old = (struct dentry *)obj;
		struct kt_vfs_rename *r;
		static const struct kt_vfs_rename zero;

		if (bpf_map_update_elem(&fs_vrenames, &key, &zero, BPF_ANY)) {
			kt_vfs_lost();
			return 0;
		}
		r = bpf_map_lookup_elem(&fs_vrenames, &key);
		if (!r)
			return 0;
		r->old_parent = (__u64)BPF_CORE_READ(old, d_parent);
		bpf_probe_read_kernel_str(r->name, sizeof(r->name), BPF_CORE_READ(old, d_name.name));
	}
	return 0;
}

/* At exit: the deepest in-flight call of fn of this thread, taken out of the table. */
static __always_inline bool kt_vfs_take(__u32 fn, struct kt_vfs_start *st, struct kt_vfs_key *key)
{
	struct kt_vfs_start *s, *last = NULL;
	__u32 d;

	key->tid = (__u32)bpf_get_current_pid_tgid();
	key->fn = (__u16)fn;
	for (d = 0; d < KT_VFS_DEPTH; d++) {
		key->depth = (__u16)d;
		s = bpf_map_lookup_elem(&fs_vstarts, key);
		if (!s)
			break;
		last = s;
	}
	if (!last)
		return false;
	*st = *last;
	key->depth = (__u16)(d - 1);
	bpf_map_delete_elem(&fs_vstarts, key);
	return true;
}

/* The dentry and mount of a finished call, and its operation (an open that created: create). */
static __always_inline struct dentry *kt_vfs_where(__u32 fn, struct kt_vfs_start *st,
						   struct vfsmount **vm, __u32 *op)
{
	struct dentry *d;

	*op = kt_vfs_op(fn);
	switch (fn) {
	case KT_VFS_READ:
	case KT_VFS_WRITE:
	case KT_VFS_FSYNC:
	case KT_VFS_DO_FSYNC: {
		struct file *f = (struct file *)st->obj;

		*vm = BPF_CORE_READ(f, f_path.mnt);
		return BPF_CORE_READ(f, f_path.dentry);
	}
	case KT_VFS_OPEN:
	case KT_VFS_GETATTR:
	case KT_VFS_GETATTR_NOSEC: {
		const struct path *p = (const struct path *)st->obj;
		struct file *f = (struct file *)st->obj2;

		if (fn == KT_VFS_OPEN && f && (BPF_CORE_READ(f, f_mode) & KT_FMODE_CREATED))
			*op = KT_FS_CREATE;
		*vm = BPF_CORE_READ(p, mnt);
		return BPF_CORE_READ(p, dentry);
	}
	case KT_VFS_RENAME:
		d = (struct dentry *)st->obj2; /* the new name */
		break;
	default:
		d = (struct dentry *)st->obj;
		break;
	}
	*vm = kt_vfs_mount(d);
	return d;
}

/*
 * The exit programs' common part, global (verified once): takes the call,
 * normalizes its return value (vfs_mkdir's dentry or ERR_PTR to 0 or
 * -errno) and hands it to the command's done_fn(fn, st, key, ret), then
 * forgets a rename's old name.
 */
#define KT_VFS_EXIT(done_fn)                                                                       \
	__noinline int kt_vfs_exit(__u32 fn, __s64 ret)                                            \
	{                                                                                          \
		struct kt_vfs_start st;                                                            \
		struct kt_vfs_key key;                                                             \
                                                                                                   \
		if (fn >= KT_VFS_NFNS || !kt_vfs_take(fn, &st, &key))                              \
			return 0;                                                                  \
		if ((kt_vfs_lflags(fn) & KT_VFS_L_RET_PTR) && !(ret < 0 && ret >= -4095))          \
			ret = 0;                                                                   \
		done_fn(fn, &st, &key, ret);                                                       \
		if (fn == KT_VFS_RENAME)                                                           \
			bpf_map_delete_elem(&fs_vrenames, &key);                                   \
		return 0;                                                                          \
	}

/* fentry/fexit: argument i of the u64 array (read, so that it is a plain number) */
static __always_inline __u64 kt_vfs_ctx_arg(__u64 *ctx, int i)
{
	__u64 v = 0;

	if (i < 0 || i > 11)
		return 0;
	bpf_probe_read_kernel(&v, sizeof(v), ctx + i);
	return v;
}

/*
 * kprobe: argument i in the registers (x86-64; the first 5 here), read with
 * a helper: clang turns a chain of direct reads into one read at a computed
 * offset of the context, which the verifier refuses.
 */
static __always_inline __u64 kt_vfs_reg_arg(struct pt_regs *ctx, int i)
{
	const void *p = NULL;
	__u64 v = 0;

	if (i == 0)
		p = &ctx->di;
	else if (i == 1)
		p = &ctx->si;
	else if (i == 2)
		p = &ctx->dx;
	else if (i == 3)
		p = &ctx->cx;
	else if (i == 4)
		p = &ctx->r8;
	if (p)
		bpf_probe_read_kernel(&v, sizeof(v), p);
	return v;
}

/* The four programs of one VFS function (programs FUNC_fentry, FUNC_fexit, FUNC_kprobe, FUNC_kretprobe). */
#define KT_VFS_FUNC_PROGRAMS(func, fn)                                                             \
	SEC("fentry/" #func)                                                                       \
	int func##_fentry(__u64 *ctx)                                                              \
	{                                                                                          \
		return kt_vfs_begin(fn, kt_vfs_ctx_arg(ctx, cfg_vfs[fn].arg),                      \
				    kt_vfs_ctx_arg(ctx, cfg_vfs[fn].arg2));                        \
	}                                                                                          \
	SEC("fexit/" #func)                                                                        \
	int func##_fexit(__u64 *ctx)                                                               \
	{                                                                                          \
		return kt_vfs_exit(fn, (__s64)kt_vfs_ctx_arg(ctx, cfg_vfs[fn].nargs));             \
	}                                                                                          \
	SEC("kprobe/" #func)                                                                       \
	int func##_kprobe(struct pt_regs *ctx)                                                     \
	{                                                                                          \
		return kt_vfs_begin(fn, kt_vfs_reg_arg(ctx, cfg_vfs[fn].arg),                      \
				    kt_vfs_reg_arg(ctx, cfg_vfs[fn].arg2));                        \
	}                                                                                          \
	SEC("kretprobe/" #func)                                                                    \
	int func##_kretprobe(struct pt_regs *ctx)                                                  \
	{                                                                                          \
		return kt_vfs_exit(fn, (__s64)PT_REGS_RC(ctx));                                    \
	}

/* Every VFS program; done_fn(fn, st, key, ret) is the command's exit. */
#define KT_VFS_PROGRAMS(done_fn)                                                                   \
	KT_VFS_EXIT(done_fn)                                                                       \
	KT_VFS_FUNC_PROGRAMS(vfs_read, KT_VFS_READ)                                                \
	KT_VFS_FUNC_PROGRAMS(vfs_write, KT_VFS_WRITE)                                              \
	KT_VFS_FUNC_PROGRAMS(vfs_open, KT_VFS_OPEN)                                                \
	KT_VFS_FUNC_PROGRAMS(vfs_fsync_range, KT_VFS_FSYNC)                                        \
	KT_VFS_FUNC_PROGRAMS(vfs_rename, KT_VFS_RENAME)                                            \
	KT_VFS_FUNC_PROGRAMS(vfs_unlink, KT_VFS_UNLINK)                                            \
	KT_VFS_FUNC_PROGRAMS(vfs_mkdir, KT_VFS_MKDIR)                                              \
	KT_VFS_FUNC_PROGRAMS(vfs_rmdir, KT_VFS_RMDIR)                                              \
	KT_VFS_FUNC_PROGRAMS(vfs_create, KT_VFS_CREATE)                                            \
	KT_VFS_FUNC_PROGRAMS(vfs_mknod, KT_VFS_MKNOD)                                              \
	KT_VFS_FUNC_PROGRAMS(notify_change, KT_VFS_SETATTR)                                        \
	KT_VFS_FUNC_PROGRAMS(vfs_getattr, KT_VFS_GETATTR)                                          \
	KT_VFS_FUNC_PROGRAMS(do_fsync, KT_VFS_DO_FSYNC)                                            \
	KT_VFS_FUNC_PROGRAMS(vfs_getattr_nosec, KT_VFS_GETATTR_NOSEC)

#ifdef KT_FS_EVENTS
/*
 * The record of a finished VFS call (lat_ns long, returned ret): the full
 * path from a walk of its dentry (a rename: its old directory's walk, the
 * old name, and a second walk of the new dentry as path2).
 */
static __always_inline int kt_vfs_emit(__u32 fn, struct kt_vfs_start *st, struct kt_vfs_key *key,
				       long ret, __u64 lat_ns)
{
	struct kt_fs_event *e = kt_scratch();
	struct vfsmount *vm = NULL;
	struct dentry *d;
	__u32 op, flags, p, q, n1 = 0, n2 = 0;
	long n;

	if (!e)
		return 0;
	d = kt_vfs_where(fn, st, &vm, &op);
	if (!d || !kt_fs_wanted(op))
		return 0; /* an open when only creations are wanted */
	if (!kt_fs_type(d, e->fstype))
		return 0;
	flags = KT_FS_E_VFS | KT_FS_E_WALK | (st->flags & KT_FS_E_OFFSET);
	if (fn == KT_VFS_RENAME) {
		struct kt_vfs_rename *r = bpf_map_lookup_elem(&fs_vrenames, key);
		struct dentry *od = r ? (struct dentry *)r->old_parent : NULL;

		p = od ? kt_fs_walk(od, kt_vfs_mount(od), &flags) : 0;
		p &= 2047;
		n = r ? bpf_probe_read_kernel_str(&e->data[p], KT_FS_NAME_MAX, r->name) : 0;
		if (n > 0) {
			n1 = (__u32)n - 1;
			q = p + (__u32)n;
		} else {
			e->data[p] = 0;
			q = p + 1;
		}
		q &= 4095;
		n2 = kt_fs_walk_at(d, vm, &flags, q, KT_FS_E_ROOT2);
		flags |= KT_FS_E_WALK2;
	} else {
		flags |= KT_FS_E_FILE;
		p = kt_fs_walk(d, vm, &flags);
		p &= 2047;
		q = p;
	}
	n2 &= 2047;
	e->lat_ns = lat_ns;
	e->ret = ret;
	e->offset = st->offset;
	e->op = op;
	e->nr = fn;
	e->flags = flags;
	e->dir_len = (__u16)p;
	e->path_len = (__u16)n1;
	e->path2_len = (__u16)n2;
	e->_pad = 0;
	e->_pad2 = 0;
	kt_output(&e->hdr, 1, __builtin_offsetof(struct kt_fs_event, data) + (__u64)q + n2 + 1);
	return 0;
}
#endif

#endif
