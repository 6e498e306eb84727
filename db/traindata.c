/*
 * db/traindata.c — the training data definition (see traindata.h): the
 * groups cursor over the score views, the pair and SFT rules, and the
 * prompt reads of the generation and RL jobs.
 */
#include "db/traindata.h"
#include "db/db_impl.h"
#include "db/ratings.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void db_td_group_release(struct db_td_group *g)
{
	for (int i = 0; i < g->n; i++) {
		free(g->responses[i].text);
		free(g->responses[i].rating_ids);
	}
	free(g->responses);
	free(g->prompt);
	free(g->messages);
	memset(g, 0, sizeof *g);
}

void db_td_order_release(struct db_td_order *o)
{
	db_td_group_release(&o->g);
	free(o->level);
	memset(o, 0, sizeof *o);
}

void db_td_set_release(struct db_td_set *s)
{
	for (int g = 0; g < s->n_groups; g++)
		db_td_group_release(&s->groups[g]);
	free(s->groups);
	for (int i = 0; i < s->n_orders; i++)
		db_td_order_release(&s->orders[i]);
	free(s->orders);
	memset(s, 0, sizeof *s);
}

void db_td_prompts_free(struct db_td_prompt *p, int n)
{
	for (int i = 0; i < n && p; i++) {
		free(p[i].text);
		free(p[i].messages);
	}
	free(p);
}

/* ---- the groups cursor --------------------------------------------------- */

/*
 * One row per (answer, current rating), or per demonstration with a NULL
 * rating, ordered so groups, answers and ratings come in runs.  The mean and
 * the filter's counts come from answer_scores (migrations/0003_scores.sql).
 * The join order matters to SQLite's planner: with current_ratings joined
 * first it reads the ratings through their index and looks answer_scores
 * (materialized once) up through an automatic index; the other way round it
 * scanned the whole view for every answer (seconds became minutes on 100k
 * answers).
 */
#define TD_GROUPS_SQL \
	"SELECT g.id, g.prompt_id, coalesce(g.model_id, 0), p.text, r.id, r.text," \
	" r.model_id IS NULL, coalesce(r.ended, 1), s.mean, c.id, r.origin = 'human'," \
	" p.messages" \
	" FROM responses r" \
	" JOIN gen_groups g ON g.id = r.group_id" \
	" JOIN prompts p ON p.id = r.prompt_id" \
	" LEFT JOIN current_ratings c ON c.response_id = r.id" \
	" LEFT JOIN answer_scores s ON s.response_id = r.id" \
	" WHERE (:split IS NULL OR p.split = :split)" \
	" AND ((s.response_id IS NOT NULL AND s.raters >= :min_raters" \
	"       AND s.last_rated_at >= :since)" \
	"  OR ((:imported OR r.origin = 'human') AND :min_raters <= 1 AND r.model_id IS NULL" \
	"      AND s.response_id IS NULL AND r.created_at >= :since))" \
	" ORDER BY g.id, r.id, c.id"

struct db_td_cursor {
	struct db *db;
	sqlite3_stmt *st;       /* borrowed from db's cache */
	bool pending;           /* st holds the first row of the next group */
	bool done;
};

int db_td_open(struct db *db, const struct db_td_filter *f, struct db_td_cursor **out)
{
	struct db_td_cursor *c = calloc(1, sizeof *c);
	if (!c) {
		return db_nomem("cannot read rated answers");
	}
	c->db = db;
	c->st = db_prepare(db, STMT_TD_GROUPS, TD_GROUPS_SQL,
		DB_ARGS(DB_TEXT(":split", f->split), DB_INT(":since", f->since),
			DB_INT(":min_raters", f->min_raters), DB_INT(":imported", f->with_imported)));
	if (!c->st) {
		free(c);
		return DB_ERROR;
	}
	*out = c;
	return DB_OK;
}

void db_td_close(struct db_td_cursor *c)
{
	if (!c)
		return;
	sqlite3_reset(c->st);
	free(c);
}

/* Adds the statement's current row to g (a new answer, or one more rating
 * of the last one).  0, or -1 when out of memory. */
