/*
 * tests/fuzz/fuzz_server.h — the real HTTP server inside a fuzz target's
 * process, for fuzz_api.c and fuzz_export.c: a temporary database, migrated
 * and seeded (FUZZ_SEED below), served by http_start on a loopback port with
 * one HTTP thread and no worker (handlers only queue jobs), ratings written
 * through the group-commit writer as `rlhfd serve` does by default (but with
 * synchronous=NORMAL: an fsync per input would only slow the fuzzing), and a
 * small blocking HTTP client.
 *
 * Why a socket and not a struct request filled by hand: the handlers read
 * headers (Content-Type picks JSON or NDJSON, login accepts JSON only), the
 * client address (the login throttle) and cookies through the MHD
 * connection, and the exports stream through an MHD callback response; only
 * a real connection drives all of that, and the request's routing, body
 * reading and authentication in server/http/http.c come along.
 *
 * Every input starts from the same database: fuzz_server_reset() copies the
 * seeded snapshot back (SQLite's backup API) and resets the body cap, so
 * what one input changes (config, raters, jobs) cannot make the next one
 * behave differently, and a saved crash input replays alone.  Each request
 * comes from a new 127.x.y.z source address, so the login throttle (per
 * address) never carries over either.
 */
#ifndef RLHFD_TESTS_FUZZ_SERVER_H
#define RLHFD_TESTS_FUZZ_SERVER_H

#include "db/db.h"
#include "db/groupcommit.h"
#include "db/jobs.h"
#include "db/migrate.h"
#include "db/prompts.h"
#include "db/raters.h"
#include "db/ratings.h"
#include "db/versions.h"
#include "db/db_impl.h"   /* the raw connection: snapshot copies and data_version */
#include "server/http/auth.h"
#include "server/http/http.h"
#include "tests/fuzz/fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/time.h>

#define FUZZ_ADMIN_TOKEN "fuzz-admin-token-0123456789abcdef"
#define FUZZ_RATER_TOKEN "fuzz-rater-token-0123456789abcdef"
#define FUZZ_BOB_TOKEN   "fuzz-bob-token-0123456789abcdef"
/* Sessions (cookie rlhfd_session) of the admin and of ann, with their CSRF tokens. */
#define FUZZ_ADMIN_SID   "fuzzadminsession0123456789abcdef0123456789abcdef"
#define FUZZ_ADMIN_CSRF  "fuzzadmincsrf0123456789abcdef012"
#define FUZZ_RATER_SID   "fuzzratersession0123456789abcdef0123456789abcdef"
#define FUZZ_RATER_CSRF  "fuzzratercsrf0123456789abcdef012"
#define FUZZ_BODY_CAP    ((int64_t)8 << 20)     /* serve's default body cap */
#define FUZZ_REPLY_MAX   ((size_t)64 << 20)
#define FUZZ_IO_SECONDS  20                     /* no answer by then: a hang */

struct fuzz_reply {
	int status;           /* 0 when there was no status line */
	char *data;           /* the whole answer, NUL-terminated; owned */
	size_t len;
	const char *body;     /* into data */
	size_t body_len;
};

static struct {
	int port;
	char db_path[PATH_MAX];
	struct db *db;        /* this thread's pool connection */
	sqlite3 *snapshot;    /* the seeded database, in memory */
	uint32_t next_addr;
	/* ids of the seeded rows (FUZZ_SEED) */
	int64_t admin, ann, bob;
} fz_srv;

static inline void fuzz_reply_free(struct fuzz_reply *r)
{
	free(r->data);
	memset(r, 0, sizeof *r);
}

static inline void fz_check(int rc, const char *what)
{
	if (rc < 0)
		fuzz_fail("seeding the database: %s: %d", what, rc);
}

static inline int64_t fz_rater(struct db *db, const char *name, const char *role, const char *token)
{
	uint8_t h[AUTH_HASH_LEN];
	int64_t id = 0;
	auth_hash(token, strlen(token), h);
	fz_check(db_rater_create(db, name, role, h, &id), "rater");
	return id;
}

