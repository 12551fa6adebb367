// SPDX-License-Identifier: GPL-2.0
/*
 * tcplife: TCP sessions as they close, with their bytes and duration.
 *
 * sock:inet_sock_set_state is the only hook: the first state change of a
 * socket (SYN_SENT for connect(), SYN_RECV for a socket a listener creates)
 * starts its life; the task is taken from a state change that runs in the
 * process context of the socket's owner: SYN_SENT (connect()), else
 * FIN_WAIT1 or LAST_ACK (close() or shutdown() of an accepted socket).
 * Other transitions run in softirq, where current is whoever was
 * interrupted. So a child that closes a socket its parent connected does
 * not take it over: SYN_SENT's task stays. At CLOSE, tcp_sock's
 * bytes_acked and bytes_received (CO-RE) give the bytes and one record is
 * sent. State is kept per socket in a bounded LRU hash ("lives"): a
 * socket that never closes while tracing ages out.
 * Cost: one hash lookup per state change of a TCP socket, an update on the
 * first, one ring buffer record per closed session.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "kt_sock.bpf.h"
#include "tcplife.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
/* include/net/tcp_states.h */
#define ST_SYN_SENT 2
#define ST_FIN_WAIT1 4
#define ST_CLOSE 7
#define ST_LAST_ACK 9
#define ST_FIN_WAIT2 5
#define ST_CLOSING 11
#define ST_LISTEN 10
#define ST_NEW_SYN_RECV 12

KT_DEFINE_STREAM();

/* life.task */
#define TASK_NONE 0
#define TASK_MATCH 1 /* known, and it passes the task filters */
#define TASK_OTHER 2 /* known, filtered out */

struct life {
	__u64 birth; /* 0: began before tracing */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u8 task;   /* TASK_* */
	__u8 active;
	__u16 pad;
	char comm[KT_TASK_COMM_LEN];
};

/* TCP sockets seen changing state, keyed by the socket (48-byte values) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct life);
} lives SEC(".maps");

static __always_inline void set_task(struct life *l)
{
	__u64 id = bpf_get_current_pid_tgid();

	l->pid = id >> 32;
	l->tid = (__u32)id;
	l->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(l->comm, sizeof(l->comm));
	l->task = kt_filter_current() ? TASK_MATCH : TASK_OTHER;
}

/*
 * bytes_acked and bytes_received count sequence space: a SYN and a FIN take
 * one each. The payload is what the application wrote and read, so take them
 * out: the SYN of connect() once the peer acknowledged it (a SYN-ACK a
 * listener sends is not counted), our FIN once acknowledged (it was sent
 * when the socket is in a state only a FIN leads to, and acknowledged when
 * nothing is left unacknowledged), the peer's FIN once received in order
 * (tcp_fin() sets SOCK_DONE; tcp_done() does not).
 */
static __always_inline __u64 payload_sent(const struct sock *sk, const struct tcp_sock *tp,
					  int oldstate, bool active)
{
	__u64 n = BPF_CORE_READ(tp, bytes_acked);

	if (active && n)
		n--;
	if ((oldstate == ST_FIN_WAIT1 || oldstate == ST_FIN_WAIT2 || oldstate == ST_CLOSING ||
	     oldstate == ST_LAST_ACK) &&
	    n && BPF_CORE_READ(tp, snd_una) == BPF_CORE_READ(tp, write_seq))
		n--;
	return n;
}

static __always_inline __u64 payload_received(const struct sock *sk, const struct tcp_sock *tp)
{
	__u64 n = BPF_CORE_READ(tp, bytes_received);
	unsigned long flags = BPF_CORE_READ(sk, __sk_common.skc_flags);

	if (n && (flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))))
		n--;
	return n;
}

static __always_inline void on_close(const struct sock *sk, struct life *l, int oldstate)
{
	const struct sock_common *c = (const void *)sk;
	const struct tcp_sock *tp = (const void *)sk;
	struct tcplife_event *e;
	__u16 family, lport, rport;
	bool task_filtered = kt_filter.tgid || kt_filter.tid || kt_filter.uid != KT_ANY_UID ||
			     kt_filter.cgroup_id || kt_filter.comm_len;

	if (task_filtered && (!l || l->task != TASK_MATCH))
		return;
	family = BPF_CORE_READ(c, skc_family);
	lport = BPF_CORE_READ(c, skc_num);
	/* moving to CLOSE may have released an automatically bound port */
	if (!lport)
		lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	rport = bpf_ntohs(BPF_CORE_READ(c, skc_dport));
	if (!kt_filter_flow(family, lport, rport))
		return;
	e = kt_reserve(struct tcplife_event, TL_SESSION);
	if (!e)
		return;
	e->flags = 0;
	e->duration_ns = 0;
	if (l) {
		if (l->task != TASK_NONE) {
			e->hdr.pid = l->pid;
			e->hdr.tid = l->tid;
			e->hdr.uid = l->uid;
			__builtin_memcpy(e->hdr.comm, l->comm, sizeof(e->hdr.comm));
			e->flags |= TL_F_TASK;
		}
		if (l->birth) {
			e->duration_ns = e->hdr.ts - l->birth;
			e->flags |= TL_F_BIRTH;
		}
		if (l->active)
			e->flags |= TL_F_ACTIVE;
	}
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	if (family == AF_INET6) {
		bpf_core_read(e->saddr, 16, &c->skc_v6_rcv_saddr);
		bpf_core_read(e->daddr, 16, &c->skc_v6_daddr);
	} else {
		bpf_core_read(e->saddr, 4, &c->skc_rcv_saddr);
		bpf_core_read(e->daddr, 4, &c->skc_daddr);
	}
	e->tx_bytes = payload_sent(sk, tp, oldstate, l && l->active);
	e->rx_bytes = payload_received(sk, tp);
	e->lport = lport;
	e->rport = rport;
	e->family = family;
	e->oldstate = (__u8)oldstate;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	struct life *l;

	if (!sk)
		return 0;
	l = bpf_map_lookup_elem(&lives, &key);
	if (newstate == ST_CLOSE) {
		/* a listener or a socket that never left CLOSE is no session */
		if (oldstate != ST_CLOSE && oldstate != ST_LISTEN)
			on_close(sk, l, oldstate);
		if (l)
			bpf_map_delete_elem(&lives, &key);
		return 0;
	}
	if (!l) {
		struct life n = {};

		/* a socket in a state past the handshake was born before tracing */
		if (newstate == ST_SYN_SENT || oldstate == ST_CLOSE || oldstate == ST_NEW_SYN_RECV ||
		    oldstate == ST_LISTEN)
			n.birth = bpf_ktime_get_ns();
		if (newstate == ST_SYN_SENT || newstate == ST_FIN_WAIT1 || newstate == ST_LAST_ACK)
			set_task(&n);
		n.active = newstate == ST_SYN_SENT;
		bpf_map_update_elem(&lives, &key, &n, BPF_ANY);
		return 0;
	}
	if (l->task == TASK_NONE && (newstate == ST_FIN_WAIT1 || newstate == ST_LAST_ACK))
		set_task(l);
	return 0;
}

KT_INET_SOCK_SET_STATE_PROGRAMS()

char LICENSE[] SEC("license") = "GPL";
