// SPDX-License-Identifier: GPL-2.0
/*
 * check: the environment report a user runs first on a new server. Kernel,
 * BTF, privileges, tracefs, bpffs, memlock, ring buffer, PMU, kernel
 * symbols; for every subcommand the attach alternative each hook would get
 * here; and per subcommand a verdict for the credentials check runs with
 * (not root's): ok, limited (works, with less: e.g. unnamed kernel frames)
 * or fails, why, and the capabilities that would fix it. Probing loads and
 * attaches two-instruction programs for a moment; nothing stays behind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "caps.h"
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

static const struct kt_col cmd_cols[] = {
	{ "cmd", "COMMAND", -10 },
	{ "status", "STATUS", -7 },
	{ "add", "ADD", -30, KT_COL_NOJSON },
	{ "why", "WHY", 0 },
};

/* What check found for one command with these credentials. */
struct verdict {
	bool fails;
	uint64_t add;	 /* capabilities that would make it work (fails) or work fully (limited) */
	char why[1024];
	size_t wl;
};

static void why_add(struct verdict *v, const char *fmt, const char *a, const char *b)
{
	v->wl += (size_t)snprintf(v->why + v->wl, v->wl < sizeof(v->why) ? sizeof(v->why) - v->wl : 0,
				  "%s", v->wl ? "; " : "");
	v->wl += (size_t)snprintf(v->why + v->wl, v->wl < sizeof(v->why) ? sizeof(v->why) - v->wl : 0,
				  fmt, a, b);
}

/* Whether hook h has an alternative that works here (and KTRACE_ATTACH allows). */
static bool hook_usable(const struct kt_cmd *cmd, const struct kt_hook *h)
{
	unsigned forced = kt_plan_forced(h);

	for (int a = 0; a < KT_MAX_ALTS && h->alts[a].prog; a++) {
		const struct kt_alt *alt = &h->alts[a];
		const char *why;

		if (forced && !(forced & (1U << alt->type)))
			continue;
		if (!kt_feature_alt(alt, &why) && !(cmd->alt_unavailable && cmd->alt_unavailable(alt)))
			return true;
	}
	return false;
}

/*
 * The layer a layered command would run on (the first whose required hooks
 * all work), or NULL: the hooks of its other layers are optional to it.
 */
static const char *usable_layer(const struct kt_cmd *cmd)
{
	for (size_t i = 0; i < cmd->n_hooks; i++) {
		const char *l = cmd->hooks[i].layer;
		bool ok = true, first = true;

		for (size_t j = 0; l && j < i && first; j++)
			first = !cmd->hooks[j].layer || strcmp(cmd->hooks[j].layer, l);
		if (!l || !first)
			continue;
		for (size_t j = i; j < cmd->n_hooks && ok; j++) {
			const struct kt_hook *h = &cmd->hooks[j];

			if (h->layer && !strcmp(h->layer, l) && !h->optional)
				ok = hook_usable(cmd, h);
		}
		if (ok)
			return l;
	}
	return NULL;
}

/*
 * Probes each hook of each command with the current credentials (nothing
 * is probed without the base capabilities: every probe would fail alike)
 * and fills one verdict per command.
 */
