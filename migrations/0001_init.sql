-- 0001_init.sql — the first schema of rlhfd.
--
-- Times are INTEGER unix seconds (UTC).  JSON columns are TEXT checked with
-- json_valid().  Ids are INTEGER PRIMARY KEY (rowid aliases).  Never edit this
-- file once landed: a schema change is a new numbered file.

-- People (and scripts) who rate; admins also import, export and train.
-- token_hash is SHA-256 of the bearer token; the token itself is never stored.
CREATE TABLE raters (
	id          INTEGER PRIMARY KEY,
	name        TEXT    NOT NULL,
	role        TEXT    NOT NULL CHECK (role IN ('rater', 'admin')),
	token_hash  BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at  INTEGER NOT NULL
);

-- Browser sessions: the cookie value is random; only its SHA-256 is stored.
CREATE TABLE sessions (
	id_hash     BLOB    PRIMARY KEY CHECK (length(id_hash) = 32),
	rater_id    INTEGER NOT NULL REFERENCES raters(id) ON DELETE CASCADE,
	csrf        TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE prompts (
	id          INTEGER PRIMARY KEY,
	text        TEXT    NOT NULL,
	split       TEXT    NOT NULL DEFAULT 'train' CHECK (split IN ('train', 'eval')),
	source      TEXT    NOT NULL DEFAULT 'api',
	meta        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(meta)),
	created_at  INTEGER NOT NULL
);
CREATE INDEX prompts_split ON prompts(split, id);

-- Background work: generation, training, evaluation.  cancel_requested is set
-- for a running job; the worker polls it.  metrics holds the job's summary
-- figures; per-step series go to job_metrics.
CREATE TABLE jobs (
	id               INTEGER PRIMARY KEY,
	kind             TEXT    NOT NULL CHECK (kind IN ('generate', 'sft', 'reward', 'ppo',
	                                                  'rloo', 'grpo', 'dpo', 'eval')),
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
CREATE INDEX jobs_status ON jobs(status, id);

CREATE TABLE job_metrics (
	job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	step        INTEGER NOT NULL,
	name        TEXT    NOT NULL,
	value       REAL    NOT NULL,
	PRIMARY KEY (job_id, name, step)
) WITHOUT ROWID;

-- Model versions.  One generating model (base, sft or policy) is active at a
-- time: the partial unique index makes a second active row impossible.
CREATE TABLE model_versions (
	id          INTEGER PRIMARY KEY,
	kind        TEXT    NOT NULL CHECK (kind IN ('base', 'sft', 'reward', 'policy')),
	name        TEXT,
	parent_id   INTEGER REFERENCES model_versions(id),
	job_id      INTEGER REFERENCES jobs(id),
	params      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
	metrics     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
	path        TEXT,
	active      INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
	created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX model_versions_one_active ON model_versions(active) WHERE active = 1;

-- The exact ratings a model version was trained from (rating rows are never
-- rewritten, see ratings below, so an id names one immutable judgement).
CREATE TABLE model_version_ratings (
	model_id    INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
	rating_id   INTEGER NOT NULL REFERENCES ratings(id),
	PRIMARY KEY (model_id, rating_id)
) WITHOUT ROWID;

-- A generation group: the K answers to one prompt shown together to a rater.
-- n_raters counts distinct raters with a current rating in the group; it only
-- grows (ratings are superseded, never deleted) and lets task assignment skip
-- finished groups through an index.
CREATE TABLE gen_groups (
	id          INTEGER PRIMARY KEY,
	prompt_id   INTEGER NOT NULL REFERENCES prompts(id),
	model_id    INTEGER REFERENCES model_versions(id),
	job_id      INTEGER REFERENCES jobs(id),
	params      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
	n_raters    INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL
);
CREATE INDEX gen_groups_prompt ON gen_groups(prompt_id);
CREATE INDEX gen_groups_open ON gen_groups(n_raters, id);

-- Answers.  model_id is NULL for answers imported from elsewhere; model_name
-- then says where they came from.
CREATE TABLE responses (
	id          INTEGER PRIMARY KEY,
	group_id    INTEGER NOT NULL REFERENCES gen_groups(id),
	prompt_id   INTEGER NOT NULL REFERENCES prompts(id),
	model_id    INTEGER REFERENCES model_versions(id),
	model_name  TEXT,
	text        TEXT    NOT NULL,
	token_count INTEGER,
	created_at  INTEGER NOT NULL
);
CREATE INDEX responses_group ON responses(group_id, id);
CREATE INDEX responses_prompt ON responses(prompt_id);

-- Ratings.  Rows are immutable judgements: rating an answer again marks the
-- rater's current row superseded (superseded_at) and inserts a new one, so the
-- history is the superseded rows and there is exactly one current row per
-- (rater, response), enforced by the partial unique index.  group_id is copied
-- from the response for the per-group queries.
CREATE TABLE ratings (
	id            INTEGER PRIMARY KEY,
	response_id   INTEGER NOT NULL REFERENCES responses(id),
	group_id      INTEGER NOT NULL REFERENCES gen_groups(id),
	rater_id      INTEGER NOT NULL REFERENCES raters(id),
	score         INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
	helpful       INTEGER CHECK (helpful BETWEEN 1 AND 5),
	honest        INTEGER CHECK (honest BETWEEN 1 AND 5),
	harmless      INTEGER CHECK (harmless BETWEEN 1 AND 5),
	comment       TEXT,
	flags         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(flags)),
	created_at    INTEGER NOT NULL,
	superseded_at INTEGER
);
-- Two indexes only, both over current rows: every index is another B-tree page
-- written by each commit, and commits are the hot path.  The history of one
-- (rater, response) is read by scanning, which only diagnostics do.
CREATE UNIQUE INDEX ratings_current ON ratings(response_id, rater_id) WHERE superseded_at IS NULL;
CREATE INDEX ratings_current_rater ON ratings(rater_id, group_id, created_at) WHERE superseded_at IS NULL;

-- Task leases: group handed to a rater by /api/tasks/next until expires_at.
-- Deleted when the rater rates or skips the group; an expired row no longer
-- counts against ratings_per_group (reclaimed) and is purged lazily.
CREATE TABLE leases (
	group_id    INTEGER NOT NULL REFERENCES gen_groups(id),
	rater_id    INTEGER NOT NULL REFERENCES raters(id),
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	PRIMARY KEY (group_id, rater_id)
) WITHOUT ROWID;
CREATE INDEX leases_rater ON leases(rater_id, expires_at);
CREATE INDEX leases_expires ON leases(expires_at);

CREATE TABLE skips (
	rater_id    INTEGER NOT NULL REFERENCES raters(id),
	group_id    INTEGER NOT NULL REFERENCES gen_groups(id),
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (rater_id, group_id)
) WITHOUT ROWID;

-- Settings as key -> JSON value (see GET /api/config).
CREATE TABLE config (
	key         TEXT PRIMARY KEY,
	value       TEXT NOT NULL CHECK (json_valid(value))
) WITHOUT ROWID;

INSERT INTO config(key, value) VALUES
	('ratings_per_group', '1'),
	('lease_seconds', '600'),
	('max_body_bytes', '8388608'),
	('auto_train', '{"enabled": false, "reward_every_n_ratings": 50, "rl_kind": "ppo"}');
