/*
 * server/http/http.c — libmicrohttpd daemon, request life cycle, routing,
 * authentication, answer and input helpers (see http.h).
 *
 * Life of a request (libmicrohttpd calls on_request several times):
 *   1st call   struct request created (freed in on_completed); the request
 *              is decided before any of its body is read: routed (match in
 *              http_routes, 404/405), authenticated (401), its CSRF token and
 *              role checked (403).  A refused request never buffers a body:
 *              what arrives is counted and dropped, and the refusal is sent
 *              at its end (an answer sent while the client still writes is
 *              often lost to a TCP reset).  A Content-Length over the cap
 *              marks it too large: answered 413 at once if the client waits
 *              for 100 Continue, else, unless its body is already arriving,
 *              looked at again PROBE_MS later (suspend/resume) and answered
 *              then if no body came.  With Transfer-Encoding: chunked the
 *              Content-Length is ignored (RFC 9112 6.3), as libmicrohttpd
 *              does; the cap then applies while streaming;
 *   next calls body chunks appended, capped while streaming, so a chunked
 *              upload over the cap is refused too and never held in memory;
 *   last call  (no more data) the refusal, or the endpoint.
 *
 * Paths: an encoded NUL (%00) is left undecoded by unescape() and any path
 * holding one is refused with 400, so "/api/prompts/1%00" never reads as
 * prompt 1.  HEAD is served for static files, /healthz and /metrics; an API
 * endpoint answers HEAD with 405, since its GET may change state (GET
 * /api/tasks/next leases a task).  Connections per client address are capped
 * (HTTP_PER_IP_CONNECTIONS).
 */
#include "server/http/http.h"
#include "server/http/auth.h"
#include "server/http/metrics.h"
#include "server/http/static.h"
#include "db/db.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SESSION_COOKIE "rlhfd_session"
/* libmicrohttpd cannot queue a response while a body is still arriving, and
 * an answer sent before the client has written its body is often lost to a TCP
 * reset; so a body over the cap is read on and thrown away and answered 413 at
 * its end.  Past this many bytes the connection is dropped instead. */
#define DISCARD_LIMIT (16 << 20)

_Atomic int64_t http_max_body = 8 << 20;

static struct MHD_Daemon *http_daemon;
static bool http_verbose;
static bool http_can_suspend;   /* not in thread-per-connection mode */
#define PROBE_MS 50
/* Connections one client address may hold open at once: raters' browsers
 * and scripts need a handful; a client opening hundreds is refused. */
#define HTTP_PER_IP_CONNECTIONS 128

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- answers ------------------------------------------------------------ */

enum MHD_Result http_queue(struct request *r, int status, struct MHD_Response *resp)
{
	if (r->queued) {
		fprintf(stderr, "rlhfd: bug: second response for %s %s\n", r->method, r->url);
		return MHD_NO;
	}
	r->queued = true;
	r->status = status;
	return MHD_queue_response(r->conn, status, resp);
}

