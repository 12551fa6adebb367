/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF helpers shared by the stack-collecting probes (offcpu, profile):
 *  - "stacks": the stack trace map (user space sizes it: --stack-storage-size
 *    entries of --perf-max-stack-depth frames);
 *  - "stack_errors": per-CPU counts of stacks that could not be stored, so
 *    user space reports them instead of dropping them silently;
 *  - "newpids": a small ring buffer that names each process the first time
 *    it is seen, and again after it exec()s, so user space can snapshot its
 *    memory maps while it is still alive (a process that exits before the
 *    report cannot be symbolized later); "seen" remembers which processes
 *    were announced, with their exec generation (task->self_exec_id).
 */
#ifndef KT_STACKS_BPF_H
#define KT_STACKS_BPF_H

#include "kt_common.h"

/* Indexes into stack_errors' value array. */
#define KT_SERR_KERNEL_FULL 0  /* kernel stack: map full or hash collision */
#define KT_SERR_USER_FULL 1    /* user stack: map full or hash collision */
#define KT_SERR_KERNEL_FAULT 2 /* kernel stack could not be read */
#define KT_SERR_USER_FAULT 3   /* user stack could not be read */
#define KT_SERR_UNCOUNTED 4    /* an event not counted: the probe's own hash maps are full */
#define KT_SERR_N 5

struct kt_stack_errors {
	__u64 n[KT_SERR_N];
};

/* A record of "newpids". */
struct kt_newpid {
	__u32 tgid;
	__u32 execd; /* seen before, under another program: its maps changed */
};

#ifdef __VMLINUX_H__
#ifndef EFAULT
#define EFAULT 14
#endif

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
	__uint(max_entries, 16384);
} stacks SEC(".maps");

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
	__type(value, __u64);
} seen SEC(".maps");

const volatile bool cfg_announce_pids = false;

/*
 * Stack id of the current task's kernel or user stack; negative errno on
 * failure, counted unless it is an -EFAULT the caller expects (a sample
 * taken in user mode has no kernel stack to walk).
 */
static __always_inline __s32 kt_stack_id(void *ctx, bool user, bool fault_expected)
{
	long id = bpf_get_stackid(ctx, &stacks, user ? BPF_F_USER_STACK : 0);

	if (id < 0) {
		__u32 zero = 0;
		struct kt_stack_errors *e = bpf_map_lookup_elem(&stack_errors, &zero);

		if (e) {
			if (id == -EFAULT) {
				if (!fault_expected)
					e->n[user ? KT_SERR_USER_FAULT : KT_SERR_KERNEL_FAULT]++;
			}
			else
				e->n[user ? KT_SERR_USER_FULL : KT_SERR_KERNEL_FULL]++;
		}
	}
	return (__s32)id;
}

/* An event that could not be counted because a hash map is full. */
static __always_inline void kt_count_uncounted(void)
{
	__u32 zero = 0;
	struct kt_stack_errors *e = bpf_map_lookup_elem(&stack_errors, &zero);

	if (e)
		e->n[KT_SERR_UNCOUNTED]++;
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
	__u64 gen, *old;
	struct kt_newpid n = { tgid, 0 };

	if (!cfg_announce_pids || !tgid)
		return;
	gen = BPF_CORE_READ(t, self_exec_id);
	old = bpf_map_lookup_elem(&seen, &tgid);
	if (old && *old == gen)
		return;
	n.execd = old != NULL;
	if (bpf_map_update_elem(&seen, &tgid, &gen, BPF_ANY) == 0)
		bpf_ringbuf_output(&newpids, &n, sizeof(n), 0);
}
#endif

#endif
