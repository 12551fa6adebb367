// SPDX-License-Identifier: GPL-2.0
/* User-space probe targets (see utarget.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kt_elf.h"
#include "rootfs.h"
#include "util.h"
#include "utarget.h"

#define MAX_MAPS_BYTES (8U << 20)

static const char *const lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
	"/lib", "/usr/lib", "/usr/local/lib",
};
static const char *const bin_dirs[] = {
	"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
};

bool kt_utarget_split(const char *spec, char *a, size_t asz, char *b, size_t bsz)
{
	const char *c = strchr(spec, ':');

	if (!c || (size_t)(c - spec) >= asz || strlen(c + 1) >= bsz)
		return false;
	memcpy(a, spec, (size_t)(c - spec));
	a[c - spec] = 0;
	strcpy(b, c + 1);
	return true;
}

/* Does the base name of a mapped or listed file fit the short name? */
static bool name_fits(const char *base, const char *name)
{
	size_t n = strlen(name);

	if (!strcmp(base, name))
		return true;
	if (strncmp(base, "lib", 3) || strncmp(base + 3, name, n))
		return false;
	base += 3 + n;
	/* libc.so.6, libfoo.so; libc-2.31.so (older glibc) */
	return !strncmp(base, ".so", 3) && (!base[3] || base[3] == '.') ?
		       true :
		       base[0] == '-' && strstr(base, ".so") != NULL;
}

