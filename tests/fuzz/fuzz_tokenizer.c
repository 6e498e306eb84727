/*
 * tests/fuzz/fuzz_tokenizer.c — libFuzzer target: the tokenizer
 * (model/tokenizer.h) on arbitrary bytes.
 *
 * Byte 0 picks what the rest of the input is (byte 0 mod 4):
 *   0  a tokenizer.bin: byte 1 sets the vocab_size asked for (odd 2k+1: k;
 *      even: 0 = every entry), the rest is the file given to tokenizer_load.
 *      A file it loads must be written back by tokenizer_save as the same
 *      bytes (the entries read), and encode and decode a fixed text.
 *   1  text for a small fixed vocabulary (FIXED_PIECES: the 259 base entries,
 *      some merges, a multi-byte character, a never-merging entry and a
 *      duplicate): up to the first NUL it is encoded (with and without
 *      BOS/EOS, and with too little room) and decoded back, which must give
 *      the text again, byte for byte.
 *   2  token ids (int16, little-endian) decoded with the fixed vocabulary,
 *      each id also through tokenizer_piece: out-of-range ids are refused,
 *      never read.
 *   3  a training corpus: byte 1 sets the vocabulary size (259 + byte 1), at
 *      most MAX_TRAIN_BYTES of the rest go to tokenizer_train.  The result
 *      must hold the base layout, no string twice, pieces of at most 16
 *      characters; it must survive tokenizer_save and tokenizer_load
 *      unchanged, and encode-then-decode each text of the corpus back to
 *      itself.
 */
#include "model/tokenizer.h"
#include "tests/fuzz/fuzz.h"

#define MAX_TRAIN_BYTES 2048

static struct tokenizer fixed;
static char path_in[PATH_MAX], path_out[PATH_MAX];

/* Pieces after the 259 base entries, with their scores. */
static const struct { const char *s; float score; } FIXED_PIECES[] = {
	{ " ", -1 }, { "e", -2 }, { "t", -3 }, { "h", -4 }, { "a", -5 }, { "n", -6 },
	{ "th", -7 }, { " t", -8 }, { "he", -9 }, { " the", -10 }, { "in", -11 },
	{ "an", -12 }, { " a", -13 }, { "the", -14 }, { "\xc3\xa9", -15 } /* é */,
	{ "\xe6\x97\xa5", -16 } /* 日 */, { "\xf0\x9f\x99\x82", -17 } /* 🙂 */,
	{ "\xc3\xa9t", -18 }, { "  ", -19 }, { "ee", -1e11f } /* never merged */,
	{ "th", -20 } /* a duplicate: the lower id wins */, { "<0x41>", -21 },
};
#define N_FIXED (TOKENIZER_N_BASE + (int)(sizeof FIXED_PIECES / sizeof FIXED_PIECES[0]))

