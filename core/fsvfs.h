/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The attach plan shared by the file-system commands (fsslower, fsdist,
 * fsops): two layers of hooks, the VFS layer first (fentry/fexit, else
 * kprobe/kretprobe, on vfs_read, vfs_write, vfs_open, vfs_fsync_range,
 * vfs_rename, vfs_unlink, vfs_mkdir, vfs_rmdir, vfs_create, vfs_mknod,
 * notify_change and vfs_getattr), then the system-call layer (raw_syscalls
 * sys_enter/sys_exit); core runs the first layer whose every hook attaches.
 * Where each VFS function's file, path or dentry argument is comes from the
 * kernel's BTF (probes/lib/kt_vfs.bpf.h says why).
 */
#ifndef KT_FSVFS_H
#define KT_FSVFS_H

#include "kt_fs.h"
#include "ktrace.h"

/* The hooks of both layers, for a descriptor's .hooks and .n_hooks (KT_FS_N_HOOKS). */
#define KT_FS_N_HOOKS (2 * KT_VFS_NFNS + 2)
extern const struct kt_hook kt_fs_hooks[KT_FS_N_HOOKS];

/* The descriptors' alt_unavailable: a VFS function whose arguments are not as expected here. */
const char *kt_fs_alt_unavailable(const struct kt_alt *alt);

/*
 * After the plan (a descriptor's configure): writes the VFS argument
 * layouts into cfg (the object's cfg_vfs), shrinks the other layer's
 * in-flight tables to one entry, and says under -v which layer measures
 * (what names the command's calls, e.g. "file-system calls").
 */
void kt_fs_layer_configure(struct kt_ctx *ctx, volatile struct kt_vfs_layout *cfg, const char *what);

#endif
