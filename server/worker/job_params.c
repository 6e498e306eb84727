/*
 * server/worker/job_params.c — THE table of job knobs: for each job kind, the keys
 * its params may hold, their types, ranges and where they go.  The HTTP
 * handlers check a request against it (job_params_check: unknown key or bad
 * value → 400), and a job reads its settings through it
 * (job_settings_parse), so the two can never disagree.
 *
 * Defaults are the trainers' own (model/trainer.h *_defaults) unless set in
 * settings_defaults below.  In short (null = the default, for every key):
 *
 *   every training kind: model_id (the active model), name, micro_batch (8
 *     rows per forward pass), max_seq (256 positions, at most the model's)
 *   generate: model_id, prompt_ids | split ("train": its prompts without a
 *     group from this model) + max_prompts (0 = all), k 4 (<= GEN_MAX_K), temperature 1,
 *     top_p 0.95, top_k 0, max_tokens 96, seed (the job id)
 *   sft: activate true, lr 5e-4, min_lr 5e-5, warmup_frac 0.05,
 *     weight_decay 0, grad_clip 1, epochs 3, batch_size 16, max_steps 0,
 *     seed 1, min_score 4, include_imported true
 *   reward: lr 3e-4, min_lr 3e-5, warmup_frac 0.05, weight_decay 0,
 *     grad_clip 1, epochs 4, batch_groups 8, margin_scale 0, heldout_frac 0.2,
 *     head_init_std 0.01, normalize true, seed 1, train_layers -1 (all),
 *     score "mean" (the new model scores an answer by the mean of the scalar
 *     head over its tokens; "last": at its last token, as InstructGPT —
 *     the mean generalises better from a few thousand demo pairs)
 *   ppo / rloo / grpo: activate true, reward_model_id (the newest),
 *     ref_model_id (the nearest sft ancestor, else the policy), split
 *     "train", max_prompts 0, lr 3e-4 (constant), value_lr 1e-3, iterations
 *     40, prompts_per_iter 8, k 4, max_new 48, temperature 1, top_p 1,
 *     epochs 2, minibatch 16, clip_eps 0.2, clip_value 0.2, gamma 1, lam 0.95,
 *     whiten_adv true, kl_beta 0.05, kl_target 1, kl_horizon 2000, kl_coef
 *     0.05, missing_eos_penalty 1, grpo_eps 1e-4, seed 1
 *   dpo: activate true, ref_model_id, lr 1e-4, min_lr 1e-5, warmup_frac 0.05,
 *     epochs 3, batch_pairs 8, beta 0.1, label_smoothing 0, seed 1
 *   eval: model_id (required by the API), reward_model_id (the newest, if
 *     any), ref_model_id, split "eval", max_prompts 0, k 1, max_new 48,
 *     temperature 0 (greedy), top_p 1, seed 1, micro_batch, max_seq
 */
#include "server/worker/job_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum knob_type {
	KNOB_INT,      /* int */
	KNOB_ID,       /* int64_t, >= 1 */
	KNOB_U64,      /* uint64_t (seeds), >= 0 */
	KNOB_FLOAT,    /* float */
	KNOB_DOUBLE,   /* double */
	KNOB_BOOL,     /* bool */
	KNOB_STR,      /* const char *, 1..hi bytes */
	KNOB_CHOICE,   /* const char *, one of the knob's choices */
	KNOB_IDS,      /* an array of 1..hi positive ids (read from params by the job) */
};

#define KNOB_INTERNAL 1u   /* written by the server only */

struct knob {
	const char *name;
	enum knob_type type;
	double lo, hi;
	size_t off;            /* in struct job_settings; unused for KNOB_IDS */
	unsigned flags;
	const char *const *choices; /* KNOB_CHOICE: the allowed strings, NULL-ended */
};

static const char *const SPLITS[] = { "train", "eval", NULL };
static const char *const SCORES[] = { "mean", "last", NULL }; /* enum llama_score */

#define K(name, type, lo, hi, field) \
	{ name, type, lo, hi, offsetof(struct job_settings, field), 0, NULL }
#define KC(name, choices, field) \
	{ name, KNOB_CHOICE, 0, 0, offsetof(struct job_settings, field), 0, choices }
#define KI(name, type, lo, hi, field) \
	{ name, type, lo, hi, offsetof(struct job_settings, field), KNOB_INTERNAL, NULL }
