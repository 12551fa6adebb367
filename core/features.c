// SPDX-License-Identifier: GPL-2.0
/* Kernel feature probes (see features.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "features.h"
#include "kbtf.h"
#include "util.h"

static const char *const attach_names[KT_ATTACH_N] = {
	[KT_FENTRY] = "fentry",	    [KT_FEXIT] = "fexit",   [KT_KPROBE] = "kprobe",
	[KT_KRETPROBE] = "kretprobe", [KT_TP_BTF] = "tp_btf", [KT_RAW_TP] = "raw_tp",
	[KT_TRACEPOINT] = "tracepoint", [KT_PERF_EVENT] = "perf_event",
	[KT_UPROBE] = "uprobe",	    [KT_URETPROBE] = "uretprobe",
};

const char *kt_attach_name(enum kt_attach t)
{
	return t < KT_ATTACH_N ? attach_names[t] : "?";
}

int kt_attach_parse(const char *s)
{
	for (int i = 0; i < KT_ATTACH_N; i++)
		if (!strcmp(s, attach_names[i]))
			return i;
	return -1;
}

/*
 * The kernel's BTF, read once (kbtf.c: a mapping and an index, not a libbpf
 * parse) and kept until kt_vmlinux_btf_release().
 */
static struct kt_kbtf *cached_btf;
static bool btf_tried;

const struct kt_kbtf *kt_vmlinux_btf(void)
{
	if (!btf_tried) {
		btf_tried = true;
		if (kt_kbtf_open(NULL, &cached_btf))
			cached_btf = NULL;
	}
	return cached_btf;
}

void kt_vmlinux_btf_release(void)
{
	kt_kbtf_free(cached_btf);
	cached_btf = NULL;
	btf_tried = false;
}

bool kt_have_btf(void)
{
	return access("/sys/kernel/btf/vmlinux", R_OK) == 0;
}

/* 0 if the kernel has everything in needs (KT_NEED_*), else -ENOTSUP and *why. */
static int feature_needs(unsigned needs, const char **why)
{
	static int loop = -1, tstore = -1, cookie = -1;

	if (needs & KT_NEED_BPF_COOKIE) {
		if (cookie < 0)
			cookie = libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE,
							 BPF_FUNC_get_attach_cookie, NULL) == 1;
		if (!cookie) {
			*why = "the kernel lacks the bpf_get_attach_cookie helper (Linux 5.15+)";
			return -ENOTSUP;
		}
	}
	if (needs & KT_NEED_BPF_LOOP) {
		if (loop < 0)
			loop = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop,
						       NULL) == 1;
		if (!loop) {
			*why = "the kernel lacks the bpf_loop helper (5.17+)";
			return -ENOTSUP;
		}
	}
	if (needs & KT_NEED_TASK_STORAGE) {
		/* raw_tp's helpers are the base of tp_btf's: a yes here holds for both */
		if (tstore < 0)
			tstore = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) == 1 &&
				 libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT,
							 BPF_FUNC_task_storage_get, NULL) == 1;
		if (!tstore) {
			*why = "the kernel lacks task storage in tracing programs (5.12+)";
			return -ENOTSUP;
		}
	}
	return 0;
}

int kt_feature_alt(const struct kt_alt *alt, const char **why)
{
	int err = kt_feature_probe(alt->type, alt->target, why);

	return err ? err : feature_needs(alt->needs, why);
}

bool kt_have_ringbuf(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, 4096, NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * Whether a perf_event program may use a hash map that allocates its entries
 * as they come (BPF_F_NO_PREALLOC): 6.1+ (the BPF memory allocator works in
 * any context, NMI included); before, the verifier wants them preallocated.
 * The load of "lookup in such a map" tells, once per run.
 */
bool kt_have_noprealloc_htab(void)
{
	static int known = -1;
	int map, fd;

	if (known >= 0)
		return known;
	known = 0;
	map = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, 8, 8, 1,
			     &(struct bpf_map_create_opts){ .sz = sizeof(struct bpf_map_create_opts),
							    .map_flags = BPF_F_NO_PREALLOC });
	if (map < 0)
		return false;
	{
		/* *(u64 *)(r10 - 8) = 0; r1 = map; r2 = r10 - 8; call lookup; r0 = 0; exit */
		const struct bpf_insn insns[] = {
			{ .code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_10, .off = -8 },
			{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1,
			  .src_reg = BPF_PSEUDO_MAP_FD, .imm = map },
			{ 0 },
			{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_10 },
			{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = -8 },
			{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_map_lookup_elem },
			{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
			{ .code = BPF_JMP | BPF_EXIT },
		};

		fd = bpf_prog_load(BPF_PROG_TYPE_PERF_EVENT, "kt_probe", "GPL", insns,
				   sizeof(insns) / sizeof(insns[0]), NULL);
	}
	close(map);
	if (fd >= 0) {
		close(fd);
		known = 1;
	}
	return known;
}

int kt_btf_tp_nargs(const char *tp)
{
	const struct kt_kbtf *btf = kt_vmlinux_btf();
	const struct btf_type *t;
	char name[128];
	int id;

	if (!btf)
		return -ENOENT;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = kt_kbtf_find(btf, name, BTF_KIND_TYPEDEF);
	if (id < 0)
		return id;
	t = kt_kbtf_type(btf, (uint32_t)id);		  /* typedef */
	t = kt_kbtf_type(btf, t->type);		  /* pointer */
	if (!t || !btf_is_ptr(t))
		return -EINVAL;
	t = kt_kbtf_type(btf, t->type);		  /* func proto */
	if (!t || !btf_is_func_proto(t))
		return -EINVAL;
	return btf_vlen(t) - 1; /* the first parameter is the context */
}

/* r0 = 0; exit */
static const struct bpf_insn ret0[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

static int load(enum bpf_prog_type type, enum bpf_attach_type eat, int btf_id)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = eat, .attach_btf_id = btf_id);
	int fd = bpf_prog_load(type, "kt_probe", "GPL", ret0, 2, &o);

	return fd < 0 ? -errno : fd;
}