static void report_hooks(struct kt_ctx *ctx, uint64_t base_missing, struct verdict *vs)
{
	char need[128];

	kt_caps_str(base_missing, need, sizeof(need));
	kt_table_begin(ctx->out, "hooks", "Attach plans on this kernel:", hook_cols,
		       sizeof(hook_cols) / sizeof(hook_cols[0]));
	for (size_t c = 0; c < kt_n_cmds; c++) {
		const struct kt_cmd *cmd = kt_cmds[c];
		struct verdict *v = &vs[c];
		/* layered commands: layers with a hook that cannot attach, and why */
		const char *bad_layers[8];
		size_t nbad = 0, nlayers = 0;
		const char *layers[8];
		struct verdict lv = { 0 };
		const char *run_layer = base_missing ? NULL : usable_layer(cmd);

		for (size_t i = 0; i < cmd->n_hooks; i++) {
			const char *l = cmd->hooks[i].layer;
			size_t j;

			for (j = 0; l && j < nlayers && strcmp(layers[j], l); j++)
				;
			if (l && j == nlayers && nlayers < 8)
				layers[nlayers++] = l;
		}
		for (size_t i = 0; i < cmd->n_hooks; i++) {
			const struct kt_hook *h = &cmd->hooks[i];
			unsigned forced = kt_plan_forced(h);
			const char *usable[KT_MAX_ALTS];
			size_t n = 0, nu = 0, hw = 0;
			char alts[1024], hwhy[768];
			uint64_t fix = 0;
			int chosen = -1;

			alts[0] = hwhy[0] = 0;
			for (int a = 0; a < KT_MAX_ALTS && h->alts[a].prog; a++) {
				const struct kt_alt *alt = &h->alts[a];
				const char *why = "not probed";
				int err = base_missing ? -EPERM : kt_feature_alt(alt, &why);
				const char *no = !err && cmd->alt_unavailable ? cmd->alt_unavailable(alt) : NULL;
				bool allowed = !forced || (forced & (1U << alt->type));
				bool ok;

				if (no) {
					err = -ENOTSUP;
					why = no;
				}
				ok = !err && allowed;

				/* each type once (two programs may share one) */
				if (!err && (!nu || strcmp(usable[nu - 1], kt_attach_name(alt->type))))
					usable[nu++] = kt_attach_name(alt->type);
				if (ok && chosen < 0)
					chosen = a;
				if (err && allowed && !base_missing) {
					fix |= kt_caps_for_alt(alt);
					hw += (size_t)snprintf(hwhy + hw, hw < sizeof(hwhy) ? sizeof(hwhy) - hw : 0,
							       "%s%s %s: %s", hw ? ", " : "",
							       kt_attach_name(alt->type), alt->target, why);
				}
				n += (size_t)snprintf(alts + n, n < sizeof(alts) ? sizeof(alts) - n : 0,
						      "%s%s %s%s%s%s%s", n ? ", " : "",
						      kt_attach_name(alt->type), alt->target,
						      alt->needs & KT_NEED_BPF_LOOP ? " with bpf_loop" :
						      alt->needs & KT_NEED_TASK_STORAGE ? " with task storage" : "",
						      err ? ": unavailable: " : "",
						      !err ? "" : base_missing ? "not probed, needs " : why,
						      err && base_missing ? need : "");
			}
			if (chosen < 0 && !h->optional && !base_missing && h->layer) {
				size_t j;

				for (j = 0; j < nbad && strcmp(bad_layers[j], h->layer); j++)
					;
				if (j == nbad && nbad < 8) {
					char one[900];

					bad_layers[nbad++] = h->layer;
					lv.add |= fix;
					snprintf(one, sizeof(one), "hook %s: %s", h->name, hwhy);
					why_add(&lv, "layer %s: %s", h->layer, one);
				}
			} else if (chosen < 0 && !h->optional && !base_missing) {
				v->fails = true;
				v->add |= fix;
				why_add(v, "hook %s: %s", h->name, hwhy);
			}
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
			/* a hook of a layer the command does not need here is optional to it */
			kt_rec_bool(ctx->out, h->optional || (h->layer && run_layer &&
							      strcmp(h->layer, run_layer)));
			/* JSON: the alternatives that attach here, for scripts (and the qemu tests) */
			kt_rec_extra_strlist(ctx->out, "usable", usable, nu);
			if (h->layer)
				kt_rec_extra_str(ctx->out, "layer", h->layer);
			kt_rec_end(ctx->out);
		}
		/* a layered command works when one of its layers does */
		if (nlayers && nbad == nlayers) {
			v->fails = true;
			v->add |= lv.add;
			why_add(v, "%s%s", lv.why, "");
		}
	}
	kt_table_end(ctx->out);
}

