/*
 * model/trainer.h — the training procedures the background worker runs:
 * instruction tuning (SFT), the reward model, PPO, the group-baseline methods
 * RLOO and GRPO, DPO, and evaluation of a policy on held-out prompts
 * (DESIGN.md, "Training").
 *
 * Each procedure is synchronous: it runs on the caller's thread, trains the
 * models it is given in place (their params), and reports through hooks —
 * progress, per-step metrics, a log line now and then — and polls a
 * cancellation predicate between optimizer steps.  Nothing here reads or writes
 * files, SQL or JSON: the worker tokenizes, loads checkpoints, makes the models
 * (llama_model_init) and stores what comes back.
 *
 * Models and buffers:
 *  - policy: a language model with gradients; ref: a frozen language model
 *    (LLAMA_NO_GRADS is enough) of the same vocabulary; rm and value: models
 *    made with LLAMA_NO_LM (value with gradients, rm may be LLAMA_NO_GRADS
 *    except in trainer_reward).  All are borrowed.
 *  - Batches larger than a model's max_B are split into micro-batches whose
 *    gradients accumulate; sequences longer than a model's max_T are cut to it
 *    (logged once).  Rows are padded to the longest sequence of a micro-batch.
 *  - The optimizer state (AdamW moments) lives for one call: every procedure
 *    starts from fresh moments.
 *  - Memory is allocated once per call (workspace, a struct infer for
 *    sampling), never inside the training loop.
 *  - Threads: the caller sets them once (threads_set) on its own thread.
 *
 * Token positions: a sequence of n tokens s[0..n-1] (BOS + formatted prompt,
 * then the response) runs through the model as one row; position t predicts
 * s[t+1], so response token j (prompt_len <= j < n) is scored at position j-1,
 * a value model's V(state before token j) is its value at position j-1, and a
 * reward model's score of the sequence is its value at position n-1 (the last
 * token, the EOS when the response ended).
 *
 * Errors (model/llama.h, "Errors"): every function here that can fail returns
 * 0 or a negative errno (-EINVAL bad input, -ENOMEM, -ECANCELED when
 * hooks->cancelled said so) with a lowercase message in err (size errlen; err
 * may be NULL).  On error or cancellation the models keep whatever updates
 * were made so far: the worker discards them.
 */
#ifndef RLHFD_MODEL_TRAINER_H
#define RLHFD_MODEL_TRAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/llama.h"
#include "model/tokenizer.h"

/* ---- shared types (the contract) ------------------------------------------ */

struct trainer_hooks {                     /* any member may be NULL */
	void *arg;
	void (*progress)(void *arg, float frac);                    /* 0..1, monotone */
	void (*metric)(void *arg, int step, const char *name, float value); /* per step */
	bool (*cancelled)(void *arg);          /* polled between steps; true => return -ECANCELED */
	void (*log)(void *arg, const char *line);
};

/* One tokenized example: prompt (BOS + template-formatted prompt) then response
 * tokens; `ended` says whether the response ended with EOS (the EOS id is then the
 * last token).  Loss/credit goes to tokens[prompt_len .. n-1].  Borrowed. */
struct trainer_seq { const int *tokens; int n; int prompt_len; bool ended; };

/* One rated generation group: K responses to the same prompt with their mean
 * human scores (NAN = unrated), which prompt that is, and whether the group is
 * held out from reward-model training. */
struct trainer_group {
	const struct trainer_seq *seqs; /* (k) */
	const float *scores;     /* (k) mean 1..5 human scores; NAN = unrated */
	int k;
	int prompt;              /* the caller's id of the group's prompt: groups
				    with equal ids answer the same prompt */
	bool heldout;            /* set by the caller (trainer_reward_split): never
				    trained on, only measured */
	bool order_only;         /* scores are levels of one rater's ranking or
				    preference: they make the pairs (and their
				    margins), not the pointwise term, the score
				    standardisation or the RMSE */
	bool seen;               /* a warm start's previous reward model trained
				    on it (its ratings are all older): with
				    replay > 0 an epoch takes only a sample of
				    these (trainer_reward_params.replay) */
};

/* A preference pair (DPO): same prompt, chosen scored higher than rejected. */
struct trainer_pair { struct trainer_seq chosen, rejected; };

/* A prompt for on-policy RL / eval: BOS + template-formatted prompt tokens. */
struct trainer_prompt { const int *tokens; int n; };

/*
 * Every params struct below starts with the same optimizer fields (AdamW,
 * model/adamw.h): lr (peak), min_lr (end of the cosine, absolute; == lr means
 * constant), warmup_frac (linear warmup over that fraction of the call's
 * optimizer steps), weight_decay (decoupled, matrices only), grad_clip (global
 * L2 norm bound, <= 0 = off).  The AdamW moments start fresh in every call.
 */

/* ---- SFT ------------------------------------------------------------------- */

