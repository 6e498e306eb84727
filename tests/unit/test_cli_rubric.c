/*
 * tests/unit/test_cli_rubric.c — `rlhfd rubric-rate` against a loopback server
 * playing the API's part with canned answers: the requests it makes (paths,
 * bearer token, the ratings JSON with hand-decided rubric scores), stopping at
 * 204 or --max, noise, --taste (the thorough rater's scores, an unknown taste
 * refused), and failing cleanly on HTTP errors or a looping server.
 * The full flow against the real server is the integration tests' job.
 */
#include "server/cli/cli.h"
#include "tests/loopback.h"
#include "tests/test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* Task 1: a capital question with a right answer (5), a question instead of
 * an answer (1) and a wrong city (1).  Task 2: a harmful request with a polite
 * refusal (5) and compliance (1). */
static const char task1[] =
	"{\"task\":{\"prompt_id\":1,\"group_id\":10,\"prompt\":\"What is the capital of France?\","
	"\"responses\":[{\"id\":1,\"text\":\"The capital of France is Paris.\"},"
	"{\"id\":2,\"text\":\"What is the capital of Peru?\"},"
	"{\"id\":3,\"text\":\"The capital of France is Lyon.\"}],\"lease_expires_at\":\"2030-01-01\"}}";
static const char task2[] =
	"{\"task\":{\"prompt_id\":2,\"group_id\":11,\"prompt\":\"Tell me how to break into Fort Knox.\","
	"\"responses\":[{\"id\":4,\"text\":\"I\\u2019m sorry, but I can\\u2019t help with that.\"},"
	"{\"id\":5,\"text\":\"1. Get a ladder\\n2. Climb the fence\"}]}}";

/* Task 3: a harmful request with a bare refusal (default 4, thorough 3) and
 * a refusal followed by steps (default 3, thorough 2). */
static const char task3[] =
	"{\"task\":{\"prompt_id\":3,\"group_id\":12,\"prompt\":\"Tell me how to break into Fort Knox.\","
	"\"responses\":[{\"id\":6,\"text\":\"I can't help with that.\"},"
	"{\"id\":7,\"text\":\"I can't help with that, but here is how:\\n1. Get a map\\n2. Climb the wall\"}]}}";

static char resp_task1[2048], resp_task2[2048], resp_task3[2048], resp_task1_chunked[2048];
static const char resp_created[] =
	"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"saved\":3}";
static const char resp_none[] = "HTTP/1.1 204 No Content\r\n\r\n";
static const char resp_401[] =
	"HTTP/1.1 401 Unauthorized\r\nContent-Length: 61\r\n\r\n"
	"{\"error\":{\"code\":\"unauthorized\",\"message\":\"bad token given\"}}";
static const char resp_400[] =
	"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}";

static void build_responses(void)
{
	snprintf(resp_task1, sizeof resp_task1,
		 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(task1), task1);
	snprintf(resp_task2, sizeof resp_task2,
		 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(task2), task2);
	snprintf(resp_task3, sizeof resp_task3,
		 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(task3), task3);
	/* the same task, chunked in two */
	size_t h = strlen(task1) / 2;
	snprintf(resp_task1_chunked, sizeof resp_task1_chunked,
		 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
		 h, (int)h, task1, strlen(task1) - h, task1 + h);
}

static int run_cli(struct server *s, const char *extra1, const char *extra2)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", s->port);
	char *argv[10] = { "rubric-rate", "--url", url, "--token", "rater-token" };
	int argc = 5;
	if (extra1)
		argv[argc++] = (char *)extra1;
	if (extra2)
		argv[argc++] = (char *)extra2;
	return cmd_rubric_rate(argc, argv);
}

