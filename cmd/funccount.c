// SPDX-License-Identifier: GPL-2.0
/*
 * funccount: calls per function for a pattern (`ktrace funccount
 * 'c:pthread_mutex_*' -p 185 5`, `ktrace funccount 'k:vfs_*'`).
 *
 * User functions (BINARY:PATTERN): one uprobe per matching function of the
 * file (core/utarget.h; -p places them in that process only), counting by
 * attach cookie (Linux 5.15+). Kernel functions (k:PATTERN, matched in
 * tracefs' available_filter_functions): one kprobe each, counting by
 * address. Counting happens in the kernel; every interval the counts are
 * read, reset and printed most first (--top N: only the N first).
 * Cost: one probe trap per call (a uprobe: microseconds; see funclat's man
 * page) and a per-CPU add. At most 1000 functions.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "features.h"
#include "funccount.h"
#include "funccount.skel.h"
#include "ksyms.h"
#include "ktrace.h"
#include "output.h"
#include "plan.h"
#include "tape.h"
#include "utarget.h"
#include "util.h"

enum { OPT_TOP = 0x2000 };

struct fc_row {
	const char *name;
	uint64_t n;
};

struct funccount {
	const char *spec;
	char binary[4096];
	char pattern[512];
	bool kernel;
	uint64_t top;
	struct kt_utarget *ut;
	char **knames; /* kernel functions matched */
	size_t nk;
	struct kt_ksyms *ks;
	struct bpf_link **links;
	size_t nlinks;
	uint64_t total;
};

static const struct argp_option options[] = {
	{ "top", OPT_TOP, "N", 0, "Print only the N most called functions each interval", 0 },
	{},
};

static char kfunc[160] = "vfs_read";
static char ulabel[4800] = "BINARY:PATTERN";

static struct kt_hook hooks[] = {
	{ "count", false,
	  /* the uprobe counts by attach cookie (5.15+); the kprobe by address (5.10 too) */
	  { { KT_UPROBE, ulabel, "u_count", KT_NEED_BPF_COOKIE },
	    { KT_KPROBE, kfunc, "k_count" } } },
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct funccount *f = ctx->priv;

