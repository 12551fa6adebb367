// SPDX-License-Identifier: GPL-2.0
/*
 * irq: time spent in hard-IRQ handlers (per IRQ) and soft-IRQs (per vector).
 *
 * irq_handler_entry/exit wrap one handler (an irqaction) of an IRQ;
 * softirq_entry/exit one run of a softirq vector. Neither nests on a CPU
 * (handlers run with interrupts off; a softirq does not interrupt a
 * softirq), but a hard IRQ can interrupt a softirq, so the start times are
 * two slots of a per-CPU array: no task map, nothing to clean up. An exit
 * without its entry (ktrace attached in between) is ignored. Cost: a
 * per-CPU lookup per entry, a hash lookup and a few adds per exit.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "irq.h"

const volatile bool cfg_ms = false;
const volatile bool cfg_per_cpu = false;

/* Start time of the running hard IRQ (0) and softirq (1) on this CPU; 0: none. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct irq_key);
	__type(value, struct irq_val);
} stats SEC(".maps");

/* Handler runs that could not be counted: the stats map was full. */
KT_DEFINE_PERCPU_U64(misses);

static __always_inline int enter(__u32 kind)
{
	__u64 *ts = bpf_map_lookup_elem(&starts, &kind);

	if (ts)
		*ts = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int leave(__u32 kind, __u32 id, struct irqaction *action)
{
	static const struct irq_val zero;
	struct irq_key key = { .kind = kind, .id = id, .cpu = IRQ_NO_CPU };
	struct irq_val *v;
	__u64 *ts, delta;

	ts = bpf_map_lookup_elem(&starts, &kind);
	if (!ts || !*ts)
		return 0;
	delta = bpf_ktime_get_ns() - *ts;
	*ts = 0;
	if ((__s64)delta < 0)
		return 0;
	if (cfg_per_cpu)
		key.cpu = bpf_get_smp_processor_id();
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
		if (action) {
			const char *name = BPF_CORE_READ(action, name);

			if (name)
				bpf_probe_read_kernel_str(v->name, sizeof(v->name), name);
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->total_ns, delta);
	if (delta > v->max_ns)
		v->max_ns = delta;
	kt_slot_add(&v->slots, kt_log2(delta / (cfg_ms ? 1000000 : 1000)), 1);
	return 0;
}

/* irq_handler_entry(int irq, struct irqaction *action) */
KT_TP_BOTH(irq_handler_entry, hard_entry)
{
	return enter(IRQ_HARD);
}

/* irq_handler_exit(int irq, struct irqaction *action, int ret) */
KT_TP_BOTH(irq_handler_exit, hard_exit)
{
	return leave(IRQ_HARD, (__u32)ctx[0], (struct irqaction *)ctx[1]);
}

/* softirq_entry(unsigned int vec_nr) */
KT_TP_BOTH(softirq_entry, soft_entry)
{
	return enter(IRQ_SOFT);
}

KT_TP_BOTH(softirq_exit, soft_exit)
{
	return leave(IRQ_SOFT, (__u32)ctx[0], NULL);
}

char LICENSE[] SEC("license") = "GPL";
