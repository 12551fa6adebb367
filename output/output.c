// SPDX-License-Identifier: GPL-2.0
/*
 * Text and JSON Lines rendering of records, tables and histograms. One
 * description, two back ends: text pads columns and escapes strings for the
 * terminal, JSON builds one cJSON object per record and prints it on a line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "output.h"
#include "output_int.h"


int kt_out_open(struct kt_out **outp, const struct kt_out_opts *opts)
{
	struct kt_out *out = calloc(1, sizeof(*out));

	if (!out)
		return -ENOMEM;
	out->json = opts->json;
	out->ts = opts->timestamp;
	if (opts->path && strcmp(opts->path, "-")) {
		out->f = fopen(opts->path, "w");
		if (!out->f) {
			int err = -errno;

			free(out);
			return err;
		}
		out->owned = true;
	} else {
		out->f = stdout;
	}
	out->scratch = open_memstream(&out->sbuf, &out->slen);
	if (!out->scratch) {
		kt_out_close(out);
		return -ENOMEM;
	}
	*outp = out;
	return 0;
}

void kt_out_close(struct kt_out *out)
{
	if (!out)
		return;
	kt_out_flush(out);
	if (out->owned && out->f)
		fclose(out->f);
	if (out->scratch)
		fclose(out->scratch);
	free(out->sbuf);
	cJSON_Delete(out->obj);
	cJSON_Delete(out->table);
	free(out);
}

bool kt_out_json(const struct kt_out *out)
{
	return out->json;
}

FILE *kt_out_file(struct kt_out *out)
{
	return out->f;
}

int kt_out_err(const struct kt_out *out)
{
	return out->err;
}

static void check_err(struct kt_out *out)
{
	if (!out->err && ferror(out->f))
		out->err = errno ? errno : EIO;
}

void kt_out_flush(struct kt_out *out)
{
	if (out->err)
		return;
	if (fflush(out->f))
		out->err = errno ? errno : EIO;
	check_err(out);
}

void kt_out_set_clock(struct kt_out *out, uint64_t mono_ns, uint64_t real_ns)
{
	out->mono0 = mono_ns;
	out->real0 = real_ns;
}

uint64_t kt_out_wall_ns(const struct kt_out *out, uint64_t mono_ns)
{
	return out->real0 + (mono_ns - out->mono0);
}

void kt_fmt_rfc3339(char *buf, size_t sz, uint64_t wall_ns)
{
	time_t s = (time_t)(wall_ns / 1000000000ULL);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sz - n, ".%06" PRIu64 "Z", (uint64_t)((wall_ns % 1000000000ULL) / 1000));
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- JSON helpers ---- */

static cJSON *json_int(int64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRId64, v);
	return cJSON_CreateRaw(b);
}

/* Integers beyond 2^53 lose precision in most JSON readers: write those as strings. */
static cJSON *json_uint(uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return v > (1ULL << 53) ? cJSON_CreateString(b) : cJSON_CreateRaw(b);
}

static cJSON *json_double(double v, int decimals)
{
	char b[64];

	if (v != v || v > 1e300 || v < -1e300)
		return cJSON_CreateNull();
	snprintf(b, sizeof(b), "%.*f", decimals, v);
	return cJSON_CreateRaw(b);
}

static void json_add_str(cJSON *obj, const char *key, const char *s, size_t len)
{
	bool bad;
	char *clean = kt_utf8_clean(s, len, &bad);

	cJSON_AddItemToObject(obj, key, clean ? cJSON_CreateString(clean) : cJSON_CreateNull());
	free(clean);
	if (bad) {
		/* Lossless copy of what the kernel gave, for the cases U+FFFD hides. */
		size_t n = strnlen(s, len);
		char *hex = malloc(2 * n + 1), kb[128];

		if (!hex)
			return;
		for (size_t i = 0; i < n; i++)
			sprintf(hex + 2 * i, "%02x", (unsigned char)s[i]);
		hex[2 * n] = 0;
		snprintf(kb, sizeof(kb), "%s_hex", key);
		cJSON_AddItemToObject(obj, kb, cJSON_CreateString(hex));
		free(hex);
	}
}

