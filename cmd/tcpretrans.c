// SPDX-License-Identifier: GPL-2.0
/*
 * tcpretrans: TCP retransmits as they happen (`ktrace tcpretrans`), or
 * counted per flow (`-c`).
 *
 * One record per retransmitted segment (R), retransmitted SYN-ACK (S) and,
 * with --lossprobe, tail loss probe (L); with --resets also every reset sent or
 * received. Each names the flow (addresses, ports), the TCP state and, only
 * when the event ran in the socket owner's process context, the task: most
 * retransmits run from timers or softirq, where the interrupted task has
 * nothing to do with the socket, so the PID is shown as "-" (JSON null).
 * Hooks: tcp:tcp_retransmit_skb, tcp:tcp_retransmit_synack (tp_btf -> raw_tp
 * -> tracepoint), tcp_send_loss_probe (fentry -> kprobe; optional: no
 * tracepoint exists), tcp:tcp_send_reset and tcp:tcp_receive_reset
 * (--resets), sock:inet_sock_set_state (-p, to learn the process's sockets).
 * Cost: a few reads and one ring buffer record per event (a hash update in
 * count mode); nothing on the fast path of healthy connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "btf_enum.h"
#include "features.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "tcpretrans.h"
#include "tcpretrans.skel.h"
#include "util.h"

#define MAX_COLS 20
#define MAX_REASONS 128

struct tcpretrans {
	bool lossprobe, seq, resets;
	char lost_why[64];
	struct kt_col cols[MAX_COLS];
	size_t ncols;
	char *reasons[MAX_REASONS]; /* enum sk_rst_reason names from the kernel's BTF */
};

enum {
	OPT_RESETS = 0x2000,
	OPT_LOSSPROBE,
};

static const struct argp_option options[] = {
	{ "lossprobe", OPT_LOSSPROBE, NULL, 0, "Include tail loss probes (needs fentry or kprobes)",
	  0 },
	{ "sequence", 's', NULL, 0, "Show the sequence number of retransmitted segments", 0 },
	{ "resets", OPT_RESETS, NULL, 0, "Also show TCP resets sent and received", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct tcpretrans *t = ctx->priv;

	switch (key) {
	case OPT_LOSSPROBE:
		t->lossprobe = true;
		break;
	case 's':
		t->seq = true;
		break;
	case OPT_RESETS:
		t->resets = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int validate(struct kt_ctx *ctx)
{
	struct tcpretrans *t = ctx->priv;

	if (t->seq && ctx->o.summary) {
		kt_err("-s shows each segment's sequence number: it does not go with -c");
		return -EINVAL;
	}
	if (ctx->o.summary) {
		/* no records: the closing line says what the kernel counted, not "events" */
		ctx->counted_what = t->resets ? "retransmits and resets" : "retransmits";
		ctx->lost_fix = "print and empty it more often (-i SECS) or narrow the flows "
				"(-4/-6, --lport, --rport, -p)";
	}
	if (!t->lossprobe)
		kt_hook_disable(ctx, "tlp");
	if (!t->resets) {
		kt_hook_disable(ctx, "send_reset");
		kt_hook_disable(ctx, "receive_reset");
	}
	if (!ctx->filter.tgid)
		kt_hook_disable(ctx, "sock_state");
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, tcpretrans_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct tcpretrans_bpf *skel = ctx->skel;
	struct tcpretrans *t = ctx->priv;

	skel->rodata->cfg_count = ctx->o.summary;
	if (ctx->o.summary) {
		snprintf(t->lost_why, sizeof(t->lost_why), "the kernel's flow table (%u flows) was full",
			 bpf_map__max_entries(skel->maps.counts));
		ctx->lost_why = t->lost_why;
	}
	skel->rodata->cfg_seq = t->seq;
	/* 6.10 added tcp_retransmit_skb's err and tcp_send_reset's reason arguments */
	skel->rodata->cfg_retrans_err = kt_btf_tp_nargs("tcp_retransmit_skb") >= 3;
	skel->rodata->cfg_reset_reason = kt_btf_tp_nargs("tcp_send_reset") >= 3;
	/* reset reasons are renumbered between releases: name them as this kernel does */
	if (t->resets)
		kt_btf_enum_names("sk_rst_reason", "SK_RST_REASON_", t->reasons, MAX_REASONS);
	return 0;
}

static const char *state_name(unsigned s)
{
	static const char *const names[] = {
		NULL,	     "ESTABLISHED", "SYN_SENT", "SYN_RECV",   "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT",   "CLOSE",    "CLOSE_WAIT", "LAST_ACK",
		"LISTEN",    "CLOSING",	    "NEW_SYN_RECV", "BOUND_INACTIVE",
	};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

static const char *const kind_names[TR_KIND_N] = {
	[TR_RETRANS] = "R", [TR_SYNACK] = "S", [TR_TLP] = "L",
	[TR_RST_SENT] = "RST_SENT", [TR_RST_RECV] = "RST_RECV",
};
static const char *const kind_arrows[TR_KIND_N] = {
	[TR_RETRANS] = "R>", [TR_SYNACK] = "S>", [TR_TLP] = "L>",
	[TR_RST_SENT] = "RST>", [TR_RST_RECV] = "<RST",
};

static const char *kind_name(uint32_t k)
{
	return k < TR_KIND_N && kind_names[k] ? kind_names[k] : "?";
}

static void add_col(struct tcpretrans *t, const char *key, const char *hdr, int width,
		    unsigned flags)
{
	if (t->ncols < MAX_COLS)
		t->cols[t->ncols++] = (struct kt_col){ key, hdr, width, flags };
}

static void fmt_addr(uint16_t family, const uint8_t *a, char *buf, size_t sz)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)sz))
		snprintf(buf, sz, "?");
}

