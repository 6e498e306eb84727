/*
 * tests/fuzz/fuzz_export.c — libFuzzer target: the exports
 * (server/http/api_export.c) on arbitrary stored text.
 *
 * Each input stores one prompt with a group of answers and their ratings
 * through db/ (the functions the handlers and the worker use) in the seeded
 * database of tests/fuzz/fuzz_server.h, then fetches one of ratings.jsonl,
 * ratings.csv, pairs.jsonl and sft.jsonl from the real server in this
 * process and checks every row of that group (one export an input: each
 * opens its own database connection, the cost of an input).
 *
 * Input:
 *   byte 0      options: bit 0 split eval (else train); bit 1 bob rates the
 *               answers too; bit 2 helpful/honest/harmless given; bit 3 the
 *               rater is a new one named by the input (else ann); bit 4 the
 *               answers written by model 4 (else imported); bits 5-6 the
 *               export: ratings.jsonl, ratings.csv, pairs.jsonl, sft.jsonl.
 *   bytes 1-3   the scores of answers 1-3: ann's 1 + (b mod 5), bob's
 *               1 + (b / 5 mod 5).
 *   the rest    NUL-separated texts: prompt, answer 1, answer 2, answer 3,
 *               comment, flags (stored as given when SQLite's json_valid takes
 *               it, else none),
 *               rater name, model name.  Absent answers are not stored (at
 *               least one is, empty if need be); text is any bytes but NUL.
 *
 * Checked: the answer is 200; every JSONL line is a JSON object; every CSV
 * record (RFC 4180) has the header's 15 fields; the group's rows are all
 * there, one per rating, with the scores stored; texts come back byte for
 * byte in the CSV, and as the same string in JSON when they are valid UTF-8;
 * pairs are exactly the (chosen, rejected) answers whose mean scores differ,
 * higher first, and whose texts differ (API.md); sft holds exactly the
 * answers whose mean is at least 4.
 */
#include "server/http/http.h"
#include "tests/fuzz/fuzz_server.h"

#include <jansson.h>

#define MAX_ANSWERS 3

/* What one input stored. */
struct stored {
	int64_t group, prompt_id, rater, ids[MAX_ANSWERS];
	const char *prompt, *answers[MAX_ANSWERS], *comment, *flags, *rater_name;
	int n, ann[MAX_ANSWERS], bob[MAX_ANSWERS];
	bool with_bob;
	double mean[MAX_ANSWERS];
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_server_start();
	return 0;
}

