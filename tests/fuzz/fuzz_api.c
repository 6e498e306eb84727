/*
 * tests/fuzz/fuzz_api.c — libFuzzer target: the body of every write endpoint
 * (each POST, PUT and PATCH route of http_routes, server/http/routes.c)
 * through the real server in this process (tests/fuzz/fuzz_server.h: seeded
 * database, no worker).
 *
 * Input:
 *   byte 0    the route: the write route whose key (the 32-bit FNV-1a hash
 *             of "METHOD pattern", e.g. "POST /api/ratings", folded to a byte
 *             by xor; the next free byte when an earlier route has it)
 *             equals it, else the (byte 0 mod n)-th write route in table
 *             order.  Keys keep the seeds on their route when routes are
 *             added; `FUZZ_ROUTES=1 build/fuzz/fuzz_api -runs=0` lists them.
 *   byte 1    options: bits 0-2 the {id} in the path (1..7, or 7 = 999999999
 *             that exists nowhere); bit 3 Content-Type application/x-ndjson
 *             instead of application/json; bit 4 no Content-Type; bit 5 the
 *             caller by session cookie with its CSRF token instead of a bearer
 *             token; bit 6 that cookie with a wrong CSRF token.
 *   the rest  the body.
 * The caller is the admin on admin routes and the rater ann on rater routes
 * (on login and logout: nobody, or ann's session cookie with bits 5-6).
 *
 * Checked (API.md: "a bad request never crashes the server, never returns
 * 5xx, and never changes stored data"): the server answers with a status
 * line; the status is 2xx or 4xx, or 503 (busy); a 4xx body is {"error":
 * {"code", "message"}} and the database is as before (SQLite's data_version
 * did not move); a 2xx body, when there is one, is JSON.
 */
#include "server/http/http.h"
#include "tests/fuzz/fuzz_server.h"

#include <jansson.h>

#define MAX_ROUTES 64

static const struct route *routes[MAX_ROUTES];
static uint8_t route_keys[MAX_ROUTES];
static int n_routes;

static uint8_t route_key(const struct route *rt)
{
	uint32_t h = 2166136261u;
	for (const char *s = rt->method; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ ' ') * 16777619u;
	for (const char *s = rt->pattern; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (uint8_t)(h ^ h >> 8 ^ h >> 16 ^ h >> 24);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (const struct route *rt = http_routes; rt->method && n_routes < MAX_ROUTES; rt++)
		if (strcmp(rt->method, "GET") != 0 && strcmp(rt->method, "HEAD") != 0) {
			/* a key taken by an earlier route: the next free one */
			uint8_t k = route_key(rt);
			for (int i = 0; i < n_routes; i++)
				if (route_keys[i] == k) {
					k++;
					i = -1;
				}
			routes[n_routes] = rt;
			route_keys[n_routes++] = k;
		}
	if (getenv("FUZZ_ROUTES"))
		for (int i = 0; i < n_routes; i++)
			fprintf(stderr, "route key 0x%02x: %s %s\n", route_keys[i], routes[i]->method,
				routes[i]->pattern);
	fuzz_server_start();
	return 0;
}

static const struct route *pick_route(uint8_t b)
{
	for (int i = 0; i < n_routes; i++)
		if (route_keys[i] == b)
			return routes[i];
	return routes[b % n_routes];
}

/* The route's pattern with {id} replaced. */
static void route_path(const struct route *rt, int64_t id, char *out, size_t n)
{
	const char *at = strstr(rt->pattern, "{id}");
	if (!at)
		snprintf(out, n, "%s", rt->pattern);
	else
		snprintf(out, n, "%.*s%lld%s", (int)(at - rt->pattern), rt->pattern, (long long)id,
			 at + 4);
}

static void check_reply(const struct route *rt, const char *path, const struct fuzz_reply *r)
{
	FUZZ_ASSERT(r->status != 0, "%s %s: no status line in %zu bytes of answer", rt->method, path,
		    r->len);
	FUZZ_ASSERT((r->status >= 200 && r->status < 300) || (r->status >= 400 && r->status < 500) ||
		    r->status == 503, "%s %s answered %d: %.300s", rt->method, path, r->status,
		    r->body ? r->body : "");
	if (r->status == 204 || r->body_len == 0) {
		FUZZ_ASSERT(r->status < 400, "%s %s answered %d with no body", rt->method, path,
			    r->status);
		return;
	}
	json_error_t err;
	json_t *j = json_loadb(r->body, r->body_len, 0, &err);
	FUZZ_ASSERT(j, "%s %s answered %d with a body that is not JSON (%s): %.300s", rt->method,
		    path, r->status, err.text, r->body);
	if (r->status >= 400) {
		json_t *e = json_object_get(j, "error");
		FUZZ_ASSERT(json_is_string(json_object_get(e, "code")) &&
			    json_is_string(json_object_get(e, "message")),
			    "%s %s answered %d without {\"error\": {\"code\", \"message\"}}: %.300s",
			    rt->method, path, r->status, r->body);
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t IDS[8] = { 1, 2, 3, 4, 5, 6, 7, 999999999 };
	if (size < 2)
		return 0;
	const struct route *rt = pick_route(data[0]);
	uint8_t opt = data[1];
	char path[256], headers[512] = "";
	size_t hl = 0;
	route_path(rt, IDS[opt & 7], path, sizeof path);
	if (!(opt & 0x10))
		hl += (size_t)snprintf(headers + hl, sizeof headers - hl, "Content-Type: %s\r\n",
				       opt & 0x08 ? "application/x-ndjson" : "application/json");
	bool admin = rt->role == ROLE_ADMIN;
	if (rt->role != ROLE_NONE && !(opt & 0x60))
		hl += (size_t)snprintf(headers + hl, sizeof headers - hl, "Authorization: Bearer %s\r\n",
				       admin ? FUZZ_ADMIN_TOKEN : FUZZ_RATER_TOKEN);
	else if (opt & 0x60)
		hl += (size_t)snprintf(headers + hl, sizeof headers - hl,
				       "Cookie: rlhfd_session=%s\r\nX-CSRF-Token: %s\r\n",
				       admin ? FUZZ_ADMIN_SID : FUZZ_RATER_SID,
				       opt & 0x40 ? "wrong" : admin ? FUZZ_ADMIN_CSRF : FUZZ_RATER_CSRF);
	fuzz_server_reset();
	int64_t version = fuzz_data_version();
	struct fuzz_reply r;
	fuzz_http(rt->method, path, headers, data + 2, size - 2, false, &r);
	check_reply(rt, path, &r);
	FUZZ_ASSERT(r.status < 400 || fuzz_data_version() == version,
		    "%s %s answered %d but changed the database: %.300s", rt->method, path, r.status,
		    r.body);
	fuzz_reply_free(&r);
	return 0;
}
