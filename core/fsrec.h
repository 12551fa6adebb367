/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decoding the records of the file-system commands (struct kt_fs_event,
 * probes/lib/kt_fs.h): operation names, the path a record names, its
 * directory, and the file-system type of an absolute path from the mount
 * table.
 */
#ifndef KT_FSREC_H
#define KT_FSREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kt_fs.h"

/* "read", "write", ...; NULL when op is unknown. */
const char *kt_fs_op_name(uint32_t op);
/* The operation named name, or -1. */
int kt_fs_op_lookup(const char *name);

/* "vfs_read", "notify_change", ...: the VFS function fn (enum kt_vfs_fn); NULL when unknown. */
const char *kt_fs_vfs_name(uint32_t fn);
/* The enum kt_vfs_fn of a VFS function's name, or -1. */
int kt_fs_vfs_lookup(const char *name);

/* Checks that a record's lengths fit in its size bytes; false when not. */
bool kt_fs_event_ok(const struct kt_fs_event *e, size_t size);

/*
 * The path a record names, into buf (cap bytes, NUL-terminated): the full
 * path of the file, or the caller's path made absolute with the directory
 * it starts from. A walk cut short (too deep or too long) starts with
 * ".../". Returns the length (cut at cap - 1).
 */
size_t kt_fs_event_path(const struct kt_fs_event *e, char *buf, size_t cap);
/*
 * rename's new path ("" for other calls): the walk of the new dentry
 * (KT_FS_E_WALK2, the VFS layer), or the caller's new path, made absolute
 * like the old one when it starts from the same directory.
 */
size_t kt_fs_event_path2(const struct kt_fs_event *e, char *buf, size_t cap);
/* Cuts path (len bytes) to its directory in place: "/a/b" -> "/a", "b" -> "."; the new length. */
size_t kt_fs_dirname(char *path, size_t len);

/*
 * The file-system type of the mount holding the absolute path, from the
 * mount table read by kt_fs_mounts_load() (the longest mount point that is
 * a prefix of path); NULL when unknown.
 */
const char *kt_fs_mount_type(const char *path);
/* Reads /proc/self/mountinfo (at most KT_FS_MAX_MOUNTS mounts); 0 or -errno. */
#define KT_FS_MAX_MOUNTS 4096
int kt_fs_mounts_load(void);
void kt_fs_mounts_free(void);

#endif
