// SPDX-License-Identifier: GPL-2.0
/* Unpacking the embedded (gzip) BPF objects: see bpfz.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bpfz.h"
#include "util.h"

struct unpacked {
	struct unpacked *next;
	unsigned char data[];
};

static struct unpacked *unpacked;

const void *kt_bpf_inflate(const unsigned char *z, size_t zlen, size_t raw, size_t *sz)
{
	z_stream s;
	struct unpacked *u;
	int err;

	*sz = 0;
	if (zlen > UINT32_MAX || raw > UINT32_MAX)
		return NULL;
	u = malloc(sizeof(*u) + raw + 1);
	if (!u) {
		kt_err("cannot unpack an embedded BPF object: out of memory (%zu bytes)", raw);
		return NULL;
	}
	memset(&s, 0, sizeof(s));
	s.next_in = (unsigned char *)z;
	s.avail_in = (uInt)zlen;
	s.next_out = u->data;
	/* one byte of room more than expected: a longer image is an error, not a truncation */
	s.avail_out = (uInt)raw + 1;
	/* 15 + 16: a gzip stream with the largest window */
	err = inflateInit2(&s, 15 + 16);
	if (err == Z_OK) {
		err = inflate(&s, Z_FINISH);
		inflateEnd(&s);
	}
	if (err != Z_STREAM_END || s.total_out != raw) {
		kt_err("cannot unpack an embedded BPF object (zlib: %s, %lu of %zu bytes): the binary is damaged",
		       err == Z_STREAM_END ? "wrong size" : (s.msg ? s.msg : "error"), s.total_out, raw);
		free(u);
		return NULL;
	}
	u->next = unpacked;
	unpacked = u;
	*sz = raw;
	return u->data;
}

void kt_bpf_inflate_release(void)
{
	while (unpacked) {
		struct unpacked *u = unpacked;

		unpacked = u->next;
		free(u);
	}
}
