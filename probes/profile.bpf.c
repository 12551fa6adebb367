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
const volatile __u32 cfg_stack_copy = PROFILE_STACK_COPY_DEF;

KT_DEFINE_STREAM();

/* where a --unwind dwarf record is built: the record, then the stack copy */
struct ustack_buf {
	__u8 raw[sizeof(struct profile_ustack) + PROFILE_STACK_COPY_MAX];
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

static __always_inline void regs_copy(__u64 *r, const struct pt_regs *p)
{
	r[0] = p->ax;
	r[1] = p->dx;
	r[2] = p->cx;
	r[3] = p->bx;
	r[4] = p->si;
	r[5] = p->di;
	r[6] = p->bp;
	r[7] = p->sp;
	r[8] = p->r8;
	r[9] = p->r9;
	r[10] = p->r10;
	r[11] = p->r11;
	r[12] = p->r12;
	r[13] = p->r13;
	r[14] = p->r14;
	r[15] = p->r15;
	r[16] = p->ip;
}

/*
 * --unwind dwarf: stream the user registers and the top of the user stack.
 * A sample taken in user mode has the user registers in ctx; one taken in
 * the kernel (a system call, a fault) has them where the task entered the
 * kernel (bpf_task_pt_regs, 5.15+; without it the record has no registers).
 */
static __always_inline void send_ustack(struct bpf_perf_event_data *ctx, struct task_struct *t,
					__s64 kstack)
{
	struct profile_ustack *rec;
	__u32 zero = 0, want, got = 0;
	__u64 sp, env_end, cs;

	rec = bpf_map_lookup_elem(&ustack_bufs, &zero);
	if (!rec)
		return;
	rec->kstack = kstack;
	rec->flags = 0;
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
		regs_copy(rec->regs, &r);
	} else if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs)) {
		struct pt_regs r;
		void *p = (void *)bpf_task_pt_regs(bpf_get_current_task_btf());

		rec->flags |= PROFILE_USTACK_KERNEL_MODE;
		if (!p || bpf_probe_read_kernel(&r, sizeof(r), p))
			rec->flags |= PROFILE_USTACK_NO_REGS;
		else
			regs_copy(rec->regs, &r);
	} else {
		rec->flags |= PROFILE_USTACK_KERNEL_MODE | PROFILE_USTACK_NO_REGS;
	}
	if (!(rec->flags & PROFILE_USTACK_NO_REGS)) {
		sp = rec->regs[7];
		want = cfg_stack_copy;
		/* the main thread's stack ends a little above its environment strings */
		env_end = BPF_CORE_READ(t, mm, env_end);
		if (sp < env_end && env_end - sp < want)
			want = env_end - sp;
		/* a thread's stack may end sooner: try smaller copies */
#pragma unroll
		for (int i = 0; i < 4; i++) {
			__u32 n = want >> i;

			if (n < 64)
				break;
			if (n > PROFILE_STACK_COPY_MAX)
				n = PROFILE_STACK_COPY_MAX;
			if (!bpf_probe_read_user(rec->data, n, (void *)sp)) {
				got = n;
				break;
			}
		}
	}
	rec->len = got;
	if (got > PROFILE_STACK_COPY_MAX)
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
		send_ustack(ctx, t, key.kstack);
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
