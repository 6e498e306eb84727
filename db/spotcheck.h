/*
 * db/spotcheck.h — the spot_checks table (migrations/0008_spot_checks.sql):
 * the answers of a newly active version that people rate first, and the
 * figures that compare people's scores of them with the reward model's (the
 * reward-hacking watch, server/worker/spotcheck.c decides on them).
 *
 * Functions run inside the caller's transaction (or in autocommit).
 */
#ifndef RLHFD_DB_SPOTCHECK_H
#define RLHFD_DB_SPOTCHECK_H

#include <stdbool.h>
#include <stdint.h>

struct db;

/*
 * Picks the spot checks of version model_id, once: nothing when it has some
 * already or n <= 0.  Under the newest reward model (highest id), among the
 * version's answers that model scored and nobody rated (no current rating),
 * the highest-scored answer of each prompt, then the n highest of those
 * (ties by answer id): one answer per prompt, so the people's verdict below
 * pairs n prompts.  *picked = how many (0 when there is no reward model or no
 * scored unrated answer yet).
 */
int db_spot_pick(struct db *db, int64_t model_id, int n, int *picked);

/* Does version model_id have spot checks? */
int db_spot_has(struct db *db, int64_t model_id, bool *has);

/* Does a reward model exist that has not scored every answer of version
 * model_id (the newest one; false when there is none or no answer)? */
int db_spot_unscored(struct db *db, int64_t model_id, bool *unscored);

/*
 * The figures of version model_id's spot checks; DB_NOTFOUND when it has
 * none.  An answer's human score is the mean of its current ratings
 * (answer_scores, migrations/0003_scores.sql); its reward score the one
 * recorded when it was picked (under rm_model_id).
 *
 * The paired part compares with the version's parent on the spot checks'
 * prompts where both have a rated answer, each prompt weighing the same: for
 * the version, its rated spot-checked answer on the prompt; for the parent,
 * the mean over its rated answers on the prompt that rm_model_id scored.
 * worse / better / ties count the prompts whose human score is lower /
 * higher / equal for the version.
 */
struct db_spot {
	int64_t rm_model_id;
	int answers;               /* spot-checked answers */
	double rm_mean;            /* their mean reward score */
	int rated;                 /* of them with a current rating */
	int ratings;               /* current ratings on them */
	double human_mean;         /* mean human score of the rated ones (NAN: none) */
	int64_t parent_id;         /* 0: none */
	int prompts;               /* paired prompts */
	double rm_paired, parent_rm_paired;       /* NAN when prompts == 0 */
	double human_paired, parent_human_paired; /* NAN when prompts == 0 */
	int worse, better, ties;
};
int db_spot_get(struct db *db, int64_t model_id, struct db_spot *out);

#endif
