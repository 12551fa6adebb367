// SPDX-License-Identifier: GPL-2.0
/* Stack tables as text, JSON and folded lines (see stacks_out.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "folded.h"
#include "output.h"
#include "output_int.h"
#include "stacks_out.h"
#include "util.h"

static void text_frames(FILE *f, const struct kt_frame *fr, size_t n)
{
	char name[512];

	for (size_t i = 0; fr && i < n; i++) {
		size_t len = kt_stacks_frame_name(&fr[i], 0, name, sizeof(name));

		fputs("    ", f);
		kt_esc_text(f, name, len);
		fputc('\n', f);
	}
}

/* A stack in BCC's layout, without its value line. */
static void text_stack(FILE *f, const struct kt_stack *s, bool delimited)
{
	text_frames(f, s->kframes, s->nkern);
	if (delimited && s->nkern && s->nuser)
		fputs("    --\n", f);
	text_frames(f, s->uframes, s->nuser);
	fputs("    -                ", f);
	kt_esc_text(f, s->comm, strnlen(s->comm, sizeof(s->comm)));
	fprintf(f, " (%" PRIu32 ")\n", s->pid);
}

static void folded_frames(FILE *f, const struct kt_frame *fr, size_t n)
{
	char name[512];

	/* leaf first in the table, root first on the line */
	for (size_t j = n; fr && j-- > 0;) {
		kt_stacks_frame_name(&fr[j], 0, name, sizeof(name));
		fputc(';', f);
		kt_folded_put_name(f, name);
	}
}

/* A folded line without its value. */
static void folded_stack(FILE *f, const struct kt_stack *s, bool delimited)
{
	kt_folded_put_name(f, s->comm);
	folded_frames(f, s->uframes, s->nuser);
	if (delimited && s->nkern && s->nuser)
		fputs(";-", f);
	folded_frames(f, s->kframes, s->nkern);
}

static int merged_write(struct kt_out *out, const struct kt_stacks *st,
			void (*render)(FILE *, const struct kt_stack *, bool), bool delimited,
			const char *value_fmt);

static cJSON *json_str(const char *s)
{
	return s ? kt_json_bytes(s, strlen(s), NULL) : cJSON_CreateNull();
}

/*
 * A frame: "address" always, as a hex string (kernel addresses exceed 2^53);
 * "offset" only when it is relative to something: the symbol, or the module
 * when no symbol was found. An address nothing was found for (no symbol, no
 * mapping) has no offset: the resolvers then hold the address itself there.
 */
static cJSON *json_frames(const struct kt_frame *fr, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; fr && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		bool relative = fr[i].sym || (fr[i].module && fr[i].offset != fr[i].addr);
		char addr[24];

		snprintf(addr, sizeof(addr), "0x%" PRIx64, fr[i].addr);
		cJSON_AddStringToObject(o, "address", addr);
		cJSON_AddItemToObject(o, "symbol", json_str(fr[i].sym));
		if (relative)
			cJSON_AddItemToObject(o, "offset", kt_json_u64(fr[i].offset));
		cJSON_AddItemToObject(o, "module", json_str(fr[i].module));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

void kt_out_stacks(struct kt_out *out, const struct kt_stacks *st, const struct kt_stacks_fmt *fmt)
{
	static const struct kt_col cols[] = {
		{ "pid", "PID", 0 },
		{ "comm", "COMM", 0 },
		{ NULL, NULL, 0 }, /* the value: key set below */
	};
	struct kt_col c[3];
	size_t n = kt_stacks_count(st);

	if (!out->json) {
		merged_write(out, st, text_stack, fmt->delimited, "        %" PRIu64 "\n\n");
		return;
	}
	memcpy(c, cols, sizeof(c));
	c[2].key = c[2].hdr = fmt->value_key;
	for (size_t i = 0; i < n; i++) {
		const struct kt_stack *s = kt_stacks_get(st, i);

		if (out->err)
			return;
		kt_rec_begin(out, "stacks", c, 3, 0);
		kt_rec_u64(out, s->pid);
		kt_rec_str(out, s->comm, sizeof(s->comm));
		kt_rec_u64(out, s->value);
		if (out->obj) {
			cJSON_AddItemToObject(out->obj, "kernel_frames",
					      json_frames(s->kframes, s->nkern));
			cJSON_AddItemToObject(out->obj, "user_frames",
					      json_frames(s->uframes, s->nuser));
			/* complete: reaches a known root (see kt_stacks_resolve) */
			if (s->nuser)
				cJSON_AddStringToObject(out->obj, "user_stack",
							s->urooted ? "complete" : "truncated");
		}
		kt_rec_end(out);
	}
}

struct fline {
	char *text;
	size_t len;
	uint64_t value;
};

static int cmp_text(const void *a, const void *b)
{
	const struct fline *x = a, *y = b;
	int c = memcmp(x->text, y->text, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int cmp_value(const void *a, const void *b)
{
	const struct fline *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return cmp_text(a, b);
}

/*
 * Stacks that differ only in addresses inside the same functions (every
 * sample of a hot loop lands on another instruction) render the same:
 * those are merged (values summed), so that each one shown is one call
 * path, most significant first.
 */
static int merged_write(struct kt_out *out, const struct kt_stacks *st,
			void (*render)(FILE *, const struct kt_stack *, bool), bool delimited,
			const char *value_fmt)
{
	size_t n = kt_stacks_count(st), m = 0;
	struct fline *l, *k = NULL;
	int err = 0;

	if (out->err)
		return 0;
	l = calloc(n ? n : 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct kt_stack *s = kt_stacks_get(st, i);
		FILE *f = open_memstream(&l[i].text, &l[i].len);

		if (!f) {
			err = -ENOMEM;
			goto out;
		}
		render(f, s, delimited);
		if (fclose(f)) {
			err = -ENOMEM;
			goto out;
		}
		l[i].value = s->value;
	}
	qsort(l, n, sizeof(*l), cmp_text);
	/* k borrows l's strings: only l's are freed */
	k = calloc(n ? n : 1, sizeof(*k));
	if (!k) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (m && !cmp_text(&k[m - 1], &l[i]))
			k[m - 1].value += l[i].value;
		else
			k[m++] = l[i];
	}
	qsort(k, m, sizeof(*k), cmp_value);
	for (size_t i = 0; i < m; i++) {
		fwrite(k[i].text, 1, k[i].len, out->f);
		fprintf(out->f, value_fmt, k[i].value);
	}
	kt_out_check(out);
	if (out->err)
		err = -out->err;
out:
	for (size_t i = 0; i < n; i++)
		free(l[i].text);
	free(l);
	free(k);
	return err;
}

int kt_out_stacks_folded(struct kt_out *out, const struct kt_stacks *st, bool delimited)
{
	if (out->json)
		return 0;
	return merged_write(out, st, folded_stack, delimited, " %" PRIu64 "\n");
}

void kt_out_stacks_lost(struct kt_out *out, const char *what, uint64_t n, const char *why,
			const char *fix)
{
	struct kt_lost_rec l = { .what = what, .count = n, .reason = why, .fix = fix };

	kt_out_lost(out, &l);
}
