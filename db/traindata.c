/*
 * db/traindata.c — training data reads (see traindata.h).
 */
#include "db/traindata.h"
#include "db/db_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void response_release(struct db_td_response *r)
{
	free(r->text);
	free(r->rating_ids);
}

void db_td_set_release(struct db_td_set *s)
{
	for (int g = 0; g < s->n_groups; g++) {
		for (int i = 0; i < s->groups[g].n; i++)
			response_release(&s->groups[g].responses[i]);
		free(s->groups[g].responses);
		free(s->groups[g].prompt);
	}
	free(s->groups);
	memset(s, 0, sizeof *s);
}

void db_td_prompts_free(struct db_td_prompt *p, int n)
{
	for (int i = 0; i < n && p; i++)
		free(p[i].text);
	free(p);
}

/* Grows *arr (of *cap elements of size sz) to hold at least need. */
static int grow(void **arr, int *cap, int need, size_t sz)
{
	if (need <= *cap)
		return 0;
	int c = *cap ? *cap * 2 : 16;
	while (c < need)
		c *= 2;
	void *p = realloc(*arr, (size_t)c * sz);
	if (!p)
		return -1;
	memset((char *)p + (size_t)*cap * sz, 0, (size_t)(c - *cap) * sz);
	*arr = p;
	*cap = c;
	return 0;
}

/*
 * One row per (answer, current rating), or per unrated imported answer with
 * NULL rating columns, ordered so groups, answers and ratings come in runs.
 */
#define TD_RESPONSES_SQL \
	"SELECT g.id, g.prompt_id, coalesce(g.model_id, 0), p.text, r.id, r.text," \
	" r.model_id IS NULL, coalesce(r.ended, 1), rt.id, rt.score" \
	" FROM responses r" \
	" JOIN gen_groups g ON g.id = r.group_id" \
	" JOIN prompts p ON p.id = r.prompt_id" \
	" LEFT JOIN ratings rt ON rt.response_id = r.id AND rt.superseded_at IS NULL" \
	" WHERE (:split IS NULL OR p.split = :split)" \
	" AND (rt.id IS NOT NULL OR (:imported AND r.model_id IS NULL))" \
	" ORDER BY g.id, r.id, rt.id"

static int read_groups(struct db *db, const char *split, bool with_imported,
		       struct db_td_set *out)
{
	sqlite3_stmt *st = db_stmt(db, STMT_TD_RESPONSES, TD_RESPONSES_SQL);
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":split", split);
	db_bind_int64(st, ":imported", with_imported ? 1 : 0);
	int cap_g = 0, cap_r = 0, cap_id = 0, rc;
	struct db_td_group *g = NULL;
	struct db_td_response *r = NULL;
	double sum = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t gid = sqlite3_column_int64(st, 0), rid = sqlite3_column_int64(st, 4);
		if (!g || g->id != gid) {
			if (grow((void **)&out->groups, &cap_g, out->n_groups + 1, sizeof *out->groups) < 0)
				goto out_nomem;
			g = &out->groups[out->n_groups++];
			g->id = gid;
			g->prompt_id = sqlite3_column_int64(st, 1);
			g->model_id = sqlite3_column_int64(st, 2);
			if (!(g->prompt = strdup(db_col_text(st, 3))))
				goto out_nomem;
			cap_r = 0;
			r = NULL;
		}
		if (!r || r->id != rid) {
			if (grow((void **)&g->responses, &cap_r, g->n + 1, sizeof *g->responses) < 0)
				goto out_nomem;
			r = &g->responses[g->n++];
			r->id = rid;
			r->imported = sqlite3_column_int(st, 6) != 0;
			r->ended = sqlite3_column_int(st, 7) != 0;
			r->mean = NAN;
			if (!(r->text = strdup(db_col_text(st, 5))))
				goto out_nomem;
			cap_id = 0;
			sum = 0;
		}
		if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
			if (grow((void **)&r->rating_ids, &cap_id, r->n_ratings + 1, sizeof *r->rating_ids) < 0)
				goto out_nomem;
			r->rating_ids[r->n_ratings++] = sqlite3_column_int64(st, 8);
			sum += sqlite3_column_int(st, 9);
			r->mean = sum / r->n_ratings;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? DB_OK : db_fail(db, "cannot read rated answers", rc);

