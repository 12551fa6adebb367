// SPDX-License-Identifier: GPL-2.0
/* Attach plans (see plan.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "features.h"
#include "plan.h"
#include "util.h"

/*
 * KTRACE_ATTACH is a comma-separated list of items: TYPE (every hook that
 * has an alternative of that type must use it) or HOOK=TYPE (that hook
 * only; several items for one hook allow each of their types, still in the
 * plan's order). Items naming a hook override bare types for that hook.
 */

/* Calls fn for each non-empty item, with hook NULL for a bare TYPE; stops at fn's nonzero. */
static int env_items(int (*fn)(const char *hook, const char *type, void *arg), void *arg)
{
	const char *env = getenv("KTRACE_ATTACH");
	char *copy, *tok, *save = NULL;
	int err = 0;

	if (!env || !*env)
		return 0;
	copy = strdup(env);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (eq)
			*eq = 0;
		err = fn(eq ? tok : NULL, eq ? eq + 1 : tok, arg);
	}
	free(copy);
	return err;
}

static unsigned hook_types(const struct kt_hook *h)
{
	unsigned m = 0;

	for (int i = 0; i < KT_MAX_ALTS && h->alts[i].prog; i++)
		m |= 1U << h->alts[i].type;
	return m;
}

struct forced_arg {
	const struct kt_hook *h;
	unsigned named, bare;
};

static int forced_item(const char *hook, const char *type, void *arg)
{
	struct forced_arg *f = arg;
	int t = kt_attach_parse(type);

	if (t < 0 || !(hook_types(f->h) & (1U << t)))
		return 0;
	if (!hook)
		f->bare |= 1U << t;
	else if (!strcmp(hook, f->h->name))
		f->named |= 1U << t;
	return 0;
}

unsigned kt_plan_forced(const struct kt_hook *h)
{
	struct forced_arg f = { .h = h };
	unsigned have = hook_types(h);

	env_items(forced_item, &f);
	if (f.named)
		return f.named;
	/*
	 * A bare entry type names its family: a return hook that has fexit
	 * (kretprobe) but no fentry (kprobe) follows a bare fentry (kprobe), so
	 * that KTRACE_ATTACH=kprobe times a function with kprobe and kretprobe,
	 * not with kprobe and fexit.
	 */
	if (!f.bare) {
		struct forced_arg g = { .h = &(struct kt_hook){ .name = "", .alts = {
						       { KT_FENTRY, "", "" }, { KT_KPROBE, "", "" } } } };

		env_items(forced_item, &g);
		if ((g.bare & (1U << KT_FENTRY)) && (have & (1U << KT_FEXIT)) &&
		    !(have & (1U << KT_FENTRY)))
			f.bare |= 1U << KT_FEXIT;
		if ((g.bare & (1U << KT_KPROBE)) && (have & (1U << KT_KRETPROBE)) &&
		    !(have & (1U << KT_KPROBE)))
			f.bare |= 1U << KT_KRETPROBE;
	}
	return f.bare;
}

struct check_arg {
	const struct kt_cmd *const *cmds;
	size_t n;
};

/* Appends s to buf (", " between items) unless it is there already. */
static void add_name(char *buf, size_t sz, const char *s)
{
	size_t l = strlen(buf), sl = strlen(s);

	for (const char *p = buf; (p = strstr(p, s)); p += sl)
		if ((p == buf || p[-1] == ' ') && (p[sl] == ',' || !p[sl]))
			return;
	snprintf(buf + l, sz - l, "%s%s", l ? ", " : "", s);
}

