// SPDX-License-Identifier: GPL-2.0
/*
 * SVG flame graph writer (see flamegraph.h for what it shows).
 *
 * Model: a frame-path set. Each distinct (kind, name) pair is interned once
 * and gets an id; a path is a run of ids, root first, with a value per side.
 * Memory is bounded by the frame count and the name bytes that the caller
 * allows (input from files is hostile).
 *
 * Method: the paths are sorted (by the ranks of their names, so siblings
 * come out in alphabetical order), then swept once. Two neighbouring paths
 * share a prefix: frames past the shared prefix are closed (written out,
 * their width being the values accumulated since they opened) and the new
 * path's remaining frames opened. That merges equal frames, and equal paths
 * from the two sides of a diff, without building a tree and without
 * recursion.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flamegraph.h"
#include "output_int.h"

#define FRAME_H	  16
#define FONT_W	  7.0 /* average glyph width of the 12px font */
#define XPAD	  10
#define LINE_H	  17  /* title area: one more line per subtitle or note */
#define BOTTOM	  30  /* status line */
#define MIN_WIDTH 0.1 /* narrower frames are left out */
#define ROOT_ID	  UINT32_MAX

struct fg_path {
	uint64_t v[2];
	uint32_t off; /* into ids */
	uint32_t n;
};

/* What a distinct name costs besides its bytes: its record, hash slots, malloc's header. */
#define NAME_OVERHEAD (sizeof(struct fg_name) + 2 * sizeof(uint32_t) + 16)

struct fg_name {
	char *s;
	uint32_t len;
	uint32_t rank; /* position in (kind, name) order */
	enum kt_fg_kind kind;
};

struct kt_fg {
	size_t max_frames; /* 0: no bound */
	struct fg_name *nm; /* interned (kind, name) pairs, by id */
	size_t nnames, cap_names, name_bytes;
	uint32_t *htab; /* id + 1, 0: empty */
	size_t hcap;
	/* paths */
	uint32_t *ids;
	size_t nids, cap_ids;
	struct fg_path *paths;
	size_t npaths, cap_paths;
	uint64_t total[2];
	size_t depth;
	bool sorted;
};

/* Decode one character; invalid or XML-forbidden input yields U+FFFD over one byte. */
static size_t next_char(const unsigned char *p, uint32_t *cp)
{
	uint32_t c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	*cp = 0xfffd;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		if (c == 0xed)
			hi = 0x9f; /* no UTF-16 surrogates */
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;
		c &= 0x07;
	} else {
		return 1;
	}
	for (i = 1; i < n; i++) {
		if (p[i] < lo || p[i] > hi)
			return 1;
		c = (c << 6) | (p[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	if (c == 0xfffe || c == 0xffff)
		return n == 3 ? 3 : 1;
	*cp = c;
	return n;
}

static size_t count_chars(const char *s, size_t limit)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	uint32_t cp;

	while (*p && n <= limit) {
		p += next_char(p, &cp);
		n++;
	}
	return n;
}

void kt_flamegraph_put_xml(FILE *f, const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, len;
	int cut = 0;
	uint32_t cp;

	if (max_chars != SIZE_MAX && count_chars(s, max_chars) > max_chars) {
		cut = 1;
		max_chars = max_chars >= 2 ? max_chars - 2 : 0;
	}
	for (; *p && n < max_chars; p += len, n++) {
		len = next_char(p, &cp);
		switch (cp) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case 0xfffd:
			fputs("\xef\xbf\xbd", f);
			break;
		default:
			if (cp < 0x20 || cp == 0x7f)
				fputc('?', f);
			else
				fwrite(p, 1, len, f);
		}
	}
	if (cut)
		fputs("..", f);
}


/* ---- the frame-path set ---- */

int kt_fg_new(struct kt_fg **out, size_t max_frames)
{
	struct kt_fg *fg = calloc(1, sizeof(*fg));

	if (!fg)
		return -ENOMEM;
	fg->max_frames = max_frames;
	*out = fg;
	return 0;
}

void kt_fg_free(struct kt_fg *fg)
{
	size_t i;

	if (!fg)
		return;
	for (i = 0; i < fg->nnames; i++)
		free(fg->nm[i].s);
	free(fg->nm);
	free(fg->htab);
	free(fg->ids);
	free(fg->paths);
	free(fg);
}

uint64_t kt_fg_total(const struct kt_fg *fg, unsigned int side)
{
	return side < 2 ? fg->total[side] : 0;
}

/* Grows *@p (of @size-byte items, @cap of them) to hold @need. */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / size)
			return -ENOMEM;
		n *= 2;
	}
	np = realloc(*p, n * size);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = n;
	return 0;
}

