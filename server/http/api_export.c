/*
 * server/http/api_export.c — the exports, streamed.
 *
 * Each export is an MHD callback response over a db/export.h cursor: the
 * callback formats one row at a time into a small line buffer and copies it
 * into MHD's block, so memory stays constant however large the data set.
 * Filters (query): since, split, min_raters, and min_score and
 * include_imported for sft.jsonl.  pairs.jsonl and sft.jsonl hand out
 * db/traindata.h's rows: with split=train, exactly what the reward, DPO and
 * SFT jobs train on.
 */
#include "server/http/api.h"
#include "server/http/api_export.h"
#include "db/db.h"
#include "db/export.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum export_kind { EXPORT_RATINGS_JSONL, EXPORT_RATINGS_CSV, EXPORT_PAIRS, EXPORT_SFT };

struct stream {
	struct db_export *x;     /* owned */
	enum export_kind kind;
	char *line;              /* the formatted rows not yet handed to MHD */
	size_t len, off, cap;
	bool header_done, eof, failed;
};

static const char CSV_HEADER[] = "prompt_id,prompt,response_id,response,model_id,group_id,rater,"
	"rater_id,score,helpful,honest,harmless,comment,flags,created_at\r\n";

/* ---- pure helpers ------------------------------------------------------- */

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool export_parse_time(const char *s, int64_t *out)
{
	if (!s || !*s)
		return false;
	/* unix seconds */
	size_t n = strspn(s, "0123456789");
	if (n == strlen(s) && n <= 12) {
		*out = strtoll(s, NULL, 10);
		return true;
	}
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	if (strlen(s) < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d))
		return false;
	const char *p = s + 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi))
			return false;
		p += 6;
		if (*p == ':') {
			if (!digits(p + 1, 2, &sec))
				return false;
			p += 3;
			if (*p == '.' || *p == ',') {
				p++;
				if (*p < '0' || *p > '9')
					return false;
				while (*p >= '0' && *p <= '9')
					p++;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh, om;
			int sign = *p == '-' ? -1 : 1;
			if (!digits(p + 1, 2, &oh))
				return false;
			p += 3;
			if (*p == ':')
				p++;
			if (!digits(p, 2, &om))
				return false;
			p += 2;
			if (oh > 23 || om > 59)
				return false;
			off = sign * (oh * 3600 + om * 60);
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm) - off;
	return true;
}

static int grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 4096;
	while (c < need)
		c *= 2;
	char *b = realloc(*buf, c);
	if (!b)
		return -1;
	*buf = b;
	*cap = c;
	return 0;
}

int export_csv_field(char **buf, size_t *pos, size_t *cap, const char *s, size_t len)
{
	bool quote = false;
	size_t quotes = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			quotes++;
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			quote = true;
	}
	if (grow(buf, cap, *pos + len + quotes + 3) < 0)
		return -1;
	char *o = *buf + *pos;
	if (quote)
		*o++ = '"';
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			*o++ = '"';
		*o++ = s[i];
	}
	if (quote)
		*o++ = '"';
	*pos = (size_t)(o - *buf);
	return 0;
}

int export_csv_text(char **buf, size_t *pos, size_t *cap, const char *s, size_t len)
{
	if (len && strchr("=+-@\t\r", s[0])) {
		/* a spreadsheet would read the cell as a formula: make it text */
		char *tmp = malloc(len + 1);
		if (!tmp)
			return -1;
		tmp[0] = '\'';
		memcpy(tmp + 1, s, len);
		int rc = export_csv_field(buf, pos, cap, tmp, len + 1);
		free(tmp);
		return rc;
	}
	return export_csv_field(buf, pos, cap, s, len);
}

/* ---- formatting one row ------------------------------------------------- */

