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
#include "perfmap.h"
#include "rootfs.h"
#include "usyms.h"
#include "sorted.h"

#define PID_BUCKETS	 1024
#define FILE_BUCKETS	 256
#define MAX_MAPS	 65536U	      /* executable mappings kept per process */
#define MAX_PERFMAP_MEM	 (64U << 20)  /* all perf maps together, bytes */
#define MAX_PROCS	 2048U	      /* process snapshots kept (default) */
#define MAX_FILES_MEM	 (128U << 20) /* parsed ELF files together, bytes (default) */

struct file_ent {
	struct file_ent *next; /* hash chain */
	dev_t dev;
	ino_t ino;
	unsigned int refs; /* mappings (of kept snapshots) that point to it */
	size_t mem;	   /* bytes held, against the files budget */
	char *base; /* basename, for frames */
	struct kt_elf *elf;
	struct kt_elf *dbg; /* separate debug file, or NULL */
};

struct umap {
	uint64_t start, end, pgoff;
	struct file_ent *file; /* NULL: no ELF (anonymous, JIT, [vdso], unreadable) */
	char *name;	       /* basename or pseudo name like "[vdso]"; NULL if anonymous */
};

/* A perf map replaced by a newer read: frames handed out may still point into it. */
struct old_perfmap {
	struct old_perfmap *next;
	struct kt_perfmap *pm;
};

struct snapshot {
	struct snapshot *next;
	struct umap *maps;
	size_t n;
};

struct proc {
	struct proc *next;
	uint64_t used; /* us->tick when last added or looked up: the oldest go first */
	int pid;
	int nspid; /* pid inside its own pid namespace, for perf-NSPID.map */
	uid_t uid;
	struct umap *maps;
	size_t nmaps;
	struct snapshot *old; /* earlier snapshots, newest first: frames may name them */
	struct kt_perfmap *pm;
	off_t pm_size; /* file size when read, to notice a JIT appending */
	bool pm_tried;
	uint64_t start_time; /* field 22 of /proc/PID/stat: tells a reused pid from its first owner */
	bool refreshed;
};

struct kt_usyms {
	char proc_dir[PATH_MAX / 4];
	char debug_dir[PATH_MAX / 4];
	char tmp_dir[PATH_MAX / 4];
	struct proc *pids[PID_BUCKETS];
	struct file_ent *files[FILE_BUCKETS];
	struct old_perfmap *old_pms;
	size_t pm_mem; /* bytes held by every perf map, against MAX_PERFMAP_MEM */
	size_t nprocs, max_procs;
	size_t files_mem, max_files_mem;
	uint64_t tick;
	bool frames_out;    /* frames were handed out since kt_usyms_trim(): free nothing now */
	void (*on_file)(const struct kt_usyms_file *f, void *arg);
	void *on_file_arg;
	struct proc *grave; /* evicted while frames were out: freed by kt_usyms_trim() */
	struct kt_usyms_stats stats;
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
	us->max_procs = opts && opts->max_procs ? opts->max_procs : MAX_PROCS;
	us->max_files_mem = opts && opts->max_files_mem ? opts->max_files_mem : MAX_FILES_MEM;
	*out = us;
	return 0;
}

static void free_maps(struct umap *maps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(maps[i].name);
	free(maps);
}

