// SPDX-License-Identifier: GPL-2.0
/*
 * memstall: time tasks spend stalled in the kernel's memory paths.
 *
 * A stall is a begin/end tracepoint pair run by the stalled task itself:
 *  - direct reclaim: mm_vmscan_direct_reclaim_begin(order, gfp) /
 *    _end(nr_reclaimed) around try_to_free_pages();
 *  - memory-cgroup reclaim: mm_vmscan_memcg_reclaim_begin/_end around
 *    try_to_free_mem_cgroup_pages(). cgroup v1 (limit_in_bytes) and v2
 *    (memory.max, and memory.high's reclaim on return to user space) both
 *    go through it: v2 has no tracepoint of its own. The softlimit
 *    variant runs inside kswapd's and direct reclaim and is not counted
 *    twice;
 *  - compaction: mm_compaction_begin/_end around compact_zone(), for
 *    direct compaction in the allocating task and for kcompactd.
 * Arguments across kernels: the reclaim pairs have had (int order, gfp_t)
 * and (unsigned long nr_reclaimed) since 5.x and still have; the
 * compaction pair changed (5.10: zone_start, migrate_pfn, free_pfn,
 * zone_end, sync[, status]; 6.x: struct compact_control *cc, zone_start,
 * zone_end, sync[, status]): its arguments are not read.
 * A begin and its end run in the same task; the in-flight table is keyed by
 * thread and kind and every end deletes its entry. The ends are attached
 * before the begins (the hooks' order in cmd/memstall.c), so an entry
 * never waits for an end that is not there. Filters apply to the stalled
 * task (current at begin). Cost: a hash update per begin, a lookup, a
 * delete and a few adds per end; reclaim runs at most thousands of times
 * per second even on a machine short of memory.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "memstall.h"

KT_DEFINE_STREAM();

/* --slower: stream each stall at least this long instead of aggregating; 0: aggregate */
const volatile __u64 cfg_slower_ns = 0;

/* In flight, per thread and kind: 16384 entries (about 0.6 MB), each deleted by its end. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct memstall_start_key);
	__type(value, struct memstall_start);
} starts SEC(".maps");

/* Per process, kind and memory cgroup: 8192 rows (about 4.5 MB), drained each interval. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct memstall_key);
	__type(value, struct memstall_val);
} stats SEC(".maps");

/*
 * A stall that could not be counted (a table was full) or streamed (the ring
 * buffer was full) is a drop: core reports it as "not counted" or "lost".
 */
static __always_inline void count_miss(void)
{
	kt_count_drop(&drops);
}

/* The kernfs id (= inode) of the current task's memory cgroup, v1 or v2; 0 without memcg. */
static __always_inline __u64 current_memcg(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct cgroup_subsys_state *css = NULL;
	struct css_set *cs;
	int id;

	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return 0;
	id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	if (id < 0 || id >= 16)
		return 0;
	cs = BPF_CORE_READ(t, cgroups);
	if (!cs || bpf_core_read(&css, sizeof(css), &cs->subsys[id]) || !css)
		return 0;
	return BPF_CORE_READ(css, cgroup, kn, id);
}

static __always_inline int begin(__u32 kind, int order)
{
	struct memstall_start_key k = { .tid = (__u32)bpf_get_current_pid_tgid(), .kind = kind };
	struct memstall_start s = { .ts = bpf_ktime_get_ns(), .order = order };

	if (!kt_filter_current())
		return 0;
	if (bpf_map_update_elem(&starts, &k, &s, BPF_ANY))
		count_miss();
	return 0;
}

