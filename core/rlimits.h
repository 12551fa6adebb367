/* SPDX-License-Identifier: GPL-2.0 */
/* Process limits ktrace needs before it loads anything. */
#ifndef KT_RLIMITS_H
#define KT_RLIMITS_H

/*
 * Makes sure ktrace can open the file descriptors it needs (BPF maps,
 * programs, links, one perf event per CPU for profile): raises the soft
 * RLIMIT_NOFILE to the hard one when it is below that. When even the hard
 * limit is too low, says so (naming the limit and the fix) and returns
 * -EMFILE, instead of letting libbpf fail later with a misleading error.
 */
int kt_nofile_ensure(void);

/* The number of file descriptors kt_nofile_ensure() asks for. */
unsigned int kt_nofile_needed(void);

#endif
