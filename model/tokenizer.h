/*
 * model/tokenizer.h — the SentencePiece-style BPE tokenizer of llama2.c: read and
 * write its tokenizer.bin, encode text to token ids exactly as llama2.c's
 * encode() does, decode ids back to text (model/tokenizer.c), and train a
 * small vocabulary from a text corpus in the same format (model/bpe_train.c).
 *
 * tokenizer.bin (little-endian, as llama2.c writes it):
 *     int32 max_token_length
 *     then per token: float32 score, int32 byte length, the bytes (no NUL)
 * The file does not store the number of tokens: a model's vocab_size says how
 * many to read, or, with none, every entry up to the end of the file.
 *
 * Id layout (Llama 2, llama2.c, and what tokenizer_train writes):
 *     0 <unk>   1 <s> (BOS)   2 </s> (EOS)   3..258 byte tokens <0x00>..<0xFF>
 *     (byte b is id b + 3)   259.. pieces: spaces are part of pieces (" the"),
 *     a word carries its leading space, and encoding prepends one " " (the dummy
 *     prefix) to non-empty text.
 *
 * Encoding (llama2.c's encode, which reproduces SentencePiece BPE on Llama 2):
 * optional BOS; " " if the text is not empty; each UTF-8 codepoint as its token,
 * or, when the codepoint is not in the vocabulary, one byte token per byte; then,
 * repeatedly, the adjacent pair whose concatenated string is a vocabulary entry
 * with the highest score is merged (leftmost on ties; scores <= -1e10 never
 * merge); optional EOS.  Done here with a linked list, a heap and a hash map in
 * O(n log n) instead of llama2.c's O(n^2) rescans, with the same output.
 * Deviations from llama2.c, only where llama2.c would crash or read out of
 * bounds: a vocabulary without " " gets the dummy prefix as byte token <0x20>;
 * a byte token id beyond the vocabulary becomes <unk> (0).  When two entries
 * hold the same string (llama2.c's bsearch picks either) the lowest id wins.
 *
 * Ownership: struct tokenizer owns everything it points to; tokenizer_release
 * frees it.  Strings returned by tokenizer_piece are borrowed from the tokenizer
 * (valid until it is released); tokenizer_decode returns a new string the caller
 * frees with free().  A loaded tokenizer is read-only: any number of threads may
 * encode and decode with it at once (each call allocates its own scratch).
 *
 * Errors: functions return 0 or a negative errno value and, where they take
 * err/errlen, write a lowercase message there with the subject quoted.
 */
#ifndef RLHFD_MODEL_TOKENIZER_H
#define RLHFD_MODEL_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>

#define TOKENIZER_UNK 0
#define TOKENIZER_BOS 1
#define TOKENIZER_EOS 2
#define TOKENIZER_BYTE0 3       /* id of byte token <0x00>; byte b is b + 3 */
#define TOKENIZER_N_BASE 259    /* <unk>, <s>, </s> and the 256 byte tokens */

/* Enough room in ids[] for any encoding of a text of text_len bytes: one token
 * per byte at most, plus BOS, the dummy prefix and EOS. */
#define TOKENIZER_MAX_IDS(text_len) ((size_t)(text_len) + 3)

struct tokenizer {
	int vocab_size;
	int max_token_length;  /* as in the file header: longest piece in bytes */
	char **pieces;         /* (vocab_size) NUL-terminated, into data */
	int *lens;             /* (vocab_size) stored byte length of each piece */
	float *scores;         /* (vocab_size) */
	/* private */
	char *data;            /* every piece's bytes, each followed by a NUL */
	int *keylens;          /* (vocab_size) strlen(piece): llama2.c compares C strings */
	int max_keylen;
	int *table;            /* string -> id + 1, open addressing; 0 = empty */
	size_t table_mask;
	char byte_pieces[512]; /* byte b decodes to byte_pieces + 2b, NUL-terminated */
};

/* Progress of tokenizer_train: done of total vocabulary entries exist. */
typedef void tokenizer_progress_fn(void *arg, int done, int total);

/* Zeroes *t: an empty tokenizer that tokenizer_release accepts. */
void tokenizer_init(struct tokenizer *t);

/* Frees everything *t owns and leaves it empty (as after tokenizer_init); t
 * may be NULL. */
void tokenizer_release(struct tokenizer *t);

