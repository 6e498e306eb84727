/*
 * server/worker/job_params.c — THE registry of job kinds: for each kind its
 * name, the function that runs it, the model kind it produces, whether it
 * activates that model by default, and its parameters (name, type, range or
 * choices, a line of help).  Everything that knows about a kind reads it
 * here: the worker's dispatch (job_run), the checks of POST /api/generate,
 * POST /api/train and PUT /api/config's auto_train (job_params_check,
 * job_param_check), the settings a job runs with (job_settings_parse) and
 * the record it keeps of them (job_settings_json), and GET /api/jobs/kinds
 * (job_kinds_json), which the admin page builds its forms from — so none of
 * them can disagree with another.
 *
 * No default is written in the tables.  A parameter's default is the value
 * settings_defaults puts in struct job_settings — the trainers' own
 * (model/trainer.h *_defaults) plus the few the jobs set themselves —
 * read back at the parameter's offset, so what GET /api/jobs/kinds lists is
 * what a job started with {} runs with.  A parameter flagged KNOB_NULLDEF
 * has no fixed default (the active model, the newest reward model, the job
 * id): it is listed as null, and its help line says what null means.
 */
#include "server/worker/job_impl.h"
#include "server/worker/autotrain.h"
#include "server/worker/promote.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum knob_type {
	KNOB_INT,      /* int */
	KNOB_ID,       /* int64_t, a model id >= 1 (0 in the settings = chosen at run time) */
	KNOB_U64,      /* uint64_t (seeds), >= 0 */
	KNOB_FLOAT,    /* float */
	KNOB_DOUBLE,   /* double */
	KNOB_BOOL,     /* bool */
	KNOB_STR,      /* const char *, 1..hi bytes */
	KNOB_CHOICE,   /* const char *, one of the knob's choices */
	KNOB_IDS,      /* an array of 1..hi positive ids (read from params by the job) */
};

#define KNOB_INTERNAL 1u   /* written by the server only; not listed */
#define KNOB_NULLDEF  2u   /* no fixed default: listed as null (the help says what null is) */
#define KNOB_JOBID    4u   /* null = the job id (with KNOB_NULLDEF) */
#define KNOB_REQUIRED 8u   /* a request must give it (POST /api/train) */
#define KNOB_ADVANCED 16u  /* a tuning detail: the admin page folds it away */
#define KNOB_REWARD   32u  /* KNOB_ID of a reward model (else of a language model) */

struct knob {
	const char *name;
	enum knob_type type;
	double lo, hi;
	size_t off;            /* in struct job_settings; unused for KNOB_IDS */
	unsigned flags;
	const char *const *choices; /* KNOB_CHOICE: the allowed strings, NULL-ended */
	const char *help;      /* one line; for KNOB_NULLDEF, what null means */
};

static const char *const SPLITS[] = { "train", "eval", NULL };
static const char *const SCORES[] = { "mean", "last", NULL }; /* enum llama_score */
static const char *const RL_PROMPTS[] = { "rated", "all", NULL };
static const char *const PROMOTES[] = { "gate", "always", "never", NULL };
static const char *const BEST_FROM[] = { "reference", "parent", "previous", NULL };

#define N KNOB_NULLDEF
#define A KNOB_ADVANCED
#define K(name, type, lo, hi, field, flags, help) \
	{ name, type, lo, hi, offsetof(struct job_settings, field), flags, NULL, help }
#define KC(name, choices, field, flags, help) \
	{ name, KNOB_CHOICE, 0, 0, offsetof(struct job_settings, field), flags, choices, help }
#define KI(name, type, field) \
	{ name, type, 0, 0, offsetof(struct job_settings, field), KNOB_INTERNAL, NULL, NULL }
#define OPTIMIZER(p) \
	K("lr", KNOB_FLOAT, 1e-12, 10, p.lr, 0, "peak learning rate (after warmup)"), \
	K("min_lr", KNOB_FLOAT, 0, 10, p.min_lr, A, "learning rate at the end of the cosine decay"), \
	K("warmup_frac", KNOB_FLOAT, 0, 1, p.warmup_frac, A, "fraction of the steps spent warming up"), \
	K("weight_decay", KNOB_FLOAT, 0, 100, p.weight_decay, A, \
	  "AdamW decoupled weight decay, on the matrices only"), \
	K("grad_clip", KNOB_FLOAT, 0, 1e9, p.grad_clip, A, "global gradient-norm bound; 0 = no clipping")
/* what every training kind has */
#define TRAINING \
	K("model_id", KNOB_ID, 1, 0, model_id, N, "the model to start from; null = the active model"), \
	K("name", KNOB_STR, 1, 200, name, N, "the new version's name; null = none"), \
	K("micro_batch", KNOB_INT, 1, 256, micro_batch, A, "rows per forward pass"), \
	K("max_seq", KNOB_INT, 8, 1 << 20, max_seq, A, \
	  "positions per row at most (and at most the model's context)"), \
	KI("auto", KNOB_BOOL, auto_chain)
#define ACTIVATE K("activate", KNOB_BOOL, 0, 0, activate, 0, "activate the new version")
#define SEED(field, what) K("seed", KNOB_U64, 0, 0, field, A, what)
#define END { NULL, KNOB_INT, 0, 0, 0, 0, NULL, NULL }

