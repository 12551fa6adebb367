// SPDX-License-Identifier: GPL-2.0
/*
 * kt-synretry: make the kernel retransmit a TCP SYN over loopback, without
 * netfilter or qdisc modules.
 *
 * A listener with backlog 0 that never accepts holds one connection in its
 * accept queue; the SYNs of further connections are dropped while the queue
 * is full, so their senders retransmit them after the initial RTO (1 s).
 *
 * usage: kt-synretry [PORT [WAIT_MS]]   (defaults 4242, 2500)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLIENTS 4

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 4242;
	long wait_ms = argc > 2 ? atol(argv[2]) : 2500;
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };
	int one = 1, l, c[CLIENTS];

	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 0)) {
		perror("kt-synretry: listen");
		return 1;
	}
	for (int i = 0; i < CLIENTS; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c[i] < 0) {
			perror("kt-synretry: socket");
			return 1;
		}
		if (connect(c[i], (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS) {
			perror("kt-synretry: connect");
			return 1;
		}
	}
	nanosleep(&ts, NULL);
	printf("kt-synretry: %d connections attempted to 127.0.0.1:%d\n", CLIENTS, port);
	return 0;
}
