/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sock:inet_sock_set_state for the TCP commands (tcpconnect, tcplife): the
 * three ways to attach it, each handing a TCP socket's transition to the
 * command's
 *	static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate);
 * Include after vmlinux.h and the helpers; then KT_INET_SOCK_SET_STATE_PROGRAMS().
 * Programs: state_btf (tp_btf), state_raw (raw_tp), state_tp (tracepoint).
 */
#ifndef KT_SOCK_BPF_H
#define KT_SOCK_BPF_H

static __always_inline bool kt_sock_is_tcp(const struct sock *sk)
{
	return sk && BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) == IPPROTO_TCP;
}

#define KT_INET_SOCK_SET_STATE_PROGRAMS()                                                          \
	SEC("tp_btf/inet_sock_set_state")                                                          \
	int state_btf(__u64 *ctx)                                                                  \
	{                                                                                          \
		const struct sock *sk = (void *)ctx[0];                                            \
                                                                                                   \
		if (!kt_sock_is_tcp(sk))                                                           \
			return 0;                                                                  \
		return on_state(sk, (int)ctx[1], (int)ctx[2]);                                     \
	}                                                                                          \
                                                                                                   \
	SEC("raw_tp/inet_sock_set_state")                                                          \
	int state_raw(__u64 *ctx)                                                                  \
	{                                                                                          \
		const struct sock *sk = (void *)ctx[0];                                            \
                                                                                                   \
		if (!kt_sock_is_tcp(sk))                                                           \
			return 0;                                                                  \
		return on_state(sk, (int)ctx[1], (int)ctx[2]);                                     \
	}                                                                                          \
                                                                                                   \
	SEC("tracepoint/sock/inet_sock_set_state")                                                 \
	int state_tp(struct trace_event_raw_inet_sock_set_state *ctx)                              \
	{                                                                                          \
		if (ctx->protocol != IPPROTO_TCP)                                                  \
			return 0;                                                                  \
		return on_state(ctx->skaddr, ctx->oldstate, ctx->newstate);                        \
	}

#endif
