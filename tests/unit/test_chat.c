/*
 * tests/unit/test_chat.c — conversation prompts through the model's template:
 * model/lmdata.h's lmdata_format_chat against transcripts written out by hand
 * (the demo template, a Llama-2 style [INST] template with its <<SYS>> system
 * template, a template without {prompt}), and server/worker/gen.h's
 * gen_prompt_tokens, the one place a prompt becomes tokens, against BOS + the
 * tokenizer's encoding of the hand-written transcript; a plain prompt keeps
 * exactly the single-turn text; unreadable messages are refused.
 */
#include "model/lmdata.h"
#include "server/worker/gen.h"
#include "tests/test.h"

#include <errno.h>
#include <stdlib.h>

static const char *demo_tmpl = "User: {prompt}\nAssistant:";

static void test_format_chat_demo(void)
{
	const struct lmdata_msg m[] = {
		{ LMDATA_SYSTEM, "Answer in one sentence." },
		{ LMDATA_USER, "What is the capital of Peru?" },
		{ LMDATA_ASSISTANT, "The capital of Peru is Lima." },
		{ LMDATA_USER, "And of Chile?" },
	};
	char *s = lmdata_format_chat(demo_tmpl, NULL, m, 4);
	CHECK_STR_EQ(s, "System: Answer in one sentence.\n"
			"User: What is the capital of Peru?\n"
			"Assistant: The capital of Peru is Lima.\n"
			"User: And of Chile?\n"
			"Assistant:");
	free(s);
	/* one user message is the single-turn prompt, byte for byte */
	s = lmdata_format_chat(demo_tmpl, NULL, &m[1], 1);
	CHECK_STR_EQ(s, "User: What is the capital of Peru?\nAssistant:");
	free(s);
}

static void test_format_chat_inst(void)
{
	const struct lmdata_msg m[] = {
		{ LMDATA_SYSTEM, "Be brief." },
		{ LMDATA_USER, "Hi" },
		{ LMDATA_ASSISTANT, "Hello!" },
		{ LMDATA_USER, "Bye" },
	};
	char *s = lmdata_format_chat("[INST] {prompt} [/INST]", "<<SYS>>\n{system}\n<</SYS>>\n\n",
				     m, 4);
	CHECK_STR_EQ(s, "<<SYS>>\nBe brief.\n<</SYS>>\n\n[INST] Hi [/INST] Hello!\n[INST] Bye [/INST]");
	free(s);
	/* no placeholder: the content is appended, as lmdata_format_prompt does */
	s = lmdata_format_chat("Q: ", "S:", m, 2);
	CHECK_STR_EQ(s, "S:Be brief.Q: Hi");
	free(s);
	s = lmdata_format_chat(demo_tmpl, NULL, m, 0);
	CHECK_STR_EQ(s, "");
	free(s);
}

static const char *corpus =
	"System: Answer in one sentence.\nUser: What is the capital of Peru?\n"
	"Assistant: The capital of Peru is Lima.\nUser: And of Chile?\nAssistant: Santiago.\n\n"
	"User: Tell me a poem.\nAssistant: Roses are red, the sky is blue.\n";

/* The ids of BOS + text, encoded directly. */
static int *encode_bos(const struct tokenizer *tk, const char *text, size_t *n)
{
	size_t cap = TOKENIZER_MAX_IDS(strlen(text));
	int *ids = malloc(cap * sizeof *ids);
	if (!ids || tokenizer_encode(tk, text, true, false, ids, cap, n) < 0) {
		free(ids);
		return NULL;
	}
	return ids;
}

static void check_same(const int *a, size_t na, const int *b, size_t nb)
{
	CHECK_INT_EQ(na, nb);
	for (size_t i = 0; i < na && i < nb; i++)
		CHECK_INT_EQ(a[i], b[i]);
}

static void test_prompt_tokens(void)
{
	char err[256];
	struct tokenizer tk;
	tokenizer_init(&tk);
	REQUIRE_MSG(tokenizer_train(&tk, corpus, strlen(corpus), 320, NULL, NULL, err,
				    sizeof err) == 0, "%s", err);
	const char *msgs =
		"[{\"role\":\"system\",\"content\":\"Answer in one sentence.\"},"
		"{\"role\":\"user\",\"content\":\"What is the capital of Peru?\"},"
		"{\"role\":\"assistant\",\"content\":\"The capital of Peru is Lima.\"},"
		"{\"role\":\"user\",\"content\":\"And of Chile?\"}]";
	int *ids = NULL, *want;
	size_t n = 0, nw = 0;
	CHECK_INT_EQ(gen_prompt_tokens(&tk, demo_tmpl, NULL, "And of Chile?", msgs, &ids, &n), 0);
	want = encode_bos(&tk, "System: Answer in one sentence.\nUser: What is the capital of Peru?\n"
			       "Assistant: The capital of Peru is Lima.\nUser: And of Chile?\n"
			       "Assistant:", &nw);
	REQUIRE(want && ids);
	CHECK_INT_EQ(ids[0], TOKENIZER_BOS);
	check_same(ids, n, want, nw);
	free(ids);
	free(want);

	/* a plain prompt: the single-turn template, as before conversations */
	CHECK_INT_EQ(gen_prompt_tokens(&tk, demo_tmpl, NULL, "And of Chile?", NULL, &ids, &n), 0);
	want = encode_bos(&tk, "User: And of Chile?\nAssistant:", &nw);
	REQUIRE(want && ids);
	check_same(ids, n, want, nw);
	free(ids);
	free(want);

	/* the model's own system template */
	CHECK_INT_EQ(gen_prompt_tokens(&tk, demo_tmpl, "[{system}]\n", "x",
				       "[{\"role\":\"system\",\"content\":\"S\"},"
				       "{\"role\":\"user\",\"content\":\"Hi\"}]", &ids, &n), 0);
	want = encode_bos(&tk, "[S]\nUser: Hi\nAssistant:", &nw);
	REQUIRE(want && ids);
	check_same(ids, n, want, nw);
	free(ids);
	free(want);

	/* messages that cannot be read are refused, never guessed at */
	const char *bad[] = { "not json", "{}", "[]", "[{\"role\":\"robot\",\"content\":\"x\"}]",
			      "[{\"role\":\"user\"}]", "[\"hi\"]" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ids = (int *)&n; /* must come back NULL */
		CHECK_INT_EQ(gen_prompt_tokens(&tk, demo_tmpl, NULL, "x", bad[i], &ids, &n), -EINVAL);
		CHECK(ids == NULL);
	}
	tokenizer_release(&tk);
}

int main(void)
{
	RUN(test_format_chat_demo);
	RUN(test_format_chat_inst);
	RUN(test_prompt_tokens);
	TEST_MAIN_END();
}
