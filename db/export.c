/*
 * db/export.c — export cursors (see export.h).
 */
#include "db/export.h"
#include "db/db_impl.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>


/* One response of the group being turned into pairs (owned copies). */
struct pair_item {
	int64_t response_id;
	char *text;
	int len;
	double mean;
};

struct db_export {
	struct db *db;
	sqlite3_stmt *st;       /* borrowed from db's cache */
	/* pairs: the current group, its pairs, and the one row read ahead */
	int64_t group_id, prompt_id;
	char *prompt;
	int prompt_len;
	struct pair_item *items;
	int n_items, cap_items;
	int (*pairs)[2];
	int n_pairs, next_pair;
	int pending;            /* 1 when st holds a row of the next group */
	int done;
	int counted;            /* counted in db_long_readers */
};

int db_export_group_pairs(const double *means, int n, int (*pairs)[2])
{
	int k = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			if (means[i] == means[j])
				continue;
			int hi = means[i] > means[j] ? i : j;
			pairs[k][0] = hi;
			pairs[k][1] = hi == i ? j : i;
			k++;
		}
	return k;
}

static int export_open(const char *path, enum stmt_id id, const char *sql,
		       const struct db_export_filter *f, struct db_export **out)
{
	struct db_export *x = calloc(1, sizeof *x);
	if (!x)
		return DB_ERROR;
	if (db_open(&x->db, path, true) < 0) {
		free(x);
		return DB_ERROR;
	}
	atomic_fetch_add(&db_long_readers, 1);
	x->counted = 1;
	x->st = db_stmt(x->db, id, sql);
	if (!x->st) {
		db_export_close(x);
		return DB_ERROR;
	}
	db_bind_int64(x->st, ":since", f->since);
	db_bind_text(x->st, ":split", f->split);
	db_bind_int64(x->st, ":min_raters", f->min_raters);
	if (id == STMT_EXPORT_MEANS)
		db_bind_double(x->st, ":min_score", f->min_score);
	*out = x;
	return DB_OK;
}

void db_export_close(struct db_export *x)
{
	if (!x)
		return;
	for (int i = 0; i < x->n_items; i++)
		free(x->items[i].text);
	free(x->items);
	free(x->pairs);
	free(x->prompt);
	db_close(x->db); /* finalizes st */
	if (x->counted)
		atomic_fetch_sub(&db_long_readers, 1);
	free(x);
}

int db_export_ratings_open(const char *path, const struct db_export_filter *f, struct db_export **out)
{
	return export_open(path, STMT_EXPORT_RATINGS,
		"SELECT p.id, p.text, s.id, s.text, s.model_id, s.group_id, r.rater_id, t.name,"
		" r.score, r.helpful, r.honest, r.harmless, r.comment, r.flags, "
		ISO_TIME("r.created_at")
		" FROM ratings r JOIN responses s ON s.id = r.response_id"
		" JOIN prompts p ON p.id = s.prompt_id JOIN raters t ON t.id = r.rater_id"
		" WHERE r.superseded_at IS NULL AND r.created_at >= :since"
		"  AND (:split IS NULL OR p.split = :split)"
		"  AND (:min_raters <= 1 OR (SELECT count(*) FROM ratings c WHERE c.response_id = s.id"
		"       AND c.superseded_at IS NULL AND c.created_at >= :since) >= :min_raters)"
		" ORDER BY r.id", f, out);
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
	return 1;
}

int db_export_means_open(const char *path, const struct db_export_filter *f, struct db_export **out)
{
	return export_open(path, STMT_EXPORT_MEANS,
		"SELECT p.id, p.text, s.id, s.text, s.group_id, avg(r.score), count(*)"
		" FROM responses s JOIN prompts p ON p.id = s.prompt_id"
		" JOIN ratings r ON r.response_id = s.id AND r.superseded_at IS NULL"
		"  AND r.created_at >= :since"
		" WHERE (:split IS NULL OR p.split = :split)"
		" GROUP BY s.id HAVING count(*) >= :min_raters AND avg(r.score) >= :min_score"
		" ORDER BY s.group_id, s.id", f, out);
}

