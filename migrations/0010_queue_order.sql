-- 0010_queue_order.sql — the uncertainty-first queue (db/tasks.c).
--
-- gen_groups gains rm_gap: the smallest gap between the scores the newest
-- reward model that scored the group gave its answers (the smallest distance
-- between two adjacent scores once sorted), and rm_gap_model, that reward
-- model.  NULL until a score job (server/worker/job_score.c) has scored at
-- least two of the group's answers; db_rm_scores_put keeps both up to date.
-- With queue_order "uncertain" /api/tasks/next hands out the open groups by
-- rm_gap, smallest first (the index below), and a share of the requests
-- (queue_random_share) takes the group whose pick key — a multiplicative hash
-- of its id, indexed below — follows a random point, which depends on nothing
-- the reward model or the raters said.
ALTER TABLE gen_groups ADD COLUMN rm_gap REAL;
ALTER TABLE gen_groups ADD COLUMN rm_gap_model INTEGER;
CREATE INDEX gen_groups_uncertain ON gen_groups(n_raters, rm_gap, id) WHERE rm_gap IS NOT NULL;
CREATE INDEX gen_groups_pick_key ON gen_groups(n_raters, ((id * 2654435761) % 4294967296));

-- The groups scored before this migration.
UPDATE gen_groups SET rm_gap_model = (
	SELECT max(s.model_id) FROM rm_scores s JOIN responses r ON r.id = s.response_id
	WHERE r.group_id = gen_groups.id);
UPDATE gen_groups SET rm_gap = (
	SELECT min(abs(a.score - b.score))
	FROM responses ra JOIN responses rb ON rb.group_id = ra.group_id AND rb.id > ra.id
	JOIN rm_scores a ON a.response_id = ra.id AND a.model_id = gen_groups.rm_gap_model
	JOIN rm_scores b ON b.response_id = rb.id AND b.model_id = gen_groups.rm_gap_model
	WHERE ra.group_id = gen_groups.id)
WHERE rm_gap_model IS NOT NULL;

-- queue_order: "fifo" (the open groups closest to done first, then the
-- oldest), "uncertain" (closest to done first, then the smallest rm_gap, then
-- the unscored ones oldest first) or "auto" (the default: "uncertain" once a
-- score job has written rm_scores, "fifo" before).  queue_random_share: the
-- share of new tasks that "uncertain" hands out at random instead (0..1).
INSERT INTO config(key, value) VALUES ('queue_order', '"auto"'), ('queue_random_share', '0.2')
ON CONFLICT(key) DO NOTHING;