void kt_out_json_obj(struct kt_out *out, void *json)
{
	char *s;

	if (out->err) {
		cJSON_Delete(json);
		return;
	}
	s = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	if (!s) {
		out->err = ENOMEM;
		return;
	}
	fputs(s, out->f);
	fputc('\n', out->f);
	free(s);
	check_err(out);
}

/* ---- text helpers ---- */

static void text_cell_begin(struct kt_out *out)
{
	rewind(out->scratch);
}

/* Pads what was written to scratch to the column's width and prints it. */
static void text_cell_end(struct kt_out *out, const struct kt_col *c)
{
	size_t len;

	fflush(out->scratch);
	len = (size_t)ftello(out->scratch);
	if (out->shown++ > 0)
		fputc(' ', out->f);
	if (c->width > 0 && len < (size_t)c->width)
		fprintf(out->f, "%*s", (int)(c->width - len), "");
	fwrite(out->sbuf, 1, len, out->f);
	if (c->width < 0 && len < (size_t)-c->width)
		fprintf(out->f, "%*s", (int)(-c->width - len), "");
}

/* HH:MM:SS, local time, followed by sep (a column separator or a newline). */
static void text_time(struct kt_out *out, uint64_t wall_ns, char sep)
{
	time_t s = (time_t)(wall_ns / 1000000000ULL);
	struct tm tm;
	char b[16];

	localtime_r(&s, &tm);
	strftime(b, sizeof(b), "%H:%M:%S", &tm);
	fprintf(out->f, "%-8s%c", b, sep);
}

void kt_out_header(struct kt_out *out, const struct kt_col *cols, size_t n)
{
	bool first = true;

	if (out->json || out->err)
		return;
	if (out->ts)
		fprintf(out->f, "%-8s ", "TIME");
	for (size_t i = 0; i < n; i++) {
		const struct kt_col *c = &cols[i];

		if (c->flags & KT_COL_HIDDEN)
			continue;
		if (!first)
			fputc(' ', out->f);
		first = false;
		if (c->width > 0)
			fprintf(out->f, "%*s", c->width, c->hdr);
		else if (c->width < 0)
			fprintf(out->f, "%-*s", -c->width, c->hdr);
		else
			fputs(c->hdr, out->f);
	}
	fputc('\n', out->f);
	check_err(out);
}

/* ---- records ---- */

void kt_rec_begin(struct kt_out *out, const char *type, const struct kt_col *cols, size_t n,
		  uint64_t mono_ns)
{
	uint64_t wall = mono_ns ? kt_out_wall_ns(out, mono_ns) : now_ns(CLOCK_REALTIME);

	out->cols = cols;
	out->ncols = n;
	out->idx = 0;
	out->shown = 0;
	if (out->json) {
		char b[48];

		cJSON_Delete(out->obj);
		out->obj = cJSON_CreateObject();
		cJSON_AddStringToObject(out->obj, "type", type);
		kt_fmt_rfc3339(b, sizeof(b), wall);
		cJSON_AddStringToObject(out->obj, "time", b);
	} else if (out->ts && !out->err) {
		text_time(out, wall, ' ');
	}
}

/* The column the next value belongs to; NULL when the caller passed too many. */
static const struct kt_col *next_col(struct kt_out *out, bool *text, bool *json)
{
	const struct kt_col *c;

	if (out->idx >= out->ncols)
		return NULL;
	c = &out->cols[out->idx];
	*text = !out->json && !(c->flags & KT_COL_HIDDEN) && !out->err;
	*json = out->json && !(c->flags & KT_COL_NOJSON) && out->obj;
	return c;
}

static void advance(struct kt_out *out)
{
	out->idx++;
}

#define TEXT_CELL(out, c, ...)                                                                     \
	do {                                                                                       \
		text_cell_begin(out);                                                              \
		fprintf((out)->scratch, __VA_ARGS__);                                              \
		text_cell_end(out, c);                                                             \
	} while (0)

void kt_rec_i64(struct kt_out *out, int64_t v)
{
	bool t, j;
	const struct kt_col *c = next_col(out, &t, &j);

	if (!c)
		return;
	if (t) {
		TEXT_CELL(out, c, "%" PRId64, v);
	}
	if (j)
		cJSON_AddItemToObject(out->obj, c->key, json_int(v));
	advance(out);
}

