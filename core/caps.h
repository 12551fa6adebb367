/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Capabilities: what the current credentials hold, what ktrace needs of
 * them, and the words for what is missing.
 *
 * Every BPF command needs CAP_BPF (load programs, create maps) and
 * CAP_PERFMON (tracing programs, perf events, reading kernel memory);
 * CAP_SYS_ADMIN stands in for both, as the kernel accepts. Kernels before
 * 5.8 know neither and need CAP_SYS_ADMIN. Kernels before 5.11 charge BPF
 * memory to RLIMIT_MEMLOCK: unless it is unlimited already, raising it
 * needs CAP_SYS_RESOURCE. Beyond that, what a hook needs depends on how it
 * attaches (syscall tracepoints read ids from tracefs, root's directory:
 * CAP_DAC_READ_SEARCH, or CAP_SYS_ADMIN to mount it), and a few commands
 * do better with more (descriptor field caps_better):
 *  - CAP_SYSLOG: /proc/kallsyms shows addresses (kernel stack frames
 *    named), unless kernel.kptr_restrict is 0 and perf_event_paranoid <= 1;
 *  - CAP_SYS_PTRACE: /proc/PID/maps and /proc/PID/root of other users'
 *    processes (user stack frames named).
 */
#ifndef KT_CAPS_H
#define KT_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ktrace.h"

struct bpf_object_open_opts;

/* Linux's capability numbers (older headers lack the newer ones). */
enum {
	KT_CAP_DAC_READ_SEARCH = 2,
	KT_CAP_SYS_PTRACE = 19,
	KT_CAP_SYS_ADMIN = 21,
	KT_CAP_SYS_RESOURCE = 24,
	KT_CAP_SYSLOG = 34,
	KT_CAP_PERFMON = 38,
	KT_CAP_BPF = 39,
};
#define KT_CAP(n) (1ULL << (n))

/* The effective set (every capability when capget fails for root). */
uint64_t kt_caps_held(void);
/* What every BPF command needs on this kernel (see above). */
uint64_t kt_caps_required(void);
/* The capabilities of need that are not held, CAP_SYS_ADMIN standing in for CAP_BPF and CAP_PERFMON. */
uint64_t kt_caps_missing(uint64_t need);
/* "CAP_BPF and CAP_PERFMON", "CAP_BPF, CAP_PERFMON and CAP_SYSLOG"; "" for 0. */
const char *kt_caps_str(uint64_t caps, char *buf, size_t sz);
/* setpriv's list: "+bpf,+perfmon". */
const char *kt_caps_setpriv(uint64_t caps, char *buf, size_t sz);
/* What ktrace does with one capability, for check ("kernel symbol names"). */
const char *kt_cap_use(int cap);
/*
 * The capabilities that would make an alternative work that failed its
 * probe (e.g. a tracepoint's tracefs), 0 when none would (the kernel lacks it).
 */
uint64_t kt_caps_for_alt(const struct kt_alt *alt);
/* True if /proc/kallsyms shows this process real addresses. */
bool kt_kallsyms_visible(void);

/* 0 when the process holds kt_caps_required() (BPF and perf events), else -EPERM. */
int kt_check_privileges(void);
/* The privileges held, in words, for check and errors. */
const char *kt_privileges_desc(void);

/*
 * Options for opening a BPF object (KT_SKEL_OPEN). Without CAP_SYS_ADMIN
 * the kernel refuses to list BTF objects (BPF_BTF_GET_NEXT_ID), and libbpf
 * does list them to look in modules for a CO-RE type vmlinux lacks (such as
 * the ___old flavour of a type a newer kernel dropped), failing the whole
 * load. Naming vmlinux's BTF as the target skips that search: every type
 * ktrace relocates against lives in vmlinux.
 */
const struct bpf_object_open_opts *kt_skel_open_opts(void);

#endif
