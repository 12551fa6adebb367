// SPDX-License-Identifier: GPL-2.0
/*
 * exec: every execve/execveat attempt, or (--summary) counts of execs,
 * forks and exits per parent with a lifetime histogram.
 *
 * The syscall's entry stashes the user pointers keyed by thread id, after
 * the filters (uid, cgroup, parent) pass. Success is reported from
 * sched_process_exec, which runs after the point of no return with the new
 * image in place: its comm, its argv block in the new mm (resident: the
 * kernel just copied it there) and bprm->filename in kernel memory. A thread
 * that is not the group leader takes over the leader's pid during exec, so
 * the stash is found through the tracepoint's old_pid, never through the
 * current tid. Failures are reported at syscall exit, reading the path and
 * argv from the caller's memory, which is still there.
 *
 * Cost: one hash update and delete per exec; a ring buffer record of about
 * 1.2 KiB plus the arguments per reported exec. --summary: a few hash
 * updates per exec, fork and exit, no ring buffer traffic.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "kt_syscall.bpf.h"
#include "exec.h"

const volatile __u32 cfg_ppid = 0;
const volatile bool cfg_fails = false;
const volatile bool cfg_summary = false;
const volatile __u32 cfg_max_args = 20;
/* EXEC_RAW_*: which calls the raw sys_enter/sys_exit programs serve (see their hooks) */
const volatile __u32 cfg_raw_enter = 0;
const volatile __u32 cfg_raw_exit = 0;
/* Linux 6.x added group_dead to sched_process_exit; before, the leader's exit stands in. */
const volatile bool cfg_exit_group_dead = false;

KT_DEFINE_STREAM();

struct start {
	__u64 filename; /* user pointers of the caller */
	__u64 argv;
	__u32 at;
	__s32 dirfd;
};

/* LRU: an exec whose task is killed midway never reaches a cleanup point */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct exec_key);
	__type(value, __u64);
} exec_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct exec_parent);
} parents SEC(".maps");

/* one entry (key 0): log2 histogram of process lifetimes in ms */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_slots);
} lifetimes SEC(".maps");

/* a record is built here; only its used bytes (up to its arguments' end) are sent */
KT_DEFINE_SCRATCH(struct exec_event);

static __always_inline void send_event(struct exec_event *e)
{
	kt_output(&e->hdr, EXEC_REC_EVENT,
		  __builtin_offsetof(struct exec_event, args) + (__u64)e->args_len);
}

enum { P_FORKS, P_EXECS, P_EXITS };