static int check_item(const char *hook, const char *type, void *arg)
{
	const struct check_arg *c = arg;
	char valid[2048] = "";
	unsigned have = 0;
	bool found = false;
	int t = kt_attach_parse(type);

	for (size_t i = 0; i < c->n; i++) {
		for (size_t j = 0; j < c->cmds[i]->n_hooks; j++) {
			const struct kt_hook *h = &c->cmds[i]->hooks[j];

			if (!hook || !strcmp(hook, h->name)) {
				found = true;
				have |= hook_types(h);
			}
		}
	}
	if (hook && !found) {
		for (size_t i = 0; i < c->n; i++)
			for (size_t j = 0; j < c->cmds[i]->n_hooks; j++)
				add_name(valid, sizeof(valid), c->cmds[i]->hooks[j].name);
		kt_err("KTRACE_ATTACH: unknown hook '%s' (valid hooks%s%s: %s)", hook,
		       c->n == 1 ? " of " : "", c->n == 1 ? c->cmds[0]->name : "", valid);
		return -EINVAL;
	}
	/*
	 * A bare TYPE is a rule over hooks ("every hook that has it"): a known
	 * type that no hook here has forces nothing, so one KTRACE_ATTACH can
	 * serve a whole test run.
	 */
	if (t >= 0 && (!hook || (have & (1U << t))))
		return 0;
	if (!hook)
		have = ~0U >> (32 - KT_ATTACH_N);
	for (int i = 0; i < KT_ATTACH_N; i++)
		if (have & (1U << i))
			add_name(valid, sizeof(valid), kt_attach_name((enum kt_attach)i));
	if (t < 0)
		kt_err("KTRACE_ATTACH: unknown attach type '%s' (valid%s%s: %s)", type,
		       hook ? " for hook " : "", hook ? hook : "", valid);
	else
		kt_err("KTRACE_ATTACH: hook %s has no %s alternative (valid: %s)", hook, type, valid);
	return -EINVAL;
}

int kt_plan_env_check(const struct kt_cmd *const *cmds, size_t n)
{
	struct check_arg c = { cmds, n };

	return env_items(check_item, &c);
}

/*
 * Picks the first working alternative of hook i into ctx->hooks[i].chosen;
 * false when there is none (why: what each alternative lacks).
 */
static bool choose_hook(struct kt_ctx *ctx, size_t i, char *whys, size_t wsz)
{
	const struct kt_cmd *cmd = ctx->cmd;
	const struct kt_hook *h = &cmd->hooks[i];
	struct kt_hook_state *st = &ctx->hooks[i];
	size_t wl = 0;

	whys[0] = 0;
	st->chosen = -1;
	for (int a = 0; a < KT_MAX_ALTS && h->alts[a].prog; a++) {
		const struct kt_alt *alt = &h->alts[a];
		const char *why = NULL;
		int err;

		if (st->forced && !(st->forced & (1U << alt->type)))
			continue;
		err = kt_feature_alt(alt, &why);
		if (!err && cmd->alt_unavailable && (why = cmd->alt_unavailable(alt)))
			err = -ENOTSUP;
		kt_info("hook %s: %s %s (program %s): %s", h->name, kt_attach_name(alt->type),
			alt->target, alt->prog, err ? why : "ok");
		if (!err) {
			st->chosen = a;
			return true;
		}
		wl += (size_t)snprintf(whys + wl, wl < wsz ? wsz - wl : 0, "%s%s %s: %s",
				       wl ? "; " : "", kt_attach_name(alt->type), alt->target, why);
	}
	if (!wl)
		snprintf(whys, wsz, "KTRACE_ATTACH allows none of its alternatives");
	return false;
}

/* The layers of cmd's hooks, in the order they first appear; how many (at most max). */
static size_t plan_layers(const struct kt_cmd *cmd, const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cmd->n_hooks; i++) {
		const char *l = cmd->hooks[i].layer;
		size_t j;

		if (!l)
			continue;
		for (j = 0; j < n && strcmp(names[j], l); j++)
			;
		if (j == n && n < max)
			names[n++] = l;
	}
	return n;
}

bool kt_plan_in_layer(const struct kt_ctx *ctx, size_t i)
{
	const char *l = ctx->cmd->hooks[i].layer;

	return !l || (ctx->layer && !strcmp(l, ctx->layer));
}

void kt_plan_layer_from_choice(struct kt_ctx *ctx)
{
	ctx->layer = NULL;
	for (size_t i = 0; i < ctx->cmd->n_hooks; i++) {
		if (ctx->cmd->hooks[i].layer && ctx->hooks[i].chosen >= 0) {
			ctx->layer = ctx->cmd->hooks[i].layer;
			return;
		}
	}
}

