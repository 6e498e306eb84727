/*
 * server/worker/autotrain.c — the auto-training loop, all of it: when a loop
 * starts, which job follows which, and what its settings may hold.
 *
 * The loop: when config auto_train.enabled and at least
 * auto_train.reward_every_n_ratings current ratings — and answers placed by
 * rank or pair judgements, which count as ratings — are newer than the last
 * reward job's marks (db_work_auto_new), the
 * worker thread queues a reward
 * job with "auto": true (autotrain_tick, called when the queue is empty);
 * each auto job that succeeds queues the next one of the loop in the same
 * transaction that records its success (autotrain_queue_next, from job.c):
 * reward → auto_train.rl_kind → generate of auto_train.generate_k answers to
 * up to auto_train.generate_prompts unanswered train prompts from the new
 * policy (active or not).  So the loop turns by itself, and stops at the first failure or
 * when auto_train.enabled is switched off.  While an auto job is queued or
 * running no new loop starts.
 *
 * What keeps the loop from hurting the model: after the reward job, RL is
 * queued only when the new reward model is credibly better than chance on
 * held-out prompts (job_reward_credible, at the RL job's require_reward_acc;
 * best, which takes people's ratings as targets, requires nothing by
 * default); otherwise the round ends there and
 * the loop waits for reward_every_n_ratings more ratings.  The RL job runs
 * with auto_train.promote ("gate": its result replaces the active model only
 * if it passes the promotion gate, server/worker/promote.h).  And before a
 * new round, people's ratings of the active policy's answers are compared
 * with its parent's (autotrain_verdict): when they are worse by a sign test
 * the parent is activated again; and a candidate the gate kept is activated
 * when people's ratings of its answers are better than the active model's.
 *
 * The settings (the keys of AUTO below) are checked as the jobs they feed
 * check them, from the registry of job kinds (job_params.c): generate_k is
 * the generate job's k, generate_prompts its max_prompts, reward_params the
 * params of a reward job, rl_params those of an rl_kind job, and rl_kind one
 * of the kinds that make a policy.  PUT /api/config refuses a value the
 * queued job would refuse (autotrain_check); a bad value the loop finds
 * anyway (written before these checks) counts as that key's default, with a
 * log line, rather than ending a round in a failed job.
 */
#include "server/worker/job_impl.h"
#include "server/worker/autotrain.h"
#include "db/config.h"
#include "db/db.h"
#include "db/jobs.h"
#include "db/ratings.h"
#include "db/versions.h"
#include "server/worker/modelstore.h"
#include "server/worker/promote.h"
#include "server/worker/spotcheck.h"
#include "db/spotcheck.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The defaults are the ones migrations/0002_worker.sql writes (rl_kind: the
 * one 0007_best.sql writes for a new installation). */
#define RL_KIND_DEFAULT "best"

enum at_type {
	AT_BOOL,
	AT_INT,       /* lo..hi, or the range of the job parameter it feeds */
	AT_RL_KIND,   /* a kind that makes a policy */
	AT_CHOICE,    /* a string the job parameter it feeds checks, lists and defaults */
	AT_PARAMS,    /* the params of a job of kind (NULL: of rl_kind) */
};

/* The settings the loop runs on. */
struct autotrain {
	json_t *at;                /* config auto_train (owned; NULL when unreadable) */
	bool enabled;
	int64_t every, k, prompts; /* reward_every_n_ratings, generate_k, generate_prompts */
	int64_t explore;           /* generate_explore */
	const char *rl_kind;       /* borrowed from at, or RL_KIND_DEFAULT */
	const char *promote;       /* borrowed from at; NULL = the RL job's own default */
};

struct at_key {
	const char *name;
	enum at_type type;
	size_t off;                /* where the loop keeps it in struct autotrain (not AT_PARAMS) */
	const char *kind, *param;  /* AT_INT: the job parameter it feeds; AT_PARAMS: its kind */
	int64_t lo, hi;            /* AT_INT feeding no parameter */
	int64_t def;               /* AT_BOOL, AT_INT; ignored when from_param */
	bool from_param;           /* AT_INT, AT_CHOICE: the default is the parameter's */
	const char *help;
};

