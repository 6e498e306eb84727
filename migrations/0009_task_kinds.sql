-- 0009_task_kinds.sql — task kinds: besides scoring each answer 1-5, a rater
-- may rank a group's answers or compare two of them (issue 10; planned as
-- 0009, numbered 0007 here so that this branch runs without 0007/0008).
--
-- prompts.task_kind: how the prompt's answers are rated; NULL = the config
-- key task_kind (default "score").
ALTER TABLE prompts ADD COLUMN task_kind TEXT
	CHECK (task_kind IS NULL OR task_kind IN ('score', 'rank', 'pair'));

-- Orderings: a rank or pair judgement, one row per answer it places.  A
-- rater's current rows in a group (superseded_at NULL) are one judgement;
-- judging the group again supersedes them all, as ratings are superseded
-- (rows are never rewritten otherwise).  level orders the answers: higher is
-- better, equal levels are a tie (db/traindata.h turns a judgement into
-- pairs: every two answers of different levels, the gap the margin).
--  - rank: place 1 = the best tier, 2 the next...; level = tiers - place + 1.
--  - pair: place 1 = answer A, 2 = B; verdict a / b / tie / both_bad; the
--    preferred answer has level = strength (1-3), the other 0; tie and
--    both_bad put both at 0 (no pair).
CREATE TABLE orderings (
	id            INTEGER PRIMARY KEY,
	group_id      INTEGER NOT NULL REFERENCES gen_groups(id),
	rater_id      INTEGER NOT NULL REFERENCES raters(id),
	response_id   INTEGER NOT NULL REFERENCES responses(id),
	kind          TEXT    NOT NULL CHECK (kind IN ('rank', 'pair')),
	place         INTEGER NOT NULL CHECK (place >= 1),
	level         INTEGER NOT NULL CHECK (level >= 0),
	verdict       TEXT    CHECK (verdict IS NULL OR verdict IN ('a', 'b', 'tie', 'both_bad')),
	strength      INTEGER CHECK (strength IS NULL OR strength BETWEEN 1 AND 3),
	created_at    INTEGER NOT NULL,
	superseded_at INTEGER,
	CHECK ((kind = 'pair') = (verdict IS NOT NULL))
);
CREATE UNIQUE INDEX orderings_current ON orderings(response_id, rater_id) WHERE superseded_at IS NULL;
CREATE INDEX orderings_current_group ON orderings(group_id, rater_id) WHERE superseded_at IS NULL;

INSERT INTO config(key, value) VALUES ('task_kind', '"score"');