/* Fills in the verdicts: what the credentials lack, what would help. */
static void judge(struct verdict *vs, uint64_t base_missing)
{
	char buf[128];

	for (size_t c = 0; c < kt_n_cmds; c++) {
		const struct kt_cmd *cmd = kt_cmds[c];
		struct verdict *v = &vs[c];
		uint64_t better;

		if (!cmd->n_hooks)
			continue;
		if (base_missing) {
			v->fails = true;
			v->add = base_missing;
			why_add(v, "needs %s to load and attach BPF programs%s",
				kt_caps_str(base_missing, buf, sizeof(buf)), "");
			continue;
		}
		if (v->fails) {
			if (!v->add)
				why_add(v, "%s%s", "no capability helps: the kernel lacks these hooks", "");
			continue;
		}
		if (cmd->kernel_note && cmd->kernel_note())
			why_add(v, "%s%s", cmd->kernel_note(), "");
		better = kt_caps_missing(cmd->caps_better);
		if (kt_kallsyms_visible())
			better &= ~KT_CAP(KT_CAP_SYSLOG);
		v->add = better;
		for (int cap = 0; cap < 64; cap++)
			if (better & KT_CAP(cap))
				why_add(v, "without %s: no %s", kt_caps_str(KT_CAP(cap), buf, sizeof(buf)),
					kt_cap_use(cap));
	}
}

static int report_commands(struct kt_ctx *ctx, const struct verdict *vs)
{
	int failing = 0;

	kt_table_begin(ctx->out, "commands", "Commands with these credentials:", cmd_cols,
		       sizeof(cmd_cols) / sizeof(cmd_cols[0]));
	for (size_t c = 0; c < kt_n_cmds; c++) {
		const struct kt_cmd *cmd = kt_cmds[c];
		const struct verdict *v = &vs[c];
		const char *st = v->fails ? "fails" : v->add ? "limited" : "ok";
		const char *names[8];
		char add[256], one[8][32];
		size_t nn = 0;

		if (!cmd->n_hooks)
			continue;
		failing += v->fails;
		/* the names as a list for JSON; kt_caps_str gives the text */
		for (int cap = 0; cap < 64 && nn < 8; cap++) {
			if (!(v->add & KT_CAP(cap)))
				continue;
			kt_caps_str(KT_CAP(cap), one[nn], sizeof(one[nn]));
			names[nn] = one[nn];
			nn++;
		}
		kt_caps_str(v->add, add, sizeof(add));
		kt_table_row(ctx->out);
		kt_rec_str(ctx->out, cmd->name, strlen(cmd->name));
		kt_rec_str(ctx->out, st, strlen(st));
		if (v->add)
			kt_rec_str(ctx->out, add, strlen(add));
		else
			kt_rec_none(ctx->out);
		kt_rec_str(ctx->out, v->why, strnlen(v->why, sizeof(v->why)));
		/* JSON: the capabilities to add, as a list */
		kt_rec_extra_strlist(ctx->out, "add_caps", names, nn);
		kt_rec_end(ctx->out);
	}
	kt_table_end(ctx->out);
	return failing;
}