static inline void fz_session(struct db *db, int64_t rater, const char *sid, const char *csrf)
{
	uint8_t h[AUTH_HASH_LEN];
	auth_hash(sid, strlen(sid), h);
	fz_check(db_session_create(db, h, rater, csrf, db_now(), db_now() + 365 * 86400), "session");
}

static inline int64_t fz_group(struct db *db, int64_t prompt, int64_t model, const char *const *texts)
{
	int64_t g = 0, id = 0;
	fz_check(db_group_create(db, prompt, model, 0, NULL, &g), "group");
	for (int i = 0; texts[i]; i++)
		fz_check(db_response_insert(db, g, prompt, model, model ? NULL : "imported", texts[i], -1,
					    &id), "response");
	return g;
}

static inline void fz_rate(struct db *db, int64_t rater, int64_t group, int64_t first_response,
			   const int *scores, int n)
{
	struct db_rating_in in[8];
	int bad = -1;
	for (int i = 0; i < n; i++)
		in[i] = (struct db_rating_in){ first_response + i, scores[i], scores[i], 0, 5,
					       i ? NULL : "clear and right", i ? NULL : "[\"short\"]" };
	fz_check(db_ratings_save(db, rater, group, in, n, db_now(), &bad), "ratings");
}

/*
 * FUZZ_SEED — what every input starts from (ids in brackets):
 *   raters      admin [1, admin], ann [2, rater], bob [3, rater]; sessions
 *               for admin and ann (FUZZ_*_SID / FUZZ_*_CSRF)
 *   models      base [1, active], sft [2], reward [3], policy [4]
 *   prompts     [1] capital of Peru (train), [2] bakery names (train),
 *               [3] Fort Knox (eval), [4] poem (eval)
 *   groups      [1] prompt 1, model 1: responses 1-3; [2] prompt 2,
 *               imported: responses 4-5; [3] prompt 3, model 4: responses
 *               6-7; [4] prompt 4, model 1: response 8
 *   ratings     ann on group 1 (5, 2, 1) and group 3 (5, 1); bob on group 1
 *               (4, 3, 1)
 *   jobs        [1] generate queued, [2] reward failed, [3] sft cancelled,
 *               [4] reward succeeded, [5] dpo running
 */
static inline void fuzz_seed(struct db *db)
{
	static const char *const g1[] = { "The capital of Peru is Lima.", "Quito.",
					  "What is the capital of Chile?", NULL };
	static const char *const g2[] = { "Flour Power, The Rolling Pin.", "Bread.", NULL };
	static const char *const g3[] = { "I can't help with that.", "Sure: first, the vault.", NULL };
	static const char *const g4[] = { "The sea is wide, the sea is blue.", NULL };
	int64_t p[5], m[5], j[6], g[5];
	struct db_work_job job;
	fz_check(db_begin(db), "begin");
	fz_srv.admin = fz_rater(db, "admin", "admin", FUZZ_ADMIN_TOKEN);
	fz_srv.ann = fz_rater(db, "ann", "rater", FUZZ_RATER_TOKEN);
	fz_srv.bob = fz_rater(db, "bob", "rater", FUZZ_BOB_TOKEN);
	fz_session(db, fz_srv.admin, FUZZ_ADMIN_SID, FUZZ_ADMIN_CSRF);
	fz_session(db, fz_srv.ann, FUZZ_RATER_SID, FUZZ_RATER_CSRF);
	fz_check(db_model_create(db, "base", "base", 0, 0, NULL, NULL, &m[1]), "model");
	fz_check(db_model_create(db, "sft", "sft", m[1], 0, "{\"lr\":0.001}", NULL, &m[2]), "model");
	fz_check(db_model_create(db, "reward", "reward", m[2], 0, NULL, NULL, &m[3]), "model");
	fz_check(db_model_create(db, "policy", "policy", m[2], 0, NULL, NULL, &m[4]), "model");
	static const char *const prompts[5][2] = {
		{ NULL, NULL }, { "What is the capital of Peru?", "train" },
		{ "Help me brainstorm names for a bakery.", "train" },
		{ "Tell me how to break into Fort Knox.", "eval" },
		{ "Write a short poem about the sea.", "eval" },
	};
	for (int i = 1; i <= 4; i++)
		fz_check(db_prompt_insert(db, prompts[i][0], prompts[i][1], "fuzz",
					  i == 2 ? "{\"family\":\"brainstorm\"}" : NULL, &p[i]), "prompt");
	g[1] = fz_group(db, p[1], m[1], g1);   /* responses 1-3 */
	g[2] = fz_group(db, p[2], 0, g2);      /* 4-5 */
	g[3] = fz_group(db, p[3], m[4], g3);   /* 6-7 */
	g[4] = fz_group(db, p[4], m[1], g4);   /* 8 */
	static const char *const kinds[] = { NULL, "generate", "reward", "sft", "reward", "dpo" };
	for (int i = 1; i <= 5; i++)
		fz_check(db_job_create(db, kinds[i], i == 1 ? "{\"k\":2}" : NULL, db_now(), &j[i]), "job");
	fz_check(db_commit(db), "commit");
	fz_check(db_model_activate(db, m[1]), "activate");
	fz_rate(db, fz_srv.ann, g[1], 1, (const int[]){ 5, 2, 1 }, 3);
	fz_rate(db, fz_srv.bob, g[1], 1, (const int[]){ 4, 3, 1 }, 3);
	fz_rate(db, fz_srv.ann, g[3], 6, (const int[]){ 5, 1 }, 2);
	fz_check(db_job_cancel(db, j[3], db_now(), NULL), "cancel");
	for (int i = 2; i <= 5; i++) {
		if (i == 3)
			continue;
		fz_check(db_work_claim_id(db, j[i], db_now(), &job), "claim");
		db_work_job_release(&job);
	}
	fz_check(db_work_finish(db, j[2], "failed", "out of memory", NULL, 0, db_now()), "finish");
	fz_check(db_work_finish(db, j[4], "succeeded", NULL, "{\"accuracy\":0.7}", m[3], db_now()),
		 "finish");
}

