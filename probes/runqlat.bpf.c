// SPDX-License-Identifier: GPL-2.0
/*
 * runqlat: run-queue latency, the time a task waits runnable before it runs.
 *
 * A wait starts when a task is woken (sched_wakeup, sched_wakeup_new) or
 * when it is switched out while still runnable (preempted, sched_switch
 * prev); it ends when sched_switch puts it on a CPU (next). Every filter
 * tests the task that waits, never the task that woke it: the woken task is
 * an argument of the tracepoint, not current. Cost: a hash update per wakeup
 * and per preemption, a lookup/delete and an atomic add per context switch.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "runqlat.h"

const volatile __u32 cfg_split = RUNQLAT_ALL;
const volatile bool cfg_ms = false;

/* Wait start per thread id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct runqlat_key);
	__type(value, struct runqlat_val);
} hists SEC(".maps");

/* Waits that could not be counted: a hash map was full (user space reports them). */
KT_DEFINE_PERCPU_U64(misses);

static __always_inline void count_miss(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&misses, &zero);

	if (n)
		*n += 1;
}

/* Before 5.14 the task state field was called "state". */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return (unsigned int)BPF_CORE_READ((struct task_struct___old *)t, state);
}

static __always_inline int enqueue(struct task_struct *t)
{
	__u32 tid = BPF_CORE_READ(t, pid);
	__u64 ts;

	if (!tid) /* the idle task never waits for a CPU */
		return 0;
	if (!kt_filter_task(t))
		return 0;
	ts = bpf_ktime_get_ns();
	/*
	 * Always overwrite: a wakeup can hit a task that is still on its CPU
	 * (woken before it got to switch out), which leaves an entry no
	 * switch-in consumes; the next wakeup must replace it. A task that
	 * waits runnable is never woken again (try_to_wake_up skips tasks in
	 * TASK_RUNNING), so no wait is restarted.
	 */
	if (bpf_map_update_elem(&starts, &tid, &ts, BPF_ANY))
		count_miss();
	return 0;
}

static __always_inline __u32 pidns_of(struct task_struct *t)
{
	struct pid *pid = BPF_CORE_READ(t, thread_pid);
	struct pid_namespace *ns = NULL;
	unsigned int level;

	if (!pid)
		return 0;
	level = BPF_CORE_READ(pid, level);
	bpf_core_read(&ns, sizeof(ns), &pid->numbers[level & 31].ns);
	return ns ? BPF_CORE_READ(ns, ns.inum) : 0;
}

static __always_inline int on_switch(bool preempt, struct task_struct *prev,
				     struct task_struct *next)
{
	static const struct runqlat_val zero;
	struct runqlat_key key = {};
	struct runqlat_val *h;
	__u64 *tsp, delta;
	__u32 tid;

	/* still runnable when switched out: its wait for a CPU starts now */
	if (preempt || (task_state(prev) & 0xff) == 0)
		enqueue(prev);

	tid = BPF_CORE_READ(next, pid);
	tsp = bpf_map_lookup_elem(&starts, &tid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&starts, &tid);
	if ((__s64)delta < 0)
		return 0;

	switch (cfg_split) {
	case RUNQLAT_PER_PROCESS:
		key.id = BPF_CORE_READ(next, tgid);
		break;
	case RUNQLAT_PER_THREAD:
		key.id = tid;
		break;
	case RUNQLAT_PER_PIDNS:
		key.id = pidns_of(next);
		break;
	default:
		break;
	}
	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &key);
		if (!h) {
			count_miss();
			return 0;
		}
	}
	/* the latest name wins: user space prints what the task is called now */
	if (cfg_split == RUNQLAT_PER_PROCESS)
		BPF_CORE_READ_STR_INTO(&h->comm, next, group_leader, comm);
	else if (cfg_split == RUNQLAT_PER_THREAD)
		BPF_CORE_READ_STR_INTO(&h->comm, next, comm);
	delta /= cfg_ms ? 1000000 : 1000;
	kt_slot_add(&h->slots, kt_log2(delta), 1);
	return 0;
}

KT_TP_BOTH(sched_wakeup, wakeup)
{
	return enqueue((struct task_struct *)ctx[0]);
}

KT_TP_BOTH(sched_wakeup_new, wakeup_new)
{
	return enqueue((struct task_struct *)ctx[0]);
}

/* sched_switch(bool preempt, prev, next[, prev_state since 5.18]) */
KT_TP_BOTH(sched_switch, switch)
{
	return on_switch((bool)ctx[0], (struct task_struct *)ctx[1], (struct task_struct *)ctx[2]);
}

char LICENSE[] SEC("license") = "GPL";
