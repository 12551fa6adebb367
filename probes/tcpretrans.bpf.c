// SPDX-License-Identifier: GPL-2.0
/*
 * tcpretrans: TCP retransmits, SYN-ACK retransmits, tail loss probes and
 * (optionally) resets, one record per event or counted per flow.
 *
 * Every hook reduces to "this socket (or request socket), this kind": the
 * addresses, ports and state come from struct sock_common with CO-RE, so
 * tp_btf, raw_tp and classic tracepoint variants share one path. Retransmits
 * mostly run in softirq or timer context where `current` is an unrelated
 * task: the task is only reported when the socket is owned by user space
 * (sk_lock.owned), i.e. the event runs in the owner's process context.
 * Cost: a few probe reads and one ring buffer record (or one hash update in
 * count mode) per event; retransmits are rare on a healthy host.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "tcpretrans.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
/* include/net/tcp_states.h: stable since the beginning */
#define ST_ESTABLISHED 1
#define ST_SYN_SENT 2
#define ST_TIME_WAIT 6
#define ST_CLOSE 7
#define ST_LISTEN 10
#define ST_NEW_SYN_RECV 12

const volatile bool cfg_count = false;
const volatile bool cfg_seq = false;
/* tcp_retransmit_skb gained an err argument and tcp_send_reset a reason (6.10) */
const volatile bool cfg_retrans_err = false;
const volatile bool cfg_reset_reason = false;

KT_DEFINE_STREAM();

/*
 * Classic tracepoint records: the struct names changed over time (6.10 gave
 * tcp_retransmit_skb and tcp_send_reset their own classes), so these CO-RE
 * flavors name only the fields used, and the code checks which one exists.
 */
struct trace_event_raw_tcp_retransmit_skb___kt {
	const void *skbaddr;
	const void *skaddr;
	int err;
} __attribute__((preserve_access_index));

struct trace_event_raw_tcp_event_sk_skb___kt {
	const void *skbaddr;
	const void *skaddr;
} __attribute__((preserve_access_index));

/* CO-RE wants an enum where the kernel has one */
enum sk_rst_reason___kt { KT_RST_REASON_UNUSED___kt };

struct trace_event_raw_tcp_send_reset___kt {
	const void *skbaddr;
	const void *skaddr;
	enum sk_rst_reason___kt reason;
	__u8 saddr[28];
	__u8 daddr[28];
} __attribute__((preserve_access_index));

struct trace_event_raw_tcp_event_sk___kt {
	const void *skaddr;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct tcpretrans_flow);
	__type(value, struct tcpretrans_count);
} counts SEC(".maps");

/* -p: sockets of the process (connected, listened on, closed or used by it) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} socks SEC(".maps");

/* -p: local ports the process listens on (their accepted sockets are its too) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, __u8);
} lports SEC(".maps");

struct flowinfo {
	struct tcpretrans_flow f;
	__u8 state;
	__u8 flags;
	__u32 seq;
	__u32 reason;
	__s32 err;
};

static __always_inline void read_sock(const struct sock *sk, struct flowinfo *fi)
{
	const struct sock_common *c = (const void *)sk;

	fi->f.family = BPF_CORE_READ(c, skc_family);
	fi->f.lport = BPF_CORE_READ(c, skc_num);
	fi->f.rport = bpf_ntohs(BPF_CORE_READ(c, skc_dport));
	if (fi->f.family == AF_INET6) {
		bpf_core_read(fi->f.saddr, 16, &c->skc_v6_rcv_saddr);
		bpf_core_read(fi->f.daddr, 16, &c->skc_v6_daddr);
	} else {
		bpf_core_read(fi->f.saddr, 4, &c->skc_rcv_saddr);
		bpf_core_read(fi->f.daddr, 4, &c->skc_daddr);
	}
	fi->state = BPF_CORE_READ(c, skc_state);
	fi->flags |= TR_F_STATE;
	/*
	 * Moving to CLOSE releases an automatically bound port (inet_num = 0)
	 * before e.g. a linger-0 close sends its reset; the source port stays.
	 */
	if (!fi->f.lport && fi->state != ST_TIME_WAIT && fi->state != ST_NEW_SYN_RECV)
		fi->f.lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	/*
	 * Only a full socket has a lock; if user space owns it, this runs in the
	 * owner's process context (softirq and timers defer to the owner), so
	 * current is the task that owns the socket.
	 */
	if (fi->state != ST_TIME_WAIT && fi->state != ST_NEW_SYN_RECV &&
	    BPF_CORE_READ(sk, sk_lock.owned))
		fi->flags |= TR_F_TASK;
}

static __always_inline bool want(const struct sock *sk, struct flowinfo *fi)
{
	__u64 key = (__u64)sk;
	__u8 one = 1;

	if (fi->f.family != AF_INET && fi->f.family != AF_INET6)
		return false;
	if (!kt_filter_flow(fi->f.family, fi->f.lport, fi->f.rport))
		return false;
	if (!kt_filter.tgid)
		return true;
	if ((fi->flags & TR_F_TASK) && (bpf_get_current_pid_tgid() >> 32) == kt_filter.tgid) {
		if (sk)
			bpf_map_update_elem(&socks, &key, &one, BPF_ANY);
		return true;
	}
	if (sk && bpf_map_lookup_elem(&socks, &key))
		return true;
	return bpf_map_lookup_elem(&lports, &fi->f.lport) != NULL;
}