	switch (key) {
	case OPT_TOP:
		f->top = kt_arg_u64(state, "--top", arg, 1, FUNCCOUNT_MAX);
		return 0;
	case ARGP_KEY_ARG:
		if (state->arg_num != 0)
			return ARGP_ERR_UNKNOWN;
		f->spec = arg;
		return 0;
	case ARGP_KEY_END:
		if (!f->spec)
			argp_error(state, "missing the pattern: BINARY:PATTERN ('c:pthread_*') or k:PATTERN ('k:vfs_*')");
		return ARGP_ERR_UNKNOWN;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/*
 * Kernel functions matching f->pattern: from tracefs' list of traceable
 * functions, or where it cannot be read, the text symbols of /proc/kallsyms
 * (a kprobe on one that is not traceable fails at attach, naming it).
 */
static int match_kernel(struct funccount *f)
{
	char path[512], line[512];
	bool kallsyms = false;
	FILE *fp = NULL;

	if (!kt_tracefs_ensure()) {
		snprintf(path, sizeof(path), "%s/available_filter_functions", kt_tracefs_path());
		fp = fopen(path, "re");
	}
	if (!fp) {
		kallsyms = true;
		snprintf(path, sizeof(path), "/proc/kallsyms");
		fp = fopen(path, "re");
	}
	if (!fp) {
		kt_err("%s: cannot list the kernel's functions (%s): %s", f->spec, path,
		       strerror(errno));
		return -ENOENT;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *name = line, *sp, **v;

		if (kallsyms) { /* "ADDR TYPE NAME [MODULE]": text symbols only */
			char *t = strchr(line, ' ');

			if (!t || (t[1] != 't' && t[1] != 'T') || t[2] != ' ')
				continue;
			name = t + 3;
		}
		sp = strpbrk(name, " \t\n");
		if (sp)
			*sp = 0; /* "name [module]" */
		/* "x.cold", "x.isra.0": parts of a function the compiler split off */
		if (strchr(name, '.') || fnmatch(f->pattern, name, 0))
			continue;
		/* a static function may appear twice (two copies): one probe is enough */
		for (size_t i = 0; i < f->nk; i++)
			if (!strcmp(f->knames[i], name))
				goto next;
		if (f->nk == FUNCCOUNT_MAX) {
			fclose(fp);
			kt_err("%s: more than %d kernel functions match: narrow the pattern", f->spec,
			       FUNCCOUNT_MAX);
			return -EINVAL;
		}
		v = realloc(f->knames, (f->nk + 1) * sizeof(*v));
		if (!v || !(v[f->nk] = strdup(name))) {
			fclose(fp);
			if (v)
				f->knames = v;
			return -ENOMEM;
		}
		f->knames = v;
		f->nk++;
next:;
	}
	fclose(fp);
	if (!f->nk) {
		kt_err("%s: no kernel function matches '%s' (looked in %s)", f->spec, f->pattern,
		       path);
		return -ENOENT;
	}
	return 0;
}

/*
 * IFUNCs (glibc's str* and mem*) point at their resolver: with -p, count
 * the implementation the process uses instead; without, leave them out and
 * say so (there is no one implementation for every process).
 */
static int resolve_ifuncs(struct kt_ctx *ctx, struct funccount *f)
{
	struct kt_utarget *t = f->ut;
	size_t k = 0, skipped = 0, resolved = 0;
	char impl[256];
	int err;

	for (size_t i = 0; i < t->n; i++) {
		if (t->funcs[i].ifunc && !ctx->filter.tgid) {
			if (!skipped++)
				kt_warn("%s: %s is an IFUNC: left out, as are the others; give -p PID to count the implementation that process uses",
					f->spec, t->funcs[i].name);
			free(t->funcs[i].name);
			continue;
		}
		if (t->funcs[i].ifunc) {
			err = kt_utarget_ifunc(t, i, (int)ctx->filter.tgid, f->spec, impl,
					       sizeof(impl));
			if (err)
				return err == -EINVAL ? err : -ENOENT;
			resolved++;
		}
		t->funcs[k++] = t->funcs[i];
	}
	t->n = k;
	if (resolved)
		kt_warn("%s: %zu IFUNCs matched: counting the implementations process %u uses",
			f->spec, resolved, ctx->filter.tgid);
	if (!t->n) {
		kt_err("%s: every match is an IFUNC: give -p PID", f->spec);
		return -EINVAL;
	}
	return 0;
}

static int validate(struct kt_ctx *ctx)
{
	struct funccount *f = ctx->priv;
	int err;

	/* a tape holds the kernel's data, not the traced files this command resolves names in */
	if (ctx->o.record || kt_tape_replaying()) {
		kt_err("%s: --record and replay are not supported: the functions and probes are found in the traced process's files, which a replay cannot read",
		       ctx->cmd->name);
		return -EINVAL;
	}

	if (!strncmp(f->spec, "k:", 2) || !strchr(f->spec, ':')) {
		const char *p = strncmp(f->spec, "k:", 2) ? f->spec : f->spec + 2;

		if (!*p || strlen(p) >= sizeof(f->pattern) || strchr(p, ':')) {
			kt_err("invalid kernel pattern '%s': e.g. k:vfs_* or k:tcp_send*", f->spec);
			return -EINVAL;
		}
		strcpy(f->pattern, p);
		f->kernel = true;
		err = match_kernel(f);
		if (err)
			return err;
		/* what the plan probes for: the first function (kprobes exist, and on it) */
		snprintf(kfunc, sizeof(kfunc), "%s", f->knames[0]);
		kt_hook_keep(&hooks[0], 1U << KT_KPROBE);
		kt_meta_add(ctx, "pattern", f->spec);
		return 0;
	}
	if (!strncmp(f->spec, "u:", 2) || !strncmp(f->spec, "t:", 2)) {
		kt_err("'%s': funccount counts functions (BINARY:PATTERN or k:PATTERN); USDT probes are counted by `ktrace usdt`",
		       f->spec);
		return -EINVAL;
	}
	if (!kt_utarget_split(f->spec, f->binary, sizeof(f->binary), f->pattern,
			      sizeof(f->pattern))) {
		kt_err("invalid pattern '%s': BINARY:PATTERN ('c:getpp*')", f->spec);
		return -EINVAL;
	}
	err = kt_utarget_open(f->binary, (int)ctx->filter.tgid, &f->ut);
	if (!err)
		err = kt_utarget_match(f->ut, f->pattern, FUNCCOUNT_MAX, f->spec);
	if (err)
		return err == -EINVAL || err == -ENOMEM ? err : -ENOENT;
	err = resolve_ifuncs(ctx, f);
	if (err)
		return err;
	snprintf(ulabel, sizeof(ulabel), "%s:%s", f->ut->path, f->pattern);
	kt_hook_keep(&hooks[0], 1U << KT_UPROBE);
	kt_meta_add(ctx, "pattern", f->spec);
	kt_meta_add(ctx, "binary", f->ut->path);
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, funccount_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct funccount_bpf *skel = ctx->skel;
	struct funccount *f = ctx->priv;

	kt_plan_autoload_chosen(ctx);
	if (!f->kernel)
		bpf_map__set_max_entries(skel->maps.counts, (uint32_t)f->ut->n);
	else
		bpf_map__set_max_entries(skel->maps.kcounts, (uint32_t)f->nk);
	return 0;
}

static int attach(struct kt_ctx *ctx, const struct kt_hook *hook, const struct kt_alt *alt)
{
	struct funccount_bpf *skel = ctx->skel;
	struct funccount *f = ctx->priv;
	size_t n = f->kernel ? f->nk : f->ut->n;

	(void)hook;
	f->links = calloc(n, sizeof(*f->links));
	if (!f->links)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct bpf_link *l;
		const char *name;
		int err;

		if (f->kernel) {
			name = f->knames[i];
			l = bpf_program__attach_kprobe(skel->progs.k_count, false, name);
		} else {
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = i);

			name = f->ut->funcs[i].name;
			l = bpf_program__attach_uprobe_opts(
				skel->progs.u_count, ctx->filter.tgid ? (int)ctx->filter.tgid : -1,
				f->ut->fdpath, (size_t)f->ut->funcs[i].offset, &uo);
		}
		if (!l) {
			err = -errno;
			kt_err("attaching a %s to %s failed: %s%s", kt_attach_name(alt->type), name,
			       strerror(-err),
			       err == -EPERM || err == -EACCES ? " (needs CAP_BPF and CAP_PERFMON)" :
			       err == -EMFILE ? " (one file descriptor per function: narrow the pattern)" :
						"");
			return err;
		}
		f->links[f->nlinks++] = l;
	}
	kt_info("%zu probes attached", f->nlinks);
	return 0;
}