out_nomem:
	sqlite3_reset(st);
	fprintf(stderr, "db: cannot read rated answers: out of memory\n");
	return DB_ERROR;
}

int db_traindata_groups(struct db *db, const char *split, bool with_imported,
			struct db_td_set *out)
{
	memset(out, 0, sizeof *out);
	int rc = db_begin_read(db);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = db_stmt(db, STMT_TD_MAX_RATING, "SELECT coalesce(max(id), 0) FROM ratings");
	if (!st) {
		rc = DB_ERROR;
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		out->max_rating_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		rc = db_fail(db, "cannot read ratings", rc);
		goto out;
	}
	rc = read_groups(db, split, with_imported, out);
out:
	db_rollback(db); /* ends the read transaction */
	if (rc < 0)
		db_td_set_release(out);
	return rc;
}

/* Collects rows (id, text) of a prepared statement into a new array. */
static int collect_prompts(struct db *db, sqlite3_stmt *st, struct db_td_prompt **out, int *n)
{
	struct db_td_prompt *p = NULL;
	int cap = 0, cnt = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (grow((void **)&p, &cap, cnt + 1, sizeof *p) < 0 ||
		    !(p[cnt].text = strdup(db_col_text(st, 1)))) {
			sqlite3_reset(st);
			db_td_prompts_free(p, cnt);
			fprintf(stderr, "db: cannot read prompts: out of memory\n");
			return DB_ERROR;
		}
		p[cnt++].id = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_td_prompts_free(p, cnt);
		return db_fail(db, "cannot read prompts", rc);
	}
	*out = p;
	*n = cnt;
	return DB_OK;
}

int db_traindata_prompts(struct db *db, const char *split, int limit,
			 struct db_td_prompt **out, int *n)
{
	sqlite3_stmt *st = db_stmt(db, STMT_TD_PROMPTS,
		"SELECT id, text FROM prompts WHERE :split IS NULL OR split = :split"
		" ORDER BY id LIMIT :limit");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":split", split);
	db_bind_int64(st, ":limit", limit > 0 ? limit : -1);
	return collect_prompts(db, st, out, n);
}

int db_traindata_prompts_unanswered(struct db *db, const char *split, int64_t model_id,
				    int limit, struct db_td_prompt **out, int *n)
{
	sqlite3_stmt *st = db_stmt(db, STMT_TD_PROMPTS_NEW,
		"SELECT id, text FROM prompts p WHERE (:split IS NULL OR split = :split)"
		" AND NOT EXISTS (SELECT 1 FROM gen_groups g"
		"  WHERE g.model_id = :model AND g.prompt_id = p.id)"
		" ORDER BY id LIMIT :limit");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":split", split);
	db_bind_int64(st, ":model", model_id);
	db_bind_int64(st, ":limit", limit > 0 ? limit : -1);
	return collect_prompts(db, st, out, n);
}

int db_traindata_prompts_by_id(struct db *db, const int64_t *ids, int n_ids,
			       struct db_td_prompt **out, int *n, int64_t *missing)
{
	struct db_td_prompt *p = calloc(n_ids > 0 ? (size_t)n_ids : 1, sizeof *p);
	if (!p)
		return DB_ERROR;
	sqlite3_stmt *st = db_stmt(db, STMT_TD_PROMPT_BY_ID, "SELECT text FROM prompts WHERE id = :id");
	if (!st) {
		free(p);
		return DB_ERROR;
	}
	int rc = DB_OK;
	for (int i = 0; i < n_ids; i++) {
		sqlite3_reset(st);
		db_bind_int64(st, ":id", ids[i]);
		int s = sqlite3_step(st);
		if (s == SQLITE_ROW) {
			p[i].id = ids[i];
			if (!(p[i].text = strdup(db_col_text(st, 0))))
				rc = DB_ERROR;
		} else if (s == SQLITE_DONE) {
			if (missing)
				*missing = ids[i];
			rc = DB_NOTFOUND;
		} else {
			rc = db_fail(db, "cannot read a prompt", s);
		}
		if (rc < 0) {
			sqlite3_reset(st);
			db_td_prompts_free(p, i + 1);
			return rc;
		}
	}
	sqlite3_reset(st);
	*out = p;
	*n = n_ids;
	return DB_OK;
}
