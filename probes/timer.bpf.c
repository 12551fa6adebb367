// SPDX-License-Identifier: GPL-2.0
/*
 * timer: timer expiries per callback: count, callback run time, lateness.
 *
 * hrtimer_expire_entry(hrtimer, now) comes just before an hrtimer's
 * callback runs, with the time of its clock base at the expiry; the
 * timer's _softexpires is when it was due at the earliest (its hard expiry
 * is up to the slack later), so now - _softexpires is how late it fired,
 * slack included. timer_expire_entry(timer, baseclk) comes before a
 * timer-wheel callback; timer->expires is in jiffies, so its lateness is
 * jiffies - expires, whole jiffies of cfg_jiffy_ns each (0: HZ unknown,
 * lateness not counted). The wheel rounds expiries up by design (by up to
 * 1/8 of the timeout beyond the first level), which shows up as lateness.
 * The _exit tracepoints close the callback's run time.
 *
 * Callbacks do not nest within a kind on one CPU, but a hard hrtimer
 * (hard IRQ) can interrupt a soft one or a wheel timer (softirq): the run
 * in progress is kept in one of three slots of a per-CPU array (hard
 * hrtimer, soft hrtimer, wheel timer), with the timer's address to match
 * the exit: an hrtimer's callback may free or reuse the timer (a sleeper's
 * timer lives on its stack), so nothing is read from it at exit. An exit
 * without its entry (attached in between) is ignored. No task state:
 * nothing to clean up. Cost: a per-CPU lookup per entry, a hash update and
 * a few adds per exit; a busy machine expires thousands of timers per
 * second per CPU.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "timer.h"

const volatile bool cfg_ms = false;
const volatile __u64 cfg_jiffy_ns = 0;

enum { SLOT_HR_HARD, SLOT_HR_SOFT, SLOT_WHEEL, SLOT_N };

struct run {
	__u64 start_ns; /* 0: none */
	__u64 timer;
	__u64 func;
	__s64 late_ns; /* < 0: unknown */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLOT_N);
	__type(key, __u32);
	__type(value, struct run);
} runs SEC(".maps");

/* The table user space drains: 4096 x ~570 B = ~2.3 MiB. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct timer_key);
	__type(value, struct timer_val);
} stats SEC(".maps");

/* Expiries that could not be counted: the stats table was full. */
KT_DEFINE_PERCPU_U64(misses);

static __always_inline int enter(__u32 slot, void *timer, __u64 func, __s64 late_ns)
{
	struct run *r = bpf_map_lookup_elem(&runs, &slot);

	if (!r)
		return 0;
	r->start_ns = bpf_ktime_get_ns();
	r->timer = (__u64)timer;
	r->func = func;
	r->late_ns = late_ns;
	return 0;
}

static __always_inline int leave(__u32 slot, __u32 kind, void *timer)
{
	static const struct timer_val zero;
	struct timer_key key = { .kind = kind };
	struct run *r = bpf_map_lookup_elem(&runs, &slot);
	struct timer_val *v;
	__u64 run;

	if (!r || !r->start_ns || r->timer != (__u64)timer)
		return 0;
	run = bpf_ktime_get_ns() - r->start_ns;
	r->start_ns = 0;
	key.func = r->func;
	v = bpf_map_lookup_elem(&stats, &key);
	if (!v) {
		bpf_map_update_elem(&stats, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&stats, &key);
		if (!v) {
			__u32 z = 0;
			__u64 *n = bpf_map_lookup_elem(&misses, &z);

			if (n)
				*n += 1;
			return 0;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->run_ns, run);
	if (run > v->run_max_ns)
		v->run_max_ns = run;
	if (r->late_ns >= 0) {
		__u64 late = r->late_ns;

		__sync_fetch_and_add(&v->late_count, 1);
		__sync_fetch_and_add(&v->late_ns, late);
		if (late > v->late_max_ns)
			v->late_max_ns = late;
		kt_slot_add(&v->late_slots, kt_log2(late / (cfg_ms ? 1000000 : 1000)), 1);
	}
	return 0;
}

static __always_inline int hr_entry(struct hrtimer *t, __s64 *nowp)
{
	__s64 now = 0, due = BPF_CORE_READ(t, _softexpires);
	__u32 slot = BPF_CORE_READ(t, is_soft) ? SLOT_HR_SOFT : SLOT_HR_HARD;

	bpf_probe_read_kernel(&now, sizeof(now), nowp);
	return enter(slot, t, (__u64)BPF_CORE_READ(t, function), now > due ? now - due : 0);
}

static __always_inline int hr_exit(struct hrtimer *t)
{
	/* which slot: the one holding this timer (is_soft may be gone with the timer) */
	leave(SLOT_HR_HARD, TIMER_HR, t);
	return leave(SLOT_HR_SOFT, TIMER_HR, t);
}

static __always_inline int wheel_entry(struct timer_list *t)
{
	long late_j = (long)(bpf_jiffies64() - BPF_CORE_READ(t, expires));
	__s64 late = -1;

	if (cfg_jiffy_ns)
		late = late_j > 0 ? late_j * cfg_jiffy_ns : 0;
	return enter(SLOT_WHEEL, t, (__u64)BPF_CORE_READ(t, function), late);
}

/*
 * hrtimer_expire_entry(struct hrtimer *hrtimer, ktime_t *now): raw_tp only.
 * A tp_btf program may not read a pointer to an integer from its context
 * before 5.16 or so (5.10: "arg1 type INT is not a struct", the load
 * fails), and it would add nothing here: now is read with
 * bpf_probe_read_kernel either way.
 */
SEC("raw_tp/hrtimer_expire_entry")
int hr_entry_raw(__u64 *ctx)
{
	return hr_entry((struct hrtimer *)ctx[0], (__s64 *)ctx[1]);
}

/* hrtimer_expire_exit(struct hrtimer *hrtimer) */
KT_TP_BOTH(hrtimer_expire_exit, hr_exit)
{
	return hr_exit((struct hrtimer *)ctx[0]);
}

/* timer_expire_entry(struct timer_list *timer, unsigned long baseclk) */
KT_TP_BOTH(timer_expire_entry, wheel_entry)
{
	return wheel_entry((struct timer_list *)ctx[0]);
}

/* timer_expire_exit(struct timer_list *timer) */
KT_TP_BOTH(timer_expire_exit, wheel_exit)
{
	return leave(SLOT_WHEEL, TIMER_WHEEL, (void *)ctx[0]);
}

char LICENSE[] SEC("license") = "GPL";