static void fmt_endpoint(uint16_t family, const char *addr, uint16_t port, char *buf, size_t sz)
{
	snprintf(buf, sz, family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, port);
}

static int start(struct kt_ctx *ctx)
{
	struct tcpretrans *t = ctx->priv;

	if (t->lossprobe && !kt_hook_chosen(ctx, "tlp"))
		kt_warn("--lossprobe: tracing tail loss probes needs fentry or kprobes on tcp_send_loss_probe, "
			"which this kernel does not allow; showing the other events without them");
	if (ctx->o.summary) {
		add_col(t, "ip", "IP", 0, KT_COL_HIDDEN);
		add_col(t, "laddr_port", "LADDR:LPORT", -28, KT_COL_NOJSON);
		add_col(t, "arrow", "T>", -4, KT_COL_NOJSON);
		add_col(t, "raddr_port", "RADDR:RPORT", -28, KT_COL_NOJSON);
		add_col(t, "laddr", "", 0, KT_COL_HIDDEN);
		add_col(t, "lport", "", 0, KT_COL_HIDDEN);
		add_col(t, "raddr", "", 0, KT_COL_HIDDEN);
		add_col(t, "rport", "", 0, KT_COL_HIDDEN);
		add_col(t, "kind", "", 0, KT_COL_HIDDEN);
		add_col(t, "state", "LAST_STATE", -12, 0);
		add_col(t, "count", "COUNT", 8, 0);
		if (!ctx->o.interval_s)
			kt_out_text(ctx->out, "Counting... results at exit.\n");
		return 0;
	}
	add_col(t, "pid", "PID", 7, 0);
	add_col(t, "comm", "COMM", -16, 0);
	add_col(t, "ip", "IP", 2, 0);
	add_col(t, "laddr_port", "LADDR:LPORT", -28, KT_COL_NOJSON);
	add_col(t, "arrow", "T>", -4, KT_COL_NOJSON);
	add_col(t, "raddr_port", "RADDR:RPORT", -28, KT_COL_NOJSON);
	add_col(t, "laddr", "", 0, KT_COL_HIDDEN);
	add_col(t, "lport", "", 0, KT_COL_HIDDEN);
	add_col(t, "raddr", "", 0, KT_COL_HIDDEN);
	add_col(t, "rport", "", 0, KT_COL_HIDDEN);
	add_col(t, "kind", "", 0, KT_COL_HIDDEN);
	add_col(t, "state", "STATE", t->seq || t->resets ? -12 : 0, 0);
	if (t->seq)
		add_col(t, "seq", "SEQ", t->resets ? -11 : 0, 0);
	if (t->resets)
		add_col(t, "reason", "REASON", 0, 0);
	add_col(t, "err", "", 0, KT_COL_HIDDEN);
	kt_out_header(ctx->out, t->cols, t->ncols);
	return 0;
}

