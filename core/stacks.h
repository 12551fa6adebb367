/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An in-memory table of stacks: (pid, comm, kernel frames, user frames) ->
 * value, where the value is a sample count or a time, as the caller decides.
 *
 * The caller reads each stack's instruction pointers out of the BPF stack
 * trace map and hands them over as plain arrays, leaf first (ips[0] is the
 * innermost frame, as bpf_get_stackid() stores them); a zero entry ends the
 * array early, as in the map. Identical keys are summed. Once all stacks are
 * in, kt_stacks_resolve() names every frame and kt_stacks_sort() puts the
 * most significant first, for the text, folded and flame graph outputs.
 */
#ifndef KT_STACKS_H
#define KT_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ksyms.h"
#include "usyms.h"

#define KT_STACK_MAX_DEPTH 127 /* PERF_MAX_STACK_DEPTH */
#define KT_COMM_LEN	   16

struct kt_stack {
	uint32_t pid;
	char comm[KT_COMM_LEN + 1];
	uint64_t value;
	uint32_t nkern, nuser;
	const uint64_t *kips;	  /* leaf first */
	const uint64_t *uips;	  /* leaf first */
	struct kt_frame *kframes; /* leaf first; NULL until kt_stacks_resolve() */
	struct kt_frame *uframes;
	unsigned uflags; /* KT_STACK_U_*: what the user stack's unwinder said */
	bool urooted;	 /* set by kt_stacks_resolve(): the user stack is complete (see below) */
};

/* kt_stack.uflags */
#define KT_STACK_U_END	 1U /* the unwinder reached the frame the CFI marks as outermost */
#define KT_STACK_U_DWARF 2U /* unwound from CFI (--unwind dwarf), not by the kernel's frame pointers */

struct kt_stacks;

int kt_stacks_new(struct kt_stacks **out);
void kt_stacks_free(struct kt_stacks *st);
/* Forget every stack, e.g. after printing one interval. */
void kt_stacks_clear(struct kt_stacks *st);

/*
 * Add @value to the stack (@pid, @comm, @kips, @uips), creating it at 0.
 * The first @kskip kernel frames are dropped: a stack taken from a tp_btf
 * or raw_tp program starts with the BPF program and bpf_trace_run*(), which
 * are ktrace's own. A user stack is cut before the first address no user
 * space can hold (>= 2^56: a frame-pointer walk that read data). Arrays
 * longer than KT_STACK_MAX_DEPTH are cut; either
 * array may be NULL with a count of 0. Returns 0 or -errno.
 */
int kt_stacks_add(struct kt_stacks *st, uint32_t pid, const char *comm, const uint64_t *kips,
		  size_t nkern, size_t kskip, const uint64_t *uips, size_t nuser, uint64_t value);

/* Same, with KT_STACK_U_* flags, which are part of the stack's identity. */
int kt_stacks_add_flags(struct kt_stacks *st, uint32_t pid, const char *comm, const uint64_t *kips,
			size_t nkern, size_t kskip, const uint64_t *uips, size_t nuser,
			unsigned uflags, uint64_t value);

/*
 * Name every frame: kernel ones with @ks, user ones with @us (either may be
 * NULL). A user stack is marked complete (urooted) when one of its frames
 * is a known root of a process's or thread's stack (_start,
 * __libc_start_main, __libc_start_call_main, clone, clone3, start_thread,
 * thread_start), or its unwinder reached the outermost frame
 * (KT_STACK_U_END); otherwise it is truncated.
 */
int kt_stacks_resolve(struct kt_stacks *st, const struct kt_ksyms *ks, struct kt_usyms *us);

/* Most significant (largest value) first; ties in a stable, readable order. */
void kt_stacks_sort(struct kt_stacks *st);

/* True when @name is a known root frame (see kt_stacks_resolve()). */
bool kt_stacks_root_name(const char *name);

size_t kt_stacks_count(const struct kt_stacks *st);
const struct kt_stack *kt_stacks_get(const struct kt_stacks *st, size_t i);
uint64_t kt_stacks_total(const struct kt_stacks *st);

/*
 * Resolves kernel address @addr, @depth frames from the innermost (0), into
 * @fr: frames below the innermost hold return addresses and are looked up
 * at addr - 1, their offset given for addr.
 */
void kt_stacks_kernel_frame(const struct kt_ksyms *ks, uint64_t addr, size_t depth,
			    struct kt_frame *fr);

/*
 * True for the tracing machinery's own frames (the BPF program, trampolines,
 * tracepoint and kprobe glue) that top a stack taken from a probe.
 */
bool kt_stacks_tracing_frame(const char *name);

/*
 * The display name of a frame: "sym", else "module+0xoff", else "[unknown]".
 * With @with_offset, a resolved symbol gets its "+0xoff" too. Returns the
 * length written (always NUL-terminated, cut to @len).
 */
size_t kt_stacks_frame_name(const struct kt_frame *fr, int with_offset, char *buf, size_t len);

#endif /* KT_STACKS_H */
