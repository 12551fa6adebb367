// SPDX-License-Identifier: GPL-2.0
/*
 * SVG flame graph writer (see flamegraph.h for what it shows).
 *
 * Method: every stack becomes a path (comm, user frames root to leaf,
 * kernel frames root to leaf); the paths are sorted, then swept once. Two
 * neighbouring paths share a prefix: frames past the shared prefix are
 * closed (written out, their width being the values accumulated since they
 * opened) and the new path's remaining frames opened. That merges equal
 * frames without building a tree and without recursion.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"

#define FRAME_H	  16
#define FONT_W	  7.0 /* average glyph width of the 12px font */
#define XPAD	  10
#define TOP	  40  /* title area */
#define BOTTOM	  30  /* status line */
#define MIN_WIDTH 0.1 /* narrower frames are left out */

enum kind { K_ROOT, K_COMM, K_USER, K_KERNEL };

struct pframe {
	const char *name;
	enum kind kind;
};

struct fpath {
	struct pframe *f;
	size_t n;
	uint64_t value;
};

struct open_frame {
	const struct pframe *pf;
	uint64_t start;
};

struct ctx {
	FILE *f;
	double scale; /* pixels per value unit */
	unsigned int height;
	uint64_t total;
	const char *unit;
	int cold;
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

static int cmp_path(const void *a, const void *b)
{
	const struct fpath *x = a, *y = b;
	size_t i, n = x->n < y->n ? x->n : y->n;
	int c;

	for (i = 0; i < n; i++) {
		if (x->f[i].kind != y->f[i].kind)
			return x->f[i].kind < y->f[i].kind ? -1 : 1;
		c = strcmp(x->f[i].name, y->f[i].name);
		if (c)
			return c;
	}
	return x->n < y->n ? -1 : x->n > y->n;
}

static int same_frame(const struct pframe *a, const struct pframe *b)
{
	return a->kind == b->kind && !strcmp(a->name, b->name);
}

static void color(const char *name, enum kind kind, int cold, unsigned int rgb[3])
{
	uint32_t h = 2166136261U;
	double v1, v2;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619U;
	v1 = (h & 0xffff) / 65535.0;
	v2 = (h >> 16) / 65535.0;
	if (kind == K_ROOT || kind == K_COMM) {
		rgb[0] = rgb[1] = rgb[2] = 190 + (unsigned int)(30 * v1);
	} else if (kind == K_KERNEL && !cold) { /* teal */
		rgb[0] = 40 + (unsigned int)(60 * v1);
		rgb[1] = 170 + (unsigned int)(60 * v2);
		rgb[2] = 150 + (unsigned int)(60 * v1);
	} else if (kind == K_KERNEL) { /* purple */
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

static void emit(const struct ctx *c, size_t depth, const struct pframe *pf, uint64_t start,
		 uint64_t end)
{
	double x = XPAD + (double)start * c->scale, w = (double)(end - start) * c->scale;
	double y = (double)c->height - BOTTOM - (double)(depth + 1) * FRAME_H;
	double pct = c->total ? 100.0 * (double)(end - start) / (double)c->total : 0;
	unsigned int rgb[3];
	long fit = (long)((w - 6) / FONT_W);

	if (w < MIN_WIDTH)
		return;
	color(pf->name, pf->kind, c->cold, rgb);
	fprintf(c->f, "<g class=\"f\" data-depth=\"%zu\"><title>", depth);
	kt_flamegraph_put_xml(c->f, pf->name, SIZE_MAX);
	fprintf(c->f, " (%" PRIu64 " ", end - start);
	kt_flamegraph_put_xml(c->f, c->unit, SIZE_MAX);
	fprintf(c->f, ", %.2f%%)</title>", pct);
	fprintf(c->f,
		"<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"rgb(%u,%u,%u)\" "
		"rx=\"2\"/><text x=\"%.2f\" y=\"%.1f\">",
		x, y, w, FRAME_H - 1, rgb[0], rgb[1], rgb[2], x + 3, y + 11.5);
	if (fit >= 3)
		kt_flamegraph_put_xml(c->f, pf->name, (size_t)fit);
	fputs("</text></g>\n", c->f);
}

static const char script[] =
    "\"use strict\";\n"
    "var XPAD = 10, FW, frames = [], details, reset;\n"
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
    "\tFW = +document.documentElement.getAttribute(\"width\") - 2 * XPAD;\n"
    "\tvar gs = document.getElementById(\"frames\").getElementsByTagName(\"g\");\n"
    "\tfor (var i = 0; i < gs.length; i++) {\n"
    "\t\tvar g = gs[i], r = g.getElementsByTagName(\"rect\")[0];\n"
    "\t\tvar title = g.getElementsByTagName(\"title\")[0].textContent;\n"
    "\t\tvar o = { g: g, r: r, t: g.getElementsByTagName(\"text\")[0],\n"
    "\t\t\tx: +r.getAttribute(\"x\"), w: +r.getAttribute(\"width\"),\n"
    "\t\t\td: +g.getAttribute(\"data-depth\"), title: title,\n"
    "\t\t\tname: title.substring(0, title.lastIndexOf(\" (\")) };\n"
    "\t\tg.onmouseover = hover(o);\n"
    "\t\tg.onmouseout = function () { details.textContent = \" \"; };\n"
    "\t\tg.onclick = click(o);\n"
    "\t\tframes.push(o);\n"
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
    "}\n";

static void write_header(const struct ctx *c, unsigned int width, const char *title)
{
	FILE *f = c->f;

	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" "
		"height=\"%u\" viewBox=\"0 0 %u %u\" onload=\"init(evt)\">\n",
		width, c->height, width, c->height);
	fputs("<style type=\"text/css\"><![CDATA[\n"
	      "text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }\n"
	      "#title { font-size: 17px; text-anchor: middle; }\n"
	      "#reset { cursor: pointer; fill: #036; }\n"
	      ".f { cursor: pointer; }\n"
	      ".f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	      "]]></style>\n",
	      f);
	fprintf(f, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n", script);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#f8f8f4\"/>\n", width,
		c->height);
	fprintf(f, "<text id=\"title\" x=\"%u\" y=\"24\">", width / 2);
	kt_flamegraph_put_xml(f, title, 200);
	fputs("</text>\n", f);
	fprintf(f,
		"<text id=\"reset\" x=\"%d\" y=\"24\" style=\"display:none\" "
		"onclick=\"unzoom()\">Reset Zoom</text>\n",
		XPAD);
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n", XPAD, c->height - 10);
}