/* v, or null when it is not a number (an answer no reward model scored). */
static json_t *opt_real(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static json_t *opt_int(int v)
{
	return v ? json_integer(v) : json_null();
}

/* Appends json (stolen) as one line. */
static int append_json(struct stream *s, json_t *j)
{
	if (!j)
		return -1;
	size_t need = json_dumpb(j, NULL, 0, HTTP_JSON_FLAGS);
	int rc = -1;
	if (need && grow(&s->line, &s->cap, s->len + need + 1) == 0) {
		json_dumpb(j, s->line + s->len, need, HTTP_JSON_FLAGS);
		s->len += need;
		s->line[s->len++] = '\n';
		rc = 0;
	}
	json_decref(j);
	return rc;
}

/* A conversation prompt's messages (stored JSON array text) as a new JSON
 * value; null for a plain prompt. */
static json_t *messages_json(const char *messages)
{
	json_t *m = messages ? json_loads(messages, 0, NULL) : NULL;
	return m ? m : json_null();
}

static json_t *rating_json(const struct db_rating_row *w)
{
	json_t *flags = json_loads(w->flags, 0, NULL);
	return json_pack("{sI so so sI so so sI so sI si so so so so so ss so so}",
		"prompt_id", (json_int_t)w->prompt_id,
		"prompt", db_json_str(w->prompt, (size_t)w->prompt_len),
		"messages", messages_json(w->messages),
		"response_id", (json_int_t)w->response_id,
		"response", db_json_str(w->response, (size_t)w->response_len),
		"model_id", w->model_id ? json_integer(w->model_id) : json_null(),
		"group_id", (json_int_t)w->group_id,
		"rater", db_json_str(w->rater, strlen(w->rater)),
		"rater_id", (json_int_t)w->rater_id,
		"score", w->score,
		"helpful", opt_int(w->helpful),
		"honest", opt_int(w->honest),
		"harmless", opt_int(w->harmless),
		"comment", w->comment ? db_json_str(w->comment, strlen(w->comment)) : json_null(),
		"flags", flags ? flags : json_array(),
		"created_at", w->created_at,
		"rm_score", opt_real(w->rm_score),
		"guideline_version", w->guideline_version ? json_integer(w->guideline_version) : json_null());
}

static int csv_int(struct stream *s, int64_t v, bool present)
{
	char num[24];
	int n = present ? snprintf(num, sizeof num, "%lld", (long long)v) : 0;
	return export_csv_field(&s->line, &s->len, &s->cap, num, (size_t)n);
}

static int csv_str(struct stream *s, const char *v, size_t len)
{
	return export_csv_text(&s->line, &s->len, &s->cap, v ? v : "", v ? len : 0);
}

static int csv_sep(struct stream *s, const char *sep)
{
	size_t n = strlen(sep);
	if (grow(&s->line, &s->cap, s->len + n) < 0)
		return -1;
	memcpy(s->line + s->len, sep, n);
	s->len += n;
	return 0;
}

static int rating_csv(struct stream *s, const struct db_rating_row *w)
{
	int rc = 0;
	rc |= csv_int(s, w->prompt_id, true) | csv_sep(s, ",");
	rc |= csv_str(s, w->prompt, (size_t)w->prompt_len) | csv_sep(s, ",");
	rc |= csv_int(s, w->response_id, true) | csv_sep(s, ",");
	rc |= csv_str(s, w->response, (size_t)w->response_len) | csv_sep(s, ",");
	rc |= csv_int(s, w->model_id, w->model_id != 0) | csv_sep(s, ",");
	rc |= csv_int(s, w->group_id, true) | csv_sep(s, ",");
	rc |= csv_str(s, w->rater, strlen(w->rater)) | csv_sep(s, ",");
	rc |= csv_int(s, w->rater_id, true) | csv_sep(s, ",");
	rc |= csv_int(s, w->score, true) | csv_sep(s, ",");
	rc |= csv_int(s, w->helpful, w->helpful != 0) | csv_sep(s, ",");
	rc |= csv_int(s, w->honest, w->honest != 0) | csv_sep(s, ",");
	rc |= csv_int(s, w->harmless, w->harmless != 0) | csv_sep(s, ",");
	rc |= csv_str(s, w->comment, w->comment ? strlen(w->comment) : 0) | csv_sep(s, ",");
	rc |= csv_str(s, w->flags, strlen(w->flags)) | csv_sep(s, ",");
	rc |= csv_str(s, w->created_at, strlen(w->created_at)) | csv_sep(s, "\r\n");
	return rc ? -1 : 0;
}

/* Formats the next row into s->line; sets s->eof at the end.  0 or -1. */
static int stream_fill(struct stream *s)
{
	s->len = s->off = 0;
	if (s->kind == EXPORT_RATINGS_CSV && !s->header_done) {
		s->header_done = true;
		return csv_sep(s, CSV_HEADER);
	}
	int rc;
	switch (s->kind) {
	case EXPORT_RATINGS_JSONL:
	case EXPORT_RATINGS_CSV: {
		struct db_rating_row w;
		if ((rc = db_export_ratings_next(s->x, &w)) <= 0)
			break;
		return s->kind == EXPORT_RATINGS_CSV ? rating_csv(s, &w) : append_json(s, rating_json(&w));
	}
	case EXPORT_PAIRS: {
		struct db_pair_row p;
		if ((rc = db_export_pairs_next(s->x, &p)) <= 0)
			break;
		return append_json(s, json_pack("{so so so so so so sI sI sI sI so so ss sf so}",
			"prompt", db_json_str(p.prompt, (size_t)p.prompt_len),
			"messages", messages_json(p.messages),
			"chosen", db_json_str(p.chosen, (size_t)p.chosen_len),
			"rejected", db_json_str(p.rejected, (size_t)p.rejected_len),
			"score_chosen", opt_real(p.score_chosen),
			"score_rejected", opt_real(p.score_rejected),
			"prompt_id", (json_int_t)p.prompt_id,
			"group_id", (json_int_t)p.group_id,
			"chosen_id", (json_int_t)p.chosen_id,
			"rejected_id", (json_int_t)p.rejected_id,
			"rm_score_chosen", opt_real(p.rm_score_chosen),
			"rm_score_rejected", opt_real(p.rm_score_rejected),
			"kind", p.kind,
			"margin", p.margin,
			"rater_id", p.rater_id ? json_integer(p.rater_id) : json_null()));
	}
	case EXPORT_SFT: {
		struct db_sft_row m;
		if ((rc = db_export_sft_next(s->x, &m)) <= 0)
			break;
		return append_json(s, json_pack("{so so so so sI sI sI si ss}",
			"prompt", db_json_str(m.prompt, (size_t)m.prompt_len),
			"messages", messages_json(m.messages),
			"completion", db_json_str(m.response, (size_t)m.response_len),
			"score", isnan(m.score) ? json_null() : json_real(m.score),
			"prompt_id", (json_int_t)m.prompt_id,
			"response_id", (json_int_t)m.response_id,
			"group_id", (json_int_t)m.group_id,
			"raters", m.raters,
			"origin", m.origin));
	}
	default:
		rc = -1;
	}
	if (rc == 0)
		s->eof = true;
	return rc < 0 ? -1 : 0;
}

/* MHD's reader: called on the connection's thread whenever the socket can
 * take more; fills buf with up to max bytes. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t n = 0;
	if (s->failed)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	while (n < max) {
		if (s->off < s->len) {
			size_t k = s->len - s->off < max - n ? s->len - s->off : max - n;
			memcpy(buf + n, s->line + s->off, k);
			s->off += k;
			n += k;
			continue;
		}
		if (s->eof)
			break;
		if (stream_fill(s) < 0) {
			/* the status line is gone: end the body short so the client sees an error */
			s->failed = true;
			break;
		}
	}
	if (n == 0)
		return s->failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;
	db_export_close(s->x);
	free(s->line);
	free(s);
}

