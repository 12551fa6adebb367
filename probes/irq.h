/* SPDX-License-Identifier: GPL-2.0 */
/* irq: types shared by probes/irq.bpf.c and cmd/irq.c. */
#ifndef KT_IRQ_H
#define KT_IRQ_H

#include "kt_common.h"

enum irq_kind {
	IRQ_HARD = 0, /* id: the IRQ number */
	IRQ_SOFT = 1, /* id: the softirq vector (HI = 0, TIMER = 1, ... kernel ABI order) */
};

#define IRQ_NAME_LEN 32
#define IRQ_NO_CPU 0xffffffffu

/* One row: kind and id, per CPU with --per-cpu (IRQ_NO_CPU otherwise). */
struct irq_key {
	__u32 kind;
	__u32 id;
	__u32 cpu;
};

struct irq_val {
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	struct kt_slots slots; /* log2 of the time in the unit (usecs or msecs) */
	char name[IRQ_NAME_LEN]; /* hard IRQs: the handler's name (irqaction->name) */
};

#endif
