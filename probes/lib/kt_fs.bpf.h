/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File-system operations, shared by fsslower, fsdist and fsops: the
 * system-call layer here, the VFS layer in kt_vfs.bpf.h (included below).
 *
 * Design. Two layers of hooks, and a run uses one of them, all or nothing
 * (core/fsvfs.h lists them; core's plan picks the first whose hooks all
 * attach), so that no call is counted twice; -v and the JSON meta record
 * ("layer": "vfs" or "syscall") say which.
 *  - vfs (preferred): the VFS functions (vfs_read, vfs_write, vfs_open,
 *    vfs_fsync_range, vfs_rename, vfs_unlink, vfs_mkdir, vfs_rmdir,
 *    vfs_create, vfs_mknod, notify_change, vfs_getattr; do_fsync and
 *    vfs_getattr_nosec where a kernel inlines vfs_fsync_range or
 *    vfs_getattr) by fentry/fexit, else kprobe/kretprobe. They see every
 *    file system and every caller (nfsd, io_uring's workers, the truncation
 *    inside an O_TRUNC open). They miss reads and writes that bypass
 *    vfs_read/vfs_write (readv/writev, io_uring's reads and writes, splice,
 *    sendfile, copy_file_range, the kernel's own I/O) and opens that a file
 *    system finishes itself (atomic_open: NFS, FUSE, CIFS). The arguments
 *    moved in 5.12 (user_namespace) and 6.3 (mnt_idmap): user space finds
 *    them in the kernel's BTF (kt_vfs.bpf.h).
 *  - syscall (where neither fentry nor kprobes work, as on this project's
 *    CI host, and libbpf-tools' fsslower/fsdist fail): raw_syscalls
 *    sys_enter/sys_exit (tp_btf, else raw_tp; no tracefs needed), which
 *    every kernel has. What it sees: the file-system calls of processes
 *    (read/write and their p/v forms, open/openat/openat2/creat, fsync,
 *    fdatasync, sync_file_range, rename*, unlink*, mkdir*, rmdir, mknod*,
 *    the chmod/chown/truncate/utimes families,
 *    stat/lstat/fstat/newfstatat/statx); what it does not: kernel-internal
 *    I/O (nfsd, io_uring, writeback), mmap page faults, and what a call does
 *    besides its own operation.
 *
 * The system-call layer. Entry keeps the call's arguments keyed by thread
 * id (an LRU map of KT_FS_INFLIGHT entries: a thread killed in a call is
 * evicted by newer ones) after the task filters pass; the file position
 * for read/write is taken there (it moves during the call). Exit computes the latency and,
 * only for what it reports, finds the file:
 *  - calls on a file descriptor (read, write, fsync, fstat, fchmod, ...) and
 *    opens that succeeded: the struct file from task->files->fdt->fd[fd]
 *    (CO-RE), its file-system type (f_path.dentry->d_sb->s_type->name) and
 *    its full path (a walk of dentry names up to the task's root, crossing
 *    mounts as d_path() does, at most KT_FS_DEPTH steps);
 *  - calls on a path (rename, unlink, mkdir, stat, failed opens, ...): the
 *    path as the caller gave it (read at exit: at entry the page may not be
 *    resident yet), and for a relative path the directory it starts from
 *    (the dirfd's file or the cwd), walked the same way. The file-system
 *    type is that of the start directory (the task's root for an absolute
 *    path), which is the file's unless the path crosses a mount point:
 *    fsslower and fsops correct it in user space from the mount table
 *    (and apply --fstype to such calls there); fsdist, which counts in the
 *    kernel, files them under the start directory's type.
 */
#ifndef KT_FS_BPF_H
#define KT_FS_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "kt.bpf.h"
#include "kt_fs.h"
#include "kt_syscall.bpf.h"

/*
 * KT_FS_LOST: the includer's per-CPU u64 counter of calls it loses (a stream's
 * "drops", fsdist's "misses"), declared before this header is included.
 */
#ifndef KT_FS_LOST
#error "define KT_FS_LOST (the per-CPU counter of lost calls) before including kt_fs.bpf.h"
#endif

/* bits 1 << KT_FS_*: the operations wanted */
const volatile __u32 cfg_ops = 0;
/* --fstype: only this file-system type (0 bytes: any) */
const volatile __u32 cfg_fstype_len = 0;
const volatile char cfg_fstype[KT_FS_TYPE_MAX] = {};

/*
 * ktrace's own process (its tgid), never traced: fsslower 0 writing its
 * records to a file would otherwise report its own writes, each of which
 * makes another record.
 */
const volatile __u32 cfg_self = 0;

/* threads in a file-system call at once; about 100 bytes each */
#define KT_FS_INFLIGHT 16384

/* What a system call is: its operation and which arguments are what (-1: none). */
struct kt_fs_sys {
	__s8 op, fd, dirfd, path, path2, pos;
};

struct kt_fs_start {
	__u64 ts;
	__u64 offset;
	__u64 a[4];
	__u32 nr;
	__u32 op;
	__u32 flags; /* KT_FS_E_OFFSET */
	struct kt_fs_sys s; /* kept: exit need not decode the call again */
	__u16 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KT_FS_INFLIGHT);
	__type(key, __u32);
	__type(value, struct kt_fs_start);
} fs_starts SEC(".maps");

#define KT_AT_FDCWD (-100)
#define KT_AT_REMOVEDIR 0x200
#define KT_O_CREAT 0100
#define KT_S_IFMT 0170000
#define KT_S_IFREG 0100000
#define KT_S_IFDIR 0040000
/* include/linux/fs.h: set on a file that the open created (4.19+; the same bit since) */
#define KT_FMODE_CREATED 0x100000

/* x86-64 numbers (see kt_syscall.bpf.h) */
static __always_inline bool kt_fs_sys(long nr, struct kt_fs_sys *s)
{
	__s8 op, fd = -1, dirfd = -1, path = -1, path2 = -1, pos = -1;

	switch (nr) {
	case 0: /* read */
	case 19: /* readv */
		op = KT_FS_READ, fd = 0;
		break;
	case 17: /* pread64 */
	case 295: /* preadv */
	case 327: /* preadv2 */
		op = KT_FS_READ, fd = 0, pos = 3;
		break;
	case 1: /* write */
	case 20: /* writev */
		op = KT_FS_WRITE, fd = 0;
		break;
	case 18: /* pwrite64 */
	case 296: /* pwritev */
	case 328: /* pwritev2 */
		op = KT_FS_WRITE, fd = 0, pos = 3;
		break;
	case 2: /* open */
	case 85: /* creat */
		op = KT_FS_OPEN, path = 0;
		break;
	case 257: /* openat */
	case 437: /* openat2 */
		op = KT_FS_OPEN, dirfd = 0, path = 1;
		break;
	case 74: /* fsync */
	case 75: /* fdatasync */
	case 277: /* sync_file_range */
		op = KT_FS_FSYNC, fd = 0;
		break;
	case 82: /* rename */
		op = KT_FS_RENAME, path = 0, path2 = 1;
		break;
	case 264: /* renameat */
	case 316: /* renameat2 */
		op = KT_FS_RENAME, dirfd = 0, path = 1, path2 = 3;
		break;
	case 87: /* unlink */
		op = KT_FS_UNLINK, path = 0;
		break;
	case 263: /* unlinkat (AT_REMOVEDIR: rmdir) */
		op = KT_FS_UNLINK, dirfd = 0, path = 1;
		break;
	case 84: /* rmdir */
		op = KT_FS_RMDIR, path = 0;
		break;
	case 83: /* mkdir */
		op = KT_FS_MKDIR, path = 0;
		break;
	case 258: /* mkdirat */
		op = KT_FS_MKDIR, dirfd = 0, path = 1;
		break;
	case 133: /* mknod */
		op = KT_FS_CREATE, path = 0;
		break;
	case 259: /* mknodat */
		op = KT_FS_CREATE, dirfd = 0, path = 1;
		break;
	case 76: /* truncate */
	case 90: /* chmod */
	case 92: /* chown */
	case 94: /* lchown */
	case 132: /* utime */
	case 235: /* utimes */
		op = KT_FS_SETATTR, path = 0;
		break;
	case 77: /* ftruncate */
	case 91: /* fchmod */
	case 93: /* fchown */
		op = KT_FS_SETATTR, fd = 0;
		break;
	case 260: /* fchownat */
	case 261: /* futimesat */
	case 268: /* fchmodat */
	case 280: /* utimensat */
	case 452: /* fchmodat2 */
		op = KT_FS_SETATTR, dirfd = 0, path = 1;
		break;
	case 4: /* stat */
	case 6: /* lstat */
		op = KT_FS_GETATTR, path = 0;
		break;
	case 5: /* fstat */
		op = KT_FS_GETATTR, fd = 0;
		break;
	case 262: /* newfstatat */
	case 332: /* statx */
		op = KT_FS_GETATTR, dirfd = 0, path = 1;
		break;
	default:
		return false;
	}
	s->op = op, s->fd = fd, s->dirfd = dirfd, s->path = path, s->path2 = path2, s->pos = pos;
	return true;
}

static __always_inline __u64 kt_fs_arg(const __u64 *a, __s8 i)
{
	return a[i & 3];
}

static __always_inline bool kt_fs_wanted(__u32 op)
{
	return op < 32 && (cfg_ops & (1U << op));
}

/* The current task's struct file for fd, or NULL. */
static __always_inline struct file *kt_fs_fd_file(long fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds, *f = NULL;

	if (!fdt || fd < 0 || fd >= (long)BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), fds + fd);
	return f;
}

static __always_inline int kt_fs_enter(struct pt_regs *regs, long nr)
{
	struct kt_fs_start st = {};
	struct kt_fs_sys s;
	struct kt_sys_args a;
	__u32 tid, op;

	if (!kt_fs_sys(nr, &s))
		return 0;
	op = (__u32)s.op;
	kt_sys_args(regs, &a);
	if (nr == 263 && (a.a[2] & KT_AT_REMOVEDIR))
		op = KT_FS_RMDIR;
	if (op == KT_FS_OPEN && !kt_fs_wanted(KT_FS_OPEN)) {
		/* only creations wanted: an open without O_CREAT creates nothing */
		if (!kt_fs_wanted(KT_FS_CREATE))
			return 0;
		if ((nr == 2 && !(a.a[1] & KT_O_CREAT)) || (nr == 257 && !(a.a[2] & KT_O_CREAT)))
			return 0;
	} else if (!kt_fs_wanted(op)) {
		return 0;
	}
	if ((bpf_get_current_pid_tgid() >> 32) == cfg_self || kt_sys_compat() ||
	    !kt_filter_current())
		return 0;
	if (s.pos >= 0) {
		st.offset = kt_fs_arg(a.a, s.pos);
		st.flags = KT_FS_E_OFFSET;
	} else if (op == KT_FS_READ || op == KT_FS_WRITE) {
		struct file *f = kt_fs_fd_file((long)a.a[0]);

		if (f) {
			st.offset = BPF_CORE_READ(f, f_pos);
			st.flags = KT_FS_E_OFFSET;
		}
	}
	__builtin_memcpy(st.a, a.a, sizeof(st.a));
	st.nr = (__u32)nr;
	st.op = op;
	st.s = s;
	tid = (__u32)bpf_get_current_pid_tgid();
	st.ts = bpf_ktime_get_ns();
	/* a full bucket lock (a nested or preempted update on this CPU): the call is lost, counted */
	if (bpf_map_update_elem(&fs_starts, &tid, &st, BPF_ANY))
		kt_count_drop(&KT_FS_LOST);
	return 0;
}

/*
 * The four programs of the two hooks (core's plan picks tp_btf or raw_tp
 * for each): entry is kt_fs_enter(), exit is the command's exit_fn(ret).
 */
#define KT_FS_PROGRAMS(exit_fn)                                                                    \
	/* sys_enter(struct pt_regs *regs, long id) */                                             \
	SEC("tp_btf/sys_enter")                                                                    \
	int enter_btf(__u64 *ctx)                                                                  \
	{                                                                                          \
		return kt_fs_enter((struct pt_regs *)ctx[0], (long)ctx[1]);                        \
	}                                                                                          \
	SEC("raw_tp/sys_enter")                                                                    \
	int enter_raw(__u64 *ctx)                                                                  \
	{                                                                                          \
		return kt_fs_enter((struct pt_regs *)ctx[0], (long)ctx[1]);                        \
	}                                                                                          \
	/* sys_exit(struct pt_regs *regs, long ret) */                                             \
	SEC("tp_btf/sys_exit")                                                                     \
	int exit_btf(__u64 *ctx)                                                                   \
	{                                                                                          \
		return exit_fn((long)ctx[1]);                                                      \
	}                                                                                          \
	SEC("raw_tp/sys_exit")                                                                     \
	int exit_raw(__u64 *ctx)                                                                   \
	{                                                                                          \
		return exit_fn((long)ctx[1]);                                                      \
	}

/* At exit: the call's entry (taken out of the map), false when there is none. */
static __always_inline bool kt_fs_take(struct kt_fs_start *st)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kt_fs_start *s = bpf_map_lookup_elem(&fs_starts, &tid);

	if (!s)
		return false;
	*st = *s;
	bpf_map_delete_elem(&fs_starts, &tid);
	return true;
}

