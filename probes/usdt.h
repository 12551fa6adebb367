/* SPDX-License-Identifier: GPL-2.0 */
/* usdt: types shared by probes/usdt.bpf.c and cmd/usdt.c. */
#ifndef KT_USDT_H
#define KT_USDT_H

#include "kt_common.h"

/* Probes (provider:name pairs) traced at most. */
#define USDT_MAX 256

/* The attach cookie: the probe's index, and its role. */
#define USDT_ROLE_SHIFT 16
enum usdt_role {
	USDT_COUNT = 0, /* count it (or histogram an argument) */
	USDT_START = 1, /* --latency: a thread's interval starts */
	USDT_END = 2,	/* --latency: and ends */
};

/* Per-CPU counters "misses" */
enum usdt_miss {
	USDT_NO_ARG = 0,     /* --arg: the probe has no such argument */
	USDT_TABLE_FULL = 1, /* --latency: the per-thread table was full */
	USDT_NMISS = 2,
};

#endif
