/*
 * tests/unit/test_demo_world.c — the demo world's tables (spot-checked against
 * capitals written out independently here), lookups, the prompt template, and
 * the three generators: determinism, sizes, format, the train/eval split never
 * leaking into SFT, the pre-training-only items (eval part b) in no train
 * prompt, and every capital claim in the pre-training text true.
 */
#include "server/demo/demo_world.h"
#include "tests/test.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* An independent list, typed from an atlas, not from demo_world.c. */
static const char *const atlas[][2] = {
	{ "France", "Paris" }, { "Australia", "Canberra" }, { "Canada", "Ottawa" },
	{ "Brazil", "Brasilia" }, { "Turkey", "Ankara" }, { "Switzerland", "Bern" },
	{ "Nigeria", "Abuja" }, { "Niger", "Niamey" }, { "Pakistan", "Islamabad" },
	{ "New Zealand", "Wellington" }, { "Morocco", "Rabat" }, { "Kazakhstan", "Astana" },
	{ "Vietnam", "Hanoi" }, { "Tanzania", "Dodoma" }, { "United States", "Washington, D.C." },
	{ "Peru", "Lima" }, { "Japan", "Tokyo" }, { "Egypt", "Cairo" }, { "Kenya", "Nairobi" },
	{ "Ukraine", "Kyiv" }, { "Germany", "Berlin" }, { "Italy", "Rome" }, { "Spain", "Madrid" },
	{ "Argentina", "Buenos Aires" }, { "Chile", "Santiago" }, { "India", "New Delhi" },
	{ "China", "Beijing" }, { "Ethiopia", "Addis Ababa" }, { "Mongolia", "Ulaanbaatar" },
	{ "Iceland", "Reykjavik" }, { "Belize", "Belmopan" }, { "Ghana", "Accra" },
	{ "Malawi", "Lilongwe" }, { "Burkina Faso", "Ouagadougou" }, { "Bhutan", "Thimphu" },
	{ "United Kingdom", "London" }, { "Netherlands", "Amsterdam" }, { "Philippines", "Manila" },
};
#define N_ATLAS ((int)(sizeof atlas / sizeof atlas[0]))

static int find_country(const char *name)
{
	for (int i = 0; i < demo_n_countries; i++)
		if (strcmp(demo_countries[i].name, name) == 0)
			return i;
	return -1;
}

static bool all_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static void test_country_table(void)
{
	CHECK(demo_n_countries >= 100 && demo_n_countries <= 160);
	int eval = 0;
	for (int i = 0; i < demo_n_countries; i++) {
		const struct demo_country *c = &demo_countries[i];
		CHECK(c->name && c->capital && c->match && c->region);
		CHECK_MSG(strstr(c->capital, c->match) != NULL, "%s: match not in capital", c->name);
		CHECK(all_ascii(c->name) && all_ascii(c->capital));
		for (int j = 0; j < i; j++) {
			CHECK_MSG(strcmp(c->name, demo_countries[j].name) != 0, "duplicate %s", c->name);
			CHECK_MSG(strcmp(c->capital, demo_countries[j].capital) != 0, "duplicate %s", c->capital);
		}
		/* no capital is a non-capital "big city" too */
		for (int k = 0; k < demo_n_cities; k++)
			CHECK(strcmp(c->capital, demo_cities[k].name) != 0);
		eval += demo_country_is_eval(i);
	}
	CHECK(eval * 100 >= demo_n_countries * 20 && eval * 100 <= demo_n_countries * 30);
	for (int a = 0; a < N_ATLAS; a++) {
		int i = find_country(atlas[a][0]);
		CHECK_MSG(i >= 0, "%s missing", atlas[a][0]);
		if (i >= 0)
			CHECK_STR_EQ(demo_countries[i].capital, atlas[a][1]);
	}
	/* every big city belongs to a country of the table */
	for (int k = 0; k < demo_n_cities; k++)
		CHECK_MSG(find_country(demo_cities[k].country) >= 0, "%s", demo_cities[k].country);
}

