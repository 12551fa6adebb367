// SPDX-License-Identifier: GPL-2.0
/*
 * syscalls: counts, errors, total and maximum latency per system call (and
 * per process with -P).
 *
 * raw_syscalls sys_enter records when (and which call) a thread entered, in
 * the thread's task storage (5.12+: a pointer away, freed with the task) or
 * else in an LRU map keyed by thread id (a thread that never returns,
 * exit_group or a thread killed in a call, is evicted by newer ones);
 * sys_exit takes that entry and adds the call to its row. Filters come first: a task or a call
 * the user did not ask for costs one test on entry and one failed lookup on
 * exit. Cost: every system call of the machine runs both hooks, ~100-200 ns.
 * --hist adds a log2 histogram (usecs) per row in a second map; --slower
 * counts nothing and sends each call at least that slow to the ring buffer.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "syscalls.h"

const volatile bool cfg_per_process = false;
const volatile bool cfg_failed = false;	    /* only calls that returned an error */
const volatile __s32 cfg_errno = 0;	    /* only calls that returned -cfg_errno */
const volatile bool cfg_select = false;	    /* only calls in cfg_calls */
const volatile __u8 cfg_calls[SYSCALLS_MAX_NR] = {};
const volatile __u32 cfg_self = 0;	    /* ktrace's own process: its polling is not news */
const volatile bool cfg_hist = false;	    /* --hist: a log2 histogram (usecs) per row */
const volatile __u64 cfg_slower_ns = 0;	    /* --slower: stream calls this slow, count nothing */

KT_DEFINE_STREAM(); /* --slower only: core shrinks it to a page otherwise */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct syscalls_start);
} starts SEC(".maps");

/* The same in task storage (the *_ts programs); user space creates one of the two. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct syscalls_start);
} task_starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct syscalls_key);
	__type(value, struct syscalls_val);
} stats SEC(".maps");

/* Without -P: the rows by call number (struct syscalls_cpu_val). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSCALLS_MAX_NR);
	__type(key, __u32);
	__type(value, struct syscalls_cpu_val);
} cpu_stats SEC(".maps");

/* The current interval, for cpu_stats' max_ns: user space bumps it after each read. */
__u64 gen = 0;

/* --hist: sized by user space (SYSCALLS_HIST_ROWS*), 1 row when unused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct syscalls_key);
	__type(value, struct kt_slots);
} hists SEC(".maps");

/* Calls that could not be counted: the stats (or hists) table was full. */
KT_DEFINE_PERCPU_U64(misses);

/* Is this call of the current task one to time? */
static __always_inline bool wanted(long id)
{
	if (id < 0)
		return false;
	if (cfg_select && (id >= SYSCALLS_MAX_NR || !cfg_calls[id & (SYSCALLS_MAX_NR - 1)]))
		return false;
	/* without task filters, ktrace's own process is the only test (one helper call) */
	if (!kt_filter.tgid && !kt_filter.tid && kt_filter.uid == KT_ANY_UID &&
	    !kt_filter.cgroup_id && !kt_filter.comm_len)
		return (__u32)(bpf_get_current_pid_tgid() >> 32) != cfg_self;
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == cfg_self || !kt_filter_current())
		return false;
	return true;
}

