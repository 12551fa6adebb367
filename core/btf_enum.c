// SPDX-License-Identifier: GPL-2.0
/* Kernel enumeration names from BTF (see btf_enum.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "btf_enum.h"
#include "features.h"
#include "kbtf.h"

int kt_btf_enum_names(const char *enum_name, const char *prefix, char **names, size_t n)
{
	const struct kt_kbtf *btf = kt_vmlinux_btf();
	size_t plen = prefix ? strlen(prefix) : 0;
	const struct btf_type *t;
	const struct btf_enum *e;
	int id, set = 0;

	if (!btf)
		return -ENOENT;
	id = kt_kbtf_find(btf, enum_name, BTF_KIND_ENUM);
	if (id < 0)
		return -ENOENT;
	t = kt_kbtf_type(btf, (uint32_t)id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, e++) {
		const char *name = kt_kbtf_name(btf, e->name_off);

		/* aliases (e.g. a _MAX equal to the last value) keep the first name */
		if (!name || e->val < 0 || (size_t)e->val >= n || names[e->val])
			continue;
		if (plen && !strncmp(name, prefix, plen))
			name += plen;
		names[e->val] = strdup(name);
		if (!names[e->val])
			return -ENOMEM;
		set++;
	}
	return set;
}
