-- 0003_scores.sql — one definition of an answer's score, for every reader.
--
-- The exports (pairs.jsonl, sft.jsonl) and the training jobs (reward, DPO,
-- SFT) read an answer's score from these views (through db/traindata.c), so
-- what a user exports is what the model trains on.

-- The current ratings: one per (rater, answer), the newest judgement; a
-- re-rating marks the older row superseded (db/ratings.c), so current means
-- not superseded.  The partial indexes on ratings serve queries through it.
CREATE VIEW current_ratings AS
	SELECT id, response_id, group_id, rater_id, score, helpful, honest, harmless,
	       comment, flags, created_at
	FROM ratings WHERE superseded_at IS NULL;

-- Each rated answer's mean score over its current ratings, with how many
-- there are and when the newest was given.  The mean is the integer sum
-- divided by the count in double precision, exactly as C computes
-- sum / n (avg() may add in long double on some builds: a different
-- rounding path).
CREATE VIEW answer_scores AS
	SELECT response_id, group_id,
	       CAST(sum(score) AS REAL) / count(*) AS mean,
	       count(*) AS raters,
	       max(created_at) AS last_rated_at
	FROM current_ratings GROUP BY response_id;
