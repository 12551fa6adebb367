// SPDX-License-Identifier: GPL-2.0
/*
 * sched: per task, voluntary and involuntary context switches, CPU
 * migrations and on-CPU time; with cfg_matrix the CPU-to-CPU migration
 * counts too.
 *
 * sched_switch runs on the CPU that switches, with prev still current: the
 * filters test current (prev), and prev's row counts the switch as
 * voluntary when it was not a preemption and prev's state is not
 * TASK_RUNNING (it blocks), involuntary otherwise (preempted, or yielded
 * while runnable), the kernel's own nvcsw/nivcsw rule. The on-CPU slice
 * needs no per-task state: a per-CPU slot remembers which thread was
 * switched in and when, and prev's switch-out ends that slice.
 * sched_migrate_task fires in set_task_cpu() for every placement, also onto
 * the same CPU: only orig != dest is a migration (as se.nr_migrations and
 * perf's cpu-migrations count); its filters test the moved task.
 * Cost: one per-CPU slot write and, for a selected task, one hash update
 * per context switch; a few hundred nanoseconds.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "sched.h"

const volatile bool cfg_per_process = false;
const volatile bool cfg_matrix = false;

/* Rows; user space reads and deletes them at every report. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SCHED_MAX_ROWS);
	__type(key, struct sched_key);
	__type(value, struct sched_val);
} stats SEC(".maps");

/* --matrix: migrations per (from CPU, to CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SCHED_MAX_CELLS);
	__type(key, struct sched_cell);
	__type(value, __u64);
} cells SEC(".maps");

/* The thread each CPU runs and since when. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sched_running);
} running SEC(".maps");

/* Events that could not be counted: a table was full. */
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

static __always_inline unsigned long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return (unsigned long)BPF_CORE_READ((struct task_struct___old *)t, state);
}

/* Before 5.16 the CPU of a task was task_struct.cpu, not thread_info.cpu. */
struct task_struct___cpu_old {
	unsigned int cpu;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_cpu_of(struct task_struct *t)
{
	if (bpf_core_field_exists(t->thread_info.cpu))
		return BPF_CORE_READ(t, thread_info.cpu);
	return BPF_CORE_READ((struct task_struct___cpu_old *)t, cpu);
}

/* The row of thread tid of process tgid (the process's with -P); NULL counted. */
static __always_inline struct sched_val *row_of(__u32 tid, __u32 tgid)
{
	static const struct sched_val zero;
	struct sched_key key = { .id = cfg_per_process ? tgid : tid };
	struct sched_val *v;

	v = bpf_map_lookup_elem(&stats, &key);
	if (v)
		return v;
	bpf_map_update_elem(&stats, &key, &zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&stats, &key);
	if (!v) {
		count_miss();
		return NULL;
	}
	v->pid = tgid;
	return v;
}

static __always_inline int on_switch(bool preempt, struct task_struct *prev,
				     struct task_struct *next)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns(), slice = 0;
	__u32 zero = 0, tid = (__u32)id;
	struct sched_running *r = bpf_map_lookup_elem(&running, &zero);
	struct sched_val *v;

	if (r) {
		if (r->tid == tid && r->ts && now > r->ts)
			slice = now - r->ts;
		r->ts = now;
		r->tid = BPF_CORE_READ(next, pid);
	}
	if (!tid) /* the idle task */
		return 0;
	if (!kt_filter_current())
		return 0;
	v = row_of(tid, id >> 32);
	if (!v)
		return 0;
	if (!preempt && task_state(prev))
		__sync_fetch_and_add(&v->voluntary, 1);
	else
		__sync_fetch_and_add(&v->involuntary, 1);
	if (slice)
		__sync_fetch_and_add(&v->oncpu_ns, slice);
	/* the latest name wins: a task that execs is shown with its new name */
	if (cfg_per_process)
		BPF_CORE_READ_STR_INTO(&v->comm, prev, group_leader, comm);
	else
		bpf_get_current_comm(&v->comm, sizeof(v->comm));
	return 0;
}

static __always_inline int on_migrate(struct task_struct *p, int dest)
{
	__u32 from = task_cpu_of(p), tid = BPF_CORE_READ(p, pid);
	struct sched_val *v;

	if (from == (__u32)dest || !tid)
		return 0;
	if (!kt_filter_task(p))
		return 0;
	v = row_of(tid, BPF_CORE_READ(p, tgid));
	if (!v)
		return 0;
	__sync_fetch_and_add(&v->migrations, 1);
	if (cfg_per_process)
		BPF_CORE_READ_STR_INTO(&v->comm, p, group_leader, comm);
	else
		BPF_CORE_READ_STR_INTO(&v->comm, p, comm);
	if (cfg_matrix) {
		static const __u64 none;
		struct sched_cell c = { .from = from, .to = (__u32)dest };
		__u64 *n = bpf_map_lookup_elem(&cells, &c);

		if (!n) {
			bpf_map_update_elem(&cells, &c, &none, BPF_NOEXIST);
			n = bpf_map_lookup_elem(&cells, &c);
		}
		if (n)
			__sync_fetch_and_add(n, 1);
		else
			count_miss();
	}
	return 0;
}

/* sched_switch(bool preempt, prev, next[, prev_state since 5.18]) */
KT_TP_BOTH(sched_switch, switch)
{
	return on_switch((bool)ctx[0], (struct task_struct *)ctx[1], (struct task_struct *)ctx[2]);
}

/* sched_migrate_task(struct task_struct *p, int dest_cpu) */
KT_TP_BOTH(sched_migrate_task, migrate)
{
	return on_migrate((struct task_struct *)ctx[0], (int)ctx[1]);
}

char LICENSE[] SEC("license") = "GPL";