#define AT(field) offsetof(struct autotrain, field)
static const struct at_key AUTO[] = {
	{ "enabled", AT_BOOL, AT(enabled), .def = 0,
	  .help = "turn the loop: reward model, then rl_kind, then fresh answers, after every "
		  "reward_every_n_ratings new ratings" },
	{ "reward_every_n_ratings", AT_INT, AT(every), .lo = 1, .hi = 1000000, .def = 50,
	  .help = "a loop starts after this many new ratings" },
	{ "rl_kind", AT_RL_KIND, AT(rl_kind),
	  .help = "the job that trains the policy after the reward model" },
	{ "generate_k", AT_INT, AT(k), "generate", "k", .from_param = true,
	  .help = "answers per prompt of the generate job that ends a loop" },
	{ "generate_prompts", AT_INT, AT(prompts), "generate", "max_prompts", .def = 32,
	  .help = "train prompts without answers from the new policy that get answers; 0 = all" },
	{ "generate_explore", AT_INT, AT(explore), "generate", "explore", .def = 0,
	  .help = "and this many train prompts whose rated answers people rated none 4 or more: "
		  "another try where the model has not been right yet (left out of people's verdict)" },
	{ "promote", AT_CHOICE, AT(promote), "rloo", "promote", .from_param = true,
	  .help = "gate: a new policy becomes active only if it beats its parent on held-out "
		  "prompts without collapsing (else it stays a candidate); always; never" },
	{ "reward_params", AT_PARAMS, 0, "reward",
	  .help = "params of the loop's reward job, as in POST /api/train" },
	{ "rl_params", AT_PARAMS, 0, NULL,
	  .help = "params of the loop's rl_kind job, as in POST /api/train" },
};
#define N_AUTO (sizeof AUTO / sizeof AUTO[0])


/* A kind rl_kind may name: one that makes a policy. */
static bool is_rl_kind(const char *kind)
{
	const struct job_kind *k = job_kind_find(kind);
	return k && k->produces && !strcmp(k->produces, "policy");
}

/* rl_kind of the object at when it is a good one, else the default. */
static const char *rl_kind_of(json_t *at)
{
	const char *k = json_string_value(json_object_get(at, "rl_kind"));
	return is_rl_kind(k) ? k : RL_KIND_DEFAULT;
}

/* Key key's default (AT_BOOL, AT_INT). */
static int64_t key_default(const struct at_key *key)
{
	if (!key->from_param)
		return key->def;
	json_t *p = job_param_json(key->kind, key->param);
	int64_t def = json_integer_value(json_object_get(p, "default"));
	json_decref(p);
	return def;
}

/* Checks v as auto_train[key->name]; at is the whole object (rl_params
 * is checked against its rl_kind). */
static bool key_check(const struct at_key *key, json_t *v, json_t *at, char *field, size_t fl,
		      char *msg, size_t ml)
{
	char name[96];
	snprintf(name, sizeof name, "auto_train.%s", key->name);
	switch (key->type) {
	case AT_BOOL:
		return json_is_boolean(v) ? true :
		       job_bad_field(field, fl, msg, ml, name, "'%s' must be true or false", name);
	case AT_INT:
		if (key->param)
			return job_param_check(key->kind, key->param, v, name, field, fl, msg, ml);
		if (!json_is_integer(v) || json_integer_value(v) < key->lo || json_integer_value(v) > key->hi)
			return job_bad_field(field, fl, msg, ml, name, "'%s' must be an integer from %lld to %lld",
				   name, (long long)key->lo, (long long)key->hi);
		return true;
	case AT_RL_KIND: {
		if (is_rl_kind(json_string_value(v)))
			return true;
		char list[160] = "";
		for (size_t i = 0; job_kind_name(i); i++)
			if (is_rl_kind(job_kind_name(i)))
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s'%s'",
					 list[0] ? ", " : "", job_kind_name(i));
		return job_bad_field(field, fl, msg, ml, name, "'%s' must be one of %s", name, list);
	}
	case AT_CHOICE:
		return job_param_check(key->kind, key->param, v, name, field, fl, msg, ml);
	case AT_PARAMS:
		return job_params_check(key->kind ? key->kind : rl_kind_of(at), v, false, name, field,
					fl, msg, ml);
	}
	return false;
}

