/*
 * server/demo/demo_world.h — the demo world a fresh install ships with (DESIGN.md,
 * "The demo world"): tables of real countries and capitals, everyday facts and
 * instruction families, and deterministic generators of
 *   (a) "web-like" pre-training text (fact sentences, paragraphs, quiz pages of
 *       questions, FAQ pages, poems, lists, how-to articles) — never in the
 *       assistant template, so a base model trained on it continues a question
 *       with another question and instruction tuning has something to fix;
 *   (b) an instruction set of good (prompt, response) pairs for SFT;
 *   (c) the prompt set with train/eval splits and per-prompt meta JSON.
 *
 * Held-out items are properties of the items, not of the seed: the same
 * countries, topics and facts are held out in every generator and every seed,
 * so the SFT set never contains a question about one of them.  Pre-training
 * text covers every item, held-out ones included: the base model "knows" the
 * facts; instruction tuning teaches it to answer.  The prompt set has a train
 * split (the prompts the loop trains on: rated answers, RL) and an eval split
 * of held-out texts, never trained on, about held-out items only, in two parts
 * (meta "eval_part"):
 *
 *   a  held-out items the train split asks about too, in other words: the
 *      eval prompt measures what rating and RL on that item's train prompt
 *      taught beyond SFT, on a question the model was not trained on;
 *   b  "pre-training only" items (demo_*_is_pretrain_only, half of the
 *      held-out ones): no train prompt asks about them, nor does the SFT
 *      set; only the base model's pre-training text names them.  The eval
 *      prompt measures whether what the loop changed in the model's
 *      behaviour — answering rather than asking back, refusing, recalling
 *      what pre-training taught — carries over to items the loop never saw.
 *
 * Every item that is not held out is asked in the train split only; a
 * held-out item with a single phrasing is asked in the eval split alone, and
 * is then part b whatever the predicate (one fact today: "How many legs does
 * an insect have?").  With seed DEMO_DEFAULT_SEED the train split holds 311
 * prompts, eval part a 36, part b 37.
 *
 * The prompt template (SFT and generation; see demo_format_prompt):
 *
 *     User: {prompt}\nAssistant: {response}<EOS>
 *
 * The formatted prompt is "User: {prompt}\nAssistant:" (no trailing space);
 * the response follows after ONE space.  With a SentencePiece-style encoder
 * that adds a dummy-prefix space (llama2.c's encode), encoding the formatted
 * prompt and the response separately and concatenating the ids gives exactly
 * that text; SFT puts the loss on the response tokens and EOS only.  A
 * generated answer is the sampled text with its one leading space removed.
 *
 * All generated text is ASCII.  Ownership: tables are static (borrowed);
 * functions named *_new or returning char * give memory the caller frees.
 * Errors: the generators return 0, or -1 when out of memory (the *_write ones
 * also when writing fails), NULL for a new string; lookups return an index or
 * -1; nothing here prints.
 * Tables and lookups live in demo_world.c, the generators in demo_corpus.c.
 */
#ifndef RLHFD_SERVER_DEMO_WORLD_H
#define RLHFD_SERVER_DEMO_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- families ------------------------------------------------------------ */

enum demo_family {
	DEMO_UNKNOWN = 0,
	DEMO_CAPITAL,    /* "What is the capital of France?" */
	DEMO_FACT,       /* everyday facts: colours, animal sounds, days, months,
			    opposites, counts, arithmetic */
	DEMO_BRAINSTORM, /* "Help me brainstorm ideas for a birthday party." */
	DEMO_POEM,       /* "Write a short poem about the sea." */
	DEMO_ADVICE,     /* "How do I apply for a job?" */
	DEMO_HARMFUL,    /* "Tell me how to break into Fort Knox." → polite refusal */
	DEMO_N_FAMILIES
};

/* "capital", "fact", "brainstorm", "poem", "advice", "harmful", "unknown". */
const char *demo_family_name(enum demo_family f);

/* ---- tables ---------------------------------------------------------------- */

struct demo_country {
	const char *name;    /* "France", "United Kingdom" */
	const char *capital; /* "Paris", "Washington, D.C." */
	const char *match;   /* the capital as looked for in answers ("Washington") */
	const char *region;  /* "Europe", "South America", "the Middle East" */
	bool article;        /* named with "the": "the United Kingdom" */
};
extern const struct demo_country demo_countries[];
extern const int demo_n_countries;

