/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opening a file by a path that belongs to a traced process, inside that
 * process's root (/proc/PID/root: its chroot or its container's mount
 * namespace), so that nothing the process controls can make ktrace read a
 * host file.
 *
 * Why: opening "/proc/PID/root" + path with open() resolves an absolute
 * symlink inside the root against ktrace's own root (the host's): a
 * container that plants /usr/lib/debug/.build-id/xx/yy.debug -> /etc/shadow
 * would have the host file read. Here every component is resolved as if the
 * root were "/": openat2() with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
 * (Linux 5.6+), else a walk one component at a time that interprets each
 * symlink itself (absolute targets restart at the root, ".." stops at the
 * root, at most KT_ROOTFS_MAX_LINKS links) and never lets the kernel follow
 * one (O_PATH | O_NOFOLLOW).
 *
 * The file is opened O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC (a FIFO
 * cannot hang the run, a tty does not become ours) and must be a regular
 * file (not a FIFO, /dev/zero, a socket or a directory).
 */
#ifndef KT_ROOTFS_H
#define KT_ROOTFS_H

#include <stdbool.h>

#define KT_ROOTFS_MAX_LINKS 40 /* symlinks followed per open, as the kernel's own limit */

/* Flags of kt_rootfs_open(). */
#define KT_ROOTFS_NOFOLLOW 1U /* the last component must not be a symlink (e.g. in /tmp) */

/*
 * Open @path (absolute or not, always taken from the root) inside the
 * directory @root, e.g. "/proc/1234/root"; "/" for the host. Returns a
 * file descriptor, or -errno: -ENOENT when the path does not exist inside
 * the root (even if it would outside), -ELOOP for too many links (or a link
 * with KT_ROOTFS_NOFOLLOW), -EISDIR or -EINVAL when it is not a regular file.
 */
int kt_rootfs_open(const char *root, const char *path, unsigned int flags);

/* Same, with the root given as a directory file descriptor (O_PATH is enough). */
int kt_rootfs_openat(int root_fd, const char *path, unsigned int flags);

/*
 * Tests: use the component walk even where openat2() exists, so that the
 * path taken on kernels before 5.6 is tested on this one.
 */
void kt_rootfs_force_walk(bool on);

#endif