static int perf_attach(int prog, struct perf_event_attr *attr)
{
	int pfd = syscall(SYS_perf_event_open, attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC), err = 0;

	if (pfd < 0)
		return -errno;
	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog) < 0)
		err = -errno;
	close(pfd);
	return err;
}

/* Loads a do-nothing program of type and attaches it to the perf event attr describes. */
static int probe_perf_prog(enum bpf_prog_type type, struct perf_event_attr *attr, const char *what,
			   const char **why)
{
	int fd = load(type, 0, 0), err;

	if (fd < 0) {
		*why = "program load failed";
		return fd;
	}
	err = perf_attach(fd, attr);
	close(fd);
	if (err)
		*why = what;
	return err;
}

static int read_int_file(const char *path, long *v)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	/* gcc -O3 cannot see that errno is not 0 below (maybe-uninitialized) */
	*v = 0;
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = 0;
	*v = strtol(buf, NULL, 10);
	return 0;
}

/* BTF id of a tp_btf target (its btf_trace_NAME typedef) or of a function. */
static int btf_target_id(const char *target, bool tp)
{
	const struct kt_kbtf *btf = kt_vmlinux_btf();
	char name[160];

	if (!btf)
		return -ENOENT;
	if (!tp)
		return kt_kbtf_find(btf, target, BTF_KIND_FUNC);
	snprintf(name, sizeof(name), "btf_trace_%s", target);
	return kt_kbtf_find(btf, name, BTF_KIND_TYPEDEF);
}

/*
 * tp_btf: loading with the target's BTF id is the whole test (the verifier
 * checks the target); attaching and detaching would cost an RCU grace period
 * per hook. fentry/fexit are attached too: whether a function can be traced
 * (ftrace) is only known at attach.
 */
static int probe_btf_tracing(enum bpf_attach_type eat, const char *target, const char **why)
{
	bool tp = eat == BPF_TRACE_RAW_TP;
	int id, fd, lfd = 0;

	if (!kt_have_btf()) {
		*why = "no kernel BTF (/sys/kernel/btf/vmlinux)";
		return -ENOENT;
	}
	id = btf_target_id(target, tp);
	if (id < 0) {
		*why = tp ? "tracepoint not in kernel BTF" : "function not in kernel BTF";
		return -ENOENT;
	}
	fd = load(BPF_PROG_TYPE_TRACING, eat, id);
	if (fd < 0) {
		*why = fd == -EPERM ? "kernel refuses the program (EPERM)" : "program load failed";
		return fd;
	}
	if (!tp) {
		lfd = bpf_link_create(fd, 0, eat, NULL);
		if (lfd < 0) {
			lfd = -errno;
			*why = lfd == -EPERM ? "kernel refuses to attach (EPERM)" : "attach failed";
		} else {
			close(lfd);
			lfd = 0;
		}
	}
	close(fd);
	return lfd;
}

static int probe_kprobe(const char *target, bool ret, const char **why)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	long type, bit;
	int err;

	if (read_int_file("/sys/bus/event_source/devices/kprobe/type", &type)) {
		*why = "kernel has no kprobe PMU (CONFIG_KPROBES off?)";
		return -ENOENT;
	}
	attr.type = (unsigned)type;
	if (ret) {
		if (read_int_file("/sys/bus/event_source/devices/kprobe/format/retprobe", &bit))
			bit = 0;
		attr.config = 1ULL << bit;
	}
	attr.config1 = (uint64_t)(unsigned long)target;
	err = probe_perf_prog(BPF_PROG_TYPE_KPROBE, &attr, "kprobe attach failed", why);
	if (err == -ENOENT || err == -EINVAL)
		*why = "function cannot be kprobed";
	return err;
}

