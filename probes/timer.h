/* SPDX-License-Identifier: GPL-2.0 */
/* timer: types shared by probes/timer.bpf.c and cmd/timer.c. */
#ifndef KT_TIMER_H
#define KT_TIMER_H

#include "kt_common.h"

enum timer_kind {
	TIMER_HR = 0,	 /* an hrtimer (hrtimer_expire_entry/exit) */
	TIMER_WHEEL = 1, /* a timer-wheel timer, struct timer_list (timer_expire_entry/exit) */
};

/* One row: the callback and the kind of timer. */
struct timer_key {
	__u64 func;
	__u32 kind;
	__u32 pad;
};

struct timer_val {
	__u64 count; /* expiries whose callback returned */
	__u64 run_ns; /* total callback run time */
	__u64 run_max_ns;
	__u64 late_count; /* expiries whose lateness is known (wheel timers: HZ known) */
	__u64 late_ns;	  /* total lateness */
	__u64 late_max_ns;
	struct kt_slots late_slots; /* log2 of the lateness in the unit */
};

#endif
