// SPDX-License-Identifier: GPL-2.0
/* perf-PID.map reader with bounded memory (see perfmap.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perfmap.h"
#include "sorted.h"

#define CHUNK 65536U

struct parser {
	struct kt_perfmap *pm;
	size_t cap;	   /* of pm->syms */
	size_t ncap;	   /* of pm->names */
	size_t nlen;	   /* bytes used in pm->names */
	char line[KT_PERFMAP_MAX_LINE + 1];
	size_t llen;
	bool overlong; /* the current line is past KT_PERFMAP_MAX_LINE: skip to its end */
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A hex number (optional 0x) followed by one space; false if malformed or over 64 bits. */
static bool parse_hex(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	int digits = 0, d;

	*v = 0;
	if (end - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (s < end && (d = hexval(*s)) >= 0) {
		if (*v >> 60)
			return false;
		*v = *v << 4 | (uint64_t)d;
		s++;
		digits++;
	}
	if (!digits || s >= end || *s != ' ')
		return false;
	*p = s + 1;
	return true;
}

static int add_line(struct parser *ps, const char *line, size_t len)
{
	struct kt_perfmap *pm = ps->pm;
	const char *p = line, *end = line + len;
	uint64_t start, size;
	size_t nlen;

	if (!parse_hex(&p, end, &start) || !parse_hex(&p, end, &size) || !size || p >= end)
		return 0;
	nlen = (size_t)(end - p);
	if (memchr(p, '\0', nlen))
		return 0;
	if (pm->n >= KT_PERFMAP_MAX_SYMS || ps->nlen + nlen + 1 > KT_PERFMAP_MAX_NAMES) {
		pm->dropped++;
		pm->truncated = true;
		return 0;
	}
	if (pm->n == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 256;
		struct kt_perfmap_sym *v;

		if (ncap > KT_PERFMAP_MAX_SYMS)
			ncap = KT_PERFMAP_MAX_SYMS;
		v = realloc(pm->syms, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		pm->syms = v;
		ps->cap = ncap;
	}
	if (ps->nlen + nlen + 1 > ps->ncap) {
		size_t ncap = ps->ncap ? ps->ncap : 4096;
		char *v;

		while (ncap < ps->nlen + nlen + 1)
			ncap *= 2;
		if (ncap > KT_PERFMAP_MAX_NAMES)
			ncap = KT_PERFMAP_MAX_NAMES;
		v = realloc(pm->names, ncap);
		if (!v)
			return -ENOMEM;
		pm->names = v;
		ps->ncap = ncap;
	}
	memcpy(pm->names + ps->nlen, p, nlen);
	pm->names[ps->nlen + nlen] = '\0';
	pm->syms[pm->n].start = start;
	pm->syms[pm->n].size = size;
	/* an offset until the names stop moving (see finish) */
	pm->syms[pm->n].name = (const char *)(uintptr_t)ps->nlen;
	pm->syms[pm->n].idx = (uint32_t)pm->n;
	pm->n++;
	ps->nlen += nlen + 1;
	return 0;
}

/* Feed @len bytes; lines may span calls. */
static int feed(struct parser *ps, const char *buf, size_t len)
{
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) : len;
		int err;

		if (!ps->overlong) {
			if (ps->llen + take > KT_PERFMAP_MAX_LINE) {
				ps->overlong = true;
				ps->llen = 0;
			} else {
				memcpy(ps->line + ps->llen, buf, take);
				ps->llen += take;
			}
		}
		if (!nl)
			return 0;
		if (ps->overlong) {
			ps->pm->dropped++;
			ps->pm->truncated = true;
		} else {
			err = add_line(ps, ps->line, ps->llen);
			if (err)
				return err;
		}
		ps->llen = 0;
		ps->overlong = false;
		buf = nl + 1;
		len -= take + 1;
	}
	return 0;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct kt_perfmap_sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* the later line wins, so sort it first */
	return x->idx > y->idx ? -1 : x->idx < y->idx;
}

static int finish(struct parser *ps)
{
	struct kt_perfmap *pm = ps->pm;
	size_t i, k;
	int err = 0;

	/* a last line without a newline still counts */
	if (ps->llen && !ps->overlong)
		err = add_line(ps, ps->line, ps->llen);
	if (err)
		return err;
	pm->mem = sizeof(*pm) + ps->cap * sizeof(*pm->syms) + ps->ncap;
	for (i = 0; i < pm->n; i++)
		pm->syms[i].name = pm->names + (uintptr_t)pm->syms[i].name;
	if (!pm->n)
		return 0;
	qsort(pm->syms, pm->n, sizeof(*pm->syms), cmp_sym);
	for (i = 0, k = 0; i < pm->n; i++)
		if (!k || pm->syms[k - 1].start != pm->syms[i].start)
			pm->syms[k++] = pm->syms[i];
	pm->n = k;
	return 0;
}

static int begin(struct parser *ps, struct kt_perfmap **out)
{
	*out = NULL;
	memset(ps, 0, sizeof(*ps));
	ps->pm = calloc(1, sizeof(*ps->pm));
	return ps->pm ? 0 : -ENOMEM;
}

static int end(struct parser *ps, int err, struct kt_perfmap **out)
{
	if (!err)
		err = finish(ps);
	if (err) {
		kt_perfmap_free(ps->pm);
		return err;
	}
	*out = ps->pm;
	return 0;
}

int kt_perfmap_read_fd(int fd, struct kt_perfmap **out)
{
	struct parser ps;
	char *buf;
	int err = begin(&ps, out);

	if (err)
		return err;
	buf = malloc(CHUNK);
	if (!buf)
		return end(&ps, -ENOMEM, out);
	for (;;) {
		size_t want = CHUNK;
		ssize_t r;

		if (ps.pm->bytes >= KT_PERFMAP_MAX_BYTES) {
			/* one byte more tells a file of exactly the cap from a longer one */
			r = read(fd, buf, 1);
			if (r > 0)
				ps.pm->truncated = true;
			break;
		}
		if (KT_PERFMAP_MAX_BYTES - ps.pm->bytes < want)
			want = (size_t)(KT_PERFMAP_MAX_BYTES - ps.pm->bytes);
		r = read(fd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		ps.pm->bytes += (uint64_t)r;
		err = feed(&ps, buf, (size_t)r);
		if (err)
			break;
	}
	free(buf);
	return end(&ps, err, out);
}

int kt_perfmap_parse_mem(const char *buf, size_t len, struct kt_perfmap **out)
{
	struct parser ps;
	int err = begin(&ps, out);

	if (err)
		return err;
	if (len > KT_PERFMAP_MAX_BYTES) {
		len = (size_t)KT_PERFMAP_MAX_BYTES;
		ps.pm->truncated = true;
	}
	ps.pm->bytes = len;
	return end(&ps, feed(&ps, buf, len), out);
}

void kt_perfmap_free(struct kt_perfmap *pm)
{
	if (!pm)
		return;
	free(pm->syms);
	free(pm->names);
	free(pm);
}

const struct kt_perfmap_sym *kt_perfmap_lookup(const struct kt_perfmap *pm, uint64_t addr)
{
	size_t lo;

	if (!pm || !pm->n)
		return NULL;
	lo = KT_SORTED_UPTO(pm->syms, pm->n, start, addr);
	if (!lo || addr - pm->syms[lo - 1].start >= pm->syms[lo - 1].size)
		return NULL;
	return &pm->syms[lo - 1];
}
