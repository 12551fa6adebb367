// SPDX-License-Identifier: GPL-2.0
/*
 * check: the environment report a user runs first on a new server. Kernel,
 * BTF, privileges, tracefs, bpffs, memlock, ring buffer, PMU, and for every
 * subcommand the attach alternative each hook would get here. Probing loads
 * and attaches two-instruction programs for a moment; nothing stays behind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "features.h"
#include "ktrace.h"
#include "output.h"
#include "plan.h"
#include "util.h"

static bool bpffs_mounted(void)
{
	struct statfs s;

	return statfs("/sys/fs/bpf", &s) == 0 && s.f_type == 0xcafe4a11 /* BPF_FS_MAGIC */;
}

static const char *memlock_desc(char *buf, size_t sz)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_MEMLOCK, &r))
		return "unknown";
	if (r.rlim_cur == RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, sz, "%llu KiB (kernels >= 5.11 charge BPF memory to the cgroup instead)",
		 (unsigned long long)r.rlim_cur / 1024);
	return buf;
}

static bool have_pmu_cycles(void)
{
	return access("/sys/bus/event_source/devices/cpu/type", F_OK) == 0 ||
	       access("/sys/bus/event_source/devices/cpu_core/type", F_OK) == 0;
}

static const struct kt_col env_cols[] = {
	{ "item", "ITEM", -18 },
	{ "value", "VALUE", 0 },
};

static void env_row(struct kt_out *out, const char *item, const char *value)
{
	kt_table_row(out);
	kt_rec_str(out, item, strlen(item));
	kt_rec_str(out, value, strlen(value));
	kt_rec_end(out);
}

static const struct kt_col hook_cols[] = {
	{ "cmd", "COMMAND", -10 },
	{ "hook", "HOOK", -18 },
	{ "chosen", "CHOSEN", -11 },
	{ "alternatives", "ALTERNATIVES (in order of preference)", 0 },
	{ "optional", "", 0, KT_COL_HIDDEN },
};

/* Probes each hook of each subcommand; returns how many commands cannot run. */
static int report_hooks(struct kt_ctx *ctx, bool privileged)
{
	int broken = 0;

	kt_table_begin(ctx->out, "hooks", "Attach plans on this kernel:", hook_cols,
		       sizeof(hook_cols) / sizeof(hook_cols[0]));
	for (size_t c = 0; c < kt_n_cmds; c++) {
		const struct kt_cmd *cmd = kt_cmds[c];
		bool runnable = true;

		for (size_t i = 0; i < cmd->n_hooks; i++) {
			const struct kt_hook *h = &cmd->hooks[i];
			int forced = kt_plan_forced(h->name, h), chosen = -1;
			const char *usable[KT_MAX_ALTS];
			size_t n = 0, nu = 0;
			char alts[1024];

			alts[0] = 0;
			for (int a = 0; a < KT_MAX_ALTS && h->alts[a].prog; a++) {
				const struct kt_alt *alt = &h->alts[a];
				const char *why = "not probed: needs root";
				int err = privileged ? kt_feature_alt(alt, &why) : -EPERM;
				bool ok = !err && (forced < 0 || (int)alt->type == forced);

				/* each type once (two programs may share one) */
				if (!err && (!nu || strcmp(usable[nu - 1], kt_attach_name(alt->type))))
					usable[nu++] = kt_attach_name(alt->type);
				if (ok && chosen < 0)
					chosen = a;
				n += (size_t)snprintf(alts + n, n < sizeof(alts) ? sizeof(alts) - n : 0,
						      "%s%s %s%s%s%s", n ? ", " : "",
						      kt_attach_name(alt->type), alt->target,
						      alt->needs & KT_NEED_BPF_LOOP ? " with bpf_loop" : "",
						      err ? ": unavailable: " : "", err ? why : "");
			}
			if (chosen < 0 && !h->optional)
				runnable = false;
			kt_table_row(ctx->out);
			kt_rec_str(ctx->out, cmd->name, strlen(cmd->name));
			kt_rec_str(ctx->out, h->name, strlen(h->name));
			if (chosen >= 0) {
				const char *t = kt_attach_name(h->alts[chosen].type);

				kt_rec_str(ctx->out, t, strlen(t));
			} else {
				kt_rec_none(ctx->out);
			}
			kt_rec_str(ctx->out, alts, sizeof(alts));
			kt_rec_bool(ctx->out, h->optional);
			/* JSON: the alternatives that attach here, for scripts (and the qemu tests) */
			kt_rec_extra_strlist(ctx->out, "usable", usable, nu);
			kt_rec_end(ctx->out);
		}
		if (cmd->n_hooks && !runnable)
			broken++;
	}
	kt_table_end(ctx->out);
	return broken;
}

