/*
 * model/bpe_train.c — tokenizer_train (model/tokenizer.h): a BPE vocabulary
 * learnt from a text corpus, written in llama2.c's layout so the encoder of
 * model/tokenizer.c replays the merges.
 *
 * The steps, each a function below: count the corpus's units as the encoder
 * will split them and choose the alphabet; cut the text into words (a space
 * starts one) and count the distinct words; count the adjacent symbol pairs;
 * merge the most frequent pair again and again, rewriting only the words that
 * hold it; lay the vocabulary out (base entries, merges by rank, alphabet).
 */
#include "model/tokenizer.h"
#include "model/tokenizer_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRAIN_MAX_PIECE_CHARS 16   /* SentencePiece's default max_piece_length */
#define TRAIN_MAX_WORD_UNITS 64    /* longer runs without a space are cut */
#define TRAIN_MIN_PAIR_COUNT 2     /* a pair seen once is not worth an entry */
#define TRAIN_MIN_CHAR_COUNT 2     /* a multi-byte character needs this many */
#define TRAIN_CHAR_COVERAGE 0.9995 /* ... and to be among the most frequent */
#define TRAIN_PROGRESS_EVERY 100   /* merges between progress calls */

/* Bump allocator of blocks that never move, freed at once. */
struct arena {
	char **blocks;
	int n_blocks;
	size_t used, cap;    /* within the last block */
};

static char *arena_alloc(struct arena *a, size_t n)
{
	if (a->n_blocks == 0 || a->cap - a->used < n) {
		size_t cap = n > (1u << 20) ? n : (1u << 20);
		char **nb = realloc(a->blocks, (size_t)(a->n_blocks + 1) * sizeof(*nb));
		if (!nb)
			return NULL;
		a->blocks = nb;
		if (!(a->blocks[a->n_blocks] = malloc(cap)))
			return NULL;
		a->n_blocks++;
		a->used = 0;
		a->cap = cap;
	}
	char *p = a->blocks[a->n_blocks - 1] + a->used;
	a->used += n;
	return p;
}

static void arena_release(struct arena *a)
{
	for (int i = 0; i < a->n_blocks; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof(*a));
}

/* Grows *p (of *cap elements of size sz) to hold at least need elements. */
static int grow(void *p, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	void *np = realloc(*(void **)p, nc * sz);
	if (!np)
		return -ENOMEM;
	*(void **)p = np;
	*cap = nc;
	return 0;
}

/* uint64 -> int map; value -1 marks an empty slot, so a stored value is
 * never negative (a -1 put in would cut the probe chains through its slot). */
struct u64map {
	uint64_t *keys;
	int *vals;
	size_t mask, n;
};

static size_t u64_slot(const struct u64map *m, uint64_t key)
{
	uint64_t h = key * 0x9E3779B97F4A7C15ull;
	size_t i = (size_t)(h ^ (h >> 31)) & m->mask;
	while (m->vals[i] >= 0 && m->keys[i] != key)
		i = (i + 1) & m->mask;
	return i;
}

static int u64map_get(const struct u64map *m, uint64_t key)
{
	if (!m->vals)
		return -1;
	return m->vals[u64_slot(m, key)];
}

static int u64map_put(struct u64map *m, uint64_t key, int val)
{
	if (!m->vals || (m->n + 1) * 2 > m->mask + 1) {
		size_t cap = m->vals ? (m->mask + 1) * 2 : 1024;
		struct u64map nm = { malloc(cap * sizeof(uint64_t)), malloc(cap * sizeof(int)),
				     cap - 1, 0 };
		if (!nm.keys || !nm.vals) {
			free(nm.keys);
			free(nm.vals);
			return -ENOMEM;
		}
		memset(nm.vals, 0xff, cap * sizeof(int));
		for (size_t i = 0; m->vals && i <= m->mask; i++)
			if (m->vals[i] >= 0) {
				size_t s = u64_slot(&nm, m->keys[i]);
				nm.keys[s] = m->keys[i];
				nm.vals[s] = m->vals[i];
				nm.n++;
			}
		free(m->keys);
		free(m->vals);
		*m = nm;
	}
	size_t s = u64_slot(m, key);
	if (m->vals[s] < 0)
		m->n++;
	m->keys[s] = key;
	m->vals[s] = val;
	return 0;
}

