/*
 * server/http/ — the HTTP area: libmicrohttpd set-up, the one routing table
 * (routes.c), authentication and sessions (auth.c, api_auth.c), static files,
 * Prometheus metrics, and the api_*.c handlers grouped by resource.  It may
 * use db/, model/ (cheap reads only), and of the worker only its public
 * header server/worker/worker.h; never the demo or the CLI.  This header is
 * the area's public face: server start-up includes it and nothing else here.
 *
 * server/http/http.h — the HTTP server: libmicrohttpd set-up, the life of one
 * request, routing through the one table (server/http/routes.c), authentication,
 * and the helpers every endpoint uses to read its input and queue its answer.
 *
 * An endpoint is a plain function `enum MHD_Result h(struct request *r)` that
 * queues exactly one response through http_json / http_error / ... and
 * returns what that helper returned.  By the time it runs, the body has been
 * read (capped), the caller authenticated and authorised for the route's role,
 * and r->db is the thread's database connection.
 */
#ifndef RLHFD_SERVER_HTTP_H
#define RLHFD_SERVER_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>

#include "db/raters.h"

struct db;

/* How JSON answers are written: compact, and reals with 15 significant
 * digits so 0.8 reads 0.8 and not 0.80000000000000004. */
#define HTTP_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

enum role { ROLE_NONE, ROLE_RATER, ROLE_ADMIN };

struct route;

struct request {
	struct MHD_Connection *conn;
	const char *method;          /* borrowed from MHD */
	const char *url;             /* path, without the query string */
	char *body;                  /* owned; NUL-terminated, body_len bytes */
	size_t body_len, body_cap;
	bool too_large;              /* body over the cap: answer 413 */
	bool probing;                /* suspended to see whether a body comes */
	bool queued;                 /* a response has been queued */
	int status;                  /* the queued response's status */
	int64_t start_ns;            /* monotonic, for the latency histogram */
	int64_t id;                  /* the {id} of the matched route, or 0 */
	struct db *db;               /* the thread's connection (borrowed) */
	struct db_rater rater;       /* the authenticated caller */
	bool by_cookie;              /* authenticated by session cookie */
	char csrf[72];               /* that session's CSRF token */
	char err_field[96];          /* the field a 400 is about (see http_invalid) */
	char err_msg[256];
	char allow[64];              /* methods for a 405's Allow header */
	const struct route *route;   /* the matched route; NULL = a static file */
	int deny_status;             /* decided on the first call: refused with this */
	char deny_code[32];
	char deny_msg[256];
	/* a handler waiting for another thread (http_suspend) */
	enum MHD_Result (*resumed)(struct request *r);
	void *ctx;                   /* that handler's state (its own to free) */
	void (*ctx_free)(void *ctx); /* frees ctx when the connection ends before the
					handler took it back (NULL ctx: nothing) */
};

typedef enum MHD_Result (*http_handler)(struct request *r);

struct route {
	const char *method;          /* "GET", "POST", "PUT" (HEAD is served as GET) */
	const char *pattern;         /* path; a segment "{id}" matches a positive integer */
	enum role role;              /* who may call it (admins may call rater routes) */
	http_handler handler;
};

extern const struct route http_routes[];   /* ends with a zeroed entry */

struct http_options {
	const char *host;            /* bind address, NULL = all */
	int port;                    /* 0 = any free port */
	int threads;                 /* MHD thread pool size; 0 = thread per connection */
	const char *web_dir;         /* static files */
	bool verbose;                /* one log line per request on stderr */
};

/* The body cap in bytes, read on every request, changed by PUT /api/config. */
extern _Atomic int64_t http_max_body;

/* Starts the daemon (static files from opt->web_dir); returns the port it
 * listens on, or -1 (logged). */
int http_start(const struct http_options *opt);
/* Stops accepting, finishes or drops the open connections, joins the threads. */
void http_stop(void);

