// SPDX-License-Identifier: GPL-2.0
/*
 * offcpu: time tasks spend blocked off-CPU, summed by stack.
 *
 * At sched_switch the task being switched out (prev, which is still
 * current) gets its start time and its kernel and user stack ids recorded;
 * when a later sched_switch runs it again (next), the time it was off-CPU
 * is added to its (process, thread, stacks) entry if it lies within the
 * -m/-M bounds. Cost: one or two stack walks and a hash update per context
 * switch of a matching task, plus a lookup per context switch.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "offcpu.h"

const volatile bool cfg_user_threads_only = false;
const volatile bool cfg_kernel_threads_only = false;
const volatile bool cfg_kernel_stacks = true;
const volatile bool cfg_user_stacks = true;
const volatile __u32 cfg_state = OFFCPU_ANY_STATE;
const volatile __u64 cfg_min_ns = 1000;
const volatile __u64 cfg_max_ns = (__u64)-1;
const volatile bool cfg_unwind_dwarf = false;

KT_DEFINE_STREAM();

/* where an OFFCPU_REC_OUT record is built: the record, then the stack copy */
struct out_buf {
	__u8 raw[sizeof(struct offcpu_out) + KT_USTACK_COPY_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct out_buf);
} out_bufs SEC(".maps");

#define PF_KTHREAD 0x00200000
#define TASK_DEAD  0x00000080 /* __state of a task's final switch; the same value since 4.14 */

struct start {
	__u64 ts;
	struct offcpu_key key;
};

/*
 * Tasks off-CPU now, by thread id: one entry per blocked thread of the
 * traced set, removed when it runs again, never made for an exiting task's
 * last switch. Bound: 32768 threads blocked at once (about 3 MB); beyond,
 * the waits are counted as uncounted and reported.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct offcpu_key);
	__type(value, struct offcpu_val);
} times SEC(".maps");

/* a per-CPU scratch start record: too big for the 512-byte BPF stack with the key copies */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct start);
} scratch SEC(".maps");

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

static __always_inline bool wanted(struct task_struct *t, bool preempt)
{
	__u32 tid = BPF_CORE_READ(t, pid);
	bool kthread = BPF_CORE_READ(t, flags) & PF_KTHREAD;

	if (!tid)
		return false;
	if (!kt_filter_task(t))
		return false;
	if (cfg_user_threads_only && kthread)
		return false;
	if (cfg_kernel_threads_only && !kthread)
		return false;
	if (cfg_state != OFFCPU_ANY_STATE) {
		/* the report bits only: drop TASK_WAKEKILL, TASK_NOLOAD and friends */
		unsigned int st = preempt ? 0 : task_state(t) & 0x7f;

		if (st != cfg_state)
			return false;
	}
	return true;
}

/* --unwind dwarf: the blocking task (current) with its user registers and stack copy */
static __always_inline void send_out(__s64 kstack)
{
	struct offcpu_out *rec;
	__u32 zero = 0, got;

	rec = bpf_map_lookup_elem(&out_bufs, &zero);
	if (!rec)
		return;
	rec->kstack = kstack;
	rec->u.flags = 0;
	kt_ustack_entry_regs(&rec->u);
	got = kt_ustack_copy(&rec->u, rec->data);
	if (got > KT_USTACK_COPY_MAX)
		return;
	kt_hdr_fill(&rec->hdr, OFFCPU_REC_OUT, sizeof(*rec) + got);
	if (bpf_ringbuf_output(&events, rec, sizeof(*rec) + got, 0))
		kt_count_drop(&drops);
}

/* --unwind dwarf: @next ran again after a block of @delta ns whose stack was streamed */
static __always_inline void send_in(struct task_struct *next, __u64 delta)
{
	struct offcpu_in *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

	if (!r) {
		kt_count_drop(&drops);
		return;
	}
	r->hdr.ts = bpf_ktime_get_ns();
	r->hdr.type = OFFCPU_REC_IN;
	r->hdr.size = sizeof(*r);
	r->hdr.pid = BPF_CORE_READ(next, tgid);
	r->hdr.tid = BPF_CORE_READ(next, pid);
	r->hdr.cpu = bpf_get_smp_processor_id();
	r->hdr.uid = 0;
	BPF_CORE_READ_STR_INTO(&r->hdr.comm, next, comm);
	r->delta_ns = delta;
	bpf_ringbuf_submit(r, 0);
}