struct trainer_sft_params {
	float lr;                /* peak learning rate (5e-4) */
	float min_lr;            /* (5e-5) */
	float warmup_frac;       /* (0.05) */
	float weight_decay;      /* (0.0) */
	float grad_clip;         /* (1.0) */
	int epochs;              /* passes over the data (3) */
	int batch_size;          /* sequences per optimizer step (16); above the
				    model's max_B it accumulates micro-batches */
	int max_steps;           /* stop after this many steps, 0 = no cap (0) */
	uint64_t seed;           /* shuffling (1) */
};
void trainer_sft_defaults(struct trainer_sft_params *p);

struct trainer_sft_result {
	int steps;               /* optimizer steps taken */
	float loss;              /* mean loss per token of the last epoch (the
				    steps since its start) */
	float loss_first;        /* loss of the first step */
	long long tokens;        /* weighted (response) tokens seen */
};

/*
 * Cross-entropy on the response tokens (and the EOS that ends them) of seqs
 * (n, borrowed), the prompt tokens unweighted; each step's loss is the mean
 * over its weighted tokens.  Sequences without a response token are skipped;
 * none left is -EINVAL.  metrics per step: loss, lr, grad_norm, tokens_per_sec.
 */
int trainer_sft(struct llama_model *policy, const struct trainer_seq *seqs, int n,
		const struct trainer_sft_params *p, const struct trainer_hooks *hooks,
		struct trainer_sft_result *res, char *err, size_t errlen);

/* ---- reward model ---------------------------------------------------------- */

/*
 * A reward model's likelihood prior.  A small reward model trained on a few
 * hundred ratings learns the answers to the prompts it was trained on, not
 * what makes an answer good on a prompt it has not seen; the reference
 * policy's own likelihood of an answer does carry over (an answer that names
 * the wrong country or the wrong number has a token the reference found
 * unlikely).  So a reward model's score is its network's score plus
 *
 *     prior(x, y) = b + sum_i w[i] * (f_i(x, y) - mu[i]) / sd[i]
 *
 * with f computed from a frozen language model, the reference the policy is
 * trained against: the (mean, min) over the answer's tokens (EOS included) of
 * its log-probs after the prompt, the (mean, min) of the same log-probs minus
 * those after an empty prompt (`uncond`), and the log of the answer's length
 * in tokens — each log-prob floored at TRAINER_PRIOR_FLOOR.  The difference is
 * the pointwise mutual information of answer and prompt: the likelihood says
 * whether an answer is fluent and agrees with what the reference knows, the
 * PMI whether it answers *this* prompt (a fluent, true answer to another
 * question — "The opposite of sell is buy." for the opposite of fast — is
 * likely whatever the prompt, so its PMI is near 0).  On the final ratings of
 * three demo learning runs, 8 random 20 % prompt splits each, held-out
 * pairwise accuracy rose from 0.648 for (mean, min) to 0.698 with the PMI
 * terms and the length (+0.050, standard error 0.006).  Two more came later:
 * the PMI's sum over the answer (its whole PMI: the mean dilutes the few
 * tokens where a long answer turns to another topic) and rep-4, the share of
 * the answer's 4-grams of tokens that repeat another (a list that names an
 * item twice; the reference finds a repeat likely).  On the final ratings of
 * six kept learning runs, 10 random 20 % prompt splits each, they raised
 * held-out pairwise accuracy from 0.684 to 0.695 (+0.012, standard error
 * 0.003; rep-4 alone +0.005, the sum alone +0.009); fresh reward jobs on three
 * of those runs' ratings, three splits each, gained +0.005 (-0.014 to +0.027).
 * Contrasts with three other prompts in place of the empty one, the first 8
 * tokens' PMI, the share of unlikely tokens or quadratic terms gained nothing
 * beyond those (the same splits).  The last feature is not the likelihood's:
 * the prompt overlap (trainer_prior_overlap), the idf-weighted share of the
 * prompt's words the answer takes up — whether a list or a step-by-step
 * answer is about what was asked, which the likelihood hardly says.  On the
 * same six runs' ratings and splits it raised held-out pairwise accuracy
 * 0.695 -> 0.731 (+0.036, standard error 0.004; words, not tokens: the demo's
 * small vocabulary splits a name into pieces other words share), and fresh
 * reward jobs in C on three of those runs, three splits each, by +0.036
 * (-0.004 to +0.089; the token version +0.019); in make bench-loop over nine
 * new seeds the latest reward model rose 0.689 -> 0.720 (paired +0.030
 * [+0.009, +0.052]), the policy's rises unchanged.  trainer_reward fits w
 * and b to the ratings first (the prior alone, a convex fit), then trains the
 * network on what the prior leaves; both are in the model's score from then
 * on.  When the ratings do not follow likelihood, w comes out near 0 and the
 * prior says nothing.
 *
 * What the network adds does not carry over: on prompts it never trained on
 * it measured no better than chance and made the prior worse (demo world,
 * 0.66 held-out pairwise accuracy for the prior alone, 0.53 with the network).
 * So `alone` scores with the prior only, the network skipped: the caller sets
 * it for prompts the reward model did not train on (held-out and eval
 * prompts), and the held-out figures of trainer_reward are the prior's.
 */
