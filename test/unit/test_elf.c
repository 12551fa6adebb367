// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the ELF reader: the fixtures (non-PIE, PIE, shared library,
 * stripped with a debug link and its debug file) give the expected type,
 * segments, symbols, debug link and build-id; then a corpus of corrupt
 * files (every truncation, targeted header damage, random byte flips) must
 * be rejected or read without crashing. Run under ASan/UBSan to make "not
 * crashing" mean "no out-of-bounds access" too.
 *
 * Usage: test_elf FIXTURE_DIR
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_elf.h"
#include "kt_test.h"


static const char *fixdir;

static char *fix(const char *name)
{
	static char buf[4][4096];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", fixdir, name);
	return buf[i];
}

static const struct kt_elf_sym *by_name(const struct kt_elf *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nsyms; i++)
		if (!strcmp(e->syms[i].name, name))
			return &e->syms[i];
	return NULL;
}

/* The symbol must be found again by address, also from inside its body. */
static void check_sym(const struct kt_elf *e, const char *name)
{
	const struct kt_elf_sym *s = by_name(e, name), *hit;
	uint64_t off = 99;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(s->size > 0);
	hit = kt_elf_lookup(e, s->addr, &off);
	CHECK(hit && !strcmp(hit->name, name) && off == 0);
	hit = kt_elf_lookup(e, s->addr + s->size - 1, &off);
	CHECK(hit && !strcmp(hit->name, name) && off == s->size - 1);
}

static void test_fixtures(void)
{
	struct kt_elf *e = NULL, *dbg = NULL;
	uint64_t vaddr;
	uint32_t crc;
	size_t i;

	CHECK(kt_elf_open(fix("ktfix_nopie"), &e) == 0);
	if (e) {
		CHECK(e->type == ET_EXEC);
		CHECK(e->has_symtab);
		CHECK(e->nsegs >= 2);
		CHECK(e->build_id_len == 20);
		check_sym(e, "ktfix_main_func");
		check_sym(e, "ktfix_static_func");
		check_sym(e, "main");
		/* sorted, no duplicate addresses */
		for (i = 1; i < e->nsyms; i++)
			CHECK(e->syms[i - 1].addr < e->syms[i].addr);
		/* ET_EXEC: file offsets in the text segment map back to absolute addresses */
		for (i = 0; i < e->nsegs; i++)
			if (e->segs[i].flags & PF_X) {
				CHECK(kt_elf_offset_to_vaddr(e, e->segs[i].offset + 1, &vaddr) ==
				      0);
				CHECK(vaddr == e->segs[i].vaddr + 1);
			}
		CHECK(kt_elf_offset_to_vaddr(e, 1ULL << 40, &vaddr) == -ENOENT);
	}
	kt_elf_free(e);

	CHECK(kt_elf_open(fix("ktfix_pie"), &e) == 0);
	if (e) {
		CHECK(e->type == ET_DYN);
		check_sym(e, "ktfix_main_func");
		check_sym(e, "ktfix_static_func");
		CHECK(kt_elf_lookup(e, 0, NULL) == NULL);
	}
	kt_elf_free(e);

	CHECK(kt_elf_open(fix("libktfixlib.so"), &e) == 0);
	if (e) {
		CHECK(e->type == ET_DYN && e->has_symtab && e->has_dynsym);
		check_sym(e, "ktfix_lib_func");
		check_sym(e, "ktfix_lib_static");
	}
	kt_elf_free(e);

	CHECK(kt_elf_open(fix("ktfix_stripped"), &e) == 0);
	CHECK(kt_elf_open(fix("ktfix_stripped.debug"), &dbg) == 0);
	if (e && dbg) {
		CHECK(!e->has_symtab);
		CHECK(by_name(e, "ktfix_main_func") == NULL);
		CHECK(e->debuglink && !strcmp(e->debuglink, "ktfix_stripped.debug"));
		CHECK(kt_elf_file_crc32(fix("ktfix_stripped.debug"), &crc) == 0);
		CHECK(crc == e->debuglink_crc);
		CHECK(dbg->has_symtab);
		check_sym(dbg, "ktfix_main_func");
		CHECK(e->build_id_len == 20 && dbg->build_id_len == 20);
		CHECK(!memcmp(e->build_id, dbg->build_id, 20));
	}
	kt_elf_free(e);
	kt_elf_free(dbg);

	/* the CRC is zlib's crc32 */
	CHECK(kt_elf_crc32(0, "123456789", 9) == 0xcbf43926U);
	kt_elf_free(NULL);
}

