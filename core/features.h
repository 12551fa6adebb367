/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel feature probes. Each attach alternative is probed for real: a
 * two-instruction program of the right type is loaded and attached to the
 * alternative's target, then detached. Results are cached for the run, so a
 * plan with many hooks costs a few milliseconds.
 */
#ifndef KT_FEATURES_H
#define KT_FEATURES_H

#include <stdbool.h>

#include "ktrace.h"

const char *kt_attach_name(enum kt_attach t);
/* -1 if s names no attach type. */
int kt_attach_parse(const char *s);

/*
 * 0 if an alternative of this type can be attached to target on this
 * kernel; otherwise a negative errno and *why says what the kernel lacks.
 */
int kt_feature_probe(enum kt_attach type, const char *target, const char **why);

/* 0 if the kernel has everything in needs (KT_NEED_*), else -ENOTSUP and *why. */
int kt_feature_needs(unsigned needs, const char **why);

bool kt_have_btf(void);
bool kt_have_ringbuf(void);
/* Number of arguments of a raw tracepoint as the kernel's BTF declares it (-errno). */
int kt_btf_tp_nargs(const char *tp);
/* True if the kernel's BTF has this struct member (for user-space CO-RE-like choices). */
bool kt_btf_has_member(const char *strct, const char *member);

#endif
