// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of core/cgname.c: a cgroup id (its directory's inode) becomes its
 * path below the hierarchy's mount, symlinks are never followed, a missing
 * id is NULL and is not walked for again within a second; PSI files parse
 * (with and without a "full" line, and garbage is refused), and a v2
 * cgroup's memory.pressure is read through its id.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgname.h"
#include "kt_test.h"

static char tmp[] = "/tmp/kt_cgname_testXXXXXX";

static void put(const char *rel, const char *text)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static uint64_t ino(const char *rel)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	return stat(p, &st) ? 0 : (uint64_t)st.st_ino;
}

static void mk(const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	mkdir(p, 0755);
}

int main(void)
{
	struct kt_cgnames *c = NULL;
	struct kt_psi psi;
	char p[1024], outside[] = "/tmp/kt_cgname_outXXXXXX";
	const char *s;

	if (!mkdtemp(tmp) || !mkdtemp(outside))
		return 1;
	mk("a");
	mk("a/b");
	mk("a/b/c d");
	mk("z");
	put("a/b/memory.pressure",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=1234\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=567\n");
	put("z/cpu.pressure", "some avg10=1.00 avg60=0.00 avg300=0.00 total=99\n");
	put("z/bad.pressure", "nothing here\n");
	snprintf(p, sizeof(p), "%s/link", tmp);
	if (symlink(outside, p))
		return 1;

	CHECK(kt_cgnames_open_dir(&c, tmp, true) == 0, "open");
	s = kt_cgnames_path(c, ino("a/b/c d"));
	CHECK(s && !strcmp(s, "/a/b/c d"), "nested path: %s", s ? s : "(null)");
	s = kt_cgnames_path(c, ino("."));
	CHECK(s && !strcmp(s, "/"), "the root is /: %s", s ? s : "(null)");
	/* cached: found again without a walk (a walk within a second is refused) */
	s = kt_cgnames_path(c, ino("a/b/c d"));
	CHECK(s && !strcmp(s, "/a/b/c d"), "cached path");
	/* behind a symlink: never found, and no second walk within a second */
	s = kt_cgnames_path(c, ino("link"));
	CHECK(!s, "a directory behind a symlink is not reached");
	CHECK(kt_cgnames_path(c, 0) == NULL, "id 0 is no cgroup");
	/* cgroups passed by the first walk are known without another */
	s = kt_cgnames_path(c, ino("a/b"));
	CHECK(s && !strcmp(s, "/a/b"), "a cgroup passed on the way: %s", s ? s : "(null)");

	CHECK(kt_cgnames_psi(c, ino("a/b"), "memory.pressure", &psi) == 0 ||
		      kt_cgnames_path(c, ino("a/b")) == NULL,
	      "memory.pressure through the id");
	kt_cgnames_free(c);
	/* a fresh cache walks at once */
	CHECK(kt_cgnames_open_dir(&c, tmp, true) == 0, "open again");
	CHECK(kt_cgnames_psi(c, ino("a/b"), "memory.pressure", &psi) == 0 && psi.some_us == 1234 &&
		      psi.full_us == 567 && psi.has_full,
	      "v2 memory.pressure: some %llu full %llu", (unsigned long long)psi.some_us,
	      (unsigned long long)psi.full_us);
	kt_cgnames_free(c);
	CHECK(kt_cgnames_open_dir(&c, tmp, false) == 0, "open as v1");
	CHECK(kt_cgnames_psi(c, ino("a/b"), "memory.pressure", &psi) == -EOPNOTSUPP,
	      "v1 has no per-cgroup pressure");
	kt_cgnames_free(c);

	snprintf(p, sizeof(p), "%s/z/cpu.pressure", tmp);
	CHECK(kt_psi_read(p, &psi) == 0 && psi.some_us == 99 && !psi.has_full, "no full line");
	snprintf(p, sizeof(p), "%s/z/bad.pressure", tmp);
	CHECK(kt_psi_read(p, &psi) == -EINVAL, "garbage is refused");
	snprintf(p, sizeof(p), "%s/link", tmp);
	CHECK(kt_psi_read(p, &psi) < 0, "a symlink is not followed");
	snprintf(p, sizeof(p), "%s/z", tmp);
	CHECK(kt_psi_read(p, &psi) < 0, "a directory is refused");
	kt_cgnames_free(NULL);

	{
		static const char *const rm[] = { "a/b/memory.pressure", "z/cpu.pressure",
						  "z/bad.pressure", "link" };
		static const char *const dirs[] = { "a/b/c d", "a/b", "a", "z" };

		for (size_t i = 0; i < sizeof(rm) / sizeof(rm[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", tmp, rm[i]);
			unlink(p);
		}
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", tmp, dirs[i]);
			rmdir(p);
		}
		rmdir(tmp);
		rmdir(outside);
	}
	return kt_test_done("test_cgname");
}
