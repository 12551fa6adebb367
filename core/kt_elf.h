/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small, defensive ELF64 reader for symbolization.
 *
 * The files it reads belong to whatever process we happen to trace, so they
 * may be truncated, corrupt or hostile. Everything is read with pread() (no
 * mmap, so a file truncated under us cannot SIGBUS us), every offset, size,
 * count and string index is checked, and all work is bounded by the caps
 * below. There is no recursion. A file that cannot be understood yields an
 * error, never a crash.
 *
 * What it extracts: the ELF type, the PT_LOAD segments, the function symbols
 * of .symtab and .dynsym (merged, sorted once, looked up by binary search),
 * the .gnu_debuglink name and CRC, and the NT_GNU_BUILD_ID note.
 *
 * The file is named kt_elf.h, not elf.h: with core/ on the include path an
 * elf.h here would shadow the system <elf.h> (which libelf's gelf.h and
 * kt_elf.c itself include).
 */
#ifndef KT_ELF_H
#define KT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Bounds: what one file can cost is KT_ELF_MAX_SYMS symbols (40 bytes each
 * while collecting, 24 kept) and KT_ELF_MAX_NAMES bytes of names, about
 * 200 MB at worst; a file's string tables are never read whole (names are
 * copied out a window at a time), so their declared size costs nothing.
 * Real binaries stay far below (a 200 MB browser: ~1 M symbols, ~60 MB names).
 */
#define KT_ELF_MAX_FILE	    (4ULL << 30) /* larger files are refused */
#define KT_ELF_MAX_SYMS	    (2U << 20)	 /* symbols kept per file */
#define KT_ELF_MAX_NAMES    (64U << 20)	 /* bytes of symbol names kept per file */
#define KT_ELF_MAX_NAME	    4096U	 /* a longer name is cut */
#define KT_ELF_MAX_SECTIONS 65536U
#define KT_ELF_MAX_SEGMENTS 4096U
#define KT_ELF_MAX_BUILD_ID 64U

struct kt_elf_seg {
	uint64_t vaddr;
	uint64_t offset;
	uint64_t filesz;
	uint64_t memsz;
	uint32_t flags; /* PF_R | PF_W | PF_X */
};

struct kt_elf_sym {
	uint64_t addr;
	uint64_t size; /* 0 when the symbol table does not say */
	const char *name;
};

struct kt_elf {
	uint16_t type; /* ET_EXEC, ET_DYN, ... */
	struct kt_elf_seg *segs;
	size_t nsegs;
	struct kt_elf_sym *syms; /* sorted by address, duplicates removed */
	size_t nsyms;
	bool has_symtab; /* a (non-empty) .symtab was found */
	bool has_dynsym; /* a (non-empty) .dynsym was found */
	bool truncated;	 /* symbols or names were dropped at a cap above */
	size_t mem;	 /* bytes held (symbols, names, segments), for caches' budgets */
	char *debuglink; /* .gnu_debuglink file name, or NULL */
	uint32_t debuglink_crc;
	uint8_t build_id[KT_ELF_MAX_BUILD_ID];
	size_t build_id_len; /* 0 when there is no NT_GNU_BUILD_ID note */
	char *strs[2];	     /* the names of the function symbols, which point into them */
};

/* Parse the ELF file at @path. Returns 0 or a negative errno. */
int kt_elf_open(const char *path, struct kt_elf **out);
/* Same, from an open file descriptor (not closed, not moved). */
int kt_elf_open_fd(int fd, struct kt_elf **out);
/* Same, from memory (used by tests and the fuzzer). */
int kt_elf_open_mem(const void *buf, size_t len, struct kt_elf **out);
void kt_elf_free(struct kt_elf *elf);

/*
 * The function symbol containing ELF virtual address @addr, or NULL.
 * A symbol with a size contains [addr, addr + size); a symbol without a size
 * extends to the next symbol. @off (may be NULL) receives addr - sym->addr.
 */
const struct kt_elf_sym *kt_elf_lookup(const struct kt_elf *elf, uint64_t addr, uint64_t *off);

/*
 * Translate a file offset (as computed from a /proc/PID/maps line) to the
 * ELF virtual address, using the PT_LOAD segment that maps it. Returns 0 or
 * -ENOENT when no segment covers @file_off.
 */
int kt_elf_offset_to_vaddr(const struct kt_elf *elf, uint64_t file_off, uint64_t *vaddr);

/*
 * The file offset of ELF virtual address @vaddr (inverse of the above), from
 * the PT_LOAD segment that holds it in the file. 0 or -ENOENT.
 */
int kt_elf_vaddr_to_offset(const struct kt_elf *elf, uint64_t vaddr, uint64_t *file_off);

/*
 * Every defined function symbol of .symtab and .dynsym of the file at @fd,
 * aliases included (kt_elf_open keeps one name per address; a lookup by
 * name needs them all), passed to @cb with its name (cut at
 * KT_ELF_MAX_NAME), ELF virtual address, size and whether it is an
 * STT_GNU_IFUNC (its address is a resolver). Nothing is kept: memory is
 * one window of the string table and one chunk of symbols. @cb returns 0
 * to go on, anything else stops the scan and is returned. -ENOEXEC when
 * the file is not ELF.
 */
struct kt_elf_fsym {
	const char *name;
	uint64_t addr;
	uint64_t size;
	bool ifunc;
	bool dynsym; /* from .dynsym (else .symtab) */
};
int kt_elf_scan_funcs(int fd, int (*cb)(const struct kt_elf_fsym *sym, void *arg), void *arg);

/*
 * The SystemTap SDT notes (.note.stapsdt) of the file at @fd, each passed
 * to @cb: provider, name, argument string (e.g. "-4@%eax 8@%rbx"), the
 * probe's ELF virtual address and its semaphore's (0: none), with
 * .stapsdt.base's recorded and actual addresses for prelinked files.
 * At most KT_ELF_MAX_NOTES notes are read. 0, or -ENOEXEC (not ELF).
 */
#define KT_ELF_MAX_NOTES 65536U
struct kt_elf_sdt {
	const char *provider;
	const char *name;
	const char *args;
	uint64_t pc;
	uint64_t base;	    /* the .stapsdt.base address the note records */
	uint64_t semaphore; /* virtual address, 0: none */
};
int kt_elf_scan_sdt(int fd, int (*cb)(const struct kt_elf_sdt *note, void *arg), void *arg,
		    uint64_t *actual_base);

/*
 * The GOT slot (ELF virtual address) that an R_X86_64_IRELATIVE relocation
 * of the file at @fd fills, at load time, with what the IFUNC resolver at
 * @resolver returns: where a running process keeps the implementation it
 * uses. 0, -ENOENT when no such relocation exists, -ENOEXEC (not ELF).
 */
int kt_elf_irelative_slot(int fd, uint64_t resolver, uint64_t *slot);

/* The CRC-32 used by .gnu_debuglink (IEEE 802.3, as in zlib's crc32()). */
uint32_t kt_elf_crc32(uint32_t crc, const void *buf, size_t len);
/* CRC-32 of a whole file, for checking a debug file. Returns 0 or -errno. */
int kt_elf_file_crc32(const char *path, uint32_t *crc);
/* Same, of the file open at @fd (read with pread from offset 0). */
int kt_elf_fd_crc32(int fd, uint32_t *crc);

#endif /* KT_ELF_H */
