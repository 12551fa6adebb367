// SPDX-License-Identifier: GPL-2.0
/*
 * Strings from the kernel are hostile: file names, argv and comm can hold
 * newlines, terminal escape sequences and invalid UTF-8. Text output escapes
 * everything that is not printable valid UTF-8; JSON output gets a valid
 * UTF-8 copy, which kt_json_string() (output.c) writes with every control
 * character escaped, DEL and C1 included (cJSON itself leaves those raw).
 */
#include <stdlib.h>
#include <string.h>

#include "output.h"

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there
 * are not one (overlong forms, surrogates and values past U+10FFFF included).
 */
static size_t utf8_seq(const unsigned char *s, size_t len, unsigned *cp)
{
	unsigned c = s[0], n, v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (unsigned i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

size_t kt_esc_text(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, w = 0;

	while (i < len && s[i]) {
		unsigned cp;
		size_t n = utf8_seq(s + i, len - i, &cp);
		const char *e = NULL;

		switch (n ? cp : 0x100) {
		case '\n': e = "\\n"; break;
		case '\t': e = "\\t"; break;
		case '\r': e = "\\r"; break;
		case '\\': e = "\\\\"; break;
		}
		if (e) {
			fputs(e, f);
			w += 2;
			i++;
		} else if (!n || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			/* invalid byte, C0 or C1 control: every byte as \xNN */
			size_t m = n ? n : 1;

			for (size_t k = 0; k < m; k++)
				fprintf(f, "\\x%02x", s[i + k]);
			w += 4 * m;
			i += m;
		} else {
			fwrite(s + i, 1, n, f);
			w += n;
			i += n;
		}
	}
	return w;
}

char *kt_utf8_clean(const char *str, size_t len, bool *bad)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strnlen(str, len), o = 0;
	char *out = malloc(3 * n + 1);

	if (bad)
		*bad = false;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		unsigned cp;
		size_t m = utf8_seq(s + i, n - i, &cp);

		if (m) {
			memcpy(out + o, s + i, m);
			o += m;
			i += m;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			if (bad)
				*bad = true;
		}
	}
	out[o] = 0;
	return out;
}
