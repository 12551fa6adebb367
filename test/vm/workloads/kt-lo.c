// SPDX-License-Identifier: GPL-2.0
/*
 * kt-lo: TCP traffic over loopback, so that the receive side runs the
 * NET_RX softirq: a child connects to PORT on 127.0.0.1 and sends MB
 * megabytes in 64 KiB writes; the parent accepts and reads them all.
 * Prints "received BYTES".
 *
 * usage: kt-lo PORT [MB]
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

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int port = argc > 1 ? atoi(argv[1]) : 5001, one = 1, ls, s, st;
	long mb = argc > 2 ? atol(argv[2]) : 16, got = 0;
	ssize_t r;
	pid_t pid;

	a.sin_port = htons(port);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1))
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);

		memset(buf, 'x', sizeof(buf));
		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
			_exit(1);
		for (long i = 0; i < mb * 16; i++)
			if (write(c, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				_exit(1);
		close(c);
		_exit(0);
	}
	s = accept(ls, NULL, NULL);
	if (s < 0)
		return 1;
	while ((r = read(s, buf, sizeof(buf))) > 0)
		got += r;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	printf("received %ld\n", got);
	return got == mb << 20 ? 0 : 1;
}
