// SPDX-License-Identifier: GPL-2.0
/*
 * tcppingpong: one byte back and forth over a loopback TCP connection
 * (TCP_NODELAY) as fast as possible; ops counts round trips. Each send is a
 * loopback transmit whose receive runs the NET_RX softirq, the event the irq
 * case measures.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "storm.h"

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int one = 1, ls, c, s;
	struct storm st;
	uint64_t ops = 0;
	char b = 'x';
	pid_t pid;

	if (storm_init(&st, argc, argv))
		return 2;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&a, &len))
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) { /* the echo side */
		c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
			_exit(1);
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (read(c, &b, 1) == 1)
			if (write(c, &b, 1) != 1)
				break;
		_exit(0);
	}
	s = accept(ls, NULL, NULL);
	if (s < 0)
		return 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	st.start = storm_now(); /* not the connection set-up */
	do {
		if (write(s, &b, 1) != 1 || read(s, &b, 1) != 1)
			return 1;
		ops++;
	} while (storm_more(&st, ops));
	storm_report(&st, ops);
	close(s);
	waitpid(pid, NULL, 0);
	return 0;
}
