/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus text exposition back end (format 0.0.4).
 *
 * It is fed the same descriptions text and JSON render (kt_out_hist,
 * kt_out_lost: output.c forwards them when a kt_prom is attached with
 * kt_out_set_prom), so commands never know it is there. Summary commands
 * drain and reset their maps every interval; Prometheus wants cumulative
 * series, so this keeps the running state of every series across intervals
 * and renders all of it on each kt_prom_render().
 *
 * Names: ktrace_<command>_<what>_<unit>, base units (seconds, bytes).
 * Histograms: cumulative _bucket{le} at each log2 (or linear) bucket's upper
 * bound up to the highest bucket any series of the metric used, then +Inf;
 * _sum estimated from the buckets (each bucket's midpoint; HELP says so)
 * and _count. Counters end in _total: lost events, and the KT_COL_COUNT
 * columns of table rows (ktrace_<command>_[<table>_][<column>_]total; a
 * column "count" adds no part, time columns become <stem>_seconds_total).
 * Labels come from the record's keys,
 * values escaped per the format (\\, \", \n) after invalid UTF-8 became
 * U+FFFD.
 *
 * Bounds: at most max_series series per metric (the last slot is the
 * "other" series every further label set is folded into; the folds are
 * counted in ktrace_<command>_prom_folded_total{metric}), at most
 * KT_PROM_MAX_METRICS metrics, label values cut at KT_PROM_MAX_LABEL bytes.
 * A log2 histogram series costs about 600 bytes.
 */
#ifndef KT_PROM_H
#define KT_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct kt_hist;
struct kt_kv;
struct kt_prom;

#define KT_PROM_MAX_METRICS 32
#define KT_PROM_MAX_LABEL 256
#define KT_PROM_DEFAULT_SERIES 1000

/*
 * cmd: the command's name; what: what its histograms measure ("latency"),
 * NULL for "duration" (time units) or "value"; max_series >= 2.
 */
struct kt_prom *kt_prom_new(const char *cmd, const char *what, size_t max_series);
void kt_prom_free(struct kt_prom *p);

/* Adds one interval's histogram (unit as given to kt_out_hist). 0 or -ENOMEM. */
int kt_prom_hist(struct kt_prom *p, const char *unit, const struct kt_kv *keys, size_t nkeys,
		 const struct kt_hist *h);
/* Adds n to the counter of a kind of loss (what, reason as in kt_out_lost). */
int kt_prom_lost(struct kt_prom *p, const char *what, const char *reason, uint64_t n);
/*
 * Adds v to the counter of column key of a row (table: its name, NULL or
 * the command's name for none), labelled by the row's labels.
 */
int kt_prom_count(struct kt_prom *p, const char *table, const char *key, const struct kt_kv *labels,
		  size_t nlabels, double v);
/* Writes every metric's cumulative state; 0 or -EIO when f had a write error. */
int kt_prom_render(const struct kt_prom *p, FILE *f);
/*
 * The same, in OpenMetrics 1.0 when om (for `ktrace serve`): a counter's
 * family (HELP, TYPE) is named without _total, le values are canonical
 * ("1.0"), HELP escapes '"'. No "# EOF": the caller ends the exposition.
 */
int kt_prom_render_fmt(const struct kt_prom *p, FILE *f, bool om);

#endif
