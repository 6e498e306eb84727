/*
 * model/tokenizer.c — llama2.c's tokenizer.bin: load/save, the BPE encoder
 * (llama2.c's encode, made O(n log n)), decoding, and BPE training.  The
 * contract is in tokenizer.h.
 */
#include "model/tokenizer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* llama2.c starts its search for the best merge at best_score = -1e10 and keeps
 * a pair only if its score is strictly higher: entries scored at or below this
 * floor (or NaN) are never produced by a merge. */
#define MERGE_FLOOR (-1e10f)

/* Files larger than this are not tokenizers (Llama 2's is 434 KB). */
#define TOKENIZER_MAX_FILE (1u << 30)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* FNV-1a, then a final mix so the low bits (the table index) depend on all. */
static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}

void tokenizer_init(struct tokenizer *t)
{
	memset(t, 0, sizeof(*t));
}

void tokenizer_release(struct tokenizer *t)
{
	free(t->pieces);
	free(t->lens);
	free(t->scores);
	free(t->data);
	free(t->keylens);
	free(t->table);
	tokenizer_init(t);
}

/* Fills the private lookup structures of a tokenizer whose pieces, lens,
 * scores and data are set. */
static int tokenizer_index(struct tokenizer *t)
{
	size_t cap = 16;
	while (cap < (size_t)t->vocab_size * 2)
		cap <<= 1;
	t->table = calloc(cap, sizeof(*t->table));
	t->keylens = malloc((size_t)t->vocab_size * sizeof(*t->keylens));
	if (!t->table || !t->keylens)
		return -ENOMEM;
	t->table_mask = cap - 1;
	t->max_keylen = 0;
	for (int i = 0; i < t->vocab_size; i++) {
		size_t kl = strlen(t->pieces[i]);
		t->keylens[i] = (int)kl;
		if ((int)kl > t->max_keylen)
			t->max_keylen = (int)kl;
		size_t h = hash_bytes(t->pieces[i], kl) & t->table_mask;
		for (;;) {
			int e = t->table[h];
			if (!e) {
				t->table[h] = i + 1;
				break;
			}
			if (t->keylens[e - 1] == (int)kl && memcmp(t->pieces[e - 1], t->pieces[i], kl) == 0)
				break; /* duplicate string: the lower id keeps it */
			h = (h + 1) & t->table_mask;
		}
	}
	for (int b = 0; b < 256; b++) {
		t->byte_pieces[2 * b] = (char)b;
		t->byte_pieces[2 * b + 1] = '\0';
	}
	return 0;
}

int tokenizer_lookup(const struct tokenizer *t, const char *s, size_t len)
{
	if (!t->table)
		return -1;
	size_t h = hash_bytes(s, len) & t->table_mask;
	for (;;) {
		int e = t->table[h];
		if (!e)
			return -1;
		if ((size_t)t->keylens[e - 1] == len && memcmp(t->pieces[e - 1], s, len) == 0)
			return e - 1;
		h = (h + 1) & t->table_mask;
	}
}

/* Allocates the arrays of an n-entry tokenizer with total piece bytes nbytes. */
static int tokenizer_alloc(struct tokenizer *t, int n, size_t nbytes)
{
	t->vocab_size = n;
	t->pieces = malloc((size_t)n * sizeof(*t->pieces));
	t->lens = malloc((size_t)n * sizeof(*t->lens));
	t->scores = malloc((size_t)n * sizeof(*t->scores));
	t->data = malloc(nbytes + (size_t)n + 1);
	if (!t->pieces || !t->lens || !t->scores || !t->data)
		return -ENOMEM;
	return 0;
}