#define KT_MAX_LAYERS 4

/*
 * One layer: every required hook of it (not disabled) gets an alternative,
 * or the layer fails with why (and its hooks get none).
 */
static bool choose_layer(struct kt_ctx *ctx, const char *layer, char *why, size_t wsz)
{
	const struct kt_cmd *cmd = ctx->cmd;
	char whys[512];

	for (size_t i = 0; i < cmd->n_hooks; i++) {
		const struct kt_hook *h = &cmd->hooks[i];

		if (!h->layer || strcmp(h->layer, layer) || ctx->hooks[i].disabled)
			continue;
		if (choose_hook(ctx, i, whys, sizeof(whys)) || h->optional)
			continue;
		snprintf(why, wsz, "hook %s: %s", h->name, whys);
		for (size_t j = 0; j < cmd->n_hooks; j++)
			if (cmd->hooks[j].layer && !strcmp(cmd->hooks[j].layer, layer))
				ctx->hooks[j].chosen = -1;
		return false;
	}
	return true;
}

/*
 * Layers: the first whose required hooks all attach. When KTRACE_ATTACH
 * forces some hook, only the layers with a forced hook are candidates: so
 * KTRACE_ATTACH=raw_tp runs the file-system commands on their system-call
 * layer, and =kprobe on their VFS layer (or fails where there are no
 * kprobes).
 */
static int choose_layers(struct kt_ctx *ctx, const char **layers, size_t n)
{
	const struct kt_cmd *cmd = ctx->cmd;
	bool forced[KT_MAX_LAYERS] = { false }, any = false;
	char whys[1024] = "", why[600];
	size_t wl = 0;

	for (size_t i = 0; i < cmd->n_hooks; i++) {
		for (size_t l = 0; l < n && ctx->hooks[i].forced; l++) {
			if (cmd->hooks[i].layer && !strcmp(cmd->hooks[i].layer, layers[l])) {
				forced[l] = true;
				any = true;
			}
		}
	}
	for (size_t l = 0; l < n; l++) {
		if (any && !forced[l]) {
			snprintf(why, sizeof(why), "KTRACE_ATTACH forces none of its hooks");
		} else if (choose_layer(ctx, layers[l], why, sizeof(why))) {
			ctx->layer = layers[l];
			kt_info("layer %s: every required hook attaches%s%s", layers[l],
				wl ? "; not used: " : "", whys);
			return 0;
		}
		kt_info("layer %s: not used: %s", layers[l], why);
		wl += (size_t)snprintf(whys + wl, wl < sizeof(whys) ? sizeof(whys) - wl : 0,
				       "%slayer %s: %s", wl ? "; " : "", layers[l], why);
	}
	kt_err("%s cannot run here: no layer of its hooks attaches (%s)", cmd->name, whys);
	return -ENOTSUP;
}

int kt_plan_choose(struct kt_ctx *ctx)
{
	const struct kt_cmd *cmd = ctx->cmd;
	const char *layers[KT_MAX_LAYERS];
	size_t nl = plan_layers(cmd, layers, KT_MAX_LAYERS);
	int err;

	ctx->layer = NULL;
	for (size_t i = 0; i < cmd->n_hooks; i++) {
		ctx->hooks[i].chosen = -1;
		ctx->hooks[i].forced = kt_plan_forced(&cmd->hooks[i]);
	}
	if (nl) {
		err = choose_layers(ctx, layers, nl);
		if (err)
			return err;
	}
	for (size_t i = 0; i < cmd->n_hooks; i++) {
		const struct kt_hook *h = &cmd->hooks[i];
		struct kt_hook_state *st = &ctx->hooks[i];
		char whys[512];

		if (st->disabled || h->layer)
			continue;
		if (choose_hook(ctx, i, whys, sizeof(whys)))
			continue;
		st->why = strdup(whys);
		if (h->optional) {
			kt_warn("hook %s is not available here (%s); continuing without it",
				h->name, whys);
			continue;
		}
		kt_err("hook %s cannot be attached here: %s", h->name, whys);
		return -ENOTSUP;
	}
	return 0;
}