static void build_fixed(void)
{
	static char bytes[256][8];
	const char *pieces[N_FIXED];
	float scores[N_FIXED];
	char err[256];
	pieces[0] = "<unk>";
	pieces[1] = "\n<s>\n";
	pieces[2] = "\n</s>\n";
	for (int b = 0; b < 256; b++) {
		snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
		pieces[TOKENIZER_BYTE0 + b] = bytes[b];
	}
	for (int i = 0; i < TOKENIZER_N_BASE; i++)
		scores[i] = 0;
	for (int i = TOKENIZER_N_BASE; i < N_FIXED; i++) {
		pieces[i] = FIXED_PIECES[i - TOKENIZER_N_BASE].s;
		scores[i] = FIXED_PIECES[i - TOKENIZER_N_BASE].score;
	}
	if (tokenizer_build(&fixed, pieces, NULL, scores, N_FIXED, err, sizeof err) < 0)
		fuzz_fail("tokenizer_build: %s", err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	build_fixed();
	fuzz_path(path_in, "in.bin");
	fuzz_path(path_out, "out.bin");
	return 0;
}

/* encode(text) then decode gives text back (t has every byte token).  Only
 * when t holds " ": without it the dummy prefix is the byte token <0x20>,
 * which decodes to a space even after BOS (model/tokenizer.h). */
static void check_roundtrip(const struct tokenizer *t, const char *text, size_t len)
{
	bool has_space = tokenizer_lookup(t, " ", 1) >= 0;
	size_t max = TOKENIZER_MAX_IDS(len), n = 0;
	int *ids = malloc(max * sizeof(int));
	char *out = NULL, err[256];
	size_t out_len = 0;
	FUZZ_ASSERT(ids, "out of memory");
	for (int flags = 0; flags < 2; flags++) {
		bool marks = flags == 1;   /* BOS first and EOS last */
		int rc = tokenizer_encode(t, text, marks, marks, ids, max, &n);
		FUZZ_ASSERT(rc == 0, "encode of %zu bytes: %d", len, rc);
		FUZZ_ASSERT(n <= max, "encode gave %zu ids, room was %zu", n, max);
		for (size_t i = 0; i < n; i++)
			FUZZ_ASSERT(ids[i] >= 0 && ids[i] < t->vocab_size, "encode gave id %d of %d",
				    ids[i], t->vocab_size);
		if (marks)
			FUZZ_ASSERT(n >= 2 && ids[0] == TOKENIZER_BOS && ids[n - 1] == TOKENIZER_EOS,
				    "BOS/EOS missing");
		/* without marks the text starts after an implied BOS */
		rc = tokenizer_decode(t, marks ? TOKENIZER_EOS : TOKENIZER_BOS, ids, n, &out, &out_len,
				      err, sizeof err);
		FUZZ_ASSERT(rc == 0, "decode: %s", err);
		FUZZ_ASSERT(!has_space || (out_len == len && memcmp(out, text, len) == 0),
			    "decode(encode(%zu bytes)) gave %zu different bytes", len, out_len);
		free(out);
		out = NULL;
	}
	/* too little room: -ENOSPC and the room needed */
	if (n > 1) {
		size_t need = 0;
		int rc = tokenizer_encode(t, text, true, true, ids, n - 1, &need);
		FUZZ_ASSERT(rc == -ENOSPC && need == n, "encode with room %zu of %zu: %d, needs %zu",
			    n - 1, n, rc, need);
	}
	free(ids);
}

static void fuzz_load(const uint8_t *data, size_t size)
{
	struct tokenizer t;
	char err[256];
	int vocab = data[0] % 2 ? data[0] / 2 : 0;
	fuzz_write_file(path_in, data + 1, size - 1);
	if (tokenizer_load(&t, path_in, vocab, err, sizeof err) < 0) {
		FUZZ_ASSERT(t.vocab_size == 0 && !t.pieces, "a failed load left a tokenizer");
		return;
	}
	FUZZ_ASSERT(t.vocab_size >= 3 && (vocab == 0 || t.vocab_size == vocab),
		    "loaded %d entries, asked %d", t.vocab_size, vocab);
	/* the entries read, written back byte for byte */
	FUZZ_ASSERT(tokenizer_save(&t, path_out, err, sizeof err) == 0, "save: %s", err);
	FILE *f = fopen(path_out, "rb");
	FUZZ_ASSERT(f, "cannot open %s", path_out);
	uint8_t *back = malloc(size);
	size_t got = fread(back, 1, size, f);
	bool longer = fgetc(f) != EOF;
	fclose(f);
	FUZZ_ASSERT(!longer && got <= size - 1 && memcmp(back, data + 1, got) == 0 &&
		    (vocab != 0 || got == size - 1),
		    "tokenizer_save wrote %zu%s bytes that differ from the %zu loaded", got,
		    longer ? "+" : "", size - 1);
	free(back);
	/* any vocabulary encodes and decodes without error */
	static const char text[] = "the cat \xc3\xa9t\xc3\xa9 \xf0\x9f\x99\x82 <0x41>\n\tend";
	int ids[TOKENIZER_MAX_IDS(sizeof text)];
	size_t n = 0;
	FUZZ_ASSERT(tokenizer_encode(&t, text, true, true, ids, sizeof ids / sizeof ids[0], &n) == 0,
		    "encode with a loaded vocabulary failed");
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT(ids[i] >= 0 && ids[i] < t.vocab_size, "id %d of %d", ids[i], t.vocab_size);
	char *out = NULL;
	FUZZ_ASSERT(tokenizer_decode(&t, TOKENIZER_BOS, ids, n, &out, NULL, err, sizeof err) == 0,
		    "decode: %s", err);
	free(out);
	tokenizer_release(&t);
}

static void fuzz_decode(const uint8_t *data, size_t size)
{
	size_t n = size / 2;
	int *ids = malloc((n ? n : 1) * sizeof(int));
	char *out = NULL, err[256];
	size_t out_len = 0;
	bool in_range = true;
	for (size_t i = 0; i < n; i++) {
		ids[i] = (int16_t)(data[2 * i] | data[2 * i + 1] << 8);
		in_range &= ids[i] >= 0 && ids[i] < fixed.vocab_size;
		size_t len = 0;
		const char *p = tokenizer_piece(&fixed, i ? ids[i - 1] : TOKENIZER_BOS, ids[i], &len);
		FUZZ_ASSERT((p != NULL) == (ids[i] >= 0 && ids[i] < fixed.vocab_size),
			    "tokenizer_piece(%d) %s", ids[i], p ? "answered" : "refused");
		FUZZ_ASSERT(!p || len == strlen(p) || (len == 1 && !p[0]), "piece %d: length %zu", ids[i],
			    len);
	}
	int rc = tokenizer_decode(&fixed, TOKENIZER_BOS, ids, n, &out, &out_len, err, sizeof err);
	FUZZ_ASSERT((rc == 0) == in_range, "decode gave %d, ids %s in range", rc, in_range ? "" : "not");
	if (rc == 0)
		FUZZ_ASSERT(out && out_len <= 6 * n, "decode of %zu ids gave %zu bytes", n, out_len);
	free(out);
	free(ids);
}

static void fuzz_train(const uint8_t *data, size_t size)
{
	struct tokenizer t, back;
	char err[256];
	int vocab = TOKENIZER_N_BASE + data[0];
	const char *corpus = (const char *)data + 1;
	size_t len = size - 1 > MAX_TRAIN_BYTES ? MAX_TRAIN_BYTES : size - 1;
	int rc = tokenizer_train(&t, corpus, len, vocab, NULL, NULL, err, sizeof err);
	FUZZ_ASSERT(rc == 0, "tokenizer_train(%zu bytes, vocab %d): %s", len, vocab, err);
	FUZZ_ASSERT(t.vocab_size >= TOKENIZER_N_BASE && t.vocab_size <= vocab, "trained %d of %d",
		    t.vocab_size, vocab);
	for (int b = 0; b < 256; b++) {
		char want[8];
		snprintf(want, sizeof want, "<0x%02X>", b);
		FUZZ_ASSERT(strcmp(t.pieces[TOKENIZER_BYTE0 + b], want) == 0, "byte token %d is '%s'", b,
			    t.pieces[TOKENIZER_BYTE0 + b]);
	}
	for (int i = 0; i < t.vocab_size; i++) {
		int at = tokenizer_lookup(&t, t.pieces[i], (size_t)t.lens[i]);
		FUZZ_ASSERT(at == i, "entry %d ('%s') is also entry %d", i, t.pieces[i], at);
		FUZZ_ASSERT(i < TOKENIZER_N_BASE || (t.lens[i] > 0 && t.lens[i] <= 4 * 16),
			    "entry %d has %d bytes", i, t.lens[i]);
	}
	/* written and read back unchanged */
	FUZZ_ASSERT(tokenizer_save(&t, path_out, err, sizeof err) == 0, "save: %s", err);
	FUZZ_ASSERT(tokenizer_load(&back, path_out, 0, err, sizeof err) == 0, "load: %s", err);
	FUZZ_ASSERT(back.vocab_size == t.vocab_size, "read back %d of %d", back.vocab_size,
		    t.vocab_size);
	for (int i = 0; i < t.vocab_size; i++)
		FUZZ_ASSERT(back.lens[i] == t.lens[i] && !memcmp(back.pieces[i], t.pieces[i], t.lens[i]) &&
			    !memcmp(&back.scores[i], &t.scores[i], sizeof(float)),
			    "entry %d changed on the way through the file", i);
	tokenizer_release(&back);
	/* each text of the corpus (NUL-separated) encodes and decodes to itself */
	for (size_t at = 0; at < len;) {
		size_t n = strnlen(corpus + at, len - at);
		char *text = strndup(corpus + at, n);
		check_roundtrip(&t, text, n);
		free(text);
		at += n + 1;
	}
	tokenizer_release(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_load(data + 1, size - 1);
		break;
	case 1: {
		size_t n = strnlen((const char *)data + 1, size - 1);
		char *text = strndup((const char *)data + 1, n);
		check_roundtrip(&fixed, text, n);
		free(text);
		break;
	}
	case 2:
		fuzz_decode(data + 1, size - 1);
		break;
	default:
		fuzz_train(data + 1, size - 1);
	}
	return 0;
}
