/*
 * tests/unit/test_tokenizer.c — model/tokenizer: file format, encoder, decoder,
 * training.
 *
 * Oracles, none of them the code under test:
 *   - a hand-worked tiny vocabulary (expected ids derived in comments);
 *   - ref_encode below: llama2.c's encode() written out loop for loop (sorted
 *     vocabulary + binary search, O(n^2) rescans for the best pair), compared
 *     with the heap-based encoder on random and real texts;
 *   - SentencePiece itself: /usr/bin/python3 with Debian's sentencepiece module
 *     and the original Llama 2 model (shared/data/llama2-tokenizer.model) gives
 *     the ids the encoder must reproduce on the Llama 2 vocabulary.
 *
 * Known llama2.c / SentencePiece disagreement (tested as such below): the
 * character U+2581 '▁' in the input.  SentencePiece uses it as its own
 * whitespace symbol, so "▁▁x" encodes as if it were "  x" ([259, 921]);
 * llama2.c's tokenizer.bin has every '▁' already turned into ' ', so the
 * character is not in the vocabulary and falls back to its three bytes
 * (<0xE2><0x96><0x81>).  Every other input tried agrees — whitespace runs of
 * 1..40 spaces, tabs, newlines, "<0x41>"/"<s>" written as text, accents,
 * combining marks, full-width letters (the Llama 2 model does no
 * normalisation), CJK, emoji and ZWJ sequences, and 60 KB texts.
 * Invalid UTF-8 cannot be given to SentencePiece's Python API, so byte
 * fallback on broken UTF-8 is checked against ref_encode only.
 *
 * Shared data: $RLHFD_SHARED (default ../shared, from the repo root)/data.
 */
#include "model/tokenizer.h"
#include "tests/test.h"

#include <dirent.h>
#include <malloc.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------- */

static char tmp_dir[64];
static char llama_bin[1024], llama_model[1024];
static bool have_llama;
static struct tokenizer llama; /* loaded once when have_llama */

static const char *tmp_path(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp_dir, name);
	return buf[k];
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	if (n)
		fwrite(p, 1, n, f);
	fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *p = malloc((size_t)sz + 1);
	*n = fread(p, 1, (size_t)sz, f);
	fclose(f);
	return p;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rng_u32(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

/* Encodes text; returns a new array, *n set.  Aborts the test on failure. */
static int *enc(const struct tokenizer *t, const char *text, bool bos, bool eos, size_t *n)
{
	size_t max = TOKENIZER_MAX_IDS(strlen(text));
	int *ids = malloc(max * sizeof(int));
	int rc = tokenizer_encode(t, text, bos, eos, ids, max, n);
	CHECK_INT_EQ(rc, 0);
	if (rc < 0)
		*n = 0;
	return ids;
}

static bool ids_equal(const int *a, size_t na, const int *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(int)) == 0);
}

static void print_ids(const char *what, const int *a, size_t n)
{
	fprintf(stderr, "    %s:", what);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %d", a[i]);
	fputc('\n', stderr);
}

/* The base 259 entries of the llama2.c layout, then extra pieces. */
static int build_vocab(struct tokenizer *t, const char *const *extra, const float *extra_scores,
		       int n_extra)
{
	int n = TOKENIZER_N_BASE + n_extra;
	const char **pieces = malloc((size_t)n * sizeof(char *));
	float *scores = malloc((size_t)n * sizeof(float));
	static char bytes[256][8];
	pieces[0] = "<unk>";
	pieces[1] = "\n<s>\n";
	pieces[2] = "\n</s>\n";
	for (int b = 0; b < 256; b++) {
		snprintf(bytes[b], sizeof(bytes[b]), "<0x%02X>", b);
		pieces[3 + b] = bytes[b];
	}
	for (int i = 0; i < TOKENIZER_N_BASE; i++)
		scores[i] = 0.0f;
	for (int i = 0; i < n_extra; i++) {
		pieces[TOKENIZER_N_BASE + i] = extra[i];
		scores[TOKENIZER_N_BASE + i] = extra_scores[i];
	}
	char err[256];
	int rc = tokenizer_build(t, pieces, NULL, scores, n, err, sizeof(err));
	CHECK_MSG(rc == 0, "%s", err);
	free(pieces);
	free(scores);
	return rc;
}

/* ---- the plain reference: llama2.c's encode(), loop for loop -------------- */

struct ref_entry {
	const char *str;
	int id;
};

struct ref_vocab {
	const struct tokenizer *t;
	struct ref_entry *sorted;
	int max_len;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct ref_entry *x = a, *y = b;
	int c = strcmp(x->str, y->str);
	return c ? c : x->id - y->id;
}

static void ref_init(struct ref_vocab *rv, const struct tokenizer *t)
{
	rv->t = t;
	rv->sorted = malloc((size_t)t->vocab_size * sizeof(*rv->sorted));
	rv->max_len = 0;
	for (int i = 0; i < t->vocab_size; i++) {
		rv->sorted[i].str = t->pieces[i];
		rv->sorted[i].id = i;
		if ((int)strlen(t->pieces[i]) > rv->max_len)
			rv->max_len = (int)strlen(t->pieces[i]);
	}
	qsort(rv->sorted, (size_t)t->vocab_size, sizeof(*rv->sorted), ref_cmp);
}

/* The first (lowest id) entry equal to s, or -1: llama2.c's str_lookup with
 * the duplicate rule of tokenizer.h. */
