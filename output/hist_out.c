// SPDX-License-Identifier: GPL-2.0
/*
 * Histograms: BCC's familiar `usecs : count distribution` layout with a bar
 * and estimated percentiles under it in text; a "hist" record with inclusive
 * bucket bounds, the total and the percentiles in JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "hist.h"
#include "output.h"
#include "output_int.h"
#include "prom.h"

#define BAR_WIDTH 40

static int digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* v >= 0 rounded down to a multiple of 1/scale (no libm: the unit tests link without it). */
static double down(double v, double scale)
{
	return v < 0 ? v : (double)(uint64_t)(v * scale) / scale;
}

static void text_keys(FILE *f, const struct kt_kv *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%s = ", i ? ", " : "", keys[i].key);
		if (keys[i].str) {
			fputc('\'', f);
			kt_esc_text(f, keys[i].str, strlen(keys[i].str));
			fputc('\'', f);
		} else {
			fprintf(f, "%" PRId64, keys[i].num);
		}
	}
	if (n)
		fputc('\n', f);
}

static void text_hist(struct kt_out *out, const char *unit, const struct kt_hist *h)
{
	FILE *f = out->f;
	size_t used = kt_hist_used(h), first = 0;
	uint64_t peak = 0, total = kt_hist_total(h);
	int w;

	if (!used) {
		fprintf(f, "(no %s recorded)\n", unit);
		return;
	}
	/* log2 starts at 0 like BCC; linear starts at its first used bucket */
	if (h->kind == KT_HIST_LINEAR)
		while (first < used && !h->slots[first])
			first++;
	for (size_t i = first; i < used; i++)
		if (h->slots[i] > peak)
			peak = h->slots[i];
	w = digits(kt_hist_slot_max(h, used - 1));
	if (w < 5)
		w = 5;
	{
		/* the unit sits over the lower bounds, BCC style */
		int left = w + 4, range = 2 * w + 8, ul = (int)strlen(unit);

		fprintf(f, "%*s%*s : count    distribution\n", left, unit,
			range - (ul > left ? ul : left), "");
	}
	for (size_t i = first; i < used; i++) {
		int stars = peak ? (int)(h->slots[i] * BAR_WIDTH / peak) : 0;

		fprintf(f, "%*" PRIu64 " -> %-*" PRIu64 " : %-8" PRIu64 " |%-*.*s|\n", w + 4,
			kt_hist_slot_min(h, i), w, kt_hist_slot_max(h, i), h->slots[i], BAR_WIDTH,
			stars, "****************************************");
	}
	/* whole units, rounded down: a value of the bucket the estimate lies in */
	fprintf(f, "count %" PRIu64 ", p50 ~ %.0f, p90 ~ %.0f, p99 ~ %.0f %s (estimated from buckets)\n",
		total, down(kt_hist_percentile(h, 50), 1), down(kt_hist_percentile(h, 90), 1),
		down(kt_hist_percentile(h, 99), 1), unit);
}

static cJSON *pct(const struct kt_hist *h, double p)
{
	double v = kt_hist_percentile(h, p);
	char b[32];

	if (v < 0)
		return cJSON_CreateNull();
	/* one decimal, rounded down: 1.96 in bucket [1, 1] must not print as 2.0 */
	snprintf(b, sizeof(b), "%.1f", down(v, 10));
	return cJSON_CreateRaw(b);
}

void kt_out_hist(struct kt_out *out, const char *unit, const struct kt_kv *keys, size_t nkeys,
		 const struct kt_hist *h, uint64_t start_ns, uint64_t end_ns)
{
	cJSON *o, *k, *b;
	char t[48];
	size_t used;

	if (out->prom && kt_prom_hist(out->prom, unit, keys, nkeys, h) && !out->err)
		out->err = ENOMEM;
	if (!out->json) {
		if (out->err)
			return;
		text_keys(out->f, keys, nkeys);
		text_hist(out, unit, h);
		fputc('\n', out->f);
		kt_out_check(out);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "hist");
	cJSON_AddStringToObject(o, "unit", unit);
	cJSON_AddStringToObject(o, "scale", h->kind == KT_HIST_LOG2 ? "log2" : "linear");
	k = cJSON_AddObjectToObject(o, "key");
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].str) {
			cJSON_AddItemToObject(k, keys[i].key,
					      kt_json_bytes(keys[i].str, strlen(keys[i].str), NULL));
		} else {
			cJSON_AddItemToObject(k, keys[i].key, kt_json_i64(keys[i].num));
		}
	}
	b = cJSON_AddArrayToObject(o, "buckets");
	used = kt_hist_used(h);
	for (size_t i = 0; i < used; i++) {
		cJSON *e;

		if (h->kind == KT_HIST_LINEAR && !h->slots[i])
			continue;
		e = cJSON_CreateObject();
		cJSON_AddItemToObject(e, "min", kt_json_u64(kt_hist_slot_min(h, i)));
		cJSON_AddItemToObject(e, "max", kt_json_u64(kt_hist_slot_max(h, i)));
		cJSON_AddItemToObject(e, "count", kt_json_u64(h->slots[i]));
		cJSON_AddItemToArray(b, e);
	}
	cJSON_AddItemToObject(o, "count", kt_json_u64(kt_hist_total(h)));
	cJSON_AddItemToObject(o, "p50", pct(h, 50));
	cJSON_AddItemToObject(o, "p90", pct(h, 90));
	cJSON_AddItemToObject(o, "p99", pct(h, 99));
	if (start_ns) {
		kt_fmt_rfc3339(t, sizeof(t), kt_out_wall_ns(out, start_ns));
		cJSON_AddStringToObject(o, "interval_start", t);
	}
	if (end_ns) {
		kt_fmt_rfc3339(t, sizeof(t), kt_out_wall_ns(out, end_ns));
		cJSON_AddStringToObject(o, "interval_end", t);
	}
	kt_out_json_obj(out, o);
}
