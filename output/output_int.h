/* SPDX-License-Identifier: GPL-2.0 */
/* Internals shared by the output back ends and core's meta/summary records. */
#ifndef KT_OUTPUT_INT_H
#define KT_OUTPUT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "output.h"

struct cJSON;

struct kt_ofile;

struct kt_out {
	FILE *f;
	struct kt_ofile *of;
	bool json;
	bool ts;
	int err;
	uint64_t mono0, real0;

	/* the record being built */
	const struct kt_col *cols;
	size_t ncols, idx;
	size_t overflow; /* values passed beyond the last column */
	size_t shown; /* text cells printed in this record */
	struct cJSON *obj;   /* JSON: the record, or the current table row */
	struct cJSON *table; /* JSON: the table record while a table is open */
	struct cJSON *rows;
	bool in_table;

	/* lost records: running total per kind of loss; final once core says so */
#define KT_OUT_LOST_KINDS 16
	struct {
		const char *what, *reason;
		uint64_t total;
	} lost[KT_OUT_LOST_KINDS];
	size_t nlost;
	bool final;

	/* --prom-textfile: histograms, losses and KT_COL_COUNT rows also feed this (output/prom.h) */
	struct kt_prom *prom;
	struct {
#define KT_PROM_ROW_LABELS 12
#define KT_PROM_ROW_COUNTS 8
		char table[64];	 /* the table's name, "" for a record */
		struct kt_kv lab[KT_PROM_ROW_LABELS];
		char val[KT_PROM_ROW_LABELS][257]; /* copies of the labels' strings */
		size_t nlab;
		struct {
			const char *key;
			double v;
		} cnt[KT_PROM_ROW_COUNTS];
		size_t ncnt;
	} prow;

	/* text: scratch stream to measure escaped values before padding */
	FILE *scratch;
	char *sbuf;
	size_t slen;
};

/* RFC 3339 UTC with microseconds. */
void kt_fmt_rfc3339(char *buf, size_t sz, uint64_t wall_ns);
/*
 * An unsigned integer for JSON: a number up to 2^53 (exact in every JSON
 * reader), a decimal string above.
 */
struct cJSON *kt_json_u64(uint64_t v);
struct cJSON *kt_json_i64(int64_t v);
/*
 * A JSON string of valid UTF-8 s, with every control character escaped:
 * C0, DEL and C1 (U+0080..U+009F) as \uXXXX, which cJSON leaves raw.
 */
struct cJSON *kt_json_string(const char *s);
/* The same for kernel bytes (stops at NUL or len); invalid UTF-8 -> U+FFFD, *bad set. */
struct cJSON *kt_json_bytes(const char *s, size_t len, bool *bad);
/* Records the output's first write error in out->err (after writing to out->f directly). */
void kt_out_check(struct kt_out *out);
/* Prints a cJSON object as one JSON line and frees it. */
void kt_out_json_obj(struct kt_out *out, void *json);

#endif