int tokenizer_build(struct tokenizer *t, const char *const *pieces, const int *lens,
		    const float *scores, int n, char *err, size_t errlen)
{
	tokenizer_init(t);
	if (n < 3) {
		set_err(err, errlen, "a vocabulary needs at least 3 entries, not %d", n);
		return -EINVAL;
	}
	size_t total = 0;
	int maxlen = 0;
	for (int i = 0; i < n; i++) {
		int l = lens ? lens[i] : (int)strlen(pieces[i]);
		if (l < 0) {
			set_err(err, errlen, "piece %d has length %d", i, l);
			return -EINVAL;
		}
		total += (size_t)l;
		if (l > maxlen)
			maxlen = l;
	}
	if (tokenizer_alloc(t, n, total) < 0)
		goto out_nomem;
	char *p = t->data;
	for (int i = 0; i < n; i++) {
		int l = lens ? lens[i] : (int)strlen(pieces[i]);
		memcpy(p, pieces[i], (size_t)l);
		p[l] = '\0';
		t->pieces[i] = p;
		t->lens[i] = l;
		t->scores[i] = scores[i];
		p += l + 1;
	}
	t->max_token_length = maxlen;
	if (tokenizer_index(t) < 0)
		goto out_nomem;
	return 0;
out_nomem:
	tokenizer_release(t);
	set_err(err, errlen, "out of memory building a vocabulary of %d entries", n);
	return -ENOMEM;
}

static int32_t get_i32(const unsigned char *p)
{
	int32_t v;
	memcpy(&v, p, 4); /* little-endian host, as llama2.c assumes */
	return v;
}

/* Reads the whole file at path into a new buffer. */
static int read_file(const char *path, unsigned char **out, size_t *out_len,
		     char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		set_err(err, errlen, "cannot open '%s': %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		set_err(err, errlen, "cannot read '%s': %s", path, strerror(e));
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "cannot read '%s': not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > TOKENIZER_MAX_FILE) {
		set_err(err, errlen, "tokenizer '%s' is too large (%lld bytes)", path,
			(long long)st.st_size);
		close(fd);
		return -EFBIG;
	}
	size_t n = (size_t)st.st_size, got = 0;
	unsigned char *buf = malloc(n + 1);
	if (!buf) {
		set_err(err, errlen, "out of memory reading '%s'", path);
		close(fd);
		return -ENOMEM;
	}
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			set_err(err, errlen, "cannot read '%s': %s", path,
				r < 0 ? strerror(e) : "file shrank while reading");
			free(buf);
			close(fd);
			return -e;
		}
		got += (size_t)r;
	}
	close(fd);
	*out = buf;
	*out_len = n;
	return 0;
}

int tokenizer_load(struct tokenizer *t, const char *path, int vocab_size,
		   char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t size = 0;
	int rc;

	tokenizer_init(t);
	if (vocab_size < 0) {
		set_err(err, errlen, "bad vocabulary size %d for '%s'", vocab_size, path);
		return -EINVAL;
	}
	rc = read_file(path, &buf, &size, err, errlen);
	if (rc < 0)
		return rc;
	rc = -EINVAL;
	if (size < 4) {
		set_err(err, errlen, "truncated tokenizer '%s': %zu bytes, no header", path, size);
		goto out_free_buf;
	}
	int32_t max_len = get_i32(buf);
	if (max_len < 0) {
		set_err(err, errlen, "corrupt tokenizer '%s': max token length %d", path, (int)max_len);
		goto out_free_buf;
	}

	/* first pass: validate and count */
	size_t pos = 4, total = 0;
	int n = 0;
	while (vocab_size == 0 ? pos < size : n < vocab_size) {
		if (pos == size) {
			set_err(err, errlen, "tokenizer '%s' has %d tokens, fewer than the %d asked for",
				path, n, vocab_size);
			goto out_free_buf;
		}
		if (size - pos < 8) {
			set_err(err, errlen, "truncated tokenizer '%s': token %d cut short at byte %zu",
				path, n, pos);
			goto out_free_buf;
		}
		int32_t len = get_i32(buf + pos + 4);
		if (len < 0) {
			set_err(err, errlen, "corrupt tokenizer '%s': token %d has length %d",
				path, n, (int)len);
			goto out_free_buf;
		}
		if ((size_t)len > size - pos - 8) {
			set_err(err, errlen, "truncated tokenizer '%s': token %d needs %d bytes, %zu left",
				path, n, (int)len, size - pos - 8);
			goto out_free_buf;
		}
		if (len > max_len) {
			set_err(err, errlen, "corrupt tokenizer '%s': token %d is %d bytes, longer than "
				"the header's max token length %d", path, n, (int)len, (int)max_len);
			goto out_free_buf;
		}
		if (n == INT_MAX) {
			set_err(err, errlen, "tokenizer '%s' has too many tokens", path);
			goto out_free_buf;
		}
		pos += 8 + (size_t)len;
		total += (size_t)len;
		n++;
	}
	if (n < 3) {
		set_err(err, errlen, "tokenizer '%s' has %d tokens, fewer than the 3 special ones "
			"(<unk>, <s>, </s>)", path, n);
		goto out_free_buf;
	}

	/* second pass: copy */
	if (tokenizer_alloc(t, n, total) < 0)
		goto out_nomem;
	t->max_token_length = max_len;
	pos = 4;
	char *p = t->data;
	for (int i = 0; i < n; i++) {
		int32_t len = get_i32(buf + pos + 4);
		memcpy(&t->scores[i], buf + pos, 4);
		memcpy(p, buf + pos + 8, (size_t)len);
		p[len] = '\0';
		t->pieces[i] = p;
		t->lens[i] = len;
		p += len + 1;
		pos += 8 + (size_t)len;
	}
	if (tokenizer_index(t) < 0)
		goto out_nomem;
	free(buf);
	return 0;

out_nomem:
	set_err(err, errlen, "out of memory loading tokenizer '%s'", path);
	rc = -ENOMEM;
out_free_buf:
	tokenizer_release(t);
	free(buf);
	return rc;
}

