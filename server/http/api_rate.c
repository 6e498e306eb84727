/*
 * server/http/api_rate.c — what raters do: get the next task, skip it, rate,
 * and read back what they rated (undo and "previous" on the rate page).
 */
#include "server/http/api.h"
#include "server/http/metrics.h"
#include "db/db.h"
#include "db/groupcommit.h"
#include "db/mine.h"
#include "db/ratings.h"
#include "db/tasks.h"
#include "model/rng.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RATINGS 1000          /* per request; more than any group has answers */
#define MAX_COMMENT 20000         /* bytes */
#define MAX_FLAGS 50
#define MAX_FLAG_LEN 200
#define MAX_EXCLUDE 4             /* ?exclude= ids: a rater holds at most 5 leases */

void api_shuffle(json_t *arr, uint64_t seed)
{
	size_t n = json_array_size(arr);
	uint64_t state = seed;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_splitmix64(&state) % i);
		if (j == i - 1)
			continue;
		json_t *a = json_incref(json_array_get(arr, i - 1));
		json_t *b = json_incref(json_array_get(arr, j));
		json_array_set_new(arr, i - 1, b);
		json_array_set_new(arr, j, a);
	}
}

/* ?exclude=<group id>[,<group id>...] as a JSON array in buf; false after
 * setting r->err_* when it is not a list of ids. */
static bool exclude_parse(struct request *r, char *buf, size_t n)
{
	const char *arg = http_arg(r, "exclude");
	size_t len = snprintf(buf, n, "[");
	int count = 0;
	while (arg && *arg) {
		char id[24];
		size_t k = strcspn(arg, ",");
		int64_t v;
		if (k == 0 || k >= sizeof id || ++count > MAX_EXCLUDE)
			return http_bad_field(r, "exclude", "query parameter 'exclude' must be up to %d "
					      "group ids separated by commas", MAX_EXCLUDE);
		memcpy(id, arg, k);
		id[k] = 0;
		if (!http_parse_id(id, INT64_MAX, &v))
			return http_bad_field(r, "exclude", "query parameter 'exclude' must be up to %d "
					      "group ids separated by commas", MAX_EXCLUDE);
		len += snprintf(buf + len, n - len, "%s%lld", count > 1 ? "," : "", (long long)v);
		arg += k;
		if (*arg == ',')
			arg++;
	}
	snprintf(buf + len, n - len, "]");
	return true;
}

/*
 * The task's kind: the prompt's, else the config's task_kind.  A group of one
 * answer has nothing to order and is scored.  A pair task shows two answers:
 * the first two of the rater's shuffled order, so a reload shows the same two
 * and other raters of the group see other pairs; "pair" names them, A first,
 * and "responses" holds just those two.
 */
static void task_kind_fill(struct request *r, json_t *task)
{
	json_t *resp = json_object_get(task, "responses");
	const char *kind = json_string_value(json_object_get(task, "task_kind"));
	if (!kind)
		kind = api_task_kind_default(r->db);
	if (json_array_size(resp) < 2)
		kind = "score";
	/* decided before the set: a prompt's own kind is the string it replaces */
	bool pair = strcmp(kind, "pair") == 0;
	json_object_set_new(task, "task_kind", json_string(kind));
	if (!pair)
		return;
	while (json_array_size(resp) > 2)
		json_array_remove(resp, json_array_size(resp) - 1);
	json_object_set_new(task, "pair", json_pack("[OO]",
		json_object_get(json_array_get(resp, 0), "id"),
		json_object_get(json_array_get(resp, 1), "id")));
}

/*
 * The queue's order for one request (config queue_order): with "uncertain"
 * (or "auto", which the database resolves) a random draw decides with
 * probability queue_random_share that this request takes a random group, and
 * where on the pick-key circle it starts.  Each HTTP thread draws from its own
 * splitmix64 stream, seeded from the clock and the thread.
 */
