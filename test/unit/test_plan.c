// SPDX-License-Identifier: GPL-2.0
/* KTRACE_ATTACH: what it forces per hook, and which values are usage errors; capability names. */
#include <stdlib.h>

#include "caps.h"
#include "kt_test.h"
#include "ktrace.h"
#include "plan.h"

static const struct kt_hook hooks_a[] = {
	{ "rq_issue", false,
	  { { KT_TP_BTF, "block_rq_issue", "issue_btf" },
	    { KT_RAW_TP, "block_rq_issue", "issue_raw" } } },
	{ "oom_kill", false,
	  { { KT_KPROBE, "oom_kill_process", "kill_kprobe" },
	    { KT_RAW_TP, "mark_victim", "victim_raw" },
	    { KT_TRACEPOINT, "oom/mark_victim", "victim_tp" } } },
};
static const struct kt_hook hooks_b[] = {
	{ "sys_enter_x", false,
	  { { KT_TRACEPOINT, "syscalls/sys_enter_x", "enter_x" },
	    { KT_RAW_TP, "sys_enter", "sys_enter_raw" } } },
};
/* the entry and the return of a function, as funclat and the fs commands have them */
static const struct kt_hook hooks_c[] = {
	{ "entry", false, { { KT_FENTRY, "f", "f_entry" }, { KT_KPROBE, "f", "k_entry" } } },
	{ "ret", false, { { KT_FEXIT, "f", "f_ret" }, { KT_KRETPROBE, "f", "k_ret" } } },
};
static const struct kt_cmd a = { .name = "a", .hooks = hooks_a, .n_hooks = 2 };
static const struct kt_cmd b = { .name = "b", .hooks = hooks_b, .n_hooks = 1 };
static const struct kt_cmd *const both[] = { &a, &b };
static const struct kt_cmd *const only_a[] = { &a };

#define BIT(t) (1U << (t))

static int env_check(const char *val, const struct kt_cmd *const *cmds, size_t n)
{
	setenv("KTRACE_ATTACH", val, 1);
	return kt_plan_env_check(cmds, n);
}

static unsigned forced(const char *val, const struct kt_hook *h)
{
	setenv("KTRACE_ATTACH", val, 1);
	return kt_plan_forced(h);
}

int main(void)
{
	char buf[256];

	/* valid: nothing, a type some hook has, HOOK=TYPE the hook has */
	CHECK(env_check("", only_a, 1) == 0);
	CHECK(env_check("raw_tp", only_a, 1) == 0);
	CHECK(env_check("rq_issue=tp_btf,oom_kill=tracepoint", only_a, 1) == 0);
	CHECK(env_check("tracepoint,", only_a, 1) == 0, "an empty item is nothing");
	/* usage errors */
	CHECK(env_check("bogus", only_a, 1) == -EINVAL, "unknown type");
	CHECK(env_check("fentry", only_a, 1) == 0, "a known type no hook has forces nothing");
	CHECK(env_check("nohook=raw_tp", only_a, 1) == -EINVAL, "unknown hook");
	CHECK(env_check("rq_issue=kprobe", only_a, 1) == -EINVAL, "the hook lacks the type");
	CHECK(env_check("rq_issue=", only_a, 1) == -EINVAL, "empty type");
	CHECK(env_check("raw_tp,rq_issue=bogus", only_a, 1) == -EINVAL, "one bad item is enough");
	/* a hook of another command: valid only where that command is in the table (check) */
	CHECK(env_check("sys_enter_x=raw_tp", only_a, 1) == -EINVAL);
	CHECK(env_check("sys_enter_x=raw_tp", both, 2) == 0);

	/* what each hook is forced to */
	CHECK(forced("", &hooks_a[0]) == 0);
	CHECK(forced("raw_tp", &hooks_a[0]) == BIT(KT_RAW_TP));
	CHECK(forced("kprobe", &hooks_a[0]) == 0, "a bare type the hook lacks leaves it free");
	CHECK(forced("kprobe", &hooks_a[1]) == BIT(KT_KPROBE));
	CHECK(forced("oom_kill=kprobe,oom_kill=tracepoint", &hooks_a[1]) ==
	      (BIT(KT_KPROBE) | BIT(KT_TRACEPOINT)), "two items for a hook allow both");
	CHECK(forced("oom_kill=kprobe,oom_kill=tracepoint", &hooks_a[0]) == 0, "other hooks free");
	CHECK(forced("raw_tp,oom_kill=tracepoint", &hooks_a[1]) == BIT(KT_TRACEPOINT),
	      "a named item overrides a bare type");
	CHECK(forced("raw_tp,oom_kill=tracepoint", &hooks_a[0]) == BIT(KT_RAW_TP));
	/* a bare entry type names its family: a return hook without it follows */
	CHECK(forced("kprobe", &hooks_c[0]) == BIT(KT_KPROBE));
	CHECK(forced("kprobe", &hooks_c[1]) == BIT(KT_KRETPROBE), "kprobe: kretprobe returns");
	CHECK(forced("fentry", &hooks_c[1]) == BIT(KT_FEXIT), "fentry: fexit returns");
	CHECK(forced("kretprobe", &hooks_c[0]) == 0, "a return type leaves entries free");
	CHECK(forced("kprobe,ret=fexit", &hooks_c[1]) == BIT(KT_FEXIT), "a named item wins");
	CHECK(forced("kprobe", &hooks_a[0]) == 0, "no kretprobe either: free");
	unsetenv("KTRACE_ATTACH");

	/* capability names, as errors and check print them */
	CHECK_STR(kt_caps_str(0, buf, sizeof(buf)), "");
	CHECK_STR(kt_caps_str(KT_CAP(KT_CAP_BPF), buf, sizeof(buf)), "CAP_BPF");
	CHECK_STR(kt_caps_str(KT_CAP(KT_CAP_BPF) | KT_CAP(KT_CAP_PERFMON), buf, sizeof(buf)),
		  "CAP_BPF and CAP_PERFMON");
	CHECK_STR(kt_caps_str(KT_CAP(KT_CAP_BPF) | KT_CAP(KT_CAP_PERFMON) | KT_CAP(KT_CAP_SYSLOG),
			      buf, sizeof(buf)),
		  "CAP_BPF, CAP_PERFMON and CAP_SYSLOG");
	CHECK_STR(kt_caps_setpriv(KT_CAP(KT_CAP_BPF) | KT_CAP(KT_CAP_PERFMON), buf, sizeof(buf)),
		  "+bpf,+perfmon");
	CHECK_STR(kt_caps_str(KT_CAP(KT_CAP_BPF) | KT_CAP(KT_CAP_PERFMON), buf, 8), "CAP_BPF");
	return kt_test_done("test_plan");
}