static int add_row(sqlite3_stmt *st, struct db_td_group *g, int *cap_r, int *cap_id)
{
	if (g->n == 0) {
		g->id = sqlite3_column_int64(st, 0);
		g->prompt_id = sqlite3_column_int64(st, 1);
		g->model_id = sqlite3_column_int64(st, 2);
		if (!(g->prompt = db_col_dup(st, 3, &g->prompt_len)))
			return -1;
		if (sqlite3_column_type(st, 11) != SQLITE_NULL &&
		    !(g->messages = db_col_dup(st, 11, NULL)))
			return -1;
	}
	int64_t rid = sqlite3_column_int64(st, 4);
	struct db_td_response *r = g->n ? &g->responses[g->n - 1] : NULL;
	if (!r || r->id != rid) {
		if (db_grow((void **)&g->responses, cap_r, g->n + 1, sizeof *g->responses) < 0)
			return -1;
		r = &g->responses[g->n++];
		r->id = rid;
		r->imported = sqlite3_column_int(st, 6) != 0;
		r->human = sqlite3_column_int(st, 10) != 0;
		r->ended = sqlite3_column_int(st, 7) != 0;
		r->mean = sqlite3_column_type(st, 8) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 8);
		*cap_id = 0;
		if (!(r->text = db_col_dup(st, 5, &r->text_len)))
			return -1;
	}
	if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
		if (db_grow((void **)&r->rating_ids, cap_id, r->n_ratings + 1, sizeof *r->rating_ids) < 0)
			return -1;
		r->rating_ids[r->n_ratings++] = sqlite3_column_int64(st, 9);
	}
	return 0;
}

int db_td_next(struct db_td_cursor *c, struct db_td_group *g)
{
	int cap_r = 0, cap_id = 0;
	memset(g, 0, sizeof *g);
	while (!c->done) {
		if (!c->pending) {
			int rc = sqlite3_step(c->st);
			if (rc == SQLITE_DONE) {
				c->done = true;
				break;
			}
			if (rc != SQLITE_ROW) {
				db_td_group_release(g);
				return db_fail(c->db, "cannot read rated answers", rc);
			}
		}
		c->pending = false;
		if (g->n > 0 && sqlite3_column_int64(c->st, 0) != g->id) {
			c->pending = true; /* the first row of the next group */
			break;
		}
		if (add_row(c->st, g, &cap_r, &cap_id) < 0) {
			db_td_group_release(g);
			return db_nomem("cannot read rated answers");
		}
	}
	return g->n > 0 ? 1 : 0;
}

/* ---- the judgements cursor ------------------------------------------------- */

/* One row per placed answer of a current judgement, by group, rater, answer. */
#define TD_ORDERS_SQL \
	"SELECT g.id, g.prompt_id, coalesce(g.model_id, 0), p.text, r.id, r.text," \
	" r.model_id IS NULL, coalesce(r.ended, 1), o.rater_id, o.kind, o.level, p.messages" \
	" FROM orderings o" \
	" JOIN responses r ON r.id = o.response_id" \
	" JOIN gen_groups g ON g.id = o.group_id" \
	" JOIN prompts p ON p.id = g.prompt_id" \
	" WHERE o.superseded_at IS NULL AND (:split IS NULL OR p.split = :split)" \
	" AND o.created_at >= :since" \
	" AND (:min_raters <= 1 OR (SELECT count(DISTINCT x.rater_id) FROM orderings x" \
	"      WHERE x.group_id = o.group_id AND x.superseded_at IS NULL) >= :min_raters)" \
	" ORDER BY o.group_id, o.rater_id, r.id"

struct db_td_order_cursor {
	struct db *db;
	sqlite3_stmt *st;       /* borrowed from db's cache */
	bool pending;           /* st holds the first row of the next judgement */
	bool done;
};

int db_td_orders_open(struct db *db, const struct db_td_filter *f, struct db_td_order_cursor **out)
{
	struct db_td_order_cursor *c = calloc(1, sizeof *c);
	if (!c)
		return db_nomem("cannot read judgements");
	c->db = db;
	c->st = db_prepare(db, STMT_TD_ORDERS, TD_ORDERS_SQL,
		DB_ARGS(DB_TEXT(":split", f->split), DB_INT(":since", f->since),
			DB_INT(":min_raters", f->min_raters)));
	if (!c->st) {
		free(c);
		return DB_ERROR;
	}
	*out = c;
	return DB_OK;
}

void db_td_orders_close(struct db_td_order_cursor *c)
{
	if (!c)
		return;
	sqlite3_reset(c->st);
	free(c);
}

/* Adds the statement's current row (one placed answer) to o: 0, or -1. */
static int add_order_row(sqlite3_stmt *st, struct db_td_order *o, int *cap)
{
	struct db_td_group *g = &o->g;
	if (g->n == 0) {
		g->id = sqlite3_column_int64(st, 0);
		g->prompt_id = sqlite3_column_int64(st, 1);
		g->model_id = sqlite3_column_int64(st, 2);
		o->rater_id = sqlite3_column_int64(st, 8);
		snprintf(o->kind, sizeof o->kind, "%s", db_col_text(st, 9));
		if (!(g->prompt = db_col_dup(st, 3, &g->prompt_len)))
			return -1;
		if (sqlite3_column_type(st, 11) != SQLITE_NULL &&
		    !(g->messages = db_col_dup(st, 11, NULL)))
			return -1;
	}
	int old = *cap;
	if (db_grow((void **)&g->responses, cap, g->n + 1, sizeof *g->responses) < 0)
		return -1;
	if (*cap != old) {
		int c2 = old;
		if (db_grow((void **)&o->level, &c2, *cap, sizeof *o->level) < 0)
			return -1;
	}
	struct db_td_response *r = &g->responses[g->n];
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(st, 4);
	r->imported = sqlite3_column_int(st, 6) != 0;
	r->ended = sqlite3_column_int(st, 7) != 0;
	r->mean = NAN;
	o->level[g->n] = sqlite3_column_int(st, 10);
	g->n++;
	if (!(r->text = db_col_dup(st, 5, &r->text_len)))
		return -1;
	return 0;
}

