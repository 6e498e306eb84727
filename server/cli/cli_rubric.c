/*
 * server/cli/cli_rubric.c — `rlhfd rubric-rate`: rates waiting tasks through the
 * HTTP API exactly as a person in the browser would, with the rubric rater
 * (server/demo/rubric.h) instead of judgement:
 *
 *   loop: GET /api/tasks/next   (204 → nothing left, stop)
 *         score every answer with rubric_score_taste(prompt, answer, taste):
 *         the rubric's verdict, scored in the rater's --taste ("default",
 *         the rubric's own ladder, or "thorough", a second person who likes
 *         full sentences and detail)
 *         (optionally move a score by ±1 with probability --noise, seeded)
 *         POST /api/ratings {"group_id", "ratings": [{"response_id", "score"}]}
 *
 * It prints one progress line per task and a summary:
 *   tasks=N ratings=M mean_score=X.XXX
 * plus the histogram and the mean score per prompt family.  Exit code 0 when
 * it stopped because nothing was left (or --max was reached), 1 on an HTTP or
 * protocol error, 2 on bad options (an unknown --taste among them).
 */
#include "server/cli/cli.h"
#include "server/demo/httpc.h"
#include "server/demo/rubric.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RR_TIMEOUT_MS 60000

struct rr_stats {
	int tasks, ratings;
	long sum;
	int hist[6];
	int fam_n[DEMO_N_FAMILIES];
	long fam_sum[DEMO_N_FAMILIES];
};

/* splitmix64: the noise is reproducible from --seed */
static uint64_t rr_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* With probability p, moves score one step up or down (inward at 1 and 5). */
static int rr_noisy(int score, float p, uint64_t *rng)
{
	if (p <= 0.0f)
		return score;
	double u = (double)(rr_next(rng) >> 11) / 9007199254740992.0;
	if (u >= p)
		return score;
	bool up = rr_next(rng) & 1;
	if (score == 1)
		up = true;
	if (score == 5)
		up = false;
	return score + (up ? 1 : -1);
}

/* "base" + "path" without a doubled slash. */
static void rr_url(char *buf, size_t n, const char *base, const char *path)
{
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	snprintf(buf, n, "%.*s%s", (int)bl, base, path);
}

/* Prints an HTTP failure: what was asked, the status, the server's message. */
static void rr_http_error(const char *what, const struct httpc_response *r)
{
	const char *msg = NULL;
	json_t *j = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
	if (j)
		msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	fprintf(stderr, "rlhfd rubric-rate: %s: status %d%s%.300s\n", what, r->status,
		msg || r->body_len ? ": " : "", msg ? msg : r->body ? r->body : "");
	json_decref(j);
}

/* Rates one task (borrowed JSON) in taste (borrowed); 0, or -1 after printing why. */
static int rr_rate_task(const char *base, const char *token, json_t *task,
			const struct rubric_taste *taste, float noise, uint64_t *rng,
			struct rr_stats *st, json_int_t *group_out)
{
	json_t *jg = json_object_get(task, "group_id");
	const char *prompt = json_string_value(json_object_get(task, "prompt"));
	json_t *responses = json_object_get(task, "responses");
	if (!json_is_integer(jg) || !prompt || !json_is_array(responses)) {
		fprintf(stderr, "rlhfd rubric-rate: malformed task: missing group_id, prompt or responses\n");
		return -1;
	}
	json_int_t group = json_integer_value(jg);
	*group_out = group;
	char url[2048];
	char err[256];
	struct httpc_response r;

	if (json_array_size(responses) == 0) {
		char path[64];
		snprintf(path, sizeof path, "/api/tasks/%lld/skip", (long long)group);
		rr_url(url, sizeof url, base, path);
		if (httpc_request(&r, "POST", url, token, NULL, "{}", 2, RR_TIMEOUT_MS, err, sizeof err) < 0) {
			fprintf(stderr, "rlhfd rubric-rate: POST %s: %s\n", path, err);
			return -1;
		}
		int ok = r.status / 100 == 2;
		if (!ok)
			rr_http_error("skip", &r);
		httpc_response_release(&r);
		printf("group %lld: no answers, skipped\n", (long long)group);
		return ok ? 0 : -1;
	}

	struct rubric_details d;
	json_t *ratings = json_array();
	char scores[256] = "";
	size_t sl = 0;
	int n = 0, local[64], nlocal = 0;
	enum demo_family fam = rubric_classify(prompt, NULL);
	size_t i;
	json_t *resp;
	json_array_foreach(responses, i, resp) {
		json_t *jid = json_object_get(resp, "id");
		const char *text = json_string_value(json_object_get(resp, "text"));
		if (!json_is_integer(jid) || !text) {
			fprintf(stderr, "rlhfd rubric-rate: malformed task: response without id or text\n");
			json_decref(ratings);
			return -1;
		}
		int s = rr_noisy(rubric_score_taste(prompt, text, taste, &d), noise, rng);
		json_array_append_new(ratings, json_pack("{s:I, s:i}", "response_id",
							 json_integer_value(jid), "score", s));
		if (sl + 4 < sizeof scores)
			sl += (size_t)snprintf(scores + sl, sizeof scores - sl, " %d", s);
		if (nlocal < 64)
			local[nlocal++] = s;
		n++;
	}
	json_t *req = json_pack("{s:I, s:o}", "group_id", group, "ratings", ratings);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body) {
		fprintf(stderr, "rlhfd rubric-rate: out of memory\n");
		return -1;
	}
	rr_url(url, sizeof url, base, "/api/ratings");
	int rc = httpc_request(&r, "POST", url, token, "application/json", body, strlen(body),
			       RR_TIMEOUT_MS, err, sizeof err);
	free(body);
	if (rc < 0) {
		fprintf(stderr, "rlhfd rubric-rate: POST /api/ratings: %s\n", err);
		return -1;
	}
	if (r.status / 100 != 2) {
		rr_http_error("POST /api/ratings", &r);
		httpc_response_release(&r);
		return -1;
	}
	httpc_response_release(&r);

	st->tasks++;
	for (int k = 0; k < nlocal; k++) {
		st->ratings++;
		st->sum += local[k];
		st->hist[local[k]]++;
		st->fam_n[fam]++;
		st->fam_sum[fam] += local[k];
	}
	printf("group %lld (%s): %d answers rated%s\n", (long long)group, demo_family_name(fam), n, scores);
	fflush(stdout);
	return 0;
}

