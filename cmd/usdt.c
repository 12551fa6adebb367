// SPDX-License-Identifier: GPL-2.0
/*
 * usdt: USDT probes of user programs (`ktrace usdt --list -p 185`,
 * `ktrace usdt -p 185 'u:/usr/sbin/mysqld:mysql:query__*'`,
 * `ktrace usdt --latency u:BIN:mysql:query__start u:BIN:mysql:query__done`).
 *
 * Lists the probes of a binary or of every file a process maps, from their
 * .note.stapsdt (core/kt_elf.h), without loading anything into the kernel.
 * Otherwise attaches to each matching probe with libbpf's USDT support
 * (uprobes; a probe's is-enabled semaphore is raised through the uprobe
 * reference counter, so guarded probes fire) and counts hits per probe, or
 * histograms an argument (--arg N), or times per thread from one probe to
 * another (--latency START END).
 * Cost: one uprobe trap per probe hit (microseconds: see ktrace-funclat(8)).
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "features.h"
#include "hist.h"
#include "kt_elf.h"
#include "ktrace.h"
#include "output.h"
#include "plan.h"
#include "stacks_out.h"
#include "usdt.h"
#include "usdt.skel.h"
#include "tape.h"
#include "utarget.h"
#include "util.h"

enum { OPT_LIST = 0x2000, OPT_ARG, OPT_LATENCY, OPT_USECS, OPT_NSECS };

struct probe {
	char *provider, *name, *args;
	uint64_t semaphore;
	unsigned sites;
	unsigned role;
	char label[160];
};

struct usdt {
	const char *spec;  /* the positional: the probes (END with --latency) */
	const char *start; /* --latency START */
	bool list;
	unsigned arg;
	const char *unit;
	uint64_t div;
	struct kt_utarget *ut;
	struct probe probes[USDT_MAX];
	size_t n;
	struct bpf_link *links[USDT_MAX];
	size_t nlinks;
	uint64_t taken[USDT_NMISS];
};

static const struct argp_option options[] = {
	{ "list", OPT_LIST, NULL, 0,
	  "List the probes of BINARY (or of every file process -p maps): provider, name, "
	  "sites, semaphore, arguments",
	  0 },
	{ "arg", OPT_ARG, "N", 0, "Histogram of the Nth argument (1-12) of each probe", 0 },
	{ "latency", OPT_LATENCY, "START", 0,
	  "Time per thread from probe START to the probe given as the target (the END)", 0 },
	{ "milliseconds", 'm', NULL, 0, "--latency in milliseconds (default: microseconds)", 0 },
	{ "usecs", OPT_USECS, NULL, 0, "--latency in microseconds (the default)", 0 },
	{ "nsecs", OPT_NSECS, NULL, 0, "--latency in nanoseconds", 0 },
	{},
};

static char ulabel[4800] = "u:BINARY:PROVIDER:PROBE";

static struct kt_hook hooks[] = {
	{ "probe", false, { { KT_UPROBE, ulabel, "u_probe" } } },
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct usdt *u = ctx->priv;

