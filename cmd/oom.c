// SPDX-License-Identifier: GPL-2.0
/*
 * oom: OOM kills as they happen (`ktrace oom`).
 *
 * One record per kill: the victim (pid, comm, uid, total_vm, anon/file/shmem
 * RSS, page tables, oom_score_adj), the task whose allocation invoked the
 * OOM killer, whether it was a memory-cgroup OOM (and which cgroup) or a
 * system-wide one, the OOM domain's size in pages when the kernel gives it,
 * the load average, and with --stack the triggering task's kernel stack.
 * Hooks: oom_kill_process (fentry -> kprobe: gives the oom_control) else
 * oom:mark_victim (tp_btf -> raw_tp -> tracepoint). Without the oom_control,
 * a memcg OOM is recognised by the memcg charge path on the trigger's stack
 * and the cgroup is the trigger's memory cgroup. Cost: nothing until an OOM
 * kill, then one record; /proc/kallsyms is read once, on a thread started
 * once tracing is on (the kernel takes ~60 ms to format it: start-up does
 * not wait for it, and it is ready long before an OOM kill usually comes;
 * a record that needs it waits for the thread).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "btf_enum.h"
#include "caps.h"
#include "features.h"
#include "ksyms.h"
#include "stacks.h"
#include "ktrace.h"
#include "oom.h"
#include "oom.skel.h"
#include "output.h"
#include "util.h"

#define MAX_CONSTRAINTS 16
#define CG_PATH_MAX (OOM_CG_DEPTH * OOM_CG_NAME + 8)

struct tally {
	char *name;
	uint64_t n;
};

struct tallies {
	struct tally *t;
	size_t n, cap;
};

struct oom {
	bool stack;
	bool ks_thread; /* ks_loader runs or has not been joined yet */
	pthread_t ks_loader;
	struct kt_ksyms *ks;
	char *constraints[MAX_CONSTRAINTS];
	struct tallies by_comm, by_cgroup;
};

enum { OPT_STACK = 0x2000 };

