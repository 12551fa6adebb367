// SPDX-License-Identifier: GPL-2.0
/*
 * Defensive ELF64 reader: see kt_elf.h for what it extracts and why it is
 * careful. Every read goes through src_read(), which refuses any range that
 * is not fully inside the file; every count is capped before it is used to
 * size an allocation or a loop. Problems in the section headers are not
 * fatal (the program headers may still be useful); only an unreadable ELF
 * header is.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kt_elf.h"
#include "sorted.h"

#define MAX_SHSTRTAB  (1U << 20)
#define MAX_NOTE      (1U << 20)
#define MAX_DEBUGLINK 4096U
#define MAX_SCAN_SYMS (16U << 20) /* symbol entries examined per table */
#define SYM_CHUNK     4096U
#define NAME_WINDOW   (1U << 20) /* bytes of a string table read at a time */

struct src {
	int fd; /* -1 for memory */
	const unsigned char *mem;
	uint64_t size;
};

/* One symbol while collecting: rank breaks ties between aliases. */
struct tmp_sym {
	uint64_t addr;
	uint64_t size;
	const char *name;
	uint32_t rank;
	uint32_t idx;
	uint32_t name_off; /* st_name, until the name is copied */
};

struct collect {
	struct tmp_sym *v;
	size_t n;
	size_t cap;
};

static int src_read(const struct src *s, uint64_t off, void *buf, size_t len)
{
	unsigned char *p = buf;

	if (off > s->size || len > s->size - off)
		return -EINVAL;
	if (!s->mem) {
		while (len) {
			ssize_t r = pread(s->fd, p, len, (off_t)off);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -errno;
			if (r == 0)
				return -EIO; /* truncated under us */
			p += r;
			off += (uint64_t)r;
			len -= (size_t)r;
		}
		return 0;
	}
	memcpy(p, s->mem + off, len);
	return 0;
}

/* Read @len bytes at @off into a new NUL-terminated buffer. */
static int src_read_alloc(const struct src *s, uint64_t off, uint64_t len, uint64_t cap, char **out)
{
	char *buf;
	int err;

	*out = NULL;
	if (len > cap)
		return -E2BIG;
	buf = malloc((size_t)len + 1);
	if (!buf)
		return -ENOMEM;
	err = src_read(s, off, buf, (size_t)len);
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static void parse_notes(struct kt_elf *elf, const unsigned char *p, uint64_t len, uint64_t align)
{
	uint64_t pos = 0;

	if (align != 8)
		align = 4;
	while (!elf->build_id_len && len - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, next;

		memcpy(&nh, p + pos, sizeof(nh));
		name_off = pos + sizeof(nh);
		desc_off = align_up(name_off + nh.n_namesz, align);
		next = align_up(desc_off + nh.n_descsz, align);
		if (desc_off > len || nh.n_descsz > len - desc_off)
			return;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp(p + name_off, "GNU", 4) && nh.n_descsz > 0 &&
		    nh.n_descsz <= KT_ELF_MAX_BUILD_ID) {
			memcpy(elf->build_id, p + desc_off, nh.n_descsz);
			elf->build_id_len = nh.n_descsz;
		}
		if (next <= pos || next > len)
			return;
		pos = next;
	}
}

static void read_notes(struct kt_elf *elf, const struct src *s, uint64_t off, uint64_t len,
		       uint64_t align)
{
	char *buf;

	if (elf->build_id_len || src_read_alloc(s, off, len, MAX_NOTE, &buf))
		return;
	parse_notes(elf, (const unsigned char *)buf, len, align);
	free(buf);
}

static void read_debuglink(struct kt_elf *elf, const struct src *s, const Elf64_Shdr *sh)
{
	char *buf;
	size_t n;
	uint64_t crc_off;
	uint32_t crc;

	if (elf->debuglink || src_read_alloc(s, sh->sh_offset, sh->sh_size, MAX_DEBUGLINK, &buf))
		return;
	n = strlen(buf);
	crc_off = align_up(n + 1, 4);
	/* A bare file name only: never let a hostile file steer us elsewhere. */
	if (n == 0 || strchr(buf, '/') || !strcmp(buf, "..") || crc_off + 4 > sh->sh_size) {
		free(buf);
		return;
	}
	memcpy(&crc, buf + crc_off, sizeof(crc));
	elf->debuglink = buf;
	elf->debuglink_crc = crc;
}

