// SPDX-License-Identifier: GPL-2.0
/*
 * profile: timed sampling of on-CPU stacks.
 *
 * A perf event per CPU (hardware cycles or the software cpu-clock, at -F Hz)
 * runs this program on every sample; it counts the interrupted task's
 * (process, kernel stack, user stack). Samples of the idle task are
 * skipped unless -I. Cost: one or two stack walks and a hash update per
 * sample, i.e. F x CPUs per second.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "profile.h"

const volatile bool cfg_kernel_stacks = true;
const volatile bool cfg_user_stacks = true;
const volatile bool cfg_include_idle = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct profile_key);
	__type(value, __u64);
} counts SEC(".maps");

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), one = 1, *v;
	struct profile_key key = {};
	__u32 tid = (__u32)id;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	bool has_user = tid && BPF_CORE_READ(t, mm);

	if (!tid && !cfg_include_idle)
		return 0;
	if (!kt_filter_current())
		return 0;
	key.tgid = id >> 32;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.kstack = cfg_kernel_stacks ? kt_stack_id(ctx, false, true) : -1;
	/* kernel threads (and the idle task) have no user stack */
	key.ustack = cfg_user_stacks && has_user ? kt_stack_id(ctx, true, false) : -1;
	if (has_user)
		kt_announce_current();
	v = bpf_map_lookup_elem(&counts, &key);
	if (v) {
		__sync_fetch_and_add(v, 1);
		return 0;
	}
	if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST)) {
		/* another CPU may just have added the same key */
		v = bpf_map_lookup_elem(&counts, &key);
		if (v)
			__sync_fetch_and_add(v, 1);
		else
			kt_count_uncounted();
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
