// SPDX-License-Identifier: GPL-2.0
/* Stack collection for offcpu and profile (see stackcol.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flamegraph.h"
#include "ksyms.h"
#include "maps.h"
#include "kt_elf.h"
#include "kt_stacks.bpf.h"
#include "ofile.h"
#include "output.h"
#include "perfmap.h"
#include "features.h"
#include "stackcol.h"
#include "stacks.h"
#include "stacks_out.h"
#include "tape.h"
#include "unwind.h"
#include "usyms.h"
#include "util.h"

struct kt_stackcol {
	struct kt_ctx *ctx;
	const struct kt_stackcol_opts *o;
	struct kt_ksyms *ks; /* read on first use: see kernel_syms() */
	bool ks_tried;
	struct kt_usyms *us;
	struct kt_usyms_stats us_seen; /* what was already reported */
	struct kt_unwind *uw;	       /* --unwind dwarf */
	struct kt_unwind_stats uw_seen;
	struct kt_stacks *st;
	int stacks_fd, errors_fd;
	uint64_t *ips;

	/* the thread that snapshots processes as the probe announces them */
	pthread_mutex_t lock; /* usyms is not thread-safe */
	struct ring_buffer *rb;
	pthread_t thread;
	bool thread_running;
	int target_fd; /* pidfd of -p's process (Linux 5.3+), or -1 */
	bool target_done;
	volatile bool stop;
	/* processes that exec()ed, to snapshot again once their program is loaded */
#define KT_STACKCOL_PENDING 256
	struct {
		uint32_t pid;
		uint64_t due_ns;
	} pending[KT_STACKCOL_PENDING];
	unsigned int npending;
};

/*
 * exec() announces a process as soon as it schedules under its new
 * identity, which can be before the kernel has mapped the program and long
 * before ld.so has mapped its libraries: wait this long before reading its
 * maps again.
 */
#define KT_EXEC_SETTLE_NS (20 * 1000 * 1000ULL)

int kt_stackcol_pid(const char *opt, uint32_t *pid)
{
	char path[64], line[256];
	unsigned int tgid = 0;
	FILE *f;

	if (!*pid)
		return 0;
	if (kt_check_pid(opt, *pid))
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%u/status", *pid);
	f = fopen(path, "re");
	if (!f)
		return 0; /* it exists (checked above): let the run say the rest */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %u", &tgid) == 1)
			break;
	fclose(f);
	if (tgid && tgid != *pid) {
		kt_warn("%s %u is a thread of process %u: tracing the whole process %u", opt, *pid,
			tgid, tgid);
		*pid = tgid;
	}
	return 0;
}

void kt_stackcol_defaults(struct kt_stackcol_opts *o)
{
	o->kernel = o->user = true;
	o->storage = KT_STACKCOL_STORAGE_DEFAULT;
	o->depth = KT_STACK_MAX_DEPTH;
	o->stack_copy = KT_USTACK_COPY_DEF;
}

