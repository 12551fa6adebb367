/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space probe targets: the BINARY part of `BINARY:FUNC` and
 * `u:BINARY:PROVIDER:PROBE` resolved to one ELF file, opened inside the
 * traced process's root (core/rootfs.h), and its functions matched by name
 * or wildcard (core/kt_elf.h) to the file offsets uprobes take.
 *
 * BINARY is a path (with a '/'), or a name: with a pid, the file mapped by
 * that process whose base name is NAME, libNAME.so... or libNAME-...so
 * (`c` is libc.so.6, `pthread` libpthread.so.0); without one, libNAME.so*
 * in the system's library directories, then NAME in the executable
 * directories. The uprobe is attached through /proc/self/fd/N of the file
 * opened here, so the kernel probes exactly the inode ktrace read and no
 * path is resolved twice.
 *
 * Bounds: KT_UTARGET_MAX_FUNCS matches per pattern (a wider pattern is an
 * error that says so), /proc/PID/maps read up to 8 MiB.
 */
#ifndef KT_UTARGET_H
#define KT_UTARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_UTARGET_MAX_FUNCS 1000

struct kt_ufunc {
	char *name;
	uint64_t addr;	 /* ELF virtual address */
	uint64_t offset; /* file offset: what the uprobe takes */
	bool ifunc;	 /* an STT_GNU_IFUNC: the address is its resolver */
};

struct kt_utarget {
	char path[4096];   /* the file, as named inside the process's root */
	int fd;		   /* open on it (O_RDONLY, regular file) */
	char fdpath[48];   /* "/proc/self/fd/N", given to the kernel for the uprobe */
	struct kt_elf *elf; /* segments, for offsets */
	struct kt_ufunc *funcs;
	size_t n;
};

/*
 * Find and open BINARY for pid (0: the system); on failure prints an error
 * naming what was looked for and where, and returns -errno.
 */
int kt_utarget_open(const char *binary, int pid, struct kt_utarget **out);
/* The same, saying nothing (e.g. to look through every file a process maps). */
int kt_utarget_open_quiet(const char *binary, int pid, struct kt_utarget **out);
/*
 * Add the functions of t matching pattern (a name, or with * ? [ a glob),
 * one per address. Error (printed) when nothing matches, the file has no
 * symbol table (stripped), or more than max match. spec is the user's
 * whole target, for messages.
 */
int kt_utarget_match(struct kt_utarget *t, const char *pattern, size_t max, const char *spec);
/*
 * funcs[i] is an IFUNC: point it at the implementation process pid uses,
 * read from the GOT slot the file's R_X86_64_IRELATIVE relocation for its
 * resolver filled at load time (/proc/PID/maps and /proc/PID/mem). impl
 * gets the implementation's name ("" when the file has no symbol for it).
 * Errors are printed: no pid, no such relocation, the process maps the file
 * elsewhere or its memory cannot be read.
 */
int kt_utarget_ifunc(struct kt_utarget *t, size_t i, int pid, const char *spec, char *impl,
		     size_t isz);
void kt_utarget_free(struct kt_utarget *t);

/*
 * Split a target spec "A:B" at its first colon (a path with a colon is
 * not supported). Returns false when there is none. a and b are copies.
 */
bool kt_utarget_split(const char *spec, char *a, size_t asz, char *b, size_t bsz);

#endif
