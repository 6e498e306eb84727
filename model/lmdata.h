/*
 * model/lmdata.h — token rows for language-model training: a text corpus as
 * one token stream (pre-training), and (prompt, response) pairs through a
 * prompt template as rows whose loss counts the response only (SFT: the
 * response tokens and the EOS that ends it).
 *
 * A row is what llama_lm_forward_backward takes: T input tokens, T targets
 * (the inputs shifted by one; -1 = no target) and T weights.
 *
 * Ownership: functions returning a pointer return a new allocation the caller
 * frees with free().  The tokenizer is borrowed.  Errors are negative errno
 * values (-ENOMEM, -EINVAL).
 */
#ifndef RLHFD_MODEL_LMDATA_H
#define RLHFD_MODEL_LMDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/tokenizer.h"

/* The template with "{prompt}" replaced by prompt (appended when the template
 * has no "{prompt}"): a new string, NULL when out of memory.  With the demo
 * template "User: {prompt}\nAssistant:" the model is asked to continue after
 * "Assistant:". */
char *lmdata_format_prompt(const char *tmpl, const char *prompt);

/* ---- conversations ------------------------------------------------------------ */

enum lmdata_role { LMDATA_SYSTEM, LMDATA_USER, LMDATA_ASSISTANT };

struct lmdata_msg {
	enum lmdata_role role;
	const char *content;   /* borrowed */
};

/* How a system message is written when the model's metadata names no
 * "system_template": its own line before the first turn. */
#define LMDATA_SYSTEM_TEMPLATE "System: {system}\n"

/*
 * A conversation as the model reads it, the single-turn template extended
 * turn by turn (a new string, NULL when out of memory):
 *   system:    sys_tmpl (NULL = LMDATA_SYSTEM_TEMPLATE) with "{system}"
 *              replaced by the content (appended when it has none);
 *   user:      tmpl with "{prompt}" replaced, as lmdata_format_prompt;
 *   assistant: " " + content + "\n" — the answer as SFT writes it after the
 *              template (lmdata_sft_row's " " + response), then the line break
 *              that starts the next turn.
 * So with the demo template, [system S, user U1, assistant A1, user U2] is
 * "System: S\nUser: U1\nAssistant: A1\nUser: U2\nAssistant:", and one user
 * message is exactly lmdata_format_prompt's text.  The order is the caller's
 * to check (server/worker/gen.c: gen_prompt_tokens takes a checked list).
 */
char *lmdata_format_chat(const char *tmpl, const char *sys_tmpl, const struct lmdata_msg *m,
			 int n);

/* ---- a corpus: texts separated by blank lines ----------------------------------- */

/*
 * The texts of a corpus (as tokenizer_train reads one, as pre-training and
 * the ptx replay of `best` read one), in order.  A text runs from its first
 * character that is not a line break to the next blank line ("\n\n"), less
 * the line breaks that end it: runs of blank lines separate texts and make
 * no empty one.  The cursor borrows the corpus; texts point into it.
 */
struct lmdata_texts {
	const char *p;   /* borrowed: the first character not yet read */
};

void lmdata_texts_init(struct lmdata_texts *it, const char *corpus);

/* The next text into *text (borrowed, not NUL-terminated) and *len (> 0);
 * false at the end of the corpus. */
bool lmdata_texts_next(struct lmdata_texts *it, const char **text, size_t *len);

/* How many texts lmdata_texts_next gives for corpus. */
size_t lmdata_texts_count(const char *corpus);

/* Whether text r of n is among want (<= n) spread evenly over them: r is
 * taken when the multiples of n / want step past it, so exactly want of
 * r = 0 .. n-1 are, the last of them r = n-1. */
bool lmdata_texts_spread(size_t r, size_t want, size_t n);

/*
 * Encodes every text of a corpus, each as BOS text EOS, into one new stream
 * *ids of *n tokens.  Returns 0 or -ENOMEM.
 */
int lmdata_text_stream(const struct tokenizer *tk, const char *corpus, int **ids, size_t *n);

/*
 * One SFT row: the example BOS + format(tmpl, prompt) + " " + response + EOS,
 * cut to T+1 tokens, as tokens (T) and targets (T) (padding: token 0, target
 * -1) with weights (T) = 1 on the targets that are response tokens or the EOS,
 * 0 elsewhere.  The response starts where the encoding of the whole example
 * leaves that of the prompt alone (BPE may merge across the boundary; the
 * merged token counts as response).  Returns the number of weighted targets
 * (> 0), 0 when no response token fits in the row, or a negative errno.
 */
int lmdata_sft_row(const struct tokenizer *tk, const char *tmpl, const char *prompt,
		   const char *response, int T, int *tokens, int *targets, float *weights);

/* ---- a training set, tokenized once ---------------------------------------- */

/*
 * The data of one training run, as rows of T inputs, T targets and T weights:
 *   text: one stream (lmdata_text_stream); a batch row is a random window of
 *         T+1 tokens, every target weighted 1;
 *   sft:  one lmdata_sft_row per (prompt, response) pair, and optionally rows
 *         of plain text replayed from pre-training (lmdata_set_add_text_row);
 *         a batch row is one row drawn at random.
 * A set is one or the other, decided by the first call that fills it.
 */
struct lmdata_set {
	int T;           /* tokens per row */
	bool sft;
	int *stream;     /* text: (n_stream) */
	size_t n_stream;
	int *rows;       /* sft: (n_rows, T) input tokens */
	int *tgts;       /* sft: (n_rows, T) targets, -1 = none */
	float *wts;      /* sft: (n_rows, T) weight of each target */
	size_t n_rows, cap_rows;
	size_t skipped;  /* sft pairs dropped (no response token fits in a row) */
	size_t n_target; /* tokens with weight */
};

/* An empty set of rows of T tokens (no allocation). */
void lmdata_set_init(struct lmdata_set *d, int T);
/* Frees what d owns; d is empty again (same T).  d may be NULL. */
void lmdata_set_release(struct lmdata_set *d);

/* Fills an empty set with a text corpus (lmdata_text_stream).  0 or -ENOMEM. */
int lmdata_set_text(struct lmdata_set *d, const struct tokenizer *tk, const char *corpus);

/* Adds one SFT row (lmdata_sft_row).  Returns 1 when added, 0 when skipped
 * (no response token fits: d->skipped counts it), or a negative errno. */
int lmdata_set_add_sft(struct lmdata_set *d, const struct tokenizer *tk, const char *tmpl,
		       const char *prompt, const char *response);

/* Adds one row of plain text to an SFT set (replay of pre-training data
 * during instruction tuning): BOS text EOS cut to T+1 tokens, every target
 * weighted weight (> 0).  Returns 1 when added, 0 when skipped (the text is
 * empty), or a negative errno. */
int lmdata_set_add_text_row(struct lmdata_set *d, const struct tokenizer *tk, const char *text,
			    float weight);

/* True when the set holds at least one full row (text: T+1 tokens). */
bool lmdata_set_usable(const struct lmdata_set *d);

/* The batch RNG: seeds a state from a seed; lmdata_rand advances it. */
static inline uint64_t lmdata_rng_seed(uint64_t seed)
{
	return seed * 0x9E3779B97F4A7C15ull + 12345;
}
uint64_t lmdata_rand(uint64_t *state);

/* Fills one micro-batch of B rows drawn with *rng: tokens, targets and weights,
 * each (B, T).  The set must be usable. */
void lmdata_set_batch(const struct lmdata_set *d, int B, uint64_t *rng, int *tokens,
		      int *targets, float *weights);

#endif
