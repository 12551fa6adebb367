// SPDX-License-Identifier: GPL-2.0
/*
 * tcplife: TCP sessions as they close (`ktrace tcplife`).
 *
 * One line per TCP session that reached CLOSE: the task that opened it
 * (connect()), or for an accepted socket the one that closed it, the local
 * and remote address and port, the bytes sent (acknowledged by the peer)
 * and received, and how long it lived, from its first state change to CLOSE.
 * A session that began before tracing has no duration (JSON null).
 * Hook: sock:inet_sock_set_state, tp_btf -> raw_tp -> tracepoint (a kprobe on
 * tcp_set_state would see nothing more).
 * Cost: one hash lookup per TCP state change (an update for a new socket), one
 * ring buffer record per closed session; nothing per packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "ktrace.h"
#include "output.h"
#include "tcplife.h"
#include "tcplife.skel.h"
#include "util.h"

struct tcplife {
	bool wide;
	struct kt_col cols[16];
	size_t ncols;
};

static const struct argp_option options[] = {
	{ "wide", 'w', NULL, 0, "Wide address columns (room for any IPv6 address)", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct tcplife *t = ctx->priv;

	(void)arg;
	switch (key) {
	case 'w':
		t->wide = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, tcplife_bpf);
}

static const struct kt_col cols[] = {
	{ "pid", "PID", 7, 0 },
	{ "comm", "COMM", -16, 0 },
	{ "ip", "IP", 2, 0 },
	{ "laddr_port", "LADDR:LPORT", -22, KT_COL_NOJSON },
	{ "raddr_port", "RADDR:RPORT", -22, KT_COL_NOJSON },
	{ "laddr", "", 0, KT_COL_HIDDEN },
	{ "lport", "", 0, KT_COL_HIDDEN },
	{ "raddr", "", 0, KT_COL_HIDDEN },
	{ "rport", "", 0, KT_COL_HIDDEN },
	{ "tx_kb", "TX_KB", 8, KT_COL_NOJSON },
	{ "rx_kb", "RX_KB", 8, KT_COL_NOJSON },
	{ "tx_bytes", "", 0, KT_COL_HIDDEN },
	{ "rx_bytes", "", 0, KT_COL_HIDDEN },
	{ "duration_ms", "MS", 10, 0 },
	{ "from_state", "", 0, KT_COL_HIDDEN },
	{ "opened_by", "", 0, KT_COL_HIDDEN },
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static int start(struct kt_ctx *ctx)
{
	struct tcplife *t = ctx->priv;

	memcpy(t->cols, cols, sizeof(cols));
	t->ncols = NCOLS;
	if (t->wide) {
		/* "[" + 39 + "]:" + 5 */
		t->cols[3].width = -47;
		t->cols[4].width = -47;
	}
	kt_out_header(ctx->out, t->cols, t->ncols);
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

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct tcplife_event *e = data;
	struct tcplife *t = ctx->priv;
	struct kt_out *out = ctx->out;
	char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN];

	(void)size;
	fmt_addr(e->family, e->saddr, la, sizeof(la));
	fmt_addr(e->family, e->daddr, ra, sizeof(ra));
	kt_rec_begin(out, "event", t->cols, t->ncols, e->hdr.ts);
	if (e->flags & TL_F_TASK) {
		kt_rec_u64(out, e->hdr.pid);
		kt_rec_str(out, e->hdr.comm, sizeof(e->hdr.comm));
	} else {
		kt_rec_none(out);
		kt_rec_none(out);
	}
	kt_rec_u64(out, e->family == AF_INET6 ? 6 : 4);
	rec_endpoint(out, e->family, la, e->lport);
	rec_endpoint(out, e->family, ra, e->rport);
	kt_rec_str(out, la, sizeof(la));
	kt_rec_u64(out, e->lport);
	kt_rec_str(out, ra, sizeof(ra));
	kt_rec_u64(out, e->rport);
	kt_rec_u64(out, e->tx_bytes / 1024);
	kt_rec_u64(out, e->rx_bytes / 1024);
	kt_rec_u64(out, e->tx_bytes);
	kt_rec_u64(out, e->rx_bytes);
	if (e->flags & TL_F_BIRTH)
		kt_rec_f64(out, (double)e->duration_ns / 1e6, 3);
	else
		kt_rec_none(out);
	kt_rec_enum(out, kt_tcp_state_name(e->oldstate), e->oldstate);
	if (e->flags & TL_F_TASK)
		kt_rec_str(out, e->flags & TL_F_ACTIVE ? "connect" : "close", 8);
	else
		kt_rec_none(out);
	kt_rec_end(out);
	return 0;
}

static const struct kt_hook hooks[] = {
	{ "sock_state", false,
	  { { KT_TP_BTF, "inet_sock_set_state", "state_btf" },
	    { KT_RAW_TP, "inet_sock_set_state", "state_raw" },
	    { KT_TRACEPOINT, "sock/inet_sock_set_state", "state_tp" } } },
};

const struct kt_cmd kt_cmd_tcplife = {
	.name = "tcplife",
	.summary = "TCP sessions as they close: bytes each way and how long they lived",
	.doc = "Trace TCP sessions: one line per session when it closes, with the task that "
	       "opened it (the caller of connect(); for an accepted socket the task that closed "
	       "it), the local and remote address and port, the kilobytes sent (acknowledged by "
	       "the peer) and received, and its lifetime in milliseconds from its first state "
	       "change. A session already open when tracing began has no lifetime (\"-\"). The "
	       "kernel keeps up to 65536 sockets in flight (an LRU hash, about 8 MB).\v"
	       "Examples:\n"
	       "  ktrace tcplife                    # every session\n"
	       "  ktrace tcplife -p 1234            # sessions of PID 1234\n"
	       "  ktrace tcplife --lport 443 -w     # served on port 443, wide addresses\n"
	       "  ktrace tcplife -4 --rport 5432 -T # IPv4 sessions to port 5432, with times\n"
	       "  ktrace tcplife -j                 # as JSON Lines (bytes exact)",
	.options = options,
	.parse = parse,
	.filters = KT_F_PID | KT_F_TID | KT_F_UID | KT_F_CGROUP | KT_F_COMM | KT_F_FAMILY |
		   KT_F_PORTS,
	.filter_task = "the task that opened the session (connect()), or closed an accepted one",
	.kind = KT_STREAM,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct tcplife),
	.open = open_skel,
	.start = start,
	.handle = handle,
	.min_record = sizeof(struct tcplife_event),
	.tracing_msg = "Tracing TCP sessions... Hit Ctrl-C to end.",
};
