/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Collecting stacks from a probe that uses probes/lib/kt_stacks.bpf.h
 * (offcpu, profile): options shared by those subcommands, reading stack ids
 * out of the "stacks" map into a core/stacks.h table, symbolizing them,
 * and printing them as text, JSON, folded lines or a flame graph.
 *
 * Processes are snapshotted for user symbolization the moment the probe
 * announces them (ring buffer "newpids", read by a thread), so that a
 * process that exits before the report still resolves.
 */
#ifndef KT_STACKCOL_H
#define KT_STACKCOL_H

#include <argp.h>
#include <stdbool.h>
#include <stdint.h>

#include "ktrace.h"

struct bpf_object;
struct kt_stackcol;

/* Options shared by the stack subcommands (parsed by kt_stackcol_parse). */
struct kt_stackcol_opts {
	bool kernel, user;  /* which stacks to capture (both by default) */
	bool folded;	    /* -f */
	bool delimited;	    /* --delimited */
	const char *svg;    /* --svg FILE */
	uint32_t storage;   /* --stack-storage-size: entries of the stack map */
	uint32_t depth;	    /* --perf-max-stack-depth */
	const char *value_key;	/* JSON: "count", "total_us" */
	const char *events;	/* what one count is, for lost reports: "samples", "blocks" */
	const char *svg_title;
	const char *svg_unit; /* "samples" or "us" */
	uint32_t target;      /* -p: stop ("target_exited") when this process exits; 0: none */
	/*
	 * The stack map's entries are allocated as stacks arrive, where the
	 * kernel allows it (6.1+), instead of all at load: for hooks whose new
	 * stacks come at a bounded rate (sampling). Not at context switches: a
	 * burst of new stacks there outruns the kernel's per-CPU refill, and
	 * those stacks are lost (counted, but lost).
	 */
	bool grow;
	bool unwind_dwarf;    /* --unwind dwarf: user stacks come as copies (kt_stackcol_add_copy) */
	uint32_t stack_copy;  /* --stack-copy: bytes of user stack copied per event */
};

/*
 * The stack map (see kt_stacks.bpf.h) holds each distinct stack once and
 * costs N x (depth x 8 + about 80) bytes of kernel memory, allocated at
 * load (but with grow): the default fits 20,000 distinct stacks with room
 * to spare.
 */
#define KT_STACKCOL_STORAGE_DEFAULT 32768U
#define KT_STACKCOL_STORAGE_MAX	    262144U

enum {
	KT_STACKCOL_OPT_STORAGE = 0x3000,
	KT_STACKCOL_OPT_DEPTH,
	KT_STACKCOL_OPT_SVG,
	KT_STACKCOL_OPT_DELIMITED,
	KT_STACKCOL_OPT_UNWIND,
	KT_STACKCOL_OPT_STACK_COPY,
};

/*
 * argp entries for -U, -K, -f, --delimited, --svg, --stack-storage-size,
 * --perf-max-stack-depth, --unwind and --stack-copy (in an option table).
 * --unwind dwarf makes the command stream (ctx->stream): its records carry
 * user stack copies (probes/lib/kt_stacks.bpf.h, struct kt_ustack) that it
 * hands to kt_stackcol_add_copy().
 */
#define KT_STACKCOL_OPTIONS                                                                        \
	{ "user-stacks-only", 'U', NULL, 0, "Show user stacks only (no kernel frames)", 0 },       \
	{ "kernel-stacks-only", 'K', NULL, 0, "Show kernel stacks only (no user frames)", 0 },     \
	{ "delimited", KT_STACKCOL_OPT_DELIMITED, NULL, 0,                                         \
	  "Put a delimiter between kernel and user frames", 0 },                                   \
	{ "folded", 'f', NULL, 0,                                                                  \
	  "Print folded stacks (comm;root;...;leaf value) for flame graph tools", 0 },             \
	{ "svg", KT_STACKCOL_OPT_SVG, "FILE", 0, "Also write a flame graph (SVG) to FILE at the end", 0 }, \
	{ "stack-storage-size", KT_STACKCOL_OPT_STORAGE, "N", 0,                                   \
	  "Number of unique stacks the kernel can store (default 32768; kernel memory: N x "    \
	  "(depth x 8 + 80) bytes, 36 MB by default, 290 MB at the maximum, 262144)", 0 },        \
	{ "perf-max-stack-depth", KT_STACKCOL_OPT_DEPTH, "N", 0,                                   \
	  "Deepest stack captured, in frames (default and maximum 127)", 0 },                      \
	{ "unwind", KT_STACKCOL_OPT_UNWIND, "MODE", 0,                                             \
	  "How user stacks are walked: fp (frame pointers, in the kernel; the default) or dwarf "  \
	  "(copy the top of the stack and unwind it with the binaries' .eh_frame, like perf's "  \
	  "dwarf call graphs; not with --record)", 0 },                                           \
	{ "stack-copy", KT_STACKCOL_OPT_STACK_COPY, "BYTES", 0,                                    \
	  "With --unwind dwarf: bytes of user stack copied per event, 512 to 16384 (default "     \
	  "8192); deeper frames are cut", 0 }

/*
 * -p PID names a process. A PID that is a thread other than its process's
 * leader would match nothing (the filter compares process ids): the
 * process is traced instead, and ktrace says so. Returns 0, or -EINVAL
 * (printed) when @pid does not exist.
 */
int kt_stackcol_pid(const char *opt, uint32_t *pid);

/* Sets defaults (both stacks, KT_STACKCOL_STORAGE_DEFAULT entries, 127 frames). */
void kt_stackcol_defaults(struct kt_stackcol_opts *o);
/* Parses the shared options; ARGP_ERR_UNKNOWN for others. */
error_t kt_stackcol_parse(struct kt_stackcol_opts *o, int key, char *arg, struct argp_state *state);
/* Cross-checks (e.g. -f with -j); prints the error, returns -EINVAL. */
int kt_stackcol_validate(struct kt_ctx *ctx, const struct kt_stackcol_opts *o);
/*
 * Before load: size the stack map, and the ring buffer "events" to a page
 * when nothing is streamed. (The caller sets its skeleton's
 * cfg_announce_pids to o->user, cfg_stack_copy to o->stack_copy.)
 */
int kt_stackcol_configure(struct kt_ctx *ctx, const struct kt_stackcol_opts *o);

/* After attach: load kernel symbols, start following new processes. */
int kt_stackcol_new(struct kt_ctx *ctx, const struct kt_stackcol_opts *o, struct kt_stackcol **out);
void kt_stackcol_free(struct kt_stackcol *sc);

/* Add value to the stack (pid, comm, kernel stack id, user stack id); negative ids: none. */
int kt_stackcol_add(struct kt_stackcol *sc, uint32_t pid, const char *comm, int64_t kstack,
		    int64_t ustack, uint64_t value);

/*
 * --unwind dwarf: add @value to the stack whose user part is unwound now
 * (core/unwind.h) from @u's registers and the @len bytes of user stack
 * (at most u->len) copied from its stack pointer up; @u NULL or without
 * registers: no user stack. Returns 0 or -errno.
 */
struct kt_ustack;
int kt_stackcol_add_copy(struct kt_stackcol *sc, uint32_t pid, const char *comm, int64_t kstack,
			 const struct kt_ustack *u, const void *stack, size_t len, uint64_t value);

/*
 * Resolve, sort and print what was added (text, JSON, folded, and the SVG
 * when final), report stacks the probe could not capture, then clear the
 * table for the next interval.
 */
int kt_stackcol_report(struct kt_stackcol *sc, bool final);

#endif