static __always_inline struct task_struct *cur(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

static __always_inline void parent_add(__u32 ptgid, struct task_struct *parent, int what)
{
	struct exec_parent *p, n = {};

	p = bpf_map_lookup_elem(&parents, &ptgid);
	if (!p) {
		BPF_CORE_READ_STR_INTO(&n.comm, parent, comm);
		bpf_map_update_elem(&parents, &ptgid, &n, BPF_NOEXIST);
		p = bpf_map_lookup_elem(&parents, &ptgid);
		if (!p) {
			/* table full: reported with the lost events, never silent */
			kt_count_drop(&drops);
			return;
		}
	}
	if (what == P_FORKS)
		__sync_fetch_and_add(&p->forks, 1);
	else if (what == P_EXECS)
		__sync_fetch_and_add(&p->execs, 1);
	else
		__sync_fetch_and_add(&p->exits, 1);
}

static __always_inline void count_exec(long ret)
{
	struct task_struct *t = cur(), *rp = BPF_CORE_READ(t, real_parent);
	struct exec_key k = {};
	__u64 one = 1, *v;

	bpf_get_current_comm(k.comm, sizeof(k.comm));
	k.ppid = BPF_CORE_READ(rp, tgid);
	k.uid = (__u32)bpf_get_current_uid_gid();
	k.err = ret < 0 ? -ret : 0;
	v = bpf_map_lookup_elem(&exec_counts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	else if (bpf_map_update_elem(&exec_counts, &k, &one, BPF_NOEXIST)) {
		/* another CPU inserted it first */
		v = bpf_map_lookup_elem(&exec_counts, &k);
		if (v)
			__sync_fetch_and_add(v, 1);
		else
			kt_count_drop(&drops);
	}
	parent_add(k.ppid, rp, P_EXECS);
}

static __always_inline int exec_enter(__u64 filename, __u64 argv, bool at, __s32 dirfd)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct start s = { .filename = filename, .argv = argv, .at = at, .dirfd = dirfd };

	/* -n: the new image's name, tested when the exec is done */
	if (!kt_filter_current_mask(KT_F_ALL & ~KT_F_COMM))
		return 0;
	if (cfg_ppid && (__u32)BPF_CORE_READ(cur(), real_parent, tgid) != cfg_ppid)
		return 0;
	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline void fill(struct exec_event *e, long ret, __u32 old_tid, __u32 flags,
				 __s32 dirfd)
{
	struct task_struct *rp = BPF_CORE_READ(cur(), real_parent);

	e->ppid = BPF_CORE_READ(rp, tgid);
	BPF_CORE_READ_STR_INTO(&e->pcomm, rp, comm);
	e->ret = (__s32)ret;
	e->old_tid = old_tid;
	e->flags = flags;
	e->argc = 0;
	e->args_len = 0;
	e->path_len = 0;
	e->dirfd = dirfd;
}

static __always_inline void set_path_len(struct exec_event *e, long n)
{
	if (n <= 0) {
		e->path[0] = 0;
		n = 1;
	}
	e->path_len = (__u32)n - 1;
	if (n >= EXEC_PATH_MAX)
		e->flags |= EXEC_F_PATH_TRUNC;
}

/* Success: the new image is in place (comm, mm, credentials). */
static __always_inline int exec_done(struct task_struct *t, __u32 old_tid, struct linux_binprm *bprm)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_event *e;
	struct start *s;
	__u64 from, to, len;
	__u32 flags;
	__s32 dirfd;

	/* a leader killed in its own exec by this one's de_thread() left its stash */
	if (old_tid != tid)
		bpf_map_delete_elem(&starts, &tid);
	s = bpf_map_lookup_elem(&starts, &old_tid);
	if (!s)
		return 0;
	flags = s->at ? EXEC_F_AT : 0;
	dirfd = s->dirfd;
	bpf_map_delete_elem(&starts, &old_tid);
	if (cfg_fails || !kt_filter_current_mask(KT_F_COMM))
		return 0;
	if (cfg_summary) {
		count_exec(0);
		return 0;
	}
	e = kt_scratch();
	if (!e)
		return 0;
	fill(e, 0, old_tid, flags | EXEC_F_BLOCK, dirfd);
	set_path_len(e, bpf_probe_read_kernel_str(e->path, sizeof(e->path),
						  BPF_CORE_READ(bprm, filename)));
	e->argc = BPF_CORE_READ(bprm, argc);
	from = BPF_CORE_READ(t, mm, arg_start);
	to = BPF_CORE_READ(t, mm, arg_end);
	len = to > from ? to - from : 0;
	if (len > EXEC_ARGS_MAX) {
		len = EXEC_ARGS_MAX;
		e->flags |= EXEC_F_TRUNC;
	}
	if (len && !bpf_probe_read_user(e->args, len, (void *)from))
		e->args_len = len;
	send_event(e);
	return 0;
}

/* Failure: the caller's memory still holds the path and argv. */
static __always_inline void read_argv(struct exec_event *e, __u64 argv)
{
	__u32 off = 0, n_read = 0;
	const char *p;
	long n;

	for (__u32 i = 1; i < EXEC_MAX_ARGS_LIMIT + 1; i++) {
		if (bpf_probe_read_user(&p, sizeof(p), (void *)(argv + i * sizeof(p))) || !p)
			break;
		if (i >= cfg_max_args || off >= EXEC_ARGS_MAX) {
			e->flags |= EXEC_F_TRUNC;
			break;
		}
		/*
		 * off < EXEC_ARGS_MAX here, but the 6.1 verifier also walks the
		 * impossible branch and loses the pointer: an opaque mask (a
		 * no-op, EXEC_ARGS_MAX being a power of two) keeps it bounded.
		 */
		asm volatile("" : "+r"(off));
		off &= EXEC_ARGS_MAX - 1;
		n = bpf_probe_read_user_str(&e->args[off], EXEC_ARG_MAX, p);
		if (n <= 0)
			break;
		if (n == EXEC_ARG_MAX) {
			char c = 0;

			/* was the argument longer than what fit? */
			bpf_probe_read_user(&c, 1, p + EXEC_ARG_MAX - 1);
			if (c)
				e->flags |= EXEC_F_TRUNC;
		}
		off += n;
		n_read++;
	}
	e->args_len = off;
	e->argc = n_read + 1;
}

/*
 * The same walk with bpf_loop (5.17+): the verifier checks one step instead
 * of every iteration of the bounded loop above and every way out of it,
 * which took it ~20 ms per exit program at start-up.
 */
struct argv_walk {
	__u64 argv;
	__u32 off, n_read, flags;
};

static int argv_step(__u32 i, struct argv_walk *w)
{
	struct exec_event *e = kt_scratch();
	__u32 off = w->off;
	const char *p;
	long n;

	if (!e)
		return 1;
	if (bpf_probe_read_user(&p, sizeof(p), (void *)(w->argv + (i + 1) * sizeof(p))) || !p)
		return 1;
	if (i + 1 >= cfg_max_args || off >= EXEC_ARGS_MAX) {
		w->flags |= EXEC_F_TRUNC;
		return 1;
	}
	asm volatile("" : "+r"(off)); /* as in read_argv */
	off &= EXEC_ARGS_MAX - 1;
	n = bpf_probe_read_user_str(&e->args[off], EXEC_ARG_MAX, p);
	if (n <= 0)
		return 1;
	if (n == EXEC_ARG_MAX) {
		char c = 0;

		bpf_probe_read_user(&c, 1, p + EXEC_ARG_MAX - 1);
		if (c)
			w->flags |= EXEC_F_TRUNC;
	}
	w->off = off + (__u32)n;
	w->n_read++;
	return 0;
}

static __always_inline void read_argv_loop(struct exec_event *e, __u64 argv)
{
	struct argv_walk w = { .argv = argv };

	bpf_loop(EXEC_MAX_ARGS_LIMIT, argv_step, &w, 0);
	e->flags |= w.flags;
	e->args_len = w.off;
	e->argc = w.n_read + 1;
}

static __always_inline int exec_exit(long ret, bool loop)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_event *e;
	struct start *s, st;

	s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return 0;
	st = *s;
	bpf_map_delete_elem(&starts, &tid);
	/* success was reported by sched_process_exec */
	if (ret >= 0 || !kt_filter_current_mask(KT_F_COMM))
		return 0;
	if (cfg_summary) {
		count_exec(ret);
		return 0;
	}
	e = kt_scratch();
	if (!e)
		return 0;
	fill(e, ret, tid, st.at ? EXEC_F_AT : 0, st.dirfd);
	set_path_len(e, bpf_probe_read_user_str(e->path, sizeof(e->path), (void *)st.filename));
	if (loop)
		read_argv_loop(e, st.argv);
	else
		read_argv(e, st.argv);
	send_event(e);
	return 0;
}