/* Is s[0..n) UTF-8 (RFC 3629: shortest form, no surrogates, <= U+10FFFF)? */
static bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		size_t l = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 :
			   (c & 0xF8) == 0xF0 ? 4 : 0;
		if (!l || i + l > n)
			return false;
		uint32_t cp = l == 1 ? c : c & (0x7F >> l);
		for (size_t k = 1; k < l; k++) {
			if ((u[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (u[i + k] & 0x3F);
		}
		if ((l == 2 && cp < 0x80) || (l == 3 && cp < 0x800) || (l == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += l;
	}
	return true;
}

/* The JSON string v holds exactly the bytes s (when s is valid UTF-8). */
static void check_text(json_t *v, const char *s, const char *what)
{
	FUZZ_ASSERT(json_is_string(v), "%s is not a string", what);
	if (!utf8_valid(s, strlen(s)))
		return;
	FUZZ_ASSERT(json_string_length(v) == strlen(s) &&
		    memcmp(json_string_value(v), s, strlen(s)) == 0,
		    "%s came back as different text", what);
}

static int answer_index(const struct stored *st, int64_t id)
{
	for (int i = 0; i < st->n; i++)
		if (st->ids[i] == id)
			return i;
	return -1;
}

/* Calls fn on each line of body as a JSON object. */
static void each_line(const struct fuzz_reply *r, const char *what,
		      void (*fn)(json_t *row, const struct stored *st), const struct stored *st)
{
	const char *p = r->body, *end = r->body + r->body_len;
	FUZZ_ASSERT(r->body_len == 0 || end[-1] == '\n', "%s does not end with a line break", what);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		json_error_t err;
		json_t *row = json_loadb(p, (size_t)(nl - p), 0, &err);
		FUZZ_ASSERT(json_is_object(row), "%s: a line is not a JSON object (%s): %.200s", what,
			    err.text, p);
		if (json_integer_value(json_object_get(row, "group_id")) == st->group)
			fn(row, st);
		json_decref(row);
		p = nl + 1;
	}
}

static int rows_seen;

static void check_rating_row(json_t *row, const struct stored *st)
{
	int i = answer_index(st, json_integer_value(json_object_get(row, "response_id")));
	FUZZ_ASSERT(i >= 0, "ratings.jsonl: a row of the group names another answer");
	int64_t rater = json_integer_value(json_object_get(row, "rater_id"));
	bool bob = st->with_bob && rater == fz_srv.bob;
	FUZZ_ASSERT(bob || rater == st->rater, "ratings.jsonl: rater %lld rated nothing here",
		    (long long)rater);
	FUZZ_ASSERT(json_integer_value(json_object_get(row, "score")) == (bob ? st->bob[i] : st->ann[i]),
		    "ratings.jsonl: a score changed");
	check_text(json_object_get(row, "prompt"), st->prompt, "ratings.jsonl prompt");
	check_text(json_object_get(row, "response"), st->answers[i], "ratings.jsonl response");
	if (!bob) {
		check_text(json_object_get(row, "rater"), st->rater_name, "ratings.jsonl rater");
		json_t *c = json_object_get(row, "comment");
		if (st->comment)
			check_text(c, st->comment, "ratings.jsonl comment");
		else
			FUZZ_ASSERT(json_is_null(c), "ratings.jsonl: a comment nobody wrote");
		/* flags: the stored JSON when it is an array or object, else [] */
		json_t *want = st->flags ? json_loads(st->flags, 0, NULL) : NULL;
		if (!want)
			want = json_array();
		FUZZ_ASSERT(json_equal(want, json_object_get(row, "flags")),
			    "ratings.jsonl: flags changed");
		json_decref(want);
	}
	rows_seen++;
}

static void check_pair_row(json_t *row, const struct stored *st)
{
	int c = answer_index(st, json_integer_value(json_object_get(row, "chosen_id")));
	int r = answer_index(st, json_integer_value(json_object_get(row, "rejected_id")));
	FUZZ_ASSERT(c >= 0 && r >= 0, "pairs.jsonl: a pair of the group names another answer");
	/* API.md: "never a pair whose two texts are identical" */
	FUZZ_ASSERT(strcmp(st->answers[c], st->answers[r]) != 0,
		    "pairs.jsonl holds a pair whose two texts are identical");
	FUZZ_ASSERT(st->mean[c] > st->mean[r], "pairs.jsonl: chosen mean %g, rejected %g",
		    st->mean[c], st->mean[r]);
	FUZZ_ASSERT(json_real_value(json_object_get(row, "score_chosen")) == st->mean[c] &&
		    json_real_value(json_object_get(row, "score_rejected")) == st->mean[r],
		    "pairs.jsonl: the scores are not the means");
	check_text(json_object_get(row, "prompt"), st->prompt, "pairs.jsonl prompt");
	check_text(json_object_get(row, "chosen"), st->answers[c], "pairs.jsonl chosen");
	check_text(json_object_get(row, "rejected"), st->answers[r], "pairs.jsonl rejected");
	rows_seen++;
}

static void check_sft_row(json_t *row, const struct stored *st)
{
	int i = answer_index(st, json_integer_value(json_object_get(row, "response_id")));
	FUZZ_ASSERT(i >= 0, "sft.jsonl: a row of the group names another answer");
	FUZZ_ASSERT(st->mean[i] >= 4 && json_real_value(json_object_get(row, "score")) == st->mean[i],
		    "sft.jsonl: score %g for an answer of mean %g",
		    json_real_value(json_object_get(row, "score")), st->mean[i]);
	check_text(json_object_get(row, "prompt"), st->prompt, "sft.jsonl prompt");
	check_text(json_object_get(row, "completion"), st->answers[i], "sft.jsonl completion");
	rows_seen++;
}

/* One CSV field (RFC 4180) at *p into out (new, *len bytes); false when malformed. */
static bool csv_field(const char **p, const char *end, char **out, size_t *len)
{
	const char *s = *p;
	char *o = *out = malloc((size_t)(end - s) + 1);
	if (s < end && *s == '"') {
		for (s++;; s++) {
			if (s >= end)
				return false;
			if (*s == '"') {
				if (s + 1 < end && s[1] == '"')
					s++;
				else
					break;
			}
			*o++ = *s;
		}
		s++;
	} else {
		while (s < end && *s != ',' && *s != '\r') {
			if (*s == '"' || *s == '\n')
				return false;
			*o++ = *s++;
		}
	}
	*len = (size_t)(o - *out);
	*o = 0;
	*p = s;
	return true;
}

/* Is the field f of len bytes the string s? */
/* Is the CSV text cell f (len bytes) the stored text s?  A cell a spreadsheet
 * would run as a formula (= + - @, a tab or a CR first) is exported with a
 * leading ' (CSV injection; server/http/api_export.h export_csv_text). */
static bool field_is(const char *f, size_t len, const char *s)
{
	size_t n = strlen(s);
	if (n && strchr("=+-@\t\r", s[0])) {
		if (len == 0 || f[0] != '\'')
			return false;
		f++;
		len--;
	}
	return len == n && memcmp(f, s, len) == 0;
}

static void check_csv(const struct fuzz_reply *r, const struct stored *st)
{
	enum { PROMPT_ID, PROMPT, RESPONSE_ID, RESPONSE, MODEL_ID, GROUP_ID, RATER, RATER_ID, SCORE,
	       HELPFUL, HONEST, HARMLESS, COMMENT, FLAGS, CREATED_AT, N_FIELDS };
	const char *p = r->body, *end = r->body + r->body_len;
	bool header = true;
	while (p < end) {
		char *f[N_FIELDS];
		size_t len[N_FIELDS];
		int n = 0;
		for (;;) {
			FUZZ_ASSERT(n < N_FIELDS, "ratings.csv: a record of over %d fields", N_FIELDS);
			FUZZ_ASSERT(csv_field(&p, end, &f[n], &len[n]), "ratings.csv: a malformed field");
			n++;
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			FUZZ_ASSERT(end - p >= 2 && p[0] == '\r' && p[1] == '\n',
				    "ratings.csv: a record does not end with CRLF");
			p += 2;
			break;
		}
		FUZZ_ASSERT(n == N_FIELDS, "ratings.csv: a record with %d fields", n);
		if (header)
			FUZZ_ASSERT(!strcmp(f[PROMPT], "prompt") && !strcmp(f[CREATED_AT], "created_at"),
				    "ratings.csv: no header row");
		else if (strtoll(f[GROUP_ID], NULL, 10) == st->group) {
			int i = answer_index(st, strtoll(f[RESPONSE_ID], NULL, 10));
			bool bob = st->with_bob && strtoll(f[RATER_ID], NULL, 10) == fz_srv.bob;
			FUZZ_ASSERT(i >= 0 && atoi(f[SCORE]) == (bob ? st->bob[i] : st->ann[i]),
				    "ratings.csv: a row of the group with another answer or score");
			FUZZ_ASSERT(field_is(f[PROMPT], len[PROMPT], st->prompt),
				    "ratings.csv: the prompt changed");
			FUZZ_ASSERT(field_is(f[RESPONSE], len[RESPONSE], st->answers[i]),
				    "ratings.csv: an answer changed");
			if (!bob) {
				const char *c = st->comment ? st->comment : "";
				const char *fl = st->flags ? st->flags : "[]";
				FUZZ_ASSERT(field_is(f[RATER], len[RATER], st->rater_name),
					    "ratings.csv: the rater's name changed");
				FUZZ_ASSERT(field_is(f[COMMENT], len[COMMENT], c),
					    "ratings.csv: the comment changed");
				FUZZ_ASSERT(field_is(f[FLAGS], len[FLAGS], fl), "ratings.csv: the flags changed");
			}
			rows_seen++;
		}
		header = false;
		for (int k = 0; k < n; k++)
			free(f[k]);
	}
	FUZZ_ASSERT(!header, "ratings.csv is empty");
}

/* Stores the input; false when the database refuses it (nothing to check). */
static bool store(const uint8_t *data, size_t size, struct stored *st, char **texts)
{
	struct db *db = fz_srv.db;
	uint8_t opt = data[0];
	int n_texts = 0;
	/* the NUL-separated fields, each a NUL-terminated copy */
	for (size_t at = 4; n_texts < 8 && at <= size;) {
		size_t n = strnlen((const char *)data + at, size - at);
		texts[n_texts++] = strndup((const char *)data + at, n);
		at += n + 1;
	}
	memset(st, 0, sizeof *st);
	st->prompt = n_texts > 0 ? texts[0] : "";
	for (int i = 0; i < MAX_ANSWERS && i + 1 < n_texts && i + 1 < 4; i++)
		st->answers[st->n++] = texts[i + 1];
	if (st->n == 0)
		st->answers[st->n++] = "";
	st->comment = n_texts > 4 ? texts[4] : NULL;
	st->flags = n_texts > 5 ? texts[5] : NULL;
	const char *model_name = n_texts > 7 ? texts[7] : "fuzz";
	int64_t model = opt & 0x10 ? 4 : 0;
	st->with_bob = opt & 0x02;
	st->rater = fz_srv.ann;
	st->rater_name = "ann";

	if (db_begin(db) < 0)
		fuzz_fail("cannot begin a transaction");
	if (opt & 0x08 && n_texts > 6) {
		uint8_t h[AUTH_HASH_LEN];
		auth_hash(texts[6], strlen(texts[6]), h);
		if (db_rater_create(db, texts[6], "rater", h, &st->rater) == 0)
			st->rater_name = texts[6];
		else
			st->rater = fz_srv.ann;
	}
	int rc = db_prompt_insert(db, st->prompt, opt & 0x01 ? "eval" : "train", "fuzz", NULL,
				  &st->prompt_id);
	if (rc == 0)
		rc = db_group_create(db, st->prompt_id, model, 0, NULL, &st->group);
	for (int i = 0; rc == 0 && i < st->n; i++)
		rc = db_response_insert(db, st->group, st->prompt_id, model, model ? NULL : model_name,
					st->answers[i], -1, &st->ids[i]);
	if (rc < 0 || db_commit(db) < 0) {
		db_rollback(db);
		return false;
	}
	struct db_rating_in in[MAX_ANSWERS];
	int bad;
	bool dims = opt & 0x04;
	for (int who = 0; who < (st->with_bob ? 2 : 1); who++) {
		for (int i = 0; i < st->n; i++) {
			uint8_t b = data[1 + i];
			int score = who ? 1 + b / 5 % 5 : 1 + b % 5;
			(who ? st->bob : st->ann)[i] = score;
			int h = dims ? 1 + (b + 1) % 5 : 0, o = dims ? 1 + (b + 2) % 5 : 0,
			    m = dims ? 1 + (b + 3) % 5 : 0;
			in[i] = (struct db_rating_in){ st->ids[i], score, h, o, m, who ? NULL : st->comment,
						       who ? NULL : st->flags };
		}
		int rc = db_ratings_save(db, who ? fz_srv.bob : st->rater, st->group, in, st->n,
					 db_now(), &bad);
		if (rc == DB_INVALID && !who && st->flags) {
			/* flags must be JSON (ratings.flags CHECK json_valid): store none */
			st->flags = NULL;
			for (int i = 0; i < st->n; i++)
				in[i].flags_json = NULL;
			rc = db_ratings_save(db, st->rater, st->group, in, st->n, db_now(), &bad);
		}
		if (rc < 0)
			fuzz_fail("db_ratings_save refused a valid rating: %d (rating %d)", rc, bad);
	}
	for (int i = 0; i < st->n; i++)
		st->mean[i] = st->with_bob ? (st->ann[i] + st->bob[i]) / 2.0 : st->ann[i];
	return true;
}

/* Fetches export k (bits 5-6 of byte 0) and checks the group's rows. */
static void check_export(int k, const struct stored *st)
{
	static const char *const NAMES[] = { "ratings.jsonl", "ratings.csv", "pairs.jsonl", "sft.jsonl" };
	int want_pairs = 0, want_sft = 0;
	for (int i = 0; i < st->n; i++) {
		want_sft += st->mean[i] >= 4;
		for (int j = 0; j < st->n; j++)
			want_pairs += st->mean[i] > st->mean[j] && strcmp(st->answers[i], st->answers[j]);
	}
	char path[64];
	struct fuzz_reply r;
	snprintf(path, sizeof path, "/api/export/%s", NAMES[k]);
	/* HTTP/1.0: the stream comes unchunked, ended by the close */
	fuzz_http("GET", path, "Authorization: Bearer " FUZZ_ADMIN_TOKEN "\r\n", NULL, 0, true, &r);
	FUZZ_ASSERT(r.status == 200, "GET %s answered %d", path, r.status);
	rows_seen = 0;
	if (k == 0)
		each_line(&r, NAMES[k], check_rating_row, st);
	else if (k == 1)
		check_csv(&r, st);
	else
		each_line(&r, NAMES[k], k == 2 ? check_pair_row : check_sft_row, st);
	int want = k < 2 ? st->n * (st->with_bob ? 2 : 1) : k == 2 ? want_pairs : want_sft;
	FUZZ_ASSERT(rows_seen == want, "%s: %d rows of the group, want %d", NAMES[k], rows_seen, want);
	fuzz_reply_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stored st;
	char *texts[8] = { 0 };
	if (size < 4)
		return 0;
	fuzz_server_reset();
	if (store(data, size, &st, texts))
		check_export(data[0] >> 5 & 3, &st);
	for (int i = 0; i < 8; i++)
		free(texts[i]);
	return 0;
}
