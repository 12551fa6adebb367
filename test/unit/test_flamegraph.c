// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the stack table, folded output and the SVG flame graph: stacks
 * aggregate and sort, the skip count drops leading kernel frames, hostile
 * frame names and comms (markup, quotes, ';', newlines, control bytes,
 * invalid UTF-8) leave folded lines one-per-stack and the SVG well-formed
 * XML, checked with xmllint (or Python's XML parser when xmllint is absent).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_table();
	test_outputs();
	test_xml_escape();
	rmdir(tmpdir);
	if (kt_test_failed) {
		fprintf(stderr, "%d check(s) failed\n", kt_test_failed);
		return 1;
	}
	printf("all flamegraph tests passed\n");
	return 0;
}
