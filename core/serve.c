// SPDX-License-Identifier: GPL-2.0
/*
 * ktrace serve: summary commands run continuously, their metrics at /metrics.
 *
 * The parent binds the listening socket (so a bad address or a port in use
 * fails before anything loads), forks one child per command and waits until
 * each has attached (or one failed: serve fails with its exit code). Each
 * child runs kt_run() as `ktrace CMD` would, its text output thrown away,
 * and at every interval sends its cumulative metrics, rendered in both
 * formats, over a pipe (a header, then the text and OpenMetrics versions).
 * The parent keeps the latest of each child and builds one exposition per
 * format from them (plus ktrace_serve_command_up) whenever one changes: an
 * immutable, reference-counted snapshot. A scrape takes a reference and
 * hands the bytes to libmicrohttpd as they are: no copy, no rendering, no
 * lock held while sending.
 *
 * HTTP is libmicrohttpd's, on its own thread (poll, no FD_SETSIZE limit):
 * at most --max-connections connections and --max-connections-per-ip from
 * one address (further ones are closed at once), each idle connection closed
 * after --timeout seconds, at most 16 KiB of request (line and headers) per
 * connection (431 beyond it), GET and HEAD of /metrics and / only.
 * A slow reader holds one snapshot, never a copy of its own.
 *
 * Signals are taken through a signalfd in the main loop, blocked elsewhere
 * (the HTTP thread included). SIGINT/SIGTERM: the server stops, the children
 * are told to stop (SIGTERM: they detach their programs and exit), waited
 * for (SIGKILL after 10 s: the kernel detaches what a killed process held).
 * A child that dies on its own is reported on stderr and as
 * ktrace_serve_command_up 0, and its metrics leave the exposition; children
 * die with the parent (PR_SET_PDEATHSIG).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "caps.h"
#include "ktrace.h"
#include "serve.h"
#include "util.h"

#define SERVE_LISTEN_DEFAULT "127.0.0.1:9464"
#define SERVE_MAX_CONN 128
#define SERVE_MAX_CONN_PER_IP 16
#define SERVE_TIMEOUT_S 10
/* request line and headers of one connection: a scraper sends a few hundred bytes */
#define SERVE_CONN_MEMORY (16U << 10)
/* one command's metrics: 32 metrics of 1000 series fit */
#define SERVE_MAX_MSG (128U << 20)
#define SERVE_STOP_WAIT_S 10

enum { MSG_READY = 1, MSG_METRICS = 2 };

struct msg_hdr {
	uint32_t type;
	uint32_t len;
};

/* ---- the side of a command ---- */

static int child_fd = -1;

