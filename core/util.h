/* SPDX-License-Identifier: GPL-2.0 */
/* Small shared helpers: diagnostics, clocks, tracefs, memlock, names. */
#ifndef KT_UTIL_H
#define KT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Diagnostics on stderr, prefixed "ktrace: ". */
void kt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v. */
void kt_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int kt_verbose;

uint64_t kt_now_mono(void);
uint64_t kt_now_real(void);
/* From now on kt_now_mono() returns mono_ns (a replay's recorded time); 0: the real clock. */
void kt_clock_pin(uint64_t mono_ns);
/* While pinned, kt_now_real() is real_ns at mono_ns, moving with the pinned clock. */
void kt_clock_pin_real(uint64_t mono_ns, uint64_t real_ns);

/*
 * Mounts tracefs if it is needed and absent; 0 or -errno (-EACCES: mounted
 * but not readable by this user). Says nothing: kt_tracefs_why() explains.
 */
int kt_tracefs_ensure(void);
const char *kt_tracefs_why(int err);
const char *kt_tracefs_path(void);
/* Mounted (whether or not this user may read it). */
bool kt_tracefs_mounted(void);

/* True on kernels that charge BPF memory to RLIMIT_MEMLOCK (before 5.11). */
bool kt_memlock_charged(void);
/* Tries to raise RLIMIT_MEMLOCK; warns (once) if it cannot. */
void kt_memlock_raise(void);

/* "ENOENT" for 2; NULL when unknown. */
const char *kt_errno_name(int err);
/* "ESTABLISHED" for TCP state 1 (include/net/tcp_states.h); NULL when unknown. */
const char *kt_tcp_state_name(unsigned state);
/* User name of uid from /etc/passwd (no NSS: the binary is static); NULL when unknown. */
const char *kt_user_name(uint32_t uid);
/* User id of a user name in /etc/passwd; -ENOENT when there is none. */
int kt_user_uid(const char *name, uint32_t *uid);

/* Block device name of a kernel dev_t (major << 20 | minor), "MAJ:MIN" when unknown. */
const char *kt_blkdev_name(uint32_t kdev, char *buf, size_t sz);
/* Kernel dev_t of a block device by name (vda, sda1, loop0, /dev/loop0); -errno. */
int kt_blkdev_lookup(const char *name, uint32_t *kdev);
/* Name of a block request operation (REQ_OP_*: "Read", "Write", "Flush"...); NULL when unknown. */
const char *kt_blk_op_name(uint32_t op);

/*
 * A -p/-t/-P option's process or thread must exist when ktrace starts:
 * otherwise says "OPT ID: no such process" and returns -EINVAL (0 if id is 0,
 * i.e. no filter).
 */
int kt_check_pid(const char *opt, uint32_t id);

/* Cgroup id (inode of a cgroup-v2 directory); -errno. */
int kt_cgroup_id(const char *path, uint64_t *id);

/* qsort() that accepts an empty array with a NULL base (qsort(NULL, 0) is undefined). */
void kt_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* Kernel release string (uname -r). */
const char *kt_kernel_release(void);

#endif
