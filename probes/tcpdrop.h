/* SPDX-License-Identifier: GPL-2.0 */
/* tcpdrop: types shared by probes/tcpdrop.bpf.c and cmd/tcpdrop.c. */
#ifndef KT_TCPDROP_H
#define KT_TCPDROP_H

#include "kt_common.h"

/* hdr.type of a record */
#define TD_DROP 1

#define TD_STACK_DEPTH 32

/* tcpdrop_event.flags */
#define TD_F_REASON (1U << 0) /* reason is the kernel's (5.17+) */
#define TD_F_FLOW (1U << 1)   /* addresses and protocol parsed from the IP header */
#define TD_F_PORTS (1U << 2)  /* sport/dport parsed (TCP or UDP) */
#define TD_F_TCP (1U << 3)    /* tcp_flags parsed */
#define TD_F_STATE (1U << 4)  /* state: the TCP state of the packet's socket */
#define TD_F_IN (1U << 5)     /* the packet was received (skb_iif set), else sent */

/*
 * One packet freed by kfree_skb() as a drop. hdr pid/comm are the task that
 * was running (often unrelated: softirq). Addresses in network byte order,
 * ports in host byte order, as the packet carried them (source, destination).
 */
struct tcpdrop_event {
	struct kt_rec_hdr hdr;
	__u8 saddr[16];
	__u8 daddr[16];
	__u64 location; /* the kernel address that freed the packet */
	__u32 reason;	/* enum skb_drop_reason, numbered as this kernel does */
	__u16 sport;
	__u16 dport;
	__u16 family;	/* AF_INET or AF_INET6, with TD_F_FLOW */
	__u8 l4proto;	/* IPPROTO_* */
	__u8 tcp_flags; /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ... */
	__u8 state;
	__u8 flags; /* TD_F_* */
	__u16 pad;
	__s32 nstack; /* bytes of stack (bpf_get_stack), <= 0 when none */
	__u64 stack[TD_STACK_DEPTH];
};

/* counting mode (-c): key of the "counts" map */
struct tcpdrop_key {
	__u32 reason;	/* 0 on kernels without reasons */
	__u32 pad;
	__u64 location; /* 0 on kernels with reasons */
};

#endif
