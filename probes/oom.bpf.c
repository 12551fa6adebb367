// SPDX-License-Identifier: GPL-2.0
/*
 * oom: one record per OOM kill.
 *
 * Best is oom_kill_process(oc, message) (fentry or kprobe): oc names the
 * victim (oc->chosen), the OOM domain's size (oc->totalpages) and, for a
 * memory-cgroup OOM, the cgroup (oc->memcg). Otherwise oom:mark_victim
 * (tp_btf, raw_tp or tracepoint) names the victim. Either way `current` is
 * the task whose allocation invoked the OOM killer, and its kernel stack is
 * taken (user space tells a memcg OOM from a system-wide one by it when oc
 * is not available, and shows it with -s). Cost: nothing until an OOM kill.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "oom.h"

/* bytes per page / 1024, set by user space */
const volatile __u32 cfg_page_kb = 4;
/* mark_victim(task, uid) since 6.8; before, mark_victim(pid) */
const volatile bool cfg_mv_task = true;

KT_DEFINE_STREAM();

/* Before 6.2 the RSS counters were atomics in struct mm_rss_stat. */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/* kernfs_node::parent became __parent (RCU-protected) in 6.15. */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/* The tracepoint's record; all but pid appeared in 6.8 (uid, pgtables later still). */
struct trace_event_raw_mark_victim___kt {
	int pid;
	__u32 __data_loc_comm;
	unsigned long total_vm;
	unsigned long anon_rss;
	unsigned long file_rss;
	unsigned long shmem_rss;
	uid_t uid;
	unsigned long pgtables;
	short oom_score_adj;
} __attribute__((preserve_access_index));

/* include/linux/mm_types_task.h: MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */
enum { KT_MM_FILE = 0, KT_MM_ANON = 1, KT_MM_SHMEM = 3 };

static __always_inline __u64 mm_counter(struct mm_struct *mm, int i)
{
	long v = 0;

	if (bpf_core_field_exists(((struct mm_struct___old *)0)->rss_stat.count)) {
		struct mm_struct___old *o = (void *)mm;

		bpf_core_read(&v, sizeof(v), &o->rss_stat.count[i].counter);
	} else {
		/* the global count, as get_mm_counter() and the kernel's OOM report read it */
		bpf_core_read(&v, sizeof(v), &mm->rss_stat[i].count);
	}
	return v > 0 ? (__u64)v : 0;
}

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(((struct kernfs_node___old *)0)->parent))
		return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
	return BPF_CORE_READ(kn, __parent);
}

/* The cgroup's path, leaf first, without the hierarchy's root. */
static __always_inline void cgroup_path(struct oom_event *e, struct cgroup *cg)
{
	struct kernfs_node *kn = cg ? BPF_CORE_READ(cg, kn) : NULL;
	__u32 n = 0;

	for (int i = 0; i < OOM_CG_DEPTH; i++) {
		struct kernfs_node *parent;

		if (!kn)
			break;
		parent = kn_parent(kn);
		if (!parent)
			break;
		bpf_probe_read_kernel_str(e->cg[i], OOM_CG_NAME, BPF_CORE_READ(kn, name));
		n++;
		kn = parent;
	}
	if (kn && n == OOM_CG_DEPTH && kn_parent(kn))
		e->flags |= OOM_F_CG_TRUNC;
	e->ncg = n;
}

static __always_inline struct cgroup *task_memcg_cgroup(struct task_struct *t)
{
	int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct cgroup_subsys_state *css = NULL;
	struct css_set *cs = BPF_CORE_READ(t, cgroups);

	if (!cs || id < 0 || id >= 16)
		return NULL;
	bpf_core_read(&css, sizeof(css), &cs->subsys[id]);
	return css ? BPF_CORE_READ(css, cgroup) : NULL;
}

static __always_inline void victim_from_task(struct oom_event *e, struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);

	e->victim_pid = BPF_CORE_READ(t, tgid);
	e->victim_tid = BPF_CORE_READ(t, pid);
	e->victim_uid = BPF_CORE_READ(t, cred, uid.val);
	bpf_probe_read_kernel_str(e->victim_comm, sizeof(e->victim_comm), t->comm);
	e->oom_score_adj = BPF_CORE_READ(t, signal, oom_score_adj);
	e->flags |= OOM_F_VICTIM | OOM_F_ADJ | OOM_F_UID;
	if (!mm)
		return;
	e->total_vm_kb = BPF_CORE_READ(mm, total_vm) * cfg_page_kb;
	e->anon_rss_kb = mm_counter(mm, KT_MM_ANON) * cfg_page_kb;
	e->file_rss_kb = mm_counter(mm, KT_MM_FILE) * cfg_page_kb;
	e->shmem_rss_kb = mm_counter(mm, KT_MM_SHMEM) * cfg_page_kb;
	if (bpf_core_field_exists(mm->pgtables_bytes)) {
		e->pgtables_kb = (__u64)BPF_CORE_READ(mm, pgtables_bytes.counter) >> 10;
		e->flags |= OOM_F_PGTABLES;
	}
}

