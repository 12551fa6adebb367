// SPDX-License-Identifier: GPL-2.0
/* Attach plans (see plan.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "features.h"
#include "plan.h"
#include "util.h"

static struct bpf_link **links;
static size_t n_links;

int kt_plan_forced(const char *hook, const struct kt_hook *h)
{
	const char *env = getenv("KTRACE_ATTACH");
	char *copy, *tok, *save = NULL;
	int forced = -1;

	if (!env || !*env)
		return -1;
	copy = strdup(env);
	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		int t;

		if (eq) {
			*eq = 0;
			if (strcmp(tok, hook))
				continue;
			t = kt_attach_parse(eq + 1);
			if (t >= 0)
				forced = t;
			continue;
		}
		t = kt_attach_parse(tok);
		if (t < 0)
			continue;
		/* a bare TYPE applies only to hooks that have that alternative */
		for (int i = 0; i < KT_MAX_ALTS && h->alts[i].prog; i++)
			if ((int)h->alts[i].type == t && forced < 0)
				forced = t;
	}
	free(copy);
	return forced;
}

int kt_plan_choose(struct kt_ctx *ctx)
{
	const struct kt_cmd *cmd = ctx->cmd;

	for (size_t i = 0; i < cmd->n_hooks; i++) {
		const struct kt_hook *h = &cmd->hooks[i];
		struct kt_hook_state *st = &ctx->hooks[i];
		int forced = kt_plan_forced(h->name, h);
		char whys[512] = "";
		size_t wl = 0;

		st->chosen = -1;
		if (st->disabled)
			continue;
		for (int a = 0; a < KT_MAX_ALTS && h->alts[a].prog; a++) {
			const struct kt_alt *alt = &h->alts[a];
			const char *why = NULL;
			int err;

			if (forced >= 0 && (int)alt->type != forced)
				continue;
			err = kt_feature_alt(alt, &why);
			kt_info("hook %s: %s %s (program %s): %s", h->name, kt_attach_name(alt->type),
				alt->target, alt->prog, err ? why : "ok");
			if (!err) {
				st->chosen = a;
				break;
			}
			wl += (size_t)snprintf(whys + wl, wl < sizeof(whys) ? sizeof(whys) - wl : 0,
					       "%s%s %s: %s", wl ? "; " : "",
					       kt_attach_name(alt->type), alt->target, why);
		}
		if (st->chosen >= 0)
			continue;
		if (forced >= 0 && !wl)
			snprintf(whys, sizeof(whys), "KTRACE_ATTACH forces %s, which this hook does not have",
				 kt_attach_name((enum kt_attach)forced));
		st->why = strdup(whys);
		if (h->optional) {
			kt_warn("hook %s is not available on this kernel (%s); continuing without it",
				h->name, whys);
			continue;
		}
		kt_err("hook %s cannot be attached on this kernel: %s", h->name, whys);
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

int kt_plan_attach(struct kt_ctx *ctx)
{
	const struct kt_cmd *cmd = ctx->cmd;

	links = calloc(cmd->n_hooks ? cmd->n_hooks : 1, sizeof(*links));
	if (!links)
		return -ENOMEM;
	for (size_t i = 0; i < cmd->n_hooks; i++) {
		const struct kt_hook *h = &cmd->hooks[i];
		int c = ctx->hooks[i].chosen, err;
		const struct kt_alt *alt;
		struct bpf_program *p;
		struct bpf_link *l;

		if (c < 0)
			continue;
		alt = &h->alts[c];
		if (alt->type == KT_PERF_EVENT) {
			if (!cmd->attach)
				return -EINVAL;
			err = cmd->attach(ctx, h, alt);
			if (err)
				return err;
			continue;
		}
		p = bpf_object__find_program_by_name(ctx->obj, alt->prog);
		if (!p) {
			kt_err("internal error: program %s of hook %s not found", alt->prog, h->name);
			return -ENOENT;
		}
		if (alt->type == KT_TRACEPOINT && kt_tracefs_ensure())
			return -ENOENT;
		l = bpf_program__attach(p);
		if (!l) {
			err = -errno;
			kt_err("attaching %s (%s %s) failed: %s", h->name, kt_attach_name(alt->type),
			       alt->target, strerror(-err));
			return err;
		}
		links[n_links++] = l;
	}
	return 0;
}

void kt_plan_detach(struct kt_ctx *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < n_links; i++)
		bpf_link__destroy(links[i]);
	free(links);
	links = NULL;
	n_links = 0;
}

void kt_plan_log(const struct kt_ctx *ctx)
{
	const struct kt_cmd *cmd = ctx->cmd;

	for (size_t i = 0; i < cmd->n_hooks; i++) {
		const struct kt_hook *h = &cmd->hooks[i];
		int c = ctx->hooks[i].chosen;

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
