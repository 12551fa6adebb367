// SPDX-License-Identifier: GPL-2.0
/* Opening paths inside a process's root (see rootfs.h for why and how). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rootfs.h"

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
#define MAX_DEPTH  256 /* directories deep, in the walk */

static bool force_walk;
static bool no_openat2; /* the kernel said ENOSYS once: do not ask again */

void kt_rootfs_force_walk(bool on)
{
	force_walk = on;
}

/* Only a regular file is handed out. */
static int check_regular(int fd)
{
	struct stat st;

	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	return fd;
}

static int open_openat2(int root_fd, const char *path, unsigned int flags)
{
	struct open_how how = {
		.flags = OPEN_FLAGS | ((flags & KT_ROOTFS_NOFOLLOW) ? O_NOFOLLOW : 0),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/*
 * The walk for kernels without openat2(). @rest holds what is left to
 * resolve; a symlink's target is put in front of it. @dirs is the stack of
 * directories walked so far (dirs[0] is the root, never closed here), so
 * ".." pops one and never asks the kernel to go up.
 */
static int open_walk(int root_fd, const char *path, unsigned int flags)
{
	char rest[2 * PATH_MAX], comp[NAME_MAX + 1], target[PATH_MAX];
	int dirs[MAX_DEPTH], depth = 0, links = 0, fd, err = -ENOENT;
	size_t pos = 0;

	if (strlen(path) >= sizeof(rest))
		return -ENAMETOOLONG;
	strcpy(rest, path);
	dirs[0] = root_fd;
	for (;;) {
		size_t len;
		bool last;
		struct stat st;
		ssize_t n;

		while (rest[pos] == '/')
			pos++;
		if (!rest[pos]) {
			err = -EISDIR; /* the path names a directory */
			break;
		}
		len = strcspn(rest + pos, "/");
		if (len > NAME_MAX) {
			err = -ENAMETOOLONG;
			break;
		}
		memcpy(comp, rest + pos, len);
		comp[len] = '\0';
		pos += len;
		last = !rest[pos + strspn(rest + pos, "/")];
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			if (depth > 0)
				close(dirs[depth--]);
			continue;
		}
		fd = openat(dirs[depth], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			break;
		}
		if (fstat(fd, &st)) {
			err = -errno;
			close(fd);
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			size_t tlen, rlen = strlen(rest + pos);

			if ((last && (flags & KT_ROOTFS_NOFOLLOW)) || ++links > KT_ROOTFS_MAX_LINKS) {
				err = -ELOOP;
				close(fd);
				break;
			}
			n = readlinkat(fd, "", target, sizeof(target) - 1);
			close(fd);
			if (n <= 0) {
				err = n < 0 ? -errno : -ENOENT;
				break;
			}
			tlen = (size_t)n;
			target[tlen] = '\0';
			if (tlen + 1 + rlen >= sizeof(rest)) {
				err = -ENAMETOOLONG;
				break;
			}
			/* rest = target + "/" + what was left */
			memmove(rest + tlen + 1, rest + pos, rlen + 1);
			memcpy(rest, target, tlen);
			rest[tlen] = '/';
			pos = 0;
			if (target[0] == '/')
				while (depth > 0)
					close(dirs[depth--]);
			continue;
		}
		if (last) {
			close(fd);
			/* O_NOFOLLOW: a symlink swapped in since the check is refused, not followed */
			fd = openat(dirs[depth], comp, OPEN_FLAGS | O_NOFOLLOW);
			err = fd < 0 ? -errno : fd;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			err = -ENOTDIR;
			close(fd);
			break;
		}
		if (depth + 1 >= MAX_DEPTH) {
			err = -ENAMETOOLONG;
			close(fd);
			break;
		}
		dirs[++depth] = fd;
	}
	while (depth > 0)
		close(dirs[depth--]);
	return err;
}

int kt_rootfs_openat(int root_fd, const char *path, unsigned int flags)
{
	int fd = -ENOSYS;

	if (root_fd < 0 || !path)
		return -EINVAL;
	if (!force_walk && !no_openat2) {
		fd = open_openat2(root_fd, path, flags);
		/* ENOSYS: before 5.6; EPERM: a seccomp filter that does not know openat2 */
		if (fd == -ENOSYS || fd == -EPERM)
			no_openat2 = true;
	}
	/* EAGAIN: a rename raced with a ".." of RESOLVE_IN_ROOT; the walk has no such check */
	if (fd == -ENOSYS || fd == -EAGAIN || (no_openat2 && fd == -EPERM) || force_walk)
		fd = open_walk(root_fd, path, flags);
	if (fd < 0)
		return fd;
	return check_regular(fd);
}

int kt_rootfs_open(const char *root, const char *path, unsigned int flags)
{
	int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;

	if (root_fd < 0)
		return -errno;
	fd = kt_rootfs_openat(root_fd, path, flags);
	close(root_fd);
	return fd;
}
