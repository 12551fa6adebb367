// SPDX-License-Identifier: GPL-2.0
/* Small shared helpers (see util.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#define TRACEFS_MAGIC_ 0x74726163

int kt_verbose;

static void vmsg(const char *pfx, const char *fmt, va_list ap)
{
	fprintf(stderr, "ktrace: %s", pfx);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void kt_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void kt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void kt_info(const char *fmt, ...)
{
	va_list ap;

	if (!kt_verbose)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

static uint64_t now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t kt_now_mono(void)
{
	return now(CLOCK_MONOTONIC);
}

uint64_t kt_now_real(void)
{
	return now(CLOCK_REALTIME);
}

static int effective_caps(uint64_t *caps)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	*caps = 0; /* gcc -O3 cannot see that errno is not 0 below */
	if (syscall(SYS_capget, &h, d))
		return -errno;
	*caps = d[0].effective | ((uint64_t)d[1].effective << 32);
	return 0;
}

static bool has_cap(uint64_t caps, int cap)
{
	return caps & (1ULL << cap);
}

int kt_check_privileges(void)
{
	uint64_t caps;

	if (effective_caps(&caps))
		return geteuid() == 0 ? 0 : -EPERM;
	if (has_cap(caps, CAP_SYS_ADMIN))
		return 0;
	if (has_cap(caps, CAP_BPF) && has_cap(caps, CAP_PERFMON))
		return 0;
	return -EPERM;
}

const char *kt_privileges_desc(void)
{
	uint64_t caps;

	if (effective_caps(&caps))
		return "unknown (capget failed)";
	if (has_cap(caps, CAP_SYS_ADMIN))
		return geteuid() == 0 ? "root (CAP_SYS_ADMIN)" : "CAP_SYS_ADMIN";
	if (has_cap(caps, CAP_BPF) && has_cap(caps, CAP_PERFMON))
		return "CAP_BPF and CAP_PERFMON";
	if (has_cap(caps, CAP_BPF))
		return "CAP_BPF only (CAP_PERFMON missing)";
	if (has_cap(caps, CAP_PERFMON))
		return "CAP_PERFMON only (CAP_BPF missing)";
	return "none (need root or CAP_BPF and CAP_PERFMON)";
}

static const char *tracefs_dir = "/sys/kernel/tracing";

static bool is_tracefs(const char *dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/events", dir);
	return access(p, F_OK) == 0;
}

bool kt_tracefs_mounted(void)
{
	return is_tracefs("/sys/kernel/tracing") || is_tracefs("/sys/kernel/debug/tracing");
}

const char *kt_tracefs_path(void)
{
	return tracefs_dir;
}

int kt_tracefs_ensure(void)
{
	static int state = 1; /* 1: not tried */

	if (state <= 0)
		return state;
	if (is_tracefs("/sys/kernel/tracing")) {
		state = 0;
	} else if (is_tracefs("/sys/kernel/debug/tracing")) {
		tracefs_dir = "/sys/kernel/debug/tracing";
		state = 0;
	} else if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0) {
		kt_info("mounted tracefs on /sys/kernel/tracing");
		state = 0;
	} else {
		state = -errno;
		kt_err("tracefs is not mounted and could not be mounted: %s (try: mount -t tracefs nodev /sys/kernel/tracing)",
		       strerror(errno));
	}
	return state;
}

/* True on kernels that charge BPF memory to RLIMIT_MEMLOCK (before 5.11). */
static bool memlock_charged(void)
{
	unsigned maj = 0, min = 0;

	if (sscanf(kt_kernel_release(), "%u.%u", &maj, &min) != 2)
		return true;
	return maj < 5 || (maj == 5 && min < 11);
}

void kt_memlock_raise(void)
{
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };

	/*
	 * Kernels since 5.11 charge BPF memory to the memory cgroup and ignore
	 * this limit (and a container may forbid raising it); older ones need
	 * it. Failing here is a warning only: loading then says what failed.
	 */
	if (setrlimit(RLIMIT_MEMLOCK, &r) == 0)
		return;
	if (memlock_charged())
		kt_warn("could not raise RLIMIT_MEMLOCK: %s; this kernel charges BPF memory to it, so loading may fail (try: ulimit -l unlimited)",
			strerror(errno));
	else
		kt_info("could not raise RLIMIT_MEMLOCK (%s): not needed on this kernel", strerror(errno));
}

