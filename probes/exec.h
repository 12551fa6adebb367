/* SPDX-License-Identifier: GPL-2.0 */
/* exec: types shared by probes/exec.bpf.c and cmd/exec.c. */
#ifndef KT_EXEC_H
#define KT_EXEC_H

#include "kt_common.h"

/* Bytes of the path an exec record carries (longer paths are cut and flagged). */
#define EXEC_PATH_MAX 1024
/* Bytes of arguments (after the path) an exec record carries in total. */
#define EXEC_ARGS_MAX 4096 /* a power of two: exec.bpf.c masks offsets with it */
/*
 * A failed exec's arguments are read one by one from the caller's memory;
 * each is cut at this many bytes (a successful exec's come in one block).
 */
#define EXEC_ARG_MAX 512
/* Upper bound of --max-args. */
#define EXEC_MAX_ARGS_LIMIT 128

enum { EXEC_REC_EVENT = 1 };

/* cfg_raw_enter, cfg_raw_exit: the calls whose hook chose raw_tp sys_enter/sys_exit */
#define EXEC_RAW_EXECVE (1U << 0)
#define EXEC_RAW_EXECVEAT (1U << 1)

/* exec_event.flags */
#define EXEC_F_AT (1U << 0)	   /* execveat, not execve */
#define EXEC_F_BLOCK (1U << 1)	   /* args is the new image's argv block (argv[0] included) */
#define EXEC_F_TRUNC (1U << 2)	   /* arguments were cut (count, total or per-argument limit) */
#define EXEC_F_PATH_TRUNC (1U << 3) /* the path was cut */

struct exec_event {
	struct kt_rec_hdr hdr; /* comm: the new image's on success, the caller's on failure */
	__u32 ppid;
	__s32 ret;
	__u32 flags;
	__u32 old_tid;	/* the thread that called exec (a non-leader becomes the leader) */
	__u32 argc;	/* the kernel's argc (success), or strings read (failure) */
	__u32 args_len; /* bytes used in args */
	__u32 path_len; /* bytes of path, without the NUL */
	__s32 dirfd;	/* execveat's dirfd (AT_FDCWD for execve) */
	char pcomm[KT_TASK_COMM_LEN]; /* the parent's comm */
	char path[EXEC_PATH_MAX];
	/*
	 * NUL-separated strings; slack for the verifier's per-argument bound.
	 * A record ends after them: hdr.size is offsetof(args) + args_len.
	 */
	char args[EXEC_ARGS_MAX + EXEC_ARG_MAX];
};

/* --summary: exec counts keyed by what the tables group on. */
struct exec_key {
	char comm[KT_TASK_COMM_LEN];
	__u32 ppid;
	__u32 uid;
	__s32 err; /* 0 or a positive errno */
};

/* --summary: per parent process (tgid). */
struct exec_parent {
	__u64 forks; /* new processes it created */
	__u64 execs; /* execs by its children (failed ones included) */
	__u64 exits; /* its children that exited */
	char comm[KT_TASK_COMM_LEN];
};

#endif
