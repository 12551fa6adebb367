/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space symbolization per process.
 *
 * The first time a pid is seen (kt_usyms_add_pid(), or implicitly on its
 * first lookup) its executable mappings are copied from /proc/PID/maps and
 * the mapped files are opened and parsed at once, inside the process's root
 * with kt_rootfs_open() (so processes in containers and chroots resolve, and
 * none of their symlinks reaches a host file; /proc/PID/map_files is the
 * fallback). A process that exits before the report is printed still
 * resolves, unless the snapshot budget made ktrace forget it (see
 * kt_usyms_trim()). Call add_pid as early as possible: ideally when the
 * pid's first event arrives. A pid whose start time changed is a new
 * process and is read again.
 *
 * Each ELF file is parsed once per run, whatever the number of processes
 * mapping it (the cache is keyed by device and inode). Symbols come from
 * .symtab, then .dynsym, then a separate debug file (build-id file under
 * <debug_dir>/.build-id/, or the .gnu_debuglink name in the file's
 * directory, its .debug/ subdirectory and <debug_dir>/<dir>/), looked up
 * inside the process's root, then on the host under <debug_dir> only.
 * Addresses in mappings without an ELF (JIT code) are looked up in
 * perf-PID.map (core/perfmap.h), read inside the process's root (with its
 * namespaced pid) and then the host tmp_dir; the map must be a regular file
 * (not a symlink) owned by the process's owner or by root.
 *
 * An address that cannot be named gets sym == NULL and module + offset,
 * where offset is the ELF virtual address (what addr2line wants) or, for a
 * mapping without an ELF, the offset from the mapping's start.
 *
 * An address outside every captured mapping makes the maps be read once
 * more (a library dlopen()ed since). A pid that exec()s is read again with
 * kt_usyms_refresh_pid(); replaced snapshots are kept until kt_usyms_trim()
 * or kt_usyms_free(), as frames already handed out point to their names.
 */
#ifndef KT_USYMS_H
#define KT_USYMS_H

#include <stdint.h>

/* One resolved stack frame, user or kernel. Strings live as long as the resolver. */
struct kt_frame {
	uint64_t addr;
	const char *sym;    /* NULL when unresolved */
	uint64_t offset;    /* from sym, or from the module when sym is NULL */
	const char *module; /* basename of the mapped file, "[kernel]", "[vdso]", ..., or NULL */
};

struct kt_usyms_opts {
	const char *proc_dir;  /* default "/proc" */
	const char *debug_dir; /* default "/usr/lib/debug" */
	const char *tmp_dir;   /* host directory of perf-PID.map files, default "/tmp" */
	size_t max_procs;      /* process snapshots kept, default 2048 (0: default) */
	size_t max_files_mem;  /* bytes of parsed ELF files kept, default 128 MB (0: default) */
};

struct kt_usyms;

/* What was cut or refused, so that the caller can report it. */
struct kt_usyms_stats {
	uint64_t perfmaps_truncated;	/* perf maps read only in part (over a cap: see perfmap.h) */
	uint64_t perfmap_lines_dropped; /* their entries that were not kept */
	uint64_t perfmaps_skipped;	/* not read: all perf maps together are at their budget */
	int last_truncated_pid;
	uint64_t pids_reused;	/* pids seen again with another start time */
	uint64_t procs_evicted; /* snapshots forgotten to stay within max_procs */
	uint64_t files_skipped; /* ELF files not parsed: the parsed ones hold max_files_mem */
	uint64_t files_truncated;	 /* ELF files with more symbols or names than kt_elf.h keeps */
	char last_truncated_file[64];	 /* its name, cut */
};

/* @opts may be NULL for the defaults. Returns 0 or -errno. */
int kt_usyms_new(const struct kt_usyms_opts *opts, struct kt_usyms **out);
void kt_usyms_free(struct kt_usyms *us);

/*
 * Snapshot the mappings of @pid now and open its files. Does nothing if the
 * pid is already known as the same process; a pid whose start time (field
 * 22 of /proc/PID/stat) changed belongs to a new process and is read again.
 * Returns 0, or -errno (e.g. -ENOENT: the process is gone).
 */
int kt_usyms_add_pid(struct kt_usyms *us, int pid);

/* Reads @pid's maps again now (it exec()ed), or for the first time. */
int kt_usyms_refresh_pid(struct kt_usyms *us, int pid);

/*
 * Resolve @addr in @pid into @frame (always filled in). Returns 0 when a
 * symbol was found, -ENOENT when only a module (or nothing) is known, or
 * another -errno.
 */
int kt_usyms_resolve(struct kt_usyms *us, int pid, uint64_t addr, struct kt_frame *frame);

/*
 * Memory is bounded: at most max_procs snapshots (the least recently used
 * are forgotten first) and max_files_mem bytes of parsed files (files no
 * snapshot maps are dropped first; past that, new files are not parsed),
 * plus 64 MB for all perf maps together. Frames handed out by kt_usyms_resolve()
 * stay valid until kt_usyms_trim(), which the caller runs once it has
 * printed them: nothing is freed before.
 */
void kt_usyms_trim(struct kt_usyms *us);

/*
 * An ELF file parsed for the first time (each device and inode once while
 * cached), handed to the callback set with kt_usyms_on_file() while its
 * descriptor is still open: a reader of other sections (the unwinder's CFI)
 * gets the file opened by the rules above without opening it again. The
 * descriptor is borrowed: it is closed when the callback returns.
 */
struct kt_usyms_file {
	int fd;
	uint64_t dev, ino;
	const struct kt_elf *elf;
	const char *name; /* basename */
};
void kt_usyms_on_file(struct kt_usyms *us, void (*cb)(const struct kt_usyms_file *f, void *arg),
		      void *arg);

/*
 * Where @addr lies in @pid's mappings (snapshotted on first use, read again
 * once when @addr is outside them): the mapped file's device and inode and
 * the ELF virtual address of @addr. 0, or -ENOENT when no ELF file maps it
 * (anonymous or JIT code, [vdso], a file that could not be read).
 */
struct kt_usyms_where {
	uint64_t dev, ino;
	uint64_t vaddr;
	const struct kt_elf *elf;
};
int kt_usyms_where(struct kt_usyms *us, int pid, uint64_t addr, struct kt_usyms_where *w);

/* Counters of what was cut, since kt_usyms_new(). */
void kt_usyms_stats(const struct kt_usyms *us, struct kt_usyms_stats *out);

#endif /* KT_USYMS_H */
