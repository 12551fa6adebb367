// SPDX-License-Identifier: GPL-2.0
/*
 * The common filters reach the BPF side through one read-only global,
 * "kt_filter" (probes/lib/kt.bpf.h), found by name in the object's BTF: a
 * command declares its filters and never copies them into its skeleton.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "opts.h"
#include "util.h"

/* The object's .rodata map (libbpf names it "<object prefix>.rodata"). */
static struct bpf_map *rodata_map(struct bpf_object *obj)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		const char *name = bpf_map__name(m);
		size_t n = strlen(name);

		if (bpf_map__is_internal(m) && n >= 7 && !strcmp(name + n - 7, ".rodata"))
			return m;
	}
	return NULL;
}

int kt_filter_write(struct kt_ctx *ctx)
{
	const struct btf *btf = bpf_object__btf(ctx->obj);
	struct bpf_map *m = rodata_map(ctx->obj);
	const struct btf_type *sec;
	const struct btf_var_secinfo *v;
	size_t size = 0;
	char *data;
	int id;

	if (!ctx->cmd->filters)
		return 0;
	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -ENOENT;
	/* before load it is the skeleton's writable copy (const in older libbpf headers) */
	data = m ? (char *)(uintptr_t)bpf_map__initial_value(m, &size) : NULL;
	if (id < 0 || !data)
		goto missing;
	sec = btf__type_by_id(btf, (uint32_t)id);
	v = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, v++) {
		const struct btf_type *var = btf__type_by_id(btf, v->type);

		if (!var || strcmp(btf__name_by_offset(btf, var->name_off), "kt_filter"))
			continue;
		if (v->size != sizeof(ctx->filter) || v->offset + v->size > size) {
			kt_err("the BPF object of %s has a kt_filter of %u bytes, ktrace expects %zu: "
			       "rebuild ktrace",
			       ctx->cmd->name, v->size, sizeof(ctx->filter));
			return -EINVAL;
		}
		memcpy(data + v->offset, &ctx->filter, sizeof(ctx->filter));
		return 0;
	}
missing:
	kt_err("the BPF object of %s declares filters but has no kt_filter global (its probe "
	       "must include kt.bpf.h and use a kt_filter_*() check)",
	       ctx->cmd->name);
	return -ENOENT;
}
