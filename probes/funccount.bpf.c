// SPDX-License-Identifier: GPL-2.0
/*
 * funccount: calls per function, counted in the kernel.
 *
 * User functions: one uprobe per function, each with its index as the
 * attach cookie (5.15+), added into a per-CPU array. Kernel functions: one
 * kprobe per function, keyed by the probed address (user space names it
 * from /proc/kallsyms), which needs no cookie (5.10 has none).
 * Cost: one per-CPU add per call, on top of the probe's trap.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "funccount.h"
#include "kt.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FUNCCOUNT_MAX); /* the number of functions, set by user space */
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* Kernel: calls per probed address. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FUNCCOUNT_MAX);
	__type(key, __u64);
	__type(value, __u64);
} kcounts SEC(".maps");

SEC("uprobe")
int u_count(struct pt_regs *ctx)
{
	__u32 idx;
	__u64 *n;

	if (!kt_filter_current())
		return 0;
	idx = (__u32)bpf_get_attach_cookie(ctx);
	n = bpf_map_lookup_elem(&counts, &idx);
	if (n)
		*n += 1;
	return 0;
}

SEC("kprobe")
int k_count(struct pt_regs *ctx)
{
	static const __u64 one = 1;
	__u64 ip, *n;

	if (!kt_filter_current())
		return 0;
	ip = PT_REGS_IP(ctx);
	n = bpf_map_lookup_elem(&kcounts, &ip);
	if (n)
		*n += 1;
	else
		bpf_map_update_elem(&kcounts, &ip, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