bool kt_serve_child(void)
{
	return child_fd >= 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

void kt_serve_ready(void)
{
	struct msg_hdr h = { MSG_READY, 0 };

	if (child_fd >= 0 && write_all(child_fd, &h, sizeof(h)))
		kt_stop(KT_STOP_OUTPUT_CLOSED);
}

int kt_serve_push(const char *text, size_t text_len, const char *om, size_t om_len)
{
	uint32_t tl = (uint32_t)text_len;
	struct msg_hdr h = { MSG_METRICS, (uint32_t)(sizeof(tl) + text_len + om_len) };
	int err;

	if (child_fd < 0)
		return -EBADF;
	if (sizeof(tl) + text_len + om_len > SERVE_MAX_MSG)
		return -EMSGSIZE;
	err = write_all(child_fd, &h, sizeof(h));
	if (!err)
		err = write_all(child_fd, &tl, sizeof(tl));
	if (!err)
		err = write_all(child_fd, text, text_len);
	if (!err)
		err = write_all(child_fd, om, om_len);
	if (err == -EPIPE) /* serve is gone: nobody to trace for */
		kt_stop(KT_STOP_OUTPUT_CLOSED);
	return err;
}

/* ---- snapshots: one exposition, shared by every response that sends it ---- */

struct blob {
	int refs;
	size_t len;
	char data[];
};

static void blob_put(void *p)
{
	struct blob *b = p;

	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

/* ---- the parent ---- */

struct child {
	const struct kt_cmd *cmd;
	int argc;
	char **argv;
	pid_t pid;
	int fd; /* the read end of its pipe; -1 once closed */
	bool ready;
	bool up;     /* ready, and neither dead nor gone quiet */
	bool exited; /* waited for */
	int status;
	/* the message being read */
	struct msg_hdr h;
	size_t hgot;
	char *msg;
	size_t mgot;
	/* the latest metrics (main thread only) */
	char *metrics; /* text, then OpenMetrics */
	size_t text_len, len;
};

static struct {
	struct child *c;
	size_t n;
	pthread_mutex_t lock;
	struct blob *snap[2]; /* [0] text 0.0.4, [1] OpenMetrics; under lock */
	int died;	      /* children that died on their own */
} S = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct blob *snap_build(bool om)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct blob *b = NULL;

	if (!f)
		return NULL;
	for (size_t i = 0; i < S.n; i++) {
		const struct child *c = &S.c[i];

		if (!c->up || !c->metrics)
			continue;
		if (om)
			fwrite(c->metrics + c->text_len, 1, c->len - c->text_len, f);
		else
			fwrite(c->metrics, 1, c->text_len, f);
	}
	fputs("# HELP ktrace_serve_command_up ktrace serve: 1 while the command runs, 0 after it "
	      "died (its metrics are gone then)\n"
	      "# TYPE ktrace_serve_command_up gauge\n",
	      f);
	for (size_t i = 0; i < S.n; i++)
		fprintf(f, "ktrace_serve_command_up{command=\"%s\"} %d\n", S.c[i].cmd->name,
			S.c[i].up);
	if (om)
		fputs("# EOF\n", f);
	if (fclose(f) == 0 && (b = malloc(sizeof(*b) + len + 1))) {
		b->refs = 1;
		b->len = len;
		memcpy(b->data, buf, len);
	}
	free(buf);
	return b;
}

/* After a change: new snapshots replace the old ones (which live on while sent). */
static void snap_update(void)
{
	struct blob *n[2] = { snap_build(false), snap_build(true) }, *old[2];

	if (!n[0] || !n[1]) {
		kt_warn("serve: out of memory building the metrics; the last ones are served");
		blob_put(n[0]);
		blob_put(n[1]);
		return;
	}
	pthread_mutex_lock(&S.lock);
	old[0] = S.snap[0];
	old[1] = S.snap[1];
	S.snap[0] = n[0];
	S.snap[1] = n[1];
	pthread_mutex_unlock(&S.lock);
	blob_put(old[0]);
	blob_put(old[1]);
}

static struct blob *snap_get(bool om)
{
	struct blob *b;

	pthread_mutex_lock(&S.lock);
	b = S.snap[om];
	if (b)
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&S.lock);
	return b;
}

/* ---- HTTP ---- */

/*
 * The q of a media range entry "type/sub;version=...;q=..." for what it
 * names: OpenMetrics 1.0 (om) or the text format 0.0.4; -1 when it names
 * neither. Prometheus asks "application/openmetrics-text;version=1.0.0,
 * ...,text/plain;version=0.0.4;q=0.5,*\/\*;q=0.1".
 */
static double accept_q(const char *e, size_t n, bool om)
{
	char buf[256], *save = NULL, *tok, *type;
	double q = 1;
	bool match = false, version_ok = true;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, e, n);
	buf[n] = 0;
	type = strtok_r(buf, ";", &save);
	if (!type)
		return -1;
	type += strspn(type, " \t");
	type[strcspn(type, " \t")] = 0;
	if (om)
		match = !strcasecmp(type, "application/openmetrics-text");
	else
		match = !strcasecmp(type, "text/plain") || !strcasecmp(type, "text/*") ||
			!strcmp(type, "*/*");
	while ((tok = strtok_r(NULL, ";", &save))) {
		tok += strspn(tok, " \t");
		if (!strncasecmp(tok, "q=", 2))
			q = strtod(tok + 2, NULL);
		else if (!strncasecmp(tok, "version=", 8))
			version_ok = om ? !strncmp(tok + 8, "1.0.0", 5) : !strncmp(tok + 8, "0.0.4", 5);
	}
	return match && version_ok ? q : -1;
}

/* OpenMetrics when the scraper prefers it (or accepts it and not the text format). */
static bool wants_openmetrics(const char *accept)
{
	double om = -1, text = -1;

	if (!accept)
		return false;
	for (const char *p = accept; *p;) {
		size_t n = strcspn(p, ",");
		double a = accept_q(p, n, true), b = accept_q(p, n, false);

		if (a > om)
			om = a;
		if (b > text)
			text = b;
		p += n + (p[n] == ',');
	}
	return om > 0 && om >= text;
}