/* Where a call happened: the file, or the directory a path starts from. */
struct kt_fs_where {
	struct dentry *d;
	struct vfsmount *vm;
	__u32 flags;   /* KT_FS_E_FILE or KT_FS_E_TYPE_DIR */
	bool relative; /* a path-based call with a relative path: walk its start */
};

static __always_inline void kt_fs_where(struct kt_fs_start *st, long ret, struct kt_fs_where *w)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct kt_fs_sys s = st->s;
	struct file *f = NULL;
	char c = 0;

	w->d = NULL;
	w->vm = NULL;
	w->flags = 0;
	w->relative = false;
	if (s.fd >= 0) {
		f = kt_fs_fd_file((long)kt_fs_arg(st->a, s.fd));
	} else if (s.op == KT_FS_OPEN && ret >= 0) {
		f = kt_fs_fd_file(ret);
	} else {
		if (s.path >= 0)
			bpf_probe_read_user(&c, 1, (void *)kt_fs_arg(st->a, s.path));
		if (c == '/') {
			w->d = BPF_CORE_READ(t, fs, root.dentry);
			w->vm = BPF_CORE_READ(t, fs, root.mnt);
			w->flags = KT_FS_E_TYPE_DIR;
			return;
		}
		if (s.dirfd >= 0 && (int)kt_fs_arg(st->a, s.dirfd) != KT_AT_FDCWD) {
			f = kt_fs_fd_file((int)kt_fs_arg(st->a, s.dirfd));
			if (!f)
				return;
			/* an empty path (AT_EMPTY_PATH, utimensat's NULL): the call is on dirfd */
			if (!c) {
				w->flags = KT_FS_E_FILE;
			} else {
				w->flags = KT_FS_E_TYPE_DIR;
				w->relative = true;
			}
			w->d = BPF_CORE_READ(f, f_path.dentry);
			w->vm = BPF_CORE_READ(f, f_path.mnt);
			return;
		}
		w->d = BPF_CORE_READ(t, fs, pwd.dentry);
		w->vm = BPF_CORE_READ(t, fs, pwd.mnt);
		w->flags = KT_FS_E_TYPE_DIR;
		w->relative = true;
		return;
	}
	if (!f)
		return;
	if (s.fd >= 0) {
		/* I/O on pipes, sockets, ttys and devices is not file-system I/O */
		__u32 fmt = BPF_CORE_READ(f, f_inode, i_mode) & KT_S_IFMT;

		if (fmt != KT_S_IFREG && fmt != KT_S_IFDIR)
			return;
	}
	w->d = BPF_CORE_READ(f, f_path.dentry);
	w->vm = BPF_CORE_READ(f, f_path.mnt);
	w->flags = KT_FS_E_FILE;
	if (s.op == KT_FS_OPEN && (BPF_CORE_READ(f, f_mode) & KT_FMODE_CREATED))
		st->op = KT_FS_CREATE;
}