/* ---- endpoints ---------------------------------------------------------- */

static bool filters_parse(struct request *r, struct db_export_filter *f, bool sft)
{
	memset(f, 0, sizeof *f);
	const char *since = http_arg(r, "since"), *split = http_arg(r, "split");
	if (since && *since && !export_parse_time(since, &f->since))
		return http_bad_field(r, "since", "query parameter 'since' must be ISO-8601 "
				      "(2024-05-01T12:00:00Z) or unix seconds");
	if (split && *split) {
		if (strcmp(split, "train") != 0 && strcmp(split, "eval") != 0)
			return http_bad_field(r, "split", "query parameter 'split' must be 'train' or 'eval'");
		f->split = split;
	}
	int64_t n;
	if (!http_arg_int(r, "min_raters", 1, 1000000, 1, &n))
		return false;
	f->min_raters = (int)n;
	f->min_score = 4;
	const char *ms = http_arg(r, "min_score");
	if (sft && ms && *ms) {
		char *end;
		errno = 0;
		double v = strtod(ms, &end);
		if (errno || end == ms || *end || !(v >= 1 && v <= 5))
			return http_bad_field(r, "min_score", "query parameter 'min_score' must be a "
					      "number from 1 to 5");
		f->min_score = v;
	}
	/* sft: the imported demonstrations too, as the SFT job reads them by default */
	f->with_imported = true;
	const char *imp = http_arg(r, "include_imported");
	if (sft && imp && *imp) {
		if (strcmp(imp, "true") != 0 && strcmp(imp, "false") != 0)
			return http_bad_field(r, "include_imported", "query parameter 'include_imported' "
					      "must be true or false");
		f->with_imported = strcmp(imp, "true") == 0;
	}
	return true;
}

static enum MHD_Result export_start(struct request *r, enum export_kind kind, const char *type,
				    const char *filename)
{
	struct db_export_filter f;
	if (!filters_parse(r, &f, kind == EXPORT_SFT))
		return http_invalid(r);
	struct stream *s = calloc(1, sizeof *s);
	if (!s)
		return http_error(r, 500, "internal", "out of memory");
	s->kind = kind;
	int rc;
	switch (kind) {
	case EXPORT_PAIRS:
		rc = db_export_pairs_open(db_pool_path(), &f, &s->x);
		break;
	case EXPORT_SFT:
		rc = db_export_sft_open(db_pool_path(), &f, &s->x);
		break;
	default:
		rc = db_export_ratings_open(db_pool_path(), &f, &s->x);
	}
	if (rc < 0) {
		free(s);
		return http_error(r, 500, "internal", "cannot open the export");
	}
	/* MHD owns s from here and calls stream_free when done (or on error) */
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
								      stream_read, s, stream_free);
	if (!resp) {
		stream_free(s);
		return MHD_NO;
	}
	char disp[96];
	snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", filename);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ret = http_queue(r, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result api_export_ratings_jsonl(struct request *r)
{
	return export_start(r, EXPORT_RATINGS_JSONL, "application/x-ndjson; charset=utf-8",
			    "ratings.jsonl");
}

enum MHD_Result api_export_ratings_csv(struct request *r)
{
	return export_start(r, EXPORT_RATINGS_CSV, "text/csv; charset=utf-8; header=present",
			    "ratings.csv");
}

enum MHD_Result api_export_pairs(struct request *r)
{
	return export_start(r, EXPORT_PAIRS, "application/x-ndjson; charset=utf-8", "pairs.jsonl");
}

enum MHD_Result api_export_sft(struct request *r)
{
	return export_start(r, EXPORT_SFT, "application/x-ndjson; charset=utf-8", "sft.jsonl");
}