static int run(struct kt_ctx *ctx)
{
	uint64_t base_missing = kt_caps_missing(kt_caps_required());
	struct verdict *vs = calloc(kt_n_cmds, sizeof(*vs));
	char ml[128], req[128], tr[160];
	int failing, limited = 0;

	if (!vs) {
		kt_err("out of memory");
		return KT_EXIT_FAIL;
	}
	if (!base_missing)
		libbpf_set_print(NULL);
	kt_caps_str(kt_caps_required(), req, sizeof(req));
	if (!kt_tracefs_mounted())
		snprintf(tr, sizeof(tr), "not mounted (ktrace mounts it when a hook needs it)");
	else if (kt_tracefs_ensure() == -EACCES)
		snprintf(tr, sizeof(tr), "mounted, not readable by this user (syscall tracepoints "
					 "need root or CAP_DAC_READ_SEARCH; raw tracepoints do not)");
	else
		snprintf(tr, sizeof(tr), "mounted");
	kt_table_begin(ctx->out, "environment", "ktrace " KT_VERSION " environment:", env_cols,
		       sizeof(env_cols) / sizeof(env_cols[0]));
	env_row(ctx->out, "kernel", kt_kernel_release());
	env_row(ctx->out, "btf", kt_have_btf() ? "yes (/sys/kernel/btf/vmlinux)"
					       : "MISSING: needs CONFIG_DEBUG_INFO_BTF=y");
	env_row(ctx->out, "privileges", kt_privileges_desc());
	env_row(ctx->out, "required", req);
	env_row(ctx->out, "tracefs", tr);
	env_row(ctx->out, "bpffs", bpffs_mounted() ? "mounted on /sys/fs/bpf" : "not mounted (not needed)");
	env_row(ctx->out, "memlock", memlock_desc(ml, sizeof(ml)));
	env_row(ctx->out, "ring buffer",
		base_missing ? "not probed (needs the required capabilities)"
		: kt_have_ringbuf() ? "yes" : "no (needs 5.8+)");
	env_row(ctx->out, "cpu PMU",
		have_pmu_cycles() ? "yes (profile samples hardware cycles)"
				  : "no (profile samples the software cpu-clock)");
	env_row(ctx->out, "kernel symbols",
		kt_kallsyms_visible() ? "visible (/proc/kallsyms has addresses)"
				      : "hidden from this user (needs CAP_SYSLOG, or kernel.kptr_restrict=0 with kernel.perf_event_paranoid<=1)");
	if (getenv("KTRACE_ATTACH"))
		env_row(ctx->out, "KTRACE_ATTACH", getenv("KTRACE_ATTACH"));
	kt_table_end(ctx->out);

	report_hooks(ctx, base_missing, vs);
	judge(vs, base_missing);
	failing = report_commands(ctx, vs);
	for (size_t c = 0; c < kt_n_cmds; c++)
		limited += !vs[c].fails && vs[c].add;
	free(vs);
	if (base_missing) {
		char miss[128];

		kt_err("ktrace needs root or %s (missing: %s; have: %s)", req,
		       kt_caps_str(base_missing, miss, sizeof(miss)), kt_privileges_desc());
		return KT_EXIT_FAIL;
	}
	if (!kt_have_btf())
		return KT_EXIT_FAIL;
	kt_out_text(ctx->out, "\n%s\n",
		    failing ? "Some commands cannot run with these credentials: see STATUS and WHY."
		    : limited ? "Every command can run with these credentials; some with less (see WHY)."
			      : "Every command can run with these credentials.");
	return failing ? KT_EXIT_FAIL : KT_EXIT_OK;
}

const struct kt_cmd kt_cmd_check = {
	.name = "check",
	.summary = "Report what this kernel supports and how each command would attach",
	.doc = "Print an environment report: kernel release, BTF, privileges, tracefs, bpffs, "
	       "memlock, ring buffer, CPU PMU, kernel symbols; for every command the attach "
	       "alternative each of its hooks would use (probed for real with the current "
	       "credentials), with the reason each better alternative was refused; and per "
	       "command whether it works with these credentials (ok, limited, fails), why, and "
	       "the capabilities to add. Exits 1 if some command cannot run.\v"
	       "Examples:\n"
	       "  ktrace check\n"
	       "  ktrace check -j | jq .\n"
	       "  KTRACE_ATTACH=raw_tp ktrace check   # what a forced alternative would do",
	.kind = KT_INFO,
	.pos = KT_POS_NONE,
	.run = run,
};
