// SPDX-License-Identifier: GPL-2.0
/* Small shared helpers (see util.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/*
 * A replay's clock (core/tape.c): the recorded time of the item being
 * replayed, and the wall clock it stood for (the recording's offset).
 */
static uint64_t pinned_mono, pinned_real_base, pinned_mono_base;

void kt_clock_pin(uint64_t mono_ns)
{
	pinned_mono = mono_ns;
}

void kt_clock_pin_real(uint64_t mono_ns, uint64_t real_ns)
{
	pinned_mono_base = mono_ns;
	pinned_real_base = real_ns;
}

uint64_t kt_now_mono(void)
{
	return pinned_mono ? pinned_mono : now(CLOCK_MONOTONIC);
}

uint64_t kt_now_real(void)
{
	if (pinned_mono && pinned_real_base)
		return pinned_real_base + (pinned_mono - pinned_mono_base);
	return now(CLOCK_REALTIME);
}

static const char *tracefs_dir = "/sys/kernel/tracing";

/* stat, not access(): access() ignores the capabilities of a non-root user (CAP_DAC_READ_SEARCH) */
static bool is_tracefs(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/events", dir);
	return stat(p, &st) == 0;
}

/* statfs needs no permission on the directory itself: it tells mounted from unreadable. */
static bool tracefs_mounted_on(const char *dir)
{
	struct statfs s;

	return statfs(dir, &s) == 0 && s.f_type == TRACEFS_MAGIC_;
}

bool kt_tracefs_mounted(void)
{
	return tracefs_mounted_on("/sys/kernel/tracing") ||
	       tracefs_mounted_on("/sys/kernel/debug/tracing");
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
	} else if (kt_tracefs_mounted()) {
		/* mounted (mode 0700, root's) but this user may not look inside */
		state = -EACCES;
	} else if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0) {
		kt_info("mounted tracefs on /sys/kernel/tracing");
		state = 0;
	} else {
		state = -errno;
	}
	return state;
}

const char *kt_tracefs_why(int err)
{
	static char buf[192];

	if (err == -EACCES)
		return "tracefs is mounted but this user cannot read it (needs root or CAP_DAC_READ_SEARCH)";
	if (err == -EPERM)
		return "tracefs is not mounted and mounting it needs CAP_SYS_ADMIN (or: mount -t tracefs nodev /sys/kernel/tracing)";
	snprintf(buf, sizeof(buf),
		 "tracefs is not mounted and could not be mounted: %s (try: mount -t tracefs nodev /sys/kernel/tracing)",
		 strerror(-err));
	return buf;
}

bool kt_memlock_charged(void)
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
	if (kt_memlock_charged())
		kt_warn("could not raise RLIMIT_MEMLOCK: %s; this kernel charges BPF memory to it, so loading may fail (try: ulimit -l unlimited)",
			strerror(errno));
	else
		kt_info("could not raise RLIMIT_MEMLOCK (%s): not needed on this kernel", strerror(errno));
}

const char *kt_tcp_state_name(unsigned state)
{
	static const char *const names[] = {
		NULL,	     "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT",   "CLOSE",    "CLOSE_WAIT", "LAST_ACK",
		"LISTEN",    "CLOSING",	    "NEW_SYN_RECV", "BOUND_INACTIVE",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : NULL;
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

static struct kt_user {
	uint32_t uid;
	char name[33];
} *users;
static size_t n_users;

/* /etc/passwd, once (no NSS: the binary is static). */
static void load_users(void)
{
	static bool loaded;
	char line[512];
	FILE *f;

	if (loaded)
		return;
	loaded = true;
	f = fopen("/etc/passwd", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *name = strtok(line, ":"), *pw, *id;
		void *p;

		pw = name ? strtok(NULL, ":") : NULL;
		id = pw ? strtok(NULL, ":") : NULL;
		if (!id)
			continue;
		p = realloc(users, (n_users + 1) * sizeof(*users));
		if (!p)
			break;
		users = p;
		users[n_users].uid = (uint32_t)strtoul(id, NULL, 10);
		snprintf(users[n_users].name, sizeof(users[n_users].name), "%s", name);
		n_users++;
	}
	if (f)
		fclose(f);
}

const char *kt_user_name(uint32_t uid)
{
	load_users();
	for (size_t i = 0; i < n_users; i++)
		if (users[i].uid == uid)
			return users[i].name;
	return NULL;
}

int kt_user_uid(const char *name, uint32_t *uid)
{
	load_users();
	for (size_t i = 0; i < n_users; i++) {
		if (!strcmp(users[i].name, name)) {
			*uid = users[i].uid;
			return 0;
		}
	}
	return -ENOENT;
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

/*
 * The REQ_OP_* numbers every kernel since 4.10 agrees on; the others (write
 * zeroes, zone operations) were renumbered, in 5.19 and 6.x: shown as numbers.
 */
const char *kt_blk_op_name(uint32_t op)
{
	static const char *const ops[] = { [0] = "Read",    [1] = "Write",	   [2] = "Flush",
					   [3] = "Discard", [5] = "SecureErase" };

	return op < sizeof(ops) / sizeof(ops[0]) ? ops[op] : NULL;
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

void kt_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
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