static int read_file(const char *path, unsigned char **buf, size_t *len)
{
	struct stat st;
	ssize_t r;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		return -1;
	*len = (size_t)st.st_size;
	*buf = malloc(*len);
	r = *buf ? read(fd, *buf, *len) : -1;
	close(fd);
	return r == (ssize_t)*len ? 0 : -1;
}

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned long long rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t parsed_ok;

static int count_fsym(const struct kt_elf_fsym *f, void *arg)
{
	CHECK(f->name && strlen(f->name) <= KT_ELF_MAX_NAME);
	(*(size_t *)arg)++;
	return 0;
}

static int count_sdt(const struct kt_elf_sdt *n, void *arg)
{
	CHECK(n->provider && n->name && n->args);
	(*(size_t *)arg)++;
	return 0;
}

/* The by-name scans (symbols with aliases, SDT notes, IRELATIVE slots) of an image, from an fd. */
static void try_scans(const unsigned char *buf, size_t len)
{
	static int fd = -1;
	size_t n = 0;
	uint64_t v;

	if (fd < 0)
		fd = memfd_create("kt_elf_scan", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) || (len && pwrite(fd, buf, len, 0) != (ssize_t)len)) {
		CHECK(0, "memfd");
		return;
	}
	CHECK(kt_elf_scan_funcs(fd, count_fsym, &n) <= 0);
	CHECK(kt_elf_scan_sdt(fd, count_sdt, &n, &v) <= 0);
	kt_elf_irelative_slot(fd, rng(), &v);
}

/* Parse a possibly corrupt image; when it parses, poke at every result. */
static void try_image(const unsigned char *buf, size_t len)
{
	struct kt_elf *e = NULL;
	uint64_t off, v;
	size_t i;
	int err;

	/* an exact-size copy, so that ASan sees any read past the end */
	unsigned char *copy = malloc(len ? len : 1);

	memcpy(copy, buf, len);
	err = kt_elf_open_mem(copy, len, &e);
	try_scans(copy, len);
	CHECK(err <= 0);
	CHECK(!err == !!e);
	if (e) {
		parsed_ok++;
		for (i = 0; i < e->nsyms; i++) {
			CHECK(strlen(e->syms[i].name) < len);
			kt_elf_lookup(e, e->syms[i].addr + (i & 7), &off);
		}
		for (i = 0; i < e->nsegs; i++)
			kt_elf_offset_to_vaddr(e, e->segs[i].offset, &v);
		if (e->debuglink)
			CHECK(strlen(e->debuglink) < 4096);
		CHECK(e->build_id_len <= KT_ELF_MAX_BUILD_ID);
		kt_elf_lookup(e, rng(), &off);
	}
	kt_elf_free(e);
	free(copy);
}