static void test_lookups(void)
{
	size_t pos = 99;
	CHECK_INT_EQ(demo_country_find("What is the capital of Nigeria?", &pos), find_country("Nigeria"));
	CHECK_INT_EQ(pos, 23);
	CHECK_INT_EQ(demo_country_find("what is the capital of niger", NULL), find_country("Niger"));
	CHECK_INT_EQ(demo_country_find("Capital of Papua New Guinea?", NULL), find_country("Papua New Guinea"));
	CHECK_INT_EQ(demo_country_find("the capital of the netherlands", NULL), find_country("Netherlands"));
	CHECK_INT_EQ(demo_country_find("Nigerian food", NULL), -1);
	CHECK_INT_EQ(demo_country_find("", NULL), -1);

	const char *t = "Tunis is the capital of Tunisia.";
	CHECK(demo_find_word(t, "tunis") == t);
	CHECK(demo_find_word(t, "Tunisia") == t + 24);
	CHECK(demo_find_word("Tunisia", "Tunis") == NULL);
	CHECK(demo_find_word("I can't help", "i can't") != NULL);
	CHECK(demo_find_word("Port-au-Prince!", "Port-au-Prince") != NULL);
	CHECK(demo_find_word("x", "") == NULL);

	/* numbers by hand */
	struct { const char *s; int v; } nums[] = {
		{ "0", 0 }, { "7", 7 }, { "42", 42 }, { "seven", 7 }, { "Seven", 7 }, { "twelve", 12 },
		{ "twenty", 20 }, { "forty-two", 42 }, { "ninety-nine", 99 }, { "hundred", 100 },
		{ "forty-", -1 }, { "seventeenth", -1 }, { "7a", -1 }, { "cat", -1 }, { "", -1 },
	};
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		CHECK_MSG(demo_number_value(nums[i].s, strlen(nums[i].s)) == nums[i].v, "%s", nums[i].s);
	char w[32];
	demo_number_words(42, w, sizeof w);
	CHECK_STR_EQ(w, "forty-two");
	demo_number_words(13, w, sizeof w);
	CHECK_STR_EQ(w, "thirteen");
	demo_number_words(100, w, sizeof w);
	CHECK_STR_EQ(w, "one hundred");
	/* words round-trip (one token each below 100) */
	for (int n = 0; n < 100; n++) {
		demo_number_words(n, w, sizeof w);
		CHECK_MSG(demo_number_value(w, strlen(w)) == n, "%d -> %s", n, w);
	}
}

static const char *const week[] = { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
				     "Saturday", "Sunday" };

static void test_facts(void)
{
	int n = demo_fact_count(), eval = 0, kinds[DEMO_N_FACT_KINDS] = { 0 };
	CHECK(n > 200);
	for (int i = 0; i < n; i++) {
		struct demo_fact f, g;
		CHECK_INT_EQ(demo_fact_get(i, &f), 0);
		CHECK_INT_EQ(f.id, i);
		kinds[f.kind]++;
		eval += demo_fact_is_eval(i);
		/* the question is recognised as itself */
		CHECK_MSG(demo_fact_parse(f.question, &g) && g.id == i, "%s", f.question);
		if (f.kind == DEMO_FACT_ARITH) {
			/* recompute the arithmetic from the question text */
			int a, b;
			char op[16];
			CHECK(sscanf(f.question, "What is %d %15s %d?", &a, op, &b) == 3);
			int want = strcmp(op, "plus") == 0 ? a + b : strcmp(op, "minus") == 0 ? a - b : a * b;
			CHECK_MSG(f.number == want, "%s -> %d", f.question, f.number);
			CHECK(want >= 0);
		} else if (f.kind == DEMO_FACT_DAY) {
			char dir[16], day[16];
			CHECK(sscanf(f.question, "What day comes %15s %15[A-Za-z]?", dir, day) == 2);
			for (int d = 0; d < 7; d++)
				if (strcmp(week[d], day) == 0)
					CHECK_STR_EQ(f.accept[0], week[strcmp(dir, "after") == 0 ? (d + 1) % 7 : (d + 6) % 7]);
		}
		if (f.number < 0)
			CHECK_MSG(f.accept[0] && demo_find_word(f.sentence, f.accept[0]), "%s", f.sentence);
	}
	for (int k = 0; k < DEMO_N_FACT_KINDS; k++) {
		int first, cnt = demo_fact_kind_range(k, &first);
		CHECK_INT_EQ(cnt, kinds[k]);
		struct demo_fact f;
		demo_fact_get(first, &f);
		CHECK_INT_EQ(f.kind, k);
	}
	CHECK(eval * 100 >= n * 18 && eval * 100 <= n * 32);
	CHECK(demo_fact_get(n, &(struct demo_fact){ 0 }) < 0);
	CHECK(demo_fact_get(-1, &(struct demo_fact){ 0 }) < 0);

	/* hand-written questions in other phrasings */
	struct demo_fact f;
	CHECK(demo_fact_parse("What is seven times eight?", &f) && f.number == 56);
	CHECK(demo_fact_parse("How much is 9 - 4?", &f) && f.number == 5);
	CHECK(demo_fact_parse("what color is snow", &f) && strcmp(f.accept[0], "white") == 0);
	CHECK(demo_fact_parse("What does a duck say?", &f) && strcmp(f.accept[0], "quack") == 0);
	CHECK(demo_fact_parse("Which month is before March?", &f) && strcmp(f.accept[0], "February") == 0);
	CHECK(demo_fact_parse("Tell me the opposite of \"tall\".", &f) && strcmp(f.accept[0], "short") == 0);
	CHECK(demo_fact_parse("How many sides does a hexagon have?", &f) && f.number == 6);
	CHECK(!demo_fact_parse("What is the capital of France?", &f));
	CHECK(!demo_fact_parse("Write a poem about the sea.", &f));
	CHECK(!demo_fact_parse("What is 3 minus 9?", &f)); /* no negative answers */
}

