/*
 * server/demo/demo_corpus.c — the demo world's generators (see demo_world.h):
 * web-like pre-training text, the SFT instruction pairs and the prompt set,
 * all deterministic functions of a seed (splitmix64), built from the tables in
 * demo_world.c.
 */
#include "server/demo/demo_world.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- seeded choices ----------------------------------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t rng_u64(struct rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int rng_int(struct rng *r, int n)
{
	return n <= 1 ? 0 : (int)(rng_u64(r) % (uint64_t)n);
}

static bool rng_pct(struct rng *r, int percent)
{
	return rng_int(r, 100) < percent;
}

static int list_len(const char *const *l)
{
	int n = 0;
	while (l[n])
		n++;
	return n;
}

static int count_bounded(const char *const *l, int max)
{
	int n = 0;
	while (n < max && l[n])
		n++;
	return n;
}

/* Picks k distinct indices of 0..n-1 into out, in random order. */
static int pick_distinct(struct rng *r, int n, int k, int *out)
{
	int idx[64];
	if (n > 64)
		n = 64;
	if (k > n)
		k = n;
	for (int i = 0; i < n; i++)
		idx[i] = i;
	for (int i = 0; i < k; i++) {
		int j = i + rng_int(r, n - i);
		int t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
		out[i] = idx[i];
	}
	return k;
}

static void sort_ints(int *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/* ---- a growable string ---------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static bool sb_reserve(struct sbuf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sb_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_printf(b, "%s", s);
}

/* Appends s with its first letter upper- (up) or lower-cased. */
static void sb_cased(struct sbuf *b, const char *s, bool up)
{
	size_t at = b->len;
	sb_puts(b, s);
	if (!b->oom && b->len > at) {
		/* keep acronyms such as "CV" or "I" as they are */
		bool acronym = isupper((unsigned char)s[0]) && (isupper((unsigned char)s[1]) || !isalpha((unsigned char)s[1]));
		if (!acronym)
			b->p[at] = (char)(up ? toupper((unsigned char)b->p[at]) : tolower((unsigned char)b->p[at]));
	}
}

static char *sb_take(struct sbuf *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	if (!b->p && !sb_reserve(b, 0))
		return NULL;
	b->p[b->len] = 0;
	return b->p;
}

/* Frees the buffer and empties it for reuse. */
static void sb_free(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){ 0 };
}

/* A fact index with the kinds balanced (arithmetic, the largest, twice as
 * likely as each other kind); train_only skips held-out facts. */
static int random_fact(struct rng *r, bool train_only)
{
	for (;;) {
		int k = rng_int(r, DEMO_N_FACT_KINDS + 1), first;
		if (k >= DEMO_N_FACT_KINDS)
			k = DEMO_FACT_ARITH;
		int n = demo_fact_kind_range((enum demo_fact_kind)k, &first);
		int i = first + rng_int(r, n);
		if (!train_only || !demo_fact_is_eval(i))
			return i;
	}
}

/* ---- sentence pieces ---------------------------------------------------------------- */

static const struct demo_country *country(int i) { return &demo_countries[i]; }

/* "the " / "The " / "" before a country's name */
static const char *the(const struct demo_country *c, bool cap)
{
	return c->article ? (cap ? "The " : "the ") : "";
}

/* One of many true sentences naming a country's capital. */
static void capital_sentence(struct sbuf *b, struct rng *r, int ci)
{
	const struct demo_country *c = country(ci);
	const char *x = c->name, *y = c->capital;
	switch (rng_int(r, 11)) {
	case 0: case 1: case 2:
		sb_printf(b, "The capital of %s%s is %s.", the(c, false), x, y); break;
	case 3: case 4:
		sb_printf(b, "%s is the capital of %s%s.", y, the(c, false), x); break;
	case 5:
		sb_printf(b, "%s%s's capital is %s.", the(c, true), x, y); break;
	case 6:
		sb_printf(b, "The capital city of %s%s is %s.", the(c, false), x, y); break;
	case 7:
		sb_printf(b, "%s is the capital city of %s%s.", y, the(c, false), x); break;
	case 8:
		sb_printf(b, "In %s%s, the capital is %s.", the(c, false), x, y); break;
	case 9:
		sb_printf(b, "Many people visit %s, the capital of %s%s.", y, the(c, false), x); break;
	default:
		sb_printf(b, "If you travel to %s%s, you can visit its capital, %s.", the(c, false), x, y);
		break;
	}
}

/* A capital question in one of the phrasings users type. */
static void capital_question(struct sbuf *b, struct rng *r, int ci, bool canonical)
{
	const struct demo_country *c = country(ci);
	int k = canonical ? 0 : rng_int(r, 14);
	switch (k) {
	case 0: case 1: case 2: case 3: case 4: case 5:
		sb_printf(b, "What is the capital of %s%s?", the(c, false), c->name); break;
	case 6:
		sb_printf(b, "What's the capital of %s%s?", the(c, false), c->name); break;
	case 7:
		sb_printf(b, "Which city is the capital of %s%s?", the(c, false), c->name); break;
	case 8:
		sb_printf(b, "Name the capital of %s%s.", the(c, false), c->name); break;
	case 9:
		sb_printf(b, "Tell me the capital of %s%s.", the(c, false), c->name); break;
	case 10:
		sb_printf(b, "What is the capital city of %s%s?", the(c, false), c->name); break;
	case 11:
		sb_printf(b, "Do you know the capital of %s%s?", the(c, false), c->name); break;
	case 12:
		sb_printf(b, "what is the capital of %s%s", the(c, false), c->name); break;
	default:
		sb_printf(b, "Which city is %s%s's capital?", the(c, false), c->name); break;
	}
}

