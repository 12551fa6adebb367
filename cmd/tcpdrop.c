// SPDX-License-Identifier: GPL-2.0
/*
 * tcpdrop: packets the kernel drops, and why (`ktrace tcpdrop`).
 *
 * One line per dropped packet: its flow (addresses, ports, protocol, TCP
 * flags, the TCP state of its socket), the drop reason by name as this
 * kernel numbers enum skb_drop_reason (5.17+, from the kernel's BTF) and the
 * kernel function that dropped it; with --stack the kernel stack. With -c,
 * drops are counted per reason in the kernel instead. Before 5.17 the
 * kernel gives no reason: every kfree_skb is shown (many are not drops) and
 * counted per function; the meta record says so.
 * Hook: skb:kfree_skb, tp_btf -> raw_tp -> tracepoint.
 * Cost: a few reads per kfree_skb, one ring buffer record per drop shown.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bpf/libbpf.h>

#include "btf_enum.h"
#include "features.h"
#include "ksyms.h"
#include "ktrace.h"
#include "maps.h"
#include "output.h"
#include "stacks.h"
#include "tcpdrop.h"
#include "tcpdrop.skel.h"
#include "util.h"

#define MAX_REASONS 512

struct tcpdrop {
	bool stack, all;
	const char *reason_arg;
	bool has_reason;
	int reason; /* --reason's value */
	char *reasons[MAX_REASONS]; /* enum skb_drop_reason names from the kernel's BTF */
	struct kt_ksyms_lazy ks;
	char lost_why[80];
	struct kt_col cols[16];
	size_t ncols;
};

enum {
	OPT_STACK = 0x2100,
	OPT_REASON,
	OPT_ALL,
};

