/*
 * server/worker/job_impl.h — internal to the job runner (server/worker/job*.c and
 * autotrain.c): the settings a job reads from its params, the registry of
 * job kinds, the running job with its reporting state, and the helpers every
 * kind uses (models, tokens, reporting, new versions).  Not for use outside
 * server/worker/.
 */
#ifndef RLHFD_SERVER_JOB_IMPL_H
#define RLHFD_SERVER_JOB_IMPL_H

#include "server/worker/job.h"
#include "server/worker/gen.h"
#include "server/worker/modelstore.h"
#include "db/jobs.h"
#include "db/versions.h"
#include "model/llama.h"
#include "model/tokenizer.h"
#include "model/trainer.h"

#include <stdio.h>

/* Every knob of every kind (job_params.c has the tables: names, ranges,
 * which kinds read which, help).  Strings are borrowed from the params
 * object. */
struct job_settings {
	/* models and data */
	int64_t model_id;           /* starting / generating / evaluated model (0 = active) */
	int64_t reward_model_id;    /* 0 = the newest reward model */
	int64_t ref_model_id;       /* 0 = the SFT ancestor of the policy */
	bool activate;              /* activate the new version (struct job_kind's activates) */
	const char *name;           /* the new version's name */
	const char *split;          /* prompts of this split (the kind's split by default) */
	int max_prompts;            /* at most this many prompts (0 = all) */
	int micro_batch;            /* rows per forward pass (8) */
	int max_seq;                /* positions per row at most (256; <= the model's) */
	/* reward */
	bool warm_start;            /* start from the newest reward model (true) */
	int warm_epochs;            /* epochs when warm-started, unless epochs is given (1) */
	bool prior;                 /* the reference's likelihood prior in the score (true) */
	const char *score;          /* how the new reward model scores: "mean" (over
				       the answer's tokens) or "last" (its last token) */
	/* score */
	bool unscored;              /* only answers the reward model has not scored (false) */
	/* generate */
	bool distinct;              /* a group's answers distinct texts (true) */
	bool again;                 /* also prompts the model answered before (false) */
	int explore;                /* generate: this many more prompts no answer of
				       which is rated min_score yet (0) */
	int64_t pair_model_id;      /* prompts this model answered first (0 = none) */
	int k, top_k, max_tokens;
	float temperature, top_p;
	uint64_t seed;              /* the job id unless params give one */
	/* ppo, rloo, grpo: which prompts, whether the reward model is good
	 * enough to start, whether the result replaces its parent */
	const char *rl_prompts;     /* "rated" (the reward model's training prompts) or "all" */
	const char *promote;        /* "gate", "always", "never" */
	float require_reward_acc;   /* the reward model's held-out accuracy's lower bound must
				       be above this (0 = no check) */
	/* sft */
	double min_score;           /* answers with a mean score >= this (4) */
	bool include_imported;      /* plus unrated imported demonstrations (true) */
	/* best */
	const char *best_from;      /* "reference" (fine-tuned afresh), "parent" or "previous" */
	int best_focus;             /* each best-rated answer is trained on 1 + this x the
				       answers of its group rated below min_score times a
				       pass (1; 0 = each once) */
	int best_soup;              /* from the reference: average with the previous best
				       policy, the newest weighing 1/min(members, this);
				       0 or 1 = no soup (3) */
	float soup_margin;          /* the gate's non-inferiority margin for a soup with
				       its parent among its members (0.1; 0 = it must
				       beat the parent like any candidate) */
	int rs_k;                   /* answers the parent samples per training prompt for the
				       reward model to pick from (0 = people's answers only,
				       the default) */
	float rs_min;               /* ... the pick joins when scored at least this (0.5) */
	float rs_require_acc;       /* ... only with a reward model whose held-out accuracy's
				       lower bound is above this (0.55) */
	double ptx;                 /* pre-training documents per best-rated answer (1) */
	int ptx_tokens;             /* each cut to this many tokens (32) */
	/* the trainers' own */
	struct trainer_sft_params sft;
	struct trainer_reward_params reward;
	struct trainer_rl_params rl;
	struct trainer_dpo_params dpo;
	struct trainer_eval_params eval;
	/* written by the server only */
	bool auto_chain;            /* "auto": part of the auto-training loop */
	int64_t ratings_upto;
	int64_t orderings_upto;
};