static enum MHD_Result reply_static(struct MHD_Connection *conn, unsigned code, const char *type,
				    const char *body, const char *allow)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static const char index_html[] =
	"<!DOCTYPE html>\n<html><head><title>ktrace serve</title></head>\n"
	"<body><h1>ktrace serve</h1>\n<p><a href=\"/metrics\">/metrics</a>: the metrics of the "
	"commands it runs (man ktrace-serve)</p></body></html>\n";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET), head = !strcmp(method, MHD_HTTP_METHOD_HEAD);
	struct MHD_Response *r;
	enum MHD_Result ret;
	static int seen;
	struct blob *b;
	bool om;

	/*
	 * GET and HEAD are answered at the second call, once the request is
	 * read whole: a response queued at the first closes the connection
	 * (Prometheus keeps it alive between scrapes). Other methods may carry
	 * a body: refused at once, and the connection closed.
	 */
	if ((get || head) && !*con_cls) {
		*con_cls = &seen;
		return MHD_YES;
	}
	if (!strcmp(url, "/")) {
		if (!get && !head)
			return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
					    "method not allowed: GET or HEAD\n", "GET, HEAD");
		return reply_static(conn, MHD_HTTP_OK, "text/html; charset=utf-8", index_html, NULL);
	}
	if (strcmp(url, "/metrics"))
		return reply_static(conn, MHD_HTTP_NOT_FOUND, "text/plain",
				    "not found: the metrics are at /metrics\n", NULL);
	if (!get && !head)
		return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
				    "method not allowed: GET or HEAD\n", "GET, HEAD");
	om = wants_openmetrics(
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
	b = snap_get(om);
	if (!b)
		return reply_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
				    "no metrics yet\n", NULL);
	r = MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->data, blob_put, b);
	if (!r) {
		blob_put(b);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
				   : "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- options and the listening socket ---- */

struct serve_opts {
	const char *listen;
	unsigned max_conn, max_conn_ip, timeout_s;
	int verbose;
};

static void serve_usage(FILE *f)
{
	fprintf(f,
		"Usage: ktrace serve [OPTION...] COMMAND [OPTIONS] [-- COMMAND [OPTIONS]]...\n\n"
		"Run summary commands continuously and serve their metrics over HTTP at /metrics\n"
		"(Prometheus text format 0.0.4, or OpenMetrics 1.0 when the scraper asks for it),\n"
		"the same metrics --prom-textfile writes. Each command takes its own options;\n"
		"its interval (default 1 s) is how often its metrics are updated.\n\n"
		"      --listen=ADDR:PORT     Listen there (default %s; [::1]:PORT for IPv6,\n"
		"                             0.0.0.0:PORT for every address)\n"
		"      --max-connections=N    At most N connections at once (default %d)\n"
		"      --max-connections-per-ip=N  At most N of them from one address (default %d)\n"
		"      --timeout=SECONDS      Close a connection idle this long (default %d)\n"
		"  -v, --verbose              Say more\n"
		"  -?, --help                 Show this help\n\n"
		"Commands it runs (summary commands):",
		SERVE_LISTEN_DEFAULT, SERVE_MAX_CONN, SERVE_MAX_CONN_PER_IP, SERVE_TIMEOUT_S);
	for (size_t i = 0, k = 0, col = 36; i < kt_n_cmds; i++) {
		if (kt_cmds[i]->kind != KT_SUMMARY)
			continue;
		if (col + strlen(kt_cmds[i]->name) + 2 > 78) {
			fprintf(f, "%s\n ", k ? "," : "");
			col = 1;
		} else if (k) {
			fputc(',', f);
			col++;
		}
		col += (size_t)fprintf(f, " %s", kt_cmds[i]->name);
		k++;
	}
	fprintf(f, ".\n\nExamples:\n"
		   "  ktrace serve biolat -D -- runqlat     disk latency per disk, run-queue latency\n"
		   "  ktrace serve --listen 0.0.0.0:9464 syscalls -x -- biotop --top 0\n"
		   "Then scrape http://HOST:9464/metrics (man ktrace-serve has a scrape config).\n");
}

static int parse_uint(const char *opt, const char *s, unsigned min, unsigned max, unsigned *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || n < min || n > max) {
		fprintf(stderr, "ktrace serve: invalid value for %s: '%s' (expected an integer from %u to %u)\n",
			opt, s, min, max);
		return -EINVAL;
	}
	*v = (unsigned)n;
	return 0;
}