static __always_inline int emit(const struct sock *sk, struct flowinfo *fi, __u32 kind)
{
	struct tcpretrans_event *e;

	if (!want(sk, fi))
		return 0;
	if (cfg_count) {
		struct tcpretrans_count *v, zero = {};

		fi->f.kind = kind;
		v = bpf_map_lookup_elem(&counts, &fi->f);
		if (!v) {
			bpf_map_update_elem(&counts, &fi->f, &zero, BPF_NOEXIST);
			v = bpf_map_lookup_elem(&counts, &fi->f);
			if (!v) {
				/* the flow table is full: counted as lost, never silently */
				kt_count_drop(&drops);
				return 0;
			}
		}
		__sync_fetch_and_add(&v->count, 1);
		v->state = fi->state;
		return 0;
	}
	e = kt_reserve(struct tcpretrans_event, kind);
	if (!e)
		return 0;
	__builtin_memcpy(e->saddr, fi->f.saddr, 16);
	__builtin_memcpy(e->daddr, fi->f.daddr, 16);
	e->lport = fi->f.lport;
	e->rport = fi->f.rport;
	e->family = fi->f.family;
	e->state = fi->state;
	e->flags = fi->flags;
	e->seq = fi->seq;
	e->reason = fi->reason;
	e->err = fi->err;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* ---- retransmitted segment ---- */

static __always_inline int on_retrans(const struct sock *sk, const struct sk_buff *skb, int err,
				      bool has_err)
{
	struct flowinfo fi = {};

	if (!sk)
		return 0;
	read_sock(sk, &fi);
	if (cfg_seq && skb) {
		const struct tcp_skb_cb *cb = (const void *)skb + bpf_core_field_offset(skb->cb);

		if (!bpf_core_read(&fi.seq, sizeof(fi.seq), &cb->seq))
			fi.flags |= TR_F_SEQ;
	}
	if (has_err) {
		fi.err = err;
		fi.flags |= TR_F_ERR;
	}
	return emit(sk, &fi, TR_RETRANS);
}

KT_TP_BOTH(tcp_retransmit_skb, retrans)
{
	return on_retrans((void *)ctx[0], (void *)ctx[1], cfg_retrans_err ? (int)ctx[2] : 0,
			  cfg_retrans_err);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int retrans_tp(void *ctx)
{
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb___kt)) {
		struct trace_event_raw_tcp_retransmit_skb___kt *e = ctx;

		return on_retrans(e->skaddr, e->skbaddr, e->err, true);
	} else {
		struct trace_event_raw_tcp_event_sk_skb___kt *e = ctx;

		return on_retrans(e->skaddr, e->skbaddr, 0, false);
	}
}

/* ---- retransmitted SYN-ACK (the request socket carries the flow) ---- */

static __always_inline int on_synack(const struct sock *sk, const struct request_sock *req)
{
	struct flowinfo fi = {};

	if (!req)
		return 0;
	read_sock((const void *)req, &fi);
	fi.flags &= ~TR_F_TASK; /* the request timer runs in softirq */
	if (cfg_seq) {
		const struct tcp_request_sock *treq = (const void *)req;

		fi.seq = BPF_CORE_READ(treq, snt_isn);
		fi.flags |= TR_F_SEQ;
	}
	return emit((const void *)req, &fi, TR_SYNACK);
}

KT_TP_BOTH(tcp_retransmit_synack, synack)
{
	return on_synack((void *)ctx[0], (void *)ctx[1]);
}

SEC("tracepoint/tcp/tcp_retransmit_synack")
int synack_tp(struct trace_event_raw_tcp_retransmit_synack *ctx)
{
	return on_synack(ctx->skaddr, ctx->req);
}

/* ---- tail loss probe (needs fentry or kprobes: no tracepoint exists) ---- */

static __always_inline int on_tlp(struct sock *sk)
{
	struct flowinfo fi = {};

	if (!sk)
		return 0;
	read_sock(sk, &fi);
	return emit(sk, &fi, TR_TLP);
}

SEC("fentry/tcp_send_loss_probe")
int BPF_PROG(tlp_fentry, struct sock *sk)
{
	return on_tlp(sk);
}

SEC("kprobe/tcp_send_loss_probe")
int BPF_KPROBE(tlp_kprobe, struct sock *sk)
{
	return on_tlp(sk);
}

/* ---- resets (--resets) ---- */