/* The first file pid maps whose name fits; 0 or -ENOENT. */
static int from_maps(int pid, const char *name, char *path, size_t sz)
{
	char mp[64], *buf, *line, *save = NULL;
	ssize_t n, len = 0;
	int fd, err = -ENOENT;

	snprintf(mp, sizeof(mp), "/proc/%d/maps", pid);
	fd = open(mp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(MAX_MAPS_BYTES + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < MAX_MAPS_BYTES && (n = read(fd, buf + len, MAX_MAPS_BYTES - (size_t)len)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = strchr(line, '/'), *base;

		if (!p || strstr(p, " (deleted)"))
			continue;
		base = strrchr(p, '/') + 1;
		if (name_fits(base, name) && strlen(p) < sz) {
			strcpy(path, p);
			err = 0;
			break;
		}
	}
	free(buf);
	return err;
}

/* libNAME.so* in the library directories, shortest name first; then NAME in bin dirs. */
static int from_system(const char *name, char *path, size_t sz)
{
	for (size_t d = 0; d < sizeof(lib_dirs) / sizeof(lib_dirs[0]); d++) {
		DIR *dir = opendir(lib_dirs[d]);
		struct dirent *e;
		char best[256] = "";

		if (!dir)
			continue;
		while ((e = readdir(dir))) {
			/*
			 * the runtime's libNAME.so.N before the bare libNAME.so of
			 * the -dev package (a link, or a linker script: libc.so)
			 */
			bool ver = strstr(e->d_name, ".so.") != NULL;
			bool best_ver = strstr(best, ".so.") != NULL;

			if (!strncmp(e->d_name, "lib", 3) && name_fits(e->d_name, name) &&
			    strlen(e->d_name) < sizeof(best) &&
			    (!*best || (ver && !best_ver) ||
			     (ver == best_ver && strlen(e->d_name) < strlen(best))))
				strcpy(best, e->d_name);
		}
		closedir(dir);
		if (*best && (size_t)snprintf(path, sz, "%s/%s", lib_dirs[d], best) < sz)
			return 0;
	}
	for (size_t d = 0; d < sizeof(bin_dirs) / sizeof(bin_dirs[0]); d++) {
		if ((size_t)snprintf(path, sz, "%s/%s", bin_dirs[d], name) < sz &&
		    !access(path, X_OK))
			return 0;
	}
	return -ENOENT;
}

/* errors of utarget_open: said unless quiet */
#define UT_ERR(...) (quiet ? (void)0 : kt_err(__VA_ARGS__))

static int utarget_open(const char *binary, int pid, bool quiet, struct kt_utarget **out)
{
	struct kt_utarget *t = calloc(1, sizeof(*t));
	char root[64];
	int err;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->fd = -1;
	if (pid)
		snprintf(root, sizeof(root), "/proc/%d/root", pid);
	else
		strcpy(root, "/");
	if (!*binary) {
		UT_ERR("empty binary name in the target: give a path or a library name (c:malloc)");
		err = -EINVAL;
		goto fail;
	}
	if (strchr(binary, '/')) {
		if (strlen(binary) >= sizeof(t->path)) {
			err = -ENAMETOOLONG;
			UT_ERR("%s: %s", binary, strerror(-err));
			goto fail;
		}
		if (binary[0] == '/') {
			strcpy(t->path, binary);
		} else { /* relative to ktrace's working directory */
			char cwd[2048];

			if (!getcwd(cwd, sizeof(cwd)) ||
			    (size_t)snprintf(t->path, sizeof(t->path), "%s/%s", cwd, binary) >=
				    sizeof(t->path)) {
				err = -ENAMETOOLONG;
				UT_ERR("%s: cannot make the path absolute", binary);
				goto fail;
			}
		}
	} else {
		err = pid ? from_maps(pid, binary, t->path, sizeof(t->path)) :
			    from_system(binary, t->path, sizeof(t->path));
		if (err) {
			if (pid)
				UT_ERR("'%s': process %d maps no file named %s, lib%s.so* or lib%s-*.so (see /proc/%d/maps); give the path instead",
				       binary, pid, binary, binary, binary, pid);
			else
				UT_ERR("'%s': no lib%s.so* in /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu, /lib64, /usr/lib64, /lib, /usr/lib or /usr/local/lib, and no executable %s in /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin or /bin; give the path instead",
				       binary, binary, binary);
			goto fail;
		}
	}
	t->fd = kt_rootfs_open(root, t->path, 0);
	if (t->fd < 0) {
		err = t->fd;
		if (pid)
			UT_ERR("cannot open %s inside the root of process %d (%s): %s", t->path, pid,
			       root, strerror(-err));
		else
			UT_ERR("cannot open %s: %s", t->path, strerror(-err));
		goto fail;
	}
	snprintf(t->fdpath, sizeof(t->fdpath), "/proc/self/fd/%d", t->fd);
	err = kt_elf_open_fd(t->fd, &t->elf);
	if (err) {
		UT_ERR("%s is not an ELF file ktrace can read: %s", t->path,
		       err == -ENOEXEC ? "no ELF header" :
		       err == -ENOTSUP ? "not a 64-bit little-endian ELF" : strerror(-err));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	kt_utarget_free(t);
	return err;
}

int kt_utarget_open(const char *binary, int pid, struct kt_utarget **out)
{
	return utarget_open(binary, pid, false, out);
}

int kt_utarget_open_quiet(const char *binary, int pid, struct kt_utarget **out)
{
	return utarget_open(binary, pid, true, out);
}

struct match_arg {
	struct kt_utarget *t;
	const char *pattern;
	bool glob;
	size_t max, start;
	int err;
};

static int on_sym(const struct kt_elf_fsym *s, void *arg)
{
	struct match_arg *m = arg;
	struct kt_utarget *t = m->t;
	struct kt_ufunc *f;
	uint64_t off;

	if (m->glob ? fnmatch(m->pattern, s->name, 0) : strcmp(m->pattern, s->name))
		return 0;
	for (size_t i = m->start; i < t->n; i++)
		if (t->funcs[i].addr == s->addr)
			return 0; /* an alias (or .symtab and .dynsym both) */
	if (kt_elf_vaddr_to_offset(t->elf, s->addr, &off))
		return 0;
	if (t->n - m->start >= m->max)
		return -E2BIG;
	f = realloc(t->funcs, (t->n + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	t->funcs = f;
	f = &t->funcs[t->n];
	f->name = strdup(s->name);
	if (!f->name)
		return -ENOMEM;
	f->addr = s->addr;
	f->offset = off;
	f->ifunc = s->ifunc;
	t->n++;
	return 0;
}

int kt_utarget_match(struct kt_utarget *t, const char *pattern, size_t max, const char *spec)
{
	struct match_arg m = { t, pattern, strpbrk(pattern, "*?[") != NULL, max, t->n, 0 };
	int err;

	if (!*pattern) {
		kt_err("%s: no function name after the colon", spec);
		return -EINVAL;
	}
	err = kt_elf_scan_funcs(t->fd, on_sym, &m);
	if (err == -E2BIG) {
		kt_err("%s: more than %zu functions of %s match '%s': narrow the pattern", spec,
		       max, t->path, pattern);
		return -EINVAL;
	}
	if (err) {
		kt_err("%s: reading the symbols of %s failed: %s", spec, t->path, strerror(-err));
		return err;
	}
	if (t->n > m.start)
		return 0;
	if (!t->elf->has_symtab && !t->elf->has_dynsym)
		kt_err("%s: %s has no symbol table (stripped: no .symtab and no .dynsym), so '%s' cannot be found in it; use an unstripped build or its debug file",
		       spec, t->path, pattern);
	else if (!t->elf->has_symtab)
		kt_err("%s: no function %s'%s' in %s (looked in its .dynsym only: the file is stripped of its .symtab, so only exported functions can be found; use an unstripped build)",
		       spec, m.glob ? "matching " : "", pattern, t->path);
	else
		kt_err("%s: no function %s'%s' in %s (looked in its .symtab and .dynsym)", spec,
		       m.glob ? "matching " : "", pattern, t->path);
	return -ENOENT;
}

/* Start and file offset of the mapping of (dev, ino) in pid that holds addr, or with pgoff 0 when addr is 0. */
static int find_mapping(int pid, dev_t dev, ino_t ino, uint64_t addr, uint64_t *start,
			uint64_t *pgoff)
{
	char mp[64], line[4352];
	FILE *f;
	int err = -ENOENT;

	snprintf(mp, sizeof(mp), "/proc/%d/maps", pid);
	f = fopen(mp, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off, inode;
		unsigned int maj, mi;

		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &lo, &hi, &off, &maj, &mi,
			   &inode) != 6)
			continue;
		if (inode != (unsigned long long)ino || makedev(maj, mi) != dev)
			continue;
		if (addr ? (addr >= lo && addr < hi) : off == 0) {
			*start = lo;
			*pgoff = off;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int kt_utarget_ifunc(struct kt_utarget *t, size_t i, int pid, const char *spec, char *impl,
		     size_t isz)
{
	struct kt_ufunc *fn = &t->funcs[i];
	uint64_t slot, start, pgoff, base_vaddr, a = 0, off, vaddr;
	const struct kt_elf_sym *sym;
	char mem[64];
	struct stat st;
	int fd, err;

	*impl = 0;
	if (!pid) {
		kt_err("%s: %s in %s is an IFUNC (a resolver picks the implementation when the library is loaded): give -p PID so that ktrace reads which implementation that process uses",
		       spec, fn->name, t->path);
		return -EINVAL;
	}
	err = kt_elf_irelative_slot(t->fd, fn->addr, &slot);
	if (err) {
		kt_err("%s: %s in %s is an IFUNC, and the file has no IRELATIVE relocation of its resolver that would tell which implementation process %d uses; probe the implementation by its name",
		       spec, fn->name, t->path, pid);
		return -ENOENT;
	}
	if (fstat(t->fd, &st))
		return -errno;
	err = find_mapping(pid, st.st_dev, st.st_ino, 0, &start, &pgoff);
	if (!err)
		err = kt_elf_offset_to_vaddr(t->elf, pgoff, &base_vaddr);
	if (err) {
		kt_err("%s: process %d does not map %s (see /proc/%d/maps)", spec, pid, t->path, pid);
		return -ENOENT;
	}
	snprintf(mem, sizeof(mem), "/proc/%d/mem", pid);
	fd = open(mem, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &a, sizeof(a), (off_t)(start + slot - base_vaddr)) != sizeof(a)) {
		err = fd < 0 ? -errno : -EIO;
		if (fd >= 0)
			close(fd);
		kt_err("%s: reading the GOT of %s in process %d (%s) failed: %s", spec, t->path, pid,
		       mem, strerror(-err));
		return err;
	}
	close(fd);
	if (find_mapping(pid, st.st_dev, st.st_ino, a, &start, &pgoff)) {
		kt_err("%s: the implementation of %s that process %d uses (0x%llx) is outside %s",
		       spec, fn->name, pid, (unsigned long long)a, t->path);
		return -ENOENT;
	}
	off = a - start + pgoff;
	if (!kt_elf_offset_to_vaddr(t->elf, off, &vaddr) &&
	    (sym = kt_elf_lookup(t->elf, vaddr, NULL)) && sym->addr == vaddr)
		snprintf(impl, isz, "%s", sym->name);
	fn->offset = off;
	return 0;
}

void kt_utarget_free(struct kt_utarget *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->funcs[i].name);
	free(t->funcs);
	kt_elf_free(t->elf);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}