int tokenizer_save(const struct tokenizer *t, const char *path, char *err, size_t errlen)
{
	int32_t max_len = t->max_token_length;
	int e = 0;
	for (int i = 0; i < t->vocab_size; i++)
		if (t->lens[i] > max_len)
			max_len = t->lens[i];

	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	if (!tmp) {
		set_err(err, errlen, "out of memory saving '%s'", path);
		return -ENOMEM;
	}
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		e = errno;
		set_err(err, errlen, "cannot create '%s': %s", tmp, strerror(e));
		free(tmp);
		return -e;
	}
	fchmod(fd, 0644);
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		e = errno;
		set_err(err, errlen, "cannot write '%s': %s", tmp, strerror(e));
		close(fd);
		goto out_unlink;
	}
	bool ok = fwrite(&max_len, 4, 1, f) == 1;
	for (int i = 0; ok && i < t->vocab_size; i++) {
		int32_t len = t->lens[i];
		ok = fwrite(&t->scores[i], 4, 1, f) == 1 && fwrite(&len, 4, 1, f) == 1 &&
		     (len == 0 || fwrite(t->pieces[i], (size_t)len, 1, f) == 1);
	}
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	e = errno;
	if (fclose(f) != 0 && ok) {
		ok = false;
		e = errno;
	}
	if (!ok) {
		set_err(err, errlen, "cannot write '%s': %s", tmp, strerror(e));
		goto out_unlink;
	}
	if (rename(tmp, path) < 0) {
		e = errno;
		set_err(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path, strerror(e));
		goto out_unlink;
	}
	/* make the rename itself durable */
	char *slash = strrchr(tmp, '/');
	if (slash) {
		*slash = '\0';
		int dfd = open(slash == tmp ? "/" : tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	} else {
		int dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	free(tmp);
	return 0;

out_unlink:
	unlink(tmp);
	free(tmp);
	return -(e ? e : EIO);
}

/* ---- encoding ------------------------------------------------------------ */

/* Bytes of the codepoint starting at s[0], grouped as llama2.c groups them:
 * the byte and up to 3 following continuation bytes. */
static size_t unit_len(const unsigned char *s, size_t avail)
{
	size_t n = 1;
	while (n < 4 && n < avail && (s[n] & 0xC0) == 0x80)
		n++;
	return n;
}

static int byte_id(const struct tokenizer *t, unsigned char b)
{
	int id = TOKENIZER_BYTE0 + b;
	return id < t->vocab_size ? id : TOKENIZER_UNK;
}

/* A possible merge of the adjacent nodes left, right (ids left_id, right_id)
 * into entry id of the given score. */
struct merge_cand {
	float score;
	int left, right;
	int left_id, right_id;
	int id;
};

/* Heap order: the higher score first, then the leftmost pair. */
static bool cand_before(const struct merge_cand *a, const struct merge_cand *b)
{
	return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(struct merge_cand *h, size_t *n, struct merge_cand c)
{
	size_t i = (*n)++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!cand_before(&c, &h[p]))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = c;
}

static struct merge_cand heap_pop(struct merge_cand *h, size_t *n)
{
	struct merge_cand top = h[0], last = h[--(*n)];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && cand_before(&h[c + 1], &h[c]))
			c++;
		if (!cand_before(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n > 0)
		h[i] = last;
	return top;
}

struct encode_state {
	const struct tokenizer *t;
	int *id, *next, *prev;       /* (nodes) the linked list of tokens */
	struct merge_cand *heap;     /* (2 * nodes): n - 1 pairs, then each merge pops 1, pushes <= 2 */
	size_t n_heap;
	char *buf;                   /* (2 * max_keylen + 1) concatenation scratch */
};

static void try_pair(struct encode_state *s, int left, int right)
{
	const struct tokenizer *t = s->t;
	int x = s->id[left], y = s->id[right];
	size_t lx = (size_t)t->keylens[x], ly = (size_t)t->keylens[y];
	memcpy(s->buf, t->pieces[x], lx);
	memcpy(s->buf + lx, t->pieces[y], ly);
	int m = tokenizer_lookup(t, s->buf, lx + ly);
	if (m < 0 || !(t->scores[m] > MERGE_FLOOR))
		return;
	struct merge_cand c = { t->scores[m], left, right, x, y, m };
	heap_push(s->heap, &s->n_heap, c);
}

int tokenizer_encode(const struct tokenizer *t, const char *text, bool bos, bool eos,
		     int *ids, size_t max_ids, size_t *n_ids)
{
	const unsigned char *u = (const unsigned char *)text;
	size_t len = strlen(text);
	if (t->vocab_size < 3 || !t->table)
		return -EINVAL; /* an empty (unloaded) tokenizer */
	if (len > (size_t)INT_MAX / 4)
		return -EOVERFLOW;
	size_t cap = len + 2; /* BOS, dummy prefix, at most one token per byte */
	struct encode_state s = { .t = t };
	s.id = malloc(cap * sizeof(int));
	s.next = malloc(cap * sizeof(int));
	s.prev = malloc(cap * sizeof(int));
	s.heap = malloc(2 * cap * sizeof(*s.heap));
	s.buf = malloc(2 * (size_t)t->max_keylen + 1);
	int rc = -ENOMEM;
	if (!s.id || !s.next || !s.prev || !s.heap || !s.buf)
		goto out_free;

	int n = 0;
	if (bos)
		s.id[n++] = TOKENIZER_BOS;
	if (len > 0) {
		int sp = tokenizer_lookup(t, " ", 1);
		s.id[n++] = sp >= 0 ? sp : byte_id(t, ' ');
	}
	for (size_t i = 0; i < len;) {
		size_t ul = unit_len(u + i, len - i);
		int m = tokenizer_lookup(t, text + i, ul);
		if (m >= 0)
			s.id[n++] = m;
		else
			for (size_t k = 0; k < ul; k++)
				s.id[n++] = byte_id(t, u[i + k]);
		i += ul;
	}
	for (int i = 0; i < n; i++) {
		s.next[i] = i + 1 < n ? i + 1 : -1;
		s.prev[i] = i - 1;
	}
	for (int i = 0; i + 1 < n; i++)
		try_pair(&s, i, i + 1);

	while (s.n_heap > 0) {
		struct merge_cand c = heap_pop(s.heap, &s.n_heap);
		/* stale: a side was merged since (removed nodes have id -1) */
		if (s.id[c.left] != c.left_id || s.next[c.left] != c.right ||
		    s.id[c.right] != c.right_id)
			continue;
		int nx = s.next[c.right];
		s.id[c.left] = c.id;
		s.id[c.right] = -1;
		s.next[c.left] = nx;
		if (nx >= 0)
			s.prev[nx] = c.left;
		if (s.prev[c.left] >= 0)
			try_pair(&s, s.prev[c.left], c.left);
		if (nx >= 0)
			try_pair(&s, c.left, nx);
	}

	/* node 0 is never removed: merges remove the right node */
	size_t count = eos ? 1 : 0;
	for (int i = n > 0 ? 0 : -1; i >= 0; i = s.next[i])
		count++;
	*n_ids = count;
	if (count > max_ids) {
		rc = -ENOSPC;
		goto out_free;
	}
	size_t k = 0;
	for (int i = n > 0 ? 0 : -1; i >= 0; i = s.next[i])
		ids[k++] = s.id[i];
	if (eos)
		ids[k++] = TOKENIZER_EOS;
	rc = 0;
out_free:
	free(s.id);
	free(s.next);
	free(s.prev);
	free(s.heap);
	free(s.buf);
	return rc;
}

/* ---- decoding ------------------------------------------------------------ */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

const char *tokenizer_piece(const struct tokenizer *t, int prev_id, int id, size_t *len)
{
	if (id < 0 || id >= t->vocab_size)
		return NULL;
	const char *p = t->pieces[id];
	size_t n = (size_t)t->keylens[id];
	if (prev_id == TOKENIZER_BOS && p[0] == ' ') {
		p++;
		n--;
	}
	if (n == 6 && p[0] == '<' && p[1] == '0' && p[2] == 'x' && p[5] == '>' &&
	    hex_digit(p[3]) >= 0 && hex_digit(p[4]) >= 0) {
		int b = hex_digit(p[3]) * 16 + hex_digit(p[4]);
		p = t->byte_pieces + 2 * b;
		n = 1;
	}
	if (len)
		*len = n;
	return p;
}

int tokenizer_decode(const struct tokenizer *t, int prev_id, const int *ids, size_t n,
		     char **out, size_t *out_len, char *err, size_t errlen)
{
	size_t total = 0, l;
	int prev = prev_id;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= t->vocab_size) {
			set_err(err, errlen, "token id %d out of range (vocabulary of %d)",
				ids[i], t->vocab_size);
			return -EINVAL;
		}
		if (ids[i] != TOKENIZER_BOS && ids[i] != TOKENIZER_EOS) {
			tokenizer_piece(t, prev, ids[i], &l);
			total += l;
		}
		prev = ids[i];
	}
	char *s = malloc(total + 1);
	if (!s) {
		set_err(err, errlen, "out of memory decoding %zu tokens", n);
		return -ENOMEM;
	}
	size_t k = 0;
	prev = prev_id;
	for (size_t i = 0; i < n; i++) {
		if (ids[i] != TOKENIZER_BOS && ids[i] != TOKENIZER_EOS) {
			const char *p = tokenizer_piece(t, prev, ids[i], &l);
			memcpy(s + k, p, l);
			k += l;
		}
		prev = ids[i];
	}
	s[k] = '\0';
	*out = s;
	if (out_len)
		*out_len = k;
	return 0;
}