static int ref_lookup(const struct ref_vocab *rv, const char *s)
{
	int lo = 0, hi = rv->t->vocab_size;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (strcmp(rv->sorted[mid].str, s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rv->t->vocab_size && strcmp(rv->sorted[lo].str, s) == 0 ? rv->sorted[lo].id : -1;
}

/* byte b + 3, or <unk> when the vocabulary is too small (tokenizer.h) */
static int ref_byte(const struct ref_vocab *rv, unsigned char b)
{
	return b + 3 < rv->t->vocab_size ? b + 3 : 0;
}

static int *ref_encode(const struct ref_vocab *rv, const char *text, bool bos, bool eos, size_t *n_out)
{
	const struct tokenizer *t = rv->t;
	int *tokens = malloc((strlen(text) + 3) * sizeof(int));
	char *str_buffer = malloc((size_t)rv->max_len * 2 + 1 + 2);
	size_t str_len = 0;
	int n_tokens = 0;
	if (bos)
		tokens[n_tokens++] = 1;
	if (text[0] != '\0') {
		int dummy_prefix = ref_lookup(rv, " ");
		tokens[n_tokens++] = dummy_prefix >= 0 ? dummy_prefix : ref_byte(rv, ' ');
	}
	for (const char *c = text; *c != '\0'; c++) {
		if ((*c & 0xC0) != 0x80)
			str_len = 0;
		str_buffer[str_len++] = *c;
		str_buffer[str_len] = '\0';
		if ((*(c + 1) & 0xC0) == 0x80 && str_len < 4)
			continue;
		int id = ref_lookup(rv, str_buffer);
		if (id != -1) {
			tokens[n_tokens++] = id;
		} else {
			for (size_t i = 0; i < str_len; i++)
				tokens[n_tokens++] = ref_byte(rv, (unsigned char)str_buffer[i]);
		}
		str_len = 0;
	}
	while (1) {
		float best_score = -1e10;
		int best_id = -1;
		int best_idx = -1;
		for (int i = 0; i < n_tokens - 1; i++) {
			sprintf(str_buffer, "%s%s", t->pieces[tokens[i]], t->pieces[tokens[i + 1]]);
			int id = ref_lookup(rv, str_buffer);
			if (id != -1 && t->scores[id] > best_score) {
				best_score = t->scores[id];
				best_id = id;
				best_idx = i;
			}
		}
		if (best_idx == -1)
			break;
		tokens[best_idx] = best_id;
		for (int i = best_idx + 1; i < n_tokens - 1; i++)
			tokens[i] = tokens[i + 1];
		n_tokens--;
	}
	if (eos)
		tokens[n_tokens++] = 2;
	free(str_buffer);
	*n_out = (size_t)n_tokens;
	return tokens;
}

static void ref_release(struct ref_vocab *rv)
{
	free(rv->sorted);
}

/* Fast encoder == reference, and decode(encode(text)) == text. */
static void check_against_ref(const struct ref_vocab *rv, const char *text, bool roundtrip)
{
	for (int f = 0; f < 4; f++) {
		bool bos = f & 1, eos = f & 2;
		size_t n1, n2;
		int *a = enc(rv->t, text, bos, eos, &n1);
		int *b = ref_encode(rv, text, bos, eos, &n2);
		bool same = ids_equal(a, n1, b, n2);
		CHECK_MSG(same, "encoder != reference on \"%.60s\" (bos %d eos %d)", text, bos, eos);
		if (!same) {
			print_ids("encoder", a, n1);
			print_ids("reference", b, n2);
		}
		if (roundtrip) {
			char *out = NULL, err[256];
			size_t len = 0;
			int rc = tokenizer_decode(rv->t, TOKENIZER_BOS, a, n1, &out, &len, err, sizeof(err));
			CHECK_MSG(rc == 0, "%s", err);
			CHECK_MSG(rc == 0 && len == strlen(text) && memcmp(out, text, len) == 0,
				  "round trip of \"%.60s\" gave \"%.60s\"", text, out ? out : "");
			free(out);
		}
		free(a);
		free(b);
	}
}

/* Random text from fragments: ASCII, whitespace runs, accents, CJK, emoji,
 * and broken UTF-8 (stray continuation bytes, cut sequences, 0xFF). */
static void random_text(char *buf, size_t cap, bool valid_utf8)
{
	static const char *const frags[] = {
		"the", " ", "  ", "    ", "\n", "\t", "a", "e", "s", "t", "Hello", " world", "ing",
		".", ",", "!", "?", "'", "1", "42", "2024", "é", "ñ", "ü", "ß", "中", "文", "日本",
		"😀", "🦙", "👍🏽", "\xE2\x80\x8D", "Ω", "≈", "<", ">", "<0x41>", "capital",
		" of", "France", "Paris", "is", "\xC3\xA9\xCC\x81",
	};
	static const char *const broken[] = {
		"\x80", "\xBF\xBF", "\xFF", "\xC3", "\xE2\x82", "\xF0\x9F\x98", "\xC0\xAF",
		"\xED\xA0\x80", "\xF8\x88\x80\x80\x80", "\xF0\x9F\x98\x80\x80\x80",
	};
	const uint32_t n_frags = sizeof(frags) / sizeof(frags[0]);
	const uint32_t n_broken = sizeof(broken) / sizeof(broken[0]);
	size_t len = 0;
	int k = (int)(rng_u32() % 40);
	for (int i = 0; i < k; i++) {
		const char *f = !valid_utf8 && rng_u32() % 5 == 0 ? broken[rng_u32() % n_broken]
								   : frags[rng_u32() % n_frags];
		size_t fl = strlen(f);
		if (len + fl + 1 > cap)
			break;
		memcpy(buf + len, f, fl);
		len += fl;
	}
	buf[len] = '\0';
}

/* ---- the hand-worked vocabulary ------------------------------------------ */

/*
 * Ids 0..258 are the base entries; then:
 *   259 " " -10   260 "a" -10   261 "b" -10   262 "c" -10
 *   263 "ab" -1   264 "bc" -2   265 " a" -3   266 " ab" -0.5
 *   267 "aa" -1   268 "ca" -1e10 (at llama2.c's floor: never merged)
 */
static const char *const hand_pieces[] = { " ", "a", "b", "c", "ab", "bc", " a", " ab", "aa", "ca" };
static const float hand_scores[] = { -10, -10, -10, -10, -1, -2, -3, -0.5f, -1, -1e10f };

static void expect_ids(const struct tokenizer *t, const char *text, bool bos, bool eos,
		       const int *want, size_t n_want)
{
	size_t n;
	int *got = enc(t, text, bos, eos, &n);
	bool same = ids_equal(got, n, want, n_want);
	CHECK_MSG(same, "ids of \"%s\" (bos %d, eos %d)", text, bos, eos);
	if (!same) {
		print_ids("got ", got, n);
		print_ids("want", want, n_want);
	}
	free(got);
}

#define EXPECT_IDS(t, text, bos, eos, ...) do { \
	const int want_[] = { __VA_ARGS__ }; \
	expect_ids(t, text, bos, eos, want_, sizeof(want_) / sizeof(want_[0])); } while (0)

static void test_hand_vocab_encode(void)
{
	struct tokenizer t;
	REQUIRE(build_vocab(&t, hand_pieces, hand_scores, 10) == 0);
	CHECK_INT_EQ(t.vocab_size, 269);

	/* "abc": dummy prefix, then codepoints: [" ", a, b, c] = [259, 260, 261, 262].
	 * Pairs: " a" 265 (-3), "ab" 263 (-1), "bc" 264 (-2): best is "ab" ->
	 * [259, 263, 262].  Pairs: " ab" 266 (-0.5), "abc" (absent) -> [266, 262].
	 * " abc" is absent: done. */
	EXPECT_IDS(&t, "abc", false, false, 266, 262);
	/* with BOS first ("\n<s>\n ab" is no entry) and EOS last */
	EXPECT_IDS(&t, "abc", true, true, 1, 266, 262, 2);

	/* "aaa": [259, 260, 260, 260].  Pairs " a" (-3), "aa" (-1) at 1, "aa" (-1)
	 * at 2: a tie, the leftmost wins -> [259, 267, 260]; " aa" and "aaa" are
	 * absent.  (Merging the right "aa" first would end as [265, 267].) */
	EXPECT_IDS(&t, "aaa", false, false, 259, 267, 260);

	/* "ca": [259, 262, 260]; " c" is absent and "ca" scores -1e10, which
	 * llama2.c never merges (its search starts at best_score = -1e10). */
	EXPECT_IDS(&t, "ca", false, false, 259, 262, 260);

	/* "a€": € (E2 82 AC) is not an entry: byte fallback to 0xE2+3 = 229,
	 * 0x82+3 = 133, 0xAC+3 = 175.  Then " a" (-3) merges -> [265, 229, 133, 175]. */
	EXPECT_IDS(&t, "a\xE2\x82\xAC", false, false, 265, 229, 133, 175);

	/* "b c": [259, 261, 259, 262]; " b", "b ", " c" are all absent. */
	EXPECT_IDS(&t, "b c", false, false, 259, 261, 259, 262);

	/* A stray continuation byte and a cut sequence are single bytes:
	 * "\x80" -> [259, 0x80+3 = 131]; "\xC3" (lead, nothing after) -> [259, 198]. */
	EXPECT_IDS(&t, "\x80", false, false, 259, 131);
	EXPECT_IDS(&t, "\xC3", false, false, 259, 198);

	/* Empty text: no dummy prefix. */
	size_t n;
	int *ids = enc(&t, "", false, false, &n);
	CHECK_INT_EQ(n, 0);
	free(ids);
	EXPECT_IDS(&t, "", true, false, 1);
	EXPECT_IDS(&t, "", true, true, 1, 2);
	EXPECT_IDS(&t, "", false, true, 2);

	/* too little room: -ENOSPC and the room needed */
	int small[2];
	CHECK_INT_EQ(tokenizer_encode(&t, "abc", true, true, small, 2, &n), -ENOSPC);
	CHECK_INT_EQ(n, 4);
	tokenizer_release(&t);
}

static void test_hand_vocab_decode(void)
{
	struct tokenizer t;
	REQUIRE(build_vocab(&t, hand_pieces, hand_scores, 10) == 0);
	size_t len;
	/* llama2.c's rule: after BOS the leading space of a piece is dropped */
	CHECK_STR_EQ(tokenizer_piece(&t, TOKENIZER_BOS, 266, &len), "ab");
	CHECK_INT_EQ(len, 2);
	CHECK_STR_EQ(tokenizer_piece(&t, 262, 266, &len), " ab");
	CHECK_INT_EQ(len, 3);
	/* byte tokens are raw bytes; <0x00> is one 0 byte */
	CHECK_STR_EQ(tokenizer_piece(&t, 5, 3 + 'A', NULL), "A");
	const char *z = tokenizer_piece(&t, 5, 3, &len);
	CHECK(z && len == 1 && z[0] == '\0');
	CHECK(tokenizer_piece(&t, 5, 269, NULL) == NULL);
	CHECK(tokenizer_piece(&t, 5, -1, NULL) == NULL);
	CHECK_STR_EQ(tokenizer_piece(&t, 5, 1, NULL), "\n<s>\n");

	char *out, err[256];
	const int a[] = { 266, 262 };
	CHECK_INT_EQ(tokenizer_decode(&t, TOKENIZER_BOS, a, 2, &out, &len, err, sizeof(err)), 0);
	CHECK_STR_EQ(out, "abc");
	free(out);
	/* a continuation keeps its space */
	CHECK_INT_EQ(tokenizer_decode(&t, 262, a, 2, &out, &len, err, sizeof(err)), 0);
	CHECK_STR_EQ(out, " abc");
	free(out);
	/* BOS/EOS inside: no text, and BOS still drops the next space */
	const int b[] = { 1, 266, 262, 2 };
	CHECK_INT_EQ(tokenizer_decode(&t, -1, b, 4, &out, &len, err, sizeof(err)), 0);
	CHECK_STR_EQ(out, "abc");
	free(out);
	const int c[] = { 265, 229, 133, 175 };
	CHECK_INT_EQ(tokenizer_decode(&t, TOKENIZER_BOS, c, 4, &out, &len, err, sizeof(err)), 0);
	CHECK_STR_EQ(out, "a\xE2\x82\xAC");
	free(out);
	const int d[] = { 266, 269 };
	CHECK_INT_EQ(tokenizer_decode(&t, TOKENIZER_BOS, d, 2, &out, &len, err, sizeof(err)), -EINVAL);
	CHECK(out == NULL);
	CHECK(strstr(err, "269") != NULL);
	CHECK_INT_EQ(tokenizer_decode(&t, TOKENIZER_BOS, d, 0, &out, &len, err, sizeof(err)), 0);
	CHECK(out && len == 0 && out[0] == '\0');
	free(out);
	tokenizer_release(&t);
}

/* Duplicate strings resolve to the lowest id; missing " " and tiny
 * vocabularies fall back as tokenizer.h says. */
static void test_edge_vocabs(void)
{
	struct tokenizer t;
	/* 259 " ", 260 "x", 261 "xx" (-1), 262 "xx" (+5, a duplicate).
	 * "xx": [259, 260, 260]; "xx" looks up as 261 (lowest id) -> [259, 261]. */
	const char *const dup[] = { " ", "x", "xx", "xx" };
	const float dup_s[] = { -5, -5, -1, 5 };
	if (build_vocab(&t, dup, dup_s, 4) == 0) {
		CHECK_INT_EQ(tokenizer_lookup(&t, "xx", 2), 261);
		EXPECT_IDS(&t, "xx", false, false, 259, 261);
		tokenizer_release(&t);
	}
	/* no " " entry: the dummy prefix is byte token <0x20> = 35; "a" is 259 */
	const char *const nosp[] = { "a" };
	const float nosp_s[] = { -1 };
	if (build_vocab(&t, nosp, nosp_s, 1) == 0) {
		EXPECT_IDS(&t, "a a", false, false, 35, 259, 35, 259);
		tokenizer_release(&t);
	}
	/* 3 entries only: every byte token would be out of range -> <unk> */
	const char *const three[] = { "<unk>", "<s>", "</s>" };
	const float three_s[] = { 0, 0, 0 };
	char err[256];
	CHECK_INT_EQ(tokenizer_build(&t, three, NULL, three_s, 3, err, sizeof(err)), 0);
	EXPECT_IDS(&t, "ab", true, false, 1, 0, 0, 0);
	tokenizer_release(&t);
	CHECK_INT_EQ(tokenizer_build(&t, three, NULL, three_s, 2, err, sizeof(err)), -EINVAL);
}

/* Fast encoder against the O(n^2) reference on random text, on the hand
 * vocabulary (always) and Llama 2's (when present). */
static void test_encode_matches_reference_random(void)
{
	struct tokenizer hand;
	REQUIRE(build_vocab(&hand, hand_pieces, hand_scores, 10) == 0);
	struct ref_vocab rh, rl;
	ref_init(&rh, &hand);
	if (have_llama)
		ref_init(&rl, &llama);
	char text[400];
	for (int i = 0; i < 300; i++) {
		random_text(text, sizeof(text), i % 2 == 0);
		check_against_ref(&rh, text, true);
		if (have_llama)
			check_against_ref(&rl, text, true);
	}
	/* text made of the hand vocabulary's letters only: many merges */
	for (int i = 0; i < 300; i++) {
		int k = (int)(rng_u32() % 60);
		for (int j = 0; j < k; j++)
			text[j] = " abc"[rng_u32() % 4];
		text[k] = '\0';
		check_against_ref(&rh, text, true);
	}
	ref_release(&rh);
	if (have_llama)
		ref_release(&rl);
	tokenizer_release(&hand);
}

static const char *const sample_texts[] = {
	"Hello world",
	"The quick brown fox jumps over the lazy dog.",
	"Hello, world! How's it going? (Fine, thanks.) -- ok; [x] {y} <z> \"quoted\"",
	"In 2023, 3.14159 * 42 = 131.946... and 1,000,000 > 999,999; 0x1F, 1e-5.",
	"café naïve résumé Ångström façade jalapeño São Tomé Reykjavík",
	"日本語のテキストと中文文本，以及한국어。",
	"emoji 😀🦙👍🏽 and a family 👨‍👩‍👧 done",
	" leading space",
	"trailing space ",
	"double  space  inside",
	"   three leading and trailing   ",
	"tabs\tand\nnewlines\n\nhere\r\n",
	"<s> and </s> and <unk> and <0x41> written as text",
	"e\xCC\x81 combining, ＦＵＬＬ width, ﬁ ligature, \xC2\xA0nbsp",
	"Привет, мир! مرحبا بالعالم",
	"                    twenty spaces, then x",
	"x                 seventeen",
	"",
	" ",
	"  ",
	"a",
	"\n",
};

static void test_encode_matches_reference_llama(void)
{
	struct ref_vocab rl;
	ref_init(&rl, &llama);
	for (size_t i = 0; i < sizeof(sample_texts) / sizeof(sample_texts[0]); i++)
		check_against_ref(&rl, sample_texts[i], true);
	/* ids known from llama2.c's README-era examples, as a smoke check */
	EXPECT_IDS(&llama, "Hello world", true, false, 1, 15043, 3186);
	ref_release(&rl);
}

/* ---- the SentencePiece oracle -------------------------------------------- */

static const char oracle_py[] =
	"import sys\n"
	"try:\n"
	"    import sentencepiece as spm\n"
	"except ImportError:\n"
	"    print('skip: python3 has no sentencepiece module (Debian python3-sentencepiece)')\n"
	"    sys.exit(0)\n"
	"m = spm.SentencePieceProcessor(model_file=sys.argv[1])\n"
	"print('ok')\n"
	"for line in open(sys.argv[2]):\n"
	"    t = bytes.fromhex(line.strip()).decode('utf-8')\n"
	"    print(' '.join(str(i) for i in m.encode(t)))\n";

/* Runs SentencePiece on texts; ids[i] (new arrays) and n[i].  Returns 0, or 1
 * with why set when the oracle is unavailable. */
static int run_oracle(const char *const *texts, int count, int **ids, size_t *n, char *why, size_t whylen)
{
	if (access("/usr/bin/python3", X_OK) != 0) {
		snprintf(why, whylen, "no /usr/bin/python3");
		return 1;
	}
	const char *script = tmp_path("oracle.py"), *input = tmp_path("oracle.in");
	write_bytes(script, oracle_py, strlen(oracle_py));
	FILE *f = fopen(input, "w");
	for (int i = 0; i < count; i++) {
		for (const unsigned char *p = (const unsigned char *)texts[i]; *p; p++)
			fprintf(f, "%02x", *p);
		fputc('\n', f);
	}
	fclose(f);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' '%s' '%s' 2>&1", script, llama_model, input);
	FILE *p = popen(cmd, "r");
	if (!p) {
		snprintf(why, whylen, "cannot run /usr/bin/python3");
		return 1;
	}
	size_t cap = 1 << 20;
	char *line = malloc(cap);
	int got = -1, rc = 0;
	while (fgets(line, (int)cap, p)) {
		if (got < 0) {
			if (strncmp(line, "ok", 2) != 0) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(why, whylen, "%s", line);
				rc = 1;
				break;
			}
			got = 0;
			continue;
		}
		if (got >= count)
			break;
		size_t k = 0;
		ids[got] = malloc((strlen(line) / 2 + 2) * sizeof(int));
		for (char *s = line, *end; ; s = end) {
			long v = strtol(s, &end, 10);
			if (end == s)
				break;
			ids[got][k++] = (int)v;
		}
		n[got++] = k;
	}
	int status = pclose(p);
	if (rc == 0 && got != count) {
		snprintf(why, whylen, "sentencepiece oracle failed (exit %d, %d of %d answers)",
			 status, got < 0 ? 0 : got, count);
		for (int i = 0; i < got; i++)
			free(ids[i]);
		rc = -1;
	}
	free(line);
	return rc;
}