void kt_rec_u64(struct kt_out *out, uint64_t v)
{
	bool t, j;
	const struct kt_col *c = next_col(out, &t, &j);

	if (!c)
		return;
	if (t) {
		TEXT_CELL(out, c, "%" PRIu64, v);
	}
	if (j)
		cJSON_AddItemToObject(out->obj, c->key, json_uint(v));
	advance(out);
}

void kt_rec_f64(struct kt_out *out, double v, int decimals)
{
	bool t, j;
	const struct kt_col *c = next_col(out, &t, &j);

	if (!c)
		return;
	if (t) {
		TEXT_CELL(out, c, "%.*f", decimals, v);
	}
	if (j)
		cJSON_AddItemToObject(out->obj, c->key, json_double(v, decimals));
	advance(out);
}

void kt_rec_bool(struct kt_out *out, bool v)
{
	bool t, j;
	const struct kt_col *c = next_col(out, &t, &j);

	if (!c)
		return;
	if (t) {
		TEXT_CELL(out, c, "%s", v ? "yes" : "no");
	}
	if (j)
		cJSON_AddItemToObject(out->obj, c->key, cJSON_CreateBool(v));
	advance(out);
}

void kt_rec_str(struct kt_out *out, const char *s, size_t len)
{
	bool t, j;
	const struct kt_col *c = next_col(out, &t, &j);

	if (!c)
		return;
	if (!s)
		s = "", len = 0;
	if (t) {
		text_cell_begin(out);
		kt_esc_text(out->scratch, s, len);
		text_cell_end(out, c);
	}
	if (j)
		json_add_str(out->obj, c->key, s, len);
	advance(out);
}

/* Shell-style single quotes around an argument that needs them (-q). */
static void quote_arg(FILE *f, const char *s, size_t len)
{
	size_t n = strnlen(s, len), i;

	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%",
			    s[i]))
			break;
	if (n && i == n) {
		kt_esc_text(f, s, n);
		return;
	}
	fputc('\'', f);
	for (i = 0; i < n; i++) {
		const char *p = memchr(s + i, '\'', n - i);
		size_t m = p ? (size_t)(p - (s + i)) : n - i;

		kt_esc_text(f, s + i, m);
		i += m;
		if (p)
			fputs("'\\''", f);
	}
	fputc('\'', f);
}

void kt_rec_strv(struct kt_out *out, const char *const *v, const size_t *lens, size_t n,
		 bool quote, bool truncated)
{
	bool t, j;
	const struct kt_col *c = next_col(out, &t, &j);

	if (!c)
		return;
	if (t) {
		text_cell_begin(out);
		for (size_t i = 0; i < n; i++) {
			if (i)
				fputc(' ', out->scratch);
			if (quote)
				quote_arg(out->scratch, v[i], lens[i]);
			else
				kt_esc_text(out->scratch, v[i], lens[i]);
		}
		if (truncated)
			fputs(" ...", out->scratch);
		text_cell_end(out, c);
	}
	if (j) {
		cJSON *a = cJSON_CreateArray();
		char kb[128];

		for (size_t i = 0; i < n; i++) {
			char *clean = kt_utf8_clean(v[i], lens[i], NULL);

			cJSON_AddItemToArray(a, clean ? cJSON_CreateString(clean) : cJSON_CreateNull());
			free(clean);
		}
		cJSON_AddItemToObject(out->obj, c->key, a);
		snprintf(kb, sizeof(kb), "%s_truncated", c->key);
		cJSON_AddItemToObject(out->obj, kb, cJSON_CreateBool(truncated));
	}
	advance(out);
}

void kt_rec_enum(struct kt_out *out, const char *name, int64_t raw)
{
	bool t, j;
	const struct kt_col *c = next_col(out, &t, &j);

	if (!c)
		return;
	if (t) {
		if (name)
			TEXT_CELL(out, c, "%s", name);
		else
			TEXT_CELL(out, c, "%" PRId64, raw);
	}
	if (j) {
		char kb[128];

		cJSON_AddItemToObject(out->obj, c->key,
				      name ? cJSON_CreateString(name) : cJSON_CreateNull());
		snprintf(kb, sizeof(kb), "%s_raw", c->key);
		cJSON_AddItemToObject(out->obj, kb, json_int(raw));
	}
	advance(out);
}

