/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF helpers shared by the stack-collecting probes (offcpu, profile):
 *  - "stacks": a hash map from a stack id to its instruction pointers. The
 *    id is a 63-bit hash of the frames, computed here, so two different
 *    stacks never share a slot: a stack is lost only when the map is full
 *    (--stack-storage-size entries), never to a collision. (The kernel's
 *    BPF_MAP_TYPE_STACK_TRACE keeps one stack per bucket of a
 *    max_entries-sized table and refuses a second one with -EEXIST: at its
 *    default size it lost 9% of the user stacks of a busy box, and no
 *    affordable size holds 20,000 stacks without collisions.) It is
 *    preallocated (perf_event programs need that before 6.1): its kernel
 *    memory is entries x (depth x 8 + about 80) bytes;
 *  - "stack_errors": per-CPU counts of stacks that could not be stored, so
 *    user space reports them instead of dropping them silently;
 *  - "newpids": a small ring buffer that names each process the first time
 *    it is seen, again after it exec()s and when its pid was reused, so user
 *    space can snapshot its memory maps while it is still alive (a process
 *    that exits before the report cannot be symbolized later); "seen"
 *    remembers which processes were announced, with their exec generation
 *    (task->self_exec_id) and start time.
 */
#ifndef KT_STACKS_BPF_H
#define KT_STACKS_BPF_H

#include "kt_common.h"

/* Indexes into stack_errors' value array. */
#define KT_SERR_KERNEL_FULL 0  /* kernel stack: the stack map is full */
#define KT_SERR_USER_FULL 1    /* user stack: the stack map is full */
#define KT_SERR_KERNEL_FAULT 2 /* kernel stack could not be read */
#define KT_SERR_USER_FAULT 3   /* user stack could not be read */
#define KT_SERR_UNCOUNTED 4    /* an event not counted: the probe's own hash maps are full */
#define KT_SERR_N 5

#define KT_STACK_DEPTH 127 /* PERF_MAX_STACK_DEPTH: the most frames a stack keeps */

struct kt_stack_errors {
	__u64 n[KT_SERR_N];
};

/* A record of "newpids". */
struct kt_newpid {
	__u32 tgid;
	__u32 execd; /* seen before, under another program: its maps changed */
};

/*
 * --unwind dwarf: instead of a stack id, a record carries the task's user
 * registers and a copy of the top of its user stack (after the struct), for
 * user space to unwind with the binaries' CFI (core/unwind.h).
 */
#define KT_USTACK_COPY_MIN 512
#define KT_USTACK_COPY_MAX 16384
#define KT_USTACK_COPY_DEF 8192
#define KT_USTACK_NREGS	   17 /* x86-64 DWARF registers 0-16 (rax ... r15, rip) */

/* kt_ustack.flags */
#define KT_USTACK_KERNEL_MODE 1 /* taken in the kernel: regs are where the task entered it */
#define KT_USTACK_NO_REGS     2 /* no user registers (the kernel lacks bpf_task_pt_regs) */

struct kt_ustack {
	__u64 regs[KT_USTACK_NREGS]; /* DWARF numbering: regs[7] is rsp, regs[16] the pc */
	__u32 len;		     /* bytes of stack copied from regs[7] up, after the record */
	__u32 flags;
};

#ifdef __VMLINUX_H__
#ifndef EFAULT
#define EFAULT 14
#endif
#ifndef ENOENT
#define ENOENT 2
#endif
#ifndef ENOMEM
#define ENOMEM 12
#endif
#ifndef EEXIST
#define EEXIST 17
#endif

struct kt_stack_ips {
	__u64 ip[KT_STACK_DEPTH];
};

struct kt_seen {
	__u64 gen;   /* task->self_exec_id */
	__u64 start; /* the leader's start_time: tells a reused pid */
};

/* user space sets value_size to --perf-max-stack-depth x 8 and max_entries */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__uint(value_size, KT_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 32768);
} stacks SEC(".maps");

/* where a stack is taken before it is stored: too big for the BPF stack */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_stack_ips);
} stack_buf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_stack_errors);
} stack_errors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} newpids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct kt_seen);
} seen SEC(".maps");

const volatile bool cfg_announce_pids = false;
const volatile __u32 cfg_stack_depth = KT_STACK_DEPTH; /* --perf-max-stack-depth */

const volatile __u32 cfg_stack_copy = KT_USTACK_COPY_DEF; /* --stack-copy */

/* Registers of pt_regs in DWARF order. */
static __always_inline void kt_ustack_regs(struct kt_ustack *u, const struct pt_regs *p)
{
	u->regs[0] = p->ax;
	u->regs[1] = p->dx;
	u->regs[2] = p->cx;
	u->regs[3] = p->bx;
	u->regs[4] = p->si;
	u->regs[5] = p->di;
	u->regs[6] = p->bp;
	u->regs[7] = p->sp;
	u->regs[8] = p->r8;
	u->regs[9] = p->r9;
	u->regs[10] = p->r10;
	u->regs[11] = p->r11;
	u->regs[12] = p->r12;
	u->regs[13] = p->r13;
	u->regs[14] = p->r14;
	u->regs[15] = p->r15;
	u->regs[16] = p->ip;
}

