/*
 * server/worker/gen.h — answers from a checkpoint on disk, outside the database: K
 * sampled responses to one prompt from one batched model/infer.h call, with the
 * same prompt and answer-text rules as the worker's generate job
 * (server/worker/job_generate.c, which writes the groups raters see; `rlhfd demo
 * init` runs that job).  `rlhfd demo eval` measures a model with this, offline
 * and without a data directory.  No SQL, no HTTP.
 *
 * A prompt goes to the model as BOS + the template with {prompt} replaced
 * ("User: {prompt}\nAssistant:" in the demo) — or raw, BOS + prompt, to see
 * what a base model does with a bare question.  A conversation prompt goes
 * through the template turn by turn (model/lmdata.h: lmdata_format_chat).
 * gen_prompt_tokens is the one place a prompt becomes tokens: generation, the
 * training jobs, the score job and eval all call it.  The answer is the sampled text
 * after it with the one leading space removed (demo_world.h) and trailing
 * white space trimmed; the EOS (or BOS: a base model's next document) that
 * ended it is not part of the text.
 *
 * Seeding: answer j of gen_answers(.., seed, ..) is RNG stream j of seed
 * (model/infer.h), so the same model, prompt and seed give the same answers.
 *
 * Ownership: struct gen_model owns its parameters, tokenizer and buffers;
 * gen_answer texts are new strings freed by gen_answers_release.  One
 * gen_model is used by one thread at a time.
 */
#ifndef RLHFD_SERVER_GEN_H
#define RLHFD_SERVER_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/infer.h"
#include "model/llama.h"
#include "model/tokenizer.h"

#define GEN_MAX_K 16
/* prompts one gen_answers_batch call takes at most (fewer when their KV
 * caches would pass INFER_BATCH_BYTES: gen_model.batch) */
#define GEN_BATCH_PROMPTS 32
#define GEN_DEFAULT_TEMPLATE "User: {prompt}\nAssistant:"

struct gen_model {
	struct llama_config cfg;
	float *params;          /* (llama_params_count) owned */
	struct tokenizer tk;
	struct infer inf;       /* for up to max_k sequences of batch prompts */
	int max_k;              /* answers per prompt */
	int batch;              /* prompts per gen_answers_batch call */
	char *template;         /* owned; from the sidecar metadata, else the default */
	char *system_template;  /* owned; sidecar "system_template", NULL = lmdata's */
	char *kind;             /* owned; sidecar "kind", NULL when absent */
	int *tokens;            /* (batch * max_k, seq_len) scratch */
	int *n_tokens;          /* (batch * max_k) */
	float *logprobs;        /* (batch * max_k, seq_len) */
};

/*
 * Loads a checkpoint (llama2.c v0/v1 + optional sidecar) and its tokenizer for
 * up to max_k answers per call.  tokenizer_path NULL = the sidecar's
 * "tokenizer" (relative to the checkpoint's directory), else "tokenizer.bin"
 * beside the checkpoint.  Returns 0, or -1 with a lowercase message in err.
 */
int gen_model_load(struct gen_model *g, const char *model_path, const char *tokenizer_path,
		   int max_k, char *err, size_t errlen);
void gen_model_release(struct gen_model *g);

struct gen_params {
	int k;              /* answers, 1..max_k (4) */
	float temperature;  /* (1.0; 0 = greedy) */
	float top_p;        /* (0.95; >= 1 = off) */
	int top_k;          /* (0 = off) */
	int max_tokens;     /* new tokens per answer at most (96; clipped to the context) */
	uint64_t seed;      /* (0) */
	bool raw;           /* BOS + prompt, no template (false) */
};
void gen_params_default(struct gen_params *p);

struct gen_answer {
	char *text;         /* owned */
	int n_tokens;       /* tokens generated, the EOS included */
	bool finished;      /* ended with EOS or BOS (else ran into max_tokens or the
			       context) */
	float logprob;      /* sum of the tokens' log-probabilities (temperature 1) */
};

/*
 * BOS + a prompt as the model reads it, tokenized: tmpl applied to the plain
 * prompt text, or, when messages is not NULL, to the whole conversation it
 * holds (JSON array text of {"role": "system"|"user"|"assistant", "content"},
 * as POST /api/prompts checked it; migrations/0013_conversations.sql) through
 * lmdata_format_chat with sys_tmpl.  *ids is a new array of *n tokens with
 * room for one more.  Returns 0, -ENOMEM, -EINVAL (messages unreadable), or
 * the tokenizer's error.
 */
int gen_prompt_tokens(const struct tokenizer *tk, const char *tmpl, const char *sys_tmpl,
		      const char *prompt, const char *messages, int **ids, size_t *n);

/*
 * p->k answers to prompt (messages: its conversation, NULL for a plain
 * prompt; see gen_prompt_tokens) into out[0..k).  Returns 0, or -1 with err
 * set (the prompt leaves no room in the context, bad k); out is then
 * untouched.
 */
int gen_answers(struct gen_model *g, const char *prompt, const char *messages,
		const struct gen_params *p, struct gen_answer *out, char *err, size_t errlen);

/*
 * p->k answers to each of n prompts (1 <= n <= g->batch; messages NULL or
 * one per prompt, each NULL for a plain prompt) from one batched inference
 * call (model/infer.h infer_generate_batch), answer j of prompt i into
 * out[i * k + j], drawn with seeds[i] as gen_answers draws with p->seed =
 * seeds[i] (p->seed is not read) — the same answers as n gen_answers calls,
 * token for token while a step has at most INFER_FEW_ROWS live sequences.
 * Returns 0, or -1 with err set and *bad the index of the prompt at fault
 * (-1: none); out is then untouched.
 */
int gen_answers_batch(struct gen_model *g, const char *const *prompts,
		      const char *const *messages, const uint64_t *seeds, int n,
		      const struct gen_params *p, struct gen_answer *out, int *bad, char *err,
		      size_t errlen);
void gen_answers_release(struct gen_answer *a, int k);

#endif