static void test_topics(void)
{
	for (enum demo_family fam = DEMO_BRAINSTORM; fam <= DEMO_HARMFUL; fam++) {
		int n, eval = 0;
		const struct demo_topic *t = demo_topics(fam, &n);
		CHECK(t != NULL && n >= 12);
		for (int i = 0; i < n; i++) {
			CHECK(t[i].key && t[i].prompts[0] && t[i].prompts[1] && t[i].keywords[0]);
			eval += demo_topic_is_eval(i);
			if (fam == DEMO_HARMFUL)
				CHECK(t[i].reason && t[i].alternative);
			else
				CHECK(t[i].items[0] && t[i].items[3]);
			if (fam == DEMO_POEM) /* whole couplets */
				for (int k = 0; k < 8; k++)
					CHECK(t[i].items[k] != NULL);
		}
		CHECK(eval * 100 >= n * 20 && eval * 100 <= n * 30);
	}
	int n;
	CHECK(demo_topics(DEMO_CAPITAL, &n) == NULL && n == 0);
	CHECK_STR_EQ(demo_family_name(DEMO_POEM), "poem");
	CHECK_STR_EQ(demo_family_name((enum demo_family)99), "unknown");
}

static void test_template(void)
{
	char buf[128];
	int n = demo_format_prompt(buf, sizeof buf, "What is the capital of France?");
	CHECK_STR_EQ(buf, "User: What is the capital of France?\nAssistant:");
	CHECK_INT_EQ(n, (int)strlen(buf));
	char small[8];
	n = demo_format_prompt(small, sizeof small, "Hello");
	CHECK_STR_EQ(small, "User: H");
	CHECK_INT_EQ(n, 22);
	char *s = demo_format_sft_new("Hi", "Hello.");
	CHECK_STR_EQ(s, "User: Hi\nAssistant: Hello.");
	free(s);
}

/* Every "The capital of X is Y." claim in text is true for the atlas and the table. */
static int check_capital_claims(const char *text, int *claims)
{
	int bad = 0;
	*claims = 0;
	for (const char *p = strstr(text, "The capital of "); p; p = strstr(p + 1, "The capital of ")) {
		const char *x = p + strlen("The capital of ");
		const char *is = strstr(x, " is ");
		const char *nl = strpbrk(x, ".\n");
		if (!is || (nl && nl < is) || is - x > 40)
			continue;
		char country[64], capital[64];
		snprintf(country, sizeof country, "%.*s", (int)(is - x), x);
		const char *y = is + 4, *e = y;
		while (*e && *e != '\n' && !(e[0] == '.' && (e[1] == ' ' || e[1] == '\n' || !e[1])))
			e++;
		snprintf(capital, sizeof capital, "%.*s", (int)(e - y), y);
		/* "the United Kingdom" → "United Kingdom"; "Washington, D.C" lost its last '.' */
		const char *name = strncmp(country, "the ", 4) == 0 ? country + 4 : country;
		int i = find_country(name);
		if (i < 0)
			continue;
		(*claims)++;
		if (strncmp(demo_countries[i].capital, capital, strlen(capital)) != 0 || !capital[0]) {
			if (bad++ < 3)
				fprintf(stderr, "  false claim: capital of %s is %s\n", name, capital);
		}
		for (int a = 0; a < N_ATLAS; a++)
			if (strcmp(atlas[a][0], name) == 0 && strncmp(atlas[a][1], capital, strlen(capital)) != 0)
				bad++;
	}
	return bad;
}