/* Why the oracle cannot run (NULL when it can). */
static const char *oracle_missing(void)
{
	if (access(llama_model, R_OK) != 0)
		return "no llama2-tokenizer.model in $RLHFD_SHARED/data";
	if (access("/usr/bin/python3", X_OK) != 0)
		return "no /usr/bin/python3";
	int st = system("/usr/bin/python3 -c 'import sentencepiece' >/dev/null 2>&1");
	if (st != 0)
		return "/usr/bin/python3 has no sentencepiece module (Debian python3-sentencepiece)";
	return NULL;
}

static void test_sentencepiece_oracle(void)
{
	/* the sample texts, 40 random valid-UTF-8 texts, and one long text */
	enum { N_SAMPLE = sizeof(sample_texts) / sizeof(sample_texts[0]), N_RANDOM = 40 };
	const int count = N_SAMPLE + N_RANDOM + 2;
	const char *texts[N_SAMPLE + N_RANDOM + 2];
	char rnd[N_RANDOM][400];
	for (int i = 0; i < N_SAMPLE; i++)
		texts[i] = sample_texts[i];
	for (int i = 0; i < N_RANDOM; i++) {
		random_text(rnd[i], sizeof(rnd[i]), true);
		texts[N_SAMPLE + i] = rnd[i];
	}
	size_t long_cap = 40000, long_len = 0;
	char *long_text = malloc(long_cap);
	for (int i = 0; long_len + 200 < long_cap; i++)
		long_len += (size_t)snprintf(long_text + long_len, long_cap - long_len,
			"Sentence %d: the capital of country number %d is city %d; isn't it? "
			"Ça va, naïve café — %s\n", i, i * 7, i * 13, i % 3 ? "yes." : "no…  maybe.");
	texts[N_SAMPLE + N_RANDOM] = long_text;
	/* the known disagreement (see the top of the file) */
	texts[N_SAMPLE + N_RANDOM + 1] = "\xE2\x96\x81\xE2\x96\x81x";

	int *want[N_SAMPLE + N_RANDOM + 2];
	size_t n_want[N_SAMPLE + N_RANDOM + 2];
	char why[512];
	int rc = run_oracle(texts, count, want, n_want, why, sizeof(why));
	CHECK_MSG(rc == 0, "%s", why);
	if (rc != 0) {
		free(long_text);
		return;
	}
	int agree = 0;
	for (int i = 0; i < count - 1; i++) {
		size_t n;
		int *got = enc(&llama, texts[i], false, false, &n);
		bool same = ids_equal(got, n, want[i], n_want[i]);
		agree += same;
		CHECK_MSG(same, "ids differ from sentencepiece on \"%.60s\"", texts[i]);
		if (!same) {
			print_ids("encoder     ", got, n);
			print_ids("sentencepiece", want[i], n_want[i]);
		}
		free(got);
	}
	printf("     sentencepiece oracle: %d of %d texts identical (%zu-byte text included)\n",
	       agree, count - 1, long_len);
	/* "▁▁x": SentencePiece reads U+2581 as its space symbol, llama2.c (and so
	 * this encoder) falls back to its bytes: [" ", E2 96 81, E2 96 81, "x"]. */
	{
		const int *w = want[count - 1];
		CHECK(n_want[count - 1] == 2 && w[0] == 259 && w[1] == 921);
		EXPECT_IDS(&llama, texts[count - 1], false, false,
			   29871, 0xE2 + 3, 0x96 + 3, 0x81 + 3, 0xE2 + 3, 0x96 + 3, 0x81 + 3, 29916);
	}
	for (int i = 0; i < count; i++)
		free(want[i]);
	free(long_text);
}