/* The flow's columns, shared by stream records and count tables. */
static void rec_flow(struct kt_out *out, uint16_t family, const uint8_t *sa,
		     const uint8_t *da, uint16_t lport, uint16_t rport, uint32_t kind)
{
	char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN], ep[INET6_ADDRSTRLEN + 16];

	fmt_addr(family, sa, la, sizeof(la));
	fmt_addr(family, da, ra, sizeof(ra));
	fmt_endpoint(family, la, lport, ep, sizeof(ep));
	kt_rec_str(out, ep, sizeof(ep));
	kt_rec_str(out, kind < TR_KIND_N && kind_arrows[kind] ? kind_arrows[kind] : "?", 8);
	fmt_endpoint(family, ra, rport, ep, sizeof(ep));
	kt_rec_str(out, ep, sizeof(ep));
	kt_rec_str(out, la, sizeof(la));
	kt_rec_u64(out, lport);
	kt_rec_str(out, ra, sizeof(ra));
	kt_rec_u64(out, rport);
	kt_rec_str(out, kind_name(kind), 16);
}

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct tcpretrans_event *e = data;
	struct tcpretrans *t = ctx->priv;
	struct kt_out *out = ctx->out;

	(void)size;
	kt_rec_begin(out, "event", t->cols, t->ncols, e->hdr.ts);
	if (e->flags & TR_F_TASK) {
		kt_rec_u64(out, e->hdr.pid);
		kt_rec_str(out, e->hdr.comm, sizeof(e->hdr.comm));
	} else {
		kt_rec_none(out);
		kt_rec_none(out);
	}
	kt_rec_u64(out, e->family == AF_INET6 ? 6 : 4);
	rec_flow(out, e->family, e->saddr, e->daddr, e->lport, e->rport, e->hdr.type);
	if (e->flags & TR_F_STATE)
		kt_rec_enum(out, state_name(e->state), e->state);
	else
		kt_rec_none(out);
	if (t->seq) {
		if (e->flags & TR_F_SEQ)
			kt_rec_u64(out, e->seq);
		else
			kt_rec_none(out);
	}
	if (t->resets) {
		if (e->flags & TR_F_REASON)
			kt_rec_enum(out, e->reason < MAX_REASONS ? t->reasons[e->reason] : NULL,
				    e->reason);
		else
			kt_rec_none(out);
	}
	if (e->flags & TR_F_ERR)
		kt_rec_i64(out, e->err);
	else
		kt_rec_none(out);
	if ((e->flags & TR_F_ERR) && e->err)
		kt_rec_extra_str(out, "err_name", kt_errno_name(-e->err));
	kt_rec_end(out);
	return 0;
}

struct entry {
	struct tcpretrans_flow f;
	struct tcpretrans_count c;
};

