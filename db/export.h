/*
 * db/export.h — cursors over the rating data for the streamed exports
 * (ratings.jsonl / .csv, pairs.jsonl, sft.jsonl).
 *
 * A cursor owns its own read-only connection and one statement that it steps
 * row by row, so an export of any size is never held in memory (one group at
 * a time at most) and never blocks writers (WAL readers see one snapshot: the
 * statement's).  Pairs and SFT rows come from db/traindata.h's definition —
 * pairs.jsonl's the scores' pairs group by group, then the rank and pair
 * judgements' pairs judgement by judgement —
 * the very rows the reward, DPO and SFT jobs train on, under the same filter.
 * Strings in the rows are borrowed until the next call on the cursor.
 */
#ifndef RLHFD_DB_EXPORT_H
#define RLHFD_DB_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

struct db_export_filter {
	int64_t since;       /* ratings: created at or after (unix s); pairs and SFT:
			      * answers last rated at or after, demonstrations
			      * created at or after; 0 = all */
	const char *split;   /* "train", "eval", or NULL for both */
	int min_raters;      /* only answers with >= this many current raters (above 1:
			      * no demonstrations either) */
	double min_score;    /* sft: only answers whose mean score is >= this */
	bool with_imported;  /* sft: plus the demonstrations (imported, unrated) */
};

struct db_rating_row {
	int64_t prompt_id, response_id, group_id, rater_id;
	int64_t model_id;               /* 0 when the answer was imported */
	const char *prompt, *response, *rater, *created_at;
	int prompt_len, response_len;   /* bytes (texts may hold any bytes) */
	const char *messages;           /* a conversation prompt's messages (JSON
					   array text), NULL for a plain prompt */
	int score;
	int helpful, honest, harmless;  /* 0 when not given */
	const char *comment;            /* NULL when not given */
	const char *flags;              /* JSON array text */
	double rm_score;                /* the newest reward model's score of the
					   answer (db/rmscores.h); NAN when none */
	int64_t guideline_version;      /* in force when it was rated; 0 when none */
};

struct db_sft_row {
	int64_t prompt_id, response_id, group_id;
	const char *prompt, *response;
	int prompt_len, response_len;
	const char *messages;           /* as in db_rating_row */
	double score;                   /* mean current score; NAN for a demonstration */
	int raters;                     /* current ratings (0 for a demonstration) */
	const char *origin;             /* "model", "import" or "human" (a rater's
					   demonstration: migrations/0010) */
};

struct db_pair_row {
	int64_t prompt_id, group_id, chosen_id, rejected_id;
	const char *prompt, *chosen, *rejected;
	int prompt_len, chosen_len, rejected_len;
	const char *messages;           /* as in db_rating_row */
	double score_chosen, score_rejected;       /* mean scores; NAN for a judgement's pair */
	double rm_score_chosen, rm_score_rejected; /* as in db_rating_row; NAN when none */
	const char *kind;    /* "score" (two means), "rank" or "pair" (one rater's judgement) */
	double margin;       /* score: the means' gap; rank: the tiers between; pair: strength */
	int64_t rater_id;    /* the judgement's rater; 0 for "score" */
};

struct db_export;

/* Opens a cursor on the database file at path.  Returns 0 or DB_ERROR. */
int db_export_ratings_open(const char *path, const struct db_export_filter *f, struct db_export **out);
int db_export_sft_open(const char *path, const struct db_export_filter *f, struct db_export **out);
int db_export_pairs_open(const char *path, const struct db_export_filter *f, struct db_export **out);

/* Next row: 1 with *row filled, 0 at the end, or a negative DB_* code. */
int db_export_ratings_next(struct db_export *x, struct db_rating_row *row);
int db_export_sft_next(struct db_export *x, struct db_sft_row *row);
int db_export_pairs_next(struct db_export *x, struct db_pair_row *row);

void db_export_close(struct db_export *x);

#endif
