-- 0004_rater_access.sql — access that can be taken back: a rater can be
-- disabled (their token and sessions stop working at once; their ratings
-- stay), and rater names are unique, so the per-rater tables can tell two
-- people apart.  Names given twice before this migration become "name (id)".
ALTER TABLE raters ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
UPDATE raters SET name = name || ' (' || id || ')'
	WHERE id NOT IN (SELECT min(id) FROM raters GROUP BY name);
CREATE UNIQUE INDEX raters_name ON raters(name);