int cmd_rubric_rate(int argc, char **argv)
{
	const char *url = "http://127.0.0.1:8080", *token = NULL, *taste_name = "default";
	int max = 0, seed = 1;
	float noise = 0.0f;
	const struct cli_opt opts[] = {
		{ "url", CLI_STR, &url, "server base URL (default http://127.0.0.1:8080)" },
		{ "token", CLI_STR, &token, "a rater's bearer token (or env RLHFD_TOKEN)" },
		{ "max", CLI_INT, &max, "stop after N tasks (default: until none is left)" },
		{ "noise", CLI_FLOAT, &noise, "probability of moving a score by one, like a human" },
		{ "seed", CLI_INT, &seed, "seed of the noise (default 1)" },
		{ "taste", CLI_STR, &taste_name, "whose scores: default (the rubric's ladder) or thorough "
						 "(likes detail)" },
		{ NULL, 0, NULL, NULL },
	};
	int prc = cli_parse(argc, argv, opts, "--url URL --token TOKEN [--max N] [--noise P --seed S] [--taste NAME]",
			    NULL, 0, NULL);
	if (prc != 0)
		return cli_exit_code(prc);
	if (!token)
		token = getenv("RLHFD_TOKEN");
	if (!token || !*token) {
		fprintf(stderr, "rlhfd rubric-rate: a token is needed: --token TOKEN or RLHFD_TOKEN\n");
		return 2;
	}
	if (noise < 0.0f || noise > 1.0f || max < 0) {
		fprintf(stderr, "rlhfd rubric-rate: --noise must be in [0, 1] and --max >= 0\n");
		return 2;
	}
	const struct rubric_taste *taste = rubric_taste_find(taste_name);
	if (!taste) {
		char known[256] = "";
		size_t kl = 0;
		for (int i = 0; rubric_taste_at(i) && kl + 1 < sizeof known; i++)
			kl += (size_t)snprintf(known + kl, sizeof known - kl, "%s%s", i ? ", " : "",
					       rubric_taste_at(i)->name);
		fprintf(stderr, "rlhfd rubric-rate: unknown taste '%s': known tastes are %s\n", taste_name,
			known);
		return 2;
	}
	char host[256], path[1024];
	int port;
	if (httpc_parse_url(url, host, sizeof host, &port, path, sizeof path) < 0) {
		fprintf(stderr, "rlhfd rubric-rate: bad url '%s': only http://host:port is supported\n", url);
		return 2;
	}

	struct rr_stats st = { 0 };
	uint64_t rng = (uint64_t)(uint32_t)seed * 0x2545F4914F6CDD1Dull + 1;
	json_int_t last_group = -1;
	int rc = 0;
	char next[2048], err[256];
	rr_url(next, sizeof next, url, "/api/tasks/next");
	while (max == 0 || st.tasks < max) {
		struct httpc_response r;
		if (httpc_request(&r, "GET", next, token, NULL, NULL, 0, RR_TIMEOUT_MS, err, sizeof err) < 0) {
			fprintf(stderr, "rlhfd rubric-rate: GET /api/tasks/next: %s\n", err);
			rc = 1;
			break;
		}
		if (r.status == 204) {
			httpc_response_release(&r);
			printf("no task left\n");
			break;
		}
		if (r.status != 200) {
			rr_http_error("GET /api/tasks/next", &r);
			httpc_response_release(&r);
			rc = 1;
			break;
		}
		json_error_t jerr;
		json_t *j = json_loadb(r.body, r.body_len, 0, &jerr);
		httpc_response_release(&r);
		json_t *task = json_object_get(j, "task");
		if (!json_is_object(task)) {
			fprintf(stderr, "rlhfd rubric-rate: GET /api/tasks/next: no task object in the answer\n");
			json_decref(j);
			rc = 1;
			break;
		}
		json_int_t group = -1;
		int trc = rr_rate_task(url, token, task, taste, noise, &rng, &st, &group);
		json_decref(j);
		if (trc < 0) {
			rc = 1;
			break;
		}
		/* a server that hands out the group just rated would loop forever */
		if (group == last_group) {
			fprintf(stderr, "rlhfd rubric-rate: the server handed out group %lld again right "
				"after it was rated; stopping\n", (long long)group);
			rc = 1;
			break;
		}
		last_group = group;
	}

	printf("taste: %s\n", taste->name);
	printf("tasks=%d ratings=%d mean_score=%.3f\n", st.tasks, st.ratings,
	       st.ratings ? (double)st.sum / st.ratings : 0.0);
	printf("histogram: 1:%d 2:%d 3:%d 4:%d 5:%d\n", st.hist[1], st.hist[2], st.hist[3], st.hist[4],
	       st.hist[5]);
	for (int f = 0; f < DEMO_N_FAMILIES; f++)
		if (st.fam_n[f])
			printf("family %s: n=%d mean=%.3f\n", demo_family_name(f), st.fam_n[f],
			       (double)st.fam_sum[f] / st.fam_n[f]);
	return rc;
}