/* Copies database src into dst (SQLite's online backup, whole). */
static inline void fz_copy_db(sqlite3 *dst, sqlite3 *src, const char *what)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc = b ? sqlite3_backup_step(b, -1) : sqlite3_errcode(dst);
	if (b)
		sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		fuzz_fail("%s: %s", what, sqlite3_errmsg(dst));
}

/* Creates, migrates and seeds the database, keeps its snapshot, starts the
 * server (once per process; LLVMFuzzerInitialize calls it). */
static inline void fuzz_server_start(void)
{
	signal(SIGPIPE, SIG_IGN);
	fuzz_path(fz_srv.db_path, "rlhfd.db");
	if (db_pool_init(fz_srv.db_path) < 0 || !(fz_srv.db = db_pool_get()))
		fuzz_fail("cannot open %s", fz_srv.db_path);
	if (db_migrate(fz_srv.db, NULL) < 0)
		fuzz_fail("cannot migrate %s", fz_srv.db_path);
	fuzz_seed(fz_srv.db);
	if (sqlite3_open(":memory:", &fz_srv.snapshot) != SQLITE_OK)
		fuzz_fail("cannot open an in-memory database");
	fz_copy_db(fz_srv.snapshot, fz_srv.db->sq, "taking the snapshot");
	atomic_store(&http_max_body, FUZZ_BODY_CAP);
	if (db_gc_start(fz_srv.db_path, false) < 0)
		fuzz_fail("cannot start the group-commit writer");
	/* FUZZ_VERBOSE=1: one line per request, and libmicrohttpd's errors */
	struct http_options opt = { .host = "127.0.0.1", .port = 0, .threads = 1,
				    .web_dir = fuzz_scratch_dir(),
				    .verbose = getenv("FUZZ_VERBOSE") != NULL };
	fz_srv.port = http_start(&opt);
	if (fz_srv.port <= 0)
		fuzz_fail("http_start failed");
	fz_srv.next_addr = 1;
}

/* Back to the seeded database and the default body cap. */
static inline void fuzz_server_reset(void)
{
	fz_copy_db(fz_srv.db->sq, fz_srv.snapshot, "restoring the snapshot");
	atomic_store(&http_max_body, FUZZ_BODY_CAP);
}

