// SPDX-License-Identifier: GPL-2.0
/* Draining BPF hash maps (see maps.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"
#include "tape.h"
#include "util.h"

#define BATCH 256

static int drain_batch(int fd, size_t ks, size_t vs, bool del,
		       int (*fn)(const void *, const void *, void *), void *arg)
{
	char *keys = malloc(BATCH * ks), *vals = malloc(BATCH * vs);
	void *in = NULL, *outb = malloc(ks < 8 ? 8 : ks);
	int total = 0, err = 0;

	if (!keys || !vals || !outb) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 n = BATCH;
		int r = del ? bpf_map_lookup_and_delete_batch(fd, in, outb, keys, vals, &n, NULL)
			    : bpf_map_lookup_batch(fd, in, outb, keys, vals, &n, NULL);
		int e = r ? -errno : 0;

		if (e && e != -ENOENT) {
			/* nothing consumed yet: let the caller fall back */
			err = total ? e : -EOPNOTSUPP;
			break;
		}
		for (__u32 i = 0; i < n; i++) {
			err = fn(keys + i * ks, vals + i * vs, arg);
			if (err)
				goto out;
		}
		total += (int)n;
		if (e == -ENOENT)
			break;
		in = outb;
	}
out:
	free(keys);
	free(vals);
	free(outb);
	return err ? err : total;
}

static int drain_kernel(int fd, size_t ks, size_t vs, bool del,
			int (*fn)(const void *key, const void *value, void *arg), void *arg)
{
	char *key = calloc(1, ks), *next = calloc(1, ks), *val = calloc(1, vs);
	int n = drain_batch(fd, ks, vs, del, fn, arg), err = 0;
	bool first = true;

	if (n != -EOPNOTSUPP && n != -EINVAL)
		goto out;
	n = 0;
	if (!key || !next || !val) {
		n = -ENOMEM;
		goto out;
	}
	/* one at a time: read all keys first when deleting, as deletion breaks iteration */
	while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
		first = false;
		if (bpf_map_lookup_elem(fd, next, val) == 0) {
			err = fn(next, val, arg);
			if (err) {
				n = err;
				goto out;
			}
			n++;
		}
		if (del)
			bpf_map_delete_elem(fd, next);
		if (del) {
			first = true; /* restart from the beginning after a delete */
			continue;
		}
		memcpy(key, next, ks);
	}
out:
	free(key);
	free(next);
	free(val);
	return n;
}

/* ---- the tape (core/tape.h): what each drain read, for a replay ---- */

struct tape_map_hdr {
	uint32_t ks, vs, n;
};

struct recorder {
	char *buf;
	size_t len, cap, ks, vs;
	uint32_t n;
	bool nomem;
};

static int record_one(const void *key, const void *val, void *arg)
{
	struct recorder *r = arg;

	if (!r->nomem && r->cap - r->len < r->ks + r->vs) {
		size_t cap = r->cap ? 2 * r->cap : 64 * (r->ks + r->vs);
		char *p = realloc(r->buf, cap);

		if (p) {
			r->buf = p;
			r->cap = cap;
		} else {
			r->nomem = true;
		}
	}
	if (r->nomem)
		return -ENOMEM;
	memcpy(r->buf + r->len, key, r->ks);
	memcpy(r->buf + r->len + r->ks, val, r->vs);
	r->len += r->ks + r->vs;
	r->n++;
	return 0;
}

/* fn on each of n packed (key, value) entries, through aligned copies: callbacks cast them to structs. */
static int each_packed(const char *p, uint32_t n, size_t ks, size_t vs,
		       int (*fn)(const void *key, const void *value, void *arg), void *arg)
{
	char *key = malloc(ks ? ks : 1), *val = malloc(vs ? vs : 1);
	int err = 0;

	if (!key || !val)
		err = -ENOMEM;
	for (uint32_t i = 0; !err && i < n; i++, p += ks + vs) {
		memcpy(key, p, ks);
		memcpy(val, p + ks, vs);
		err = fn(key, val, arg);
	}
	free(key);
	free(val);
	return err;
}

static int replay_drain(size_t ks, size_t vs,
			int (*fn)(const void *key, const void *value, void *arg), void *arg)
{
	struct tape_map_hdr h;
	size_t len;
	const char *p = kt_tape_take(KT_TAPE_MAP, &len);
	int err;

	if (!p)
		return 0;
	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, p, sizeof(h));
	if (h.ks != ks || h.vs != vs || len - sizeof(h) != (size_t)h.n * (ks + vs)) {
		kt_err("the tape's map entries are %u+%u bytes where this replay reads %zu+%zu "
		       "(recorded by another version, or on a machine with another number of CPUs)",
		       h.ks, h.vs, ks, vs);
		return -EINVAL;
	}
	err = each_packed(p + sizeof(h), h.n, ks, vs, fn, arg);
	return err ? err : (int)h.n;
}