static int start(struct kt_ctx *ctx)
{
	struct funccount *f = ctx->priv;
	int err;

	if (!f->kernel)
		return 0;
	err = kt_ksyms_load(NULL, &f->ks);
	if (err)
		kt_err("cannot read /proc/kallsyms to name kernel functions: %s", strerror(-err));
	return err;
}

static int cmp_row(const void *a, const void *b)
{
	const struct fc_row *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Sum of each function's per-CPU counts, reset to zero. */
static int read_user(struct kt_ctx *ctx, struct fc_row *rows, size_t *nr)
{
	struct funccount_bpf *skel = ctx->skel;
	struct funccount *f = ctx->priv;
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.counts);
	uint64_t *v = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*v)) : NULL, *z;

	z = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*z)) : NULL;
	if (!v || !z) {
		free(v);
		free(z);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < f->ut->n; i++) {
		uint64_t s = 0;

		if (bpf_map_lookup_elem(fd, &i, v))
			continue;
		for (int c = 0; c < ncpu; c++)
			s += v[c];
		/* calls between the read and the reset are lost to this interval: a few at most */
		bpf_map_update_elem(fd, &i, z, BPF_ANY);
		if (s)
			rows[(*nr)++] = (struct fc_row){ f->ut->funcs[i].name, s };
	}
	free(v);
	free(z);
	return 0;
}

