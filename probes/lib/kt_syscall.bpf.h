/* SPDX-License-Identifier: GPL-2.0 */
/*
 * System calls seen from the raw tracepoints sys_enter and sys_exit, for
 * hooks whose per-syscall tracepoints (syscalls/sys_enter_NAME) cannot be
 * used: those need their ids from tracefs, which is root's (mode 0700), so
 * a user with only CAP_BPF and CAP_PERFMON cannot attach them. The raw
 * tracepoints need no tracefs at all. Their price: the program runs for
 * every system call of every task (a call, a compare and a return for the
 * calls it does not want), where the per-syscall tracepoints filter by
 * number in the kernel before any BPF runs: several times the overhead
 * per unrelated call (see the hook tables in cmd/exec.c and cmd/open.c),
 * which is why they come second.
 *
 * Numbers are the x86-64 ones (the objects are built for x86 only). A
 * 32-bit task's calls are numbered from another table: they are left out,
 * as the per-syscall tracepoints leave them out.
 */
#ifndef KT_SYSCALL_BPF_H
#define KT_SYSCALL_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#define KT_NR_OPEN 2
#define KT_NR_EXECVE 59
#define KT_NR_CREAT 85
#define KT_NR_OPENAT 257
#define KT_NR_EXECVEAT 322
#define KT_NR_OPENAT2 437

/* x86 thread_info.status: the current system call is a 32-bit one */
#define KT_TS_COMPAT 0x0002

static __always_inline bool kt_sys_compat(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	if (!bpf_core_field_exists(t->thread_info.status))
		return false;
	return BPF_CORE_READ(t, thread_info.status) & KT_TS_COMPAT;
}

/* The arguments of the system call being entered (x86-64 calling convention). */
struct kt_sys_args {
	__u64 a[4];
};

static __always_inline void kt_sys_args(struct pt_regs *regs, struct kt_sys_args *s)
{
	s->a[0] = BPF_CORE_READ(regs, di);
	s->a[1] = BPF_CORE_READ(regs, si);
	s->a[2] = BPF_CORE_READ(regs, dx);
	s->a[3] = BPF_CORE_READ(regs, r10);
}

/* At sys_exit: the number of the call that is returning. */
static __always_inline long kt_sys_exit_nr(struct pt_regs *regs)
{
	return (long)BPF_CORE_READ(regs, orig_ax);
}

#endif