static uint32_t hash_name(const char *s, size_t len, enum kt_fg_kind kind)
{
	uint32_t h = 2166136261U ^ (uint32_t)kind;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619U;
	return h;
}

static int rehash(struct kt_fg *fg, size_t cap)
{
	uint32_t *t = calloc(cap, sizeof(*t));
	size_t i, j;

	if (!t)
		return -ENOMEM;
	for (i = 0; i < fg->nnames; i++) {
		j = hash_name(fg->nm[i].s, fg->nm[i].len, fg->nm[i].kind) & (cap - 1);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = (uint32_t)i + 1;
	}
	free(fg->htab);
	fg->htab = t;
	fg->hcap = cap;
	return 0;
}

/* The id of (kind, name), interned on first sight; -errno. */
static int64_t intern(struct kt_fg *fg, const struct kt_fg_frame *fr)
{
	size_t j, len = fr->len;
	uint32_t id;
	char *s;
	int err;

	if (fg->hcap) {
		for (j = hash_name(fr->name, len, fr->kind) & (fg->hcap - 1); (id = fg->htab[j]);
		     j = (j + 1) & (fg->hcap - 1)) {
			id--;
			if (fg->nm[id].kind == fr->kind && fg->nm[id].len == len &&
			    !memcmp(fg->nm[id].s, fr->name, len))
				return id;
		}
	}
	if (len >= UINT32_MAX || fg->nnames >= UINT32_MAX - 1 ||
	    (fg->max_frames && fg->name_bytes + len + 1 + NAME_OVERHEAD > KT_FG_MAX_NAME_BYTES))
		return -E2BIG;
	if ((fg->nnames + 1) * 2 > fg->hcap) {
		err = rehash(fg, fg->hcap ? fg->hcap * 2 : 1024);
		if (err)
			return err;
	}
	if (grow((void **)&fg->nm, &fg->cap_names, fg->nnames + 1, sizeof(*fg->nm)))
		return -ENOMEM;
	s = malloc(len + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, fr->name, len);
	s[len] = 0;
	id = (uint32_t)fg->nnames++;
	fg->nm[id] = (struct fg_name){.s = s, .len = (uint32_t)len, .kind = fr->kind};
	fg->name_bytes += len + 1 + NAME_OVERHEAD;
	for (j = hash_name(s, len, fr->kind) & (fg->hcap - 1); fg->htab[j]; j = (j + 1) & (fg->hcap - 1))
		;
	fg->htab[j] = id + 1;
	return id;
}

int kt_fg_add(struct kt_fg *fg, unsigned int side, const struct kt_fg_frame *frames, size_t n,
	      uint64_t value)
{
	struct fg_path *p;
	uint64_t total;
	size_t i;
	int64_t id;

	if (side > 1 || !n)
		return -EINVAL;
	if (__builtin_add_overflow(fg->total[side], value, &total))
		return -EOVERFLOW;
	/* offsets and counts are 32 bits: a bound even when the caller sets none */
	if (n > UINT32_MAX - fg->nids ||
	    (fg->max_frames && (n > fg->max_frames || fg->nids > fg->max_frames - n)))
		return -E2BIG;
	if (grow((void **)&fg->ids, &fg->cap_ids, fg->nids + n, sizeof(*fg->ids)) ||
	    grow((void **)&fg->paths, &fg->cap_paths, fg->npaths + 1, sizeof(*fg->paths)))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		id = intern(fg, &frames[i]);
		if (id < 0)
			return (int)id; /* names interned so far stay: they are bounded too */
		fg->ids[fg->nids + i] = (uint32_t)id;
	}
	p = &fg->paths[fg->npaths++];
	p->off = (uint32_t)fg->nids;
	p->n = (uint32_t)n;
	p->v[side] = value;
	p->v[!side] = 0;
	fg->nids += n;
	fg->total[side] = total;
	if (n > fg->depth)
		fg->depth = n;
	fg->sorted = false;
	return 0;
}