#define TRAINER_PRIOR_FEATS 9
#define TRAINER_PRIOR_OVERLAP 7  /* the feature of the prompt's words (below) */
#define TRAINER_PRIOR_RECOGNITION 8 /* the feature of rival prompts (below) */
#define TRAINER_PRIOR_FLOOR (-20.0f)

/*
 * A store of prior features kept by the caller between calls: an answer's
 * features depend only on its tokens (with its prompt's), the language model
 * and the empty prompt, so a reward job that sees last round's answers again
 * need not run them through the language model again.  key is
 * trainer_seq_hash of the sequence; get fills f (TRAINER_PRIOR_FEATS) and
 * returns true when it knows the key; put records f (copied).  The store
 * must hold features of one language model and empty prompt only: the
 * caller's to see to.  An answer cut to max_T is neither looked up nor put.
 */
struct trainer_prior_cache {
	bool (*get)(void *ctx, uint64_t key, float *f);
	void (*put)(void *ctx, uint64_t key, const float *f);
	void *ctx;
};
/* A 64-bit hash of s's tokens and prompt length, never 0. */
uint64_t trainer_seq_hash(const struct trainer_seq *s);

struct trainer_prior {
	struct llama_model *lm;  /* the frozen language model of the features
				    (LLAMA_NO_GRADS is enough); borrowed; NULL =
				    no prior (the score is the network's) */
	const int *uncond;       /* (n_uncond) the tokens an answer's unconditional
				    log-probs follow: BOS + the template around an
				    empty prompt; borrowed.  n_uncond 0: the PMI
				    features are 0 (and so say nothing) */
	int n_uncond;
	float w[TRAINER_PRIOR_FEATS];
	float b;
	float mu[TRAINER_PRIOR_FEATS], sd[TRAINER_PRIOR_FEATS];
	const struct trainer_idf *idf; /* the overlap feature's word weights;
				    borrowed; NULL = the feature is 0 */
	const struct trainer_rivals *rivals; /* the recognition feature's prompts;
				    borrowed; NULL = the feature is 0 */
	bool alone;              /* score = prior(x, y) only (see above) */
	const struct trainer_prior_cache *cache; /* borrowed; NULL = none: features
						    computed every time */
};
/* The features of one answer from its L > 0 token log-probs after its prompt,
 * lp (L), and after the empty prompt, ulp (L; NULL = none), and its tokens
 * tok (L; NULL = none): f[0] the mean of lp, f[1] its minimum, f[2] the mean
 * of lp - ulp, f[3] its minimum, f[5] its sum (the PMI of the whole answer;
 * these three 0 without ulp), f[4] log L — each log-prob floored at
 * TRAINER_PRIOR_FLOOR — and f[6] rep-4, the share of the answer's 4-grams of
 * tokens that repeat another: 1 - distinct / all (0 under 4 tokens or
 * without tok; at most the first TRAINER_PRIOR_MAX_L tokens count). */
#define TRAINER_PRIOR_MAX_L 4096
void trainer_prior_features(float *f, const float *lp, const float *ulp, int L, const int *tok);
/*
 * f[TRAINER_PRIOR_OVERLAP], which needs no language model (trainer_prior_features
 * sets it 0; the collecting calls set it): how much of the prompt the answer
 * takes up — of the prompt's distinct words, the share found in the answer,
 * each word weighed by its inverse document frequency over a set of prompts.
 * Words are what trainer_words finds in the tokens' text.  The words every
 * prompt has (the chat template's) weigh 0; a word of the question no other
 * prompt asks about weighs most.  0 without a table, or when the prompt's
 * words weigh 0.  At most TRAINER_PRIOR_MAX_L words of each side count.
 */
struct trainer_idf {
	const struct tokenizer *tk; /* the tokens' text; borrowed */
	uint64_t *key;              /* (cap) trainer_word_key of each word; 0 = free */
	float *w;                   /* (cap) its weight, log((N + 1) / (df + 1)) */
	size_t cap, n;              /* cap a power of 2 */
	float unseen;               /* the weight of a word in no prompt: log(N + 1) */
};
/* An empty table over n_prompts prompts for tk's tokens (borrowed).  Returns
 * 0 or -ENOMEM. */
int trainer_idf_init(struct trainer_idf *d, const struct tokenizer *tk, int n_prompts);
/* Records that word (len bytes) occurs in df of the prompts.  0 or -ENOMEM. */
int trainer_idf_add(struct trainer_idf *d, const char *word, size_t len, int df);
void trainer_idf_release(struct trainer_idf *d);
/* The weight of the word with key k. */
float trainer_idf_weight(const struct trainer_idf *d, uint64_t k);
/* A word's key: a 64-bit hash of its bytes, never 0. */
uint64_t trainer_word_key(const char *word, size_t len);
/* The words of the text of tok (n) as tk decodes them, each to fn (the word
 * lowercased, len bytes, borrowed for the call): runs of ASCII letters and
 * digits and of bytes of UTF-8 characters beyond ASCII, at most
 * TRAINER_WORD_MAX bytes each (longer ones are cut); ids 0..2 (unknown, BOS,
 * EOS) have none. */