const char *kt_errno_name(int err)
{
	static const char *const names[] = {
		[EPERM] = "EPERM",	   [ENOENT] = "ENOENT",	  [ESRCH] = "ESRCH",
		[EINTR] = "EINTR",	   [EIO] = "EIO",	  [ENXIO] = "ENXIO",
		[E2BIG] = "E2BIG",	   [ENOEXEC] = "ENOEXEC", [EBADF] = "EBADF",
		[ECHILD] = "ECHILD",	   [EAGAIN] = "EAGAIN",	  [ENOMEM] = "ENOMEM",
		[EACCES] = "EACCES",	   [EFAULT] = "EFAULT",	  [EBUSY] = "EBUSY",
		[EEXIST] = "EEXIST",	   [EXDEV] = "EXDEV",	  [ENODEV] = "ENODEV",
		[ENOTDIR] = "ENOTDIR",	   [EISDIR] = "EISDIR",	  [EINVAL] = "EINVAL",
		[ENFILE] = "ENFILE",	   [EMFILE] = "EMFILE",	  [ETXTBSY] = "ETXTBSY",
		[EFBIG] = "EFBIG",	   [ENOSPC] = "ENOSPC",	  [ESPIPE] = "ESPIPE",
		[EROFS] = "EROFS",	   [EMLINK] = "EMLINK",	  [EPIPE] = "EPIPE",
		[ERANGE] = "ERANGE",	   [EDEADLK] = "EDEADLK", [ENAMETOOLONG] = "ENAMETOOLONG",
		[ENOSYS] = "ENOSYS",	   [ELOOP] = "ELOOP",	  [EOVERFLOW] = "EOVERFLOW",
		[EOPNOTSUPP] = "EOPNOTSUPP", [ECONNREFUSED] = "ECONNREFUSED",
		[ECONNRESET] = "ECONNRESET", [ETIMEDOUT] = "ETIMEDOUT", [EHOSTUNREACH] = "EHOSTUNREACH",
		[ENETUNREACH] = "ENETUNREACH", [EADDRINUSE] = "EADDRINUSE", [ENOTEMPTY] = "ENOTEMPTY",
		[EDQUOT] = "EDQUOT",	   [ESTALE] = "ESTALE",
		[ELIBBAD] = "ELIBBAD",	   [ENOTTY] = "ENOTTY",
		[EOWNERDEAD] = "EOWNERDEAD", [ENOTCONN] = "ENOTCONN", [EALREADY] = "EALREADY",
		[EINPROGRESS] = "EINPROGRESS", [ECANCELED] = "ECANCELED", [ENOKEY] = "ENOKEY",
		[ENOTSOCK] = "ENOTSOCK",   [EPROTO] = "EPROTO",	  [EBADMSG] = "EBADMSG",
	};

	if (err < 0)
		err = -err;
	if (err <= 0 || (size_t)err >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[err];
}

const char *kt_user_name(uint32_t uid)
{
	static struct {
		uint32_t uid;
		char name[33];
	} *users;
	static size_t n;
	static bool loaded;
	char line[512];

	if (!loaded) {
		FILE *f = fopen("/etc/passwd", "re");

		loaded = true;
		while (f && fgets(line, sizeof(line), f)) {
			char *name = strtok(line, ":"), *pw, *id;
			void *p;

			pw = name ? strtok(NULL, ":") : NULL;
			id = pw ? strtok(NULL, ":") : NULL;
			if (!id)
				continue;
			p = realloc(users, (n + 1) * sizeof(*users));
			if (!p)
				break;
			users = p;
			users[n].uid = (uint32_t)strtoul(id, NULL, 10);
			snprintf(users[n].name, sizeof(users[n].name), "%s", name);
			n++;
		}
		if (f)
			fclose(f);
	}
	for (size_t i = 0; i < n; i++)
		if (users[i].uid == uid)
			return users[i].name;
	return NULL;
}

const char *kt_blkdev_name(uint32_t kdev, char *buf, size_t sz)
{
	unsigned maj = kdev >> 20, min = kdev & ((1U << 20) - 1);
	char path[64], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", maj, min);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		char *base;

		link[n] = 0;
		base = strrchr(link, '/');
		snprintf(buf, sz, "%s", base ? base + 1 : link);
	} else {
		snprintf(buf, sz, "%u:%u", maj, min);
	}
	return buf;
}

int kt_blkdev_lookup(const char *name, uint32_t *kdev)
{
	char path[PATH_MAX], buf[32];
	unsigned maj, min;
	const char *base = strncmp(name, "/dev/", 5) ? name : name + 5;
	ssize_t n;
	int fd;

	if (!*base || strchr(base, '/') || strstr(base, ".."))
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/class/block/%s/dev", base);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	if (sscanf(buf, "%u:%u", &maj, &min) != 2)
		return -EIO;
	*kdev = maj << 20 | min;
	return 0;
}

int kt_cgroup_id(const char *path, uint64_t *id)
{
	struct statfs fs;
	struct stat st;

	if (statfs(path, &fs))
		return -errno;
	if (fs.f_type != 0x63677270 /* CGROUP2_SUPER_MAGIC */)
		return -EMEDIUMTYPE;
	if (stat(path, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

const char *kt_kernel_release(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u))
		return "unknown";
	return u.release;
}

int kt_check_pid(const char *opt, uint32_t id)
{
	/* kill(0) finds any task id, a thread's included */
	if (!id || !kill((pid_t)id, 0) || errno != ESRCH)
		return 0;
	kt_err("%s %u: no such process", opt, id);
	return -EINVAL;
}