static int cmp_count(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->c.count != y->c.count)
		return x->c.count < y->c.count ? 1 : -1;
	return memcmp(&x->f, &y->f, sizeof(x->f));
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct tcpretrans_bpf *skel = ctx->skel;
	struct tcpretrans *t = ctx->priv;
	struct entry *e = NULL;
	int n;

	(void)final;
	if (!ctx->o.summary)
		return 0;
	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.counts), struct entry, f, c, true, cmp_count,
			   &e);
	if (n < 0) {
		kt_err("reading the retransmit counts failed: %s", strerror(-n));
		free(e);
		return n;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	kt_table_begin(ctx->out, "retransmits", "Retransmits per flow:", t->cols, t->ncols);
	for (size_t i = 0; i < (size_t)n; i++) {
		const struct tcpretrans_flow *f = &e[i].f;

		kt_table_row(ctx->out);
		kt_rec_u64(ctx->out, f->family == AF_INET6 ? 6 : 4);
		rec_flow(ctx->out, f->family, f->saddr, f->daddr, f->lport, f->rport, f->kind);
		kt_rec_enum(ctx->out, state_name(e[i].c.state), e[i].c.state);
		kt_rec_u64(ctx->out, e[i].c.count);
		kt_rec_end(ctx->out);
		ctx->counted += e[i].c.count;
	}
	kt_table_end(ctx->out);
	free(e);
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	struct tcpretrans *t = ctx->priv;

	for (int i = 0; i < MAX_REASONS; i++)
		free(t->reasons[i]);
}

#define TP3(tp, prog)                                                                        \
	{ { KT_TP_BTF, tp, prog "_btf" },                                                          \
	  { KT_RAW_TP, tp, prog "_raw" },                                                          \
	  { KT_TRACEPOINT, "tcp/" tp, prog "_tp" } }

static const struct kt_hook hooks[] = {
	{ "retransmit", false, TP3("tcp_retransmit_skb", "retrans") },
	{ "synack", true, TP3("tcp_retransmit_synack", "synack") },
	{ "tlp", true,
	  { { KT_FENTRY, "tcp_send_loss_probe", "tlp_fentry" },
	    { KT_KPROBE, "tcp_send_loss_probe", "tlp_kprobe" } } },
	{ "send_reset", false, TP3("tcp_send_reset", "send_reset") },
	{ "receive_reset", false, TP3("tcp_receive_reset", "recv_reset") },
	{ "sock_state", false,
	  { { KT_TP_BTF, "inet_sock_set_state", "state_btf" },
	    { KT_RAW_TP, "inet_sock_set_state", "state_raw" },
	    { KT_TRACEPOINT, "sock/inet_sock_set_state", "state_tp" } } },
};

const struct kt_cmd kt_cmd_tcpretrans = {
	.name = "tcpretrans",
	.summary = "TCP retransmits (and resets) with their flow and state",
	.doc = "Trace TCP retransmits: one line per retransmitted segment (R), retransmitted "
	       "SYN-ACK (S) and, with --lossprobe, tail loss probe (L), with the local and remote "
	       "address and port and the TCP state. With -c, count them per flow instead. "
	       "PID and COMM are shown only when the event ran in the socket owner's process "
	       "context; most retransmits run from timers or softirq and show \"-\".\v"
	       "Examples:\n"
	       "  ktrace tcpretrans                 # every retransmit\n"
	       "  ktrace tcpretrans --lossprobe -s  # with tail loss probes and sequence numbers\n"
	       "  ktrace tcpretrans -c 10           # per-flow counts every 10 seconds\n"
	       "  ktrace tcpretrans -6 --rport 443  # IPv6 flows to port 443\n"
	       "  ktrace tcpretrans --resets -j     # resets too, as JSON Lines",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_FAMILY | KT_F_PORTS,
	.filter_task = "the flow, and the process that owns the socket: one it connects, "
		       "listens on, closes or uses while tracing",
	.summary_mode = KT_SUM_KERNEL,
	.summary_help = "Count retransmits per flow in the kernel instead of printing each one; "
			"print the counts every interval or at the end",
	.kind = KT_STREAM,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct tcpretrans),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.start = start,
	.handle = handle,
	.min_record = sizeof(struct tcpretrans_event),
	.ringbuf_default = 1ULL << 20,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing TCP retransmits... Hit Ctrl-C to end.",
};