#define TRAINER_WORD_MAX 64
void trainer_words(const struct tokenizer *tk, const int *tok, int n,
		   void (*fn)(void *ctx, const char *word, size_t len), void *ctx);
/* The overlap of the answer ans (A tokens) with its prompt (P tokens);
 * d NULL: 0. */
float trainer_prior_overlap(const struct trainer_idf *d, const int *prompt, int P, const int *ans,
			    int A);
/*
 * f[TRAINER_PRIOR_RECOGNITION], recognition: whether the reference, shown the
 * answer, would say it was written for its own prompt rather than for another
 * one of the database — the log-posterior of the own prompt among it and up
 * to TRAINER_PRIOR_RIVALS rivals, each equally likely beforehand:
 *
 *     S(x) - log(exp S(x) + sum_k exp S(x_k)),   S = sum of the answer's
 *                                                 token log-probs after x
 *
 * (0 without rivals; at most 0).  The rivals of an answer are the prompts
 * that share the most of its words, each word weighed by its inverse document
 * frequency over the prompts (words found in more than a quarter of them do
 * not count; prompts whose tokens are the answer's own prompt's are not
 * rivals; ties go to the earlier prompt), and of those only the ones that
 * share at least as much of the answer as its own prompt does: a prompt that
 * shares less seldom wins, and its forward is saved (a quarter of them on the
 * demo's ratings, the same accuracy in the numpy emulation below: +0.029,
 * +0.037 and +0.015).  It is the PMI against the prompts
 * an answer could have been meant for rather than the empty one: "The day
 * after Sunday is Monday." to "What day comes after Monday?", a capital of
 * another country, a refusal that talks of poison to a question about
 * studying — each likelier after the prompt it echoes.  Each rival costs one
 * more forward of the answer.  On the final ratings of three kept learning
 * runs (2026-12-06, numpy, five prompt folds, three fold seeds) it raised the
 * prior's cross-validated pairwise accuracy by +0.028, +0.037 and +0.017 with
 * 4 rivals (2: +0.021, +0.030, +0.011; 8: +0.028, +0.030, +0.025), where the 4
 * prompts most like the prompt itself gave +0.003 to +0.014 and 8 random ones
 * +0.006 on average; fresh reward jobs in C on copies of the same runs, two
 * fold seeds each, +0.014 / +0.016, +0.042 / +0.037 and +0.013 / +0.012; in
 * make bench-loop over nine new seeds the latest reward model's
 * cross-validated accuracy averaged 0.749 against 0.738 before.
 */
#define TRAINER_PRIOR_RIVALS 4
struct trainer_rivals {
	const struct tokenizer *tk; /* the tokens' text; borrowed */
	int n;                      /* prompts */
	int *tokens;                /* (total) every prompt's tokens, end to end */
	size_t *start;              /* (n + 1) prompt i is tokens[start[i], start[i + 1]) */
	int longest;                /* the most tokens of a prompt */
	uint64_t *key;              /* (cap) a word's key; 0 = free */
	int *first, *count;         /* (cap) its prompts: post[first, first + count) */
	float *w;                   /* (cap) its weight, log((n + 1) / (count + 1)) */
	size_t cap;                 /* a power of 2 */
	int *post;                  /* the prompts of each word, ascending */
	uint64_t hash;              /* of every prompt's tokens: which set this is */
};
/* The rivals over n prompts (prompts[i]: len[i] tokens, each BOS + the
 * template around the prompt, as the answers' own prompts are; copied) for
 * tk's tokens (borrowed).  Returns 0 or -ENOMEM (rv then released). */
int trainer_rivals_init(struct trainer_rivals *rv, const struct tokenizer *tk,
			const int *const *prompts, const int *len, int n);
void trainer_rivals_release(struct trainer_rivals *rv);
/* The rivals of the answer ans (A tokens) to prompt (P tokens): up to k
 * prompt indices into out, best first, none scoring below the own prompt
 * when it is among rv's prompts; their number.  score (rv->n floats)
 * and touched (rv->n ints) are scratch, score all 0 on entry and on return. */
int trainer_rivals_pick(const struct trainer_rivals *rv, const int *prompt, int P,
			const int *ans, int A, int k, int *out, float *score, int *touched);
/* The recognition feature from diff (k): S(x_k) - S(x) for each rival, the
 * two sums over the same tokens (an answer cut shorter after a longer rival
 * compares its first tokens only): -log(1 + sum_k exp diff[k]). */
float trainer_prior_recognition(const double *diff, int k);

/* prior(x, y) of an answer with features f (see above). */
float trainer_prior_score(const struct trainer_prior *pr, const float *f);