/* In the order POST /api/generate has always stored them. */
static const struct knob GENERATE[] = {
	K("k", KNOB_INT, 1, GEN_MAX_K, k, 0, "answers per prompt, written by one batched call"),
	KC("split", SPLITS, split, 0, "the prompts of this split that have no answers from the model yet"),
	K("temperature", KNOB_FLOAT, 0, 10, temperature, 0, "sampling temperature; 0 = greedy"),
	K("top_p", KNOB_FLOAT, 1e-6, 1, top_p, 0,
	  "sample from the likeliest tokens that make up this much probability"),
	K("top_k", KNOB_INT, 0, 1e6, top_k, A, "sample from this many likeliest tokens; 0 = all"),
	K("max_tokens", KNOB_INT, 1, 65536, max_tokens, 0, "most tokens per answer"),
	K("model_id", KNOB_ID, 1, 0, model_id, N, "the model that writes; null = the active model"),
	K("seed", KNOB_U64, 0, 0, seed, N | KNOB_JOBID,
	  "sampling seed, mixed with each prompt's id; null = the job id"),
	K("max_prompts", KNOB_INT, 0, 1e7, max_prompts, 0, "at most this many prompts; 0 = all"),
	K("again", KNOB_BOOL, 0, 0, again, A,
	  "also the prompts the model has answered before, those with the fewest answer groups "
	  "first: more samples for raters (the loop asks for them while it waits for ratings)"),
	K("pair_model_id", KNOB_ID, 1, 0, pair_model_id, N | A,
	  "the prompts this model answered come first, so people can compare the two on the "
	  "same prompts (the loop names the new policy's parent); null = none"),
	K("distinct", KNOB_BOOL, 0, 0, distinct, A,
	  "a group's answers are distinct texts: a copy is drawn again, else dropped; false keeps "
	  "the K samples as drawn (for measuring a model)"),
	K("explore", KNOB_INT, 0, 1e6, explore, A,
	  "also (prompt_ids or not) this many prompts of the split whose answers people rated "
	  "and rated none min_score or more: another try where the model has not been right yet "
	  "(fewest groups first); their groups are marked explore and left out of people's "
	  "verdict, as they were chosen by how earlier answers were rated"),
	K("min_score", KNOB_DOUBLE, 1, 5, min_score, A,
	  "explore: an answer rated this or more on average is a good one"),
	{ "prompt_ids", KNOB_IDS, 1, 100000, 0, N, NULL,
	  "these prompts, in this order, instead of split's; null = split's" },
	KI("auto", KNOB_BOOL, auto_chain),
	END
};

static const struct knob SFT[] = {
	K("epochs", KNOB_INT, 1, 1000, sft.epochs, 0, "passes over the examples"),
	OPTIMIZER(sft),
	K("batch_size", KNOB_INT, 1, 65536, sft.batch_size, 0, "sequences per optimizer step"),
	K("min_score", KNOB_DOUBLE, 1, 5, min_score, 0,
	  "train on the answers whose mean score is at least this"),
	K("include_imported", KNOB_BOOL, 0, 0, include_imported, 0,
	  "also train on unrated imported answers (demonstrations; the ones raters write on the rate page are always taken)"),
	K("max_steps", KNOB_INT, 0, 1e9, sft.max_steps, A, "stop after this many steps; 0 = no cap"),
	SEED(sft.seed, "shuffling seed"),
	TRAINING,
	ACTIVATE,
	END
};

static const struct knob REWARD[] = {
	K("epochs", KNOB_INT, 1, 1000, reward.epochs, 0, "passes over the rated groups"),
	OPTIMIZER(reward),
	K("batch_groups", KNOB_INT, 1, 65536, reward.batch_groups, 0, "groups per optimizer step"),
	K("heldout_frac", KNOB_FLOAT, 0, 0.9, reward.heldout_frac, 0,
	  "fraction of the prompts held out (all their answers) for the held-out figures, "
	  "the RL gate and the promotion gate; the same prompts in every round"),
	K("pointwise_weight", KNOB_FLOAT, 0, 100, reward.pointwise_weight, A,
	  "weight of the loss on the 1-5 scores themselves beside the pairwise loss; 0 = pairs only"),
	K("warm_start", KNOB_BOOL, 0, 0, warm_start, 0,
	  "start from the newest reward model (its weights and head) when it has the policy's shape"),
	K("prior", KNOB_BOOL, 0, 0, prior, 0,
	  "add the reference model's likelihood of an answer (mean and least token log-prob, "
	  "the same less the log-probs after an empty prompt and their sum, log length, the "
	  "share of repeated 4-grams of tokens, the idf-weighted share of the prompt's words "
	  "the answer takes up; weights fitted to "
	  "the ratings) to the network's score: what carries over to prompts nobody rated"),
	K("prior_pointwise_weight", KNOB_FLOAT, 0, 100, reward.prior_pointwise_weight, A,
	  "pointwise_weight for fitting the likelihood prior's weights"),
	K("cv_folds", KNOB_INT, 2, TRAINER_CV_MAX_FOLDS, reward.cv_folds, A,
	  "the likelihood prior's accuracy cross-validated over this many folds of every "
	  "rated prompt (metrics cv_acc, cv_lo, cv_hi), beside the held-out split's"),
	K("warm_epochs", KNOB_INT, 1, 1000, warm_epochs, A,
	  "passes over the rated groups when warm-started and epochs is not given"),
	K("replay", KNOB_FLOAT, 0, 1000, reward.replay, A,
	  "warm-started: each pass trains on the groups rated since the previous reward "
	  "model and this many times as many of the groups it trained on, drawn at random; "
	  "0 = every group"),
	K("margin_scale", KNOB_FLOAT, 0, 100, reward.margin_scale, 0,
	  "pairwise margin per point of score gap (Llama 2); 0 = none (InstructGPT)"),
	KC("score", SCORES, score, 0,
	   "how the new model scores an answer: its head's mean over the answer's tokens, "
	   "or at the last token"),
	K("head_init_std", KNOB_FLOAT, 0, 10, reward.head_init_std, A,
	  "std of the scalar head's initial weights; 0 keeps the head as it is"),
	K("train_layers", KNOB_INT, -1, 1024, reward.train_layers, A,
	  "train only this many top layers (and the head); -1 = all"),
	K("normalize", KNOB_BOOL, 0, 0, reward.normalize, A,
	  "rescale the head so the scores have mean 0 and std 1"),
	SEED(reward.seed, "held-out split, shuffling and head initialisation seed"),
	TRAINING,
	KI("ratings_upto", KNOB_ID, ratings_upto),
	KI("orderings_upto", KNOB_ID, orderings_upto),
	END
};

