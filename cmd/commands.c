// SPDX-License-Identifier: GPL-2.0
/*
 * The table of subcommands. Adding a subcommand: one line here (in the order
 * `ktrace --help` lists them), cmd/NAME.c, probes/NAME.bpf.c + NAME.h,
 * man/ktrace-NAME.8 and its tests.
 */
#include <stdlib.h>
#include <string.h>

#include "ktrace.h"

extern const struct kt_cmd kt_cmd_check;
extern const struct kt_cmd kt_cmd_biolat;
extern const struct kt_cmd kt_cmd_tcpretrans;

const struct kt_cmd *const kt_cmds[] = {
	&kt_cmd_check,
	&kt_cmd_biolat,
	&kt_cmd_tcpretrans,
};
const size_t kt_n_cmds = sizeof(kt_cmds) / sizeof(kt_cmds[0]);

const struct kt_cmd *kt_cmd_find(const char *name)
{
	for (size_t i = 0; i < kt_n_cmds; i++)
		if (!strcmp(kt_cmds[i]->name, name))
			return kt_cmds[i];
	return NULL;
}

/* Levenshtein distance, capped to keep it cheap on long junk input. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strnlen(a, 64), lb = strnlen(b, 64), prev[65], cur[65];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

const struct kt_cmd *kt_cmd_suggest(const char *name)
{
	const struct kt_cmd *best = NULL;
	size_t bd = 3; /* farther than this is no suggestion */

	for (size_t i = 0; i < kt_n_cmds; i++) {
		size_t d = distance(name, kt_cmds[i]->name);

		/* "bio" -> "biolat", "tcp" -> "tcpretrans": a prefix is a good hint too */
		if (!strncmp(kt_cmds[i]->name, name, strlen(name)) && strlen(name) >= 2)
			d = 1;
		if (d < bd) {
			bd = d;
			best = kt_cmds[i];
		}
	}
	return best;
}