int db_export_means_next(struct db_export *x, struct db_mean_row *row)
{
	int rc = sqlite3_step(x->st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(x->db, "cannot read the means export", rc);
	sqlite3_stmt *st = x->st;
	row->prompt_id = sqlite3_column_int64(st, 0);
	row->prompt = db_col_text(st, 1);
	row->prompt_len = sqlite3_column_bytes(st, 1);
	row->response_id = sqlite3_column_int64(st, 2);
	row->response = db_col_text(st, 3);
	row->response_len = sqlite3_column_bytes(st, 3);
	row->group_id = sqlite3_column_int64(st, 4);
	row->mean = sqlite3_column_double(st, 5);
	row->raters = sqlite3_column_int(st, 6);
	return 1;
}

int db_export_pairs_open(const char *path, const struct db_export_filter *f, struct db_export **out)
{
	struct db_export_filter g = *f;
	g.min_score = -1e300; /* every rated response takes part in pairs */
	return db_export_means_open(path, &g, out);
}

static char *copy_bytes(const char *s, int n)
{
	char *p = malloc((size_t)n + 1);
	if (p) {
		memcpy(p, s, (size_t)n);
		p[n] = 0;
	}
	return p;
}

/* Reads the next group's responses (the statement's current row, if pending,
 * starts it) and computes its pairs.  Returns 1, 0 at the end, or DB_ERROR. */
static int pairs_load_group(struct db_export *x)
{
	for (int i = 0; i < x->n_items; i++)
		free(x->items[i].text);
	x->n_items = 0;
	x->n_pairs = x->next_pair = 0;
	for (;;) {
		if (!x->pending) {
			int rc = sqlite3_step(x->st);
			if (rc == SQLITE_DONE) {
				x->done = 1;
				break;
			}
			if (rc != SQLITE_ROW)
				return db_fail(x->db, "cannot read the pairs export", rc);
		}
		x->pending = 0;
		int64_t group = sqlite3_column_int64(x->st, 4);
		if (x->n_items > 0 && group != x->group_id) {
			x->pending = 1; /* first row of the next group */
			break;
		}
		if (x->n_items == 0) {
			x->group_id = group;
			x->prompt_id = sqlite3_column_int64(x->st, 0);
			free(x->prompt);
			x->prompt_len = sqlite3_column_bytes(x->st, 1);
			if (!(x->prompt = copy_bytes(db_col_text(x->st, 1), x->prompt_len)))
				return DB_ERROR;
		}
		if (x->n_items == x->cap_items) {
			int cap = x->cap_items ? 2 * x->cap_items : 16;
			struct pair_item *p = realloc(x->items, cap * sizeof *p);
			if (!p)
				return DB_ERROR;
			x->items = p;
			x->cap_items = cap;
		}
		struct pair_item *it = &x->items[x->n_items];
		it->response_id = sqlite3_column_int64(x->st, 2);
		it->len = sqlite3_column_bytes(x->st, 3);
		it->mean = sqlite3_column_double(x->st, 5);
		if (!(it->text = copy_bytes(db_col_text(x->st, 3), it->len)))
			return DB_ERROR;
		x->n_items++;
	}
	if (x->n_items == 0)
		return 0;
	int n = x->n_items;
	double *means = malloc(n * sizeof *means);
	int (*pairs)[2] = malloc(((size_t)n * (n - 1) / 2 + 1) * sizeof *pairs);
	if (!means || !pairs) {
		free(means);
		free(pairs);
		return DB_ERROR;
	}
	for (int i = 0; i < n; i++)
		means[i] = x->items[i].mean;
	x->n_pairs = db_export_group_pairs(means, n, pairs);
	free(means);
	free(x->pairs);
	x->pairs = pairs;
	return 1;
}

int db_export_pairs_next(struct db_export *x, struct db_pair_row *row)
{
	while (x->next_pair >= x->n_pairs) {
		if (x->done && !x->pending)
			return 0;
		int rc = pairs_load_group(x);
		if (rc <= 0)
			return rc;
	}
	const struct pair_item *c = &x->items[x->pairs[x->next_pair][0]];
	const struct pair_item *r = &x->items[x->pairs[x->next_pair][1]];
	x->next_pair++;
	row->prompt_id = x->prompt_id;
	row->group_id = x->group_id;
	row->prompt = x->prompt;
	row->prompt_len = x->prompt_len;
	row->chosen_id = c->response_id;
	row->chosen = c->text;
	row->chosen_len = c->len;
	row->score_chosen = c->mean;
	row->rejected_id = r->response_id;
	row->rejected = r->text;
	row->rejected_len = r->len;
	row->score_rejected = r->mean;
	return 1;
}