static int queue_of(struct request *r, struct db_queue *q)
{
	static _Thread_local uint64_t state;
	int order;
	double share;
	int rc = api_config_queue(r->db, &order, &share);
	if (rc < 0)
		return rc;
	if (!state) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		state = ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^
			(uint64_t)(uintptr_t)&state;
	}
	uint64_t u = rng_splitmix64(&state);
	q->order = order == 0 ? DB_QUEUE_FIFO : order == 1 ? DB_QUEUE_UNCERTAIN : DB_QUEUE_AUTO;
	/* the top 53 bits as a uniform double in [0, 1), the low 32 as the key */
	q->random = order != 0 && (double)(u >> 11) * 0x1.0p-53 < share;
	q->random_key = (int64_t)(u & 0xffffffffULL);
	return 0;
}

enum MHD_Result api_task_next(struct request *r)
{
	int per_group, lease;
	struct db_queue q;
	json_t *task = NULL;
	char exclude[MAX_EXCLUDE * 24 + 4];
	if (!exclude_parse(r, exclude, sizeof exclude))
		return http_invalid(r);
	int rc = api_config_ints(r->db, &per_group, &lease);
	if (rc < 0)
		return http_db_error(r, rc, "config");
	if ((rc = queue_of(r, &q)) < 0)
		return http_db_error(r, rc, "config");
	rc = db_task_next_ordered(r->db, r->rater.id, db_now(), per_group, lease, exclude, &q, &task);
	if (rc == DB_NOTFOUND)
		return http_empty(r, 204);
	if (rc < 0)
		return http_db_error(r, rc, "task");
	/* the order is fixed per (rater, group), so a reload shows the same one */
	int64_t group = json_integer_value(json_object_get(task, "group_id"));
	api_shuffle(json_object_get(task, "responses"),
		    (uint64_t)r->rater.id * 0x100000001b3ULL ^ (uint64_t)group);
	task_kind_fill(r, task);
	json_t *progress = api_progress(r);
	if (!progress) {
		json_decref(task);
		return http_error(r, 500, "internal", "database error");
	}
	return http_json(r, 200, json_pack("{so so}", "task", task, "progress", progress));
}

enum MHD_Result api_task_skip(struct request *r)
{
	int rc = db_task_skip(r->db, r->rater.id, r->id, db_now());
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "group %lld not found", (long long)r->id);
	if (rc < 0)
		return http_db_error(r, rc, "skip");
	return http_json(r, 200, json_pack("{sb sI}", "skipped", 1, "group_id", (json_int_t)r->id));
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Checks one entry of "ratings" into *out; flags_json gets a new string. */
static bool rating_parse(struct request *r, json_t *v, int i, struct db_rating_in *out)
{
	char where[32];
	int64_t resp = 0, score = 0, h = 0, o = 0, m = 0;
	snprintf(where, sizeof where, "ratings[%d]", i);
	if (!json_is_object(v))
		return http_bad_field(r, where, "'%s' must be an object", where);
	if (!json_get_int(r, v, "response_id", where, true, 1, INT64_MAX, &resp) ||
	    !json_get_int(r, v, "score", where, true, 1, 5, &score) ||
	    !json_get_int(r, v, "helpful", where, false, 1, 5, &h) ||
	    !json_get_int(r, v, "honest", where, false, 1, 5, &o) ||
	    !json_get_int(r, v, "harmless", where, false, 1, 5, &m) ||
	    !json_get_string(r, v, "comment", where, false, false, MAX_COMMENT, &out->comment))
		return false;
	out->response_id = resp;
	out->score = (int)score;
	out->helpful = (int)h;
	out->honest = (int)o;
	out->harmless = (int)m;
	json_t *flags = json_object_get(v, "flags");
	if (flags && !json_is_null(flags)) {
		char path[48];
		snprintf(path, sizeof path, "%s.flags", where);
		if (!json_is_array(flags) || json_array_size(flags) > MAX_FLAGS)
			return http_bad_field(r, path, "'%s' must be an array of at most %d strings",
					      path, MAX_FLAGS);
		size_t k;
		json_t *f;
		json_array_foreach(flags, k, f)
			if (!json_is_string(f) || json_string_length(f) > MAX_FLAG_LEN)
				return http_bad_field(r, path, "'%s' must hold strings of at most %d bytes",
						      path, MAX_FLAG_LEN);
		out->flags_json = json_dumps(flags, JSON_COMPACT);
		if (!out->flags_json)
			return http_bad_field(r, path, "'%s' cannot be stored", path);
	}
	return true;
}

