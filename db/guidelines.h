/*
 * db/guidelines.h — the rating guidelines: admin-written text in versions.
 *
 * Editing adds a version (1, 2, ...); the newest is in force, is what raters
 * read (GET /api/me, GET /api/guidelines) and is stored with every rating
 * saved while it is (ratings.guideline_version, set by db/ratings.c's insert
 * in the rating's own transaction).
 */
#ifndef RLHFD_DB_GUIDELINES_H
#define RLHFD_DB_GUIDELINES_H

#include <stdint.h>
#include <jansson.h>

struct db;

/* Adds text as the new version by author_id, in one write transaction;
 * *version = its number. */
int db_guidelines_add(struct db *db, const char *text, int64_t author_id, int64_t now,
		      int64_t *version);

/* The version in force: *out = new {"version","text","author","created_at"},
 * or DB_NOTFOUND when none was written. */
int db_guidelines_current(struct db *db, json_t **out);

/* Every version, newest first, without its text: *out = new array
 * [{"version","author","created_at","length"}] (length in bytes). */
int db_guidelines_versions(struct db *db, json_t **out);

#endif
