// SPDX-License-Identifier: GPL-2.0
/*
 * jflat: flatten JSON Lines into one line per scalar, for busybox awk/grep.
 *
 * usage: jflat [FILE]       (standard input without FILE)
 *
 * For every input line holding a JSON value, and for every scalar in it,
 * prints "LINE<TAB>PATH<TAB>VALUE", e.g.
 *
 *   3	.type	hist
 *   3	.buckets[4].count	17
 *
 * Strings are printed unescaped (control characters and tabs become spaces,
 * \u escapes outside ASCII become '?'); numbers, true, false and null as
 * written.  Blank lines and lines not starting with '{' or '[' are skipped
 * (ktrace may print text before its JSON).  A malformed JSON line prints
 * "LINE<TAB>!error<TAB>what" and makes the exit status 1.
 *
 * The guest has no jq; this keeps the test scripts honest about structure
 * without pattern-matching raw JSON text.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_PATH 4096

struct parser {
	const char *s;
	const char *err;
	unsigned long line;
	char path[MAX_PATH];
	size_t plen;
	int depth;
};

static void skip_ws(struct parser *p)
{
	while (*p->s == ' ' || *p->s == '\t' || *p->s == '\r' || *p->s == '\n')
		p->s++;
}

static int fail(struct parser *p, const char *what)
{
	if (!p->err)
		p->err = what;
	return -1;
}

/* Append to the path; returns the old length so the caller can restore it. */
static size_t path_push(struct parser *p, const char *fmt, const char *a, long i)
{
	size_t old = p->plen;
	int n;

	if (a)
		n = snprintf(p->path + p->plen, MAX_PATH - p->plen, fmt, a);
	else
		n = snprintf(p->path + p->plen, MAX_PATH - p->plen, fmt, i);
	if (n < 0 || (size_t)n >= MAX_PATH - p->plen)
		p->plen = MAX_PATH - 1;
	else
		p->plen += n;
	return old;
}

static void path_pop(struct parser *p, size_t old)
{
	p->plen = old;
	p->path[old] = '\0';
}

static void put_utf8(char **o, unsigned int cp)
{
	*(*o)++ = cp < 0x80 && cp >= 0x20 ? (char)cp : (cp < 0x20 ? ' ' : '?');
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse a string at p->s (which points at '"') into a malloc'd buffer. */
static char *parse_string(struct parser *p)
{
	const char *s = p->s + 1;
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out) {
		fail(p, "out of memory");
		return NULL;
	}
	for (;;) {
		unsigned char c = (unsigned char)*s++;

		if (c == '"')
			break;
		if (c == '\0' || c < 0x20) {
			free(out);
			fail(p, "unterminated string or raw control character");
			return NULL;
		}
		if (c != '\\') {
			*o++ = c == '\t' ? ' ' : (char)c;
			continue;
		}
		c = (unsigned char)*s++;
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': case 'f': case 'n': case 'r': case 't': *o++ = ' '; break;
		case 'u': {
			unsigned int cp = 0;
			int k, h;

			for (k = 0; k < 4; k++) {
				h = hexval((unsigned char)s[k]);
				if (h < 0) {
					free(out);
					fail(p, "bad \\u escape");
					return NULL;
				}
				cp = cp << 4 | (unsigned int)h;
			}
			s += 4;
			put_utf8(&o, cp);
			break;
		}
		default:
			free(out);
			fail(p, "bad escape in string");
			return NULL;
		}
	}
	*o = '\0';
	p->s = s;
	return out;
}

static void emit(struct parser *p, const char *v, size_t n)
{
	printf("%lu\t%s\t%.*s\n", p->line, p->plen ? p->path : ".", (int)n, v);
}

static int parse_value(struct parser *p);

static int parse_object(struct parser *p)
{
	p->s++;
	skip_ws(p);
	if (*p->s == '}') {
		p->s++;
		return 0;
	}
	for (;;) {
		char *key;
		size_t old;
		int r;

		skip_ws(p);
		if (*p->s != '"')
			return fail(p, "expected a key");
		key = parse_string(p);
		if (!key)
			return -1;
		skip_ws(p);
		if (*p->s != ':') {
			free(key);
			return fail(p, "expected ':'");
		}
		p->s++;
		old = path_push(p, ".%s", key, 0);
		free(key);
		r = parse_value(p);
		path_pop(p, old);
		if (r)
			return r;
		skip_ws(p);
		if (*p->s == ',') {
			p->s++;
			continue;
		}
		if (*p->s == '}') {
			p->s++;
			return 0;
		}
		return fail(p, "expected ',' or '}'");
	}
}

static int parse_array(struct parser *p)
{
	long i = 0;

	p->s++;
	skip_ws(p);
	if (*p->s == ']') {
		p->s++;
		return 0;
	}
	for (;; i++) {
		size_t old = path_push(p, "[%ld]", NULL, i);
		int r = parse_value(p);

		path_pop(p, old);
		if (r)
			return r;
		skip_ws(p);
		if (*p->s == ',') {
			p->s++;
			continue;
		}
		if (*p->s == ']') {
			p->s++;
			return 0;
		}
		return fail(p, "expected ',' or ']'");
	}
}

static int parse_number(struct parser *p)
{
	const char *b = p->s, *s = p->s;

	if (*s == '-')
		s++;
	if (!isdigit((unsigned char)*s))
		return fail(p, "bad number");
	while (isdigit((unsigned char)*s))
		s++;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return fail(p, "bad number");
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return fail(p, "bad number");
		while (isdigit((unsigned char)*s))
			s++;
	}
	emit(p, b, (size_t)(s - b));
	p->s = s;
	return 0;
}

static int parse_value(struct parser *p)
{
	int r;

	skip_ws(p);
	if (++p->depth > MAX_DEPTH)
		return fail(p, "nested too deeply");
	switch (*p->s) {
	case '{':
		r = parse_object(p);
		break;
	case '[':
		r = parse_array(p);
		break;
	case '"': {
		char *v = parse_string(p);

		if (!v)
			return -1;
		emit(p, v, strlen(v));
		free(v);
		r = 0;
		break;
	}
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = { "true", "false", "null" };
		size_t k;

		r = fail(p, "bad literal");
		for (k = 0; k < 3; k++) {
			size_t n = strlen(words[k]);

			if (!strncmp(p->s, words[k], n)) {
				emit(p, p->s, n);
				p->s += n;
				p->err = NULL;
				r = 0;
				break;
			}
		}
		break;
	}
	default:
		r = parse_number(p);
	}
	p->depth--;
	return r;
}

int main(int argc, char **argv)
{
	FILE *f = stdin;
	char *buf = NULL;
	size_t cap = 0;
	unsigned long line = 0;
	int status = 0;

	if (argc > 1 && !(f = fopen(argv[1], "r"))) {
		perror(argv[1]);
		return 2;
	}
	while (getline(&buf, &cap, f) >= 0) {
		struct parser p = { .s = buf, .line = ++line };

		skip_ws(&p);
		if (*p.s != '{' && *p.s != '[')
			continue;
		if (!parse_value(&p)) {
			skip_ws(&p);
			if (*p.s)
				fail(&p, "trailing characters after the value");
		}
		if (p.err) {
			printf("%lu\t!error\t%s\n", line, p.err);
			status = 1;
		}
	}
	free(buf);
	return status;
}