/* The answer to a save of in[0..n-1] into group that returned rc (and set
 * bad), as db_ratings_save reports it; once the ratings are committed, demo
 * (when not NULL) is stored as the caller's demonstration on the group. */
static enum MHD_Result ratings_answer(struct request *r, int rc, int bad,
				      const struct db_rating_in *in, int n, int64_t group,
				      const char *demo)
{
	if (rc == DB_NOTFOUND && bad >= 0 && bad < n) {
		snprintf(r->err_field, sizeof r->err_field, "ratings[%d].response_id", bad);
		return http_error(r, 404, "not_found", "response %lld not found",
				  (long long)in[bad].response_id);
	}
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "group %lld not found", (long long)group);
	if (rc == DB_INVALID && bad >= 0 && bad < n) {
		char where[48];
		snprintf(where, sizeof where, "ratings[%d].response_id", bad);
		http_bad_field(r, where, "response %lld is not in group %lld",
			       (long long)in[bad].response_id, (long long)group);
		return http_invalid(r);
	}
	if (rc < 0)
		return http_db_error(r, rc, "ratings");
	/* committed: the rating is on disk before the 201 (with --durability
	 * full, flushed to it) */
	metrics_ratings_add(n);
	json_t *ans = json_pack("{si sI}", "saved", n, "group_id", (json_int_t)group);
	if (demo) {
		/* after the ratings' commit, in a transaction of its own: a database
		 * failure here (the group exists: the save found it) leaves the
		 * ratings saved and answers 5xx */
		int64_t id;
		if ((rc = api_demonstration_store(r, group, demo, &id)) < 0) {
			json_decref(ans);
			return http_db_error(r, rc, "demonstration");
		}
		json_object_set_new(ans, "demonstration_id", json_integer(id));
	}
	return http_json(r, 201, ans);
}

static void ratings_free(json_t *body, struct db_rating_in *in, int n)
{
	for (int i = 0; in && i < n; i++)
		free((char *)in[i].flags_json);
	free(in);
	json_decref(body);
}

/* ---- rank and pair judgements ---------------------------------------------- */

/* A parsed judgement: what db_order_save takes, and where in the body each
 * item came from (for the error's field). */
struct order_req {
	struct db_order_in o;
	struct db_order_item *items;
	char (*where)[32];
};

static enum MHD_Result order_answer(struct request *r, int rc, int bad, int64_t missing,
				    const struct order_req *q, int64_t group);

static void order_free(struct order_req *q)
{
	if (!q)
		return;
	free(q->items);
	free(q->where);
	free(q);
}

static struct order_req *order_new(int n)
{
	struct order_req *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	q->items = calloc(n ? n : 1, sizeof *q->items);
	q->where = calloc(n ? n : 1, sizeof *q->where);
	if (!q->items || !q->where) {
		order_free(q);
		return NULL;
	}
	q->o.items = q->items;
	return q;
}

/*
 * A save handed to the group-commit writer (--durability full, the default:
 * db/groupcommit.h).  The request's connection is suspended while it waits,
 * so the HTTP thread goes on serving; the writer resumes it once the batch
 * holding the save is committed and flushed, and ratings_resumed answers.
 * With a thread per connection the handler's own thread waits instead.
 * The parsed ratings and the body their strings point into live here until
 * then.
 */