#define OPTIMIZER(p) \
	K("lr", KNOB_FLOAT, 1e-12, 10, p.lr), \
	K("min_lr", KNOB_FLOAT, 0, 10, p.min_lr), \
	K("warmup_frac", KNOB_FLOAT, 0, 1, p.warmup_frac), \
	K("weight_decay", KNOB_FLOAT, 0, 100, p.weight_decay), \
	K("grad_clip", KNOB_FLOAT, 0, 1e9, p.grad_clip)
/* what every training kind has */
#define TRAINING \
	K("model_id", KNOB_ID, 1, 0, model_id), \
	K("name", KNOB_STR, 1, 200, name), \
	K("micro_batch", KNOB_INT, 1, 256, micro_batch), \
	K("max_seq", KNOB_INT, 8, 1 << 20, max_seq), \
	KI("auto", KNOB_BOOL, 0, 0, auto_chain)
#define END { NULL, KNOB_INT, 0, 0, 0, 0, NULL }

static const struct knob GENERATE[] = {
	K("model_id", KNOB_ID, 1, 0, model_id),
	{ "prompt_ids", KNOB_IDS, 1, 100000, 0, 0, NULL },
	KC("split", SPLITS, split),
	K("max_prompts", KNOB_INT, 0, 1e7, max_prompts),
	K("k", KNOB_INT, 1, GEN_MAX_K, k),
	K("temperature", KNOB_FLOAT, 0, 10, temperature),
	K("top_p", KNOB_FLOAT, 1e-6, 1, top_p),
	K("top_k", KNOB_INT, 0, 1e6, top_k),
	K("max_tokens", KNOB_INT, 1, 65536, max_tokens),
	K("seed", KNOB_U64, 0, 0, seed),
	KI("auto", KNOB_BOOL, 0, 0, auto_chain),
	END
};

static const struct knob SFT[] = {
	TRAINING,
	K("activate", KNOB_BOOL, 0, 0, activate),
	OPTIMIZER(sft),
	K("epochs", KNOB_INT, 1, 1000, sft.epochs),
	K("batch_size", KNOB_INT, 1, 65536, sft.batch_size),
	K("max_steps", KNOB_INT, 0, 1e9, sft.max_steps),
	K("seed", KNOB_U64, 0, 0, sft.seed),
	K("min_score", KNOB_DOUBLE, 1, 5, min_score),
	K("include_imported", KNOB_BOOL, 0, 0, include_imported),
	END
};

static const struct knob REWARD[] = {
	TRAINING,
	OPTIMIZER(reward),
	K("epochs", KNOB_INT, 1, 1000, reward.epochs),
	K("batch_groups", KNOB_INT, 1, 65536, reward.batch_groups),
	K("margin_scale", KNOB_FLOAT, 0, 100, reward.margin_scale),
	K("heldout_frac", KNOB_FLOAT, 0, 0.9, reward.heldout_frac),
	K("head_init_std", KNOB_FLOAT, 0, 10, reward.head_init_std),
	K("train_layers", KNOB_INT, -1, 1024, reward.train_layers),
	KC("score", SCORES, score),
	K("normalize", KNOB_BOOL, 0, 0, reward.normalize),
	K("seed", KNOB_U64, 0, 0, reward.seed),
	KI("ratings_upto", KNOB_ID, 0, 0, ratings_upto),
	END
};

static const struct knob RL[] = {
	TRAINING,
	K("activate", KNOB_BOOL, 0, 0, activate),
	K("reward_model_id", KNOB_ID, 1, 0, reward_model_id),
	K("ref_model_id", KNOB_ID, 1, 0, ref_model_id),
	KC("split", SPLITS, split),
	K("max_prompts", KNOB_INT, 0, 1e7, max_prompts),
	OPTIMIZER(rl),
	K("value_lr", KNOB_FLOAT, 1e-12, 10, rl.value_lr),
	K("iterations", KNOB_INT, 1, 1e6, rl.iterations),
	K("prompts_per_iter", KNOB_INT, 1, 4096, rl.prompts_per_iter),
	K("k", KNOB_INT, 1, 64, rl.k),
	K("max_new", KNOB_INT, 1, 4096, rl.max_new),
	K("temperature", KNOB_FLOAT, 0, 10, rl.temperature),
	K("top_p", KNOB_FLOAT, 0, 1, rl.top_p),
	K("epochs", KNOB_INT, 1, 1000, rl.epochs),
	K("minibatch", KNOB_INT, 1, 65536, rl.minibatch),
	K("clip_eps", KNOB_FLOAT, 0, 10, rl.clip_eps),
	K("clip_value", KNOB_FLOAT, 0, 1e9, rl.clip_value),
	K("gamma", KNOB_FLOAT, 0, 1, rl.gamma),
	K("lam", KNOB_FLOAT, 0, 1, rl.lam),
	K("whiten_adv", KNOB_BOOL, 0, 0, rl.whiten_adv),
	K("kl_beta", KNOB_FLOAT, 0, 1000, rl.kl_beta),
	K("kl_target", KNOB_FLOAT, -1, 1e9, rl.kl_target),
	K("kl_horizon", KNOB_FLOAT, 1, 1e12, rl.kl_horizon),
	K("kl_coef", KNOB_FLOAT, 0, 1000, rl.kl_coef),
	K("missing_eos_penalty", KNOB_FLOAT, -1000, 1000, rl.missing_eos_penalty),
	K("grpo_eps", KNOB_FLOAT, 1e-12, 1, rl.grpo_eps),
	K("seed", KNOB_U64, 0, 0, rl.seed),
	END
};