static const struct argp_option options[] = {
	{ "stack", OPT_STACK, NULL, 0, "Show the kernel stack of each drop", 0 },
	{ "reason", OPT_REASON, "REASON", 0,
	  "Only drops for this reason (e.g. NETFILTER_DROP, NO_SOCKET; 5.17+)", 0 },
	{ "all", OPT_ALL, NULL, 0,
	  "Also frees without a reason (NOT_SPECIFIED), mostly not drops", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	struct tcpdrop *t = ctx->priv;

	switch (key) {
	case OPT_STACK:
		t->stack = true;
		break;
	case OPT_REASON:
		t->reason_arg = arg;
		break;
	case OPT_ALL:
		t->all = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int reason_value(const struct tcpdrop *t, const char *name)
{
	static const char prefix[] = "SKB_DROP_REASON_";
	const size_t plen = sizeof(prefix) - 1;

	/* the kernel's names lack the enum's prefix; a user may give it */
	if (strlen(name) > plen && !strncasecmp(name, prefix, plen))
		name += plen;
	for (int i = 0; i < MAX_REASONS; i++)
		if (t->reasons[i] && !strcasecmp(t->reasons[i], name))
			return i;
	return -1;
}

static int validate(struct kt_ctx *ctx)
{
	struct tcpdrop *t = ctx->priv;
	int n;

	if (t->stack && ctx->o.summary) {
		kt_err("--stack shows each drop's stack: it does not go with -c");
		return -EINVAL;
	}
	/* the reason argument came in 5.17; its values are renumbered between releases */
	t->has_reason = kt_btf_tp_nargs("kfree_skb") >= 3;
	n = t->has_reason ? kt_btf_enum_names("skb_drop_reason", "SKB_DROP_REASON_", t->reasons,
					      MAX_REASONS)
			  : -ENOENT;
	if (n < 0)
		t->has_reason = false;
	if (t->reason_arg) {
		if (!t->has_reason) {
			kt_err("--reason %s: this kernel's skb:kfree_skb gives no drop reasons (they came "
			       "in Linux 5.17); run without --reason",
			       t->reason_arg);
			return -ENOTSUP;
		}
		t->reason = reason_value(t, t->reason_arg);
		if (t->reason < 0) {
			kt_err("--reason %s: this kernel has no such drop reason (e.g. NETFILTER_DROP, "
			       "NO_SOCKET, TCP_INVALID_SEQUENCE; the list is in "
			       "/sys/kernel/tracing/events/skb/kfree_skb/format)",
			       t->reason_arg);
			return -EINVAL;
		}
	}
	kt_meta_add(ctx, "drop_reasons",
		    t->has_reason ? "kernel (skb:kfree_skb reason, enum skb_drop_reason)"
				  : "absent (kernel before 5.17): every kfree_skb is shown, with the "
				    "function that freed the packet; many are not drops");
	if (!t->has_reason)
		kt_warn("this kernel's skb:kfree_skb gives no drop reasons (Linux 5.17+): every "
			"kfree_skb is shown, many of which are not drops");
	if (ctx->o.summary) {
		ctx->counted_what = "drops";
		ctx->lost_fix = "print and empty it more often (-i SECS) or narrow the flows "
				"(--reason, -4/-6, --lport, --rport)";
	}
	return 0;
}

static int open_skel(struct kt_ctx *ctx)
{
	return KT_SKEL_OPEN(ctx, tcpdrop_bpf);
}

static int configure(struct kt_ctx *ctx)
{
	struct tcpdrop_bpf *skel = ctx->skel;
	struct tcpdrop *t = ctx->priv;
	int v;

	skel->rodata->cfg_has_reason = t->has_reason;
	skel->rodata->cfg_has_rx_sk = kt_btf_tp_nargs("kfree_skb") >= 4;
	skel->rodata->cfg_all = t->all;
	skel->rodata->cfg_count = ctx->o.summary;
	skel->rodata->cfg_stack = t->stack;
	if (t->reason_arg) {
		skel->rodata->cfg_reason_set = true;
		skel->rodata->cfg_reason = (uint32_t)t->reason;
	}
	if ((v = reason_value(t, "SKB_NOT_DROPPED_YET")) >= 0)
		skel->rodata->cfg_not_dropped = (uint32_t)v;
	if ((v = reason_value(t, "SKB_CONSUMED")) >= 0)
		skel->rodata->cfg_consumed = (uint32_t)v;
	if ((v = reason_value(t, "NOT_SPECIFIED")) >= 0)
		skel->rodata->cfg_not_specified = (uint32_t)v;
	if (ctx->o.summary) {
		snprintf(t->lost_why, sizeof(t->lost_why), "the kernel's reason table (%u entries) was full",
			 bpf_map__max_entries(skel->maps.counts));
		ctx->lost_why = t->lost_why;
	}
	return 0;
}

static void add_col(struct tcpdrop *t, const char *key, const char *hdr, int width, unsigned flags)
{
	if (t->ncols < sizeof(t->cols) / sizeof(t->cols[0]))
		t->cols[t->ncols++] = (struct kt_col){ key, hdr, width, flags };
}

static int start(struct kt_ctx *ctx)
{
	struct tcpdrop *t = ctx->priv;

	t->ks.lost = "drop locations stay unnamed";
	if (ctx->o.summary) {
		add_col(t, "reason", "REASON", -32, 0);
		add_col(t, "location", "", 0, KT_COL_HIDDEN);
		add_col(t, "count", "COUNT", 10, 0);
		if (!t->has_reason) {
			/* counted per function: show it, not the absent reason */
			t->cols[0].flags = KT_COL_HIDDEN;
			t->cols[1] = (struct kt_col){ "location", "LOCATION", -40, 0 };
		}
		if (!ctx->o.interval_s)
			kt_out_text(ctx->out, "Counting... results at exit.\n");
		return 0;
	}
	add_col(t, "ip", "IP", 2, 0);
	add_col(t, "src", "SADDR:SPORT", -28, KT_COL_NOJSON);
	add_col(t, "dst", "DADDR:DPORT", -28, KT_COL_NOJSON);
	add_col(t, "saddr", "", 0, KT_COL_HIDDEN);
	add_col(t, "sport", "", 0, KT_COL_HIDDEN);
	add_col(t, "daddr", "", 0, KT_COL_HIDDEN);
	add_col(t, "dport", "", 0, KT_COL_HIDDEN);
	add_col(t, "dir", "DIR", -3, 0);
	add_col(t, "proto", "PROTO", -5, 0);
	add_col(t, "state", "STATE", -11, 0);
	add_col(t, "tcp_flags", "FLAGS", -6, 0);
	add_col(t, "reason", "REASON", -24, 0);
	add_col(t, "location", "LOCATION", 0, 0);
	kt_out_header(ctx->out, t->cols, t->ncols);
	return 0;
}

static const char *reason_name(const struct tcpdrop *t, uint32_t r)
{
	return r < MAX_REASONS ? t->reasons[r] : NULL;
}

static void fmt_location(struct tcpdrop *t, uint64_t addr, char *buf, size_t sz)
{
	struct kt_frame f;

	kt_stacks_kernel_frame(kt_ksyms_lazy_get(&t->ks), addr, 0, &f);
	if (f.sym)
		kt_stacks_frame_name(&f, 1, buf, sz);
	else
		snprintf(buf, sz, "0x%llx", (unsigned long long)addr);
}

static void fmt_flags(uint8_t f, char *buf)
{
	static const char letters[] = "FSRPAUEC";
	int n = 0;

	for (int i = 0; i < 8; i++)
		if (f & (1U << i))
			buf[n++] = letters[i];
	buf[n] = 0;
}

static void rec_proto(struct kt_out *out, const struct tcpdrop_event *e)
{
	if (!(e->flags & TD_F_FLOW))
		kt_rec_none(out);
	else if (e->l4proto == 6)
		kt_rec_enum(out, "TCP", 6);
	else if (e->l4proto == 17)
		kt_rec_enum(out, "UDP", 17);
	else if (e->l4proto == 1)
		kt_rec_enum(out, "ICMP", 1);
	else if (e->l4proto == 58)
		kt_rec_enum(out, "ICMPv6", 58);
	else
		kt_rec_enum(out, NULL, e->l4proto);
}

static void rec_stack(struct kt_ctx *ctx, const struct tcpdrop_event *e, size_t size)
{
	struct tcpdrop *t = ctx->priv;
	char frames[TD_STACK_DEPTH][160];
	const char *fr[TD_STACK_DEPTH] = { 0 };
	size_t n = 0, depth = e->nstack > 0 ? (size_t)e->nstack / 8 : 0;
	size_t have = (size - offsetof(struct tcpdrop_event, stack)) / 8;
	bool top = true;

	if (depth > have)
		depth = have;
	if (depth > TD_STACK_DEPTH)
		depth = TD_STACK_DEPTH;
	for (size_t i = 0; i < depth && e->stack[i]; i++) {
		struct kt_frame f;

		kt_stacks_kernel_frame(kt_ksyms_lazy_get(&t->ks), e->stack[i], i, &f);
		if (f.sym && top && kt_stacks_tracing_frame(f.sym))
			continue;
		top = false;
		if (f.sym)
			kt_stacks_frame_name(&f, 1, frames[n], sizeof(frames[n]));
		else
			snprintf(frames[n], sizeof(frames[n]), "0x%llx", (unsigned long long)e->stack[i]);
		fr[n] = frames[n];
		n++;
	}
	kt_rec_extra_strlist(ctx->out, "stack", fr, n);
	kt_rec_end(ctx->out);
	for (size_t i = 0; i < n; i++)
		kt_out_text(ctx->out, "        %s\n", frames[i]);
	if (!n)
		kt_out_text(ctx->out, "        [no kernel stack: %s]\n",
			    e->nstack < 0 ? strerror(-e->nstack) : "empty");
}

static int handle(struct kt_ctx *ctx, const void *data, size_t size)
{
	const struct tcpdrop_event *e = data;
	struct tcpdrop *t = ctx->priv;
	struct kt_out *out = ctx->out;
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN], ep[INET6_ADDRSTRLEN + 16], loc[192];
	char fl[9];
	bool flow = e->flags & TD_F_FLOW, ports = e->flags & TD_F_PORTS;
	int af = e->family == 10 ? AF_INET6 : AF_INET;

	kt_rec_begin(out, "event", t->cols, t->ncols, e->hdr.ts);
	if (flow) {
		if (!inet_ntop(af, e->saddr, sa, sizeof(sa)))
			snprintf(sa, sizeof(sa), "?");
		if (!inet_ntop(af, e->daddr, da, sizeof(da)))
			snprintf(da, sizeof(da), "?");
		kt_rec_u64(out, af == AF_INET6 ? 6 : 4);
		snprintf(ep, sizeof(ep), af == AF_INET6 ? "[%s]:%u" : "%s:%u", sa, e->sport);
		kt_rec_str(out, ports ? ep : sa, sizeof(ep));
		snprintf(ep, sizeof(ep), af == AF_INET6 ? "[%s]:%u" : "%s:%u", da, e->dport);
		kt_rec_str(out, ports ? ep : da, sizeof(ep));
		kt_rec_str(out, sa, sizeof(sa));
		if (ports)
			kt_rec_u64(out, e->sport);
		else
			kt_rec_none(out);
		kt_rec_str(out, da, sizeof(da));
		if (ports)
			kt_rec_u64(out, e->dport);
		else
			kt_rec_none(out);
	} else {
		for (int i = 0; i < 7; i++)
			kt_rec_none(out);
	}
	kt_rec_str(out, e->flags & TD_F_IN ? "in" : "out", 4);
	rec_proto(out, e);
	if (e->flags & TD_F_STATE)
		kt_rec_enum(out, kt_tcp_state_name(e->state), e->state);
	else
		kt_rec_none(out);
	if (e->flags & TD_F_TCP) {
		fmt_flags(e->tcp_flags, fl);
		kt_rec_str(out, fl, sizeof(fl));
	} else {
		kt_rec_none(out);
	}
	if (e->flags & TD_F_REASON)
		kt_rec_enum(out, reason_name(t, e->reason), e->reason);
	else
		kt_rec_none(out);
	fmt_location(t, e->location, loc, sizeof(loc));
	kt_rec_str(out, loc, sizeof(loc));
	if (t->stack) {
		rec_stack(ctx, e, size);
		return 0;
	}
	kt_rec_end(out);
	return 0;
}

struct entry {
	struct tcpdrop_key k;
	uint64_t count;
};

static int cmp_count(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return memcmp(&x->k, &y->k, sizeof(x->k));
}

static int drain(struct kt_ctx *ctx, bool final)
{
	struct tcpdrop_bpf *skel = ctx->skel;
	struct tcpdrop *t = ctx->priv;
	struct entry *e = NULL;
	char loc[192];
	int n;

	(void)final;
	if (!ctx->o.summary)
		return 0;
	ctx->lost += kt_map_take_percpu_u64(bpf_map__fd(skel->maps.misses));
	n = KT_MAP_COLLECT(bpf_map__fd(skel->maps.counts), struct entry, k, count, true, cmp_count,
			   &e);
	if (n < 0) {
		kt_err("reading the drop counts failed: %s", strerror(-n));
		free(e);
		return n;
	}
	if (ctx->o.timestamp)
		kt_out_time_line(ctx->out);
	kt_table_begin(ctx->out, "drops",
		       t->has_reason ? "Drops per reason:" : "Frees per kernel function:", t->cols,
		       t->ncols);
	for (size_t i = 0; i < (size_t)n; i++) {
		kt_table_row(ctx->out);
		if (t->has_reason)
			kt_rec_enum(ctx->out, reason_name(t, e[i].k.reason), e[i].k.reason);
		else
			kt_rec_none(ctx->out);
		if (t->has_reason) {
			kt_rec_none(ctx->out);
		} else {
			fmt_location(t, e[i].k.location, loc, sizeof(loc));
			kt_rec_str(ctx->out, loc, sizeof(loc));
		}
		kt_rec_u64(ctx->out, e[i].count);
		kt_rec_end(ctx->out);
		ctx->counted += e[i].count;
	}
	kt_table_end(ctx->out);
	free(e);
	return 0;
}

static void finish(struct kt_ctx *ctx)
{
	struct tcpdrop *t = ctx->priv;

	for (int i = 0; i < MAX_REASONS; i++)
		free(t->reasons[i]);
	kt_ksyms_free(t->ks.ks);
}

static const char *kernel_note(void)
{
	return kt_btf_tp_nargs("kfree_skb") >= 3
		       ? NULL
		       : "skb:kfree_skb gives no drop reasons before Linux 5.17: every kfree_skb is "
			 "shown (many are not drops), with the function that freed the packet";
}

static const struct kt_hook hooks[] = {
	{ "kfree_skb", false,
	  { { KT_TP_BTF, "kfree_skb", "drop_btf" },
	    { KT_RAW_TP, "kfree_skb", "drop_raw" },
	    { KT_TRACEPOINT, "skb/kfree_skb", "drop_tp" } } },
};

const struct kt_cmd kt_cmd_tcpdrop = {
	.name = "tcpdrop",
	.summary = "Packets the kernel drops, with the reason, the flow and the stack",
	.doc = "Trace packet drops: one line per packet the kernel frees as a drop, with its "
	       "addresses and ports, protocol, TCP flags and the TCP state of its socket, the "
	       "reason by name (Linux 5.17+: NETFILTER_DROP, NO_SOCKET, TCP_INVALID_SEQUENCE...) "
	       "and the kernel function that dropped it. Frees without a reason "
	       "(NOT_SPECIFIED) are mostly not drops and are left out unless --all. With -c, "
	       "count drops per reason instead (in a kernel table of 4096 keys, about 0.4 MB). "
	       "Before 5.17 the kernel gives no reason: every kfree_skb is shown.\v"
	       "Examples:\n"
	       "  ktrace tcpdrop                          # every drop, with its reason\n"
	       "  ktrace tcpdrop --reason NETFILTER_DROP  # what the firewall drops\n"
	       "  ktrace tcpdrop -c 10                    # drops per reason every 10 s\n"
	       "  ktrace tcpdrop --lport 443 --stack      # drops on port 443, with stacks\n"
	       "  ktrace tcpdrop -j                       # as JSON Lines",
	.options = options,
	.parse = parse,
	.filters = KT_F_FAMILY | KT_F_PORTS,
	.filter_task = "the packet: local is the destination of a received packet, the source "
		       "of a sent one",
	.summary_mode = KT_SUM_KERNEL,
	.summary_help = "Count drops per reason in the kernel (per kernel function before 5.17) "
			"instead of printing each one; print the counts every interval or at the end",
	.kind = KT_STREAM,
	.pos = KT_POS_INTERVAL,
	.hooks = hooks,
	.n_hooks = sizeof(hooks) / sizeof(hooks[0]),
	.priv_size = sizeof(struct tcpdrop),
	.validate = validate,
	.open = open_skel,
	.configure = configure,
	.start = start,
	.handle = handle,
	.min_record = offsetof(struct tcpdrop_event, stack),
	.ringbuf_default = 1ULL << 21,
	.drain = drain,
	.finish = finish,
	.tracing_msg = "Tracing packet drops... Hit Ctrl-C to end.",
	.kernel_note = kernel_note,
};
