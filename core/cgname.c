// SPDX-License-Identifier: GPL-2.0
/* Cgroup ids to paths and PSI totals: see cgname.h for the bounds and why. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgname.h"
#include "util.h"

struct cg_entry {
	uint64_t id;
	char *path;
};

struct kt_cgnames {
	char mnt[PATH_MAX];
	bool v2;
	struct cg_entry e[KT_CGNAMES_MAX];
	size_t n, next; /* entries used; next slot to reuse when full */
	uint64_t last_walk_ns;
};

/* mountinfo escapes blanks and backslashes as \ooo */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = 0;
}

static bool has_opt(const char *opts, const char *want)
{
	size_t n = strlen(want);

	for (const char *p = opts; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && !strncmp(p, want, n))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

int kt_cgnames_open(struct kt_cgnames **out, const char *controller)
{
	char line[4096], v1[PATH_MAX] = "", v2[PATH_MAX] = "";
	FILE *f;

	*out = NULL;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), *fields[6], *save = NULL, *tok;
		char fstype[64] = "", super[1024] = "";
		int n = 0;

		if (!sep)
			continue;
		*sep = 0;
		for (tok = strtok_r(line, " ", &save); tok && n < 6; tok = strtok_r(NULL, " ", &save))
			fields[n++] = tok;
		if (n < 5 || sscanf(sep + 3, "%63s %*s %1023s", fstype, super) < 1)
			continue;
		unescape(fields[4]);
		if (!strcmp(fstype, "cgroup") && !v1[0] && has_opt(super, controller))
			snprintf(v1, sizeof(v1), "%s", fields[4]);
		else if (!strcmp(fstype, "cgroup2") && !v2[0])
			snprintf(v2, sizeof(v2), "%s", fields[4]);
	}
	fclose(f);
	if (!v1[0] && !v2[0])
		return -ENOENT;
	return kt_cgnames_open_dir(out, v1[0] ? v1 : v2, !v1[0]);
}

int kt_cgnames_open_dir(struct kt_cgnames **out, const char *mnt, bool v2)
{
	struct kt_cgnames *c;

	*out = NULL;
	if (strlen(mnt) >= sizeof(c->mnt))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->v2 = v2;
	snprintf(c->mnt, sizeof(c->mnt), "%s", mnt);
	*out = c;
	return 0;
}

void kt_cgnames_free(struct kt_cgnames *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].path);
	free(c);
}

bool kt_cgnames_v2(const struct kt_cgnames *c)
{
	return c && c->v2;
}

static void cache_add(struct kt_cgnames *c, uint64_t id, const char *path)
{
	struct cg_entry *e;
	char *p = strdup(path);

	if (!p)
		return;
	if (c->n < KT_CGNAMES_MAX) {
		e = &c->e[c->n++];
	} else {
		e = &c->e[c->next];
		c->next = (c->next + 1) % KT_CGNAMES_MAX;
		free(e->path);
	}
	e->id = id;
	e->path = p;
}

static bool cached(const struct kt_cgnames *c, uint64_t id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].id == id)
			return true;
	return false;
}

struct walk {
	struct kt_cgnames *c;
	uint64_t want;
	size_t dirs;
	char path[PATH_MAX];
	bool found;
};

/* Depth-first below the open directory fd (closed here); path holds its name. */
static void walk_dir(struct walk *w, int fd, int depth)
{
	size_t len = strlen(w->path);
	DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d) {
		close(fd);
		return;
	}
	while (!w->found && (de = readdir(d))) {
		struct stat st;
		int sub;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (++w->dirs > KT_CGNAMES_MAX_DIRS)
			break;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		if (fstat(sub, &st) || len + 1 + strlen(de->d_name) >= sizeof(w->path)) {
			close(sub);
			continue;
		}
		snprintf(w->path + len, sizeof(w->path) - len, "/%s", de->d_name);
		/* while there is room, remember every cgroup passed: one walk serves many ids */
		if ((uint64_t)st.st_ino != w->want && w->c->n < KT_CGNAMES_MAX && !cached(w->c, st.st_ino))
			cache_add(w->c, st.st_ino, w->path);
		if ((uint64_t)st.st_ino == w->want) {
			w->found = true;
			close(sub);
			break;
		}
		if (depth + 1 < KT_CGNAMES_MAX_DEPTH)
			walk_dir(w, sub, depth + 1);
		else
			close(sub);
		if (!w->found)
			w->path[len] = 0;
	}
	closedir(d);
}

const char *kt_cgnames_path(struct kt_cgnames *c, uint64_t id)
{
	struct walk *w;
	struct stat st;
	uint64_t now;
	int fd;

	if (!c || !id)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].id == id)
			return c->e[i].path;
	/* the root costs a stat, not a walk */
	if (!stat(c->mnt, &st) && (uint64_t)st.st_ino == id) {
		cache_add(c, id, "/");
		return c->n ? kt_cgnames_path(c, id) : NULL;
	}
	now = kt_now_mono();
	if (c->last_walk_ns && now - c->last_walk_ns < 1000000000ULL)
		return NULL;
	c->last_walk_ns = now;
	fd = open(c->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		return NULL;
	}
	w->c = c;
	w->want = id;
	walk_dir(w, fd, 0);
	if (w->found)
		cache_add(c, id, w->path);
	free(w);
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].id == id)
			return c->e[i].path;
	return NULL;
}

int kt_psi_read(const char *path, struct kt_psi *p)
{
	char buf[512];
	struct stat st;
	const char *l;
	ssize_t n;
	int fd;

	memset(p, 0, sizeof(*p));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	l = strstr(buf, "some ");
	if (!l || !(l = strstr(l, "total=")) || sscanf(l, "total=%" SCNu64, &p->some_us) != 1)
		return -EINVAL;
	l = strstr(buf, "full ");
	if (l && (l = strstr(l, "total=")) && sscanf(l, "total=%" SCNu64, &p->full_us) == 1)
		p->has_full = true;
	return 0;
}

int kt_cgnames_psi(struct kt_cgnames *c, uint64_t id, const char *file, struct kt_psi *p)
{
	const char *rel = kt_cgnames_path(c, id);
	char path[PATH_MAX];

	if (!c || !c->v2)
		return -EOPNOTSUPP;
	if (!rel)
		return -ENOENT;
	if ((size_t)snprintf(path, sizeof(path), "%s%s/%s", c->mnt, strcmp(rel, "/") ? rel : "",
			     file) >= sizeof(path))
		return -ENAMETOOLONG;
	return kt_psi_read(path, p);
}