static const struct knob DPO[] = {
	TRAINING,
	K("activate", KNOB_BOOL, 0, 0, activate),
	K("ref_model_id", KNOB_ID, 1, 0, ref_model_id),
	OPTIMIZER(dpo),
	K("epochs", KNOB_INT, 1, 1000, dpo.epochs),
	K("batch_pairs", KNOB_INT, 1, 65536, dpo.batch_pairs),
	K("beta", KNOB_FLOAT, 1e-6, 1000, dpo.beta),
	K("label_smoothing", KNOB_FLOAT, 0, 0.5, dpo.label_smoothing),
	K("seed", KNOB_U64, 0, 0, dpo.seed),
	END
};

static const struct knob EVAL[] = {
	K("model_id", KNOB_ID, 1, 0, model_id),
	K("reward_model_id", KNOB_ID, 1, 0, reward_model_id),
	K("ref_model_id", KNOB_ID, 1, 0, ref_model_id),
	KC("split", SPLITS, split),
	K("max_prompts", KNOB_INT, 0, 1e7, max_prompts),
	K("micro_batch", KNOB_INT, 1, 256, micro_batch),
	K("max_seq", KNOB_INT, 8, 1 << 20, max_seq),
	K("k", KNOB_INT, 1, 64, eval.k),
	K("max_new", KNOB_INT, 1, 4096, eval.max_new),
	K("temperature", KNOB_FLOAT, 0, 10, eval.temperature),
	K("top_p", KNOB_FLOAT, 0, 1, eval.top_p),
	K("seed", KNOB_U64, 0, 0, eval.seed),
	END
};

static const struct {
	const char *kind;
	const struct knob *knobs;
} KINDS[] = {
	{ "generate", GENERATE }, { "sft", SFT }, { "reward", REWARD }, { "ppo", RL },
	{ "rloo", RL }, { "grpo", RL }, { "dpo", DPO }, { "eval", EVAL },
};

static const struct knob *kind_knobs(const char *kind)
{
	for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
		if (!strcmp(KINDS[i].kind, kind))
			return KINDS[i].knobs;
	return NULL;
}

bool job_kind_known(const char *kind)
{
	return kind && kind_knobs(kind) != NULL;
}