int kt_map_drain(int fd, size_t ks, size_t vs, bool del,
		 int (*fn)(const void *key, const void *value, void *arg), void *arg)
{
	struct recorder r = { .ks = ks, .vs = vs };
	struct tape_map_hdr h;
	int n;

	if (kt_tape_replaying())
		return replay_drain(ks, vs, fn, arg);
	if (!kt_tape_recording())
		return drain_kernel(fd, ks, vs, del, fn, arg);
	/*
	 * All entries first, then the callbacks: what a callback reads (a stack
	 * by its id: kt_map_lookup) comes after the drain on the tape, in the
	 * order a replay asks for it.
	 */
	n = drain_kernel(fd, ks, vs, del, record_one, &r);
	if (n >= 0 && r.nomem)
		n = -ENOMEM;
	h = (struct tape_map_hdr){ (uint32_t)ks, (uint32_t)vs, n < 0 ? 0 : r.n };
	kt_tape_put2(KT_TAPE_MAP, &h, sizeof(h), r.buf, n < 0 ? 0 : r.len);
	if (n >= 0) {
		int err = each_packed(r.buf, r.n, ks, vs, fn, arg);

		if (err)
			n = err;
	}
	free(r.buf);
	return n;
}

int kt_map_lookup(int fd, const void *key, void *value, size_t vs)
{
	int32_t res;
	size_t len;
	const char *p;

	if (kt_tape_replaying()) {
		p = kt_tape_take(KT_TAPE_LOOKUP, &len);
		if (!p || len != sizeof(res) + vs)
			return -ENOENT;
		memcpy(&res, p, sizeof(res));
		memcpy(value, p + sizeof(res), vs);
		return res;
	}
	res = bpf_map_lookup_elem(fd, key, value) ? -errno : 0;
	if (kt_tape_recording())
		kt_tape_put2(KT_TAPE_LOOKUP, &res, sizeof(res), value, vs);
	return res;
}

struct collect {
	char *v;
	size_t n, cap;
	size_t ks, vs, esz, voff;
};

static int collect_one(const void *key, const void *val, void *arg)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		char *p = realloc(c->v, cap * c->esz);

		if (!p)
			return -ENOMEM;
		c->v = p;
		c->cap = cap;
	}
	memset(c->v + c->n * c->esz, 0, c->esz);
	memcpy(c->v + c->n * c->esz, key, c->ks);
	memcpy(c->v + c->n * c->esz + c->voff, val, c->vs);
	c->n++;
	return 0;
}

int kt_map_collect(int fd, size_t ks, size_t vs, size_t entry_size, size_t value_off, bool del,
		   int (*cmp)(const void *a, const void *b), void **out)
{
	struct collect c = { NULL, 0, 0, ks, vs, entry_size, value_off };
	int n;

	*out = NULL;
	if (value_off < ks || value_off + vs > entry_size)
		return -EINVAL;
	n = kt_map_drain(fd, ks, vs, del, collect_one, &c);
	if (n < 0) {
		free(c.v);
		return n;
	}
	if (cmp && c.n > 1)
		qsort(c.v, c.n, entry_size, cmp);
	*out = c.v;
	return (int)c.n;
}

int kt_map_percpu_fold(int fd, uint32_t n, size_t vs,
		       void (*fold)(void *acc, const void *value, void *arg), void *arg, void *out)
{
	int ncpu = libbpf_num_possible_cpus();
	int32_t res = 0;
	const char *p;
	char *v;
	size_t len;

	if (kt_tape_replaying()) {
		p = kt_tape_take(KT_TAPE_LOOKUP, &len);
		if (!p || len != sizeof(res) + (size_t)n * vs)
			return -ENOENT;
		memcpy(&res, p, sizeof(res));
		memcpy(out, p + sizeof(res), (size_t)n * vs);
		return res;
	}
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	if (vs % 8)
		return -EINVAL;
	v = calloc((size_t)ncpu, vs);
	if (!v)
		return -ENOMEM;
	memset(out, 0, (size_t)n * vs);
	for (uint32_t i = 0; i < n && !res; i++) {
		if (bpf_map_lookup_elem(fd, &i, v)) {
			res = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			fold((char *)out + (size_t)i * vs, v + (size_t)c * vs, arg);
	}
	free(v);
	if (kt_tape_recording())
		kt_tape_put2(KT_TAPE_LOOKUP, &res, sizeof(res), out, (size_t)n * vs);
	return res;
}

uint64_t kt_map_take_percpu_u64(int fd)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v, total = 0;
	uint32_t zero = 0;
	size_t len;
	const void *p;

	if (kt_tape_replaying()) {
		p = kt_tape_take(KT_TAPE_U64, &len);
		if (p && len == sizeof(total))
			memcpy(&total, p, sizeof(total));
		return total;
	}
	if (ncpu <= 0)
		return 0;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return 0;
	if (!bpf_map_lookup_elem(fd, &zero, v)) {
		for (int i = 0; i < ncpu; i++)
			total += v[i];
		memset(v, 0, (size_t)ncpu * sizeof(*v));
		bpf_map_update_elem(fd, &zero, v, BPF_ANY);
	}
	free(v);
	if (kt_tape_recording())
		kt_tape_put(KT_TAPE_U64, &total, sizeof(total));
	return total;
}
