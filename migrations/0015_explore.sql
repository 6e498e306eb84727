-- 0015_explore.sql — auto_train.generate_explore: the loop's generate job
-- also answers this many train prompts that people rated answers of and
-- rated none 4 or more — another try where the model has not been right yet
-- (server/worker/job_generate.c, the explore parameter; those groups stay out
-- of people's verdict, db/versions.c).  Added to every installation's
-- auto_train, as the other keys of the loop are.
UPDATE config SET value = json_insert(value, '$.generate_explore', 0)
WHERE key = 'auto_train';
