// SPDX-License-Identifier: GPL-2.0
/*
 * Folded stacks: writing a stack table, and reading files of folded lines
 * into a flame graph's frame-path set (see folded.h for the format, the
 * choices made and the rules for malformed input).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "output.h"
#include "util.h"

void kt_folded_put_name(FILE *f, const char *name)
{
	const char *p = name;

	if (!*p) {
		fputs("[unknown]", f);
		return;
	}
	/* ';' separates frames: '_' for it; the rest escaped as text output does */
	for (;;) {
		size_t n = strcspn(p, ";");

		kt_esc_text(f, p, n);
		if (!p[n])
			break;
		fputc('_', f);
		p += n + 1;
	}
}

static void put_frame(FILE *f, const struct kt_frame *frames, const uint64_t *ips, size_t i,
		      const char *tag)
{
	char buf[512];

	if (frames)
		kt_stacks_frame_name(&frames[i], 0, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "0x%" PRIx64, ips[i]);
	fputc(';', f);
	kt_folded_put_name(f, buf);
	fputs(tag, f);
}

int kt_folded_write(FILE *f, const struct kt_stacks *st, unsigned int flags)
{
	const char *ktag = flags & KT_FOLDED_KERNEL_TAG ? "_[k]" : "";
	size_t i, j, n = kt_stacks_count(st);

	for (i = 0; i < n; i++) {
		const struct kt_stack *s = kt_stacks_get(st, i);

		kt_folded_put_name(f, s->comm);
		if (flags & KT_FOLDED_PID)
			fprintf(f, "-%" PRIu32, s->pid);
		/* arrays are leaf first; folded lines are root first */
		for (j = s->nuser; j-- > 0;)
			put_frame(f, s->uframes, s->uips, j, "");
		for (j = s->nkern; j-- > 0;)
			put_frame(f, s->kframes, s->kips, j, ktag);
		fprintf(f, " %" PRIu64 "\n", s->value);
	}
	return ferror(f) ? -EIO : 0;
}

/* ---- reading ---- */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *parse_count(const char *s, size_t len, uint64_t *value)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '.' && i && i + 1 < len)
			return "the count has a decimal part (whole numbers only)";
		if (s[i] < '0' || s[i] > '9')
			return "no count at its end (expected \"frame;frame;... COUNT\")";
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
			return "the count is larger than 2^64 - 1";
	}
	*value = v;
	return NULL;
}

const char *kt_folded_parse(char *line, size_t len, struct kt_fg_frame *frames, size_t *n,
			    uint64_t *value, bool *cut)
{
	size_t start = 0, end, k = 0, i;
	const char *why;

	*n = 0;
	*cut = false;
	if (memchr(line, 0, len))
		return "it holds a NUL byte";
	if (len && line[len - 1] == '\r')
		len--;
	while (len && blank(line[len - 1]))
		len--;
	while (start < len && blank(line[start]))
		start++;
	if (start == len)
		return NULL; /* blank */
	for (end = len; end > start && !blank(line[end - 1]); end--)
		;
	if (end == start)
		return parse_count(line + start, len - start, value)
			   ? "no count at its end (expected \"frame;frame;... COUNT\")"
			   : "no frames before the count";
	why = parse_count(line + end, len - end, value);
	if (why)
		return why;
	while (end > start && blank(line[end - 1]))
		end--;
	if (end == start)
		return "no frames before the count";
	for (i = start; i <= end; i++) {
		size_t flen;

		if (i < end && line[i] != ';')
			continue;
		flen = i - start;
		if (!flen)
			return "an empty frame name (\";;\", or ';' at an end)";
		if (k == KT_FOLDED_MAX_DEPTH - 1 && i < end) {
			*cut = true;
			frames[k++] = (struct kt_fg_frame){"[deeper frames cut]", 19, KT_FG_USER};
			break;
		}
		frames[k].name = line + start;
		frames[k].len = flen;
		frames[k].kind = k ? KT_FG_USER : KT_FG_COMM;
		if (k && flen > 4 && !memcmp(line + i - 4, "_[k]", 4)) {
			frames[k].kind = KT_FG_KERNEL;
			frames[k].len -= 4;
		}
		k++;
		start = i + 1;
	}
	*n = k;
	return NULL;
}

