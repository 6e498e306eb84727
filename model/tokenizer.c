/*
 * model/tokenizer.c — llama2.c's tokenizer.bin: load/save, the BPE encoder
 * (llama2.c's encode, made O(n log n)) and decoding.  The contract is in
 * tokenizer.h; BPE training is in model/bpe_train.c.
 */
#include "model/tokenizer.h"
#include "model/tokenizer_impl.h"

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

/* Files larger than this are not tokenizers (Llama 2's is 434 KB). */
#define TOKENIZER_MAX_FILE (1u << 30)

void tokenizer_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void tokenizer_init(struct tokenizer *t)
{
	memset(t, 0, sizeof(*t));
}

void tokenizer_release(struct tokenizer *t)
{
	if (!t)
		return;
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
		size_t h = tokenizer_hash_bytes(t->pieces[i], kl) & t->table_mask;
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
	size_t h = tokenizer_hash_bytes(s, len) & t->table_mask;
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
		tokenizer_set_err(err, errlen, "a vocabulary needs at least 3 entries, not %d", n);
		return -EINVAL;
	}
	size_t total = 0;
	int maxlen = 0;
	for (int i = 0; i < n; i++) {
		int l = lens ? lens[i] : (int)strlen(pieces[i]);
		if (l < 0) {
			tokenizer_set_err(err, errlen, "piece %d has length %d", i, l);
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
	tokenizer_set_err(err, errlen, "out of memory building a vocabulary of %d entries", n);
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
		tokenizer_set_err(err, errlen, "cannot open '%s': %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		tokenizer_set_err(err, errlen, "cannot read '%s': %s", path, strerror(e));
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		tokenizer_set_err(err, errlen, "cannot read '%s': not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > TOKENIZER_MAX_FILE) {
		tokenizer_set_err(err, errlen, "tokenizer '%s' is too large (%lld bytes)", path,
			(long long)st.st_size);
		close(fd);
		return -EFBIG;
	}
	size_t n = (size_t)st.st_size, got = 0;
	unsigned char *buf = malloc(n + 1);
	if (!buf) {
		tokenizer_set_err(err, errlen, "out of memory reading '%s'", path);
		close(fd);
		return -ENOMEM;
	}
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			tokenizer_set_err(err, errlen, "cannot read '%s': %s", path,
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
		tokenizer_set_err(err, errlen, "bad vocabulary size %d for '%s'", vocab_size, path);
		return -EINVAL;
	}
	rc = read_file(path, &buf, &size, err, errlen);
	if (rc < 0)
		return rc;
	rc = -EINVAL;
	if (size < 4) {
		tokenizer_set_err(err, errlen, "truncated tokenizer '%s': %zu bytes, no header", path, size);
		goto out_free_buf;
	}
	int32_t max_len = get_i32(buf);
	if (max_len < 0) {
		tokenizer_set_err(err, errlen, "corrupt tokenizer '%s': max token length %d", path, (int)max_len);
		goto out_free_buf;
	}

	/* first pass: validate and count */
	size_t pos = 4, total = 0;
	int n = 0;
	while (vocab_size == 0 ? pos < size : n < vocab_size) {
		if (pos == size) {
			tokenizer_set_err(err, errlen, "tokenizer '%s' has %d tokens, fewer than the %d asked for",
				path, n, vocab_size);
			goto out_free_buf;
		}
		if (size - pos < 8) {
			tokenizer_set_err(err, errlen, "truncated tokenizer '%s': token %d cut short at byte %zu",
				path, n, pos);
			goto out_free_buf;
		}
		int32_t len = get_i32(buf + pos + 4);
		if (len < 0) {
			tokenizer_set_err(err, errlen, "corrupt tokenizer '%s': token %d has length %d",
				path, n, (int)len);
			goto out_free_buf;
		}
		if ((size_t)len > size - pos - 8) {
			tokenizer_set_err(err, errlen, "truncated tokenizer '%s': token %d needs %d bytes, %zu left",
				path, n, (int)len, size - pos - 8);
			goto out_free_buf;
		}
		if (len > max_len) {
			tokenizer_set_err(err, errlen, "corrupt tokenizer '%s': token %d is %d bytes, longer than "
				"the header's max token length %d", path, n, (int)len, (int)max_len);
			goto out_free_buf;
		}
		if (n == INT_MAX) {
			tokenizer_set_err(err, errlen, "tokenizer '%s' has too many tokens", path);
			goto out_free_buf;
		}
		pos += 8 + (size_t)len;
		total += (size_t)len;
		n++;
	}
	if (n < 3) {
		tokenizer_set_err(err, errlen, "tokenizer '%s' has %d tokens, fewer than the 3 special ones "
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
	tokenizer_set_err(err, errlen, "out of memory loading tokenizer '%s'", path);
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
		tokenizer_set_err(err, errlen, "out of memory saving '%s'", path);
		return -ENOMEM;
	}
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		e = errno;
		tokenizer_set_err(err, errlen, "cannot create '%s': %s", tmp, strerror(e));
		free(tmp);
		return -e;
	}
	fchmod(fd, 0644);
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		e = errno;
		tokenizer_set_err(err, errlen, "cannot write '%s': %s", tmp, strerror(e));
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
		tokenizer_set_err(err, errlen, "cannot write '%s': %s", tmp, strerror(e));
		goto out_unlink;
	}
	if (rename(tmp, path) < 0) {
		e = errno;
		tokenizer_set_err(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path, strerror(e));
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
	if (m < 0 || !(t->scores[m] > TOKENIZER_MERGE_FLOOR))
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
		size_t ul = tokenizer_unit_len(u + i, len - i);
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
	    tokenizer_hex_digit(p[3]) >= 0 && tokenizer_hex_digit(p[4]) >= 0) {
		int b = tokenizer_hex_digit(p[3]) * 16 + tokenizer_hex_digit(p[4]);
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
			tokenizer_set_err(err, errlen, "token id %d out of range (vocabulary of %d)",
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
		tokenizer_set_err(err, errlen, "out of memory decoding %zu tokens", n);
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