static __always_inline struct oom_event *begin(void *ctx)
{
	struct oom_event *e = kt_reserve(struct oom_event, 1);

	if (!e)
		return NULL;
	/*
	 * kt_reserve fills the header only and ring buffer memory is reused:
	 * clear the scalars (cg[] and stack[] are read only as far as ncg and
	 * nstack say, and the helpers that fill them clear what they skip).
	 */
	e->victim_pid = e->victim_tid = e->victim_uid = 0;
	e->oom_score_adj = 0;
	e->flags = e->constraint = 0;
	e->victim_comm[0] = 0;
	e->total_vm_kb = e->anon_rss_kb = e->file_rss_kb = e->shmem_rss_kb = 0;
	e->pgtables_kb = e->totalpages = 0;
	e->ncg = 0;
	e->nstack = bpf_get_stack(ctx, e->stack, sizeof(e->stack), 0);
	return e;
}

/* ---- oom_kill_process(struct oom_control *oc, const char *message) ---- */

static __always_inline int on_oom_kill(void *ctx, struct oom_control *oc)
{
	struct task_struct *victim = BPF_CORE_READ(oc, chosen);
	struct mem_cgroup *memcg = BPF_CORE_READ(oc, memcg);
	struct oom_event *e;

	if (!victim || (long)victim == -1) /* -1: "abort", an exiting task is already a victim */
		return 0;
	e = begin(ctx);
	if (!e)
		return 0;
	victim_from_task(e, victim);
	e->totalpages = BPF_CORE_READ(oc, totalpages);
	e->flags |= OOM_F_OC;
	if (bpf_core_field_exists(oc->constraint))
		e->constraint = BPF_CORE_READ(oc, constraint);
	if (memcg) {
		e->flags |= OOM_F_MEMCG;
		cgroup_path(e, BPF_CORE_READ(memcg, css.cgroup));
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("fentry/oom_kill_process")
int BPF_PROG(kill_fentry, struct oom_control *oc)
{
	return on_oom_kill(ctx, oc);
}

SEC("kprobe/oom_kill_process")
int BPF_KPROBE(kill_kprobe, struct oom_control *oc)
{
	return on_oom_kill(ctx, oc);
}

/* ---- oom:mark_victim ---- */

static __always_inline int on_mark_victim(void *ctx, __u64 arg0)
{
	struct oom_event *e = begin(ctx);

	if (!e)
		return 0;
	if (cfg_mv_task) {
		victim_from_task(e, (struct task_struct *)arg0);
	} else {
		e->victim_pid = (__u32)arg0;
		e->victim_tid = (__u32)arg0;
	}
	/* no oc here: the OOM domain is taken to be the trigger's memory cgroup */
	cgroup_path(e, task_memcg_cgroup((struct task_struct *)bpf_get_current_task()));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

KT_TP_BOTH(mark_victim, victim)
{
	return on_mark_victim(ctx, ctx[0]);
}

SEC("tracepoint/oom/mark_victim")
int victim_tp(struct trace_event_raw_mark_victim___kt *ctx)
{
	struct oom_event *e = begin(ctx);

	if (!e)
		return 0;
	e->victim_pid = ctx->pid;
	e->victim_tid = ctx->pid;
	if (bpf_core_field_exists(ctx->anon_rss)) {
		__u32 loc = ctx->__data_loc_comm;

		bpf_probe_read_kernel_str(e->victim_comm, sizeof(e->victim_comm),
					  (void *)ctx + (loc & 0xffff));
		/* the tracepoint reports kB already */
		e->total_vm_kb = ctx->total_vm;
		e->anon_rss_kb = ctx->anon_rss;
		e->file_rss_kb = ctx->file_rss;
		e->shmem_rss_kb = ctx->shmem_rss;
		e->flags |= OOM_F_VICTIM;
	}
	if (bpf_core_field_exists(ctx->uid)) {
		e->victim_uid = ctx->uid;
		e->flags |= OOM_F_UID;
	}
	if (bpf_core_field_exists(ctx->pgtables)) {
		e->pgtables_kb = ctx->pgtables;
		e->flags |= OOM_F_PGTABLES;
	}
	if (bpf_core_field_exists(ctx->oom_score_adj)) {
		e->oom_score_adj = ctx->oom_score_adj;
		e->flags |= OOM_F_ADJ;
	}
	cgroup_path(e, task_memcg_cgroup((struct task_struct *)bpf_get_current_task()));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
