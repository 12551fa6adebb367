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

#include "ofile.h"
#include "output.h"
#include "output_int.h"
#include "prom.h"
#include "util.h"


int kt_out_open(struct kt_out **outp, const struct kt_out_opts *opts)
{
	struct kt_out *out = calloc(1, sizeof(*out));
	int err;

	if (!out)
		return -ENOMEM;
	out->json = opts->json;
	out->ts = opts->timestamp;
	err = kt_ofile_open(&out->of, opts->path);
	if (err) {
		free(out);
		return err;
	}
	out->f = kt_ofile_stream(out->of);
	out->scratch = open_memstream(&out->sbuf, &out->slen);
	if (!out->scratch) {
		kt_out_close(out, true);
		return -ENOMEM;
	}
	*outp = out;
	return 0;
}

int kt_out_close(struct kt_out *out, bool failed)
{
	int err;

	if (!out)
		return 0;
	err = kt_ofile_close(out->of, failed);
	if (out->scratch)
		fclose(out->scratch);
	free(out->sbuf);
	cJSON_Delete(out->obj);
	cJSON_Delete(out->table);
	free(out);
	return err;
}

bool kt_out_json(const struct kt_out *out)
{
	return out->json;
}

int kt_out_fd(const struct kt_out *out)
{
	return kt_ofile_fd(out->of);
}

struct kt_ofile *kt_out_ofile(struct kt_out *out)
{
	return out->of;
}

const char *kt_out_name(const struct kt_out *out)
{
	return kt_ofile_name(out->of);
}

int kt_out_err(const struct kt_out *out)
{
	return out->err;
}

void kt_out_check(struct kt_out *out)
{
	if (!out->err && (kt_ofile_err(out->of) || ferror(out->f)))
		out->err = kt_ofile_err(out->of) ? kt_ofile_err(out->of) : EIO;
}

void kt_out_flush(struct kt_out *out)
{
	if (out->err)
		return;
	kt_ofile_flush(out->of);
	kt_out_check(out);
}

void kt_out_set_prom(struct kt_out *out, struct kt_prom *p)
{
	out->prom = p;
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

struct cJSON *kt_json_i64(int64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRId64, v);
	/* beyond ±2^53 as a string, like kt_json_u64 */
	if (v > (int64_t)(1LL << 53) || v < -(int64_t)(1LL << 53))
		return cJSON_CreateString(b);
	return cJSON_CreateRaw(b);
}

/* Integers beyond 2^53 lose precision in most JSON readers: write those as strings. */
struct cJSON *kt_json_u64(uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return v > (1ULL << 53) ? cJSON_CreateString(b) : cJSON_CreateRaw(b);
}

struct cJSON *kt_json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), o = 0;
	/* worst case: every byte a 6-byte \u escape, plus quotes and NUL */
	char *b = malloc(6 * n + 3);
	cJSON *j;

	if (!b)
		return cJSON_CreateNull();
	b[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned c = s[i];

		if (c == '"' || c == '\\') {
			b[o++] = '\\';
			b[o++] = (char)c;
		} else if (c == '\n') {
			memcpy(b + o, "\\n", 2), o += 2;
		} else if (c == '\t') {
			memcpy(b + o, "\\t", 2), o += 2;
		} else if (c == '\r') {
			memcpy(b + o, "\\r", 2), o += 2;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)sprintf(b + o, "\\u%04x", c);
		} else if (c == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] < 0xa0) {
			/* U+0080..U+009F, the C1 controls (e.g. CSI, 0x9b) */
			o += (size_t)sprintf(b + o, "\\u%04x", s[i + 1]);
			i++;
		} else {
			b[o++] = (char)c;
		}
	}
	b[o++] = '"';
	b[o] = 0;
	j = cJSON_CreateRaw(b);
	free(b);
	return j;
}

struct cJSON *kt_json_bytes(const char *s, size_t len, bool *bad)
{
	char *clean = kt_utf8_clean(s ? s : "", s ? len : 0, bad);
	cJSON *j = clean ? kt_json_string(clean) : cJSON_CreateNull();

	free(clean);
	return j;
}

static cJSON *json_double(double v, int decimals)
{
	char b[64];

	if (v != v || v > 1e300 || v < -1e300)
		return cJSON_CreateNull();
	snprintf(b, sizeof(b), "%.*f", decimals, v);
	/* past 2^53 a JSON reader no longer holds the integer part exactly */
	if (v >= 9007199254740992.0 || v <= -9007199254740992.0)
		return cJSON_CreateString(b);
	return cJSON_CreateRaw(b);
}

