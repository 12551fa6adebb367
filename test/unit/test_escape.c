// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile strings: text output must contain no control characters or
 * invalid UTF-8, JSON output must always parse and round-trip valid UTF-8.
 */
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

int main(void)
{
	text();
	json();
	clean();
	return kt_test_done("test_escape");
}
