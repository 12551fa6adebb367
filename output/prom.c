// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition: cumulative state per series across intervals,
 * rendered whole each time (see prom.h for names, units and bounds).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "output.h"
#include "prom.h"

enum mtype { M_HIST, M_COUNTER };

struct series {
	uint64_t hash;
	char *labels;	 /* rendered: k="v",k2="v2" (may be empty) */
	uint64_t *slots; /* histograms: nslots cumulative counts */
	double sum;	 /* histograms: estimated, in base units */
	double value;	 /* counters */
};

struct metric {
	char name[256];
	char help[320];
	enum mtype type;
	/* histograms: the first interval's layout, and how to reach base units */
	enum kt_hist_kind kind;
	uint64_t lmin, step;
	size_t nslots;
	double mul, div;
	struct series *s;
	size_t n, cap;
	uint64_t folded;
};

struct kt_prom {
	char cmd[64];
	const char *what;
	size_t max_series;
	struct metric m[KT_PROM_MAX_METRICS];
	size_t nm;
};

struct kt_prom *kt_prom_new(const char *cmd, const char *what, size_t max_series)
{
	struct kt_prom *p = calloc(1, sizeof(*p));
	size_t i;

	if (!p)
		return NULL;
	/* a metric name holds [a-zA-Z0-9_:] only */
	for (i = 0; cmd[i] && i + 1 < sizeof(p->cmd); i++) {
		char c = cmd[i];

		p->cmd[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
				    ? c
				    : '_';
	}
	p->what = what;
	p->max_series = max_series < 2 ? 2 : max_series;
	return p;
}

void kt_prom_free(struct kt_prom *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nm; i++) {
		for (size_t j = 0; j < p->m[i].n; j++) {
			free(p->m[i].s[j].labels);
			free(p->m[i].s[j].slots);
		}
		free(p->m[i].s);
	}
	free(p);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* A label name: [a-zA-Z_][a-zA-Z0-9_]*, never "le" nor starting with "__" (reserved). */
static void label_name(char *b, size_t sz, const char *key)
{
	size_t o = 0;

	if (!strcmp(key, "le") || !strncmp(key, "__", 2) || (*key >= '0' && *key <= '9') || !*key)
		o = (size_t)snprintf(b, sz, "key_");
	for (; *key && o + 1 < sz; key++) {
		char c = *key;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_';

		b[o++] = ok ? c : '_';
	}
	b[o] = 0;
}

/*
 * A label value: valid UTF-8 (cut at KT_PROM_MAX_LABEL bytes), \\ \" and \n
 * escaped as the format says. The format has no escape for other control
 * characters, which a `curl` of the metrics would send to a terminal: they
 * become the text \xHH (written \\xHH), C1 controls (U+0080..U+009F) too.
 */
static void label_value(FILE *f, const char *v)
{
	size_t len = strnlen(v, KT_PROM_MAX_LABEL);
	char *c = kt_utf8_clean(v, len, NULL);

	for (const unsigned char *s = (const unsigned char *)(c ? c : ""); *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\\\x%02x", *s);
		else if (*s == 0xc2 && s[1] >= 0x80 && s[1] < 0xa0)
			fprintf(f, "\\\\x%02x", *++s);
		else
			fputc(*s, f);
	}
	free(c);
}

/* k="v",... for keys; "other" for every value when other. NULL on ENOMEM. */
static char *render_labels(const struct kt_kv *keys, size_t n, bool other)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char name[80], prev[80];

		label_name(name, sizeof(name) - 8, keys[i].key);
		/* two keys that read the same once sanitized ("a-b", "a_b"): a label name is unique */
		for (size_t j = 0; j < i; j++) {
			label_name(prev, sizeof(prev) - 8, keys[j].key);
			if (!strcmp(prev, name)) {
				snprintf(name + strlen(name), 8, "_%u", (unsigned)(i % 100));
				break;
			}
		}
		if (i)
			fputc(',', f);
		fputs(name, f);
		fputs("=\"", f);
		if (other)
			fputs("other", f);
		else if (keys[i].str)
			label_value(f, keys[i].str);
		else
			fprintf(f, "%" PRId64, keys[i].num);
		fputc('"', f);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static struct metric *metric_get(struct kt_prom *p, const char *name, enum mtype type)
{
	struct metric *m;

	for (size_t i = 0; i < p->nm; i++)
		if (!strcmp(p->m[i].name, name) && p->m[i].type == type)
			return &p->m[i];
	if (p->nm == KT_PROM_MAX_METRICS)
		return NULL;
	m = &p->m[p->nm++];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->type = type;
	return m;
}

static struct series *series_find(struct metric *m, const char *labels, uint64_t hash)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->s[i].hash == hash && !strcmp(m->s[i].labels, labels))
			return &m->s[i];
	return NULL;
}