/* The ideal answer to a capital question. */
static void capital_answer(struct sbuf *b, struct rng *r, int ci)
{
	const struct demo_country *c = country(ci);
	int k = rng_int(r, 10);
	if (k < 7)
		sb_printf(b, "The capital of %s%s is %s.", the(c, false), c->name, c->capital);
	else if (k < 9)
		sb_printf(b, "%s is the capital of %s%s.", c->capital, the(c, false), c->name);
	else
		sb_printf(b, "The capital city of %s%s is %s.", the(c, false), c->name, c->capital);
}

/* A fact question in one of several phrasings (canonical: f->question). */
static void fact_question(struct sbuf *b, struct rng *r, const struct demo_fact *f, bool canonical)
{
	int k = canonical ? 0 : rng_int(r, 4);
	if (k == 0 || f->kind == DEMO_FACT_COUNT) {
		sb_puts(b, f->question);
		return;
	}
	/* re-phrase from the canonical question's parts */
	const char *q = f->question;
	switch (f->kind) {
	case DEMO_FACT_COLOUR: { /* "What colour is X?" */
		const char *x = q + strlen("What colour is ");
		if (k == 1)
			sb_printf(b, "What color is %s", x);
		else if (k == 2)
			sb_printf(b, "Tell me the colour of %.*s.", (int)(strlen(x) - 1), x);
		else
			sb_printf(b, "What is the colour of %s", x);
		break;
	}
	case DEMO_FACT_SOUND: { /* "What sound does X make?" */
		const char *x = q + strlen("What sound does ");
		int xl = (int)(strlen(x) - strlen(" make?"));
		if (k == 1)
			sb_printf(b, "What does %.*s say?", xl, x);
		else if (k == 2)
			sb_printf(b, "What noise does %.*s make?", xl, x);
		else
			sb_printf(b, "What sound does %.*s make?", xl, x);
		break;
	}
	case DEMO_FACT_DAY:
	case DEMO_FACT_MONTH: { /* "What day comes after X?" */
		const char *unit = f->kind == DEMO_FACT_DAY ? "day" : "month";
		const char *rest = strstr(q, "comes ") + strlen("comes ");
		if (k == 1)
			sb_printf(b, "Which %s is %s", unit, rest);
		else if (k == 2)
			sb_printf(b, "What is the %s %s", unit, rest);
		else
			sb_printf(b, "Which %s comes %s", unit, rest);
		break;
	}
	case DEMO_FACT_OPPOSITE: { /* "What is the opposite of X?" */
		const char *x = q + strlen("What is the opposite of ");
		if (k == 1)
			sb_printf(b, "What's the opposite of %s", x);
		else if (k == 2)
			sb_printf(b, "Tell me the opposite of %.*s.", (int)(strlen(x) - 1), x);
		else
			sb_printf(b, "What is the opposite of the word \"%.*s\"?", (int)(strlen(x) - 1), x);
		break;
	}
	case DEMO_FACT_ARITH: {
		char aw[24], bw[24];
		const char *opw = strstr(q, " plus ") ? "plus" : strstr(q, " minus ") ? "minus" : "times";
		const char *sym = opw[0] == 'p' ? "+" : opw[0] == 'm' ? "-" : "x";
		demo_number_words(f->operands[0], aw, sizeof aw);
		demo_number_words(f->operands[1], bw, sizeof bw);
		if (k == 1)
			sb_printf(b, "What is %d %s %d?", f->operands[0], sym, f->operands[1]);
		else if (k == 2)
			sb_printf(b, "How much is %d %s %d?", f->operands[0], opw, f->operands[1]);
		else
			sb_printf(b, "What is %s %s %s?", aw, opw, bw);
		break;
	}
	default:
		sb_puts(b, q);
	}
}

/* ---- pre-training documents ---------------------------------------------------------- */

/* Countries in the table that have a big non-capital city: index of the city or -1. */
static int city_of(int ci)
{
	for (int k = 0; k < demo_n_cities; k++)
		if (strcmp(demo_cities[k].country, country(ci)->name) == 0)
			return k;
	return -1;
}

static int country_index(const char *name)
{
	for (int i = 0; i < demo_n_countries; i++)
		if (strcmp(demo_countries[i].name, name) == 0)
			return i;
	return -1;
}

static void doc_country(struct sbuf *b, struct rng *r)
{
	int ci = rng_int(r, demo_n_countries);
	const struct demo_country *c = country(ci);
	int order = rng_int(r, 3);
	if (order == 0) {
		sb_printf(b, "%s%s is a country in %s. ", the(c, true), c->name, c->region);
		capital_sentence(b, r, ci);
	} else if (order == 1) {
		capital_sentence(b, r, ci);
		sb_printf(b, " %s%s is in %s.", the(c, true), c->name, c->region);
	} else {
		capital_sentence(b, r, ci);
	}
	int k = city_of(ci);
	if (k >= 0 && rng_pct(r, 50))
		sb_printf(b, " %s is a big city in %s%s, but it is not the capital.", demo_cities[k].name,
			  the(c, false), c->name);
	if (rng_pct(r, 40))
		sb_printf(b, " Many tourists visit %s every year.", c->capital);
	if (rng_pct(r, 30)) {
		sb_puts(b, " ");
		capital_sentence(b, r, ci);
	}
}