static bool bad(char *field, size_t fl, char *msg, size_t ml, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static bool bad(char *field, size_t fl, char *msg, size_t ml, const char *key,
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

/* Checks v against knob k; stores it into s when s is not NULL. */
static bool knob_apply(const struct knob *k, json_t *v, struct job_settings *s, const char *where,
		       char *field, size_t fl, char *msg, size_t ml)
{
	char *dst = s ? (char *)s + k->off : NULL;
	char key[96];
	if (where)
		snprintf(key, sizeof key, "%s.%s", where, k->name);
	else
		snprintf(key, sizeof key, "%s", k->name);
	switch (k->type) {
	case KNOB_INT:
	case KNOB_ID:
	case KNOB_U64: {
		if (!json_is_integer(v))
			return bad(field, fl, msg, ml, key, "'%s' must be an integer", key);
		json_int_t x = json_integer_value(v);
		double lo = k->type == KNOB_INT ? k->lo : k->type == KNOB_ID ? 1 : 0;
		bool capped = k->type == KNOB_INT;
		if (x < lo || (capped && x > k->hi)) {
			if (capped)
				return bad(field, fl, msg, ml, key, "'%s' must be in %g..%g", key,
					   k->lo, k->hi);
			return bad(field, fl, msg, ml, key, "'%s' must be %s", key,
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
	case KNOB_FLOAT:
	case KNOB_DOUBLE: {
		if (!json_is_number(v))
			return bad(field, fl, msg, ml, key, "'%s' must be a number", key);
		double x = json_number_value(v);
		if (!(x >= k->lo && x <= k->hi))
			return bad(field, fl, msg, ml, key, "'%s' must be in %g..%g", key, k->lo, k->hi);
		if (dst && k->type == KNOB_FLOAT)
			*(float *)dst = (float)x;
		else if (dst)
			*(double *)dst = x;
		return true;
	}
	case KNOB_BOOL:
		if (!json_is_boolean(v))
			return bad(field, fl, msg, ml, key, "'%s' must be true or false", key);
		if (dst)
			*(bool *)dst = json_is_true(v);
		return true;
	case KNOB_STR:
		if (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) > k->hi)
			return bad(field, fl, msg, ml, key, "'%s' must be a string of 1 to %g bytes",
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
			return bad(field, fl, msg, ml, key, "'%s' must be %s", key, list);
		}
		if (dst)
			*(const char **)dst = sv;
		return true;
	}
	case KNOB_IDS: {
		if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > k->hi)
			return bad(field, fl, msg, ml, key, "'%s' must be an array of 1 to %g ids",
				   key, k->hi);
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
			if (!json_is_integer(e) || json_integer_value(e) < 1)
				return bad(field, fl, msg, ml, key, "'%s[%zu]' must be a positive id",
					   key, i);
		return true;
	}
	}
	return false;
}

static bool apply_all(const char *kind, json_t *params, bool internal, struct job_settings *s,
		      const char *where, char *field, size_t fl, char *msg, size_t ml)
{
	const struct knob *knobs = kind_knobs(kind);
	if (!knobs) {
		if (field && fl)
			snprintf(field, fl, "kind");
		if (msg && ml)
			snprintf(msg, ml, "unknown job kind '%s'", kind ? kind : "");
		return false;
	}
	if (!json_is_object(params))
		return bad(field, fl, msg, ml, where ? where : "params", "'%s' must be an object",
			   where ? where : "params");
	const char *key;
	json_t *v;
	json_object_foreach(params, key, v) {
		const struct knob *k = knobs;
		while (k->name && strcmp(k->name, key))
			k++;
		if (!k->name || ((k->flags & KNOB_INTERNAL) && !internal)) {
			char name[96];
			if (where)
				snprintf(name, sizeof name, "%s.%s", where, key);
			else
				snprintf(name, sizeof name, "%s", key);
			return bad(field, fl, msg, ml, name, "unknown parameter '%s' for a %s job", name,
				   kind);
		}
		if (json_is_null(v))
			continue;               /* null = the default */
		if (!knob_apply(k, v, s, where, field, fl, msg, ml))
			return false;
	}
	return true;
}

bool job_params_check(const char *kind, json_t *params, bool internal, const char *where,
		      char *field, size_t field_len, char *msg, size_t msg_len)
{
	return apply_all(kind, params, internal, NULL, where, field, field_len, msg, msg_len);
}

static void settings_defaults(const char *kind, struct job_settings *s)
{
	memset(s, 0, sizeof *s);
	s->micro_batch = 8;
	s->max_seq = 256;
	/* generate: K sampled answers, varied enough to be worth comparing */
	s->k = 4;
	s->temperature = 1.0f;
	s->top_p = 0.95f;
	s->max_tokens = 96;
	s->min_score = 4;
	s->score = "mean";
	s->include_imported = true;
	/* every job that makes a generator activates it unless told not to */
	s->activate = strcmp(kind, "reward") != 0 && strcmp(kind, "eval") != 0;
	trainer_sft_defaults(&s->sft);
	trainer_reward_defaults(&s->reward);
	trainer_rl_defaults(&s->rl);
	trainer_dpo_defaults(&s->dpo);
	trainer_eval_defaults(&s->eval);
}

bool job_settings_parse(const char *kind, json_t *params, struct job_settings *s,
			char *msg, size_t msg_len)
{
	settings_defaults(kind ? kind : "", s);
	return apply_all(kind, params, true, s, NULL, NULL, 0, msg, msg_len);
}
