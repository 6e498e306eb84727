/*
 * server/http/metrics.c — Prometheus counters (see metrics.h).
 */
#include "server/http/metrics.h"
#include "db/stats.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const METHODS[] = { "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH",
				       "OPTIONS", "OTHER" };
#define N_METHODS (sizeof METHODS / sizeof METHODS[0])
#define N_CODES 600

/* upper bounds in seconds; the last bucket (+Inf) is implicit */
static const double BUCKETS[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				  0.25, 0.5, 1, 2.5, 5, 10 };
#define N_BUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

static _Atomic uint64_t requests[N_METHODS][N_CODES];
static _Atomic uint64_t latency[N_BUCKETS + 1];   /* per bucket, not cumulative */
static _Atomic uint64_t latency_sum_ns;
static _Atomic uint64_t ratings_total;

void metrics_request(const char *method, int status, double seconds)
{
	size_t m = N_METHODS - 1;
	for (size_t i = 0; i + 1 < N_METHODS; i++)
		if (strcmp(method, METHODS[i]) == 0) {
			m = i;
			break;
		}
	if (status < 0 || status >= N_CODES)
		status = 0;
	atomic_fetch_add_explicit(&requests[m][status], 1, memory_order_relaxed);
	size_t b = 0;
	while (b < N_BUCKETS && seconds > BUCKETS[b])
		b++;
	atomic_fetch_add_explicit(&latency[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&latency_sum_ns, (uint64_t)(seconds * 1e9), memory_order_relaxed);
}

void metrics_ratings_add(int n)
{
	atomic_fetch_add_explicit(&ratings_total, (uint64_t)n, memory_order_relaxed);
}

char *metrics_render(struct db *db, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	fputs("# HELP rlhfd_http_requests_total HTTP requests answered, by method and status code.\n"
	      "# TYPE rlhfd_http_requests_total counter\n", f);
	for (size_t m = 0; m < N_METHODS; m++)
		for (int c = 0; c < N_CODES; c++) {
			uint64_t v = atomic_load_explicit(&requests[m][c], memory_order_relaxed);
			if (v)
				fprintf(f, "rlhfd_http_requests_total{method=\"%s\",code=\"%d\"} %llu\n",
					METHODS[m], c, (unsigned long long)v);
		}
	fprintf(f, "# HELP rlhfd_ratings_total Ratings stored and acknowledged since start.\n"
		"# TYPE rlhfd_ratings_total counter\n"
		"rlhfd_ratings_total %llu\n",
		(unsigned long long)atomic_load_explicit(&ratings_total, memory_order_relaxed));
	fputs("# HELP rlhfd_http_request_duration_seconds Time from the request's first byte"
	      " of headers to the end of its answer.\n"
	      "# TYPE rlhfd_http_request_duration_seconds histogram\n", f);
	uint64_t cum = 0;
	for (size_t b = 0; b <= N_BUCKETS; b++) {
		cum += atomic_load_explicit(&latency[b], memory_order_relaxed);
		if (b < N_BUCKETS)
			fprintf(f, "rlhfd_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
				BUCKETS[b], (unsigned long long)cum);
		else
			fprintf(f, "rlhfd_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				(unsigned long long)cum);
	}
	fprintf(f, "rlhfd_http_request_duration_seconds_sum %.9f\n"
		"rlhfd_http_request_duration_seconds_count %llu\n",
		(double)atomic_load_explicit(&latency_sum_ns, memory_order_relaxed) / 1e9,
		(unsigned long long)cum);

	struct db_counts c;
	if (db && db_counts(db, &c) == 0) {
		fprintf(f, "# HELP rlhfd_prompts Prompts in the database.\n# TYPE rlhfd_prompts gauge\n"
			"rlhfd_prompts %lld\n", (long long)c.prompts);
		fprintf(f, "# HELP rlhfd_responses Answers in the database.\n# TYPE rlhfd_responses gauge\n"
			"rlhfd_responses %lld\n", (long long)c.responses);
		fprintf(f, "# HELP rlhfd_groups Generation groups (tasks).\n# TYPE rlhfd_groups gauge\n"
			"rlhfd_groups %lld\n", (long long)c.groups);
		fprintf(f, "# HELP rlhfd_ratings Current ratings in the database.\n"
			"# TYPE rlhfd_ratings gauge\nrlhfd_ratings %lld\n", (long long)c.ratings);
		fprintf(f, "# HELP rlhfd_raters Raters and admins.\n# TYPE rlhfd_raters gauge\n"
			"rlhfd_raters %lld\n", (long long)c.raters);
		fprintf(f, "# HELP rlhfd_jobs Jobs waiting or running.\n# TYPE rlhfd_jobs gauge\n"
			"rlhfd_jobs{status=\"queued\"} %lld\nrlhfd_jobs{status=\"running\"} %lld\n",
			(long long)c.jobs_queued, (long long)c.jobs_running);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
