/*
 * server/http/metrics.h — counters for GET /metrics (Prometheus text format):
 * requests by method and status code, ratings stored, a request latency
 * histogram, plus gauges of the table counts read when scraped.
 * Counters are relaxed atomics: recording costs a few adds, no lock.
 */
#ifndef RLHFD_SERVER_METRICS_H
#define RLHFD_SERVER_METRICS_H

#include <stddef.h>

struct db;

/* One answered request: its method, status code and duration. */
void metrics_request(const char *method, int status, double seconds);
/* n ratings were stored and acknowledged. */
void metrics_ratings_add(int n);
/* The exposition text as a new malloc'ed buffer (*len bytes), or NULL.
 * db (borrowed) supplies the gauges; NULL leaves them out. */
char *metrics_render(struct db *db, size_t *len);

#endif
