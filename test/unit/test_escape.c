// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile strings: text output must contain no control characters or
 * invalid UTF-8, JSON output must always parse and round-trip valid UTF-8.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "kt_test.h"
#include "output.h"

static char *esc(const char *s, size_t len)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);

	kt_esc_text(f, s, len);
	fclose(f);
	return buf;
}

static void text(void)
{
	char *e;

	e = esc("plain/path.txt", 64);
	CHECK_STR(e, "plain/path.txt");
	free(e);
	e = esc("a\nb\tc\\d", 64);
	CHECK_STR(e, "a\\nb\\tc\\\\d");
	free(e);
	e = esc("\x1b[31mred", 64);
	CHECK_STR(e, "\\x1b[31mred");
	free(e);
	e = esc("bad\xff\xfe", 64);
	CHECK_STR(e, "bad\\xff\\xfe");
	free(e);
	e = esc("caf\xc3\xa9", 64); /* valid UTF-8 passes through */
	CHECK_STR(e, "caf\xc3\xa9");
	free(e);
	e = esc("\xc2\x9b" "1m", 64); /* C1 CSI is a terminal control too */
	CHECK_STR(e, "\\xc2\\x9b1m");
	free(e);
	e = esc("\xc0\xaf", 64); /* overlong '/' */
	CHECK_STR(e, "\\xc0\\xaf");
	free(e);
	e = esc("\xed\xa0\x80", 64); /* surrogate */
	CHECK_STR(e, "\\xed\\xa0\\x80");
	free(e);
	e = esc("trunc\xe2\x82", 64); /* sequence cut by the kernel's buffer */
	CHECK_STR(e, "trunc\\xe2\\x82");
	free(e);
	e = esc("abcdef", 3); /* length bound respected without NUL */
	CHECK_STR(e, "abc");
	free(e);
}

/* Runs a record through the JSON back end and parses the line back. */
static cJSON *json_record(const char *s, size_t len)
{
	static const struct kt_col cols[] = { { "path", "PATH", 0 } };
	struct kt_out_opts o = { .path = "/tmp/kt_test_escape.json", .json = true };
	struct kt_out *out;
	char line[4096] = "";
	FILE *f;

	CHECK(kt_out_open(&out, &o) == 0, "open");
	kt_rec_begin(out, "event", cols, 1, 0);
	kt_rec_str(out, s, len);
	kt_rec_end(out);
	kt_out_close(out, false);
	f = fopen(o.path, "r");
	CHECK(f && fgets(line, sizeof(line), f), "read back");
	if (f)
		fclose(f);
	unlink(o.path);
	return cJSON_Parse(line);
}

static void json(void)
{
	static const char *const ok[] = {
		"/tmp/new\nline", "\x1b[31mred\x1b[0m", "quote\"back\\slash", "tab\there",
		"caf\xc3\xa9 \xf0\x9f\x94\xa5", "\x01\x02\x7f", "",
	};
	cJSON *j, *p;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		j = json_record(ok[i], strlen(ok[i]) + 1);
		CHECK(j != NULL, "case %zu parses", i);
		p = cJSON_GetObjectItem(j, "path");
		CHECK(p && cJSON_IsString(p) && !strcmp(p->valuestring, ok[i]), "case %zu round-trips",
		      i);
		CHECK(!cJSON_GetObjectItem(j, "path_hex"), "no hex for valid UTF-8");
		cJSON_Delete(j);
	}
	/* invalid UTF-8: still valid JSON, U+FFFD in the string, raw bytes in hex */
	j = json_record("a\xff" "b\xc3", 5);
	CHECK(j != NULL, "invalid UTF-8 parses");
	p = cJSON_GetObjectItem(j, "path");
	CHECK(p && !strcmp(p->valuestring, "a\xef\xbf\xbd" "b\xef\xbf\xbd"), "replacement chars");
	p = cJSON_GetObjectItem(j, "path_hex");
	CHECK(p && !strcmp(p->valuestring, "61ff62c3"), "hex copy %s", p ? p->valuestring : "-");
	cJSON_Delete(j);
}

