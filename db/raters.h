/*
 * db/raters.h — raters (people and scripts with a token) and browser sessions.
 *
 * Tokens and session ids are never stored: callers pass their SHA-256
 * (32 bytes, see server/http/auth.h auth_hash).
 */
#ifndef RLHFD_DB_RATERS_H
#define RLHFD_DB_RATERS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct db;

#define DB_HASH_LEN 32

struct db_rater {
	int64_t id;
	char name[256];
	char role[8];      /* "rater" or "admin" */
	bool disabled;     /* token and sessions refused; ratings kept */
};

/* Inserts a rater; role must be "rater" or "admin" (else DB_INVALID);
 * DB_CONFLICT when the name is taken. */
int db_rater_create(struct db *db, const char *name, const char *role,
		    const uint8_t hash[DB_HASH_LEN], int64_t *id);

/* The enabled rater whose token hashes to hash, or DB_NOTFOUND (also for a
 * disabled one). */
int db_rater_by_token(struct db *db, const uint8_t hash[DB_HASH_LEN], struct db_rater *out);
int db_rater_by_id(struct db *db, int64_t id, struct db_rater *out);

/* Renames rater id: DB_NOTFOUND, or DB_CONFLICT when the name is taken. */
int db_rater_rename(struct db *db, int64_t id, const char *name);
/* Disables (ending every session of the rater) or enables rater id.
 * DB_NOTFOUND; DB_CONFLICT for the last enabled admin. */
int db_rater_set_disabled(struct db *db, int64_t id, bool disabled);
/* Replaces rater id's token hash (the old token is dead at once). */
int db_rater_set_token(struct db *db, int64_t id, const uint8_t hash[DB_HASH_LEN]);

/* Number of raters (all roles) / of admins. */
int db_rater_count(struct db *db, int64_t *n);
int db_admin_count(struct db *db, int64_t *n);

/* *out = new array [{"id","name","role","ratings","created_at","disabled"}] by id;
 * ratings counts current ratings. */
int db_raters_list(struct db *db, json_t **out);

/* Sessions: id_hash = SHA-256 of the cookie value; csrf is stored as given. */
int db_session_create(struct db *db, const uint8_t id_hash[DB_HASH_LEN], int64_t rater_id,
		      const char *csrf, int64_t now, int64_t expires_at);
/* The session's rater and CSRF token (csrf_out holds >= 65 bytes) if it has not
 * expired at now and the rater is enabled, else DB_NOTFOUND. */
int db_session_get(struct db *db, const uint8_t id_hash[DB_HASH_LEN], int64_t now,
		   struct db_rater *out, char *csrf_out, size_t csrf_size);
int db_session_delete(struct db *db, const uint8_t id_hash[DB_HASH_LEN]);
/* Deletes the rater's sessions but the newest keep (a cap on live sessions;
 * call it before creating one, with keep = cap - 1). */
int db_sessions_trim(struct db *db, int64_t rater_id, int keep);
/* Deletes every session expired at now. */
int db_sessions_purge(struct db *db, int64_t now);

#endif
