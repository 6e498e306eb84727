/*
 * db/config.h — settings stored as key -> JSON value (table config).
 * Defaults are inserted by the first migration; the server validates values
 * before db_config_set (see server/http/api_config.c).
 */
#ifndef RLHFD_DB_CONFIG_H
#define RLHFD_DB_CONFIG_H

#include <stdint.h>
#include <jansson.h>

struct db;

/* *out = new object of every key with its value. */
int db_config_all(struct db *db, json_t **out);
/* *out = new value of key, or DB_NOTFOUND. */
int db_config_get(struct db *db, const char *key, json_t **out);
/* Integer value of key, or dflt when absent or not an integer. */
int db_config_int(struct db *db, const char *key, int64_t dflt, int64_t *out);
/* Stores value (borrowed) under key, replacing; inside the caller's transaction. */
int db_config_set(struct db *db, const char *key, const json_t *value);

#endif