struct rating_wait {
	struct db_ratings_job job;      /* first: the writer hands back &job.op */
	struct request *r;
	json_t *body;
	struct db_rating_in *in;
	const char *demo;               /* "demonstration" (in body) or NULL */
	struct order_req *order;        /* a rank / pair judgement instead of in */
	bool suspended;                 /* else the handler's thread waits on cond */
	bool finished;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void rating_wait_free(void *arg)
{
	struct rating_wait *w = arg;
	order_free(w->order);
	ratings_free(w->body, w->in, w->job.n);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

/* On the writer thread: the outcome is final. */
static void ratings_committed(struct db_gc_op *op)
{
	struct rating_wait *w = (struct rating_wait *)op;
	if (w->suspended) {
		http_resume(w->r);
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->finished = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static enum MHD_Result ratings_resumed(struct request *r)
{
	struct rating_wait *w = r->ctx;
	r->ctx = NULL;
	enum MHD_Result ret = w->order ?
		order_answer(r, w->job.op.rc, w->job.bad_index, w->job.missing, w->order,
			     w->job.group_id) :
		ratings_answer(r, w->job.op.rc, w->job.bad_index, w->in, w->job.n,
			       w->job.group_id, w->demo);
	rating_wait_free(w);
	return ret;
}

/* Takes over body, in and order (freed whatever happens); order set: a
 * judgement, in NULL. */
static enum MHD_Result ratings_group_commit(struct request *r, json_t *body,
					    struct db_rating_in *in, int n, int64_t group,
					    struct order_req *order, const char *demo)
{
	struct rating_wait *w = calloc(1, sizeof *w);
	if (!w) {
		order_free(order);
		ratings_free(body, in, n);
		return http_error(r, 500, "internal", "out of memory");
	}
	w->job.rater_id = r->rater.id;
	w->job.group_id = group;
	w->job.now = db_now();
	w->job.in = in;
	w->job.n = n;
	w->job.order = order ? &order->o : NULL;
	w->order = order;
	w->r = r;
	w->body = body;
	w->in = in;
	w->demo = demo;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	r->ctx = w;
	r->ctx_free = rating_wait_free;
	/* suspended before it is queued: the writer may resume it at once */
	w->suspended = http_suspend(r, ratings_resumed);
	db_ratings_submit(&w->job, ratings_committed);
	if (w->suspended)
		return MHD_YES;
	pthread_mutex_lock(&w->lock);
	while (!w->finished)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return ratings_resumed(r);
}

/* One answer id at path (an integer >= 1); false after setting the error. */
static bool order_id(struct request *r, json_t *v, const char *path, int64_t *id)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return http_bad_field(r, path, "'%s' must be an answer id", path);
	*id = json_integer_value(v);
	return true;
}

/* Adds item (id, place, level) unless the id is already placed. */
static bool order_add(struct request *r, struct order_req *q, int64_t id, int place, int level,
		      const char *path)
{
	for (int i = 0; i < q->o.n; i++)
		if (q->items[i].response_id == id)
			return http_bad_field(r, path, "response %lld is placed twice", (long long)id);
	q->items[q->o.n] = (struct db_order_item){ .response_id = id, .place = place, .level = level };
	snprintf(q->where[q->o.n], sizeof q->where[0], "%s", path);
	q->o.n++;
	return true;
}

/*
 * "ranking": the group's answers best first, each entry an answer id or an
 * array of ids that tie: [[3], [5, 6], 4] or [3, [5, 6], 4].  Tier t (0-based)
 * of T gets place t + 1 and level T - t.
 */
static struct order_req *ranking_parse(struct request *r, json_t *v)
{
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > MAX_RATINGS) {
		http_bad_field(r, "ranking", "'ranking' must be an array of 1 to %d answer ids or "
			       "arrays of tied answer ids, best first", MAX_RATINGS);
		return NULL;
	}
	int tiers = (int)json_array_size(v), n = 0;
	size_t t, k;
	json_t *e, *x;
	json_array_foreach(v, t, e)
		n += json_is_array(e) ? (int)json_array_size(e) : 1;
	if (n > MAX_RATINGS) {
		http_bad_field(r, "ranking", "'ranking' may place at most %d answers", MAX_RATINGS);
		return NULL;
	}
	struct order_req *q = order_new(n);
	if (!q) {
		http_bad_field(r, "ranking", "out of memory");
		return NULL;
	}
	q->o.kind = "rank";
	json_array_foreach(v, t, e) {
		char path[32];
		int64_t id = 0;
		snprintf(path, sizeof path, "ranking[%d]", (int)t);
		if (json_is_array(e) && json_array_size(e) == 0) {
			http_bad_field(r, path, "'%s' must not be empty", path);
			goto fail;
		}
		if (!json_is_array(e)) {
			if (!order_id(r, e, path, &id) ||
			    !order_add(r, q, id, (int)t + 1, tiers - (int)t, path))
				goto fail;
			continue;
		}
		json_array_foreach(e, k, x) {
			char sub[32];
			snprintf(sub, sizeof sub, "ranking[%d][%d]", (int)t, (int)k);
			if (!order_id(r, x, sub, &id) ||
			    !order_add(r, q, id, (int)t + 1, tiers - (int)t, sub))
				goto fail;
		}
	}
	return q;
fail:
	order_free(q);
	return NULL;
}

/*
 * "pair": {"a": id, "b": id, "verdict": "a" | "b" | "tie" | "both_bad",
 * "strength": 1..3}: strength is required for a / b and refused otherwise.
 * A is place 1, B place 2; the preferred one has level = strength, the other
 * 0; a tie and "both bad" put both at 0.
 */
static struct order_req *pair_parse(struct request *r, json_t *v)
{
	static const char *const VERDICTS[] = { "a", "b", "tie", "both_bad", NULL };
	int64_t a = 0, b = 0, strength = 0;
	const char *verdict = NULL;
	if (!json_is_object(v)) {
		http_bad_field(r, "pair", "'pair' must be an object {\"a\", \"b\", \"verdict\", "
			       "\"strength\"}");
		return NULL;
	}
	if (!json_get_int(r, v, "a", "pair", true, 1, INT64_MAX, &a) ||
	    !json_get_int(r, v, "b", "pair", true, 1, INT64_MAX, &b) ||
	    !json_get_enum(r, v, "verdict", "pair", true, VERDICTS, &verdict))
		return NULL;
	bool prefers = strcmp(verdict, "a") == 0 || strcmp(verdict, "b") == 0;
	json_t *st = json_object_get(v, "strength");
	if (prefers && !json_get_int(r, v, "strength", "pair", true, 1, 3, &strength))
		return NULL;
	if (!prefers && st && !json_is_null(st)) {
		http_bad_field(r, "pair.strength", "'pair.strength' is only for verdict 'a' or 'b', "
			       "not '%s'", verdict);
		return NULL;
	}
	if (a == b) {
		http_bad_field(r, "pair.b", "'pair.a' and 'pair.b' must be two different answers");
		return NULL;
	}
	struct order_req *q = order_new(2);
	if (!q) {
		http_bad_field(r, "pair", "out of memory");
		return NULL;
	}
	q->o.kind = "pair";
	q->o.verdict = verdict;
	q->o.strength = (int)strength;
	int la = strcmp(verdict, "a") == 0 ? (int)strength : 0;
	int lb = strcmp(verdict, "b") == 0 ? (int)strength : 0;
	order_add(r, q, a, 1, la, "pair.a");
	order_add(r, q, b, 2, lb, "pair.b");
	return q;
}

/* The answer to db_order_save's rc (bad, missing as it set them). */
static enum MHD_Result order_answer(struct request *r, int rc, int bad, int64_t missing,
				    const struct order_req *q, int64_t group)
{
	if (rc == DB_NOTFOUND && bad >= 0 && bad < q->o.n) {
		snprintf(r->err_field, sizeof r->err_field, "%s", q->where[bad]);
		return http_error(r, 404, "not_found", "response %lld not found",
				  (long long)q->items[bad].response_id);
	}
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "group %lld not found", (long long)group);
	if (rc == DB_INVALID && bad >= 0 && bad < q->o.n) {
		http_bad_field(r, q->where[bad], "response %lld is not in group %lld",
			       (long long)q->items[bad].response_id, (long long)group);
		return http_invalid(r);
	}
	if (rc == DB_INVALID && missing > 0) {
		http_bad_field(r, "ranking", "response %lld of group %lld is not ranked: a ranking "
			       "places every answer of the group", (long long)missing, (long long)group);
		return http_invalid(r);
	}
	if (rc < 0)
		return http_db_error(r, rc, "ratings");
	return http_json(r, 201, json_pack("{si sI ss}", "saved", q->o.n, "group_id",
					   (json_int_t)group, "kind", q->o.kind));
}

/* POST /api/ratings with "ranking" or "pair" (see api_ratings_create).
 * Takes over body. */
static enum MHD_Result order_create(struct request *r, json_t *body, int64_t group)
{
	json_t *rk = json_object_get(body, "ranking");
	struct order_req *q = rk ? ranking_parse(r, rk) : pair_parse(r, json_object_get(body, "pair"));
	if (!q) {
		json_decref(body);
		return http_invalid(r);
	}
	if (db_gc_running())
		return ratings_group_commit(r, body, NULL, 0, group, q, NULL);
	int bad = -1;
	int64_t missing = 0;
	int rc = db_order_save(r->db, r->rater.id, group, &q->o, db_now(), &bad, &missing);
	enum MHD_Result ret = order_answer(r, rc, bad, missing, q, group);
	order_free(q);
	json_decref(body);
	return ret;
}

/*
 * POST /api/ratings (rater) — one of:
 *   {"group_id", "ratings": [{"response_id", "score", ...}]}     scores 1-5
 *   {"group_id", "ranking": [id | [id, ...], ...]}                 best first, ties in arrays
 *   {"group_id", "pair": {"a", "b", "verdict", "strength"}}        A / B / tie / both_bad
 * 201 {"saved", "group_id"} (plus "kind" for a ranking or a pair).  A new
 * judgement of the same kind replaces the caller's previous one in the group.
 */
enum MHD_Result api_ratings_create(struct request *r)
{
	json_t *body = http_body_object(r);
	struct db_rating_in *in = NULL;
	int64_t group = 0, *ids = NULL;
	int n = 0, bad = -1, rc;
	const char *demo = NULL;
	enum MHD_Result ret;