/*
 * On a database without raters, creates the admin "admin": with the token in
 * env_token when set and non-empty, else with a random token that is printed
 * to stdout once and written to <data_dir>/admin.token (mode 0600).  Does
 * nothing when raters exist.  An env_token shorter than 16 characters is
 * refused, raters or not.  Returns 0 or -1 (message on stderr).
 */
int auth_bootstrap_admin(struct db *db, const char *data_dir, const char *env_token);

/* Tells authentication that a rater's access changed (disabled, token
 * rotated): cached token lookups are dropped on every thread. */
void http_auth_changed(void);

/* ---- answers (each queues one response; the body buffer's ownership passes
 * to MHD with MHD_RESPMEM_MUST_FREE, JSON values are stolen) ---- */

/* status with body as compact JSON (steals body). */
enum MHD_Result http_json(struct request *r, int status, json_t *body);
/* {"error": {"code", "message"}} */
enum MHD_Result http_error(struct request *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* 400 invalid_field from r->err_field / r->err_msg (set by the json_* checks). */
enum MHD_Result http_invalid(struct request *r);
/* A status with an empty body (204). */
enum MHD_Result http_empty(struct request *r, int status);
/* Queues a response built by the caller (ownership of resp stays with the
 * caller, who destroys it after this returns). */
enum MHD_Result http_queue(struct request *r, int status, struct MHD_Response *resp);
/* The answer for a negative DB_* code: 404/409/400/503/500. */
enum MHD_Result http_db_error(struct request *r, int rc, const char *what);

/*
 * For a handler whose answer waits for another thread (a rating waits for
 * the group commit's fsync): http_suspend(r, then) suspends r's connection,
 * so the HTTP thread serves other connections meanwhile, and the handler
 * returns MHD_YES without queuing anything.  The other thread, when done,
 * calls http_resume(r) (once; r must not be touched after it), and then(r)
 * runs on the HTTP thread and queues the answer.  false when connections
 * cannot be suspended (a thread per connection): the handler then waits on
 * its own thread.
 */
bool http_suspend(struct request *r, http_handler then);
void http_resume(struct request *r);

/* ---- input ---- */

/* The body parsed as a JSON object (new reference), or NULL after setting
 * r->err_* (400 bad_json / not an object): answer with http_error 400. */
json_t *http_body_object(struct request *r);
/* A query-string argument (borrowed) or NULL. */
const char *http_arg(struct request *r, const char *name);
/* Query argument name as an integer in lo..hi (dflt when absent); false after
 * setting r->err_* when it is not one. */
bool http_arg_int(struct request *r, const char *name, int64_t lo, int64_t hi, int64_t dflt,
		  int64_t *out);
/* A request header (borrowed) or NULL. */
const char *http_header(struct request *r, const char *name);

/*
 * Field checks on JSON input.  Each returns true when the field is fine (or
 * absent and optional, leaving *out untouched); false after writing the field
 * path (where, e.g. "ratings[2].score") and a sentence into r->err_*.  JSON
 * null counts as absent.
 */
bool json_get_int(struct request *r, json_t *obj, const char *key, const char *where,
		  bool required, int64_t lo, int64_t hi, int64_t *out);
bool json_get_number(struct request *r, json_t *obj, const char *key, const char *where,
		     bool required, double lo, double hi, double *out);
/* *out borrowed from obj; max_len in bytes; nonempty refuses "". */
bool json_get_string(struct request *r, json_t *obj, const char *key, const char *where,
		     bool required, bool nonempty, size_t max_len, const char **out);
bool json_get_bool(struct request *r, json_t *obj, const char *key, const char *where,
		   bool required, bool *out);
/* One of the NULL-terminated choices (borrowed). */
bool json_get_enum(struct request *r, json_t *obj, const char *key, const char *where,
		   bool required, const char *const *choices, const char **out);
/* Sets r->err_* and returns false (for checks done by hand). */
bool http_bad_field(struct request *r, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parses a positive decimal integer (no sign, no junk, <= max) from s. */
bool http_parse_id(const char *s, int64_t max, int64_t *out);

#endif