bool autotrain_check(json_t *auto_train, char *field, size_t field_len, char *msg, size_t msg_len)
{
	if (!json_is_object(auto_train))
		return job_bad_field(field, field_len, msg, msg_len, "auto_train", "'auto_train' must be an object");
	for (size_t i = 0; i < N_AUTO; i++) {
		json_t *v = json_object_get(auto_train, AUTO[i].name);
		if (v && !key_check(&AUTO[i], v, auto_train, field, field_len, msg, msg_len))
			return false;
	}
	return true;
}

json_t *autotrain_params_json(void)
{
	json_t *out = json_array();
	for (size_t i = 0; out && i < N_AUTO; i++) {
		const struct at_key *key = &AUTO[i];
		json_t *p = NULL;
		if (key->type == AT_BOOL) {
			p = json_pack("{ss ss sb}", "name", key->name, "type", "bool", "default", key->def != 0);
		} else if ((key->type == AT_INT || key->type == AT_CHOICE) && key->param) {
			/* the job parameter's listing, as this key */
			p = job_param_json(key->kind, key->param);
			json_object_set_new(p, "name", json_string(key->name));
			if (!key->from_param)
				json_object_set_new(p, "default", json_integer(key->def));
			json_object_del(p, "advanced");
		} else if (key->type == AT_INT) {
			p = json_pack("{ss ss sI sI sI}", "name", key->name, "type", "int", "default",
				      (json_int_t)key->def, "min", (json_int_t)key->lo, "max", (json_int_t)key->hi);
		} else if (key->type == AT_RL_KIND) {
			json_t *c = json_array();
			for (size_t k = 0; job_kind_name(k); k++)
				if (is_rl_kind(job_kind_name(k)))
					json_array_append_new(c, json_string(job_kind_name(k)));
			p = json_pack("{ss ss ss so}", "name", key->name, "type", "choice", "default",
				      RL_KIND_DEFAULT, "choices", c);
		} else {
			p = json_pack("{ss ss s{} ss}", "name", key->name, "type", "params", "default",
				      "kind", key->kind ? key->kind : "rl_kind");
		}
		if (p)
			json_object_set_new(p, "help", json_string(key->help));
		json_array_append_new(out, p);
	}
	return out;
}

/* ---- the loop ------------------------------------------------------------------- */

static void autotrain_release(struct autotrain *a)
{
	json_decref(a->at);
	memset(a, 0, sizeof *a);
}

/* Reads config auto_train into a (release it whatever this returns): a key
 * missing or bad is its default, logged unless quiet.  Returns 0, or -1
 * when the config cannot be read (auto-training counts as off then). */
static int autotrain_read(struct db *db, bool quiet, struct autotrain *a)
{
	memset(a, 0, sizeof *a);
	if (db_config_get(db, "auto_train", &a->at) < 0)
		return -1;
	for (size_t i = 0; i < N_AUTO; i++) {
		const struct at_key *key = &AUTO[i];
		json_t *v = json_object_get(a->at, key->name);
		char *dst = (char *)a + key->off, msg[300];
		if (key->type == AT_PARAMS)
			continue;           /* checked when used (auto_params) */
		if (v && !key_check(key, v, a->at, NULL, 0, msg, sizeof msg)) {
			if (!quiet)
				fprintf(stderr, "rlhfd: auto-training: auto_train.%s ignored: %s\n",
					key->name, msg);
			v = NULL;
		}
		if (key->type == AT_BOOL)
			*(bool *)dst = v ? json_is_true(v) : key->def != 0;
		else if (key->type == AT_INT)
			*(int64_t *)dst = v ? json_integer_value(v) : key_default(key);
		else if (key->type == AT_CHOICE)
			*(const char **)dst = v ? json_string_value(v) : NULL;
		else
			*(const char **)dst = v ? json_string_value(v) : RL_KIND_DEFAULT;
	}
	return 0;
}

/* The params of a job queued by the loop: a new copy of auto_train[key]
 * (e.g. "rl_params"; ignored, with a log line, when it does not fit kind's
 * parameters) with "auto": true. */