static int collect_push(struct collect *c, const struct tmp_sym *t)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 1024;
		struct tmp_sym *v;

		if (ncap > KT_ELF_MAX_SYMS)
			ncap = KT_ELF_MAX_SYMS;
		if (ncap <= c->n)
			return -E2BIG;
		v = realloc(c->v, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = ncap;
	}
	c->v[c->n++] = *t;
	return 0;
}

static int cmp_name_off(const void *a, const void *b)
{
	const struct tmp_sym *x = a, *y = b;

	return x->name_off < y->name_off ? -1 : x->name_off > y->name_off;
}

/*
 * Copy the names of the symbols v[0..*n) out of the string table at
 * @stroff (@strsz bytes) into one exact-size buffer (*out), and drop the
 * symbols whose name is empty or does not fit KT_ELF_MAX_NAMES. The string
 * table is never held whole: it is read NAME_WINDOW bytes at a time, and
 * only where names are, so a huge (e.g. sparse) table costs no memory.
 */
static int copy_names(struct kt_elf *elf, const struct src *s, uint64_t stroff, uint64_t strsz,
		      struct tmp_sym *v, size_t *n, char **out)
{
	uint64_t win_off = 0, win_len = 0, last_off = UINT64_MAX;
	size_t i, k = 0, used = 0, cap = 0, last_at = 0;
	char *win = NULL, *names = NULL;
	int err = 0;

	*out = NULL;
	if (stroff > s->size || strsz > s->size - stroff)
		return -EINVAL;
	if (!*n)
		return 0;
	qsort(v, *n, sizeof(*v), cmp_name_off);
	win = malloc(NAME_WINDOW + KT_ELF_MAX_NAME + 1);
	if (!win)
		return -ENOMEM;
	for (i = 0; i < *n; i++) {
		uint64_t off = v[i].name_off, rel;
		size_t len;

		if (off == last_off) { /* aliases often share a name */
			v[i].name = (const char *)(uintptr_t)last_at;
			v[k++] = v[i];
			continue;
		}
		if (!win_len || off < win_off || off - win_off >= NAME_WINDOW) {
			win_off = off;
			win_len = strsz - off;
			if (win_len > NAME_WINDOW + KT_ELF_MAX_NAME)
				win_len = NAME_WINDOW + KT_ELF_MAX_NAME;
			err = src_read(s, stroff + off, win, (size_t)win_len);
			if (err)
				goto out;
		}
		rel = off - win_off;
		len = strnlen(win + rel, (size_t)(win_len - rel));
		if (len > KT_ELF_MAX_NAME)
			len = KT_ELF_MAX_NAME; /* cut, still a useful name */
		if (!len)
			continue;
		if (used + len + 1 > KT_ELF_MAX_NAMES) {
			elf->truncated = true;
			continue;
		}
		if (used + len + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *p;

			while (ncap < used + len + 1)
				ncap *= 2;
			p = realloc(names, ncap);
			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			names = p;
			cap = ncap;
		}
		memcpy(names + used, win + rel, len);
		names[used + len] = '\0';
		last_off = off;
		last_at = used;
		v[i].name = (const char *)(uintptr_t)used;
		v[k++] = v[i];
		used += len + 1;
	}
	*n = k;
	elf->mem += used;
	if (names && used < cap) {
		char *p = realloc(names, used); /* give back the slack */

		if (p)
			names = p;
	}
	for (i = 0; i < k; i++)
		v[i].name = names + (uintptr_t)v[i].name;
	*out = names;
	names = NULL;
out:
	free(names);
	free(win);
	return err;
}

/*
 * Read one symbol table (@which: 0 .symtab, 1 .dynsym) and the names of its
 * function symbols.
 */