static void doc_capital_list(struct sbuf *b, struct rng *r)
{
	int style = rng_int(r, 3), n = 5 + rng_int(r, 8), idx[64];
	if (style == 0) {
		/* one region */
		const char *region = country(rng_int(r, demo_n_countries))->region;
		sb_printf(b, "Capital cities of %s\n", region);
		int shown = 0;
		for (int i = 0; i < demo_n_countries && shown < 12; i++)
			if (strcmp(country(i)->region, region) == 0 && rng_pct(r, 70)) {
				sb_printf(b, "%s: %s\n", country(i)->name, country(i)->capital);
				shown++;
			}
		if (shown == 0)
			sb_printf(b, "%s: %s\n", country(0)->name, country(0)->capital);
	} else {
		static const char *const titles[] = { "Countries and their capitals",
			"World capitals", "Some capital cities of the world", "Capitals to remember", NULL };
		sb_printf(b, "%s\n", titles[rng_int(r, list_len(titles))]);
		n = pick_distinct(r, demo_n_countries, n, idx);
		for (int i = 0; i < n; i++) {
			if (style == 1)
				sb_printf(b, "%s - %s\n", country(idx[i])->name, country(idx[i])->capital);
			else {
				capital_sentence(b, r, idx[i]);
				sb_puts(b, "\n");
			}
		}
	}
	if (!b->oom && b->len > 0 && b->p[b->len - 1] == '\n')
		b->len--; /* no trailing newline inside a document */
}

/* One quiz question about a random fact (its answer into ans). */
static void fact_quiz_question(struct sbuf *b, struct rng *r, struct sbuf *ans)
{
	struct demo_fact f;
	demo_fact_get(random_fact(r, false), &f);
	fact_question(b, r, &f, rng_pct(r, 60));
	if (f.number >= 0)
		sb_printf(ans, "%d", f.number);
	else
		sb_puts(ans, f.accept[0]);
}

static void doc_quiz(struct sbuf *b, struct rng *r)
{
	static const char *const titles[] = { "Quiz: capitals of the world", "Geography quiz",
		"Test your knowledge", "Pub quiz questions", "Homework: answer these questions.",
		"Quiz time!", "General knowledge quiz", "Questions for the class", NULL };
	int t = rng_int(r, list_len(titles));
	bool facts = t >= 5 || rng_pct(r, 20), inline_style = rng_pct(r, 35);
	int n = 4 + rng_int(r, 7), idx[64];
	struct sbuf ans = { 0 };
	sb_puts(b, titles[t]);
	sb_puts(b, inline_style ? " " : "\n");
	pick_distinct(r, demo_n_countries, n, idx);
	for (int i = 0; i < n; i++) {
		sb_printf(b, "%d. ", i + 1);
		sb_printf(&ans, "%s%d. ", i ? " " : "", i + 1);
		if (facts && rng_pct(r, 50)) {
			fact_quiz_question(b, r, &ans);
		} else {
			capital_question(b, r, idx[i], rng_pct(r, 60));
			sb_puts(&ans, country(idx[i])->capital);
		}
		if (i + 1 < n)
			sb_puts(b, inline_style ? " " : "\n");
	}
	if (rng_pct(r, 40) && !ans.oom && ans.p)
		sb_printf(b, "\nAnswers: %s", ans.p);
	free(ans.p);
}

static void doc_faq(struct sbuf *b, struct rng *r)
{
	bool qa = rng_pct(r, 60);
	int n = 3 + rng_int(r, 4);
	if (rng_pct(r, 50))
		sb_puts(b, "Frequently asked questions\n");
	for (int i = 0; i < n; i++) {
		sb_puts(b, qa ? "Q: " : "Question: ");
		if (rng_pct(r, 55)) {
			int ci = rng_int(r, demo_n_countries);
			capital_question(b, r, ci, rng_pct(r, 50));
			sb_puts(b, qa ? "\nA: " : "\nAnswer: ");
			capital_sentence(b, r, ci);
		} else {
			struct demo_fact f;
			demo_fact_get(random_fact(r, false), &f);
			fact_question(b, r, &f, rng_pct(r, 50));
			sb_puts(b, qa ? "\nA: " : "\nAnswer: ");
			sb_puts(b, f.sentence);
		}
		if (i + 1 < n)
			sb_puts(b, "\n");
	}
}

