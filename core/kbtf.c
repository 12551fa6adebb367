// SPDX-License-Identifier: GPL-2.0
/* The kernel's BTF, read with as little work as possible (see kbtf.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kbtf.h"

struct kt_kbtf {
	const uint8_t *data; /* the whole file */
	size_t size;
	bool mapped;	     /* data is an mmap of the file, else malloc'd (or borrowed) */
	bool owned;
	const uint8_t *types; /* type section */
	uint32_t types_len;
	const char *strs; /* string section */
	uint32_t strs_len;
	uint32_t *off;	  /* off[id - 1]: offset of type id in the type section */
	uint32_t n;	  /* number of types, void not counted */
};

/* Bytes that follow the common struct btf_type for a type of this kind, or -1. */
static long extra_bytes(const struct btf_type *t)
{
	uint32_t vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return (long)vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (long)vlen * sizeof(struct btf_enum);
	case BTF_KIND_ENUM64:
		return (long)vlen * sizeof(struct btf_enum64);
	case BTF_KIND_FUNC_PROTO:
		return (long)vlen * sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return (long)vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	default:
		return -1; /* a kind newer than this reader: its size is unknown */
	}
}

/* Checks the header and indexes the types; kb->data and kb->size are set. */
static int index_types(struct kt_kbtf *kb)
{
	const struct btf_header *h = (const void *)kb->data;
	uint64_t pos = 0;

	if (kb->size < sizeof(*h) || h->magic != BTF_MAGIC || h->version != BTF_VERSION ||
	    h->hdr_len < sizeof(*h) || h->hdr_len > kb->size)
		return -EINVAL;
	if ((uint64_t)h->hdr_len + h->type_off + h->type_len > kb->size ||
	    (uint64_t)h->hdr_len + h->str_off + h->str_len > kb->size || h->str_len == 0 ||
	    h->type_off % 4)
		return -EINVAL;
	kb->types = kb->data + h->hdr_len + h->type_off;
	kb->types_len = h->type_len;
	kb->strs = (const char *)kb->data + h->hdr_len + h->str_off;
	kb->strs_len = h->str_len;
	if (kb->strs[kb->strs_len - 1] != '\0')
		return -EINVAL;
	/*
	 * Every type takes at least sizeof(struct btf_type) bytes: one
	 * allocation for the most there can be (pages never written to are
	 * never resident).
	 */
	kb->off = malloc((kb->types_len / sizeof(struct btf_type) + 1) * sizeof(*kb->off));
	if (!kb->off)
		return -ENOMEM;
	while (pos + sizeof(struct btf_type) <= kb->types_len) {
		const struct btf_type *t = (const void *)(kb->types + pos);
		long extra = extra_bytes(t);

		if (extra < 0)
			return -EINVAL;
		kb->off[kb->n++] = (uint32_t)pos;
		pos += sizeof(struct btf_type) + (uint64_t)extra;
	}
	return pos == kb->types_len ? 0 : -EINVAL;
}

static int finish(struct kt_kbtf *kb, struct kt_kbtf **out)
{
	int err = index_types(kb);

	if (err) {
		kt_kbtf_free(kb);
		return err;
	}
	*out = kb;
	return 0;
}

int kt_kbtf_from_mem(const void *data, size_t size, struct kt_kbtf **out)
{
	struct kt_kbtf *kb = calloc(1, sizeof(*kb));

	*out = NULL;
	if (!kb)
		return -ENOMEM;
	kb->data = data;
	kb->size = size;
	return finish(kb, out);
}

