// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the stack table, folded output and the SVG flame graph: stacks
 * aggregate and sort, the skip count drops leading kernel frames, hostile
 * frame names and comms (markup, quotes, ';', newlines, control bytes,
 * invalid UTF-8) leave folded lines one-per-stack and the SVG well-formed
 * XML, checked with xmllint (or Python's XML parser when xmllint is absent).
 * Folded input: the line rules (counts, blanks, malformed lines, depth cut),
 * the bounds, equal paths adding up, a stack table and its folded lines
 * drawing the same SVG, and differential graphs (grew, shrank, appeared,
 * vanished; --negate widths).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flamegraph.h"
#include "kt_test.h"
#include "folded.h"
#include "ksyms.h"
#include "stacks.h"


static char tmpdir[] = "/tmp/kt_fg_testXXXXXX";

static const char kallsyms[] = "ffffffff81000000 T start_kernel\n"
			       "ffffffff81000100 T evil<script>&\"'name\n"
			       "ffffffff81000200 t semi;colon\n"
			       "ffffffff81000300 T bad\xff\xfe\xc0\xafutf8\xed\xa0\x80\n"
			       "ffffffff81000400 T ctl\x01\x1b\x7f"
			       "x\n"
			       "ffffffff81000500 T ok_\xc3\xa9t\xc3\xa9_\xe2\x82\xac\n"
			       "ffffffffc0000000 t mod_func\t[some_mod]\n";

static int write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fwrite(text, 1, len, f);
	return fclose(f);
}

static int valid_xml(const char *path)
{
	char cmd[4400];

	if (!system("command -v xmllint >/dev/null 2>&1")) {
		snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path);
		return system(cmd) == 0;
	}
	if (!system("command -v python3 >/dev/null 2>&1")) {
		snprintf(cmd, sizeof(cmd),
			 "python3 -c 'import sys, xml.etree.ElementTree as E; "
			 "E.parse(sys.argv[1])' '%s'",
			 path);
		return system(cmd) == 0;
	}
	printf("skip: neither xmllint nor python3 to check the SVG\n");
	return 1;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

static void test_table(void)
{
	struct kt_stacks *st = NULL;
	const struct kt_stack *s;
	uint64_t k1[] = {0x10, 0x20, 0x30, 0x40, 0};
	uint64_t k2[] = {0x11, 0x20, 0x30, 0x40};
	uint64_t u1[] = {0x1000, 0x2000};
	uint64_t big[200];
	size_t i;

	CHECK(kt_stacks_new(&st) == 0);
	/* the same stack (after skipping two frames) three times */
	CHECK(kt_stacks_add(st, 1, "a", k1, 5, 2, u1, 2, 1) == 0);
	CHECK(kt_stacks_add(st, 1, "a", k2, 4, 2, u1, 2, 2) == 0);
	CHECK(kt_stacks_add(st, 1, "a", k1, 4, 2, u1, 2, 3) == 0);
	/* different pid, comm, or user stack: separate entries */
	CHECK(kt_stacks_add(st, 2, "a", k1, 4, 2, u1, 2, 10) == 0);
	CHECK(kt_stacks_add(st, 1, "b", k1, 4, 2, u1, 2, 1) == 0);
	CHECK(kt_stacks_add(st, 1, "a", k1, 4, 2, u1, 1, 1) == 0);
	/* kernel-only, user-only, empty, skipped beyond its length */
	CHECK(kt_stacks_add(st, 3, "kthread", k1, 4, 0, NULL, 0, 5) == 0);
	CHECK(kt_stacks_add(st, 4, "user", NULL, 0, 2, u1, 2, 5) == 0);
	CHECK(kt_stacks_add(st, 5, "empty", k1, 2, 9, NULL, 0, 1) == 0);
	for (i = 0; i < 200; i++)
		big[i] = 0x1000 + i;
	CHECK(kt_stacks_add(st, 6, "deep-comm-name-longer-than-16", big, 200, 0, big, 200, 1) == 0);
	CHECK(kt_stacks_count(st) == 8);
	CHECK(kt_stacks_total(st) == 30);
	kt_stacks_sort(st);
	s = kt_stacks_get(st, 0);
	CHECK(s && s->pid == 2 && s->value == 10);
	s = kt_stacks_get(st, 1);
	CHECK(s && s->pid == 1 && s->value == 6 && s->nkern == 2 && s->kips[0] == 0x30);
	for (i = 0; i < kt_stacks_count(st); i++) {
		s = kt_stacks_get(st, i);
		if (s->pid == 6)
			CHECK(s->nkern == KT_STACK_MAX_DEPTH && s->nuser == KT_STACK_MAX_DEPTH &&
			      strlen(s->comm) == 16);
		if (s->pid == 5)
			CHECK(s->nkern == 0);
	}
	CHECK(kt_stacks_get(st, 8) == NULL);
	/* many distinct stacks: the hash table grows */
	for (i = 0; i < 5000; i++) {
		big[0] = 0x5000 + i;
		CHECK(kt_stacks_add(st, 7, "many", big, 3, 0, NULL, 0, 1) == 0);
		CHECK(kt_stacks_add(st, 7, "many", big, 3, 0, NULL, 0, 1) == 0);
	}
	CHECK(kt_stacks_count(st) == 5008);
	kt_stacks_clear(st);
	CHECK(kt_stacks_count(st) == 0 && kt_stacks_total(st) == 0);
	CHECK(kt_stacks_add(st, 1, "a", k1, 4, 0, NULL, 0, 1) == 0);
	CHECK(kt_stacks_count(st) == 1);
	kt_stacks_free(st);
	kt_stacks_free(NULL);
}