static const struct argp_option options[] = {
	{ "stack", OPT_STACK, NULL, 0, "Show the kernel stack of the task that triggered the OOM kill",
	  0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct oom *o = ctx->priv;

	(void)arg;
	switch (key) {
	case OPT_STACK:
		o->stack = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, oom_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct oom_bpf *skel = ctx->skel;
	struct oom *o = ctx->priv;
	long page = sysconf(_SC_PAGESIZE);

	skel->rodata->cfg_page_kb = page > 1024 ? (uint32_t)(page / 1024) : 4;
	/* mark_victim passed only the pid before it passed (task, uid) */
	skel->rodata->cfg_mv_task = kt_btf_tp_nargs("mark_victim") >= 2;
	kt_btf_enum_names("oom_constraint", "CONSTRAINT_", o->constraints, MAX_CONSTRAINTS);
	return 0;
}

static const struct kt_col cols[] = {
	{ "pid", "PID", 7 },
	{ "comm", "COMM", -16 },
	{ "victim_pid", "VPID", 7 },
	{ "victim_comm", "VCOMM", -16 },
	{ "victim_tid", "", 0, KT_COL_HIDDEN },
	{ "victim_uid", "UID", 6 },
	{ "total_vm_kb", "", 0, KT_COL_HIDDEN },
	{ "anon_rss_kb", "ANON_KB", 9 },
	{ "file_rss_kb", "FILE_KB", 9 },
	{ "shmem_rss_kb", "SHMEM_KB", 9 },
	{ "pgtables_kb", "", 0, KT_COL_HIDDEN },
	{ "oom_score_adj", "ADJ", 5 },
	{ "scope", "SCOPE", -6 },
	{ "constraint", "", 0, KT_COL_HIDDEN },
	{ "totalpages", "", 0, KT_COL_HIDDEN },
	{ "cgroup", "CGROUP", -24 },
	{ "loadavg_text", "LOADAVG", 0, KT_COL_NOJSON },
	{ "loadavg_1", "", 0, KT_COL_HIDDEN },
	{ "loadavg_5", "", 0, KT_COL_HIDDEN },
	{ "loadavg_15", "", 0, KT_COL_HIDDEN },
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static void *load_ksyms(void *arg)
{
	struct oom *o = arg;
	kt_ksyms_load_or_warn(&o->ks, "stacks stay unnamed and memcg OOMs cannot be told from "
				     "system-wide ones");
	return NULL;
}

/* The kernel symbols, once the loader thread is done (or loaded here). */
static void ksyms_wait(struct oom *o)
{
	if (o->ks_thread) {
		pthread_join(o->ks_loader, NULL);
		o->ks_thread = false;
	}
}

static int start(struct kt_ctx *ctx)
{
	struct oom *o = ctx->priv;
	const struct kt_alt *alt = kt_hook_chosen(ctx, "oom_kill");

	/* without oom_control, telling a memcg OOM from a system-wide one needs the stack's names */
	if (o->stack || (alt && alt->type != KT_FENTRY && alt->type != KT_KPROBE)) {
		sigset_t all, old;

		/* signals stay with the main thread, which polls and stops */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		o->ks_thread = pthread_create(&o->ks_loader, NULL, load_ksyms, o) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!o->ks_thread)
			load_ksyms(o);
	}
	kt_out_header(ctx->out, cols, NCOLS);
	return 0;
}

/* Functions only on the memory-cgroup charge path to the OOM killer. */
static bool memcg_frame(const char *name)
{
	static const char *const names[] = { "mem_cgroup_out_of_memory", "mem_cgroup_oom",
					     "try_charge_memcg", "memcg1_oom", "try_charge",
					     "mem_cgroup_oom_synchronize" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncmp(name, names[i], strlen(names[i])))
			return true;
	return false;
}

/*
 * Names the stack's frames (own frames dropped) into frames[]; returns how
 * many. *memcg: -1 unknown, 0 system-wide, 1 memcg charge path seen.
 */
static size_t stack_frames(struct oom *o, const struct oom_event *e, char (*frames)[160],
			   size_t max, int *memcg)
{
	size_t n = 0, depth = e->nstack > 0 ? (size_t)e->nstack / 8 : 0;
	bool top = true, named = false;

	*memcg = -1;
	if (depth > OOM_STACK_DEPTH)
		depth = OOM_STACK_DEPTH;
	for (size_t i = 0; i < depth && e->stack[i]; i++) {
		struct kt_frame f;

		kt_stacks_kernel_frame(o->ks, e->stack[i], i, &f);
		if (f.sym && top && kt_stacks_tracing_frame(f.sym))
			continue;
		top = false;
		if (f.sym) {
			named = true;
			if (memcg_frame(f.sym))
				*memcg = 1;
		}
		if (n >= max)
			continue;
		if (f.sym && strcmp(f.module, "[kernel]"))
			snprintf(frames[n], sizeof(frames[n]), "%s+0x%llx [%s]", f.sym,
				 (unsigned long long)f.offset, f.module);
		else if (f.sym)
			snprintf(frames[n], sizeof(frames[n]), "%s+0x%llx", f.sym,
				 (unsigned long long)f.offset);
		else
			snprintf(frames[n], sizeof(frames[n]), "0x%llx",
				 (unsigned long long)e->stack[i]);
		n++;
	}
	if (named && *memcg < 0)
		*memcg = 0;
	return n;
}

static void cgroup_path(const struct oom_event *e, char *buf, size_t sz)
{
	size_t len = 0;
	uint32_t n = e->ncg < OOM_CG_DEPTH ? e->ncg : OOM_CG_DEPTH;

	buf[0] = 0;
	if (e->flags & OOM_F_CG_TRUNC)
		len += (size_t)snprintf(buf, sz, "/...");
	for (uint32_t i = n; i-- > 0;) {
		int w = snprintf(buf + len, len < sz ? sz - len : 0, "/%.*s", OOM_CG_NAME,
				 e->cg[i]);

		if (w > 0)
			len += (size_t)w;
	}
	if (!len)
		snprintf(buf, sz, "/");
}

static int tally_add(struct tallies *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++) {
		if (!strcmp(t->t[i].name, name)) {
			t->t[i].n++;
			return 0;
		}
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		void *p = realloc(t->t, cap * sizeof(*t->t));

		if (!p)
			return -ENOMEM;
		t->t = p;
		t->cap = cap;
	}
	t->t[t->n].name = strdup(name);
	if (!t->t[t->n].name)
		return -ENOMEM;
	t->t[t->n++].n = 1;
	return 0;
}

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct oom_event *e = data;
	struct oom *o = ctx->priv;
	struct kt_out *out = ctx->out;
	char cg[CG_PATH_MAX], la[64] = "", frames[OOM_STACK_DEPTH][160];
	const char *fr[OOM_STACK_DEPTH];
	double l1 = 0, l5 = 0, l15 = 0;
	size_t nfr;
	int memcg, nla = 0;
	FILE *f;

	(void)size;
	/* the load right now, once per kill */
	f = fopen("/proc/loadavg", "re");
	if (f) {
		nla = fscanf(f, "%lf %lf %lf", &l1, &l5, &l15);
		fclose(f);
	}
	ksyms_wait(o);
	nfr = stack_frames(o, e, frames, OOM_STACK_DEPTH, &memcg);
	if (e->flags & OOM_F_OC)
		memcg = !!(e->flags & OOM_F_MEMCG);
	cgroup_path(e, cg, sizeof(cg));

	kt_rec_begin(out, "event", cols, NCOLS, e->hdr.ts);
	kt_rec_u64(out, e->hdr.pid);
	kt_rec_str(out, e->hdr.comm, sizeof(e->hdr.comm));
	kt_rec_u64(out, e->victim_pid);
	if (e->flags & OOM_F_VICTIM)
		kt_rec_str(out, e->victim_comm, sizeof(e->victim_comm));
	else
		kt_rec_none(out);
	kt_rec_u64(out, e->victim_tid);
	if (e->flags & OOM_F_UID)
		kt_rec_u64(out, e->victim_uid);
	else
		kt_rec_none(out);
	if (e->flags & OOM_F_VICTIM) {
		kt_rec_u64(out, e->total_vm_kb);
		kt_rec_u64(out, e->anon_rss_kb);
		kt_rec_u64(out, e->file_rss_kb);
		kt_rec_u64(out, e->shmem_rss_kb);
	} else {
		for (int i = 0; i < 4; i++)
			kt_rec_none(out);
	}
	if (e->flags & OOM_F_PGTABLES)
		kt_rec_u64(out, e->pgtables_kb);
	else
		kt_rec_none(out);
	if (e->flags & OOM_F_ADJ)
		kt_rec_i64(out, e->oom_score_adj);
	else
		kt_rec_none(out);
	if (memcg < 0)
		kt_rec_none(out);
	else
		kt_rec_str(out, memcg ? "memcg" : "global", 8);
	if (e->flags & OOM_F_OC) {
		kt_rec_enum(out, e->constraint < MAX_CONSTRAINTS ? o->constraints[e->constraint] : NULL,
			    e->constraint);
		kt_rec_u64(out, e->totalpages);
	} else {
		kt_rec_none(out);
		kt_rec_none(out);
	}
	if (memcg > 0)
		kt_rec_str(out, cg, sizeof(cg));
	else
		kt_rec_none(out);
	if (nla == 3) {
		snprintf(la, sizeof(la), "%.2f %.2f %.2f", l1, l5, l15);
		kt_rec_str(out, la, sizeof(la));
	} else {
		kt_rec_none(out);
	}
	if (nla == 3) {
		kt_rec_f64(out, l1, 2);
		kt_rec_f64(out, l5, 2);
		kt_rec_f64(out, l15, 2);
	} else {
		for (int i = 0; i < 3; i++)
			kt_rec_none(out);
	}
	if (o->stack) {
		for (size_t i = 0; i < nfr; i++)
			fr[i] = frames[i];
		kt_rec_extra_strlist(out, "stack", fr, nfr);
	}
	kt_rec_end(out);
	if (o->stack) {
		for (size_t i = 0; i < nfr; i++)
			kt_out_text(out, "        %s\n", frames[i]);
		if (!nfr)
			kt_out_text(out, "        [no kernel stack: %s]\n",
				    e->nstack < 0 ? strerror(-e->nstack) : "empty");
	}
	if (ctx->o.summary) {
		char comm[KT_TASK_COMM_LEN + 1];

		snprintf(comm, sizeof(comm), "%.*s", KT_TASK_COMM_LEN,
			 (e->flags & OOM_F_VICTIM) ? e->victim_comm : "?");
		if (tally_add(&o->by_comm, comm) ||
		    tally_add(&o->by_cgroup, memcg > 0 ? cg : memcg == 0 ? "(system-wide)" : "?"))
			return -ENOMEM;
	}
	return 0;
}

