/*
 * tests/unit/test_httpc.c — server/demo/httpc.c against a loopback server thread
 * that records each request and answers with canned bytes (Content-Length,
 * chunked, until-close, 1xx, 204 held open, truncated and malformed answers),
 * sent whole or a few bytes at a time.
 */
#include "server/demo/httpc.h"
#include "tests/test.h"
#include "tests/loopback.h"

static void url_of(char *buf, size_t n, const struct server *s, const char *path)
{
	snprintf(buf, n, "http://127.0.0.1:%d%s", s->port, path);
}

static void test_parse_url(void)
{
	char host[64], path[128];
	int port;
	CHECK_INT_EQ(httpc_parse_url("http://127.0.0.1:8080/api/tasks/next", host, sizeof host, &port,
				     path, sizeof path), 0);
	CHECK_STR_EQ(host, "127.0.0.1");
	CHECK_INT_EQ(port, 8080);
	CHECK_STR_EQ(path, "/api/tasks/next");
	CHECK_INT_EQ(httpc_parse_url("http://localhost", host, sizeof host, &port, path, sizeof path), 0);
	CHECK_STR_EQ(host, "localhost");
	CHECK_INT_EQ(port, 80);
	CHECK_STR_EQ(path, "/");
	CHECK_INT_EQ(httpc_parse_url("HTTP://example.org?x=1#frag", host, sizeof host, &port, path,
				     sizeof path), 0);
	CHECK_STR_EQ(path, "/?x=1");
	CHECK_INT_EQ(httpc_parse_url("http://[::1]:9000/a", host, sizeof host, &port, path, sizeof path), 0);
	CHECK_STR_EQ(host, "::1");
	CHECK_INT_EQ(port, 9000);
	const char *bad[] = { "https://example.org/", "ftp://x", "http://", "http://:80/",
			      "http://host:0/", "http://host:65536/", "http://host:12ab/", "host:80",
			      "http://user@host/", "http://host/a b", "http://[::1/", NULL };
	for (int i = 0; bad[i]; i++)
		CHECK_MSG(httpc_parse_url(bad[i], host, sizeof host, &port, path, sizeof path) < 0,
			  "accepted %s", bad[i]);
	CHECK(httpc_parse_url(NULL, host, sizeof host, &port, path, sizeof path) < 0);
}

