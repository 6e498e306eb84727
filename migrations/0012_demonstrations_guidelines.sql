-- 0012_demonstrations_guidelines.sql — answers people write themselves, and
-- the rating guidelines in force when each rating was made.
--
-- responses.origin says who wrote an answer: 'model' (a generation job),
-- 'import' (POST /api/prompts/{id}/responses, NDJSON imports: written
-- elsewhere, model_id NULL) or 'human' (a rater's demonstration from the rate
-- page: POST /api/demonstrations).  A demonstration has model_id NULL like an
-- import, so the SFT rule of db/traindata.h (an unrated answer with no model
-- is a demonstration) takes it as it takes imported ones; author_id is the
-- rater who wrote it.  Each demonstration sits in a generation group of its
-- own (model_id NULL, params {"origin": "human", "group_id": the group it was
-- written on}), which /api/tasks/next never hands out.
ALTER TABLE responses ADD COLUMN origin TEXT NOT NULL DEFAULT 'model'
	CHECK (origin IN ('model', 'import', 'human'));
ALTER TABLE responses ADD COLUMN author_id INTEGER REFERENCES raters(id);
UPDATE responses SET origin = 'import' WHERE model_id IS NULL;
-- the admin's list of demonstrations, newest first
CREATE INDEX responses_human ON responses(id) WHERE origin = 'human';

-- Guidelines: admin-written text (a markdown subset the pages render, see
-- web/js/markdown.js).  Editing adds a version; the newest is in force.
CREATE TABLE guidelines (
	version     INTEGER PRIMARY KEY,
	text        TEXT    NOT NULL,
	author_id   INTEGER REFERENCES raters(id),
	created_at  INTEGER NOT NULL
);

-- The guideline version in force when the rating was saved (NULL: none had
-- been written yet, or the rating predates this migration).
ALTER TABLE ratings ADD COLUMN guideline_version INTEGER REFERENCES guidelines(version);