/* Lowercase hex of the bytes of s up to NUL or len, as a JSON string. */
static cJSON *json_hex(const char *s, size_t len)
{
	size_t n = strnlen(s, len);
	char *hex = malloc(2 * n + 1);
	cJSON *j;

	if (!hex)
		return cJSON_CreateNull();
	for (size_t i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", (unsigned char)s[i]);
	hex[2 * n] = 0;
	j = cJSON_CreateString(hex);
	free(hex);
	return j;
}

static void json_add_str(cJSON *obj, const char *key, const char *s, size_t len)
{
	bool bad;

	cJSON_AddItemToObject(obj, key, kt_json_bytes(s, len, &bad));
	if (bad) {
		/* Lossless copy of what the kernel gave, for the cases U+FFFD hides. */
		char kb[128];

		snprintf(kb, sizeof(kb), "%s_hex", key);
		cJSON_AddItemToObject(obj, kb, json_hex(s, len));
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
	kt_out_check(out);
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

/* HH:MM:SS.mmm, local time, followed by sep (a column separator or a newline). */
static void text_time(struct kt_out *out, uint64_t wall_ns, char sep)
{
	time_t s = (time_t)(wall_ns / 1000000000ULL);
	struct tm tm;
	char b[16];

	localtime_r(&s, &tm);
	strftime(b, sizeof(b), "%H:%M:%S", &tm);
	fprintf(out->f, "%s.%03u%c", b, (unsigned)(wall_ns % 1000000000ULL / 1000000), sep);
}

void kt_out_header(struct kt_out *out, const struct kt_col *cols, size_t n)
{
	bool first = true;

	if (out->json || out->err)
		return;
	if (out->ts)
		fprintf(out->f, "%-12s ", "TIME");
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
	kt_out_check(out);
}

/* ---- --prom-textfile: a row's labels and counts (see KT_COL_COUNT) ---- */

static void prom_row_reset(struct kt_out *out, const char *table)
{
	out->prow.nlab = out->prow.ncnt = 0;
	snprintf(out->prow.table, sizeof(out->prow.table), "%s", table ? table : "");
}

/* One value of the row: s (a string, len bytes at most), else the number inum or v. */
static void prom_cell(struct kt_out *out, const struct kt_col *c, const char *s, size_t len,
		      int64_t inum, double v)
{
	size_t i = out->prow.nlab;

	if (!out->prom || c->flags & KT_COL_NOJSON)
		return; /* derived for text, or shown nowhere (a per-CPU column without its option) */
	if (c->flags & KT_COL_COUNT) {
		if (!s && out->prow.ncnt < KT_PROM_ROW_COUNTS) {
			out->prow.cnt[out->prow.ncnt].key = c->key;
			out->prow.cnt[out->prow.ncnt++].v = v;
		}
		return;
	}
	if ((!s && !(c->flags & KT_COL_LABEL)) || i == KT_PROM_ROW_LABELS)
		return;
	out->prow.lab[i].key = c->key;
	out->prow.lab[i].num = inum;
	out->prow.lab[i].str = NULL;
	if (s) {
		size_t n = strnlen(s, len < sizeof(out->prow.val[i]) - 1 ? len
								: sizeof(out->prow.val[i]) - 1);

		memcpy(out->prow.val[i], s, n);
		out->prow.val[i][n] = 0;
		out->prow.lab[i].str = out->prow.val[i];
	}
	out->prow.nlab++;
}

static void prom_row_end(struct kt_out *out)
{
	for (size_t i = 0; out->prom && i < out->prow.ncnt; i++)
		if (kt_prom_count(out->prom, out->prow.table[0] ? out->prow.table : NULL,
				  out->prow.cnt[i].key, out->prow.lab, out->prow.nlab,
				  out->prow.cnt[i].v) &&
		    !out->err)
			out->err = ENOMEM;
	out->prow.nlab = out->prow.ncnt = 0;
}

/* ---- records ---- */

void kt_rec_begin(struct kt_out *out, const char *type, const struct kt_col *cols, size_t n,
		  uint64_t mono_ns)
{
	uint64_t wall = mono_ns ? kt_out_wall_ns(out, mono_ns) : now_ns(CLOCK_REALTIME);

	out->cols = cols;
	out->ncols = n;
	out->idx = 0;
	out->overflow = 0;
	out->shown = 0;
	prom_row_reset(out, NULL);
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

	if (out->idx >= out->ncols) {
		out->overflow++;
		return NULL;
	}
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
		cJSON_AddItemToObject(out->obj, c->key, kt_json_i64(v));
	prom_cell(out, c, NULL, 0, v, (double)v);
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
		cJSON_AddItemToObject(out->obj, c->key, kt_json_u64(v));
	prom_cell(out, c, NULL, 0, v > INT64_MAX ? INT64_MAX : (int64_t)v, (double)v);
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
	prom_cell(out, c, NULL, 0, (int64_t)v, v);
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
	prom_cell(out, c, s, len, 0, 0);
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
			/* an empty argument would vanish between two spaces: '' shows it */
			if (quote || !strnlen(v[i], lens[i]))
				quote_arg(out->scratch, v[i], lens[i]);
			else
				kt_esc_text(out->scratch, v[i], lens[i]);
		}
		if (truncated)
			fputs(" ...", out->scratch);
		text_cell_end(out, c);
	}
	if (j) {
		cJSON *a = cJSON_CreateArray(), *hex = NULL;
		char kb[128];

		for (size_t i = 0; i < n; i++) {
			bool bad;

			cJSON_AddItemToArray(a, kt_json_bytes(v[i], lens[i], &bad));
			if (bad && !hex) {
				/* the first lossy element: nulls for the clean ones before it */
				hex = cJSON_CreateArray();
				for (size_t k = 0; k < i; k++)
					cJSON_AddItemToArray(hex, cJSON_CreateNull());
			}
			if (hex)
				cJSON_AddItemToArray(hex, bad ? json_hex(v[i], lens[i])
							      : cJSON_CreateNull());
		}
		cJSON_AddItemToObject(out->obj, c->key, a);
		if (hex) {
			/* raw bytes of each element whose text lost bytes to U+FFFD, null for the others */
			snprintf(kb, sizeof(kb), "%s_hex", c->key);
			cJSON_AddItemToObject(out->obj, kb, hex);
		}
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
				      name ? kt_json_bytes(name, strlen(name), NULL) : cJSON_CreateNull());
		snprintf(kb, sizeof(kb), "%s_raw", c->key);
		cJSON_AddItemToObject(out->obj, kb, kt_json_i64(raw));
	}
	/* an enumeration is a label: its name, or its number when it has none */
	if (name)
		prom_cell(out, c, name, strlen(name), 0, 0);
	else
		prom_cell(out, &(struct kt_col){ c->key, c->hdr, c->width, c->flags | KT_COL_LABEL },
			  NULL, 0, raw, (double)raw);
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
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, kt_json_bytes(v[i], strlen(v[i]), NULL));
	cJSON_AddItemToObject(out->obj, key, a);
}

