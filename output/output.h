/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The output interface. Subcommands describe records, tables and histograms;
 * this layer renders them as BCC-style text or as JSON Lines, so no
 * subcommand ever branches on the output format.
 *
 * Records are built positionally against a column description:
 *
 *	static struct kt_col cols[] = {
 *		{ "pid", "PID", 7 }, { "comm", "COMM", -16 }, { "path", "PATH", 0 },
 *	};
 *	kt_rec_begin(out, "event", cols, 3, ev->ts);
 *	kt_rec_i64(out, ev->pid);
 *	kt_rec_str(out, ev->comm, sizeof(ev->comm));
 *	kt_rec_str(out, path, len);
 *	kt_rec_end(out);
 *
 * Text prints the visible columns (width > 0: right-aligned, < 0: left, 0:
 * unpadded), JSON prints every column under its key. kt_rec_end() checks
 * that the record had exactly one value per column: a mismatch is a bug
 * that would shift fields, so it aborts a debug build and otherwise fails
 * the run (kt_out_err() is EPROTO). Strings are treated as
 * hostile: text escapes control characters and invalid UTF-8, JSON is always
 * valid (invalid UTF-8 becomes U+FFFD and the raw bytes are kept in hex under
 * "<key>_hex"; every control character, DEL and C1 included, is a \u
 * escape). No integer above 2^53 is written as a JSON number: such values
 * are decimal strings.
 */
#ifndef KT_OUTPUT_H
#define KT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct kt_out;
struct kt_hist;
struct kt_ofile;

enum {
	KT_COL_HIDDEN = 1 << 0, /* not shown in text (JSON still has it) */
	KT_COL_NOJSON = 1 << 1, /* text only (e.g. a column derived for display) */
	/*
	 * --prom-textfile (output/prom.h): a number counted in this interval
	 * (the command drains its tables), summed into a counter; a key
	 * ending in _ns, _us or _ms is time, exported in seconds. The row's
	 * strings and enumerations become its labels, numbers only with
	 * KT_COL_LABEL (pid, cpu); a record without KT_COL_COUNT is not exported.
	 */
	KT_COL_COUNT = 1 << 2,
	KT_COL_LABEL = 1 << 3,
};

struct kt_col {
	const char *key; /* JSON key */
	const char *hdr; /* text header */
	int width;	 /* text width: >0 right-aligned, <0 left-aligned, 0 free */
	unsigned flags;
};

/* Where kt_col_show() shows or hides a column. */
enum { KT_IN_TEXT = 1 << 0, KT_IN_JSON = 1 << 1 };
/*
 * The one way to show or hide a column at run time (e.g. an option that
 * adds one): by key, in text and/or JSON (the KT_COL_HIDDEN and
 * KT_COL_NOJSON flags a column is declared with are its defaults). 0, or
 * -ENOENT for a key cols does not have.
 */
int kt_col_show(struct kt_col *cols, size_t n, const char *key, unsigned in, bool show);

struct kt_out_opts {
	const char *path; /* NULL or "-": stdout */
	bool json;
	bool timestamp; /* -T: a TIME column / line in text */
};

/* Opens the output (core/ofile.h: no symlink followed, 0600); 0 or -errno. */
int kt_out_open(struct kt_out **out, const struct kt_out_opts *opts);
/*
 * Flushes and closes; failed: the run failed (a file it created and never
 * wrote is removed). Returns 0 or -errno of the first write error.
 */
int kt_out_close(struct kt_out *out, bool failed);
bool kt_out_json(const struct kt_out *out);
/* The descriptor written to, e.g. to notice a pipe's reader going away. */
int kt_out_fd(const struct kt_out *out);
/* The file underneath (core/ofile.h). */
struct kt_ofile *kt_out_ofile(struct kt_out *out);
/* "standard output" or the file's path, for messages. */
const char *kt_out_name(const struct kt_out *out);
/* Positive errno once writing failed (EPIPE from `| head`, ENOSPC): the run should stop. */
int kt_out_err(const struct kt_out *out);
struct kt_prom;
/* Also feeds histograms and lost counts to p (output/prom.h), e.g. for --prom-textfile. */
void kt_out_set_prom(struct kt_out *out, struct kt_prom *p);
/* Converts BPF ktime (CLOCK_MONOTONIC ns) to wall-clock ns; set by core at attach. */
void kt_out_set_clock(struct kt_out *out, uint64_t mono_ns, uint64_t real_ns);
uint64_t kt_out_wall_ns(const struct kt_out *out, uint64_t mono_ns);

/* Text: a header line for cols (and TIME when -T). Nothing in JSON. */
void kt_out_header(struct kt_out *out, const struct kt_col *cols, size_t n);

/*
 * A record of the given JSON type ("event", ...). mono_ns is the event's BPF
 * ktime, 0 for now; it gives the JSON "time" and the -T text column.
 */
void kt_rec_begin(struct kt_out *out, const char *type, const struct kt_col *cols, size_t n,
		  uint64_t mono_ns);
void kt_rec_i64(struct kt_out *out, int64_t v);
void kt_rec_u64(struct kt_out *out, uint64_t v);
void kt_rec_f64(struct kt_out *out, double v, int decimals);
void kt_rec_bool(struct kt_out *out, bool v);
/* A string from the kernel: stops at the first NUL or len. */
void kt_rec_str(struct kt_out *out, const char *s, size_t len);
/* An array of strings (argv); text joins them with spaces, quoted when quote. */
void kt_rec_strv(struct kt_out *out, const char *const *v, const size_t *lens, size_t n,
		 bool quote, bool truncated);