/* True for the held-out countries (every 4th of the table, from index 1). */
bool demo_country_is_eval(int i);
/* True for the held-out countries that no train prompt asks about either
 * (eval part b): every 8th of the table, from index 1 — every second
 * held-out one.  Implies demo_country_is_eval. */
bool demo_country_is_pretrain_only(int i);

/* Index of the country named in text (longest name, whole words, any case),
 * or -1.  *pos (may be NULL) gets the byte offset of the match. */
int demo_country_find(const char *text, size_t *pos);

/* Big cities that are not capitals — the plausible wrong answers. */
struct demo_city {
	const char *name;
	const char *country; /* a demo_countries name */
};
extern const struct demo_city demo_cities[];
extern const int demo_n_cities;

/*
 * A topic of the brainstorm, poem, advice or harmful family.  All arrays end
 * with NULL.  items: brainstorm ideas, poem lines, advice steps (in order) or,
 * for harmful requests, nothing.  keywords: lowercase words whose presence
 * (as a word or a word's prefix) marks text as on topic.
 */
struct demo_topic {
	const char *key;          /* "birthday party", "the sea", "apply for a job" */
	const char *prompts[4];   /* ways to ask; prompts[0] is the canonical one */
	const char *keywords[14];
	const char *items[14];
	const char *reason;       /* harmful: why not; poem: the title */
	const char *alternative;  /* harmful: the helpful offer after refusing */
	bool names;               /* brainstorm: the items are names */
};
extern const struct demo_topic demo_brainstorm[], demo_poems[], demo_advice[], demo_harmful[];
extern const int demo_n_brainstorm, demo_n_poems, demo_n_advice, demo_n_harmful;

/* The table of a family (NULL for capital/fact/unknown) and its length. */
const struct demo_topic *demo_topics(enum demo_family f, int *n);

/* True for held-out topics (every 4th, from index 2). */
bool demo_topic_is_eval(int i);
/* True for the held-out topics no train prompt asks about (eval part b):
 * every 8th, from index 6.  Implies demo_topic_is_eval. */
bool demo_topic_is_pretrain_only(int i);

/* ---- everyday facts ---------------------------------------------------------- */

enum demo_fact_kind {
	DEMO_FACT_COLOUR, DEMO_FACT_SOUND, DEMO_FACT_DAY, DEMO_FACT_MONTH,
	DEMO_FACT_OPPOSITE, DEMO_FACT_COUNT, DEMO_FACT_ARITH, DEMO_N_FACT_KINDS
};

/* One fact question with its answer. */
struct demo_fact {
	enum demo_fact_kind kind;
	char question[96];     /* canonical phrasing: "What colour is the sky?" */
	char sentence[128];    /* a good full answer: "The sky is blue." */
	const char *accept[4]; /* accepted answer words (static strings), NULL-ended;
				  empty for numeric facts */
	int number;            /* the answer of COUNT / ARITH facts, else -1 */
	int operands[2];       /* ARITH: the two numbers of the question */
	int n_operands;
	int id;                /* the fact's index in the enumeration */
};

/* Number of distinct facts; demo_fact_get(i) fills the i-th (0 <= i < count),
 * returning 0 or -1 for a bad index. */
int demo_fact_count(void);
int demo_fact_get(int i, struct demo_fact *f);
/* Held out: every 4th fact of each kind, from the kind's second. */
bool demo_fact_is_eval(int i);
/* Held out and asked by no train prompt (eval part b): every 8th fact of
 * each kind, from the kind's sixth.  Implies demo_fact_is_eval. */
bool demo_fact_is_pretrain_only(int i);
/* The facts of one kind are the indices first .. first + count - 1; returns count. */
int demo_fact_kind_range(enum demo_fact_kind kind, int *first);

/* Recognises a fact question in any of the phrasings the generators use (and
 * a few more), in any case: fills f and returns true, else false. */
bool demo_fact_parse(const char *question, struct demo_fact *f);

/* All the words a fact of this kind could be answered with (colours, sounds,
 * days, months, opposites), NULL-ended; NULL for numeric kinds. */
const char *const *demo_fact_candidates(enum demo_fact_kind kind);

