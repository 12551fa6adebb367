/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel symbols from /proc/kallsyms: read once, sorted once, looked up by
 * binary search. Only text symbols (t, T, w, W) are kept, since stack
 * addresses only ever point at code.
 *
 * When kptr_restrict hides the addresses, every line reads 0: the table is
 * then empty, lookups fail (the caller prints "[unknown]") and
 * kt_ksyms_restricted() says so, so that the caller can warn once.
 */
#ifndef KT_KSYMS_H
#define KT_KSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kt_ksym {
	uint64_t addr;
	const char *name;
	const char *module; /* "nf_tables" for "[nf_tables]", NULL for the kernel image */
};

struct kt_ksyms;

/* Load @path, or /proc/kallsyms when @path is NULL. Returns 0 or -errno. */
int kt_ksyms_load(const char *path, struct kt_ksyms **out);
void kt_ksyms_free(struct kt_ksyms *ks);

/* The symbol at or before @addr, or NULL; @off (may be NULL) gets addr - sym->addr. */
const struct kt_ksym *kt_ksyms_lookup(const struct kt_ksyms *ks, uint64_t addr, uint64_t *off);

/*
 * A code address for people, into buf: "name", "name+0x1f" inside a
 * function, "0xffffffff81234567" when no symbol covers it (restricted
 * kallsyms, NULL ks). *module (may be NULL) gets the symbol's module or
 * NULL. Returns buf.
 */
const char *kt_ksyms_fmt(const struct kt_ksyms *ks, uint64_t addr, char *buf, size_t size,
			 const char **module);

/*
 * /proc/kallsyms for naming kernel addresses, with one warning when it cannot
 * be read or hides its addresses; lost says what goes unnamed then (e.g. "work
 * functions are shown as addresses"). Returns kt_ksyms_load()'s result; on
 * failure *out is NULL.
 */
int kt_ksyms_load_or_warn(struct kt_ksyms **out, const char *lost);

/*
 * The table loaded when it is first needed (kt_ksyms_lazy_get), not before
 * tracing starts: reading /proc/kallsyms takes 20-40 ms that a command which
 * names addresses only in what it prints need not spend before it attaches.
 * lost is kt_ksyms_load_or_warn()'s; ks is NULL until loaded, and after a
 * failed load. Free with kt_ksyms_free(l->ks).
 */
struct kt_ksyms_lazy {
	struct kt_ksyms *ks;
	const char *lost;
	bool tried;
};
struct kt_ksyms *kt_ksyms_lazy_get(struct kt_ksyms_lazy *l);

/* True when every address in the file was zero (kptr_restrict, no CAP_SYSLOG). */
bool kt_ksyms_restricted(const struct kt_ksyms *ks);
size_t kt_ksyms_count(const struct kt_ksyms *ks);

#endif /* KT_KSYMS_H */