/* ---- the registry of job kinds (job_params.c) ------------------------------------ */

struct job;
struct knob;                    /* one parameter of a kind (job_params.c) */

/* A job kind: what runs it, what it makes, which parameters it takes. */
struct job_kind {
	const char *name;
	int (*run)(struct job *j);  /* job_generate.c, job_train.c */
	const char *produces;       /* the model kind of the version it makes, NULL = none */
	bool activates;             /* that version is activated unless "activate": false */
	const char *split;          /* the prompts it reads unless "split" says (NULL = none) */
	const char *help;           /* one line: what it does */
	const struct knob *knobs;
};

/* The kind called name, or NULL. */
const struct job_kind *job_kind_find(const char *name);

/* Fills s with the defaults of kind, then the values in params (checked as
 * job_params_check does, internal keys allowed); a parameter whose default
 * is the job id gets job_id.  false with msg set when a value is bad. */
bool job_settings_parse(const struct job_kind *kind, json_t *params, int64_t job_id,
			struct job_settings *s, char *msg, size_t msg_len);

/* What a job ran with (new): every parameter GET /api/jobs/kinds lists for
 * kind, by name, its value in s — the model ids the job chose at run time
 * from resolved (else from metrics, where a job records them as figures),
 * null for those it never chose.  params, resolved, metrics borrowed. */
json_t *job_settings_json(const struct job_kind *kind, const struct job_settings *s,
			  json_t *params, json_t *resolved, json_t *metrics);

/* Parameter name of kind as GET /api/jobs/kinds lists it (new), or NULL when
 * kind has no such public parameter. */
json_t *job_param_json(const char *kind, const char *name);

/* Writes key into field (fl bytes) and the formatted sentence into msg (ml
 * bytes), either may be NULL; returns false, for `return job_bad_field(...)`
 * in the parameter checks (job_params.c, autotrain.c). */