static int cmp_tally(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void print_tallies(struct kt_out *out, struct tallies *t, const char *name,
			  const char *title, const struct kt_col *tcols)
{
	kt_qsort(t->t, t->n, sizeof(*t->t), cmp_tally);
	kt_table_begin(out, name, title, tcols, 2);
	for (size_t i = 0; i < t->n; i++) {
		kt_table_row(out);
		kt_rec_str(out, t->t[i].name, strlen(t->t[i].name));
		kt_rec_u64(out, t->t[i].n);
		kt_rec_end(out);
	}
	kt_table_end(out);
}

static int drain(struct kt_ctx *ctx, bool final)
{
	static const struct kt_col comm_cols[] = { { "victim_comm", "VCOMM", -16 },
						   { "kills", "KILLS", 8 } };
	static const struct kt_col cg_cols[] = { { "cgroup", "CGROUP", -40 },
						 { "kills", "KILLS", 8 } };
	struct oom *o = ctx->priv;

	(void)final;
	/* since the start: kills are rare, a per-interval table would mostly be empty */
	if (!ctx->o.summary)
		return 0;
	print_tallies(ctx->out, &o->by_comm, "kills_by_comm", "OOM kills by victim command:",
		      comm_cols);
	print_tallies(ctx->out, &o->by_cgroup, "kills_by_cgroup", "OOM kills by cgroup:", cg_cols);
	return 0;
}

static void free_tallies(struct tallies *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->t[i].name);
	free(t->t);
}

