// SPDX-License-Identifier: GPL-2.0
/*
 * usdt: USDT (SystemTap SDT) probes of user programs, attached by libbpf
 * (uprobes at each probe site, the is-enabled semaphore raised through the
 * uprobe's reference counter; arguments decoded by libbpf's usdt.bpf.h
 * from the note's "-4@%eax 8@%rbx" specs).
 * Each attachment's cookie says which probe it is and its role: counted
 * (with --arg: the argument's value histogram), or the start or end of a
 * per-thread interval (--latency START END, one histogram).
 * Cost: one uprobe trap per probe hit, then a per-CPU add or a hash update.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "kt.bpf.h"
#include "usdt.h"

const volatile __u32 cfg_arg = 0;      /* 1..: histogram of that argument */
const volatile __u64 cfg_div = 1000;   /* --latency: ns per unit */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, USDT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* --arg: one histogram per probe; --latency: index 0 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, USDT_MAX);
	__type(key, __u32);
	__type(value, struct kt_slots);
} hists SEC(".maps");

/* --latency: the start time per thread (LRU: a start without an end ages out) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, USDT_NMISS);
	__type(key, __u32);
	__type(value, __u64);
} misses SEC(".maps");

static __always_inline void miss(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&misses, &what);

	if (n)
		*n += 1;
}

static __always_inline void hist_add(__u32 idx, __u64 v)
{
	struct kt_slots *h = bpf_map_lookup_elem(&hists, &idx);

	if (h)
		kt_slot_add(h, kt_log2(v), 1);
}

SEC("usdt")
int u_probe(struct pt_regs *ctx)
{
	__u64 cookie = bpf_usdt_cookie(ctx), now, *ts, *n;
	__u32 idx = (__u32)cookie & 0xffff, role = (__u32)cookie >> USDT_ROLE_SHIFT;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	long v;

	if (!kt_filter_current())
		return 0;
	if (role == USDT_START) {
		now = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&starts, &tid, &now, BPF_ANY))
			miss(USDT_TABLE_FULL);
		return 0;
	}
	if (role == USDT_END) {
		ts = bpf_map_lookup_elem(&starts, &tid);
		if (!ts)
			return 0;
		now = bpf_ktime_get_ns() - *ts;
		bpf_map_delete_elem(&starts, &tid);
		if ((__s64)now >= 0)
			hist_add(0, now / cfg_div);
		return 0;
	}
	n = bpf_map_lookup_elem(&counts, &idx);
	if (n)
		*n += 1;
	if (cfg_arg) {
		if (bpf_usdt_arg(ctx, cfg_arg - 1, &v)) {
			miss(USDT_NO_ARG);
			return 0;
		}
		hist_add(idx, (__u64)v);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
