// SPDX-License-Identifier: GPL-2.0
/*
 * The table of subcommands. Adding a subcommand: one line here (in the order
 * `ktrace --help` lists them), cmd/NAME.c, probes/NAME.bpf.c + NAME.h,
 * man/ktrace-NAME.8 and its tests.
 */
#include "ktrace.h"

extern const struct kt_cmd kt_cmd_check;
extern const struct kt_cmd kt_cmd_biolat;
extern const struct kt_cmd kt_cmd_tcpretrans;
extern const struct kt_cmd kt_cmd_oom;

const struct kt_cmd *const kt_cmds[] = {
	&kt_cmd_check,
	&kt_cmd_biolat,
	&kt_cmd_tcpretrans,
	&kt_cmd_oom,
};
const size_t kt_n_cmds = sizeof(kt_cmds) / sizeof(kt_cmds[0]);

const struct kt_cmd *kt_cmd_find(const char *name)
{
	return kt_cmd_lookup(kt_cmds, kt_n_cmds, name);
}

const struct kt_cmd *kt_cmd_suggest(const char *name)
{
	return kt_cmd_closest(kt_cmds, kt_n_cmds, name);
}