void kt_rec_hex(struct kt_out *out, uint64_t v)
{
	bool t, j;
	const struct kt_col *c = next_col(out, &t, &j);
	char b[24];

	if (!c)
		return;
	snprintf(b, sizeof(b), "0x%" PRIx64, v);
	if (t) {
		TEXT_CELL(out, c, "%s", b);
	}
	if (j)
		cJSON_AddItemToObject(out->obj, c->key, cJSON_CreateString(b));
	advance(out);
}

void kt_rec_none(struct kt_out *out)
{
	bool t, j;
	const struct kt_col *c = next_col(out, &t, &j);

	if (!c)
		return;
	if (t) {
		TEXT_CELL(out, c, "-");
	}
	if (j)
		cJSON_AddItemToObject(out->obj, c->key, cJSON_CreateNull());
	advance(out);
}

void kt_rec_extra_u64(struct kt_out *out, const char *key, uint64_t v)
{
	if (out->json && out->obj)
		cJSON_AddItemToObject(out->obj, key, json_uint(v));
}

void kt_rec_extra_str(struct kt_out *out, const char *key, const char *s)
{
	if (out->json && out->obj)
		json_add_str(out->obj, key, s ? s : "", s ? strlen(s) : 0);
}

void kt_rec_extra_strlist(struct kt_out *out, const char *key, const char *const *v, size_t n)
{
	cJSON *a;

	if (!out->json || !out->obj)
		return;
	a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		char *clean = kt_utf8_clean(v[i], strlen(v[i]), NULL);

		cJSON_AddItemToArray(a, clean ? cJSON_CreateString(clean) : cJSON_CreateNull());
		free(clean);
	}
	cJSON_AddItemToObject(out->obj, key, a);
}

void kt_rec_end(struct kt_out *out)
{
	if (out->json) {
		if (out->in_table)
			return; /* the row stays in the table's array */
		kt_out_json_obj(out, out->obj);
		out->obj = NULL;
		return;
	}
	if (!out->err) {
		fputc('\n', out->f);
		check_err(out);
	}
}


/* ---- tables ---- */

void kt_table_begin(struct kt_out *out, const char *name, const char *title,
		    const struct kt_col *cols, size_t n)
{
	out->cols = cols;
	out->ncols = n;
	out->in_table = true;
	if (out->json) {
		cJSON_Delete(out->table);
		out->table = cJSON_CreateObject();
		cJSON_AddStringToObject(out->table, "type", "table");
		cJSON_AddStringToObject(out->table, "name", name);
		out->rows = cJSON_AddArrayToObject(out->table, "rows");
		return;
	}
	if (title && !out->err)
		fprintf(out->f, "\n%s\n", title);
	/* -T prefixes records, not table rows */
	bool ts = out->ts;

	out->ts = false;
	kt_out_header(out, cols, n);
	out->ts = ts;
}

void kt_table_row(struct kt_out *out)
{
	out->idx = 0;
	out->shown = 0;
	if (out->json) {
		out->obj = cJSON_CreateObject();
		cJSON_AddItemToArray(out->rows, out->obj);
	}
}

void kt_table_end(struct kt_out *out)
{
	out->in_table = false;
	out->obj = NULL;
	if (out->json) {
		kt_out_json_obj(out, out->table);
		out->table = NULL;
		out->rows = NULL;
	}
}

void kt_out_text(struct kt_out *out, const char *fmt, ...)
{
	va_list ap;

	if (out->json || out->err)
		return;
	va_start(ap, fmt);
	vfprintf(out->f, fmt, ap);
	va_end(ap);
	check_err(out);
}

void kt_out_time_line(struct kt_out *out)
{
	if (out->json || out->err || !out->ts)
		return;
	text_time(out, now_ns(CLOCK_REALTIME), '\n');
}
