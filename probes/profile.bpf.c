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
const volatile bool cfg_unwind_dwarf = false;

KT_DEFINE_STREAM();

/* where a --unwind dwarf record is built: the record, then the stack copy */
struct ustack_buf {
	__u8 raw[sizeof(struct profile_ustack) + KT_USTACK_COPY_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ustack_buf);
} ustack_bufs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct profile_key);
	__type(value, __u64);
} counts SEC(".maps");

/*
 * --unwind dwarf: stream the user registers and the top of the user stack.
 * A sample taken in user mode has the user registers in ctx; one taken in
 * the kernel (a system call, a fault) has them where the task entered it.
 */
static __always_inline void send_ustack(struct bpf_perf_event_data *ctx, __s64 kstack)
{
	struct profile_ustack *rec;
	__u32 zero = 0, got;
	__u64 cs;

	rec = bpf_map_lookup_elem(&ustack_bufs, &zero);
	if (!rec)
		return;
	rec->kstack = kstack;
	rec->u.flags = 0;
	/*
	 * cs is a 16-bit field of pt_regs, but the verifier lets a perf_event
	 * program read its registers only 8 bytes at a time: read the word.
	 */
	cs = *(volatile __u64 *)((void *)&ctx->regs + __builtin_offsetof(struct pt_regs, cs));
	if ((cs & 3) == 3) {
		struct pt_regs r;

		/* ctx's registers are read field by field (the verifier rewrites ctx loads) */
		r.ax = ctx->regs.ax;
		r.dx = ctx->regs.dx;
		r.cx = ctx->regs.cx;
		r.bx = ctx->regs.bx;
		r.si = ctx->regs.si;
		r.di = ctx->regs.di;
		r.bp = ctx->regs.bp;
		r.sp = ctx->regs.sp;
		r.r8 = ctx->regs.r8;
		r.r9 = ctx->regs.r9;
		r.r10 = ctx->regs.r10;
		r.r11 = ctx->regs.r11;
		r.r12 = ctx->regs.r12;
		r.r13 = ctx->regs.r13;
		r.r14 = ctx->regs.r14;
		r.r15 = ctx->regs.r15;
		r.ip = ctx->regs.ip;
		kt_ustack_regs(&rec->u, &r);
	} else {
		kt_ustack_entry_regs(&rec->u);
	}
	got = kt_ustack_copy(&rec->u, rec->data);
	if (got > KT_USTACK_COPY_MAX)
		return;
	kt_hdr_fill(&rec->hdr, PROFILE_REC_USTACK, sizeof(*rec) + got);
	if (bpf_ringbuf_output(&events, rec, sizeof(*rec) + got, 0))
		kt_count_drop(&drops);
}

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
	if (cfg_unwind_dwarf && cfg_user_stacks && has_user) {
		kt_announce_current();
		send_ustack(ctx, key.kstack);
		return 0;
	}
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
