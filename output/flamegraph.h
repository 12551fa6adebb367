/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A self-contained interactive SVG flame graph: no Perl, no external tools,
 * scripts or styles. One renderer for every input: a resolved stack table
 * (profile and offcpu --svg) and folded lines (`ktrace flamegraph`) both
 * become a frame-path set (struct kt_fg), which is drawn.
 *
 * Layout: "all" at the bottom, then the paths root to leaf, growing upwards;
 * for a stack table: one frame per comm, then the user frames and the kernel
 * frames. Widths are proportional to the values. Hovering a frame shows its
 * name, value and share (an SVG <title> and a status line); clicking zooms
 * into it, and "Reset Zoom" (or clicking "all", or Escape) zooms out.
 * "Search" (or Ctrl-F, or "/") asks for a JavaScript regular expression (an
 * invalid one is matched as a plain substring, and the status line says
 * which), highlights the frames whose names match and shows the share of
 * the whole graph they cover (nested matches counted once).
 *
 * Colours: the hot palette (reds, oranges) for user frames of on-CPU
 * profiles, the cold palette (blues) for off-CPU time; kernel frames get a
 * distinct hue in each (teal on hot, purple on cold), comm frames and "all"
 * are grey.
 *
 * A differential graph (opts.diff) holds two inputs, BEFORE (side 0) and
 * AFTER (side 1): widths come from AFTER (from BEFORE with opts.negate, so
 * that frames which vanished can be seen), and each frame is red where its
 * share of its input's total grew, blue where it shrank, the deeper the
 * larger the change, near-white where it stayed; its tooltip gives both
 * counts, the delta and both shares, and its class says grew, shrank,
 * appeared, vanished or same.
 *
 * Names come from traced binaries and from files: everything is XML-escaped,
 * control characters and invalid UTF-8 are replaced, so the output is always
 * well-formed XML.
 */
#ifndef KT_FLAMEGRAPH_H
#define KT_FLAMEGRAPH_H

#include <stdbool.h>
#include <stdio.h>

#include "stacks.h"

enum kt_flamegraph_palette {
	KT_FLAMEGRAPH_AUTO, /* cold when the unit is a time ("us", "ns", "ms"), else hot */
	KT_FLAMEGRAPH_HOT,
	KT_FLAMEGRAPH_COLD,
};

struct kt_flamegraph_opts {
	const char *title; /* NULL: "Flame Graph" ("Differential Flame Graph" with diff) */
	const char *unit;  /* NULL: "samples" */
	enum kt_flamegraph_palette palette;
	unsigned int width;   /* pixels; 0: 1200 */
	const char *subtitle; /* NULL: none */
	const char *note;     /* NULL: none; e.g. what was cut from the input */
	bool diff;	      /* two sides: BEFORE (0) and AFTER (1) */
	bool negate;	      /* diff: widths from BEFORE */
};

/*
 * Write the flame graph of @st (after kt_stacks_resolve()) to @f.
 * @unit is "samples" or "us". Returns 0, -ENOMEM or -EIO.
 */
int kt_flamegraph_write(FILE *f, const struct kt_stacks *st, const char *title, const char *unit);
int kt_flamegraph_write_opts(FILE *f, const struct kt_stacks *st,
			     const struct kt_flamegraph_opts *opts);

/* ---- the frame-path set every flame graph is drawn from ---- */

struct kt_fg;

enum kt_fg_kind { KT_FG_ROOT, KT_FG_COMM, KT_FG_USER, KT_FG_KERNEL };

/* One frame of a path given to kt_fg_add(): @len bytes of @name (no NUL needed). */
struct kt_fg_frame {
	const char *name;
	size_t len;
	enum kt_fg_kind kind;
};

/*
 * The bounds of a set built from input a user controls: at most @max_frames
 * frames in all paths together (0: no bound, for tables that are bounded
 * already) and KT_FG_MAX_NAME_BYTES for the distinct frame names with their
 * bookkeeping. Memory is at most 28 bytes per frame (4 for the frame, 24 for
 * a stack of one frame) plus the names: about 170 MiB with the defaults.
 */
#define KT_FG_MAX_NAME_BYTES (64U << 20)
#define KT_FG_DEFAULT_MAX_FRAMES 4000000U

int kt_fg_new(struct kt_fg **out, size_t max_frames);
void kt_fg_free(struct kt_fg *fg);
/*
 * Add a path of @n frames, root first, with @value on @side (0, or 1 for the
 * AFTER input of a diff). Equal paths add up. Returns 0, -EINVAL (no frames,
 * or a side other than 0 and 1), -ENOMEM, -E2BIG (a bound above would be
 * passed: nothing was added) or -EOVERFLOW (the side's total would pass
 * 2^64 - 1: nothing was added).
 */
int kt_fg_add(struct kt_fg *fg, unsigned int side, const struct kt_fg_frame *frames, size_t n,
	      uint64_t value);
/* Add every stack of @st (resolved) as comm, user frames, kernel frames. */
int kt_fg_add_stacks(struct kt_fg *fg, unsigned int side, const struct kt_stacks *st);
/* Sum of the values on @side. */
uint64_t kt_fg_total(const struct kt_fg *fg, unsigned int side);
/* Draw @fg on @f. Returns 0, -ENOMEM or -EIO. */
int kt_fg_write(FILE *f, struct kt_fg *fg, const struct kt_flamegraph_opts *opts);
/* The same on a command's output (-o FILE or standard output), flushed. */
struct kt_out;
int kt_out_flamegraph(struct kt_out *out, struct kt_fg *fg, const struct kt_flamegraph_opts *opts);

/*
 * The default subtitle: "ktrace ARGS on HOST, kernel K, SPAN" with the parts
 * that are NULL left out; arguments with spaces or quotes are quoted. Always
 * NUL-terminated, cut to @len.
 */
void kt_flamegraph_subtitle(char *buf, size_t len, int argc, char *const *argv, const char *host,
			    const char *kernel, const char *span);

/*
 * A run's time span for the subtitle, local time: "2026-12-02 12:00:00 to
 * 12:00:30 UTC" (the end's date too when it differs). Times are wall-clock ns.
 */
void kt_flamegraph_span(char *buf, size_t len, uint64_t start_ns, uint64_t end_ns);

/*
 * Write @s as XML character data, valid in text and in attribute values:
 * markup characters escaped, control characters written as '?', invalid
 * UTF-8 as U+FFFD. At most @max_chars characters (SIZE_MAX: all) are
 * written, with ".." replacing the end when @s is longer.
 */
void kt_flamegraph_put_xml(FILE *f, const char *s, size_t max_chars);

#endif /* KT_FLAMEGRAPH_H */