/* Targeted damage to the headers of a valid image @img of @len bytes. */
static void test_hostile_headers(const unsigned char *img, size_t len)
{
	unsigned char *b = malloc(len);
	const Elf64_Ehdr *oeh = (const Elf64_Ehdr *)img;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Shdr *sh;
	size_t i, k;

#define FRESH() memcpy(b, img, len)
#define SH(i)	((Elf64_Shdr *)(b + oeh->e_shoff) + (i))
	static const uint64_t bad64[] = {0,	     1,		 63,	    64,	  0x7fffffff,
					 0xffffffff, 1ULL << 40, ~0ULL - 7, ~0ULL};
	static const uint16_t bad16[] = {0, 1, 2, 0xff00, 0xfeff, 0xffff};

	for (k = 0; k < sizeof(bad64) / sizeof(bad64[0]); k++) {
		FRESH();
		eh->e_shoff = bad64[k] == 1ULL << 40 ? len - 10 : bad64[k];
		try_image(b, len);
		FRESH();
		eh->e_phoff = bad64[k];
		try_image(b, len);
	}
	for (k = 0; k < sizeof(bad16) / sizeof(bad16[0]); k++) {
		FRESH();
		eh->e_shnum = bad16[k];
		try_image(b, len);
		FRESH();
		eh->e_phnum = bad16[k];
		try_image(b, len);
		FRESH();
		eh->e_shstrndx = bad16[k];
		try_image(b, len);
		FRESH();
		eh->e_shentsize = bad16[k];
		eh->e_phentsize = bad16[k];
		try_image(b, len);
	}
	/* extended numbering with absurd counts in section 0 */
	FRESH();
	eh->e_shnum = 0;
	eh->e_phnum = PN_XNUM;
	eh->e_shstrndx = SHN_XINDEX;
	SH(0)->sh_size = ~0ULL;
	SH(0)->sh_info = 0xffffffff;
	SH(0)->sh_link = 0xffffffff;
	try_image(b, len);
	/* overlapping headers: section and program headers on top of the ELF header */
	FRESH();
	eh->e_shoff = 0;
	eh->e_phoff = 0;
	try_image(b, len);
	FRESH();
	eh->e_shoff = eh->e_phoff;
	try_image(b, len);

	/* per section: bad offsets, sizes, links, name and entry sizes */
	for (i = 0; i < oeh->e_shnum; i++) {
		for (k = 0; k < sizeof(bad64) / sizeof(bad64[0]); k++) {
			FRESH();
			SH(i)->sh_offset = bad64[k];
			try_image(b, len);
			FRESH();
			SH(i)->sh_size = bad64[k];
			try_image(b, len);
			FRESH();
			SH(i)->sh_link = (uint32_t)bad64[k];
			SH(i)->sh_name = (uint32_t)bad64[k];
			try_image(b, len);
			FRESH();
			SH(i)->sh_entsize = bad64[k];
			SH(i)->sh_addralign = bad64[k];
			try_image(b, len);
		}
		/* a string table that is not NUL-terminated and all symbol names out of range */
		FRESH();
		sh = SH(i);
		if (sh->sh_type == SHT_STRTAB && sh->sh_offset < len &&
		    sh->sh_size <= len - sh->sh_offset)
			memset(b + sh->sh_offset, 'A', sh->sh_size);
		try_image(b, len);
		FRESH();
		sh = SH(i);
		if ((sh->sh_type == SHT_SYMTAB || sh->sh_type == SHT_DYNSYM) &&
		    sh->sh_offset < len && sh->sh_size <= len - sh->sh_offset) {
			Elf64_Sym *sym = (Elf64_Sym *)(b + sh->sh_offset);
			size_t n = sh->sh_size / sizeof(*sym), j;

			for (j = 0; j < n; j++) {
				sym[j].st_name = (uint32_t)(0xffffff00U + j);
				sym[j].st_shndx = (uint16_t)(j * 977);
			}
		}
		try_image(b, len);
		/* notes with huge name and descriptor sizes */
		FRESH();
		sh = SH(i);
		if (sh->sh_type == SHT_NOTE && sh->sh_offset < len && sh->sh_size >= 12 &&
		    sh->sh_size <= len - sh->sh_offset) {
			Elf64_Nhdr *nh = (Elf64_Nhdr *)(b + sh->sh_offset);

			nh->n_namesz = 0xfffffff0;
			try_image(b, len);
			nh->n_namesz = 4;
			nh->n_descsz = 0xfffffffc;
			try_image(b, len);
			nh->n_descsz = 0;
		}
		try_image(b, len);
	}
#undef FRESH
#undef SH
	free(b);
}

static void test_corpus(const char *name)
{
	unsigned char *img = NULL, *b;
	size_t len = 0, i, k;

	CHECK(read_file(fix(name), &img, &len) == 0);
	if (!img || len < sizeof(Elf64_Ehdr))
		return;
	/* every truncation of the headers, then coarser steps */
	for (i = 0; i < len; i += i < 4096 ? 1 : 61)
		try_image(img, i);
	test_hostile_headers(img, len);
	/* random byte damage, most of it in the headers and tables */
	b = malloc(len);
	for (k = 0; k < 3000; k++) {
		size_t nflip = 1 + rng() % 16;

		memcpy(b, img, len);
		for (i = 0; i < nflip; i++) {
			size_t pos = rng() % 3 ? rng() % len : rng() % 128;

			b[pos] = (unsigned char)rng();
		}
		try_image(b, len);
	}
	free(b);
	free(img);
}