/* ---- training ------------------------------------------------------------ */

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

/* uint64 -> int map; value -1 marks an empty slot. */
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
	return m->e[str_slot(m, hash_bytes(s, (size_t)len), s, len)].val;
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
	uint64_t h = hash_bytes(s, (size_t)len);
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

struct trainer {
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
};

static int cand_push(struct trainer *tr, struct pair_cand c)
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

static struct pair_cand cand_pop(struct trainer *tr)
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
static int pair_add(struct trainer *tr, int a, int b, long long delta, int w)
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

static int add_symbol(struct trainer *tr, const char *s, int len, int chars)
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
static int add_word(struct trainer *tr, const char *bytes, int len, const int *syms, int n)
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
static int rewrite_word(struct trainer *tr, int w, int a, int b, int c)
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
	       hex_digit(s[3]) >= 0 && hex_digit(s[4]) >= 0;
}

static void trainer_release(struct trainer *tr)
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
	*ulen = unit_len(*unit, end - it->pos);
	it->pos += *ulen;
	return true;
}

int tokenizer_train(struct tokenizer *out, const char *corpus, size_t len, int vocab_size,
		    tokenizer_progress_fn *progress, void *arg, char *err, size_t errlen)
{
	struct trainer tr = { 0 };
	struct u64map char_map = { 0 };   /* unit key -> index in chars, later symbol */
	struct train_char *chars = NULL;
	size_t n_chars = 0, cap_chars = 0;
	char *word_buf = NULL;
	int *word_syms = NULL;
	const char **pieces = NULL;
	float *scores = NULL;
	int *lens = NULL;
	int rc = -ENOMEM;

	tokenizer_init(out);
	if (vocab_size < TOKENIZER_N_BASE || vocab_size > (1 << 22)) {
		set_err(err, errlen, "vocabulary size %d out of range: at least %d (3 special and "
			"256 byte tokens), at most %d", vocab_size, TOKENIZER_N_BASE, 1 << 22);
		return -EINVAL;
	}
	int budget = vocab_size - TOKENIZER_N_BASE;

	/* 1. the alphabet: count every unit as the encoder will split the text */
	const unsigned char *unit;
	size_t ulen;
	struct unit_iter it;
	unit_iter_init(&it, corpus, len);
	while (unit_next(&it, &unit, &ulen)) {
		if (unit) {
			uint64_t k = unit_key(unit, ulen);
			int ci = u64map_get(&char_map, k);
			if (ci < 0) {
				if (grow(&chars, &cap_chars, n_chars + 1, sizeof(*chars)) < 0)
					goto out_nomem;
				ci = (int)n_chars++;
				chars[ci] = (struct train_char){ k, (int)ulen, 0 };
				if (u64map_put(&char_map, k, ci) < 0)
					goto out_nomem;
			}
			chars[ci].count++;
		}
	}
	if (n_chars > 1)
		qsort(chars, n_chars, sizeof(*chars), char_order);
	long long total_chars = 0;
	for (size_t i = 0; i < n_chars; i++) {
		unsigned char b[4];
		for (int j = 0; j < 4; j++)
			b[j] = (unsigned char)(chars[i].key >> (8 * j));
		if (utf8_char(b, (size_t)chars[i].len))
			total_chars += chars[i].count;
		else
			chars[i].count = -chars[i].count; /* never in the alphabet */
	}
	long long covered = 0;
	for (size_t i = 0; i < n_chars; i++) {
		struct train_char *c = &chars[i];
		bool take = c->count > 0 && (int)tr.n_syms < budget &&
			    (c->len == 1 || (c->count >= TRAIN_MIN_CHAR_COUNT &&
					     (double)covered < TRAIN_CHAR_COVERAGE * (double)total_chars));
		int sym = -1;
		if (take) {
			char *s = arena_alloc(&tr.arena, (size_t)c->len);
			if (!s)
				goto out_nomem;
			for (int j = 0; j < c->len; j++)
				s[j] = (char)(c->key >> (8 * j));
			sym = add_symbol(&tr, s, c->len, 1);
			if (sym < 0)
				goto out_nomem;
		}
		if (c->count > 0)
			covered += c->count;
		if (u64map_put(&char_map, c->key, sym) < 0)
			goto out_nomem;
	}
	int n_alpha = (int)tr.n_syms;

	/* 2. the words: a space starts one; a character outside the alphabet ends
	 * one (the encoder gives it byte tokens, which never merge) */
	word_buf = malloc(4 * TRAIN_MAX_WORD_UNITS);
	word_syms = malloc(TRAIN_MAX_WORD_UNITS * sizeof(int));
	if (!word_buf || !word_syms)
		goto out_nomem;
	int wlen = 0, wn = 0;
	unit_iter_init(&it, corpus, len);
	while (unit_next(&it, &unit, &ulen)) {
		int sym = unit ? u64map_get(&char_map, unit_key(unit, ulen)) : -1;
		if (!unit || sym < 0 || (ulen == 1 && unit[0] == ' ') || wn == TRAIN_MAX_WORD_UNITS) {
			if (add_word(&tr, word_buf, wlen, word_syms, wn) < 0)
				goto out_nomem;
			wlen = wn = 0;
		}
		if (unit && sym >= 0) {
			memcpy(word_buf + wlen, unit, ulen);
			wlen += (int)ulen;
			word_syms[wn++] = sym;
		}
	}

	/* 3. pair counts */
	for (size_t w = 0; w < tr.n_words; w++) {
		const int *s = tr.wsyms + tr.words[w].off;
		for (int i = 0; i + 1 < tr.words[w].n; i++)
			if (pair_add(&tr, s[i], s[i + 1], tr.words[w].count, (int)w) < 0)
				goto out_nomem;
	}
	for (size_t i = 0; i < tr.n_pairs; i++)
		if (tr.pairs[i].count >= TRAIN_MIN_PAIR_COUNT &&
		    cand_push(&tr, (struct pair_cand){ tr.pairs[i].count, tr.pairs[i].a,
						       tr.pairs[i].b }) < 0)
			goto out_nomem;

	/* 4. merges, most frequent pair first; merged[r] is the symbol of rank r */
	int *merged = NULL;
	size_t n_merged = 0, cap_merged = 0;
	if (progress)
		progress(arg, TOKENIZER_N_BASE + n_alpha, vocab_size);
	while (n_alpha + (int)n_merged < budget && tr.n_heap > 0) {
		struct pair_cand top = cand_pop(&tr);
		int pi = u64map_get(&tr.pair_map, (uint64_t)(uint32_t)top.a << 32 | (uint32_t)top.b);
		struct train_pair *p = &tr.pairs[pi];
		if (p->blocked)
			continue;
		if (p->count != top.count) {
			/* stale; a count that grew was pushed again when it grew */
			if (p->count < top.count && p->count >= TRAIN_MIN_PAIR_COUNT &&
			    cand_push(&tr, (struct pair_cand){ p->count, top.a, top.b }) < 0)
				goto out_nomem_merged;
			continue;
		}
		const struct train_sym *sa = &tr.syms[top.a], *sb = &tr.syms[top.b];
		int plen = sa->len + sb->len;
		char *ps = arena_alloc(&tr.arena, (size_t)plen);
		if (!ps)
			goto out_nomem_merged;
		memcpy(ps, sa->s, (size_t)sa->len);
		memcpy(ps + sa->len, sb->s, (size_t)sb->len);
		if (is_base_piece(ps, plen)) {
			p->blocked = true;
			continue;
		}
		int c = strmap_get(&tr.sym_map, ps, plen);
		if (c < 0) {
			/* a new piece (else the same string was built from another pair) */
			c = add_symbol(&tr, ps, plen, sa->chars + sb->chars);
			if (c < 0 || grow(&merged, &cap_merged, n_merged + 1, sizeof(int)) < 0)
				goto out_nomem_merged;
			merged[n_merged++] = c;
		}
		tr.step++;
		tr.n_touched = 0;
		int *ws = p->words, nw = p->n_words; /* not appended to in this step */
		int a = top.a, b = top.b;
		for (int i = 0; i < nw; i++) {
			int w = ws[i];
			if (tr.words[w].mark == tr.step)
				continue;
			tr.words[w].mark = tr.step;
			if (rewrite_word(&tr, w, a, b, c) < 0)
				goto out_nomem_merged;
		}
		for (size_t i = 0; i < tr.n_touched; i++) {
			struct train_pair *q = &tr.pairs[tr.touched[i]];
			if (q->count >= TRAIN_MIN_PAIR_COUNT && !q->blocked &&
			    cand_push(&tr, (struct pair_cand){ q->count, q->a, q->b }) < 0)
				goto out_nomem_merged;
		}
		if (progress && n_merged % TRAIN_PROGRESS_EVERY == 0)
			progress(arg, TOKENIZER_N_BASE + n_alpha + (int)n_merged, vocab_size);
	}

	/* 5. the vocabulary: base entries, merged pieces by rank, the alphabet */
	int n = TOKENIZER_N_BASE + (int)n_merged + n_alpha;
	pieces = malloc((size_t)n * sizeof(*pieces));
	scores = malloc((size_t)n * sizeof(*scores));
	lens = malloc((size_t)n * sizeof(*lens));
	char *bytes = arena_alloc(&tr.arena, 256 * 7);
	if (!pieces || !scores || !lens || !bytes)
		goto out_nomem_merged;
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
		scores[i] = MERGE_FLOOR;
	for (size_t r = 0; r < n_merged; r++) {
		int k = TOKENIZER_N_BASE + (int)r;
		pieces[k] = tr.syms[merged[r]].s;
		lens[k] = tr.syms[merged[r]].len;
		scores[k] = (float)-(long long)r;
	}
	for (int i = 0; i < n_alpha; i++) {
		int k = TOKENIZER_N_BASE + (int)n_merged + i;
		pieces[k] = tr.syms[i].s;
		lens[k] = tr.syms[i].len;
		scores[k] = (float)-(long long)(n_merged + (size_t)i);
	}
	rc = tokenizer_build(out, pieces, lens, scores, n, err, errlen);
	if (rc == 0 && progress)
		progress(arg, n, vocab_size);
	free(merged);
	goto out_free;

out_nomem_merged:
	free(merged);
out_nomem:
	set_err(err, errlen, "out of memory training a vocabulary of %d", vocab_size);
	rc = -ENOMEM;
out_free:
	free(pieces);
	free(scores);
	free(lens);
	free(word_buf);
	free(word_syms);
	free(chars);
	u64map_release(&char_map);
	trainer_release(&tr);
	return rc;
}