static int run(struct kt_ctx *ctx)
{
	bool privileged = kt_check_privileges() == 0;
	char ml[128];
	int broken;

	if (privileged)
		libbpf_set_print(NULL);
	kt_table_begin(ctx->out, "environment", "ktrace " KT_VERSION " environment:", env_cols,
		       sizeof(env_cols) / sizeof(env_cols[0]));
	env_row(ctx->out, "kernel", kt_kernel_release());
	env_row(ctx->out, "btf", kt_have_btf() ? "yes (/sys/kernel/btf/vmlinux)"
					       : "MISSING: needs CONFIG_DEBUG_INFO_BTF=y");
	env_row(ctx->out, "privileges", kt_privileges_desc());
	env_row(ctx->out, "tracefs",
		kt_tracefs_mounted() ? "mounted"
				     : "not mounted (ktrace mounts it when a hook needs it)");
	env_row(ctx->out, "bpffs", bpffs_mounted() ? "mounted on /sys/fs/bpf" : "not mounted (not needed)");
	env_row(ctx->out, "memlock", memlock_desc(ml, sizeof(ml)));
	env_row(ctx->out, "ring buffer",
		!privileged ? "not probed: needs root" : kt_have_ringbuf() ? "yes" : "no (needs 5.8+)");
	env_row(ctx->out, "cpu PMU",
		have_pmu_cycles() ? "yes (profile samples hardware cycles)"
				  : "no (profile samples the software cpu-clock)");
	if (getenv("KTRACE_ATTACH"))
		env_row(ctx->out, "KTRACE_ATTACH", getenv("KTRACE_ATTACH"));
	kt_table_end(ctx->out);

	broken = report_hooks(ctx, privileged);
	if (!privileged) {
		kt_err("ktrace needs root or CAP_BPF and CAP_PERFMON (have: %s)", kt_privileges_desc());
		return KT_EXIT_FAIL;
	}
	if (!kt_have_btf())
		return KT_EXIT_FAIL;
	kt_out_text(ctx->out, "\n%s\n",
		    broken ? "Some commands cannot run here: see the hooks without a CHOSEN alternative."
			   : "Every command can run on this machine.");
	return broken ? KT_EXIT_FAIL : KT_EXIT_OK;
}

const struct kt_cmd kt_cmd_check = {
	.name = "check",
	.summary = "Report what this kernel supports and how each command would attach",
	.doc = "Print an environment report: kernel release, BTF, privileges, tracefs, bpffs, "
	       "memlock, ring buffer, CPU PMU, and for every command the attach alternative "
	       "each of its hooks would use on this kernel (probed for real), with the reason "
	       "each better alternative was refused. Exits 1 if some command cannot run.\v"
	       "Examples:\n"
	       "  ktrace check\n"
	       "  ktrace check -j | jq .\n"
	       "  KTRACE_ATTACH=raw_tp ktrace check   # what a forced alternative would do",
	.kind = KT_INFO,
	.pos = KT_POS_NONE,
	.run = run,
};
