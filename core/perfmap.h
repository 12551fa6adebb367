/* SPDX-License-Identifier: GPL-2.0 */
/*
 * perf-PID.map files: the symbols a JIT runtime (V8, the JVM with an agent,
 * LuaJIT...) writes for its generated code, one "START SIZE name" line each
 * (hex numbers). A process writes this file, so it is hostile input: it is
 * read in fixed-size chunks (never as a whole), lines longer than
 * KT_PERFMAP_MAX_LINE are skipped, and what is kept is bounded by the caps
 * below. Whatever does not fit is counted in @dropped and @truncated is set,
 * so the caller can say so instead of cutting silently.
 *
 * Memory bound per map: KT_PERFMAP_MAX_SYMS entries of 32 bytes plus
 * KT_PERFMAP_MAX_NAMES bytes of names, i.e. at most 32 MB.
 */
#ifndef KT_PERFMAP_H
#define KT_PERFMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_PERFMAP_MAX_BYTES (64ULL << 20) /* bytes read from one file */
#define KT_PERFMAP_MAX_SYMS  (512U << 10)  /* entries kept */
#define KT_PERFMAP_MAX_NAMES (16U << 20)   /* bytes of names kept */
#define KT_PERFMAP_MAX_LINE  4096U	   /* a longer line is skipped */

struct kt_perfmap_sym {
	uint64_t start, size;
	const char *name;
	uint32_t idx; /* line order: a JIT reuses addresses, the later line wins */
};

struct kt_perfmap {
	struct kt_perfmap_sym *syms; /* sorted by start, one per start */
	size_t n;
	char *names;
	uint64_t bytes;	  /* bytes read */
	uint64_t dropped; /* well-formed lines not kept (over a cap), or over-long lines */
	bool truncated;	  /* the file was larger than KT_PERFMAP_MAX_BYTES, or lines were dropped */
	size_t mem;	  /* bytes of memory held (for budgets) */
};

/* Read the map from @fd (from its current offset, at most KT_PERFMAP_MAX_BYTES). */
int kt_perfmap_read_fd(int fd, struct kt_perfmap **out);
/* Same, from memory (tests, the fuzzer). */
int kt_perfmap_parse_mem(const char *buf, size_t len, struct kt_perfmap **out);
void kt_perfmap_free(struct kt_perfmap *pm);
/* The entry containing @addr, or NULL. */
const struct kt_perfmap_sym *kt_perfmap_lookup(const struct kt_perfmap *pm, uint64_t addr);

#endif
