// SPDX-License-Identifier: GPL-2.0
/* Capabilities (see caps.h). */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "caps.h"
#include "util.h"

static const struct {
	int cap;
	const char *name, *setpriv, *use;
} known[] = {
	{ KT_CAP_BPF, "CAP_BPF", "bpf", "load BPF programs and create maps" },
	{ KT_CAP_PERFMON, "CAP_PERFMON", "perfmon", "attach tracing programs and perf events" },
	{ KT_CAP_SYS_ADMIN, "CAP_SYS_ADMIN", "sys_admin",
	  "BPF on kernels before 5.8; mounting tracefs" },
	{ KT_CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE", "sys_resource",
	  "raising RLIMIT_MEMLOCK (kernels before 5.11 charge BPF memory to it)" },
	{ KT_CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", "dac_read_search",
	  "reading tracefs (root's, mode 0700) for syscall tracepoint ids" },
	{ KT_CAP_SYSLOG, "CAP_SYSLOG", "syslog", "kernel symbol names (/proc/kallsyms addresses)" },
	{ KT_CAP_SYS_PTRACE, "CAP_SYS_PTRACE", "sys_ptrace",
	  "user symbol names of other users' processes (/proc/PID/maps and root)" },
};
#define N_KNOWN (sizeof(known) / sizeof(known[0]))

uint64_t kt_caps_held(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d))
		return geteuid() == 0 ? ~0ULL : 0;
	return d[0].effective | ((uint64_t)d[1].effective << 32);
}

/* The kernel's highest capability number (CAP_BPF is 39, new in 5.8). */
static long cap_last(void)
{
	static long last = -1;
	FILE *f;

	if (last < 0) {
		f = fopen("/proc/sys/kernel/cap_last_cap", "re");
		if (!f || fscanf(f, "%ld", &last) != 1)
			last = KT_CAP_BPF; /* assume a current kernel */
		if (f)
			fclose(f);
	}
	return last;
}

uint64_t kt_caps_required(void)
{
	uint64_t need = KT_CAP(KT_CAP_BPF) | KT_CAP(KT_CAP_PERFMON);
	struct rlimit r;

	if (cap_last() < KT_CAP_BPF)
		need = KT_CAP(KT_CAP_SYS_ADMIN);
	if (kt_memlock_charged() && (getrlimit(RLIMIT_MEMLOCK, &r) || r.rlim_cur != RLIM_INFINITY))
		need |= KT_CAP(KT_CAP_SYS_RESOURCE);
	return need;
}

uint64_t kt_caps_missing(uint64_t need)
{
	uint64_t held = kt_caps_held();

	if (held & KT_CAP(KT_CAP_SYS_ADMIN))
		held |= KT_CAP(KT_CAP_BPF) | KT_CAP(KT_CAP_PERFMON);
	return need & ~held;
}

static const char *caps_list(uint64_t caps, bool setpriv, char *buf, size_t sz)
{
	size_t n = 0, k = 0, total = 0;

	for (size_t i = 0; i < N_KNOWN; i++)
		total += !!(caps & KT_CAP(known[i].cap));
	buf[0] = 0;
	for (size_t i = 0; i < N_KNOWN; i++) {
		const char *sep;

		if (!(caps & KT_CAP(known[i].cap)))
			continue;
		k++;
		sep = k == 1 ? "" : setpriv ? "," : k == total ? " and " : ", ";
		n += (size_t)snprintf(buf + n, n < sz ? sz - n : 0, "%s%s%s", sep,
				      setpriv ? "+" : "", setpriv ? known[i].setpriv : known[i].name);
	}
	return buf;
}

const char *kt_caps_str(uint64_t caps, char *buf, size_t sz)
{
	return caps_list(caps, false, buf, sz);
}

const char *kt_caps_setpriv(uint64_t caps, char *buf, size_t sz)
{
	return caps_list(caps, true, buf, sz);
}

const char *kt_cap_use(int cap)
{
	for (size_t i = 0; i < N_KNOWN; i++)
		if (known[i].cap == cap)
			return known[i].use;
	return "";
}

uint64_t kt_caps_for_alt(const struct kt_alt *alt)
{
	uint64_t base = kt_caps_missing(kt_caps_required());
	int err;

	if (base)
		return base;
	if (alt->type != KT_TRACEPOINT)
		return 0;
	err = kt_tracefs_ensure();
	if (err == -EACCES)
		return KT_CAP(KT_CAP_DAC_READ_SEARCH);
	if (err == -EPERM)
		return KT_CAP(KT_CAP_SYS_ADMIN);
	return 0;
}

bool kt_kallsyms_visible(void)
{
	static int visible = -1;
	char line[256];
	FILE *f;

	if (visible < 0) {
		visible = 0;
		f = fopen("/proc/kallsyms", "re");
		/* hidden addresses read as zeros; the first few lines are enough to tell */
		for (int i = 0; f && i < 16 && fgets(line, sizeof(line), f); i++) {
			if (strtoull(line, NULL, 16)) {
				visible = 1;
				break;
			}
		}
		if (f)
			fclose(f);
	}
	return visible;
}

int kt_check_privileges(void)
{
	return kt_caps_missing(kt_caps_required()) ? -EPERM : 0;
}

const char *kt_privileges_desc(void)
{
	static char buf[256];
	uint64_t held = kt_caps_held(), shown = 0;

	if (held & KT_CAP(KT_CAP_SYS_ADMIN))
		return geteuid() == 0 ? "root (CAP_SYS_ADMIN)" : "CAP_SYS_ADMIN";
	for (size_t i = 0; i < N_KNOWN; i++)
		shown |= held & KT_CAP(known[i].cap);
	if (!shown)
		return "none of the capabilities ktrace uses";
	kt_caps_str(shown, buf, sizeof(buf));
	return buf;
}

const struct bpf_object_open_opts *kt_skel_open_opts(void)
{
	static struct bpf_object_open_opts opts;

	opts = (struct bpf_object_open_opts){ .sz = sizeof(opts) };
	if (!(kt_caps_held() & KT_CAP(KT_CAP_SYS_ADMIN)) && access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		opts.btf_custom_path = "/sys/kernel/btf/vmlinux";
	return &opts;
}
