/* SPDX-License-Identifier: GPL-2.0 */
/* tcpconnect: types shared by probes/tcpconnect.bpf.c and cmd/tcpconnect.c. */
#ifndef KT_TCPCONNECT_H
#define KT_TCPCONNECT_H

#include "kt_common.h"

/* hdr.type of a record */
#define TC_CONNECT 1

/* tcpconnect_event.flags */
#define TC_F_RESET (1U << 0) /* a reset was received while in SYN_SENT */

/*
 * One finished connect attempt. hdr pid/tid/uid/comm are the task that
 * called connect() (recorded when the socket entered SYN_SENT), hdr.ts the
 * moment the attempt ended. Addresses in network byte order, ports in host
 * byte order.
 */
struct tcpconnect_event {
	struct kt_rec_hdr hdr;
	__u8 saddr[16]; /* local: the first 4 bytes for AF_INET */
	__u8 daddr[16]; /* remote */
	__u64 latency_ns; /* SYN_SENT to ESTABLISHED or CLOSE */
	__u16 lport;
	__u16 rport;
	__u16 family;	  /* AF_INET or AF_INET6 */
	__u8 established; /* 1: reached ESTABLISHED */
	__u8 flags;	  /* TC_F_* */
	__s32 err;	  /* sk_err at close (positive errno), 0 when established */
	__u32 pad;
};

/* counting mode (-c): key and value of the "counts" map, per destination */
struct tcpconnect_dest {
	__u8 daddr[16];
	__u16 rport;
	__u16 family;
	__u32 pad;
};

struct tcpconnect_count {
	__u64 connects;
	__u64 established;
	__u64 refused;
	__u64 timed_out;
	__u64 other; /* closed first, or another error */
	__u64 latency_ns; /* sum over the connects */
};

#endif
