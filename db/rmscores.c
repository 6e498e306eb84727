/*
 * db/rmscores.c — the rm_scores table (see rmscores.h).
 */
#include "db/rmscores.h"
#include "db/db_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void db_rm_set_release(struct db_rm_set *s)
{
	for (int i = 0; i < s->n_prompts; i++) {
		free(s->prompts[i].text);
		free(s->prompts[i].messages);
	}
	for (int i = 0; i < s->n; i++)
		free(s->answers[i].text);
	free(s->prompts);
	free(s->answers);
	memset(s, 0, sizeof *s);
}

int db_rm_answers(struct db *db, const char *split, int64_t unscored_by, struct db_rm_set *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_prepare(db, STMT_RM_ANSWERS,
		"SELECT p.id, p.text, r.id, r.text, coalesce(r.ended, 1), p.messages"
		" FROM responses r JOIN prompts p ON p.id = r.prompt_id"
		" WHERE (:split IS NULL OR p.split = :split)"
		"  AND (:model IS NULL OR NOT EXISTS (SELECT 1 FROM rm_scores s"
		"       WHERE s.response_id = r.id AND s.model_id = :model))"
		" ORDER BY p.id, r.group_id, r.id",
		DB_ARGS(DB_TEXT(":split", split), DB_OPT(":model", unscored_by)));
	if (!st)
		return DB_ERROR;
	int rc, cap_p = 0, cap_a = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t pid = sqlite3_column_int64(st, 0);
		if (out->n_prompts == 0 || out->prompts[out->n_prompts - 1].id != pid) {
			if (db_grow((void **)&out->prompts, &cap_p, out->n_prompts + 1,
				    sizeof *out->prompts) < 0)
				goto nomem;
			struct db_rm_prompt *p = &out->prompts[out->n_prompts];
			p->id = pid;
			if (!(p->text = db_col_dup(st, 1, NULL)) ||
			    (sqlite3_column_type(st, 5) != SQLITE_NULL &&
			     !(p->messages = db_col_dup(st, 5, NULL))))
				goto nomem;
			out->n_prompts++;
		}
		if (db_grow((void **)&out->answers, &cap_a, out->n + 1, sizeof *out->answers) < 0)
			goto nomem;
		struct db_rm_answer *a = &out->answers[out->n];
		a->id = sqlite3_column_int64(st, 2);
		a->prompt = out->n_prompts - 1;
		a->ended = sqlite3_column_int(st, 4) != 0;
		if (!(a->text = db_col_dup(st, 3, NULL)))
			goto nomem;
		out->n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_rm_set_release(out);
		return db_fail(db, "cannot read the answers to score", rc);
	}
	return DB_OK;
nomem:
	sqlite3_reset(st);
	db_rm_set_release(out);
	return db_nomem("cannot read the answers to score");
}

/*
 * The groups of answers ids take their rm_gap (the smallest distance between
 * two of their answers' scores, i.e. between adjacent scores once sorted)
 * under model_id, unless a newer reward model already set it: the queue
 * (db/tasks.c, queue_order "uncertain") reads the newest model's doubt.
 * Inside the caller's transaction.
 */
static int rm_gaps_update(struct db *db, int64_t model_id, const int64_t *ids, int n)
{
	char *list = malloc((size_t)n * 21 + 3);
	if (!list)
		return db_nomem("cannot update the groups' score gaps");
	size_t len = 0;
	list[len++] = '[';
	for (int i = 0; i < n; i++)
		len += (size_t)sprintf(list + len, "%s%lld", i ? "," : "", (long long)ids[i]);
	list[len++] = ']';
	list[len] = 0;
	int rc = db_run(db, STMT_RM_GAPS,
		"UPDATE gen_groups SET rm_gap_model = :model, rm_gap = ("
		"  SELECT min(abs(a.score - b.score))"
		"  FROM responses ra JOIN responses rb ON rb.group_id = ra.group_id AND rb.id > ra.id"
		"  JOIN rm_scores a ON a.response_id = ra.id AND a.model_id = :model"
		"  JOIN rm_scores b ON b.response_id = rb.id AND b.model_id = :model"
		"  WHERE ra.group_id = gen_groups.id)"
		" WHERE id IN (SELECT r.group_id FROM responses r"
		"              WHERE r.id IN (SELECT value FROM json_each(:ids)))"
		"  AND (rm_gap_model IS NULL OR rm_gap_model <= :model)",
		DB_ARGS(DB_INT(":model", model_id), DB_TEXT(":ids", list)));
	free(list);
	return rc;
}

int db_rm_scores_put(struct db *db, int64_t model_id, int64_t job_id, const int64_t *ids,
		     const float *scores, int n)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	int64_t now = db_now();
	for (int i = 0; i < n && rc == DB_OK; i++)
		rc = db_run(db, STMT_RM_PUT,
			"INSERT OR REPLACE INTO rm_scores(response_id, model_id, score, job_id, created_at)"
			" VALUES (:response, :model, :score, :job, :now)",
			DB_ARGS(DB_INT(":response", ids[i]), DB_INT(":model", model_id),
				DB_REAL(":score", scores[i]), DB_OPT(":job", job_id), DB_INT(":now", now)));
	if (rc == DB_OK)
		rc = rm_gaps_update(db, model_id, ids, n);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

int db_rm_score_get(struct db *db, int64_t response_id, double *score, int64_t *model_id)
{
	sqlite3_stmt *st = db_prepare(db, STMT_RM_GET,
		"SELECT score, model_id FROM rm_scores WHERE response_id = :id"
		" ORDER BY model_id DESC LIMIT 1",
		DB_ARGS(DB_INT(":id", response_id)));
	if (!st)
		return DB_ERROR;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*score = sqlite3_column_double(st, 0);
		*model_id = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DB_OK;
	return rc == SQLITE_DONE ? DB_NOTFOUND : db_fail(db, "cannot read a reward-model score", rc);
}
