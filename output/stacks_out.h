/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rendering a resolved stack table (core/stacks.h) as BCC-style text or as
 * JSON "stacks" records, and folded lines with an optional kernel/user
 * delimiter. Used by offcpu and profile, so that neither branches on the
 * output format.
 *
 * Text, most significant first, each stack leaf first:
 *
 *	    kernel_leaf
 *	    ...
 *	    --                  (with delimited, between kernel and user frames)
 *	    user_leaf
 *	    ...
 *	    -                comm (pid)
 *	        value
 *
 * Text and folded lines merge stacks that print the same (the same
 * functions at other addresses), summing their values; JSON keeps each
 * stack, with its addresses.
 *
 * JSON, one record per stack:
 *	{"type":"stacks","time":...,"pid":N,"comm":"...","<value_key>":N,
 *	 "kernel_frames":[{"address":"0x..","symbol":"..","offset":N,"module":".."},...],
 *	 "user_frames":[...]}
 * with frames leaf first; symbol and module are null when unknown.
 */
#ifndef KT_STACKS_OUT_H
#define KT_STACKS_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include "stacks.h"

struct kt_out;

struct kt_stacks_fmt {
	const char *value_key; /* JSON key of the value, e.g. "count" or "total_us" */
	bool delimited;	       /* "--" (text) or "-" (folded) between kernel and user frames */
};

void kt_out_stacks(struct kt_out *out, const struct kt_stacks *st, const struct kt_stacks_fmt *fmt);

/*
 * Folded lines "comm;user_root;..;user_leaf[;-];kernel_root;..;kernel_leaf value"
 * on the output's stream (text mode). Returns 0 or -EIO.
 */
int kt_out_stacks_folded(struct kt_out *out, const struct kt_stacks *st, bool delimited);

/*
 * Stacks that were not captured: a "lost" JSON record, or a warning on
 * stderr in text (standard output may be folded lines that must stay
 * clean). what names them ("kernel stacks"), why says why, fix how to avoid it.
 */
void kt_out_stacks_lost(struct kt_out *out, const char *what, uint64_t n, const char *why,
			const char *fix);

#endif
