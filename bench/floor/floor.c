// SPDX-License-Identifier: GPL-2.0
/*
 * floor: attach do-nothing BPF programs (floor.bpf.o) to the hooks named on
 * the command line and wait for SIGINT or SIGTERM.
 *
 *   floor [-v] [-F HZ] [-b floor.bpf.o] TYPE:TARGET...
 *
 * TYPE is one of tp_btf, raw_tp, tracepoint (TARGET "category/name"),
 * perf_event (cpu-clock sampling at HZ on every CPU; TARGET is ignored),
 * fentry, kprobe. The benchmark passes the types and targets that ktrace
 * reported in its JSON "meta" record, so the floor enters BPF exactly where
 * ktrace does and the difference between the two is ktrace's own work.
 * Prints "floor: ready" on stderr once everything is attached.
 *
 *   floor [-v] [-F HZ] [-r RINGBUF_BYTES] -o OBJECT TYPE:TARGET=PROGRAM...
 *
 * The loader floor: a bare libbpf loader of ktrace's own programs. OBJECT is
 * the command's BPF object as ktrace embeds it (build/gen/CMD.bpf.o); only
 * the named programs are loaded (libbpf's defaults: CO-RE against the
 * kernel's whole BTF, the maps as the object sizes them but the ring buffer
 * "events", -r bytes as ktrace's meta says, and read), each attached as
 * TYPE to TARGET, the way ktrace's meta record says it attached them. What
 * ktrace needs beyond this is its own work: option parsing, its plan and
 * feature probes, its sizing, and the output it prepares.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#define MAX_LINKS 512
#define MAX_OBJS 64

static struct bpf_link *links[MAX_LINKS];
static int n_links;
static struct bpf_object *objs[MAX_OBJS];
static int n_objs;
static bool verbose;
static volatile sig_atomic_t stop;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void on_signal(int sig)
{
	stop = 1;
}

static int add_link(struct bpf_link *l, const char *what)
{
	if (!l) {
		int err = -errno;

		fprintf(stderr, "floor: attaching %s failed: %s\n", what, strerror(-err));
		return err;
	}
	if (n_links == MAX_LINKS) {
		bpf_link__destroy(l);
		fprintf(stderr, "floor: more than %d links\n", MAX_LINKS);
		return -E2BIG;
	}
	links[n_links++] = l;
	return 0;
}

/* One software cpu-clock sampling event per online CPU, each running prog. */
static int attach_sampling(struct bpf_program *prog, unsigned long hz)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.freq = 1,
		.sample_freq = hz,
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int err;

	for (int cpu = 0; cpu < ncpu; cpu++) {
		int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			err = -errno;
			fprintf(stderr, "floor: perf_event_open on cpu %d failed: %s\n", cpu,
				strerror(-err));
			return err;
		}
		err = add_link(bpf_program__attach_perf_event(prog, fd), "perf_event");
		if (err) {
			close(fd);
			return err;
		}
	}
	return 0;
}

/* Opens the object at path, kept in objs[] (closed at exit). */
static int open_obj(const char *path, struct bpf_object **obj)
{
	int err;

	if (n_objs == MAX_OBJS)
		return -E2BIG;
	*obj = bpf_object__open_file(path, NULL);
	if (!*obj) {
		err = -errno;
		fprintf(stderr, "floor: cannot open %s: %s\n", path, strerror(-err));
		return err;
	}
	objs[n_objs++] = *obj;
	return 0;
}

static struct ring_buffer *rb;

static int drop_record(void *ctx, void *data, size_t size)
{
	return 0;
}

