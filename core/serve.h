/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `ktrace serve`: summary commands run continuously, their metrics served
 * over HTTP at /metrics (Prometheus text 0.0.4, or OpenMetrics 1.0 when the
 * scraper asks for it).
 *
 * One child process per command, each running the ordinary lifecycle
 * (kt_run) with its state, maps and BPF programs to itself; at every
 * interval (1 s unless the command is given one) it renders its cumulative
 * metrics in both formats and sends them over a pipe to the parent, which
 * holds the latest of each command and serves them with libmicrohttpd. See
 * DESIGN.md "ktrace serve".
 */
#ifndef KT_SERVE_H
#define KT_SERVE_H

#include <stdbool.h>
#include <stddef.h>

/* The whole of `ktrace serve ARGS` (argv[0] is "serve"); the exit code. */
int kt_serve_main(int argc, char **argv, int full_argc, char **full_argv);

/* ---- the side of a command serve runs (core/run.c) ---- */

/* True in a command serve started: its metrics go to serve, not to a file. */
bool kt_serve_child(void);
/* The command attached everything: serve may start answering. */
void kt_serve_ready(void);
/*
 * The command's metrics, both formats (om without "# EOF"); 0, or -EPIPE
 * when serve is gone (the command then stops), -EMSGSIZE when too large.
 */
int kt_serve_push(const char *text, size_t text_len, const char *om, size_t om_len);

#endif