/*
 * The current task's user registers as it entered the kernel
 * (bpf_task_pt_regs, 5.15+: on older kernels the branch is dropped at load
 * and the record says KT_USTACK_NO_REGS).
 */
static __always_inline void kt_ustack_entry_regs(struct kt_ustack *u)
{
	u->flags |= KT_USTACK_KERNEL_MODE;
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs)) {
		struct pt_regs r;
		void *p = (void *)bpf_task_pt_regs(bpf_get_current_task_btf());

		if (p && !bpf_probe_read_kernel(&r, sizeof(r), p)) {
			kt_ustack_regs(u, &r);
			return;
		}
	}
	u->flags |= KT_USTACK_NO_REGS;
}

/*
 * Copy the top cfg_stack_copy bytes of the current task's user stack (from
 * u->regs[7]) to data (KT_USTACK_COPY_MAX bytes); sets and returns u->len.
 */
static __always_inline __u32 kt_ustack_copy(struct kt_ustack *u, __u8 *data)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 want = cfg_stack_copy, got = 0;
	__u64 sp = u->regs[7], env_end;

	u->len = 0;
	if (u->flags & KT_USTACK_NO_REGS)
		return 0;
	/* the main thread's stack ends a little above its environment strings */
	env_end = BPF_CORE_READ(t, mm, env_end);
	if (sp < env_end && env_end - sp < want)
		want = env_end - sp;
	/* a thread's stack may end sooner: try smaller copies */
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u32 n = want >> i;

		if (n < 64)
			break;
		if (n > KT_USTACK_COPY_MAX)
			n = KT_USTACK_COPY_MAX;
		if (!bpf_probe_read_user(data, n, (void *)sp)) {
			got = n;
			break;
		}
	}
	u->len = got;
	return got;
}

static __always_inline void kt_stack_error(int which)
{
	__u32 zero = 0;
	struct kt_stack_errors *e = bpf_map_lookup_elem(&stack_errors, &zero);

	if (e)
		e->n[which]++;
}

/*
 * Stack id of the current task's kernel or user stack (a hash of its
 * frames, >= 0); a negative errno on failure, counted unless it is an
 * -EFAULT the caller expects (a sample taken in user mode has no kernel
 * stack to walk). bpf_get_stack() zeroes the buffer past the last frame.
 */
static __always_inline __s64 kt_stack_id(void *ctx, bool user, bool fault_expected)
{
	__u32 zero = 0;
	struct kt_stack_ips *b = bpf_map_lookup_elem(&stack_buf, &zero);
	__u64 h = 0xcbf29ce484222325ULL; /* FNV-1a over the frames */
	long n, err;
	int i;

	if (!b)
		return -ENOMEM;
	n = bpf_get_stack(ctx, b->ip, sizeof(b->ip), user ? BPF_F_USER_STACK : 0);
	if (n < 0) {
		if (n != -EFAULT || !fault_expected)
			kt_stack_error(user ? KT_SERR_USER_FAULT : KT_SERR_KERNEL_FAULT);
		return n;
	}
	n /= sizeof(__u64);
	if (n == 0)
		return -ENOENT;
	for (i = 0; i < KT_STACK_DEPTH; i++) {
		if (i >= n || (__u32)i >= cfg_stack_depth)
			break;
		h = (h ^ b->ip[i]) * 0x100000001b3ULL;
	}
	h &= 0x7fffffffffffffffULL;
	err = bpf_map_update_elem(&stacks, &h, b, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		kt_stack_error(user ? KT_SERR_USER_FULL : KT_SERR_KERNEL_FULL);
		return err;
	}
	return (__s64)h;
}

/* An event that could not be counted because a hash map is full. */
static __always_inline void kt_count_uncounted(void)
{
	kt_stack_error(KT_SERR_UNCOUNTED);
}

/*
 * Tell user space about the current process the first time it shows up, and
 * when it shows up again after an exec() (a fork()ed child is usually seen
 * before it execs, under its parent's program).
 */
static __always_inline void kt_announce_current(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct kt_seen now, *old;
	struct kt_newpid n = { tgid, 0 };

	if (!cfg_announce_pids || !tgid)
		return;
	now.gen = BPF_CORE_READ(t, self_exec_id);
	now.start = BPF_CORE_READ(t, group_leader, start_time);
	old = bpf_map_lookup_elem(&seen, &tgid);
	if (old && old->gen == now.gen && old->start == now.start)
		return;
	/* the same process after an exec; another start time is a new process on a reused pid */
	n.execd = old && old->start == now.start;
	if (bpf_map_update_elem(&seen, &tgid, &now, BPF_ANY) == 0)
		bpf_ringbuf_output(&newpids, &n, sizeof(n), 0);
}
#endif

#endif
