/*
 * server/demo/httpc.c — a minimal blocking HTTP/1.1 client (see httpc.h).
 */
#include "server/demo/httpc.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void httpc_response_release(struct httpc_response *res)
{
	free(res->body);
	memset(res, 0, sizeof *res);
}

int httpc_parse_url(const char *url, char *host, size_t host_len, int *port,
		    char *path, size_t path_len)
{
	if (!url || strncasecmp(url, "http://", 7) != 0)
		return -1;
	const char *h = url + 7, *he;
	const char *after;
	if (*h == '[') {
		he = strchr(h, ']');
		if (!he)
			return -1;
		after = he + 1;
		h++;
	} else {
		he = h + strcspn(h, ":/?#");
		after = he;
	}
	size_t hl = (size_t)(he - h);
	if (hl == 0 || hl >= host_len)
		return -1;
	for (size_t i = 0; i < hl; i++)
		if (isspace((unsigned char)h[i]) || h[i] == '@')
			return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	*port = 80;
	if (*after == ':') {
		char *end;
		long p = strtol(after + 1, &end, 10);
		if (end == after + 1 || p <= 0 || p > 65535 || (*end && !strchr("/?#", *end)))
			return -1;
		*port = (int)p;
		after = end;
	} else if (*after && !strchr("/?#", *after)) {
		return -1;
	}
	/* the path and query; a fragment is never sent */
	size_t pl = strcspn(after, "#");
	for (size_t i = 0; i < pl; i++)
		if ((unsigned char)after[i] <= ' ')
			return -1;
	if (pl == 0 || after[0] != '/') {
		if (pl + 2 > path_len)
			return -1;
		path[0] = '/';
		memcpy(path + 1, after, pl);
		path[pl + 1] = 0;
	} else {
		if (pl + 1 > path_len)
			return -1;
		memcpy(path, after, pl);
		path[pl] = 0;
	}
	return 0;
}