int kt_folded_read(FILE *f, const char *name, struct kt_fg *fg, unsigned int side,
		   unsigned int flags, struct kt_folded_stats *st)
{
	struct kt_fg_frame *fr = malloc(KT_FOLDED_MAX_DEPTH * sizeof(*fr));
	char *line = malloc(KT_FOLDED_MAX_LINE);
	uint64_t bad = 0, value;
	int err = 0, ch = 0;

	if (!fr || !line) {
		err = -ENOMEM;
		goto out;
	}
	errno = 0;
	while (ch != EOF) {
		const char *why = NULL;
		size_t len = 0, n = 0;
		bool too_long = false, cut = false;

		while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
			if (len == KT_FOLDED_MAX_LINE) {
				too_long = true;
				break;
			}
			line[len++] = (char)ch;
		}
		if (ch == EOF && !len)
			break;
		st->lines++;
		if (too_long) {
			/* no folded tool writes such a line; an endless one (a device) must not hang us */
			kt_err("%s:%" PRIu64 ": a line longer than 1 MiB: is it folded stacks "
			       "(\"frame;frame;... COUNT\" per line)?",
			       name, st->lines);
			err = -EINVAL;
			goto out;
		}
		why = kt_folded_parse(line, len, fr, &n, &value, &cut);
		if (!why && n) {
			err = kt_fg_add(fg, side, fr, n, value);
			if (err == -EOVERFLOW) {
				why = "the counts add up to more than 2^64 - 1";
				err = 0;
			} else if (err == -E2BIG) {
				st->full_line = st->lines;
				goto out;
			} else if (err) {
				goto out;
			} else {
				st->stacks++;
				st->cut += cut;
			}
		}
		if (!why)
			continue;
		if (flags & KT_FOLDED_STRICT) {
			kt_err("%s:%" PRIu64 ": malformed line: %s", name, st->lines, why);
			err = -EINVAL;
			goto out;
		}
		if (bad++ < KT_FOLDED_MAX_WARN)
			kt_warn("%s:%" PRIu64 ": malformed line skipped: %s", name, st->lines, why);
		if (bad == KT_FOLDED_GIVE_UP && !st->stacks) {
			/* e.g. a binary file or an endless device: stop, not skip forever */
			kt_err("%s: none of its first %" PRIu64 " lines is a folded stack: is it folded "
			       "stacks (\"frame;frame;... COUNT\" per line)?",
			       name, st->lines);
			err = -EINVAL;
			goto out;
		}
	}
	if (ferror(f)) {
		err = errno ? -errno : -EIO;
		kt_err("reading %s failed: %s", name, strerror(-err));
		goto out;
	}
	if (st->lines && !st->stacks && bad) {
		kt_err("%s: none of its %" PRIu64 " lines is a folded stack: is it folded stacks "
		       "(\"frame;frame;... COUNT\" per line)?",
		       name, st->lines);
		err = -EINVAL;
	}
out:
	if (bad > KT_FOLDED_MAX_WARN && err != -EINVAL)
		kt_warn("%s: %" PRIu64 " malformed lines skipped in all (the first %d are shown above)",
			name, bad, KT_FOLDED_MAX_WARN);
	if (st->cut && err != -EINVAL)
		kt_warn("%s: %" PRIu64 " stacks deeper than %d frames were cut (their last frame reads "
			"\"[deeper frames cut]\")",
			name, st->cut, KT_FOLDED_MAX_DEPTH);
	st->bad += bad;
	free(line);
	free(fr);
	return err;
}