static void clean(void)
{
	bool bad;
	char *c = kt_utf8_clean("ok\xe2\x82\xac", 16, &bad);

	CHECK(c && !strcmp(c, "ok\xe2\x82\xac") && !bad, "euro sign kept");
	free(c);
	c = kt_utf8_clean("\xf5\x80\x80\x80", 4, &bad); /* beyond U+10FFFF */
	CHECK(c && bad && !strcmp(c, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"), "f5 lead");
	free(c);
}

/* Reads the first line of path (removing the file); "" when there is none. */
static char *first_line(const char *path)
{
	char *text = kt_test_slurp(path), *nl;

	unlink(path);
	if (!text)
		return strdup("");
	nl = strchr(text, '\n');
	if (nl)
		nl[1] = 0;
	return text;
}

/* DEL and the C1 controls are escaped as \u007f, \u009b: no raw control byte in a JSON line. */
static void json_controls(void)
{
	static const struct kt_col cols[] = { { "s", "S", 0 }, { "argv", "ARGV", 0 } };
	struct kt_out_opts o = { .path = "/tmp/kt_test_escape_ctl.json", .json = true };
	const char *argv[] = { "del\x7f", "csi\xc2\x9b[2J", "nel\xc2\x85" };
	size_t lens[] = { 16, 16, 16 };
	struct kt_out *out = NULL;
	char *line;
	cJSON *j, *a;

	CHECK(kt_out_open(&out, &o) == 0, "open");
	kt_rec_begin(out, "event", cols, 2, 0);
	kt_rec_str(out, "x\x7fy\xc2\x9bz\xc2\xa0", 32); /* U+00A0 is no control: kept */
	kt_rec_strv(out, argv, lens, 3, false, false);
	kt_rec_end(out);
	CHECK(kt_out_close(out, false) == 0, "close");
	line = first_line(o.path);
	for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
		CHECK(*p != 0x7f && *p >= 0x20 ? 1 : *p == '\n', "raw control byte 0x%02x in %s", *p,
		      line);
		CHECK(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0), "raw C1 control in %s", line);
	}
	CHECK(strstr(line, "x\\u007fy\\u009bz\xc2\xa0"), "escaped DEL and CSI: %s", line);
	CHECK(strstr(line, "del\\u007f") && strstr(line, "csi\\u009b[2J") &&
		      strstr(line, "nel\\u0085"),
	      "escaped in arrays too: %s", line);
	j = cJSON_Parse(line);
	CHECK(j != NULL, "parses: %s", line);
	a = cJSON_GetObjectItem(j, "s");
	CHECK(a && cJSON_IsString(a) && !strcmp(a->valuestring, "x\x7fy\xc2\x9bz\xc2\xa0"),
	      "round-trips to the same characters");
	cJSON_Delete(j);
	free(line);
}

/* exec's argv: args_hex holds the raw bytes of each lossy element, null for the clean ones. */
static void json_args_hex(void)
{
	static const struct kt_col cols[] = { { "args", "ARGS", 0 } };
	struct kt_out_opts o = { .path = "/tmp/kt_test_escape_args.json", .json = true };
	const char *argv[] = { "/bin/echo", "bad\xff", "ok", "\xc3" };
	size_t lens[] = { 16, 16, 16, 16 };
	struct kt_out *out = NULL;
	char *line;
	cJSON *j, *h;

	CHECK(kt_out_open(&out, &o) == 0, "open");
	kt_rec_begin(out, "event", cols, 1, 0);
	kt_rec_strv(out, argv, lens, 4, false, false);
	kt_rec_end(out);
	kt_rec_begin(out, "event", cols, 1, 0);
	kt_rec_strv(out, argv, lens, 1, false, false);
	kt_rec_end(out);
	kt_out_close(out, false);
	line = kt_test_slurp(o.path);
	unlink(o.path);
	j = line ? cJSON_Parse(line) : NULL;
	h = j ? cJSON_GetObjectItem(j, "args_hex") : NULL;
	CHECK(h && cJSON_GetArraySize(h) == 4, "args_hex has one entry per argument: %s", line);
	if (h && cJSON_GetArraySize(h) == 4) {
		CHECK(cJSON_IsNull(cJSON_GetArrayItem(h, 0)), "clean argv[0]: null");
		CHECK(!strcmp(cJSON_GetArrayItem(h, 1)->valuestring ?: "", "626164ff"),
		      "lossy argv[1] keeps its bytes");
		CHECK(cJSON_IsNull(cJSON_GetArrayItem(h, 2)), "clean argv[2]: null");
		CHECK(!strcmp(cJSON_GetArrayItem(h, 3)->valuestring ?: "", "c3"),
		      "lossy argv[3] keeps its bytes");
	}
	cJSON_Delete(j);
	j = line && strchr(line, '\n') ? cJSON_Parse(strchr(line, '\n') + 1) : NULL;
	CHECK(j && !cJSON_GetObjectItem(j, "args_hex"), "no args_hex when every argument is clean");
	cJSON_Delete(j);
	free(line);
}

