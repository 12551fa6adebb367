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
/* Attach the chosen programs; links are kept in ctx-private storage. */
int kt_plan_attach(struct kt_ctx *ctx);
void kt_plan_detach(struct kt_ctx *ctx);
/* Print the choices (under -v) */
void kt_plan_log(const struct kt_ctx *ctx);

/*
 * The debugging override from KTRACE_ATTACH ("TYPE" or "HOOK=TYPE", comma
 * separated): the forced type for a hook, or -1.
 */
int kt_plan_forced(const char *hook, const struct kt_hook *h);

#endif
