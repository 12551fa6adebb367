// SPDX-License-Identifier: GPL-2.0
/*
 * tcpconnect: active TCP connects and their outcome (`ktrace tcpconnect`).
 *
 * One line per connect attempt once it has ended: the task that called
 * connect(), the family, local and remote address and port, the time from
 * SYN_SENT to ESTABLISHED or to the failure, and the outcome: established,
 * refused (a reset answered the SYN), timed_out (the SYN retries ran out),
 * closed (user space closed the socket first) or another error by name.
 * Hooks: sock:inet_sock_set_state (SYN_SENT entered and left) and
 * tcp:tcp_receive_reset, each tp_btf -> raw_tp -> tracepoint.
 * With -c, connects are counted per destination in the kernel instead
 * (a hash of 10240 destinations), with their outcomes and mean latency.
 * Cost: one hash update per connect and a lookup per TCP state change; one
 * ring buffer record per finished connect (or a hash update with -c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "tcpconnect.h"
#include "tcpconnect.skel.h"
#include "util.h"

struct tcpconnect {
	bool failed;
	char lost_why[64];
};

static const struct argp_option options[] = {
	{ "failed", 'x', NULL, 0, "Only failed connects", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct tcpconnect *t = ctx->priv;

	(void)arg;
	switch (key) {
	case 'x':
		t->failed = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int validate(struct kt_ctx *ctx)
{
	if (ctx->o.summary) {
		/* no records: the closing line says what the kernel counted */
		ctx->counted_what = "connects";
		ctx->lost_fix = "print and empty it more often (-i SECS) or narrow the connects "
				"(-x, -4/-6, --rport, -p)";
	}
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, tcpconnect_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct tcpconnect_bpf *skel = ctx->skel;
	struct tcpconnect *t = ctx->priv;

	skel->rodata->cfg_failed = t->failed;
	skel->rodata->cfg_count = ctx->o.summary;
	if (ctx->o.summary) {
		snprintf(t->lost_why, sizeof(t->lost_why),
			 "the kernel's destination table (%u entries) was full",
			 bpf_map__max_entries(skel->maps.counts));
		ctx->lost_why = t->lost_why;
	}
	return 0;
}

static const struct kt_col cols[] = {
	{ "pid", "PID", 7, 0 },
	{ "comm", "COMM", -16, 0 },
	{ "ip", "IP", 2, 0 },
	{ "laddr_port", "LADDR:LPORT", -28, KT_COL_NOJSON },
	{ "raddr_port", "RADDR:RPORT", -28, KT_COL_NOJSON },
	{ "laddr", "", 0, KT_COL_HIDDEN },
	{ "lport", "", 0, KT_COL_HIDDEN },
	{ "raddr", "", 0, KT_COL_HIDDEN },
	{ "rport", "", 0, KT_COL_HIDDEN },
	{ "latency_ms", "LAT(ms)", 9, 0 },
	{ "outcome", "OUTCOME", 0, 0 },
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

/* -c: one row per destination */
static const struct kt_col count_cols[] = {
	{ "ip", "IP", 2, 0 },
	{ "raddr_port", "RADDR:RPORT", -40, KT_COL_NOJSON },
	{ "raddr", "", 0, KT_COL_HIDDEN },
	{ "rport", "", 0, KT_COL_HIDDEN },
	{ "connects", "CONNECTS", 9, 0 },
	{ "established", "ESTAB", 7, 0 },
	{ "refused", "REFUSED", 8, 0 },
	{ "timed_out", "TIMEDOUT", 9, 0 },
	{ "other", "OTHER", 6, 0 },
	{ "avg_latency_ms", "AVG_LAT(ms)", 12, 0 },
};
#define NCOUNT_COLS (sizeof(count_cols) / sizeof(count_cols[0]))

static int start(struct kt_ctx *ctx)
{
	if (ctx->o.summary) {
		if (!ctx->o.interval_s)
			kt_out_text(ctx->out, "Counting... results at exit.\n");
		return 0;
	}
	kt_out_header(ctx->out, cols, NCOLS);
	return 0;
}

static void fmt_addr(uint16_t family, const uint8_t *a, char *buf, size_t sz)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)sz))
		snprintf(buf, sz, "?");
}

static void rec_endpoint(struct kt_out *out, uint16_t family, const char *addr, uint16_t port)
{
	char ep[INET6_ADDRSTRLEN + 16];

	snprintf(ep, sizeof(ep), family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, port);
	kt_rec_str(out, ep, sizeof(ep));
}