bool job_bad_field(char *field, size_t fl, char *msg, size_t ml, const char *key,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Checks v against parameter name of kind as job_params_check does, naming
 * it field_name in field/msg (auto_train.generate_k is generate's k). */
bool job_param_check(const char *kind, const char *name, json_t *v, const char *field_name,
		     char *field, size_t field_len, char *msg, size_t msg_len);

/* Likelihood-prior features kept between jobs (job_prior.c): those of one
 * language model version and empty prompt, by trainer_seq_hash — what the
 * reward and score jobs of the next round find again for every answer rated
 * before. */
struct prior_slot {
	uint64_t key;               /* 0 = empty */
	float f[TRAINER_PRIOR_FEATS];
};
struct prior_store {
	int64_t lm_id;              /* the features' language model; 0 = none yet */
	int *uncond;                /* (n_uncond) its empty prompt's tokens (owned) */
	int n_uncond;
	uint64_t rivals;            /* its rivals' trainer_rivals hash; 0 = none */
	struct prior_slot *slots;   /* (cap) open addressing, cap a power of 2 */
	size_t cap, n;
	int64_t hits, misses;       /* since the last rm_prior_cache */
};

/* The generator kept between generate jobs (job.c): server/worker/gen.h's model,
 * the one generation path of the program; and the prior's features. */
struct job_cache {
	bool loaded;
	int64_t id;                 /* the version loaded */
	struct gen_model g;
	struct prior_store prior;
};

struct job {
	struct job_env *env;
	struct job_cache *cache;    /* env->cache, or own_cache for this job only */
	struct job_cache own_cache;
	int64_t id;
	const char *kind;
	json_t *params;             /* the job's params (owned) */
	const struct job_kind *def; /* its kind, once its params parsed (else NULL) */
	struct job_settings s;
	json_t *metrics;            /* summary figures recorded at the end (owned) */
	json_t *resolved;           /* ids chosen at run time (owned), stored with
				       the new version's params */
	int64_t model_id;           /* the version produced */
	char err[1024];
	/* reporting: metrics buffered and written with the progress in one
	 * transaction at most every JOB_FLUSH_SEC */
	struct db_work_metric *mbuf;
	size_t n_mbuf, cap_mbuf;
	float progress;
	bool progress_dirty;
	double last_flush, last_poll, started;
	bool cancel_seen;
	struct trainer_hooks hooks;
};

#define JOB_FLUSH_SEC 0.5
#define JOB_POLL_SEC 0.2

/* Formats the job's error into j->err and returns rc. */
int job_fail(struct job *j, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reporting.  job_metric skips values that are not finite. */
void job_metric(struct job *j, int step, const char *name, double value);
void job_progress(struct job *j, float frac);
bool job_cancelled(struct job *j);
/* Writes what is buffered now (force) or when JOB_FLUSH_SEC passed. */
void job_flush(struct job *j, bool force);
double job_now(void);
/* One line on stderr (unless quiet): "rlhfd: job N (kind): ...". */
void job_log(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- models --------------------------------------------------------------- */

/* The model that generates/trains: s.model_id or the active one, which must
 * be of a generating kind.  *id set; -1 with j->err on failure. */
int job_policy_id(struct job *j, int64_t *id);
/* s.reward_model_id or the newest reward model. */
int job_reward_id(struct job *j, int64_t *id);
/* s.ref_model_id or the nearest version of kind sft among policy_id and its
 * ancestors, else policy_id itself. */
int job_ref_id(struct job *j, int64_t policy_id, int64_t *id);

/* Whether a reward model (its version's metrics, borrowed) is credible enough
 * for RL: the 95 % lower bound of its held-out-by-prompt pairwise accuracy
 * above need.  When not, why (why_len bytes) says so with the figures. */
bool job_reward_credible(json_t *rm_metrics, float need, char *why, size_t why_len);
/* modelstore_load into m with the message in j->err. */
int job_load(struct job *j, int64_t id, struct modelstore_model *m);
/* A training model for src's config, max_B x max_T, flags, params copied
 * (head included). */
int job_llama(struct job *j, struct llama_model *m, const struct modelstore_model *src,
	      int max_B, int max_T, unsigned flags);
/* min(src seq_len, s.max_seq, need) (need <= 0: no such bound). */
int job_max_T(const struct job *j, const struct modelstore_model *src, int need);

/* Records a new version made by this job from model m (cfg and params of
 * m): kind, parent, meta from src (its template and tokenizer), the job's
 * params with j->resolved, metrics (borrowed), rating ids. */
int job_save_version(struct job *j, const char *kind, int64_t parent_id,
		     const struct modelstore_model *src, const struct llama_model *m,
		     json_t *metrics, const int64_t *rating_ids, size_t n_ratings, bool activate);

/* ---- tokens ----------------------------------------------------------------- */

/* A growing array of token ids; sequences are kept as offsets into it and
 * turned into pointers when the array stops growing. */
struct job_toks {
	int *ids;
	size_t n, cap;
};
void job_toks_release(struct job_toks *t);
/* Appends BOS + the template-formatted prompt (the whole conversation when
 * messages, its JSON array text, is not NULL: gen.h's gen_prompt_tokens);
 * *len = tokens appended. */
int job_toks_prompt(struct job *j, struct job_toks *t, const struct tokenizer *tk,
		    const struct modelstore_model *m, const char *prompt, const char *messages,
		    int *len);
/* Appends an answer's tokens (as the model writes them after the prompt:
 * with the leading space), plus m's EOS when ended; *len = tokens appended. */
int job_toks_response(struct job *j, struct job_toks *t, const struct tokenizer *tk,
		      const struct modelstore_model *m, const char *text, bool ended, int *len);

/* ---- the reward model's likelihood prior (job_prior.c) ---------------------------- */

/* A reward model's prior as a job runs it (struct trainer_prior): the
 * trainer's struct and, when its language model is not one the job loaded
 * anyway, that model.  Zero-initialised = none. */
struct rm_prior {
	struct trainer_prior pr;     /* pr.uncond points into uncond */
	struct job_toks uncond;      /* BOS + the template around an empty prompt */
	int64_t model_id;            /* the prior's language model version */
	struct modelstore_model m;   /* that version, when loaded here */
	struct llama_model own;      /* and its forward-only model */
	struct trainer_prior_cache tc; /* pr.cache when rm_prior_cache attached it */
	struct trainer_idf idf;      /* pr.idf when set: the overlap feature's
					word weights */
	json_t *df;                  /* {word: prompts it occurs in}, when
					rm_prior_idf counted them (new reference) */
	int n_prompts;               /* the prompts idf was counted over */
	struct trainer_rivals rivals; /* pr.rivals when set: the recognition
					 feature's prompts, the database's */
};
void rm_prior_release(struct rm_prior *p);
/* Lets p (its language model, empty prompt and rivals set by rm_prior_lm,
 * rm_prior_idf or rm_prior_attach) find and keep its features in the job's
 * cache (struct prior_store; emptied first when it held another model's,
 * template's or set of rivals'); for the reward and score jobs, which see the
 * same answers round after round.  Returns 0 or -ENOMEM. */
int rm_prior_cache(struct job *j, struct rm_prior *p);
/* The overlap feature's word weights (struct trainer_idf): the words of
 * every prompt in the database as like's template and tk put it (the
 * template's words are in every prompt and so weigh 0), counted once a
 * prompt; and the recognition feature's rivals, those prompts.  For the
 * reward job; the others read the weights back with rm_prior_attach, which
 * takes the rivals from the database as it is then.  Returns 0 or a negative
 * error (failing j). */
int rm_prior_idf(struct job *j, struct rm_prior *p, const struct tokenizer *tk,
		 const struct modelstore_model *like);
/* What the store said since rm_prior_cache — answers found, answers
 * computed — in the job's log and its metrics ("prior_features_kept"). */
void rm_prior_cache_report(struct job *j);
/* Empties a store and frees what it holds. */
void prior_store_release(struct prior_store *s);
/* The store as trainer_prior_cache calls it (ctx: the store): exposed for
 * tests/unit. */
bool prior_store_get(void *ctx, uint64_t key, float *f);
void prior_store_put(void *ctx, uint64_t key, const float *f);
/* Points p->pr.lm at version id: lm itself when id is lm_id (lm may be NULL),
 * else a forward-only model (at least B rows, T) of that version loaded into p, which must
 * be a language model of like's vocabulary; and p->pr.uncond at the empty
 * prompt in like's template tokenized by tk (borrowed; the template and
 * tokenizer the scored answers' prompts are in). */
int rm_prior_lm(struct job *j, struct rm_prior *p, int64_t id, struct llama_model *lm,
		int64_t lm_id, const struct modelstore_model *like, const struct tokenizer *tk,
		int B, int T);
/* The job metrics' "prior" of a reward model: the version its features come
 * from and the fitted weights (new reference). */
json_t *rm_prior_json(const struct rm_prior *p);
/* The version metadata's "prior": rm_prior_json's and, when rm_prior_idf
 * counted them, "overlap": {"prompts": N, "df": {word: count}}, the prompts
 * each word is in (new reference). */
json_t *rm_prior_meta(const struct rm_prior *p);
/* Attaches the prior recorded in reward model mrm's metadata to rm (its
 * language model: lm when the prior's version is lm_id, else loaded with B,
 * T); p->pr.alone starts false.  A reward model without "prior" scores with
 * its network alone (rm->prior stays NULL, p->model_id 0).  tk (borrowed)
 * tokenizes the prior's empty prompt (rm_prior_lm). */
int rm_prior_attach(struct job *j, const struct modelstore_model *mrm,
		    const struct tokenizer *tk, struct llama_model *rm, struct rm_prior *p,
		    struct llama_model *lm, int64_t lm_id, int B, int T);

/* ---- the kinds (job_generate.c, job_train.c, job_score.c) ---------------------- */

int job_generate(struct job *j);
int job_sft(struct job *j);
int job_reward(struct job *j);
int job_rl(struct job *j);          /* ppo, rloo, grpo */
int job_dpo(struct job *j);
int job_best(struct job *j);        /* fine-tuning on the best-rated answers */
int job_eval(struct job *j);
int job_score(struct job *j);       /* job_score.c */

/* Version id loaded for up to k answers a call (from the cache when it
 * holds it with room for k); borrowed until the job ends. */
int job_cache_get(struct job *j, int64_t id, int k, struct gen_model **g);

#endif