static void test_outputs(void)
{
	char kpath[4200], fpath[4200], spath[4200], epath[4200];
	struct kt_ksyms *ks = NULL;
	struct kt_stacks *st = NULL;
	/* leaf first, as from the BPF stack map; two leading frames to skip */
	uint64_t k1[] = {0xdead,
			 0xbeef,
			 0xffffffff81000110,
			 0xffffffff81000210,
			 0xffffffff81000310,
			 0xffffffff81000010};
	uint64_t k2[] = {0xdead,
			 0xbeef,
			 0xffffffff81000410,
			 0xffffffff81000510,
			 0xffffffffc0000010,
			 0xffffffff81000010};
	uint64_t u1[] = {0x1234, 0x5678};
	char *text, *line;
	FILE *f;
	int lines = 0;

	snprintf(kpath, sizeof(kpath), "%s/kallsyms", tmpdir);
	snprintf(fpath, sizeof(fpath), "%s/out.folded", tmpdir);
	snprintf(spath, sizeof(spath), "%s/out.svg", tmpdir);
	snprintf(epath, sizeof(epath), "%s/empty.svg", tmpdir);
	CHECK(write_file(kpath, kallsyms, sizeof(kallsyms) - 1) == 0);
	CHECK(kt_ksyms_load(kpath, &ks) == 0);
	CHECK(kt_stacks_new(&st) == 0);
	CHECK(kt_stacks_add(st, 42, "we;ird\n<comm>", k1, 6, 2, u1, 2, 700) == 0);
	CHECK(kt_stacks_add(st, 43, "worker", k2, 6, 2, NULL, 0, 300) == 0);
	CHECK(kt_stacks_add(st, 44, "\xff\xfe", k2, 6, 2, u1, 1, 1) == 0);
	CHECK(kt_stacks_resolve(st, ks, NULL) == 0);
	kt_stacks_sort(st);

	f = fopen(fpath, "w");
	CHECK(f && kt_folded_write(f, st, KT_FOLDED_KERNEL_TAG) == 0);
	fclose(f);
	text = kt_test_slurp(fpath);
	CHECK(text != NULL);
	if (text) {
		CHECK(strstr(text, "we_ird\\n<comm>;[unknown];[unknown];start_kernel_[k];"
				   "bad") == text);
		CHECK(strstr(text, "semi_colon_[k];evil<script>&\"'name_[k] 700\n") != NULL);
		CHECK(strstr(text, "worker;start_kernel_[k];mod_func_[k];ok_\xc3\xa9t\xc3\xa9_"
				   "\xe2\x82\xac_[k];ctl\\x01\\x1b\\x7fx_[k] 300\n") != NULL);
		for (line = text; (line = strchr(line, '\n')); line++)
			lines++;
		CHECK(lines == 3);
		CHECK(count(text, ";") == 6 + 4 + 5);
		free(text);
	}

	f = fopen(spath, "w");
	CHECK(f && kt_flamegraph_write(f, st, "on-CPU <\"test\"> & co", "samples") == 0);
	fclose(f);
	CHECK(valid_xml(spath));
	text = kt_test_slurp(spath);
	if (text) {
		CHECK(
		    strstr(text, "evil&lt;script&gt;&amp;&quot;&apos;name (700 samples, 69.93%)") !=
		    NULL);
		CHECK(strstr(text, "<title>all (1001 samples, 100.00%)</title>") != NULL);
		CHECK(strstr(text, "on-CPU &lt;&quot;test&quot;&gt; &amp; co") != NULL);
		CHECK(strstr(text, "<script") && strstr(text, "function zoom") &&
		      strstr(text, "unzoom()"));
		CHECK(strstr(text, "http://") == NULL || count(text, "http://") == 1); /* xmlns */
		CHECK(!strstr(text, "\x01") && !strstr(text, "\x1b"));
		/* the worker's frames are merged under one comm frame */
		CHECK(count(text, "<title>worker (") == 1);
		free(text);
	}

	/* off-CPU flavour and an empty table: still valid */
	f = fopen(spath, "w");
	CHECK(f && kt_flamegraph_write(f, st, NULL, "us") == 0);
	fclose(f);
	CHECK(valid_xml(spath));
	kt_stacks_clear(st);
	f = fopen(epath, "w");
	CHECK(f && kt_flamegraph_write(f, st, "empty", "samples") == 0);
	fclose(f);
	CHECK(valid_xml(epath));
	/* unresolved tables print raw addresses */
	CHECK(kt_stacks_add(st, 1, "raw", k1, 6, 0, u1, 2, 1) == 0);
	f = fopen(fpath, "w");
	CHECK(f && kt_folded_write(f, st, 0) == 0);
	fclose(f);
	text = kt_test_slurp(fpath);
	CHECK(text && !strcmp(text, "raw;0x5678;0x1234;0xffffffff81000010;0xffffffff81000310;"
				    "0xffffffff81000210;0xffffffff81000110;0xbeef;0xdead 1\n"));
	free(text);
	f = fopen(spath, "w");
	CHECK(f && kt_flamegraph_write(f, st, "raw", "samples") == 0);
	fclose(f);
	CHECK(valid_xml(spath));
	unlink(kpath);
	unlink(fpath);
	unlink(spath);
	unlink(epath);
	kt_stacks_free(st);
	kt_ksyms_free(ks);
}