/* No integer above 2^53 as a JSON number: exact as a string instead. */
static void json_numbers(void)
{
	static const struct kt_col cols[] = {
		{ "small", "S", 0 }, { "limit", "L", 0 }, { "big", "B", 0 },
		{ "neg", "N", 0 },   { "f", "F", 0 },     { "bigf", "BF", 0 },
	};
	struct kt_out_opts o = { .path = "/tmp/kt_test_escape_num.json", .json = true };
	struct kt_out *out = NULL;
	char *line;
	cJSON *j, *v;

	CHECK(kt_out_open(&out, &o) == 0, "open");
	kt_rec_begin(out, "event", cols, 6, 0);
	kt_rec_u64(out, 42);
	kt_rec_u64(out, 1ULL << 53);
	kt_rec_u64(out, 0xffffffff81000000ULL);
	kt_rec_i64(out, -(1LL << 60));
	kt_rec_f64(out, 1.5, 1);
	kt_rec_f64(out, 1e17, 0);
	kt_rec_end(out);
	kt_out_close(out, false);
	line = first_line(o.path);
	j = cJSON_Parse(line);
	CHECK(j != NULL, "parses: %s", line);
	v = cJSON_GetObjectItem(j, "small");
	CHECK(v && cJSON_IsNumber(v) && v->valuedouble == 42, "42 is a number");
	v = cJSON_GetObjectItem(j, "limit");
	CHECK(v && cJSON_IsNumber(v), "2^53 is still a number");
	v = cJSON_GetObjectItem(j, "big");
	CHECK(v && cJSON_IsString(v) && !strcmp(v->valuestring, "18446744071578845184"),
	      "a kernel address as a decimal string: %s", line);
	v = cJSON_GetObjectItem(j, "neg");
	CHECK(v && cJSON_IsString(v) && !strcmp(v->valuestring, "-1152921504606846976"),
	      "below -2^53: a string");
	v = cJSON_GetObjectItem(j, "f");
	CHECK(v && cJSON_IsNumber(v), "1.5 is a number");
	v = cJSON_GetObjectItem(j, "bigf");
	CHECK(v && cJSON_IsString(v), "1e17 as a string");
	cJSON_Delete(j);
	free(line);
}

/* A record with fewer or more values than columns fails the output (EPROTO), never shifts. */
static void column_count(void)
{
	static const struct kt_col cols[] = { { "a", "A", 0 }, { "b", "B", 0 } };
	struct kt_out_opts o = { .path = "/tmp/kt_test_escape_cols.json", .json = true };
	struct kt_out *out = NULL;

	CHECK(kt_out_open(&out, &o) == 0, "open");
	kt_rec_begin(out, "event", cols, 2, 0);
	kt_rec_u64(out, 1);
	kt_rec_u64(out, 2);
	kt_rec_end(out);
	CHECK(kt_out_err(out) == 0, "two values for two columns");
	kt_rec_begin(out, "event", cols, 2, 0);
	kt_rec_u64(out, 1);
	kt_rec_end(out);
	CHECK(kt_out_err(out) == EPROTO, "one value for two columns: EPROTO");
	kt_out_close(out, true);
	unlink(o.path);

	CHECK(kt_out_open(&out, &o) == 0, "open");
	kt_rec_begin(out, "event", cols, 2, 0);
	kt_rec_u64(out, 1);
	kt_rec_u64(out, 2);
	kt_rec_u64(out, 3);
	kt_rec_end(out);
	CHECK(kt_out_err(out) == EPROTO, "three values for two columns: EPROTO");
	kt_out_close(out, true);
	unlink(o.path);
}

/* kt_col_show: by key, in text and/or JSON. */
static void column_show(void)
{
	struct kt_col cols[] = { { "a", "A", 0, KT_COL_HIDDEN | KT_COL_NOJSON }, { "b", "B", 0, 0 } };

	CHECK(kt_col_show(cols, 2, "a", KT_IN_JSON, true) == 0, "show a in JSON");
	CHECK(cols[0].flags == KT_COL_HIDDEN, "a: JSON yes, text still hidden");
	CHECK(kt_col_show(cols, 2, "a", KT_IN_TEXT, true) == 0 && cols[0].flags == 0, "a: shown");
	CHECK(kt_col_show(cols, 2, "b", KT_IN_TEXT | KT_IN_JSON, false) == 0 &&
		      cols[1].flags == (KT_COL_HIDDEN | KT_COL_NOJSON),
	      "b: hidden everywhere");
}

int main(void)
{
	text();
	json();
	clean();
	json_controls();
	json_args_hex();
	json_numbers();
	column_count();
	column_show();
	return kt_test_done("test_escape");
}
