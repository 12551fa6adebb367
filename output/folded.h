/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Folded stacks, one line per stack, the input format of flame graph tools:
 *
 *	comm;user_root;...;user_leaf;kernel_root;...;kernel_leaf value
 *
 * User frames come first, then kernel frames, each part root first, with no
 * separator between the two parts (no BCC-style "-"): a kernel frame can be
 * told apart with KT_FOLDED_KERNEL_TAG, which appends "_[k]" to kernel frame
 * names as flamegraph.pl expects for its colouring. Frame names are symbol
 * names without offsets, so that a function's samples merge; an unresolved
 * frame reads "module+0xoff" or "[unknown]".
 *
 * Names come from the traced binaries and may hold anything: ';' is written
 * as '_' so that each frame stays one field, and the rest is escaped as text
 * output escapes it (newline "\n", ESC "\x1b", the C1 CSI "\xc2\x9b",
 * invalid UTF-8 byte by byte) so that each stack stays one printable line. Stacks are written in table order
 * (call kt_stacks_sort() first for most significant first), after
 * kt_stacks_resolve(); unresolved tables print raw addresses.
 */
#ifndef KT_FOLDED_H
#define KT_FOLDED_H

#include <stdbool.h>
#include <stdio.h>

#include "flamegraph.h"
#include "stacks.h"

#define KT_FOLDED_KERNEL_TAG (1U << 0) /* append "_[k]" to kernel frames */
#define KT_FOLDED_PID	     (1U << 1) /* first field "comm-pid" instead of "comm" */

/* Returns 0, or -EIO when writing failed. */
int kt_folded_write(FILE *f, const struct kt_stacks *st, unsigned int flags);
/* Write one frame name (or comm): ";" as "_", the rest escaped as in text output. */
void kt_folded_put_name(FILE *f, const char *name);

/*
 * Reading folded stacks (ktrace's, or perf's and stackcollapse's): one stack
 * per line, "frame;frame;...;frame COUNT", root first, the count a whole
 * number after the last space or tab. The first frame is taken for the
 * process name (grey in the graph); a frame ending in "_[k]" is a kernel
 * frame (the tag is removed). Frame names may hold spaces.
 *
 * The rules for lines that are not like that:
 *  - empty lines and lines of blanks are ignored; a trailing CR is removed;
 *  - malformed lines are skipped and counted, and each of the first
 *    KT_FOLDED_MAX_WARN of a file is reported as FILE:LINE with the reason
 *    (with KT_FOLDED_STRICT the first one is an error instead): no count, a
 *    count with a decimal part or too large, no frames, an empty frame name
 *    (";;", or ';' at either end), a NUL byte;
 *  - input that is not folded stacks at all ends the reading with an error:
 *    a line over KT_FOLDED_MAX_LINE bytes, or KT_FOLDED_GIVE_UP malformed
 *    lines before the first stack (so that a device or a binary file given
 *    by mistake ends quickly);
 *  - a stack deeper than KT_FOLDED_MAX_DEPTH frames keeps its outermost
 *    frames and gets a last frame "[deeper frames cut]"; such stacks are
 *    counted and reported once.
 */
#define KT_FOLDED_MAX_LINE  (1U << 20)
#define KT_FOLDED_MAX_DEPTH 2048
#define KT_FOLDED_MAX_WARN  5
#define KT_FOLDED_GIVE_UP   1000
#define KT_FOLDED_STRICT    (1U << 0)

struct kt_folded_stats {
	uint64_t lines;	 /* lines read (blank ones included) */
	uint64_t stacks; /* stacks added */
	uint64_t bad;	 /* malformed lines skipped */
	uint64_t cut;	 /* stacks cut at KT_FOLDED_MAX_DEPTH */
	uint64_t full_line; /* the line where a bound of the frame-path set was hit, 0: none */
};

/*
 * Parse one line (its newline removed) in place into @frames (room for
 * KT_FOLDED_MAX_DEPTH) and @value; *@cut is set when frames were dropped.
 * Returns NULL, or why the line is malformed. A blank line yields *@n == 0.
 */
const char *kt_folded_parse(char *line, size_t len, struct kt_fg_frame *frames, size_t *n,
			    uint64_t *value, bool *cut);

/*
 * Read the folded stacks of @f (named @name in messages) into @fg on @side.
 * Malformed lines are handled as described above. Returns 0; -EINVAL when
 * the input has lines but no stack, or (KT_FOLDED_STRICT) a malformed line;
 * -E2BIG when a bound of @fg was hit (what came before stays, and
 * @st->full_line says where); -ENOMEM; or -errno of a read error. Errors are
 * reported on stderr, except -E2BIG, which the caller words.
 */
int kt_folded_read(FILE *f, const char *name, struct kt_fg *fg, unsigned int side,
		   unsigned int flags, struct kt_folded_stats *st);

#endif /* KT_FOLDED_H */
