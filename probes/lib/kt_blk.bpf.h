/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block request helpers shared by the block commands (biolat, biosnoop):
 * the request's device number across kernel layouts and the request
 * argument of the block_rq_* raw tracepoints.
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

#endif
