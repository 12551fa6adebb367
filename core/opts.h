/* SPDX-License-Identifier: GPL-2.0 */
/* Option parsing (core/opts.c). */
#ifndef KT_OPTS_H
#define KT_OPTS_H

#include "ktrace.h"

/* Parses argv into ctx (argv[0] is the program name); nonzero on a usage error. */
int kt_opts_parse(struct kt_ctx *ctx, int argc, char **argv);

/*
 * Checks that each option letter means one thing in every command of tab
 * (the same long option), core's options included; returns the number of
 * conflicts and describes the first in why.
 */
int kt_opts_check_letters(const struct kt_cmd *const *tab, size_t n, char *why, size_t whysz);

/* Before load: writes ctx->filter into the BPF object's "kt_filter" (when cmd->filters). */
int kt_filter_write(struct kt_ctx *ctx);

#endif