/* The name of frame @idx; unresolved names are formatted into @names. */
static int frame_name(const struct kt_frame *frames, const uint64_t *ips, size_t idx,
		      const char **name, char **names, size_t *nnames)
{
	char buf[512];

	if (frames && frames[idx].sym) {
		*name = frames[idx].sym;
		return 0;
	}
	if (frames)
		kt_stacks_frame_name(&frames[idx], 0, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "0x%" PRIx64, ips[idx]);
	names[*nnames] = strdup(buf);
	if (!names[*nnames])
		return -ENOMEM;
	*name = names[(*nnames)++];
	return 0;
}

/* One path per stack: comm, user frames root to leaf, kernel frames root to leaf. */
static int build_paths(const struct kt_stacks *st, struct fpath *paths, struct pframe *pf,
		       char **names, size_t *nnames)
{
	size_t i, j, k = 0, n = kt_stacks_count(st);
	int err;

	for (i = 0; i < n; i++) {
		const struct kt_stack *s = kt_stacks_get(st, i);
		struct fpath *p = &paths[i];

		p->f = &pf[k];
		p->value = s->value;
		pf[k].name = s->comm[0] ? s->comm : "[unknown]";
		pf[k++].kind = K_COMM;
		for (j = s->nuser; j-- > 0; k++) {
			pf[k].kind = K_USER;
			err = frame_name(s->uframes, s->uips, j, &pf[k].name, names, nnames);
			if (err)
				return err;
		}
		for (j = s->nkern; j-- > 0; k++) {
			pf[k].kind = K_KERNEL;
			err = frame_name(s->kframes, s->kips, j, &pf[k].name, names, nnames);
			if (err)
				return err;
		}
		p->n = (size_t)(&pf[k] - p->f);
	}
	return 0;
}