static void test_xml_escape(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	kt_flamegraph_put_xml(f, "a<b>&\"'\x01\xc3\xa9\xff\xef\xbf\xbe", SIZE_MAX);
	fputc('|', f);
	kt_flamegraph_put_xml(f, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3); /* cut by characters */
	fputc('|', f);
	kt_flamegraph_put_xml(f, "abc", 3);
	fclose(f);
	CHECK(buf && !strcmp(buf, "a&lt;b&gt;&amp;&quot;&apos;?\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd|"
				  "\xc3\xa9..|abc"));
	free(buf);
}


/* The whole of a memstream as a string (caller frees). */
static char *fg_svg(struct kt_fg *fg, const struct kt_flamegraph_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f && kt_fg_write(f, fg, o) == 0);
	fclose(f);
	return buf;
}

/* Writes @svg to a file and checks it is well-formed XML. */
static int svg_valid(const char *svg)
{
	char path[4200];
	int ok;

	snprintf(path, sizeof(path), "%s/check.svg", tmpdir);
	if (write_file(path, svg, strlen(svg)))
		return 0;
	ok = valid_xml(path);
	unlink(path);
	return ok;
}

static const char *parse_str(const char *text, struct kt_fg_frame *fr, size_t *n, uint64_t *v,
			     bool *cut)
{
	static char line[64 * 1024];

	snprintf(line, sizeof(line), "%s", text);
	return kt_folded_parse(line, strlen(line), fr, n, v, cut);
}

