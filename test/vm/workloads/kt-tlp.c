// SPDX-License-Identifier: GPL-2.0
/*
 * kt-tlp: make the kernel send a TCP tail loss probe over loopback, without
 * netfilter or qdisc modules.
 *
 * The accepted end of a loopback connection gets a classic BPF socket filter
 * that drops every segment, so the data the client then writes is never
 * acknowledged: the client's kernel sends a tail loss probe after its probe
 * timeout, then retransmits on RTO.
 *
 * usage: kt-tlp [PORT [WAIT_MS]]   (defaults 4343, 1500)
 * prints "client LPORT" (the client's local port).
 */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 4343;
	long wait_ms = argc > 2 ? atol(argv[2]) : 1500;
	struct sockaddr_in a = { .sin_family = AF_INET }, me;
	socklen_t mlen = sizeof(me);
	struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };
	struct sock_filter drop[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { 1, drop };
	char buf[1000];
	int one = 1, l, c, s;

	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1)) {
		perror("kt-tlp: listen");
		return 1;
	}
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a))) {
		perror("kt-tlp: connect");
		return 1;
	}
	s = accept(l, NULL, NULL);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog))) {
		perror("kt-tlp: accept or filter");
		return 1;
	}
	getsockname(c, (struct sockaddr *)&me, &mlen);
	printf("client %d\n", ntohs(me.sin_port));
	fflush(stdout);
	memset(buf, 'x', sizeof(buf));
	if (write(c, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		perror("kt-tlp: write");
		return 1;
	}
	nanosleep(&ts, NULL);
	return 0;
}