static __always_inline int end(__u32 kind, __u64 pages)
{
	static const struct memstall_val zero;
	struct memstall_start_key k = { .tid = (__u32)bpf_get_current_pid_tgid(), .kind = kind };
	struct memstall_key key = { .pid = bpf_get_current_pid_tgid() >> 32, .kind = kind };
	struct memstall_start *s;
	struct memstall_val *v;
	__u64 delta;
	int order;

	s = bpf_map_lookup_elem(&starts, &k);
	if (!s)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	order = s->order;
	bpf_map_delete_elem(&starts, &k);
	if ((__s64)delta < 0)
		return 0;
	key.memcg = current_memcg();
	if (cfg_slower_ns) {
		struct memstall_event *e;

		if (delta < cfg_slower_ns)
			return 0;
		e = kt_reserve(struct memstall_event, 0);
		if (!e)
			return 0;
		e->delta_ns = delta;
		e->pages = pages;
		e->memcg = key.memcg;
		e->kind = kind;
		e->order = order;
		bpf_ringbuf_submit(e, 0);
		return 0;
	}
	v = bpf_map_lookup_elem(&stats, &key);
	if (!v) {
		bpf_map_update_elem(&stats, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&stats, &key);
		if (!v) {
			count_miss();
			return 0;
		}
	}
	bpf_get_current_comm(v->comm, sizeof(v->comm));
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->total_ns, delta);
	/*
	 * Not for compaction's constant 0: clang turns an atomic add of 0 into
	 * an atomic fetch-or, an instruction the 5.10 verifier refuses.
	 */
	if (pages)
		__sync_fetch_and_add(&v->pages, pages);
	if (delta > v->max_ns)
		v->max_ns = delta;
	kt_slot_add(&v->slots, kt_log2(delta / 1000), 1);
	return 0;
}

/*
 * Three programs per tracepoint, one per attach type: tp_btf and raw_tp read
 * the raw arguments, the tracepoint its trace record (CO-RE by field name).
 */
#define RECLAIM_PAIR(name, kind)                                                                   \
	SEC("tp_btf/mm_vmscan_" #name "_begin")                                                    \
	int name##_begin_btf(__u64 *ctx) { return begin(kind, (int)ctx[0]); }                     \
	SEC("raw_tp/mm_vmscan_" #name "_begin")                                                    \
	int name##_begin_raw(__u64 *ctx) { return begin(kind, (int)ctx[0]); }                      \
	SEC("tracepoint/vmscan/mm_vmscan_" #name "_begin")                                         \
	int name##_begin_tp(struct trace_event_raw_mm_vmscan_direct_reclaim_begin_template *ctx)  \
	{                                                                                          \
		return begin(kind, BPF_CORE_READ(ctx, order));                                     \
	}                                                                                          \
	SEC("tp_btf/mm_vmscan_" #name "_end")                                                      \
	int name##_end_btf(__u64 *ctx) { return end(kind, ctx[0]); }                               \
	SEC("raw_tp/mm_vmscan_" #name "_end")                                                      \
	int name##_end_raw(__u64 *ctx) { return end(kind, ctx[0]); }                               \
	SEC("tracepoint/vmscan/mm_vmscan_" #name "_end")                                           \
	int name##_end_tp(struct trace_event_raw_mm_vmscan_direct_reclaim_end_template *ctx)      \
	{                                                                                          \
		return end(kind, BPF_CORE_READ(ctx, nr_reclaimed));                                \
	}

RECLAIM_PAIR(direct_reclaim, MS_DIRECT)
RECLAIM_PAIR(memcg_reclaim, MS_MEMCG)

KT_TP_BOTH(mm_compaction_begin, compact_begin)
{
	return begin(MS_COMPACT, -1);
}

SEC("tracepoint/compaction/mm_compaction_begin")
int compact_begin_tp(void *ctx)
{
	return begin(MS_COMPACT, -1);
}

KT_TP_BOTH(mm_compaction_end, compact_end)
{
	return end(MS_COMPACT, 0);
}

SEC("tracepoint/compaction/mm_compaction_end")
int compact_end_tp(void *ctx)
{
	return end(MS_COMPACT, 0);
}

char LICENSE[] SEC("license") = "GPL";