static json_t *auto_params(json_t *auto_train, const char *key, const char *kind)
{
	json_t *p = json_object_get(auto_train, key);
	char field[96], msg[300];
	if (!json_is_object(p) || !job_params_check(kind, p, false, key, field, sizeof field, msg,
						     sizeof msg)) {
		if (p)
			fprintf(stderr, "rlhfd: auto-training: auto_train.%s ignored: %s\n", key,
				json_is_object(p) ? msg : "not an object");
		p = NULL;
	}
	json_t *out = p ? json_deep_copy(p) : json_object();
	if (out)
		json_object_set_new(out, "auto", json_true());
	return out;
}

/*
 * People's verdict (server/worker/promote.h), both ways.
 *
 * Which prompts: a policy repeats the best-rated answers of the prompts it
 * was trained on, so there it says how well it learnt, and only the prompts
 * neither model was trained on say whether it is worse where it learnt
 * nothing (db_work_model_paired; the loop's generate job asks those first).
 *
 * Rollback: when the active model is a policy trained from another language
 * model (its parent) and the raters' scores of its answers fall below the
 * parent's on the same unseen prompts (a paired sign test), the parent is activated
 * again, and the policy's metrics say why ("rollback").  Beside it, the
 * reward-hacking watch (spotcheck.c, promote_hacking): when the policy's
 * spot-checked answers score higher than its parent's by the reward model and
 * lower by people, the same rollback ("why": "hacking", with the reason and
 * the paired reward means).  A policy rolled back once is not judged again.
 *
 * Promotion: otherwise, when the newest policy trained from the active model
 * was kept as a candidate by the promotion gate for the reward model's
 * judgement alone (it could not vouch for it on held-out prompts; a gate
 * that also found collapse, runaway length, lost stops or KL over budget
 * leaves nothing to overrule: promotion.sound) and people score its answers
 * above the active model's on the same prompts it was trained on
 * (promote_people: a signed-rank test, by how much as well as how often) and
 * not worse on the unseen ones (promote_unseen: a non-inferiority test), it
 * is activated, and its metrics say why ("verdict": decision "promoted",
 * "unseen" the second test's figures).  Interim looks as ratings come in
 * at 0.01; the final look — when 90 % of its answers are rated, or when the
 * next round starts — at 0.05 if the reward model leans its way, and a
 * candidate it does not promote is kept for good ("verdict": decision
 * "kept"; the levels and why in promote.h).  Not with auto_train.promote
 * "never".
 *
 * Runs when ratings have come in since the last look, and before a round.
 */

/* The rollback of the active policy row (parent par); true when it was rolled back. */
static bool verdict_rollback(struct db *db, const struct db_work_model *row)
{
	int worse = 0, better = 0, ties = 0;
	double p = 1;
	struct db_spot spot;
	char why[400] = "";
	json_t *rb = NULL;
	if (db_work_model_verdict(db, row->id, row->parent_id, &worse, &better, &ties) < 0)
		return false;
	if (promote_rollback(worse, better, &p)) {
		rb = json_pack("{s{sI si si si sf}}", "rollback", "to", (json_int_t)row->parent_id,
			       "worse", worse, "better", better, "ties", ties, "p", p);
		snprintf(why, sizeof why, "raters score model %lld below its parent %lld on %d of %d "
			 "prompts (%d better, %d tied; sign test p = %.4f)", (long long)row->id,
			 (long long)row->parent_id, worse, worse + better + ties, better, ties, p);
	} else if (db_spot_get(db, row->id, &spot) == 0 && spotcheck_hacking(&spot, &p, why, sizeof why)) {
		/* reward hacking (spotcheck.c): the same rollback, on the spot checks'
		 * paired prompts */
		rb = json_pack("{s{sI si si si sf ss ss sf sf}}", "rollback", "to",
			       (json_int_t)row->parent_id, "worse", spot.worse, "better", spot.better,
			       "ties", spot.ties, "p", p, "why", "hacking", "reason", why,
			       "rm_paired", spot.rm_paired, "parent_rm_paired", spot.parent_rm_paired);
	}
	if (!rb)
		return false;
	char *text = json_dumps(rb, JSON_COMPACT);
	json_decref(rb);
	bool done = text && db_work_model_merge_metrics(db, row->id, text) == 0 &&
		    db_model_activate(db, row->parent_id) == 0;
	if (done)
		fprintf(stderr, "rlhfd: auto-training: %s: model %lld is active again\n", why,
			(long long)row->parent_id);
	free(text);
	return done;
}

