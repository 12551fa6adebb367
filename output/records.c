// SPDX-License-Identifier: GPL-2.0
/*
 * The records every run writes around its data: meta (first line), lost
 * (what the kernel side could not deliver, one shape for every kind of
 * loss) and summary (last line). Core fills plain structs; this file alone
 * decides how they look in text and JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "output.h"
#include "output_int.h"
#include "prom.h"
#include "util.h"

static const char *const stop_names[KT_STOP_N] = {
	[KT_STOP_NONE] = "none",
	[KT_STOP_SIGNAL] = "signal",
	[KT_STOP_COUNT] = "count",
	[KT_STOP_DURATION] = "duration",
	[KT_STOP_OUTPUT_CLOSED] = "output_closed",
	[KT_STOP_OUTPUT_ERROR] = "output_error",
	[KT_STOP_TARGET_EXITED] = "target_exited",
	[KT_STOP_COMPLETE] = "complete",
	[KT_STOP_ERROR] = "error",
};

const char *kt_stop_name(enum kt_stop s)
{
	return (unsigned)s < KT_STOP_N && stop_names[s] ? stop_names[s] : "unknown";
}

static cJSON *u64_json(uint64_t v)
{
	return kt_json_u64(v);
}

static void add_str(cJSON *o, const char *key, const char *s)
{
	char *c = kt_utf8_clean(s ? s : "", s ? strlen(s) : 0, NULL);

	cJSON_AddItemToObject(o, key, c ? kt_json_string(c) : cJSON_CreateNull());
	free(c);
}

static void add_time(cJSON *o, const char *key, uint64_t wall_ns)
{
	char t[48];

	kt_fmt_rfc3339(t, sizeof(t), wall_ns);
	cJSON_AddStringToObject(o, key, t);
}

void kt_out_meta(struct kt_out *out, const struct kt_meta_rec *m)
{
	cJSON *o, *a;

	if (!out->json)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "meta");
	cJSON_AddStringToObject(o, "version", m->version);
	cJSON_AddStringToObject(o, "subcommand", m->subcommand);
	a = cJSON_AddArrayToObject(o, "cmdline");
	for (int i = 0; i < m->argc; i++) {
		char *c = kt_utf8_clean(m->argv[i], strlen(m->argv[i]), NULL);

		cJSON_AddItemToArray(a, c ? kt_json_string(c) : cJSON_CreateNull());
		free(c);
	}
	add_str(o, "hostname", m->hostname);
	add_str(o, "kernel", m->kernel);
	add_time(o, "start_time", m->start_realtime_ns);
	{
		char ns[32];

		/* nanoseconds since 1970 exceed 2^53: always a string */
		snprintf(ns, sizeof(ns), "%" PRIu64, m->start_realtime_ns);
		cJSON_AddStringToObject(o, "start_time_ns", ns);
	}
	cJSON_AddItemToObject(o, "pid", u64_json((uint64_t)m->pid));
	if (m->interval_s)
		cJSON_AddItemToObject(o, "interval_s", u64_json(m->interval_s));
	if (m->count)
		cJSON_AddItemToObject(o, "count", u64_json(m->count));
	if (m->duration_s)
		cJSON_AddItemToObject(o, "duration_s", u64_json(m->duration_s));
	a = cJSON_AddArrayToObject(o, "attach");
	for (size_t i = 0; i < m->nattach; i++) {
		const struct kt_meta_attach *h = &m->attach[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "hook", h->hook);
		if (h->type) {
			cJSON_AddStringToObject(e, "type", h->type);
			cJSON_AddStringToObject(e, "target", h->target);
			if (h->program)
				cJSON_AddStringToObject(e, "program", h->program);
		} else {
			cJSON_AddNullToObject(e, "type");
			add_str(e, "note", h->note ? h->note : "unavailable");
		}
		cJSON_AddItemToArray(a, e);
	}
	for (size_t i = 0; i < m->nextra; i++)
		add_str(o, m->extra_keys[i], m->extra_vals[i]);
	kt_out_json_obj(out, o);
}

/* Running totals per kind of loss (what + reason), so every lost record carries one. */
static uint64_t lost_total(struct kt_out *out, const char *what, const char *reason, uint64_t n)
{
	size_t i;

	for (i = 0; i < out->nlost; i++)
		if (!strcmp(out->lost[i].what, what) && !strcmp(out->lost[i].reason, reason))
			break;
	if (i == out->nlost) {
		if (i == KT_OUT_LOST_KINDS)
			return n; /* more kinds than any command has: no running total */
		out->lost[i].what = what;
		out->lost[i].reason = reason;
		out->lost[i].total = 0;
		out->nlost++;
	}
	out->lost[i].total += n;
	return out->lost[i].total;
}

