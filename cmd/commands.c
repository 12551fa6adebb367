// SPDX-License-Identifier: GPL-2.0
/*
 * The table of subcommands. Adding a subcommand: one line here (in the order
 * `ktrace --help` lists them), cmd/NAME.c, probes/NAME.bpf.c + NAME.h,
 * man/ktrace-NAME.8 and its tests.
 */
#include "ktrace.h"

extern const struct kt_cmd kt_cmd_exec;
extern const struct kt_cmd kt_cmd_open;
extern const struct kt_cmd kt_cmd_biolat;
extern const struct kt_cmd kt_cmd_biosnoop;
extern const struct kt_cmd kt_cmd_biotop;
extern const struct kt_cmd kt_cmd_fsslower;
extern const struct kt_cmd kt_cmd_fsdist;
extern const struct kt_cmd kt_cmd_fsops;
extern const struct kt_cmd kt_cmd_runqlat;
extern const struct kt_cmd kt_cmd_irq;
extern const struct kt_cmd kt_cmd_wq;
extern const struct kt_cmd kt_cmd_timer;
extern const struct kt_cmd kt_cmd_syscalls;
extern const struct kt_cmd kt_cmd_sched;
extern const struct kt_cmd kt_cmd_tcpretrans;
extern const struct kt_cmd kt_cmd_tcpconnect;
extern const struct kt_cmd kt_cmd_tcplife;
extern const struct kt_cmd kt_cmd_tcpdrop;
extern const struct kt_cmd kt_cmd_oom;
extern const struct kt_cmd kt_cmd_memstall;
extern const struct kt_cmd kt_cmd_writeback;
extern const struct kt_cmd kt_cmd_offcpu;
extern const struct kt_cmd kt_cmd_profile;
extern const struct kt_cmd kt_cmd_flamegraph;
extern const struct kt_cmd kt_cmd_funclat;
extern const struct kt_cmd kt_cmd_funccount;
extern const struct kt_cmd kt_cmd_usdt;
extern const struct kt_cmd kt_cmd_check;

const struct kt_cmd *const kt_cmds[] = {
	&kt_cmd_exec,
	&kt_cmd_open,
	&kt_cmd_biolat,
	&kt_cmd_biosnoop,
	&kt_cmd_biotop,
	&kt_cmd_fsslower,
	&kt_cmd_fsdist,
	&kt_cmd_fsops,
	&kt_cmd_runqlat,
	&kt_cmd_irq,
	&kt_cmd_wq,
	&kt_cmd_timer,
	&kt_cmd_syscalls,
	&kt_cmd_sched,
	&kt_cmd_tcpretrans,
	&kt_cmd_tcpconnect,
	&kt_cmd_tcplife,
	&kt_cmd_tcpdrop,
	&kt_cmd_oom,
	&kt_cmd_memstall,
	&kt_cmd_writeback,
	&kt_cmd_offcpu,
	&kt_cmd_profile,
	&kt_cmd_flamegraph,
	&kt_cmd_funclat,
	&kt_cmd_funccount,
	&kt_cmd_usdt,
	&kt_cmd_check,
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
