// SPDX-License-Identifier: GPL-2.0
/*
 * kt-rst: two TCP resets over loopback, without netfilter.
 *
 * A connect to the closed PORT is refused (the kernel resets it with no
 * socket); then a connection to PORT+1 is closed by its client with
 * SO_LINGER {1, 0}, which resets it from the client's own context.
 * Prints "refused CPORT" and "linger CPORT" with each client's local port.
 *
 * usage: kt-rst PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	return getsockname(fd, (struct sockaddr *)&a, &len) ? -1 : ntohs(a.sin_port);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger l = { 1, 0 };
	int port = argc > 1 ? atoi(argv[1]) : 5000;
	int c, ls, s, one = 1;

	/* bind first, so the port is known even though the connect fails */
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || bind(c, (struct sockaddr *)&any, sizeof(any)))
		return 1;
	a.sin_port = htons(port);
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) == 0)
		return 1;
	printf("refused %d\n", local_port(c));
	close(c);

	a.sin_port = htons(port + 1);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4))
		return 1;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
		return 1;
	s = accept(ls, NULL, NULL);
	printf("linger %d\n", local_port(c));
	fflush(stdout);
	setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(c);
	usleep(200000);
	close(s);
	close(ls);
	return 0;
}
