// SPDX-License-Identifier: GPL-2.0
/* Decoding the file-system commands' records (see fsrec.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsrec.h"

static const char *const op_names[KT_FS_NOPS] = {
	[KT_FS_READ] = "read",	   [KT_FS_WRITE] = "write",	[KT_FS_OPEN] = "open",
	[KT_FS_CREATE] = "create", [KT_FS_FSYNC] = "fsync",	[KT_FS_RENAME] = "rename",
	[KT_FS_UNLINK] = "unlink", [KT_FS_MKDIR] = "mkdir",	[KT_FS_RMDIR] = "rmdir",
	[KT_FS_SETATTR] = "setattr", [KT_FS_GETATTR] = "getattr",
};

static const char *const vfs_names[KT_VFS_NFNS] = {
	[KT_VFS_READ] = "vfs_read",	      [KT_VFS_WRITE] = "vfs_write",
	[KT_VFS_OPEN] = "vfs_open",	      [KT_VFS_FSYNC] = "vfs_fsync_range",
	[KT_VFS_RENAME] = "vfs_rename",	      [KT_VFS_UNLINK] = "vfs_unlink",
	[KT_VFS_MKDIR] = "vfs_mkdir",	      [KT_VFS_RMDIR] = "vfs_rmdir",
	[KT_VFS_CREATE] = "vfs_create",	      [KT_VFS_MKNOD] = "vfs_mknod",
	[KT_VFS_SETATTR] = "notify_change",   [KT_VFS_GETATTR] = "vfs_getattr",
	[KT_VFS_DO_FSYNC] = "do_fsync",	      [KT_VFS_GETATTR_NOSEC] = "vfs_getattr_nosec",
};

const char *kt_fs_vfs_name(uint32_t fn)
{
	return fn < KT_VFS_NFNS ? vfs_names[fn] : NULL;
}

int kt_fs_vfs_lookup(const char *name)
{
	for (int i = 0; i < KT_VFS_NFNS; i++)
		if (!strcmp(vfs_names[i], name))
			return i;
	return -1;
}

const char *kt_fs_op_name(uint32_t op)
{
	return op < KT_FS_NOPS ? op_names[op] : NULL;
}

int kt_fs_op_lookup(const char *name)
{
	for (int i = 0; i < KT_FS_NOPS; i++)
		if (!strcmp(op_names[i], name))
			return i;
	return -1;
}

static size_t data_bytes(const struct kt_fs_event *e)
{
	return (size_t)e->hdr.size - offsetof(struct kt_fs_event, data);
}

bool kt_fs_event_ok(const struct kt_fs_event *e, size_t size)
{
	size_t need = (size_t)e->dir_len + e->path_len + (e->path2_len ? 1 + e->path2_len : 0);

	if (size < offsetof(struct kt_fs_event, data) || e->hdr.size > size ||
	    e->hdr.size < offsetof(struct kt_fs_event, data))
		return false;
	/* a second walk (KT_FS_E_WALK2) is as long as a first one may be */
	return need <= data_bytes(e) && e->dir_len <= KT_FS_DIR_MAX + KT_FS_NAME_MAX &&
	       e->path_len < KT_FS_PATH_MAX &&
	       e->path2_len < ((e->flags & KT_FS_E_WALK2) ? KT_FS_DIR_MAX + KT_FS_NAME_MAX + 1 :
							   KT_FS_PATH_MAX);
}

static size_t put(char *buf, size_t cap, size_t n, const char *s, size_t len)
{
	if (n + 1 >= cap)
		return n;
	if (len > cap - 1 - n)
		len = cap - 1 - n;
	memcpy(buf + n, s, len);
	return n + len;
}

/* A walk's names (len bytes at d, leaf first, NUL-separated) as an absolute path. */
static size_t names_path(const char *d, size_t len, bool root, char *buf, size_t cap, size_t n)
{
	size_t starts[KT_FS_DEPTH + 1], lens[KT_FS_DEPTH + 1], k = 0, i = 0;

	while (i < len && k < KT_FS_DEPTH + 1) {
		const char *z = memchr(d + i, 0, len - i);
		size_t l = z ? (size_t)(z - (d + i)) : len - i;

		starts[k] = i;
		lens[k++] = l;
		i += l + 1;
	}
	if (!root)
		n = put(buf, cap, n, "...", 3);
	if (!k)
		return put(buf, cap, n, "/", 1);
	while (k--) {
		n = put(buf, cap, n, "/", 1);
		n = put(buf, cap, n, d + starts[k], lens[k]);
	}
	return n;
}

