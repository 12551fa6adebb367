// SPDX-License-Identifier: GPL-2.0
/*
 * User-space symbolization (see usyms.h for the lookup order and why the
 * mappings are captured at first sight).
 *
 * Address translation: for a runtime address in a mapping [start, end) with
 * file offset pgoff, the file offset is addr - start + pgoff; the PT_LOAD
 * segment covering that offset gives the ELF virtual address
 * (off - p_offset + p_vaddr). This is right for ET_EXEC (where it comes back
 * to addr) and for ET_DYN (PIE and shared libraries, loaded anywhere)
 * without having to guess the load bias.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kt_elf.h"
#include "usyms.h"

#define PID_BUCKETS	 1024
#define FILE_BUCKETS	 256
#define MAX_MAPS	 65536U	      /* executable mappings kept per process */
#define MAX_PERFMAP_SIZE (256U << 20) /* bytes */
#define MAX_PERFMAP_SYMS (4U << 20)

struct file_ent {
	struct file_ent *next; /* hash chain */
	dev_t dev;
	ino_t ino;
	char *base; /* basename, for frames */
	struct kt_elf *elf;
	struct kt_elf *dbg; /* separate debug file, or NULL */
};

struct umap {
	uint64_t start, end, pgoff;
	struct file_ent *file; /* NULL: no ELF (anonymous, JIT, [vdso], unreadable) */
	char *name;	       /* basename or pseudo name like "[vdso]"; NULL if anonymous */
};

struct perf_sym {
	uint64_t start, size;
	const char *name;
	uint32_t idx;
};

struct perfmap {
	struct perf_sym *syms;
	size_t n;
	char *text;
	off_t size; /* file size when read, to notice a JIT appending */
};

struct snapshot {
	struct snapshot *next;
	struct umap *maps;
	size_t n;
};

struct proc {
	struct proc *next;
	int pid;
	int nspid; /* pid inside its own pid namespace, for perf-NSPID.map */
	uid_t uid;
	struct umap *maps;
	size_t nmaps;
	struct snapshot *old; /* earlier snapshots, newest first: frames may name them */
	struct perfmap *pm;
	bool pm_tried;
	bool refreshed;
};