static void file_destroy(struct kt_usyms *us, struct file_ent *f)
{
	size_t h = (size_t)(f->dev * 31 + f->ino) % FILE_BUCKETS;
	struct file_ent **pp;

	for (pp = &us->files[h]; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	us->files_mem -= f->mem;
	kt_elf_free(f->elf);
	kt_elf_free(f->dbg);
	free(f->base);
	free(f);
}

/* Drop the files no kept snapshot maps (they would be parsed again if seen again). */
static void files_trim(struct kt_usyms *us)
{
	for (size_t i = 0; i < FILE_BUCKETS; i++) {
		struct file_ent *f, *next;

		for (f = us->files[i]; f; f = next) {
			next = f->next;
			if (!f->refs)
				file_destroy(us, f);
		}
	}
}

static void release_maps(struct umap *maps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (maps[i].file && maps[i].file->refs)
			maps[i].file->refs--;
	free_maps(maps, n);
}

static void proc_destroy(struct kt_usyms *us, struct proc *p)
{
	release_maps(p->maps, p->nmaps);
	while (p->old) {
		struct snapshot *o = p->old;

		p->old = o->next;
		release_maps(o->maps, o->n);
		free(o);
	}
	if (p->pm) {
		us->pm_mem -= p->pm->mem;
		kt_perfmap_free(p->pm);
	}
	free(p);
}

/*
 * Too many processes kept: forget the least recently used eighth. A process
 * still alive is read again if it shows up again; one that exited is lost
 * (its frames show module+offset or [unknown]), and counted.
 */
static void procs_evict(struct kt_usyms *us)
{
	size_t want = us->max_procs / 8 ? us->max_procs / 8 : 1, i;
	uint64_t cut = 0, lo, hi;

	/* find the tick below which about `want` processes lie: bisect on the ticks */
	lo = 0;
	hi = us->tick + 1;
	while (lo + 1 < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		size_t n = 0;

		for (i = 0; i < PID_BUCKETS; i++)
			for (struct proc *p = us->pids[i]; p; p = p->next)
				n += p->used < mid;
		if (n <= want)
			lo = mid;
		else
			hi = mid;
	}
	cut = lo ? lo : 1;
	for (i = 0; i < PID_BUCKETS; i++) {
		struct proc **pp = &us->pids[i];

		while (*pp) {
			struct proc *p = *pp;

			if (p->used >= cut) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			us->nprocs--;
			us->stats.procs_evicted++;
			if (us->frames_out) {
				p->next = us->grave;
				us->grave = p;
			} else {
				proc_destroy(us, p);
			}
		}
	}
	/* the files only the forgotten processes mapped go too: the cache follows the snapshots */
	if (!us->frames_out)
		files_trim(us);
}

void kt_usyms_trim(struct kt_usyms *us)
{
	struct old_perfmap *o;

	if (!us)
		return;
	while (us->grave) {
		struct proc *p = us->grave;

		us->grave = p->next;
		proc_destroy(us, p);
	}
	while ((o = us->old_pms)) {
		us->old_pms = o->next;
		us->pm_mem -= o->pm->mem;
		kt_perfmap_free(o->pm);
		free(o);
	}
	/* snapshots replaced by an exec or a reused pid: no frame points to them any more */
	for (size_t i = 0; i < PID_BUCKETS; i++)
		for (struct proc *p = us->pids[i]; p; p = p->next)
			while (p->old) {
				struct snapshot *s = p->old;

				p->old = s->next;
				release_maps(s->maps, s->n);
				free(s);
			}
	if (us->files_mem > us->max_files_mem / 2)
		files_trim(us);
	us->frames_out = false;
}

void kt_usyms_stats(const struct kt_usyms *us, struct kt_usyms_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (us)
		*out = us->stats;
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
			kt_perfmap_free(p->pm);
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
	while (us->old_pms) {
		struct old_perfmap *o = us->old_pms;

		us->old_pms = o->next;
		kt_perfmap_free(o->pm);
		free(o);
	}
	while (us->grave) {
		struct proc *p = us->grave;

		us->grave = p->next;
		free_maps(p->maps, p->nmaps);
		while (p->old) {
			struct snapshot *o = p->old;

			p->old = o->next;
			free_maps(o->maps, o->n);
			free(o);
		}
		kt_perfmap_free(p->pm);
		free(p);
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

/*
 * Open a debug candidate @path inside @root and keep it if it matches (CRC
 * or build-id).
 */
static struct kt_elf *try_debug(const char *root, const char *path, const struct kt_elf *elf,
				bool by_crc)
{
	struct kt_elf *dbg = NULL;
	uint32_t crc;
	int fd = kt_rootfs_open(root, path, 0);

	if (fd < 0)
		return NULL;
	if (by_crc && (kt_elf_fd_crc32(fd, &crc) || crc != elf->debuglink_crc))
		goto out;
	if (kt_elf_open_fd(fd, &dbg))
		goto out;
	if (!by_crc && (dbg->build_id_len != elf->build_id_len ||
			memcmp(dbg->build_id, elf->build_id, elf->build_id_len)))
		goto drop;
	if (!dbg->nsyms)
		goto drop;
	close(fd);
	return dbg;
drop:
	kt_elf_free(dbg);
	dbg = NULL;
out:
	close(fd);
	return dbg;
}

/*
 * Find the separate debug file of @elf, mapped at @path in @pid. Every
 * place is looked up inside the process's root (a symlink there cannot
 * point out of it: see rootfs.h); then the host's own debug directory is
 * tried for the build-id and debug_dir/DIR/LINK names, which are the host
 * administrator's files, never a path the process chose.
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
	roots[1] = "/";
	if (elf->build_id_len >= 2) {
		for (i = 0; i < elf->build_id_len; i++)
			snprintf(hex + 2 * i, 3, "%02x", elf->build_id[i]);
		if (!path_fmt(cand, sizeof(cand), "%s/.build-id/%.2s/%s.debug", us->debug_dir, hex,
			      hex + 2))
			for (r = 0; r < 2 && !dbg; r++)
				dbg = try_debug(roots[r], cand, elf, false);
	}
	if (dbg || !elf->debuglink)
		return dbg;
	dlen = (size_t)(base_name(path) - path);
	if (!dlen || dlen >= sizeof(dir))
		return NULL;
	memcpy(dir, path, dlen - 1); /* without the trailing '/' */
	dir[dlen - 1] = '\0';
	if (!path_fmt(cand, sizeof(cand), "%s/%s", dir, elf->debuglink))
		dbg = try_debug(root, cand, elf, true);
	if (!dbg && !path_fmt(cand, sizeof(cand), "%s/.debug/%s", dir, elf->debuglink))
		dbg = try_debug(root, cand, elf, true);
	for (r = 0; r < 2 && !dbg; r++)
		if (!path_fmt(cand, sizeof(cand), "%s%s/%s", us->debug_dir, dir, elf->debuglink))
			dbg = try_debug(roots[r], cand, elf, true);
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
	    !path_fmt(buf, sizeof(buf), "%s/%d/root", us->proc_dir, pid))
		fd = kt_rootfs_open(buf, path, 0);
	/* the kernel's own link to the mapped file: nothing the process can redirect */
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
	if (us->files_mem >= us->max_files_mem && !us->frames_out)
		files_trim(us);
	if (us->files_mem >= us->max_files_mem) {
		/* the parsed files hold their budget: this one is named by module+offset only */
		us->stats.files_skipped++;
		f = NULL;
		goto out;
	}
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
	if (f->elf->truncated || (f->dbg && f->dbg->truncated)) {
		us->stats.files_truncated++;
		snprintf(us->stats.last_truncated_file, sizeof(us->stats.last_truncated_file), "%s",
			 f->base);
	}
	if (us->on_file) {
		struct kt_usyms_file uf = { fd, (uint64_t)st.st_dev, (uint64_t)st.st_ino, f->elf,
					    f->base };

		us->on_file(&uf, us->on_file_arg);
	}
	f->mem = sizeof(*f) + f->elf->mem + (f->dbg ? f->dbg->mem : 0);
	us->files_mem += f->mem;
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

/*
 * Field 22 of /proc/PID/stat, the start time in clock ticks since boot: a
 * pid and its start time name one process, whatever reuses the pid later.
 * 0 when it cannot be read. The comm (field 2) may hold spaces and ')', so
 * the fields are counted from the last ')'.
 */
static uint64_t read_start_time(const struct kt_usyms *us, int pid)
{
	char path[PATH_MAX], buf[1024], *s, *save = NULL, *tok;
	unsigned long long v = 0;
	ssize_t n;
	int fd, field;

	if (path_fmt(path, sizeof(path), "%s/%d/stat", us->proc_dir, pid))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	s = strrchr(buf, ')');
	if (!s)
		return 0;
	/* field 3 (state) is the first token after ')' */
	for (field = 3, tok = strtok_r(s + 1, " ", &save); tok && field < 22;
	     tok = strtok_r(NULL, " ", &save))
		field++;
	if (tok)
		v = strtoull(tok, NULL, 10);
	return v;
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
	if (m->file)
		m->file->refs++;
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
		release_maps(p->maps, p->nmaps);
		p->maps = NULL;
		p->nmaps = 0;
	}
	return err;
}

static int refresh_maps(struct kt_usyms *us, struct proc *p);
static void retire_perfmap(struct kt_usyms *us, struct proc *p);

/*
 * @p's pid now belongs to another process (it exited and the pid was
 * reused): read everything again, keeping the old snapshot for the frames
 * that point to it.
 */
static int reused(struct kt_usyms *us, struct proc *p, uint64_t start_time)
{
	us->stats.pids_reused++;
	p->start_time = start_time;
	read_status(us, p);
	retire_perfmap(us, p);
	p->pm_tried = false;
	p->refreshed = false;
	return refresh_maps(us, p);
}

int kt_usyms_add_pid(struct kt_usyms *us, int pid)
{
	struct proc *p;
	uint64_t st;
	int err;

	if (!us || pid <= 0)
		return -EINVAL;
	st = read_start_time(us, pid);
	p = find_proc(us, pid);
	if (p) {
		if (st && p->start_time && st != p->start_time)
			return reused(us, p, st);
		return 0;
	}
	if (us->nprocs >= us->max_procs)
		procs_evict(us);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pid = pid;
	p->used = ++us->tick;
	p->start_time = st;
	read_status(us, p);
	err = read_maps(us, p);
	if (err) {
		free(p);
		return err;
	}
	p->next = us->pids[(unsigned int)pid % PID_BUCKETS];
	us->pids[(unsigned int)pid % PID_BUCKETS] = p;
	us->nprocs++;
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

/*
 * Open a perf map inside @root, refusing anything but a regular file owned
 * by the process's user or root: /tmp is world-writable, and a planted
 * symlink to a secret file must not end up printed as symbol names.
 */
static int perfmap_open(const char *root, const char *path, uid_t uid, struct stat *st)
{
	int fd = kt_rootfs_open(root, path, KT_ROOTFS_NOFOLLOW);

	if (fd < 0)
		return fd;
	if (fstat(fd, st) || (st->st_uid != uid && st->st_uid != 0)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Keep @p's perf map until kt_usyms_free() or kt_usyms_trim(): frames may point into it. */
static void retire_perfmap(struct kt_usyms *us, struct proc *p)
{
	struct old_perfmap *old;

	if (!p->pm)
		return;
	old = calloc(1, sizeof(*old));
	if (!old) {
		/* a small leak would be worse than a lost JIT name: drop it now */
		us->pm_mem -= p->pm->mem;
		kt_perfmap_free(p->pm);
	} else {
		old->pm = p->pm;
		old->next = us->old_pms;
		us->old_pms = old;
	}
	p->pm = NULL;
	p->pm_size = 0;
}

static void perfmap_load(struct kt_usyms *us, struct proc *p)
{
	char root[PATH_MAX], a[64], b[PATH_MAX];
	struct kt_perfmap *pm = NULL;
	struct stat st;
	int fd = -1;

	if (!path_fmt(root, sizeof(root), "%s/%d/root", us->proc_dir, p->pid) &&
	    !path_fmt(a, sizeof(a), "/tmp/perf-%d.map", p->nspid))
		fd = perfmap_open(root, a, p->uid, &st);
	if (fd < 0 && !path_fmt(b, sizeof(b), "%s/perf-%d.map", us->tmp_dir, p->pid))
		fd = perfmap_open("/", b, p->uid, &st);
	if (fd < 0)
		return;
	if (p->pm && p->pm_size == st.st_size)
		goto out; /* unchanged */
	if (us->pm_mem >= MAX_PERFMAP_MEM) {
		us->stats.perfmaps_skipped++;
		goto out;
	}
	if (kt_perfmap_read_fd(fd, &pm))
		goto out;
	if (pm->truncated) {
		us->stats.perfmaps_truncated++;
		us->stats.perfmap_lines_dropped += pm->dropped;
		us->stats.last_truncated_pid = p->pid;
	}
	retire_perfmap(us, p);
	us->pm_mem += pm->mem;
	p->pm = pm;
	p->pm_size = st.st_size;
out:
	close(fd);
}

static const struct umap *find_map(const struct proc *p, uint64_t addr)
{
	/* /proc/PID/maps is sorted by address and mappings do not overlap */
	size_t lo = KT_SORTED_UPTO(p->maps, p->nmaps, start, addr);

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

void kt_usyms_on_file(struct kt_usyms *us, void (*cb)(const struct kt_usyms_file *f, void *arg),
		      void *arg)
{
	us->on_file = cb;
	us->on_file_arg = arg;
}

/* @pid's process (snapshotted now if new) and the mapping of @addr in it, or NULL. */
static int lookup(struct kt_usyms *us, int pid, uint64_t addr, struct proc **pp,
		  const struct umap **mp)
{
	struct proc *p;
	const struct umap *m;
	int err;

	p = find_proc(us, pid);
	if (!p) {
		err = kt_usyms_add_pid(us, pid);
		if (err)
			return err;
		p = find_proc(us, pid);
		if (!p)
			return -ENOENT;
	}
	p->used = ++us->tick;
	m = find_map(p, addr);
	if (!m && !p->refreshed) {
		p->refreshed = true;
		refresh_maps(us, p);
		m = find_map(p, addr);
	}
	*pp = p;
	*mp = m;
	return 0;
}

int kt_usyms_where(struct kt_usyms *us, int pid, uint64_t addr, struct kt_usyms_where *w)
{
	const struct umap *m;
	struct proc *p;
	uint64_t foff;
	int err;

	if (!us)
		return -EINVAL;
	err = lookup(us, pid, addr, &p, &m);
	if (err)
		return err;
	if (!m || !m->file)
		return -ENOENT;
	foff = addr - m->start + m->pgoff;
	w->dev = (uint64_t)m->file->dev;
	w->ino = (uint64_t)m->file->ino;
	w->elf = m->file->elf;
	if (kt_elf_offset_to_vaddr(m->file->elf, foff, &w->vaddr))
		w->vaddr = m->file->elf->type == ET_EXEC ? addr : foff;
	return 0;
}

int kt_usyms_resolve(struct kt_usyms *us, int pid, uint64_t addr, struct kt_frame *fr)
{
	const struct kt_perfmap_sym *ps;
	const struct umap *m;
	struct proc *p;
	int err;

	fr->addr = addr;
	fr->sym = NULL;
	fr->offset = addr;
	fr->module = NULL;
	if (!us)
		return -EINVAL;
	us->frames_out = true;
	err = lookup(us, pid, addr, &p, &m);
	if (err)
		return err;
	if (m && m->file)
		return resolve_elf(m, addr, fr);
	if (m) {
		fr->module = m->name;
		fr->offset = addr - m->start;
	}
	/* no ELF here: JIT code, if the runtime wrote a perf map */
	ps = kt_perfmap_lookup(p->pm, addr);
	if (!ps && (!p->pm_tried || p->pm)) {
		/* first time, or the JIT may have appended since */
		p->pm_tried = true;
		perfmap_load(us, p);
		ps = kt_perfmap_lookup(p->pm, addr);
	}
	if (!ps)
		return -ENOENT;
	fr->sym = ps->name;
	fr->offset = addr - ps->start;
	if (!fr->module)
		fr->module = "[jit]";
	return 0;
}
