// SPDX-License-Identifier: GPL-2.0
/*
 * tcpdrop: packets the kernel drops, with the reason, the flow and the stack.
 *
 * skb:kfree_skb fires when a packet is freed as a drop (consume_skb() frees
 * the ones that were used). Since 5.17 it says why (enum skb_drop_reason):
 * SKB_CONSUMED and SKB_NOT_DROPPED_YET are not drops, and NOT_SPECIFIED is a
 * free on a path nobody annotated, mostly not a drop at all (timers, queue
 * purges at close): those are skipped unless cfg_all. Before 5.17 there is
 * no reason: every kfree_skb is shown with the address that freed it.
 * The flow comes from the packet's IP header (skb->head + network_header)
 * and its TCP/UDP header right after it; the TCP state from the socket the
 * packet belongs to, when it has one (rx_sk on 6.10+, else skb->sk).
 * Cost: a few reads per kfree_skb (a hot path on busy hosts: the reason is
 * tested first), one ring buffer record per drop shown, or a hash update in
 * counting mode; with --stack a kernel stack walk per drop.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "tcpdrop.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

const volatile bool cfg_has_reason = false; /* the hook passes a reason (5.17+) */
const volatile bool cfg_has_rx_sk = false;  /* and the receiving socket (6.10+) */
const volatile bool cfg_all = false;	     /* keep NOT_SPECIFIED too */
const volatile bool cfg_count = false;
const volatile bool cfg_stack = false;
const volatile bool cfg_reason_set = false;
const volatile __u32 cfg_reason = 0;
/* this kernel's numbers for the reasons that are not drops (user space reads the BTF) */
const volatile __u32 cfg_not_dropped = 0xffffffff;
const volatile __u32 cfg_consumed = 0xffffffff;
const volatile __u32 cfg_not_specified = 0xffffffff;

KT_DEFINE_STREAM();

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tcpdrop_key);
	__type(value, __u64);
} counts SEC(".maps");

/* drops not counted: the counts table was full */
KT_DEFINE_PERCPU_U64(misses);

/* the record is built here: too big for the BPF stack */
KT_DEFINE_SCRATCH(struct tcpdrop_event);

static __always_inline bool wanted(__u32 reason)
{
	if (!cfg_has_reason)
		return true;
	if (cfg_reason_set)
		return reason == cfg_reason;
	if (reason == cfg_not_dropped || reason == cfg_consumed)
		return false;
	return cfg_all || reason != cfg_not_specified;
}

/* Fills the flow from the packet's headers; false when a flow filter rejects it. */
static __always_inline bool parse(const struct sk_buff *skb, struct tcpdrop_event *e)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u32 iif = BPF_CORE_READ(skb, skb_iif);
	__u16 lport, rport;
	__u8 ver = 0, proto = 0;
	__u32 thoff = 0;

	e->flags |= iif ? TD_F_IN : 0;
	if (!head || nh == (__u16)~0U)
		goto filter;
	if (bpf_probe_read_kernel(&ver, 1, head + nh))
		goto filter;
	ver >>= 4;
	if (ver == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			goto filter;
		e->family = AF_INET;
		__builtin_memcpy(e->saddr, &ip.saddr, 4);
		__builtin_memcpy(e->daddr, &ip.daddr, 4);
		proto = ip.protocol;
		thoff = nh + (ip.ihl & 0xf) * 4;
		/* a fragment after the first has no transport header */
		if (ip.frag_off & bpf_htons(0x1fff))
			thoff = 0;
	} else if (ver == 6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			goto filter;
		e->family = AF_INET6;
		__builtin_memcpy(e->saddr, &ip6.saddr, 16);
		__builtin_memcpy(e->daddr, &ip6.daddr, 16);
		/* extension headers are not followed: the protocol is the next header */
		proto = ip6.nexthdr;
		thoff = nh + sizeof(ip6);
	} else {
		goto filter;
	}
	e->flags |= TD_F_FLOW;
	e->l4proto = proto;
	if (thoff && (proto == IPPROTO_TCP || proto == IPPROTO_UDP)) {
		__u16 ports[2];

		if (!bpf_probe_read_kernel(ports, sizeof(ports), head + thoff)) {
			e->sport = bpf_ntohs(ports[0]);
			e->dport = bpf_ntohs(ports[1]);
			e->flags |= TD_F_PORTS;
		}
		if (proto == IPPROTO_TCP &&
		    !bpf_probe_read_kernel(&e->tcp_flags, 1, head + thoff + 13))
			e->flags |= TD_F_TCP;
	}
