// SPDX-License-Identifier: GPL-2.0
/* Draining BPF hash maps (see maps.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"

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

int kt_map_drain(int fd, size_t ks, size_t vs, bool del,
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

uint64_t kt_map_take_percpu_u64(int fd)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v, total = 0;
	uint32_t zero = 0;

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
	return total;
}
