/*
 * db/export.c — export cursors (see export.h).
 */
#include "db/export.h"
#include "db/db_impl.h"
#include "db/rmscores.h"
#include "db/traindata.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_export {
	struct db *db;             /* its own read-only connection */
	sqlite3_stmt *st;          /* ratings: borrowed from db's cache */
	struct db_td_cursor *td;   /* pairs and SFT rows */
	struct db_td_order_cursor *oc; /* pairs: the judgements, after the scores' pairs */
	double min_score;
	struct db_td_group g;      /* the group whose rows are being handed out */
	struct db_td_order o;      /* pairs: the judgement whose pairs are, once td is done */
	bool in_orders;            /* td is done: the pairs come from oc */
	int (*pairs)[2];           /* pairs: g's pairs (n of them) */
	int *idx;                  /* sft: g's SFT rows (n of them) */
	double *rm;                /* pairs: g's answers' reward-model scores (NAN: none) */
	int cap_rm;
	int cap, n, next;
	bool counted;              /* counted in db_long_readers */
};

/* A cursor with its own connection (and counted as a long reader). */
static int export_new(const char *path, struct db_export **out)
{
	struct db_export *x = calloc(1, sizeof *x);
	if (!x)
		return db_nomem("cannot open an export");
	if (db_open(&x->db, path, true) < 0) {
		free(x);
		return DB_ERROR;
	}
	atomic_fetch_add(&db_long_readers, 1);
	x->counted = true;
	*out = x;
	return DB_OK;
}

void db_export_close(struct db_export *x)
{
	if (!x)
		return;
	db_td_close(x->td);
	db_td_orders_close(x->oc);
	db_td_group_release(&x->g);
	db_td_order_release(&x->o);
	free(x->pairs);
	free(x->idx);
	free(x->rm);
	db_close(x->db); /* finalizes st */
	if (x->counted)
		atomic_fetch_sub(&db_long_readers, 1);
	free(x);
}

/* ---- ratings ------------------------------------------------------------- */

int db_export_ratings_open(const char *path, const struct db_export_filter *f, struct db_export **out)
{
	struct db_export *x;
	int rc = export_new(path, &x);
	if (rc < 0)
		return rc;
	x->st = db_prepare(x->db, STMT_EXPORT_RATINGS,
		"SELECT p.id, p.text, s.id, s.text, s.model_id, s.group_id, r.rater_id, t.name,"
		" r.score, r.helpful, r.honest, r.harmless, r.comment, r.flags, "
		ISO_TIME("r.created_at") ","
		" (SELECT m.score FROM rm_scores m WHERE m.response_id = s.id"
		"  ORDER BY m.model_id DESC LIMIT 1),"
		" (SELECT v.guideline_version FROM ratings v WHERE v.id = r.id),"  /* not in the view */
		" p.messages"
		" FROM current_ratings r JOIN responses s ON s.id = r.response_id"
		" JOIN prompts p ON p.id = s.prompt_id JOIN raters t ON t.id = r.rater_id"
		" WHERE r.created_at >= :since AND (:split IS NULL OR p.split = :split)"
		"  AND (:min_raters <= 1 OR (SELECT count(*) FROM current_ratings c"
		"       WHERE c.response_id = s.id AND c.created_at >= :since) >= :min_raters)"
		" ORDER BY r.id",
		DB_ARGS(DB_INT(":since", f->since), DB_TEXT(":split", f->split),
			DB_INT(":min_raters", f->min_raters)));
	if (!x->st) {
		db_export_close(x);
		return DB_ERROR;
	}
	*out = x;
	return DB_OK;
}