/*
 * Reads tokenizer.bin at path into *t (which must be empty or released).
 * vocab_size > 0 reads exactly that many entries (a model's vocab_size; extra
 * entries after them are ignored); 0 reads every entry up to the end of the
 * file.  A truncated or corrupt file, or one with fewer than 3 entries, is an
 * error (-EINVAL, or -errno from the system) and leaves *t empty.
 */
int tokenizer_load(struct tokenizer *t, const char *path, int vocab_size,
		   char *err, size_t errlen);

/*
 * Writes *t to path in the same format, atomically: a temporary file beside it,
 * fsync, rename.  The header is the loaded max_token_length (or the longest
 * piece, if longer), so a loaded file is written back byte for byte.
 */
int tokenizer_save(const struct tokenizer *t, const char *path, char *err, size_t errlen);

/*
 * Builds *t (empty) from n pieces, copied: pieces[i] of lens[i] bytes (lens
 * NULL: strlen), scored scores[i].  The id of pieces[i] is i.  n >= 3.
 */
int tokenizer_build(struct tokenizer *t, const char *const *pieces, const int *lens,
		    const float *scores, int n, char *err, size_t errlen);

/* The id of the entry whose string is s[0..len) (lowest id on duplicates), or -1. */
int tokenizer_lookup(const struct tokenizer *t, const char *s, size_t len);

/*
 * Encodes the NUL-terminated text into ids[0..*n_ids), with BOS first if bos
 * and EOS last if eos.  max_ids = TOKENIZER_MAX_IDS(strlen(text)) always
 * suffices; with less room and a longer result, returns -ENOSPC with *n_ids set
 * to the room needed and ids[] unspecified.  -ENOMEM when out of memory,
 * -EINVAL for an empty tokenizer.  Time O(n log n), memory about 60 bytes a
 * byte of text (about 2 MB/s on the Llama 2 vocabulary).
 */
int tokenizer_encode(const struct tokenizer *t, const char *text, bool bos, bool eos,
		     int *ids, size_t max_ids, size_t *n_ids);

/*
 * The text of token id when it follows token prev_id (llama2.c's decode):
 * after BOS (prev_id == 1) a leading space is dropped — it is the dummy
 * prefix; a byte token "<0xHH>" is that raw byte.  Borrowed string; *len (if
 * not NULL) is its length, which is 1 for the byte 0x00.  NULL for an id out
 * of range.  BOS and EOS give their stored strings ("\n<s>\n" in Llama 2).
 */
const char *tokenizer_piece(const struct tokenizer *t, int prev_id, int id, size_t *len);

/*
 * The text of ids[0..n): pieces joined by tokenizer_piece's rules, where
 * prev_id is the token before ids[0] — TOKENIZER_BOS for the start of a text
 * (its dummy-prefix space is dropped, so decoding an encoding gives the text
 * back), or the last prompt token for a continuation.  BOS and EOS ids produce
 * no text (but a BOS still drops the next piece's leading space).  *out is a
 * new NUL-terminated string (free()) of *out_len bytes (out_len may be NULL;
 * the text may hold a 0x00 byte).  -EINVAL on an id out of range.
 */
int tokenizer_decode(const struct tokenizer *t, int prev_id, const int *ids, size_t n,
		     char **out, size_t *out_len, char *err, size_t errlen);

/*
 * Trains a BPE vocabulary of at most vocab_size entries (>= 259) from
 * corpus[0..len) into *out (empty).  The corpus is read as the encoder will
 * see text: a series of texts separated by blank lines, each with the
 * dummy-prefix space in front; words start at each space, so they carry their
 * leading space; a line break inside a text is a byte token (the first word
 * of a later line has no space).  The alphabet is every ASCII character of
 * the corpus and its frequent multi-byte UTF-8 characters (SentencePiece's
 * 99.95% character coverage); other characters stay byte tokens.  Pairs are
 * merged most frequent first (ties: lower symbol ids) while a pair occurs at
 * least twice and the piece stays within 16 characters.  Layout: ids 0..258
 * as above (scored -1e10, so no merge of text ever produces them), then the
 * merged pieces in merge order with score -rank (so the encoder replays the
 * merges), then the alphabet by frequency.  The result holds fewer than
 * vocab_size entries when the corpus runs out of pairs (out->vocab_size says).
 * Deterministic.  progress (may be NULL) is called now and then with arg.
 */
int tokenizer_train(struct tokenizer *out, const char *corpus, size_t len, int vocab_size,
		    tokenizer_progress_fn *progress, void *arg, char *err, size_t errlen);

#endif
