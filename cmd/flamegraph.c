// SPDX-License-Identifier: GPL-2.0
/*
 * flamegraph: turn folded stacks (ktrace's `profile -f` and `offcpu -f`,
 * perf's and stackcollapse's) into one self-contained interactive SVG, or
 * compare two of them (--diff BEFORE AFTER). No BPF, no privileges: it
 * reads files, so it runs anywhere, e.g. on a laptop after copying the
 * folded files off a server. The drawing is output/flamegraph.c, the same
 * renderer as profile and offcpu --svg; the parsing is output/folded.c.
 *
 * Cost: memory bounded by --max-frames (at most 28 bytes a frame) plus at
 * most 64 MiB for the distinct frame names; one pass over each input, a
 * sort of the stacks, one pass to draw (two for a diff).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flamegraph.h"
#include "folded.h"
#include "ktrace.h"
#include "output.h"
#include "util.h"

enum {
	OPT_TITLE = 0x100,
	OPT_SUBTITLE,
	OPT_DIFF,
	OPT_NEGATE,
	OPT_UNIT,
	OPT_PALETTE,
	OPT_WIDTH,
	OPT_STRICT,
	OPT_MAX_FRAMES,
};

struct fg_opts {
	const char **files; /* NULL: standard input */
	size_t nfiles;
	struct kt_flamegraph_opts fo;
	bool strict;
	uint64_t max_frames;
};

