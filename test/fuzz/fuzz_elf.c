// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the ELF reader: any input must parse or be refused
 * without a crash, an out-of-bounds access or undefined behaviour, and
 * every result must be safe to use. An input that starts like an ELF is
 * also read as a file: the input followed by a 512 MB hole, so that
 * sections and string tables declared in the hole (a sparse "size bomb")
 * are reachable. The fuzz test runs with libFuzzer's -malloc_limit_mb: an
 * allocation sized by a declared size fails it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kt_elf.h"

#define HOLE (512ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use(struct kt_elf *elf);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_elf *elf = NULL;
	int fd;

	if (!kt_elf_open_mem(data, size, &elf))
		use(elf);
	if (size < 4 || memcmp(data, "\177ELF", 4))
		return 0;
	fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size && !ftruncate(fd, (off_t)(size + HOLE)) &&
	    !kt_elf_open_fd(fd, &elf))
		use(elf);
	close(fd);
	return 0;
}

static void use(struct kt_elf *elf)
{
	volatile size_t sink = 0;
	uint64_t off, vaddr;
	size_t i;

	if (elf->nsyms > KT_ELF_MAX_SYMS)
		__builtin_trap();
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
}