static void finish(struct kt_ctx *ctx)
{
	struct oom *o = ctx->priv;

	ksyms_wait(o);
	kt_ksyms_free(o->ks);
	for (int i = 0; i < MAX_CONSTRAINTS; i++)
		free(o->constraints[i]);
	free_tallies(&o->by_comm);
	free_tallies(&o->by_cgroup);
}

static const struct kt_hook hooks[] = {
	{ "oom_kill", false,
	  { { KT_FENTRY, "oom_kill_process", "kill_fentry" },
	    { KT_KPROBE, "oom_kill_process", "kill_kprobe" },
	    { KT_TP_BTF, "mark_victim", "victim_btf" },
	    { KT_RAW_TP, "mark_victim", "victim_raw" },
	    { KT_TRACEPOINT, "oom/mark_victim", "victim_tp" } } },
};

const struct kt_cmd kt_cmd_oom = {
	.name = "oom",
	.summary = "OOM kills: victim, trigger, memory, cgroup and load",
	.doc = "Trace OOM kills: one line per victim with its memory (kB), the task whose "
	       "allocation invoked the OOM killer (PID, COMM), whether the OOM was in a memory "
	       "cgroup (and which) or system-wide, and the load average.\v"
	       "Examples:\n"
	       "  ktrace oom                 # every OOM kill until Ctrl-C\n"
	       "  ktrace oom --stack         # with the trigger's kernel stack\n"
	       "  ktrace oom -c -d 1h        # for an hour, then kills per command and cgroup\n"
	       "  ktrace oom -j -T           # JSON Lines",
	.options = options,
	.parse = parse,
	.summary_mode = KT_SUM_USER,
	.summary_help = "Also count kills by victim command and by cgroup, printed every "
			"interval (counts since the start) and at the end",
	.kind = KT_STREAM,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	/* CAP_SYSLOG: kernel symbol names */
	.caps_better = KT_CAP(KT_CAP_SYSLOG),
	.priv_size = sizeof(struct oom),
	.open = open_skel,
	.configure = configure,
	.start = start,
	.handle = handle,
	.min_record = sizeof(struct oom_event),
	.ringbuf_default = 256ULL << 10,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing OOM kills... Hit Ctrl-C to end.",
};