/* Whether the look at candidate cand is the final one (promote.h): the next
 * round starts (closing) or PEOPLE_FINAL_RATED of its answers are rated;
 * *rated and *total say how many. */
static bool verdict_final(struct db *db, int64_t cand, bool closing, int64_t *rated,
			  int64_t *total)
{
	int64_t per_group = 1;
	*rated = *total = 0;
	if (db_config_int(db, "ratings_per_group", 1, &per_group) < 0 ||
	    db_work_model_rated(db, cand, per_group, rated, total) < 0)
		return closing;
	return closing || (*total > 0 && *rated >= PEOPLE_FINAL_RATED * (double)*total);
}

/* The promotion of the newest candidate trained from the active model, at an
 * interim look or the final one (closing: the next round starts now). */
static void verdict_candidate(struct db *db, const struct autotrain *a, int64_t active,
			      bool closing)
{
	int64_t cand = 0, rated = 0, total = 0;
	int worse = 0, better = 0, n = 0, n_unseen = 0;
	double p = 1, *diff = NULL, *unseen = NULL, u_mean = NAN, u_lo = NAN;
	json_t *m = NULL;
	if ((a->promote && !strcmp(a->promote, "never")) ||
	    db_work_model_candidate(db, active, &cand) < 0 ||
	    db_work_model_metrics(db, cand, &m) < 0)
		return;
	bool leans = json_is_true(json_object_get(json_object_get(m, "promotion"), "rm_leans"));
	json_decref(m);
	bool final = verdict_final(db, cand, closing, &rated, &total);
	double level = promote_people_level(final, leans);
	if (db_work_model_paired(db, cand, active, DB_PAIRED_TRAINED, &diff, &n) < 0)
		return;
	if (db_work_model_paired(db, cand, active, DB_PAIRED_UNSEEN, &unseen, &n_unseen) < 0) {
		free(diff);
		return;
	}
	bool better_rated = promote_people(diff, n, level, &better, &worse, &p);
	bool not_worse = promote_unseen(unseen, n_unseen, &u_mean, &u_lo);
	bool up = better_rated && not_worse;
	free(diff);
	free(unseen);
	if (!up && !final)
		return;
	int ties = n - better - worse;
	/* JSON has no NaN: with under two unseen prompts the figures are null */
	json_t *vd = json_pack("{s{ss sI si si si sf ss ss sf sb sI sI s{si so so sf si}}}", "verdict",
			       "decision", up ? "promoted" : "kept", "over", (json_int_t)active,
			       "better", better, "worse", worse, "ties", ties, "p", p, "test",
			       "signed-rank", "look", final ? "final" : "interim", "level", level,
			       "rm_leans", leans, "rated", (json_int_t)rated, "answers",
			       (json_int_t)total, "unseen", "prompts", n_unseen, "mean",
			       isnan(u_mean) ? json_null() : json_real(u_mean), "lo",
			       isnan(u_lo) ? json_null() : json_real(u_lo), "margin",
			       PEOPLE_UNSEEN_MARGIN, "min", PEOPLE_UNSEEN_MIN);
	char *text = vd ? json_dumps(vd, JSON_COMPACT) : NULL;
	json_decref(vd);
	if (!text || db_work_model_merge_metrics(db, cand, text) < 0 ||
	    (up && db_model_activate(db, cand) < 0))
		goto out;
	char unseen_why[200];
	if (n_unseen < PEOPLE_UNSEEN_MIN)
		snprintf(unseen_why, sizeof unseen_why, "%d prompts neither was trained on, fewer "
			 "than the %d that could show it no worse", n_unseen, PEOPLE_UNSEEN_MIN);
	else
		snprintf(unseen_why, sizeof unseen_why, "on the %d prompts neither was trained on "
			 "%+.3f (95 %% lower bound %+.3f; %s -%.1f)", n_unseen, u_mean, u_lo,
			 not_worse ? "above" : "not above", PEOPLE_UNSEEN_MARGIN);
	fprintf(stderr, "rlhfd: auto-training: people's %s look at candidate %lld (%lld of %lld "
		"answers rated): better than the active model %lld on %d of the %d prompts it was "
		"trained on (%d worse, %d tied; signed-rank test p = %.4f, level %.2f%s); %s: %s\n",
		final ? "final" : "interim", (long long)cand, (long long)rated, (long long)total,
		(long long)active, better, better + worse + ties, worse, ties, p, level,
		final && !leans ? ", the reward model does not lean its way" : "", unseen_why,
		up ? "it is active" : "kept, not judged again");
	/* a new active version: its spot checks, as for any promotion */
	if (up && spotcheck_activated(db, cand, NULL) < 0)
		fprintf(stderr, "rlhfd: spot checks of model %lld not recorded (database error)\n",
			(long long)cand);
out:
	free(text);
}