error_t kt_stackcol_parse(struct kt_stackcol_opts *o, int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'U':
		o->kernel = false;
		return 0;
	case 'K':
		o->user = false;
		return 0;
	case KT_STACKCOL_OPT_DELIMITED:
		o->delimited = true;
		return 0;
	case 'f':
		o->folded = true;
		return 0;
	case KT_STACKCOL_OPT_SVG:
		if (!*arg)
			argp_error(state, "--svg needs a file name");
		o->svg = arg;
		return 0;
	case KT_STACKCOL_OPT_STORAGE:
		o->storage = (uint32_t)kt_arg_u64(state, "--stack-storage-size", arg, 1,
						  KT_STACKCOL_STORAGE_MAX);
		return 0;
	case KT_STACKCOL_OPT_UNWIND:
		if (!strcmp(arg, "dwarf"))
			o->unwind_dwarf = true;
		else if (!strcmp(arg, "fp"))
			o->unwind_dwarf = false;
		else
			argp_error(state, "--unwind %s: use fp or dwarf", arg);
		return 0;
	case KT_STACKCOL_OPT_STACK_COPY:
		o->stack_copy = (uint32_t)kt_arg_u64(state, "--stack-copy", arg, KT_USTACK_COPY_MIN,
						     KT_USTACK_COPY_MAX);
		return 0;
	case KT_STACKCOL_OPT_DEPTH:
		o->depth = (uint32_t)kt_arg_u64(state, "--perf-max-stack-depth", arg, 1,
						KT_STACK_MAX_DEPTH);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

int kt_stackcol_validate(struct kt_ctx *ctx, const struct kt_stackcol_opts *o)
{
	if (o->folded && ctx->o.json) {
		kt_err("-f (folded stacks) and -j (JSON) are different outputs: choose one");
		return -EINVAL;
	}
	if (!o->kernel && !o->user) {
		kt_err("no stacks to capture: kernel-only and user-only options exclude each other");
		return -EINVAL;
	}
	if (o->unwind_dwarf && ctx->o.record) {
		/* a replay would have the stack copies but not the binaries to unwind them with */
		kt_err("--record cannot be used with --unwind dwarf: a replay has no binaries "
		       "to unwind the stack copies with");
		return -EINVAL;
	}
	if (o->unwind_dwarf && !o->user) {
		kt_err("--unwind dwarf walks user stacks: it cannot be used with -K");
		return -EINVAL;
	}
	if (o->unwind_dwarf) {
		/* the events with a user stack come through the ring buffer */
		ctx->stream = true;
		kt_meta_add(ctx, "unwind", "dwarf");
	}
	if (o->svg) {
		/* opened now, once: a bad path fails before tracing; written at the end */
		struct kt_ofile *of;

		int err = kt_output_file(ctx, "--svg", o->svg, &of);

		if (err)
			return err == -EINVAL ? err : -EIO;
	}
	return 0;
}

int kt_stackcol_configure(struct kt_ctx *ctx, const struct kt_stackcol_opts *o)
{
	struct bpf_map *m = bpf_object__find_map_by_name(ctx->obj, "stacks");
	int err;

	if (!m)
		return -ENOENT;
	/* without --unwind dwarf nothing is streamed: the smallest ring buffer */
	if (!o->unwind_dwarf) {
		struct bpf_map *ev = bpf_object__find_map_by_name(ctx->obj, "events");

		if (ev && bpf_map__set_max_entries(ev, 4096))
			return -EINVAL;
	}
	err = bpf_map__set_value_size(m, o->depth * sizeof(uint64_t));
	if (!err)
		err = bpf_map__set_max_entries(m, o->storage);
	/*
	 * Preallocated, the default table is 32768 x 1 KB of kernel memory, taken
	 * (8 ms) at load whether or not the run sees that many stacks: for a
	 * command that asks (o->grow) and where the kernel allows it, entries
	 * are allocated as stacks arrive.
	 */
	if (!err && o->grow && kt_have_noprealloc_htab())
		err = bpf_map__set_map_flags(m, bpf_map__map_flags(m) | BPF_F_NO_PREALLOC);
	if (err) {
		kt_err("sizing the stack map failed: %s", strerror(-err));
		return err;
	}
	return 0;
}

static void refresh_pid(struct kt_stackcol *sc, uint32_t pid)
{
	pthread_mutex_lock(&sc->lock);
	kt_usyms_refresh_pid(sc->us, (int)pid);
	pthread_mutex_unlock(&sc->lock);
}

static int on_newpid(void *arg, void *data, size_t size)
{
	struct kt_stackcol *sc = arg;
	struct kt_newpid n;

	if (size < sizeof(n))
		return 0;
	memcpy(&n, data, sizeof(n));
	if (n.execd) {
		if (sc->npending < KT_STACKCOL_PENDING) {
			sc->pending[sc->npending].pid = n.tgid;
			sc->pending[sc->npending].due_ns = kt_now_mono() + KT_EXEC_SETTLE_NS;
			sc->npending++;
		} else {
			refresh_pid(sc, n.tgid);
		}
		return 0;
	}
	pthread_mutex_lock(&sc->lock);
	kt_usyms_add_pid(sc->us, (int)n.tgid);
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

/*
 * True once -p's process has exited: its pidfd turns readable (a zombie
 * counts), or, before 5.3, /proc says it is gone or a zombie.
 */
static bool target_gone(struct kt_stackcol *sc)
{
	char path[64], buf[512], *s;
	struct pollfd pfd;
	ssize_t n;
	int fd;

	if (!sc->o->target)
		return false;
	if (sc->target_fd >= 0) {
		pfd.fd = sc->target_fd;
		pfd.events = POLLIN;
		return poll(&pfd, 1, 0) > 0;
	}
	snprintf(path, sizeof(path), "/proc/%u/stat", sc->o->target);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	s = strrchr(buf, ')');
	return s && s[1] == ' ' && (s[2] == 'Z' || s[2] == 'X');
}

static void *pid_thread(void *arg)
{
	struct kt_stackcol *sc = arg;

	while (!sc->stop) {
		/* wake often only while an exec is settling; stop waits at most 100 ms */
		int err = sc->rb ? ring_buffer__poll(sc->rb, sc->npending ? 5 : 100) : 0;
		uint64_t now = kt_now_mono();
		unsigned int k = 0;

		if (!sc->rb)
			poll(NULL, 0, 100);
		if (err < 0 && err != -EINTR)
			break;
		if (!sc->target_done && target_gone(sc)) {
			kt_warn("process %u exited: stopping, as perf -p does", sc->o->target);
			kt_stop(KT_STOP_TARGET_EXITED);
			sc->target_done = true;
		}
		for (unsigned int i = 0; i < sc->npending; i++) {
			if (sc->pending[i].due_ns <= now)
				refresh_pid(sc, sc->pending[i].pid);
			else
				sc->pending[k++] = sc->pending[i];
		}
		sc->npending = k;
	}
	return NULL;
}

int kt_stackcol_new(struct kt_ctx *ctx, const struct kt_stackcol_opts *o, struct kt_stackcol **out)
{
	struct kt_stackcol *sc = calloc(1, sizeof(*sc));
	struct bpf_map *m;
	int err;

	*out = NULL;
	if (!sc)
		return -ENOMEM;
	sc->ctx = ctx;
	sc->o = o;
	ctx->has_stacks = true;
	sc->stacks_fd = sc->errors_fd = sc->target_fd = -1;
	pthread_mutex_init(&sc->lock, NULL);
	sc->ips = calloc(o->depth, sizeof(uint64_t));
	err = sc->ips ? kt_stacks_new(&sc->st) : -ENOMEM;
	if (err)
		goto fail;
	m = bpf_object__find_map_by_name(ctx->obj, "stacks");
	sc->stacks_fd = m ? bpf_map__fd(m) : -1;
	m = bpf_object__find_map_by_name(ctx->obj, "stack_errors");
	sc->errors_fd = m ? bpf_map__fd(m) : -1;
	if (o->user) {
		err = kt_usyms_new(NULL, &sc->us);
		if (err)
			goto fail;
		ctx->has_ustacks = true;
		if (o->unwind_dwarf) {
			err = kt_unwind_new(&sc->uw);
			if (err)
				goto fail;
			/* each binary's CFI is read when usyms opens it, by its rules */
			kt_usyms_on_file(sc->us, kt_unwind_file_cb, sc->uw);
		}
		m = bpf_object__find_map_by_name(ctx->obj, "newpids");
		/* a replay's processes are long gone: there is nothing to follow */
		if (m && !kt_tape_replaying())
			sc->rb = ring_buffer__new(bpf_map__fd(m), on_newpid, sc, NULL);
		if (!sc->rb && !kt_tape_replaying())
			kt_warn("cannot follow new processes (%s): processes that exit before the "
				"report will not be symbolized", strerror(errno));
	}
	if (o->target && !kt_tape_replaying()) {
#ifdef SYS_pidfd_open
		sc->target_fd = (int)syscall(SYS_pidfd_open, (pid_t)o->target, 0);
#endif
	}
	if ((sc->rb || (o->target && !kt_tape_replaying())) &&
	    pthread_create(&sc->thread, NULL, pid_thread, sc) == 0)
		sc->thread_running = true;
	*out = sc;
	return 0;
fail:
	kt_stackcol_free(sc);
	return err;
}

void kt_stackcol_free(struct kt_stackcol *sc)
{
	if (!sc)
		return;
	sc->stop = true;
	if (sc->thread_running)
		pthread_join(sc->thread, NULL);
	ring_buffer__free(sc->rb);
	if (sc->target_fd >= 0)
		close(sc->target_fd);
	kt_stacks_free(sc->st);
	kt_usyms_free(sc->us);
	kt_unwind_free(sc->uw);
	kt_ksyms_free(sc->ks);
	pthread_mutex_destroy(&sc->lock);
	free(sc->ips);
	free(sc);
}

/* Read one stack out of the map; returns the number of frames (0: none). */
static size_t read_stack(struct kt_stackcol *sc, int64_t id, uint64_t *ips)
{
	size_t n = 0;

	/* a replay has no maps: the tape has what each lookup returned */
	if (id < 0 || (sc->stacks_fd < 0 && !kt_tape_replaying()))
		return 0;
	memset(ips, 0, sc->o->depth * sizeof(uint64_t));
	if (kt_map_lookup(sc->stacks_fd, &id, ips, sc->o->depth * sizeof(uint64_t)))
		return 0;
	while (n < sc->o->depth && ips[n])
		n++;
	return n;
}

/*
 * The kernel's symbols, read when the first stack is collected rather than
 * at start-up: formatting /proc/kallsyms costs the kernel some 60 ms.
 */
static struct kt_ksyms *kernel_syms(struct kt_stackcol *sc)
{
	if (sc->ks_tried || !sc->o->kernel)
		return sc->ks;
	sc->ks_tried = true;
	kt_ksyms_load_or_warn(&sc->ks, "kernel frames will be addresses or [unknown]");
	return sc->ks;
}

/*
 * Stacks taken in a tracepoint program start inside ktrace itself: the BPF
 * program, then bpf_trace_run<N>() (and, on some kernels, __bpf_trace_<tp>),
 * called from the tracepoint's __traceiter_<tp>(). Those leading frames are
 * tracing machinery, not where the task was: they are dropped by name, which
 * holds whatever the kernel version adds.
 */
static size_t own_frames(struct kt_stackcol *sc, const uint64_t *ips, size_t n)
{
	struct kt_ksyms *ks = kernel_syms(sc);
	size_t skip = 0;

	while (skip < n && ks) {
		const struct kt_ksym *k = kt_ksyms_lookup(ks, ips[skip], NULL);

		if (!k || !k->name || !kt_stacks_tracing_frame(k->name))
			break;
		skip++;
	}
	return skip;
}

/* A stack's kernel part: its frames (a copy in *kips, freed by the caller) and ktrace's own on top. */
static int kernel_part(struct kt_stackcol *sc, int64_t kstack, uint64_t **kips, size_t *nk,
		       size_t *skip)
{
	*kips = NULL;
	*skip = 0;
	*nk = read_stack(sc, kstack, sc->ips);
	if (!*nk)
		return 0;
	*kips = malloc(*nk * sizeof(**kips));
	if (!*kips)
		return -ENOMEM;
	memcpy(*kips, sc->ips, *nk * sizeof(**kips));
	*skip = own_frames(sc, *kips, *nk);
	return 0;
}

int kt_stackcol_add(struct kt_stackcol *sc, uint32_t pid, const char *comm, int64_t kstack,
		    int64_t ustack, uint64_t value)
{
	uint64_t *kips = NULL;
	size_t nk, nu, skip = 0;
	int err;

	err = kernel_part(sc, kstack, &kips, &nk, &skip);
	if (err)
		return err;
	nu = read_stack(sc, ustack, sc->ips);
	err = kt_stacks_add(sc->st, pid, comm, kips, nk, skip, nu ? sc->ips : NULL, nu, value);
	free(kips);
	return err;
}

int kt_stackcol_add_copy(struct kt_stackcol *sc, uint32_t pid, const char *comm, int64_t kstack,
			 const struct kt_ustack *u, const void *stack, size_t len, uint64_t value)
{
	uint64_t *kips = NULL, uips[KT_STACK_MAX_DEPTH];
	size_t nk, nu = 0, skip = 0;
	unsigned flags = 0;
	int err;

	err = kernel_part(sc, kstack, &kips, &nk, &skip);
	if (err)
		return err;
	if (u && !(u->flags & KT_USTACK_NO_REGS) && sc->uw) {
		uint64_t regs[KT_UREG_N];

		_Static_assert(KT_UREG_N == KT_USTACK_NREGS, "the BPF side copies every DWARF register");
		memcpy(regs, u->regs, sizeof(regs));
		if (len > u->len)
			len = u->len;
		pthread_mutex_lock(&sc->lock);
		nu = kt_unwind_stack(sc->uw, sc->us, (int)pid, regs, stack, len, uips,
				     sc->o->depth < KT_STACK_MAX_DEPTH ? sc->o->depth : KT_STACK_MAX_DEPTH,
				     &flags);
		pthread_mutex_unlock(&sc->lock);
	}
	err = kt_stacks_add_flags(sc->st, pid, comm, kips, nk, skip, nu ? uips : NULL, nu,
				  (flags & KT_UNWIND_END ? KT_STACK_U_END : 0) | KT_STACK_U_DWARF,
				  value);
	free(kips);
	return err;
}

static void report_errors(struct kt_stackcol *sc)
{
	int ncpu = libbpf_num_possible_cpus();
	struct kt_stack_errors *v, total = {};
	uint32_t zero = 0;

	if ((sc->errors_fd < 0 && !kt_tape_replaying()) || ncpu <= 0)
		return;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return;
	if (!kt_map_lookup(sc->errors_fd, &zero, v, (size_t)ncpu * sizeof(*v))) {
		for (int c = 0; c < ncpu; c++)
			for (int i = 0; i < KT_SERR_N; i++)
				total.n[i] += v[c].n[i];
		/* counters are cumulative: clear them so each interval reports its own */
		memset(v, 0, (size_t)ncpu * sizeof(*v));
		bpf_map_update_elem(sc->errors_fd, &zero, v, BPF_ANY);
	}
	free(v);
	sc->ctx->lost_stacks += total.n[KT_SERR_KERNEL_FULL] + total.n[KT_SERR_USER_FULL];
	kt_out_stacks_lost(sc->ctx->out, sc->o->events, total.n[KT_SERR_UNCOUNTED],
			   "ktrace's kernel-side tables are full",
			   "trace fewer tasks (e.g. -p) or for a shorter time");
	kt_out_stacks_lost(sc->ctx->out, "kernel stacks", total.n[KT_SERR_KERNEL_FULL],
			   "the stack map is full", "raise --stack-storage-size");
	kt_out_stacks_lost(sc->ctx->out, "user stacks", total.n[KT_SERR_USER_FULL],
			   "the stack map is full", "raise --stack-storage-size");
	kt_out_stacks_lost(sc->ctx->out, "kernel stacks", total.n[KT_SERR_KERNEL_FAULT],
			   "the kernel stack could not be walked",
			   "many of these point to a kernel built without a stack unwinder (ORC or frame pointers)");
	kt_out_stacks_lost(sc->ctx->out, "user stacks", total.n[KT_SERR_USER_FAULT],
			   "the user stack could not be read",
			   "none needed for a few (a task without user memory, e.g. exiting)");
}

/* Say what symbolization had to cut since the last report (perf maps over their caps). */
static void report_cuts(struct kt_stackcol *sc)
{
	struct kt_usyms_stats now;

	kt_usyms_stats(sc->us, &now);
	if (now.perfmaps_truncated > sc->us_seen.perfmaps_truncated)
		kt_warn("the perf map of pid %d is larger than ktrace reads (%u entries, %llu MB): "
			"%llu of its entries were not read, JIT frames past them show as [unknown]",
			now.last_truncated_pid, KT_PERFMAP_MAX_SYMS,
			(unsigned long long)(KT_PERFMAP_MAX_BYTES >> 20),
			(unsigned long long)(now.perfmap_lines_dropped -
					     sc->us_seen.perfmap_lines_dropped));
	if (now.perfmaps_skipped > sc->us_seen.perfmaps_skipped)
		kt_warn("%llu perf map(s) were not read: the perf maps already read hold ktrace's "
			"budget for them; JIT frames of those processes show as [unknown]",
			(unsigned long long)(now.perfmaps_skipped - sc->us_seen.perfmaps_skipped));
	if (now.procs_evicted > sc->us_seen.procs_evicted)
		kt_warn("%llu process snapshot(s) were forgotten to keep ktrace's memory bounded: "
			"frames of processes that exited since may show as [unknown]",
			(unsigned long long)(now.procs_evicted - sc->us_seen.procs_evicted));
	if (now.files_skipped > sc->us_seen.files_skipped)
		kt_warn("%llu binaries were not read for symbols: the symbol cache is at its budget; "
			"their frames show as module+offset",
			(unsigned long long)(now.files_skipped - sc->us_seen.files_skipped));
	if (now.files_truncated > sc->us_seen.files_truncated)
		kt_warn("%s has more symbols than ktrace keeps per file (%u symbols, %u MB of names): "
			"some of its functions show as a neighbour or module+offset",
			now.last_truncated_file,
			KT_ELF_MAX_SYMS, KT_ELF_MAX_NAMES >> 20);
	sc->us_seen = now;
	if (sc->uw) {
		struct kt_unwind_stats u;

		kt_unwind_stats(sc->uw, &u);
		if (u.files_skipped > sc->uw_seen.files_skipped)
			kt_warn("%llu binaries' CFI was not read: over ktrace's unwinding budget (%u "
				"binaries, %u MB; .eh_frame over %u MB): their frames are walked by "
				"frame pointer",
				(unsigned long long)(u.files_skipped - sc->uw_seen.files_skipped),
				KT_UNWIND_MAX_FILES, KT_UNWIND_MAX_MEM >> 20,
				KT_UNWIND_MAX_EH_FRAME >> 20);
		kt_info("unwinding: CFI of %llu binaries (%llu KB), %llu without; %llu frames by "
			"CFI, %llu by frame pointer",
			(unsigned long long)u.files, (unsigned long long)(u.mem >> 10),
			(unsigned long long)u.files_no_cfi, (unsigned long long)u.frames_cfi,
			(unsigned long long)u.frames_fp);
		sc->uw_seen = u;
	}
}

/* The share of user stacks that reach a known root, for the summary. */
static void count_rooted(struct kt_stackcol *sc)
{
	for (size_t i = 0; i < kt_stacks_count(sc->st); i++) {
		const struct kt_stack *s = kt_stacks_get(sc->st, i);

		if (!s->nuser)
			continue;
		sc->ctx->ustacks_total += s->value;
		if (s->urooted)
			sc->ctx->ustacks_rooted += s->value;
	}
}


/* Write errors are reported by core when it closes the file. */
static int write_svg(struct kt_stackcol *sc)
{
	struct kt_flamegraph_opts fo = { sc->o->svg_title, sc->o->svg_unit, KT_FLAMEGRAPH_AUTO, 0 };
	struct kt_ofile *of = kt_output_file_get(sc->ctx, "--svg");
	char sub[1024], span[128], host[256] = "";
	int err;

	if (!of)
		return -EBADF;
	/* what was traced, where and when: the graph alone should say */
	gethostname(host, sizeof(host) - 1);
	kt_flamegraph_span(span, sizeof(span), sc->ctx->start_realtime_ns, kt_now_real());
	kt_flamegraph_subtitle(sub, sizeof(sub), sc->ctx->argc, sc->ctx->argv, host,
			       kt_kernel_release(), span);
	fo.subtitle = sub;
	err = kt_flamegraph_write_opts(kt_ofile_stream(of), sc->st, &fo);
	if (kt_ofile_flush(of))
		return kt_ofile_flush(of);
	if (err)
		kt_err("--svg %s: drawing the flame graph failed: %s", sc->o->svg, strerror(-err));
	return err;
}

int kt_stackcol_report(struct kt_stackcol *sc, bool final)
{
	struct kt_stacks_fmt fmt = { sc->o->value_key, sc->o->delimited };
	int err;

	pthread_mutex_lock(&sc->lock);
	err = kt_stacks_resolve(sc->st, kernel_syms(sc), sc->us);
	pthread_mutex_unlock(&sc->lock);
	if (err) {
		kt_err("symbolizing stacks failed: %s", strerror(-err));
		return err;
	}
	report_cuts(sc);
	count_rooted(sc);
	kt_stacks_sort(sc->st);
	if (sc->ctx->o.timestamp)
		kt_out_time_line(sc->ctx->out);
	if (sc->o->folded)
		kt_out_stacks_folded(sc->ctx->out, sc->st, sc->o->delimited);
	else
		kt_out_stacks(sc->ctx->out, sc->st, &fmt);
	report_errors(sc);
	if (final && sc->o->svg) {
		err = write_svg(sc);
		if (err)
			return err;
	}
	kt_stacks_clear(sc->st);
	/* the frames are printed: what the symbol caches evicted meanwhile can go */
	pthread_mutex_lock(&sc->lock);
	kt_usyms_trim(sc->us);
	pthread_mutex_unlock(&sc->lock);
	return 0;
}
