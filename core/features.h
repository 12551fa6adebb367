/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel feature probes, cheap enough to run for every hook at start-up:
 * tracepoints by their tracefs id, raw tracepoints and tp_btf by the kernel's
 * BTF (tp_btf also by loading a do-nothing program against the target),
 * fentry/fexit and kprobes by loading and attaching a do-nothing program
 * (only attaching tells whether a function can be traced). Detaching a
 * tracepoint costs an RCU grace period, so tracepoints are never test-attached.
 * Results are cached for the run.
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

/* An alternative as a whole: its attach type and target, then its needs. */
int kt_feature_alt(const struct kt_alt *alt, const char **why);

bool kt_have_btf(void);
/*
 * The kernel's BTF (kbtf.h), read on first use and shared by every
 * user-space lookup; NULL without BTF. kt_vmlinux_btf_release() frees it
 * (the run does so before loading, when libbpf parses its own copy).
 */
struct kt_kbtf;
const struct kt_kbtf *kt_vmlinux_btf(void);
void kt_vmlinux_btf_release(void);
bool kt_have_ringbuf(void);
/* Hash maps without preallocation in perf_event (and other tracing) programs (6.1+). */
bool kt_have_noprealloc_htab(void);
/* Number of arguments of a raw tracepoint as the kernel's BTF declares it (-errno). */
int kt_btf_tp_nargs(const char *tp);

#endif