int db_export_ratings_next(struct db_export *x, struct db_rating_row *row)
{
	int rc = sqlite3_step(x->st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(x->db, "cannot read the ratings export", rc);
	sqlite3_stmt *st = x->st;
	memset(row, 0, sizeof *row);
	row->prompt_id = sqlite3_column_int64(st, 0);
	row->prompt = db_col_text(st, 1);
	row->prompt_len = sqlite3_column_bytes(st, 1);
	row->response_id = sqlite3_column_int64(st, 2);
	row->response = db_col_text(st, 3);
	row->response_len = sqlite3_column_bytes(st, 3);
	row->model_id = sqlite3_column_int64(st, 4);
	row->group_id = sqlite3_column_int64(st, 5);
	row->rater_id = sqlite3_column_int64(st, 6);
	row->rater = db_col_text(st, 7);
	row->score = sqlite3_column_int(st, 8);
	row->helpful = sqlite3_column_int(st, 9);
	row->honest = sqlite3_column_int(st, 10);
	row->harmless = sqlite3_column_int(st, 11);
	row->comment = sqlite3_column_type(st, 12) == SQLITE_NULL ? NULL : db_col_text(st, 12);
	row->flags = db_col_text(st, 13);
	row->created_at = db_col_text(st, 14);
	row->rm_score = sqlite3_column_type(st, 15) == SQLITE_NULL ? NAN :
			sqlite3_column_double(st, 15);
	row->guideline_version = sqlite3_column_int64(st, 16);
	row->messages = sqlite3_column_type(st, 17) == SQLITE_NULL ? NULL : db_col_text(st, 17);
	return 1;
}

/* ---- pairs and SFT rows: db/traindata.h's groups, one at a time ------------ */

static int groups_open(const char *path, const struct db_export_filter *f, bool with_imported,
		       struct db_export **out)
{
	struct db_export *x;
	int rc = export_new(path, &x);
	if (rc < 0)
		return rc;
	struct db_td_filter tf = { .split = f->split, .since = f->since,
				   .min_raters = f->min_raters, .with_imported = with_imported };
	if ((rc = db_td_open(x->db, &tf, &x->td)) < 0) {
		db_export_close(x);
		return rc;
	}
	x->min_score = f->min_score;
	*out = x;
	return DB_OK;
}

int db_export_pairs_open(const char *path, const struct db_export_filter *f, struct db_export **out)
{
	int rc = groups_open(path, f, false, out);
	if (rc < 0)
		return rc;
	struct db_td_filter tf = { .split = f->split, .since = f->since, .min_raters = f->min_raters };
	if ((rc = db_td_orders_open((*out)->db, &tf, &(*out)->oc)) < 0) {
		db_export_close(*out);
		*out = NULL;
	}
	return rc;
}

int db_export_sft_open(const char *path, const struct db_export_filter *f, struct db_export **out)
{
	return groups_open(path, f, f->with_imported, out);
}

/* The reward-model scores of g's answers into x->rm: 1, or a negative
 * code. */
static int group_rm_scores(struct db_export *x, const struct db_td_group *g)
{
	if (g->n > x->cap_rm) {
		free(x->rm);
		if (!(x->rm = malloc((size_t)g->n * sizeof *x->rm))) {
			x->cap_rm = 0;
			return db_nomem("cannot read the export");
		}
		x->cap_rm = g->n;
	}
	for (int i = 0; i < g->n; i++) {
		int64_t model;
		int rc = db_rm_score_get(x->db, g->responses[i].id, &x->rm[i], &model);
		if (rc == DB_NOTFOUND)
			x->rm[i] = NAN;
		else if (rc < 0)
			return rc;
	}
	return 1;
}

/* Room for need pairs / rows in x->pairs and x->idx: 0, or a negative code. */
static int rows_room(struct db_export *x, int need)
{
	need = need > 0 ? need : 1;
	if (need <= x->cap)
		return 0;
	free(x->pairs);
	free(x->idx);
	x->pairs = malloc((size_t)need * sizeof *x->pairs);
	x->idx = malloc((size_t)need * sizeof *x->idx);
	if (!x->pairs || !x->idx) {
		x->cap = 0;
		return db_nomem("cannot read the export");
	}
	x->cap = need;
	return 0;
}

/* Moves to the next judgement that has pairs: 1, 0 at the end, or a
 * negative code. */
static int next_order(struct db_export *x)
{
	do {
		db_td_order_release(&x->o);
		x->n = x->next = 0;
		int rc = db_td_orders_next(x->oc, &x->o);
		if (rc <= 0)
			return rc;
		if ((rc = rows_room(x, x->o.g.n * (x->o.g.n - 1) / 2)) < 0)
			return rc;
		x->n = db_td_order_pairs(&x->o, x->pairs);
	} while (x->n == 0);
	return group_rm_scores(x, &x->o.g);
}

/* Moves to the next group that has rows (its pairs, or its SFT rows):
 * 1, 0 at the end, or a negative code. */
static int next_group(struct db_export *x, bool pairs)
{
	do {
		db_td_group_release(&x->g);
		x->n = x->next = 0;
		int rc = db_td_next(x->td, &x->g);
		if (rc <= 0)
			return rc;
		int n = x->g.n;
		if ((rc = rows_room(x, pairs ? n * (n - 1) / 2 : n)) < 0)
			return rc;
		x->n = pairs ? db_td_group_pairs(&x->g, x->pairs) :
			       db_td_group_sft(&x->g, x->min_score, x->idx);
	} while (x->n == 0);
	return pairs ? group_rm_scores(x, &x->g) : 1;
}

int db_export_pairs_next(struct db_export *x, struct db_pair_row *row)
{
	if (x->next >= x->n && !x->in_orders) {
		int rc = next_group(x, true);
		if (rc < 0)
			return rc;
		x->in_orders = rc == 0; /* the scores' pairs are done: the judgements' follow */
	}
	if (x->next >= x->n && x->in_orders) {
		int rc = next_order(x);
		if (rc <= 0)
			return rc;
	}
	const struct db_td_group *g = x->in_orders ? &x->o.g : &x->g;
	int ci = x->pairs[x->next][0], ri = x->pairs[x->next][1];
	const struct db_td_response *c = &g->responses[ci];
	const struct db_td_response *r = &g->responses[ri];
	row->rm_score_chosen = x->rm[ci];
	row->rm_score_rejected = x->rm[ri];
	x->next++;
	if (x->in_orders) {
		row->kind = x->o.kind;
		row->margin = x->o.level[ci] - x->o.level[ri];
		row->rater_id = x->o.rater_id;
	} else {
		row->kind = "score";
		row->margin = c->mean - r->mean;
		row->rater_id = 0;
	}
	row->prompt_id = g->prompt_id;
	row->group_id = g->id;
	row->prompt = g->prompt;
	row->prompt_len = g->prompt_len;
	row->messages = g->messages;
	row->chosen_id = c->id;
	row->chosen = c->text;
	row->chosen_len = c->text_len;
	row->score_chosen = c->mean;
	row->rejected_id = r->id;
	row->rejected = r->text;
	row->rejected_len = r->text_len;
	row->score_rejected = r->mean;
	return 1;
}

int db_export_sft_next(struct db_export *x, struct db_sft_row *row)
{
	if (x->next >= x->n) {
		int rc = next_group(x, false);
		if (rc <= 0)
			return rc;
	}
	const struct db_td_response *r = &x->g.responses[x->idx[x->next++]];
	row->prompt_id = x->g.prompt_id;
	row->group_id = x->g.id;
	row->prompt = x->g.prompt;
	row->prompt_len = x->g.prompt_len;
	row->messages = x->g.messages;
	row->response_id = r->id;
	row->response = r->text;
	row->response_len = r->text_len;
	row->score = r->mean;
	row->raters = r->n_ratings;
	row->origin = r->human ? "human" : r->imported ? "import" : "model";
	return 1;
}