static bool prog_chosen(const struct kt_ctx *ctx, const char *name)
{
	const struct kt_cmd *cmd = ctx->cmd;

	for (size_t i = 0; i < cmd->n_hooks; i++) {
		int c = ctx->hooks[i].chosen;

		if (c >= 0 && !strcmp(cmd->hooks[i].alts[c].prog, name))
			return true;
	}
	return false;
}

static bool prog_in_plan(const struct kt_ctx *ctx, const char *name)
{
	const struct kt_cmd *cmd = ctx->cmd;

	for (size_t i = 0; i < cmd->n_hooks; i++)
		for (int a = 0; a < KT_MAX_ALTS && cmd->hooks[i].alts[a].prog; a++)
			if (!strcmp(cmd->hooks[i].alts[a].prog, name))
				return true;
	return false;
}

int kt_plan_apply(struct kt_ctx *ctx)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, ctx->obj) {
		const char *name = bpf_program__name(p);

		/* programs outside the plan are always on (helpers, tail calls) */
		if (prog_in_plan(ctx, name) && !prog_chosen(ctx, name))
			bpf_program__set_autoload(p, false);
	}
	return 0;
}

/* True if an earlier hook than i chose the same program (one attachment serves both). */
static bool attached_before(const struct kt_ctx *ctx, size_t i)
{
	const struct kt_cmd *cmd = ctx->cmd;
	const char *prog = cmd->hooks[i].alts[ctx->hooks[i].chosen].prog;

	for (size_t j = 0; j < i; j++) {
		int c = ctx->hooks[j].chosen;

		if (c >= 0 && !ctx->hooks[j].disabled && !strcmp(cmd->hooks[j].alts[c].prog, prog))
			return true;
	}
	return false;
}

int kt_plan_attach(struct kt_ctx *ctx)
{
	const struct kt_cmd *cmd = ctx->cmd;

	for (size_t i = 0; i < cmd->n_hooks; i++) {
		const struct kt_hook *h = &cmd->hooks[i];
		int c = ctx->hooks[i].chosen, err;
		const struct kt_alt *alt;
		struct bpf_program *p;

		if (c < 0 || ctx->hooks[i].disabled)
			continue;
		alt = &h->alts[c];
		if (cmd->attach) {
			err = cmd->attach(ctx, h, alt);
			if (err < 0)
				return err;
			if (err == 0)
				continue;
		}
		if (alt->type == KT_PERF_EVENT || alt->type == KT_UPROBE || alt->type == KT_URETPROBE) {
			kt_err("internal error: hook %s has no attach() for its %s", h->name,
			       kt_attach_name(alt->type));
			return -EINVAL;
		}
		/* e.g. raw_tp sys_enter: one program serves the hook of every syscall it filters */
		if (attached_before(ctx, i))
			continue;
		p = bpf_object__find_program_by_name(ctx->obj, alt->prog);
		if (!p) {
			kt_err("internal error: program %s of hook %s not found", alt->prog, h->name);
			return -ENOENT;
		}
		if (alt->type == KT_TRACEPOINT) {
			err = kt_tracefs_ensure();
			if (err) {
				kt_err("attaching %s (tracepoint %s) failed: %s", h->name, alt->target,
				       kt_tracefs_why(err));
				return err;
			}
		}
		ctx->hooks[i].link = bpf_program__attach(p);
		if (!ctx->hooks[i].link) {
			err = -errno;
			kt_err("attaching %s (%s %s) failed: %s%s", h->name, kt_attach_name(alt->type),
			       alt->target, strerror(-err),
			       err == -EPERM || err == -EACCES ? " (needs CAP_BPF and CAP_PERFMON)" : "");
			return err;
		}
	}
	return 0;
}

/* One detaching thread's share of the links: every step-th from first. */
struct detach_share {
	struct bpf_link **links;
	size_t n, first, step;
};