/*
 * Whether programs of type (raw tracepoint or tracepoint, the two the probes
 * below ask about) load at all; once per run per type.
 */
static int type_loads(enum bpf_prog_type type)
{
	static int res[2] = { 1, 1 }; /* 1: not tried */
	int i = type == BPF_PROG_TYPE_TRACEPOINT, fd;

	if (res[i] == 1) {
		fd = load(type, 0, 0);
		res[i] = fd < 0 ? fd : 0;
		if (fd >= 0)
			close(fd);
	}
	return res[i];
}

/*
 * raw_tp: a tracepoint the kernel's BTF declares (btf_trace_NAME) exists;
 * others (e.g. in modules) are attached for real to find out.
 */
static int probe_raw_tp(const char *target, const char **why)
{
	int fd, lfd, err = type_loads(BPF_PROG_TYPE_RAW_TRACEPOINT);

	if (err) {
		*why = "raw tracepoint program load failed";
		return err;
	}
	if (btf_target_id(target, true) >= 0)
		return 0;
	fd = load(BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0);
	if (fd < 0) {
		*why = "raw tracepoint program load failed";
		return fd;
	}
	lfd = bpf_raw_tracepoint_open(target, fd);
	if (lfd < 0) {
		lfd = -errno;
		*why = "no such raw tracepoint";
	} else {
		close(lfd);
		lfd = 0;
	}
	close(fd);
	return lfd;
}

static int probe_tracepoint(const char *target, const char **why)
{
	char path[256];
	long id;
	int err;

	err = kt_tracefs_ensure();
	if (err) {
		*why = kt_tracefs_why(err);
		return err;
	}
	snprintf(path, sizeof(path), "%s/events/%s/id", kt_tracefs_path(), target);
	if (read_int_file(path, &id)) {
		*why = "no such tracepoint";
		return -ENOENT;
	}
	/*
	 * The id file is the test: opening and closing a perf event on the
	 * tracepoint would cost an RCU grace period (about 70 ms) per hook.
	 */
	err = type_loads(BPF_PROG_TYPE_TRACEPOINT);
	if (err)
		*why = "tracepoint program load failed";
	return err;
}

struct probe_cache {
	enum kt_attach type;
	char target[96];
	int err;
	const char *why;
};

int kt_feature_probe(enum kt_attach type, const char *target, const char **why)
{
	/* the fs commands alone have 28 VFS and 2 system-call hooks, of two types each */
	static struct probe_cache cache[512];
	static size_t n;
	const char *w = NULL;
	int err = -EINVAL;

	for (size_t i = 0; i < n; i++) {
		if (cache[i].type == type && !strcmp(cache[i].target, target)) {
			*why = cache[i].why;
			return cache[i].err;
		}
	}
	switch (type) {
	case KT_FENTRY:
		err = probe_btf_tracing(BPF_TRACE_FENTRY, target, &w);
		break;
	case KT_FEXIT:
		/*
		 * fexit uses the trampoline fentry does: a function fentry attached to
		 * takes fexit too (each attach and detach costs a trampoline update,
		 * about 0.1 s in a qemu guest; the fs commands have 14 such pairs)
		 */
		for (size_t i = 0; i < n; i++) {
			if (cache[i].type == KT_FENTRY && !cache[i].err &&
			    !strcmp(cache[i].target, target)) {
				err = 0;
				goto cached;
			}
		}
		err = probe_btf_tracing(BPF_TRACE_FEXIT, target, &w);
		break;
	case KT_TP_BTF:
		err = probe_btf_tracing(BPF_TRACE_RAW_TP, target, &w);
		break;
	case KT_KPROBE:
	case KT_KRETPROBE:
		err = probe_kprobe(target, type == KT_KRETPROBE, &w);
		break;
	case KT_RAW_TP:
		err = probe_raw_tp(target, &w);
		break;
	case KT_TRACEPOINT:
		err = probe_tracepoint(target, &w);
		break;
	case KT_PERF_EVENT:
		err = 0; /* the descriptor's attach() decides and reports */
		break;
	case KT_UPROBE:
	case KT_URETPROBE:
		/* the target is only known at attach: the uprobe PMU (4.17+) is what the kernel needs */
		err = access("/sys/bus/event_source/devices/uprobe/type", F_OK) ? -ENOTSUP : 0;
		if (err)
			w = "the kernel has no uprobe PMU (CONFIG_UPROBE_EVENTS, Linux 4.17+)";
		break;
	default:
		w = "unknown attach type";
		break;
	}
cached:
	if (n < sizeof(cache) / sizeof(cache[0])) {
		cache[n].type = type;
		snprintf(cache[n].target, sizeof(cache[n].target), "%s", target);
		cache[n].err = err;
		cache[n].why = w;
		n++;
	}
	*why = w;
	return err;
}
