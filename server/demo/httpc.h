/*
 * server/demo/httpc.h — a minimal blocking HTTP/1.1 client over POSIX sockets, for
 * http://host:port URLs only (no TLS, no redirects, no keep-alive): what
 * `rlhfd rubric-rate` needs to talk to the server like any other client.
 *
 * One request per connection ("Connection: close").  Responses are read with
 * Content-Length, chunked transfer coding, or until the server closes; 1xx
 * interim responses are skipped; bodies of HEAD, 204 and 304 are empty.
 *
 * Errors: functions return 0 or -1; httpc_request writes a lowercase message
 * saying what failed into err.  An HTTP error status is not a failure: it is
 * in the response.  Nothing here prints.
 */
#ifndef RLHFD_SERVER_HTTPC_H
#define RLHFD_SERVER_HTTPC_H

#include <stddef.h>

#define HTTPC_MAX_BODY (64u << 20)   /* larger responses are an error */
#define HTTPC_MAX_HEADER (64u << 10)

struct httpc_response {
	int status;             /* e.g. 200 */
	char *body;             /* NUL-terminated; owned (httpc_response_release);
				   never NULL after a successful request */
	size_t body_len;
	char content_type[128]; /* "" when the server sent none */
};

/* Frees the body and zeroes res. */
void httpc_response_release(struct httpc_response *res);

/*
 * Sends one request and reads the whole response into res (which the caller
 * releases).  url is "http://host[:port][/path][?query]" (host may be a name,
 * an IPv4 address or a bracketed IPv6 one).  bearer (may be NULL) becomes
 * "Authorization: Bearer <bearer>"; body (may be NULL) is sent with
 * Content-Length and content_type (default "application/json").  timeout_ms
 * bounds each connect, send and receive (<= 0: 30 s).
 * Returns 0 when an HTTP response arrived (whatever its status), or -1 with a
 * lowercase message in err (size errlen) — res is then empty.
 */
int httpc_request(struct httpc_response *res, const char *method, const char *url,
		  const char *bearer, const char *content_type, const char *body,
		  size_t body_len, int timeout_ms, char *err, size_t errlen);

/* URL parts, for callers and tests: 0, or -1 for anything but a well-formed
 * http:// URL.  host gets the name without brackets; path starts with '/'. */
int httpc_parse_url(const char *url, char *host, size_t host_len, int *port,
		    char *path, size_t path_len);

#endif