static const struct argp_option options[] = {
	{ "title", OPT_TITLE, "TEXT", 0,
	  "Title (default \"Flame Graph\", or \"Differential Flame Graph\")", 0 },
	{ "subtitle", OPT_SUBTITLE, "TEXT", 0,
	  "Line under the title (default: the command line, host, and each input's name and "
	  "modification time); \"\" for none",
	  0 },
	{ "diff", OPT_DIFF, NULL, 0,
	  "Compare two inputs, BEFORE AFTER: widths from AFTER, red where a frame's share grew, "
	  "blue where it shrank",
	  0 },
	{ "negate", OPT_NEGATE, NULL, 0,
	  "With --diff: widths from BEFORE, to see the frames that vanished", 0 },
	{ "unit", OPT_UNIT, "NAME", 0, "What the counts are, for the tooltips (default samples)",
	  0 },
	{ "palette", OPT_PALETTE, "hot|cold", 0,
	  "Colours: hot (on-CPU) or cold (off-CPU); default cold when --unit is us, ns or ms", 0 },
	{ "width", OPT_WIDTH, "PIXELS", 0, "Image width (default 1200)", 0 },
	{ "strict", OPT_STRICT, NULL, 0,
	  "Fail on the first malformed line (default: skip it, and report the first few)", 0 },
	{ "max-frames", OPT_MAX_FRAMES, "N", 0,
	  "Read at most N frames in all (default 4000000: with the 64 MiB for frame names, at "
	  "most about 170 MiB); the rest of the input is left out, and the graph says so",
	  0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct fg_opts *o = ctx->priv;

	switch (key) {
	case ARGP_KEY_INIT:
		o->max_frames = KT_FG_DEFAULT_MAX_FRAMES;
		o->files = calloc((size_t)state->argc + 1, sizeof(*o->files));
		if (!o->files)
			return ENOMEM;
		break;
	case ARGP_KEY_ARG:
		o->files[o->nfiles++] = arg;
		break;
	case OPT_TITLE:
		o->fo.title = arg;
		break;
	case OPT_SUBTITLE:
		o->fo.subtitle = arg;
		break;
	case OPT_DIFF:
		o->fo.diff = true;
		break;
	case OPT_NEGATE:
		o->fo.negate = true;
		break;
	case OPT_UNIT:
		if (!*arg || strlen(arg) > 32)
			argp_error(state, "invalid --unit '%s': expected a name of 1 to 32 characters",
				   arg);
		o->fo.unit = arg;
		break;
	case OPT_PALETTE:
		if (!strcmp(arg, "hot"))
			o->fo.palette = KT_FLAMEGRAPH_HOT;
		else if (!strcmp(arg, "cold"))
			o->fo.palette = KT_FLAMEGRAPH_COLD;
		else
			argp_error(state, "invalid --palette '%s': expected hot or cold", arg);
		break;
	case OPT_WIDTH:
		o->fo.width = (unsigned int)kt_arg_u64(state, "--width", arg, 200, 100000);
		break;
	case OPT_STRICT:
		o->strict = true;
		break;
	case OPT_MAX_FRAMES:
		o->max_frames = kt_arg_u64(state, "--max-frames", arg, 1, 1ULL << 30);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int validate(struct kt_ctx *ctx)
{
	struct fg_opts *o = ctx->priv;
	size_t i, stdin_uses = 0;

	if (ctx->o.json) {
		kt_err("flamegraph writes SVG: -j/--json does not apply (profile -j and offcpu -j "
		       "give stacks as JSON)");
		return -EINVAL;
	}
	if (ctx->o.timestamp) {
		kt_err("flamegraph writes SVG: -T/--timestamp does not apply");
		return -EINVAL;
	}
	if (o->fo.negate && !o->fo.diff) {
		kt_err("--negate only applies with --diff BEFORE AFTER");
		return -EINVAL;
	}
	if (o->fo.diff && o->nfiles != 2) {
		kt_err("--diff compares two inputs: ktrace flamegraph --diff BEFORE AFTER (got %zu)",
		       o->nfiles);
		return -EINVAL;
	}
	for (i = 0; i < o->nfiles; i++)
		stdin_uses += !strcmp(o->files[i], "-");
	if (stdin_uses > 1) {
		kt_err("standard input ('-') can be read only once");
		return -EINVAL;
	}
	return 0;
}

static const char *display_name(const char *path)
{
	return strcmp(path, "-") ? path : "standard input";
}

/* Opens @path ("-": standard input) for reading; NULL after saying why. */
static FILE *open_input(const char *path, struct stat *sb)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	FILE *f;

	if (fd < 0) {
		kt_err("cannot open %s: %s", display_name(path), strerror(errno));
		return NULL;
	}
	if (fstat(fd, sb) || S_ISDIR(sb->st_mode)) {
		kt_err("cannot read %s: %s", display_name(path),
		       S_ISDIR(sb->st_mode) ? "it is a directory" : strerror(errno));
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		kt_err("cannot read %s: %s", display_name(path), strerror(errno));
		close(fd);
	}
	return f;
}

/* Appends "NAME (modified TIME)" of one input to the span text. */
static void describe_input(char *buf, size_t len, const char *label, const char *path,
			   const struct stat *sb)
{
	size_t at = strlen(buf);
	char when[64] = "";
	struct tm tm;

	if (strcmp(path, "-") && S_ISREG(sb->st_mode) && localtime_r(&sb->st_mtime, &tm))
		strftime(when, sizeof(when), " (modified %Y-%m-%d %H:%M:%S %Z)", &tm);
	if (at < len)
		snprintf(buf + at, len - at, "%s%s%s%s", at ? ", " : "", label, display_name(path),
			 when);
}

static int run(struct kt_ctx *ctx)
{
	struct fg_opts *o = ctx->priv;
	const char *stdin_only[] = { "-" };
	const char **files = o->nfiles ? o->files : stdin_only;
	size_t i, nfiles = o->nfiles ? o->nfiles : 1;
	char span[1024] = "", subtitle[2048], note[512] = "", host[256] = "";
	uint64_t bad = 0, cut = 0;
	struct kt_fg *fg = NULL;
	int err, rc = KT_EXIT_FAIL;

	err = kt_fg_new(&fg, o->max_frames);
	if (err) {
		kt_err("out of memory");
		return KT_EXIT_FAIL;
	}
	for (i = 0; i < nfiles; i++) {
		struct kt_folded_stats st = { 0 };
		struct stat sb;
		FILE *f = open_input(files[i], &sb);
		const char *label = !o->fo.diff ? (nfiles > 1 ? "" : "input: ")
				    : i		? "AFTER: "
						: "BEFORE: ";

		if (!f)
			goto out;
		describe_input(span, sizeof(span), label, files[i], &sb);
		err = kt_folded_read(f, display_name(files[i]), fg, o->fo.diff ? (unsigned int)i : 0,
				     o->strict ? KT_FOLDED_STRICT : 0, &st);
		fclose(f);
		bad += st.bad;
		cut += st.cut;
		if (err == -E2BIG && o->fo.diff) {
			/* a diff without part of one side would be wrong, not partial */
			kt_err("%s:%" PRIu64 ": stopped reading: the flame graph holds at most %" PRIu64
			       " frames and 64 MiB of frame names, and a diff of a cut input would be "
			       "wrong: raise --max-frames",
			       display_name(files[i]), st.full_line, o->max_frames);
			goto out;
		}
		if (err == -E2BIG) {
			kt_warn("%s:%" PRIu64 ": stopped reading: the flame graph holds at most %" PRIu64
				" frames and 64 MiB of frame names (--max-frames); the rest of the "
				"input is left out",
				display_name(files[i]), st.full_line, o->max_frames);
			snprintf(note, sizeof(note),
				 "input cut: only the stacks before line %" PRIu64
				 " of %s are drawn (at most %" PRIu64 " frames)",
				 st.full_line, display_name(files[i]), o->max_frames);
			break;
		}
		if (err == -ENOMEM)
			kt_err("reading %s: out of memory (lower --max-frames)", display_name(files[i]));
		if (err)
			goto out;
	}
	if (bad && !note[0])
		snprintf(note, sizeof(note), "%" PRIu64 " malformed input lines were skipped", bad);
	if (cut && !note[0])
		snprintf(note, sizeof(note), "%" PRIu64 " stacks deeper than %d frames were cut",
			 cut, KT_FOLDED_MAX_DEPTH);
	if (!o->fo.subtitle) {
		gethostname(host, sizeof(host) - 1);
		kt_flamegraph_subtitle(subtitle, sizeof(subtitle), ctx->argc, ctx->argv, host, NULL,
				       span);
		o->fo.subtitle = subtitle;
	}
	o->fo.note = note;
	err = kt_out_flamegraph(ctx->out, fg, &o->fo);
	if (err) {
		/* a write error is core's to report, naming the file */
		if (!kt_out_err(ctx->out))
			kt_err("drawing the flame graph failed: %s", strerror(-err));
		goto out;
	}
	rc = KT_EXIT_OK;
out:
	kt_fg_free(fg);
	return rc;
}

static void finish(struct kt_ctx *ctx)
{
	struct fg_opts *o = ctx->priv;

	free(o->files);
}

const struct kt_cmd kt_cmd_flamegraph = {
	.name = "flamegraph",
	.summary = "Draw folded stacks as an interactive SVG flame graph, or compare two",
	.doc = "Read folded stacks (\"frame;frame;...;frame COUNT\" per line, root first: "
	       "ktrace profile -f, offcpu -f, perf script | stackcollapse-perf.pl) from the "
	       "files, or standard input when there are none or one is '-', and write a "
	       "self-contained SVG to standard output (or -o FILE). Frames can be searched "
	       "(Search, Ctrl-F or '/': a regular expression, the matched share is shown), "
	       "clicked to zoom, and reset. Malformed lines are skipped and reported as "
	       "FILE:LINE (--strict: fail). No privileges needed.\v"
	       "Examples:\n"
	       "  ktrace profile -f 30 > cpu.folded && ktrace flamegraph cpu.folded > cpu.svg\n"
	       "  ktrace offcpu -f 30 | ktrace flamegraph --unit us -o off.svg\n"
	       "  ktrace flamegraph --diff before.folded after.folded -o diff.svg\n"
	       "  ktrace flamegraph --diff --negate before.folded after.folded -o vanished.svg",
	.args_doc = "[FOLDED...]\n--diff BEFORE AFTER",
	.options = options,
	.parse = parse,
	.kind = KT_INFO,
	.pos = KT_POS_NONE,
	.priv_size = sizeof(struct fg_opts),
	.validate = validate,
	.finish = finish,
	.run = run,
};
