/*
 * server/http/auth.h — tokens: SHA-256 hashing (what the database stores), random
 * tokens and session ids, and the admin bootstrap of an empty database.
 */
#ifndef RLHFD_SERVER_AUTH_H
#define RLHFD_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

#define AUTH_HASH_LEN 32
#define AUTH_TOKEN_BYTES 32                      /* random bytes in a token */
#define AUTH_TOKEN_CHARS (2 * AUTH_TOKEN_BYTES)  /* as lowercase hex */
#define AUTH_MIN_TOKEN_CHARS 16                 /* an admin token chosen by hand */

/* out = SHA-256(data[0..len-1]).  Returns 0 or -1 (GnuTLS failure). */
int auth_hash(const void *data, size_t len, uint8_t out[AUTH_HASH_LEN]);

/* Writes 2*nbytes lowercase hex characters of cryptographic randomness and a
 * NUL into out (room for 2*nbytes+1).  Returns 0 or -1. */
int auth_random_hex(char *out, size_t nbytes);

/* Are the strings equal?  In time that depends on their lengths only, not on
 * where they differ (tokens, CSRF tokens). */
bool auth_token_eq(const char *a, const char *b);

/* auth_bootstrap_admin, which server start-up calls, is in server/http/http.h. */

#endif
