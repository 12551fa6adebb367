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

static void text_frames(struct kt_out *out, const struct kt_frame *fr, size_t n)
{
	char name[512];

	for (size_t i = 0; i < n; i++) {
		size_t len = kt_stacks_frame_name(&fr[i], 0, name, sizeof(name));

		fputs("    ", out->f);
		kt_esc_text(out->f, name, len);
		fputc('\n', out->f);
	}
}

static void text_stack(struct kt_out *out, const struct kt_stack *s, const struct kt_stacks_fmt *fmt)
{
	text_frames(out, s->kframes, s->kframes ? s->nkern : 0);
	if (fmt->delimited && s->nkern && s->nuser)
		fputs("    --\n", out->f);
	text_frames(out, s->uframes, s->uframes ? s->nuser : 0);
	fputs("    -                ", out->f);
	kt_esc_text(out->f, s->comm, strnlen(s->comm, sizeof(s->comm)));
	fprintf(out->f, " (%" PRIu32 ")\n        %" PRIu64 "\n\n", s->pid, s->value);
	if (!out->err && ferror(out->f))
		out->err = EIO;
}

static cJSON *json_str(const char *s)
{
	char *clean;
	cJSON *j;

	if (!s)
		return cJSON_CreateNull();
	clean = kt_utf8_clean(s, strlen(s), NULL);
	j = cJSON_CreateString(clean ? clean : "");
	free(clean);
	return j;
}

static cJSON *json_frames(const struct kt_frame *fr, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; fr && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		char addr[24];

		snprintf(addr, sizeof(addr), "0x%" PRIx64, fr[i].addr);
		cJSON_AddStringToObject(o, "address", addr);
		cJSON_AddItemToObject(o, "symbol", json_str(fr[i].sym));
		cJSON_AddNumberToObject(o, "offset", (double)fr[i].offset);
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

	memcpy(c, cols, sizeof(c));
	c[2].key = c[2].hdr = fmt->value_key;
	for (size_t i = 0; i < n; i++) {
		const struct kt_stack *s = kt_stacks_get(st, i);

		if (out->err)
			return;
		if (!out->json) {
			text_stack(out, s, fmt);
			continue;
		}
		kt_rec_begin(out, "stacks", c, 3, 0);
		kt_rec_u64(out, s->pid);
		kt_rec_str(out, s->comm, sizeof(s->comm));
		kt_rec_u64(out, s->value);
		if (out->obj) {
			cJSON_AddItemToObject(out->obj, "kernel_frames",
					      json_frames(s->kframes, s->nkern));
			cJSON_AddItemToObject(out->obj, "user_frames",
					      json_frames(s->uframes, s->nuser));
		}
		kt_rec_end(out);
	}
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
 * Stacks that differ only in addresses inside the same functions fold to
 * the same line: those lines are merged (values summed) so that each line
 * is one call path, most significant first.
 */
int kt_out_stacks_folded(struct kt_out *out, const struct kt_stacks *st, bool delimited)
{
	size_t n = kt_stacks_count(st), m = 0;
	struct fline *l, *k;
	int err = 0;

	if (out->json || out->err)
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
		kt_folded_put_name(f, s->comm);
		folded_frames(f, s->uframes, s->nuser);
		if (delimited && s->nkern && s->nuser)
			fputs(";-", f);
		folded_frames(f, s->kframes, s->nkern);
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
		fprintf(out->f, " %" PRIu64 "\n", k[i].value);
	}
	free(k);
	if (ferror(out->f)) {
		out->err = EIO;
		err = -EIO;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(l[i].text);
	free(l);
	return err;
}

void kt_out_stacks_lost(struct kt_out *out, const char *what, uint64_t n, const char *why,
			const char *fix)
{
	cJSON *o;

	if (!n)
		return;
	if (!out->json) {
		kt_warn("%" PRIu64 " %s were not captured (%s): %s", n, what, why, fix);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "lost");
	cJSON_AddStringToObject(o, "what", what);
	cJSON_AddNumberToObject(o, "count", (double)n);
	cJSON_AddStringToObject(o, "reason", why);
	cJSON_AddStringToObject(o, "fix", fix);
	kt_out_json_obj(out, o);
}