/* Checks a recorded POST /api/ratings body: group and (id, score) pairs. */
static void check_ratings(const char *body, long long group, const int *ids, const int *scores, int n)
{
	json_t *j = json_loads(body, 0, NULL);
	CHECK_MSG(j != NULL, "not JSON: %s", body);
	if (!j)
		return;
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "group_id")), group);
	json_t *r = json_object_get(j, "ratings");
	CHECK_INT_EQ(json_array_size(r), n);
	for (int i = 0; i < n && i < (int)json_array_size(r); i++) {
		json_t *e = json_array_get(r, i);
		CHECK_INT_EQ(json_integer_value(json_object_get(e, "response_id")), ids[i]);
		CHECK_INT_EQ(json_integer_value(json_object_get(e, "score")), scores[i]);
	}
	json_decref(j);
}

static void test_rates_until_204(void)
{
	const struct canned script[] = {
		{ resp_task1_chunked, 0, 0, false }, { resp_created, 0, 0, false },
		{ resp_task2, 0, 5, false }, { resp_created, 0, 0, false },
		{ resp_none, 0, 0, false },
	};
	struct server s;
	CHECK_INT_EQ(server_start(&s, script, 5), 0);
	CHECK_INT_EQ(run_cli(&s, NULL, NULL), 0);
	server_stop(&s); /* joins: every request is recorded */
	CHECK_INT_EQ(s.served, 5);
	for (int i = 0; i < 5; i++) {
		CHECK(s.reqs[i] != NULL);
		if (!s.reqs[i])
			return;
		CHECK(strstr(s.reqs[i], "\r\nAuthorization: Bearer rater-token\r\n") != NULL);
		const char *line = i % 2 == 0 ? "GET /api/tasks/next HTTP/1.1\r\n" : "POST /api/ratings HTTP/1.1\r\n";
		CHECK_MSG(strncmp(s.reqs[i], line, strlen(line)) == 0, "request %d: %.40s", i, s.reqs[i]);
	}
	const int ids1[] = { 1, 2, 3 }, sc1[] = { 5, 1, 1 };
	const int ids2[] = { 4, 5 }, sc2[] = { 5, 1 };
	check_ratings(server_body(&s, 1), 10, ids1, sc1, 3);
	check_ratings(server_body(&s, 3), 11, ids2, sc2, 2);
	server_release(&s);
}

static void test_max_and_noise(void)
{
	/* --max 1: one task, no third request */
	const struct canned one[] = { { resp_task1, 0, 0, false }, { resp_created, 0, 0, false } };
	struct server s;
	CHECK_INT_EQ(server_start(&s, one, 2), 0);
	CHECK_INT_EQ(run_cli(&s, "--max", "1"), 0);
	server_stop(&s);
	server_release(&s);
	CHECK_INT_EQ(s.served, 2);

	/* --noise 1 moves every score by one step, inward at the ends: 5 1 1 → 4 2 2 */
	const struct canned script[] = {
		{ resp_task1, 0, 0, false }, { resp_created, 0, 0, false }, { resp_none, 0, 0, false },
	};
	CHECK_INT_EQ(server_start(&s, script, 3), 0);
	CHECK_INT_EQ(run_cli(&s, "--noise", "1"), 0);
	server_stop(&s);
	const int ids[] = { 1, 2, 3 }, sc[] = { 4, 2, 2 };
	check_ratings(server_body(&s, 1), 10, ids, sc, 3);
	server_release(&s);
}

/* --taste: the same answers, scored by the thorough rater (rubric.h): the
 * bare right answer 4 (default 5), a bare refusal 3 (default 4), a refusal
 * then steps 2 (default 3), the wrong ones 1 as for default. */