static void u64map_release(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* byte string -> int map over strings that stay put (arena or corpus). */
struct strmap_entry {
	uint64_t hash;
	const char *s;
	int len;
	int val;
};

struct strmap {
	struct strmap_entry *e; /* val -1: empty */
	size_t mask, n;
};

static size_t str_slot(const struct strmap *m, uint64_t h, const char *s, int len)
{
	size_t i = (size_t)h & m->mask;
	while (m->e[i].val >= 0 &&
	       !(m->e[i].hash == h && m->e[i].len == len && memcmp(m->e[i].s, s, (size_t)len) == 0))
		i = (i + 1) & m->mask;
	return i;
}

static int strmap_get(const struct strmap *m, const char *s, int len)
{
	if (!m->e)
		return -1;
	return m->e[str_slot(m, tokenizer_hash_bytes(s, (size_t)len), s, len)].val;
}

/* s must stay valid as long as the map. */
static int strmap_put(struct strmap *m, const char *s, int len, int val)
{
	if (!m->e || (m->n + 1) * 2 > m->mask + 1) {
		size_t cap = m->e ? (m->mask + 1) * 2 : 1024;
		struct strmap nm = { malloc(cap * sizeof(struct strmap_entry)), cap - 1, 0 };
		if (!nm.e)
			return -ENOMEM;
		for (size_t i = 0; i < cap; i++)
			nm.e[i].val = -1;
		for (size_t i = 0; m->e && i <= m->mask; i++)
			if (m->e[i].val >= 0) {
				nm.e[str_slot(&nm, m->e[i].hash, m->e[i].s, m->e[i].len)] = m->e[i];
				nm.n++;
			}
		free(m->e);
		*m = nm;
	}
	uint64_t h = tokenizer_hash_bytes(s, (size_t)len);
	size_t i = str_slot(m, h, s, len);
	if (m->e[i].val < 0)
		m->n++;
	m->e[i] = (struct strmap_entry){ h, s, len, val };
	return 0;
}

static void strmap_release(struct strmap *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}

/* Is s[0..n) (one llama2.c unit) a single well-formed UTF-8 character? */
static bool utf8_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	switch (n) {
	case 1:
		return s[0] < 0x80;
	case 2:
		if ((s[0] & 0xE0) != 0xC0)
			return false;
		cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
		return cp >= 0x80;
	case 3:
		if ((s[0] & 0xF0) != 0xE0)
			return false;
		cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
		return cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
	case 4:
		if ((s[0] & 0xF8) != 0xF0)
			return false;
		cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
		     (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
		return cp >= 0x10000 && cp <= 0x10FFFF;
	}
	return false;
}

/* A unit (1-4 bytes, none zero) as a map key. */
static uint64_t unit_key(const unsigned char *s, size_t n)
{
	uint64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k |= (uint64_t)s[i] << (8 * i);
	return k;
}

struct train_char {
	uint64_t key;
	int len;
	long long count;
};

static int char_order(const void *pa, const void *pb)
{
	const struct train_char *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	unsigned char sa[4], sb[4];
	for (int i = 0; i < 4; i++) {
		sa[i] = (unsigned char)(a->key >> (8 * i));
		sb[i] = (unsigned char)(b->key >> (8 * i));
	}
	int c = memcmp(sa, sb, 4); /* zero padding sorts a prefix first */
	return c;
}

/* A symbol: an alphabet character or a merged piece. */
struct train_sym {
	const char *s;  /* bytes (corpus or arena) */
	int len;        /* bytes */
	int chars;      /* characters */
};

/* A distinct word of the corpus, its symbols in syms[off..off+n). */
struct train_word {
	long long count;
	int off, n;
	int mark;       /* last merge step that rewrote it */
};

struct train_pair {
	int a, b;
	long long count;
	int *words;     /* words that have held the pair (some may not any more) */
	int n_words, cap_words;
	int mark;       /* last merge step that touched it */
	bool blocked;   /* its piece would collide with a base entry */
};

/* Heap entry: most frequent first, then lower symbol ids. */
struct pair_cand {
	long long count;
	int a, b;
};

static bool pair_before(const struct pair_cand *x, const struct pair_cand *y)
{
	if (x->count != y->count)
		return x->count > y->count;
	if (x->a != y->a)
		return x->a < y->a;
	return x->b < y->b;
}

struct bpe {
	struct arena arena;
	struct train_sym *syms;
	size_t n_syms, cap_syms;
	struct strmap sym_map;           /* piece string -> symbol */
	struct train_word *words;
	size_t n_words, cap_words;
	int *wsyms;                      /* every word's symbols */
	size_t n_wsyms, cap_wsyms;
	struct strmap word_map;          /* word string -> word */
	struct train_pair *pairs;
	size_t n_pairs, cap_pairs;
	struct u64map pair_map;          /* a << 32 | b -> pair */
	struct pair_cand *heap;
	size_t n_heap, cap_heap;
	int *touched;                    /* pairs with the new symbol, this step */
	size_t n_touched, cap_touched;
	int step;
	struct u64map char_map;          /* unit key -> index in chars, later symbol */
	struct train_char *chars;        /* every distinct unit of the corpus */
	size_t n_chars, cap_chars;
	int n_alpha;                     /* symbols 0..n_alpha-1 are the alphabet */
	int *merged;                     /* merged[r]: the symbol of merge rank r */
	size_t n_merged, cap_merged;
};

static int cand_push(struct bpe *tr, struct pair_cand c)
{
	if (grow(&tr->heap, &tr->cap_heap, tr->n_heap + 1, sizeof(*tr->heap)) < 0)
		return -ENOMEM;
	size_t i = tr->n_heap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!pair_before(&c, &tr->heap[p]))
			break;
		tr->heap[i] = tr->heap[p];
		i = p;
	}
	tr->heap[i] = c;
	return 0;
}