/* An enumeration: text shows name (or the number if name is NULL); JSON "k":name,"k_raw":raw. */
void kt_rec_enum(struct kt_out *out, const char *name, int64_t raw);
/* Nothing known: text "-", JSON null. */
void kt_rec_none(struct kt_out *out);
/* Extra JSON-only members after the columns. */
void kt_rec_extra_str(struct kt_out *out, const char *key, const char *s);
void kt_rec_extra_strlist(struct kt_out *out, const char *key, const char *const *v, size_t n);
void kt_rec_end(struct kt_out *out);

/* A table: a titled block of rows in text, one {"type":"table"} record in JSON. */
void kt_table_begin(struct kt_out *out, const char *name, const char *title,
		    const struct kt_col *cols, size_t n);
void kt_table_row(struct kt_out *out);	/* then kt_rec_* values for the row */
void kt_table_end(struct kt_out *out);

/* A key of a histogram or table section: label = value (e.g. disk = vda). */
struct kt_kv {
	const char *key;
	const char *str;  /* string value, or NULL to use num */
	int64_t num;
};

/*
 * A histogram record. unit is e.g. "usecs"; keys (may be 0) label the section;
 * interval bounds are monotonic ns (0 when not known).
 */
void kt_out_hist(struct kt_out *out, const char *unit, const struct kt_kv *keys, size_t nkeys,
		 const struct kt_hist *h, uint64_t start_ns, uint64_t end_ns);

/* A line of text (text mode only), e.g. a section separator or a note. */
void kt_out_text(struct kt_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kt_out_flush(struct kt_out *out);
/* Text with -T: the wall-clock time on a line of its own (before an interval's output). */
void kt_out_time_line(struct kt_out *out);

/* ---- the records around the data (output/records.c) ---- */

/* Why a run stopped; the summary record names it (kt_stop_name). */
enum kt_stop {
	KT_STOP_NONE,
	KT_STOP_SIGNAL,	       /* SIGINT, SIGTERM, SIGHUP */
	KT_STOP_COUNT,	       /* the count-th interval was printed */
	KT_STOP_DURATION,      /* -d or the duration argument elapsed */
	KT_STOP_OUTPUT_CLOSED, /* the reader of standard output went away (EPIPE) */
	KT_STOP_OUTPUT_ERROR,  /* writing the output failed (ENOSPC, EIO, ...) */
	KT_STOP_TARGET_EXITED, /* the traced process (-p) exited */
	KT_STOP_COMPLETE,      /* a command without tracing (check) did all it does */
	KT_STOP_ERROR,	       /* a runtime failure */
	KT_STOP_N,
};
const char *kt_stop_name(enum kt_stop s);

struct kt_meta_attach {
	const char *hook;
	const char *type, *target; /* NULL type: nothing attached, note says why */
	const char *program;       /* the BPF program attached there */
	const char *note;
};

struct kt_meta_rec {
	const char *version, *subcommand;
	int argc;
	char *const *argv;
	const char *hostname, *kernel;
	uint64_t start_realtime_ns;
	int pid;
	uint64_t interval_s, count, duration_s; /* 0: not set */
	const struct kt_meta_attach *attach;
	size_t nattach;
	const char *const *extra_keys, *const *extra_vals; /* extra string members */
	size_t nextra;
};
/* JSON: the first line of a run. Nothing in text. */
void kt_out_meta(struct kt_out *out, const struct kt_meta_rec *m);

/*
 * What the kernel side could not deliver. One shape for every kind:
 * {"type":"lost","time","what","count","total","reason","fix","per_cpu","final"};
 * count is since the previous record of this kind (what + reason), total
 * since the start, per_cpu null unless known, final true from the last
 * report of the run on. Text: a warning on stderr when count > 0.
 */
struct kt_lost_rec {
	const char *what;   /* "events", "kernel stacks", ... */
	uint64_t count;
	const char *reason; /* why they were lost */
	const char *fix;    /* how to lose fewer */
	const uint64_t *per_cpu;
	size_t ncpu;
	bool always;	    /* write the JSON record even when count is 0 */
	const char *verb;   /* text: "lost" (NULL) or e.g. "not counted" */
};
void kt_out_lost(struct kt_out *out, const struct kt_lost_rec *l);
/* Lost records from now on are the run's final ones. */
void kt_out_set_final(struct kt_out *out);

struct kt_summary_rec {
	enum kt_stop stopped_by;
	uint64_t duration_ms;
	uint64_t intervals;
	bool stream;	 /* a stream: events and lost are meaningful */
	bool has_events; /* records were handled in user space (not counted in the kernel) */
	uint64_t events, lost;
	const char *counted_what; /* counted in the kernel: what (text: "counted N WHAT") */
	uint64_t counted;
	bool has_stacks;      /* a stack command: lost_stacks is meaningful */
	uint64_t lost_stacks; /* stacks the kernel's stack map could not store */
	/* user stacks collected (sum of their values) and those that reach a known root */
	bool has_ustacks;
	uint64_t ustacks_total, ustacks_rooted;
	uint64_t skipped_runs; /* runs of the programs the kernel skipped (each an event missed) */
};
/* JSON: the last line of a run. Text: a note on stderr for streams. */
void kt_out_summary(struct kt_out *out, const struct kt_summary_rec *s);

/* Escaping, also used directly by the symbol and flame graph code. */
/* Appends s escaped for a terminal to f; returns bytes written. */
size_t kt_esc_text(FILE *f, const char *s, size_t len);
/* Valid UTF-8 copy of s (invalid bytes -> U+FFFD); *bad set when it had invalid bytes. */
char *kt_utf8_clean(const char *s, size_t len, bool *bad);

#endif
