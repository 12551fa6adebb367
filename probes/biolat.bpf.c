// SPDX-License-Identifier: GPL-2.0
/*
 * biolat: block I/O latency as log2 histograms.
 *
 * A request's start is taken at block_rq_issue (device time) or, with -Q, at
 * block_rq_insert (time queued in the OS included); block_rq_complete closes
 * it; block_rq_merge forgets a request that was merged into another. Filters
 * (disk, cgroup) run when the request starts, in the submitter's context,
 * never on completion in IRQ context. Cost: one hash update per request start
 * and one lookup/delete plus an atomic add per completion.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "biolat.h"
#include "kt_blk.bpf.h"

const volatile bool cfg_queued = false;
const volatile bool cfg_per_disk = false;
const volatile bool cfg_per_flags = false;
const volatile bool cfg_ms = false;
const volatile __u32 cfg_dev = 0;
/* Before 5.11, block_rq_insert and block_rq_issue took (q, rq) instead of (rq). */
const volatile bool cfg_rq_arg1 = false;

struct start {
	__u64 ts;
	__u32 dev;
	__u32 skip; /* filtered out at insert: issue must not judge it again */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct biolat_key);
	__type(value, struct kt_slots);
} hists SEC(".maps");

/*
 * A request's own start. At insert every field is set afresh and the filters
 * run again: the kernel reuses struct request, and an entry left behind by a
 * request that never completed (merged away) must neither lend its start time
 * nor its filter verdict to the next request at that address. At issue, an
 * entry made at insert keeps its verdict (the submitter is current only at
 * insert, a dispatching kworker may be in any cgroup) and, without -Q, its
 * clock restarts. A request first seen at issue was issued directly, from
 * its submitter.
 */
static __always_inline int on_start(struct request *rq, bool insert)
{
	__u64 key = (__u64)rq;
	struct start *s, n = {};
	__u32 disk;

	if (!insert) {
		s = bpf_map_lookup_elem(&starts, &key);
		if (s) {
			if (!cfg_queued)
				s->ts = bpf_ktime_get_ns();
			return 0;
		}
	}
	n.dev = kt_rq_dev(rq, &disk);
	if (cfg_dev && n.dev != cfg_dev && disk != cfg_dev) {
		/* the same verdict at issue: no entry needed */
		if (insert)
			bpf_map_delete_elem(&starts, &key);
		return 0;
	}
	if (!kt_filter_current()) {
		/* remembered: at issue another task may be current */
		if (insert) {
			n.skip = 1;
			bpf_map_update_elem(&starts, &key, &n, BPF_ANY);
		}
		return 0;
	}
	n.ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &key, &n, BPF_ANY);
	return 0;
}

/*
 * A request merged into another one is freed without block_rq_complete: its
 * start goes with it (the request it joined keeps its own start).
 */
static __always_inline int on_merge(struct request *rq)
{
	__u64 key = (__u64)rq;

	bpf_map_delete_elem(&starts, &key);
	return 0;
}

static __always_inline int on_done(struct request *rq)
{
	static const struct kt_slots zero;
	__u64 key = (__u64)rq, delta;
	struct biolat_key hk = {};
	struct kt_slots *h;
	struct start *s;

	s = bpf_map_lookup_elem(&starts, &key);
	if (!s)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	if (cfg_per_disk)
		hk.dev = s->dev;
	if (s->skip)
		delta = -1;
	bpf_map_delete_elem(&starts, &key);
	if ((__s64)delta < 0)
		return 0;
	/* raw: user space names the bits from this kernel's enum req_flag_bits */
	if (cfg_per_flags)
		hk.flags = BPF_CORE_READ(rq, cmd_flags);
	h = bpf_map_lookup_elem(&hists, &hk);
	if (!h) {
		bpf_map_update_elem(&hists, &hk, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &hk);
		if (!h)
			return 0;
	}
	delta /= cfg_ms ? 1000000 : 1000;
	kt_slot_add(h, kt_log2(delta), 1);
	return 0;
}

static __always_inline struct request *rq_arg(__u64 *ctx)
{
	return kt_rq_arg(ctx, cfg_rq_arg1);
}

KT_TP_BOTH(block_rq_insert, insert)
{
	return on_start(rq_arg(ctx), true);
}

KT_TP_BOTH(block_rq_issue, issue)
{
	return on_start(rq_arg(ctx), false);
}

KT_TP_BOTH(block_rq_merge, merge)
{
	return on_merge(rq_arg(ctx));
}

KT_TP_BOTH(block_rq_complete, complete)
{
	return on_done((struct request *)ctx[0]);
}

char LICENSE[] SEC("license") = "GPL";
