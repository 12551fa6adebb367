/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unwinding a user stack from a copy of its top and the registers at the
 * sample, with the call-frame information (CFI: .eh_frame) of the binary
 * each frame's pc lies in, as perf --call-graph dwarf does. x86-64 only.
 *
 * The CFI is parsed by elfutils' libdw (its CFI interface only:
 * dwarf_getcfi_elf, dwarf_cfi_addrframe, dwarf_frame_cfa,
 * dwarf_frame_register) from the files core/usyms.c opens by its rules (inside
 * the process's root, regular files only): each ELF file's .eh_frame and
 * .eh_frame_hdr are read once, when usyms parses the file
 * (kt_unwind_file_cb), and kept for the run, shared by every process that
 * maps the same file (device and inode) or a copy with the same build-id.
 *
 * Bounds: KT_UNWIND_MAX_MEM bytes of CFI kept (section bytes and libdw's
 * caches, estimated as twice the sections), KT_UNWIND_MAX_FILES binaries,
 * KT_UNWIND_MAX_EH_FRAME bytes of one file's .eh_frame; past them a file
 * gets no CFI (counted) and its frames are walked by frame pointer.
 *
 * A frame whose pc has no CFI (no FDE, no ELF: JIT code) is stepped by the
 * frame pointer (rbp) instead, when rbp points into the copied stack. The
 * walk stops when the CFI marks the return address undefined (the outermost
 * frame: _start, a thread's clone), when a value lies outside the copy, or
 * when the stack does not grow towards its base.
 */
#ifndef KT_UNWIND_H
#define KT_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "usyms.h"

#define KT_UNWIND_MAX_MEM      (64U << 20) /* bytes of CFI kept for all binaries */
#define KT_UNWIND_MAX_FILES    4096U	   /* binaries with CFI kept */
#define KT_UNWIND_MAX_EH_FRAME (32U << 20) /* a larger .eh_frame is not read */

/* DWARF register numbers of x86-64 (the order of struct kt_unwind_regs) */
enum {
	KT_UREG_RAX,
	KT_UREG_RDX,
	KT_UREG_RCX,
	KT_UREG_RBX,
	KT_UREG_RSI,
	KT_UREG_RDI,
	KT_UREG_RBP,
	KT_UREG_RSP,
	KT_UREG_R8,
	KT_UREG_R9,
	KT_UREG_R10,
	KT_UREG_R11,
	KT_UREG_R12,
	KT_UREG_R13,
	KT_UREG_R14,
	KT_UREG_R15,
	KT_UREG_RIP, /* the return address column */
	KT_UREG_N,
};

struct kt_unwind;

struct kt_unwind_stats {
	uint64_t files;		/* binaries whose CFI is kept */
	uint64_t files_no_cfi;	/* binaries without .eh_frame (or unreadable CFI) */
	uint64_t files_skipped; /* not read: over a budget above */
	uint64_t mem;		/* bytes counted against KT_UNWIND_MAX_MEM */
	uint64_t frames_cfi;	/* frames stepped by CFI */
	uint64_t frames_fp;	/* frames stepped by frame pointer */
};

/* Result flags of kt_unwind_stack() */
#define KT_UNWIND_END 1U /* the walk reached the frame the CFI marks as the outermost */

int kt_unwind_new(struct kt_unwind **out);
void kt_unwind_free(struct kt_unwind *uw);

/* The usyms file callback (kt_usyms_on_file(us, kt_unwind_file_cb, uw)): reads the file's CFI. */
void kt_unwind_file_cb(const struct kt_usyms_file *f, void *arg);

/*
 * Unwind @pid's user stack: @regs at the sample (DWARF numbering),
 * @stack the @len bytes copied from regs[KT_UREG_RSP] up. Writes at most
 * @max return addresses to @ips, innermost (the sampled pc) first, and
 * returns their number; @flags gets KT_UNWIND_END or 0. Mappings are looked
 * up in @us.
 */
size_t kt_unwind_stack(struct kt_unwind *uw, struct kt_usyms *us, int pid,
		       const uint64_t regs[KT_UREG_N], const void *stack, size_t len, uint64_t *ips,
		       size_t max, unsigned *flags);

void kt_unwind_stats(const struct kt_unwind *uw, struct kt_unwind_stats *out);

#endif