/*
 * Values are matched to columns by position: a record with more or fewer
 * values than columns is a bug in its command that would shift every field
 * after it. Abort in a debug build; otherwise say so and fail the run.
 */
static void check_count(struct kt_out *out)
{
	size_t got = out->idx + out->overflow;

	if (got == out->ncols)
		return;
	kt_err("internal error: a record had %zu values for its %zu columns (first column '%s'); please report this",
	       got, out->ncols, out->ncols ? out->cols[0].key : "");
#ifndef NDEBUG
	abort();
#endif
	if (!out->err)
		out->err = EPROTO;
}

int kt_col_show(struct kt_col *cols, size_t n, const char *key, unsigned in, bool show)
{
	unsigned off = ((in & KT_IN_TEXT) ? KT_COL_HIDDEN : 0) | ((in & KT_IN_JSON) ? KT_COL_NOJSON : 0);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(cols[i].key, key))
			continue;
		if (show)
			cols[i].flags &= ~off;
		else
			cols[i].flags |= off;
		return 0;
	}
	kt_err("internal error: no column '%s' to show or hide", key);
#ifndef NDEBUG
	abort();
#endif
	return -ENOENT;
}

void kt_rec_end(struct kt_out *out)
{
	check_count(out);
	out->overflow = 0;
	prom_row_end(out);
	if (out->json) {
		if (out->in_table)
			return; /* the row stays in the table's array */
		kt_out_json_obj(out, out->obj);
		out->obj = NULL;
		return;
	}
	if (!out->err) {
		fputc('\n', out->f);
		kt_out_check(out);
	}
}


/* ---- tables ---- */

void kt_table_begin(struct kt_out *out, const char *name, const char *title,
		    const struct kt_col *cols, size_t n)
{
	out->cols = cols;
	out->ncols = n;
	out->in_table = true;
	prom_row_reset(out, name);
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
	out->prow.nlab = out->prow.ncnt = 0;
	out->idx = 0;
	out->overflow = 0;
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
	kt_out_check(out);
}

void kt_out_time_line(struct kt_out *out)
{
	if (out->json || out->err || !out->ts)
		return;
	text_time(out, now_ns(CLOCK_REALTIME), '\n');
}
