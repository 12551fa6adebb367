// SPDX-License-Identifier: GPL-2.0
/*
 * biotop: block I/O per process, device and operation, counted in the kernel.
 *
 * Requests are tracked by kt_blk.bpf.h (shared with biosnoop): the submitter
 * (pid, comm) and the filters are taken at block_rq_insert, or at
 * block_rq_issue for a request issued directly, where the submitter is the
 * current task; block_rq_issue stamps the issue time and the size;
 * block_rq_merge forgets a request merged into another; block_rq_complete
 * adds the request to its row (I/Os, bytes, issue -> completion time).
 * Cost: one hash update per insert/issue, one lookup/delete and three atomic
 * adds per completion.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "kt_blk.bpf.h"
#include "biotop.h"

const volatile __u32 cfg_dev = 0;
/* Bits of rq->cmd_flags below the first REQ_ flag: the operation (8 on every kernel so far). */
const volatile __u32 cfg_op_bits = 8;
/* Before 5.11, block_rq_insert and block_rq_issue took (q, rq) instead of (rq). */
const volatile bool cfg_rq_arg1 = false;

KT_BLK_DEFINE_REQS();

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BIOTOP_MAX_ROWS);
	__type(key, struct biotop_key);
	__type(value, struct biotop_val);
} counts SEC(".maps");

/* Requests that could not be counted: a table was full (user space reports them). */
KT_DEFINE_PERCPU_U64(misses);

static __always_inline int on_complete(struct request *rq)
{
	static const struct biotop_val zero;
	__u64 now = bpf_ktime_get_ns();
	struct biotop_key k = {};
	struct biotop_val *v;
	struct kt_blk_req *r;
	bool no_issue = false;
	__u32 bytes;

	r = kt_blk_complete(&reqs, rq, now, &no_issue);
	if (!r)
		return 0;
	/* a request whose issue was missed still counts, without a latency */
	bytes = no_issue ? BPF_CORE_READ(rq, __data_len) : r->bytes;
	k.pid = r->pid;
	k.dev = r->dev;
	k.op = BPF_CORE_READ(rq, cmd_flags) & ((1U << (cfg_op_bits & 31)) - 1);
	__builtin_memcpy(k.comm, r->comm, sizeof(k.comm));
	v = bpf_map_lookup_elem(&counts, &k);
	if (!v) {
		bpf_map_update_elem(&counts, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&counts, &k);
	}
	if (v) {
		__sync_fetch_and_add(&v->ios, 1);
		__sync_fetch_and_add(&v->bytes, bytes);
		if (!no_issue) {
			__sync_fetch_and_add(&v->lat_ns, now - r->issue_ts);
			__sync_fetch_and_add(&v->lat_n, 1);
		}
	} else {
		kt_count_drop(&misses);
	}
	kt_blk_done(&reqs, rq);
	return 0;
}

KT_TP_BOTH(block_rq_insert, insert)
{
	kt_blk_insert(&reqs, &misses, kt_rq_arg(ctx, cfg_rq_arg1), cfg_dev);
	return 0;
}

KT_TP_BOTH(block_rq_issue, issue)
{
	kt_blk_issue(&reqs, &misses, kt_rq_arg(ctx, cfg_rq_arg1), cfg_dev);
	return 0;
}

KT_TP_BOTH(block_rq_merge, merge)
{
	kt_blk_merge(&reqs, kt_rq_arg(ctx, cfg_rq_arg1));
	return 0;
}

KT_TP_BOTH(block_rq_complete, complete)
{
	return on_complete((struct request *)ctx[0]);
}

char LICENSE[] SEC("license") = "GPL";