static __always_inline int on_switch(void *ctx, bool preempt, struct task_struct *prev,
				     struct task_struct *next)
{
	struct offcpu_val *v, one = {};
	struct start *s;
	__u32 zero = 0, tid;
	__u64 delta;

	/*
	 * A task's last switch (it exited) starts no wait: it would never
	 * end, and its entry would stay in starts forever (a fork storm once
	 * left 16029 of 16047 entries stale, and with pid_max at 4 M the map
	 * fills and stays full).
	 */
	if (!preempt && (task_state(prev) & TASK_DEAD))
		goto next;
	if (wanted(prev, preempt)) {
		s = bpf_map_lookup_elem(&scratch, &zero);
		if (s) {
			bool kthread = BPF_CORE_READ(prev, flags) & PF_KTHREAD;

			s->key.tgid = BPF_CORE_READ(prev, tgid);
			s->key.tid = BPF_CORE_READ(prev, pid);
			bpf_get_current_comm(s->key.comm, sizeof(s->key.comm));
			/* prev is current here: its stacks are the ones where it blocked */
			s->key.kstack = cfg_kernel_stacks ? kt_stack_id(ctx, false, false) : -1;
			/* an exiting task has dropped its memory: no user stack to read */
			/*
			 * before 5.15 (no bpf_task_pt_regs) a blocked task's user
			 * registers cannot be had: its user stack is walked by
			 * frame pointers, as without --unwind dwarf
			 */
			if (cfg_unwind_dwarf && cfg_user_stacks && !kthread &&
			    bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs) &&
			    BPF_CORE_READ(prev, mm)) {
				s->key.ustack = OFFCPU_USTACK_STREAMED;
				send_out(s->key.kstack);
			} else {
				s->key.ustack = cfg_user_stacks && !kthread &&
							BPF_CORE_READ(prev, mm) ?
							kt_stack_id(ctx, true, false) : -1;
			}
			s->ts = bpf_ktime_get_ns();
			tid = s->key.tid;
			if (bpf_map_update_elem(&starts, &tid, s, BPF_ANY))
				kt_count_uncounted();
			if (!kthread)
				kt_announce_current();
		}
	}

next:
	tid = BPF_CORE_READ(next, pid);
	s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	if ((__s64)delta >= 0 && delta >= cfg_min_ns && delta <= cfg_max_ns &&
	    s->key.ustack == OFFCPU_USTACK_STREAMED) {
		send_in(next, delta);
	} else if ((__s64)delta >= 0 && delta >= cfg_min_ns && delta <= cfg_max_ns) {
		v = bpf_map_lookup_elem(&times, &s->key);
		if (!v) {
			bpf_map_update_elem(&times, &s->key, &one, BPF_NOEXIST);
			v = bpf_map_lookup_elem(&times, &s->key);
		}
		if (v) {
			__sync_fetch_and_add(&v->total_ns, delta);
			__sync_fetch_and_add(&v->count, 1);
		} else {
			kt_count_uncounted();
		}
	}
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

/* sched_switch(bool preempt, prev, next[, prev_state since 5.18]) */
SEC("tp_btf/sched_switch")
int switch_btf(__u64 *ctx)
{
	return on_switch(ctx, (bool)ctx[0], (struct task_struct *)ctx[1],
			 (struct task_struct *)ctx[2]);
}

SEC("raw_tp/sched_switch")
int switch_raw(__u64 *ctx)
{
	return on_switch(ctx, (bool)ctx[0], (struct task_struct *)ctx[1],
			 (struct task_struct *)ctx[2]);
}

char LICENSE[] SEC("license") = "GPL";
