/*
 * server/http/auth.c — token hashing, random tokens, admin bootstrap (see auth.h).
 */
#include "server/http/auth.h"
#include "server/http/http.h"
#include "db/db.h"
#include "db/raters.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int auth_hash(const void *data, size_t len, uint8_t out[AUTH_HASH_LEN])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) == 0 ? 0 : -1;
}

int auth_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t buf[64];
	if (nbytes > sizeof buf || gnutls_rnd(GNUTLS_RND_KEY, buf, nbytes) != 0)
		return -1;
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[buf[i] >> 4];
		out[2 * i + 1] = hex[buf[i] & 15];
	}
	out[2 * nbytes] = 0;
	return 0;
}

/* Writes the token to path, readable by the owner only. */
static int write_token_file(const char *path, const char *token)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "rlhfd: cannot write '%s': %s\n", path, strerror(errno));
		return -1;
	}
	/* an older file may have had wider permissions */
	int rc = fchmod(fd, 0600);
	size_t len = strlen(token);
	if (rc == 0 && (write(fd, token, len) != (ssize_t)len || write(fd, "\n", 1) != 1))
		rc = -1;
	if (rc == 0)
		rc = fsync(fd);
	if (rc != 0)
		fprintf(stderr, "rlhfd: cannot write '%s': %s\n", path, strerror(errno));
	close(fd);
	return rc;
}

bool auth_token_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int auth_bootstrap_admin(struct db *db, const char *data_dir, const char *env_token)
{
	int64_t n;
	char token[AUTH_TOKEN_CHARS + 1];
	uint8_t hash[AUTH_HASH_LEN];
	bool from_env = env_token && *env_token;

	if (from_env && strlen(env_token) < AUTH_MIN_TOKEN_CHARS) {
		fprintf(stderr, "rlhfd: RLHFD_ADMIN_TOKEN is %zu characters; an admin token needs at "
			"least %d (or leave it unset for a random one)\n", strlen(env_token),
			AUTH_MIN_TOKEN_CHARS);
		return -1;
	}
	if (db_rater_count(db, &n) < 0)
		return -1;
	if (n > 0)
		return 0;
	if (!from_env && auth_random_hex(token, AUTH_TOKEN_BYTES) < 0) {
		fprintf(stderr, "rlhfd: cannot generate the admin token: no randomness\n");
		return -1;
	}
	const char *t = from_env ? env_token : token;
	if (auth_hash(t, strlen(t), hash) < 0)
		return -1;
	if (db_begin(db) < 0)
		return -1;
	/* another process may have bootstrapped meanwhile */
	if (db_rater_count(db, &n) < 0 || (n == 0 && db_rater_create(db, "admin", "admin", hash, NULL) < 0) ||
	    db_commit(db) < 0) {
		db_rollback(db);
		fprintf(stderr, "rlhfd: cannot create the admin\n");
		return -1;
	}
	if (n > 0 || from_env)
		return 0;
	char path[4096];
	snprintf(path, sizeof path, "%s/admin.token", data_dir);
	printf("rlhfd: admin token (shown once, also in '%s'): %s\n", path, token);
	fflush(stdout);
	return write_token_file(path, token);
}