static int connect_to(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char ports[16];
	snprintf(ports, sizeof ports, "%d", port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int rc = getaddrinfo(host, ports, &hints, &ai);
	if (rc != 0)
		return fail(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(rc));
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd = -1, last = 0;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		/* on Linux SO_SNDTIMEO also bounds connect() */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		last = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return fail(err, errlen, "cannot connect to '%s:%d': %s", host, port,
			    last == EINPROGRESS || last == EAGAIN ? "timed out" : strerror(last));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Everything received so far; pos is where parsing stands. */
struct reader {
	int fd;
	char *buf;
	size_t len, cap, pos;
	bool eof;
	int err; /* errno of a failed recv, or ETIMEDOUT */
};

/* Reads more bytes, letting the buffer hold at most max_total bytes; returns
 * >0 bytes read, 0 at EOF, -1 on error, timeout (err ETIMEDOUT) or a full
 * buffer (err EFBIG). */
static int fill(struct reader *r, size_t max_total)
{
	if (r->eof)
		return 0;
	if (r->len + 1 >= r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8192;
		if (cap > max_total + 1)
			cap = max_total + 1;
		if (cap <= r->len + 1) {
			r->err = EFBIG;
			return -1;
		}
		char *nb = realloc(r->buf, cap);
		if (!nb) {
			r->err = ENOMEM;
			return -1;
		}
		r->buf = nb;
		r->cap = cap;
	}
	for (;;) {
		ssize_t n = recv(r->fd, r->buf + r->len, r->cap - r->len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->err = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
			return -1;
		}
		if (n == 0) {
			r->eof = true;
			return 0;
		}
		r->len += (size_t)n;
		return (int)n;
	}
}

/* Makes at least n unread bytes available; 0, or -1 (EOF counts as error). */
static int need(struct reader *r, size_t n)
{
	while (r->len - r->pos < n)
		if (fill(r, r->pos + n) <= 0)
			return -1;
	return 0;
}

/* Next line (without CR LF) as a pointer into the buffer, NUL-terminated in
 * place; NULL on error, EOF or a line longer than max. */
static char *read_line(struct reader *r, size_t max)
{
	for (;;) {
		char *s = r->buf ? r->buf + r->pos : NULL;
		char *nl = s ? memchr(s, '\n', r->len - r->pos) : NULL;
		if (nl) {
			char *e = nl;
			if (e > s && e[-1] == '\r')
				e--;
			*e = 0;
			r->pos = (size_t)(nl - r->buf) + 1;
			return s;
		}
		if (r->len - r->pos > max) {
			r->err = EFBIG;
			return NULL;
		}
		if (fill(r, r->pos + max + 2) <= 0)
			return NULL;
	}
}

static const char *reader_error(const struct reader *r)
{
	if (r->err == EFBIG)
		return "response too large";
	if (r->err == ETIMEDOUT)
		return "timed out";
	if (r->err)
		return strerror(r->err);
	return "connection closed early";
}

struct body {
	char *p;
	size_t len, cap;
};

static int body_append(struct body *b, const char *s, size_t n)
{
	if (b->len + n > HTTPC_MAX_BODY)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

/* Reads a chunked body into b; 0 or -1 with err set. */
static int read_chunked(struct reader *r, struct body *b, char *err, size_t errlen)
{
	for (;;) {
		char *line = read_line(r, 4096);
		if (!line)
			return fail(err, errlen, "bad chunked body: %s", reader_error(r));
		char *end;
		errno = 0;
		unsigned long long size = strtoull(line, &end, 16);
		while (*end == ' ' || *end == '\t')
			end++;
		if (end == line || errno || (*end && *end != ';') || !isxdigit((unsigned char)line[0]))
			return fail(err, errlen, "bad chunk size '%.32s'", line);
		if (size > HTTPC_MAX_BODY || b->len + size > HTTPC_MAX_BODY)
			return fail(err, errlen, "response too large");
		if (size == 0) {
			/* trailers, then an empty line */
			for (;;) {
				char *t = read_line(r, 8192);
				if (!t)
					return fail(err, errlen, "bad chunked trailer: %s", reader_error(r));
				if (!*t)
					return 0;
			}
		}
		if (need(r, (size_t)size + 2) < 0)
			return fail(err, errlen, "truncated chunk: %s", reader_error(r));
		if (body_append(b, r->buf + r->pos, (size_t)size) < 0)
			return fail(err, errlen, "response too large");
		r->pos += (size_t)size;
		if (r->buf[r->pos] == '\r')
			r->pos++;
		if (r->buf[r->pos] != '\n')
			return fail(err, errlen, "chunk not followed by a line end");
		r->pos++;
	}
}

/* Parses the status line and headers; 0 or -1. */
struct head {
	int status;
	bool chunked;
	long long content_length; /* -1 when absent */
	char content_type[128];
};

static int read_head(struct reader *r, struct head *h, char *err, size_t errlen)
{
	size_t start = r->pos;
	char *line = read_line(r, HTTPC_MAX_HEADER);
	if (!line)
		return fail(err, errlen, "no response: %s", reader_error(r));
	int major, minor, status;
	char sp;
	if (sscanf(line, "HTTP/%d.%d %3d%c", &major, &minor, &status, &sp) < 3 || major != 1 ||
	    status < 100 || status > 999 || !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) ||
	    (line[12] && line[12] != ' '))
		return fail(err, errlen, "bad status line '%.40s'", line);
	h->status = status;
	h->chunked = false;
	h->content_length = -1;
	h->content_type[0] = 0;
	for (;;) {
		line = read_line(r, HTTPC_MAX_HEADER);
		if (!line)
			return fail(err, errlen, "bad response headers: %s", reader_error(r));
		if (r->pos - start > HTTPC_MAX_HEADER)
			return fail(err, errlen, "response headers too large");
		if (!*line)
			return 0;
		char *colon = strchr(line, ':');
		if (!colon)
			return fail(err, errlen, "bad header line '%.40s'", line);
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			v[--vl] = 0;
		if (strcasecmp(line, "Content-Length") == 0) {
			char *end;
			errno = 0;
			long long n = strtoll(v, &end, 10);
			if (end == v || *end || errno || n < 0 ||
			    (h->content_length >= 0 && h->content_length != n))
				return fail(err, errlen, "bad content-length '%.20s'", v);
			h->content_length = n;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			/* chunked must be the last coding applied */
			size_t l = strlen(v);
			h->chunked = l >= 7 && strcasecmp(v + l - 7, "chunked") == 0;
			if (!h->chunked && strcasecmp(v, "identity") != 0)
				return fail(err, errlen, "unsupported transfer-encoding '%.20s'", v);
		} else if (strcasecmp(line, "Content-Type") == 0) {
			snprintf(h->content_type, sizeof h->content_type, "%s", v);
		}
	}
}

/* Reads the body that follows head h into b: chunked, Content-Length bytes, or
 * up to the server's close.  0, or -1 with err set. */
static int read_body(struct reader *r, const struct head *h, struct body *b, char *err,
		     size_t errlen)
{
	if (h->chunked)
		return read_chunked(r, b, err, errlen);
	if (h->content_length >= 0) {
		if ((unsigned long long)h->content_length > HTTPC_MAX_BODY)
			return fail(err, errlen, "response too large");
		if (need(r, (size_t)h->content_length) < 0)
			return fail(err, errlen, "truncated body (%lld bytes expected): %s",
				    h->content_length, reader_error(r));
		if (body_append(b, r->buf + r->pos, (size_t)h->content_length) < 0)
			return fail(err, errlen, "response too large");
		return 0;
	}
	/* until the server closes */
	for (;;) {
		if (r->len - r->pos > HTTPC_MAX_BODY)
			return fail(err, errlen, "response too large");
		int k = fill(r, r->pos + HTTPC_MAX_BODY + 1);
		if (k == 0)
			break;
		if (k < 0)
			return fail(err, errlen, "cannot read body: %s", reader_error(r));
	}
	if (body_append(b, r->buf + r->pos, r->len - r->pos) < 0)
		return fail(err, errlen, "response too large");
	return 0;
}

int httpc_request(struct httpc_response *res, const char *method, const char *url,
		  const char *bearer, const char *content_type, const char *body,
		  size_t body_len, int timeout_ms, char *err, size_t errlen)
{
	char host[256], path[4096];
	int port, fd, rc = -1;
	struct reader r = { .fd = -1 };
	struct body b = { 0 };
	memset(res, 0, sizeof *res);
	if (err && errlen)
		err[0] = 0;
	if (!method || !*method || strpbrk(method, " \r\n"))
		return fail(err, errlen, "bad method");
	if (httpc_parse_url(url, host, sizeof host, &port, path, sizeof path) < 0)
		return fail(err, errlen, "bad url '%.200s': only http://host[:port]/path is supported",
			    url ? url : "");
	if (bearer && strpbrk(bearer, "\r\n"))
		return fail(err, errlen, "bad bearer token");
	if (content_type && strpbrk(content_type, "\r\n"))
		return fail(err, errlen, "bad content type");
	if (timeout_ms <= 0)
		timeout_ms = 30000;

	/* the request head */
	char head[6144];
	bool v6 = strchr(host, ':') != NULL;
	int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\n"
			 "User-Agent: rlhfd-httpc\r\nAccept: */*\r\nConnection: close\r\n",
			 method, path, v6 ? "[" : "", host, v6 ? "]" : "", port);
	if (bearer && n > 0 && (size_t)n < sizeof head)
		n += snprintf(head + n, sizeof head - (size_t)n, "Authorization: Bearer %s\r\n", bearer);
	if (body && n > 0 && (size_t)n < sizeof head)
		n += snprintf(head + n, sizeof head - (size_t)n,
			      "Content-Type: %s\r\nContent-Length: %zu\r\n",
			      content_type ? content_type : "application/json", body_len);
	if (n > 0 && (size_t)n < sizeof head)
		n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
	if (n <= 0 || (size_t)n >= sizeof head)
		return fail(err, errlen, "request head too long");

	fd = connect_to(host, port, timeout_ms, err, errlen);
	if (fd < 0)
		return -1;
	r.fd = fd;
	if (send_all(fd, head, (size_t)n) < 0 || (body && send_all(fd, body, body_len) < 0)) {
		/* the server may have answered early (e.g. 413) and closed: read it */
		if (errno != EPIPE && errno != ECONNRESET) {
			fail(err, errlen, "cannot send to '%s:%d': %s", host, port,
			     errno == EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
	}

	struct head h;
	do {
		if (read_head(&r, &h, err, errlen) < 0)
			goto out;
	} while (h.status >= 100 && h.status < 200); /* interim responses */

	bool no_body = strcasecmp(method, "HEAD") == 0 || h.status == 204 || h.status == 304;
	if (!no_body && read_body(&r, &h, &b, err, errlen) < 0)
		goto out;
	if (!b.p && body_append(&b, "", 0) < 0) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	res->status = h.status;
	res->body = b.p;
	res->body_len = b.len;
	snprintf(res->content_type, sizeof res->content_type, "%s", h.content_type);
	b.p = NULL;
	rc = 0;
out:
	free(b.p);
	free(r.buf);
	close(fd);
	return rc;
}