struct trainer_reward_params {
	float lr;                /* peak learning rate (3e-4) */
	float min_lr;            /* (3e-5) */
	float warmup_frac;       /* (0.05) */
	float weight_decay;      /* (0.0) */
	float grad_clip;         /* (1.0) */
	int epochs;              /* passes over the training groups (2) */
	int batch_groups;        /* groups per optimizer step (8) */
	float margin_scale;      /* Llama 2 margin: m = margin_scale * |s_hi - s_lo|;
				    0 = InstructGPT (0) */
	float heldout_frac;      /* the fraction of prompts the caller holds out
				    with trainer_reward_split (0.2); trainer_reward
				    itself does not read it */
	float pointwise_weight;  /* weight of the pointwise term (0.5); 0 = pairs
				    only, as before */
	float prior_pointwise_weight; /* the same when the likelihood prior is
				    fitted (0.1): a few features that order a
				    prompt's answers are not a score scale, and
				    fitting them to one cost them held-out
				    pairwise accuracy (see struct trainer_prior) */
	float head_init_std;     /* head_w ~ normal(0, std), head_b = 0 before
				    training; 0 keeps the head as it is (0.01) */
	bool normalize;          /* rescale the head at the end (true) */
	float replay;            /* warm start: each epoch trains on every training
				    group not marked seen and a fresh random
				    sample of replay times as many seen ones (at
				    least batch_groups); 0 = every group, seen or
				    not.  Without a seen group: every group (1) */
	int train_layers;        /* train only the top layers (and final norm and
				    head); -1 = every weight (-1) */
	uint64_t seed;           /* shuffling and head init (1); callers pass it to
				    trainer_reward_split too */
	int cv_folds;            /* with a prior: its cross-validated accuracy over
				    this many folds of every rated prompt
				    (trainer_reward_folds, this seed); 0 = none,
				    else 2..TRAINER_CV_MAX_FOLDS (5) */
};
#define TRAINER_CV_MAX_FOLDS 20
void trainer_reward_defaults(struct trainer_reward_params *p);

/*
 * What trainer_reward measured, from the final raw scores (before the
 * normalisation: pairwise accuracies are unchanged by it, and the RMSEs are in
 * score units through mu + sigma * r of the raw score r).  "Held out" means the
 * groups flagged heldout that have a rated answer; figures with no data behind
 * them are NAN.
 */
struct trainer_reward_result {
	float train_acc;         /* pairwise accuracy on the training groups (final) */
	float heldout_acc;       /* on the held-out groups; NAN when no pair */
	float heldout_lo;        /* 95 % interval of heldout_acc: Wilson's over */
	float heldout_hi;        /* heldout_pairs widened by heldout_deff; NAN when none */
	float heldout_deff;      /* design effect of the held-out pairs' clustering
				    by prompt (stats_wilson_clustered), >= 1 */
	int heldout_pairs;       /* pairs in the held-out groups */
	int train_pairs;
	int heldout_prompts;     /* distinct prompt ids among the held-out groups */
	int train_prompts;       /* and among the training groups */
	int groups_tied;         /* training groups without a pair (all answers
				    tied, or one rated answer): pointwise term only */
	float heldout_rmse;      /* sqrt of the mean over held-out rated answers of
				    (mu + sigma * r - s)^2, s the answer's mean 1..5
				    score, r its raw score; NAN when none */
	float train_rmse;        /* the same over the training answers */
	float acc_by_gap[4];     /* held-out pairwise accuracy of the pairs whose
				    score gap is in (0,1], (1,2], (2,3], (3,4]
				    (larger gaps count in the last); NAN where none */
	int pairs_by_gap[4];     /* and how many pairs each */
	float score_mu;          /* the standardisation z = (s - mu) / sigma of the */
	float score_sigma;       /* pointwise term: mean and population std of the
				    training answers' scores, sigma at least 0.5 */
	float loss;              /* mean group loss of the last epoch */
	float norm_mean;         /* the raw scores' mean and std over every given */
	float norm_std;          /* response, divided out of the head at the end
				    (with normalize): a normalised score r' maps to
				    score units as mu + sigma * (norm_mean +
				    norm_std * r') */
	float prior_train_acc;   /* the likelihood prior alone (rm->prior with a
				    language model): pairwise accuracy on the */
	float prior_heldout_acc; /* training and held-out groups; NAN without */
	float heldout_acc_network; /* with a prior: the held-out accuracy of prior +
				    network, for comparison (the held-out figures
				    above are the prior's alone, as unseen prompts
				    are scored); NAN without a prior */
	float cv_acc;            /* with a prior and cv_folds: the prior's pairwise
				    accuracy cross-validated by prompt — each rated
				    group scored by a prior fitted to the other
				    folds' groups, held out or not — over cv_pairs
				    pairs of cv_prompts prompts in cv_folds folds;
				    NAN, 0 when not measured */
	float cv_lo, cv_hi;      /* its 95 % interval (clustered by prompt) */
	int cv_pairs, cv_prompts, cv_folds;
	int steps;
};

