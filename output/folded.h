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

#include <stdio.h>

#include "stacks.h"

#define KT_FOLDED_KERNEL_TAG (1U << 0) /* append "_[k]" to kernel frames */
#define KT_FOLDED_PID	     (1U << 1) /* first field "comm-pid" instead of "comm" */

/* Returns 0, or -EIO when writing failed. */
int kt_folded_write(FILE *f, const struct kt_stacks *st, unsigned int flags);
/* Write one frame name (or comm): ";" as "_", the rest escaped as in text output. */
void kt_folded_put_name(FILE *f, const char *name);

#endif /* KT_FOLDED_H */