int kt_fg_add_stacks(struct kt_fg *fg, unsigned int side, const struct kt_stacks *st)
{
	enum { NAME_LEN = 256 };
	size_t i, j, k, n = kt_stacks_count(st);
	struct kt_fg_frame fr[1 + 2 * KT_STACK_MAX_DEPTH];
	char *buf = malloc((size_t)NAME_LEN * (1 + 2 * KT_STACK_MAX_DEPTH));
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++) {
		const struct kt_stack *s = kt_stacks_get(st, i);
		const struct kt_frame *frames;
		const uint64_t *ips;
		size_t nf;

		k = 0;
		fr[k].name = s->comm[0] ? s->comm : "[unknown]";
		fr[k++].kind = KT_FG_COMM;
		for (int part = 0; part < 2; part++) {
			/* user frames, then kernel frames; the arrays are leaf first */
			frames = part ? s->kframes : s->uframes;
			ips = part ? s->kips : s->uips;
			nf = part ? s->nkern : s->nuser;
			for (j = nf; j-- > 0; k++) {
				char *b = buf + k * NAME_LEN;

				fr[k].kind = part ? KT_FG_KERNEL : KT_FG_USER;
				if (frames && frames[j].sym) {
					fr[k].name = frames[j].sym;
					continue;
				}
				if (frames)
					kt_stacks_frame_name(&frames[j], 0, b, NAME_LEN);
				else
					snprintf(b, NAME_LEN, "0x%" PRIx64, ips[j]);
				fr[k].name = b;
			}
		}
		for (j = 0; j < k; j++)
			fr[j].len = strlen(fr[j].name);
		err = kt_fg_add(fg, side, fr, k, s->value);
	}
	free(buf);
	return err;
}

static int cmp_rank(const void *a, const void *b, void *arg)
{
	const struct kt_fg *fg = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c;

	if (fg->nm[x].kind != fg->nm[y].kind)
		return fg->nm[x].kind < fg->nm[y].kind ? -1 : 1;
	c = strcmp(fg->nm[x].s, fg->nm[y].s);
	return c ? c : (x > y) - (x < y);
}

static int cmp_path(const void *a, const void *b, void *arg)
{
	const struct kt_fg *fg = arg;
	const struct fg_path *x = a, *y = b;
	const uint32_t *xi = fg->ids + x->off, *yi = fg->ids + y->off;
	size_t i, n = x->n < y->n ? x->n : y->n;

	for (i = 0; i < n; i++) {
		if (xi[i] != yi[i])
			return fg->nm[xi[i]].rank < fg->nm[yi[i]].rank ? -1 : 1;
	}
	return x->n < y->n ? -1 : x->n > y->n;
}