int db_td_orders_next(struct db_td_order_cursor *c, struct db_td_order *o)
{
	int cap = 0;
	memset(o, 0, sizeof *o);
	while (!c->done) {
		if (!c->pending) {
			int rc = sqlite3_step(c->st);
			if (rc == SQLITE_DONE) {
				c->done = true;
				break;
			}
			if (rc != SQLITE_ROW) {
				db_td_order_release(o);
				return db_fail(c->db, "cannot read judgements", rc);
			}
		}
		c->pending = false;
		if (o->g.n > 0 && (sqlite3_column_int64(c->st, 0) != o->g.id ||
				   sqlite3_column_int64(c->st, 8) != o->rater_id)) {
			c->pending = true; /* the first row of the next judgement */
			break;
		}
		if (add_order_row(c->st, o, &cap) < 0) {
			db_td_order_release(o);
			return db_nomem("cannot read judgements");
		}
	}
	return o->g.n > 0 ? 1 : 0;
}

/* ---- the rules --------------------------------------------------------- */

/* Two answers with the same text (both known): nothing to prefer. */
static bool same_text(const struct db_td_response *a, const struct db_td_response *b)
{
	return a->text && b->text && a->text_len == b->text_len &&
	       memcmp(a->text, b->text, (size_t)a->text_len) == 0;
}

int db_td_order_pairs(const struct db_td_order *o, int (*pairs)[2])
{
	int k = 0;
	for (int i = 0; i < o->g.n; i++)
		for (int j = i + 1; j < o->g.n; j++) {
			int li = o->level[i], lj = o->level[j];
			if (li == lj || same_text(&o->g.responses[i], &o->g.responses[j]))
				continue;
			if (pairs) {
				pairs[k][0] = li > lj ? i : j;
				pairs[k][1] = li > lj ? j : i;
			}
			k++;
		}
	return k;
}


int db_td_group_pairs(const struct db_td_group *g, int (*pairs)[2])
{
	int k = 0;
	for (int i = 0; i < g->n; i++) {
		double mi = g->responses[i].mean;
		if (isnan(mi))
			continue;
		for (int j = i + 1; j < g->n; j++) {
			double mj = g->responses[j].mean;
			if (isnan(mj) || mi == mj || same_text(&g->responses[i], &g->responses[j]))
				continue;
			if (pairs) {
				pairs[k][0] = mi > mj ? i : j;
				pairs[k][1] = mi > mj ? j : i;
			}
			k++;
		}
	}
	return k;
}

int db_td_group_sft(const struct db_td_group *g, double min_score, int *idx)
{
	int k = 0;
	for (int i = 0; i < g->n; i++) {
		const struct db_td_response *r = &g->responses[i];
		if ((r->imported && isnan(r->mean)) || r->mean >= min_score)
			idx[k++] = i;
	}
	return k;
}

int db_td_group_below(const struct db_td_group *g, double min_score)
{
	int n = 0;
	for (int i = 0; i < g->n; i++)
		n += !isnan(g->responses[i].mean) && g->responses[i].mean < min_score;
	return n;
}

/* ---- the whole set, for the jobs ----------------------------------------- */

static int read_groups(struct db *db, const struct db_td_filter *f, struct db_td_set *out)
{
	struct db_td_cursor *c;
	int rc = db_td_open(db, f, &c);
	if (rc < 0)
		return rc;
	int cap = 0;
	for (;;) {
		if (db_grow((void **)&out->groups, &cap, out->n_groups + 1, sizeof *out->groups) < 0) {
			rc = db_nomem("cannot read rated answers");
			break;
		}
		if ((rc = db_td_next(c, &out->groups[out->n_groups])) <= 0)
			break;
		out->n_groups++;
	}
	db_td_close(c);
	if (rc < 0)
		return rc;
	struct db_td_order_cursor *oc;
	if ((rc = db_td_orders_open(db, f, &oc)) < 0)
		return rc;
	cap = 0;
	for (;;) {
		if (db_grow((void **)&out->orders, &cap, out->n_orders + 1, sizeof *out->orders) < 0) {
			rc = db_nomem("cannot read judgements");
			break;
		}
		if ((rc = db_td_orders_next(oc, &out->orders[out->n_orders])) <= 0)
			break;
		out->n_orders++;
	}
	db_td_orders_close(oc);
	return rc < 0 ? rc : DB_OK;
}

