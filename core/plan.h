/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attach plans: for each logical hook of a subcommand, pick the first
 * alternative that this kernel supports (or the one forced with
 * KTRACE_ATTACH), switch off every other program before load, and attach
 * the chosen ones after load.
 */
#ifndef KT_PLAN_H
#define KT_PLAN_H

#include "ktrace.h"

struct bpf_link;

/* Choose alternatives for every enabled hook; errors name the hook and what is missing. */
int kt_plan_choose(struct kt_ctx *ctx);
/* Disable autoload of every program that is not chosen (after open, before load). */
int kt_plan_apply(struct kt_ctx *ctx);
/* Attach the chosen programs; each hook's link is kept in its ctx->hooks[] state. */
int kt_plan_attach(struct kt_ctx *ctx);
void kt_plan_detach(struct kt_ctx *ctx);
/* True when hook i belongs to the run: it has no layer, or the layer the plan chose. */
bool kt_plan_in_layer(const struct kt_ctx *ctx, size_t i);
/* ctx->layer from the hooks' choices (a replayed plan). */
void kt_plan_layer_from_choice(struct kt_ctx *ctx);
/* Print the choices (under -v) */
void kt_plan_log(const struct kt_ctx *ctx);

/*
 * The debugging override KTRACE_ATTACH ("TYPE" or "HOOK=TYPE", comma
 * separated): the types a hook may use, a bit per enum kt_attach, 0 when
 * the hook is not forced. Items that do not apply to h are ignored here:
 * kt_plan_env_check() refuses them first.
 */
unsigned kt_plan_forced(const struct kt_hook *h);
/*
 * 0 if every item of KTRACE_ATTACH is a known attach type, or HOOK=TYPE with
 * a hook of one of cmds that has an alternative of that type; otherwise
 * says what is wrong and what is valid, and returns -EINVAL (a usage error).
 */
int kt_plan_env_check(const struct kt_cmd *const *cmds, size_t n);

/*
 * For a descriptor whose hooks' alternatives depend on its arguments (a
 * user or a kernel function): keep in h only the alternatives whose type
 * is in types (bits 1U << enum kt_attach), in their order. A program left
 * out of every plan is then loaded unless the descriptor's configure()
 * turns its autoload off (kt_plan_autoload_chosen does).
 */
void kt_hook_keep(struct kt_hook *h, unsigned types);
/* Load only the programs the plan chose (for descriptors that use kt_hook_keep). */
void kt_plan_autoload_chosen(struct kt_ctx *ctx);

#endif