static int read_kernel(struct kt_ctx *ctx, struct fc_row *rows, size_t *nr)
{
	struct funccount_bpf *skel = ctx->skel;
	struct funccount *f = ctx->priv;
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.kcounts);
	uint64_t *v = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*v)) : NULL;
	uint64_t key, next, *prev = NULL;

	if (!v)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		const struct kt_ksym *sym;
		uint64_t s = 0;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, v))
			continue;
		for (int c = 0; c < ncpu; c++)
			s += v[c];
		/* the probed address is the function's (or just after its first instruction) */
		sym = f->ks ? kt_ksyms_lookup(f->ks, key - 1, NULL) : NULL;
		for (size_t i = 0; i < *nr; i++)
			if (sym && !strcmp(rows[i].name, sym->name)) {
				rows[i].n += s;
				s = 0;
			}
		if (s && *nr < f->nk)
			rows[(*nr)++] = (struct fc_row){ sym ? sym->name : "[unknown]", s };
	}
	/* delete after the walk, so that the walk sees every key once */
	while (!bpf_map_get_next_key(fd, NULL, &next))
		if (bpf_map_delete_elem(fd, &next))
			break;
	free(v);
	return 0;
}

static int drain(struct kt_ctx *ctx, bool final)
{
	static const struct kt_col cols[] = {
		{ "function", "FUNC", -40, 0 },
		{ "count", "COUNT", 12, KT_COL_COUNT },
	};
	struct funccount *f = ctx->priv;
	size_t n = f->kernel ? f->nk : f->ut->n, nr = 0;
	struct fc_row *rows = calloc(n ? n : 1, sizeof(*rows));
	int err;

	(void)final;
	if (!rows)
		return -ENOMEM;
	err = f->kernel ? read_kernel(ctx, rows, &nr) : read_user(ctx, rows, &nr);
	if (err) {
		kt_err("reading the counts failed: %s", strerror(-err));
		free(rows);
		return err;
	}
	kt_qsort(rows, nr, sizeof(*rows), cmp_row);
	if (f->top && nr > f->top)
		nr = f->top;
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	kt_table_begin(ctx->out, "funccount", "calls per function", cols, 2);
	for (size_t i = 0; i < nr; i++) {
		kt_table_row(ctx->out);
		kt_rec_str(ctx->out, rows[i].name, strlen(rows[i].name));
		kt_rec_u64(ctx->out, rows[i].n);
		kt_rec_end(ctx->out);
		ctx->counted += rows[i].n;
	}
	kt_table_end(ctx->out);
	free(rows);
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	struct funccount *f = ctx->priv;

	for (size_t i = 0; i < f->nlinks; i++)
		bpf_link__destroy(f->links[i]);
	free(f->links);
	f->links = NULL;
	f->nlinks = 0;
	for (size_t i = 0; i < f->nk; i++)
		free(f->knames[i]);
	free(f->knames);
	f->knames = NULL;
	f->nk = 0;
	kt_ksyms_free(f->ks);
	f->ks = NULL;
	kt_utarget_free(f->ut);
	f->ut = NULL;
}

const struct kt_cmd kt_cmd_funccount = {
	.name = "funccount",
	.summary = "Calls per function for a pattern of user or kernel functions",
	.doc = "Count the calls of every function matching PATTERN, in the kernel, and print "
	       "them most first every interval seconds, count times, or once at Ctrl-C. "
	       "PATTERN is BINARY:GLOB (a path, or a library name: c for libc) or k:GLOB for "
	       "kernel functions; * ? and [...] are wildcards (quote them for the shell). "
	       "At most 1000 functions, one probe each. "
	       "Kernel memory: 8 bytes per function per CPU.\v"
	       "Examples:\n"
	       "  ktrace funccount 'c:pthread_mutex_*' -p 185   # one process's mutex calls\n"
	       "  ktrace funccount -d 10 'c:mall*'              # every process, 10 seconds\n"
	       "  ktrace funccount --top 10 'k:vfs_*' 1         # kernel, the 10 most, every second",
	.args_doc = "PATTERN [interval [count]]",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the thread that calls the function",
	.kind = KT_SUMMARY,
	.pos = KT_POS_INTERVAL,
	.lead_args = 1,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct funccount),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.attach = attach,
	.start = start,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Counting function calls... Hit Ctrl-C to end.",
};
