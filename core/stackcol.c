// SPDX-License-Identifier: GPL-2.0
/* Stack collection for offcpu and profile (see stackcol.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flamegraph.h"
#include "ksyms.h"
#include "kt_stacks.bpf.h"
#include "output.h"
#include "stackcol.h"
#include "stacks.h"
#include "stacks_out.h"
#include "usyms.h"
#include "util.h"

struct kt_stackcol {
	struct kt_ctx *ctx;
	const struct kt_stackcol_opts *o;
	struct kt_ksyms *ks; /* read on first use: see kernel_syms() */
	bool ks_tried;
	struct kt_usyms *us;
	struct kt_stacks *st;
	int stacks_fd, errors_fd;
	uint64_t *ips;

	/* the thread that snapshots processes as the probe announces them */
	pthread_mutex_t lock; /* usyms is not thread-safe */
	struct ring_buffer *rb;
	pthread_t thread;
	bool thread_running;
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

void kt_stackcol_defaults(struct kt_stackcol_opts *o)
{
	o->kernel = o->user = true;
	o->storage = 16384;
	o->depth = KT_STACK_MAX_DEPTH;
}

error_t kt_stackcol_parse(struct kt_stackcol_opts *o, int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'f':
		o->folded = true;
		return 0;
	case KT_STACKCOL_OPT_SVG:
		if (!*arg)
			argp_error(state, "--svg needs a file name");
		o->svg = arg;
		return 0;
	case KT_STACKCOL_OPT_STORAGE:
		o->storage = (uint32_t)kt_arg_u64(state, "--stack-storage-size", arg, 1, 1U << 24);
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
	if (o->svg) {
		/* find out now, not after a long trace, that the flame graph cannot be written */
		FILE *f = fopen(o->svg, "w");

		if (!f) {
			kt_err("--svg %s: cannot write the flame graph there: %s", o->svg,
			       strerror(errno));
			return -EINVAL;
		}
		fclose(f);
	}
	return 0;
}

