-- 0014_responses_model.sql — answers by the model that wrote them.
--
-- People's verdict (server/worker/autotrain.c) pairs a candidate policy's
-- rated answers with its parent's (db_work_model_paired) and asks what share
-- of the candidate's answers is rated (db_work_model_rated) every time new
-- ratings come in; without this index each look read every answer.
CREATE INDEX responses_model ON responses(model_id);
