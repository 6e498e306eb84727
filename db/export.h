/*
 * db/export.h — cursors over the rating data for the streamed exports
 * (ratings.jsonl / .csv, pairs.jsonl, sft.jsonl).
 *
 * A cursor owns its own read-only connection and one statement that it steps
 * row by row, so an export of any size is never held in memory and never
 * blocks writers (WAL readers see one snapshot: the statement's).  Strings in
 * the rows are borrowed until the next call on the cursor.
 */
#ifndef RLHFD_DB_EXPORT_H
#define RLHFD_DB_EXPORT_H

#include <stdint.h>

struct db_export_filter {
	int64_t since;      /* only ratings created at or after (unix s); 0 = all */
	const char *split;  /* "train", "eval", or NULL for both */
	int min_raters;     /* only responses with >= this many current raters */
	double min_score;   /* sft: only responses whose mean score is >= this */
};

struct db_rating_row {
	int64_t prompt_id, response_id, group_id, rater_id;
	int64_t model_id;               /* 0 when the answer was imported */
	const char *prompt, *response, *rater, *created_at;
	int prompt_len, response_len;   /* bytes (texts may hold any bytes) */
	int score;
	int helpful, honest, harmless;  /* 0 when not given */
	const char *comment;            /* NULL when not given */
	const char *flags;              /* JSON array text */
};

struct db_mean_row {
	int64_t prompt_id, response_id, group_id;
	const char *prompt, *response;
	int prompt_len, response_len;
	double mean;                    /* mean current score */
	int raters;
};

struct db_pair_row {
	int64_t prompt_id, group_id, chosen_id, rejected_id;
	const char *prompt, *chosen, *rejected;
	int prompt_len, chosen_len, rejected_len;
	double score_chosen, score_rejected;
};

struct db_export;

/* Opens a cursor on the database file at path.  Returns 0 or DB_ERROR. */
int db_export_ratings_open(const char *path, const struct db_export_filter *f, struct db_export **out);
int db_export_means_open(const char *path, const struct db_export_filter *f, struct db_export **out);
int db_export_pairs_open(const char *path, const struct db_export_filter *f, struct db_export **out);

/* Next row: 1 with *row filled, 0 at the end, DB_ERROR on failure. */
int db_export_ratings_next(struct db_export *x, struct db_rating_row *row);
int db_export_means_next(struct db_export *x, struct db_mean_row *row);
int db_export_pairs_next(struct db_export *x, struct db_pair_row *row);

void db_export_close(struct db_export *x);

/*
 * The preference pairs of one group from its responses' mean scores: every
 * (i, j) with means[i] > means[j], ties dropped.  Writes chosen/rejected
 * indexes into pairs[k][0] / pairs[k][1] (room for n(n-1)/2) in order of i
 * then j, and returns how many.
 */
int db_export_group_pairs(const double *means, int n, int (*pairs)[2]);

#endif
