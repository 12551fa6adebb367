/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A self-contained interactive SVG flame graph, written straight from a
 * resolved stack table: no Perl, no external tools, scripts or styles.
 *
 * Layout: "all" at the bottom, then one frame per comm, then the user frames
 * and the kernel frames, root to leaf, growing upwards. Widths are
 * proportional to the values. Hovering a frame shows its name, value and
 * share of the total (an SVG <title> and a status line); clicking zooms into
 * it, and "Reset Zoom" (or clicking "all") zooms out.
 *
 * Colours: the hot palette (reds, oranges) for user frames of on-CPU
 * profiles, the cold palette (blues) for off-CPU time; kernel frames get a
 * distinct hue in each (teal on hot, purple on cold), comm frames and "all"
 * are grey. Names come from traced binaries: everything is XML-escaped,
 * control characters and invalid UTF-8 are replaced, so the output is
 * always well-formed XML.
 */
#ifndef KT_FLAMEGRAPH_H
#define KT_FLAMEGRAPH_H

#include <stdio.h>

#include "stacks.h"

enum kt_flamegraph_palette {
	KT_FLAMEGRAPH_AUTO, /* cold when the unit is a time ("us", "ns", "ms"), else hot */
	KT_FLAMEGRAPH_HOT,
	KT_FLAMEGRAPH_COLD,
};

struct kt_flamegraph_opts {
	const char *title; /* NULL: "Flame Graph" */
	const char *unit;  /* NULL: "samples" */
	enum kt_flamegraph_palette palette;
	unsigned int width; /* pixels; 0: 1200 */
};

/*
 * Write the flame graph of @st (after kt_stacks_resolve()) to @f.
 * @unit is "samples" or "us". Returns 0, -ENOMEM or -EIO.
 */
int kt_flamegraph_write(FILE *f, const struct kt_stacks *st, const char *title, const char *unit);
int kt_flamegraph_write_opts(FILE *f, const struct kt_stacks *st,
			     const struct kt_flamegraph_opts *opts);

/*
 * Write @s as XML character data, valid in text and in attribute values:
 * markup characters escaped, control characters written as '?', invalid
 * UTF-8 as U+FFFD. At most @max_chars characters (SIZE_MAX: all) are
 * written, with ".." replacing the end when @s is longer.
 */
void kt_flamegraph_put_xml(FILE *f, const char *s, size_t max_chars);

#endif /* KT_FLAMEGRAPH_H */