static void test_content_length_and_request(void)
{
	static const struct canned script[] = {
		{ "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
		  "X-Other: y\r\n\r\n{\"saved\":2}", 0, 0, false },
		/* the same, three bytes at a time */
		{ "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello", 0, 3, false },
		/* a GET with no body sends no Content-Length */
		{ "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0, 0, false },
	};
	struct server s;
	CHECK_INT_EQ(server_start(&s, script, 3), 0);
	char url[128], err[256];
	struct httpc_response r;
	const char *body = "{\"group_id\":7,\"ratings\":[]}";
	url_of(url, sizeof url, &s, "/api/ratings");
	int rc = httpc_request(&r, "POST", url, "tok123", NULL, body, strlen(body), 5000, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_INT_EQ(r.status, 201);
	CHECK_STR_EQ(r.body, "{\"saved\":2}");
	CHECK_INT_EQ(r.body_len, 11);
	CHECK_STR_EQ(r.content_type, "application/json");
	httpc_response_release(&r);
	/* what the server received */
	CHECK(strncmp(s.req, "POST /api/ratings HTTP/1.1\r\n", 28) == 0);
	char want[128];
	snprintf(want, sizeof want, "\r\nHost: 127.0.0.1:%d\r\n", s.port);
	CHECK(strstr(s.req, want) != NULL);
	CHECK(strstr(s.req, "\r\nAuthorization: Bearer tok123\r\n") != NULL);
	CHECK(strstr(s.req, "\r\nContent-Type: application/json\r\n") != NULL);
	snprintf(want, sizeof want, "\r\nContent-Length: %zu\r\n", strlen(body));
	CHECK(strstr(s.req, want) != NULL);
	CHECK(strstr(s.req, "\r\nConnection: close\r\n") != NULL);
	char *b = strstr(s.req, "\r\n\r\n");
	CHECK(b && strcmp(b + 4, body) == 0);

	url_of(url, sizeof url, &s, "/x?y=1");
	rc = httpc_request(&r, "GET", url, NULL, NULL, NULL, 0, 5000, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_INT_EQ(r.status, 200);
	CHECK_STR_EQ(r.body, "hello");
	CHECK_STR_EQ(r.content_type, "");
	httpc_response_release(&r);
	CHECK(strncmp(s.req, "GET /x?y=1 HTTP/1.1\r\n", 21) == 0);
	CHECK(strcasestr(s.req, "Content-Length") == NULL);
	CHECK(strstr(s.req, "Authorization") == NULL);

	rc = httpc_request(&r, "GET", url, NULL, NULL, NULL, 0, 5000, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_INT_EQ(r.status, 404);
	CHECK(r.body != NULL && r.body_len == 0 && r.body[0] == 0);
	httpc_response_release(&r);
	server_stop(&s);
	server_release(&s);
}

static void test_chunked(void)
{
	/* chunk extension, upper-case hex, a trailer; then the same byte by byte */
	static const char resp[] =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
		"5\r\nhello\r\n"
		"7;ext=1\r\n, world\r\n"
		"A\r\n0123456789\r\n"
		"0\r\nX-Trailer: 1\r\n\r\n";
	static const struct canned script[] = {
		{ resp, 0, 0, false },
		{ resp, 0, 1, false },
		{ "HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\n\r\n0\r\n\r\n", 0, 0, false },
	};
	struct server s;
	CHECK_INT_EQ(server_start(&s, script, 3), 0);
	char url[128], err[256];
	url_of(url, sizeof url, &s, "/");
	for (int i = 0; i < 2; i++) {
		struct httpc_response r;
		int rc = httpc_request(&r, "GET", url, "t", NULL, NULL, 0, 5000, err, sizeof err);
		CHECK_MSG(rc == 0, "%s", err);
		CHECK_INT_EQ(r.status, 200);
		CHECK_STR_EQ(r.body, "hello, world0123456789");
		CHECK_INT_EQ(r.body_len, 22);
		CHECK_STR_EQ(r.content_type, "text/plain");
		httpc_response_release(&r);
	}
	struct httpc_response r;
	CHECK_INT_EQ(httpc_request(&r, "GET", url, NULL, NULL, NULL, 0, 5000, err, sizeof err), 0);
	CHECK_INT_EQ(r.body_len, 0);
	httpc_response_release(&r);
	server_stop(&s);
	server_release(&s);
}

static void test_close_delimited_interim_and_no_body(void)
{
	static const struct canned script[] = {
		/* no length: the body runs until the server closes */
		{ "HTTP/1.1 200 OK\r\n\r\nuntil the end", 0, 4, false },
		/* a 100 Continue before the real answer */
		{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 0, 0, false },
		/* 204 has no body even though the connection stays open */
		{ "HTTP/1.1 204 No Content\r\n\r\n", 0, 0, true },
		/* binary body with a NUL inside */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na\0b", 41, 0, false },
	};
	struct server s;
	CHECK_INT_EQ(server_start(&s, script, 4), 0);
	char url[128], err[256];
	url_of(url, sizeof url, &s, "/api/tasks/next");
	struct httpc_response r;
	int rc = httpc_request(&r, "GET", url, NULL, NULL, NULL, 0, 5000, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_STR_EQ(r.body, "until the end");
	httpc_response_release(&r);

	rc = httpc_request(&r, "POST", url, NULL, "text/plain", "x", 1, 5000, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_INT_EQ(r.status, 201);
	CHECK_STR_EQ(r.body, "ok");
	httpc_response_release(&r);
	CHECK(strstr(s.req, "\r\nContent-Type: text/plain\r\n") != NULL);

	/* if the client waited for EOF here it would time out (5 s) and fail */
	rc = httpc_request(&r, "GET", url, NULL, NULL, NULL, 0, 5000, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_INT_EQ(r.status, 204);
	CHECK_INT_EQ(r.body_len, 0);
	httpc_response_release(&r);

	rc = httpc_request(&r, "GET", url, NULL, NULL, NULL, 0, 5000, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_INT_EQ(r.body_len, 3);
	CHECK(r.body && memcmp(r.body, "a\0b", 3) == 0);
	httpc_response_release(&r);
	server_stop(&s);
	server_release(&s);
}

static void test_large_body(void)
{
	size_t n = 1 << 20;
	char *resp = malloc(n + 100);
	CHECK(resp != NULL);
	if (!resp)
		return;
	int h = snprintf(resp, 100, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
	for (size_t i = 0; i < n; i++)
		resp[h + i] = (char)('a' + i % 26);
	struct canned script[] = { { resp, h + n, 4096, false } };
	struct server s;
	CHECK_INT_EQ(server_start(&s, script, 1), 0);
	char url[128], err[256];
	url_of(url, sizeof url, &s, "/big");
	struct httpc_response r;
	int rc = httpc_request(&r, "GET", url, NULL, NULL, NULL, 0, 10000, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_INT_EQ(r.body_len, n);
	CHECK(r.body && memcmp(r.body, resp + h, n) == 0);
	httpc_response_release(&r);
	server_stop(&s);
	server_release(&s);
	free(resp);
}

static void test_errors(void)
{
	static const struct canned script[] = {
		{ "garbage\r\n\r\n", 0, 0, false },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 0, 0, false },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 0, 0, false },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 0, 0, false },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", 0, 0, false },
		{ "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", 0, 0, false },
		{ "", 0, 0, false }, /* closes without a word */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 0, 0, false },
		{ "HTTP/2 200\r\n\r\n", 0, 0, false },
		/* chunk data longer than its size */
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY\r\n0\r\n\r\n", 0, 0, false },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx", 0, 0, false },
	};
	int n = (int)(sizeof script / sizeof script[0]);
	struct server s;
	CHECK_INT_EQ(server_start(&s, script, n), 0);
	char url[128], err[256];
	url_of(url, sizeof url, &s, "/");
	for (int i = 0; i < n; i++) {
		struct httpc_response r;
		err[0] = 0;
		int rc = httpc_request(&r, "GET", url, NULL, NULL, NULL, 0, 5000, err, sizeof err);
		CHECK_MSG(rc < 0, "canned answer %d accepted (status %d)", i, r.status);
		CHECK_MSG(err[0] != 0, "no message for canned answer %d", i);
		CHECK(r.body == NULL && r.status == 0);
		if (rc == 0)
			httpc_response_release(&r);
	}
	server_stop(&s);
	server_release(&s);

	/* bad arguments never reach the network */
	struct httpc_response r;
	CHECK(httpc_request(&r, "GET", "https://example.org/", NULL, NULL, NULL, 0, 1000, err, sizeof err) < 0);
	CHECK(strstr(err, "bad url") != NULL);
	CHECK(httpc_request(&r, "GET", "http://127.0.0.1:1/", "a\r\nX: y", NULL, NULL, 0, 1000, err,
			    sizeof err) < 0);
	CHECK(httpc_request(&r, "GE T", "http://127.0.0.1:1/", NULL, NULL, NULL, 0, 1000, err, sizeof err) < 0);

	/* connection refused: a port that was just free */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
	CHECK(httpc_request(&r, "GET", url, NULL, NULL, NULL, 0, 2000, err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "cannot connect") != NULL, "%s", err);
}

int main(void)
{
	RUN(test_parse_url);
	RUN(test_content_length_and_request);
	RUN(test_chunked);
	RUN(test_close_delimited_interim_and_no_body);
	RUN(test_large_body);
	RUN(test_errors);
	TEST_MAIN_END();
}
