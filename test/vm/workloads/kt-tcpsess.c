// SPDX-License-Identifier: GPL-2.0
/*
 * kt-tcpsess: one TCP session over loopback with known byte counts.
 *
 * A listener on PORT; a client connects and sends 300000 bytes; the server
 * (a child process) reads them, answers 1000 bytes and closes; the client
 * reads to the end, forks, and its child closes the client socket last (the
 * client dropped its copy first). Prints "pid PID cport CPORT child CHILD".
 *
 * usage: kt-tcpsess PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[65536];

static int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	return getsockname(fd, (struct sockaddr *)&a, &len) ? -1 : ntohs(a.sin_port);
}

static int send_all(int fd, size_t n)
{
	memset(buf, 'x', sizeof(buf));
	while (n) {
		ssize_t w = write(fd, buf, n < sizeof(buf) ? n : sizeof(buf));

		if (w <= 0)
			return -1;
		n -= (size_t)w;
	}
	return 0;
}

static size_t read_all(int fd, size_t want)
{
	size_t n = 0;
	ssize_t r;

	while ((!want || n < want) && (r = read(fd, buf, sizeof(buf))) > 0)
		n += (size_t)r;
	return n;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int ls, c, s, one = 1, p[2];
	pid_t srv, child;
	char x;

	a.sin_port = htons(argc > 1 ? atoi(argv[1]) : 5100);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4))
		return 1;
	srv = fork();
	if (srv == 0) {
		s = accept(ls, NULL, NULL);
		if (s < 0 || read_all(s, 300000) != 300000 || send_all(s, 1000))
			_exit(1);
		close(s);
		_exit(0);
	}
	close(ls);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) || send_all(c, 300000))
		return 1;
	if (read_all(c, 0) != 1000)
		return 1;
	waitpid(srv, NULL, 0);
	if (pipe(p))
		return 1;
	child = fork();
	if (child == 0) {
		if (read(p[0], &x, 1) != 1)
			_exit(1);
		close(c);
		_exit(0);
	}
	printf("pid %d cport %d child %d\n", (int)getpid(), local_port(c), (int)child);
	fflush(stdout);
	close(c);
	if (write(p[1], "x", 1) != 1)
		return 1;
	waitpid(child, NULL, 0);
	return 0;
}