/* The outcome's name; its raw number is the errno (0 when established). */
static const char *outcome_name(const struct tcpconnect_event *e)
{
	const char *n;

	if (e->established)
		return "established";
	if (e->err == ECONNREFUSED || (!e->err && (e->flags & TC_F_RESET)))
		return "refused";
	if (e->err == ETIMEDOUT)
		return "timed_out";
	if (!e->err)
		return "closed";
	n = kt_errno_name(e->err);
	return n ? n : "error";
}

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct tcpconnect_event *e = data;
	struct kt_out *out = ctx->out;
	char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN];

	(void)size;
	fmt_addr(e->family, e->saddr, la, sizeof(la));
	fmt_addr(e->family, e->daddr, ra, sizeof(ra));
	kt_rec_begin(out, "event", cols, NCOLS, e->hdr.ts);
	kt_rec_u64(out, e->hdr.pid);
	kt_rec_str(out, e->hdr.comm, sizeof(e->hdr.comm));
	kt_rec_u64(out, e->family == AF_INET6 ? 6 : 4);
	rec_endpoint(out, e->family, la, e->lport);
	rec_endpoint(out, e->family, ra, e->rport);
	kt_rec_str(out, la, sizeof(la));
	kt_rec_u64(out, e->lport);
	kt_rec_str(out, ra, sizeof(ra));
	kt_rec_u64(out, e->rport);
	kt_rec_f64(out, (double)e->latency_ns / 1e6, 3);
	kt_rec_enum(out, outcome_name(e), e->established ? 0 : e->err);
	kt_rec_end(out);
	return 0;
}

struct dest_entry {
	struct tcpconnect_dest k;
	struct tcpconnect_count c;
};

static int cmp_connects(const void *a, const void *b)
{
	const struct dest_entry *x = a, *y = b;

	if (x->c.connects != y->c.connects)
		return x->c.connects < y->c.connects ? 1 : -1;
	return memcmp(&x->k, &y->k, sizeof(x->k));
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct tcpconnect_bpf *skel = ctx->skel;
	struct kt_out *out = ctx->out;
	struct dest_entry *e = NULL;
	char ra[INET6_ADDRSTRLEN];
	int n;

	(void)final;
	if (!ctx->o.summary)
		return 0;
	ctx->lost += kt_map_take_percpu_u64(bpf_map__fd(skel->maps.misses));
	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.counts), struct dest_entry, k, c, true,
			   cmp_connects, &e);
	if (n < 0) {
		kt_err("reading the connect counts failed: %s", strerror(-n));
		free(e);
		return n;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(out);
	kt_table_begin(out, "connects", "Connects per destination:", count_cols, NCOUNT_COLS);
	for (size_t i = 0; i < (size_t)n; i++) {
		const struct tcpconnect_dest *k = &e[i].k;
		const struct tcpconnect_count *c = &e[i].c;

		fmt_addr(k->family, k->daddr, ra, sizeof(ra));
		kt_table_row(out);
		kt_rec_u64(out, k->family == AF_INET6 ? 6 : 4);
		rec_endpoint(out, k->family, ra, k->rport);
		kt_rec_str(out, ra, sizeof(ra));
		kt_rec_u64(out, k->rport);
		kt_rec_u64(out, c->connects);
		kt_rec_u64(out, c->established);
		kt_rec_u64(out, c->refused);
		kt_rec_u64(out, c->timed_out);
		kt_rec_u64(out, c->other);
		kt_rec_f64(out, c->connects ? (double)c->latency_ns / (double)c->connects / 1e6 : 0, 3);
		kt_rec_end(out);
		ctx->counted += c->connects;
	}
	kt_table_end(out);
	free(e);
	return 0;
}

#define TP3(tp, cls, prog)                                                                   \
	{ { KT_TP_BTF, tp, prog "_btf" },                                                          \
	  { KT_RAW_TP, tp, prog "_raw" },                                                          \
	  { KT_TRACEPOINT, cls "/" tp, prog "_tp" } }

static const struct kt_hook hooks[] = {
	{ "sock_state", false, TP3("inet_sock_set_state", "sock", "state") },
	{ "receive_reset", true, TP3("tcp_receive_reset", "tcp", "reset") },
};

const struct kt_cmd kt_cmd_tcpconnect = {
	.name = "tcpconnect",
	.summary = "Active TCP connects with their latency and outcome",
	.doc = "Trace active TCP connects: one line per connect attempt when it ends, with the "
	       "task that called connect(), the local and remote address and port, the time "
	       "from the SYN to the handshake's end and the outcome: established, refused (a "
	       "reset answered), timed_out (the SYN retries ran out), closed (closed by the "
	       "caller first) or another error by name. With -c, count connects per destination "
	       "in the kernel instead (up to 10240 destinations, about 1.3 MB).\v"
	       "Examples:\n"
	       "  ktrace tcpconnect                 # every connect\n"
	       "  ktrace tcpconnect -x              # only failed connects\n"
	       "  ktrace tcpconnect -p 1234         # connects made by PID 1234\n"
	       "  ktrace tcpconnect -6 --rport 443  # IPv6 connects to port 443\n"
	       "  ktrace tcpconnect -c 10           # connects per destination every 10 s\n"
	       "  ktrace tcpconnect -j              # as JSON Lines",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM | KT_F_FAMILY |
		   KT_F_PORTS,
	.filter_task = "the task that calls connect()",
	.summary_mode = KT_SUM_KERNEL,
	.summary_help = "Count connects per destination (address and port) in the kernel, with "
			"their outcomes and mean latency, instead of printing each one; print the "
			"counts every interval or at the end",
	.kind = KT_STREAM,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct tcpconnect),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.start = start,
	.handle = handle,
	.min_record = sizeof(struct tcpconnect_event),
	.drain = drain,
	.tracing_msg = "Tracing TCP connects... Hit Ctrl-C to end.",
};