/*
 * Marks groups[0..n) held out by prompt: of the distinct prompt ids among the
 * groups with a rated answer (P of them), round(frac * P) ones, at least 1
 * and at most P - 1 when P >= 2 and frac > 0 (none otherwise), chosen by a
 * seeded hash of each id — the same choice for a given seed and set of ids
 * whatever the order of the groups — and every group of a chosen prompt
 * (rated or not) gets heldout = true, every other group false.  Out of memory
 * it holds out nothing.
 */
void trainer_reward_split(struct trainer_group *groups, int n, float frac, uint64_t seed);

/*
 * The folds of the prior's cross-validation: of the distinct prompt ids among
 * the groups with a rated answer, in an order seeded as trainer_reward_split's
 * (another stream: the same for a given seed and set of ids whatever the
 * order of the groups), the i-th goes to fold i mod folds; fold[g] (n) is
 * group g's fold, -1 for a group without a rated answer.  Returns the number
 * of distinct prompts, -EINVAL for folds < 1 or -ENOMEM.
 */
int trainer_reward_folds(const struct trainer_group *groups, int n, int folds, uint64_t seed,
			 int *fold);

/*
 * Trains rm (LLAMA_NO_LM, with gradients; params normally the policy's, or a
 * previous reward model's with head_init_std 0) to score each sequence as
 * rm->score says (the value at its last token, or the mean over its
 * response's tokens) from every rating of the groups not held out (a group's
 * K responses are rows of one micro-batch, so K <= rm->max_B).  The loss of a
 * group is rl_rm_group_loss: the Bradley-Terry loss averaged over its ordered
 * pairs (margin_scale) plus pointwise_weight times the mean over its rated
 * answers of (r - z)^2, r the raw score and z = (s - score_mu) / score_sigma;
 * a step's loss is the mean over its groups, so each group weighs the same
 * however many pairs it has, and groups without a pair still train.  The
 * held-out groups (heldout, as the caller set them) are only measured, after
 * every epoch and at the end.  Then, with p->normalize, rescales
 * head_w/head_b so the scores of every given response have mean 0 and std 1.
 * With rm->prior and its lm set, the prior's w, b, mu and sd are fitted first
 * (see struct trainer_prior), the network trains on top of it, the held-out
 * figures are those of the prior alone (as prompts the model never trained on
 * are scored) and the normalisation rescales the prior with the head.
 * No group with a rated answer is -EINVAL ("no rated answers: ..."), and so
 * is every rated group held out ("no training group: ...").
 * metrics per step: loss, pair_loss, point_loss, acc (the step's pairs, when
 * it has some), lr, grad_norm; per epoch with held-out groups: heldout_acc
 * (when they have pairs), heldout_rmse.  A log line per epoch: loss,
 * held-out accuracy, its interval and RMSE.
 */
int trainer_reward(struct llama_model *rm, const struct trainer_group *groups, int n,
		   const struct trainer_reward_params *p, const struct trainer_hooks *hooks,
		   struct trainer_reward_result *res, char *err, size_t errlen);

/* Scores of n sequences under rm (read as rm->score says, after cutting to
 * rm->max_T) into scores (n).  A convenience for the worker and
 * tests.  Returns 0, -EINVAL or -ENOMEM. */
int trainer_score(struct llama_model *rm, const struct trainer_seq *seqs, int n,
		  float *scores, char *err, size_t errlen);

/* ---- on-policy RL: PPO, RLOO, GRPO ------------------------------------------ */

enum trainer_rl_kind { TRAINER_PPO = 0, TRAINER_RLOO = 1, TRAINER_GRPO = 2 };

