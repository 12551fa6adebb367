// SPDX-License-Identifier: GPL-2.0
/*
 * Output files (core/ofile.c): no symlink followed, new files 0600, an
 * existing file untouched until the first byte is written, every write
 * error kept with its errno; files replaced whole in a directory
 * (--prom-textfile); and kt_qsort on an empty array.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kt_test.h"
#include "ofile.h"
#include "util.h"

static char dir[] = "/tmp/kt_ofile_testXXXXXX";

/* Entries of a directory other than . and .. */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static char *path_of(const char *name)
{
	static char p[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL, "create %s", path);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void symlinks(void)
{
	const char *target = path_of("target"), *link = path_of("link");
	struct kt_ofile *of = NULL;
	char *text;

	put(target, "precious\n");
	CHECK(symlink(target, link) == 0, "symlink");
	CHECK(kt_ofile_open(&of, link) == -ELOOP, "a symlink at the path is refused");
	text = kt_test_slurp(target);
	CHECK(text && !strcmp(text, "precious\n"), "its target is untouched");
	free(text);
	/* a dangling link is not created through either */
	unlink(target);
	CHECK(kt_ofile_open(&of, link) == -ELOOP, "a dangling symlink is refused");
	CHECK(access(target, F_OK) != 0, "no file created at the link's target");
	CHECK(strstr(kt_ofile_strerror(-ELOOP), "symbolic link") != NULL, "ELOOP explained");
	unlink(link);
}

static void new_file(void)
{
	const char *p = path_of("new");
	struct kt_ofile *of = NULL;
	struct stat st;
	char *text;

	umask(022);
	CHECK(kt_ofile_open(&of, p) == 0, "open a new file");
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "created 0600 (mode %o)",
	      st.st_mode & 0777);
	fputs("data\n", kt_ofile_stream(of));
	CHECK(kt_ofile_close(of, false) == 0, "close");
	text = kt_test_slurp(p);
	CHECK(text && !strcmp(text, "data\n"), "written");
	free(text);
	unlink(p);

	/* a run that fails before writing removes the file it created */
	CHECK(kt_ofile_open(&of, p) == 0, "open again");
	CHECK(kt_ofile_close(of, true) == 0, "close after a failure");
	CHECK(access(p, F_OK) != 0, "the empty new file is gone");
}

static void existing_file(void)
{
	const char *p = path_of("existing");
	struct kt_ofile *of = NULL;
	char *text;

	put(p, "old contents that are longer\n");
	CHECK(kt_ofile_open(&of, p) == 0, "open an existing file");
	text = kt_test_slurp(p);
	CHECK(text && !strcmp(text, "old contents that are longer\n"), "not truncated at open");
	free(text);
	CHECK(kt_ofile_close(of, true) == 0, "close after a failure before writing");
	text = kt_test_slurp(p);
	CHECK(text && !strcmp(text, "old contents that are longer\n"), "byte-identical after a failed run");
	free(text);

	CHECK(kt_ofile_open(&of, p) == 0, "open it again");
	fputs("new\n", kt_ofile_stream(of));
	CHECK(kt_ofile_close(of, false) == 0, "close");
	text = kt_test_slurp(p);
	CHECK(text && !strcmp(text, "new\n"), "truncated at the first write, not mixed: %s",
	      text ? text : "(null)");
	free(text);

	/* a run that succeeds with nothing to write leaves an empty file, not the old one */
	put(p, "old\n");
	CHECK(kt_ofile_open(&of, p) == 0, "open it again");
	CHECK(kt_ofile_close(of, false) == 0, "close after success, nothing written");
	text = kt_test_slurp(p);
	CHECK(text && !strcmp(text, ""), "emptied: %s", text ? text : "(null)");
	free(text);

	/* a second name for the same file: not ours to overwrite */
	CHECK(link(p, path_of("hardlink")) == 0, "hard link");
	CHECK(kt_ofile_open(&of, p) == -EPERM, "a file with two links is refused");
	unlink(path_of("hardlink"));
	if (geteuid() == 0) {
		CHECK(chown(p, 65534, 65534) == 0, "chown");
		CHECK(kt_ofile_open(&of, p) == -EPERM, "another user's file is refused");
	}
	unlink(p);
	CHECK(kt_ofile_open(&of, dir) == -EISDIR, "a directory is refused");

	/* two options naming one file are told apart from two files */
	{
		struct kt_ofile *a = NULL, *b = NULL, *c = NULL;
		char rel[300];

		snprintf(rel, sizeof(rel), "%s/./same", dir);
		CHECK(kt_ofile_open(&a, path_of("same")) == 0 && kt_ofile_open(&b, rel) == 0 &&
			      kt_ofile_open(&c, path_of("other")) == 0,
		      "open three");
		CHECK(kt_ofile_same(a, b), "the same file by two names");
		CHECK(!kt_ofile_same(a, c), "two files");
		kt_ofile_close(a, false);
		kt_ofile_close(b, false);
		kt_ofile_close(c, false);
		unlink(path_of("same"));
		unlink(path_of("other"));
	}
}

