/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tape: what the kernel handed a run, recorded (--record FILE) so that
 * `ktrace replay FILE` can run the same decode and output again, without
 * root, BPF or the machine it was recorded on.
 *
 * A tape is "KTTAPE1\n" and then items, each a header (type, payload bytes,
 * CLOCK_MONOTONIC time of the recording) and its payload: the run's header
 * and attach plan, each ring-buffer record, each interval tick, each map read
 * (kt_map_drain, kt_map_lookup, kt_map_take_percpu_u64, the lost counters)
 * and the stop. A replay takes them back in the order the run made them; a
 * read of another type than the next item is an error (a tape of another
 * command, version or option set), never a guess. Taking an item pins
 * kt_now_mono() to its recorded time, so a replay prints the same times.
 */
#ifndef KT_TAPE_H
#define KT_TAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum kt_tape_item {
	KT_TAPE_HEAD = 1, /* the run: see core/replay.c */
	KT_TAPE_PLAN,     /* the attach alternatives chosen */
	KT_TAPE_REC,      /* one ring-buffer record */
	KT_TAPE_TICK,     /* an interval's drain: u8 final */
	KT_TAPE_MAP,      /* one kt_map_drain(): u32 key size, u32 value size, u32 n, n (key, value) */
	KT_TAPE_LOOKUP,   /* one kt_map_lookup(): i32 result, value bytes */
	KT_TAPE_U64,      /* one kt_map_take_percpu_u64() */
	KT_TAPE_DROPS,    /* the lost-event counters: u64 per CPU */
	KT_TAPE_END,      /* the stop: u32 enum kt_stop */
	KT_TAPE_READ,     /* a value read from the system while printing: i32 result, bytes */
	KT_TAPE_SKIPS,    /* program runs the kernel skipped, in total: u64 (absent in older tapes) */
};
#define KT_TAPE_LAST KT_TAPE_SKIPS

enum kt_tape_mode { KT_TAPE_OFF, KT_TAPE_RECORDING, KT_TAPE_REPLAYING };

enum kt_tape_mode kt_tape_mode(void);
static inline bool kt_tape_recording(void)
{
	return kt_tape_mode() == KT_TAPE_RECORDING;
}
static inline bool kt_tape_replaying(void)
{
	return kt_tape_mode() == KT_TAPE_REPLAYING;
}

/* Recording: every item goes to f (the --record file: core checks its writes). */
void kt_tape_record(FILE *f);
/* Appends an item stamped with kt_now_mono(); the payload is n bytes of p (p may be NULL when 0). */
void kt_tape_put(enum kt_tape_item type, const void *p, size_t n);
/* The same, of two pieces (a fixed part and a variable one). */
void kt_tape_put2(enum kt_tape_item type, const void *a, size_t na, const void *b, size_t nb);

/*
 * Replaying: reads the whole tape at path (at most 1 GiB). 0, or -errno with
 * a message on stderr (-EINVAL: not a tape, or a damaged one).
 */
int kt_tape_load(const char *path);
/* The type of the next item, 0 at the end. */
enum kt_tape_item kt_tape_peek(void);
/*
 * Takes the next item, which must be of type: its payload (*n bytes, valid
 * until kt_tape_unload), with the clock pinned to its time. NULL at the end or
 * when the next item is of another type (said once on stderr).
 */
const void *kt_tape_take(enum kt_tape_item type, size_t *n);
/* The time of the first item (the recording's start), 0 when empty. */
uint64_t kt_tape_first_time(void);
void kt_tape_unload(void);

#endif
