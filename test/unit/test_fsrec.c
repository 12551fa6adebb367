// SPDX-License-Identifier: GPL-2.0
/* Decoding the fs commands' records: paths from walks, rename's new path, dirname, bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fsrec.h"
#include "kt_test.h"

static struct kt_fs_event ev;

/* A record with the walk's names (leaf first), path and path2. */
static size_t make(const char *const *names, size_t n, const char *path, const char *path2,
		   uint32_t flags)
{
	size_t off = 0;

	memset(&ev, 0, sizeof(ev));
	for (size_t i = 0; i < n; i++) {
		memcpy(ev.data + off, names[i], strlen(names[i]) + 1);
		off += strlen(names[i]) + 1;
	}
	ev.dir_len = (uint16_t)off;
	if (path) {
		ev.path_len = (uint16_t)strlen(path);
		memcpy(ev.data + off, path, ev.path_len + 1);
		off += ev.path_len + 1;
	}
	if (path2) {
		ev.path2_len = (uint16_t)strlen(path2);
		memcpy(ev.data + off, path2, ev.path2_len + 1);
		off += ev.path2_len + 1;
	}
	ev.flags = flags;
	ev.hdr.size = (uint32_t)(offsetof(struct kt_fs_event, data) + off);
	return ev.hdr.size;
}

static void paths(void)
{
	static const char *const file[] = { "data", "d1", "tmp" };
	static const char *const none[] = { NULL };
	char buf[8192], b2[8192];
	size_t sz;

	sz = make(file, 3, NULL, NULL, KT_FS_E_FILE | KT_FS_E_WALK | KT_FS_E_ROOT);
	CHECK(kt_fs_event_ok(&ev, sz), "file record ok");
	kt_fs_event_path(&ev, buf, sizeof(buf));
	CHECK(!strcmp(buf, "/tmp/d1/data"), "file: %s", buf);
	/* a walk that did not reach the root */
	sz = make(file, 3, NULL, NULL, KT_FS_E_FILE | KT_FS_E_WALK);
	kt_fs_event_path(&ev, buf, sizeof(buf));
	CHECK(!strcmp(buf, ".../tmp/d1/data"), "cut walk: %s", buf);
	/* relative path from a walked directory, rename in the same directory */
	sz = make(file + 1, 2, "f001", "g001", KT_FS_E_WALK | KT_FS_E_ROOT | KT_FS_E_SAME_DIR);
	CHECK(kt_fs_event_ok(&ev, sz), "rename record ok");
	kt_fs_event_path(&ev, buf, sizeof(buf));
	kt_fs_event_path2(&ev, b2, sizeof(b2));
	CHECK(!strcmp(buf, "/tmp/d1/f001") && !strcmp(b2, "/tmp/d1/g001"), "rename: %s -> %s", buf,
	      b2);
	/* the VFS layer's rename: the new path is a second walk (leaf first), cut or whole */
	{
		static const char w2[] = "g001\0d2\0tmp";

		sz = make(file + 1, 2, "f001", NULL,
			  KT_FS_E_VFS | KT_FS_E_WALK | KT_FS_E_ROOT | KT_FS_E_WALK2 | KT_FS_E_ROOT2);
		memcpy(ev.data + ev.dir_len + ev.path_len + 1, w2, sizeof(w2));
		ev.path2_len = sizeof(w2);
		ev.hdr.size += sizeof(w2);
		CHECK(kt_fs_event_ok(&ev, ev.hdr.size), "vfs rename record ok");
		kt_fs_event_path(&ev, buf, sizeof(buf));
		kt_fs_event_path2(&ev, b2, sizeof(b2));
		CHECK(!strcmp(buf, "/tmp/d1/f001") && !strcmp(b2, "/tmp/d2/g001"),
		      "vfs rename: %s -> %s", buf, b2);
		ev.flags &= ~KT_FS_E_ROOT2;
		kt_fs_event_path2(&ev, b2, sizeof(b2));
		CHECK(!strcmp(b2, ".../tmp/d2/g001"), "vfs rename, cut walk: %s", b2);
		/* a second walk may be longer than a path, not longer than a walk */
		ev.path2_len = KT_FS_DIR_MAX + KT_FS_NAME_MAX + 1;
		ev.hdr.size = (uint32_t)sizeof(ev);
		CHECK(!kt_fs_event_ok(&ev, sizeof(ev)), "an over-long second walk is refused");
	}
	CHECK(!strcmp(kt_fs_vfs_name(KT_VFS_SETATTR), "notify_change") &&
	      kt_fs_vfs_lookup("do_fsync") == KT_VFS_DO_FSYNC && kt_fs_vfs_lookup("x") < 0 &&
	      !kt_fs_vfs_name(KT_VFS_NFNS), "VFS function names");
	/* new path from another directory: as given */
	make(file + 1, 2, "f001", "g001", KT_FS_E_WALK | KT_FS_E_ROOT);
	kt_fs_event_path2(&ev, b2, sizeof(b2));
	CHECK(!strcmp(b2, "g001"), "other dir: %s", b2);
	/* the walk of the root itself */
	make(none, 0, "x", NULL, KT_FS_E_WALK | KT_FS_E_ROOT);
	kt_fs_event_path(&ev, buf, sizeof(buf));
	CHECK(!strcmp(buf, "/x"), "from /: %s", buf);
	/* an absolute path, no walk */
	make(none, 0, "/etc/passwd", NULL, KT_FS_E_TYPE_DIR);
	kt_fs_event_path(&ev, buf, sizeof(buf));
	CHECK(!strcmp(buf, "/etc/passwd"), "absolute: %s", buf);
	/* a small buffer cuts, NUL-terminated */
	sz = make(file, 3, NULL, NULL, KT_FS_E_FILE | KT_FS_E_WALK | KT_FS_E_ROOT);
	CHECK(kt_fs_event_path(&ev, buf, 5) == 4 && !strcmp(buf, "/tmp"), "cut: %s", buf);
	/* lengths beyond the record are refused */
	CHECK(!kt_fs_event_ok(&ev, sz - 1), "record longer than its buffer");
	ev.path2_len = 100;
	CHECK(!kt_fs_event_ok(&ev, sz), "path2 beyond the record");
}