	if (!body)
		return http_error(r, 400, "bad_json", "%s", r->err_msg);
	if (!json_get_int(r, body, "group_id", NULL, true, 1, INT64_MAX, &group) ||
	    !api_demonstration_field(r, body, &demo))
		goto out_invalid;
	int given = !!json_object_get(body, "ratings") + !!json_object_get(body, "ranking") +
		    !!json_object_get(body, "pair");
	if (given > 1) {
		http_bad_field(r, "ratings", "give one of 'ratings', 'ranking' and 'pair'");
		goto out_invalid;
	}
	if (demo && (json_object_get(body, "ranking") || json_object_get(body, "pair"))) {
		http_bad_field(r, "demonstration", "'demonstration' goes alone or with 'ratings'; "
			       "with a ranking or pair, send it to POST /api/demonstrations");
		goto out_invalid;
	}
	if (json_object_get(body, "ranking") || json_object_get(body, "pair"))
		return order_create(r, body, group);
	json_t *list = json_object_get(body, "ratings");
	if (demo && (!list || json_is_null(list))) {
		/* a demonstration alone (API.md): no rating saved */
		int64_t id;
		rc = api_demonstration_store(r, group, demo, &id);
		ret = rc == DB_NOTFOUND ?
			http_error(r, 404, "not_found", "group %lld not found", (long long)group) :
			rc < 0 ? http_db_error(r, rc, "demonstration") :
			http_json(r, 201, json_pack("{si sI sI}", "saved", 0, "group_id", (json_int_t)group,
						    "demonstration_id", (json_int_t)id));
		json_decref(body);
		return ret;
	}
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > MAX_RATINGS) {
		http_bad_field(r, "ratings", "'ratings' must be an array of 1 to %d ratings", MAX_RATINGS);
		goto out_invalid;
	}
	n = (int)json_array_size(list);
	in = calloc(n, sizeof *in);
	ids = malloc(n * sizeof *ids);
	if (!in || !ids) {
		ret = http_error(r, 500, "internal", "out of memory");
		goto out_free;
	}
	for (int i = 0; i < n; i++) {
		if (!rating_parse(r, json_array_get(list, i), i, &in[i]))
			goto out_invalid;
		ids[i] = in[i].response_id;
	}
	qsort(ids, n, sizeof *ids, cmp_id);
	for (int i = 1; i < n; i++)
		if (ids[i] == ids[i - 1]) {
			http_bad_field(r, "ratings", "response %lld is rated twice in one request",
				       (long long)ids[i]);
			goto out_invalid;
		}
	free(ids);