static void *detach_share(void *arg)
{
	struct detach_share *d = arg;

	for (size_t i = d->first; i < d->n; i += d->step)
		bpf_link__destroy(d->links[i]);
	return NULL;
}

/*
 * Detaching a tracepoint waits for the kernel's grace period (on the
 * faultable system-call tracepoints, an RCU tasks-trace one: 60-80 ms here),
 * one after another: exec's four tracepoints took 0.3 s to let go. Threads
 * that detach at once share the grace periods. Each link is destroyed once,
 * by one thread; a thread that cannot start leaves its share to this one.
 */
void kt_plan_detach(struct kt_ctx *ctx)
{
	enum { MAX_THREADS = 8 };
	struct bpf_link **links = calloc(ctx->cmd->n_hooks + 1, sizeof(*links));
	struct detach_share share[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	bool started[MAX_THREADS] = { false };
	size_t n = 0, nt;

	for (size_t i = 0; i < ctx->cmd->n_hooks; i++) {
		if (ctx->hooks[i].link && links)
			links[n++] = ctx->hooks[i].link;
		else
			bpf_link__destroy(ctx->hooks[i].link);
		ctx->hooks[i].link = NULL;
	}
	nt = n < MAX_THREADS ? n : MAX_THREADS;
	for (size_t t = 0; t < nt; t++) {
		share[t] = (struct detach_share){ .links = links, .n = n, .first = t, .step = nt };
		if (t > 0)
			started[t] = !pthread_create(&tid[t], NULL, detach_share, &share[t]);
	}
	for (size_t t = 0; t < nt; t++)
		if (t == 0 || !started[t])
			detach_share(&share[t]);
	for (size_t t = 1; t < nt; t++)
		if (started[t])
			pthread_join(tid[t], NULL);
	free(links);
}

void kt_plan_log(const struct kt_ctx *ctx)
{
	const struct kt_cmd *cmd = ctx->cmd;

	if (ctx->layer)
		kt_info("layer: %s", ctx->layer);

	for (size_t i = 0; i < cmd->n_hooks; i++) {
		const struct kt_hook *h = &cmd->hooks[i];
		int c = ctx->hooks[i].chosen;

		if (!kt_plan_in_layer(ctx, i))
			continue;
		if (ctx->hooks[i].disabled)
			kt_info("attach %s: not needed with these options", h->name);
		else if (c < 0)
			kt_info("attach %s: none available", h->name);
		else
			kt_info("attach %s: %s %s (program %s)", h->name,
				kt_attach_name(h->alts[c].type), h->alts[c].target, h->alts[c].prog);
	}
}

int kt_hook_disable(struct kt_ctx *ctx, const char *hook)
{
	for (size_t i = 0; i < ctx->cmd->n_hooks; i++) {
		if (!strcmp(ctx->cmd->hooks[i].name, hook)) {
			ctx->hooks[i].disabled = true;
			return 0;
		}
	}
	return -ENOENT;
}

const struct kt_alt *kt_hook_chosen(const struct kt_ctx *ctx, const char *hook)
{
	for (size_t i = 0; i < ctx->cmd->n_hooks; i++) {
		int c = ctx->hooks[i].chosen;

		if (!strcmp(ctx->cmd->hooks[i].name, hook))
			return c >= 0 && !ctx->hooks[i].disabled ? &ctx->cmd->hooks[i].alts[c] : NULL;
	}
	return NULL;
}

void kt_hook_keep(struct kt_hook *h, unsigned types)
{
	struct kt_alt keep[KT_MAX_ALTS];
	int n = 0;

	memset(keep, 0, sizeof(keep));
	for (int i = 0; i < KT_MAX_ALTS && h->alts[i].prog; i++)
		if (types & (1U << h->alts[i].type))
			keep[n++] = h->alts[i];
	memcpy(h->alts, keep, sizeof(keep));
}

void kt_plan_autoload_chosen(struct kt_ctx *ctx)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, ctx->obj)
		bpf_program__set_autoload(p, prog_chosen(ctx, bpf_program__name(p)));
}
