/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CO-RE against a subset of the kernel's BTF (kbtf.h) instead of all of it.
 * libbpf 1.1 searches the whole vmlinux BTF once per relocated type (~2 ms
 * each here) and, for an object whose programs are not BTF-typed (tracepoint,
 * perf_event, kprobe), parses 5-6 MB of BTF (~11 MB of memory) only for
 * CO-RE. Given a custom BTF path, it uses that file instead: a memfd that
 * kt_core_btf_prepare() fills, before load, with the kernel's types that the
 * object's own BTF names, and what they contain.
 *
 *   open:  skel__open_opts(kt_core_btf_opts())   (KT_SKEL_OPEN does it)
 *   before load: kt_core_btf_prepare(obj)
 *
 * If the subset cannot be made, the memfd gets the whole kernel BTF: the
 * same relocations as without it, only no faster.
 */
#ifndef KT_COREBTF_H
#define KT_COREBTF_H

#include <bpf/libbpf.h>

/* Open options with btf_custom_path set to the memfd (none if it cannot be made). */
const struct bpf_object_open_opts *kt_core_btf_opts(void);
/* Fills the memfd for @obj; 0 or -errno (then loading will fail: say why). */
int kt_core_btf_prepare(struct bpf_object *obj);

#endif