static void test_folded_parse(void)
{
	struct kt_fg_frame *fr = calloc(KT_FOLDED_MAX_DEPTH, sizeof(*fr));
	char *deep = malloc(4 * (KT_FOLDED_MAX_DEPTH + 1) + 16);
	const char *why;
	size_t n, i, at;
	uint64_t v;
	bool cut;

	if (!fr || !deep)
		return;
	why = parse_str("comm;main;do work(int);tcp_sendmsg_[k] 42\r", fr, &n, &v, &cut);
	CHECK(!why && n == 4 && v == 42 && !cut, "%s", why ? why : "");
	CHECK(fr[0].kind == KT_FG_COMM && fr[0].len == 4 && !memcmp(fr[0].name, "comm", 4));
	CHECK(fr[2].kind == KT_FG_USER && fr[2].len == 12 && !memcmp(fr[2].name, "do work(int)", 12));
	CHECK(fr[3].kind == KT_FG_KERNEL && fr[3].len == 11 && !memcmp(fr[3].name, "tcp_sendmsg", 11));
	why = parse_str("  a;b\t 7  ", fr, &n, &v, &cut);
	CHECK(!why && n == 2 && v == 7 && fr[0].len == 1 && fr[1].len == 1);
	why = parse_str("a 18446744073709551615", fr, &n, &v, &cut);
	CHECK(!why && n == 1 && v == UINT64_MAX);
	why = parse_str("a;b 0", fr, &n, &v, &cut);
	CHECK(!why && n == 2 && v == 0);
	/* blank lines are no stacks and no errors */
	CHECK(!parse_str("", fr, &n, &v, &cut) && n == 0);
	CHECK(!parse_str(" \t \r", fr, &n, &v, &cut) && n == 0);
	/* malformed lines, each with its reason */
	CHECK((why = parse_str("garbage", fr, &n, &v, &cut)) && strstr(why, "no count"));
	CHECK((why = parse_str("a;b x", fr, &n, &v, &cut)) && strstr(why, "no count"));
	CHECK((why = parse_str("a;b -3", fr, &n, &v, &cut)) && strstr(why, "no count"));
	CHECK((why = parse_str("a;b 1.5", fr, &n, &v, &cut)) && strstr(why, "decimal"));
	CHECK((why = parse_str("a;b 18446744073709551616", fr, &n, &v, &cut)) &&
	      strstr(why, "larger"));
	CHECK((why = parse_str("5", fr, &n, &v, &cut)) && strstr(why, "no frames"));
	CHECK((why = parse_str("a;;b 1", fr, &n, &v, &cut)) && strstr(why, "empty frame"));
	CHECK((why = parse_str(";a 1", fr, &n, &v, &cut)) && strstr(why, "empty frame"));
	CHECK((why = parse_str("a; 1", fr, &n, &v, &cut)) && strstr(why, "empty frame"));
	{
		char nul[] = "a\0b 1";

		CHECK((why = kt_folded_parse(nul, sizeof(nul) - 1, fr, &n, &v, &cut)) &&
		      strstr(why, "NUL"));
	}
	/* exactly the depth limit fits; one more frame is cut, with a marker */
	for (at = 0, i = 0; i < KT_FOLDED_MAX_DEPTH; i++)
		at += (size_t)sprintf(deep + at, "%sf", i ? ";" : "");
	sprintf(deep + at, " 3");
	why = kt_folded_parse(deep, strlen(deep), fr, &n, &v, &cut);
	CHECK(!why && n == KT_FOLDED_MAX_DEPTH && !cut && v == 3);
	sprintf(deep + at, ";g 3");
	why = kt_folded_parse(deep, strlen(deep), fr, &n, &v, &cut);
	CHECK(!why && n == KT_FOLDED_MAX_DEPTH && cut &&
	      !strncmp(fr[n - 1].name, "[deeper frames cut]", fr[n - 1].len));
	free(deep);
	free(fr);
}

