/*
 * tests/loopback.h — a one-thread loopback HTTP server for tests:
 * it accepts one connection per script entry, records the request (head and
 * Content-Length body), answers with the entry's canned bytes (whole or a few
 * at a time) and closes, or holds the connection open until the next one.
 */
#ifndef RLHFD_TESTS_LOOPBACK_H
#define RLHFD_TESTS_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One canned exchange: the server reads a request, then sends resp in pieces
 * of `piece` bytes (0 = at once); hold keeps the connection open until the
 * next connection arrives or the server stops. */
struct canned {
	const char *resp;
	size_t len;   /* 0 = strlen(resp) */
	size_t piece;
	bool hold;
};

struct server {
	int lfd, port;
	pthread_t th;
	const struct canned *script;
	int n_script;
	char req[1 << 16];     /* the last request, head and body */
	size_t req_len;
	char *reqs[16];        /* every request, in order (owned) */
	int served;
};

/* Reads one request: the head, then Content-Length bytes of body. */
static inline void read_request(struct server *s, int fd)
{
	s->req_len = 0;
	size_t body_at = 0, want = 0;
	for (;;) {
		if (s->req_len + 1 >= sizeof s->req)
			break;
		ssize_t n = recv(fd, s->req + s->req_len, sizeof s->req - s->req_len - 1, 0);
		if (n <= 0)
			break;
		s->req_len += (size_t)n;
		s->req[s->req_len] = 0;
		if (!body_at) {
			char *e = strstr(s->req, "\r\n\r\n");
			if (!e)
				continue;
			body_at = (size_t)(e - s->req) + 4;
			char *cl = strcasestr(s->req, "\r\nContent-Length:");
			want = cl && cl < e ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
		}
		if (s->req_len >= body_at + want)
			break;
	}
}

static inline void *server_main(void *arg)
{
	struct server *s = arg;
	int held = -1;
	for (int i = 0; i < s->n_script; i++) {
		int fd = accept(s->lfd, NULL, NULL);
		if (held >= 0) {
			close(held);
			held = -1;
		}
		if (fd < 0)
			break;
		read_request(s, fd);
		if (i < 16)
			s->reqs[i] = strndup(s->req, s->req_len);
		const struct canned *c = &s->script[i];
		size_t len = c->len ? c->len : strlen(c->resp), off = 0;
		while (off < len) {
			size_t k = c->piece && c->piece < len - off ? c->piece : len - off;
			if (send(fd, c->resp + off, k, MSG_NOSIGNAL) <= 0)
				break;
			off += k;
			if (c->piece)
				usleep(200);
		}
		s->served = i + 1;
		if (c->hold)
			held = fd;
		else
			close(fd);
	}
	if (held >= 0) {
		/* wait for the client to hang up before closing */
		char b[64];
		while (recv(held, b, sizeof b, 0) > 0)
			;
		close(held);
	}
	return NULL;
}

static inline int server_start(struct server *s, const struct canned *script, int n)
{
	memset(s, 0, sizeof *s);
	s->script = script;
	s->n_script = n;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->lfd, 8) < 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	s->port = ntohs(a.sin_port);
	return pthread_create(&s->th, NULL, server_main, s) == 0 ? 0 : -1;
}

static inline void server_stop(struct server *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->lfd);
}

/* Frees the recorded requests (after server_stop). */
static inline void server_release(struct server *s)
{
	for (int i = 0; i < 16; i++) {
		free(s->reqs[i]);
		s->reqs[i] = NULL;
	}
}

/* The body of a recorded request, or "". */
static inline const char *server_body(const struct server *s, int i)
{
	const char *b = i < 16 && s->reqs[i] ? strstr(s->reqs[i], "\r\n\r\n") : NULL;
	return b ? b + 4 : "";
}


#endif
