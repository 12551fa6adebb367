// SPDX-License-Identifier: GPL-2.0
/* Finding a subcommand by name, and suggesting one for a typo. */
#include <string.h>

#include "ktrace.h"

const struct kt_cmd *kt_cmd_lookup(const struct kt_cmd *const *tab, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(tab[i]->name, name))
			return tab[i];
	return NULL;
}

/* Levenshtein distance over at most 64 characters of each string. */
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

const struct kt_cmd *kt_cmd_closest(const struct kt_cmd *const *tab, size_t n, const char *name)
{
	const struct kt_cmd *best = NULL;
	size_t bd = 3, len = strlen(name); /* farther than 2 edits is no suggestion */

	for (size_t i = 0; i < n; i++) {
		size_t d = distance(name, tab[i]->name);

		/* a prefix of a command's name is a good hint too */
		if (len >= 2 && !strncmp(tab[i]->name, name, len))
			d = 1;
		if (d < bd) {
			bd = d;
			best = tab[i];
		}
	}
	return best;
}
