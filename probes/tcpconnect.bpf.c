// SPDX-License-Identifier: GPL-2.0
/*
 * tcpconnect: active TCP connects and how they ended.
 *
 * sock:inet_sock_set_state entering SYN_SENT runs in the context of the task
 * calling connect(): its pid, comm and the time are kept, keyed by the socket,
 * in a bounded LRU hash (a socket abandoned without a state change ages out).
 * SYN_SENT -> ESTABLISHED is a connect that succeeded; SYN_SENT -> CLOSE one
 * that failed, with the reason in sk_err (ECONNREFUSED for a reset,
 * ETIMEDOUT when the SYN retries ran out, 0 when user space closed it
 * first). tcp:tcp_receive_reset marks a reset too. Both transitions may run
 * in softirq: the task is the one recorded at SYN_SENT, not current.
 * Cost: one hash update per connect and one lookup per state change of a TCP
 * socket; one ring buffer record per finished connect.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "kt_sock.bpf.h"
#include "tcpconnect.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
/* include/net/tcp_states.h */
#define ST_ESTABLISHED 1
#define ST_SYN_SENT 2
#define ST_CLOSE 7

const volatile bool cfg_failed = false;
const volatile bool cfg_count = false;

KT_DEFINE_STREAM();

/* -c: connects per destination (about 100 bytes an entry) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct tcpconnect_dest);
	__type(value, struct tcpconnect_count);
} counts SEC(".maps");

/* -c: connects not counted, the table being full */
KT_DEFINE_PERCPU_U64(misses);

static __always_inline void count(const struct sock_common *c, __u16 family, __u16 rport,
				  bool established, int err, __u32 flags, __u64 latency)
{
	struct tcpconnect_dest k = {};
	struct tcpconnect_count *v, zero = {};

	k.family = family;
	k.rport = rport;
	if (family == AF_INET6)
		bpf_core_read(k.daddr, 16, &c->skc_v6_daddr);
	else
		bpf_core_read(k.daddr, 4, &c->skc_daddr);
	v = bpf_map_lookup_elem(&counts, &k);
	if (!v) {
		long r = bpf_map_update_elem(&counts, &k, &zero, BPF_NOEXIST);

		if (r && r != -17 /* EEXIST: another CPU added it */) {
			kt_count_drop(&misses);
			return;
		}
		v = bpf_map_lookup_elem(&counts, &k);
		if (!v)
			return;
	}
	__sync_fetch_and_add(&v->connects, 1);
	__sync_fetch_and_add(&v->latency_ns, latency);
	if (established)
		__sync_fetch_and_add(&v->established, 1);
	else if (err == 111 /* ECONNREFUSED */ || (!err && (flags & TC_F_RESET)))
		__sync_fetch_and_add(&v->refused, 1);
	else if (err == 110 /* ETIMEDOUT */)
		__sync_fetch_and_add(&v->timed_out, 1);
	else
		__sync_fetch_and_add(&v->other, 1);
}

struct pending {
	__u64 ts;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 flags; /* TC_F_* */
	char comm[KT_TASK_COMM_LEN];
};

/* connects in SYN_SENT, keyed by the socket */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pending);
} pending SEC(".maps");

static __always_inline void on_syn_sent(const struct sock *sk)
{
	__u64 key = (__u64)sk, id;
	struct pending p = {};

	if (!kt_filter_current())
		return;
	id = bpf_get_current_pid_tgid();
	p.ts = bpf_ktime_get_ns();
	p.pid = id >> 32;
	p.tid = (__u32)id;
	p.uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(p.comm, sizeof(p.comm));
	bpf_map_update_elem(&pending, &key, &p, BPF_ANY);
}

static __always_inline void on_done(const struct sock *sk, bool established)
{
	const struct sock_common *c = (const void *)sk;
	__u64 key = (__u64)sk, now = bpf_ktime_get_ns();
	struct tcpconnect_event *e;
	struct pending *p;
	__u16 family, lport, rport;
	int err = 0;

	p = bpf_map_lookup_elem(&pending, &key);
	if (!p)
		return;
	if (!established)
		err = BPF_CORE_READ(sk, sk_err);
	if (established && cfg_failed)
		goto out;
	family = BPF_CORE_READ(c, skc_family);
	lport = BPF_CORE_READ(c, skc_num);
	/* moving to CLOSE may have released an automatically bound port */
	if (!lport)
		lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	rport = bpf_ntohs(BPF_CORE_READ(c, skc_dport));
	if (!kt_filter_flow(family, lport, rport))
		goto out;
	if (cfg_count) {
		count(c, family, rport, established, err, p->flags, now - p->ts);
		goto out;
	}
	e = kt_reserve(struct tcpconnect_event, TC_CONNECT);
	if (!e)
		goto out;
	e->hdr.pid = p->pid;
	e->hdr.tid = p->tid;
	e->hdr.uid = p->uid;
	__builtin_memcpy(e->hdr.comm, p->comm, sizeof(e->hdr.comm));
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	if (family == AF_INET6) {
		bpf_core_read(e->saddr, 16, &c->skc_v6_rcv_saddr);
		bpf_core_read(e->daddr, 16, &c->skc_v6_daddr);
	} else {
		bpf_core_read(e->saddr, 4, &c->skc_rcv_saddr);
		bpf_core_read(e->daddr, 4, &c->skc_daddr);
	}
	e->latency_ns = now - p->ts;
	e->lport = lport;
	e->rport = rport;
	e->family = family;
	e->established = established;
	e->flags = (__u8)p->flags;
	e->err = err;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
out:
	bpf_map_delete_elem(&pending, &key);
}

static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate)
{
	if (!sk)
		return 0;
	if (newstate == ST_SYN_SENT) {
		on_syn_sent(sk);
		return 0;
	}
	if (oldstate != ST_SYN_SENT)
		return 0;
	if (newstate == ST_ESTABLISHED)
		on_done(sk, true);
	else if (newstate == ST_CLOSE)
		on_done(sk, false);
	return 0;
}

KT_INET_SOCK_SET_STATE_PROGRAMS()

/* ---- a reset received in SYN_SENT: the connect was refused ---- */

static __always_inline int on_reset(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct pending *p;

	if (!sk)
		return 0;
	p = bpf_map_lookup_elem(&pending, &key);
	if (p)
		p->flags |= TC_F_RESET;
	return 0;
}

struct trace_event_raw_tcp_event_sk___kt {
	const void *skaddr;
} __attribute__((preserve_access_index));

KT_TP_BOTH(tcp_receive_reset, reset)
{
	return on_reset((void *)ctx[0]);
}

SEC("tracepoint/tcp/tcp_receive_reset")
int reset_tp(struct trace_event_raw_tcp_event_sk___kt *ctx)
{
	return on_reset(ctx->skaddr);
}

char LICENSE[] SEC("license") = "GPL";
