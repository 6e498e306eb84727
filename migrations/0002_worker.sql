-- 0002_worker.sql — what the background worker (server/worker.c) needs beyond
-- the first schema.

-- Whether a generated answer ended with EOS (1) or ran into max_tokens / the
-- context (0).  NULL for answers imported from elsewhere: taken as complete.
-- Training appends the EOS only to answers that ended (the reward model
-- scores the last token, so a cut-off answer must look cut off).
ALTER TABLE responses ADD COLUMN ended INTEGER CHECK (ended IN (0, 1));

-- "train prompts that have no group from this model yet" (generate jobs).
CREATE INDEX gen_groups_model_prompt ON gen_groups(model_id, prompt_id);

-- Auto-training: after reward_every_n_ratings new ratings the worker queues
-- reward -> rl_kind -> generate (generate_k answers to up to
-- generate_prompts unanswered train prompts); reward_params and rl_params
-- are the params of those jobs (as in POST /api/train).  Keys already set win.
UPDATE config SET value = json_patch('{"enabled": false, "reward_every_n_ratings": 50, "rl_kind": "ppo", '
	|| '"generate_k": 4, "generate_prompts": 32, "reward_params": {}, "rl_params": {}}', value)
WHERE key = 'auto_train';