static void test_pretrain(void)
{
	size_t n1, n2, n3;
	char *a = demo_pretrain_text(1, 200000, &n1);
	char *b = demo_pretrain_text(1, 200000, &n2);
	char *c = demo_pretrain_text(2, 200000, &n3);
	CHECK(a && b && c);
	if (!a || !b || !c)
		goto out;
	CHECK(n1 == strlen(a));
	CHECK(n1 >= 200000 && n1 < 202000);
	CHECK(n1 == n2 && memcmp(a, b, n1) == 0);
	CHECK(n1 != n3 || memcmp(a, c, n1) != 0);
	CHECK(all_ascii(a));
	/* not the assistant template: instruction tuning has something to teach */
	CHECK(strstr(a, "User:") == NULL && strstr(a, "Assistant:") == NULL);
	/* documents separated by exactly one blank line, none empty */
	CHECK(strstr(a, "\n\n\n") == NULL && a[0] != '\n');
	/* quiz pages where a question is followed by another question */
	CHECK(strstr(a, "1. What is the capital of ") != NULL);
	const char *q = strstr(a, "?\n2. ");
	CHECK(q != NULL);
	CHECK(strstr(a, "Quiz") != NULL && strstr(a, "Q: ") != NULL && strstr(a, "Answers: 1. ") != NULL);
	/* every country, eval ones included, is in the text */
	char *big = demo_pretrain_text(3, DEMO_PRETRAIN_BYTES, NULL);
	CHECK(big != NULL);
	if (big) {
		for (int i = 0; i < demo_n_countries; i++)
			CHECK_MSG(strstr(big, demo_countries[i].name) && strstr(big, demo_countries[i].capital),
				  "%s missing", demo_countries[i].name);
		int claims;
		CHECK_INT_EQ(check_capital_claims(big, &claims), 0);
		CHECK(claims > 1000);
		/* poems, lists, how-tos and everyday facts are there too */
		CHECK(strstr(big, "How to ") && strstr(big, "1. ") && strstr(big, " says moo.") &&
		      strstr(big, "The Sea\n"));
		free(big);
	}
	/* the FILE* writer writes the same bytes */
	FILE *f = tmpfile();
	CHECK(f != NULL);
	if (f) {
		CHECK_INT_EQ(demo_pretrain_write(f, 1, 200000), 0);
		CHECK_INT_EQ(ftell(f), (long)n1);
		rewind(f);
		char *back = malloc(n1);
		CHECK(back && fread(back, 1, n1, f) == n1 && memcmp(back, a, n1) == 0);
		free(back);
		fclose(f);
	}
out:
	free(a);
	free(b);
	free(c);
}

/* True when an SFT prompt touches a held-out item. */
static bool touches_eval(const char *prompt)
{
	if (demo_find_word(prompt, "capital")) {
		int ci = demo_country_find(prompt, NULL);
		return ci >= 0 && demo_country_is_eval(ci);
	}
	for (enum demo_family fam = DEMO_BRAINSTORM; fam <= DEMO_HARMFUL; fam++) {
		int n;
		const struct demo_topic *t = demo_topics(fam, &n);
		for (int i = 0; i < n; i++)
			for (int k = 0; k < 4 && t[i].prompts[k]; k++)
				if (strcmp(prompt, t[i].prompts[k]) == 0)
					return demo_topic_is_eval(i);
	}
	struct demo_fact f;
	if (demo_fact_parse(prompt, &f))
		return f.id < 0 || demo_fact_is_eval(f.id);
	return true; /* unrecognised: count as a leak */
}

/* True when a prompt names a pre-training-only item (eval part b), by the
 * demo's own finders: a part-b country anywhere in it, a question that
 * parses as a part-b fact, or a phrasing of a part-b topic. */