/*
 * The series of keys in m, created if new; past the cap, the "other"
 * series (the fold counted). NULL on ENOMEM.
 */
static struct series *series_get(struct kt_prom *p, struct metric *m, const struct kt_kv *keys,
				 size_t n)
{
	char *labels = render_labels(keys, n, false);
	uint64_t hash;
	struct series *s;

	if (!labels)
		return NULL;
	hash = fnv1a(labels);
	s = series_find(m, labels, hash);
	if (s) {
		free(labels);
		return s;
	}
	if (m->n + 1 >= p->max_series) {
		/* the last slot is the other series */
		free(labels);
		m->folded++;
		labels = render_labels(keys, n, true);
		if (!labels)
			return NULL;
		hash = fnv1a(labels);
		s = series_find(m, labels, hash);
		if (s) {
			free(labels);
			return s;
		}
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		struct series *ns = realloc(m->s, cap * sizeof(*ns));

		if (!ns) {
			free(labels);
			return NULL;
		}
		m->s = ns;
		m->cap = cap;
	}
	s = &m->s[m->n];
	memset(s, 0, sizeof(*s));
	if (m->type == M_HIST) {
		s->slots = calloc(m->nslots, sizeof(*s->slots));
		if (!s->slots) {
			free(labels);
			return NULL;
		}
	}
	s->labels = labels;
	s->hash = hash;
	m->n++;
	return s;
}

/* Base unit and the factors to reach it: value * mul / div. */
static const char *base_unit(const char *unit, double *mul, double *div)
{
	static const struct {
		const char *unit, *base;
		double mul, div;
	} units[] = {
		{ "nsecs", "seconds", 1, 1e9 }, { "usecs", "seconds", 1, 1e6 },
		{ "msecs", "seconds", 1, 1e3 }, { "secs", "seconds", 1, 1 },
		{ "seconds", "seconds", 1, 1 }, { "bytes", "bytes", 1, 1 },
		{ "kbytes", "bytes", 1024, 1 },
	};

	*mul = *div = 1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(unit, units[i].unit)) {
			*mul = units[i].mul;
			*div = units[i].div;
			return units[i].base;
		}
	}
	return NULL; /* a unit of its own (e.g. a function argument): kept as it is */
}

static void name_part(char *b, size_t sz, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < sz; i++) {
		char c = s[i];

		b[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c
												   : '_';
	}
	b[i] = 0;
}

int kt_prom_hist(struct kt_prom *p, const char *unit, const struct kt_kv *keys, size_t nkeys,
		 const struct kt_hist *h)
{
	char name[256], u[48];
	double mul, div;
	const char *base = base_unit(unit, &mul, &div);
	const char *what = p->what ? p->what : base && !strcmp(base, "seconds") ? "duration" : "value";
	struct metric *m;
	struct series *s;
	size_t used = kt_hist_used(h);

	name_part(u, sizeof(u), base ? base : unit);
	snprintf(name, sizeof(name), "ktrace_%s_%s_%s", p->cmd, what, u);
	m = metric_get(p, name, M_HIST);
	if (m && m->nslots && (m->mul != mul || m->div != div || m->kind != h->kind)) {
		/* the same base unit from another unit (usecs, then msecs): another metric */
		char o[48];

		name_part(o, sizeof(o), unit);
		snprintf(name, sizeof(name), "ktrace_%s_%s_%s_%s", p->cmd, what, o, u);
		m = metric_get(p, name, M_HIST);
	}
	if (!m)
		return 0; /* more metrics than any command has: left out */
	if (!m->nslots) {
		m->kind = h->kind;
		m->lmin = h->min;
		m->step = h->step;
		m->nslots = h->n ? h->n : 1;
		m->mul = mul;
		m->div = div;
		snprintf(m->help, sizeof(m->help),
			 "ktrace %s: %s in %s, %s buckets (le: each bucket's upper bound); _sum is "
			 "estimated from the buckets (midpoints), not measured",
			 p->cmd, what, u, h->kind == KT_HIST_LOG2 ? "log2" : "linear");
	}
	s = series_get(p, m, keys, nkeys);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < used; i++) {
		size_t k = i < m->nslots ? i : m->nslots - 1;
		double lo = (double)kt_hist_slot_min(h, i), hi = (double)kt_hist_slot_max(h, i) + 1;

		if (!h->slots[i])
			continue;
		s->slots[k] += h->slots[i];
		s->sum += (double)h->slots[i] * (lo + hi) / 2 * m->mul / m->div;
	}
	return 0;
}

