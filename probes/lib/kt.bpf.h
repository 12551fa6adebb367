/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF-only helpers shared by every probe: the common filters, histogram slot
 * math, the stream record header and the per-CPU drop counter.
 *
 * Conventions that core relies on:
 *  - a stream's ring buffer map is called "events" (core sizes it);
 *  - a stream's drop counter is the per-CPU array "drops" (core reads it);
 *  - the common filters are the read-only global "kt_filter", set by core
 *    before load; a command's own settings are read-only globals cfg_*.
 */
#ifndef KT_BPF_H
#define KT_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "kt_common.h"

/*
 * One per-CPU u64 (a single slot): a counter user space sums over the CPUs,
 * e.g. a summary's "misses" (kt_map_take_percpu_u64()) or a stream's "drops".
 */
#define KT_DEFINE_PERCPU_U64(name)                                                                 \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                                           \
		__uint(max_entries, 1);                                                            \
		__type(key, __u32);                                                                \
		__type(value, __u64);                                                              \
	} name SEC(".maps")

#define KT_DEFINE_STREAM()                                                                         \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                                                \
		__uint(max_entries, 1 << 22);                                                      \
	} events SEC(".maps");                                                                     \
	KT_DEFINE_PERCPU_U64(drops)

/*
 * The common filters, set by core from the command's options (see struct
 * kt_filter_cfg). A probe picks the task they apply to:
 * kt_filter_current() for the task running the hook, kt_filter_task(t)
 * for another one (the woken task, the one switched out); network commands
 * test the flow with kt_filter_flow(). The KT_F_* mask
 * selects which filters to test there (e.g. exec tests the command name
 * only once the new image has its comm); a constant mask costs nothing.
 */
const volatile struct kt_filter_cfg kt_filter = { .uid = KT_ANY_UID };

/* Does comm contain the filter's string? */
static __always_inline bool kt_filter_comm(const char *comm)
{
	__u32 n = kt_filter.comm_len;

	if (!n)
		return true;
	for (__u32 i = 0; i + n <= KT_TASK_COMM_LEN; i++) {
		__u32 j;

		for (j = 0; j < n && j < KT_TASK_COMM_LEN; j++)
			if (comm[(i + j) & (KT_TASK_COMM_LEN - 1)] != kt_filter.comm[j])
				break;
		if (j == n)
			return true;
	}
	return false;
}

/* Is t in the filter's cgroup-v2 or below it (as bpf_current_task_under_cgroup)? */
static __always_inline bool kt_filter_cgroup(struct task_struct *t)
{
	struct cgroup *cg = BPF_CORE_READ(t, cgroups, dfl_cgrp);

	for (int i = 0; i < KT_CGROUP_MAX_DEPTH && cg; i++) {
		struct cgroup_subsys_state *parent;

		if (BPF_CORE_READ(cg, kn, id) == kt_filter.cgroup_id)
			return true;
		parent = BPF_CORE_READ(cg, self.parent);
		if (!parent)
			break;
		cg = BPF_CORE_READ(parent, cgroup);
	}
	return false;
}

/* The filters in which, for the task t (not necessarily current). */
static __always_inline bool kt_filter_task_mask(struct task_struct *t, unsigned which)
{
	if ((which & KT_F_PID) && kt_filter.tgid && (__u32)BPF_CORE_READ(t, tgid) != kt_filter.tgid)
		return false;
	if ((which & KT_F_TID) && kt_filter.tid && (__u32)BPF_CORE_READ(t, pid) != kt_filter.tid)
		return false;
	if ((which & KT_F_UID) && kt_filter.uid != KT_ANY_UID &&
	    BPF_CORE_READ(t, cred, uid.val) != kt_filter.uid)
		return false;
	if ((which & KT_F_CGROUP) && kt_filter.cgroup_id && !kt_filter_cgroup(t))
		return false;
	if ((which & KT_F_COMM) && kt_filter.comm_len) {
		char comm[KT_TASK_COMM_LEN];

		BPF_CORE_READ_STR_INTO(&comm, t, comm);
		if (!kt_filter_comm(comm))
			return false;
	}
	return true;
}

static __always_inline bool kt_filter_task(struct task_struct *t)
{
	return kt_filter_task_mask(t, KT_F_ALL);
}

/* The filters in which, for the current task (helpers where they are cheaper). */
static __always_inline bool kt_filter_current_mask(unsigned which)
{
	__u64 id = bpf_get_current_pid_tgid();

	if ((which & KT_F_PID) && kt_filter.tgid && (id >> 32) != kt_filter.tgid)
		return false;
	if ((which & KT_F_TID) && kt_filter.tid && (__u32)id != kt_filter.tid)
		return false;
	if ((which & KT_F_UID) && kt_filter.uid != KT_ANY_UID &&
	    (__u32)bpf_get_current_uid_gid() != kt_filter.uid)
		return false;
	if ((which & KT_F_CGROUP) && kt_filter.cgroup_id &&
	    bpf_get_current_cgroup_id() != kt_filter.cgroup_id &&
	    !kt_filter_cgroup((struct task_struct *)bpf_get_current_task()))
		return false;
	if ((which & KT_F_COMM) && kt_filter.comm_len) {
		char comm[KT_TASK_COMM_LEN];

		bpf_get_current_comm(comm, sizeof(comm));
		if (!kt_filter_comm(comm))
			return false;
	}
	return true;
}

static __always_inline bool kt_filter_current(void)
{
	return kt_filter_current_mask(KT_F_ALL);
}

