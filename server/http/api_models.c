/*
 * server/http/api_models.c — the models resource: the model versions (base,
 * sft, reward, policy) with their lineage and figures, and activating one —
 * a rollback when it is older than the active one.  Versions are made by jobs
 * (server/http/api_jobs.c), never here.  Each generating version with a parent
 * carries "human" when people rated answers of both on the same prompts: the
 * learning curve by raters (db/curves.h), and each version with spot checks
 * carries "spot_check": the reward model's and people's scores of them and
 * the hacking flag (server/worker/spotcheck.c).  Activating a version picks
 * its spot checks or marks them pending (spotcheck_activated).
 */
#include "server/http/api.h"
#include "db/curves.h"
#include "db/db.h"
#include "db/jobs.h"
#include "db/versions.h"
#include "server/worker/worker.h"

#include <stdio.h>

enum MHD_Result api_models_list(struct request *r)
{
	json_t *list, *human;
	int rc = db_models_list(r->db, &list);
	if (rc < 0)
		return http_db_error(r, rc, "models");
	if ((rc = db_curves_human(r->db, &human)) < 0) {
		json_decref(list);
		return http_db_error(r, rc, "models");
	}
	size_t i;
	json_t *m;
	json_array_foreach(list, i, m) {
		char key[24];
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(m, "id")));
		json_t *h = json_object_get(human, key), *spot = NULL;
		if (h)
			json_object_set(m, "human", h);
		rc = spotcheck_json(r->db, json_integer_value(json_object_get(m, "id")), &spot);
		if (rc == 0)
			json_object_set_new(m, "spot_check", spot);
		else if (rc != DB_NOTFOUND)
			break;
	}
	json_decref(human);
	if (rc < 0 && rc != DB_NOTFOUND) {
		json_decref(list);
		return http_db_error(r, rc, "models");
	}
	return http_json(r, 200, json_pack("{so}", "models", list));
}

enum MHD_Result api_model_activate(struct request *r)
{
	int rc = db_model_activate(r->db, r->id);
	if (rc == DB_NOTFOUND)
		return http_error(r, 404, "not_found", "model %lld not found", (long long)r->id);
	if (rc == DB_CONFLICT)
		return http_error(r, 409, "not_activatable", "model %lld is a reward model; only base, "
				  "sft and policy models generate", (long long)r->id);
	if (rc < 0)
		return http_db_error(r, rc, "model");
	/* the version is active whatever happens to its spot checks */
	bool queued = false;
	if (spotcheck_activated(r->db, r->id, &queued) < 0)
		fprintf(stderr, "rlhfd: spot checks of model %lld not recorded (database error)\n",
			(long long)r->id);
	else if (queued)
		worker_wake();
	return http_json(r, 200, json_pack("{sI sb}", "id", (json_int_t)r->id, "active", 1));
}