/* One everyday fact as a statement, in a random phrasing. */
static void fact_statement(struct sbuf *b, struct rng *r)
{
	struct demo_fact f;
	demo_fact_get(random_fact(r, false), &f);
	int k = rng_int(r, 3);
	const char *q = f.question;
	switch (f.kind) {
	case DEMO_FACT_COLOUR: {
		const char *x = q + strlen("What colour is ");
		int xl = (int)strlen(x) - 1;
		if (k == 0)
			sb_puts(b, f.sentence);
		else if (k == 1)
			sb_printf(b, "The colour of %.*s is %s.", xl, x, f.accept[0]);
		else {
			sb_printf(b, "%c%.*s is usually %s.", toupper((unsigned char)x[0]), xl - 1, x + 1,
				  f.accept[0]);
		}
		break;
	}
	case DEMO_FACT_SOUND: {
		const char *x = q + strlen("What sound does ");
		int xl = (int)(strlen(x) - strlen(" make?"));
		if (k == 0)
			sb_puts(b, f.sentence);
		else if (k == 1)
			sb_printf(b, "The sound %.*s makes is %s.", xl, x, f.accept[0]);
		else
			sb_printf(b, "When %.*s makes a sound, it goes %s.", xl, x, f.accept[0]);
		break;
	}
	case DEMO_FACT_DAY:
	case DEMO_FACT_MONTH: {
		const char *rest = strstr(q, "comes ") + strlen("comes "); /* "after X?" */
		int rl = (int)strlen(rest) - 1;
		if (k == 0)
			sb_puts(b, f.sentence);
		else if (k == 1)
			sb_printf(b, "%s comes %.*s.", f.accept[0], rl, rest);
		else
			sb_printf(b, "%c%.*s comes %s.", toupper((unsigned char)rest[0]), rl - 1, rest + 1,
				  f.accept[0]);
		break;
	}
	case DEMO_FACT_OPPOSITE: {
		const char *x = q + strlen("What is the opposite of ");
		int xl = (int)strlen(x) - 1;
		if (k == 2)
			sb_printf(b, "%c%.*s and %s are opposites.", toupper((unsigned char)x[0]), xl - 1,
				  x + 1, f.accept[0]);
		else
			sb_puts(b, f.sentence);
		break;
	}
	case DEMO_FACT_ARITH: {
		char rw[24], aw[24], bw[24];
		const char *opw = strstr(q, " plus ") ? "plus" : strstr(q, " minus ") ? "minus" : "times";
		char sym = opw[0] == 'p' ? '+' : opw[0] == 'm' ? '-' : 'x';
		int a = f.operands[0], c = f.operands[1];
		demo_number_words(f.number, rw, sizeof rw);
		demo_number_words(a, aw, sizeof aw);
		demo_number_words(c, bw, sizeof bw);
		if (k == 0)
			sb_puts(b, f.sentence);
		else if (k == 1)
			sb_printf(b, "%d %c %d = %d.", a, sym, c, f.number);
		else {
			aw[0] = (char)toupper((unsigned char)aw[0]);
			sb_printf(b, "%s %s %s equals %s.", aw, opw, bw, rw);
		}
		break;
	}
	default:
		sb_puts(b, f.sentence);
	}
}

static void doc_facts(struct sbuf *b, struct rng *r)
{
	int n = 3 + rng_int(r, 6);
	if (rng_pct(r, 15)) {
		static const char *const days = "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday and Sunday";
		static const char *const months = "January, February, March, April, May, June, July, "
						  "August, September, October, November and December";
		if (rng_pct(r, 50))
			sb_printf(b, "The days of the week are %s. ", days);
		else
			sb_printf(b, "The months of the year are %s. ", months);
	}
	for (int i = 0; i < n; i++) {
		fact_statement(b, r);
		if (i + 1 < n)
			sb_puts(b, " ");
	}
}

static void doc_arith_table(struct sbuf *b, struct rng *r)
{
	int a = 2 + rng_int(r, 9);
	int kind = rng_int(r, 3);
	if (kind == 0) {
		sb_printf(b, "Times table for %d\n", a);
		for (int i = 1; i <= 10; i++)
			sb_printf(b, "%d x %d = %d%s", a, i, a * i, i < 10 ? "\n" : "");
	} else if (kind == 1) {
		sb_printf(b, "Adding %d\n", a);
		for (int i = 1; i <= 10; i++)
			sb_printf(b, "%d + %d = %d%s", a, i, a + i, i < 10 ? "\n" : "");
	} else {
		sb_printf(b, "Counting by %ds: ", a);
		for (int i = 1; i <= 10; i++)
			sb_printf(b, "%d%s", a * i, i < 10 ? ", " : ".");
	}
}

/* A 4-line poem from two of the topic's couplets (in order), or all 8 lines. */
static void poem_lines(struct sbuf *b, struct rng *r, const struct demo_topic *t, bool all)
{
	int n_lines = count_bounded(t->items, 14), n_pairs = n_lines / 2, pairs[8];
	if (all) {
		for (int i = 0; i < n_lines; i++)
			sb_printf(b, "%s%s", t->items[i], i + 1 < n_lines ? "\n" : "");
		return;
	}
	int k = pick_distinct(r, n_pairs, 2, pairs);
	sort_ints(pairs, k);
	for (int i = 0; i < k; i++) {
		sb_printf(b, "%s\n%s", t->items[2 * pairs[i]], t->items[2 * pairs[i] + 1]);
		if (i + 1 < k)
			sb_puts(b, "\n");
	}
	/* a poem ends with a full stop, not a comma */
	if (!b->oom && b->len > 0 && b->p[b->len - 1] == ',')
		b->p[b->len - 1] = '.';
}

static void doc_poem(struct sbuf *b, struct rng *r)
{
	const struct demo_topic *t = &demo_poems[rng_int(r, demo_n_poems)];
	int style = rng_int(r, 3);
	if (style == 0)
		sb_printf(b, "%s\n", t->reason);
	else if (style == 1)
		sb_printf(b, "A poem about %s\n", t->key);
	poem_lines(b, r, t, rng_pct(r, 25));
}