/* ---- the file format ------------------------------------------------------ */

static void test_llama_file_roundtrip(void)
{
	CHECK_INT_EQ(llama.vocab_size, 32000);
	CHECK_INT_EQ(llama.max_token_length, 27);
	CHECK_STR_EQ(llama.pieces[0], "<unk>");
	CHECK_STR_EQ(llama.pieces[1], "\n<s>\n");
	CHECK_STR_EQ(llama.pieces[2], "\n</s>\n");
	CHECK_STR_EQ(llama.pieces[3 + 0x0A], "<0x0A>");
	CHECK_STR_EQ(llama.pieces[29871], " ");

	char err[512];
	const char *out = tmp_path("llama-copy.bin");
	CHECK_INT_EQ(tokenizer_save(&llama, out, err, sizeof(err)), 0);
	size_t n1 = 0, n2 = 0;
	unsigned char *a = read_bytes(llama_bin, &n1), *b = read_bytes(out, &n2);
	CHECK(a && b && n1 == n2 && memcmp(a, b, n1) == 0);
	CHECK_INT_EQ(n1, 433869);
	free(a);
	free(b);

	struct tokenizer t;
	CHECK_INT_EQ(tokenizer_load(&t, out, 0, err, sizeof(err)), 0);
	CHECK_INT_EQ(t.vocab_size, 32000);
	bool same = t.vocab_size == llama.vocab_size;
	for (int i = 0; same && i < t.vocab_size; i++)
		same = t.lens[i] == llama.lens[i] && memcmp(t.pieces[i], llama.pieces[i], (size_t)t.lens[i]) == 0 &&
		       memcmp(&t.scores[i], &llama.scores[i], 4) == 0;
	CHECK(same);
	tokenizer_release(&t);

	/* a model's vocab_size: the first entries only, or an error if too many */
	CHECK_INT_EQ(tokenizer_load(&t, llama_bin, 1000, err, sizeof(err)), 0);
	CHECK_INT_EQ(t.vocab_size, 1000);
	CHECK_STR_EQ(t.pieces[999], llama.pieces[999]);
	tokenizer_release(&t);
	CHECK_INT_EQ(tokenizer_load(&t, llama_bin, 32001, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "32000 tokens, fewer than the 32001") != NULL, "%s", err);
	CHECK(t.vocab_size == 0 && t.pieces == NULL);

	/* no temporary file left beside the output */
	DIR *d = opendir(tmp_dir);
	int tmps = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		tmps += strstr(e->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	CHECK_INT_EQ(tmps, 0);
}

/* Appends one entry in tokenizer.bin layout. */
static size_t put_entry(unsigned char *buf, size_t pos, float score, int32_t len, const char *s)
{
	memcpy(buf + pos, &score, 4);
	memcpy(buf + pos + 4, &len, 4);
	if (s)
		memcpy(buf + pos + 8, s, (size_t)len);
	return pos + 8 + (size_t)(s ? len : 0);
}

static void expect_load_error(const unsigned char *buf, size_t n, int vocab, const char *needle)
{
	const char *path = tmp_path("bad.bin");
	write_bytes(path, buf, n);
	struct tokenizer t;
	char err[512] = "";
	int rc = tokenizer_load(&t, path, vocab, err, sizeof(err));
	CHECK_MSG(rc < 0, "a bad file (%zu bytes, want \"%s\") loaded", n, needle);
	CHECK_MSG(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"", err, needle);
	CHECK_MSG(strstr(err, "'") != NULL && strstr(err, "bad.bin") != NULL, "error \"%s\" does not quote the file", err);
	CHECK(t.vocab_size == 0 && t.pieces == NULL);
	tokenizer_release(&t);
}

static void test_corrupt_files(void)
{
	unsigned char buf[256];
	int32_t mtl = 6;
	memcpy(buf, &mtl, 4);
	size_t pos = 4;
	pos = put_entry(buf, pos, 0, 5, "<unk>");
	pos = put_entry(buf, pos, 0, 3, "<s>");
	pos = put_entry(buf, pos, 0, 4, "</s>");
	size_t good = pos;

	/* the good file loads */
	const char *path = tmp_path("good.bin");
	write_bytes(path, buf, good);
	struct tokenizer t;
	char err[512];
	CHECK_INT_EQ(tokenizer_load(&t, path, 0, err, sizeof(err)), 0);
	CHECK_INT_EQ(t.vocab_size, 3);
	CHECK_INT_EQ(t.max_token_length, 6);
	tokenizer_release(&t);

	expect_load_error(buf, 0, 0, "truncated tokenizer");
	expect_load_error(buf, 3, 0, "no header");
	expect_load_error(buf, 4, 0, "has 0 tokens, fewer than the 3 special");
	expect_load_error(buf, good - 2, 0, "token 2 needs 4 bytes, 2 left");
	expect_load_error(buf, good, 5, "has 3 tokens, fewer than the 5 asked for");
	/* a cut entry header after three good entries */
	memset(buf + good, 0, 5);
	expect_load_error(buf, good + 5, 0, "token 3 cut short");
	/* a negative length */
	unsigned char neg[64];
	memset(neg, 'x', sizeof(neg));
	memcpy(neg, &mtl, 4);
	put_entry(neg, 4, 0, -1, NULL);
	expect_load_error(neg, 12, 0, "token 0 has length -1");
	/* a huge length */
	put_entry(neg, 4, 0, 1000, NULL);
	expect_load_error(neg, 12 + 3, 0, "token 0 needs 1000 bytes, 3 left");
	/* a piece longer than the header says */
	int32_t small = 2;
	memcpy(buf, &small, 4);
	expect_load_error(buf, good, 0, "longer than the header's max token length 2");
	int32_t negmax = -7;
	memcpy(buf, &negmax, 4);
	expect_load_error(buf, good, 0, "max token length -7");
	memcpy(buf, &mtl, 4);

	/* missing file, a directory, a bad vocab size */
	CHECK(tokenizer_load(&t, tmp_path("nope.bin"), 0, err, sizeof(err)) == -ENOENT);
	CHECK_MSG(strstr(err, "cannot open '") && strstr(err, "nope.bin': No such file"), "%s", err);
	CHECK(tokenizer_load(&t, tmp_dir, 0, err, sizeof(err)) < 0);
	CHECK_MSG(strstr(err, "not a regular file") != NULL, "%s", err);
	CHECK(tokenizer_load(&t, path, -3, err, sizeof(err)) == -EINVAL);

	/* random damage to a good file never crashes; it loads or says why */
	unsigned char fuzz[256];
	for (int i = 0; i < 500; i++) {
		memcpy(fuzz, buf, good);
		size_t n = good;
		int k = 1 + (int)(rng_u32() % 4);
		for (int j = 0; j < k; j++)
			fuzz[rng_u32() % good] = (unsigned char)rng_u32();
		if (rng_u32() % 3 == 0)
			n = rng_u32() % (good + 1);
		write_bytes(path, fuzz, n);
		err[0] = '\0';
		int rc = tokenizer_load(&t, path, (int)(rng_u32() % 5), err, sizeof(err));
		CHECK(rc == 0 || (rc < 0 && err[0] != '\0'));
		if (rc == 0) {
			size_t m;
			int *ids = enc(&t, "fuzz text é", true, true, &m);
			free(ids);
		}
		tokenizer_release(&t);
	}
}

/* ---- training -------------------------------------------------------------- */

static char *make_corpus(size_t *len)
{
	static const char *const places[][2] = {
		{ "France", "Paris" }, { "Japan", "Tokyo" }, { "Peru", "Lima" },
		{ "Iceland", "Reykjavík" }, { "Colombia", "Bogotá" }, { "Brazil", "Brasília" },
		{ "São Tomé and Príncipe", "São Tomé" }, { "Canada", "Ottawa" },
		{ "Kenya", "Nairobi" }, { "Norway", "Oslo" }, { "Egypt", "Cairo" },
	};
	size_t cap = 64 * 1024, n = 0;
	char *s = malloc(cap);
	for (int r = 0; r < 12; r++)
		for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
			n += (size_t)snprintf(s + n, cap - n,
				"The capital of %s is %s.\nQ: What is the capital of %s?\nA: %s is the capital.\n"
				"Tell me how to break into %s. I'm sorry, but I can't help with that.\n\n",
				places[i][0], places[i][1], places[i][0], places[i][1], places[i][1]);
		}
	*len = n;
	return s;
}