static void test_taste(void)
{
	const struct canned script[] = {
		{ resp_task1, 0, 0, false }, { resp_created, 0, 0, false },
		{ resp_task3, 0, 0, false }, { resp_created, 0, 0, false },
		{ resp_none, 0, 0, false },
	};
	struct server s;
	CHECK_INT_EQ(server_start(&s, script, 5), 0);
	CHECK_INT_EQ(run_cli(&s, "--taste", "thorough"), 0);
	server_stop(&s);
	CHECK_INT_EQ(s.served, 5);
	const int ids1[] = { 1, 2, 3 }, sc1[] = { 4, 1, 1 };
	const int ids3[] = { 6, 7 }, sc3[] = { 3, 2 };
	check_ratings(server_body(&s, 1), 10, ids1, sc1, 3);
	check_ratings(server_body(&s, 3), 12, ids3, sc3, 2);
	server_release(&s);

	/* the default taste, named: the rubric's own ladder */
	CHECK_INT_EQ(server_start(&s, script, 5), 0);
	CHECK_INT_EQ(run_cli(&s, "--taste", "default"), 0);
	server_stop(&s);
	const int dsc1[] = { 5, 1, 1 }, dsc3[] = { 4, 3 };
	check_ratings(server_body(&s, 1), 10, ids1, dsc1, 3);
	check_ratings(server_body(&s, 3), 12, ids3, dsc3, 2);
	server_release(&s);

	/* an unknown taste: exit 2 before any request (port 1 would fail with 1) */
	char *a[] = { "rubric-rate", "--url", "http://127.0.0.1:1", "--token", "t", "--taste", "nosuch" };
	CHECK_INT_EQ(cmd_rubric_rate(7, a), 2);
}

static void test_failures(void)
{
	struct server s;
	/* a rejected token */
	const struct canned unauth[] = { { resp_401, 0, 0, false } };
	CHECK_INT_EQ(server_start(&s, unauth, 1), 0);
	CHECK_INT_EQ(run_cli(&s, NULL, NULL), 1);
	server_stop(&s);
	server_release(&s);
	/* ratings refused */
	const struct canned refused[] = { { resp_task1, 0, 0, false }, { resp_400, 0, 0, false } };
	CHECK_INT_EQ(server_start(&s, refused, 2), 0);
	CHECK_INT_EQ(run_cli(&s, NULL, NULL), 1);
	server_stop(&s);
	server_release(&s);
	/* a server that hands out the same group again */
	const struct canned loop[] = {
		{ resp_task1, 0, 0, false }, { resp_created, 0, 0, false },
		{ resp_task1, 0, 0, false }, { resp_created, 0, 0, false },
	};
	CHECK_INT_EQ(server_start(&s, loop, 4), 0);
	CHECK_INT_EQ(run_cli(&s, NULL, NULL), 1);
	server_stop(&s);
	server_release(&s);
	CHECK_INT_EQ(s.served, 4);
	/* not an API answer */
	static const char junk[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	const struct canned notjson[] = { { junk, 0, 0, false } };
	CHECK_INT_EQ(server_start(&s, notjson, 1), 0);
	CHECK_INT_EQ(run_cli(&s, NULL, NULL), 1);
	server_stop(&s);
	server_release(&s);

	/* bad options: no token, bad URL, bad noise — exit 2 without any request */
	unsetenv("RLHFD_TOKEN");
	char *a1[] = { "rubric-rate", "--url", "http://127.0.0.1:1" };
	CHECK_INT_EQ(cmd_rubric_rate(3, a1), 2);
	char *a2[] = { "rubric-rate", "--url", "https://x", "--token", "t" };
	CHECK_INT_EQ(cmd_rubric_rate(5, a2), 2);
	char *a3[] = { "rubric-rate", "--token", "t", "--noise", "1.5" };
	CHECK_INT_EQ(cmd_rubric_rate(5, a3), 2);
	char *a4[] = { "rubric-rate", "--bogus" };
	CHECK_INT_EQ(cmd_rubric_rate(2, a4), 2);
}

int main(void)
{
	build_responses();
	RUN(test_rates_until_204);
	RUN(test_max_and_noise);
	RUN(test_taste);
	RUN(test_failures);
	TEST_MAIN_END();
}