/* "ADDR:PORT" or "[ADDR6]:PORT" into ss; -EINVAL with a message. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hl;
	unsigned port;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!colon || colon == s)
		goto bad;
	hl = (size_t)(colon - s);
	if (*s == '[') {
		if (hl < 3 || s[hl - 1] != ']')
			goto bad;
		h = s + 1;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, h, hl);
	host[hl] = 0;
	if (parse_uint("--listen", colon + 1, 1, 65535, &port))
		return -EINVAL;
	if (*s != '[' && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (*s == '[' && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
bad:
	fprintf(stderr,
		"ktrace serve: invalid --listen '%s': expected ADDR:PORT with a numeric address, e.g. "
		"127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464\n",
		s);
	return -EINVAL;
}

static int listen_on(const char *spec, const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fprintf(stderr, "ktrace serve: cannot create a socket: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 128)) {
		int e = errno;

		fprintf(stderr, "ktrace serve: cannot listen on %s: %s%s\n", spec, strerror(e),
			e == EADDRINUSE ? " (another program listens there: stop it or give another "
					  "port with --listen)"
			: e == EADDRNOTAVAIL ? " (no interface has this address)"
			: e == EACCES ? " (a port below 1024 needs CAP_NET_BIND_SERVICE)"
				      : "");
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Splits "CMD ARGS -- CMD ARGS" into S.c (argv[0] of each is its name) and
 * checks every command: known, a summary command, not twice. -EINVAL with a
 * message.
 */
static int split_commands(int argc, char **argv)
{
	S.c = calloc((size_t)argc, sizeof(*S.c));
	if (!S.c)
		return -ENOMEM;
	for (int i = 0; i < argc;) {
		struct child *c = &S.c[S.n];
		int j = i;

		while (j < argc && strcmp(argv[j], "--"))
			j++;
		if (j == i) {
			fprintf(stderr, "ktrace serve: an empty command %s '--'\n",
				i ? "after" : "before");
			return -EINVAL;
		}
		c->cmd = kt_cmd_find(argv[i]);
		c->argc = j - i;
		c->argv = argv + i;
		c->fd = -1;
		if (!c->cmd) {
			const struct kt_cmd *s = kt_cmd_suggest(argv[i]);

			fprintf(stderr, "ktrace serve: unknown command '%s'%s%s%s\n", argv[i],
				s ? "; did you mean '" : "", s ? s->name : "", s ? "'?" : "");
			return -EINVAL;
		}
		if (c->cmd->kind != KT_SUMMARY) {
			fprintf(stderr, "ktrace serve: %s is not a summary command (it %s): serve runs ",
				argv[i], c->cmd->kind == KT_STREAM ? "prints events as they happen"
								   : "traces nothing");
			for (size_t k = 0, m = 0; k < kt_n_cmds; k++)
				if (kt_cmds[k]->kind == KT_SUMMARY)
					fprintf(stderr, "%s%s", m++ ? ", " : "", kt_cmds[k]->name);
			fprintf(stderr, "\n");
			return -EINVAL;
		}
		for (size_t k = 0; k < S.n; k++)
			if (S.c[k].cmd == c->cmd) {
				fprintf(stderr, "ktrace serve: %s is given twice: its metrics would have "
						"the same names (give it once, with the options of both)\n",
					argv[i]);
				return -EINVAL;
			}
		S.n++;
		i = j + 1;
		if (j + 1 == argc && j < argc) {
			fprintf(stderr, "ktrace serve: an empty command after '--'\n");
			return -EINVAL;
		}
	}
	if (!S.n) {
		fprintf(stderr, "ktrace serve: which commands? e.g. ktrace serve biolat -D -- runqlat\n");
		return -EINVAL;
	}
	return 0;
}

/* ---- children ---- */

