-- 0006_rm_scores.sql — reward-model scores beside the human ones.
--
-- rm_scores: an answer's score under a reward model (the model's output, which
-- a reward model trained with normalize — the default — has rescaled to mean 0
-- and std 1 over its training answers), written by the score job
-- (server/worker/job_score.c).  One row per (answer, reward model): a newer
-- reward model's scores sit beside the older ones, and readers take the newest
-- model's (GET /api/prompts/{id}, the exports).
CREATE TABLE rm_scores (
	response_id INTEGER NOT NULL REFERENCES responses(id),
	model_id    INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
	score       REAL    NOT NULL,
	job_id      INTEGER REFERENCES jobs(id),
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (response_id, model_id)
) WITHOUT ROWID;

-- The jobs table gains the kind 'score'.  SQLite cannot change a CHECK, so
-- the table is rebuilt (db/migrate.c runs a migration with foreign keys off
-- and checks them before it commits): the new table is filled, the old one
-- dropped, and the new one takes its name, which the other tables'
-- "REFERENCES jobs" name.
CREATE TABLE jobs_0006 (
	id               INTEGER PRIMARY KEY,
	kind             TEXT    NOT NULL CHECK (kind IN ('generate', 'sft', 'reward', 'ppo',
	                                                  'rloo', 'grpo', 'dpo', 'eval', 'score')),
	params           TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
	status           TEXT    NOT NULL DEFAULT 'queued'
	                         CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
	progress         REAL    NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
	error            TEXT,
	cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
	metrics          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
	model_id         INTEGER REFERENCES model_versions(id),
	created_at       INTEGER NOT NULL,
	started_at       INTEGER,
	finished_at      INTEGER
);
INSERT INTO jobs_0006(id, kind, params, status, progress, error, cancel_requested, metrics,
                      model_id, created_at, started_at, finished_at)
SELECT id, kind, params, status, progress, error, cancel_requested, metrics,
       model_id, created_at, started_at, finished_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_0006 RENAME TO jobs;
CREATE INDEX jobs_status ON jobs(status, id);
