/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Names of a kernel enumeration's values, read from the running kernel's
 * BTF, so that a subcommand decodes values the way this kernel numbers them
 * (e.g. enum sk_rst_reason, which grows and renumbers between releases).
 */
#ifndef KT_BTF_ENUM_H
#define KT_BTF_ENUM_H

#include <stddef.h>

/*
 * Fills names[v] (strdup'd, the caller frees them) for each value 0 <= v < n
 * of enum @enum_name, dropping @prefix (may be NULL) from the front of each
 * name. Returns the number of names set, or -errno (-ENOENT: no such enum).
 * Call it from a descriptor's configure(): the run frees the kernel's BTF
 * before loading, and a later call would parse it again.
 */
int kt_btf_enum_names(const char *enum_name, const char *prefix, char **names, size_t n);

#endif