int kt_stackcol_configure(struct kt_ctx *ctx, const struct kt_stackcol_opts *o)
{
	struct bpf_map *m = bpf_object__find_map_by_name(ctx->obj, "stacks");
	int err;

	if (!m)
		return -ENOENT;
	err = bpf_map__set_value_size(m, o->depth * sizeof(uint64_t));
	if (!err)
		err = bpf_map__set_max_entries(m, o->storage);
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

static void *pid_thread(void *arg)
{
	struct kt_stackcol *sc = arg;

	while (!sc->stop) {
		/* wake often only while an exec is settling; stop waits at most 100 ms */
		int err = ring_buffer__poll(sc->rb, sc->npending ? 5 : 100);
		uint64_t now = kt_now_mono();
		unsigned int k = 0;

		if (err < 0 && err != -EINTR)
			break;
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
	sc->stacks_fd = sc->errors_fd = -1;
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
		m = bpf_object__find_map_by_name(ctx->obj, "newpids");
		if (m)
			sc->rb = ring_buffer__new(bpf_map__fd(m), on_newpid, sc, NULL);
		if (!sc->rb) {
			kt_warn("cannot follow new processes (%s): processes that exit before the "
				"report will not be symbolized", strerror(errno));
		} else if (pthread_create(&sc->thread, NULL, pid_thread, sc) == 0) {
			sc->thread_running = true;
		}
	}
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
	kt_stacks_free(sc->st);
	kt_usyms_free(sc->us);
	kt_ksyms_free(sc->ks);
	pthread_mutex_destroy(&sc->lock);
	free(sc->ips);
	free(sc);
}

/* Read one stack out of the map; returns the number of frames (0: none). */
static size_t read_stack(struct kt_stackcol *sc, int32_t id, uint64_t *ips)
{
	size_t n = 0;

	if (id < 0 || sc->stacks_fd < 0)
		return 0;
	memset(ips, 0, sc->o->depth * sizeof(uint64_t));
	if (bpf_map_lookup_elem(sc->stacks_fd, &id, ips))
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
	int err;

	if (sc->ks_tried || !sc->o->kernel)
		return sc->ks;
	sc->ks_tried = true;
	err = kt_ksyms_load(NULL, &sc->ks);
	if (err) {
		kt_warn("cannot read /proc/kallsyms (%s): kernel frames will be addresses",
			strerror(-err));
		sc->ks = NULL;
	} else if (kt_ksyms_restricted(sc->ks)) {
		kt_warn("/proc/kallsyms hides addresses (kernel.kptr_restrict): kernel frames "
			"will be [unknown]; run as root or set kernel.kptr_restrict=0");
	}
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

int kt_stackcol_add(struct kt_stackcol *sc, uint32_t pid, const char *comm, int32_t kstack,
		    int32_t ustack, uint64_t value)
{
	uint64_t *kips = NULL;
	size_t nk, nu, skip = 0;
	int err;

	nk = read_stack(sc, kstack, sc->ips);
	if (nk) {
		kips = malloc(nk * sizeof(*kips));
		if (!kips)
			return -ENOMEM;
		memcpy(kips, sc->ips, nk * sizeof(*kips));
		skip = own_frames(sc, kips, nk);
	}
	nu = read_stack(sc, ustack, sc->ips);
	err = kt_stacks_add(sc->st, pid, comm, kips, nk, skip, nu ? sc->ips : NULL, nu, value);
	free(kips);
	return err;
}

static void report_errors(struct kt_stackcol *sc)
{
	int ncpu = libbpf_num_possible_cpus();
	struct kt_stack_errors *v, total = {};
	uint32_t zero = 0;

	if (sc->errors_fd < 0 || ncpu <= 0)
		return;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return;
	if (!bpf_map_lookup_elem(sc->errors_fd, &zero, v)) {
		for (int c = 0; c < ncpu; c++)
			for (int i = 0; i < KT_SERR_N; i++)
				total.n[i] += v[c].n[i];
		/* counters are cumulative: clear them so each interval reports its own */
		memset(v, 0, (size_t)ncpu * sizeof(*v));
		bpf_map_update_elem(sc->errors_fd, &zero, v, BPF_ANY);
	}
	free(v);
	kt_out_stacks_lost(sc->ctx->out, sc->o->events, total.n[KT_SERR_UNCOUNTED],
			   "ktrace's kernel-side tables are full",
			   "trace fewer tasks (e.g. -p) or for a shorter time");
	kt_out_stacks_lost(sc->ctx->out, "kernel stacks", total.n[KT_SERR_KERNEL_FULL],
			   "the stack map is full or two stacks collided in it",
			   "raise --stack-storage-size");
	kt_out_stacks_lost(sc->ctx->out, "user stacks", total.n[KT_SERR_USER_FULL],
			   "the stack map is full or two stacks collided in it",
			   "raise --stack-storage-size");
	kt_out_stacks_lost(sc->ctx->out, "kernel stacks", total.n[KT_SERR_KERNEL_FAULT],
			   "the kernel stack could not be walked",
			   "many of these point to a kernel built without a stack unwinder (ORC or frame pointers)");
	kt_out_stacks_lost(sc->ctx->out, "user stacks", total.n[KT_SERR_USER_FAULT],
			   "the user stack could not be read",
			   "none needed for a few (a task without user memory, e.g. exiting)");
}

static int write_svg(struct kt_stackcol *sc)
{
	struct kt_flamegraph_opts fo = { sc->o->svg_title, sc->o->svg_unit, KT_FLAMEGRAPH_AUTO, 0 };
	char sub[1024], span[128], host[256] = "";
	FILE *f = fopen(sc->o->svg, "w");
	int err;

	/* what was traced, where and when: the graph alone should say */
	gethostname(host, sizeof(host) - 1);
	kt_flamegraph_span(span, sizeof(span), sc->ctx->start_realtime_ns, kt_now_real());
	kt_flamegraph_subtitle(sub, sizeof(sub), sc->ctx->argc, sc->ctx->argv, host,
			       kt_kernel_release(), span);
	fo.subtitle = sub;

	if (!f) {
		err = -errno;
		kt_err("cannot write the flame graph to %s: %s", sc->o->svg, strerror(-err));
		return err;
	}
	err = kt_flamegraph_write_opts(f, sc->st, &fo);
	if (fclose(f) && !err)
		err = -EIO;
	if (err)
		kt_err("writing the flame graph to %s failed: %s", sc->o->svg, strerror(-err));
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
	return 0;
}