static void dirnames(void)
{
	char p[64];

	strcpy(p, "/a/b/c");
	CHECK(kt_fs_dirname(p, strlen(p)) == 4 && !strcmp(p, "/a/b"), "%s", p);
	strcpy(p, "/a");
	CHECK(kt_fs_dirname(p, strlen(p)) == 1 && !strcmp(p, "/"), "%s", p);
	strcpy(p, "name");
	CHECK(kt_fs_dirname(p, strlen(p)) == 1 && !strcmp(p, "."), "%s", p);
	strcpy(p, "/a/b/");
	CHECK(!strcmp((kt_fs_dirname(p, strlen(p)), p), "/a"), "%s", p);
}

static void names(void)
{
	CHECK(kt_fs_op_lookup("rename") == KT_FS_RENAME, "rename");
	CHECK(!strcmp(kt_fs_op_name(KT_FS_GETATTR), "getattr"), "getattr");
	CHECK(kt_fs_op_name(KT_FS_NOPS) == NULL && kt_fs_op_lookup("nope") == -1, "unknown");
	for (int i = 0; i < KT_FS_NOPS; i++)
		CHECK(kt_fs_op_name((uint32_t)i) != NULL, "op %d has a name", i);
}

static void mounts(void)
{
	const char *t;

	if (kt_fs_mounts_load())
		return; /* no /proc here: nothing to check */
	t = kt_fs_mount_type("/");
	CHECK(t && *t, "/ has a type");
	t = kt_fs_mount_type("/proc/self");
	CHECK(t && !strcmp(t, "proc"), "/proc/self is on proc: %s", t ? t : "(null)");
	CHECK(kt_fs_mount_type("relative") == NULL, "relative paths have none");
	kt_fs_mounts_free();
}

int main(void)
{
	paths();
	dirnames();
	names();
	mounts();
	return kt_test_done("test_fsrec");
}
