// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel symbol table from /proc/kallsyms (see ksyms.h). The file has some
 * 200k lines; names go into a few large string blocks rather than one
 * allocation each, and the table is sorted once after reading.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksyms.h"
#include "sorted.h"
#include "util.h"

#define BLOCK_SIZE (1U << 20)
#define MAX_NAME   1024U /* longer names are cut; kernel names are < 512 */
#define MAX_SYMS   (8U << 20)

struct block {
	struct block *next;
	size_t used;
	char data[BLOCK_SIZE];
};

struct entry {
	struct kt_ksym sym;
	uint32_t rank; /* prefer global over local, strong over weak */
	uint32_t idx;
};

struct kt_ksyms {
	struct kt_ksym *syms;
	size_t n;
	bool restricted;
	struct block *blocks;
};

static const char *pool_add(struct kt_ksyms *ks, const char *s, size_t len)
{
	struct block *b = ks->blocks;
	char *p;

	if (len >= MAX_NAME)
		len = MAX_NAME - 1;
	if (!b || BLOCK_SIZE - b->used < len + 1) {
		b = malloc(sizeof(*b));
		if (!b)
			return NULL;
		b->next = ks->blocks;
		b->used = 0;
		ks->blocks = b;
	}
	p = b->data + b->used;
	memcpy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->sym.addr != y->sym.addr)
		return x->sym.addr < y->sym.addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static uint32_t type_rank(char t)
{
	switch (t) {
	case 'T':
		return 0;
	case 't':
		return 1;
	case 'W':
		return 2;
	case 'w':
		return 3;
	default:
		return 4; /* not text: dropped */
	}
}

/*
 * Parse "ffffffff81000000 T name\t[module]". Returns 1 for a text symbol,
 * 0 for a line to skip.
 */
static int parse_line(char *line, uint64_t *addr, uint32_t *rank, char **name, size_t *nlen,
		      char **mod, size_t *mlen)
{
	char *p, *end;

	errno = 0;
	*addr = strtoull(line, &end, 16);
	if (end == line || errno || *end != ' ')
		return 0;
	p = end + 1;
	*rank = type_rank(*p);
	if (*rank > 3 || p[1] != ' ')
		return 0;
	p += 2;
	*name = p;
	*nlen = strcspn(p, "\t \n");
	if (!*nlen)
		return 0;
	p += *nlen;
	*mod = NULL;
	*mlen = 0;
	p += strspn(p, "\t ");
	if (*p == '[') {
		p++;
		*mlen = strcspn(p, "]\n");
		if (p[*mlen] == ']' && *mlen)
			*mod = p;
	}
	return 1;
}

static void sift_down(struct entry *v, size_t root, size_t n)
{
	struct entry t;

	for (;;) {
		size_t c = 2 * root + 1;

		if (c >= n)
			return;
		if (c + 1 < n && cmp_entry(&v[c], &v[c + 1]) < 0)
			c++;
		if (cmp_entry(&v[root], &v[c]) >= 0)
			return;
		t = v[root];
		v[root] = v[c];
		v[c] = t;
		root = c;
	}
}

/*
 * Sorts the table in place: /proc/kallsyms is in address order but for its
 * modules' and BPF programs' symbols, so a sorted table is only checked, and
 * otherwise heap-sorted. Not qsort(): glibc's takes a copy of the array (4 MB
 * for 120,000 symbols) at the peak of the load.
 */