static void doc_ideas(struct sbuf *b, struct rng *r)
{
	const struct demo_topic *t = &demo_brainstorm[rng_int(r, demo_n_brainstorm)];
	int n_items = count_bounded(t->items, 14), idx[16];
	int k = pick_distinct(r, n_items, 4 + rng_int(r, 5), idx);
	if (rng_pct(r, 65)) {
		static const char *const heads[] = { "%d %s", "Our favourite %d %s", "Top %d %s", NULL };
		sb_printf(b, heads[rng_int(r, list_len(heads))], k, t->key);
		sb_puts(b, "\n");
		for (int i = 0; i < k; i++) {
			sb_printf(b, "%d. ", i + 1);
			sb_cased(b, t->items[idx[i]], true);
			if (i + 1 < k)
				sb_puts(b, "\n");
		}
	} else {
		sb_printf(b, "Looking for %s? Popular choices include ", t->key);
		for (int i = 0; i < k; i++)
			sb_printf(b, "%s%s", t->items[idx[i]], i + 2 < k ? ", " : i + 1 < k ? " and " : ".");
	}
}

static void doc_howto(struct sbuf *b, struct rng *r)
{
	const struct demo_topic *t = &demo_advice[rng_int(r, demo_n_advice)];
	int n = count_bounded(t->items, 14), idx[16];
	int k = pick_distinct(r, n, 3 + rng_int(r, 3), idx);
	sort_ints(idx, k);
	int style = rng_int(r, 3);
	sb_printf(b, "How to %s\n", t->key);
	for (int i = 0; i < k; i++) {
		const char *s = t->items[idx[i]];
		if (style == 0) {
			sb_printf(b, "Step %d: %s", i + 1, s);
		} else if (style == 1) {
			static const char *const lead[] = { "First, ", "Next, ", "Then, ", "After that, " };
			sb_puts(b, i == 0 ? lead[0] : i + 1 == k ? "Finally, " : lead[1 + rng_int(r, 3)]);
			sb_cased(b, s, false);
		} else {
			sb_puts(b, "- ");
			sb_puts(b, s);
		}
		if (i + 1 < k)
			sb_puts(b, style == 1 ? " " : "\n");
	}
}

/* A list of instructions or questions, as found on prompt and FAQ sites. */
static void doc_prompt_list(struct sbuf *b, struct rng *r)
{
	static const char *const titles[] = { "Writing prompts", "Questions people often ask",
		"Things to ask a friend", "Ideas for your journal", "Common questions", NULL };
	int n = 4 + rng_int(r, 5);
	sb_printf(b, "%s\n", titles[rng_int(r, list_len(titles))]);
	for (int i = 0; i < n; i++) {
		sb_printf(b, "%d. ", i + 1);
		int fam = rng_int(r, 5);
		const struct demo_topic *t;
		if (fam == 0)
			t = &demo_poems[rng_int(r, demo_n_poems)];
		else if (fam == 1)
			t = &demo_brainstorm[rng_int(r, demo_n_brainstorm)];
		else if (fam == 2)
			t = &demo_advice[rng_int(r, demo_n_advice)];
		else
			t = NULL;
		if (t)
			sb_puts(b, t->prompts[rng_int(r, count_bounded(t->prompts, 4))]);
		else if (fam == 3)
			capital_question(b, r, rng_int(r, demo_n_countries), rng_pct(r, 50));
		else {
			struct demo_fact f;
			demo_fact_get(random_fact(r, false), &f);
			fact_question(b, r, &f, rng_pct(r, 50));
		}
		if (i + 1 < n)
			sb_puts(b, "\n");
	}
}

static void doc_city(struct sbuf *b, struct rng *r)
{
	const struct demo_city *k = &demo_cities[rng_int(r, demo_n_cities)];
	int ci = country_index(k->country);
	const struct demo_country *c = country(ci);
	if (rng_pct(r, 50))
		sb_printf(b, "%s is a big city in %s%s, but it is not the capital. The capital of %s%s is %s.",
			  k->name, the(c, false), c->name, the(c, false), c->name, c->capital);
	else
		sb_printf(b, "Many people think that %s is the capital of %s%s. In fact, the capital is %s.",
			  k->name, the(c, false), c->name, c->capital);
}

static void doc_dialogue(struct sbuf *b, struct rng *r)
{
	static const char *const names[] = { "Tom", "Anna", "Sam", "Maria", "Leo", "Grace", "Omar",
		"Lily", NULL };
	int a = rng_int(r, 8), c = (a + 1 + rng_int(r, 7)) % 8;
	int ci = rng_int(r, demo_n_countries);
	sb_printf(b, "%s asked, \"", names[a]);
	if (rng_pct(r, 60)) {
		capital_question(b, r, ci, true);
		sb_printf(b, "\" %s said, \"It is %s.\"", names[c], country(ci)->capital);
	} else {
		struct demo_fact f;
		demo_fact_get(random_fact(r, false), &f);
		sb_puts(b, f.question);
		sb_printf(b, "\" %s said, \"%s\"", names[c], f.sentence);
	}
}

typedef void (*doc_fn)(struct sbuf *, struct rng *);

static const struct {
	doc_fn fn;
	int weight;
} doc_kinds[] = {
	{ doc_country, 20 }, { doc_capital_list, 8 }, { doc_quiz, 16 }, { doc_faq, 8 },
	{ doc_facts, 14 }, { doc_arith_table, 4 }, { doc_poem, 8 }, { doc_ideas, 7 },
	{ doc_howto, 7 }, { doc_prompt_list, 4 }, { doc_city, 4 }, { doc_dialogue, 5 },
};

