/*
 * server/http/api_stats.c — the stats resource: counts of prompts, answers,
 * ratings and raters, the score histogram and the agreement between raters
 * (db/stats.h computes them).
 */
#include "server/http/api.h"
#include "db/stats.h"

enum MHD_Result api_stats(struct request *r)
{
	json_t *s;
	int rc = db_stats(r->db, &s);
	if (rc < 0)
		return http_db_error(r, rc, "stats");
	return http_json(r, 200, s);
}
