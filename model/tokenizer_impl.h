/*
 * model/tokenizer_impl.h — what the tokenizer's two files share: the encoder
 * and file format (model/tokenizer.c) and BPE training (model/bpe_train.c).
 * Not a public interface: callers include model/tokenizer.h.
 */
#ifndef RLHFD_MODEL_TOKENIZER_IMPL_H
#define RLHFD_MODEL_TOKENIZER_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* llama2.c starts its search for the best merge at best_score = -1e10 and keeps
 * a pair only if its score is strictly higher: entries scored at or below this
 * floor (or NaN) are never produced by a merge. */
#define TOKENIZER_MERGE_FLOOR (-1e10f)

/* Writes the message to err (size errlen; err may be NULL). */
void tokenizer_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* FNV-1a, then a final mix so the low bits (the table index) depend on all. */
static inline uint64_t tokenizer_hash_bytes(const void *p, size_t n)
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

/* Bytes of the codepoint starting at s[0], grouped as llama2.c groups them:
 * the byte and up to 3 following continuation bytes. */
static inline size_t tokenizer_unit_len(const unsigned char *s, size_t avail)
{
	size_t n = 1;
	while (n < 4 && n < avail && (s[n] & 0xC0) == 0x80)
		n++;
	return n;
}

/* The value of hex digit c, or -1. */
static inline int tokenizer_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

#endif