static __always_inline int on_enter(long id)
{
	struct syscalls_start s = {};
	__u32 tid;

	if (!wanted(id))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	s.ts = bpf_ktime_get_ns();
	s.nr = (__u32)id;
	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline void count_miss(void)
{
	__u32 z = 0;
	__u64 *n = bpf_map_lookup_elem(&misses, &z);

	if (n)
		*n += 1;
}

/* --slower: one record per slow call; ring buffer full: counted in "drops". */
static __always_inline int emit_slow(__u32 nr, long ret, __u64 delta)
{
	struct syscalls_event *e;

	if (delta < cfg_slower_ns)
		return 0;
	e = kt_reserve(struct syscalls_event, 0);
	if (!e)
		return 0;
	e->ret = ret;
	e->lat_ns = delta;
	e->nr = nr;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline void hist_add(const struct syscalls_key *key, __u64 delta)
{
	static const struct kt_slots zero;
	struct kt_slots *h;

	h = bpf_map_lookup_elem(&hists, key);
	if (!h) {
		bpf_map_update_elem(&hists, key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, key);
		if (!h) {
			count_miss();
			return;
		}
	}
	kt_slot_add(h, kt_log2(delta / 1000), 1);
}

/* A call of nr that took delta ns returned ret: count it (or stream it). */
static __always_inline int account(__u32 nr, long ret, __u64 delta)
{
	static const struct syscalls_val zero;
	struct syscalls_key key = { .nr = nr };
	struct syscalls_val *v;
	bool err = ret < 0 && ret >= -4095;

	if ((cfg_failed && !err) || (cfg_errno && ret != -(long)cfg_errno))
		return 0;
	if (cfg_slower_ns)
		return emit_slow(key.nr, ret, delta);
	if (!cfg_per_process) {
		struct syscalls_cpu_val *c = bpf_map_lookup_elem(&cpu_stats, &key.nr);
		__u64 g = gen;

		if (!c) /* a number beyond SYSCALLS_MAX_NR */
			goto hash;
		c->count++;
		if (err)
			c->errors++;
		c->total_ns += delta;
		if (c->gen != g) {
			c->gen = g;
			c->max_ns = delta;
		} else if (delta > c->max_ns) {
			c->max_ns = delta;
		}
		if (cfg_hist)
			hist_add(&key, delta);
		return 0;
	}
	key.pid = bpf_get_current_pid_tgid() >> 32;
hash:
	v = bpf_map_lookup_elem(&stats, &key);
	if (!v) {
		bpf_map_update_elem(&stats, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&stats, &key);
		if (!v) {
			count_miss();
			return 0;
		}
		if (cfg_per_process) {
			struct task_struct *t = (struct task_struct *)bpf_get_current_task();

			BPF_CORE_READ_STR_INTO(&v->comm, t, group_leader, comm);
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	if (err)
		__sync_fetch_and_add(&v->errors, 1);
	__sync_fetch_and_add(&v->total_ns, delta);
	if (delta > v->max_ns)
		v->max_ns = delta; /* racy between CPUs: a maximum may be missed by a hair */
	if (cfg_hist)
		hist_add(&key, delta);
	return 0;
}

static __always_inline int on_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct syscalls_start *s;
	__u64 delta;
	__u32 nr;

	s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	nr = s->nr;
	bpf_map_delete_elem(&starts, &tid);
	return account(nr, ret, delta);
}

/* sys_enter(struct pt_regs *regs, long id) */
SEC("tp_btf/sys_enter")
int enter_btf(__u64 *ctx)
{
	return on_enter((long)ctx[1]);
}

/* Task storage: no map update per call, only a store into the task's own slot. */
SEC("tp_btf/sys_enter")
int enter_btf_ts(__u64 *ctx)
{
	struct syscalls_start *s;

	if (!wanted((long)ctx[1]))
		return 0;
	s = bpf_task_storage_get(&task_starts, bpf_get_current_task_btf(), NULL,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (s) {
		s->ts = bpf_ktime_get_ns();
		s->nr = (__u32)ctx[1];
	}
	return 0;
}

SEC("raw_tp/sys_enter")
int enter_raw(__u64 *ctx)
{
	return on_enter((long)ctx[1]);
}

/* sys_exit(struct pt_regs *regs, long ret) */
SEC("tp_btf/sys_exit")
int exit_btf(__u64 *ctx)
{
	return on_exit((long)ctx[1]);
}

SEC("tp_btf/sys_exit")
int exit_btf_ts(__u64 *ctx)
{
	struct syscalls_start *s;
	__u64 ts;

	s = bpf_task_storage_get(&task_starts, bpf_get_current_task_btf(), NULL, 0);
	if (!s || !s->ts)
		return 0;
	ts = s->ts;
	s->ts = 0; /* taken: an exit without its entry (attached in between) is not counted */
	return account(s->nr, (long)ctx[1], bpf_ktime_get_ns() - ts);
}

SEC("raw_tp/sys_exit")
int exit_raw(__u64 *ctx)
{
	return on_exit((long)ctx[1]);
}

char LICENSE[] SEC("license") = "GPL";
