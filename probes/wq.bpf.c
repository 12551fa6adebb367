// SPDX-License-Identifier: GPL-2.0
/*
 * wq: work items per work function and workqueue: count, run time and
 * queueing delay.
 *
 * workqueue_queue_work(req_cpu, pwq, work) starts the clock of a work item
 * and names its workqueue (pwq->wq->name); pending[work] keeps both until
 * workqueue_execute_start(work), which moves them to running[work, thread]
 * with the start time and work->func; workqueue_execute_end(work) adds
 * the run to stats[function, workqueue]. The work pointer, not the function, keys
 * the pending table: many items share a function. A work item can be
 * cancelled after it was queued (no tracepoint says so), so pending is an
 * LRU hash: an item it forgot runs without a queueing delay and with no
 * workqueue name, and user space counts those runs (count - queued).
 * running is keyed by work pointer and thread (see there), LRU as well: a
 * worker cannot exit in the middle of an item, but nothing would leak.
 * Cost: a hash update per queued item, two lookups and a few adds per
 * run; busy servers run tens of thousands of work items per second.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "wq.h"

const volatile bool cfg_ms = false;

struct pending {
	__u64 queued_ns;
	char wq[WQ_NAME_LEN];
};

struct running {
	__u64 start_ns;
	__u64 func;
	__u64 delay_ns; /* valid when queued */
	__u64 queued;
	char wq[WQ_NAME_LEN];
};

/* Queued work items not yet running, by work pointer: 16384 x ~72 B = ~1.2 MiB. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pending);
} pending SEC(".maps");

/*
 * Running work items, by work pointer and thread: the thread because a
 * BH work item (6.9+) runs in a softirq on top of whatever thread was
 * running, possibly a kworker in the middle of its own item; the work
 * pointer because that kworker's item is another one. 4096 x ~90 B = ~0.4 MiB.
 */
struct run_key {
	__u64 work;
	__u32 tid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct run_key);
	__type(value, struct running);
} running SEC(".maps");

/* The table user space drains: 2048 x ~1.1 KiB = ~2.2 MiB. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2048);
	__type(key, struct wq_key);
	__type(value, struct wq_val);
} stats SEC(".maps");

/* Runs that could not be counted: the stats table was full. */
KT_DEFINE_PERCPU_U64(misses);

static __always_inline void miss(void)
{
	__u32 z = 0;
	__u64 *n = bpf_map_lookup_elem(&misses, &z);

	if (n)
		*n += 1;
}

static __always_inline int on_queue(struct pool_workqueue *pwq, struct work_struct *work)
{
	struct pending p = { .queued_ns = bpf_ktime_get_ns() };
	__u64 key = (__u64)work;
	const char *name = (const char *)BPF_CORE_READ(pwq, wq, name);

	/* name is an array inside struct workqueue_struct: its address is never NULL */
	bpf_probe_read_kernel_str(p.wq, sizeof(p.wq), name);
	bpf_map_update_elem(&pending, &key, &p, BPF_ANY);
	return 0;
}

static __always_inline int on_start(struct work_struct *work)
{
	struct run_key rk = { .work = (__u64)work, .tid = (__u32)bpf_get_current_pid_tgid() };
	__u64 key = (__u64)work, now = bpf_ktime_get_ns();
	struct running r = { .start_ns = now, .func = (__u64)BPF_CORE_READ(work, func) };
	struct pending *p;

	p = bpf_map_lookup_elem(&pending, &key);
	if (p) {
		if (now > p->queued_ns)
			r.delay_ns = now - p->queued_ns;
		r.queued = 1;
		__builtin_memcpy(r.wq, p->wq, sizeof(r.wq));
		bpf_map_delete_elem(&pending, &key);
	}
	/* an LRU map makes room: the update cannot fail for want of space */
	bpf_map_update_elem(&running, &rk, &r, BPF_ANY);
	return 0;
}

static __always_inline int on_end(struct work_struct *work)
{
	static const struct wq_val zero;
	struct run_key rk = { .work = (__u64)work, .tid = (__u32)bpf_get_current_pid_tgid() };
	__u64 now = bpf_ktime_get_ns(), run, div = cfg_ms ? 1000000 : 1000;
	struct wq_key key = {};
	struct running *r;
	struct wq_val *v;

	r = bpf_map_lookup_elem(&running, &rk);
	if (!r)
		return 0; /* started before ktrace attached */
	run = now - r->start_ns;
	key.func = r->func;
	__builtin_memcpy(key.wq, r->wq, sizeof(key.wq));
	v = bpf_map_lookup_elem(&stats, &key);
	if (!v) {
		bpf_map_update_elem(&stats, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&stats, &key);
		if (!v) {
			miss();
			goto out;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->run_ns, run);
	if (run > v->run_max_ns)
		v->run_max_ns = run;
	kt_slot_add(&v->run_slots, kt_log2(run / div), 1);
	if (r->queued) {
		__u64 d = r->delay_ns;

		__sync_fetch_and_add(&v->queued, 1);
		__sync_fetch_and_add(&v->delay_ns, d);
		if (d > v->delay_max_ns)
			v->delay_max_ns = d;
		kt_slot_add(&v->delay_slots, kt_log2(d / div), 1);
	}
out:
	bpf_map_delete_elem(&running, &rk);
	return 0;
}

/* workqueue_queue_work(int req_cpu, struct pool_workqueue *pwq, struct work_struct *work) */
KT_TP_BOTH(workqueue_queue_work, queue)
{
	return on_queue((struct pool_workqueue *)ctx[1], (struct work_struct *)ctx[2]);
}

/* workqueue_execute_start(struct work_struct *work) */
KT_TP_BOTH(workqueue_execute_start, start)
{
	return on_start((struct work_struct *)ctx[0]);
}

/*
 * workqueue_execute_end(struct work_struct *work, work_func_t function):
 * the item may have been freed (or reused) by its own function, so only
 * its address is used, as a key; the function was read at execute_start
 * (tp_btf could not read the function argument anyway: the verifier
 * refuses a pointer to a function prototype in the context).
 */
KT_TP_BOTH(workqueue_execute_end, end)
{
	return on_end((struct work_struct *)ctx[0]);
}

char LICENSE[] SEC("license") = "GPL";