static int read_text(struct kt_fg *fg, unsigned int side, unsigned int flags, const char *text,
		     struct kt_folded_stats *st)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err;

	memset(st, 0, sizeof(*st));
	if (!f)
		return -errno;
	err = kt_folded_read(f, "test.folded", fg, side, flags, st);
	fclose(f);
	return err;
}

static void test_folded_read(void)
{
	static const char mixed[] = "app;main;a 3\n"
				    "garbage line\n"
				    "\n"
				    "app;main;b 2\r\n"
				    "app;;x 1\n"
				    "app;main;a 4"; /* no final newline */
	struct kt_folded_stats st;
	struct kt_fg *fg = NULL;
	char *svg;

	CHECK(kt_fg_new(&fg, 0) == 0);
	CHECK(read_text(fg, 0, 0, mixed, &st) == 0);
	CHECK(st.lines == 6 && st.stacks == 3 && st.bad == 2 && st.full_line == 0,
	      "lines %llu stacks %llu bad %llu", (unsigned long long)st.lines,
	      (unsigned long long)st.stacks, (unsigned long long)st.bad);
	CHECK(kt_fg_total(fg, 0) == 9);
	svg = fg_svg(fg, NULL);
	/* the two "app;main;a" lines add up to one frame */
	CHECK(svg && strstr(svg, "<title>a (7 samples, 77.78%)</title>") &&
	      count(svg, "<title>a (") == 1 && count(svg, "<title>main (") == 1);
	CHECK(svg && strstr(svg, "<title>all (9 samples, 100.00%)</title>"));
	free(svg);
	kt_fg_free(fg);

	/* strict: the first malformed line is an error */
	CHECK(kt_fg_new(&fg, 0) == 0);
	CHECK(read_text(fg, 0, KT_FOLDED_STRICT, mixed, &st) == -EINVAL && st.lines == 2);
	kt_fg_free(fg);
	/* lines, but not one stack: an error; an empty input is not */
	CHECK(kt_fg_new(&fg, 0) == 0);
	CHECK(read_text(fg, 0, 0, "not folded\nat all\n", &st) == -EINVAL && st.bad == 2);
	CHECK(read_text(fg, 0, 0, "", &st) == 0 && st.lines == 0);
	svg = fg_svg(fg, NULL);
	CHECK(svg && strstr(svg, "no stacks were recorded") && svg_valid(svg));
	free(svg);
	kt_fg_free(fg);
	/* not folded stacks at all: a line over 1 MiB, or 1000 bad lines before a stack */
	CHECK(kt_fg_new(&fg, 0) == 0);
	{
		size_t big = KT_FOLDED_MAX_LINE + 10;
		char *text = malloc(big + 1);

		if (text) {
			memset(text, 'x', big);
			memcpy(text, "a;b 1\n", 6);
			text[big] = 0;
			CHECK(read_text(fg, 0, 0, text, &st) == -EINVAL && st.lines == 2);
			memset(text, 0, big + 1);
			for (size_t i = 0; i < 1500; i++)
				strcat(text, "junk\n");
			strcat(text, "a;b 1\n");
			CHECK(read_text(fg, 0, 0, text, &st) == -EINVAL && st.lines == 1000 &&
			      st.bad == 1000);
			/* after a stack, bad lines are only skipped */
			memcpy(text, "a;b 1\n", 6);
			CHECK(read_text(fg, 0, 0, text, &st) == 0 && st.bad == 1499 && st.stacks == 2);
			free(text);
		}
	}
	kt_fg_free(fg);
	/* the frame bound: reading stops at the line that would pass it */
	CHECK(kt_fg_new(&fg, 5) == 0);
	CHECK(read_text(fg, 0, 0, "a;b 1\na;c 1\na;d 1\na;e 1\n", &st) == -E2BIG);
	CHECK(st.stacks == 2 && st.full_line == 3 && kt_fg_total(fg, 0) == 2);
	kt_fg_free(fg);
	/* counts that add up past 2^64 - 1: the line is malformed, the rest stays */
	CHECK(kt_fg_new(&fg, 0) == 0);
	CHECK(read_text(fg, 0, 0, "a 18446744073709551615\nb 1\nc 0\n", &st) == 0);
	CHECK(st.bad == 1 && st.stacks == 2 && kt_fg_total(fg, 0) == UINT64_MAX);
	svg = fg_svg(fg, NULL);
	CHECK(svg && svg_valid(svg));
	free(svg);
	kt_fg_free(fg);
}

