/*
 * server/http/api_auth.c — health, metrics, browser login/logout, who am I, and
 * rater management.
 *
 * Login is guarded: its body must be JSON (Content-Type application/json, so
 * a cross-site form — text/plain or urlencoded — cannot log a browser in to
 * an attacker's account), wrong tokens are throttled per client address
 * (LOGIN_FAILS wrong tokens in LOGIN_WINDOW seconds, then 429 with
 * Retry-After until the window ends; bearer-token API calls are not
 * throttled), and a rater keeps at most SESSIONS_PER_RATER live sessions
 * (the oldest goes).  Logout by cookie needs the session's CSRF token.
 */
#include "server/http/api.h"
#include "server/http/auth.h"
#include "server/http/metrics.h"
#include "db/db.h"
#include "db/raters.h"
#include "db/tasks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define SESSION_COOKIE "rlhfd_session"
#define SESSION_SECONDS (7 * 24 * 3600)
#define SESSIONS_PER_RATER 20
#define LOGIN_FAILS 10           /* wrong tokens allowed per address ... */
#define LOGIN_WINDOW 60          /* ... in this many seconds */
#define LOGIN_SLOTS 1024         /* addresses remembered (oldest window reused) */

/* Wrong-token counts per client address (a fixed table under one lock). */
struct login_slot {
	char addr[INET6_ADDRSTRLEN];
	int64_t window_start;
	int fails;
};
static struct login_slot login_slots[LOGIN_SLOTS];
static pthread_mutex_t login_lock = PTHREAD_MUTEX_INITIALIZER;

/* The client's address as text into buf ("" when unknown). */
static void client_addr(struct request *r, char *buf, size_t n)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	buf[0] = 0;
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)n);
}

/* The slot of addr (found, or the one with the oldest window, reset);
 * login_lock held. */
static struct login_slot *login_slot(const char *addr, int64_t now)
{
	struct login_slot *oldest = &login_slots[0];
	for (int i = 0; i < LOGIN_SLOTS; i++) {
		struct login_slot *l = &login_slots[i];
		if (l->addr[0] && strcmp(l->addr, addr) == 0)
			return l;
		if (l->window_start < oldest->window_start)
			oldest = l;
	}
	snprintf(oldest->addr, sizeof oldest->addr, "%s", addr);
	oldest->window_start = now;
	oldest->fails = 0;
	return oldest;
}

/* Seconds until addr may try again (0 = now). */
static int64_t login_wait(const char *addr, int64_t now)
{
	int64_t wait = 0;
	pthread_mutex_lock(&login_lock);
	struct login_slot *l = login_slot(addr, now);
	if (now - l->window_start >= LOGIN_WINDOW) {
		l->window_start = now;
		l->fails = 0;
	} else if (l->fails >= LOGIN_FAILS) {
		wait = l->window_start + LOGIN_WINDOW - now;
	}
	pthread_mutex_unlock(&login_lock);
	return wait;
}

static void login_failed(const char *addr, int64_t now)
{
	pthread_mutex_lock(&login_lock);
	login_slot(addr, now)->fails++;
	pthread_mutex_unlock(&login_lock);
}

/* 429 with Retry-After. */
static enum MHD_Result too_many(struct request *r, int64_t wait)
{
	char *s = NULL;
	json_t *e = json_pack("{s{ss ss}}", "error", "code", "too_many_attempts", "message",
			      "too many wrong tokens from this address; wait before trying again");
	s = e ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	if (!s)
		return MHD_NO;
	/* s is malloc'ed: MHD frees it (MUST_FREE) */
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		return MHD_NO;
	}
	char secs[24];
	snprintf(secs, sizeof secs, "%lld", (long long)(wait > 0 ? wait : 1));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
	enum MHD_Result ret = http_queue(r, 429, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Is the request's body declared as JSON? */
static bool is_json(struct request *r)
{
	const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!ct || strncasecmp(ct, "application/json", 16) != 0)
		return false;
	return ct[16] == 0 || ct[16] == ';' || ct[16] == ' ';
}

enum MHD_Result api_healthz(struct request *r)
{
	return http_json(r, 200, json_pack("{sb}", "ok", 1));
}