/* Queues len bytes at buf (malloc'ed; MHD frees it: MUST_FREE). */
static enum MHD_Result queue_owned(struct request *r, int status, char *buf, size_t len,
				   const char *type)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (status == 405 && r->allow[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	enum MHD_Result ret = http_queue(r, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result http_json(struct request *r, int status, json_t *body)
{
	char *s = body ? json_dumps(body, HTTP_JSON_FLAGS) : NULL;
	json_decref(body);
	if (!s)
		return http_error(r, 500, "internal", "cannot encode the answer");
	return queue_owned(r, status, s, strlen(s), "application/json");
}

enum MHD_Result http_error(struct request *r, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *e = json_pack("{s{ss so}}", "error", "code", code, "message",
			      db_json_str(msg, strlen(msg)));
	if (r->err_field[0] && status == 400)
		json_object_set_new(json_object_get(e, "error"), "field", json_string(r->err_field));
	char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	if (!s) { /* out of memory: a constant answer (MHD_RESPMEM_PERSISTENT) */
		static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
		struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom,
									    MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		enum MHD_Result ret = http_queue(r, status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	return queue_owned(r, status, s, strlen(s), "application/json");
}

enum MHD_Result http_invalid(struct request *r)
{
	return http_error(r, 400, "invalid_field", "%s", r->err_msg[0] ? r->err_msg : "invalid request");
}

enum MHD_Result http_empty(struct request *r, int status)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	enum MHD_Result ret = http_queue(r, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result http_db_error(struct request *r, int rc, const char *what)
{
	switch (rc) {
	case DB_NOTFOUND:
		return http_error(r, 404, "not_found", "%s not found", what);
	case DB_CONFLICT:
		return http_error(r, 409, "conflict", "%s: not allowed in its current state", what);
	case DB_INVALID:
		return http_error(r, 400, "invalid", "%s: invalid", what);
	case DB_BUSY:
		return http_error(r, 503, "busy", "the database is busy; try again");
	default:
		return http_error(r, 500, "internal", "database error");
	}
}

/* ---- input -------------------------------------------------------------- */

bool http_bad_field(struct request *r, const char *field, const char *fmt, ...)
{
	va_list ap;
	snprintf(r->err_field, sizeof r->err_field, "%s", field);
	va_start(ap, fmt);
	vsnprintf(r->err_msg, sizeof r->err_msg, fmt, ap);
	va_end(ap);
	return false;
}

/* Records why r is refused (status, code, message); the answer is queued by
 * on_request once the body, which is never buffered, has been read and
 * dropped.  Returns false (for `return deny(...)` in checks). */
static bool deny(struct request *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool deny(struct request *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	r->deny_status = status;
	snprintf(r->deny_code, sizeof r->deny_code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(r->deny_msg, sizeof r->deny_msg, fmt, ap);
	va_end(ap);
	return false;
}

json_t *http_body_object(struct request *r)
{
	json_error_t err;
	if (!r->body_len) {
		http_bad_field(r, "", "the body must be a JSON object; it is empty");
		return NULL;
	}
	json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!j) {
		http_bad_field(r, "", "malformed JSON at line %d column %d: %s", err.line, err.column,
			       err.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		http_bad_field(r, "", "the body must be a JSON object");
		return NULL;
	}
	return j;
}

const char *http_arg(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool http_arg_int(struct request *r, const char *name, int64_t lo, int64_t hi, int64_t dflt,
		  int64_t *out)
{
	const char *v = http_arg(r, name);
	if (!v) {
		*out = dflt;
		return true;
	}
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi)
		return http_bad_field(r, name, "query parameter '%s' must be an integer from %lld to %lld",
				      name, (long long)lo, (long long)hi);
	*out = x;
	return true;
}

const char *http_header(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

bool http_parse_id(const char *s, int64_t max, int64_t *out)
{
	int64_t v = 0;
	if (!s || !*s || strlen(s) > 18)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > max)
		return false;
	*out = v;
	return true;
}

static const char *path_of(const char *where, const char *key, char *buf, size_t n)
{
	if (where && *where)
		snprintf(buf, n, "%s.%s", where, key);
	else
		snprintf(buf, n, "%s", key);
	return buf;
}

/* The field's value, or NULL when absent/null (setting r->err_* if required). */
static json_t *field(struct request *r, json_t *obj, const char *key, const char *path, bool required)
{
	json_t *v = json_object_get(obj, key);
	if (v && !json_is_null(v))
		return v;
	if (required)
		http_bad_field(r, path, "'%s' is required", path);
	return NULL;
}

bool json_get_int(struct request *r, json_t *obj, const char *key, const char *where,
		  bool required, int64_t lo, int64_t hi, int64_t *out)
{
	char path[96];
	path_of(where, key, path, sizeof path);
	json_t *v = field(r, obj, key, path, required);
	if (!v)
		return !required;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return http_bad_field(r, path, "'%s' must be an integer from %lld to %lld", path,
				      (long long)lo, (long long)hi);
	*out = json_integer_value(v);
	return true;
}

bool json_get_number(struct request *r, json_t *obj, const char *key, const char *where,
		     bool required, double lo, double hi, double *out)
{
	char path[96];
	path_of(where, key, path, sizeof path);
	json_t *v = field(r, obj, key, path, required);
	if (!v)
		return !required;
	if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
		return http_bad_field(r, path, "'%s' must be a number from %g to %g", path, lo, hi);
	*out = json_number_value(v);
	return true;
}

bool json_get_string(struct request *r, json_t *obj, const char *key, const char *where,
		     bool required, bool nonempty, size_t max_len, const char **out)
{
	char path[96];
	path_of(where, key, path, sizeof path);
	json_t *v = field(r, obj, key, path, required);
	if (!v)
		return !required;
	if (!json_is_string(v))
		return http_bad_field(r, path, "'%s' must be a string", path);
	if (nonempty && json_string_length(v) == 0)
		return http_bad_field(r, path, "'%s' must not be empty", path);
	if (json_string_length(v) > max_len)
		return http_bad_field(r, path, "'%s' is longer than %zu bytes", path, max_len);
	if (memchr(json_string_value(v), 0, json_string_length(v)))
		return http_bad_field(r, path, "'%s' must not contain NUL characters", path);
	*out = json_string_value(v);
	return true;
}

bool json_get_bool(struct request *r, json_t *obj, const char *key, const char *where,
		   bool required, bool *out)
{
	char path[96];
	path_of(where, key, path, sizeof path);
	json_t *v = field(r, obj, key, path, required);
	if (!v)
		return !required;
	if (!json_is_boolean(v))
		return http_bad_field(r, path, "'%s' must be true or false", path);
	*out = json_is_true(v);
	return true;
}

bool json_get_enum(struct request *r, json_t *obj, const char *key, const char *where,
		   bool required, const char *const *choices, const char **out)
{
	char path[96], list[160] = "";
	path_of(where, key, path, sizeof path);
	json_t *v = field(r, obj, key, path, required);
	if (!v)
		return !required;
	for (const char *const *c = choices; *c; c++) {
		if (json_is_string(v) && strcmp(json_string_value(v), *c) == 0) {
			*out = *c;
			return true;
		}
		size_t l = strlen(list);
		snprintf(list + l, sizeof list - l, "%s'%s'", l ? ", " : "", *c);
	}
	return http_bad_field(r, path, "'%s' must be one of %s", path, list);
}

/* ---- routing and auth --------------------------------------------------- */

/* Does path match pattern?  Sets *id from a "{id}" segment. */
static bool route_match(const char *pattern, const char *path, int64_t *id)
{
	const char *p = pattern, *u = path;
	while (*p && *u) {
		if (strncmp(p, "{id}", 4) == 0) {
			const char *end = strchr(u, '/');
			size_t n = end ? (size_t)(end - u) : strlen(u);
			char digits[20];
			if (n == 0 || n >= sizeof digits)
				return false;
			memcpy(digits, u, n);
			digits[n] = 0;
			if (!http_parse_id(digits, INT64_MAX, id))
				return false;
			p += 4;
			u += n;
			continue;
		}
		if (*p != *u)
			return false;
		p++;
		u++;
	}
	return !*p && !*u;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}


/*
 * Bearer tokens seen lately, per thread (no lock): SHA-256 -> rater for
 * TOKEN_CACHE_SECONDS, so a script posting ratings costs one hash and no
 * query per request.  Disabling a rater or rotating a token bumps
 * auth_epoch (http_auth_changed), which empties every thread's cache at once;
 * the TTL only bounds how long an entry lives otherwise.
 */
#define TOKEN_CACHE_SLOTS 256
#define TOKEN_CACHE_SECONDS 10
struct token_slot {
	uint8_t hash[AUTH_HASH_LEN];
	struct db_rater rater;
	int64_t expires;
	uint64_t epoch;      /* auth_epoch when cached */
};
static __thread struct token_slot token_cache[TOKEN_CACHE_SLOTS];
static _Atomic uint64_t auth_epoch = 1;

void http_auth_changed(void)
{
	atomic_fetch_add(&auth_epoch, 1);
}

static int rater_by_token_cached(struct db *db, const uint8_t hash[AUTH_HASH_LEN], struct db_rater *out)
{
	struct token_slot *s = &token_cache[hash[0] % TOKEN_CACHE_SLOTS];
	int64_t now = db_now();
	uint64_t epoch = atomic_load(&auth_epoch);
	if (s->expires > now && s->epoch == epoch && memcmp(s->hash, hash, AUTH_HASH_LEN) == 0) {
		*out = s->rater;
		return DB_OK;
	}
	int rc = db_rater_by_token(db, hash, out);
	if (rc == DB_OK) {
		memcpy(s->hash, hash, AUTH_HASH_LEN);
		s->rater = *out;
		s->expires = now + TOKEN_CACHE_SECONDS;
		s->epoch = epoch;
	}
	return rc;
}

/* deny() for a negative DB_* code, as http_db_error answers it. */
static bool deny_db(struct request *r, int rc, const char *what)
{
	if (rc == DB_BUSY)
		return deny(r, 503, "busy", "the database is busy; try again");
	return deny(r, 500, "internal", "database error reading %s", what);
}

/* Fills r->rater from the bearer token or the session cookie; false after
 * deny() (401, or 5xx) when it cannot. */
static bool authenticate(struct request *r)
{
	uint8_t hash[AUTH_HASH_LEN];
	const char *authz = http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	int rc;
	if (authz) {
		if (strncasecmp(authz, "Bearer ", 7) != 0)
			return deny(r, 401, "unauthorized", "the Authorization header must be 'Bearer <token>'");
		const char *tok = authz + 7;
		while (*tok == ' ')
			tok++;
		size_t len = strlen(tok);
		while (len && tok[len - 1] == ' ')
			len--;
		if (!len || auth_hash(tok, len, hash) < 0)
			return deny(r, 401, "unauthorized", "empty bearer token");
		rc = rater_by_token_cached(r->db, hash, &r->rater);
		if (rc == DB_NOTFOUND)
			return deny(r, 401, "unauthorized", "unknown token");
	} else {
		const char *sid = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SESSION_COOKIE);
		if (!sid || !*sid)
			return deny(r, 401, "unauthorized", "log in, or send 'Authorization: Bearer <token>'");
		auth_hash(sid, strlen(sid), hash);
		rc = db_session_get(r->db, hash, db_now(), &r->rater, r->csrf, sizeof r->csrf);
		if (rc == DB_NOTFOUND)
			return deny(r, 401, "unauthorized", "the session has expired; log in again");
		r->by_cookie = true;
	}
	if (rc < 0)
		return deny_db(r, rc, "the rater");
	return true;
}

/* May HEAD be answered by running path's GET?  Only where GET changes
 * nothing: static files, /healthz, /metrics. */
static bool head_allowed(const char *path)
{
	return strncmp(path, "/api/", 5) != 0 && strcmp(path, "/api") != 0;
}

/*
 * Decides r from its request line and headers alone, before any of its body
 * is read: the route (r->route, r->id), the caller, the CSRF token and the
 * role.  False after deny() when r is refused.  A path outside the table is
 * a static file (r->route stays NULL).
 */
static bool decide(struct request *r)
{
	bool is_head = strcmp(r->method, "HEAD") == 0;
	bool is_get = strcmp(r->method, "GET") == 0 || is_head;
	const struct route *rt = NULL;
	char allow[64] = "";
	if (strstr(r->url, "%00"))
		return deny(r, 400, "bad_path", "the path must not contain an encoded NUL (%%00)");
	for (const struct route *x = http_routes; x->method; x++) {
		int64_t id = 0;
		if (!route_match(x->pattern, r->url, &id))
			continue;
		if (strcmp(x->method, r->method) == 0 ||
		    (is_get && strcmp(x->method, "GET") == 0 && (!is_head || head_allowed(r->url)))) {
			rt = x;
			r->id = id;
			break;
		}
		size_t l = strlen(allow);
		snprintf(allow + l, sizeof allow - l, "%s%s", l ? ", " : "", x->method);
	}
	if (!rt) {
		if (allow[0]) {
			snprintf(r->allow, sizeof r->allow, "%s", allow);
			return deny(r, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
				    r->method, r->url, allow);
		}
		if (strncmp(r->url, "/api/", 5) == 0 || strcmp(r->url, "/api") == 0)
			return deny(r, 404, "not_found", "no endpoint %s %s", r->method, r->url);
		if (!is_get)
			return deny(r, 405, "method_not_allowed", "%s is not allowed on %s", r->method, r->url);
		return true;            /* a static file */
	}
	r->route = rt;
	if (!(r->db = db_pool_get()))
		return deny(r, 503, "unavailable", "cannot open the database");
	if (rt->role == ROLE_NONE)
		return true;
	if (!authenticate(r))
		return false;
	if (r->by_cookie && !is_get) {
		const char *t = http_header(r, "X-CSRF-Token");
		if (!t || !auth_token_eq(t, r->csrf))
			return deny(r, 403, "csrf_failed", "missing or wrong X-CSRF-Token header");
	}
	if (rt->role == ROLE_ADMIN && strcmp(r->rater.role, "admin") != 0)
		return deny(r, 403, "forbidden", "this needs an admin");
	return true;
}

/* Answers r once its body is in: the refusal decide() recorded, the
 * endpoint, or the static file. */
static enum MHD_Result respond(struct request *r)
{
	if (r->deny_status)
		return http_error(r, r->deny_status, r->deny_code, "%s", r->deny_msg);
	if (!r->route)
		return static_serve(r);
	return r->route->handler(r);
}

/* ---- the MHD callbacks -------------------------------------------------- */

/* Are bytes of the body waiting in the connection's socket? */
static bool body_arriving(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	int pending = 0;
	if (!ci || ioctl(ci->connect_fd, FIONREAD, &pending) != 0)
		return false;
	return pending > 0;
}

/*
 * Suspended connections must all be resumed before MHD_stop_daemon (it
 * aborts the process otherwise), and a connection being served when
 * http_stop begins may still want to suspend.  So http_stop sets
 * http_stopping and then waits for these counts to reach 0, while a
 * suspension counts itself first and then looks at http_stopping, backing
 * out when it is set (sequentially consistent atomics: either http_stop sees
 * the count, or the suspension sees the flag).  The request is then answered
 * without suspending.
 */
static atomic_int probes_in_flight;
static atomic_int suspended_in_flight;   /* http_suspend'ed, not yet resumed */
static atomic_bool http_stopping;

/* Counts one more suspension in *count, unless the server is stopping. */
static bool may_suspend(atomic_int *count)
{
	if (!http_can_suspend)
		return false;
	atomic_fetch_add(count, 1);
	if (atomic_load(&http_stopping)) {
		atomic_fetch_sub(count, 1);
		return false;
	}
	return true;
}

bool http_suspend(struct request *r, http_handler then)
{
	if (!may_suspend(&suspended_in_flight))
		return false;
	r->resumed = then;
	MHD_suspend_connection(r->conn);
	return true;
}

void http_resume(struct request *r)
{
	MHD_resume_connection(r->conn);   /* r may be gone once this returns */
	atomic_fetch_sub(&suspended_in_flight, 1);
}

static void *probe_main(void *arg)
{
	usleep(PROBE_MS * 1000);
	MHD_resume_connection(arg);
	atomic_fetch_sub(&probes_in_flight, 1);
	return NULL;
}

/* Suspends the connection and resumes it PROBE_MS later (libmicrohttpd then
 * calls on_request again).  False when that is not possible: thread per
 * connection, or no thread. */
static bool probe_later(struct request *r)
{
	pthread_t t;
	pthread_attr_t attr;
	if (!may_suspend(&probes_in_flight))
		return false;
	MHD_suspend_connection(r->conn);
	r->probing = true;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, probe_main, r->conn);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		MHD_resume_connection(r->conn);
		atomic_fetch_sub(&probes_in_flight, 1);
	}
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct request *r = *req_cls;
	int64_t max = atomic_load_explicit(&http_max_body, memory_order_relaxed);

	if (!r) {
		if (!(r = calloc(1, sizeof *r)))
			return MHD_NO;
		r->conn = conn;
		r->method = method;
		r->url = url;
		r->start_ns = mono_ns();
		*req_cls = r;
		decide(r);
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_TRANSFER_ENCODING);
		if (te && strcasestr(te, "chunked"))
			cl = NULL;      /* chunked wins (RFC 9112 6.3); capped while streaming */
		if (cl && !r->deny_status) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno || end == cl || *end || n > (unsigned long long)max) {
				/* Answering now is right for a client that waits (for
				 * "100 Continue", or just waits), but a client still
				 * writing its body would get a TCP reset when the
				 * connection closes with its data unread, and the reset
				 * can swallow the 413.  So if body bytes are already
				 * waiting in the socket, the body is read, thrown away
				 * and answered at its end instead. */
				r->too_large = true;
				const char *expect = http_header(r, MHD_HTTP_HEADER_EXPECT);
				if (errno || end == cl || *end || n > (unsigned long long)max + DISCARD_LIMIT ||
				    (expect && strcasecmp(expect, "100-continue") == 0))
					return http_error(r, 413, "payload_too_large",
							  "the body is over the limit of %lld bytes", (long long)max);
				/* the body may simply not be here yet: look again shortly */
				if (!body_arriving(conn) && probe_later(r))
					return MHD_YES;
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->too_large || r->deny_status) {
			/* keep reading to answer 413 (or the refusal) at the end,
			 * up to a point; nothing is kept */
			r->body_len += n;
			return r->body_len > (size_t)max + DISCARD_LIMIT ? MHD_NO : MHD_YES;
		}
		if (r->body_len + n > (size_t)max) {
			r->too_large = true;
			free(r->body);
			r->body = NULL;
			r->body_len = r->body_len + n;
			r->body_cap = 0;
			return MHD_YES;
		}
		if (r->body_len + n + 1 > r->body_cap) {
			size_t cap = r->body_cap ? r->body_cap : 1024;
			while (cap < r->body_len + n + 1)
				cap *= 2;
			if (cap > (size_t)max + 1)
				cap = (size_t)max + 1;
			char *b = realloc(r->body, cap);
			if (!b)
				return MHD_NO;
			r->body = b;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, upload_data, n);
		r->body_len += n;
		r->body[r->body_len] = 0;
		return MHD_YES;
	}
	if (r->resumed) {
		/* back from http_suspend: the waiting handler answers now */
		http_handler then = r->resumed;
		r->resumed = NULL;
		return then(r);
	}
	if (r->queued)
		return MHD_YES;
	if (r->probing) {
		/* resumed after PROBE_MS: a client that is writing its body gets it
		 * read and dropped first; one that waits is answered now */
		r->probing = false;
		if (body_arriving(conn))
			return MHD_YES;
	}
	if (r->too_large && !r->deny_status)
		return http_error(r, 413, "payload_too_large", "the body is over the limit of %lld bytes",
				  (long long)max);
	return respond(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *r = *req_cls;
	if (!r)
		return;
	double secs = (double)(mono_ns() - r->start_ns) / 1e9;
	if (r->queued)
		metrics_request(r->method, r->status, secs);
	if (http_verbose)
		fprintf(stderr, "%s %s %d %.2fms%s\n", r->method, r->url, r->queued ? r->status : 0,
			secs * 1e3, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
	/* resumed but never served (the daemon stopped first): the waiting
	 * handler's state is still here */
	if (r->ctx && r->ctx_free)
		r->ctx_free(r->ctx);
	free(r->body);
	free(r);
	*req_cls = NULL;
}

/* libmicrohttpd's URL and argument unescaping, except that %00 stays as it
 * is (decide() refuses such a path): a decoded NUL would end the string
 * early and "/api/prompts/1%00" would read as "/api/prompts/1".  Returns the
 * new length of s, decoded in place. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *w = s;
	for (const char *p = s; *p; p++) {
		int hi, lo;
		if (p[0] == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0 && (hi | lo)) {
			*w++ = (char)(hi << 4 | lo);
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
	return (size_t)(w - s);
}

int http_start(const struct http_options *opt)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;

	http_verbose = opt->verbose;
	static_init(opt->web_dir);
	if (opt->verbose)
		flags |= MHD_USE_ERROR_LOG;
	if (opt->threads > 0)
		flags |= MHD_USE_EPOLL | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
	else
		flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
	http_can_suspend = opt->threads > 0;
	if (opt->host && *opt->host) {
		memset(&sin, 0, sizeof sin);
		memset(&sin6, 0, sizeof sin6);
		if (inet_pton(AF_INET, opt->host, &sin.sin_addr) == 1) {
			sin.sin_family = AF_INET;
			sin.sin_port = htons((uint16_t)opt->port);
			sa = (struct sockaddr *)&sin;
		} else if (inet_pton(AF_INET6, opt->host, &sin6.sin6_addr) == 1) {
			sin6.sin6_family = AF_INET6;
			sin6.sin6_port = htons((uint16_t)opt->port);
			sa = (struct sockaddr *)&sin6;
			flags |= MHD_USE_IPv6;
		} else {
			fprintf(stderr, "rlhfd serve: cannot use host '%s': not an IP address\n", opt->host);
			return -1;
		}
	}
	struct MHD_OptionItem ops[] = {
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_PER_IP_CONNECTIONS, NULL },
		{ MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, NULL },
		{ opt->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_ARRAY,
		  opt->threads > 1 ? opt->threads : 0, NULL },
		{ sa ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_ARRAY, 0, sa },
		{ MHD_OPTION_END, 0, NULL },
	};
	/* an unused slot must not end the list early: compact it */
	struct MHD_OptionItem list[10];
	int n = 0;
	for (int i = 0; ops[i].option != MHD_OPTION_END; i++)
		if (ops[i].option != MHD_OPTION_ARRAY)
			list[n++] = ops[i];
	list[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	http_daemon = MHD_start_daemon(flags, (uint16_t)opt->port, NULL, NULL, on_request, NULL,
				       MHD_OPTION_ARRAY, list, MHD_OPTION_END);
	if (!http_daemon) {
		fprintf(stderr, "rlhfd serve: cannot listen on port %d: %s\n", opt->port,
			errno ? strerror(errno) : "libmicrohttpd refused");
		return -1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(http_daemon, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : opt->port;
}

void http_stop(void)
{
	if (!http_daemon)
		return;
	/* a probe, or a writer thread answering a suspended request (a rating
	 * waiting for its group commit), resumes its connection through the
	 * daemon: let them finish */
	MHD_quiesce_daemon(http_daemon);
	atomic_store(&http_stopping, true);
	while (atomic_load(&probes_in_flight) > 0 || atomic_load(&suspended_in_flight) > 0)
		usleep(1000);
	MHD_stop_daemon(http_daemon);
	http_daemon = NULL;
	atomic_store(&http_stopping, false);
}