int db_traindata_groups(struct db *db, const char *split, bool with_imported,
			struct db_td_set *out)
{
	struct db_td_filter f = { .split = split, .with_imported = with_imported };
	memset(out, 0, sizeof *out);
	int rc = db_begin_read(db);
	if (rc < 0)
		return rc;
	if ((rc = db_work_max_rating_id(db, &out->max_rating_id)) == DB_OK &&
	    (rc = db_work_max_ordering_id(db, &out->max_ordering_id)) == DB_OK)
		rc = read_groups(db, &f, out);
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
		if (db_grow((void **)&p, &cap, cnt + 1, sizeof *p) < 0 ||
		    !(p[cnt].text = strdup(db_col_text(st, 1))) ||
		    (sqlite3_column_type(st, 2) != SQLITE_NULL &&
		     !(p[cnt].messages = strdup(db_col_text(st, 2))))) {
			sqlite3_reset(st);
			db_td_prompts_free(p, cnt);
			return db_nomem("cannot read prompts");
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
		"SELECT id, text, messages FROM prompts WHERE :split IS NULL OR split = :split"
		" ORDER BY id LIMIT :limit");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":split", split);
	db_bind_int64(st, ":limit", limit > 0 ? limit : -1);
	return collect_prompts(db, st, out, n);
}

/* The generate job's order of prompts p: the fewest groups first, ties in a
 * fixed scattered order of their ids (Knuth's multiplicative hash). */
#define TD_FEWEST_GROUPS_FIRST \
	" (SELECT count(*) FROM gen_groups g WHERE g.prompt_id = p.id)," \
	" (p.id * 2654435761) % 4294967296, id"

int db_traindata_prompts_unanswered(struct db *db, const char *split, int64_t model_id,
				    int64_t pair_model, int limit, struct db_td_prompt **out, int *n)
{
	sqlite3_stmt *st = db_stmt(db, STMT_TD_PROMPTS_NEW,
		"WITH trained(prompt_id) AS (" TRAINED_PROMPTS(":model, :pair") ")"
		" SELECT id, text, messages FROM prompts p WHERE (:split IS NULL OR split = :split)"
		" AND (:model <= 0 OR NOT EXISTS (SELECT 1 FROM gen_groups g"
		"  WHERE g.model_id = :model AND g.prompt_id = p.id))"
		" ORDER BY :pair > 0 AND p.id IN trained,"
		" NOT EXISTS (SELECT 1 FROM gen_groups g"
		"  WHERE g.model_id = :pair AND g.prompt_id = p.id)," TD_FEWEST_GROUPS_FIRST
		" LIMIT :limit");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":split", split);
	db_bind_int64(st, ":model", model_id);
	db_bind_int64(st, ":pair", pair_model);
	db_bind_int64(st, ":limit", limit > 0 ? limit : -1);
	return collect_prompts(db, st, out, n);
}

int db_traindata_prompts_unsolved(struct db *db, const char *split, double min_score, int limit,
				  struct db_td_prompt **out, int *n)
{
	sqlite3_stmt *st = db_stmt(db, STMT_TD_PROMPTS_UNSOLVED,
		"WITH best AS (SELECT r.prompt_id, max(x.mean) AS m FROM answer_scores x"
		"  JOIN responses r ON r.id = x.response_id GROUP BY r.prompt_id)"
		" SELECT p.id, p.text, p.messages FROM prompts p JOIN best b ON b.prompt_id = p.id"
		" WHERE (:split IS NULL OR p.split = :split) AND b.m < :min"
		" ORDER BY" TD_FEWEST_GROUPS_FIRST " LIMIT :limit");
	if (!st)
		return DB_ERROR;
	db_bind_text(st, ":split", split);
	db_bind_double(st, ":min", min_score);
	db_bind_int64(st, ":limit", limit > 0 ? limit : -1);
	return collect_prompts(db, st, out, n);
}

int db_traindata_prompts_by_id(struct db *db, const int64_t *ids, int n_ids,
			       struct db_td_prompt **out, int *n, int64_t *missing)
{
	struct db_td_prompt *p = calloc(n_ids > 0 ? (size_t)n_ids : 1, sizeof *p);
	if (!p)
		return db_nomem("cannot read prompts");
	sqlite3_stmt *st = db_stmt(db, STMT_TD_PROMPT_BY_ID, "SELECT text, messages FROM prompts WHERE id = :id");
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
			if (!(p[i].text = strdup(db_col_text(st, 0))) ||
			    (sqlite3_column_type(st, 1) != SQLITE_NULL &&
			     !(p[i].messages = strdup(db_col_text(st, 1)))))
				rc = db_nomem("cannot read a prompt");
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