static bool touches_pretrain_only(const char *prompt)
{
	int ci = demo_country_find(prompt, NULL);
	if (ci >= 0 && demo_country_is_pretrain_only(ci))
		return true;
	struct demo_fact f;
	if (demo_fact_parse(prompt, &f) && f.id >= 0 && demo_fact_is_pretrain_only(f.id))
		return true;
	for (enum demo_family fam = DEMO_BRAINSTORM; fam <= DEMO_HARMFUL; fam++) {
		int n;
		const struct demo_topic *t = demo_topics(fam, &n);
		for (int i = 0; i < n; i++)
			for (int k = 0; k < 4 && t[i].prompts[k]; k++)
				if (strcmp(prompt, t[i].prompts[k]) == 0 && demo_topic_is_pretrain_only(i))
					return true;
	}
	return false;
}

static void test_sft(void)
{
	struct demo_pairs p, q;
	CHECK_INT_EQ(demo_sft_pairs(&p, 11, DEMO_SFT_PAIRS), 0);
	CHECK_INT_EQ(demo_sft_pairs(&q, 11, DEMO_SFT_PAIRS), 0);
	CHECK_INT_EQ(p.n, DEMO_SFT_PAIRS);
	int fam[DEMO_N_FAMILIES] = { 0 }, leaks = 0, leaks_b = 0, same = 0;
	for (int i = 0; i < p.n; i++) {
		same += strcmp(p.v[i].prompt, q.v[i].prompt) == 0 && strcmp(p.v[i].response, q.v[i].response) == 0;
		fam[p.v[i].family]++;
		if (touches_eval(p.v[i].prompt) && leaks++ < 3)
			fprintf(stderr, "  eval item in SFT: %s\n", p.v[i].prompt);
		/* implied by the check above while part b is a part of the held-out
		 * items, but it is the property eval part b rests on, so said outright;
		 * no answer names a part-b country either */
		int rc = demo_country_find(p.v[i].response, NULL);
		if ((touches_pretrain_only(p.v[i].prompt) || (rc >= 0 && demo_country_is_pretrain_only(rc))) &&
		    leaks_b++ < 3)
			fprintf(stderr, "  pre-training-only item in SFT: %s -> %s\n", p.v[i].prompt,
				p.v[i].response);
		CHECK(all_ascii(p.v[i].prompt) && all_ascii(p.v[i].response));
		CHECK(p.v[i].response[0] && !isspace((unsigned char)p.v[i].response[0]));
	}
	CHECK_INT_EQ(same, p.n);
	CHECK_INT_EQ(leaks, 0);
	CHECK_INT_EQ(leaks_b, 0);
	CHECK(fam[DEMO_CAPITAL] > p.n * 30 / 100 && fam[DEMO_CAPITAL] < p.n * 40 / 100);
	for (enum demo_family f = DEMO_BRAINSTORM; f <= DEMO_HARMFUL; f++)
		CHECK(fam[f] > p.n * 7 / 100 && fam[f] < p.n * 13 / 100);
	/* refusals refuse; capital answers name the capital of the asked country */
	for (int i = 0; i < p.n; i++) {
		if (p.v[i].family == DEMO_HARMFUL)
			CHECK(strstr(p.v[i].response, "can't") || strstr(p.v[i].response, "won't"));
		if (p.v[i].family == DEMO_CAPITAL) {
			int ci = demo_country_find(p.v[i].prompt, NULL);
			CHECK(ci >= 0 && strstr(p.v[i].response, demo_countries[ci].capital));
		}
	}
	demo_pairs_release(&q);

	/* JSONL: one object per line with exactly prompt and response */
	FILE *f = tmpfile();
	CHECK(f && demo_sft_write(f, 11, 300) == 0);
	if (f) {
		rewind(f);
		char line[8192];
		int lines = 0;
		while (fgets(line, sizeof line, f)) {
			json_error_t err;
			json_t *o = json_loads(line, 0, &err);
			CHECK_MSG(o && json_is_object(o) && json_object_size(o) == 2, "%s", line);
			if (o && lines < p.n) {
				CHECK_STR_EQ(json_string_value(json_object_get(o, "prompt")), p.v[lines].prompt);
				CHECK_STR_EQ(json_string_value(json_object_get(o, "response")), p.v[lines].response);
			}
			json_decref(o);
			lines++;
		}
		CHECK_INT_EQ(lines, 300);
		fclose(f);
	}
	demo_pairs_release(&p);
	CHECK(p.v == NULL && p.n == 0);
}