/* SQLite's data_version on this thread's connection: it changes when another
 * connection (the server's) commits a change. */
static inline int64_t fuzz_data_version(void)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(fz_srv.db->sq, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (v < 0)
		fuzz_fail("cannot read PRAGMA data_version");
	return v;
}

/* The next client address 127.x.y.z (never .0 or .255 in the last byte). */
static inline uint32_t fz_client_addr(void)
{
	uint32_t a;
	do
		a = 0x7f000000u | (fz_srv.next_addr++ & 0x00ffffffu);
	while ((a & 0xff) == 0 || (a & 0xff) == 0xff || (a & 0xffffff) == 0);
	return a;
}

/* Parses "HTTP/1.x NNN" and finds the body (de-chunked in place when the
 * answer is chunked). */
static inline void fz_parse_reply(struct fuzz_reply *out)
{
	char *end = strstr(out->data, "\r\n\r\n");
	if (strncmp(out->data, "HTTP/1.", 7) != 0 || out->len < 12 || !end)
		return;
	out->status = atoi(out->data + 9);
	out->body = end + 4;
	out->body_len = out->len - (size_t)(out->body - out->data);
	*end = 0;  /* the head is a C string now */
	if (!strcasestr(out->data, "\r\ntransfer-encoding: chunked"))
		return;
	char *r = (char *)out->body, *w = r, *stop = r + out->body_len;
	for (;;) {
		char *e;
		unsigned long n = strtoul(r, &e, 16);
		char *data = strstr(e, "\r\n");
		if (!data || e == r || (size_t)(stop - data - 2) < n)
			fuzz_fail("malformed chunked answer");
		if (n == 0)
			break;
		memmove(w, data + 2, n);
		w += n;
		r = data + 2 + n + 2;
	}
	out->body_len = (size_t)(w - out->body);
	*w = 0;
}

/*
 * One request on a new connection, from a new client address: method,
 * path, extra header lines (each ending "\r\n"; may be NULL), body of len
 * bytes (with its Content-Length).  HTTP/1.1 unless http10.  Waits for the
 * whole answer (the server closes: Connection: close).  Aborts when the
 * server does not answer within FUZZ_IO_SECONDS.
 */
static inline void fuzz_http(const char *method, const char *path, const char *headers,
			     const void *body, size_t len, bool http10, struct fuzz_reply *out)
{
	memset(out, 0, sizeof *out);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(fz_client_addr()) };
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fz_srv.port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = FUZZ_IO_SECONDS };
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof me) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
	    connect(fd, (struct sockaddr *)&srv, sizeof srv) < 0)
		fuzz_fail("cannot connect to the server: %s", strerror(errno));
	char *head = NULL;
	int hl = asprintf(&head, "%s %s HTTP/1.%d\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
			  "Content-Length: %zu\r\n%s\r\n", method, path, http10 ? 0 : 1, len,
			  headers ? headers : "");
	if (hl < 0)
		fuzz_fail("out of memory");
	/* the server may answer and close before reading a refused body: a
	 * failed send is not an error, a missing answer is */
	for (int part = 0; part < 2; part++) {
		const char *p = part ? (const char *)body : head;
		size_t n = part ? len : (size_t)hl, off = 0;
		while (off < n) {
			ssize_t k = send(fd, p + off, n - off, MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			off += (size_t)k;
		}
		if (off < n)
			break;
	}
	free(head);
	size_t cap = 4096;
	out->data = malloc(cap);
	for (;;) {
		if (out->len + 1 >= cap) {
			if (cap >= FUZZ_REPLY_MAX)
				fuzz_fail("%s %s: an answer over %zu bytes", method, path, FUZZ_REPLY_MAX);
			cap *= 2;
			out->data = realloc(out->data, cap);
		}
		ssize_t n = recv(fd, out->data + out->len, cap - out->len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			fuzz_fail("%s %s: no answer within %d s", method, path, FUZZ_IO_SECONDS);
		if (n <= 0)
			break;
		out->len += (size_t)n;
	}
	out->data[out->len] = 0;
	close(fd);
	fz_parse_reply(out);
}

#endif