static int read_symtab(struct kt_elf *elf, const struct src *s, const Elf64_Shdr *shdrs, size_t nsh,
		       size_t idx, int which, struct collect *c)
{
	const Elf64_Shdr *sh = &shdrs[idx];
	const Elf64_Shdr *strsh;
	Elf64_Sym *chunk = NULL;
	uint64_t count, i, strsz;
	size_t start = c->n, n;
	char *strs = NULL;
	bool full = false;
	int err = 0;

	if (sh->sh_link >= nsh || sh->sh_link == idx || sh->sh_type == SHT_NOBITS ||
	    (sh->sh_flags & SHF_COMPRESSED))
		return -EINVAL;
	if (sh->sh_entsize && sh->sh_entsize != sizeof(Elf64_Sym))
		return -EINVAL;
	strsh = &shdrs[sh->sh_link];
	if (strsh->sh_type != SHT_STRTAB || (strsh->sh_flags & SHF_COMPRESSED))
		return -EINVAL;
	strsz = strsh->sh_size;
	if (sh->sh_offset > s->size || sh->sh_size > s->size - sh->sh_offset)
		return -EINVAL;
	if (strsh->sh_offset > s->size || strsz > s->size - strsh->sh_offset)
		return -EINVAL;
	count = sh->sh_size / sizeof(Elf64_Sym);
	if (count > MAX_SCAN_SYMS) {
		count = MAX_SCAN_SYMS;
		elf->truncated = true;
	}
	chunk = malloc(SYM_CHUNK * sizeof(*chunk));
	if (!chunk)
		return -ENOMEM;
	for (i = 0; i < count && !err && !full; i += SYM_CHUNK) {
		size_t cn = count - i < SYM_CHUNK ? (size_t)(count - i) : SYM_CHUNK;
		size_t j;

		err = src_read(s, sh->sh_offset + i * sizeof(Elf64_Sym), chunk, cn * sizeof(*chunk));
		for (j = 0; j < cn && !err && !full; j++) {
			const Elf64_Sym *sym = &chunk[j];
			unsigned int type = ELF64_ST_TYPE(sym->st_info);
			struct tmp_sym t;

			if (type != STT_FUNC && type != STT_GNU_IFUNC)
				continue;
			if (sym->st_shndx == SHN_UNDEF || !sym->st_value)
				continue;
			if (sym->st_name == 0 || sym->st_name >= strsz)
				continue;
			t.addr = sym->st_value;
			t.size = sym->st_size;
			/* a size-less symbol (asm, _init) ends with its section at the latest */
			if (!t.size && sym->st_shndx < nsh) {
				const Elf64_Shdr *sec = &shdrs[sym->st_shndx];

				if (t.addr >= sec->sh_addr && t.addr - sec->sh_addr < sec->sh_size)
					t.size = sec->sh_size - (t.addr - sec->sh_addr);
			}
			t.name = NULL;
			t.name_off = sym->st_name;
			t.rank = (uint32_t)which * 4 +
				 (ELF64_ST_BIND(sym->st_info) == STB_GLOBAL ? 0 : 1) +
				 (sym->st_size ? 0 : 2);
			t.idx = (uint32_t)c->n;
			err = collect_push(c, &t);
			if (err == -E2BIG) {
				err = 0; /* keep what fits */
				full = true;
				elf->truncated = true;
			}
		}
	}
	free(chunk);
	if (!err) {
		n = c->n - start;
		err = n ? copy_names(elf, s, strsh->sh_offset, strsz, c->v + start, &n, &strs) : 0;
		if (!err)
			c->n = start + n;
	}
	if (err) {
		c->n = start;
		return err;
	}
	elf->strs[which] = strs;
	if (which == 0)
		elf->has_symtab = true;
	else
		elf->has_dynsym = true;
	return 0;
}