void kt_out_set_final(struct kt_out *out)
{
	out->final = true;
}

void kt_out_lost(struct kt_out *out, const struct kt_lost_rec *l)
{
	uint64_t total;
	cJSON *o, *a;

	/* a counter exists from the first report on, 0 included (alerts can watch it) */
	if (out->prom && kt_prom_lost(out->prom, l->what, l->reason, l->count) && !out->err)
		out->err = ENOMEM;
	if (!l->count && !l->always)
		return;
	total = lost_total(out, l->what, l->reason, l->count);
	/* stderr in both modes: standard output may be folded lines that must stay clean */
	if (l->count)
		kt_warn("%" PRIu64 " %s %s (%s; %" PRIu64 " in total): %s", l->count, l->what,
			l->verb ? l->verb : "lost", l->reason, total, l->fix);
	if (!out->json)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "lost");
	add_time(o, "time", kt_now_real());
	cJSON_AddStringToObject(o, "what", l->what);
	cJSON_AddItemToObject(o, "count", u64_json(l->count));
	cJSON_AddItemToObject(o, "total", u64_json(total));
	cJSON_AddStringToObject(o, "reason", l->reason);
	cJSON_AddStringToObject(o, "fix", l->fix);
	if (l->per_cpu) {
		a = cJSON_AddArrayToObject(o, "per_cpu");
		for (size_t i = 0; i < l->ncpu; i++)
			cJSON_AddItemToArray(a, u64_json(l->per_cpu[i]));
	} else {
		cJSON_AddNullToObject(o, "per_cpu");
	}
	cJSON_AddBoolToObject(o, "final", out->final);
	kt_out_json_obj(out, o);
}

void kt_out_summary(struct kt_out *out, const struct kt_summary_rec *s)
{
	cJSON *o;
	char d[32];

	if (s->has_ustacks && !out->json && s->ustacks_total)
		kt_err("user stacks: %" PRIu64 " of %" PRIu64 " (%.1f%%) reach a known root "
			"(_start, __libc_start_main, clone, start_thread)",
			s->ustacks_rooted, s->ustacks_total,
			100.0 * (double)s->ustacks_rooted / (double)s->ustacks_total);
	if (!out->json) {
		/* a note for the person at the terminal, not data */
		if (s->stream && s->counted_what)
			kt_err("counted %" PRIu64 " %s in the kernel; %" PRIu64 " not counted",
			       s->counted, s->counted_what, s->lost);
		else if (s->stream && s->has_events)
			kt_err("%" PRIu64 " events reported, %" PRIu64 " lost", s->events, s->lost);
		else if (s->stream && s->lost)
			kt_err("%" PRIu64 " events lost", s->lost);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "summary");
	add_time(o, "end_time", kt_now_real());
	snprintf(d, sizeof(d), "%" PRIu64 ".%03" PRIu64, s->duration_ms / 1000, s->duration_ms % 1000);
	cJSON_AddItemToObject(o, "duration_s", cJSON_CreateRaw(d));
	cJSON_AddStringToObject(o, "stopped_by", kt_stop_name(s->stopped_by));
	cJSON_AddItemToObject(o, "intervals", u64_json(s->intervals));
	if (s->stream) {
		if (s->has_events)
			cJSON_AddItemToObject(o, "events", u64_json(s->events));
		cJSON_AddItemToObject(o, "lost", u64_json(s->lost));
	}
	if (s->has_stacks)
		cJSON_AddItemToObject(o, "lost_stacks", u64_json(s->lost_stacks));
	if (s->has_ustacks) {
		cJSON *u = cJSON_AddObjectToObject(o, "user_stacks");
		char share[32];

		cJSON_AddItemToObject(u, "total", u64_json(s->ustacks_total));
		cJSON_AddItemToObject(u, "rooted", u64_json(s->ustacks_rooted));
		snprintf(share, sizeof(share), "%.4f",
			 s->ustacks_total ? (double)s->ustacks_rooted / (double)s->ustacks_total : 0.0);
		cJSON_AddItemToObject(u, "rooted_share", cJSON_CreateRaw(share));
	}
	cJSON_AddItemToObject(o, "skipped_runs", u64_json(s->skipped_runs));
	kt_out_json_obj(out, o);
}