/*
 * ppo, rloo and grpo take the same parameters (a job of one may carry
 * another's: the loop's rl_params outlive a change of auto_train.rl_kind);
 * the ones only PPO reads are folded away (PPO_A) in the group kinds'
 * forms, the ones only RLOO/GRPO read (GROUP_A) in PPO's.
 */
#define RL(PPO_A, GROUP_A) { \
	K("iterations", KNOB_INT, 1, 1e6, rl.iterations, 0, "rollout-and-update rounds"), \
	K("prompts_per_iter", KNOB_INT, 1, 4096, rl.prompts_per_iter, 0, "prompts per rollout batch"), \
	K("k", KNOB_INT, 1, 64, rl.k, 0, "samples per prompt (at least 2 for rloo and grpo)"), \
	K("max_new", KNOB_INT, 1, 4096, rl.max_new, 0, "most new tokens per sampled answer"), \
	OPTIMIZER(rl), \
	K("kl_beta", KNOB_FLOAT, 0, 1000, rl.kl_beta, PPO_A, \
	  "ppo: initial KL penalty coefficient, adapted toward kl_target"), \
	K("kl_target", KNOB_FLOAT, -1, 1e9, rl.kl_target, 0, \
	  "target KL per answer: the KL coefficient (ppo: kl_beta, rloo/grpo: kl_coef) adapts " \
	  "toward it; <= 0 keeps the coefficient fixed"), \
	K("kl_coef", KNOB_FLOAT, 0, 1000, rl.kl_coef, GROUP_A, \
	  "rloo, grpo: initial weight of the KL-to-reference term in the loss"), \
	K("kl_ceiling", KNOB_FLOAT, 0, 1e9, rl.kl_ceiling, 0, \
	  "stop updating once a rollout batch's mean KL per answer passes this, and refuse to " \
	  "promote a policy over it on held-out prompts; 0 = no ceiling"), \
	K("entropy_floor", KNOB_FLOAT, 0, 1, rl.entropy_floor, A, \
	  "stop updating once the answers' entropy falls below this fraction of the first " \
	  "batch's; 0 = no floor"), \
	K("reward_model_id", KNOB_ID, 1, 0, reward_model_id, N | KNOB_REWARD, \
	  "the reward model that scores the answers; null = the newest"), \
	K("ref_model_id", KNOB_ID, 1, 0, ref_model_id, N | A, \
	  "the frozen reference of the KL term; null = the policy's nearest sft ancestor, " \
	  "else the policy"), \
	KC("prompts", RL_PROMPTS, rl_prompts, 0, \
	   "rated: the prompts the reward model trained on (prompts with rated answers, " \
	   "not its held-out ones); all: every prompt of split"), \
	KC("promote", PROMOTES, promote, 0, \
	   "gate: activate the new policy only if it beats its parent on the reward model's " \
	   "held-out prompts without collapsing, else keep it as a candidate; always; never"), \
	K("require_reward_acc", KNOB_FLOAT, 0, 1, require_reward_acc, A, \
	  "refuse to start unless the reward model's held-out pairwise accuracy has a 95% " \
	  "lower bound above this; 0 = no check"), \
	KC("split", SPLITS, split, A, "with prompts all: train on the prompts of this split"), \
	K("max_prompts", KNOB_INT, 0, 1e7, max_prompts, A, "at most this many prompts; 0 = all"), \
	K("value_lr", KNOB_FLOAT, 1e-12, 10, rl.value_lr, A, "ppo: the value model's learning rate"), \
	K("temperature", KNOB_FLOAT, 0, 10, rl.temperature, A, "sampling temperature of the rollouts"), \
	K("top_p", KNOB_FLOAT, 0, 1, rl.top_p, A, "nucleus sampling of the rollouts; 1 = off"), \
	K("epochs", KNOB_INT, 1, 1000, rl.epochs, A, "passes over each rollout batch"), \
	K("minibatch", KNOB_INT, 1, 65536, rl.minibatch, A, "sequences per optimizer step"), \
	K("clip_eps", KNOB_FLOAT, 0, 10, rl.clip_eps, A, "policy ratio clip"), \
	K("clip_value", KNOB_FLOAT, 0, 1e9, rl.clip_value, A, "ppo: value clip around the old values"), \
	K("gamma", KNOB_FLOAT, 0, 1, rl.gamma, A, "ppo: GAE discount"), \
	K("lam", KNOB_FLOAT, 0, 1, rl.lam, A, "ppo: GAE lambda"), \
	K("whiten_adv", KNOB_BOOL, 0, 0, rl.whiten_adv, A, "ppo: whiten the advantages over the batch"), \
	K("kl_horizon", KNOB_FLOAT, 1, 1e12, rl.kl_horizon, A, \
	  "ppo: horizon of the adaptive KL controller, in answers"), \
	K("missing_eos_penalty", KNOB_FLOAT, -1000, 1000, rl.missing_eos_penalty, A, \
	  "subtracted from the score of an answer cut off at max_new"), \
	K("grpo_eps", KNOB_FLOAT, 1e-12, 1, rl.grpo_eps, A, "grpo: added to the group's score std"), \
	SEED(rl.seed, "prompt order and sampling seed"), \
	TRAINING, \
	ACTIVATE, \
	END }

static const struct knob PPO[] = RL(0, A);
static const struct knob GROUP_RL[] = RL(A, 0);

