-- 0010_gold.sql (0011 in the plan; the next free number on main when merged) — quality control: gold answers and the time a task took.
--
-- gold_scores: an admin's known score (1-5) of every answer of a gold group
-- (PUT /api/groups/{id}/gold).  A group is gold when its answers have rows
-- here; a share of each rater's queue (config gold_share) is gold groups they
-- have not rated, and the Overview compares each rater's ratings of gold
-- answers with these scores.  Raters' ratings of gold groups are ordinary
-- ratings (and training data); the gold scores themselves are not ratings.
CREATE TABLE gold_scores (
	response_id INTEGER PRIMARY KEY REFERENCES responses(id),
	group_id    INTEGER NOT NULL REFERENCES gen_groups(id),
	score       INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
	created_at  INTEGER NOT NULL
);
CREATE INDEX gold_scores_group ON gold_scores(group_id);

-- task_times: when a rater's lease on a group began and when they first
-- rated it (a lease row is deleted by the rating, so its start is kept
-- here).  One row per (group, rater): the first rating of a leased group;
-- groups rated by id without a lease have none.  The Overview's median
-- seconds per task and too-fast flag read it.
CREATE TABLE task_times (
	group_id    INTEGER NOT NULL REFERENCES gen_groups(id),
	rater_id    INTEGER NOT NULL REFERENCES raters(id),
	leased_at   INTEGER NOT NULL,
	rated_at    INTEGER NOT NULL,
	PRIMARY KEY (rater_id, group_id)
) WITHOUT ROWID;

-- gold_share: the probability that /api/tasks/next hands a rater a gold
-- group they have not rated (when one is left); too_fast_seconds: a rater
-- whose median seconds per task is below it is flagged on the Overview.
INSERT INTO config(key, value) VALUES ('gold_share', '0.1'), ('too_fast_seconds', '3.0')
	ON CONFLICT(key) DO NOTHING;