filter:
	if (!kt_filter.family && !kt_filter.lport && !kt_filter.rport)
		return true;
	if (!(e->flags & TD_F_FLOW))
		return false;
	if ((kt_filter.lport || kt_filter.rport) && !(e->flags & TD_F_PORTS))
		return false;
	/* local is the destination of a received packet, the source of a sent one */
	lport = (e->flags & TD_F_IN) ? e->dport : e->sport;
	rport = (e->flags & TD_F_IN) ? e->sport : e->dport;
	return kt_filter_flow(e->family, lport, rport);
}

static __always_inline int on_drop(void *ctx, const struct sk_buff *skb, __u64 location,
				   __u32 reason, const struct sock *rx_sk)
{
	struct tcpdrop_event *e;
	const struct sock *sk;

	if (!skb || !wanted(reason))
		return 0;
	e = kt_scratch();
	if (!e)
		return 0;
	e->flags = cfg_has_reason ? TD_F_REASON : 0;
	e->family = 0;
	e->l4proto = 0;
	e->tcp_flags = 0;
	e->sport = e->dport = 0;
	e->state = 0;
	e->pad = 0;
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	if (!parse(skb, e))
		return 0;
	if (cfg_count) {
		struct tcpdrop_key k = {};
		__u64 one = 1, *n;
		long err;

		if (cfg_has_reason)
			k.reason = reason;
		else
			k.location = location;
		n = bpf_map_lookup_elem(&counts, &k);
		if (n) {
			__sync_fetch_and_add(n, 1);
			return 0;
		}
		err = bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST);
		if (err == -17 /* EEXIST: another CPU added it */) {
			n = bpf_map_lookup_elem(&counts, &k);
			if (n)
				__sync_fetch_and_add(n, 1);
		} else if (err) {
			kt_count_drop(&misses);
		}
		return 0;
	}
	/*
	 * The packet's socket: one a sent packet belongs to, or one the TCP
	 * receive path found. A received packet dropped before that lookup
	 * (netfilter, a missing socket) has none. It may be a request or
	 * time-wait socket: the state is in sock_common, which all share.
	 */
	sk = rx_sk ? rx_sk : BPF_CORE_READ(skb, sk);
	if (sk && e->l4proto == IPPROTO_TCP) {
		e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
		e->flags |= TD_F_STATE;
	}
	e->location = location;
	e->reason = reason;
	e->nstack = cfg_stack ? bpf_get_stack(ctx, e->stack, sizeof(e->stack), 0) : 0;
	kt_output(&e->hdr, TD_DROP,
		  __builtin_offsetof(struct tcpdrop_event, stack) + (e->nstack > 0 ? e->nstack : 0));
	return 0;
}

/* 5.17+: (skb, location, reason); 6.10+: (skb, location, reason, rx_sk) */
KT_TP_BOTH(kfree_skb, drop)
{
	return on_drop(ctx, (void *)ctx[0], ctx[1], cfg_has_reason ? (__u32)ctx[2] : 0,
		       cfg_has_rx_sk ? (void *)ctx[3] : NULL);
}

/* reason since 5.17, rx_sk since 6.10: CO-RE says whether this kernel has them */
struct trace_event_raw_kfree_skb___kt {
	void *skbaddr;
	void *location;
	void *rx_sk;
	enum skb_drop_reason reason;
} __attribute__((preserve_access_index));

SEC("tracepoint/skb/kfree_skb")
int drop_tp(struct trace_event_raw_kfree_skb___kt *ctx)
{
	const struct sock *rx_sk = NULL;
	__u32 reason = 0;

	if (bpf_core_field_exists(ctx->reason))
		reason = (__u32)ctx->reason;
	if (bpf_core_field_exists(ctx->rx_sk))
		rx_sk = ctx->rx_sk;
	return on_drop(ctx, ctx->skbaddr, (__u64)ctx->location, reason, rx_sk);
}

char LICENSE[] SEC("license") = "GPL";
