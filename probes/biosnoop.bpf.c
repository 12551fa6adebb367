// SPDX-License-Identifier: GPL-2.0
/*
 * biosnoop: one record per completed block request.
 *
 * Requests are tracked by kt_blk.bpf.h (shared with biotop): an entry keyed
 * by the struct request is made at block_rq_insert (or at block_rq_issue for
 * a request issued directly), in the submitter's context, where the task
 * (pid, comm) and the filters are taken; block_rq_issue stamps the issue
 * time; block_rq_merge forgets a request merged into another (freed without a
 * completion); block_rq_complete sends the record and deletes the entry.
 * Cost: one hash update per insert/issue, one lookup/delete and one ring
 * buffer record per completion.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "kt_blk.bpf.h"
#include "biosnoop.h"

const volatile __u32 cfg_dev = 0;
const volatile __u64 cfg_min_ns = 0;
/* --slower judges the queue time too (-Q) */
const volatile bool cfg_queued = false;
/* Before 5.11, block_rq_insert and block_rq_issue took (q, rq) instead of (rq). */
const volatile bool cfg_rq_arg1 = false;

KT_DEFINE_STREAM();

KT_BLK_DEFINE_REQS();

static __always_inline int on_insert(struct request *rq)
{
	kt_blk_insert(&reqs, &drops, rq, cfg_dev);
	return 0;
}

static __always_inline int on_issue(struct request *rq)
{
	kt_blk_issue(&reqs, &drops, rq, cfg_dev);
	return 0;
}

static __always_inline int on_merge(struct request *rq)
{
	kt_blk_merge(&reqs, rq);
	return 0;
}

static __always_inline int on_complete(struct request *rq)
{
	__u64 now = bpf_ktime_get_ns(), queue = 0, lat;
	struct biosnoop_event *e;
	struct kt_blk_req *s;
	bool no_issue = false;

	s = kt_blk_complete(&reqs, rq, now, &no_issue);
	if (!s)
		return 0;
	if (no_issue) {
		/* no device latency to show: lost, and counted */
		kt_count_drop(&drops);
		goto out;
	}
	lat = now - s->issue_ts;
	if (s->insert_ts && s->insert_ts <= s->issue_ts)
		queue = s->issue_ts - s->insert_ts;
	if (cfg_min_ns && lat + (cfg_queued ? queue : 0) < cfg_min_ns)
		goto out;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		kt_count_drop(&drops);
		goto out;
	}
	e->hdr.ts = now;
	e->hdr.type = 0;
	e->hdr.size = sizeof(*e);
	e->hdr.pid = s->pid;
	e->hdr.tid = s->tid;
	e->hdr.uid = s->uid;
	e->hdr.cpu = bpf_get_smp_processor_id();
	__builtin_memcpy(e->hdr.comm, s->comm, sizeof(e->hdr.comm));
	e->sector = s->sector;
	e->bytes = s->bytes;
	e->dev = s->dev;
	e->queue_ns = queue;
	e->lat_ns = lat;
	e->flags = s->insert_ts ? BS_F_QUEUED : 0;
	e->cmd_flags = BPF_CORE_READ(rq, cmd_flags);
	bpf_ringbuf_submit(e, 0);
out:
	kt_blk_done(&reqs, rq);
	return 0;
}

KT_TP_BOTH(block_rq_insert, insert)
{
	return on_insert(kt_rq_arg(ctx, cfg_rq_arg1));
}

KT_TP_BOTH(block_rq_issue, issue)
{
	return on_issue(kt_rq_arg(ctx, cfg_rq_arg1));
}

KT_TP_BOTH(block_rq_merge, merge)
{
	return on_merge(kt_rq_arg(ctx, cfg_rq_arg1));
}

KT_TP_BOTH(block_rq_complete, complete)
{
	return on_complete((struct request *)ctx[0]);
}

char LICENSE[] SEC("license") = "GPL";