struct kt_usyms {
	char proc_dir[PATH_MAX / 4];
	char debug_dir[PATH_MAX / 4];
	char tmp_dir[PATH_MAX / 4];
	struct proc *pids[PID_BUCKETS];
	struct file_ent *files[FILE_BUCKETS];
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int copy_opt(char *dst, size_t len, const char *val, const char *def)
{
	int n = snprintf(dst, len, "%s", val ? val : def);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int kt_usyms_new(const struct kt_usyms_opts *opts, struct kt_usyms **out)
{
	struct kt_usyms *us;
	int err;

	*out = NULL;
	us = calloc(1, sizeof(*us));
	if (!us)
		return -ENOMEM;
	err = copy_opt(us->proc_dir, sizeof(us->proc_dir), opts ? opts->proc_dir : NULL, "/proc");
	if (!err)
		err = copy_opt(us->debug_dir, sizeof(us->debug_dir), opts ? opts->debug_dir : NULL,
			       "/usr/lib/debug");
	if (!err)
		err =
		    copy_opt(us->tmp_dir, sizeof(us->tmp_dir), opts ? opts->tmp_dir : NULL, "/tmp");
	if (err) {
		free(us);
		return err;
	}
	*out = us;
	return 0;
}

static void perfmap_free(struct perfmap *pm)
{
	if (!pm)
		return;
	free(pm->syms);
	free(pm->text);
	free(pm);
}

static void free_maps(struct umap *maps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(maps[i].name);
	free(maps);
}

void kt_usyms_free(struct kt_usyms *us)
{
	size_t i;

	if (!us)
		return;
	for (i = 0; i < PID_BUCKETS; i++) {
		struct proc *p, *next;

		for (p = us->pids[i]; p; p = next) {
			next = p->next;
			free_maps(p->maps, p->nmaps);
			while (p->old) {
				struct snapshot *o = p->old;

				p->old = o->next;
				free_maps(o->maps, o->n);
				free(o);
			}
			perfmap_free(p->pm);
			free(p);
		}
	}
	for (i = 0; i < FILE_BUCKETS; i++) {
		struct file_ent *f, *next;

		for (f = us->files[i]; f; f = next) {
			next = f->next;
			kt_elf_free(f->elf);
			kt_elf_free(f->dbg);
			free(f->base);
			free(f);
		}
	}
	free(us);
}

static int path_fmt(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int path_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Open a debug candidate and keep it if it matches (CRC or build-id). */
static struct kt_elf *try_debug(const char *path, const struct kt_elf *elf, bool by_crc)
{
	struct kt_elf *dbg = NULL;
	uint32_t crc;

	if (by_crc && (kt_elf_file_crc32(path, &crc) || crc != elf->debuglink_crc))
		return NULL;
	if (kt_elf_open(path, &dbg))
		return NULL;
	if (!by_crc && (dbg->build_id_len != elf->build_id_len ||
			memcmp(dbg->build_id, elf->build_id, elf->build_id_len))) {
		kt_elf_free(dbg);
		return NULL;
	}
	if (!dbg->nsyms) {
		kt_elf_free(dbg);
		return NULL;
	}
	return dbg;
}

/*
 * Find the separate debug file of @elf, mapped at @path in @pid. Each place
 * is tried under the process's root first, then on the host.
 */
static struct kt_elf *find_debug(const struct kt_usyms *us, int pid, const char *path,
				 const struct kt_elf *elf)
{
	char root[PATH_MAX], dir[PATH_MAX], cand[PATH_MAX], hex[2 * KT_ELF_MAX_BUILD_ID + 1];
	struct kt_elf *dbg = NULL;
	const char *roots[2];
	size_t i, r, dlen;

	if (path_fmt(root, sizeof(root), "%s/%d/root", us->proc_dir, pid))
		return NULL;
	roots[0] = root;
	roots[1] = "";
	if (elf->build_id_len >= 2) {
		for (i = 0; i < elf->build_id_len; i++)
			snprintf(hex + 2 * i, 3, "%02x", elf->build_id[i]);
		for (r = 0; r < 2 && !dbg; r++)
			if (!path_fmt(cand, sizeof(cand), "%s%s/.build-id/%.2s/%s.debug", roots[r],
				      us->debug_dir, hex, hex + 2))
				dbg = try_debug(cand, elf, false);
	}
	if (dbg || !elf->debuglink)
		return dbg;
	dlen = (size_t)(base_name(path) - path);
	if (!dlen || dlen >= sizeof(dir))
		return NULL;
	memcpy(dir, path, dlen - 1); /* without the trailing '/' */
	dir[dlen - 1] = '\0';
	for (r = 0; r < 2 && !dbg; r++) {
		if (!path_fmt(cand, sizeof(cand), "%s%s/%s", roots[r], dir, elf->debuglink))
			dbg = try_debug(cand, elf, true);
		if (!dbg &&
		    !path_fmt(cand, sizeof(cand), "%s%s/.debug/%s", roots[r], dir, elf->debuglink))
			dbg = try_debug(cand, elf, true);
		if (!dbg && !path_fmt(cand, sizeof(cand), "%s%s%s/%s", roots[r], us->debug_dir, dir,
				      elf->debuglink))
			dbg = try_debug(cand, elf, true);
	}
	return dbg;
}

/*
 * Open the file of one mapping and return its (possibly cached) entry, or
 * NULL when it cannot be read as an ELF.
 */
static struct file_ent *open_file(struct kt_usyms *us, int pid, const char *path, const char *range)
{
	char buf[PATH_MAX];
	struct file_ent *f = NULL;
	struct stat st;
	size_t h;
	int fd = -1;

	/* "(deleted)": the path names another file, or nothing; use map_files */
	if (path[0] == '/' && !strstr(path, " (deleted)") &&
	    !path_fmt(buf, sizeof(buf), "%s/%d/root%s", us->proc_dir, pid, path))
		fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && !path_fmt(buf, sizeof(buf), "%s/%d/map_files/%s", us->proc_dir, pid, range))
		fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		goto out;
	h = (size_t)(st.st_dev * 31 + st.st_ino) % FILE_BUCKETS;
	for (f = us->files[h]; f; f = f->next)
		if (f->dev == st.st_dev && f->ino == st.st_ino)
			goto out;
	f = calloc(1, sizeof(*f));
	if (!f)
		goto out;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->base = strdup(base_name(path));
	if (!f->base || kt_elf_open_fd(fd, &f->elf)) {
		/* not an ELF: remember nothing, the mapping is treated like JIT code */
		free(f->base);
		free(f);
		f = NULL;
		goto out;
	}
	if (!f->elf->has_symtab)
		f->dbg = find_debug(us, pid, path, f->elf);
	f->next = us->files[h];
	us->files[h] = f;
out:
	close(fd);
	return f;
}

static struct proc *find_proc(const struct kt_usyms *us, int pid)
{
	struct proc *p;

	for (p = us->pids[(unsigned int)pid % PID_BUCKETS]; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

/* The pid inside the innermost pid namespace, from the last NSpid field. */
static void read_status(const struct kt_usyms *us, struct proc *p)
{
	char path[PATH_MAX], *line = NULL, *tok, *save;
	size_t lsz = 0;
	FILE *f;

	p->nspid = p->pid;
	if (path_fmt(path, sizeof(path), "%s/%d/status", us->proc_dir, p->pid))
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	while (getline(&line, &lsz, f) > 0) {
		if (!strncmp(line, "Uid:", 4)) {
			p->uid = (uid_t)strtoul(line + 4, NULL, 10);
		} else if (!strncmp(line, "NSpid:", 6)) {
			for (tok = strtok_r(line + 6, " \t\n", &save); tok;
			     tok = strtok_r(NULL, " \t\n", &save))
				p->nspid = atoi(tok);
		}
	}
	free(line);
	fclose(f);
}

static int add_map(struct kt_usyms *us, struct proc *p, char *line, size_t *cap)
{
	unsigned long long start, end, pgoff;
	char perms[8], range[64];
	const char *path = "";
	struct umap *m;
	int pos = 0;

	if (sscanf(line, "%llx-%llx %7s %llx %*s %*u %n", &start, &end, perms, &pgoff, &pos) < 4 ||
	    !pos)
		return 0;
	if (!strchr(perms, 'x') || end <= start)
		return 0;
	path = line + pos;
	path += strspn(path, " ");
	line[strcspn(line, "\n")] = '\0';
	if (p->nmaps == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;

		if (ncap > MAX_MAPS)
			return -E2BIG;
		m = realloc(p->maps, ncap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		p->maps = m;
		*cap = ncap;
	}
	m = &p->maps[p->nmaps];
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->pgoff = pgoff;
	if (*path) {
		m->name = strdup(path[0] == '/' ? base_name(path) : path);
		if (!m->name)
			return -ENOMEM;
	}
	snprintf(range, sizeof(range), "%llx-%llx", start, end);
	if (path[0] == '/')
		m->file = open_file(us, p->pid, path, range);
	p->nmaps++;
	return 0;
}

/* Read /proc/PID/maps into p->maps (which must be empty). */
static int read_maps(struct kt_usyms *us, struct proc *p)
{
	char path[PATH_MAX], *line = NULL;
	size_t lsz = 0, cap = 0;
	FILE *f = NULL;
	int err;

	err = path_fmt(path, sizeof(path), "%s/%d/maps", us->proc_dir, p->pid);
	if (err)
		return err;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &lsz, f) > 0) {
		err = add_map(us, p, line, &cap);
		if (err == -E2BIG) {
			err = 0; /* keep what fits */
			break;
		}
		if (err)
			break;
	}
	free(line);
	fclose(f);
	if (err) {
		free_maps(p->maps, p->nmaps);
		p->maps = NULL;
		p->nmaps = 0;
	}
	return err;
}

int kt_usyms_add_pid(struct kt_usyms *us, int pid)
{
	struct proc *p;
	int err;

	if (!us || pid <= 0)
		return -EINVAL;
	if (find_proc(us, pid))
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pid = pid;
	read_status(us, p);
	err = read_maps(us, p);
	if (err) {
		free(p);
		return err;
	}
	p->next = us->pids[(unsigned int)pid % PID_BUCKETS];
	us->pids[(unsigned int)pid % PID_BUCKETS] = p;
	return 0;
}

/*
 * Reads the maps again: after an exec (kt_usyms_refresh_pid), or once per
 * process when an address is outside every known mapping (a library
 * dlopen()ed since the snapshot). Earlier snapshots are kept, since frames
 * already handed out point to their names.
 */
static int refresh_maps(struct kt_usyms *us, struct proc *p)
{
	struct snapshot *o = calloc(1, sizeof(*o));
	struct umap *maps = p->maps;
	size_t n = p->nmaps;
	int err;

	if (!o)
		return -ENOMEM;
	p->maps = NULL;
	p->nmaps = 0;
	err = read_maps(us, p);
	if (err) {
		p->maps = maps;
		p->nmaps = n;
		free(o);
		return err;
	}
	o->maps = maps;
	o->n = n;
	o->next = p->old;
	p->old = o;
	return 0;
}

int kt_usyms_refresh_pid(struct kt_usyms *us, int pid)
{
	struct proc *p;

	if (!us || pid <= 0)
		return -EINVAL;
	p = find_proc(us, pid);
	return p ? refresh_maps(us, p) : kt_usyms_add_pid(us, pid);
}

static int cmp_perf_sym(const void *a, const void *b)
{
	const struct perf_sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* a JIT reuses addresses: the later line wins, so sort it first */
	return x->idx > y->idx ? -1 : x->idx < y->idx;
}

/* Parse "START SIZE name" lines (hex) from @pm->text, in place. */
static int perfmap_parse(struct perfmap *pm)
{
	char *line = pm->text, *nl, *end;
	size_t cap = 0, k, i;
	struct perf_sym *v;

	for (; *line; line = nl) {
		unsigned long long start, size;

		nl = line + strcspn(line, "\n");
		if (*nl)
			*nl++ = '\0';
		errno = 0;
		start = strtoull(line, &end, 16);
		if (errno || end == line || *end != ' ')
			continue;
		line = end + 1;
		size = strtoull(line, &end, 16);
		if (errno || end == line || *end != ' ' || !size || !end[1])
			continue;
		if (pm->n == cap) {
			cap = cap ? cap * 2 : 256;
			if (cap > MAX_PERFMAP_SYMS)
				break;
			v = realloc(pm->syms, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			pm->syms = v;
		}
		pm->syms[pm->n].start = start;
		pm->syms[pm->n].size = size;
		pm->syms[pm->n].name = end + 1;
		pm->syms[pm->n].idx = (uint32_t)pm->n;
		pm->n++;
	}
	if (!pm->n)
		return 0;
	qsort(pm->syms, pm->n, sizeof(*pm->syms), cmp_perf_sym);
	for (i = 0, k = 0; i < pm->n; i++)
		if (!k || pm->syms[k - 1].start != pm->syms[i].start)
			pm->syms[k++] = pm->syms[i];
	pm->n = k;
	return 0;
}

/*
 * Open a perf map, refusing anything but a regular file owned by the
 * process's user or root: /tmp is world-writable, and a planted symlink to
 * a secret file must not end up printed as symbol names.
 */
static int perfmap_open(const char *path, uid_t uid, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) || !S_ISREG(st->st_mode) || (st->st_uid != uid && st->st_uid != 0) ||
	    st->st_size > MAX_PERFMAP_SIZE) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static void perfmap_load(const struct kt_usyms *us, struct proc *p)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct perfmap *pm = NULL;
	struct stat st;
	size_t got = 0;
	int fd = -1;

	if (!path_fmt(a, sizeof(a), "%s/%d/root/tmp/perf-%d.map", us->proc_dir, p->pid, p->nspid))
		fd = perfmap_open(a, p->uid, &st);
	if (fd < 0 && !path_fmt(b, sizeof(b), "%s/perf-%d.map", us->tmp_dir, p->pid))
		fd = perfmap_open(b, p->uid, &st);
	if (fd < 0)
		return;
	if (p->pm && p->pm->size == st.st_size)
		goto out; /* unchanged */
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		goto out;
	pm->size = st.st_size;
	pm->text = malloc((size_t)st.st_size + 1);
	if (!pm->text)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, pm->text + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	pm->text[got] = '\0';
	if (perfmap_parse(pm))
		goto out;
	perfmap_free(p->pm);
	p->pm = pm;
	pm = NULL;
out:
	perfmap_free(pm);
	close(fd);
}

static const struct perf_sym *perfmap_lookup(const struct perfmap *pm, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!pm || !pm->n)
		return NULL;
	hi = pm->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr - pm->syms[lo - 1].start >= pm->syms[lo - 1].size)
		return NULL;
	return &pm->syms[lo - 1];
}