struct trainer_rl_params {
	float lr;                /* policy, peak (5e-5) */
	float min_lr;            /* (5e-5: constant) */
	float warmup_frac;       /* (0) */
	float weight_decay;      /* (0) */
	float grad_clip;         /* (1.0) */
	float value_lr;          /* PPO value model, same schedule shape (1e-4) */
	int iterations;          /* rollout batches, one "update" each (30) */
	int prompts_per_iter;    /* prompts per rollout batch (32) */
	int k;                   /* samples per prompt (4); >= 2 for RLOO/GRPO */
	int max_new;             /* most new tokens per answer (96) */
	float temperature;       /* sampling (1.0: on-policy) */
	float top_p;             /* (1.0 = off) */
	int epochs;              /* passes over each rollout batch (1) */
	int minibatch;           /* sequences per optimizer step (64) */
	float clip_eps;          /* policy ratio clip (0.2) */
	float clip_value;        /* PPO value clip around the old values (0.2) */
	float gamma, lam;        /* PPO GAE (1.0, 0.95) */
	bool whiten_adv;         /* PPO: whiten advantages over the batch (true) */
	float kl_beta;           /* PPO: initial KL penalty coefficient (0.05) */
	float kl_target;         /* the adaptive controller (rl_kl_control) of PPO's
				    beta and of RLOO/GRPO's kl_coef: target mean KL
				    per sequence (sum over an answer's tokens of
				    logp - logp_ref); <= 0 = fixed coefficient (1.0;
				    one field for both methods) */
	float kl_horizon;        /* controller horizon in sequences (1000): at most
				    0.2 * batch / horizon relative change per update */
	float kl_coef;           /* RLOO/GRPO: initial coefficient of the K3
				    KL-to-ref term in the loss (0.1) */
	float kl_ceiling;        /* hard stop: no more updates once a batch's mean
				    per-sequence KL exceeds it; <= 0 = off (4.0) */
	float entropy_floor;     /* stop once a batch's mean per-token entropy falls
				    below this fraction of the first batch's;
				    <= 0 = off (0.5) */
	float missing_eos_penalty; /* subtracted from the score of an answer that hit
				    max_new without EOS (1.0) */
	float grpo_eps;          /* GRPO std epsilon (1e-4) */
	int eos_id;              /* stop token (2) */
	uint64_t seed;           /* prompt order and sampling (1) */
	/* A programmatic reward instead of the reward model (NULL: use rm):
	 * called once per sampled answer, on the caller's thread, with the
	 * whole sequence (prompt + answer); rm may then be NULL.  For rule-based
	 * rewards and for testing the RL loop against a known reward. */
	float (*score_fn)(void *arg, const struct trainer_seq *seq);
	void *score_arg;
};
void trainer_rl_defaults(struct trainer_rl_params *p);

/* Why an on-policy run ended (trainer_rl_result.stop_reason). */
enum trainer_rl_stop {
	TRAINER_RL_DONE = 0,          /* every iteration ran */
	TRAINER_RL_KL_CEILING,        /* a batch's KL went above kl_ceiling */
	TRAINER_RL_ENTROPY_FLOOR,     /* a batch's entropy fell below entropy_floor
					 times the first batch's */
};
/* "done", "kl_ceiling", "entropy_floor" ("unknown" for anything else). */
const char *trainer_rl_stop_name(int reason);

/*
 * The hard stops are checked on every rollout batch right after it is
 * sampled and scored, before any optimizer step on it: a batch that trips one
 * is NOT trained on, and the call returns 0 with the policy as it was after
 * the previous update.  The batch figures (*_last) then describe that
 * stopping batch — samples of the policy as returned — and its batch metrics
 * (reward_mean, kl, entropy, response_len, eos_rate) are reported at its
 * iteration, without the update's; a log line says which stop and the
 * numbers.
 */
struct trainer_rl_result {
	int iterations;          /* updates done */
	int steps;               /* optimizer steps of the policy */
	float reward_first;      /* mean rm score (before penalties) of the first */
	float reward_last;       /* and of the last rollout batch */
	float kl_last;           /* mean per-sequence KL of the last batch */
	float kl_beta;           /* final coefficient: PPO's beta, group RL's
				    kl_coef (both adapted when kl_target > 0) */
	float entropy_last;
	float eos_rate_last;
	float response_len_last;
	int stop_reason;         /* enum trainer_rl_stop */
	int stopped_at;          /* the iteration index of the batch that stopped
				    it, or p->iterations: always == iterations */
	float kl_max;            /* largest batch mean per-sequence KL seen (the
				    stopping batch included) */
	float entropy_first;     /* mean per-token entropy of the first batch */
};

/*
 * PPO (InstructGPT / TRL): per iteration, K answers to each of
 * prompts_per_iter prompts (the prompt list cycled in a seeded order) sampled
 * from policy, their old log-probs (the training forward), ref log-probs,
 * values (value model) and the rm score (read as rm->score says); token rewards -beta*KL
 * plus the score (minus the missing-EOS penalty) at the last token; GAE,
 * whitened advantages; epochs x minibatches of clipped policy and value
 * losses; the adaptive KL controller (kl_target); the hard stops (kl_ceiling,
 * entropy_floor; see trainer_rl_result).  metrics per update: reward_mean, kl,
 * kl_beta, entropy, clipfrac, policy_loss, value_loss, response_len, eos_rate
 * (and rlhf_reward, approx_kl, value_clipfrac, lr).  "kl" is the mean over the
 * batch's answers of sum_t (logp - logp_ref) at sampling time.
 * Prompts that leave no room for an answer in every model's max_T are skipped
 * (logged); none left is -EINVAL.  With p->score_fn set, rm may be NULL.
 */
int trainer_ppo(struct llama_model *policy, struct llama_model *ref, struct llama_model *value,
		struct llama_model *rm, const struct trainer_prompt *prompts, int n,
		const struct trainer_rl_params *p, const struct trainer_hooks *hooks,
		struct trainer_rl_result *res, char *err, size_t errlen);

