// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of kt_rootfs_open(): paths inside a process's root never leave it,
 * whatever symlinks the process planted (absolute, relative with "..",
 * loops), and only regular files are opened (a FIFO neither hangs nor
 * opens, a device or a directory is refused). Each case runs with openat2()
 * and with the component walk used on kernels before 5.6.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kt_test.h"
#include "rootfs.h"

static char tmp[] = "/tmp/kt_rootfs_testXXXXXX";
static char root[512];

static void put(const char *rel, const char *text)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void link_(const char *target, const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	CHECK(symlink(target, p) == 0, "%s", rel);
}

/* Opens @path in the root: the first bytes of the file, or "" and the error in *err. */
static const char *read_in(const char *path, unsigned int flags, int *err)
{
	static char buf[64];
	int fd = kt_rootfs_open(root, path, flags);
	ssize_t n;

	buf[0] = '\0';
	*err = fd < 0 ? fd : 0;
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static void cases(int walk)
{
	int err;

	kt_rootfs_force_walk(walk);
	CHECK_STR(read_in("/etc/file", 0, &err), "inside");
	CHECK(err == 0);
	CHECK_STR(read_in("etc/file", 0, &err), "inside");
	/* an absolute link is taken from the root, not from the host's "/" */
	read_in("/abs", 0, &err);
	CHECK(err == -ENOENT, "walk %d: abs link: %d", walk, err);
	/* ".." stops at the root */
	CHECK_STR(read_in("/rel", 0, &err), "");
	CHECK(err == -ENOENT, "walk %d: rel link: %d", walk, err);
	CHECK_STR(read_in("/../../../etc/file", 0, &err), "inside");
	CHECK_STR(read_in("/dotdot", 0, &err), "inside");
	/* links that stay inside are followed, absolute or not */
	CHECK_STR(read_in("/link_in", 0, &err), "inside");
	CHECK_STR(read_in("/dir/link_rel", 0, &err), "inside");
	CHECK_STR(read_in("/linkdir/file", 0, &err), "inside");
	/* ... except the last component with KT_ROOTFS_NOFOLLOW */
	read_in("/link_in", KT_ROOTFS_NOFOLLOW, &err);
	CHECK(err == -ELOOP, "walk %d: nofollow: %d", walk, err);
	CHECK_STR(read_in("/linkdir/file", KT_ROOTFS_NOFOLLOW, &err), "inside");
	read_in("/loop1", 0, &err);
	CHECK(err == -ELOOP, "walk %d: loop: %d", walk, err);
	/* not regular files */
	read_in("/fifo", 0, &err);
	CHECK(err == -EINVAL, "walk %d: fifo: %d", walk, err);
	read_in("/dir", 0, &err);
	CHECK(err == -EISDIR, "walk %d: dir: %d", walk, err);
	read_in("/zero", 0, &err);
	CHECK(err == -EINVAL || err == -ENOENT, "walk %d: device: %d", walk, err);
	/* /proc/self/root inside the root is a magic link: never a way out */
	read_in("/magic", 0, &err);
	CHECK(err != 0, "walk %d: magic link opened", walk);
	read_in("/etc/file/x", 0, &err);
	CHECK(err == -ENOTDIR, "walk %d: file as dir: %d", walk, err);
	read_in("/missing", 0, &err);
	CHECK(err == -ENOENT);
}

int main(void)
{
	char p[1024], outside[1024];

	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(root, sizeof(root), "%s/root", tmp);
	CHECK(mkdir(root, 0755) == 0);
	snprintf(p, sizeof(p), "%s/etc", root);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/dir", root);
	CHECK(mkdir(p, 0755) == 0);
	put("etc/file", "inside");
	/* the host file the links aim at, and where "../.." would lead on the host */
	snprintf(outside, sizeof(outside), "%s/outside", tmp);
	{
		FILE *f = fopen(outside, "w");

		CHECK(f != NULL);
		if (f) {
			fputs("OUTSIDE", f);
			fclose(f);
		}
	}
	link_(outside, "abs");
	link_("../outside", "rel");
	link_("../../../../../../etc/file", "dotdot");
	link_("/etc/file", "link_in");
	link_("../etc/file", "dir/link_rel");
	link_("/etc", "linkdir");
	link_("loop2", "loop1");
	link_("loop1", "loop2");
	link_("/proc/self/root/etc/passwd", "magic");
	snprintf(p, sizeof(p), "%s/fifo", root);
	CHECK(mkfifo(p, 0600) == 0);
	snprintf(p, sizeof(p), "%s/zero", root);
	if (geteuid() == 0)
		CHECK(mknod(p, S_IFCHR | 0600, makedev(1, 5)) == 0);

	cases(0);
	cases(1);
	kt_rootfs_force_walk(0);
	CHECK(kt_rootfs_open("/nonexistent-root", "/x", 0) == -ENOENT);
	CHECK(kt_rootfs_openat(-1, "/x", 0) == -EINVAL);

	{
		static const char *const rm[] = { "abs", "rel", "dotdot", "link_in", "dir/link_rel",
						  "linkdir", "loop1", "loop2", "magic", "fifo",
						  "zero", "etc/file" };

		for (size_t i = 0; i < sizeof(rm) / sizeof(rm[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", root, rm[i]);
			unlink(p);
		}
		snprintf(p, sizeof(p), "%s/etc", root);
		rmdir(p);
		snprintf(p, sizeof(p), "%s/dir", root);
		rmdir(p);
		rmdir(root);
		unlink(outside);
		rmdir(tmp);
	}
	return kt_test_done("test_rootfs");
}