/* TYPE:TARGET: prog attached as TYPE to TARGET. */
static int attach_as(struct bpf_program *prog, const char *spec, const char *type,
		     const char *target, unsigned long hz)
{
	char cat[128];
	const char *slash;

	if (!strcmp(type, "raw_tp"))
		return add_link(bpf_program__attach_raw_tracepoint(prog, target), spec);
	if (!strcmp(type, "kprobe") || !strcmp(type, "kretprobe"))
		return add_link(bpf_program__attach_kprobe(prog, type[1] == 'r', target), spec);
	if (!strcmp(type, "perf_event"))
		return attach_sampling(prog, hz);
	if (!strcmp(type, "uprobe") || !strcmp(type, "uretprobe")) {
		/* PATH:FUNC, as ktrace's meta names a user function */
		const char *colon = strrchr(target, ':');
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = type[1] == 'r');
		char bin[PATH_MAX];

		if (!colon || colon - target >= (long)sizeof(bin)) {
			fprintf(stderr, "floor: uprobe '%s' is not PATH:FUNC\n", target);
			return -EINVAL;
		}
		snprintf(bin, sizeof(bin), "%.*s", (int)(colon - target), target);
		uo.func_name = colon + 1;
		return add_link(bpf_program__attach_uprobe_opts(prog, -1, bin, 0, &uo), spec);
	}
	if (!strcmp(type, "tracepoint")) {
		slash = strchr(target, '/');
		if (!slash || slash - target >= (long)sizeof(cat)) {
			fprintf(stderr, "floor: tracepoint '%s' is not category/name\n", target);
			return -EINVAL;
		}
		snprintf(cat, sizeof(cat), "%.*s", (int)(slash - target), target);
		return add_link(bpf_program__attach_tracepoint(prog, cat, slash + 1), spec);
	}
	return add_link(bpf_program__attach(prog), spec);
}

/* The loader floor: OBJECT's programs named by specs (TYPE:TARGET=PROGRAM), loaded once, attached. */
static int load_object(const char *path, char **specs, int n, unsigned long hz, unsigned long rb_bytes)
{
	struct bpf_object *obj;
	struct bpf_map *events;
	struct bpf_program *p;
	int err = open_obj(path, &obj);

	if (err)
		return err;
	bpf_object__for_each_program(p, obj) {
		bool want = false;

		for (int i = 0; i < n && !want; i++) {
			const char *eq = strrchr(specs[i], '=');

			want = eq && !strcmp(eq + 1, bpf_program__name(p));
		}
		bpf_program__set_autoload(p, want);
	}
	events = bpf_object__find_map_by_name(obj, "events");
	if (events && rb_bytes)
		bpf_map__set_max_entries(events, (uint32_t)rb_bytes);
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "floor: loading %s failed: %s\n", path, strerror(-err));
		return err;
	}
	/* a stream's records are read, as any loader of these programs must */
	if (events && bpf_map__type(events) == BPF_MAP_TYPE_RINGBUF) {
		rb = ring_buffer__new(bpf_map__fd(events), drop_record, NULL, NULL);
		if (!rb) {
			err = -errno;
			fprintf(stderr, "floor: ring buffer: %s\n", strerror(-err));
			return err;
		}
	}
	for (int i = 0; i < n && !err; i++) {
		char type[32], target[512];
		const char *colon = strchr(specs[i], ':'), *eq = strrchr(specs[i], '=');

		if (!colon || !eq || eq < colon || colon - specs[i] >= (long)sizeof(type) ||
		    eq - colon > (long)sizeof(target)) {
			fprintf(stderr, "floor: bad hook '%s': expected TYPE:TARGET=PROGRAM\n", specs[i]);
			return -EINVAL;
		}
		snprintf(type, sizeof(type), "%.*s", (int)(colon - specs[i]), specs[i]);
		snprintf(target, sizeof(target), "%.*s", (int)(eq - colon - 1), colon + 1);
		p = bpf_object__find_program_by_name(obj, eq + 1);
		if (!p) {
			fprintf(stderr, "floor: no program %s in %s\n", eq + 1, path);
			return -ENOENT;
		}
		err = attach_as(p, specs[i], type, target, hz);
	}
	return err;
}

