/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The running kernel's BTF (/sys/kernel/btf/vmlinux) for ktrace's own few
 * questions before load: does a tracepoint or function exist, how many
 * arguments does a tracepoint pass, what are an enum's names. libbpf parses
 * the same 5-6 MB again to load (CO-RE), so this reader does as little as it
 * can: it maps the file (kernels since 6.16; older ones are read into a
 * buffer), checks the header, and builds one array of type offsets. It
 * takes 1-5 ms where a libbpf parse takes 10-15 ms, and the types are the
 * kernel's own struct btf_type records, so libbpf's inline accessors
 * (btf_vlen, btf_members, btf_enum...) work on them.
 */
#ifndef KT_KBTF_H
#define KT_KBTF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/btf.h>

struct kt_kbtf;

/* Opens @path (NULL: /sys/kernel/btf/vmlinux). 0 or -errno (-EINVAL: not BTF we can read). */
int kt_kbtf_open(const char *path, struct kt_kbtf **out);
/* Parses @size bytes at @data, which must stay valid and unchanged (tests). */
int kt_kbtf_from_mem(const void *data, size_t size, struct kt_kbtf **out);
void kt_kbtf_free(struct kt_kbtf *kb);

/* Id of the first type of @kind named @name, or -ENOENT. */
int kt_kbtf_find(const struct kt_kbtf *kb, const char *name, unsigned kind);
/* The type with this id (0 is void: NULL), or NULL if out of range. */
const struct btf_type *kt_kbtf_type(const struct kt_kbtf *kb, uint32_t id);
/* The string at @off in the string section, or NULL if out of range. */
const char *kt_kbtf_name(const struct kt_kbtf *kb, uint32_t off);
uint32_t kt_kbtf_ntypes(const struct kt_kbtf *kb);

/*
 * A BTF blob (malloc'd, *out and *out_len) of the kernel's types named in
 * @names (structs, unions, enums, typedefs, fwds, ints, floats; @names gets
 * sorted) and of what they contain, with every pointer pointing to void:
 * what libbpf needs to relocate CO-RE accesses rooted at those types, a few
 * hundred kB where the whole BTF is 5-6 MB and takes libbpf ~2 ms per
 * relocated type to search. 0 or -errno.
 */
int kt_kbtf_subset(const struct kt_kbtf *kb, const char **names, size_t nnames, void **out,
		   size_t *out_len);

#endif