static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid;

	if (!cfg_summary)
		return 0;
	/* a new thread is not a new process */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	if (!kt_filter_current())
		return 0;
	ptgid = BPF_CORE_READ(parent, tgid);
	if (cfg_ppid && ptgid != cfg_ppid)
		return 0;
	parent_add(ptgid, parent, P_FORKS);
	return 0;
}

static __always_inline int on_exit_task(struct task_struct *t, bool group_dead)
{
	static const struct kt_slots zero;
	struct task_struct *rp;
	struct kt_slots *h;
	__u32 ptgid, key = 0;
	__u64 start, now;

	if (!cfg_summary)
		return 0;
	if (cfg_exit_group_dead ? !group_dead : BPF_CORE_READ(t, pid) != BPF_CORE_READ(t, tgid))
		return 0;
	if (!kt_filter_current())
		return 0;
	rp = BPF_CORE_READ(t, real_parent);
	ptgid = BPF_CORE_READ(rp, tgid);
	if (cfg_ppid && ptgid != cfg_ppid)
		return 0;
	parent_add(ptgid, rp, P_EXITS);
	start = BPF_CORE_READ(t, group_leader, start_time);
	now = bpf_ktime_get_ns();
	h = bpf_map_lookup_elem(&lifetimes, &key);
	if (!h) {
		bpf_map_update_elem(&lifetimes, &key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&lifetimes, &key);
		if (!h)
			return 0;
	}
	kt_slot_add(h, kt_log2(now > start ? (now - start) / 1000000 : 0), 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter(ctx->args[0], ctx->args[1], false, -100 /* AT_FDCWD */);
}

/*
 * Each exit hook has two programs: *_loop reads a failed exec's argv with
 * bpf_loop; the plain one is for kernels without it (whose verifier refuses
 * an object that merely contains a loop callback).
 */
SEC("tracepoint/syscalls/sys_exit_execve")
int exit_execve_loop(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter(ctx->args[1], ctx->args[2], true, (__s32)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int exit_execveat_loop(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret, false);
}

/* The same two calls through the raw tracepoints, for users who cannot read tracefs. */
SEC("raw_tp/sys_enter")
int sys_enter_raw(__u64 *ctx)
{
	long nr = (long)ctx[1];
	struct kt_sys_args a;

	if (nr == KT_NR_EXECVE) {
		if (!(cfg_raw_enter & EXEC_RAW_EXECVE) || kt_sys_compat())
			return 0;
		kt_sys_args((struct pt_regs *)ctx[0], &a);
		return exec_enter(a.a[0], a.a[1], false, -100 /* AT_FDCWD */);
	}
	if (nr == KT_NR_EXECVEAT) {
		if (!(cfg_raw_enter & EXEC_RAW_EXECVEAT) || kt_sys_compat())
			return 0;
		kt_sys_args((struct pt_regs *)ctx[0], &a);
		return exec_enter(a.a[1], a.a[2], true, (__s32)a.a[0]);
	}
	return 0;
}

static __always_inline int raw_exit(__u64 *ctx, bool loop)
{
	long nr = kt_sys_exit_nr((struct pt_regs *)ctx[0]);
	__u32 want = nr == KT_NR_EXECVE ? EXEC_RAW_EXECVE : nr == KT_NR_EXECVEAT ? EXEC_RAW_EXECVEAT : 0;

	/* the stash (keyed by thread) tells 32-bit calls apart: their entry made none */
	if (!(cfg_raw_exit & want))
		return 0;
	return exec_exit((long)ctx[1], loop);
}

SEC("raw_tp/sys_exit")
int sys_exit_raw_loop(__u64 *ctx)
{
	return raw_exit(ctx, true);
}

SEC("raw_tp/sys_exit")
int sys_exit_raw(__u64 *ctx)
{
	return raw_exit(ctx, false);
}

KT_TP_BOTH(sched_process_exec, sched_exec)
{
	return exec_done((struct task_struct *)ctx[0], (__u32)ctx[1], (struct linux_binprm *)ctx[2]);
}

KT_TP_BOTH(sched_process_fork, fork)
{
	return on_fork((struct task_struct *)ctx[0], (struct task_struct *)ctx[1]);
}

KT_TP_BOTH(sched_process_exit, exit)
{
	return on_exit_task((struct task_struct *)ctx[0], cfg_exit_group_dead && ctx[1]);
}

char LICENSE[] SEC("license") = "GPL";