/* Paths in name order, so that equal frames of neighbours merge. */
static int sort_paths(struct kt_fg *fg)
{
	uint32_t *order;
	size_t i;

	if (fg->sorted)
		return 0;
	order = malloc((fg->nnames ? fg->nnames : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (i = 0; i < fg->nnames; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, fg->nnames, sizeof(*order), cmp_rank, fg);
	for (i = 0; i < fg->nnames; i++)
		fg->nm[order[i]].rank = (uint32_t)i;
	free(order);
	if (fg->npaths)
		qsort_r(fg->paths, fg->npaths, sizeof(*fg->paths), cmp_path, fg);
	fg->sorted = true;
	return 0;
}

/* ---- the sweep ---- */

struct open_frame {
	uint32_t id;
	uint64_t x, a, b; /* width units and both sides' values when it opened */
};

/* One merged frame: at @x (width units), @w wide; @v: its value on each side. */
typedef void (*visit_fn)(void *arg, size_t depth, uint32_t id, uint64_t x, uint64_t w,
			 const uint64_t v[2]);

static void close_frame(const struct open_frame *o, size_t depth, uint64_t x, const uint64_t c[2],
			visit_fn fn, void *arg)
{
	uint64_t v[2] = {c[0] - o->a, c[1] - o->b};

	fn(arg, depth, o->id, o->x, x - o->x, v);
}

/* Calls @fn for every merged frame, children before parents, "all" last. */
static void sweep(const struct kt_fg *fg, unsigned int wside, struct open_frame *open, visit_fn fn,
		  void *arg)
{
	uint64_t x = 0, c[2] = {0, 0};
	size_t i, d, prev_n = 0;

	for (i = 0; i < fg->npaths; i++) {
		const struct fg_path *p = &fg->paths[i];
		const uint32_t *ids = fg->ids + p->off;
		size_t common = 0;

		while (common < prev_n && common < p->n && open[common].id == ids[common])
			common++;
		for (d = prev_n; d-- > common;)
			close_frame(&open[d], d + 1, x, c, fn, arg);
		for (d = common; d < p->n; d++)
			open[d] = (struct open_frame){ids[d], x, c[0], c[1]};
		prev_n = p->n;
		x += p->v[wside];
		c[0] += p->v[0];
		c[1] += p->v[1];
	}
	for (d = prev_n; d-- > 0;)
		close_frame(&open[d], d + 1, x, c, fn, arg);
	fn(arg, 0, ROOT_ID, 0, x, c);
}

static void color(const char *name, enum kt_fg_kind kind, int cold, unsigned int rgb[3])
{
	uint32_t h = 2166136261U;
	double v1, v2;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619U;
	v1 = (h & 0xffff) / 65535.0;
	v2 = (h >> 16) / 65535.0;
	if (kind == KT_FG_ROOT || kind == KT_FG_COMM) {
		rgb[0] = rgb[1] = rgb[2] = 190 + (unsigned int)(30 * v1);
	} else if (kind == KT_FG_KERNEL && !cold) { /* teal */
		rgb[0] = 40 + (unsigned int)(60 * v1);
		rgb[1] = 170 + (unsigned int)(60 * v2);
		rgb[2] = 150 + (unsigned int)(60 * v1);
	} else if (kind == KT_FG_KERNEL) { /* purple */
		rgb[0] = 150 + (unsigned int)(60 * v1);
		rgb[1] = 90 + (unsigned int)(50 * v2);
		rgb[2] = 200 + (unsigned int)(55 * v1);
	} else if (!cold) { /* red, orange, yellow */
		rgb[0] = 205 + (unsigned int)(50 * v2);
		rgb[1] = (unsigned int)(230 * v1);
		rgb[2] = (unsigned int)(55 * v2);
	} else { /* blue */
		rgb[0] = 40 + (unsigned int)(80 * v1);
		rgb[1] = 90 + (unsigned int)(80 * v1);
		rgb[2] = 190 + (unsigned int)(65 * v2);
	}
}

/* ---- drawing ---- */

enum diff_class { D_SAME, D_GREW, D_SHRANK, D_APPEARED, D_VANISHED, D_N };
static const char *const diff_names[D_N] = {"same", "grew", "shrank", "appeared", "vanished"};

struct ctx {
	FILE *f;
	const struct kt_fg *fg;
	const struct kt_flamegraph_opts *o;
	double scale; /* pixels per width unit */
	unsigned int height, top;
	uint64_t wtotal; /* total of the side that gives the widths */
	const char *unit;
	int cold;
	/* diff: the largest change of share, and how many frames changed how */
	double max_delta;
	uint64_t classes[D_N];
};

/* The share of @v in its side's total. */
static double share(const struct ctx *c, const uint64_t v[2], unsigned int side)
{
	return c->fg->total[side] ? (double)v[side] / (double)c->fg->total[side] : 0;
}

/* How far the share moved, either way. */
static double change(const struct ctx *c, const uint64_t v[2])
{
	double d = share(c, v, 1) - share(c, v, 0);

	return d < 0 ? -d : d;
}

/*
 * How a frame's share changed from BEFORE to AFTER, decided exactly:
 * a/A < b/B is a*B < b*A, in 128 bits.
 */
static enum diff_class classify(const struct ctx *c, const uint64_t v[2])
{
	unsigned __int128 before = (unsigned __int128)v[0] * c->fg->total[1];
	unsigned __int128 after = (unsigned __int128)v[1] * c->fg->total[0];

	if (!v[0] && v[1])
		return D_APPEARED;
	if (v[0] && !v[1])
		return D_VANISHED;
	if (!c->fg->total[0] || !c->fg->total[1])
		return D_SAME;
	return after > before ? D_GREW : after < before ? D_SHRANK : D_SAME;
}

static void measure(void *arg, size_t depth, uint32_t id, uint64_t x, uint64_t w,
		    const uint64_t v[2])
{
	struct ctx *c = arg;
	double d = change(c, v);

	(void)id;
	(void)x;
	(void)w;
	if (!depth)
		return;
	c->classes[classify(c, v)]++;
	if (d > c->max_delta)
		c->max_delta = d;
}

/* Red for a share that grew, blue for one that shrank, the deeper the larger the change. */
static void diff_color(const struct ctx *c, const uint64_t v[2], enum diff_class k,
		       unsigned int rgb[3])
{
	double t = c->max_delta > 0 ? change(c, v) / c->max_delta : 0;
	unsigned int pale;

	/* "all" is not in the maximum: with an empty side its share moves by 100% */
	if (t > 1)
		t = 1;
	pale = (unsigned int)(225.5 - 185 * (0.15 + 0.85 * t));

	if (k == D_GREW || k == D_APPEARED) {
		rgb[0] = 255;
		rgb[1] = rgb[2] = pale;
	} else if (k == D_SHRANK || k == D_VANISHED) {
		rgb[0] = rgb[1] = pale;
		rgb[2] = 255;
	} else {
		rgb[0] = rgb[1] = rgb[2] = 225;
	}
}

static void put_title(const struct ctx *c, const char *name, const uint64_t v[2],
		      enum diff_class k)
{
	const struct kt_flamegraph_opts *o = c->o;
	FILE *f = c->f;

	/* "NAME (details)": the script takes the name before the last " (" */
	kt_flamegraph_put_xml(f, name, SIZE_MAX);
	if (!o->diff) {
		fprintf(f, " (%" PRIu64 " ", v[0]);
		kt_flamegraph_put_xml(f, c->unit, SIZE_MAX);
		fprintf(f, ", %.2f%%)", 100 * share(c, v, 0));
		return;
	}
	fprintf(f, " (before %" PRIu64 ", after %" PRIu64 " ", v[0], v[1]);
	kt_flamegraph_put_xml(f, c->unit, SIZE_MAX);
	fprintf(f, ", delta %c%" PRIu64 "; share %.2f%% to %.2f%%: %s)", v[1] >= v[0] ? '+' : '-',
		v[1] >= v[0] ? v[1] - v[0] : v[0] - v[1], 100 * share(c, v, 0),
		100 * share(c, v, 1), diff_names[k]);
}

static void emit(void *arg, size_t depth, uint32_t id, uint64_t start, uint64_t wv,
		 const uint64_t v[2])
{
	const struct ctx *c = arg;
	const char *name = id == ROOT_ID ? "all" : c->fg->nm[id].s;
	enum kt_fg_kind kind = id == ROOT_ID ? KT_FG_ROOT : c->fg->nm[id].kind;
	double x = XPAD + (double)start * c->scale, w = (double)wv * c->scale;
	double y = (double)c->height - BOTTOM - (double)(depth + 1) * FRAME_H;
	enum diff_class k = D_SAME;
	long fit = (long)((w - 6) / FONT_W);
	unsigned int rgb[3];

	if (w < MIN_WIDTH)
		return;
	if (c->o->diff) {
		k = classify(c, v);
		diff_color(c, v, k, rgb);
		fprintf(c->f, "<g class=\"f %s\" data-depth=\"%zu\"><title>", diff_names[k], depth);
	} else {
		color(name, kind, c->cold, rgb);
		fprintf(c->f, "<g class=\"f\" data-depth=\"%zu\"><title>", depth);
	}
	put_title(c, name, v, k);
	fprintf(c->f,
		"</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" "
		"fill=\"rgb(%u,%u,%u)\" rx=\"2\"/><text x=\"%.2f\" y=\"%.1f\">",
		x, y, w, FRAME_H - 1, rgb[0], rgb[1], rgb[2], x + 3, y + 11.5);
	if (fit >= 3)
		kt_flamegraph_put_xml(c->f, name, (size_t)fit);
	fputs("</text></g>\n", c->f);
}

/*
 * The whole interaction, inline: no external script. Names are only ever
 * set as textContent, never parsed as markup.
 */
static const char script[] =
    "\"use strict\";\n"
    "var XPAD = 10, HL = \"rgb(230,0,230)\", FW, frames = [], details, reset, searchbtn, matched;\n"
    "function fit(o, w) {\n"
    "\tvar n = Math.floor((w - 6) / 7);\n"
    "\tif (n < 3) { o.t.textContent = \"\"; return; }\n"
    "\to.t.textContent = o.name.length <= n ? o.name : o.name.substring(0, n - 2) + \"..\";\n"
    "}\n"
    "function place(o, x, w) {\n"
    "\to.r.setAttribute(\"x\", x.toFixed(2));\n"
    "\to.r.setAttribute(\"width\", w.toFixed(2));\n"
    "\to.t.setAttribute(\"x\", (x + 3).toFixed(2));\n"
    "\tfit(o, w);\n"
    "\to.g.style.display = \"\";\n"
    "}\n"
    "function hover(o) { return function () { details.textContent = o.title; }; }\n"
    "function click(o) { return function () { zoom(o); }; }\n"
    "function init(evt) {\n"
    "\tdetails = document.getElementById(\"details\");\n"
    "\treset = document.getElementById(\"reset\");\n"
    "\tsearchbtn = document.getElementById(\"search\");\n"
    "\tmatched = document.getElementById(\"matched\");\n"
    "\tFW = +document.documentElement.getAttribute(\"width\") - 2 * XPAD;\n"
    "\tvar gs = document.getElementById(\"frames\").getElementsByTagName(\"g\");\n"
    "\tfor (var i = 0; i < gs.length; i++) {\n"
    "\t\tvar g = gs[i], r = g.getElementsByTagName(\"rect\")[0];\n"
    "\t\tvar title = g.getElementsByTagName(\"title\")[0].textContent;\n"
    "\t\tvar o = { g: g, r: r, t: g.getElementsByTagName(\"text\")[0],\n"
    "\t\t\tx: +r.getAttribute(\"x\"), w: +r.getAttribute(\"width\"),\n"
    "\t\t\td: +g.getAttribute(\"data-depth\"), title: title, fill: r.getAttribute(\"fill\"),\n"
    "\t\t\tname: title.substring(0, title.lastIndexOf(\" (\")) };\n"
    "\t\tg.onmouseover = hover(o);\n"
    "\t\tg.onmouseout = function () { details.textContent = \" \"; };\n"
    "\t\tg.onclick = click(o);\n"
    "\t\tframes.push(o);\n"
    "\t}\n"
    "\tdocument.addEventListener(\"keydown\", function (e) {\n"
    "\t\tif (e.key == \"/\" || ((e.ctrlKey || e.metaKey) && e.key == \"f\")) {\n"
    "\t\t\te.preventDefault();\n"
    "\t\t\tsearch_prompt();\n"
    "\t\t} else if (e.key == \"Escape\") {\n"
    "\t\t\tsearch(\"\");\n"
    "\t\t\tunzoom();\n"
    "\t\t}\n"
    "\t});\n"
    /* a link can carry a search: graph.svg?s=TERM or graph.svg#s=TERM */
    "\tvar m = typeof location == \"undefined\" ? null : /[?&#]s=([^&#]*)/.exec(location.href);\n"
    "\tif (m) {\n"
    "\t\ttry { search(decodeURIComponent(m[1].replace(/\\+/g, \" \"))); } catch (e) { }\n"
    "\t}\n"
    "}\n"
    "function zoom(z) {\n"
    "\tif (z.d == 0) { unzoom(); return; }\n"
    "\tvar eps = 0.01, scale = FW / z.w;\n"
    "\tfor (var i = 0; i < frames.length; i++) {\n"
    "\t\tvar o = frames[i];\n"
    "\t\tif (o.d < z.d && o.x <= z.x + eps && o.x + o.w >= z.x + z.w - eps)\n"
    "\t\t\tplace(o, XPAD, FW);\n"
    "\t\telse if (o.d >= z.d && o.x >= z.x - eps && o.x + o.w <= z.x + z.w + eps)\n"
    "\t\t\tplace(o, XPAD + (o.x - z.x) * scale, o.w * scale);\n"
    "\t\telse\n"
    "\t\t\to.g.style.display = \"none\";\n"
    "\t}\n"
    "\treset.style.display = \"\";\n"
    "}\n"
    "function unzoom() {\n"
    "\tfor (var i = 0; i < frames.length; i++)\n"
    "\t\tplace(frames[i], frames[i].x, frames[i].w);\n"
    "\treset.style.display = \"none\";\n"
    "}\n"
    "function search_prompt() {\n"
    "\tvar t = prompt(\"Search frame names: a JavaScript regular expression \" +\n"
    "\t\t\"(matched as plain text when it is not a valid one); empty to clear\",\n"
    "\t\tsearchbtn.getAttribute(\"data-term\") || \"\");\n"
    "\tif (t !== null)\n"
    "\t\tsearch(t);\n"
    "}\n"
    /* highlights the matches; returns the share of the width they cover */
    "function search(term) {\n"
    "\tvar re = null, how = \"regex\", hits = [], i, o;\n"
    "\tsearchbtn.setAttribute(\"data-term\", term);\n"
    "\tif (term) {\n"
    "\t\ttry { re = new RegExp(term); } catch (e) { how = \"substring\"; }\n"
    "\t}\n"
    "\tfor (i = 0; i < frames.length; i++) {\n"
    "\t\to = frames[i];\n"
    "\t\tif (term && o.d > 0 && (re ? re.test(o.name) : o.name.indexOf(term) >= 0)) {\n"
    "\t\t\to.r.setAttribute(\"fill\", HL);\n"
    "\t\t\thits.push(o);\n"
    "\t\t} else {\n"
    "\t\t\to.r.setAttribute(\"fill\", o.fill);\n"
    "\t\t}\n"
    "\t}\n"
    "\tif (!term) {\n"
    "\t\tsearchbtn.textContent = \"Search\";\n"
    "\t\tmatched.textContent = \" \";\n"
    "\t\treturn 0;\n"
    "\t}\n"
    /* a match inside a match covers no more width: merge the intervals */
    "\thits.sort(function (a, b) { return a.x - b.x; });\n"
    "\tvar sum = 0, end = -1;\n"
    "\tfor (i = 0; i < hits.length; i++) {\n"
    "\t\to = hits[i];\n"
    "\t\tif (o.x + o.w <= end)\n"
    "\t\t\tcontinue;\n"
    "\t\tsum += o.x + o.w - Math.max(o.x, end);\n"
    "\t\tend = o.x + o.w;\n"
    "\t}\n"
    "\tvar pct = FW > 0 ? 100 * sum / FW : 0;\n"
    "\tsearchbtn.textContent = \"Search (\" + how + \"): \" + term;\n"
    "\tmatched.textContent = \"Matched: \" + pct.toFixed(2) + \"% (\" + hits.length + \" frames)\";\n"
    "\treturn pct;\n"
    "}\n";

static void write_header(const struct ctx *c, unsigned int width, const char *title,
			 const char *legend)
{
	const struct kt_flamegraph_opts *o = c->o;
	FILE *f = c->f;
	unsigned int y = 24;

	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" "
		"height=\"%u\" viewBox=\"0 0 %u %u\" onload=\"init(evt)\">\n",
		width, c->height, width, c->height);
	fputs("<style type=\"text/css\"><![CDATA[\n"
	      "text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }\n"
	      "#title { font-size: 17px; text-anchor: middle; }\n"
	      ".sub { fill: #555; text-anchor: middle; }\n"
	      "#reset, #search { cursor: pointer; fill: #036; }\n"
	      "#search, #matched { text-anchor: end; }\n"
	      ".f { cursor: pointer; }\n"
	      ".f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	      "]]></style>\n",
	      f);
	fprintf(f, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n", script);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#f8f8f4\"/>\n", width,
		c->height);
	fprintf(f, "<text id=\"title\" x=\"%u\" y=\"%u\">", width / 2, y);
	kt_flamegraph_put_xml(f, title, 200);
	fputs("</text>\n", f);
	/* subtitle, diff legend, note: one line each, cut to the width */
	const char *lines[3] = {o->subtitle, legend, o->note};
	const char *ids[3] = {"subtitle", "legend", "note"};

	for (int i = 0; i < 3; i++) {
		if (!lines[i] || !*lines[i])
			continue;
		y += LINE_H;
		fprintf(f, "<text id=\"%s\" class=\"sub\" x=\"%u\" y=\"%u\">", ids[i], width / 2, y);
		kt_flamegraph_put_xml(f, lines[i], (size_t)((width - 2 * XPAD) / FONT_W));
		/* the whole line on hover, when it was cut */
		fputs("<title>", f);
		kt_flamegraph_put_xml(f, lines[i], 4096);
		fputs("</title></text>\n", f);
	}
	fprintf(f,
		"<text id=\"reset\" x=\"%d\" y=\"24\" style=\"display:none\" "
		"onclick=\"unzoom()\">Reset Zoom</text>\n",
		XPAD);
	fprintf(f, "<text id=\"search\" x=\"%u\" y=\"24\" onclick=\"search_prompt()\">Search</text>\n",
		width - XPAD);
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n", XPAD, c->height - 10);
	fprintf(f, "<text id=\"matched\" x=\"%u\" y=\"%u\"> </text>\n", width - XPAD,
		c->height - 10);
}