/*
 * RLOO or GRPO: the same rollouts without a value model; one advantage per
 * answer from its group of K (rl_rloo_advantages / rl_grpo_advantages of the
 * score minus the missing-EOS penalty); the clipped policy-gradient loss
 * rl_pg_loss with kl_coef * K3(policy || ref), kl_coef adapted after each
 * update by rl_kl_control toward kl_target (when > 0) from the batch's mean
 * per-sequence KL; the hard stops as PPO's.  metrics per update:
 * reward_mean, kl, kl_beta (the coefficient used), entropy, clipfrac, policy_loss,
 * response_len, eos_rate (and rlhf_reward, kl_k3, lr).  With p->score_fn set,
 * rm may be NULL.
 */
int trainer_group_rl(enum trainer_rl_kind kind, struct llama_model *policy,
		     struct llama_model *ref, struct llama_model *rm,
		     const struct trainer_prompt *prompts, int n,
		     const struct trainer_rl_params *p, const struct trainer_hooks *hooks,
		     struct trainer_rl_result *res, char *err, size_t errlen);

/* ---- DPO -------------------------------------------------------------------- */

struct trainer_dpo_params {
	float lr;                /* peak learning rate (5e-5) */
	float min_lr;            /* (5e-6) */
	float warmup_frac;       /* (0.05) */
	float weight_decay;      /* (0.0) */
	float grad_clip;         /* (1.0) */
	int epochs;              /* (2) */
	int batch_pairs;         /* pairs per optimizer step (8); 2 rows each */
	float beta;              /* (0.1) */
	float label_smoothing;   /* cDPO, 0 = plain DPO (0) */
	uint64_t seed;           /* shuffling (1) */
};
void trainer_dpo_defaults(struct trainer_dpo_params *p);

struct trainer_dpo_result {
	float loss;              /* mean over the last epoch */
	float loss_first;        /* the first step's loss */
	float reward_acc;        /* last epoch */
	float margin;            /* last epoch */
	int steps;
};

/*
 * DPO from preference pairs: summed response log-probs of chosen and rejected
 * under policy and ref (ref once, up front), rl_dpo_loss, the gradient spread
 * over each response's tokens.  metrics per step: loss, reward_acc, margin,
 * chosen_reward, rejected_reward.  Pairs without a response token are
 * skipped; none left is -EINVAL.
 */
int trainer_dpo(struct llama_model *policy, struct llama_model *ref,
		const struct trainer_pair *pairs, int n, const struct trainer_dpo_params *p,
		const struct trainer_hooks *hooks, struct trainer_dpo_result *res,
		char *err, size_t errlen);

/* ---- evaluation ----------------------------------------------------------------- */

struct trainer_eval_params {
	int k;                   /* answers per prompt (1) */
	int max_new;             /* (96) */
	float temperature;       /* 0 = greedy (0) */
	float top_p;             /* (1.0 = off) */
	int eos_id;              /* (2) */
	uint64_t seed;           /* (1) */
};
void trainer_eval_defaults(struct trainer_eval_params *p);

/* What trainer_eval returns; release with trainer_eval_result_release.  Answer i
 * (0 <= i < n_answers) answers prompt i / k. */
struct trainer_eval_result {
	float reward_mean;       /* mean rm score of the answers; NAN without rm */
	float kl;                /* mean over answers of sum_t (logp - logp_ref) on
				    the generated tokens; NAN without ref */
	float win_rate;          /* vs parent's answers to the same prompts with the
				    same sampling streams, by rm, ties 1/2; NAN
				    without parent or rm */
	float response_len;      /* mean new tokens per answer */
	float eos_rate;          /* fraction of answers that ended with EOS */
	int n_answers;           /* n_prompts * k */
	int stride;              /* max_new: row length of tokens */
	int *tokens;             /* (n_answers, stride) new tokens (EOS included
				    when it ended the answer); owned */
	int *n_tokens;           /* (n_answers) owned */
	float *reward;           /* (n_answers) rm scores, or NULL; owned */
	float *parent_reward;    /* (n_answers) or NULL; owned */
	int *parent_tokens;      /* (n_answers, stride) the parent's answers, as */
	int *parent_n_tokens;    /* tokens and n_tokens are the policy's; NULL */
	float parent_response_len; /* without parent or rm (then these two are */
	float parent_eos_rate;   /* NAN): a gate needs no second generation */
	float *seq_kl;           /* (n_answers) or NULL; owned */
};
/* Frees the buffers and zeroes r (NULL, zeroed or released: nothing to do). */
void trainer_eval_result_release(struct trainer_eval_result *r);

/*
 * Generates k answers per prompt with policy (infer over policy->params) and
 * measures them.  ref, parent and rm may be NULL (their figures are NAN).
 * With the same seed, parent == policy gives the same answers token for
 * token (sequence j of prompt i always draws from RNG stream i*k+j), hence a
 * win rate of exactly 1/2.  res is filled (new buffers) on success.
 */
int trainer_eval(struct llama_model *policy, struct llama_model *ref, struct llama_model *parent,
		 struct llama_model *rm, const struct trainer_prompt *prompts, int n,
		 const struct trainer_eval_params *p, const struct trainer_hooks *hooks,
		 struct trainer_eval_result *res, char *err, size_t errlen);

#endif