static struct pair_cand cand_pop(struct bpe *tr)
{
	struct pair_cand *h = tr->heap, top = h[0], last = h[--tr->n_heap];
	size_t n = tr->n_heap, i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && pair_before(&h[c + 1], &h[c]))
			c++;
		if (!pair_before(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (n > 0)
		h[i] = last;
	return top;
}

/* Adds delta occurrences of the pair (a, b) in word w (w >= 0 records the word
 * in the pair's list).  Pairs longer than a piece may be are not counted. */
static int pair_add(struct bpe *tr, int a, int b, long long delta, int w)
{
	if (tr->syms[a].chars + tr->syms[b].chars > TRAIN_MAX_PIECE_CHARS)
		return 0;
	uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
	int pi = u64map_get(&tr->pair_map, key);
	if (pi < 0) {
		if (grow(&tr->pairs, &tr->cap_pairs, tr->n_pairs + 1, sizeof(*tr->pairs)) < 0)
			return -ENOMEM;
		pi = (int)tr->n_pairs++;
		tr->pairs[pi] = (struct train_pair){ .a = a, .b = b, .mark = -1 };
		if (u64map_put(&tr->pair_map, key, pi) < 0)
			return -ENOMEM;
	}
	struct train_pair *p = &tr->pairs[pi];
	p->count += delta;
	if (w >= 0 && (p->n_words == 0 || p->words[p->n_words - 1] != w)) {
		size_t cap = (size_t)p->cap_words;
		if (grow(&p->words, &cap, (size_t)p->n_words + 1, sizeof(int)) < 0)
			return -ENOMEM;
		p->cap_words = (int)cap;
		p->words[p->n_words++] = w;
	}
	return pi;
}

static int add_symbol(struct bpe *tr, const char *s, int len, int chars)
{
	if (grow(&tr->syms, &tr->cap_syms, tr->n_syms + 1, sizeof(*tr->syms)) < 0)
		return -ENOMEM;
	int id = (int)tr->n_syms++;
	tr->syms[id] = (struct train_sym){ s, len, chars };
	if (strmap_put(&tr->sym_map, s, len, id) < 0)
		return -ENOMEM;
	return id;
}

/* Counts one word (its bytes and symbols) of the corpus. */
static int add_word(struct bpe *tr, const char *bytes, int len, const int *syms, int n)
{
	if (n < 2)
		return 0; /* nothing to merge */
	int w = strmap_get(&tr->word_map, bytes, len);
	if (w >= 0) {
		tr->words[w].count++;
		return 0;
	}
	char *copy = arena_alloc(&tr->arena, (size_t)len);
	if (!copy || grow(&tr->words, &tr->cap_words, tr->n_words + 1, sizeof(*tr->words)) < 0 ||
	    grow(&tr->wsyms, &tr->cap_wsyms, tr->n_wsyms + (size_t)n, sizeof(int)) < 0)
		return -ENOMEM;
	memcpy(copy, bytes, (size_t)len);
	w = (int)tr->n_words++;
	tr->words[w] = (struct train_word){ 1, (int)tr->n_wsyms, n, -1 };
	memcpy(tr->wsyms + tr->n_wsyms, syms, (size_t)n * sizeof(int));
	tr->n_wsyms += (size_t)n;
	return strmap_put(&tr->word_map, copy, len, w);
}

/* Replaces every (a, b) in word w by c, moving the word's pair counts along. */
static int rewrite_word(struct bpe *tr, int w, int a, int b, int c)
{
	struct train_word *wd = &tr->words[w];
	int *s = tr->wsyms + wd->off;
	bool has = false;
	for (int i = 0; i + 1 < wd->n && !has; i++)
		has = s[i] == a && s[i + 1] == b;
	if (!has)
		return 0;
	for (int i = 0; i + 1 < wd->n; i++)
		if (pair_add(tr, s[i], s[i + 1], -wd->count, -1) < 0)
			return -ENOMEM;
	int n = 0;
	for (int i = 0; i < wd->n; i++) {
		if (i + 1 < wd->n && s[i] == a && s[i + 1] == b) {
			s[n++] = c;
			i++;
		} else {
			s[n++] = s[i];
		}
	}
	wd->n = n;
	for (int i = 0; i + 1 < n; i++) {
		bool with_c = s[i] == c || s[i + 1] == c;
		int pi = pair_add(tr, s[i], s[i + 1], wd->count, with_c ? w : -1);
		if (pi < 0)
			return -ENOMEM;
		if (with_c && tr->syms[s[i]].chars + tr->syms[s[i + 1]].chars <= TRAIN_MAX_PIECE_CHARS &&
		    tr->pairs[pi].mark != tr->step) {
			tr->pairs[pi].mark = tr->step;
			if (grow(&tr->touched, &tr->cap_touched, tr->n_touched + 1, sizeof(int)) < 0)
				return -ENOMEM;
			tr->touched[tr->n_touched++] = pi;
		}
	}
	return 0;
}

/* Would the piece s collide with one of ids 0..258 ("<unk>", "<0x41>"), or
 * decode as a byte token (tokenizer_piece drops a space after BOS)? */
static bool is_base_piece(const char *s, int len)
{
	if (len == 5 && memcmp(s, "<unk>", 5) == 0)
		return true;
	if (len == 7 && s[0] == ' ') {
		s++;
		len--;
	}
	return len == 6 && s[0] == '<' && s[1] == '0' && s[2] == 'x' && s[5] == '>' &&
	       tokenizer_hex_digit(s[3]) >= 0 && tokenizer_hex_digit(s[4]) >= 0;
}

static void bpe_release(struct bpe *tr)
{
	for (size_t i = 0; i < tr->n_pairs; i++)
		free(tr->pairs[i].words);
	free(tr->pairs);
	u64map_release(&tr->pair_map);
	strmap_release(&tr->sym_map);
	strmap_release(&tr->word_map);
	free(tr->syms);
	free(tr->words);
	free(tr->wsyms);
	free(tr->heap);
	free(tr->touched);
	u64map_release(&tr->char_map);
	free(tr->chars);
	free(tr->merged);
	arena_release(&tr->arena);
}

/*
 * The units of the corpus as the encoder will see them.  The corpus is a
 * series of texts separated by blank lines (or NUL bytes); each text gets the
 * dummy-prefix space in front, as tokenizer_encode gives it, and inside a text
 * a line break is a byte token, so the first word of a later line has no
 * leading space.  Units come out as (unit, len); a line break as (NULL, 0).
 */
struct unit_iter {
	const unsigned char *c;
	size_t len, pos;
	bool text_start;  /* the next unit starts a text: emit the dummy prefix */
	bool line_empty;  /* no unit since the last line break */
};

static void unit_iter_init(struct unit_iter *it, const char *corpus, size_t len)
{
	*it = (struct unit_iter){ (const unsigned char *)corpus, len, 0, true, true };
}

static bool unit_next(struct unit_iter *it, const unsigned char **unit, size_t *ulen)
{
	if (it->pos >= it->len)
		return false;
	unsigned char ch = it->c[it->pos];
	if (ch == '\n' || ch == '\0') {
		if (ch == '\0' || it->line_empty)
			it->text_start = true;
		it->line_empty = true;
		it->pos++;
		*unit = NULL;
		*ulen = 0;
		return true;
	}
	it->line_empty = false;
	if (it->text_start) {
		it->text_start = false;
		*unit = (const unsigned char *)" ";
		*ulen = 1;
		return true;
	}
	size_t end = it->pos;
	while (end < it->len && it->c[end] != '\n' && it->c[end] != '\0' && end - it->pos < 4)
		end++;
	*unit = it->c + it->pos;
	*ulen = tokenizer_unit_len(*unit, end - it->pos);
	it->pos += *ulen;
	return true;
}

/* ---- the steps ------------------------------------------------------------ */

/* 1a. Every unit of the corpus as the encoder splits the text, counted into
 * tr->chars, most frequent first. */
static int count_units(struct bpe *tr, const char *corpus, size_t len)
{
	const unsigned char *unit;
	size_t ulen;
	struct unit_iter it;
	unit_iter_init(&it, corpus, len);
	while (unit_next(&it, &unit, &ulen)) {
		if (!unit)
			continue;
		uint64_t k = unit_key(unit, ulen);
		int ci = u64map_get(&tr->char_map, k);
		if (ci < 0) {
			if (grow(&tr->chars, &tr->cap_chars, tr->n_chars + 1, sizeof(*tr->chars)) < 0)
				return -ENOMEM;
			ci = (int)tr->n_chars++;
			tr->chars[ci] = (struct train_char){ k, (int)ulen, 0 };
			if (u64map_put(&tr->char_map, k, ci) < 0)
				return -ENOMEM;
		}
		tr->chars[ci].count++;
	}
	if (tr->n_chars > 1)
		qsort(tr->chars, tr->n_chars, sizeof(*tr->chars), char_order);
	return 0;
}

/* 1b. The alphabet, symbols 0..n_alpha-1: every ASCII unit, and the
 * well-formed multi-byte characters seen often enough, most frequent first,
 * until they cover TRAIN_CHAR_COVERAGE of the characters (or budget is spent).
 * char_map then maps each unit to its symbol, or NO_SYMBOL. */
#define NO_SYMBOL INT_MAX   /* char_map: a unit outside the alphabet */

static int choose_alphabet(struct bpe *tr, int budget)
{
	long long total_chars = 0;
	for (size_t i = 0; i < tr->n_chars; i++) {
		unsigned char b[4];
		for (int j = 0; j < 4; j++)
			b[j] = (unsigned char)(tr->chars[i].key >> (8 * j));
		if (utf8_char(b, (size_t)tr->chars[i].len))
			total_chars += tr->chars[i].count;
		else
			tr->chars[i].count = -tr->chars[i].count; /* never in the alphabet */
	}
	long long covered = 0;
	for (size_t i = 0; i < tr->n_chars; i++) {
		struct train_char *c = &tr->chars[i];
		bool take = c->count > 0 && (int)tr->n_syms < budget &&
			    (c->len == 1 || (c->count >= TRAIN_MIN_CHAR_COUNT &&
					     (double)covered < TRAIN_CHAR_COVERAGE * (double)total_chars));
		int sym = -1;
		if (take) {
			char *s = arena_alloc(&tr->arena, (size_t)c->len);
			if (!s)
				return -ENOMEM;
			for (int j = 0; j < c->len; j++)
				s[j] = (char)(c->key >> (8 * j));
			sym = add_symbol(tr, s, c->len, 1);
			if (sym < 0)
				return -ENOMEM;
		}
		if (c->count > 0)
			covered += c->count;
		if (u64map_put(&tr->char_map, c->key, sym >= 0 ? sym : NO_SYMBOL) < 0)
			return -ENOMEM;
	}
	tr->n_alpha = (int)tr->n_syms;
	return 0;
}

/* 2. The words: a space starts one; a character outside the alphabet ends one
 * (the encoder gives it byte tokens, which never merge); so does a line break,
 * and TRAIN_MAX_WORD_UNITS units. */
static int collect_words(struct bpe *tr, const char *corpus, size_t len)
{
	char *word_buf = malloc(4 * TRAIN_MAX_WORD_UNITS);
	int *word_syms = malloc(TRAIN_MAX_WORD_UNITS * sizeof(int));
	int rc = -ENOMEM, wlen = 0, wn = 0;
	if (!word_buf || !word_syms)
		goto out;
	const unsigned char *unit;
	size_t ulen;
	struct unit_iter it;
	unit_iter_init(&it, corpus, len);
	while (unit_next(&it, &unit, &ulen)) {
		int sym = unit ? u64map_get(&tr->char_map, unit_key(unit, ulen)) : -1;
		if (sym == NO_SYMBOL)
			sym = -1;
		if (!unit || sym < 0 || (ulen == 1 && unit[0] == ' ') || wn == TRAIN_MAX_WORD_UNITS) {
			if (add_word(tr, word_buf, wlen, word_syms, wn) < 0)
				goto out;
			wlen = wn = 0;
		}
		if (unit && sym >= 0) {
			memcpy(word_buf + wlen, unit, ulen);
			wlen += (int)ulen;
			word_syms[wn++] = sym;
		}
	}
	rc = 0;
out:
	free(word_buf);
	free(word_syms);
	return rc;
}

/* 3. Every adjacent pair of every word, weighted by the word's count; the
 * pairs seen TRAIN_MIN_PAIR_COUNT times go on the heap. */
static int count_pairs(struct bpe *tr)
{
	for (size_t w = 0; w < tr->n_words; w++) {
		const int *s = tr->wsyms + tr->words[w].off;
		for (int i = 0; i + 1 < tr->words[w].n; i++)
			if (pair_add(tr, s[i], s[i + 1], tr->words[w].count, (int)w) < 0)
				return -ENOMEM;
	}
	for (size_t i = 0; i < tr->n_pairs; i++)
		if (tr->pairs[i].count >= TRAIN_MIN_PAIR_COUNT &&
		    cand_push(tr, (struct pair_cand){ tr->pairs[i].count, tr->pairs[i].a,
						      tr->pairs[i].b }) < 0)
			return -ENOMEM;
	return 0;
}

/* The symbol *c of the piece of pair p = (a, b): the existing one when the same
 * string was built from another pair, else a new symbol, the next merge rank.
 * Returns 0, 1 when the piece would collide with a base entry (p is blocked
 * from now on), or -ENOMEM. */
static int merged_symbol(struct bpe *tr, struct train_pair *p, int a, int b, int *c)
{
	const struct train_sym *sa = &tr->syms[a], *sb = &tr->syms[b];
	int plen = sa->len + sb->len;
	char *ps = arena_alloc(&tr->arena, (size_t)plen);
	if (!ps)
		return -ENOMEM;
	memcpy(ps, sa->s, (size_t)sa->len);
	memcpy(ps + sa->len, sb->s, (size_t)sb->len);
	if (is_base_piece(ps, plen)) {
		p->blocked = true;
		return 1;
	}
	*c = strmap_get(&tr->sym_map, ps, plen);
	if (*c < 0) {
		*c = add_symbol(tr, ps, plen, sa->chars + sb->chars);
		if (*c < 0 || grow(&tr->merged, &tr->cap_merged, tr->n_merged + 1, sizeof(int)) < 0)
			return -ENOMEM;
		tr->merged[tr->n_merged++] = *c;
	}
	return 0;
}

/* Replaces (a, b) by c in every word that has held the pair (ws[0..nw), the
 * pair's list, not appended to meanwhile: no new pair is (a, b)), then puts
 * the pairs with c that are frequent enough on the heap. */
static int rewrite_words(struct bpe *tr, const int *ws, int nw, int a, int b, int c)
{
	tr->step++;
	tr->n_touched = 0;
	for (int i = 0; i < nw; i++) {
		int w = ws[i];
		if (tr->words[w].mark == tr->step)
			continue;
		tr->words[w].mark = tr->step;
		if (rewrite_word(tr, w, a, b, c) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < tr->n_touched; i++) {
		struct train_pair *q = &tr->pairs[tr->touched[i]];
		if (q->count >= TRAIN_MIN_PAIR_COUNT && !q->blocked &&
		    cand_push(tr, (struct pair_cand){ q->count, q->a, q->b }) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* 4. Merges, most frequent pair first, until the vocabulary is full or no
 * pair is frequent enough; tr->merged lists the new symbols by rank. */
static int merge_pairs(struct bpe *tr, int budget, int vocab_size,
		       tokenizer_progress_fn *progress, void *arg)
{
	if (progress)
		progress(arg, TOKENIZER_N_BASE + tr->n_alpha, vocab_size);
	while (tr->n_alpha + (int)tr->n_merged < budget && tr->n_heap > 0) {
		struct pair_cand top = cand_pop(tr);
		int pi = u64map_get(&tr->pair_map, (uint64_t)(uint32_t)top.a << 32 | (uint32_t)top.b);
		struct train_pair *p = &tr->pairs[pi];
		if (p->blocked)
			continue;
		if (p->count != top.count) {
			/* stale; a count that grew was pushed again when it grew */
			if (p->count < top.count && p->count >= TRAIN_MIN_PAIR_COUNT &&
			    cand_push(tr, (struct pair_cand){ p->count, top.a, top.b }) < 0)
				return -ENOMEM;
			continue;
		}
		int c, rc = merged_symbol(tr, p, top.a, top.b, &c);
		if (rc < 0)
			return rc;
		if (rc == 1)
			continue;
		if (rewrite_words(tr, p->words, p->n_words, top.a, top.b, c) < 0)
			return -ENOMEM;
		if (progress && tr->n_merged % TRAIN_PROGRESS_EVERY == 0)
			progress(arg, TOKENIZER_N_BASE + tr->n_alpha + (int)tr->n_merged, vocab_size);
	}
	return 0;
}

/* The message of every allocation failure while training. */
static int out_of_memory(char *err, size_t errlen, int vocab_size)
{
	tokenizer_set_err(err, errlen, "out of memory training a vocabulary of %d", vocab_size);
	return -ENOMEM;
}

/* 5. The vocabulary into *out: base entries, merged pieces by rank, the
 * alphabet.  Returns tokenizer_build's result, or -ENOMEM. */
static int build_vocab(struct bpe *tr, struct tokenizer *out, int vocab_size, char *err,
		       size_t errlen)
{
	int n = TOKENIZER_N_BASE + (int)tr->n_merged + tr->n_alpha, rc;
	const char **pieces = malloc((size_t)n * sizeof(*pieces));
	float *scores = malloc((size_t)n * sizeof(*scores));
	int *lens = malloc((size_t)n * sizeof(*lens));
	char *bytes = arena_alloc(&tr->arena, 256 * 7);
	if (!pieces || !scores || !lens || !bytes) {
		rc = out_of_memory(err, errlen, vocab_size);
		goto out;
	}
	static const char *const specials[3] = { "<unk>", "\n<s>\n", "\n</s>\n" };
	for (int i = 0; i < 3; i++) {
		pieces[i] = specials[i];
		lens[i] = (int)strlen(specials[i]);
	}
	for (int b = 0; b < 256; b++) {
		snprintf(bytes + 7 * b, 7, "<0x%02X>", b);
		pieces[TOKENIZER_BYTE0 + b] = bytes + 7 * b;
		lens[TOKENIZER_BYTE0 + b] = 6;
	}
	/* base entries sit at the merge floor: no merge of text produces them */
	for (int i = 0; i < TOKENIZER_N_BASE; i++)
		scores[i] = TOKENIZER_MERGE_FLOOR;
	for (size_t r = 0; r < tr->n_merged; r++) {
		int k = TOKENIZER_N_BASE + (int)r;
		pieces[k] = tr->syms[tr->merged[r]].s;
		lens[k] = tr->syms[tr->merged[r]].len;
		scores[k] = (float)-(long long)r;
	}
	for (int i = 0; i < tr->n_alpha; i++) {
		int k = TOKENIZER_N_BASE + (int)tr->n_merged + i;
		pieces[k] = tr->syms[i].s;
		lens[k] = tr->syms[i].len;
		scores[k] = (float)-(long long)(tr->n_merged + (size_t)i);
	}
	rc = tokenizer_build(out, pieces, lens, scores, n, err, errlen);
out:
	free(pieces);
	free(scores);
	free(lens);
	return rc;
}

int tokenizer_train(struct tokenizer *out, const char *corpus, size_t len, int vocab_size,
		    tokenizer_progress_fn *progress, void *arg, char *err, size_t errlen)
{
	struct bpe tr = { 0 };
	tokenizer_init(out);
	if (vocab_size < TOKENIZER_N_BASE || vocab_size > (1 << 22)) {
		tokenizer_set_err(err, errlen, "vocabulary size %d out of range: at least %d "
				  "(3 special and 256 byte tokens), at most %d", vocab_size,
				  TOKENIZER_N_BASE, 1 << 22);
		return -EINVAL;
	}
	int budget = vocab_size - TOKENIZER_N_BASE, rc;
	if (count_units(&tr, corpus, len) < 0 || choose_alphabet(&tr, budget) < 0 ||
	    collect_words(&tr, corpus, len) < 0 || count_pairs(&tr) < 0 ||
	    merge_pairs(&tr, budget, vocab_size, progress, arg) < 0) {
		rc = out_of_memory(err, errlen, vocab_size);
		goto out;
	}
	rc = build_vocab(&tr, out, vocab_size, err, errlen);
	if (rc == 0 && progress)
		progress(arg, TOKENIZER_N_BASE + (int)tr.n_merged + tr.n_alpha, vocab_size);
out:
	bpe_release(&tr);
	return rc;
}
