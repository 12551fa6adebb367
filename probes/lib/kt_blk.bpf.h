/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block request helpers shared by the block commands (biolat, biosnoop,
 * biotop): the request's device number across kernel layouts, the request
 * argument of the block_rq_* raw tracepoints, and the tracking of a request
 * from its submitter to its completion (struct kt_blk_req).
 */
#ifndef KT_BLK_BPF_H
#define KT_BLK_BPF_H

/* Kernels before 5.17 had rq->rq_disk, and before 5.11 rq->part was an hd_struct. */
struct hd_struct___old {
	int partno;
} __attribute__((preserve_access_index));

struct request___old {
	struct gendisk *rq_disk;
	struct hd_struct___old *part;
} __attribute__((preserve_access_index));

static __always_inline __u32 kt_disk_devt(struct gendisk *d)
{
	if (!d)
		return 0;
	return ((__u32)BPF_CORE_READ(d, major) << 20) | (__u32)BPF_CORE_READ(d, first_minor);
}

/* The partition's device number if the request has one, else the disk's (*disk). */
static __always_inline __u32 kt_rq_dev(struct request *rq, __u32 *disk)
{
	struct block_device *part;

	if (bpf_core_field_exists(((struct request___old *)0)->rq_disk)) {
		struct request___old *o = (void *)rq;
		__u32 d = kt_disk_devt(BPF_CORE_READ(o, rq_disk));

		*disk = d;
		return d ? d + (__u32)BPF_CORE_READ(o, part, partno) : 0;
	}
	*disk = kt_disk_devt(BPF_CORE_READ(rq, q, disk));
	part = BPF_CORE_READ(rq, part);
	return part ? BPF_CORE_READ(part, bd_dev) : *disk;
}

/*
 * The request of block_rq_insert/issue/merge: before 5.11 they took (q, rq)
 * (arg1: user space sets it from kt_btf_tp_nargs() == 2).
 */
static __always_inline struct request *kt_rq_arg(__u64 *ctx, bool arg1)
{
	return (struct request *)(arg1 ? ctx[1] : ctx[0]);
}

/*
 * What biosnoop and biotop know of a request in flight, keyed by its struct
 * request. It is made at block_rq_insert or, for a request issued directly,
 * at block_rq_issue: both run in the submitter's context, where the task
 * (pid, comm) is taken and the filters judge it (never at completion, which
 * runs in IRQ context on whatever task was interrupted). Every insert sets
 * the entry afresh, so a stale entry left at a reused address (a request
 * merged away without completion) lends nothing to the next request.
 */
struct kt_blk_req {
	__u64 insert_ts; /* 0: issued directly */
	__u64 issue_ts;	 /* 0: not issued yet */
	__u64 sector;
	__u32 bytes;
	__u32 dev;
	__u32 pid, tid, uid;
	__u32 skip; /* filtered out where the submitter was current */
	char comm[KT_TASK_COMM_LEN];
};

/* Requests in flight the tables hold: 16384 entries of ~100 bytes, about 2 MiB of kernel memory. */
#define KT_BLK_MAX_INFLIGHT 16384

#define KT_BLK_DEFINE_REQS()                                                                       \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__uint(max_entries, KT_BLK_MAX_INFLIGHT);                                          \
		__type(key, __u64);                                                                \
		__type(value, struct kt_blk_req);                                                  \
	} reqs SEC(".maps")

/* A fresh entry for rq, judged and named by the current task (its submitter); dev: -b, 0 any. */
static __always_inline void kt_blk_req_new(struct request *rq, __u32 dev, struct kt_blk_req *n)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 disk;

	n->dev = kt_rq_dev(rq, &disk);
	if ((dev && n->dev != dev && disk != dev) || !kt_filter_current()) {
		n->skip = 1;
		return;
	}
	n->pid = id >> 32;
	n->tid = (__u32)id;
	n->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(n->comm, sizeof(n->comm));
}

/* block_rq_insert; a full table loses the request, counted in the per-CPU u64 misses[0]. */
static __always_inline void kt_blk_insert(void *reqs, void *misses, struct request *rq, __u32 dev)
{
	__u64 key = (__u64)rq;
	struct kt_blk_req n = {};

	kt_blk_req_new(rq, dev, &n);
	if (!n.skip)
		n.insert_ts = bpf_ktime_get_ns();
	if (bpf_map_update_elem(reqs, &key, &n, BPF_ANY) && !n.skip)
		kt_count_drop(misses);
}

/* The issue time, and the sector and size the device is asked for. */
static __always_inline void kt_blk_stamp_issue(struct request *rq, struct kt_blk_req *r)
{
	r->issue_ts = bpf_ktime_get_ns();
	r->sector = BPF_CORE_READ(rq, __sector);
	r->bytes = BPF_CORE_READ(rq, __data_len);
}

/* block_rq_issue: stamps the entry made at insert, or makes one (issued directly). */
static __always_inline void kt_blk_issue(void *reqs, void *misses, struct request *rq, __u32 dev)
{
	__u64 key = (__u64)rq;
	struct kt_blk_req *r, n = {};

	r = bpf_map_lookup_elem(reqs, &key);
	if (r) {
		if (!r->skip)
			kt_blk_stamp_issue(rq, r);
		return;
	}
	kt_blk_req_new(rq, dev, &n);
	if (!n.skip)
		kt_blk_stamp_issue(rq, &n);
	if (bpf_map_update_elem(reqs, &key, &n, BPF_ANY) && !n.skip)
		kt_count_drop(misses);
}

/* block_rq_merge: a request merged into another is freed without a completion. */
static __always_inline void kt_blk_merge(void *reqs, struct request *rq)
{
	__u64 key = (__u64)rq;

	bpf_map_delete_elem(reqs, &key);
}

/*
 * block_rq_complete: the entry of a request to account (selected, seen while
 * tracing), or NULL. *no_issue is set when its issue was not seen: a BPF
 * program does not run while the same program runs on that CPU, and a
 * completion interrupt can restart the queue and issue a request inside the
 * issue hook of another one; the caller counts it (biotop) or reports it as
 * lost (biosnoop), never drops it silently. The caller reads the entry, then
 * kt_blk_done()s it.
 */
static __always_inline struct kt_blk_req *kt_blk_complete(void *reqs, struct request *rq, __u64 now,
							  bool *no_issue)
{
	__u64 key = (__u64)rq;
	struct kt_blk_req *r = bpf_map_lookup_elem(reqs, &key);

	if (!r)
		return NULL;
	if (r->skip) {
		bpf_map_delete_elem(reqs, &key);
		return NULL;
	}
	*no_issue = !r->issue_ts || now < r->issue_ts;
	return r;
}

static __always_inline void kt_blk_done(void *reqs, struct request *rq)
{
	__u64 key = (__u64)rq;

	bpf_map_delete_elem(reqs, &key);
}

#endif
