/*
 * server/http/api_disagree.c — where the reward model and the raters
 * disagree: GET /api/disagreements?limit=&split= (admin), the pairs of
 * answers of one group the humans and the newest reward model order
 * oppositely, largest first (db/disagree.h says how they are found and
 * measured).
 */
#include "server/http/api.h"
#include "db/db.h"
#include "db/disagree.h"

#include <string.h>

#define LIMIT_DEFAULT 50
#define LIMIT_MAX 500

enum MHD_Result api_disagreements(struct request *r)
{
	const char *split = http_arg(r, "split");
	int64_t limit;
	if (split && !*split)
		split = NULL;
	if (split && strcmp(split, "train") != 0 && strcmp(split, "eval") != 0) {
		http_bad_field(r, "split", "query parameter 'split' must be 'train' or 'eval'");
		return http_invalid(r);
	}
	if (!http_arg_int(r, "limit", 1, LIMIT_MAX, LIMIT_DEFAULT, &limit))
		return http_invalid(r);
	json_t *out;
	int rc = db_disagreements(r->db, split, (int)limit, &out);
	if (rc < 0)
		return http_db_error(r, rc, "disagreements");
	return http_json(r, 200, out);
}