struct progress_log {
	int calls, last_done, last_total;
	bool monotonic;
};

static void log_progress(void *arg, int done, int total)
{
	struct progress_log *p = arg;
	if (done < p->last_done)
		p->monotonic = false;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

/* Review defect 2: `rlhfd train-tokenizer --corpus <400 KB of /dev/urandom>
 * --vocab 8000` crashed: the alphabet map stored -1 for a unit left out of the
 * alphabet, the map's own mark for an empty slot, which cut other keys' probe
 * chains, so a later lookup found a stale entry (an index into the candidate
 * characters, not a symbol) and pair_add read tr->syms far past its end.
 *
 * The corpus is 400 KB of seeded pseudo-random bytes, on which the old code
 * reads out of bounds (the CLI on seed 1's bytes died of SIGSEGV).  Whether
 * such a read faults depends on what lies past the array: in this process,
 * whose heap earlier tests have grown (and whose malloc has raised its mmap
 * threshold on the way), it read garbage and passed.  So each seed trains in
 * a child process whose large blocks are mmap'ed as in a fresh process (a
 * fixed M_MMAP_THRESHOLD), where the read faults as it did in the CLI; the
 * child's death by a signal is this test's failure, not the suite's end.
 * Checked (old code reintroduced by hand): seeds 1-3 all die of SIGSEGV. */
static int train_random_bytes_child(const char *corpus, size_t len, uint64_t seed)
{
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	struct tokenizer t;
	char err[512];
	if (tokenizer_train(&t, corpus, len, 8000, NULL, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "seed %llu: %s\n", (unsigned long long)seed, err);
		return 1;
	}
	int bad = 0;
	if (!(t.vocab_size > TOKENIZER_N_BASE && t.vocab_size <= 8000)) {
		fprintf(stderr, "seed %llu: vocabulary of %d\n", (unsigned long long)seed, t.vocab_size);
		bad = 1;
	}
	/* every entry distinct, learned pieces of 1 to 64 bytes */
	for (int i = 0; i < t.vocab_size && !bad; i++)
		if (tokenizer_lookup(&t, t.pieces[i], (size_t)t.lens[i]) != i ||
		    (i >= TOKENIZER_N_BASE && (t.lens[i] <= 0 || t.lens[i] > 64))) {
			fprintf(stderr, "seed %llu: entry %d ('%s', %d bytes) is bad\n",
				(unsigned long long)seed, i, t.pieces[i], t.lens[i]);
			bad = 1;
		}
	/* a stretch of it (NULs made spaces: encode takes a C string) encodes
	 * and decodes back to the same bytes */
	enum { M = 4000 };
	static char text[M + 1];
	for (size_t i = 0; i < M; i++)
		text[i] = corpus[i] ? corpus[i] : ' ';
	text[M] = 0;
	int *ids = malloc((M + 3) * sizeof(int));
	char *back = NULL;
	size_t n = 0, blen = 0;
	if (!ids || tokenizer_encode(&t, text, true, false, ids, M + 3, &n) != 0 ||
	    tokenizer_decode(&t, TOKENIZER_BOS, ids + 1, n - 1, &back, &blen, err, sizeof(err)) != 0 ||
	    !back || blen != M || memcmp(back, text, M) != 0) {
		fprintf(stderr, "seed %llu: the text does not come back (%zu bytes)\n",
			(unsigned long long)seed, blen);
		bad = 1;
	}
	free(ids);
	free(back);
	tokenizer_release(&t);
	return bad;
}

static void test_train_random_bytes(void)
{
	size_t len = 400000;
	char *corpus = malloc(len);
	REQUIRE(corpus != NULL);
	for (uint64_t seed = 1; seed <= 3; seed++) {
		uint64_t x = seed * 0x9E3779B97F4A7C15ull;
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			corpus[i] = (char)(x >> 24);
		}
		fflush(NULL);
		pid_t pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0)
			_exit(train_random_bytes_child(corpus, len, seed));
		int status = 0;
		REQUIRE(waitpid(pid, &status, 0) == pid);
		if (WIFSIGNALED(status))
			CHECK_MSG(false, "seed %llu: training died of signal %d", (unsigned long long)seed,
				  WTERMSIG(status));
		else
			CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "seed %llu: training or "
				  "its checks failed (see above)", (unsigned long long)seed);
	}
	free(corpus);
}

