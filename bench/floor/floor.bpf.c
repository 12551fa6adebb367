// SPDX-License-Identifier: GPL-2.0
/*
 * The floor: the cheapest BPF program of each hook type ktrace uses. Each one
 * returns at once, so a storm run with it attached measures what the kernel
 * charges for entering BPF at that hook (trampoline or tracepoint dispatch,
 * perf sampling interrupt) and nothing else. The loader picks the program of
 * the type ktrace chose and points it at the same target.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* tp_btf: the target BTF id is set by the loader before load. */
SEC("tp_btf")
int floor_tp_btf(void *ctx)
{
	return 0;
}

SEC("raw_tp")
int floor_raw_tp(void *ctx)
{
	return 0;
}

SEC("tracepoint")
int floor_tracepoint(void *ctx)
{
	return 0;
}

SEC("perf_event")
int floor_perf_event(void *ctx)
{
	return 0;
}

/* fentry and kprobe: for machines where ktrace picks them (not this one). */
SEC("fentry")
int floor_fentry(void *ctx)
{
	return 0;
}

SEC("kprobe")
int floor_kprobe(void *ctx)
{
	return 0;
}

/* uprobe and uretprobe: the loader attaches them to PATH:FUNC. */
SEC("uprobe")
int floor_uprobe(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_uretprobe(void *ctx)
{
	return 0;
}