static int start_child(struct child *c, int lfd, int sfd, const sigset_t *old, int full_argc,
		       char **full_argv)
{
	int p[2], devnull;
	char name[64];

	if (pipe2(p, O_CLOEXEC)) {
		kt_err("serve: cannot create a pipe: %s", strerror(errno));
		return -errno;
	}
	c->pid = fork();
	if (c->pid < 0) {
		int e = errno;

		kt_err("serve: cannot start %s: %s", c->cmd->name, strerror(e));
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (c->pid == 0) {
		/* the command dies with serve */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(lfd);
		close(sfd);
		close(p[0]);
		for (size_t i = 0; i < S.n; i++)
			if (S.c[i].fd >= 0)
				close(S.c[i].fd);
		/* its text output goes nowhere: only the metrics matter */
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			close(devnull);
		}
		child_fd = p[1];
		sigprocmask(SIG_SETMASK, old, NULL);
		if (getppid() == 1)
			_exit(KT_EXIT_FAIL);
		/* argp names the program after argv[0]: "ktrace biolat" */
		snprintf(name, sizeof(name), "ktrace %s", c->cmd->name);
		c->argv[0] = name;
		fflush(NULL);
		_exit(kt_run(c->cmd, c->argc, c->argv, full_argc, full_argv));
	}
	close(p[1]);
	c->fd = p[0];
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	return 0;
}

static void describe_status(int status, char *b, size_t sz)
{
	if (WIFEXITED(status))
		snprintf(b, sz, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(b, sz, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(b, sz, "stopped (status 0x%x)", status);
}

static void close_child(struct child *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->msg);
	c->msg = NULL;
	c->hgot = c->mgot = 0;
}

/* Reads what the child sent; 1: a new state, 0: nothing complete, -1: EOF or an error. */
static int child_read(struct child *c)
{
	int changed = 0;

	for (;;) {
		ssize_t r;

		if (c->hgot < sizeof(c->h)) {
			r = read(c->fd, (char *)&c->h + c->hgot, sizeof(c->h) - c->hgot);
		} else {
			if (!c->msg) {
				if (c->h.len > SERVE_MAX_MSG ||
				    (c->h.type != MSG_READY && c->h.type != MSG_METRICS)) {
					kt_err("serve: %s sent a message serve does not understand (type "
					       "%u, %u bytes)",
					       c->cmd->name, c->h.type, c->h.len);
					return -1;
				}
				c->msg = malloc(c->h.len + 1);
				if (!c->msg) {
					kt_err("serve: out of memory reading the metrics of %s",
					       c->cmd->name);
					return -1;
				}
			}
			r = c->h.len > c->mgot ? read(c->fd, c->msg + c->mgot, c->h.len - c->mgot) : 0;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return changed;
		if (r < 0 || (r == 0 && (c->hgot < sizeof(c->h) || c->h.len > c->mgot)))
			return -1;
		if (c->hgot < sizeof(c->h)) {
			c->hgot += (size_t)r;
			if (c->hgot < sizeof(c->h) || c->h.len)
				continue;
		} else {
			c->mgot += (size_t)r;
			if (c->mgot < c->h.len)
				continue;
		}
		/* a whole message */
		if (c->h.type == MSG_READY) {
			c->ready = c->up = true;
			changed = 1;
		} else if (c->h.len >= sizeof(uint32_t)) {
			uint32_t tl;

			memcpy(&tl, c->msg, sizeof(tl));
			if (tl <= c->h.len - sizeof(tl)) {
				free(c->metrics);
				c->len = c->h.len - sizeof(tl);
				c->text_len = tl;
				memmove(c->msg, c->msg + sizeof(tl), c->len);
				c->metrics = c->msg;
				c->msg = NULL;
				changed = 1;
			}
		}
		free(c->msg);
		c->msg = NULL;
		c->hgot = c->mgot = 0;
	}
}

static void reap(bool report)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		char how[96];

		if (pid <= 0)
			return;
		for (size_t i = 0; i < S.n; i++) {
			struct child *c = &S.c[i];

			if (c->pid != pid)
				continue;
			c->exited = true;
			c->status = status;
			if (report && c->ready) {
				describe_status(status, how, sizeof(how));
				kt_err("serve: %s (pid %d) %s: its metrics are no longer served "
				       "(ktrace_serve_command_up{command=\"%s\"} is 0)",
				       c->cmd->name, (int)pid, how, c->cmd->name);
				S.died++;
			}
			if (c->up) {
				c->up = false;
				close_child(c);
				snap_update();
			}
		}
	}
}