int kt_prom_lost(struct kt_prom *p, const char *what, const char *reason, uint64_t n)
{
	char name[256];
	struct kt_kv keys[2] = { { "what", what, 0 }, { "reason", reason, 0 } };
	struct metric *m;
	struct series *s;

	snprintf(name, sizeof(name), "ktrace_%s_lost_total", p->cmd);
	m = metric_get(p, name, M_COUNTER);
	if (!m)
		return 0;
	if (!m->help[0])
		snprintf(m->help, sizeof(m->help),
			 "ktrace %s: what the kernel side could not deliver, by what and why", p->cmd);
	s = series_get(p, m, keys, 2);
	if (!s)
		return -ENOMEM;
	s->value += (double)n;
	return 0;
}

int kt_prom_count(struct kt_prom *p, const char *table, const char *key, const struct kt_kv *labels,
		  size_t nlabels, double v)
{
	char name[256], t[64], k[64];
	size_t kl = strlen(key);
	double scale = 1;
	bool secs = false;
	struct metric *m;
	struct series *s;

	name_part(t, sizeof(t), table && strcmp(table, p->cmd) ? table : "");
	name_part(k, sizeof(k), strcmp(key, "count") ? key : "");
	if (kl > 3 && kl - 3 < sizeof(k) && key[kl - 3] == '_' && key[kl - 1] == 's' &&
	    strchr("num", key[kl - 2])) {
		/* total_ns, total_us, total_ms: time, in seconds */
		scale = key[kl - 2] == 'n' ? 1e9 : key[kl - 2] == 'u' ? 1e6 : 1e3;
		k[kl - 3] = 0;
		secs = true;
		/* total_ns: ..._seconds_total, run_total_ns: ..._run_seconds_total */
		if (!strcmp(k, "total"))
			k[0] = 0;
		else if (strlen(k) > 6 && !strcmp(k + strlen(k) - 6, "_total"))
			k[strlen(k) - 6] = 0;
	}
	snprintf(name, sizeof(name), "ktrace_%s%s%s%s%s%s_total", p->cmd, *t ? "_" : "", t,
		 *k ? "_" : "", k, secs ? "_seconds" : "");
	m = metric_get(p, name, M_COUNTER);
	if (!m)
		return 0;
	if (!m->help[0])
		snprintf(m->help, sizeof(m->help), "ktrace %s: %s%s per row of %s%s, summed over intervals",
			 p->cmd, k[0] ? k : secs ? "time" : "count", secs ? " in seconds" : "",
			 t[0] ? "table " : "its table", t);
	s = series_get(p, m, labels, nlabels);
	if (!s)
		return -ENOMEM;
	s->value += v / scale;
	return 0;
}