	switch (key) {
	case OPT_LIST:
		u->list = true;
		return 0;
	case OPT_ARG:
		u->arg = (unsigned)kt_arg_u64(state, "--arg", arg, 1, 12);
		return 0;
	case OPT_LATENCY:
		u->start = arg;
		return 0;
	case 'm':
	case OPT_USECS:
	case OPT_NSECS:
		if (u->unit && strcmp(u->unit, key == 'm' ? "msecs" : key == OPT_USECS ? "usecs" :
								       "nsecs"))
			argp_error(state, "-m, --usecs and --nsecs exclude each other: choose one unit");
		u->unit = key == 'm' ? "msecs" : key == OPT_USECS ? "usecs" : "nsecs";
		u->div = key == 'm' ? 1000000 : key == OPT_USECS ? 1000 : 1;
		return 0;
	case ARGP_KEY_ARG:
		if (state->arg_num != 0)
			return ARGP_ERR_UNKNOWN;
		u->spec = arg;
		return 0;
	case ARGP_KEY_END:
		if (!u->spec && !(u->list && ctx->filter.tgid))
			argp_error(state, u->list ? "--list needs a BINARY or -p PID" :
						    "missing the probes: u:BINARY:PROVIDER:PROBE");
		if (u->list && (u->arg || u->start))
			argp_error(state, "--list excludes --arg and --latency");
		if (u->arg && u->start)
			argp_error(state, "--arg and --latency exclude each other");
		return ARGP_ERR_UNKNOWN;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* "[u:]BINARY:PROVIDER:PROBE" -> its three parts (copies into the buffers). */
static bool split_spec(const char *spec, char *bin, size_t bsz, char *prov, char *name, size_t nsz)
{
	const char *p2, *p1;

	if (!strncmp(spec, "u:", 2))
		spec += 2;
	p2 = strrchr(spec, ':');
	if (!p2 || p2 == spec)
		return false;
	for (p1 = p2 - 1; p1 > spec && *p1 != ':'; p1--)
		;
	if (p1 == spec || (size_t)(p1 - spec) >= bsz || (size_t)(p2 - p1 - 1) >= nsz ||
	    strlen(p2 + 1) >= nsz || p2 == p1 + 1 || !p2[1])
		return false;
	snprintf(bin, bsz, "%.*s", (int)(p1 - spec), spec);
	snprintf(prov, nsz, "%.*s", (int)(p2 - p1 - 1), p1 + 1);
	snprintf(name, nsz, "%s", p2 + 1);
	return true;
}

struct add_arg {
	struct usdt *u;
	const char *prov, *name;
	unsigned role;
	int err;
};

static int add_note(const struct kt_elf_sdt *n, void *arg)
{
	struct add_arg *a = arg;
	struct usdt *u = a->u;
	struct probe *p;

	if (fnmatch(a->prov, n->provider, 0) || fnmatch(a->name, n->name, 0))
		return 0;
	for (size_t i = 0; i < u->n; i++) {
		p = &u->probes[i];
		if (!strcmp(p->provider, n->provider) && !strcmp(p->name, n->name) &&
		    p->role == a->role) {
			p->sites++;
			return 0;
		}
	}
	if (u->n == USDT_MAX)
		return -E2BIG;
	p = &u->probes[u->n];
	p->provider = strdup(n->provider);
	p->name = strdup(n->name);
	p->args = strdup(n->args);
	if (!p->provider || !p->name || !p->args)
		return -ENOMEM;
	p->semaphore = n->semaphore;
	p->sites = 1;
	p->role = a->role;
	snprintf(p->label, sizeof(p->label), "%s:%s", n->provider, n->name);
	u->n++;
	return 0;
}

/* Add the probes of u->ut matching prov:name with role; an error (printed) when none does. */
static int add_probes(struct usdt *u, const char *prov, const char *name, unsigned role,
		      const char *spec)
{
	struct add_arg a = { u, prov, name, role, 0 };
	size_t before = u->n;
	uint64_t base;
	int err = kt_elf_scan_sdt(u->ut->fd, add_note, &a, &base);

	if (err == -E2BIG) {
		kt_err("%s: more than %d probes match: narrow the pattern", spec, USDT_MAX);
		return -EINVAL;
	}
	if (err) {
		kt_err("%s: reading the USDT notes of %s failed: %s", spec, u->ut->path, strerror(-err));
		return err;
	}
	if (u->n == before) {
		kt_err("%s: no USDT probe %s:%s in %s (looked in its .note.stapsdt; `ktrace usdt --list %s` lists them)",
		       spec, prov, name, u->ut->path, u->ut->path);
		return -ENOENT;
	}
	return 0;
}

static int validate(struct kt_ctx *ctx)
{
	struct usdt *u = ctx->priv;
	char bin[4096], prov[256], name[256], bin2[4096], prov2[256], name2[256];
	int err;

	/* a tape holds the kernel's data, not the traced files this command resolves names in */
	if (ctx->o.record || kt_tape_replaying()) {
		kt_err("%s: --record and replay are not supported: the functions and probes are found in the traced process's files, which a replay cannot read",
		       ctx->cmd->name);
		return -EINVAL;
	}

	if (!u->unit) {
		u->unit = "usecs";
		u->div = 1000;
	}
	if (u->list)
		return 1; /* run() lists: nothing to load */
	if (!split_spec(u->spec, bin, sizeof(bin), prov, name, sizeof(prov))) {
		kt_err("invalid probe '%s': u:BINARY:PROVIDER:PROBE (PROVIDER and PROBE may have * ? [...])",
		       u->spec);
		return -EINVAL;
	}
	err = kt_utarget_open(bin, (int)ctx->filter.tgid, &u->ut);
	if (err)
		return err == -ENOMEM ? err : -ENOENT;
	if (u->start) {
		/* START: a whole spec, PROVIDER:PROBE or PROBE of END's binary (and provider) */
		const char *s = strncmp(u->start, "u:", 2) ? u->start : u->start + 2;
		const char *c = strchr(s, ':');

		if (c && strchr(c + 1, ':')) {
			if (!split_spec(s, bin2, sizeof(bin2), prov2, name2, sizeof(prov2))) {
				kt_err("invalid --latency '%s': u:BINARY:PROVIDER:PROBE", u->start);
				return -EINVAL;
			}
			if (strcmp(bin2, bin)) {
				kt_err("--latency %s: START and END must be probes of one binary (%s)",
				       u->start, bin);
				return -EINVAL;
			}
		} else if (c) {
			snprintf(prov2, sizeof(prov2), "%.*s", (int)(c - s), s);
			snprintf(name2, sizeof(name2), "%s", c + 1);
		} else {
			snprintf(prov2, sizeof(prov2), "%s", prov);
			snprintf(name2, sizeof(name2), "%s", s);
		}
		if (strpbrk(prov2, "*?[") || strpbrk(name2, "*?[") || strpbrk(prov, "*?[") ||
		    strpbrk(name, "*?[")) {
			kt_err("--latency takes two single probes, without wildcards");
			return -EINVAL;
		}
		err = add_probes(u, prov2, name2, USDT_START, u->start);
		if (!err)
			err = add_probes(u, prov, name, USDT_END, u->spec);
	} else {
		err = add_probes(u, prov, name, USDT_COUNT, u->spec);
	}
	if (err)
		return err == -EINVAL || err == -ENOMEM ? err : -ENOENT;
	snprintf(ulabel, sizeof(ulabel), "u:%s:%s:%s", u->ut->path, prov, name);
	kt_meta_add(ctx, "binary", u->ut->path);
	return 0;
}

/* --list: the probes of one file. */
static int list_file(struct kt_ctx *ctx, const char *path, int pid)
{
	static const struct kt_col cols[] = {
		{ "binary", "BINARY", -28, 0 }, { "provider", "PROVIDER", -12, 0 },
		{ "probe", "PROBE", -20, 0 },	{ "sites", "SITES", 5, 0 },
		{ "semaphore", "SEMAPHORE", -18, 0 }, { "args", "ARGS", 0, 0 },
	};
	struct usdt *u = ctx->priv;
	struct kt_utarget *t;
	int err = kt_utarget_open(path, pid, &t);

	if (err)
		return err;
	u->ut = t;
	u->n = 0;
	err = add_probes(u, "*", "*", USDT_COUNT, path);
	u->ut = NULL;
	if (!err) {
		kt_table_begin(ctx->out, "usdt_probes", NULL, cols, sizeof(cols) / sizeof(cols[0]));
		for (size_t i = 0; i < u->n; i++) {
			const struct probe *p = &u->probes[i];
			char sem[24] = "-";

			if (p->semaphore)
				snprintf(sem, sizeof(sem), "0x%" PRIx64, p->semaphore);
			kt_table_row(ctx->out);
			kt_rec_str(ctx->out, t->path, sizeof(t->path));
			kt_rec_str(ctx->out, p->provider, strlen(p->provider));
			kt_rec_str(ctx->out, p->name, strlen(p->name));
			kt_rec_u64(ctx->out, p->sites);
			kt_rec_str(ctx->out, sem, sizeof(sem));
			kt_rec_str(ctx->out, p->args, strlen(p->args));
			kt_rec_end(ctx->out);
		}
		kt_table_end(ctx->out);
	}
	for (size_t i = 0; i < u->n; i++) {
		free(u->probes[i].provider);
		free(u->probes[i].name);
		free(u->probes[i].args);
	}
	u->n = 0;
	kt_utarget_free(t);
	return err;
}

static int any_note(const struct kt_elf_sdt *n, void *arg)
{
	(void)n;
	(void)arg;
	return 1;
}

static bool has_probes(const char *path, int pid)
{
	struct kt_utarget *t;
	uint64_t base;
	bool yes;

	/* a file that cannot be read is not worth an error here */
	if (kt_utarget_open_quiet(path, pid, &t))
		return false;
	yes = kt_elf_scan_sdt(t->fd, any_note, NULL, &base) == 1;
	kt_utarget_free(t);
	return yes;
}

/* --list -p PID: every file the process maps (the ones without probes say nothing). */
static int run(struct kt_ctx *ctx)
{
	struct usdt *u = ctx->priv;
	char mp[64], line[4352], seen[64][1024];
	size_t nseen = 0;
	int pid = (int)ctx->filter.tgid, found = 0;
	FILE *f;

	if (u->spec) {
		const char *b = strncmp(u->spec, "u:", 2) ? u->spec : u->spec + 2;

		return list_file(ctx, b, pid) ? KT_EXIT_FAIL : KT_EXIT_OK;
	}
	snprintf(mp, sizeof(mp), "/proc/%d/maps", pid);
	f = fopen(mp, "re");
	if (!f) {
		kt_err("cannot read %s: %s", mp, strerror(errno));
		return KT_EXIT_FAIL;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/'), *nl;
		bool dup = false;

		if (!p || strstr(p, " (deleted)"))
			continue;
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		for (size_t i = 0; i < nseen; i++)
			dup = dup || !strcmp(seen[i], p);
		if (dup || strlen(p) >= sizeof(seen[0]) || nseen == 64)
			continue;
		strcpy(seen[nseen++], p);
		/* most files have no probes: only the ones that have are listed */
		if (!has_probes(p, pid))
			continue;
		if (!list_file(ctx, p, pid))
			found++;
	}
	fclose(f);
	if (!found)
		kt_err("process %d maps no file with USDT probes", pid);
	return KT_EXIT_OK;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, usdt_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct usdt_bpf *skel = ctx->skel;
	struct usdt *u = ctx->priv;

	skel->rodata->cfg_arg = u->arg;
	skel->rodata->cfg_div = u->div;
	return 0;
}

static int attach(struct kt_ctx *ctx, const struct kt_hook *hook, const struct kt_alt *alt)
{
	struct usdt_bpf *skel = ctx->skel;
	struct usdt *u = ctx->priv;

	(void)hook;
	(void)alt;
	for (size_t i = 0; i < u->n; i++) {
		const struct probe *p = &u->probes[i];
		LIBBPF_OPTS(bpf_usdt_opts, uo,
			    .usdt_cookie = (uint64_t)i | ((uint64_t)p->role << USDT_ROLE_SHIFT));
		struct bpf_link *l;
		int err;

		l = bpf_program__attach_usdt(skel->progs.u_probe,
					     ctx->filter.tgid ? (int)ctx->filter.tgid : -1,
					     u->ut->fdpath, p->provider, p->name, &uo);
		if (!l) {
			err = -errno;
			kt_err("attaching to USDT probe %s of %s failed: %s%s", p->label, u->ut->path,
			       strerror(-err),
			       err == -EPERM || err == -EACCES ? " (needs CAP_BPF and CAP_PERFMON)" :
								 " (-v shows libbpf's reason)");
			return err;
		}
		u->links[u->nlinks++] = l;
	}
	return 0;
}

static int cmp_count(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? 1 : x[0] > y[0] ? -1 : (x[1] > y[1]) - (x[1] < y[1]);
}

static uint64_t sum_percpu(int fd, uint32_t key, uint64_t *v, int ncpu, bool reset)
{
	uint64_t s = 0;

	if (bpf_map_lookup_elem(fd, &key, v))
		return 0;
	for (int c = 0; c < ncpu; c++)
		s += v[c];
	if (reset) {
		memset(v, 0, (size_t)ncpu * sizeof(*v));
		bpf_map_update_elem(fd, &key, v, BPF_ANY);
	}
	return s;
}

static void out_hist(struct kt_ctx *ctx, uint32_t idx, const char *unit, const struct kt_kv *k,
		     size_t nk)
{
	struct usdt_bpf *skel = ctx->skel;
	uint64_t slots[KT_MAX_SLOTS] = {};
	static const uint64_t none[KT_MAX_SLOTS];
	struct kt_hist h = { KT_HIST_LOG2, 0, 0, KT_MAX_SLOTS, slots };
	int fd = bpf_map__fd(skel->maps.hists);

	if (bpf_map_lookup_elem(fd, &idx, slots))
		return;
	bpf_map_update_elem(fd, &idx, none, BPF_ANY);
	kt_out_hist(ctx->out, unit, k, nk, &h, ctx->interval_start_ns, kt_now_mono());
}

static int drain(struct kt_ctx *ctx, bool final)
{
	static const struct kt_col cols[] = {
		{ "probe", "PROBE", -40, 0 },
		{ "count", "COUNT", 12, KT_COL_COUNT },
	};
	struct usdt_bpf *skel = ctx->skel;
	struct usdt *u = ctx->priv;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*v)) : NULL;
	uint64_t (*rows)[2] = calloc(u->n ? u->n : 1, sizeof(*rows));
	size_t nr = 0;
	char unit[16];