/* SIGTERM to every child left, then wait (SIGKILL after SERVE_STOP_WAIT_S). */
static void stop_children(void)
{
	uint64_t end = kt_now_mono() + SERVE_STOP_WAIT_S * 1000000000ULL;
	bool killed = false;

	for (size_t i = 0; i < S.n; i++) {
		/* closed first: a child's last metrics must not block it on a full pipe */
		close_child(&S.c[i]);
		S.c[i].up = false;
		if (S.c[i].pid > 0 && !S.c[i].exited)
			kill(S.c[i].pid, SIGTERM);
	}
	for (;;) {
		bool left = false;

		reap(false);
		for (size_t i = 0; i < S.n; i++)
			left |= S.c[i].pid > 0 && !S.c[i].exited;
		if (!left)
			return;
		if (!killed && kt_now_mono() > end) {
			for (size_t i = 0; i < S.n; i++)
				if (S.c[i].pid > 0 && !S.c[i].exited) {
					kt_warn("serve: %s (pid %d) did not stop within %d s: killed",
						S.c[i].cmd->name, (int)S.c[i].pid, SERVE_STOP_WAIT_S);
					kill(S.c[i].pid, SIGKILL);
				}
			killed = true;
		}
		usleep(20000);
	}
}

/* ---- the main loop ---- */

/*
 * Children's messages and signals until a stop signal (0), or while
 * starting until every child is ready (0) or one exited (1: its exit code
 * in *rc) or a stop signal (1, *rc 0).
 */
static int serve_loop(int sfd, bool starting, int *rc)
{
	struct pollfd p[1 + 64];

	for (;;) {
		size_t ready = 0;
		int n;

		reap(!starting);
		for (size_t i = 0; i < S.n; i++) {
			struct child *c = &S.c[i];
			char how[96];

			ready += c->ready;
			if (!starting || !c->exited)
				continue;
			/* a command that could not start: serve fails with its error */
			describe_status(c->status, how, sizeof(how));
			fprintf(stderr, "ktrace serve: %s did not start (it %s)\n", c->cmd->name, how);
			*rc = WIFEXITED(c->status) && WEXITSTATUS(c->status) ? WEXITSTATUS(c->status)
									     : KT_EXIT_FAIL;
			return 1;
		}
		if (starting && ready == S.n)
			return 0;
		if (!starting && S.died == (int)S.n) {
			/* nothing left to serve: exit 1, for a service manager to restart serve */
			kt_err("serve: every command died: stopping");
			return 0;
		}
		p[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (size_t i = 0; i < S.n; i++)
			p[i + 1] = (struct pollfd){ .fd = S.c[i].fd, .events = POLLIN };
		n = poll(p, S.n + 1, -1);
		if (n < 0 && errno != EINTR) {
			kt_err("serve: poll failed: %s", strerror(errno));
			*rc = KT_EXIT_FAIL;
			return 1;
		}
		if (n > 0 && p[0].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD) {
				*rc = KT_EXIT_OK;
				return starting ? 1 : 0;
			}
		}
		for (size_t i = 0; n > 0 && i < S.n; i++) {
			struct child *c = &S.c[i];
			int r;

			if (c->fd < 0 || !p[i + 1].revents)
				continue;
			r = child_read(c);
			if (r > 0 && !starting)
				snap_update();
			if (r < 0) {
				/* EOF (it is exiting: reap says how) or nonsense (it is stopped) */
				close_child(c);
				if (!c->exited)
					kill(c->pid, SIGTERM);
				if (c->up) {
					c->up = false;
					if (!starting)
						snap_update();
				}
			}
		}
	}
}