	/* what the request says is checked; what the database holds (the group,
	 * its answers) is checked by the save, in its transaction */
	if (db_gc_running())
		return ratings_group_commit(r, body, in, n, group, NULL, demo);
	rc = db_ratings_save(r->db, r->rater.id, group, in, n, db_now(), &bad);
	ret = ratings_answer(r, rc, bad, in, n, group, demo);
	ratings_free(body, in, n);
	return ret;

out_invalid:
	ret = http_invalid(r);
out_free:
	ratings_free(body, in, n);
	free(ids);
	return ret;
}

/*
 * GET /api/ratings/mine?limit=&before= (rater) — the caller's recently rated
 * groups, newest first (the group whose current rating is the latest leads;
 * re-rating a group moves it to the front):
 *   200 {"groups": [{"group_id", "prompt_id", "prompt", "rated_at",
 *         "responses": [{"id","text"}], "ratings": [{"response_id","score",
 *         "helpful","honest","harmless","comment","flags","created_at"}],
 *         "judgement": null | {"kind","verdict","strength","items":
 *         [{"response_id","place","level"}]}}],
 *        "next_before": n | null}
 * (a group with a rank or pair judgement of the caller's is listed too).
 * limit 1..50 (default 10); before: the next_before of the previous page.
 * Answers are in the same per-rater order as /api/tasks/next shows them.
 * Bad limit/before → 400 invalid with the field.  Editing is POST
 * /api/ratings again for the group, which replaces the caller's ratings.
 */
enum MHD_Result api_ratings_mine(struct request *r)
{
	int64_t limit, before, next = 0;
	if (!http_arg_int(r, "limit", 1, 50, 10, &limit) ||
	    !http_arg_int(r, "before", 1, INT64_MAX, 0, &before))
		return http_invalid(r);
	json_t *groups;
	int rc = db_ratings_mine(r->db, r->rater.id, before, (int)limit, &groups, &next);
	if (rc < 0)
		return http_db_error(r, rc, "ratings");
	size_t i;
	json_t *g;
	json_array_foreach(groups, i, g) {
		int64_t group = json_integer_value(json_object_get(g, "group_id"));
		api_shuffle(json_object_get(g, "responses"),
			    (uint64_t)r->rater.id * 0x100000001b3ULL ^ (uint64_t)group);
	}
	return http_json(r, 200, json_pack("{so so}", "groups", groups,
					   "next_before", next ? json_integer(next) : json_null()));
}