enum MHD_Result api_metrics(struct request *r)
{
	size_t len = 0;
	char *text = metrics_render(db_pool_get(), &len);
	if (!text)
		return http_error(r, 500, "internal", "cannot render metrics");
	/* text is malloc'ed: MHD frees it (MUST_FREE) */
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
	enum MHD_Result ret = http_queue(r, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result api_login(struct request *r)
{
	char addr[INET6_ADDRSTRLEN];
	int64_t now = db_now(), wait;
	client_addr(r, addr, sizeof addr);
	if ((wait = login_wait(addr, now)) > 0)
		return too_many(r, wait);
	if (!is_json(r))
		return http_error(r, 415, "unsupported_media_type",
				  "log in with a JSON body (Content-Type: application/json)");
	json_t *body = http_body_object(r);
	const char *token = NULL;
	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	if (!json_get_string(r, body, "token", NULL, true, true, 1024, &token)) {
		json_decref(body);
		return http_invalid(r);
	}
	uint8_t hash[AUTH_HASH_LEN], sid_hash[AUTH_HASH_LEN];
	char sid[AUTH_TOKEN_CHARS + 1], csrf[AUTH_TOKEN_CHARS + 1];
	struct db_rater who;
	auth_hash(token, strlen(token), hash);
	json_decref(body);
	int rc = db_rater_by_token(r->db, hash, &who);
	if (rc == DB_NOTFOUND) {
		login_failed(addr, now);
		return http_error(r, 401, "unauthorized", "unknown token");
	}
	if (rc < 0)
		return http_db_error(r, rc, "rater");
	if (auth_random_hex(sid, AUTH_TOKEN_BYTES) < 0 || auth_random_hex(csrf, 16) < 0)
		return http_error(r, 500, "internal", "no randomness");
	auth_hash(sid, strlen(sid), sid_hash);
	if ((rc = db_begin(r->db)) < 0 ||
	    (rc = db_sessions_purge(r->db, now)) < 0 ||
	    (rc = db_sessions_trim(r->db, who.id, SESSIONS_PER_RATER - 1)) < 0 ||
	    (rc = db_session_create(r->db, sid_hash, who.id, csrf, now, now + SESSION_SECONDS)) < 0 ||
	    (rc = db_commit(r->db)) < 0) {
		db_rollback(r->db);
		return http_db_error(r, rc, "session");
	}
	json_t *out = json_pack("{sI so ss ss}", "id", (json_int_t)who.id,
				"name", db_json_str(who.name, strlen(who.name)), "role", who.role,
				"csrf_token", csrf);
	char *s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	if (!s)
		return http_error(r, 500, "internal", "cannot encode the answer");
	char cookie[256];
	snprintf(cookie, sizeof cookie, SESSION_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d",
		 sid, SESSION_SECONDS);
	/* s is malloc'ed: MHD frees it (MUST_FREE) */
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	enum MHD_Result ret = http_queue(r, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result api_logout(struct request *r)
{
	const char *sid = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SESSION_COOKIE);
	if (sid && *sid) {
		uint8_t h[AUTH_HASH_LEN];
		auth_hash(sid, strlen(sid), h);
		struct db_rater who;
		char csrf[72];
		int rc = db_session_get(r->db, h, db_now(), &who, csrf, sizeof csrf);
		if (rc < 0 && rc != DB_NOTFOUND)
			return http_db_error(r, rc, "session");
		/* a live session ends only by its own page (CSRF token); an
		 * expired or unknown cookie is simply cleared */
		const char *t = http_header(r, "X-CSRF-Token");
		if (rc == DB_OK && (!t || !auth_token_eq(t, csrf)))
			return http_error(r, 403, "csrf_failed", "missing or wrong X-CSRF-Token header");
		if ((rc = db_begin(r->db)) < 0 || (rc = db_session_delete(r->db, h)) < 0 ||
		    (rc = db_commit(r->db)) < 0) {
			db_rollback(r->db);
			return http_db_error(r, rc, "session");
		}
	}
	static const char body[] = "{\"ok\":true}";
	/* a constant: MHD_RESPMEM_PERSISTENT */
	struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
								    MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE,
				SESSION_COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
	enum MHD_Result ret = http_queue(r, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Local midnight of today as unix seconds ("rated today" is the rater's day
 * as the server's clock sees it). */
static int64_t today_start(void)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* {"rated_today","remaining"} for the rater, new; NULL on a database error. */
json_t *api_progress(struct request *r)
{
	int per_group, lease;
	int64_t rated = 0, remaining = 0;
	if (api_config_ints(r->db, &per_group, &lease) < 0 ||
	    db_rated_groups_since(r->db, r->rater.id, today_start(), &rated) < 0 ||
	    db_task_remaining(r->db, r->rater.id, db_now(), per_group, &remaining) < 0)
		return NULL;
	return json_pack("{sI sI}", "rated_today", (json_int_t)rated, "remaining", (json_int_t)remaining);
}

enum MHD_Result api_me(struct request *r)
{
	json_t *p = api_progress(r), *guidelines = p ? api_guidelines_current(r) : NULL;
	if (!p || !guidelines) {
		json_decref(p);
		return http_error(r, 500, "internal", "database error");
	}
	json_t *me = json_pack("{sI so ss}", "id", (json_int_t)r->rater.id,
			       "name", db_json_str(r->rater.name, strlen(r->rater.name)),
			       "role", r->rater.role);
	if (r->by_cookie)
		json_object_set_new(me, "csrf_token", json_string(r->csrf));
	json_object_update(me, p);
	json_decref(p);
	json_object_set_new(me, "guidelines", guidelines);
	return http_json(r, 200, me);
}

enum MHD_Result api_raters_create(struct request *r)
{
	static const char *const ROLES[] = { "rater", "admin", NULL };
	json_t *body = http_body_object(r);
	const char *name = NULL, *role = "rater";
	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	if (!json_get_string(r, body, "name", NULL, true, true, 200, &name) ||
	    !json_get_enum(r, body, "role", NULL, true, ROLES, &role)) {
		json_decref(body);
		return http_invalid(r);
	}
	char token[AUTH_TOKEN_CHARS + 1];
	uint8_t hash[AUTH_HASH_LEN];
	int64_t id = 0;
	int rc;
	if (auth_random_hex(token, AUTH_TOKEN_BYTES) < 0) {
		json_decref(body);
		return http_error(r, 500, "internal", "no randomness");
	}
	auth_hash(token, strlen(token), hash);
	if ((rc = db_begin(r->db)) < 0 || (rc = db_rater_create(r->db, name, role, hash, &id)) < 0 ||
	    (rc = db_commit(r->db)) < 0) {
		db_rollback(r->db);
		enum MHD_Result ret = rc == DB_CONFLICT ?
			http_error(r, 409, "name_taken", "a rater named '%s' exists already", name) :
			http_db_error(r, rc, "rater");
		json_decref(body);
		return ret;
	}
	json_t *out = json_pack("{sI sO ss ss}", "id", (json_int_t)id, "name",
				json_object_get(body, "name"), "role", role, "token", token);
	json_decref(body);
	return http_json(r, 201, out);
}

enum MHD_Result api_raters_list(struct request *r)
{
	json_t *list;
	int rc = db_raters_list(r->db, &list);
	if (rc < 0)
		return http_db_error(r, rc, "raters");
	return http_json(r, 200, json_pack("{so}", "raters", list));
}

/* {"id","name","role","disabled"} of rater id, new; NULL after answering. */
static json_t *rater_json(struct request *r, int64_t id, enum MHD_Result *ret)
{
	struct db_rater who;
	int rc = db_rater_by_id(r->db, id, &who);
	if (rc < 0) {
		*ret = http_db_error(r, rc, "rater");
		return NULL;
	}
	return json_pack("{sI so ss sb}", "id", (json_int_t)who.id,
			 "name", db_json_str(who.name, strlen(who.name)), "role", who.role,
			 "disabled", who.disabled);
}

/* PATCH /api/raters/{id} {"disabled"?, "name"?}: a disabled rater's token
 * and sessions are refused from the next request on; their ratings stay. */
enum MHD_Result api_rater_update(struct request *r)
{
	json_t *body = http_body_object(r);
	const char *name = NULL;
	bool disabled = false;
	enum MHD_Result ret;
	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	json_t *dv = json_object_get(body, "disabled");
	if (!json_get_string(r, body, "name", NULL, false, true, 200, &name) ||
	    !json_get_bool(r, body, "disabled", NULL, false, &disabled)) {
		json_decref(body);
		return http_invalid(r);
	}
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "name") && strcmp(key, "disabled")) {
			http_bad_field(r, key, "unknown field '%s' (a rater has \"name\" and \"disabled\")", key);
			json_decref(body);
			return http_invalid(r);
		}
	}
	int rc;
	if ((rc = db_begin(r->db)) < 0 ||
	    (name && (rc = db_rater_rename(r->db, r->id, name)) < 0) ||
	    (dv && !json_is_null(dv) && (rc = db_rater_set_disabled(r->db, r->id, disabled)) < 0) ||
	    (rc = db_commit(r->db)) < 0) {
		db_rollback(r->db);
		if (rc == DB_CONFLICT && name && (!dv || !disabled))
			ret = http_error(r, 409, "name_taken", "a rater named '%s' exists already", name);
		else if (rc == DB_CONFLICT)
			ret = http_error(r, 409, "last_admin",
					 "rater %lld is the last enabled admin; enable or create another first",
					 (long long)r->id);
		else
			ret = http_db_error(r, rc, "rater");
		json_decref(body);
		return ret;
	}
	json_decref(body);
	http_auth_changed();
	json_t *out = rater_json(r, r->id, &ret);
	return out ? http_json(r, 200, out) : ret;
}

/* POST /api/raters/{id}/token: a new token, shown once; the old one is dead
 * from the next request on. */
enum MHD_Result api_rater_token(struct request *r)
{
	char token[AUTH_TOKEN_CHARS + 1];
	uint8_t hash[AUTH_HASH_LEN];
	int rc;
	if (auth_random_hex(token, AUTH_TOKEN_BYTES) < 0)
		return http_error(r, 500, "internal", "no randomness");
	auth_hash(token, strlen(token), hash);
	if ((rc = db_begin(r->db)) < 0 || (rc = db_rater_set_token(r->db, r->id, hash)) < 0 ||
	    (rc = db_commit(r->db)) < 0) {
		db_rollback(r->db);
		return http_db_error(r, rc, "rater");
	}
	http_auth_changed();
	return http_json(r, 200, json_pack("{sI ss}", "id", (json_int_t)r->id, "token", token));
}