/* The flow filters (-4/-6, --lport, --rport); ports in host order. */
static __always_inline bool kt_filter_flow(__u16 family, __u16 lport, __u16 rport)
{
	if (kt_filter.family && family != kt_filter.family)
		return false;
	if (kt_filter.lport && lport != kt_filter.lport)
		return false;
	if (kt_filter.rport && rport != kt_filter.rport)
		return false;
	return true;
}

/* floor(log2(v)), 0 for v <= 1: slot 0 = [0,1], slot i = [2^i, 2^(i+1)-1]. */
static __always_inline __u32 kt_log2(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xffffffffULL) << 5;
	v >>= s;
	r |= s;
	s = (v > 0xffff) << 4;
	v >>= s;
	r |= s;
	s = (v > 0xff) << 3;
	v >>= s;
	r |= s;
	s = (v > 0xf) << 2;
	v >>= s;
	r |= s;
	s = (v > 0x3) << 1;
	v >>= s;
	r |= s;
	r |= (v >> 1);
	return r;
}

static __always_inline void kt_slot_add(struct kt_slots *h, __u32 slot, __u64 n)
{
	__u64 i = slot;

	if (i >= KT_MAX_SLOTS)
		i = KT_MAX_SLOTS - 1;
	/*
	 * The 5.10 and 6.1 verifiers lose the bound of the comparison above
	 * (clang compares a copy of the register): hide i from the optimizer
	 * and mask it, a bound every verifier tracks. KT_MAX_SLOTS is a power of 2.
	 */
	asm volatile("" : "+r"(i));
	i &= KT_MAX_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[i], n);
}

static __always_inline void kt_count_drop(void *drops_map)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(drops_map, &zero);

	if (n)
		*n += 1;
}

/* Fill a stream record's common header (size: bytes of the whole record). */
static __always_inline void kt_hdr_fill(struct kt_rec_hdr *h, __u32 rtype, __u32 size)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->ts = bpf_ktime_get_ns();
	h->type = rtype;
	h->size = size;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->cpu = bpf_get_smp_processor_id();
	h->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* Reserve a stream record and fill the common header; NULL (counted) when full. */
#define kt_reserve(type_, rtype)                                                                   \
	({                                                                                         \
		type_ *__r = bpf_ringbuf_reserve(&events, sizeof(type_), 0);                      \
		if (!__r)                                                                          \
			kt_count_drop(&drops);                                                     \
		else                                                                               \
			kt_hdr_fill(&__r->hdr, (rtype), sizeof(type_));                            \
		__r;                                                                               \
	})

/*
 * One tracepoint's program twice, as tp_btf (NAME_btf) and as raw_tp
 * (NAME_raw); the plan picks one. The body that follows the macro is theirs:
 * both get the tracepoint's arguments as ctx[0], ctx[1], ...
 *
 *   KT_TP_BOTH(sched_wakeup, wakeup)
 *   {
 *           return enqueue((struct task_struct *)ctx[0]);
 *   }
 */
#define KT_TP_BOTH(tp, name)                                                                       \
	static __always_inline int name##_body(__u64 *ctx);                                        \
	SEC("tp_btf/" #tp)                                                                         \
	int name##_btf(__u64 *ctx)                                                                 \
	{                                                                                          \
		return name##_body(ctx);                                                           \
	}                                                                                          \
	SEC("raw_tp/" #tp)                                                                         \
	int name##_raw(__u64 *ctx)                                                                 \
	{                                                                                          \
		return name##_body(ctx);                                                           \
	}                                                                                          \
	static __always_inline int name##_body(__u64 *ctx)

/*
 * Send the first size bytes of a record built in the scratch value below
 * (KT_DEFINE_SCRATCH), filling its header: for records
 * whose strings make their length vary, so a short one takes little of the
 * ring buffer. A full ring buffer is counted as a drop.
 */
#define KT_OUTPUT_MAX 16384

/*
 * The per-CPU scratch value such records are built in: the record type,
 * then slack so that kt_output's (and the caller's) masked lengths stay
 * inside. kt_scratch() looks it up (NULL never happens in practice).
 */
#define KT_DEFINE_SCRATCH(type_)                                                                   \
	struct kt_scratch_value {                                                                  \
		type_ rec;                                                                         \
		char slack[KT_OUTPUT_MAX];                                                         \
	};                                                                                         \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                                           \
		__uint(max_entries, 1);                                                            \
		__type(key, __u32);                                                                \
		__type(value, struct kt_scratch_value);                                            \
	} scratch SEC(".maps")

#define kt_scratch()                                                                               \
	({                                                                                         \
		__u32 __zero = 0;                                                                  \
		struct kt_scratch_value *__v = bpf_map_lookup_elem(&scratch, &__zero);             \
		__v ? &__v->rec : NULL;                                                            \
	})

#define kt_output(hdr_, rtype, size_)                                                              \
	({                                                                                         \
		__u64 __sz = (size_);                                                              \
		/* __sz <= KT_OUTPUT_MAX already; the opaque mask is for old verifiers */         \
		asm volatile("" : "+r"(__sz));                                                     \
		__sz &= KT_OUTPUT_MAX - 1;                                                         \
		kt_hdr_fill((hdr_), (rtype), (__u32)__sz);                                         \
		if (bpf_ringbuf_output(&events, (hdr_), __sz, 0))                                  \
			kt_count_drop(&drops);                                                     \
	})

#endif