static void test_not_elf(void)
{
	char dir[] = "/tmp/kt_elf_testXXXXXX", path[4200];
	struct kt_elf *e = (struct kt_elf *)1;
	int fd;

	CHECK(kt_elf_open("/nonexistent/file", &e) == -ENOENT && e == NULL);
	CHECK(kt_elf_open_mem("", 0, &e) == -ENOEXEC);
	CHECK(kt_elf_open_mem("\177ELF", 4, &e) == -ENOEXEC);
	CHECK(mkdtemp(dir) != NULL);
	/* a FIFO where a binary should be must not block us */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(kt_elf_open(path, &e) == -EINVAL);
	CHECK(kt_elf_file_crc32(path, &(uint32_t){0}) == -EINVAL);
	unlink(path);
	CHECK(kt_elf_open(dir, &e) < 0);
	snprintf(path, sizeof(path), "%s/text", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && write(fd, "#!/bin/sh\n", 10) == 10);
	close(fd);
	CHECK(kt_elf_open(path, &e) == -ENOEXEC);
	unlink(path);
	rmdir(dir);
}

/*
 * #21: a size bomb. A sparse file declares a 200 MB string table (and a
 * 100 MB .dynsym of zeros); one real function symbol names a string deep
 * inside the table. The reader must find the symbol without holding the
 * table: a child process parses the file and its peak RSS may grow by at
 * most 48 MB (main read the whole table: 200 MB and more).
 */
#define BOMB_STRSZ  (200ULL << 20)
#define BOMB_NAMEAT (150ULL << 20)
#define BOMB_DYNSZ  (100ULL << 20)

