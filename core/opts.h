/* SPDX-License-Identifier: GPL-2.0 */
/* Option parsing (core/opts.c). */
#ifndef KT_OPTS_H
#define KT_OPTS_H

#include "ktrace.h"

/* Parses argv into ctx (argv[0] is the program name); nonzero on a usage error. */
int kt_opts_parse(struct kt_ctx *ctx, int argc, char **argv);

#endif
