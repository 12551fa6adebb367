/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --record FILE and `ktrace replay FILE`: the run's side of the tape
 * (core/tape.h). A recording writes the run's head (command line, host,
 * kernel, clocks) and attach plan once tracing starts, then core and the maps
 * layer add what the kernel hands over. A replay runs the recorded command
 * again with the recorded options: options, validate, open and configure as
 * usual, but no privileges, load or attach; the plan, the records, the ticks
 * of the intervals, the map reads and the stop come from the tape.
 */
#ifndef KT_REPLAY_H
#define KT_REPLAY_H

#include <stdint.h>

#include "ktrace.h"

/* What the tape says of the recorded run (replay only; NULL otherwise). */
struct kt_replay_head {
	uint32_t pid, ncpu;
	uint64_t start_ns, start_realtime_ns;
	const char *hostname, *kernel, *version, *cmd;
};
const struct kt_replay_head *kt_replay_head(void);

/* Recording: the head and the plan, once attached (the file is --record's). */
void kt_record_start(struct kt_ctx *ctx, struct kt_ofile *of);
/* Replaying: the recorded plan into ctx->hooks; 0 or -EINVAL (said on stderr). */
int kt_replay_plan(struct kt_ctx *ctx);

/* `ktrace replay [-j] [-T] [-v] [-o FILE] TAPE`: argv[0] is "replay". */
int kt_replay_main(int argc, char **argv);

#endif
