// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the perf map reader: any input parses or is refused
 * without a crash, an out-of-bounds access or undefined behaviour, every
 * entry is usable, and memory stays within the caps of perfmap.h. The input
 * is read twice: from memory, and as a file descriptor whose file is the
 * input followed by a hole of 96 MB (a sparse "size bomb": the reader must
 * stop at KT_PERFMAP_MAX_BYTES and say it was cut). The fuzz test runs with
 * libFuzzer's -malloc_limit_mb, so one allocation over the limit fails it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "perfmap.h"

#define HOLE (96ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use(const struct kt_perfmap *pm)
{
	volatile size_t sink = 0;
	size_t i;

	if (pm->n > KT_PERFMAP_MAX_SYMS || pm->mem > 3 * (size_t)KT_PERFMAP_MAX_NAMES)
		abort();
	for (i = 0; i < pm->n; i++) {
		const struct kt_perfmap_sym *s = kt_perfmap_lookup(pm, pm->syms[i].start);

		if (!s || (i && pm->syms[i].start <= pm->syms[i - 1].start))
			abort();
		sink += strlen(pm->syms[i].name) + s->size;
	}
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_perfmap *pm = NULL;
	int fd;

	if (!kt_perfmap_parse_mem((const char *)data, size, &pm)) {
		use(pm);
		kt_perfmap_free(pm);
	}
	fd = memfd_create("fuzz_perfmap", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size && !ftruncate(fd, (off_t)(size + HOLE)) &&
	    !lseek(fd, 0, SEEK_SET) && !kt_perfmap_read_fd(fd, &pm)) {
		use(pm);
		if (!pm->truncated && size + HOLE > KT_PERFMAP_MAX_BYTES)
			abort(); /* a cut must be reported */
		kt_perfmap_free(pm);
	}
	close(fd);
	return 0;
}