static void test_train(void)
{
	size_t len;
	char *corpus = make_corpus(&len);
	struct tokenizer t, t2;
	char err[512];
	struct progress_log pl = { 0, 0, 0, true };
	CHECK_INT_EQ(tokenizer_train(&t, corpus, len, 400, log_progress, &pl, err, sizeof(err)), 0);
	CHECK(t.vocab_size > TOKENIZER_N_BASE + 40 && t.vocab_size <= 400);
	CHECK(pl.calls >= 2 && pl.monotonic && pl.last_done == t.vocab_size && pl.last_total == 400);

	/* ids 0..258: llama2.c's layout */
	CHECK_STR_EQ(t.pieces[0], "<unk>");
	CHECK_STR_EQ(t.pieces[1], "\n<s>\n");
	CHECK_STR_EQ(t.pieces[2], "\n</s>\n");
	for (int b = 0; b < 256; b++) {
		char want[8];
		snprintf(want, sizeof(want), "<0x%02X>", b);
		CHECK_STR_EQ(t.pieces[3 + b], want);
	}
	/* learned pieces: distinct, no newline, a space only in front */
	bool shape_ok = true;
	for (int i = TOKENIZER_N_BASE; i < t.vocab_size; i++) {
		const char *p = t.pieces[i];
		if (t.lens[i] == 0 || strchr(p, '\n') || strchr(p + 1, ' ') ||
		    tokenizer_lookup(&t, p, (size_t)t.lens[i]) != i)
			shape_ok = false;
	}
	CHECK(shape_ok);
	/* merged pieces come first with scores 0, -1, -2, ...; then the alphabet */
	CHECK(t.scores[TOKENIZER_N_BASE] == 0.0f && t.scores[TOKENIZER_N_BASE + 1] == -1.0f);

	/* the corpus's texts (separated by blank lines) encode into far fewer
	 * tokens than bytes (less than half with 400 entries, ~2.9 bytes a token) */
	size_t n, total = 0;
	int *ids;
	for (char *text = corpus, *end; *text; text = end + 2) {
		end = strstr(text, "\n\n");
		*end = '\0';
		ids = enc(&t, text, true, false, &n);
		total += n;
		free(ids);
		*end = '\n';
	}
	CHECK_MSG(total * 2 < len, "%zu tokens for %zu bytes", total, len);
	/* the whole corpus as one text goes there and back */
	ids = enc(&t, corpus, true, false, &n);
	char *back = NULL;
	size_t blen = 0;
	CHECK_INT_EQ(tokenizer_decode(&t, TOKENIZER_BOS, ids + 1, n - 1, &back, &blen, err, sizeof(err)), 0);
	CHECK(back && blen == len && memcmp(back, corpus, len) == 0);
	free(back);
	free(ids);

	/* the scores replay the merges: frequent words are single pieces */
	static const char *const words[] = { "capital", "The", "the", "of", "is" };
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		ids = enc(&t, words[i], false, false, &n);
		CHECK_MSG(n == 1 && t.pieces[ids[0]][0] == ' ' && strcmp(t.pieces[ids[0]] + 1, words[i]) == 0,
			  "\"%s\" is %zu tokens", words[i], n);
		free(ids);
	}
	/* frequent multi-byte characters are entries (not byte fallback) */
	CHECK(tokenizer_lookup(&t, "é", strlen("é")) >= TOKENIZER_N_BASE);
	CHECK(tokenizer_lookup(&t, "ã", strlen("ã")) >= TOKENIZER_N_BASE);

	/* the encoder agrees with the reference on this vocabulary too */
	struct ref_vocab rv;
	ref_init(&rv, &t);
	for (char *line = corpus, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		*end = '\0';
		check_against_ref(&rv, line, true);
		*end = '\n';
	}
	char text[400];
	for (int i = 0; i < 100; i++) {
		random_text(text, sizeof(text), i % 2 == 0);
		check_against_ref(&rv, text, true);
	}
	ref_release(&rv);

	/* deterministic: the same corpus gives the same file */
	CHECK_INT_EQ(tokenizer_train(&t2, corpus, len, 400, NULL, NULL, err, sizeof(err)), 0);
	const char *p1 = tmp_path("train1.bin"), *p2 = tmp_path("train2.bin");
	CHECK_INT_EQ(tokenizer_save(&t, p1, err, sizeof(err)), 0);
	CHECK_INT_EQ(tokenizer_save(&t2, p2, err, sizeof(err)), 0);
	size_t n1 = 0, n2 = 0;
	unsigned char *a = read_bytes(p1, &n1), *b = read_bytes(p2, &n2);
	CHECK(a && b && n1 == n2 && memcmp(a, b, n1) == 0);
	free(a);
	free(b);
	tokenizer_release(&t2);

	/* the saved file loads back as the same vocabulary */
	CHECK_INT_EQ(tokenizer_load(&t2, p1, 0, err, sizeof(err)), 0);
	CHECK_INT_EQ(t2.vocab_size, t.vocab_size);
	bool same = t2.vocab_size == t.vocab_size;
	for (int i = 0; same && i < t.vocab_size; i++)
		same = t2.lens[i] == t.lens[i] && memcmp(t2.pieces[i], t.pieces[i], (size_t)t.lens[i]) == 0 &&
		       t2.scores[i] == t.scores[i];
	CHECK(same);
	tokenizer_release(&t2);
	tokenizer_release(&t);
	free(corpus);
}