static int cmp_tmp_sym(const void *a, const void *b)
{
	const struct tmp_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int finish_syms(struct kt_elf *elf, struct collect *c)
{
	size_t i, n = 0;

	if (!c->n)
		return 0;
	qsort(c->v, c->n, sizeof(*c->v), cmp_tmp_sym);
	elf->syms = calloc(c->n, sizeof(*elf->syms));
	if (!elf->syms)
		return -ENOMEM;
	elf->mem += c->n * sizeof(*elf->syms);
	for (i = 0; i < c->n; i++) {
		const struct tmp_sym *t = &c->v[i];

		if (n && elf->syms[n - 1].addr == t->addr) {
			/* an alias: keep the best name, but the largest size */
			if (t->size > elf->syms[n - 1].size)
				elf->syms[n - 1].size = t->size;
			continue;
		}
		elf->syms[n].addr = t->addr;
		elf->syms[n].size = t->size;
		elf->syms[n].name = t->name;
		n++;
	}
	elf->nsyms = n;
	return 0;
}

static int read_sections(struct kt_elf *elf, const struct src *s, const Elf64_Ehdr *eh,
			 const Elf64_Shdr *sh0)
{
	struct collect c = {0};
	Elf64_Shdr *shdrs = NULL;
	char *shstr = NULL;
	uint64_t nsh, shstrndx, shstrsz = 0;
	size_t i, symtab = 0, dynsym = 0;
	int err = 0;

	nsh = eh->e_shnum ? eh->e_shnum : sh0->sh_size;
	shstrndx = eh->e_shstrndx == SHN_XINDEX ? sh0->sh_link : eh->e_shstrndx;
	if (nsh > KT_ELF_MAX_SECTIONS || eh->e_shentsize != sizeof(Elf64_Shdr))
		return -EINVAL;
	shdrs = malloc((size_t)nsh * sizeof(*shdrs));
	if (!shdrs)
		return -ENOMEM;
	err = src_read(s, eh->e_shoff, shdrs, (size_t)nsh * sizeof(*shdrs));
	if (err)
		goto out;
	if (shstrndx < nsh && shdrs[shstrndx].sh_type == SHT_STRTAB &&
	    !src_read_alloc(s, shdrs[shstrndx].sh_offset, shdrs[shstrndx].sh_size, MAX_SHSTRTAB,
			    &shstr))
		shstrsz = shdrs[shstrndx].sh_size;

	for (i = 1; i < nsh; i++) {
		const Elf64_Shdr *sh = &shdrs[i];

		if (sh->sh_type == SHT_SYMTAB && !symtab)
			symtab = i;
		else if (sh->sh_type == SHT_DYNSYM && !dynsym)
			dynsym = i;
		else if (sh->sh_type == SHT_NOTE)
			read_notes(elf, s, sh->sh_offset, sh->sh_size, sh->sh_addralign);
		else if (sh->sh_type == SHT_PROGBITS && shstr && sh->sh_name < shstrsz &&
			 !strcmp(shstr + sh->sh_name, ".gnu_debuglink"))
			read_debuglink(elf, s, sh);
	}
	/* .symtab first so that its names win over .dynsym's for the same address */
	if (symtab) {
		err = read_symtab(elf, s, shdrs, (size_t)nsh, symtab, 0, &c);
		if (err == -ENOMEM)
			goto out;
	}
	if (dynsym) {
		err = read_symtab(elf, s, shdrs, (size_t)nsh, dynsym, 1, &c);
		if (err == -ENOMEM)
			goto out;
	}
	err = finish_syms(elf, &c);
out:
	free(c.v);
	free(shstr);
	free(shdrs);
	return err;
}

static int read_segments(struct kt_elf *elf, const struct src *s, const Elf64_Ehdr *eh,
			 const Elf64_Shdr *sh0)
{
	uint64_t nph = eh->e_phnum == PN_XNUM ? sh0->sh_info : eh->e_phnum;
	Elf64_Phdr *ph;
	size_t i;
	int err;

	if (!nph)
		return 0;
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return -EINVAL;
	if (nph > KT_ELF_MAX_SEGMENTS)
		nph = KT_ELF_MAX_SEGMENTS;
	ph = malloc((size_t)nph * sizeof(*ph));
	if (!ph)
		return -ENOMEM;
	err = src_read(s, eh->e_phoff, ph, (size_t)nph * sizeof(*ph));
	if (err)
		goto out;
	elf->segs = calloc((size_t)nph, sizeof(*elf->segs));
	if (!elf->segs) {
		err = -ENOMEM;
		goto out;
	}
	elf->mem += (size_t)nph * sizeof(*elf->segs);
	for (i = 0; i < nph; i++) {
		if (ph[i].p_type == PT_NOTE) {
			read_notes(elf, s, ph[i].p_offset, ph[i].p_filesz, ph[i].p_align);
			continue;
		}
		if (ph[i].p_type != PT_LOAD)
			continue;
		elf->segs[elf->nsegs].vaddr = ph[i].p_vaddr;
		elf->segs[elf->nsegs].offset = ph[i].p_offset;
		elf->segs[elf->nsegs].filesz = ph[i].p_filesz;
		elf->segs[elf->nsegs].memsz = ph[i].p_memsz;
		elf->segs[elf->nsegs].flags = ph[i].p_flags;
		elf->nsegs++;
	}
out:
	free(ph);
	return err;
}

static int elf_parse(const struct src *s, struct kt_elf **out)
{
	Elf64_Shdr sh0 = {0};
	struct kt_elf *elf;
	Elf64_Ehdr eh;
	int err;

	*out = NULL;
	err = src_read(s, 0, &eh, sizeof(eh));
	if (err)
		return err == -EINVAL ? -ENOEXEC : err;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_ident[EI_VERSION] != EV_CURRENT)
		return -ENOTSUP;
	elf = calloc(1, sizeof(*elf));
	if (!elf)
		return -ENOMEM;
	elf->type = eh.e_type;
	elf->mem = sizeof(*elf);
	/* section 0 holds the real counts when they do not fit the ELF header */
	if (eh.e_shoff && src_read(s, eh.e_shoff, &sh0, sizeof(sh0)))
		eh.e_shoff = 0;
	err = read_segments(elf, s, &eh, &sh0);
	if (err == -ENOMEM)
		goto fail;
	if (eh.e_shoff) {
		err = read_sections(elf, s, &eh, &sh0);
		if (err == -ENOMEM)
			goto fail;
	}
	*out = elf;
	return 0;
fail:
	kt_elf_free(elf);
	return err;
}