static const struct umap *find_map(const struct proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;

	/* /proc/PID/maps is sorted by address and mappings do not overlap */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= p->maps[lo - 1].end)
		return NULL;
	return &p->maps[lo - 1];
}

static int resolve_elf(const struct umap *m, uint64_t addr, struct kt_frame *fr)
{
	const struct file_ent *f = m->file;
	const struct kt_elf_sym *hit, *dhit;
	uint64_t foff = addr - m->start + m->pgoff, vaddr, off = 0, doff = 0;

	if (kt_elf_offset_to_vaddr(f->elf, foff, &vaddr))
		vaddr = f->elf->type == ET_EXEC ? addr : foff;
	fr->module = f->base;
	fr->offset = vaddr;
	hit = kt_elf_lookup(f->elf, vaddr, &off);
	/* a sized hit (or any .symtab hit) is exact; a size-less .dynsym one is a guess */
	if (hit && (hit->size || f->elf->has_symtab))
		goto found;
	dhit = kt_elf_lookup(f->dbg, vaddr, &doff);
	if (dhit) {
		hit = dhit;
		off = doff;
	}
	if (!hit)
		return -ENOENT;
found:
	fr->sym = hit->name;
	fr->offset = off;
	return 0;
}

int kt_usyms_resolve(struct kt_usyms *us, int pid, uint64_t addr, struct kt_frame *fr)
{
	const struct perf_sym *ps;
	const struct umap *m;
	struct proc *p;
	int err;

	fr->addr = addr;
	fr->sym = NULL;
	fr->offset = addr;
	fr->module = NULL;
	if (!us)
		return -EINVAL;
	p = find_proc(us, pid);
	if (!p) {
		err = kt_usyms_add_pid(us, pid);
		if (err)
			return err;
		p = find_proc(us, pid);
		if (!p)
			return -ENOENT;
	}
	m = find_map(p, addr);
	if (!m && !p->refreshed) {
		p->refreshed = true;
		refresh_maps(us, p);
		m = find_map(p, addr);
	}
	if (m && m->file)
		return resolve_elf(m, addr, fr);
	if (m) {
		fr->module = m->name;
		fr->offset = addr - m->start;
	}
	/* no ELF here: JIT code, if the runtime wrote a perf map */
	ps = perfmap_lookup(p->pm, addr);
	if (!ps && (!p->pm_tried || p->pm)) {
		/* first time, or the JIT may have appended since */
		p->pm_tried = true;
		perfmap_load(us, p);
		ps = perfmap_lookup(p->pm, addr);
	}
	if (!ps)
		return -ENOENT;
	fr->sym = ps->name;
	fr->offset = addr - ps->start;
	if (!fr->module)
		fr->module = "[jit]";
	return 0;
}