/* People's verdict on the active policy and the newest candidate; closing:
 * the next round starts now, the candidate's last look. */
static void autotrain_verdict(struct db *db, const struct autotrain *a, bool closing)
{
	static int64_t looked_upto = -1;
	int64_t upto = 0, active = 0;
	struct db_work_model row = { 0 }, par = { 0 };
	json_t *m = NULL;
	if (db_work_max_rating_id(db, &upto) < 0 || (upto == looked_upto && !closing))
		return;
	looked_upto = upto;
	if (db_model_active(db, &active) < 0 || db_work_model_get(db, active, &row) < 0)
		return;
	bool no_rollback = strcmp(row.kind, "policy") || row.parent_id <= 0 ||
		      db_work_model_get(db, row.parent_id, &par) < 0 ||
		      !modelstore_kind_generates(par.kind) ||
		      db_work_model_metrics(db, active, &m) < 0 || json_object_get(m, "rollback");
	if (no_rollback || !verdict_rollback(db, &row))
		verdict_candidate(db, a, active, closing);
	json_decref(m);
	db_work_model_release(&par);
	db_work_model_release(&row);
}

bool autotrain_tick(struct db *db)
{
	struct autotrain a;
	int64_t mark = 0, count = 0, upto = 0, oupto = 0, id = 0;
	bool busy = true, queued = false;
	if (autotrain_read(db, true, &a) < 0 || !a.enabled)
		goto out;
	/* new ratings and the answers new rank or pair judgements placed */
	bool round = db_work_auto_state(db, &mark, &busy) == 0 && !busy &&
		     db_work_auto_new(db, a.every, &count) == 0 && count >= a.every;
	/* before a round starts: its new policy supersedes the candidate */
	autotrain_verdict(db, &a, round);
	if (!round || db_work_max_rating_id(db, &upto) < 0 ||
	    db_work_max_ordering_id(db, &oupto) < 0)
		goto out;
	json_t *p = auto_params(a.at, "reward_params", "reward");
	/* the marks (ids: positive; a kind with nothing yet has none) */
	if (p && upto > 0)
		json_object_set_new(p, "ratings_upto", json_integer(upto));
	if (p && oupto > 0)
		json_object_set_new(p, "orderings_upto", json_integer(oupto));
	char *params = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (params && db_begin(db) == 0 && db_job_create(db, "reward", params, db_now(), &id) == 0 &&
	    db_commit(db) == 0) {
		fprintf(stderr, "rlhfd: auto-training: %lld new ratings, queued reward job %lld\n",
			(long long)count, (long long)id);
		queued = true;
	} else {
		db_rollback(db);
	}
	free(params);
out:
	autotrain_release(&a);
	return queued;
}

/* The lower bound a reward model's held-out accuracy must clear before the
 * loop's RL job (its params' require_reward_acc, else that parameter's
 * default). */
static float reward_need(json_t *rl_params, const char *kind)
{
	json_t *v = json_object_get(rl_params, "require_reward_acc");
	if (json_is_number(v))
		return (float)json_number_value(v);
	json_t *p = job_param_json(kind, "require_reward_acc");
	float need = (float)json_number_value(json_object_get(p, "default"));
	json_decref(p);
	return need;
}

/* The params of a generate job of the loop (new): k answers to each of
 * generate_prompts prompts, and of generate_explore prompts not yet answered
 * right. */