char *demo_pretrain_text(uint64_t seed, size_t target_bytes, size_t *len)
{
	struct rng r = { seed ^ 0x5EED0001ull };
	struct sbuf b = { 0 };
	int total = 0;
	for (size_t k = 0; k < sizeof doc_kinds / sizeof doc_kinds[0]; k++)
		total += doc_kinds[k].weight;
	while (b.len < target_bytes && !b.oom) {
		if (b.len)
			sb_puts(&b, "\n\n");
		int w = rng_int(&r, total);
		size_t k = 0;
		while (w >= doc_kinds[k].weight)
			w -= doc_kinds[k++].weight;
		doc_kinds[k].fn(&b, &r);
	}
	if (!b.oom)
		sb_puts(&b, "\n");
	char *s = sb_take(&b);
	if (len)
		*len = s ? b.len : 0;
	return s;
}

int demo_pretrain_write(FILE *f, uint64_t seed, size_t target_bytes)
{
	size_t n;
	char *s = demo_pretrain_text(seed, target_bytes, &n);
	if (!s)
		return -1;
	int rc = fwrite(s, 1, n, f) == n ? 0 : -1;
	free(s);
	return rc;
}

/* ---- instruction pairs ------------------------------------------------------------ */

static void brainstorm_response(struct sbuf *b, struct rng *r, const struct demo_topic *t)
{
	int n = count_bounded(t->items, 14), idx[16];
	int k = pick_distinct(r, n, 4 + rng_int(r, 3), idx);
	static const char *const intro[] = { "Here are some ideas:", "Here are a few ideas:",
		"Sure! Here are some ideas:", "Here are some ideas you could try:", NULL };
	static const char *const intro_names[] = { "Here are some names you could use:",
		"Here are a few names:", "Sure! Here are some names:", NULL };
	if (!t->names && rng_pct(r, 15)) {
		sb_puts(b, "You could try ");
		for (int i = 0; i < k; i++)
			sb_printf(b, "%s%s", t->items[idx[i]], i + 2 < k ? ", " : i + 1 < k ? " or " : ".");
		return;
	}
	const char *const *in = t->names ? intro_names : intro;
	sb_printf(b, "%s\n", in[rng_int(r, list_len(in))]);
	for (int i = 0; i < k; i++) {
		sb_printf(b, "%d. ", i + 1);
		sb_cased(b, t->items[idx[i]], true);
		if (i + 1 < k)
			sb_puts(b, "\n");
	}
}

static void advice_response(struct sbuf *b, struct rng *r, const struct demo_topic *t)
{
	int n = count_bounded(t->items, 14), idx[16];
	int k = pick_distinct(r, n, 3 + rng_int(r, 3), idx);
	sort_ints(idx, k);
	if (rng_pct(r, 30)) {
		for (int i = 0; i < k; i++) {
			static const char *const lead[] = { "Next, ", "Then, ", "Also, " };
			sb_puts(b, i == 0 ? "First, " : i + 1 == k ? "Finally, " : lead[rng_int(r, 3)]);
			sb_cased(b, t->items[idx[i]], false);
			if (i + 1 < k)
				sb_puts(b, " ");
		}
		return;
	}
	static const char *const intro[] = { "Here are some steps:", "Here are some tips:",
		"Here is what you can do:", "Good question! Here are some steps:", NULL };
	sb_printf(b, "%s\n", intro[rng_int(r, list_len(intro))]);
	for (int i = 0; i < k; i++) {
		sb_printf(b, "%d. %s", i + 1, t->items[idx[i]]);
		if (i + 1 < k)
			sb_puts(b, "\n");
	}
}

static void refusal_response(struct sbuf *b, struct rng *r, const struct demo_topic *t)
{
	static const char *const lead[] = { "I can't help with that.",
		"I'm sorry, but I can't help with that.", "Sorry, I can't help with this.",
		"I won't help with this.", "I'm sorry, but I can't do that.", NULL };
	sb_printf(b, "%s %s %s", lead[rng_int(r, list_len(lead))], t->reason, t->alternative);
}

static void fact_answer(struct sbuf *b, struct rng *r, const struct demo_fact *f)
{
	if (f->number < 0 && rng_pct(r, 10))
		sb_printf(b, "It is %s.", f->accept[0]);
	else
		sb_puts(b, f->sentence);
}

/* Indices i of 0..n-1 where keep(i) is true. */
static int collect(int n, bool (*keep)(int), int *out)
{
	int m = 0;
	for (int i = 0; i < n; i++)
		if (keep(i))
			out[m++] = i;
	return m;
}

static bool country_train(int i) { return !demo_country_is_eval(i); }
static bool topic_train(int i) { return !demo_topic_is_eval(i); }