/*
 * best: the reference fine-tuned on the best-rated answers, then the
 * promotion gate (job_train.c job_best).  Its passes were chosen on the
 * reward model's held-out train prompts over seeds 11-13 of the learning
 * test (three passes of at most 160 steps, 2,560 sequences: +0.24 on that
 * split's part a over 9 policies, against +0.15 for two uncapped passes and
 * +0.31 for three); uncapped passes grow with every answer rated so far
 * (round 3: 312 steps at three, 41-44 s of a round that must stay under 60),
 * so the cap holds a round's best at 160 steps.
 * Its learning rate, 3e-4, was chosen on the development split of
 * tests/bench/dev.mjs (other demo worlds' eval texts: the held-out items in
 * other words), which replaced that split when it turned out to hold no
 * capital question in its part a: on the final ratings of three kept
 * learning runs (seeds 1-3), each fine-tuned with three shuffling seeds,
 * 3e-4 against 1e-4 (a fifth of SFT's rate, chosen before any measurement)
 * moved dev part a +0.145 (95 % interval over the 9 [+0.05, +0.24]) and
 * part b +0.000 [-0.07, +0.07]; the same steps, so the same time.  One
 * run's probe (seed 1): 5e-4 and 1e-3 gave less on part a and less on part b.
 * Its KL budget at the gate, 6 nats per answer (RL's is 4), comes with the
 * rate: in make bench-loop (seeds 1-3) the 9 candidates at 3e-4 reached
 * 2.7-4.4 per answer, and each moved the development split up (part a
 * +0.71 to +1.04, part b +0.08 to +0.48, the five above 3.9 no less than
 * the others); on the seed-1 probe 6e-4 reached 5.2 and 1e-3 9.3, which moved
 * part b -0.14.  6 lets the first through and stops the second.
 * Its focus, 1 (a best-rated answer trained on once, plus once for every
 * answer of its group rated below 4), was chosen on the development split:
 * on the final ratings of three kept learning runs (seeds 7-9), each
 * fine-tuned with two shuffling seeds (no soup), focus 1 against 0 (every
 * answer once) moved the split +0.101 more on average (+0.094, +0.126 and
 * +0.082 per run; part a +0.11, part b +0.09), focus 2 +0.084 (+0.004 to
 * +0.163), and training only the groups with a worse answer less than
 * focus 0.  The answers of a prompt the model mostly gets wrong are what it
 * has to learn; those it gives anyway it keeps at one pass.  The steps stay
 * capped, so a round takes the same time.
 * Its micro-batches are 4 rows, not 8: a step's 16 sequences (best-rated
 * answers and 32-token documents) are sorted by length, and quarters pad
 * less than halves — on the final ratings of a learning run, 160 steps took
 * 18-21 s at 4 rows, 24 s at 8, 32 s at 16, 18 s at 2; the same gradient.
 */
static const struct knob BEST[] = {
	K("epochs", KNOB_INT, 1, 1000, sft.epochs, 0, "passes over the best-rated answers"),
	K("max_steps", KNOB_INT, 0, 1e9, sft.max_steps, 0,
	  "stop after this many optimizer steps, whatever the epochs; 0 = no cap"),
	OPTIMIZER(sft),
	K("batch_size", KNOB_INT, 1, 65536, sft.batch_size, 0, "sequences per optimizer step"),
	KC("from", BEST_FROM, best_from, 0,
	   "reference: fine-tune the reference (the policy's nearest sft ancestor) afresh; "
	   "parent: go on from the policy the job improves; previous: go on from the newest "
	   "policy an earlier best job made from the same reference, unless its gate found it "
	   "unsound or people rated it below its parent (else the reference)"),
	K("soup", KNOB_INT, 0, 1000, best_soup, 0,
	  "fine-tuning from the reference: average the new weights with the previous best "
	  "policy of the same reference (a model soup), unless its gate found it unsound or "
	  "people rated it below its parent; the newest member weighs 1/min(members, soup), so "
	  "the first soup members are averaged alike and later ones decay; 0 or 1 = no soup"),
	K("soup_margin", KNOB_FLOAT, 0, 0.5, soup_margin, 0,
	  "promotion gate: a soup with its parent among its members (a third of its weights or "
	  "more) is promoted unless the reward model prefers the parent by more than this (its "
	  "win rate's 95 % lower bound at or below 1/2 - this); 0 = it must beat the parent "
	  "like any candidate"),
	K("focus", KNOB_INT, 0, 100, best_focus, 0,
	  "each best-rated answer is trained on 1 + focus x (the answers of its group rated "
	  "below min_score) times per pass, so the answers to prompts the model mostly gets "
	  "wrong weigh more than those it already gives; 0 = each once"),
	K("min_score", KNOB_DOUBLE, 1, 5, min_score, 0,
	  "train on the answers whose mean score is at least this"),
	K("rs_k", KNOB_INT, 0, 64, rs_k, 0,
	  "rejection sampling: the parent answers each of the reward model's training prompts "
	  "this many times and the reward model's best answer joins people's best-rated ones "
	  "(if it ended and scored at least rs_min); 0 = people's answers only (the default: "
	  "at 4 the development split moved no more than its noise, for 8-12 s a round)"),
	K("rs_min", KNOB_FLOAT, -100, 100, rs_min, 0,
	  "the least reward-model score of a sampled answer that joins (scores are normalised "
	  "over the rated answers: 0 the mean, 1 one standard deviation above)"),
	K("rs_require_acc", KNOB_FLOAT, 0, 1, rs_require_acc, 0,
	  "sample only with a reward model whose held-out accuracy's 95 % lower bound is above "
	  "this (else people's answers only)"),
	K("ptx", KNOB_DOUBLE, 0, 100, ptx, 0,
	  "documents of the base model's pre-training text replayed per best-rated answer, so "
	  "that the answers to the rated prompts do not pull what the model says about "
	  "everything else (needs the corpus: demo init, import-model --corpus); 0 = none"),
	K("ptx_tokens", KNOB_INT, 2, 4096, ptx_tokens, A, "each replayed document cut to this many tokens"),
	K("reward_model_id", KNOB_ID, 1, 0, reward_model_id, N | KNOB_REWARD,
	  "the reward model whose held-out accuracy must be credible, whose training prompts "
	  "are the data and whose held-out prompts the promotion gate compares on; null = the newest"),
	K("ref_model_id", KNOB_ID, 1, 0, ref_model_id, N | A,
	  "the model fine-tuning starts from and the gate's KL reference; null = the policy's "
	  "nearest sft ancestor, else the policy"),
	KC("promote", PROMOTES, promote, 0,
	   "gate: activate the new policy only if it beats its parent on the reward model's "
	   "held-out prompts without collapsing, else keep it as a candidate; always; never"),
	K("require_reward_acc", KNOB_FLOAT, 0, 1, require_reward_acc, A,
	  "refuse to start unless the reward model's held-out pairwise accuracy has a 95% "
	  "lower bound above this; 0 = no check"),
	K("kl_ceiling", KNOB_FLOAT, 0, 1e9, rl.kl_ceiling, A,
	  "refuse to promote a policy whose KL per answer to the reference passes this on "
	  "held-out prompts; 0 = no ceiling"),
	K("max_new", KNOB_INT, 1, 4096, rl.max_new, A, "promotion gate: most new tokens per answer"),
	SEED(sft.seed, "shuffling seed"),
	TRAINING,
	ACTIVATE,
	END
};

