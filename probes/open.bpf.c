// SPDX-License-Identifier: GPL-2.0
/*
 * open: every open, openat, openat2 and creat, reported at syscall exit.
 *
 * The entry stashes the user pointers and flags keyed by thread id once the
 * task filters (pid, tid, uid, cgroup) pass. The path is read at exit, not
 * at entry: at entry the page holding the string may not be resident yet
 * (the kernel faults it in during the syscall) and the read comes back
 * empty. The record is built in a per-CPU scratch buffer so that --path
 * prefixes and -x are decided before any ring buffer space is taken (what
 * is filtered out never causes a drop), and so that a record takes only the
 * bytes its path needs.
 *
 * Cost: a hash update and delete per open of a traced task, a user string
 * read and a ring buffer record of about 100 bytes plus the path per
 * reported open.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "kt_syscall.bpf.h"
#include "open.h"

const volatile bool cfg_failed = false;
const volatile bool cfg_full_path = false;
const volatile __u32 cfg_nprefix = 0;
const volatile __u32 cfg_prefix_len[OPEN_MAX_PREFIXES] = {};
const volatile char cfg_prefix[OPEN_MAX_PREFIXES][OPEN_PREFIX_MAX] = {};

/* bits 1 << OPEN_SYS_*: the calls whose hook chose raw_tp sys_enter/sys_exit */
const volatile __u32 cfg_raw_enter = 0;
const volatile __u32 cfg_raw_exit = 0;

KT_DEFINE_STREAM();

/* AT_FDCWD */
#define CWD (-100)

struct start {
	__u64 fname; /* user pointers */
	__u64 how;   /* openat2's struct open_how */
	__u64 flags;
	__u32 mode;
	__s32 dirfd;
	__u32 sys;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct start);
} starts SEC(".maps");

/* a record is built here; only its used bytes (path and -F's names) are sent */
KT_DEFINE_SCRATCH(struct open_event);

/* the uapi struct open_how, which vmlinux.h may not carry */
struct kt_open_how {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

static __always_inline int open_enter(enum open_sys sys, __s32 dirfd, __u64 fname, __u64 flags,
				      __u32 mode, __u64 how)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct start s = {
		.fname = fname, .how = how, .flags = flags, .mode = mode, .dirfd = dirfd, .sys = sys,
	};

	if (!kt_filter_task())
		return 0;
	/* a full table (more than 10240 opens in flight) loses this one: count it */
	if (bpf_map_update_elem(&starts, &tid, &s, BPF_ANY))
		kt_count_drop(&drops);
	return 0;
}

static __always_inline bool prefix_match(const char *path)
{
	for (__u32 i = 0; i < OPEN_MAX_PREFIXES; i++) {
		__u32 len;
		bool ok = true;

		if (i >= cfg_nprefix)
			break;
		len = cfg_prefix_len[i];
		for (__u32 j = 0; j < OPEN_PREFIX_MAX; j++) {
			if (j >= len)
				break;
			if (path[j] != cfg_prefix[i][j]) {
				ok = false;
				break;
			}
		}
		if (ok)
			return true;
	}
	return false;
}

struct dir_walk {
	__u64 d, vm, m; /* dentry, vfsmount and mount being walked */
	__u64 root_d, root_mnt;
	__u32 off, flags;
};

/* names of the walk, leaf first; slack for the per-name bound */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[OPEN_DIR_MAX + OPEN_NAME_MAX]);
} dirscratch SEC(".maps");