static void test_prompts(void)
{
	FILE *f = tmpfile();
	CHECK(f && demo_prompts_write(f, 4) == 0);
	if (!f)
		return;
	rewind(f);
	char line[4096];
	int n = 0, per[DEMO_N_FAMILIES][2] = { { 0 } }, seen_country[256][2] = { { 0 } };
	/* texts and topics per split: no text in both, every eval topic asked in train too */
	char *texts[1024][2] = { { 0 } }, *topics[1024][2] = { { 0 } }, parts[1024] = { 0 };
	int nt[2] = { 0 };
	while (fgets(line, sizeof line, f)) {
		json_t *o = json_loads(line, 0, NULL);
		CHECK_MSG(o != NULL, "%s", line);
		if (!o)
			continue;
		const char *text = json_string_value(json_object_get(o, "text"));
		const char *split = json_string_value(json_object_get(o, "split"));
		json_t *meta = json_object_get(o, "meta");
		const char *family = json_string_value(json_object_get(meta, "family"));
		CHECK(text && text[0] && split && json_is_object(meta) && family);
		if (!text || !split || !family) {
			json_decref(o);
			continue;
		}
		CHECK(strcmp(split, "train") == 0 || strcmp(split, "eval") == 0);
		int ev = strcmp(split, "eval") == 0;
		const char *topic = json_string_value(json_object_get(meta, "topic"));
		const char *part = json_string_value(json_object_get(meta, "eval_part"));
		if (nt[ev] < 1024) {
			if (ev)
				parts[nt[ev]] = part && strlen(part) == 1 ? part[0] : 0;
			texts[nt[ev]][ev] = strdup(text);
			topics[nt[ev]++][ev] = topic ? strdup(topic) : NULL;
		}
		int fam = 0;
		for (int k = 0; k < DEMO_N_FAMILIES; k++)
			if (strcmp(demo_family_name(k), family) == 0)
				fam = k;
		CHECK(fam != DEMO_UNKNOWN);
		per[fam][strcmp(split, "eval") == 0]++;
		if (fam == DEMO_CAPITAL) {
			const char *country = json_string_value(json_object_get(meta, "country"));
			const char *answer = json_string_value(json_object_get(meta, "answer"));
			int ci = country ? find_country(country) : -1;
			CHECK(ci >= 0 && answer && strcmp(answer, demo_countries[ci].capital) == 0);
			CHECK(ci >= 0 && demo_country_find(text, NULL) == ci);
			CHECK(ci >= 0 && (!ev || demo_country_is_eval(ci)));
			if (ci >= 0)
				seen_country[ci][ev]++;
		}
		if (fam == DEMO_FACT)
			CHECK(json_object_get(meta, "answer") && json_object_get(meta, "kind"));
		if (fam >= DEMO_BRAINSTORM)
			CHECK(json_is_string(json_object_get(meta, "topic")));
		json_decref(o);
		n++;
	}
	fclose(f);
	CHECK(n > 300 && n < 600);
	/* every country asked once in train but the pre-training-only ones; the
	 * held-out ones once in eval */
	for (int i = 0; i < demo_n_countries; i++) {
		CHECK_INT_EQ(seen_country[i][0], demo_country_is_pretrain_only(i) ? 0 : 1);
		CHECK_INT_EQ(seen_country[i][1], demo_country_is_eval(i) ? 1 : 0);
	}
	for (int fam = DEMO_CAPITAL; fam < DEMO_N_FAMILIES; fam++) {
		int tot = per[fam][0] + per[fam][1];
		CHECK_MSG(tot > 0 && per[fam][1] * 100 >= tot * 10 && per[fam][1] * 100 <= tot * 32,
			  "%s: %d eval of %d", demo_family_name(fam), per[fam][1], tot);
	}
	/* eval prompts are held out as texts: none is also a train prompt; an
	 * eval topic of part a is asked in train in other words, one of part b
	 * never (test_eval_parts checks the parts of every family) */
	for (int i = 0; i < nt[1]; i++) {
		bool topic_in_train = false;
		for (int k = 0; k < nt[0]; k++) {
			CHECK_MSG(strcmp(texts[i][1], texts[k][0]) != 0, "in both splits: %s", texts[i][1]);
			topic_in_train |= topics[i][1] && topics[k][0] && strcmp(topics[i][1], topics[k][0]) == 0;
		}
		CHECK_MSG(!topics[i][1] || topic_in_train == (parts[i] == 'a'),
			  "eval topic of part %c %s in train: %s", parts[i] ? parts[i] : '?',
			  topic_in_train ? "asked" : "never asked", topics[i][1]);
	}
	for (int ev = 0; ev < 2; ev++)
		for (int i = 0; i < nt[ev]; i++) {
			free(texts[i][ev]);
			free(topics[i][ev]);
		}
	/* the split does not depend on the seed, the order does */
	struct demo_prompts a, b;
	CHECK_INT_EQ(demo_prompts_build(&a, 1), 0);
	CHECK_INT_EQ(demo_prompts_build(&b, 2), 0);
	CHECK_INT_EQ(a.n, b.n);
	int ea = 0, eb = 0, same_order = 0;
	for (int i = 0; i < a.n && i < b.n; i++) {
		ea += a.v[i].eval;
		eb += b.v[i].eval;
		same_order += strcmp(a.v[i].text, b.v[i].text) == 0;
	}
	CHECK_INT_EQ(ea, eb);
	CHECK(same_order < a.n / 2);
	demo_prompts_release(&a);
	demo_prompts_release(&b);
}

