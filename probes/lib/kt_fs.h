/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File-system operations: types shared by the fs commands (fsslower, fsdist,
 * fsops), their BPF side (probes/lib/kt_fs.bpf.h) and user space. See
 * kt_fs.bpf.h for the design.
 */
#ifndef KT_FS_H
#define KT_FS_H

#include "kt_common.h"

/* The operations, in the order of their names in user space (kt_fs_op_names). */
enum kt_fs_op {
	KT_FS_READ,
	KT_FS_WRITE,
	KT_FS_OPEN,
	KT_FS_CREATE, /* an open that created the file (FMODE_CREATED), mknod */
	KT_FS_FSYNC,  /* fsync, fdatasync, sync_file_range */
	KT_FS_RENAME,
	KT_FS_UNLINK,
	KT_FS_MKDIR,
	KT_FS_RMDIR,
	KT_FS_SETATTR, /* chmod, chown, truncate, utimes and their f/at forms */
	KT_FS_GETATTR, /* stat, lstat, fstat, newfstatat, statx */
	KT_FS_NOPS,
};

/* Bytes of a file-system type name (file_system_type.name) kept. */
#define KT_FS_TYPE_MAX 16

/*
 * The path of a record: the names of a walk up the dentry tree, leaf first,
 * NUL-separated (at most KT_FS_DEPTH steps, names and mount crossings; each
 * name cut at KT_FS_NAME_MAX bytes; about KT_FS_DIR_MAX bytes in all), then
 * the path the caller passed (at most KT_FS_PATH_MAX bytes with its NUL),
 * then rename's new path.
 */
#define KT_FS_DEPTH 24
#define KT_FS_NAME_MAX 256
#define KT_FS_DIR_MAX 1024
#define KT_FS_PATH_MAX 1024

/* kt_fs_event.flags */
#define KT_FS_E_FILE (1U << 0)	   /* the walk is the file itself: it is the full path */
#define KT_FS_E_WALK (1U << 1)	   /* a walk was made (the start directory, or the file) */
#define KT_FS_E_ROOT (1U << 2)	   /* the walk reached the root: it is complete */
#define KT_FS_E_OFFSET (1U << 3)   /* offset is known */
#define KT_FS_E_TYPE_DIR (1U << 4) /* fstype is the start directory's (a path-based call) */
#define KT_FS_E_SAME_DIR (1U << 5) /* rename: the new path starts from the same directory */
#define KT_FS_E_VFS (1U << 6)	   /* the VFS layer: nr is an enum kt_vfs_fn, not a system call */
#define KT_FS_E_WALK2 (1U << 7)	   /* path2 is a walk's names (leaf first), not a string */
#define KT_FS_E_ROOT2 (1U << 8)	   /* that walk reached the root */

/* The VFS functions the VFS layer hooks (user space: kt_fs_vfs_fns). */
enum kt_vfs_fn {
	KT_VFS_READ,	/* vfs_read */
	KT_VFS_WRITE,	/* vfs_write */
	KT_VFS_OPEN,	/* vfs_open (FMODE_CREATED at exit: a create) */
	KT_VFS_FSYNC,	/* vfs_fsync_range */
	KT_VFS_RENAME,	/* vfs_rename */
	KT_VFS_UNLINK,	/* vfs_unlink */
	KT_VFS_MKDIR,	/* vfs_mkdir */
	KT_VFS_RMDIR,	/* vfs_rmdir */
	KT_VFS_CREATE,	/* vfs_create */
	KT_VFS_MKNOD,	/* vfs_mknod */
	KT_VFS_SETATTR, /* notify_change */
	KT_VFS_GETATTR, /* vfs_getattr */
	/*
	 * Where a kernel inlines the function above into its callers (7.2:
	 * vfs_fsync_range into do_fsync, vfs_getattr into vfs_statx), these
	 * see the calls; each is an outer or inner call of the other, and
	 * only the outermost of a pair counts.
	 */
	KT_VFS_DO_FSYNC,	/* do_fsync (fsync, fdatasync): vfs_fsync_range inside it is not counted */
	KT_VFS_GETATTR_NOSEC,	/* vfs_getattr_nosec: not counted inside vfs_getattr */
	KT_VFS_NFNS,
};

/*
 * Where a VFS function's arguments are on this kernel, from its BTF (they
 * moved in 5.12 and 6.3, and vfs_rename's became one struct in 5.12):
 * arg is the index of the object the call is about (read, write, fsync:
 * struct file *; open, getattr: struct path *; do_fsync: its fd; the
 * others: struct dentry *, or vfs_rename's struct renamedata *), arg2 a second one (read, write: the
 * loff_t *; open: the struct file *; rename before 5.12: the new dentry;
 * -1: none), nargs the number of arguments (fexit's return value follows
 * them).
 */
struct kt_vfs_layout {
	__s8 arg, arg2;
	__u8 nargs;
	__u8 flags; /* KT_VFS_L_* */
};
#define KT_VFS_L_RET_PTR (1U << 0) /* returns a pointer or ERR_PTR (vfs_mkdir since 6.15) */
#define KT_VFS_L_RENAMEDATA (1U << 1) /* vfs_rename(struct renamedata *) (5.12+) */
#define KT_VFS_L_OK (1U << 7)	   /* found */

struct kt_fs_event {
	struct kt_rec_hdr hdr;
	__u64 lat_ns;
	__s64 ret;
	__u64 offset; /* read/write: the file position the call started at */
	__u32 op;     /* enum kt_fs_op */
	__u32 nr;     /* the system call (x86-64 number), or the VFS function (KT_FS_E_VFS) */
	__u32 flags;  /* KT_FS_E_* */
	__u16 dir_len;	 /* bytes of the walk's names */
	__u16 path_len;	 /* bytes of the caller's path, without its NUL */
	__u16 path2_len; /* rename: bytes of the new path, without its NUL */
	__u16 _pad;
	__u32 _pad2;
	char fstype[KT_FS_TYPE_MAX];
	/*
	 * walk names (dir_len), path and NUL, path2 and NUL; hdr.size ends
	 * there. With KT_FS_E_WALK2 path2 is a second walk's names.
	 */
	char data[8192];
};

#endif