/* Open a private copy of the object with only the program of this type, load it, attach it. */
static int attach_spec(const char *path, const char *spec, unsigned long hz)
{
	char type[32], prog_name[64];
	const char *target = strchr(spec, ':');
	struct bpf_object *obj;
	struct bpf_program *p, *prog = NULL;
	int err;

	if (!target || target - spec >= (long)sizeof(type)) {
		fprintf(stderr, "floor: bad hook '%s': expected TYPE:TARGET\n", spec);
		return -EINVAL;
	}
	snprintf(type, sizeof(type), "%.*s", (int)(target - spec), spec);
	target++;
	snprintf(prog_name, sizeof(prog_name), "floor_%s", type);
	err = open_obj(path, &obj);
	if (err)
		return err;
	bpf_object__for_each_program(p, obj) {
		bool want = !strcmp(bpf_program__name(p), prog_name);

		bpf_program__set_autoload(p, want);
		if (want)
			prog = p;
	}
	if (!prog) {
		fprintf(stderr, "floor: no floor program for hook type '%s'\n", type);
		return -EINVAL;
	}
	if (!strcmp(type, "tp_btf") || !strcmp(type, "fentry")) {
		err = bpf_program__set_attach_target(prog, 0, target);
		if (err) {
			fprintf(stderr, "floor: no BTF for %s: %s\n", target, strerror(-err));
			return err;
		}
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "floor: loading %s for %s failed: %s\n", prog_name, target,
			strerror(-err));
		return err;
	}
	return attach_as(prog, spec, type, target, hz);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], def[PATH_MAX + 16];
	const char *path = NULL, *object = NULL;
	unsigned long hz = 99, rb_bytes = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, old;
	int opt, err = 0;
	ssize_t n;

	while ((opt = getopt(argc, argv, "vF:b:o:r:")) != -1) {
		switch (opt) {
		case 'v':
			verbose = true;
			break;
		case 'F':
			hz = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			path = optarg;
			break;
		case 'o':
			object = optarg;
			break;
		case 'r':
			rb_bytes = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: floor [-v] [-F HZ] [-b floor.bpf.o] TYPE:TARGET...\n"
					"       floor [-v] [-F HZ] [-r RINGBUF_BYTES] -o OBJECT TYPE:TARGET=PROGRAM...\n");
			return 2;
		}
	}
	if (optind == argc || !hz) {
		fprintf(stderr, "usage: floor [-v] [-F HZ] [-b floor.bpf.o] TYPE:TARGET...\n"
					"       floor [-v] [-F HZ] [-r RINGBUF_BYTES] -o OBJECT TYPE:TARGET=PROGRAM...\n");
		return 2;
	}
	if (!path) {
		/* default: floor.bpf.o beside this binary */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			perror("floor: readlink /proc/self/exe");
			return 1;
		}
		self[n] = '\0';
		snprintf(def, sizeof(def), "%s/floor.bpf.o", dirname(self));
		path = def;
	}
	libbpf_set_print(print_libbpf);
	/* blocked until sigsuspend, so a signal cannot slip in before we sleep */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (object)
		err = load_object(object, argv + optind, argc - optind, hz, rb_bytes);
	for (int i = optind; !object && i < argc && !err; i++)
		err = attach_spec(path, argv[i], hz);
	if (!err) {
		fprintf(stderr, "floor: ready (%d links)\n", n_links);
		if (rb) {
			/* polls with the signals let in: one ends the poll with EINTR */
			sigprocmask(SIG_SETMASK, &old, NULL);
			while (!stop)
				ring_buffer__poll(rb, 200);
		}
		while (!stop)
			sigsuspend(&old);
	}
	ring_buffer__free(rb);
	for (int i = 0; i < n_links; i++)
		bpf_link__destroy(links[i]);
	for (int i = 0; i < n_objs; i++)
		bpf_object__close(objs[i]);
	return err ? 1 : 0;
}