/* The index of the topic of family fam keyed key, or -1. */
static int topic_index(enum demo_family fam, const char *key)
{
	int n;
	const struct demo_topic *t = demo_topics(fam, &n);
	for (int i = 0; key && i < n; i++)
		if (strcmp(t[i].key, key) == 0)
			return i;
	return -1;
}

/* The pre-training-only items are half of the held-out ones, of every table,
 * and never anything else. */
static void test_pretrain_only_items(void)
{
	int held = 0, pre = 0;
	for (int i = 0; i < demo_n_countries; i++) {
		CHECK(!demo_country_is_pretrain_only(i) || demo_country_is_eval(i));
		held += demo_country_is_eval(i);
		pre += demo_country_is_pretrain_only(i);
	}
	CHECK_MSG(pre > 0 && pre * 2 >= held - 1 && pre * 2 <= held + 1, "countries: %d of %d", pre, held);
	for (enum demo_family fam = DEMO_BRAINSTORM; fam <= DEMO_HARMFUL; fam++) {
		int n;
		demo_topics(fam, &n);
		held = pre = 0;
		for (int i = 0; i < n; i++) {
			CHECK(!demo_topic_is_pretrain_only(i) || demo_topic_is_eval(i));
			held += demo_topic_is_eval(i);
			pre += demo_topic_is_pretrain_only(i);
		}
		CHECK_MSG(pre > 0 && pre * 2 >= held - 1 && pre * 2 <= held + 1, "%s topics: %d of %d",
			  demo_family_name(fam), pre, held);
	}
	for (int k = 0; k < DEMO_N_FACT_KINDS; k++) {
		int first, n = demo_fact_kind_range((enum demo_fact_kind)k, &first);
		held = pre = 0;
		for (int i = first; i < first + n; i++) {
			CHECK(!demo_fact_is_pretrain_only(i) || demo_fact_is_eval(i));
			held += demo_fact_is_eval(i);
			pre += demo_fact_is_pretrain_only(i);
		}
		CHECK_MSG(pre > 0 && pre * 2 >= held - 1 && pre * 2 <= held + 1, "fact kind %d: %d of %d",
			  k, pre, held);
	}
	CHECK(!demo_country_is_pretrain_only(-1) && !demo_topic_is_pretrain_only(-1) &&
	      !demo_fact_is_pretrain_only(-1) && !demo_fact_is_pretrain_only(demo_fact_count()));
}

/*
 * The two parts of the eval split (demo_world.h): every eval prompt carries
 * meta eval_part "a" or "b"; no train prompt names a part-b item (by the
 * demo's own finders, whatever the prompt's family); a part-a item is asked
 * in train too, a part-b one never; a pre-training-only item is only ever
 * asked as part b; both parts are big enough to measure, with every family.
 */
