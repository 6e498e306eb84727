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

#include <stddef.h>

#include "model/tokenizer.h"

/* The template with "{prompt}" replaced by prompt (appended when the template
 * has no "{prompt}"): a new string, NULL when out of memory.  With the demo
 * template "User: {prompt}\nAssistant:" the model is asked to continue after
 * "Assistant:". */
char *lmdata_format_prompt(const char *tmpl, const char *prompt);

/*
 * Encodes a corpus of texts separated by blank lines (as tokenizer_train reads
 * one), each as BOS text EOS (line breaks at its end dropped), into one new
 * stream *ids of *n tokens.
 * Returns 0 or -ENOMEM.
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

#endif
