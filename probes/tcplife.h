/* SPDX-License-Identifier: GPL-2.0 */
/* tcplife: types shared by probes/tcplife.bpf.c and cmd/tcplife.c. */
#ifndef KT_TCPLIFE_H
#define KT_TCPLIFE_H

#include "kt_common.h"

/* hdr.type of a record */
#define TL_SESSION 1

/* tcplife_event.flags */
#define TL_F_TASK (1U << 0)   /* hdr pid/tid/uid/comm name the owner (see below) */
#define TL_F_BIRTH (1U << 1)  /* the session began while tracing: duration_ns is valid */
#define TL_F_ACTIVE (1U << 2) /* opened by connect() (SYN_SENT seen), else accepted */

/*
 * One TCP session that reached CLOSE. hdr.ts is the moment it closed; hdr
 * pid/tid/uid/comm (with TL_F_TASK) the task that called connect(), or for an
 * accepted socket the task that closed it (the first state change made in
 * process context). Addresses in network byte order, ports in host order.
 */
struct tcplife_event {
	struct kt_rec_hdr hdr;
	__u8 saddr[16]; /* local: the first 4 bytes for AF_INET */
	__u8 daddr[16]; /* remote */
	__u64 tx_bytes;	/* tcp_sock.bytes_acked: sent and acknowledged */
	__u64 rx_bytes;	/* tcp_sock.bytes_received */
	__u64 duration_ns; /* first state change seen to CLOSE */
	__u16 lport;
	__u16 rport;
	__u16 family; /* AF_INET or AF_INET6 */
	__u8 oldstate; /* the state it closed from */
	__u8 flags;    /* TL_F_* */
};

#endif