static json_t *loop_generate_params(const struct autotrain *a)
{
	return json_pack("{sb sI sI sI}", "auto", true, "k", (json_int_t)a->k, "max_prompts",
			 (json_int_t)a->prompts, "explore", (json_int_t)a->explore);
}

/*
 * The loop waits for more ratings (the RL gate refused): when fewer answers
 * than a round needs wait for raters, more from the active model (a generate
 * job with "again": the prompts with the fewest answer groups, answered
 * before or not), else the wait could be for ratings of nothing — every
 * answer rated, as after rating all of demo init's.  Returns "generate"
 * with *params (new), or NULL when enough answers wait.
 */
static const char *waiting_answers(struct job *j, const struct autotrain *a, json_t **params)
{
	int64_t per_group = 1, open = 0;
	if (db_config_int(j->env->db, "ratings_per_group", 1, &per_group) < 0 ||
	    db_work_open_answers(j->env->db, per_group, &open) < 0 || open >= a->every)
		return NULL;
	if (!(*params = loop_generate_params(a)))
		return NULL;
	json_object_set_new(*params, "again", json_true());
	json_object_set_new(json_object_get(j->metrics, "auto_next"), "answers_waiting",
			    json_integer(open));
	job_log(j, "auto-training: %lld answers wait for raters, fewer than the %lld a round needs: "
		"%lld prompts x %lld more from the active model", (long long)open, (long long)a->every,
		(long long)a->prompts, (long long)a->k);
	return "generate";
}

int autotrain_queue_next(struct job *j)
{
	struct autotrain a;
	const char *next = NULL;
	json_t *params = NULL;
	/* switched off meanwhile: the loop stops here */
	if (autotrain_read(j->env->db, false, &a) < 0 || !a.enabled) {
		autotrain_release(&a);
		job_log(j, "auto-training is off: the loop stops here");
		return 0;
	}
	if (!strcmp(j->kind, "reward")) {
		next = a.rl_kind;
		params = auto_params(a.at, "rl_params", next);
		if (a.promote)
			json_object_set_new(params, "promote", json_string(a.promote));
		/* RL only on a reward model that can tell answers apart */
		json_t *rmm = NULL;
		char why[400];
		float need = reward_need(params, next);
		if (need > 0 && db_work_model_metrics(j->env->db, j->model_id, &rmm) == 0 &&
		    !job_reward_credible(rmm, need, why, sizeof why)) {
			job_log(j, "auto-training: no %s on reward model %lld: %s; the loop waits for "
				"%lld more ratings", next, (long long)j->model_id, why, (long long)a.every);
			json_object_set_new(j->metrics, "auto_next", json_pack("{ss ss}", "decision",
					    "waiting for more ratings", "reason", why));
			json_decref(params);
			params = NULL;
			next = waiting_answers(j, &a, &params);
		}
		json_decref(rmm);
	} else if (is_rl_kind(j->kind)) {
		/* answers from the new policy, promoted or kept as a candidate: people's
		 * scores of them are the next round's data and the verdict on it */
		next = "generate";
		params = loop_generate_params(&a);
		struct db_work_model row = { 0 };
		if (params && j->model_id > 0) {
			json_object_set_new(params, "model_id", json_integer(j->model_id));
			/* on the prompts its parent answered: people's verdict pairs them */
			if (db_work_model_get(j->env->db, j->model_id, &row) == 0 && row.parent_id > 0)
				json_object_set_new(params, "pair_model_id", json_integer(row.parent_id));
			db_work_model_release(&row);
		}
	}
	int rc = 0;
	if (next) {
		char *text = params ? json_dumps(params, JSON_COMPACT) : NULL;
		int64_t id = 0;
		rc = text ? db_job_create(j->env->db, next, text, db_now(), &id) : DB_ERROR;
		if (rc == 0)
			job_log(j, "auto-training: queued job %lld (%s)", (long long)id, next);
		/* the wait's answers: which job writes them */
		json_t *an = json_object_get(j->metrics, "auto_next");
		if (rc == 0 && an)
			json_object_set_new(an, "generate", json_integer(id));
		free(text);
	}
	json_decref(params);
	autotrain_release(&a);
	return rc;
}