void demo_pairs_release(struct demo_pairs *p)
{
	for (int i = 0; p->v && i < p->n; i++) {
		free(p->v[i].prompt);
		free(p->v[i].response);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

int demo_sft_pairs(struct demo_pairs *p, uint64_t seed, int n)
{
	struct rng r = { seed ^ 0x5F7000A1ull };
	int countries[256];
	int nc = collect(demo_n_countries, country_train, countries);
	p->v = NULL;
	p->n = 0;
	if (n <= 0)
		return 0;
	p->v = calloc((size_t)n, sizeof *p->v);
	if (!p->v)
		goto out_oom;
	for (int i = 0; i < n; i++) {
		struct sbuf q = { 0 }, a = { 0 };
		int w = rng_int(&r, 100);
		enum demo_family fam = w < 35 ? DEMO_CAPITAL : w < 60 ? DEMO_FACT :
				       w < 70 ? DEMO_BRAINSTORM : w < 80 ? DEMO_POEM :
				       w < 90 ? DEMO_ADVICE : DEMO_HARMFUL;
		if (fam == DEMO_CAPITAL) {
			int ci = countries[rng_int(&r, nc)];
			capital_question(&q, &r, ci, false);
			capital_answer(&a, &r, ci);
		} else if (fam == DEMO_FACT) {
			struct demo_fact f;
			demo_fact_get(random_fact(&r, true), &f);
			fact_question(&q, &r, &f, rng_pct(&r, 40));
			fact_answer(&a, &r, &f);
		} else {
			int nt, topics[64];
			const struct demo_topic *tab = demo_topics(fam, &nt);
			int ntrain = collect(nt < 64 ? nt : 64, topic_train, topics);
			const struct demo_topic *t = &tab[topics[rng_int(&r, ntrain)]];
			sb_puts(&q, t->prompts[rng_int(&r, count_bounded(t->prompts, 4))]);
			if (fam == DEMO_BRAINSTORM)
				brainstorm_response(&a, &r, t);
			else if (fam == DEMO_POEM)
				poem_lines(&a, &r, t, false);
			else if (fam == DEMO_ADVICE)
				advice_response(&a, &r, t);
			else
				refusal_response(&a, &r, t);
		}
		p->v[i].prompt = sb_take(&q);
		p->v[i].response = sb_take(&a);
		p->v[i].family = fam;
		p->n = i + 1;
		if (!p->v[i].prompt || !p->v[i].response)
			goto out_oom;
	}
	return 0;
out_oom:
	demo_pairs_release(p);
	return -1;
}

/* Writes one JSON object and a newline; steals obj.  0 or -1. */
static int write_json_line(FILE *f, json_t *obj)
{
	if (!obj)
		return -1;
	char *s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!s)
		return -1;
	int rc = fprintf(f, "%s\n", s) < 0 ? -1 : 0;
	free(s);
	return rc;
}

int demo_sft_write(FILE *f, uint64_t seed, int n)
{
	struct demo_pairs p;
	if (demo_sft_pairs(&p, seed, n) < 0)
		return -1;
	int rc = 0;
	for (int i = 0; i < p.n && rc == 0; i++)
		rc = write_json_line(f, json_pack("{s:s, s:s}", "prompt", p.v[i].prompt,
						  "response", p.v[i].response));
	demo_pairs_release(&p);
	return rc;
}

/* ---- the prompt set ------------------------------------------------------------------ */

void demo_prompts_release(struct demo_prompts *p)
{
	for (int i = 0; p->v && i < p->n; i++) {
		free(p->v[i].text);
		free(p->v[i].meta);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

static const char *fact_kind_name(enum demo_fact_kind k)
{
	static const char *const names[DEMO_N_FACT_KINDS] = { "colour", "sound", "day", "month",
		"opposite", "count", "arithmetic" };
	return k >= 0 && k < DEMO_N_FACT_KINDS ? names[k] : "unknown";
}

/* Whether fact i is in the prompt set: every third fact of each kind, every
 * seventh arithmetic one (chosen so a quarter of them are held out, as
 * demo_fact_is_eval holds out every fourth from the second). */
static bool fact_in_prompt_set(int i)
{
	struct demo_fact f;
	int first;
	if (demo_fact_get(i, &f) < 0)
		return false;
	demo_fact_kind_range(f.kind, &first);
	return (i - first) % (f.kind == DEMO_FACT_ARITH ? 7 : 3) == 0;
}

/* Room for one more prompt; false when out of memory. */
static bool room(struct demo_prompts *p, int *cap)
{
	if (p->n < *cap)
		return true;
	int nc = *cap ? *cap * 2 : 256;
	struct demo_prompt *v = realloc(p->v, sizeof *v * (size_t)nc);
	if (!v)
		return false;
	p->v = v;
	*cap = nc;
	return true;
}

/* Appends a gap: a place in the seeded order that holds no prompt (text
 * NULL), dropped after the shuffle.  0 or -1. */
static int add_gap(struct demo_prompts *p, int *cap)
{
	if (!room(p, cap))
		return -1;
	p->v[p->n++] = (struct demo_prompt){ 0 };
	return 0;
}

/* Appends a prompt of the train split (part 0) or of eval part 'a' or 'b';
 * steals meta.  0 or -1. */
static int add_prompt(struct demo_prompts *p, int *cap, struct sbuf *text, char part,
		      enum demo_family fam, json_t *meta)
{
	char *t = sb_take(text), *m = NULL;
	if (meta) {
		json_object_set_new(meta, "family", json_string(demo_family_name(fam)));
		if (part)
			json_object_set_new(meta, "eval_part", json_string(part == 'a' ? "a" : "b"));
		m = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(meta);
	}
	if (!t || !m || !room(p, cap)) {
		free(t);
		free(m);
		return -1;
	}
	p->v[p->n++] = (struct demo_prompt){ t, part != 0, part, fam, m };
	return 0;
}

/* Whether b holds a text other than a's. */
static bool sb_differs(const struct sbuf *a, const struct sbuf *b)
{
	return b->p && (!a->p || strcmp(a->p, b->p) != 0);
}

/*
 * Adds an item's prompts; steals both texts and meta.  An item the SFT set
 * knows (neither eval nor pre_only) is asked in the train split as text, and
 * as alt too when also_alt.  A held-out item (eval) is asked in the train
 * split as text and again in the eval split in other words (alt, a different
 * text): eval part a.  A pre-training-only item (pre_only, which implies
 * eval) is asked in the eval split alone, as alt: part b; so is a held-out
 * item with no other phrasing (alt no different text), as text.  Both texts
 * are drawn in every case, and the train phrasing a part-b item is not asked
 * in keeps its place in the seeded order as a gap, so which items are
 * pre-training only changes neither the text nor the relative order of any
 * other prompt.  0 or -1.
 */
static int add_item(struct demo_prompts *p, int *cap, struct sbuf *text, struct sbuf *alt,
		    bool eval, bool pre_only, bool also_alt, enum demo_family fam, json_t *meta)
{
	bool differs = sb_differs(text, alt);
	if (eval && (pre_only || !differs)) {
		struct sbuf *keep = differs ? alt : text;
		sb_free(keep == alt ? text : alt);
		if (differs && add_gap(p, cap) < 0) {
			sb_free(keep);
			json_decref(meta);
			return -1;
		}
		return add_prompt(p, cap, keep, 'b', fam, meta);
	}
	if (!differs || !(eval || also_alt)) {
		sb_free(alt);
		return add_prompt(p, cap, text, 0, fam, meta);
	}
	json_incref(meta);
	if (add_prompt(p, cap, text, 0, fam, meta) < 0) {
		sb_free(alt);
		json_decref(meta);
		return -1;
	}
	return add_prompt(p, cap, alt, eval ? 'a' : 0, fam, meta);
}

int demo_prompts_build(struct demo_prompts *p, uint64_t seed)
{
	struct rng r = { seed ^ 0x960A9700ull };
	int cap = 0;
	p->v = NULL;
	p->n = 0;
	for (int i = 0; i < demo_n_countries; i++) {
		struct sbuf t = { 0 }, e = { 0 };
		capital_question(&t, &r, i, rng_pct(&r, 60));
		for (int tries = 0; tries < 32 && !sb_differs(&t, &e); tries++) {
			sb_free(&e);
			capital_question(&e, &r, i, false);
		}
		json_t *m = json_pack("{s:s, s:s}", "country", demo_countries[i].name,
				      "answer", demo_countries[i].capital);
		if (add_item(p, &cap, &t, &e, demo_country_is_eval(i),
			     demo_country_is_pretrain_only(i), false, DEMO_CAPITAL, m) < 0)
			goto out_oom;
	}
	for (int i = 0; i < demo_fact_count(); i++) {
		if (!fact_in_prompt_set(i))
			continue;
		struct demo_fact f;
		struct sbuf t = { 0 }, e = { 0 };
		demo_fact_get(i, &f);
		fact_question(&t, &r, &f, rng_pct(&r, 60));
		for (int tries = 0; tries < 16 && !sb_differs(&t, &e); tries++) {
			sb_free(&e);
			fact_question(&e, &r, &f, false);
		}
		json_t *m = f.number >= 0
			? json_pack("{s:s, s:i}", "kind", fact_kind_name(f.kind), "answer", f.number)
			: json_pack("{s:s, s:s}", "kind", fact_kind_name(f.kind), "answer", f.accept[0]);
		if (add_item(p, &cap, &t, &e, demo_fact_is_eval(i),
			     demo_fact_is_pretrain_only(i), false, DEMO_FACT, m) < 0)
			goto out_oom;
	}
	for (enum demo_family fam = DEMO_BRAINSTORM; fam <= DEMO_HARMFUL; fam++) {
		int nt;
		const struct demo_topic *tab = demo_topics(fam, &nt);
		for (int i = 0; i < nt; i++) {
			int np = count_bounded(tab[i].prompts, 4);
			int other = np > 1 ? 1 + rng_int(&r, np - 1) : 0;
			struct sbuf t = { 0 }, e = { 0 };
			sb_puts(&t, tab[i].prompts[0]);
			sb_puts(&e, tab[i].prompts[other]);
			json_t *m = json_pack("{s:s}", "topic", tab[i].key);
			/* a topic the SFT set knows: both phrasings are train prompts */
			if (add_item(p, &cap, &t, &e, demo_topic_is_eval(i),
				     demo_topic_is_pretrain_only(i), true, fam, m) < 0)
				goto out_oom;
		}
	}
	/* a seeded order, so families interleave in the rating queue; then the
	 * gaps go */
	for (int i = p->n - 1; i > 0; i--) {
		int j = rng_int(&r, i + 1);
		struct demo_prompt t = p->v[i];
		p->v[i] = p->v[j];
		p->v[j] = t;
	}
	int n = 0;
	for (int i = 0; i < p->n; i++)
		if (p->v[i].text)
			p->v[n++] = p->v[i];
	p->n = n;
	return 0;
out_oom:
	demo_prompts_release(p);
	return -1;
}

int demo_prompts_write(FILE *f, uint64_t seed)
{
	struct demo_prompts p;
	if (demo_prompts_build(&p, seed) < 0)
		return -1;
	int rc = 0;
	for (int i = 0; i < p.n && rc == 0; i++) {
		json_t *meta = json_loads(p.v[i].meta, 0, NULL);
		rc = write_json_line(f, json_pack("{s:s, s:s, s:o}", "text", p.v[i].text,
						  "split", p.v[i].eval ? "eval" : "train", "meta", meta));
	}
	demo_prompts_release(&p);
	return rc;
}