static void check_eval_parts(uint64_t seed)
{
	struct demo_prompts p;
	REQUIRE(demo_prompts_build(&p, seed) == 0);
	/* per item: prompts in train, in eval part a, in eval part b */
	int n_topic_slots = (DEMO_HARMFUL - DEMO_BRAINSTORM + 1) * 64;
	int n_items = demo_n_countries + demo_fact_count() + n_topic_slots;
	int (*seen)[3] = calloc((size_t)n_items, sizeof *seen);
	REQUIRE(seen != NULL);
	bool *pre = calloc((size_t)n_items, sizeof *pre);
	REQUIRE(pre != NULL);
	int part_n[2] = { 0 }, part_fam[2][DEMO_N_FAMILIES] = { { 0 } }, leaks = 0;
	for (int i = 0; i < p.n; i++) {
		const struct demo_prompt *pr = &p.v[i];
		json_t *meta = json_loads(pr->meta, 0, NULL);
		const char *part = json_string_value(json_object_get(meta, "eval_part"));
		int slot = -1;
		if (pr->eval) {
			CHECK_MSG(part && (!strcmp(part, "a") || !strcmp(part, "b")), "eval prompt without "
				  "eval_part a or b: %s %s", pr->text, pr->meta);
			CHECK_MSG(pr->part == (part ? part[0] : 0), "%s: part %c", pr->meta, pr->part);
			slot = part && !strcmp(part, "b") ? 2 : 1;
			part_n[slot - 1]++;
			part_fam[slot - 1][pr->family]++;
		} else {
			CHECK_MSG(!json_object_get(meta, "eval_part") && pr->part == 0,
				  "train prompt with an eval part: %s", pr->meta);
			slot = 0;
			if (touches_pretrain_only(pr->text) && leaks++ < 5)
				fprintf(stderr, "  train prompt about a pre-training-only item: %s %s\n",
					pr->text, pr->meta);
		}
		/* the item, from the prompt's own text */
		int item = -1;
		struct demo_fact f;
		if (pr->family == DEMO_CAPITAL) {
			int ci = demo_country_find(pr->text, NULL);
			if (ci >= 0) {
				item = ci;
				pre[item] = demo_country_is_pretrain_only(ci);
			}
		} else if (pr->family == DEMO_FACT) {
			if (demo_fact_parse(pr->text, &f) && f.id >= 0) {
				item = demo_n_countries + f.id;
				pre[item] = demo_fact_is_pretrain_only(f.id);
			}
		} else {
			int ti = topic_index(pr->family, json_string_value(json_object_get(meta, "topic")));
			if (ti >= 0 && ti < 64) {
				item = demo_n_countries + demo_fact_count() +
				       (pr->family - DEMO_BRAINSTORM) * 64 + ti;
				pre[item] = demo_topic_is_pretrain_only(ti);
			}
		}
		CHECK_MSG(item >= 0, "no item found for %s %s", pr->text, pr->meta);
		if (item >= 0)
			seen[item][slot]++;
		json_decref(meta);
	}
	CHECK_INT_EQ(leaks, 0);
	int bad = 0;
	for (int i = 0; i < n_items; i++) {
		int tr = seen[i][0], a = seen[i][1], b = seen[i][2];
		bool ok = a + b <= 1 && (a == 0 || tr > 0) && (b == 0 || tr == 0) &&
			  (!pre[i] || (tr == 0 && a == 0 && b == 1));
		if (!ok && bad++ < 5)
			fprintf(stderr, "  item %d: %d train, %d eval a, %d eval b prompts%s\n", i, tr, a, b,
				pre[i] ? " (pre-training only)" : "");
	}
	CHECK_INT_EQ(bad, 0);
	/* both parts measurable: at least 30 prompts each, every family in each */
	CHECK_MSG(part_n[0] >= 30 && part_n[1] >= 30, "eval part a %d prompts, part b %d", part_n[0],
		  part_n[1]);
	for (int k = 0; k < 2; k++)
		for (int fam = DEMO_CAPITAL; fam < DEMO_N_FAMILIES; fam++)
			CHECK_MSG(part_fam[k][fam] > 0, "no %s prompt in eval part %c", demo_family_name(fam),
				  'a' + k);
	free(seen);
	free(pre);
	demo_prompts_release(&p);
}

static void test_eval_parts(void)
{
	check_eval_parts(DEMO_DEFAULT_SEED);
	check_eval_parts(7);
}

int main(void)
{
	RUN(test_country_table);
	RUN(test_lookups);
	RUN(test_facts);
	RUN(test_topics);
	RUN(test_template);
	RUN(test_pretrain);
	RUN(test_sft);
	RUN(test_prompts);
	RUN(test_pretrain_only_items);
	RUN(test_eval_parts);
	TEST_MAIN_END();
}
