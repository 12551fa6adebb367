/* SPDX-License-Identifier: GPL-2.0 */
/* tcpretrans: types shared by probes/tcpretrans.bpf.c and cmd/tcpretrans.c. */
#ifndef KT_TCPRETRANS_H
#define KT_TCPRETRANS_H

#include "kt_common.h"

/* hdr.type of a record, and the kind of a counted flow */
enum tr_kind {
	TR_RETRANS = 1, /* R: a segment retransmitted */
	TR_SYNACK,	/* S: a SYN-ACK retransmitted */
	TR_TLP,		/* L: a tail loss probe sent */
	TR_RST_SENT,	/* a reset sent (--resets) */
	TR_RST_RECV,	/* a reset received (--resets) */
	TR_KIND_N,
};

/* tcpretrans_event.flags */
#define TR_F_TASK (1U << 0)   /* hdr pid/comm are the socket's owner (process context) */
#define TR_F_SEQ (1U << 1)    /* seq is set */
#define TR_F_STATE (1U << 2)  /* state is set (a reset without a socket has none) */
#define TR_F_REASON (1U << 3) /* reason is set (tcp_send_reset on 6.10+) */
#define TR_F_ERR (1U << 4)    /* err is set (tcp_retransmit_skb on 6.10+) */

/* Addresses in network byte order, ports in host byte order. */
struct tcpretrans_event {
	struct kt_rec_hdr hdr;
	__u8 saddr[16]; /* local: the first 4 bytes for AF_INET */
	__u8 daddr[16]; /* remote */
	__u16 lport;
	__u16 rport;
	__u16 family; /* AF_INET or AF_INET6 */
	__u8 state;   /* TCP_ESTABLISHED, ... */
	__u8 flags;   /* TR_F_* */
	__u32 seq;
	__u32 reason; /* enum sk_rst_reason */
	__s32 err;    /* negative errno of the retransmit, 0 when it went out */
	__u32 pad;
};

/* Count mode (-c): retransmits per flow and kind. */
struct tcpretrans_flow {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 lport;
	__u16 rport;
	__u16 family;
	__u8 kind; /* enum tr_kind */
	__u8 pad;
};

struct tcpretrans_count {
	__u64 count;
	__u32 state; /* state at the last one */
	__u32 pad;
};

#endif