static const struct knob DPO[] = {
	K("beta", KNOB_FLOAT, 1e-6, 1000, dpo.beta, 0,
	  "how strongly the policy is held to the reference (DPO's beta)"),
	K("epochs", KNOB_INT, 1, 1000, dpo.epochs, 0, "passes over the rated pairs"),
	OPTIMIZER(dpo),
	K("batch_pairs", KNOB_INT, 1, 65536, dpo.batch_pairs, 0, "pairs per optimizer step"),
	K("ref_model_id", KNOB_ID, 1, 0, ref_model_id, N,
	  "the frozen reference; null = the policy's nearest sft ancestor, else the policy"),
	K("label_smoothing", KNOB_FLOAT, 0, 0.5, dpo.label_smoothing, A,
	  "chance a preference is the wrong way round (cDPO); 0 = plain DPO"),
	SEED(dpo.seed, "shuffling seed"),
	TRAINING,
	ACTIVATE,
	END
};

static const struct knob EVAL[] = {
	K("model_id", KNOB_ID, 1, 0, model_id, N | KNOB_REQUIRED, "the model to evaluate (required)"),
	K("reward_model_id", KNOB_ID, 1, 0, reward_model_id, N | KNOB_REWARD,
	  "the reward model that scores the answers; null = the newest, if there is one"),
	KC("split", SPLITS, split, 0, "the prompts of this split"),
	K("max_prompts", KNOB_INT, 0, 1e7, max_prompts, 0, "at most this many prompts; 0 = all"),
	K("max_new", KNOB_INT, 1, 4096, eval.max_new, 0, "most new tokens per answer"),
	K("k", KNOB_INT, 1, 64, eval.k, 0, "answers per prompt"),
	K("temperature", KNOB_FLOAT, 0, 10, eval.temperature, 0, "sampling temperature; 0 = greedy"),
	K("ref_model_id", KNOB_ID, 1, 0, ref_model_id, N | A,
	  "the reference of the KL figure; null = the model's nearest sft ancestor, else the model"),
	K("top_p", KNOB_FLOAT, 0, 1, eval.top_p, A, "nucleus sampling; 1 = off"),
	SEED(eval.seed, "sampling seed"),
	K("micro_batch", KNOB_INT, 1, 256, micro_batch, A, "rows per forward pass"),
	K("max_seq", KNOB_INT, 8, 1 << 20, max_seq, A,
	  "positions per row at most (and at most the model's context)"),
	END
};

static const struct knob SCORE[] = {
	K("reward_model_id", KNOB_ID, 1, 0, reward_model_id, N | KNOB_REWARD,
	  "the reward model that scores the answers; null = the newest"),
	KC("split", SPLITS, split, N, "the answers to the prompts of this split; null = both splits"),
	K("unscored", KNOB_BOOL, 0, 0, unscored, 0,
	  "only the answers this reward model has not scored yet (the spot checks' score job "
	  "after a generate job); false = every answer"),
	K("micro_batch", KNOB_INT, 1, 256, micro_batch, A, "rows per forward pass"),
	K("max_seq", KNOB_INT, 8, 1 << 20, max_seq, A,
	  "positions per row at most (and at most the model's context)"),
	END
};

#undef N
#undef A

static const struct job_kind KINDS[] = {
	{ "generate", job_generate, NULL, false, "train",
	  "K answers to each prompt from one batched call, each prompt's answers one group "
	  "in the rating queue", GENERATE },
	{ "sft", job_sft, "sft", true, NULL,
	  "instruction tuning on the answers rated at least min_score and imported demonstrations, "
	  "loss on the answer tokens only", SFT },
	{ "reward", job_reward, "reward", false, NULL,
	  "a reward model from every rating: pairs of differently rated answers and the scores "
	  "themselves", REWARD },
	{ "ppo", job_rl, "policy", true, "train",
	  "RLHF with PPO: a value model and an adaptive KL penalty toward the reference", PPO },
	{ "rloo", job_rl, "policy", true, "train",
	  "RLHF with a leave-one-out baseline over each prompt's K samples; no value model",
	  GROUP_RL },
	{ "grpo", job_rl, "policy", true, "train",
	  "RLHF with group-normalised advantages over each prompt's K samples; no value model",
	  GROUP_RL },
	{ "best", job_best, "policy", true, "train",
	  "rejection-sampling fine-tuning: the reference trained on the answers people rated "
	  "best, then the promotion gate", BEST },
	{ "dpo", job_dpo, "policy", true, NULL,
	  "direct preference optimisation on the rated pairs, against a frozen reference", DPO },
	{ "eval", job_eval, NULL, false, "eval",
	  "scores a model on held-out prompts (reward, KL to its reference, win rate against "
	  "its parent) and stores the figures on the version", EVAL },
	{ "score", job_score, NULL, false, NULL,
	  "a reward model's score of every answer, rated or not, stored beside the human "
	  "scores (queued after every reward job)", SCORE },
};
#define N_KINDS (sizeof KINDS / sizeof KINDS[0])

