/* SPDX-License-Identifier: GPL-2.0 */
/* Internals shared by the output back ends and core's meta/summary records. */
#ifndef KT_OUTPUT_INT_H
#define KT_OUTPUT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cJSON;

struct kt_out {
	FILE *f;
	bool owned;
	bool json;
	bool ts;
	int err;
	uint64_t mono0, real0;

	/* the record being built */
	const struct kt_col *cols;
	size_t ncols, idx;
	size_t shown; /* text cells printed in this record */
	struct cJSON *obj;   /* JSON: the record, or the current table row */
	struct cJSON *table; /* JSON: the table record while a table is open */
	struct cJSON *rows;
	bool in_table;

	/* text: scratch stream to measure escaped values before padding */
	FILE *scratch;
	char *sbuf;
	size_t slen;
};

/* RFC 3339 UTC with microseconds. */
void kt_fmt_rfc3339(char *buf, size_t sz, uint64_t wall_ns);
/* Prints a cJSON object as one JSON line and frees it. */
void kt_out_json_obj(struct kt_out *out, void *json);

#endif