/* The file-system type of d into buf; false when --fstype excludes it. */
static __always_inline bool kt_fs_type(struct dentry *d, char *buf)
{
	const char *name = NULL;

	buf[0] = 0;
	if (d)
		name = BPF_CORE_READ(d, d_sb, s_type, name);
	if (name)
		bpf_probe_read_kernel_str(buf, KT_FS_TYPE_MAX, name);
	if (!cfg_fstype_len)
		return true;
	for (__u32 i = 0; i < KT_FS_TYPE_MAX; i++) {
		if (i == cfg_fstype_len)
			return buf[i] == 0;
		if (buf[i] != cfg_fstype[i])
			return false;
	}
	return false;
}

#ifdef KT_FS_EVENTS
/* Streams (fsslower, fsops): records are built in the per-CPU scratch value. */
KT_DEFINE_SCRATCH(struct kt_fs_event);

/*
 * The walk: names from a dentry up to the task's root (or the root of the
 * mount tree), leaf first, NUL-separated, into the record's data; KT_FS_E_ROOT
 * when it got there. One step per call of a global function, which the
 * verifier checks once, on its own: an inlined loop of KT_FS_DEPTH steps
 * with a branch each (a name or a mount crossing) makes it explore every
 * combination, more than its million instructions. Not bpf_loop (5.17+):
 * the same code runs on every kernel of the qemu stage (global functions:
 * 5.6+).
 */