static unsigned int title_lines(const struct kt_flamegraph_opts *o)
{
	return 1 + (o->subtitle && *o->subtitle) + !!o->diff + (o->note && *o->note);
}

int kt_fg_write(FILE *f, struct kt_fg *fg, const struct kt_flamegraph_opts *opts)
{
	static const struct kt_flamegraph_opts defaults;
	const struct kt_flamegraph_opts *o = opts ? opts : &defaults;
	unsigned int width = o->width >= 100 ? o->width : 1200;
	unsigned int wside = o->diff && !o->negate ? 1 : 0;
	const char *title = o->title ? o->title : o->diff ? "Differential Flame Graph" : "Flame Graph";
	struct open_frame *open = NULL;
	struct ctx c = {.f = f, .fg = fg, .o = o};
	char legend[512] = "";
	int err;

	err = sort_paths(fg);
	if (err)
		return err;
	open = calloc(fg->depth + 1, sizeof(*open));
	if (!open)
		return -ENOMEM;
	c.unit = o->unit ? o->unit : "samples";
	if (o->palette != KT_FLAMEGRAPH_AUTO)
		c.cold = o->palette == KT_FLAMEGRAPH_COLD;
	else
		c.cold = !strcmp(c.unit, "us") || !strcmp(c.unit, "ns") || !strcmp(c.unit, "ms");
	c.wtotal = fg->total[wside];
	if (o->diff) {
		sweep(fg, wside, open, measure, &c);
		snprintf(legend, sizeof(legend),
			 "red: share grew, blue: shrank (AFTER against BEFORE); frames: %" PRIu64
			 " grew, %" PRIu64 " shrank, %" PRIu64 " appeared, %" PRIu64
			 " vanished; widths from %s",
			 c.classes[D_GREW], c.classes[D_SHRANK], c.classes[D_APPEARED],
			 c.classes[D_VANISHED],
			 o->negate ? "BEFORE (frames that appeared are not drawn)"
				   : "AFTER (frames that vanished are not drawn)");
	}
	c.top = 24 + LINE_H * (title_lines(o) - 1) + 16;
	c.height = c.top + BOTTOM + (unsigned int)(fg->depth + 1) * FRAME_H;
	c.scale = c.wtotal ? (double)(width - 2 * XPAD) / (double)c.wtotal : 0;
	write_header(&c, width, title, legend);
	fputs("<g id=\"frames\">\n", f);
	if (c.wtotal)
		sweep(fg, wside, open, emit, &c);
	else
		fprintf(f, "<text x=\"%u\" y=\"%u\">no stacks were recorded%s</text>\n",
			width / 2 - 80, c.height / 2,
			!o->diff ? "" : wside ? " in AFTER" : " in BEFORE");
	fputs("</g>\n</svg>\n", f);
	free(open);
	return ferror(f) ? -EIO : 0;
}