/* A reset without a socket answers skb: its addresses reversed are the reset's. */
static __always_inline void read_skb_reversed(const struct sk_buff *skb, struct flowinfo *fi)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	unsigned char *data = BPF_CORE_READ(skb, data);
	struct tcphdr th;
	__u8 ver = 0;

	/* the network header starts with the version nibble in both families */
	if (bpf_probe_read_kernel(&ver, 1, head + nh))
		return;
	ver >>= 4;
	if (ver == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return;
		fi->f.family = AF_INET;
		__builtin_memcpy(fi->f.saddr, &ip.daddr, 4);
		__builtin_memcpy(fi->f.daddr, &ip.saddr, 4);
	} else if (ver == 6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return;
		fi->f.family = AF_INET6;
		__builtin_memcpy(fi->f.saddr, &ip6.daddr, 16);
		__builtin_memcpy(fi->f.daddr, &ip6.saddr, 16);
	} else {
		return;
	}
	/* at the point a reset is sent, skb->data is the offending TCP header */
	if (bpf_probe_read_kernel(&th, sizeof(th), data))
		return;
	fi->f.lport = bpf_ntohs(th.dest);
	fi->f.rport = bpf_ntohs(th.source);
}

static __always_inline int on_send_reset(const struct sock *sk, const struct sk_buff *skb,
					 __u32 reason, bool has_reason)
{
	struct flowinfo fi = {};

	if (sk)
		read_sock(sk, &fi);
	else if (skb)
		read_skb_reversed(skb, &fi);
	else
		return 0;
	if (has_reason) {
		fi.reason = reason;
		fi.flags |= TR_F_REASON;
	}
	return emit(sk, &fi, TR_RST_SENT);
}

KT_TP_BOTH(tcp_send_reset, send_reset)
{
	return on_send_reset((void *)ctx[0], (void *)ctx[1],
			     cfg_reset_reason ? (__u32)ctx[2] : 0, cfg_reset_reason);
}

/* sockaddr_in / sockaddr_in6 as the 6.10+ tracepoint stores them */
static __always_inline void read_sockaddr(const __u8 *sa, __u8 *addr, __u16 *port, __u16 *fam)
{
	__u16 f = 0, p = 0;

	bpf_probe_read_kernel(&f, 2, sa);
	bpf_probe_read_kernel(&p, 2, sa + 2);
	*fam = f;
	*port = bpf_ntohs(p);
	if (f == AF_INET)
		bpf_probe_read_kernel(addr, 4, sa + 4);
	else if (f == AF_INET6)
		bpf_probe_read_kernel(addr, 16, sa + 8);
}

SEC("tracepoint/tcp/tcp_send_reset")
int send_reset_tp(void *ctx)
{
	struct flowinfo fi = {};

	/* 6.10 gave the event its own layout: a reason and sockaddr fields */
	if (bpf_core_type_exists(struct trace_event_raw_tcp_send_reset___kt)) {
		struct trace_event_raw_tcp_send_reset___kt *e = ctx;
		const struct sock *sk = e->skaddr;
		__u16 fam2 = 0;

		if (sk) {
			read_sock(sk, &fi);
		} else {
			read_sockaddr((void *)&e->saddr, fi.f.saddr, &fi.f.lport, &fi.f.family);
			read_sockaddr((void *)&e->daddr, fi.f.daddr, &fi.f.rport, &fam2);
		}
		fi.reason = e->reason;
		fi.flags |= TR_F_REASON;
		return emit(sk, &fi, TR_RST_SENT);
	}
	{
		struct trace_event_raw_tcp_event_sk_skb___kt *e = ctx;

		return on_send_reset(e->skaddr, e->skbaddr, 0, false);
	}
}

static __always_inline int on_recv_reset(const struct sock *sk)
{
	struct flowinfo fi = {};

	if (!sk)
		return 0;
	read_sock(sk, &fi);
	return emit(sk, &fi, TR_RST_RECV);
}

KT_TP_BOTH(tcp_receive_reset, recv_reset)
{
	return on_recv_reset((void *)ctx[0]);
}

SEC("tracepoint/tcp/tcp_receive_reset")
int recv_reset_tp(struct trace_event_raw_tcp_event_sk___kt *ctx)
{
	return on_recv_reset(ctx->skaddr);
}

/* ---- -p: learn the sockets of the process from its state changes ---- */

static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	__u16 lport;
	__u8 one = 1;

	if (!kt_filter.tgid || !sk)
		return 0;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (newstate == ST_CLOSE) {
		/* a closed listener's port may be reused by anyone */
		if (oldstate == ST_LISTEN)
			bpf_map_delete_elem(&lports, &lport);
		bpf_map_delete_elem(&socks, &key);
		return 0;
	}
	if ((bpf_get_current_pid_tgid() >> 32) != kt_filter.tgid)
		return 0;
	bpf_map_update_elem(&socks, &key, &one, BPF_ANY);
	if (newstate == ST_LISTEN)
		bpf_map_update_elem(&lports, &lport, &one, BPF_ANY);
	return 0;
}

KT_TP_BOTH(inet_sock_set_state, state)
{
	return on_state((void *)ctx[0], (int)ctx[1], (int)ctx[2]);
}

SEC("tracepoint/sock/inet_sock_set_state")
int state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	return on_state(ctx->skaddr, ctx->oldstate, ctx->newstate);
}

char LICENSE[] SEC("license") = "GPL";