static long dir_step(__u64 i, void *arg)
{
	struct dir_walk *w = arg;
	struct dentry *d = (struct dentry *)w->d, *parent;
	struct vfsmount *vm = (struct vfsmount *)w->vm;
	struct mount *m = (struct mount *)w->m, *mp;
	__u32 zero = 0, off = w->off;
	char *buf;
	long n;

	if (w->d == w->root_d && w->vm == w->root_mnt) {
		w->flags |= OPEN_DIR_OK;
		return 1;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (d == BPF_CORE_READ(vm, mnt_root) || d == parent) {
		/* the root of a mount: go on from where it is mounted */
		mp = BPF_CORE_READ(m, mnt_parent);
		if (!mp || mp == m) {
			w->flags |= OPEN_DIR_OK; /* the root of the mount tree */
			return 1;
		}
		w->d = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		w->m = (__u64)mp;
		w->vm = (__u64)mp + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	buf = bpf_map_lookup_elem(&dirscratch, &zero);
	if (!buf || off >= OPEN_DIR_MAX)
		return 1;
	n = bpf_probe_read_kernel_str(&buf[off], OPEN_NAME_MAX, BPF_CORE_READ(d, d_name.name));
	if (n <= 0)
		return 1;
	w->off = off + (__u32)n;
	w->d = (__u64)parent;
	return 0;
}

/*
 * -F: name the directory a relative path starts from (the cwd or openat's
 * dirfd) by walking dentries up to the process's root, crossing mounts, as
 * d_path() does. Done here because the process may be gone by the time
 * user space could look at /proc. bpf_loop (5.17+) keeps the verifier's work
 * small; the call is only verified when -F is given.
 */
static __always_inline void dir_names(struct open_event *e, __s32 dirfd, __u64 off)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct dir_walk w = {};
	struct vfsmount *vm;
	__u32 zero = 0, len;
	char *buf;

	w.root_d = (__u64)BPF_CORE_READ(t, fs, root.dentry);
	w.root_mnt = (__u64)BPF_CORE_READ(t, fs, root.mnt);
	if (dirfd == CWD) {
		w.d = (__u64)BPF_CORE_READ(t, fs, pwd.dentry);
		vm = BPF_CORE_READ(t, fs, pwd.mnt);
	} else {
		struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
		struct file **fds = BPF_CORE_READ(fdt, fd), *f = NULL;

		if (dirfd < 0 || (__u32)dirfd >= BPF_CORE_READ(fdt, max_fds))
			return;
		bpf_probe_read_kernel(&f, sizeof(f), fds + dirfd);
		if (!f)
			return;
		w.d = (__u64)BPF_CORE_READ(f, f_path.dentry);
		vm = BPF_CORE_READ(f, f_path.mnt);
	}
	w.vm = (__u64)vm;
	w.m = (__u64)vm - bpf_core_field_offset(struct mount, mnt);
	bpf_loop(OPEN_DIR_DEPTH, dir_step, &w, 0);
	buf = bpf_map_lookup_elem(&dirscratch, &zero);
	if (!buf)
		return;
	len = w.off;
	if (len > OPEN_DIR_MAX) {
		len = OPEN_DIR_MAX;
		w.flags &= ~OPEN_DIR_OK;
	}
	if (!(w.flags & OPEN_DIR_OK))
		w.flags |= OPEN_DIR_TRUNC;
	e->dir_flags = w.flags;
	e->dir_len = len;
	/* off <= OPEN_PATH_MAX; the mask (a no-op) bounds it for the verifier */
	asm volatile("" : "+r"(off));
	off &= 2 * OPEN_PATH_MAX - 1;
	bpf_probe_read_kernel(&e->data[off], len, buf);
}

static __always_inline int open_exit(long ret, bool walk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kt_open_how how = {};
	struct open_event *e;
	struct start *s, st;
	long n;

	s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return 0;
	st = *s;
	bpf_map_delete_elem(&starts, &tid);
	if (cfg_failed && ret >= 0)
		return 0;
	e = kt_scratch();
	if (!e)
		return 0;
	n = bpf_probe_read_user_str(e->data, OPEN_PATH_MAX, (void *)st.fname);
	if (n <= 0) {
		e->data[0] = 0;
		n = 1;
	}
	if (n > OPEN_PATH_MAX)
		n = OPEN_PATH_MAX;
	if (cfg_nprefix && !prefix_match(e->data))
		return 0;
	if (st.sys == OPEN_SYS_OPENAT2 &&
	    !bpf_probe_read_user(&how, sizeof(how), (void *)st.how)) {
		st.flags = how.flags;
		st.mode = (__u32)how.mode;
	}
	e->ret = (__s32)ret;
	e->dirfd = st.dirfd;
	e->flags = st.flags;
	e->resolve = how.resolve;
	e->mode = st.mode;
	e->sys = st.sys;
	e->path_len = (__u32)n - 1;
	e->dir_len = 0;
	e->dir_flags = 0;
	e->_pad = 0;
	if (walk && cfg_full_path && e->data[0] != '/')
		dir_names(e, st.dirfd, (__u64)n);
	kt_output(&e->hdr, OPEN_REC_EVENT,
		  __builtin_offsetof(struct open_event, data) + (__u64)n + e->dir_len);
	return 0;
}

/* creat() is open(O_CREAT|O_WRONLY|O_TRUNC) */
#define CREAT_FLAGS (0100 | 01 | 01000)

SEC("tracepoint/syscalls/sys_enter_open")
int enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(OPEN_SYS_OPEN, CWD, ctx->args[0], ctx->args[1], ctx->args[2], 0);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(OPEN_SYS_OPENAT, (__s32)ctx->args[0], ctx->args[1], ctx->args[2],
			  ctx->args[3], 0);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(OPEN_SYS_OPENAT2, (__s32)ctx->args[0], ctx->args[1], 0, 0, ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(OPEN_SYS_CREAT, CWD, ctx->args[0], CREAT_FLAGS, ctx->args[1], 0);
}

/*
 * Each exit hook has two programs: *_walk names -F's directory in the kernel
 * with bpf_loop; the plain one, for kernels without bpf_loop (whose verifier
 * refuses an object that merely contains a loop callback), leaves -F to
 * user space's /proc fallback.
 */
#define OPEN_EXIT(sys)                                              \
	SEC("tracepoint/syscalls/sys_exit_" #sys)                   \
	int exit_##sys##_walk(struct trace_event_raw_sys_exit *ctx) \
	{                                                           \
		return open_exit(ctx->ret, true);                   \
	}                                                           \
	SEC("tracepoint/syscalls/sys_exit_" #sys)                   \
	int exit_##sys(struct trace_event_raw_sys_exit *ctx)        \
	{                                                           \
		return open_exit(ctx->ret, false);                  \
	}

OPEN_EXIT(open)
OPEN_EXIT(openat)
OPEN_EXIT(openat2)
OPEN_EXIT(creat)

/* The raw tracepoints, for users who cannot read tracefs (see kt_syscall.bpf.h). */
static __always_inline int open_sys(long nr)
{
	switch (nr) {
	case KT_NR_OPEN:
		return OPEN_SYS_OPEN;
	case KT_NR_OPENAT:
		return OPEN_SYS_OPENAT;
	case KT_NR_OPENAT2:
		return OPEN_SYS_OPENAT2;
	case KT_NR_CREAT:
		return OPEN_SYS_CREAT;
	}
	return -1;
}

SEC("raw_tp/sys_enter")
int sys_enter_raw(__u64 *ctx)
{
	int sys = open_sys((long)ctx[1]);
	struct kt_sys_args a;

	if (sys < 0 || !(cfg_raw_enter & (1U << sys)) || kt_sys_compat())
		return 0;
	kt_sys_args((struct pt_regs *)ctx[0], &a);
	switch (sys) {
	case OPEN_SYS_OPEN:
		return open_enter(OPEN_SYS_OPEN, CWD, a.a[0], a.a[1], (__u32)a.a[2], 0);
	case OPEN_SYS_OPENAT:
		return open_enter(OPEN_SYS_OPENAT, (__s32)a.a[0], a.a[1], a.a[2], (__u32)a.a[3], 0);
	case OPEN_SYS_OPENAT2:
		return open_enter(OPEN_SYS_OPENAT2, (__s32)a.a[0], a.a[1], 0, 0, a.a[2]);
	default:
		return open_enter(OPEN_SYS_CREAT, CWD, a.a[0], CREAT_FLAGS, (__u32)a.a[1], 0);
	}
}

/* the stash (keyed by thread) tells 32-bit calls apart: their entry made none */
static __always_inline bool raw_exit_wanted(__u64 *ctx)
{
	int sys = open_sys(kt_sys_exit_nr((struct pt_regs *)ctx[0]));

	return sys >= 0 && (cfg_raw_exit & (1U << sys));
}

SEC("raw_tp/sys_exit")
int sys_exit_raw_walk(__u64 *ctx)
{
	return raw_exit_wanted(ctx) ? open_exit((long)ctx[1], true) : 0;
}

SEC("raw_tp/sys_exit")
int sys_exit_raw(__u64 *ctx)
{
	return raw_exit_wanted(ctx) ? open_exit((long)ctx[1], false) : 0;
}

char LICENSE[] SEC("license") = "GPL";
