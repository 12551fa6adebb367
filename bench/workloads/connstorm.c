// SPDX-License-Identifier: GPL-2.0
/*
 * connstorm: short TCP connections over loopback as fast as possible; ops
 * counts connections. The port comes from $KTB_PORT (a listener there, made
 * here), the mode from $KTB_MODE:
 *   accept  (default) connect, accept, close both: the client with
 *           SO_LINGER {1, 0} (a reset, so no TIME_WAIT piles up and the
 *           ephemeral ports last), then the server side;
 *   refuse  connect to $KTB_PORT with nothing listening: the kernel drops
 *           the SYN (NO_SOCKET) and answers with a reset.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "storm.h"

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const char *port = getenv("KTB_PORT"), *mode = getenv("KTB_MODE");
	bool refuse = mode && !strcmp(mode, "refuse");
	struct linger l = { 1, 0 };
	struct storm s;
	uint64_t ops = 0;
	int ls = -1, one = 1;

	if (!port || storm_init(&s, argc, argv))
		return 2;
	a.sin_port = htons((uint16_t)atoi(port));
	if (!refuse) {
		ls = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 128)) {
			perror("connstorm: listen on $KTB_PORT");
			return 1;
		}
	}
	do {
		int c = socket(AF_INET, SOCK_STREAM, 0), r;

		if (c < 0) {
			perror("connstorm: socket");
			return 1;
		}
		r = connect(c, (struct sockaddr *)&a, sizeof(a));
		if (refuse) {
			if (r == 0) {
				fprintf(stderr, "connstorm: something listens on $KTB_PORT\n");
				return 1;
			}
		} else {
			int sv;

			if (r) {
				perror("connstorm: connect");
				return 1;
			}
			sv = accept(ls, NULL, NULL);
			setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			close(c);
			if (sv >= 0)
				close(sv);
			c = -1;
		}
		if (c >= 0)
			close(c);
		ops++;
	} while (storm_more(&s, ops));
	storm_report(&s, ops);
	return 0;
}