int kt_out_flamegraph(struct kt_out *out, struct kt_fg *fg, const struct kt_flamegraph_opts *opts)
{
	int err = kt_fg_write(out->f, fg, opts);

	if (err && err != -EIO)
		return err;
	/* the flush repeats a failed write: its errno (ENOSPC...) says why */
	errno = 0;
	if (!fflush(out->f) && !err)
		return 0;
	return errno ? -errno : -EIO;
}

int kt_flamegraph_write_opts(FILE *f, const struct kt_stacks *st,
			     const struct kt_flamegraph_opts *opts)
{
	struct kt_fg *fg = NULL;
	int err = kt_fg_new(&fg, 0);

	if (!err)
		err = kt_fg_add_stacks(fg, 0, st);
	if (!err)
		err = kt_fg_write(f, fg, opts);
	kt_fg_free(fg);
	return err;
}

int kt_flamegraph_write(FILE *f, const struct kt_stacks *st, const char *title, const char *unit)
{
	struct kt_flamegraph_opts opts = {.title = title, .unit = unit};

	return kt_flamegraph_write_opts(f, st, &opts);
}

/* Appends @s to @buf (cut, always NUL-terminated); returns the new length. */
static size_t append(char *buf, size_t len, size_t at, const char *s)
{
	size_t n = strlen(s);

	if (at + 1 >= len)
		return at;
	if (n > len - 1 - at)
		n = len - 1 - at;
	memcpy(buf + at, s, n);
	buf[at + n] = 0;
	return at + n;
}