struct kt_fs_walk {
	__u64 d, vm, m; /* dentry, vfsmount and mount being walked */
	__u64 root_d, root_mnt;
	__u32 off, flags;
	__u32 base, _pad; /* where in the record's data the names go (a second walk: after path) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_fs_walk);
} fs_walks SEC(".maps");

/* One step; 0: go on, 1: done. */
__noinline int kt_fs_walk_step(void)
{
	struct kt_fs_event *e = kt_scratch();
	__u32 zero = 0, off;
	struct kt_fs_walk *w = bpf_map_lookup_elem(&fs_walks, &zero);
	struct dentry *d, *parent;
	struct vfsmount *vm;
	struct mount *m, *mp;
	long n;

	if (!w || !e)
		return 1;
	d = (struct dentry *)w->d;
	vm = (struct vfsmount *)w->vm;
	m = (struct mount *)w->m;
	if (w->d == w->root_d && w->vm == w->root_mnt) {
		w->flags |= KT_FS_E_ROOT;
		return 1;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (d == BPF_CORE_READ(vm, mnt_root) || d == parent) {
		/* the root of a mount: go on from where it is mounted */
		mp = BPF_CORE_READ(m, mnt_parent);
		if (!mp || mp == m) {
			w->flags |= KT_FS_E_ROOT;
			return 1;
		}
		w->d = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		w->m = (__u64)mp;
		w->vm = (__u64)mp + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	off = w->off;
	if (off >= KT_FS_DIR_MAX)
		return 1;
	/* base < 4096, off < 1024: a name read there stays inside data (8192 bytes) */
	n = bpf_probe_read_kernel_str(&e->data[(w->base & 4095) + (off & (KT_FS_DIR_MAX - 1))],
				      KT_FS_NAME_MAX, BPF_CORE_READ(d, d_name.name));
	if (n <= 0)
		return 1;
	w->off = off + (__u32)n;
	w->d = (__u64)parent;
	return 0;
}

/*
 * Walks from d, the names going to data[base...]; returns their bytes and
 * adds root_flag to *flags when the walk got to the root.
 */
static __always_inline __u32 kt_fs_walk_at(struct dentry *d, struct vfsmount *vm, __u32 *flags,
					   __u32 base, __u32 root_flag)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0;
	struct kt_fs_walk *w = bpf_map_lookup_elem(&fs_walks, &zero);

	if (!w)
		return 0;
	w->d = (__u64)d;
	w->vm = (__u64)vm;
	w->m = (__u64)vm - bpf_core_field_offset(struct mount, mnt);
	w->root_d = (__u64)BPF_CORE_READ(t, fs, root.dentry);
	w->root_mnt = (__u64)BPF_CORE_READ(t, fs, root.mnt);
	w->off = 0;
	w->flags = 0;
	w->base = base;
	for (int i = 0; i < KT_FS_DEPTH; i++)
		if (kt_fs_walk_step())
			break;
	w = bpf_map_lookup_elem(&fs_walks, &zero);
	if (!w)
		return 0;
	if (w->flags & KT_FS_E_ROOT)
		*flags |= root_flag;
	return w->off;
}

/* Walks from d into the start of data; returns the bytes of names and adds KT_FS_E_ROOT to *flags. */
static __always_inline __u32 kt_fs_walk(struct dentry *d, struct vfsmount *vm, __u32 *flags)
{
	return kt_fs_walk_at(d, vm, flags, 0, KT_FS_E_ROOT);
}


/* Send the record of a finished call (lat_ns long, returned ret). */
static __always_inline int kt_fs_emit(struct kt_fs_start *st, long ret, __u64 lat_ns)
{
	struct kt_fs_sys s = st->s;
	struct kt_fs_where w;
	struct kt_fs_event *e;
	__u32 flags, p, q, n1 = 0, n2 = 0;
	long n;

	e = kt_scratch();
	if (!e)
		return 0;
	kt_fs_where(st, ret, &w);
	if (!w.d)
		return 0; /* not a file (a pipe, a socket), or its fd is gone */
	if (!kt_fs_wanted(st->op))
		return 0; /* an open that created nothing when only creations are wanted */
	/* a path-based call's type is its start's: user space checks --fstype on its path */
	if (!kt_fs_type(w.d, e->fstype) && !(w.flags & KT_FS_E_TYPE_DIR))
		return 0;
	flags = w.flags | (st->flags & KT_FS_E_OFFSET);
	p = 0;
	if (w.d && ((w.flags & KT_FS_E_FILE) || w.relative)) {
		flags |= KT_FS_E_WALK;
		p = kt_fs_walk(w.d, w.vm, &flags);
	}
	p &= 2047; /* < KT_FS_DIR_MAX + KT_FS_NAME_MAX already: bounds it for the verifier */
	q = p;
	if (!(w.flags & KT_FS_E_FILE) && s.path >= 0) {
		n = bpf_probe_read_user_str(&e->data[p], KT_FS_PATH_MAX,
					    (void *)kt_fs_arg(st->a, s.path));
		if (n > 0) {
			n1 = (__u32)n - 1;
			q = p + (__u32)n;
		} else {
			/* unreadable: an empty path, so that path2 is still where user space looks */
			e->data[p] = 0;
			q = p + 1;
		}
	}
	q &= 4095;
	if (s.path2 >= 0 && (s.dirfd < 0 || (int)st->a[0] == (int)st->a[2]))
		flags |= KT_FS_E_SAME_DIR;
	if (!(w.flags & KT_FS_E_FILE) && s.path2 >= 0) {
		n = bpf_probe_read_user_str(&e->data[q], KT_FS_PATH_MAX,
					    (void *)kt_fs_arg(st->a, s.path2));
		if (n > 0)
			n2 = (__u32)n - 1;
	}
	e->lat_ns = lat_ns;
	e->ret = ret;
	e->offset = st->offset;
	e->op = st->op;
	e->nr = st->nr;
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

#include "kt_vfs.bpf.h"

#endif
