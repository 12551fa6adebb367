// SPDX-License-Identifier: GPL-2.0
/*
 * funclat: latency of one function, user (uprobe + uretprobe) or kernel
 * (fentry + fexit, else kprobe + kretprobe), as a log2 histogram; or the
 * histogram of one of its arguments (--arg N: entry only); or one record per
 * call slower than a threshold (--slower).
 *
 * Calls in flight are a per-thread stack (recursion). A user-space return is
 * paired by the stack pointer: the frame entered at sp returns with sp + 8,
 * and frames deeper than the returning one were left by longjmp or an
 * exception: they are dropped and counted, never paired with a wrong return.
 * Kernel functions return in order (LIFO).
 * Cost: a hash lookup and a few stores per entry and per return, on top of
 * the uprobe's own trap (about a microsecond each way: see the man page).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "funclat.h"
#include "kt.bpf.h"

/* libbpf before 1.2 stops at PARM5 (x86-64: the sixth argument is in r9) */
#ifndef PT_REGS_PARM6
#define PT_REGS_PARM6(x) ((x)->r9)
#endif

KT_DEFINE_STREAM();

const volatile __u64 cfg_div = 1000;	 /* ns per histogram unit */
const volatile __u32 cfg_arg = 0;	 /* 1..6: histogram of that argument instead */
const volatile __u64 cfg_min_ns = 0;	 /* --slower: stream calls at least this slow */
const volatile bool cfg_stream = false;	 /* --slower given */
const volatile bool cfg_match_sp = true; /* pair returns by stack pointer (user space) */

/* Calls in flight, per thread: LRU, so exited threads' entries age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct funclat_thread);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_slots);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FUNCLAT_NCOUNTS);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void count(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&counts, &what);

	if (n)
		*n += 1;
}

static __always_inline void hist_add(__u64 v)
{
	__u32 zero = 0;
	struct kt_slots *h = bpf_map_lookup_elem(&hist, &zero);

	if (h)
		kt_slot_add(h, kt_log2(v), 1);
}

static __always_inline int on_entry(__u64 sp, __u64 a0, __u64 a1, __u64 a2, __u64 a3, __u64 a4,
				    __u64 a5)
{
	static const struct funclat_thread zero;
	struct funclat_thread *st;
	struct funclat_frame *f;
	__u32 tid, d;

	if (!kt_filter_current())
		return 0;
	count(FUNCLAT_CALLS);
	if (cfg_arg) {
		__u64 v = cfg_arg == 1 ? a0 : cfg_arg == 2 ? a1 : cfg_arg == 3 ? a2 :
			  cfg_arg == 4 ? a3 : cfg_arg == 5 ? a4 : a5;

		hist_add(v);
		return 0;
	}
	tid = (__u32)bpf_get_current_pid_tgid();
	st = bpf_map_lookup_elem(&threads, &tid);
	if (!st) {
		bpf_map_update_elem(&threads, &tid, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&threads, &tid);
		if (!st) {
			count(FUNCLAT_MISSES);
			return 0;
		}
	}
	d = st->depth;
	/*
	 * A nested call enters below its caller's frame: frames in flight at
	 * or below this entry's stack pointer were left without a return
	 * (longjmp, exception) and never will return.
	 */
	if (cfg_match_sp) {
		for (int i = 0; i < FUNCLAT_DEPTH; i++) {
			if (!d || st->f[(d - 1) & (FUNCLAT_DEPTH - 1)].sp > sp)
				break;
			d--;
			count(FUNCLAT_NO_RETURN);
		}
		st->depth = d;
	}
	if (d >= FUNCLAT_DEPTH) {
		st->skipped++;
		count(FUNCLAT_TOO_DEEP);
		return 0;
	}
	f = &st->f[d & (FUNCLAT_DEPTH - 1)];
	f->sp = sp;
	if (cfg_stream) {
		f->args[0] = a0;
		f->args[1] = a1;
		f->args[2] = a2;
		f->args[3] = a3;
	}
	st->depth = d + 1;
	f->ts = bpf_ktime_get_ns(); /* last: the probe's own work is not timed */
	return 0;
}

static __always_inline int on_return(__u64 sp)
{
	__u64 now = bpf_ktime_get_ns(), delta;
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), d;
	struct funclat_thread *st;
	struct funclat_frame *f;
	struct funclat_event *e;

	if (cfg_arg)
		return 0;
	st = bpf_map_lookup_elem(&threads, &tid);
	if (!st)
		return 0;
	d = st->depth;
	if (cfg_match_sp) {
		__u64 want = sp - 8; /* the return address was popped */

		/* frames entered below the returning one were abandoned (longjmp) */
		for (int i = 0; i < FUNCLAT_DEPTH; i++) {
			if (!d || st->f[(d - 1) & (FUNCLAT_DEPTH - 1)].sp >= want)
				break;
			d--;
			count(FUNCLAT_NO_RETURN);
		}
		if (!d || st->f[(d - 1) & (FUNCLAT_DEPTH - 1)].sp != want) {
			st->depth = d; /* a return whose entry was not timed */
			return 0;
		}
	} else {
		if (st->skipped) {
			st->skipped--;
			return 0;
		}
		if (!d)
			return 0;
	}
	d--;
	f = &st->f[d & (FUNCLAT_DEPTH - 1)];
	st->depth = d;
	delta = now - f->ts;
	if ((__s64)delta < 0)
		return 0;
	hist_add(delta / cfg_div);
	if (!cfg_stream || delta < cfg_min_ns)
		return 0;
	e = kt_reserve(struct funclat_event, 0);
	if (!e)
		return 0;
	e->lat_ns = delta;
	e->args[0] = f->args[0];
	e->args[1] = f->args[1];
	e->args[2] = f->args[2];
	e->args[3] = f->args[3];
	e->depth = d + 1;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(u_entry)
{
	return on_entry(PT_REGS_SP(ctx), PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx),
			PT_REGS_PARM3(ctx), PT_REGS_PARM4(ctx), PT_REGS_PARM5(ctx),
			PT_REGS_PARM6(ctx));
}

SEC("uretprobe")
int BPF_KRETPROBE(u_return)
{
	return on_return(PT_REGS_SP(ctx));
}

SEC("kprobe")
int BPF_KPROBE(k_entry)
{
	return on_entry(0, PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx),
			PT_REGS_PARM4(ctx), PT_REGS_PARM5(ctx), PT_REGS_PARM6(ctx));
}

SEC("kretprobe")
int BPF_KRETPROBE(k_return)
{
	return on_return(0);
}

/* fentry/fexit: latency only (the arguments a function has are its own: see cmd/funclat.c) */
SEC("fentry")
int f_entry(__u64 *ctx)
{
	return on_entry(0, 0, 0, 0, 0, 0, 0);
}

SEC("fexit")
int f_return(__u64 *ctx)
{
	return on_return(0);
}

char LICENSE[] SEC("license") = "GPL";
