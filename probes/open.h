/* SPDX-License-Identifier: GPL-2.0 */
/* open: types shared by probes/open.bpf.c and cmd/open.c. */
#ifndef KT_OPEN_H
#define KT_OPEN_H

#include "kt_common.h"

/* Bytes of path a record carries (PATH_MAX: the kernel refuses longer ones). */
#define OPEN_PATH_MAX 4096
/* --path: how many prefixes, and the longest one (bytes, without the NUL). */
#define OPEN_MAX_PREFIXES 8
#define OPEN_PREFIX_MAX 128

/*
 * -F: the directory a relative path is resolved against, as dentry names
 * read in the kernel (leaf first, NUL-separated) in dir. Walks at most
 * OPEN_DIR_DEPTH steps (names and mount crossings), each name cut at
 * OPEN_NAME_MAX bytes, OPEN_DIR_MAX bytes in all.
 */
#define OPEN_DIR_DEPTH 64
#define OPEN_NAME_MAX 256
#define OPEN_DIR_MAX 1024

enum { OPEN_REC_EVENT = 1 };

/* open_event.dir_flags */
#define OPEN_DIR_OK (1U << 0)	 /* dir holds every name up to the process's root */
#define OPEN_DIR_TRUNC (1U << 1) /* too deep or too long: user space falls back to /proc */

enum open_sys {
	OPEN_SYS_OPEN,
	OPEN_SYS_OPENAT,
	OPEN_SYS_OPENAT2,
	OPEN_SYS_CREAT,
};

struct open_event {
	struct kt_rec_hdr hdr;
	__s32 ret;	/* fd or -errno */
	__s32 dirfd;	/* openat/openat2's dirfd; AT_FDCWD (-100) for open/creat */
	__u64 flags;	/* O_* as passed (creat: O_CREAT|O_WRONLY|O_TRUNC) */
	__u64 resolve;	/* openat2's RESOLVE_* */
	__u32 mode;
	__u32 sys;	/* enum open_sys */
	__u32 path_len; /* bytes of path, without the NUL */
	__u32 dir_len;	/* -F: bytes used in dir */
	__u32 dir_flags;
	__u32 _pad;
	/*
	 * The path (path_len bytes and a NUL), then with --full-path the directory's
	 * names (dir_len bytes). A record ends there: hdr.size is
	 * offsetof(struct open_event, data) + path_len + 1 + dir_len.
	 */
	char data[OPEN_PATH_MAX + OPEN_DIR_MAX];
};

#endif