static void test_folded_hostile(void)
{
	static const char text[] = "ev<il>;<script>alert(1)</script>;a&b\"c'd 5\n"
				   "x\x01\x1b[31m;bad\xff\xfe\xc0\xafutf8;\xed\xa0\x80 3\n"
				   "x\x01\x1b[31m;]]></script><script>alert(2)// 1\n";
	struct kt_flamegraph_opts o = {.title = "<script>t</script>",
				       .subtitle = "]]> & <b>", .note = "\x1b[2J"};
	struct kt_folded_stats st;
	struct kt_fg *fg = NULL;
	char *svg;

	CHECK(kt_fg_new(&fg, 0) == 0);
	CHECK(read_text(fg, 0, 0, text, &st) == 0 && st.stacks == 3);
	svg = fg_svg(fg, &o);
	CHECK(svg && svg_valid(svg));
	if (svg) {
		/* one script element, ours; everything else is escaped text */
		CHECK(count(svg, "<script") == 1 && count(svg, "</script>") == 1);
		CHECK(strstr(svg, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
		CHECK(strstr(svg, "a&amp;b&quot;c&apos;d") != NULL);
		CHECK(!strchr(svg, '\x01') && !strchr(svg, '\x1b'));
		CHECK(strstr(svg, "bad\xef\xbf\xbd\xef\xbf\xbd") != NULL);
		CHECK(strstr(svg, "]]&gt; &amp; &lt;b&gt;") != NULL);
		CHECK(count(svg, "http://") == 1); /* the SVG namespace only */
		free(svg);
	}
	kt_fg_free(fg);
}

/* A stack table and the folded lines written from it draw the same SVG: one renderer. */
static void test_same_renderer(void)
{
	uint64_t k1[] = {0xffffffff81000510, 0xffffffff81000010};
	uint64_t k2[] = {0xffffffff81000010};
	uint64_t u1[] = {0x1234, 0x5678};
	struct kt_flamegraph_opts o = {.title = "same", .unit = "samples"};
	struct kt_folded_stats st;
	struct kt_stacks *tab = NULL;
	struct kt_fg *fg = NULL;
	char *folded = NULL, *a = NULL, *b = NULL;
	size_t len = 0;
	FILE *f;

	CHECK(kt_stacks_new(&tab) == 0);
	CHECK(kt_stacks_add(tab, 1, "app", k1, 2, 0, u1, 2, 30) == 0);
	CHECK(kt_stacks_add(tab, 2, "app", k2, 1, 0, u1, 1, 12) == 0);
	CHECK(kt_stacks_add(tab, 3, "other", k2, 1, 0, NULL, 0, 5) == 0);
	CHECK(kt_stacks_resolve(tab, NULL, NULL) == 0);
	f = open_memstream(&a, &len);
	CHECK(f && kt_flamegraph_write_opts(f, tab, &o) == 0);
	fclose(f);
	f = open_memstream(&folded, &len);
	CHECK(f && kt_folded_write(f, tab, KT_FOLDED_KERNEL_TAG) == 0);
	fclose(f);
	CHECK(kt_fg_new(&fg, 0) == 0);
	CHECK(folded && read_text(fg, 0, 0, folded, &st) == 0 && st.stacks == 3);
	b = fg_svg(fg, &o);
	CHECK(a && b && !strcmp(a, b), "stack table and folded input differ");
	CHECK(a && count(a, "<title>app (") == 1 && strstr(a, "<title>app (42 samples"));
	free(a);
	free(b);
	free(folded);
	kt_fg_free(fg);
	kt_stacks_free(tab);
}

static const char diff_before[] = "app;main;work;hot 50\n"
				  "app;main;work;cold 30\n"
				  "app;main;idle 20\n"
				  "app;main;gone 10\n";
static const char diff_after[] = "app;main;work;hot 90\n"
				 "app;main;work;cold 10\n"
				 "app;main;idle 20\n"
				 "app;main;fresh 15\n";

/* The <g ...> line of the frame named @name, or NULL when it is not drawn. */
static char *frame_line(const char *svg, const char *name)
{
	char key[256];
	const char *t, *g, *e;

	snprintf(key, sizeof(key), "<title>%s (", name);
	t = strstr(svg, key);
	if (!t)
		return NULL;
	for (g = t; g > svg && *g != '\n'; g--)
		;
	e = strchr(t, '\n');
	return e ? strndup(g, (size_t)(e - g)) : NULL;
}

static void test_diff(void)
{
	struct kt_flamegraph_opts o = {.diff = true};
	struct kt_folded_stats st;
	struct kt_fg *fg = NULL;
	char *svg, *l;

	CHECK(kt_fg_new(&fg, 0) == 0);
	CHECK(read_text(fg, 0, 0, diff_before, &st) == 0);
	CHECK(read_text(fg, 1, 0, diff_after, &st) == 0);
	CHECK(kt_fg_total(fg, 0) == 110 && kt_fg_total(fg, 1) == 135);
	svg = fg_svg(fg, &o);
	CHECK(svg && svg_valid(svg));
	if (!svg)
		return;
	CHECK(strstr(svg, "Differential Flame Graph") != NULL);
	CHECK(strstr(svg, "2 grew, 2 shrank, 1 appeared, 1 vanished; widths from AFTER") != NULL);
	/* hot: 50/110 = 45.45% -> 90/135 = 66.67%, red */
	l = frame_line(svg, "hot");
	CHECK(l && strstr(l, "class=\"f grew\"") &&
	      strstr(l, "(before 50, after 90 samples, delta +40; share 45.45% to 66.67%: grew)") &&
	      strstr(l, "fill=\"rgb(255,"), "%s", l ? l : "not drawn");
	free(l);
	/* idle: same count, smaller share of a larger total: shrank, by share */
	l = frame_line(svg, "idle");
	CHECK(l && strstr(l, "class=\"f shrank\"") && strstr(l, "delta +0;") &&
	      strstr(l, ",255)\""), "%s", l ? l : "not drawn");
	free(l);
	l = frame_line(svg, "cold");
	CHECK(l && strstr(l, "class=\"f shrank\"") && strstr(l, "delta -20;"));
	free(l);
	l = frame_line(svg, "fresh");
	CHECK(l && strstr(l, "class=\"f appeared\"") && strstr(l, "(before 0, after 15 samples"));
	free(l);
	/* widths from AFTER: the frame that vanished has none */
	CHECK(!strstr(svg, "<title>gone ("));
	/* "hot" is the widest leaf: 90 of 135 */
	l = frame_line(svg, "hot");
	CHECK(l && strstr(l, "width=\"786.67\""), "%s", l ? l : "");
	free(l);
	free(svg);

	o.negate = true;
	svg = fg_svg(fg, &o);
	CHECK(svg && svg_valid(svg));
	if (svg) {
		l = frame_line(svg, "gone");
		CHECK(l && strstr(l, "class=\"f vanished\"") &&
		      strstr(l, "(before 10, after 0 samples, delta -10; share 9.09% to 0.00%: "
				"vanished)") &&
		      strstr(l, ",255)\""), "%s", l ? l : "not drawn");
		free(l);
		CHECK(!strstr(svg, "<title>fresh ("));
		CHECK(strstr(svg, "widths from BEFORE") != NULL);
		/* "hot" is 50 of 110 wide */
		l = frame_line(svg, "hot");
		CHECK(l && strstr(l, "width=\"536.36\"") && strstr(l, "class=\"f grew\""));
		free(l);
		free(svg);
	}
	kt_fg_free(fg);
	/*
	 * An empty BEFORE: everything appeared, and "all" moved by 100%, more
	 * than any frame (two processes of 50% each): the deepest red, no more.
	 */
	CHECK(kt_fg_new(&fg, 0) == 0);
	CHECK(read_text(fg, 1, 0, "a;x 1\nb;y 1\n", &st) == 0);
	o.negate = false;
	svg = fg_svg(fg, &o);
	CHECK(svg && svg_valid(svg) && strstr(svg, "0 grew, 0 shrank, 4 appeared, 0 vanished"));
	l = svg ? frame_line(svg, "all") : NULL;
	CHECK(l && strstr(l, "class=\"f appeared\"") && strstr(l, "fill=\"rgb(255,40,40)\""), "%s",
	      l ? l : "");
	free(l);
	free(svg);
	o.negate = true;
	svg = fg_svg(fg, &o);
	CHECK(svg && svg_valid(svg) && strstr(svg, "no stacks were recorded in BEFORE"));
	free(svg);
	kt_fg_free(fg);
	/* the sides are 0 and 1 only; an empty path is refused */
	CHECK(kt_fg_new(&fg, 0) == 0);
	CHECK(kt_fg_add(fg, 2, (struct kt_fg_frame[]){{"a", 1, KT_FG_USER}}, 1, 1) == -EINVAL);
	CHECK(kt_fg_add(fg, 0, NULL, 0, 1) == -EINVAL);
	kt_fg_free(fg);
}

static void test_subtitle(void)
{
	char *argv[] = {"/usr/sbin/ktrace", "flamegraph", "--title", "a b", "x'y", ""};
	char buf[128], small[12];

	kt_flamegraph_subtitle(buf, sizeof(buf), 6, argv, "host1", "6.1.0", "input: a.folded");
	CHECK(!strcmp(buf, "ktrace flamegraph --title 'a b' \"x'y\" '' on host1, kernel 6.1.0, "
			   "input: a.folded"),
	      "%s", buf);
	kt_flamegraph_subtitle(small, sizeof(small), 6, argv, "host1", NULL, NULL);
	CHECK(!strcmp(small, "ktrace flam"), "%s", small);
	kt_flamegraph_subtitle(buf, sizeof(buf), 0, argv, NULL, NULL, "span");
	CHECK(!strcmp(buf, "span"), "%s", buf);
	setenv("TZ", "UTC", 1);
	tzset();
	/* 2026-12-02 12:00:00 UTC is 1796212800 */
	kt_flamegraph_span(buf, sizeof(buf), 1796212800ULL * 1000000000, 1796212830ULL * 1000000000);
	CHECK(!strcmp(buf, "2026-12-02 12:00:00 to 12:00:30 UTC"), "%s", buf);
	kt_flamegraph_span(buf, sizeof(buf), 1796212800ULL * 1000000000, 1796299200ULL * 1000000000);
	CHECK(!strcmp(buf, "2026-12-02 12:00:00 to 2026-12-03 12:00:00 UTC"), "%s", buf);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_table();
	test_outputs();
	test_xml_escape();
	test_folded_parse();
	test_folded_read();
	test_folded_hostile();
	test_same_renderer();
	test_diff();
	test_subtitle();
	rmdir(tmpdir);
	if (kt_test_failed) {
		fprintf(stderr, "%d check(s) failed\n", kt_test_failed);
		return 1;
	}
	printf("all flamegraph tests passed\n");
	return 0;
}
