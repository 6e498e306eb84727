/*
 * server/http/api_stats.c — the stats resource: counts of prompts, answers,
 * ratings and raters, the score histogram and the agreement between raters
 * (db/stats.h computes them), and how durable a rating is (serve's
 * --durability, read back from the database connection that writes ratings).
 */
#include "server/http/api.h"
#include "db/groupcommit.h"
#include "db/stats.h"

/* {"mode": "full"|"normal", "ratings_synchronous": PRAGMA synchronous of the
 * connection that commits ratings, and with group commit its counters} */
static json_t *durability(struct request *r)
{
	if (!db_gc_running())
		return json_pack("{ss ss}", "mode", "normal", "ratings_synchronous",
				 db_synchronous_name(r->db));
	struct db_gc_stats st;
	db_gc_stats(&st);
	return json_pack("{ss ss s{sI sI sI}}", "mode", "full", "ratings_synchronous",
			 db_gc_synchronous(), "group_commit", "commits", (json_int_t)st.commits,
			 "writes", (json_int_t)st.writes, "max_batch", (json_int_t)st.max_batch);
}

enum MHD_Result api_stats(struct request *r)
{
	json_t *s;
	int rc = db_stats(r->db, &s);
	if (rc < 0)
		return http_db_error(r, rc, "stats");
	json_object_set_new(s, "durability", durability(r));
	return http_json(r, 200, s);
}