const struct job_kind *job_kind_find(const char *name)
{
	for (size_t i = 0; name && i < N_KINDS; i++)
		if (!strcmp(KINDS[i].name, name))
			return &KINDS[i];
	return NULL;
}

const char *job_kind_name(size_t i)
{
	return i < N_KINDS ? KINDS[i].name : NULL;
}

const char *job_param_name(const char *kind, size_t i)
{
	const struct job_kind *kd = job_kind_find(kind);
	const struct knob *k = kd ? kd->knobs : NULL;
	for (; k && k->name; k++)
		if (!(k->flags & KNOB_INTERNAL) && i-- == 0)
			return k->name;
	return NULL;
}

static const struct knob *knob_find(const struct job_kind *kind, const char *name)
{
	const struct knob *k = kind->knobs;
	while (k->name && strcmp(k->name, name))
		k++;
	return k->name ? k : NULL;
}

/* ---- checking ---------------------------------------------------------------- */

bool job_bad_field(char *field, size_t fl, char *msg, size_t ml, const char *key,
		   const char *fmt, ...)
{
	if (field && fl)
		snprintf(field, fl, "%s", key);
	if (msg && ml) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, ml, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* Checks the number v against knob k (named key); stores it when dst. */
static bool knob_number(const struct knob *k, json_t *v, char *dst, const char *key,
			char *field, size_t fl, char *msg, size_t ml)
{
	if (k->type == KNOB_FLOAT || k->type == KNOB_DOUBLE) {
		if (!json_is_number(v))
			return job_bad_field(field, fl, msg, ml, key, "'%s' must be a number", key);
		double x = json_number_value(v);
		if (!(x >= k->lo && x <= k->hi))
			return job_bad_field(field, fl, msg, ml, key, "'%s' must be in %g..%g", key, k->lo, k->hi);
		if (dst && k->type == KNOB_FLOAT)
			*(float *)dst = (float)x;
		else if (dst)
			*(double *)dst = x;
		return true;
	}
	if (!json_is_integer(v))
		return job_bad_field(field, fl, msg, ml, key, "'%s' must be an integer", key);
	json_int_t x = json_integer_value(v);
	double lo = k->type == KNOB_INT ? k->lo : k->type == KNOB_ID ? 1 : 0;
	bool capped = k->type == KNOB_INT;
	if (x < lo || (capped && x > k->hi)) {
		if (capped)
			return job_bad_field(field, fl, msg, ml, key, "'%s' must be in %g..%g", key, k->lo, k->hi);
		return job_bad_field(field, fl, msg, ml, key, "'%s' must be %s", key,
			   k->type == KNOB_ID ? "a positive id" : "a non-negative integer");
	}
	if (dst && k->type == KNOB_INT)
		*(int *)dst = (int)x;
	else if (dst && k->type == KNOB_ID)
		*(int64_t *)dst = x;
	else if (dst)
		*(uint64_t *)dst = (uint64_t)x;
	return true;
}

/* Checks v against knob k, named key in the messages; stores it into s
 * when s is not NULL. */
static bool knob_apply(const struct knob *k, json_t *v, struct job_settings *s, const char *key,
		       char *field, size_t fl, char *msg, size_t ml)
{
	char *dst = s ? (char *)s + k->off : NULL;
	switch (k->type) {
	case KNOB_INT:
	case KNOB_ID:
	case KNOB_U64:
	case KNOB_FLOAT:
	case KNOB_DOUBLE:
		return knob_number(k, v, dst, key, field, fl, msg, ml);
	case KNOB_BOOL:
		if (!json_is_boolean(v))
			return job_bad_field(field, fl, msg, ml, key, "'%s' must be true or false", key);
		if (dst)
			*(bool *)dst = json_is_true(v);
		return true;
	case KNOB_STR:
		if (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) > k->hi)
			return job_bad_field(field, fl, msg, ml, key, "'%s' must be a string of 1 to %g bytes",
				   key, k->hi);
		if (dst)
			*(const char **)dst = json_string_value(v);
		return true;
	case KNOB_CHOICE: {
		const char *sv = json_string_value(v); /* NULL unless a string */
		int c = 0;
		while (sv && k->choices[c] && strcmp(sv, k->choices[c]))
			c++;
		if (!sv || !k->choices[c]) {
			char list[128] = "";
			for (int i = 0; k->choices[i]; i++)
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"",
					 i == 0 ? "" : k->choices[i + 1] ? ", " : " or ", k->choices[i]);
			return job_bad_field(field, fl, msg, ml, key, "'%s' must be %s", key, list);
		}
		if (dst)
			*(const char **)dst = sv;
		return true;
	}
	case KNOB_IDS: {
		if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > k->hi)
			return job_bad_field(field, fl, msg, ml, key, "'%s' must be an array of 1 to %g ids",
				   key, k->hi);
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
			if (!json_is_integer(e) || json_integer_value(e) < 1)
				return job_bad_field(field, fl, msg, ml, key, "'%s[%zu]' must be a positive id",
					   key, i);
		return true;
	}
	}
	return false;
}