static int write_bomb(const char *path)
{
	Elf64_Ehdr eh = {0};
	Elf64_Shdr sh[4] = {{0}};
	Elf64_Sym sym[2] = {{0}};
	static const char name[] = "bomb_func";
	uint64_t stroff = 1 << 20, dynoff = stroff + BOMB_STRSZ;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), err = -1;

	if (fd < 0)
		return -1;
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shoff = 4096;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 4;
	eh.e_shstrndx = SHN_UNDEF;
	sh[1].sh_type = SHT_SYMTAB;
	sh[1].sh_offset = 8192;
	sh[1].sh_size = sizeof(sym);
	sh[1].sh_link = 2;
	sh[1].sh_entsize = sizeof(Elf64_Sym);
	sh[2].sh_type = SHT_STRTAB;
	sh[2].sh_offset = stroff;
	sh[2].sh_size = BOMB_STRSZ;
	sh[3].sh_type = SHT_DYNSYM;
	sh[3].sh_offset = dynoff;
	sh[3].sh_size = BOMB_DYNSZ;
	sh[3].sh_link = 2;
	sh[3].sh_entsize = sizeof(Elf64_Sym);
	sym[1].st_name = (uint32_t)BOMB_NAMEAT;
	sym[1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
	sym[1].st_shndx = 1;
	sym[1].st_value = 0x1000;
	sym[1].st_size = 0x10;
	if (pwrite(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    pwrite(fd, sh, sizeof(sh), 4096) != sizeof(sh) ||
	    pwrite(fd, sym, sizeof(sym), 8192) != sizeof(sym) ||
	    pwrite(fd, name, sizeof(name), (off_t)(stroff + BOMB_NAMEAT)) != sizeof(name) ||
	    ftruncate(fd, (off_t)(dynoff + BOMB_DYNSZ)))
		goto out;
	err = 0;
out:
	close(fd);
	return err;
}

static void test_size_bomb(void)
{
	char path[] = "/tmp/kt_elf_bombXXXXXX";
	int fd = mkstemp(path), st = 0;
	pid_t pid;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	CHECK(write_bomb(path) == 0);
	pid = fork();
	if (pid == 0) {
		struct kt_elf *e = NULL;
		struct rusage before, after;
		uint64_t off = 0;
		const struct kt_elf_sym *sym;
		long grew;

		getrusage(RUSAGE_SELF, &before);
		if (kt_elf_open(path, &e)) {
			fprintf(stderr, "size bomb: not parsed\n");
			_exit(1);
		}
		getrusage(RUSAGE_SELF, &after);
		grew = after.ru_maxrss - before.ru_maxrss; /* KiB */
		sym = kt_elf_lookup(e, 0x1004, &off);
		if (!sym || strcmp(sym->name, "bomb_func") || off != 4) {
			fprintf(stderr, "size bomb: the symbol was not found\n");
			_exit(1);
		}
		if (grew > 48 * 1024) {
			fprintf(stderr, "size bomb: peak RSS grew by %ld KiB parsing it\n", grew);
			_exit(1);
		}
		kt_elf_free(e);
		_exit(0);
	}
	CHECK(pid > 0);
	if (pid > 0)
		waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the size bomb test failed");
	unlink(path);
}

/* More function symbols than KT_ELF_MAX_SYMS: the first ones are kept and the cut is flagged. */
static void test_symbol_cap(void)
{
	char path[] = "/tmp/kt_elf_capXXXXXX";
	size_t n = KT_ELF_MAX_SYMS + 16, i, chunk = 65536;
	int fd = mkstemp(path);
	Elf64_Ehdr eh = {0};
	Elf64_Shdr sh[3] = {{0}};
	Elf64_Sym *v = calloc(chunk, sizeof(*v));
	struct kt_elf *e = NULL;
	uint64_t symoff = 8192, stroff = symoff + n * sizeof(Elf64_Sym);
	bool ok = fd >= 0 && v;

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_shoff = 4096;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	sh[1].sh_type = SHT_SYMTAB;
	sh[1].sh_offset = symoff;
	sh[1].sh_size = n * sizeof(Elf64_Sym);
	sh[1].sh_link = 2;
	sh[2].sh_type = SHT_STRTAB;
	sh[2].sh_offset = stroff;
	sh[2].sh_size = 4;
	ok = ok && pwrite(fd, &eh, sizeof(eh), 0) == sizeof(eh) &&
	     pwrite(fd, sh, sizeof(sh), 4096) == sizeof(sh) &&
	     pwrite(fd, "\0fn", 4, (off_t)stroff) == 4;
	for (i = 0; ok && i < n; i += chunk) {
		size_t k, m = n - i < chunk ? n - i : chunk;

		for (k = 0; k < m; k++) {
			v[k].st_name = 1;
			v[k].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
			v[k].st_shndx = 1;
			v[k].st_value = 0x1000 + 16 * (i + k);
			v[k].st_size = 16;
		}
		ok = pwrite(fd, v, m * sizeof(*v), (off_t)(symoff + i * sizeof(*v))) ==
		     (ssize_t)(m * sizeof(*v));
	}
	CHECK(ok);
	CHECK(ok && kt_elf_open(path, &e) == 0);
	if (e) {
		CHECK(e->truncated, "the cut is flagged");
		CHECK(e->nsyms == KT_ELF_MAX_SYMS, "%zu symbols kept", e->nsyms);
		CHECK(kt_elf_lookup(e, 0x1004, NULL) && !strcmp(kt_elf_lookup(e, 0x1004, NULL)->name, "fn"));
	}
	kt_elf_free(e);
	free(v);
	if (fd >= 0)
		close(fd);
	unlink(path);
}

static int find_name(const struct kt_elf_fsym *f, void *arg)
{
	return !strcmp(f->name, arg);
}

/* Every symbol kt_elf_open keeps is found again by name by the scan; no notes, no IFUNC slots. */
static void test_scans(void)
{
	struct kt_elf *e = NULL;
	size_t n = 0, i;
	uint64_t v;
	int fd = open(fix("libktfixlib.so"), O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(kt_elf_open_fd(fd, &e) == 0);
	CHECK(kt_elf_scan_funcs(fd, count_fsym, &n) == 0 && e && n >= e->nsyms, "%zu", n);
	for (i = 0; e && i < e->nsyms; i++)
		CHECK(kt_elf_scan_funcs(fd, find_name, (void *)e->syms[i].name) == 1, "%s",
		      e->syms[i].name);
	n = 0;
	CHECK(kt_elf_scan_sdt(fd, count_sdt, &n, &v) == 0 && n == 0);
	CHECK(kt_elf_irelative_slot(fd, 0x1234, &v) == -ENOENT);
	kt_elf_free(e);
	close(fd);
	fd = open("/proc/self/cmdline", O_RDONLY); /* not a regular file */
	CHECK(kt_elf_scan_funcs(fd, count_fsym, &n) < 0);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
		return 2;
	}
	fixdir = argv[1];
	test_fixtures();
	test_scans();
	test_not_elf();
	test_size_bomb();
	test_symbol_cap();
	test_corpus("libktfixlib.so");
	test_corpus("ktfix_stripped");
	test_corpus("ktfix_nopie");
	printf("corrupt images that still parsed: %zu\n", parsed_ok);
	if (kt_test_failed) {
		fprintf(stderr, "%d check(s) failed\n", kt_test_failed);
		return 1;
	}
	printf("all elf tests passed\n");
	return 0;
}
