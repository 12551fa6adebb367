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
#include "tape.h"
#include "util.h"

/*
 * What this file reads from the system (the hierarchy, paths, PSI totals)
 * goes on the tape of a --record run, and a replay takes it from there, in
 * the same order: the replaying machine's cgroups are not the recorded ones.
 */
static void tape_put(int res, const void *p, size_t n)
{
	int32_t r = res;

	if (kt_tape_recording())
		kt_tape_put2(KT_TAPE_READ, &r, sizeof(r), p, n);
}

/* Replaying: the next read's result, its bytes at *p (*n of them). */
static int tape_take(const void **p, size_t *n)
{
	const char *d = kt_tape_take(KT_TAPE_READ, n);
	int32_t r;

	if (!d || *n < sizeof(r))
		return -ENOENT;
	memcpy(&r, d, sizeof(r));
	*p = d + sizeof(r);
	*n -= sizeof(r);
	return r;
}

struct cg_entry {
	uint64_t id;
	char *path;
};

struct kt_cgnames {
	char mnt[PATH_MAX];
	bool v2;
	bool replay; /* from a tape: paths come from it, nothing is walked */
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

static int open_system(struct kt_cgnames **out, const char *controller);

int kt_cgnames_open(struct kt_cgnames **out, const char *controller)
{
	char rec[PATH_MAX + 1];
	const void *p;
	size_t n;
	int err;

	*out = NULL;
	if (kt_tape_replaying()) {
		/* "2" or "1" (v2, v1) and the mount point */
		err = tape_take(&p, &n);
		if (err)
			return err;
		if (n < 2 || n > sizeof(rec) || ((const char *)p)[n - 1])
			return -EINVAL;
		memcpy(rec, p, n);
		err = kt_cgnames_open_dir(out, rec + 1, rec[0] == '2');
		if (!err)
			(*out)->replay = true;
		return err;
	}
	err = open_system(out, controller);
	if (err) {
		tape_put(err, NULL, 0);
		return err;
	}
	n = (size_t)snprintf(rec, sizeof(rec), "%c%s", (*out)->v2 ? '2' : '1', (*out)->mnt);
	tape_put(0, rec, n + 1);
	return 0;
}

static int open_system(struct kt_cgnames **out, const char *controller)
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

static const char *path_system(struct kt_cgnames *c, uint64_t id);

const char *kt_cgnames_path(struct kt_cgnames *c, uint64_t id)
{
	const char *s;
	const void *p;
	size_t n;

	if (!c || !id)
		return NULL;
	if (c->replay) {
		if (tape_take(&p, &n) || !n || ((const char *)p)[n - 1])
			return NULL;
		return p; /* valid until the tape is unloaded, after the run */
	}
	s = path_system(c, id);
	tape_put(s ? 0 : -ENOENT, s, s ? strlen(s) + 1 : 0);
	return s;
}

static const char *path_system(struct kt_cgnames *c, uint64_t id)
{
	struct walk *w;
	struct stat st;
	uint64_t now;
	int fd;

	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].id == id)
			return c->e[i].path;
	/* the root costs a stat, not a walk */
	if (!stat(c->mnt, &st) && (uint64_t)st.st_ino == id) {
		cache_add(c, id, "/");
		return c->n ? path_system(c, id) : NULL;
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

static int psi_read_system(const char *path, struct kt_psi *p);

int kt_psi_read(const char *path, struct kt_psi *p)
{
	const void *d;
	size_t n;
	int err;

	if (kt_tape_replaying()) {
		memset(p, 0, sizeof(*p));
		err = tape_take(&d, &n);
		if (!err && n == sizeof(*p))
			memcpy(p, d, sizeof(*p));
		return err ? err : n == sizeof(*p) ? 0 : -EINVAL;
	}
	err = psi_read_system(path, p);
	tape_put(err, p, err ? 0 : sizeof(*p));
	return err;
}

static int psi_read_system(const char *path, struct kt_psi *p)
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
	const char *rel;
	char path[PATH_MAX];

	if (!c || !c->v2)
		return -EOPNOTSUPP;
	/* a replay takes the path and then the totals from the tape, as they were read */
	rel = kt_cgnames_path(c, id);
	if (!rel)
		return -ENOENT;
	if ((size_t)snprintf(path, sizeof(path), "%s%s/%s", c->mnt, strcmp(rel, "/") ? rel : "",
			     file) >= sizeof(path))
		return -ENAMETOOLONG;
	return kt_psi_read(path, p);
}