int kt_elf_open_mem(const void *buf, size_t len, struct kt_elf **out)
{
	struct src s = {.fd = -1, .mem = buf, .size = len};

	if (!buf && len)
		return -EINVAL;
	return elf_parse(&s, out);
}

int kt_elf_open_fd(int fd, struct kt_elf **out)
{
	struct src s = {.fd = fd};
	struct stat st;

	*out = NULL;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > KT_ELF_MAX_FILE)
		return -EFBIG;
	s.size = (uint64_t)st.st_size;
	return elf_parse(&s, out);
}

int kt_elf_open(const char *path, struct kt_elf **out)
{
	int fd, err;

	*out = NULL;
	/* O_NONBLOCK: never hang on a FIFO planted where an ELF should be */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	err = kt_elf_open_fd(fd, out);
	close(fd);
	return err;
}

void kt_elf_free(struct kt_elf *elf)
{
	if (!elf)
		return;
	free(elf->segs);
	free(elf->syms);
	free(elf->debuglink);
	free(elf->strs[0]);
	free(elf->strs[1]);
	free(elf);
}

const struct kt_elf_sym *kt_elf_lookup(const struct kt_elf *elf, uint64_t addr, uint64_t *off)
{
	size_t lo;
	const struct kt_elf_sym *sym;

	if (!elf || !elf->nsyms)
		return NULL;
	/* the last symbol whose address is <= addr */
	lo = KT_SORTED_UPTO(elf->syms, elf->nsyms, addr, addr);
	if (!lo)
		return NULL;
	sym = &elf->syms[lo - 1];
	if (sym->size && addr - sym->addr >= sym->size)
		return NULL;
	if (off)
		*off = addr - sym->addr;
	return sym;
}

