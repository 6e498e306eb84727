-- 0008_spot_checks.sql — the reward-hacking watch (db/spotcheck.h).
--
-- spot_checks: the answers of a generating version picked, when it became
-- active, to be rated first: the highest-scored unrated answer of each
-- prompt under the newest reward model, the spot_check_n highest of those.
-- A version is picked for once (its rows are never replaced); rm_model_id and
-- rm_score are that reward model and its score at the time of the pick.
-- /api/tasks/next hands their groups out before any other open group, and
-- the Models page compares people's scores of them with the reward model's.
CREATE TABLE spot_checks (
	model_id    INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
	response_id INTEGER NOT NULL REFERENCES responses(id),
	group_id    INTEGER NOT NULL REFERENCES gen_groups(id),
	rm_model_id INTEGER NOT NULL REFERENCES model_versions(id),
	rm_score    REAL    NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (model_id, response_id)
) WITHOUT ROWID;
CREATE INDEX spot_checks_group ON spot_checks(group_id);

-- How many answers a newly active version puts at the front of the queue
-- (0: none).  A value already set wins.
INSERT INTO config(key, value) VALUES ('spot_check_n', '8') ON CONFLICT(key) DO NOTHING;