int kt_kbtf_open(const char *path, struct kt_kbtf **out)
{
	struct kt_kbtf *kb;
	struct stat st;
	uint8_t *buf;
	size_t len = 0;
	int fd, err;

	*out = NULL;
	fd = open(path ? path : "/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > (256 << 20)) {
		close(fd);
		return -EINVAL;
	}
	kb = calloc(1, sizeof(*kb));
	if (!kb) {
		close(fd);
		return -ENOMEM;
	}
	kb->size = (size_t)st.st_size;
	/* sysfs maps the kernel's BTF read-only since 6.16: no copy at all */
	buf = mmap(NULL, kb->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (buf != MAP_FAILED) {
		kb->data = buf;
		kb->mapped = true;
		close(fd);
		return finish(kb, out);
	}
	buf = malloc(kb->size);
	if (!buf) {
		close(fd);
		free(kb);
		return -ENOMEM;
	}
	kb->data = buf;
	kb->owned = true;
	while (len < kb->size) {
		ssize_t r = read(fd, buf + len, kb->size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? -errno : -EIO;
			close(fd);
			kt_kbtf_free(kb);
			return err;
		}
		len += (size_t)r;
	}
	close(fd);
	return finish(kb, out);
}

void kt_kbtf_free(struct kt_kbtf *kb)
{
	if (!kb)
		return;
	if (kb->mapped)
		munmap((void *)kb->data, kb->size);
	else if (kb->owned)
		free((void *)kb->data);
	free(kb->off);
	free(kb);
}

const struct btf_type *kt_kbtf_type(const struct kt_kbtf *kb, uint32_t id)
{
	if (!kb || id == 0 || id > kb->n)
		return NULL;
	return (const void *)(kb->types + kb->off[id - 1]);
}

const char *kt_kbtf_name(const struct kt_kbtf *kb, uint32_t off)
{
	return kb && off < kb->strs_len ? kb->strs + off : NULL;
}

uint32_t kt_kbtf_ntypes(const struct kt_kbtf *kb)
{
	return kb ? kb->n : 0;
}

int kt_kbtf_find(const struct kt_kbtf *kb, const char *name, unsigned kind)
{
	if (!kb)
		return -ENOENT;
	for (uint32_t i = 0; i < kb->n; i++) {
		const struct btf_type *t = (const void *)(kb->types + kb->off[i]);

		if (BTF_INFO_KIND(t->info) == kind && t->name_off < kb->strs_len &&
		    !strcmp(kb->strs + t->name_off, name))
			return (int)(i + 1);
	}
	return -ENOENT;
}

/* ---- a subset for libbpf's CO-RE relocations (see kt_kbtf_subset) ---- */

struct subset {
	const struct kt_kbtf *kb;
	uint32_t *newid; /* newid[id]: the id in the subset, 0: not in it */
	uint32_t *todo, ntodo;
	uint32_t n;
	uint64_t filter[65536 / 64]; /* bit name_hash() of every name asked for */
};

static void want(struct subset *s, uint32_t id)
{
	if (id == 0 || id > s->kb->n || s->newid[id])
		return;
	s->newid[id] = UINT32_MAX; /* in, numbered later */
	s->todo[s->ntodo++] = id;
}

/* Types a type needs in the subset: everything but what pointers point to. */
static void want_refs(struct subset *s, const struct btf_type *t)
{
	uint32_t vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		const struct btf_member *m = (const void *)(t + 1);

		for (uint32_t i = 0; i < vlen; i++)
			want(s, m[i].type);
		break;
	}
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = (const void *)(t + 1);

		want(s, a->type);
		want(s, a->index_type);
		break;
	}
	case BTF_KIND_FUNC_PROTO: {
		const struct btf_param *p = (const void *)(t + 1);

		want(s, t->type);
		for (uint32_t i = 0; i < vlen; i++)
			want(s, p[i].type);
		break;
	}
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		want(s, t->type);
		break;
	default: /* int, float, enums, fwd; ptr: see kt_kbtf_subset */
		break;
	}
}

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int put(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

/* A copy of the string at off in the subset's string section; its offset, or -errno. */
static long put_str(const struct kt_kbtf *kb, struct buf *strs, uint32_t off)
{
	const char *str = kt_kbtf_name(kb, off);
	long at = (long)strs->len;

	if (!str)
		return -EINVAL;
	if (!*str)
		return 0;
	return put(strs, str, strlen(str) + 1) ?: at;
}

static bool root_kind(unsigned kind)
{
	return kind == BTF_KIND_STRUCT || kind == BTF_KIND_UNION || kind == BTF_KIND_ENUM ||
	       kind == BTF_KIND_ENUM64 || kind == BTF_KIND_TYPEDEF || kind == BTF_KIND_FWD ||
	       kind == BTF_KIND_INT || kind == BTF_KIND_FLOAT;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* FNV-1a, folded to 16 bits: a filter in front of the name search */
static uint16_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (uint16_t)(h ^ (h >> 16));
}

int kt_kbtf_subset(const struct kt_kbtf *kb, const char **names, size_t nnames, void **out,
		   size_t *out_len)
{
	static struct subset s; /* the filter is 8 kB: not on the stack */
	struct buf types = {}, strs = {};
	struct btf_header h = { .magic = BTF_MAGIC, .version = BTF_VERSION, .hdr_len = sizeof(h) };
	uint8_t *blob;
	int err = -ENOMEM;

	memset(&s, 0, sizeof(s));
	s.kb = kb;
	*out = NULL;
	*out_len = 0;
	s.newid = calloc((size_t)kb->n + 1, sizeof(*s.newid));
	s.todo = malloc(((size_t)kb->n + 1) * sizeof(*s.todo));
	if (!s.newid || !s.todo)
		goto out;
	qsort(names, nnames, sizeof(*names), cmp_str);
	for (size_t i = 0; i < nnames; i++) {
		uint16_t h = name_hash(names[i]);

		s.filter[h / 64] |= 1ULL << (h % 64);
	}
	/* every type of a root kind whose name is asked for, and what it needs */
	for (uint32_t id = 1; id <= kb->n; id++) {
		const struct btf_type *t = kt_kbtf_type(kb, id);
		const char *name;
		uint16_t h;

		if (!t->name_off || !root_kind(BTF_INFO_KIND(t->info)))
			continue;
		name = kt_kbtf_name(kb, t->name_off);
		if (!name)
			continue;
		h = name_hash(name);
		if ((s.filter[h / 64] >> (h % 64) & 1) &&
		    bsearch(&name, names, nnames, sizeof(*names), cmp_str))
			want(&s, id);
	}
	for (uint32_t i = 0; i < s.ntodo; i++)
		want_refs(&s, kt_kbtf_type(kb, s.todo[i]));
	/* ids in the kernel's order */
	for (uint32_t id = 1; id <= kb->n; id++)
		if (s.newid[id])
			s.newid[id] = ++s.n;
	err = put(&strs, "", 1);
	for (uint32_t id = 1; id <= kb->n && !err; id++) {
		const struct btf_type *t = kt_kbtf_type(kb, id);
		uint32_t vlen = BTF_INFO_VLEN(t->info), kind = BTF_INFO_KIND(t->info);
		struct btf_type nt = *t;
		size_t at = types.len;
		long name;

		if (!s.newid[id])
			continue;
		name = put_str(kb, &strs, t->name_off);
		if (name < 0) {
			err = (int)name;
			break;
		}
		nt.name_off = (uint32_t)name;
		/*
		 * A pointer points to void: CO-RE compares pointer fields by
		 * kind only and relocates what they point to from its own root,
		 * so the pointee's closure (most of the kernel) stays out.
		 */
		if (kind == BTF_KIND_PTR)
			nt.type = 0;
		else if (kind == BTF_KIND_TYPEDEF || kind == BTF_KIND_VOLATILE ||
			 kind == BTF_KIND_CONST || kind == BTF_KIND_RESTRICT ||
			 kind == BTF_KIND_TYPE_TAG || kind == BTF_KIND_FUNC_PROTO)
			nt.type = s.newid[t->type < kb->n + 1 ? t->type : 0];
		err = put(&types, &nt, sizeof(nt));
		if (err)
			break;
		err = put(&types, t + 1, (size_t)extra_bytes(t));
		if (err)
			break;
		/* fix up what follows: type ids and names */
		if (kind == BTF_KIND_STRUCT || kind == BTF_KIND_UNION) {
			struct btf_member *m = (void *)(types.p + at + sizeof(nt));

			for (uint32_t i = 0; i < vlen && !err; i++) {
				name = put_str(kb, &strs, m[i].name_off);
				if (name < 0)
					err = (int)name;
				m[i].name_off = (uint32_t)(name < 0 ? 0 : name);
				m[i].type = m[i].type <= kb->n ? s.newid[m[i].type] : 0;
			}
		} else if (kind == BTF_KIND_ENUM) {
			struct btf_enum *e = (void *)(types.p + at + sizeof(nt));

			for (uint32_t i = 0; i < vlen && !err; i++) {
				name = put_str(kb, &strs, e[i].name_off);
				if (name < 0)
					err = (int)name;
				e[i].name_off = (uint32_t)(name < 0 ? 0 : name);
			}
		} else if (kind == BTF_KIND_ENUM64) {
			struct btf_enum64 *e = (void *)(types.p + at + sizeof(nt));

			for (uint32_t i = 0; i < vlen && !err; i++) {
				name = put_str(kb, &strs, e[i].name_off);
				if (name < 0)
					err = (int)name;
				e[i].name_off = (uint32_t)(name < 0 ? 0 : name);
			}
		} else if (kind == BTF_KIND_ARRAY) {
			struct btf_array *a = (void *)(types.p + at + sizeof(nt));

			a->type = a->type <= kb->n ? s.newid[a->type] : 0;
			a->index_type = a->index_type <= kb->n ? s.newid[a->index_type] : 0;
		} else if (kind == BTF_KIND_FUNC_PROTO) {
			struct btf_param *p = (void *)(types.p + at + sizeof(nt));

			for (uint32_t i = 0; i < vlen && !err; i++) {
				name = put_str(kb, &strs, p[i].name_off);
				if (name < 0)
					err = (int)name;
				p[i].name_off = (uint32_t)(name < 0 ? 0 : name);
				p[i].type = p[i].type <= kb->n ? s.newid[p[i].type] : 0;
			}
		}
	}
	if (err)
		goto out;
	h.type_off = 0;
	h.type_len = (uint32_t)types.len;
	h.str_off = (uint32_t)types.len;
	h.str_len = (uint32_t)strs.len;
	blob = malloc(sizeof(h) + types.len + strs.len);
	if (!blob) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(blob, &h, sizeof(h));
	memcpy(blob + sizeof(h), types.p, types.len);
	memcpy(blob + sizeof(h) + types.len, strs.p, strs.len);
	*out = blob;
	*out_len = sizeof(h) + types.len + strs.len;
out:
	free(types.p);
	free(strs.p);
	free(s.newid);
	free(s.todo);
	return err;
}