/* The shortest decimal that reads back as v (Go's and Prometheus's own habit). */
static void fmt_float(char *b, size_t sz, double v)
{
	/* counts: integers as integers (%g would write 1970 as 1.97e+03) */
	if (v == (double)(int64_t)v && v < 9007199254740992.0 && v > -9007199254740992.0) {
		snprintf(b, sz, "%" PRId64, (int64_t)v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(b, sz, "%.*g", prec, v);
		if (strtod(b, NULL) == v)
			return;
	}
}

/*
 * An "le" value. OpenMetrics wants one text per number in le (its
 * "canonical numbers"): a float always shows it is one, 1 is "1.0".
 */
static void fmt_le(char *b, size_t sz, double v, bool om)
{
	fmt_float(b, sz, v);
	if (om && !strpbrk(b, ".eEnN"))
		snprintf(b + strlen(b), sz - strlen(b), ".0");
}

/*
 * HELP text: \\ and \n escaped in both formats, \" too in OpenMetrics (its
 * HELP is an escaped string like a label value).
 */
static void help_text(FILE *f, const char *s, bool om)
{
	for (; *s; s++) {
		if (*s == '\\' || (om && *s == '"'))
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* name{labels[,extra]} or name{extra} or name */
static void sample(FILE *f, const char *name, const char *suffix, const char *labels,
		   const char *extra)
{
	bool l = labels && *labels, e = extra && *extra;

	fprintf(f, "%s%s", name, suffix);
	if (l || e)
		fprintf(f, "{%s%s%s}", l ? labels : "", l && e ? "," : "", e ? extra : "");
	fputc(' ', f);
}

static void render_hist(const struct metric *m, FILE *f, bool om)
{
	size_t top = 0;
	char v[64], le[80];

	/* every series gets the same buckets: up to the highest any of them used */
	for (size_t j = 0; j < m->n; j++) {
		struct kt_hist h = { m->kind, m->lmin, m->step, m->nslots, m->s[j].slots };
		size_t u = kt_hist_used(&h);

		if (u > top)
			top = u;
	}
	for (size_t j = 0; j < m->n; j++) {
		const struct series *s = &m->s[j];
		struct kt_hist h = { m->kind, m->lmin, m->step, m->nslots, s->slots };
		uint64_t cum = 0;

		for (size_t i = 0; i < top; i++) {
			cum += s->slots[i];
			fmt_le(v, sizeof(v), ((double)kt_hist_slot_max(&h, i) + 1) * m->mul / m->div,
			       om);
			snprintf(le, sizeof(le), "le=\"%s\"", v);
			sample(f, m->name, "_bucket", s->labels, le);
			fprintf(f, "%" PRIu64 "\n", cum);
		}
		sample(f, m->name, "_bucket", s->labels, "le=\"+Inf\"");
		fprintf(f, "%" PRIu64 "\n", cum);
		fmt_float(v, sizeof(v), s->sum);
		sample(f, m->name, "_sum", s->labels, NULL);
		fprintf(f, "%s\n", v);
		sample(f, m->name, "_count", s->labels, NULL);
		fprintf(f, "%" PRIu64 "\n", cum);
	}
}

int kt_prom_render_fmt(const struct kt_prom *p, FILE *f, bool om)
{
	bool folds = false;

	for (size_t i = 0; i < p->nm; i++) {
		const struct metric *m = &p->m[i];
		/* OpenMetrics names a counter's family without the _total of its sample */
		int fam = (int)strlen(m->name) - (om && m->type == M_COUNTER ? 6 : 0);

		fprintf(f, "# HELP %.*s ", fam, m->name);
		help_text(f, m->help, om);
		fprintf(f, "\n# TYPE %.*s %s\n", fam, m->name,
			m->type == M_HIST ? "histogram" : "counter");
		if (m->type == M_HIST) {
			render_hist(m, f, om);
		} else {
			for (size_t j = 0; j < m->n; j++) {
				char v[64];

				fmt_float(v, sizeof(v), m->s[j].value);
				sample(f, m->name, "", m->s[j].labels, NULL);
				fprintf(f, "%s\n", v);
			}
		}
		folds |= m->folded > 0;
	}
	if (folds) {
		fprintf(f,
			"# HELP ktrace_%s_prom_folded%s ktrace %s: series updates folded into "
			"the other series because the metric had %zu series\n"
			"# TYPE ktrace_%s_prom_folded%s counter\n",
			p->cmd, om ? "" : "_total", p->cmd, p->max_series, p->cmd, om ? "" : "_total");
		for (size_t i = 0; i < p->nm; i++)
			if (p->m[i].folded)
				fprintf(f, "ktrace_%s_prom_folded_total{metric=\"%s\"} %" PRIu64 "\n",
					p->cmd, p->m[i].name, p->m[i].folded);
	}
	return ferror(f) ? -EIO : 0;
}

int kt_prom_render(const struct kt_prom *p, FILE *f)
{
	return kt_prom_render_fmt(p, f, false);
}
