-- 0007_best.sql — the job kind 'best': the reference fine-tuned on the answers
-- people rated best, then the promotion gate (server/worker/job_train.c
-- job_best), and the loop's default policy step.

-- The jobs table gains the kind 'best', rebuilt as 0006 rebuilt it for
-- 'score' (SQLite cannot change a CHECK).
CREATE TABLE jobs_0007 (
	id               INTEGER PRIMARY KEY,
	kind             TEXT    NOT NULL CHECK (kind IN ('generate', 'sft', 'reward', 'ppo',
	                                                  'rloo', 'grpo', 'dpo', 'eval', 'score',
	                                                  'best')),
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
INSERT INTO jobs_0007(id, kind, params, status, progress, error, cancel_requested, metrics,
                      model_id, created_at, started_at, finished_at)
SELECT id, kind, params, status, progress, error, cancel_requested, metrics,
       model_id, created_at, started_at, finished_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_0007 RENAME TO jobs;
CREATE INDEX jobs_status ON jobs(status, id);

-- A new installation's loop improves the policy with 'best' rather than PPO:
-- on the demo world it is the step that moves held-out prompts (the
-- README's "What the loop does").  A database that has run any job keeps the
-- rl_kind it has, which its owner may have chosen.
UPDATE config SET value = json_set(value, '$.rl_kind', 'best')
WHERE key = 'auto_train' AND json_extract(value, '$.rl_kind') = 'ppo'
  AND NOT EXISTS (SELECT 1 FROM jobs);
