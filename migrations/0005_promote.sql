-- 0005_promote.sql — the promotion gate's setting (server/worker/promote.h):
-- auto_train.promote is "gate" (a new policy becomes active only when it beats
-- its parent on held-out prompts without collapsing), "always" or "never".
-- A value already set wins.
UPDATE config SET value = json_patch('{"promote": "gate"}', value)
WHERE key = 'auto_train';