static void write_errors(void)
{
	struct kt_ofile *of = NULL;
	char buf[8192];

	if (access("/dev/full", W_OK)) {
		fprintf(stderr, "skip: no /dev/full\n");
		return;
	}
	CHECK(kt_ofile_open(&of, "/dev/full") == 0, "open /dev/full");
	memset(buf, 'x', sizeof(buf));
	fwrite(buf, 1, sizeof(buf), kt_ofile_stream(of));
	CHECK(kt_ofile_flush(of) == -ENOSPC, "flush: ENOSPC");
	CHECK(kt_ofile_err(of) == ENOSPC, "the first error is kept");
	CHECK(kt_ofile_close(of, true) == -ENOSPC, "close reports it too");

	/* an error only the final flush at close sees */
	CHECK(kt_ofile_open(&of, "/dev/full") == 0, "open /dev/full");
	fputs("short\n", kt_ofile_stream(of));
	CHECK(kt_ofile_close(of, false) == -ENOSPC, "close: ENOSPC from the last flush");
	CHECK(!strcmp(kt_ofile_strerror(ENOSPC), strerror(ENOSPC)), "other errors: strerror");
}

/* kt_odir_*: the directory not followed, the name replaced (never followed), no leftovers. */
static void replaced(void)
{
	const char *sub = path_of("metrics"), *dlink = path_of("metrics-link");
	char target[256], name[256];
	struct stat st;
	char *text;
	int fd = -1, n;

	CHECK(mkdir(sub, 0755) == 0, "mkdir %s", sub);
	CHECK(symlink(sub, dlink) == 0, "symlink");
	CHECK(kt_odir_open(dlink, &fd) == -ELOOP, "a symlink as the directory is refused");
	CHECK(kt_odir_open(path_of("none"), &fd) == -ENOENT, "a missing directory: ENOENT");
	CHECK(kt_odir_open(sub, &fd) == 0 && fd >= 0, "open the directory");
	snprintf(target, sizeof(target), "%s/precious", dir);
	snprintf(name, sizeof(name), "%s/k.prom", sub);
	put(target, "precious\n");
	CHECK(symlink(target, name) == 0, "a symlink planted at the name");
	umask(077);
	CHECK(kt_odir_replace(fd, "k.prom", "a 1\n", 4, 0644) == 0, "replace");
	umask(022);
	text = kt_test_slurp(target);
	CHECK(text && !strcmp(text, "precious\n"), "the symlink's target is untouched");
	free(text);
	CHECK(lstat(name, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644,
	      "a regular file of mode 0644 (umask ignored): %o", (unsigned)st.st_mode);
	CHECK(kt_odir_replace(fd, "k.prom", "b 2\n", 4, 0644) == 0, "replace again");
	text = kt_test_slurp(name);
	CHECK(text && !strcmp(text, "b 2\n"), "the new content: %s", text ? text : "(null)");
	free(text);
	n = count_entries(sub);
	CHECK(n == 1, "no temporary file left: %d entries", n);
	unlink(name);
	unlink(target);
	close(fd);
	rmdir(sub);
	unlink(dlink);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void sort(void)
{
	int v[] = { 3, 1, 2 };

	/* UBSan (nonnull-attribute) fails this test if qsort itself sees NULL */
	kt_qsort(NULL, 0, sizeof(int), cmp_int);
	kt_qsort(v, 3, sizeof(int), cmp_int);
	CHECK(v[0] == 1 && v[1] == 2 && v[2] == 3, "sorted");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	symlinks();
	new_file();
	existing_file();
	write_errors();
	replaced();
	sort();
	rmdir(dir);
	return kt_test_done("test_ofile");
}
