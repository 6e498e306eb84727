/*
 * server/http/api_jobs.c — job endpoints beyond API.md's (the worker helper's):
 *
 *   POST /api/jobs/{id}/retry   a failed or cancelled job queued again: a new
 *                               job with the same kind and params → 202
 *                               {"job_id", "retry_of"}; 404 unknown id; 409
 *                               when the job is queued, running or succeeded.
 */
#include "server/http/api.h"
#include "server/worker/worker.h"
#include "db/db.h"
#include "db/jobs.h"

enum MHD_Result api_job_retry(struct request *r)
{
	int64_t id = 0;
	int rc = db_work_retry(r->db, r->id, db_now(), &id);
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "job %lld not found", (long long)r->id);
	if (rc == DB_CONFLICT)
		return http_error(r, 409, "not_retryable", "job %lld is queued, running or succeeded; "
				  "only failed and cancelled jobs can be retried", (long long)r->id);
	if (rc < 0)
		return http_db_error(r, rc, "job");
	worker_wake();
	return http_json(r, 202, json_pack("{sI sI}", "job_id", (json_int_t)id,
					   "retry_of", (json_int_t)r->id));
}
