/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Embedded BPF objects, compressed. Each skeleton's NAME__elf_bytes() is
 * rewritten at build time (cmake/bpf_embed.cmake) to hand its gzip image to
 * kt_bpf_inflate(), so the binary carries ~25 % of the objects' bytes.
 */
#ifndef KT_BPFZ_H
#define KT_BPFZ_H

#include <stddef.h>

/*
 * The object of a gzip image z[0..zlen) that inflates to exactly raw bytes;
 * *sz is set to raw. The copy stays valid until kt_bpf_inflate_release().
 * NULL (and *sz = 0, a diagnostic on stderr) when it cannot be unpacked.
 */
const void *kt_bpf_inflate(const unsigned char *z, size_t zlen, size_t raw, size_t *sz);
/* Frees every unpacked copy: libbpf needs them only until the object is loaded. */
void kt_bpf_inflate_release(void);

#endif
