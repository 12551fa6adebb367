// SPDX-License-Identifier: GPL-2.0
/*
 * Folded stack output (see folded.h for the format and the choices made).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "folded.h"
#include "output.h"

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