int kt_serve_main(int argc, char **argv, int full_argc, char **full_argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'L' },
		{ "max-connections", required_argument, NULL, 'M' },
		{ "max-connections-per-ip", required_argument, NULL, 'I' },
		{ "timeout", required_argument, NULL, 'W' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'H' },
		{},
	};
	struct serve_opts o = { SERVE_LISTEN_DEFAULT, SERVE_MAX_CONN, SERVE_MAX_CONN_PER_IP,
				SERVE_TIMEOUT_S, 0 };
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct MHD_Daemon *d = NULL;
	sigset_t mask, old;
	int c, lfd = -1, sfd = -1, rc = KT_EXIT_FAIL;

	sigprocmask(SIG_SETMASK, NULL, &old);
	/*
	 * Metrics of a megabyte or more are built and freed every interval, in
	 * the commands and here: always in their own mappings, given back to the
	 * system when freed (glibc would otherwise raise its mmap threshold to
	 * their size and keep them in the heap), in the children too.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:v", opts, NULL)) != -1) {
		switch (c) {
		case 'L':
			o.listen = optarg;
			break;
		case 'M':
			if (parse_uint("--max-connections", optarg, 1, 65536, &o.max_conn))
				return KT_EXIT_USAGE;
			break;
		case 'I':
			if (parse_uint("--max-connections-per-ip", optarg, 1, 65536, &o.max_conn_ip))
				return KT_EXIT_USAGE;
			break;
		case 'W':
			if (parse_uint("--timeout", optarg, 1, 3600, &o.timeout_s))
				return KT_EXIT_USAGE;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'H':
			serve_usage(stdout);
			return KT_EXIT_OK;
		case ':':
			fprintf(stderr, "ktrace serve: %s needs an argument\n", argv[optind - 1]);
			return KT_EXIT_USAGE;
		default:
			if (optopt == '?') {
				serve_usage(stdout);
				return KT_EXIT_OK;
			}
			fprintf(stderr, "ktrace serve: unknown option '%s' (options of a command go after "
					"its name; ktrace serve --help)\n",
				argv[optind - 1]);
			return KT_EXIT_USAGE;
		}
	}
	kt_verbose = o.verbose;
	if (split_commands(argc - optind, argv + optind))
		return KT_EXIT_USAGE;
	if (S.n > 64) {
		fprintf(stderr, "ktrace serve: at most 64 commands\n");
		return KT_EXIT_USAGE;
	}
	if (parse_listen(o.listen, &ss, &sslen))
		return KT_EXIT_USAGE;
	if (kt_check_privileges()) {
		kt_err("serve needs root or CAP_BPF and CAP_PERFMON (have: %s): run it as root or "
		       "grant them (deploy/ktrace-serve.service shows how)",
		       kt_privileges_desc());
		return KT_EXIT_FAIL;
	}
	lfd = listen_on(o.listen, &ss, sslen);
	if (lfd < 0)
		return KT_EXIT_FAIL;

	/* signals through the signalfd only, in every thread (MHD's inherits the mask) */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		kt_err("serve: signalfd failed: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < S.n; i++)
		if (start_child(&S.c[i], lfd, sfd, &old, full_argc, full_argv))
			goto out;
	if (serve_loop(sfd, true, &rc))
		goto out;
	snap_update();
	d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD, 0, NULL, NULL, on_request, NULL,
			     MHD_OPTION_LISTEN_SOCKET, lfd,
			     MHD_OPTION_CONNECTION_LIMIT, o.max_conn,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, o.max_conn_ip,
			     MHD_OPTION_CONNECTION_TIMEOUT, o.timeout_s,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVE_CONN_MEMORY,
			     MHD_OPTION_STRICT_FOR_CLIENT, 1,
			     MHD_OPTION_END);
	if (!d) {
		kt_err("serve: cannot start the HTTP server on %s: %s", o.listen, strerror(errno));
		rc = KT_EXIT_FAIL;
		goto out;
	}
	lfd = -1; /* MHD's now: it closes it */
	fprintf(stderr, "Serving the metrics of");
	for (size_t i = 0; i < S.n; i++)
		fprintf(stderr, "%s %s", i ? "," : "", S.c[i].cmd->name);
	fprintf(stderr, " at http://%s/metrics... Hit Ctrl-C to end.\n", o.listen);
	serve_loop(sfd, false, &rc);
	rc = S.died ? KT_EXIT_FAIL : KT_EXIT_OK;
out:
	if (d)
		MHD_stop_daemon(d);
	stop_children();
	/* a command that failed after start: serve fails too */
	for (size_t i = 0; i < S.n; i++)
		if (rc == KT_EXIT_OK && S.c[i].exited && WIFEXITED(S.c[i].status) &&
		    WEXITSTATUS(S.c[i].status))
			rc = KT_EXIT_FAIL;
	if (lfd >= 0)
		close(lfd);
	if (sfd >= 0)
		close(sfd);
	for (size_t i = 0; i < S.n; i++)
		free(S.c[i].metrics);
	free(S.c);
	blob_put(S.snap[0]);
	blob_put(S.snap[1]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
