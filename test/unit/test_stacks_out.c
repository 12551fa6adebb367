// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of output/stacks_out.c: folded lines that name the same call path
 * merge (values summed, most first), -d puts "-" between user and kernel
 * frames, hostile comms stay on one line, JSON stacks records hold frames
 * as objects, and text follows the BCC layout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksyms.h"
#include "output.h"
#include "stacks.h"
#include "stacks_out.h"

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static char dir[] = "/tmp/kt_so_testXXXXXX";

static const char kallsyms[] = "ffffffff81000000 T entry_syscall\n"
			       "ffffffff81000100 T do_read\n"
			       "ffffffff81000200 T schedule\n";

/* Render st with fn into a string (the caller frees it). */
static char *render(bool json, int (*fn)(struct kt_out *, const struct kt_stacks *, void *),
		    const struct kt_stacks *st, void *arg)
{
	char path[64], *buf;
	struct kt_out *out;
	struct kt_out_opts o = { path, json, false };
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/out", dir);
	if (kt_out_open(&out, &o))
		return NULL;
	fn(out, st, arg);
	kt_out_close(out, false);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = 0;
	fclose(f);
	return buf;
}

static int folded(struct kt_out *out, const struct kt_stacks *st, void *arg)
{
	return kt_out_stacks_folded(out, st, *(bool *)arg);
}

static int stacks(struct kt_out *out, const struct kt_stacks *st, void *arg)
{
	kt_out_stacks(out, st, arg);
	return 0;
}

int main(void)
{
	/* kernel: schedule <- do_read <- entry_syscall, at two different offsets */
	uint64_t k1[] = { 0xffffffff81000210, 0xffffffff81000110, 0xffffffff81000010 };
	uint64_t k2[] = { 0xffffffff81000220, 0xffffffff81000120, 0xffffffff81000010 };
	struct kt_stacks_fmt fmt = { "count", true };
	struct kt_stacks *st = NULL;
	struct kt_ksyms *ks = NULL;
	char path[64], *s;
	bool delim = false;
	FILE *f;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/kallsyms", dir);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fputs(kallsyms, f);
	fclose(f);
	CHECK(kt_ksyms_load(path, &ks) == 0);
	CHECK(kt_stacks_new(&st) == 0);
	if (!ks || !st)
		return 1;
	CHECK(kt_stacks_add(st, 7, "reader", k1, 3, 0, NULL, 0, 5) == 0);
	CHECK(kt_stacks_add(st, 7, "reader", k2, 3, 0, NULL, 0, 3) == 0);
	CHECK(kt_stacks_add(st, 8, "evil;comm\nx", k1, 1, 0, NULL, 0, 20) == 0);
	/* C1 CSI (U+009B as \xc2\x9b) and an invalid byte: escaped as text output does */
	CHECK(kt_stacks_add(st, 9, "c1\xc2\x9b\xff", k1, 1, 0, NULL, 0, 1) == 0);
	CHECK(kt_stacks_resolve(st, ks, NULL) == 0);
	kt_stacks_sort(st);

	s = render(false, folded, st, &delim);
	CHECK(s && !strcmp(s, "evil_comm\\nx;schedule 20\n"
			      "reader;entry_syscall;do_read;schedule 8\n"
			      "c1\\xc2\\x9b\\xff;schedule 1\n"));
	free(s);

	/* a user part: the delimiter goes between user and kernel frames */
	kt_stacks_clear(st);
	{
		uint64_t u[] = { 0x401000, 0x402000 };

		CHECK(kt_stacks_add(st, 9, "app", k1, 1, 0, u, 2, 4) == 0);
	}
	CHECK(kt_stacks_resolve(st, ks, NULL) == 0);
	delim = true;
	s = render(false, folded, st, &delim);
	CHECK(s && !strncmp(s, "app;", 4) && strstr(s, ";-;schedule 4\n"));
	free(s);

	s = render(false, stacks, st, &fmt);
	CHECK(s && strstr(s, "    schedule\n    --\n") && strstr(s, "    -                app (9)\n        4\n"));
	free(s);

	s = render(true, stacks, st, &fmt);
	CHECK(s && strstr(s, "\"type\":\"stacks\"") && strstr(s, "\"count\":4") &&
	      strstr(s, "\"kernel_frames\":[{\"address\":\"0xffffffff81000210\",\"symbol\":\"schedule\",\"offset\":16") &&
	      strstr(s, "\"user_frames\":[{\"address\":\"0x401000\",\"symbol\":null"));
	/* no symbol, no module: no offset (it would only repeat the address as a number) */
	CHECK(s && strstr(s, "{\"address\":\"0x401000\",\"symbol\":null,\"module\":null}"));
	free(s);

	/*
	 * A kernel address no symbol covers: the address as a hex string, no
	 * offset, and no integer above 2^53 anywhere in the record.
	 */
	kt_stacks_clear(st);
	{
		uint64_t k[] = { 0xffffffff00000010ULL };

		CHECK(kt_stacks_add(st, 10, "nosym", k, 1, 0, NULL, 0, 1) == 0);
	}
	CHECK(kt_stacks_resolve(st, ks, NULL) == 0);
	s = render(true, stacks, st, &fmt);
	CHECK(s && strstr(s, "{\"address\":\"0xffffffff00000010\",\"symbol\":null,\"module\":\"[kernel]\"}"));
	CHECK(s && !strstr(s, "\"offset\""));
	for (const char *p = s; p && *p; p++) {
		/* every run of digits outside a string is a number: none longer than 2^53's 16 digits */
		static int in_str, digits;

		if (*p == '"' && (p == s || p[-1] != '\\'))
			in_str = !in_str;
		digits = !in_str && *p >= '0' && *p <= '9' ? digits + 1 : 0;
		CHECK(digits <= 16);
	}
	free(s);

	/* a user stack walked into data: the frames from the first impossible address on are dropped */
	kt_stacks_clear(st);
	{
		uint64_t u[] = { 0x401000, 0x7f0000001000, 0x5f687361622f706dULL, 0x402000 };
		const struct kt_stack *sk;

		CHECK(kt_stacks_add(st, 11, "fpwalk", NULL, 0, 0, u, 4, 1) == 0);
		sk = kt_stacks_count(st) == 1 ? kt_stacks_get(st, 0) : NULL;
		CHECK(sk && sk->nuser == 2);
	}
	CHECK(kt_stacks_resolve(st, ks, NULL) == 0);
	s = render(true, stacks, st, &fmt);
	CHECK(s && strstr(s, "\"0x7f0000001000\"") && !strstr(s, "0x5f687361622f706d") &&
	      !strstr(s, "0x402000"));
	free(s);

	kt_stacks_free(st);
	kt_ksyms_free(ks);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path))
		failures++;
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures ? 1 : 0;
}