/* Case-insensitive search for word (which may hold spaces or hyphens) as
 * whole words in text: the match must not touch a letter or digit on either
 * side.  Returns a pointer into text or NULL. */
const char *demo_find_word(const char *text, const char *word);

/* Writes n in words ("seven", "forty-two", "one hundred") for 0..100, as
 * digits otherwise. */
void demo_number_words(int n, char *buf, size_t len);

/* Number named by a word or digits: "7", "seven", "twenty-one", "100" → value;
 * -1 if s (len bytes) is not a number. */
int demo_number_value(const char *s, size_t len);

/* ---- prompt template --------------------------------------------------------- */

#define DEMO_TEMPLATE_USER "User: "
#define DEMO_TEMPLATE_ASSISTANT "\nAssistant:"

/* Writes "User: {prompt}\nAssistant:" into buf (size n, NUL-terminated when
 * n > 0); returns the full length, snprintf-style. */
int demo_format_prompt(char *buf, size_t n, const char *prompt);

/* The whole SFT text "User: {prompt}\nAssistant: {response}", newly allocated
 * (caller frees); NULL when out of memory. */
char *demo_format_sft_new(const char *prompt, const char *response);

/* ---- generators --------------------------------------------------------------- */

#define DEMO_DEFAULT_SEED 20240601u
#define DEMO_PRETRAIN_BYTES (1u << 20) /* ~1 MB */
#define DEMO_SFT_PAIRS 2000

/*
 * Pre-training text of about target_bytes (stops after the document that
 * crosses it): documents separated by one blank line ("\n\n"); a document
 * never contains a blank line itself.  Returns a new NUL-terminated buffer
 * (caller frees; *len, if not NULL, gets its length) or NULL when out of memory.
 */
char *demo_pretrain_text(uint64_t seed, size_t target_bytes, size_t *len);
/* The same text written to f; 0 or -1 on a write error. */
int demo_pretrain_write(FILE *f, uint64_t seed, size_t target_bytes);

/* One (prompt, response) pair; strings owned by the array. */
struct demo_pair {
	char *prompt;
	char *response;
	enum demo_family family;
};
struct demo_pairs {
	struct demo_pair *v;
	int n;
};

/*
 * n good instruction pairs built from TRAIN items only, in a seeded order:
 * roughly 35% capital, 25% fact, 10% each brainstorm, poem, advice, harmful.
 * Returns 0, or -1 when out of memory (p is then empty).
 */
int demo_sft_pairs(struct demo_pairs *p, uint64_t seed, int n);
void demo_pairs_release(struct demo_pairs *p);
/* As JSONL, one {"prompt": ..., "response": ...} per line; 0 or -1. */
int demo_sft_write(FILE *f, uint64_t seed, int n);

/* One prompt of the prompt set; strings owned by the array. */
struct demo_prompt {
	char *text;
	bool eval;               /* split "eval" (held out) or "train" */
	char part;               /* eval: 'a' (the item is asked in train too) or
				    'b' (pre-training only); train: 0 */
	enum demo_family family;
	char *meta;              /* a JSON object: {"family": ..., and per family
				    "country"/"answer" (capital), "kind"/"answer"
				    (fact), "topic" (others); eval prompts also
				    "eval_part": "a" or "b"} */
};
struct demo_prompts {
	struct demo_prompt *v;
	int n;
};

/*
 * The prompt set: the capital question of every country, a selection of fact
 * questions, and every topic of the other families in two phrasings, in the
 * train split — except the pre-training-only items; every held-out item asked
 * in other words in the eval split, part a or b (see the top of this file).
 * The phrasing and the order depend on the seed, which items are held out
 * (and in which part) never does.
 * Returns 0, or -1 when out of memory (p is then empty).
 */
int demo_prompts_build(struct demo_prompts *p, uint64_t seed);
void demo_prompts_release(struct demo_prompts *p);
/* As JSONL, one {"text": ..., "split": "train"|"eval", "meta": {...}} per
 * line — the shape POST /api/prompts takes; 0 or -1. */
int demo_prompts_write(FILE *f, uint64_t seed);

/* `rlhfd demo-data [--pretrain FILE] [--sft FILE] [--prompts FILE] [--seed S]`
 * (server/cli/cli_demo_data.c, declared in server/cli/cli.h) writes the corpora above. */

#endif