static void key_name(char *out, size_t n, const char *where, const char *key)
{
	if (where)
		snprintf(out, n, "%s.%s", where, key);
	else
		snprintf(out, n, "%s", key);
}

/* Checks params against kind (and stores them into s when not NULL): every
 * key known, every value good; with !internal, the server's own keys are
 * unknown and the required ones must be there. */
static bool apply_all(const char *kind, json_t *params, bool internal, struct job_settings *s,
		      const char *where, char *field, size_t fl, char *msg, size_t ml)
{
	const struct job_kind *kd = job_kind_find(kind);
	char name[96];
	if (!kd) {
		if (field && fl)
			snprintf(field, fl, "kind");
		if (msg && ml)
			snprintf(msg, ml, "unknown job kind '%s'", kind ? kind : "");
		return false;
	}
	if (!json_is_object(params))
		return job_bad_field(field, fl, msg, ml, where ? where : "params", "'%s' must be an object",
			   where ? where : "params");
	for (const struct knob *k = kd->knobs; k->name && !internal; k++) {
		json_t *v = json_object_get(params, k->name);
		key_name(name, sizeof name, where, k->name);
		if ((k->flags & KNOB_REQUIRED) && (!v || json_is_null(v)))
			return job_bad_field(field, fl, msg, ml, name, "'%s' is required", name);
	}
	const char *key;
	json_t *v;
	json_object_foreach(params, key, v) {
		const struct knob *k = knob_find(kd, key);
		key_name(name, sizeof name, where, key);
		if (!k || ((k->flags & KNOB_INTERNAL) && !internal))
			return job_bad_field(field, fl, msg, ml, name, "unknown parameter '%s' for a %s job", name,
				   kind);
		if (json_is_null(v))
			continue;               /* null = the default */
		if (!knob_apply(k, v, s, name, field, fl, msg, ml))
			return false;
	}
	return true;
}

bool job_params_check(const char *kind, json_t *params, bool internal, const char *where,
		      char *field, size_t field_len, char *msg, size_t msg_len)
{
	return apply_all(kind, params, internal, NULL, where, field, field_len, msg, msg_len);
}

bool job_param_check(const char *kind, const char *name, json_t *v, const char *field_name,
		     char *field, size_t field_len, char *msg, size_t msg_len)
{
	const struct job_kind *kd = job_kind_find(kind);
	const struct knob *k = kd ? knob_find(kd, name) : NULL;
	if (!k || (k->flags & KNOB_INTERNAL))
		return job_bad_field(field, field_len, msg, msg_len, field_name, "'%s': a %s job has no "
			   "parameter '%s'", field_name, kind, name);
	return knob_apply(k, v, NULL, field_name, field, field_len, msg, msg_len);
}

/* ---- settings ---------------------------------------------------------------- */

static void settings_defaults(const struct job_kind *kind, struct job_settings *s)
{
	memset(s, 0, sizeof *s);
	s->micro_batch = 8;
	s->max_seq = 256;
	s->split = kind->split;
	/* generate: K sampled answers, varied enough to be worth comparing */
	s->k = 4;
	s->distinct = true;
	s->temperature = 1.0f;
	s->top_p = 0.95f;
	s->max_tokens = 96;
	s->min_score = 4;
	s->score = "mean";
	s->include_imported = true;
	s->warm_start = true;
	s->prior = true;
	s->warm_epochs = 1;
	s->rl_prompts = "rated";
	s->promote = "gate";
	s->best_from = "reference";
	s->best_soup = 3;
	s->require_reward_acc = 0.55f;
	/* a job that makes a generator activates it unless told not to */
	s->activate = kind->activates;
	trainer_sft_defaults(&s->sft);
	trainer_reward_defaults(&s->reward);
	/* a reward model trained afresh: one pass.  The second bought nothing the
	 * network is used for: on three kept learning runs (2026-12-06), a cold
	 * reward job on the round-0 ratings scored the next round's answers to its
	 * training prompts (network + prior) 0.730 / 0.732 / 0.681 pairwise after
	 * one pass, 0.731 / 0.725 / 0.679 after two (633-710 pairs each), and its
	 * network's held-out accuracy was 0.791 / 0.725 / 0.746 against 0.752 /
	 * 0.732 / 0.709; the pass is 6-9 s of round 1 on the demo model */
	s->reward.epochs = 1;
	trainer_rl_defaults(&s->rl);
	trainer_dpo_defaults(&s->dpo);
	trainer_eval_defaults(&s->eval);
	if (!strcmp(kind->name, "best")) {
		s->sft.lr = 3e-4f;
		s->rl.kl_ceiling = 6.0f;
		s->sft.epochs = 3;
		s->sft.max_steps = 160;
		s->micro_batch = 4;
		s->require_reward_acc = 0;
		s->ptx = 1;
		s->ptx_tokens = 32;
		s->rs_k = 0;
		s->best_focus = 1;
		s->soup_margin = PROMOTE_SOUP_MARGIN;
		s->rs_min = 0.5f;
		s->rs_require_acc = 0.55f;
	}
}

bool job_settings_parse(const struct job_kind *kind, json_t *params, int64_t job_id,
			struct job_settings *s, char *msg, size_t msg_len)
{
	settings_defaults(kind, s);
	for (const struct knob *k = kind->knobs; k->name; k++)
		if ((k->flags & KNOB_JOBID) && k->type == KNOB_U64)
			*(uint64_t *)((char *)s + k->off) = (uint64_t)job_id;
	return apply_all(kind->name, params, true, s, NULL, NULL, 0, msg, msg_len);
}

/* f as the shortest decimal that reads back as f: 5e-5f is 5e-05, not
 * 4.99999987e-05, so the figures read as the ones written. */
