// SPDX-License-Identifier: GPL-2.0
/*
 * biosnoop: one record per completed block request.
 *
 * Request tracking as in biolat: an entry keyed by the struct request is made
 * at block_rq_insert (or at block_rq_issue for a request issued directly),
 * in the submitter's context, where the task (pid, comm) and the filters are
 * taken; block_rq_issue stamps the issue time; block_rq_merge forgets a
 * request merged into another (freed without a completion); block_rq_complete
 * sends the record and deletes the entry. Every insert sets the entry afresh,
 * so a stale entry left at a reused address lends nothing to the next request.
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

struct start {
	__u64 insert_ts; /* 0: issued directly */
	__u64 issue_ts;	 /* 0: not issued yet */
	__u64 sector;
	__u32 bytes;
	__u32 dev;
	__u32 pid, tid, uid;
	__u32 skip; /* filtered out where the submitter was current */
	char comm[KT_TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct start);
} starts SEC(".maps");

/* A fresh entry for rq, judged and named by the current task (its submitter). */
static __always_inline void new_start(struct request *rq, struct start *n)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 disk;

	n->dev = kt_rq_dev(rq, &disk);
	if ((cfg_dev && n->dev != cfg_dev && disk != cfg_dev) || !kt_filter_current()) {
		n->skip = 1;
		return;
	}
	n->pid = id >> 32;
	n->tid = (__u32)id;
	n->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(n->comm, sizeof(n->comm));
}

static __always_inline int on_insert(struct request *rq)
{
	__u64 key = (__u64)rq;
	struct start n = {};

	new_start(rq, &n);
	if (!n.skip)
		n.insert_ts = bpf_ktime_get_ns();
	/* a full in-flight table loses this request's record: counted */
	if (bpf_map_update_elem(&starts, &key, &n, BPF_ANY) && !n.skip)
		kt_count_drop(&drops);
	return 0;
}

/* The issue time, and the sector and size the device is asked for. */
static __always_inline void stamp_issue(struct request *rq, struct start *s)
{
	s->issue_ts = bpf_ktime_get_ns();
	s->sector = BPF_CORE_READ(rq, __sector);
	s->bytes = BPF_CORE_READ(rq, __data_len);
}

static __always_inline int on_issue(struct request *rq)
{
	__u64 key = (__u64)rq;
	struct start *s, n = {};

	s = bpf_map_lookup_elem(&starts, &key);
	if (s) {
		if (!s->skip)
			stamp_issue(rq, s);
		return 0;
	}
	/* issued directly, from its submitter */
	new_start(rq, &n);
	if (!n.skip)
		stamp_issue(rq, &n);
	if (bpf_map_update_elem(&starts, &key, &n, BPF_ANY) && !n.skip)
		kt_count_drop(&drops);
	return 0;
}

static __always_inline int on_merge(struct request *rq)
{
	__u64 key = (__u64)rq;

	bpf_map_delete_elem(&starts, &key);
	return 0;
}

static __always_inline int on_complete(struct request *rq)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns(), queue = 0, lat;
	struct biosnoop_event *e;
	struct start *s;

	s = bpf_map_lookup_elem(&starts, &key);
	if (!s)
		return 0;
	if (s->skip || !s->issue_ts || now < s->issue_ts)
		goto out;
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
	bpf_map_delete_elem(&starts, &key);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int insert_btf(__u64 *ctx)
{
	return on_insert(kt_rq_arg(ctx, cfg_rq_arg1));
}

SEC("raw_tp/block_rq_insert")
int insert_raw(__u64 *ctx)
{
	return on_insert(kt_rq_arg(ctx, cfg_rq_arg1));
}

SEC("tp_btf/block_rq_issue")
int issue_btf(__u64 *ctx)
{
	return on_issue(kt_rq_arg(ctx, cfg_rq_arg1));
}

SEC("raw_tp/block_rq_issue")
int issue_raw(__u64 *ctx)
{
	return on_issue(kt_rq_arg(ctx, cfg_rq_arg1));
}

SEC("tp_btf/block_rq_merge")
int merge_btf(__u64 *ctx)
{
	return on_merge(kt_rq_arg(ctx, cfg_rq_arg1));
}

SEC("raw_tp/block_rq_merge")
int merge_raw(__u64 *ctx)
{
	return on_merge(kt_rq_arg(ctx, cfg_rq_arg1));
}

SEC("tp_btf/block_rq_complete")
int complete_btf(__u64 *ctx)
{
	return on_complete((struct request *)ctx[0]);
}

SEC("raw_tp/block_rq_complete")
int complete_raw(__u64 *ctx)
{
	return on_complete((struct request *)ctx[0]);
}

char LICENSE[] SEC("license") = "GPL";
