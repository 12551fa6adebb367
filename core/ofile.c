// SPDX-License-Identifier: GPL-2.0
/* Output files opened safely and written with every error checked (see ofile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ofile.h"

struct kt_ofile {
	FILE *f;
	int fd;
	bool owned;   /* a file we opened (not standard output) */
	bool created; /* this open created it */
	bool pending_trunc; /* an existing regular file: truncate at the first write */
	bool written;
	int err;      /* first error, positive errno */
	char *path;
};

static void set_err(struct kt_ofile *of, int err)
{
	if (!of->err)
		of->err = err ? err : EIO;
}

/* The stream's sink: write(2) until done, keeping the real errno of a failure. */
static ssize_t ofile_write(void *cookie, const char *buf, size_t size)
{
	struct kt_ofile *of = cookie;
	size_t done = 0;

	if (of->err)
		return 0;
	if (of->pending_trunc && size) {
		of->pending_trunc = false;
		if (ftruncate(of->fd, 0)) {
			set_err(of, errno);
			return 0;
		}
	}
	while (done < size) {
		ssize_t n = write(of->fd, buf + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			set_err(of, n < 0 ? errno : ENOSPC);
			return 0;
		}
		done += (size_t)n;
		of->written = true;
	}
	return (ssize_t)size;
}

static int ofile_close_fd(void *cookie)
{
	struct kt_ofile *of = cookie;

	if (of->owned && close(of->fd)) {
		set_err(of, errno);
		return -1;
	}
	return 0;
}

/* Opens the final component without following it; checks what was found there. */
static int open_path(struct kt_ofile *of, const char *path)
{
	const int fl = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	struct stat st;
	int fd;

	fd = open(path, fl | O_CREAT | O_EXCL, 0600);
	if (fd >= 0) {
		of->created = true;
	} else if (errno == EEXIST) {
		/* no O_CREAT: a symlink or file swapped in meanwhile is not created through */
		fd = open(path, fl);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	if (S_ISREG(st.st_mode) && !of->created) {
		/* another user's file, or a hard link to another file: not ours to overwrite */
		if (st.st_uid != geteuid() || st.st_nlink != 1) {
			close(fd);
			return -EPERM;
		}
		of->pending_trunc = true;
	}
	of->fd = fd;
	return 0;
}

int kt_ofile_open(struct kt_ofile **ofp, const char *path)
{
	cookie_io_functions_t io = { .write = ofile_write, .close = ofile_close_fd };
	struct kt_ofile *of = calloc(1, sizeof(*of));
	int err;

	if (!of)
		return -ENOMEM;
	of->fd = STDOUT_FILENO;
	if (path && strcmp(path, "-")) {
		of->path = strdup(path);
		if (!of->path) {
			free(of);
			return -ENOMEM;
		}
		err = open_path(of, path);
		if (err) {
			free(of->path);
			free(of);
			return err;
		}
		of->owned = true;
	}
	of->f = fopencookie(of, "w", io);
	if (!of->f) {
		err = -errno;
		kt_ofile_close(of, true);
		return err;
	}
	/* a terminal sees each line as it comes; files and pipes get full buffers */
	if (isatty(of->fd))
		setvbuf(of->f, NULL, _IOLBF, 0);
	*ofp = of;
	return 0;
}

FILE *kt_ofile_stream(struct kt_ofile *of)
{
	return of->f;
}

int kt_ofile_fd(const struct kt_ofile *of)
{
	return of->fd;
}

const char *kt_ofile_name(const struct kt_ofile *of)
{
	return of->path ? of->path : "standard output";
}

int kt_ofile_err(const struct kt_ofile *of)
{
	return of->err;
}

int kt_ofile_flush(struct kt_ofile *of)
{
	if (fflush(of->f) && !of->err)
		set_err(of, errno);
	return -of->err;
}

int kt_ofile_close(struct kt_ofile *of, bool failed)
{
	int err;

	if (!of)
		return 0;
	/* a run that succeeded without a byte to write still replaces the old contents */
	if (!failed && of->pending_trunc && fflush(of->f) == 0 && of->pending_trunc) {
		of->pending_trunc = false;
		if (ftruncate(of->fd, 0))
			set_err(of, errno);
	}
	if (of->f) {
		if (fclose(of->f))
			set_err(of, errno);
	} else if (of->owned) {
		close(of->fd);
	}
	if (of->created && !of->written && failed)
		unlink(of->path);
	err = -of->err;
	free(of->path);
	free(of);
	return err;
}

const char *kt_ofile_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case ELOOP:
		return "it is a symbolic link, which ktrace does not follow as root (remove it, or name the file it points to)";
	case EPERM:
		return "an existing file owned by another user or with other hard links (remove it or choose another name)";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

bool kt_ofile_same(const struct kt_ofile *a, const struct kt_ofile *b)
{
	struct stat sa, sb;

	if (!a || !b || fstat(a->fd, &sa) || fstat(b->fd, &sb))
		return false;
	return S_ISREG(sa.st_mode) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int kt_odir_open(const char *dir, int *dirfd)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		int err = -errno;

		/* O_DIRECTORY says ENOTDIR for a symlink too: say what it is */
		if (err == -ENOTDIR && !lstat(dir, &st) && S_ISLNK(st.st_mode))
			return -ELOOP;
		return err;
	}
	*dirfd = fd;
	return 0;
}

int kt_odir_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	char tmp[320];
	size_t done = 0;
	int fd = -1, err = 0;

	/* a hidden name not ending in .prom: node_exporter skips it */
	for (int i = 0; fd < 0 && i < 100; i++) {
		snprintf(tmp, sizeof(tmp), ".%s.%d.%d.tmp", name, (int)getpid(), i);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	if (fchmod(fd, mode))
		err = -errno;
	while (!err && done < len) {
		ssize_t n = write(fd, (const char *)data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? -errno : -ENOSPC;
		else
			done += (size_t)n;
	}
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err) {
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	/* the rename itself survives a crash once the directory is synced */
	fsync(dirfd);
	return 0;
}
