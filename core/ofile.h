/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Output files (-o, --svg, folded output, --prom-textfile's .prom files):
 * the one place ktrace, running as root, creates or overwrites a file a
 * user named.
 *
 * - Opened once, before tracing starts, so a bad path fails at once.
 * - The final component is never followed if it is a symlink (O_NOFOLLOW):
 *   a link planted at the path makes ktrace fail with ELOOP rather than
 *   overwrite the link's target. An existing regular file must belong to
 *   ktrace's effective user and have one link (no hard link to another
 *   file); devices such as /dev/null or /dev/full and pipes are accepted.
 * - A new file is created 0600: evidence with other users' command lines is
 *   not made world-readable.
 * - An existing file is not truncated at open but at the first byte written
 *   (or at the close of a successful run that wrote nothing):
 *   a run that fails before writing (attach failure, bad option combination)
 *   leaves it byte-identical. A new file nothing was written to is removed
 *   when the run fails.
 * - Every write, flush and close is checked; the first error (with its real
 *   errno, e.g. ENOSPC) is kept for kt_ofile_close() and kt_ofile_err().
 *
 * Why not a temporary file renamed into place at the end: a stream's -o file
 * must grow while ktrace runs (`tail -f`), and a run that is killed must keep
 * what it wrote. O_NOFOLLOW plus the checks above close the same holes.
 */
#ifndef KT_OFILE_H
#define KT_OFILE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct kt_ofile;

/*
 * Opens path for writing (NULL or "-": standard output, never closed).
 * Returns 0 or -errno; on failure prints nothing (the caller names the option).
 */
int kt_ofile_open(struct kt_ofile **of, const char *path);
/* The stream to write to (buffered; errors recorded, see kt_ofile_err). */
FILE *kt_ofile_stream(struct kt_ofile *of);
/* The file descriptor underneath (e.g. to poll a pipe for its reader going away). */
int kt_ofile_fd(const struct kt_ofile *of);
/* "standard output" or the path given. */
const char *kt_ofile_name(const struct kt_ofile *of);
/* First write error as a positive errno, 0 if none. */
int kt_ofile_err(const struct kt_ofile *of);
/* Flushes; returns 0 or -errno (the first error of any write so far). */
int kt_ofile_flush(struct kt_ofile *of);
/*
 * Flushes and closes (standard output is flushed only). failed: the run
 * failed, so a file this open created and never wrote is removed.
 * Returns 0 or -errno of the first write, flush or close error. NULL is a no-op.
 */
int kt_ofile_close(struct kt_ofile *of, bool failed);
/* True when a and b are the same regular file (two options naming one file). */
bool kt_ofile_same(const struct kt_ofile *a, const struct kt_ofile *b);
/* Why kt_ofile_open() failed, in words (strerror, or what ELOOP and EPERM mean here). */
const char *kt_ofile_strerror(int err);

/*
 * Files replaced whole in a directory (--prom-textfile): readers such as
 * node_exporter must never see half a file, so each version is written to a
 * new temporary file in the same directory (O_EXCL | O_NOFOLLOW: nothing an
 * attacker planted is opened), fsynced, then renamed over the name (rename
 * replaces a symlink at the name, it never follows it). The directory itself
 * is opened once, before tracing, with O_NOFOLLOW: a symlink as its last
 * component is refused like -o's.
 */
/* Opens dir; 0 and *dirfd, or -errno (ENOTDIR, ELOOP for a symlink, ...). */
int kt_odir_open(const char *dir, int *dirfd);
/*
 * Replaces name in dirfd with the len bytes at data, mode mode (set
 * explicitly, the umask does not apply). 0 or -errno; on failure the old
 * file is untouched and no temporary file is left behind.
 */
int kt_odir_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

#endif