/* The record's walk as an absolute path. */
static size_t walk_path(const struct kt_fs_event *e, char *buf, size_t cap, size_t n)
{
	return names_path(e->data, e->dir_len, e->flags & KT_FS_E_ROOT, buf, cap, n);
}

size_t kt_fs_event_path(const struct kt_fs_event *e, char *buf, size_t cap)
{
	const char *p = e->data + e->dir_len;
	size_t n = 0;

	if (!cap)
		return 0;
	if (e->flags & KT_FS_E_FILE) {
		n = walk_path(e, buf, cap, 0);
	} else {
		if (e->flags & KT_FS_E_WALK) {
			n = walk_path(e, buf, cap, 0);
			if (n && buf[n - 1] != '/')
				n = put(buf, cap, n, "/", 1);
		}
		n = put(buf, cap, n, p, e->path_len);
	}
	buf[n] = 0;
	return n;
}

size_t kt_fs_event_path2(const struct kt_fs_event *e, char *buf, size_t cap)
{
	size_t n;
	const char *p2 = e->data + e->dir_len + e->path_len + 1;

	if (!cap)
		return 0;
	if (!e->path2_len) {
		buf[0] = 0;
		return 0;
	}
	n = 0;
	if (e->flags & KT_FS_E_WALK2) {
		n = names_path(p2, e->path2_len, e->flags & KT_FS_E_ROOT2, buf, cap, 0);
		buf[n] = 0;
		return n;
	}
	/* relative to the same directory as the old path: made absolute the same way */
	if (p2[0] != '/' && (e->flags & KT_FS_E_WALK) && (e->flags & KT_FS_E_SAME_DIR)) {
		n = walk_path(e, buf, cap, 0);
		if (n && buf[n - 1] != '/')
			n = put(buf, cap, n, "/", 1);
	}
	n = put(buf, cap, n, p2, e->path2_len);
	buf[n] = 0;
	return n;
}

size_t kt_fs_dirname(char *path, size_t len)
{
	while (len > 1 && path[len - 1] == '/')
		len--;
	while (len && path[len - 1] != '/')
		len--;
	if (!len) {
		path[0] = '.';
		len = 1;
	} else {
		while (len > 1 && path[len - 1] == '/')
			len--;
	}
	path[len] = 0;
	return len;
}

struct mnt {
	char *dir;
	size_t len;
	char *type;
};
static struct mnt *mounts;
static size_t n_mounts;

void kt_fs_mounts_free(void)
{
	for (size_t i = 0; i < n_mounts; i++) {
		free(mounts[i].dir);
		free(mounts[i].type);
	}
	free(mounts);
	mounts = NULL;
	n_mounts = 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
}

int kt_fs_mounts_load(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int err = 0;

	kt_fs_mounts_free();
	if (!f)
		return -errno;
	mounts = calloc(KT_FS_MAX_MOUNTS, sizeof(*mounts));
	if (!mounts) {
		fclose(f);
		return -ENOMEM;
	}
	while (n_mounts < KT_FS_MAX_MOUNTS && getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER */
		char *save = NULL, *tok, *dir = NULL, *type = NULL;
		int i = 0;
		bool sep = false;

		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), i++) {
			if (i == 4)
				dir = tok;
			else if (sep) {
				type = tok;
				break;
			} else if (i > 5 && !strcmp(tok, "-"))
				sep = true;
		}
		if (!dir || !type)
			continue;
		unescape(dir);
		mounts[n_mounts].dir = strdup(dir);
		mounts[n_mounts].type = strdup(type);
		if (!mounts[n_mounts].dir || !mounts[n_mounts].type) {
			free(mounts[n_mounts].dir);
			free(mounts[n_mounts].type);
			err = -ENOMEM;
			break;
		}
		mounts[n_mounts].len = strlen(dir);
		n_mounts++;
	}
	free(line);
	fclose(f);
	return err;
}

const char *kt_fs_mount_type(const char *path)
{
	const char *best = NULL;
	size_t best_len = 0;

	if (!path || path[0] != '/')
		return NULL;
	/* later lines mount over earlier ones: the last longest match wins */
	for (size_t i = 0; i < n_mounts; i++) {
		const struct mnt *m = &mounts[i];
		bool under = m->len == 1 ||
			     (!strncmp(path, m->dir, m->len) && (path[m->len] == '/' || !path[m->len]));

		if (under && m->len >= best_len) {
			best = m->type;
			best_len = m->len;
		}
	}
	return best;
}