	(void)final;
	if (!v || !rows) {
		free(v);
		free(rows);
		return -ENOMEM;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	if (u->start) {
		struct kt_kv k[2] = { { "start", u->probes[0].label, 0 },
				      { "end", u->probes[u->n - 1].label, 0 } };

		out_hist(ctx, 0, u->unit, k, 2);
	} else {
		for (size_t i = 0; i < u->n; i++) {
			uint64_t n = sum_percpu(bpf_map__fd(skel->maps.counts), (uint32_t)i, v, ncpu,
						true);

			if (n) {
				rows[nr][0] = n;
				rows[nr][1] = i;
				nr++;
			}
			if (u->arg) {
				struct kt_kv k[1] = { { "probe", u->probes[i].label, 0 } };

				snprintf(unit, sizeof(unit), "arg%u", u->arg);
				out_hist(ctx, (uint32_t)i, unit, k, 1);
			}
		}
		kt_qsort(rows, nr, sizeof(*rows), cmp_count);
		kt_table_begin(ctx->out, "usdt", "hits per probe", cols, 2);
		for (size_t i = 0; i < nr; i++) {
			const char *l = u->probes[rows[i][1]].label;

			kt_table_row(ctx->out);
			kt_rec_str(ctx->out, l, strlen(l));
			kt_rec_u64(ctx->out, rows[i][0]);
			kt_rec_end(ctx->out);
			ctx->counted += rows[i][0];
		}
		kt_table_end(ctx->out);
	}
	for (uint32_t k = 0; k < USDT_NMISS; k++) {
		uint64_t s = sum_percpu(bpf_map__fd(skel->maps.misses), k, v, ncpu, false);

		rows[0][0] = s - u->taken[k];
		u->taken[k] = s;
		if (k == USDT_NO_ARG)
			kt_out_stacks_lost(ctx->out, "argument values", rows[0][0],
					   "the probe has fewer arguments than --arg asks for",
					   "see its arguments with --list");
		else
			kt_out_stacks_lost(ctx->out, "latency starts", rows[0][0],
					   "ktrace's per-thread table (16384 threads) is full",
					   "filter with -p or -t");
	}
	free(v);
	free(rows);
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	struct usdt *u = ctx->priv;

	for (size_t i = 0; i < u->nlinks; i++)
		bpf_link__destroy(u->links[i]);
	u->nlinks = 0;
	for (size_t i = 0; i < u->n; i++) {
		free(u->probes[i].provider);
		free(u->probes[i].name);
		free(u->probes[i].args);
	}
	u->n = 0;
	kt_utarget_free(u->ut);
	u->ut = NULL;
}

const struct kt_cmd kt_cmd_usdt = {
	.name = "usdt",
	.summary = "USDT probes of user programs: list, count, argument histograms, latency",
	.doc = "List the USDT (SystemTap SDT) probes of a binary or a process (--list), or "
	       "count the hits of the probes matching u:BINARY:PROVIDER:PROBE (wildcards in "
	       "PROVIDER and PROBE), or histogram an argument (--arg N), or time per thread "
	       "from one probe to another (--latency START END), every interval seconds, "
	       "count times, or once at Ctrl-C. Probes guarded by a semaphore (is-enabled "
	       "probes) are enabled while ktrace runs. At most 256 probes. Kernel memory: "
	       "16384 threads x 8 bytes (--latency), 512 bytes per probe (--arg).\v"
	       "Examples:\n"
	       "  ktrace usdt --list /usr/sbin/mysqld        # its probes and their arguments\n"
	       "  ktrace usdt --list -p 185                  # every file process 185 maps\n"
	       "  ktrace usdt -p 185 'u:/usr/sbin/mysqld:mysql:query__*' 5\n"
	       "  ktrace usdt --arg 2 u:c:libc:memory_mallopt\n"
	       "  ktrace usdt -m --latency mysql:query__start u:/usr/sbin/mysqld:mysql:query__done",
	.args_doc = "u:BINARY:PROVIDER:PROBE [interval [count]]",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM,
	.filter_task = "the thread that hits the probe",
	.kind = KT_SUMMARY,
	.pos = KT_POS_INTERVAL,
	.lead_args = 1,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct usdt),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.attach = attach,
	.drain = drain,
	.finish = finish,
	.run = run,
	.tracing_msg = "Tracing USDT probes... Hit Ctrl-C to end.",
};
