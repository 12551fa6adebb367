// SPDX-License-Identifier: GPL-2.0
/*
 * core/unwind.c without BPF: a thread of this test captures its registers
 * and copies the top of its own stack, as the probes do, and the copy is
 * unwound with the CFI of this binary (built without frame pointers at -O2)
 * and libc: the frames must name the call chain up to the thread's start,
 * and the walk must end where libc's CFI marks the outermost frame. Then:
 * a frame without CFI is stepped by its frame pointer, and random stack
 * contents never crash or loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt_test.h"
#include "stacks.h"
#include "unwind.h"
#include "usyms.h"

#define STACK_SIZE (256 * 1024)
#define COPY	   8192

static uint64_t regs[KT_UREG_N];
static uint8_t copy[COPY];
static size_t copy_len;
static uint8_t *stack_mem;
static volatile unsigned long sink;

/* Registers at the lea, in DWARF order: nothing between them moves rsp. */
__attribute__((noinline)) static void capture(void)
{
	__asm__ volatile("lea 0(%%rip), %%rax\n\t"
			 "mov %%rax, 128(%0)\n\t"
			 "mov %%rsp, 56(%0)\n\t"
			 "mov %%rbp, 48(%0)\n\t"
			 "mov %%rbx, 24(%0)\n\t"
			 "mov %%r12, 96(%0)\n\t"
			 "mov %%r13, 104(%0)\n\t"
			 "mov %%r14, 112(%0)\n\t"
			 "mov %%r15, 120(%0)\n\t"
			 :
			 : "r"(regs)
			 : "rax", "memory");
	{
		uint64_t sp = regs[KT_UREG_RSP], end = (uint64_t)(uintptr_t)(stack_mem + STACK_SIZE);

		copy_len = end - sp < COPY ? end - sp : COPY;
		memcpy(copy, (void *)(uintptr_t)sp, copy_len);
	}
	sink++;
}

__attribute__((noinline)) static void uw_level2(void)
{
	capture();
	__asm__ volatile("" ::: "memory");
	sink++;
}

__attribute__((noinline)) static void uw_level1(void)
{
	uw_level2();
	__asm__ volatile("" ::: "memory");
	sink++;
}

__attribute__((noinline)) static void *uw_thread(void *arg)
{
	uw_level1();
	__asm__ volatile("" ::: "memory");
	sink++;
	return arg;
}

static const char *name_of(struct kt_usyms *us, uint64_t addr, size_t depth)
{
	struct kt_frame fr;

	kt_usyms_resolve(us, getpid(), depth ? addr - 1 : addr, &fr);
	return fr.sym ? fr.sym : "?";
}

static void chain_test(struct kt_usyms *us, struct kt_unwind *uw)
{
	static const char *const want[] = { "capture", "uw_level2", "uw_level1", "uw_thread" };
	uint64_t ips[KT_STACK_MAX_DEPTH];
	unsigned flags = 0;
	size_t n;
	bool rooted = false;

	n = kt_unwind_stack(uw, us, getpid(), regs, copy, copy_len, ips, KT_STACK_MAX_DEPTH, &flags);
	CHECK(n >= 5, "%zu frames", n);
	for (size_t i = 0; i < 4 && i < n; i++)
		CHECK_STR(name_of(us, ips[i], i), want[i]);
	for (size_t i = 4; i < n; i++) {
		const char *s = name_of(us, ips[i], i);

		rooted |= kt_stacks_root_name(s);
		printf("  frame %zu: %s\n", i, s);
	}
	/* libc's clone3 marks the return address undefined: the outermost frame */
	CHECK(flags & KT_UNWIND_END, "the walk ends at the frame libc's CFI marks outermost");
	(void)rooted;
}

/* A pc in no file's mapping has no CFI: the frame pointer chain is followed. */
static void fp_test(struct kt_usyms *us, struct kt_unwind *uw)
{
	uint64_t r[KT_UREG_N] = { 0 }, ips[8], base = 0x7ff000000000ULL, v;
	uint8_t st[256] = { 0 };
	unsigned flags;
	size_t n;

	r[KT_UREG_RSP] = base;
	r[KT_UREG_RBP] = base + 32;
	r[KT_UREG_RIP] = 0x1000; /* nothing maps page 1 */
	v = base + 64;
	memcpy(st + 32, &v, 8);
	v = 0x1111;
	memcpy(st + 40, &v, 8);
	v = 0; /* the outermost frame pointer */
	memcpy(st + 64, &v, 8);
	v = 0x2222;
	memcpy(st + 72, &v, 8);
	n = kt_unwind_stack(uw, us, getpid(), r, st, sizeof(st), ips, 8, &flags);
	CHECK(n == 3, "%zu frames by frame pointer", n);
	CHECK(n == 3 && ips[0] == 0x1000 && ips[1] == 0x1111 && ips[2] == 0x2222,
	      "the frame pointer chain's return addresses");
	CHECK(!(flags & KT_UNWIND_END), "a frame pointer walk does not claim the outermost frame");
}

/* Garbage on the stack: the walk ends, within the bound, without a crash. */
static void random_test(struct kt_usyms *us, struct kt_unwind *uw)
{
	uint64_t ips[KT_STACK_MAX_DEPTH];
	uint8_t junk[COPY];
	unsigned flags, seed = 1;
	size_t worst = 0;

	for (int it = 0; it < 500; it++) {
		for (size_t i = 0; i < sizeof(junk); i++) {
			seed = seed * 1103515245 + 12345;
			junk[i] = (uint8_t)(seed >> 16);
		}
		/* keep a few real return addresses so that CFI steps happen too */
		memcpy(junk, copy, it % 2 ? 64 : 0);
		size_t n = kt_unwind_stack(uw, us, getpid(), regs, junk, sizeof(junk), ips,
					   KT_STACK_MAX_DEPTH, &flags);

		worst = n > worst ? n : worst;
	}
	CHECK(worst <= KT_STACK_MAX_DEPTH, "at most the bound (%zu)", worst);
}

int main(void)
{
	struct kt_unwind_stats stats;
	struct kt_usyms *us = NULL;
	struct kt_unwind *uw = NULL;
	pthread_attr_t a;
	pthread_t t;

	stack_mem = aligned_alloc(4096, STACK_SIZE);
	CHECK(stack_mem != NULL);
	pthread_attr_init(&a);
	pthread_attr_setstack(&a, stack_mem, STACK_SIZE);
	CHECK(pthread_create(&t, &a, uw_thread, NULL) == 0);
	pthread_join(t, NULL);
	CHECK(copy_len > 0, "the stack was copied");

	CHECK(kt_usyms_new(NULL, &us) == 0);
	CHECK(kt_unwind_new(&uw) == 0);
	kt_usyms_on_file(us, kt_unwind_file_cb, uw);
	CHECK(kt_usyms_add_pid(us, getpid()) == 0);
	chain_test(us, uw);
	fp_test(us, uw);
	random_test(us, uw);
	kt_unwind_stats(uw, &stats);
	CHECK(stats.files >= 2, "CFI of this binary and libc (%llu files)",
	      (unsigned long long)stats.files);
	CHECK(stats.frames_cfi >= 4 && stats.frames_fp >= 2, "steps by CFI and by frame pointer");
	kt_unwind_free(uw);
	kt_usyms_free(us);
	pthread_attr_destroy(&a);
	free(stack_mem);
	return kt_test_done("test_unwind");
}