int kt_flamegraph_write_opts(FILE *f, const struct kt_stacks *st,
			     const struct kt_flamegraph_opts *opts)
{
	const char *title = opts && opts->title ? opts->title : "Flame Graph";
	unsigned int width = opts && opts->width >= 100 ? opts->width : 1200;
	size_t i, d, n = kt_stacks_count(st), nframes = 0, nnames = 0, depth = 0, prev_n = 0;
	const struct pframe root = {.name = "all", .kind = K_ROOT};
	struct open_frame *open = NULL;
	struct pframe *pf = NULL;
	struct fpath *paths = NULL;
	char **names = NULL;
	struct ctx c = {.f = f};
	uint64_t x = 0;
	int err = 0;

	c.unit = opts && opts->unit ? opts->unit : "samples";
	c.total = kt_stacks_total(st);
	if (opts && opts->palette != KT_FLAMEGRAPH_AUTO)
		c.cold = opts->palette == KT_FLAMEGRAPH_COLD;
	else
		c.cold = !strcmp(c.unit, "us") || !strcmp(c.unit, "ns") || !strcmp(c.unit, "ms");
	for (i = 0; i < n; i++) {
		const struct kt_stack *s = kt_stacks_get(st, i);

		nframes += 1 + s->nuser + s->nkern;
		if (1 + s->nuser + s->nkern > depth)
			depth = 1 + s->nuser + s->nkern;
	}
	paths = calloc(n ? n : 1, sizeof(*paths));
	pf = calloc(nframes ? nframes : 1, sizeof(*pf));
	names = calloc(nframes ? nframes : 1, sizeof(*names));
	open = calloc(depth + 1, sizeof(*open));
	if (!paths || !pf || !names || !open) {
		err = -ENOMEM;
		goto out;
	}
	err = build_paths(st, paths, pf, names, &nnames);
	if (err)
		goto out;
	qsort(paths, n, sizeof(*paths), cmp_path);

	c.height = TOP + BOTTOM + (unsigned int)(depth + 1) * FRAME_H;
	c.scale = c.total ? (double)(width - 2 * XPAD) / (double)c.total : 0;
	write_header(&c, width, title);
	fputs("<g id=\"frames\">\n", f);
	for (i = 0; i < n; i++) {
		const struct fpath *p = &paths[i];
		size_t common = 0;

		while (common < prev_n && common < p->n &&
		       same_frame(open[common].pf, &p->f[common]))
			common++;
		for (d = prev_n; d-- > common;)
			emit(&c, d + 1, open[d].pf, open[d].start, x);
		for (d = common; d < p->n; d++) {
			open[d].pf = &p->f[d];
			open[d].start = x;
		}
		prev_n = p->n;
		x += p->value;
	}
	for (d = prev_n; d-- > 0;)
		emit(&c, d + 1, open[d].pf, open[d].start, x);
	if (c.total)
		emit(&c, 0, &root, 0, c.total);
	else
		fprintf(f, "<text x=\"%u\" y=\"%u\">no stacks were recorded</text>\n",
			width / 2 - 80, c.height / 2);
	fputs("</g>\n</svg>\n", f);
	if (ferror(f))
		err = -EIO;
out:
	for (i = 0; names && i < nnames; i++)
		free(names[i]);
	free(names);
	free(open);
	free(pf);
	free(paths);
	return err;
}

int kt_flamegraph_write(FILE *f, const struct kt_stacks *st, const char *title, const char *unit)
{
	struct kt_flamegraph_opts opts = {.title = title, .unit = unit};

	return kt_flamegraph_write_opts(f, st, &opts);
}