static double float_value(float f)
{
	char buf[32];
	for (int prec = 6; prec < 9; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, f);
		double d = strtod(buf, NULL);
		if ((float)d == f)
			return d;
	}
	return f;
}

/* Knob k's value in s as JSON (new): null for a string or model id not set. */
static json_t *knob_value(const struct knob *k, const struct job_settings *s)
{
	const char *src = (const char *)s + k->off;
	switch (k->type) {
	case KNOB_INT:
		return json_integer(*(const int *)src);
	case KNOB_ID:
		return *(const int64_t *)src ? json_integer(*(const int64_t *)src) : json_null();
	case KNOB_U64:
		return json_integer((json_int_t)*(const uint64_t *)src);
	case KNOB_FLOAT:
		return json_real(float_value(*(const float *)src));
	case KNOB_DOUBLE:
		return json_real(*(const double *)src);
	case KNOB_BOOL:
		return json_boolean(*(const bool *)src);
	case KNOB_STR:
	case KNOB_CHOICE:
		return *(const char *const *)src ? json_string(*(const char *const *)src) : json_null();
	case KNOB_IDS:
		return json_null();
	}
	return json_null();
}

json_t *job_settings_json(const struct job_kind *kind, const struct job_settings *s,
			  json_t *params, json_t *resolved, json_t *metrics)
{
	json_t *out = json_object();
	for (const struct knob *k = kind->knobs; out && k->name; k++) {
		if (k->flags & KNOB_INTERNAL)
			continue;
		json_t *v = NULL;
		if (k->type == KNOB_IDS) {
			v = json_object_get(params, k->name);
			v = json_is_array(v) ? json_deep_copy(v) : json_null();
		} else if (k->type == KNOB_ID) {
			json_t *r = json_object_get(resolved, k->name);
			if (!json_is_integer(r) || json_integer_value(r) < 1)
				r = json_object_get(metrics, k->name);
			v = json_is_integer(r) && json_integer_value(r) >= 1 ? json_copy(r) :
			    knob_value(k, s);
		} else {
			v = knob_value(k, s);
		}
		json_object_set_new(out, k->name, v);
	}
	return out;
}

/* ---- the listing (GET /api/jobs/kinds) --------------------------------------- */

/* Knob k as listed (new); its default read from defs. */
static json_t *knob_json(const struct knob *k, const struct job_settings *defs)
{
	static const char *const TYPES[] = {
		[KNOB_INT] = "int", [KNOB_ID] = "model", [KNOB_U64] = "int", [KNOB_FLOAT] = "number",
		[KNOB_DOUBLE] = "number", [KNOB_BOOL] = "bool", [KNOB_STR] = "string",
		[KNOB_CHOICE] = "choice", [KNOB_IDS] = "ids",
	};
	json_t *p = json_pack("{ss ss}", "name", k->name, "type", TYPES[k->type]);
	if (!p)
		return NULL;
	json_object_set_new(p, "default", k->flags & KNOB_NULLDEF ? json_null() : knob_value(k, defs));
	switch (k->type) {
	case KNOB_INT:
	case KNOB_FLOAT:
	case KNOB_DOUBLE:
		json_object_set_new(p, "min", k->type == KNOB_INT ? json_integer((json_int_t)k->lo) :
				    json_real(k->lo));
		json_object_set_new(p, "max", k->type == KNOB_INT ? json_integer((json_int_t)k->hi) :
				    json_real(k->hi));
		break;
	case KNOB_U64:
		json_object_set_new(p, "min", json_integer(0));
		break;
	case KNOB_ID:
		json_object_set_new(p, "min", json_integer(1));
		json_object_set_new(p, "models", k->flags & KNOB_REWARD ?
				    json_pack("[s]", "reward") : json_pack("[sss]", "base", "sft", "policy"));
		break;
	case KNOB_STR:
	case KNOB_IDS:
		json_object_set_new(p, "max_length", json_integer((json_int_t)k->hi));
		break;
	case KNOB_CHOICE: {
		json_t *c = json_array();
		for (int i = 0; k->choices[i]; i++)
			json_array_append_new(c, json_string(k->choices[i]));
		json_object_set_new(p, "choices", c);
		break;
	}
	case KNOB_BOOL:
		break;
	}
	if (k->flags & KNOB_REQUIRED)
		json_object_set_new(p, "required", json_true());
	if (k->flags & KNOB_ADVANCED)
		json_object_set_new(p, "advanced", json_true());
	json_object_set_new(p, "help", json_string(k->help));
	return p;
}

json_t *job_param_json(const char *kind, const char *name)
{
	const struct job_kind *kd = job_kind_find(kind);
	const struct knob *k = kd ? knob_find(kd, name) : NULL;
	struct job_settings defs;
	if (!k || (k->flags & KNOB_INTERNAL))
		return NULL;
	settings_defaults(kd, &defs);
	return knob_json(k, &defs);
}

static json_t *kind_json(const struct job_kind *kd)
{
	struct job_settings defs;
	json_t *params = json_array();
	settings_defaults(kd, &defs);
	for (const struct knob *k = kd->knobs; params && k->name; k++)
		if (!(k->flags & KNOB_INTERNAL))
			json_array_append_new(params, knob_json(k, &defs));
	return json_pack("{ss so* sb ss so*}", "name", kd->name, "produces",
			 kd->produces ? json_string(kd->produces) : json_null(),
			 "activates", kd->activates, "help", kd->help, "params", params);
}

json_t *job_kinds_json(void)
{
	json_t *kinds = json_array();
	for (size_t i = 0; kinds && i < N_KINDS; i++)
		json_array_append_new(kinds, kind_json(&KINDS[i]));
	return json_pack("{so* s{so*}}", "kinds", kinds, "auto_train", "params",
			 autotrain_params_json());
}
