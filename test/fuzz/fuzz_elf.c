// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the ELF reader: any input must parse or be refused
 * without a crash, an out-of-bounds access or undefined behaviour, and
 * every result must be safe to use.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kt_elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_elf *elf = NULL;
	volatile size_t sink = 0;
	uint64_t off, vaddr;
	size_t i;

	if (kt_elf_open_mem(data, size, &elf))
		return 0;
	for (i = 0; i < elf->nsyms; i++) {
		sink += strlen(elf->syms[i].name);
		if (kt_elf_lookup(elf, elf->syms[i].addr + i, &off))
			sink += off;
	}
	for (i = 0; i < elf->nsegs; i++)
		if (!kt_elf_offset_to_vaddr(elf, elf->segs[i].offset + i, &vaddr))
			sink += vaddr;
	if (elf->debuglink)
		sink += strlen(elf->debuglink);
	sink += elf->build_id_len ? elf->build_id[elf->build_id_len - 1] : 0;
	(void)sink;
	kt_elf_free(elf);
	return 0;
}