static void sort_entries(struct entry *v, size_t n)
{
	struct entry t;
	size_t i;

	for (i = 1; i < n && cmp_entry(&v[i - 1], &v[i]) <= 0; i++)
		;
	if (i >= n)
		return;
	for (i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (i = n; i-- > 1;) {
		t = v[0];
		v[0] = v[i];
		v[i] = t;
		sift_down(v, 0, i);
	}
}

int kt_ksyms_load(const char *path, struct kt_ksyms **out)
{
	struct entry *v = NULL, *nv;
	size_t n = 0, cap = 0, lsz = 0, i, k;
	const char *last_mod = NULL;
	struct kt_ksyms *ks;
	bool seen = false, nonzero = false;
	char *line = NULL, *iobuf = NULL;
	FILE *f = NULL;
	int err = 0;

	*out = NULL;
	ks = calloc(1, sizeof(*ks));
	if (!ks)
		return -ENOMEM;
	f = fopen(path ? path : "/proc/kallsyms", "re");
	if (!f) {
		err = -errno;
		goto out;
	}
	/*
	 * procfs says 1 KiB blocks: read it in fewer, larger pieces (glibc keeps
	 * its own block size unless it is handed the buffer)
	 */
	iobuf = malloc(1 << 16);
	if (iobuf)
		setvbuf(f, iobuf, _IOFBF, 1 << 16);
	while (getline(&line, &lsz, f) > 0) {
		uint64_t addr;
		uint32_t rank;
		char *name, *mod;
		size_t nlen, mlen;

		if (!parse_line(line, &addr, &rank, &name, &nlen, &mod, &mlen))
			continue;
		seen = true;
		if (!addr)
			continue; /* all of them, under kptr_restrict */
		nonzero = true;
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > MAX_SYMS) {
				err = -E2BIG;
				goto out;
			}
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		v[n].sym.addr = addr;
		v[n].rank = rank;
		v[n].idx = (uint32_t)n;
		v[n].sym.name = pool_add(ks, name, nlen);
		v[n].sym.module = NULL;
		if (mod) {
			/* consecutive lines share a module: keep one copy */
			if (!last_mod || strncmp(last_mod, mod, mlen) || last_mod[mlen])
				last_mod = pool_add(ks, mod, mlen);
			v[n].sym.module = last_mod;
		}
		if (!v[n].sym.name || (mod && !last_mod)) {
			err = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (ferror(f)) {
		err = -EIO;
		goto out;
	}
	ks->restricted = seen && !nonzero;
	if (n) {
		struct kt_ksym *syms = (struct kt_ksym *)(void *)v, *shrunk, sym;

		sort_entries(v, n);
		/*
		 * The table is built in the sorting array itself, each symbol
		 * moved down over entries already read (a symbol is smaller than
		 * an entry): a second array of 120,000+ symbols would add 3 MB to
		 * the peak of every command that names kernel addresses.
		 */
		for (i = 0, k = 0; i < n; i++) {
			memcpy(&sym, &v[i].sym, sizeof(sym));
			if (k && syms[k - 1].addr == sym.addr)
				continue; /* an alias; the best-ranked one came first */
			memcpy(&syms[k++], &sym, sizeof(sym));
		}
		/* kept as it is when it cannot shrink */
		ks->syms = syms;
		ks->n = k;
		v = NULL;
		shrunk = realloc(syms, k * sizeof(*syms));
		if (shrunk)
			ks->syms = shrunk;
	}
out:
	if (f)
		fclose(f);
	free(iobuf);
	free(line);
	free(v);
	if (err)
		kt_ksyms_free(ks);
	else
		*out = ks;
	return err;
}

void kt_ksyms_free(struct kt_ksyms *ks)
{
	struct block *b, *next;

	if (!ks)
		return;
	for (b = ks->blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	free(ks->syms);
	free(ks);
}

const struct kt_ksym *kt_ksyms_lookup(const struct kt_ksyms *ks, uint64_t addr, uint64_t *off)
{
	size_t lo;

	if (!ks || !ks->n)
		return NULL;
	lo = KT_SORTED_UPTO(ks->syms, ks->n, addr, addr);
	if (!lo)
		return NULL;
	if (off)
		*off = addr - ks->syms[lo - 1].addr;
	return &ks->syms[lo - 1];
}

const char *kt_ksyms_fmt(const struct kt_ksyms *ks, uint64_t addr, char *buf, size_t size,
			 const char **module)
{
	uint64_t off = 0;
	const struct kt_ksym *s = kt_ksyms_lookup(ks, addr, &off);

	if (module)
		*module = s ? s->module : NULL;
	if (!s)
		snprintf(buf, size, "0x%llx", (unsigned long long)addr);
	else if (off)
		snprintf(buf, size, "%s+0x%llx", s->name, (unsigned long long)off);
	else
		snprintf(buf, size, "%s", s->name);
	return buf;
}

bool kt_ksyms_restricted(const struct kt_ksyms *ks)
{
	return ks ? ks->restricted : true;
}

size_t kt_ksyms_count(const struct kt_ksyms *ks)
{
	return ks ? ks->n : 0;
}

struct kt_ksyms *kt_ksyms_lazy_get(struct kt_ksyms_lazy *l)
{
	if (!l->tried) {
		l->tried = true;
		kt_ksyms_load_or_warn(&l->ks, l->lost);
	}
	return l->ks;
}

int kt_ksyms_load_or_warn(struct kt_ksyms **out, const char *lost)
{
	int err = kt_ksyms_load(NULL, out);

	if (err) {
		*out = NULL;
		kt_warn("cannot read /proc/kallsyms (%s): %s", strerror(-err), lost);
	} else if (kt_ksyms_restricted(*out)) {
		kt_warn("/proc/kallsyms hides addresses (kernel.kptr_restrict): %s; run as root "
			"or with CAP_SYSLOG",
			lost);
	}
	return err;
}