void kt_flamegraph_subtitle(char *buf, size_t len, int argc, char *const *argv, const char *host,
			    const char *kernel, const char *span)
{
	size_t at = 0;
	int i;

	if (!len)
		return;
	buf[0] = 0;
	for (i = 0; i < argc; i++) {
		bool quote = !*argv[i] || strpbrk(argv[i], " \t'\"");

		if (i)
			at = append(buf, len, at, " ");
		/* argv[0] may be a path: the program's own name is enough */
		if (!i && strrchr(argv[i], '/')) {
			at = append(buf, len, at, strrchr(argv[i], '/') + 1);
			continue;
		}
		/* for reading, not for a shell: "it's" stays readable */
		const char *q = !quote ? "" : strchr(argv[i], '\'') ? "\"" : "'";

		at = append(buf, len, at, q);
		at = append(buf, len, at, argv[i]);
		at = append(buf, len, at, q);
	}
	if (host && *host) {
		at = append(buf, len, at, at ? " on " : "on ");
		at = append(buf, len, at, host);
	}
	if (kernel && *kernel) {
		at = append(buf, len, at, at ? ", kernel " : "kernel ");
		at = append(buf, len, at, kernel);
	}
	if (span && *span) {
		at = append(buf, len, at, at ? ", " : "");
		append(buf, len, at, span);
	}
}

void kt_flamegraph_span(char *buf, size_t len, uint64_t start_ns, uint64_t end_ns)
{
	time_t t0 = (time_t)(start_ns / 1000000000), t1 = (time_t)(end_ns / 1000000000);
	char a[64] = "", b[64] = "";
	struct tm tm0, tm1;

	if (!len)
		return;
	buf[0] = 0;
	if (!localtime_r(&t0, &tm0) || !localtime_r(&t1, &tm1))
		return;
	strftime(a, sizeof(a), "%Y-%m-%d %H:%M:%S", &tm0);
	if (tm0.tm_year == tm1.tm_year && tm0.tm_yday == tm1.tm_yday)
		strftime(b, sizeof(b), "%H:%M:%S %Z", &tm1);
	else
		strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S %Z", &tm1);
	snprintf(buf, len, "%s to %s", a, b);
}