int kt_elf_offset_to_vaddr(const struct kt_elf *elf, uint64_t file_off, uint64_t *vaddr)
{
	size_t i;

	for (i = 0; elf && i < elf->nsegs; i++) {
		const struct kt_elf_seg *seg = &elf->segs[i];

		if (file_off >= seg->offset && file_off - seg->offset < seg->filesz) {
			*vaddr = file_off - seg->offset + seg->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

static void crc32_table(uint32_t tab[256])
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? 0xedb88320U ^ (c >> 1) : c >> 1;
		tab[i] = c;
	}
}

uint32_t kt_elf_crc32(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t tab[256];

	crc32_table(tab);
	crc = ~crc;
	while (len--)
		crc = tab[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

int kt_elf_fd_crc32(int fd, uint32_t *crc)
{
	unsigned char *buf = NULL;
	uint64_t total = 0;
	struct stat st;
	int err = 0;
	ssize_t r;

	*crc = 0;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	buf = malloc(1 << 16);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		r = pread(fd, buf, 1 << 16, (off_t)total);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		if (total > KT_ELF_MAX_FILE) {
			err = -EFBIG;
			break;
		}
		*crc = kt_elf_crc32(*crc, buf, (size_t)r);
	}
	free(buf);
	return err;
}

int kt_elf_file_crc32(const char *path, uint32_t *crc)
{
	int fd, err;

	*crc = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	err = kt_elf_fd_crc32(fd, crc);
	close(fd);
	return err;
}

int kt_elf_vaddr_to_offset(const struct kt_elf *elf, uint64_t vaddr, uint64_t *file_off)
{
	size_t i;

	for (i = 0; elf && i < elf->nsegs; i++) {
		const struct kt_elf_seg *seg = &elf->segs[i];

		if (vaddr >= seg->vaddr && vaddr - seg->vaddr < seg->filesz) {
			*file_off = vaddr - seg->vaddr + seg->offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* The section headers of the ELF file at @fd (for the scans below). */
static int scan_open(int fd, struct src *s, Elf64_Shdr **shdrs, size_t *nsh)
{
	Elf64_Shdr sh0 = {0};
	Elf64_Ehdr eh;
	struct stat st;
	uint64_t n;
	int err;

	*shdrs = NULL;
	*nsh = 0;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > KT_ELF_MAX_FILE)
		return -EFBIG;
	s->fd = fd;
	s->mem = NULL;
	s->size = (uint64_t)st.st_size;
	err = src_read(s, 0, &eh, sizeof(eh));
	if (err)
		return err == -EINVAL ? -ENOEXEC : err;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return -ENOTSUP;
	if (!eh.e_shoff)
		return 0;
	if (src_read(s, eh.e_shoff, &sh0, sizeof(sh0)))
		return 0;
	n = eh.e_shnum ? eh.e_shnum : sh0.sh_size;
	if (n > KT_ELF_MAX_SECTIONS || eh.e_shentsize != sizeof(Elf64_Shdr))
		return 0;
	*shdrs = malloc((size_t)n * sizeof(**shdrs));
	if (!*shdrs)
		return -ENOMEM;
	err = src_read(s, eh.e_shoff, *shdrs, (size_t)n * sizeof(**shdrs));
	if (err) {
		free(*shdrs);
		*shdrs = NULL;
		return 0;
	}
	*nsh = (size_t)n;
	return 0;
}

/* A NUL-terminated name at @off of a string table, read through a cached window. */
struct name_win {
	uint64_t stroff, strsz;
	uint64_t off, len;
	char buf[NAME_WINDOW / 16 + KT_ELF_MAX_NAME + 1];
};

static const char *win_name(const struct src *s, struct name_win *w, uint64_t off)
{
	uint64_t rel;
	size_t len;

	if (off >= w->strsz)
		return NULL;
	if (!w->len || off < w->off || off - w->off + KT_ELF_MAX_NAME >= w->len) {
		w->off = off;
		w->len = w->strsz - off;
		if (w->len > sizeof(w->buf) - 1)
			w->len = sizeof(w->buf) - 1;
		if (src_read(s, w->stroff + off, w->buf, (size_t)w->len)) {
			w->len = 0;
			return NULL;
		}
		w->buf[w->len] = 0;
	}
	rel = off - w->off;
	len = strnlen(w->buf + rel, (size_t)(w->len - rel));
	if (len > KT_ELF_MAX_NAME)
		return NULL;
	return w->buf + rel;
}

static int scan_symtab(const struct src *s, const Elf64_Shdr *shdrs, size_t nsh, size_t idx,
		       int (*cb)(const struct kt_elf_fsym *, void *), void *arg)
{
	const Elf64_Shdr *sh = &shdrs[idx], *strsh;
	struct name_win *w;
	Elf64_Sym *chunk;
	uint64_t count;
	int ret = 0;

	if (sh->sh_link >= nsh || (sh->sh_flags & SHF_COMPRESSED) || sh->sh_type == SHT_NOBITS)
		return 0;
	strsh = &shdrs[sh->sh_link];
	if (strsh->sh_type != SHT_STRTAB || (strsh->sh_flags & SHF_COMPRESSED))
		return 0;
	if (sh->sh_offset > s->size || sh->sh_size > s->size - sh->sh_offset ||
	    strsh->sh_offset > s->size || strsh->sh_size > s->size - strsh->sh_offset)
		return 0;
	count = sh->sh_size / sizeof(Elf64_Sym);
	if (count > MAX_SCAN_SYMS)
		count = MAX_SCAN_SYMS;
	w = calloc(1, sizeof(*w));
	chunk = malloc(SYM_CHUNK * sizeof(*chunk));
	if (!w || !chunk) {
		free(w);
		free(chunk);
		return -ENOMEM;
	}
	w->stroff = strsh->sh_offset;
	w->strsz = strsh->sh_size;
	for (uint64_t i = 0; i < count && !ret; i += SYM_CHUNK) {
		size_t cn = count - i < SYM_CHUNK ? (size_t)(count - i) : SYM_CHUNK;

		if (src_read(s, sh->sh_offset + i * sizeof(Elf64_Sym), chunk, cn * sizeof(*chunk)))
			break;
		for (size_t j = 0; j < cn && !ret; j++) {
			const Elf64_Sym *sym = &chunk[j];
			unsigned int type = ELF64_ST_TYPE(sym->st_info);
			struct kt_elf_fsym f;

			if (type != STT_FUNC && type != STT_GNU_IFUNC)
				continue;
			if (sym->st_shndx == SHN_UNDEF || !sym->st_value || !sym->st_name)
				continue;
			f.name = win_name(s, w, sym->st_name);
			if (!f.name || !*f.name)
				continue;
			f.addr = sym->st_value;
			f.size = sym->st_size;
			f.ifunc = type == STT_GNU_IFUNC;
			f.dynsym = sh->sh_type == SHT_DYNSYM;
			ret = cb(&f, arg);
		}
	}
	free(chunk);
	free(w);
	return ret;
}

int kt_elf_scan_funcs(int fd, int (*cb)(const struct kt_elf_fsym *sym, void *arg), void *arg)
{
	struct src s;
	Elf64_Shdr *shdrs;
	size_t nsh;
	int err = scan_open(fd, &s, &shdrs, &nsh);

	if (err)
		return err;
	for (int pass = 0; pass < 2 && !err; pass++)
		for (size_t i = 1; i < nsh && !err; i++)
			if (shdrs[i].sh_type == (pass ? SHT_DYNSYM : SHT_SYMTAB)) {
				err = scan_symtab(&s, shdrs, nsh, i, cb, arg);
				break;
			}
	free(shdrs);
	return err;
}

/*
 * A stapsdt note's description: three addresses (pc, .stapsdt.base,
 * semaphore) then three NUL-terminated strings (provider, name, args).
 */
static int sdt_note(const unsigned char *d, size_t len,
		    int (*cb)(const struct kt_elf_sdt *, void *), void *arg)
{
	struct kt_elf_sdt n;
	const char *p[3];
	size_t at = 24;

	if (len < 24 + 3)
		return 0;
	memcpy(&n.pc, d, 8);
	memcpy(&n.base, d + 8, 8);
	memcpy(&n.semaphore, d + 16, 8);
	for (int i = 0; i < 3; i++) {
		size_t l = strnlen((const char *)d + at, len - at);

		if (at + l >= len)
			return 0; /* not terminated inside the note */
		p[i] = (const char *)d + at;
		at += l + 1;
	}
	n.provider = p[0];
	n.name = p[1];
	n.args = p[2];
	return cb(&n, arg);
}

int kt_elf_scan_sdt(int fd, int (*cb)(const struct kt_elf_sdt *note, void *arg), void *arg,
		    uint64_t *actual_base)
{
	struct src s;
	Elf64_Shdr *shdrs;
	char *shstr = NULL;
	uint64_t shstrsz = 0;
	size_t nsh, seen = 0;
	int err = scan_open(fd, &s, &shdrs, &nsh);

	*actual_base = 0;
	if (err)
		return err;
	/* section names: the header's string table */
	{
		Elf64_Ehdr eh;

		if (!src_read(&s, 0, &eh, sizeof(eh)) && eh.e_shstrndx < nsh &&
		    shdrs[eh.e_shstrndx].sh_type == SHT_STRTAB &&
		    !src_read_alloc(&s, shdrs[eh.e_shstrndx].sh_offset,
				    shdrs[eh.e_shstrndx].sh_size, MAX_SHSTRTAB, &shstr))
			shstrsz = shdrs[eh.e_shstrndx].sh_size;
	}
	if (!shstr)
		goto out;
	for (size_t i = 1; i < nsh; i++)
		if (shdrs[i].sh_name < shstrsz && !strcmp(shstr + shdrs[i].sh_name, ".stapsdt.base"))
			*actual_base = shdrs[i].sh_addr;
	for (size_t i = 1; i < nsh && !err; i++) {
		const Elf64_Shdr *h = &shdrs[i];
		unsigned char *buf;
		uint64_t off = 0;

		if (h->sh_type != SHT_NOTE || h->sh_name >= shstrsz ||
		    strcmp(shstr + h->sh_name, ".note.stapsdt"))
			continue;
		if (src_read_alloc(&s, h->sh_offset, h->sh_size, 64U << 20, (char **)&buf))
			continue;
		while (off + sizeof(Elf64_Nhdr) <= h->sh_size && !err && seen < KT_ELF_MAX_NOTES) {
			Elf64_Nhdr nh;
			uint64_t name_off, desc_off;

			memcpy(&nh, buf + off, sizeof(nh));
			name_off = off + sizeof(nh);
			desc_off = name_off + align_up(nh.n_namesz, 4);
			if (desc_off > h->sh_size || nh.n_descsz > h->sh_size - desc_off)
				break;
			if (nh.n_type == 3 && nh.n_namesz == 8 && !memcmp(buf + name_off, "stapsdt", 8)) {
				seen++;
				err = sdt_note(buf + desc_off, nh.n_descsz, cb, arg);
			}
			off = desc_off + align_up(nh.n_descsz, 4);
		}
		free(buf);
	}
out:
	free(shstr);
	free(shdrs);
	return err;
}

int kt_elf_irelative_slot(int fd, uint64_t resolver, uint64_t *slot)
{
	struct src s;
	Elf64_Shdr *shdrs;
	Elf64_Rela *chunk;
	size_t nsh;
	int err = scan_open(fd, &s, &shdrs, &nsh), found = -ENOENT;

	if (err)
		return err;
	chunk = malloc(SYM_CHUNK * sizeof(*chunk));
	if (!chunk) {
		free(shdrs);
		return -ENOMEM;
	}
	for (size_t i = 1; i < nsh && found; i++) {
		const Elf64_Shdr *h = &shdrs[i];
		uint64_t count;

		if (h->sh_type != SHT_RELA || h->sh_entsize != sizeof(Elf64_Rela) ||
		    h->sh_offset > s.size || h->sh_size > s.size - h->sh_offset)
			continue;
		count = h->sh_size / sizeof(Elf64_Rela);
		if (count > MAX_SCAN_SYMS)
			count = MAX_SCAN_SYMS;
		for (uint64_t k = 0; k < count && found; k += SYM_CHUNK) {
			size_t cn = count - k < SYM_CHUNK ? (size_t)(count - k) : SYM_CHUNK;

			if (src_read(&s, h->sh_offset + k * sizeof(Elf64_Rela), chunk,
				     cn * sizeof(*chunk)))
				break;
			for (size_t j = 0; j < cn; j++) {
				if (ELF64_R_TYPE(chunk[j].r_info) == R_X86_64_IRELATIVE &&
				    (uint64_t)chunk[j].r_addend == resolver) {
					*slot = chunk[j].r_offset;
					found = 0;
					break;
				}
			}
		}
	}
	free(chunk);
	free(shdrs);
	return found;
}
