/*
 * tests/unit/test_http.c — the server's pure helpers: time filters, CSV
 * quoting (RFC 4180), the per-rater answer shuffle, path ids.  Expected values
 * are written out by hand.
 */
#include "server/http/api.h"
#include "server/http/api_export.h"
#include "server/http/http.h"
#include "tests/test.h"

#include <stdlib.h>

static void test_parse_time(void)
{
	int64_t t = -1;
	/* 2024-05-01T00:00:00Z = 19844 days after 1970-01-01 = 1714521600 */
	CHECK(export_parse_time("2024-05-01", &t));
	CHECK_INT_EQ(t, 1714521600);
	CHECK(export_parse_time("2024-05-01T12:30:05Z", &t));
	CHECK_INT_EQ(t, 1714521600 + 12 * 3600 + 30 * 60 + 5);
	CHECK(export_parse_time("2024-05-01T12:30", &t));
	CHECK_INT_EQ(t, 1714521600 + 12 * 3600 + 30 * 60);
	CHECK(export_parse_time("2024-05-01 12:30:05.250Z", &t));
	CHECK_INT_EQ(t, 1714521600 + 45005);
	/* 14:30 at +02:00 is 12:30 UTC; 10:00 at -01:30 is 11:30 UTC */
	CHECK(export_parse_time("2024-05-01T14:30:00+02:00", &t));
	CHECK_INT_EQ(t, 1714521600 + 12 * 3600 + 30 * 60);
	CHECK(export_parse_time("2024-05-01T10:00:00-0130", &t));
	CHECK_INT_EQ(t, 1714521600 + 11 * 3600 + 30 * 60);
	CHECK(export_parse_time("1700000000", &t));
	CHECK_INT_EQ(t, 1700000000);
	CHECK(export_parse_time("0", &t));
	CHECK_INT_EQ(t, 0);
	const char *bad[] = { "", "yesterday", "2024-13-01", "2024-05-01T25:00", "2024-05-01X",
			      "2024-5-1", "-5", "12.5", "2024-05-01T12:30:05+2", NULL };
	for (int i = 0; bad[i]; i++)
		CHECK_MSG(!export_parse_time(bad[i], &t), "'%s' accepted", bad[i]);
}

static void test_csv_field(void)
{
	static const char *const cases[][2] = {
		{ "plain", "plain" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "cr\r", "\"cr\r\"" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *buf = NULL;
		size_t pos = 0, cap = 0;
		CHECK_INT_EQ(export_csv_field(&buf, &pos, &cap, cases[i][0], strlen(cases[i][0])), 0);
		CHECK_INT_EQ(pos, strlen(cases[i][1]));
		CHECK(buf && memcmp(buf, cases[i][1], pos) == 0);
		free(buf);
	}
	/* appending grows the buffer and keeps what was there */
	char *buf = NULL;
	size_t pos = 0, cap = 0;
	for (int i = 0; i < 3000; i++)
		export_csv_field(&buf, &pos, &cap, "x,", 2);
	CHECK_INT_EQ(pos, 3000 * 4); /* "x," is 4 bytes quoted */
	CHECK(buf && memcmp(buf + 4 * 2999, "\"x,\"", 4) == 0);
	free(buf);
}

/* Text cells that a spreadsheet would run as formulas are made text. */
static void test_csv_text(void)
{
	static const char *const cases[][2] = {
		{ "=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0" },
		{ "+1", "'+1" },
		{ "-2+3", "'-2+3" },
		{ "@SUM(A1:A9)", "'@SUM(A1:A9)" },
		{ "\tx", "'\tx" },
		{ "\rx", "\"'\rx\"" },
		{ "=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
		{ "a=b", "a=b" },
		{ "plain", "plain" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *buf = NULL;
		size_t pos = 0, cap = 0;
		CHECK_INT_EQ(export_csv_text(&buf, &pos, &cap, cases[i][0], strlen(cases[i][0])), 0);
		CHECK_MSG(pos == strlen(cases[i][1]) && buf && memcmp(buf, cases[i][1], pos) == 0,
			  "case %zu: got %.*s", i, (int)pos, buf ? buf : "");
		free(buf);
	}
}

static void test_shuffle(void)
{
	/* a permutation, the same for the same seed; over a few seeds not
	 * always the identity */
	int moved = 0;
	for (uint64_t seed = 1; seed <= 8; seed++) {
		json_t *a = json_pack("[iiiii]", 0, 1, 2, 3, 4), *b = json_pack("[iiiii]", 0, 1, 2, 3, 4);
		api_shuffle(a, seed);
		api_shuffle(b, seed);
		int seen[5] = { 0 }, same = 1;
		for (int i = 0; i < 5; i++) {
			int v = (int)json_integer_value(json_array_get(a, i));
			CHECK(v >= 0 && v < 5);
			if (v >= 0 && v < 5)
				seen[v]++;
			same &= v == json_integer_value(json_array_get(b, i));
			moved += v != i;
		}
		for (int i = 0; i < 5; i++)
			CHECK_INT_EQ(seen[i], 1);
		CHECK(same);
		json_decref(a);
		json_decref(b);
	}
	CHECK(moved > 0);
}

static void test_parse_id(void)
{
	int64_t id = 0;
	CHECK(http_parse_id("42", INT64_MAX, &id));
	CHECK_INT_EQ(id, 42);
	CHECK(!http_parse_id("0", INT64_MAX, &id));
	CHECK(!http_parse_id("-1", INT64_MAX, &id));
	CHECK(!http_parse_id("4x", INT64_MAX, &id));
	CHECK(!http_parse_id("", INT64_MAX, &id));
	CHECK(!http_parse_id("1234567890123456789", INT64_MAX, &id));
	CHECK(!http_parse_id("11", 10, &id));
}

int main(void)
{
	RUN(test_parse_time);
	RUN(test_csv_field);
	RUN(test_csv_text);
	RUN(test_shuffle);
	RUN(test_parse_id);
	TEST_MAIN_END();
}