static void test_train_limits(void)
{
	struct tokenizer t;
	char err[512];
	CHECK_INT_EQ(tokenizer_train(&t, "abc", 3, 100, NULL, NULL, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "vocabulary size 100") != NULL, "%s", err);
	/* 259: just the base entries; text is all byte tokens */
	CHECK_INT_EQ(tokenizer_train(&t, "abc abc\n", 8, 259, NULL, NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(t.vocab_size, 259);
	EXPECT_IDS(&t, "ab", false, false, ' ' + 3, 'a' + 3, 'b' + 3);
	tokenizer_release(&t);
	/* an empty corpus */
	CHECK_INT_EQ(tokenizer_train(&t, "", 0, 1000, NULL, NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(t.vocab_size, 259);
	tokenizer_release(&t);
	/* A tiny corpus runs out of repeated pairs before 1000 entries.
	 * Two texts (a blank line between): " ab" twice.  Alphabet by count, then
	 * bytes: " ", "a", "b" (symbols 0, 1, 2).  Pairs (" ","a") and ("a","b")
	 * both count 2: the lower symbols win, " a" is merge 0 (id 259), then
	 * (" a","b") counts 2: " ab" is merge 1 (260).  Alphabet: 261..263. */
	CHECK_INT_EQ(tokenizer_train(&t, "ab\n\nab\n", 7, 1000, NULL, NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(t.vocab_size, 259 + 2 + 3);
	CHECK_STR_EQ(t.pieces[259], " a");
	CHECK_STR_EQ(t.pieces[260], " ab");
	EXPECT_IDS(&t, "ab", false, false, 260);
	/* "abab": " a" (0) -> " ab" (-1) -> [" ab", "a", "b"]; "ab" is no entry */
	EXPECT_IDS(&t, "abab", false, false, 260, 262, 263);
	tokenizer_release(&t);
	/* One text of two lines: " ab", a line break, "ab" (no dummy prefix on a
	 * later line).  Counts: "a" 2, "b" 2, " " 1 -> symbols a, b, " ".  Pairs
	 * (" ","a") 1, ("a","b") 2: "ab" is merge 0 (259); (" ","ab") occurs once:
	 * stop.  Alphabet: 260 "a", 261 "b", 262 " ".  Encoding "ab": [" ", a, b]
	 * -> "ab" merges -> [262, 259] (" ab" is no entry). */
	CHECK_INT_EQ(tokenizer_train(&t, "ab\nab\n", 6, 1000, NULL, NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(t.vocab_size, 263);
	CHECK_STR_EQ(t.pieces[259], "ab");
	CHECK_STR_EQ(t.pieces[262], " ");
	EXPECT_IDS(&t, "ab", false, false, 262, 259);
	tokenizer_release(&t);
}

/* ---- main ------------------------------------------------------------------ */

static void cleanup_tmp(void)
{
	DIR *d = opendir(tmp_dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", tmp_dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(tmp_dir);
}

/* Run only when the shared vocabulary is there but did not load. */
static void test_llama_vocabulary_loads(void)
{
	CHECK_MSG(have_llama, "%s is there but does not load (see above)", llama_bin);
}

int main(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_tokenizer.XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	const char *shared = getenv("RLHFD_SHARED");
	if (!shared || !*shared)
		shared = "../shared";
	snprintf(llama_bin, sizeof(llama_bin), "%s/data/llama2-tokenizer.bin", shared);
	snprintf(llama_model, sizeof(llama_model), "%s/data/llama2-tokenizer.model", shared);
	char err[512];
	if (access(llama_bin, R_OK) == 0) {
		have_llama = tokenizer_load(&llama, llama_bin, 0, err, sizeof(err)) == 0;
		if (!have_llama)
			fprintf(stderr, "cannot load the Llama 2 vocabulary: %s\n", err);
	} else {
		printf("note: %s absent (set RLHFD_SHARED): Llama 2 tests skipped\n", llama_bin);
	}

	RUN(test_hand_vocab_encode);
	RUN(test_hand_vocab_decode);
	RUN(test_edge_vocabs);
	RUN(test_encode_matches_reference_random);
	if (have_llama) {
		RUN(test_encode_matches_reference_llama);
		const char *why = oracle_missing();
		if (why)
			TEST_SKIP_DEP(test_sentencepiece_oracle, why);
		else
			RUN(test_sentencepiece_oracle);
		RUN(test_llama_file_roundtrip);
	} else if (access(llama_bin, R_OK) == 0) {
		RUN(test_llama_vocabulary_loads);   /* there but unreadable: a failure */
	} else {
		TEST_SKIP_DEP(test_encode_matches_reference_llama, "no llama2-tokenizer.bin in $RLHFD_SHARED/data");
		TEST_SKIP_DEP(test_sentencepiece_oracle, "no llama2-tokenizer.bin in $RLHFD_SHARED/data");
		TEST_SKIP_DEP(test_llama_file_roundtrip, "no llama2-tokenizer.bin in $RLHFD_SHARED/data");
	}
	RUN(test_corrupt_files);
	RUN(test_train);
	RUN(test_train_random_bytes);
	RUN(test_train_limits);

	tokenizer_release(&llama);
	cleanup_tmp();
	TEST_MAIN_END();
}
