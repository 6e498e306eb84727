/*
 * tests/fuzz/fuzz_checkpoint.c — libFuzzer target: the model file loaders
 * (model/checkpoint.h) on arbitrary bytes.
 *
 * Byte 0 picks the loader (byte 0 mod 3), the rest is the file:
 *   0  ckpt_load: a llama2.c v0 or v1 checkpoint.  One it loads must have a
 *      usable config and come back unchanged (config and every parameter, bit
 *      for bit) through ckpt_save_v1 and ckpt_save_v0.
 *   1  ckpt_load_sidecar, for the model shape SIDECAR_CFG.  One it loads must
 *      come back unchanged (scalar head, metadata, step, RNG state, moments)
 *      through ckpt_save_sidecar.
 *   2  ckpt_load_model: bytes 1-2 (little-endian) are the length L of the
 *      checkpoint, the next L bytes the checkpoint and the rest its sidecar
 *      (none when empty).
 * Readers are meant to check sizes against the header before allocating, so
 * an input is never more than a few times its size in memory.
 */
#include "model/checkpoint.h"
#include "tests/fuzz/fuzz.h"

/* The shape of the seed checkpoints (tests/fuzz/corpus/checkpoint/). */
static const struct llama_config SIDECAR_CFG = {
	.dim = 8, .hidden_dim = 16, .n_layers = 1, .n_heads = 2, .n_kv_heads = 1,
	.vocab_size = 16, .seq_len = 8, .shared_classifier = true,
};

static char path_in[PATH_MAX], path_sc[PATH_MAX], path_out[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_path(path_in, "model.bin");
	snprintf(path_sc, sizeof path_sc, "%s%s", path_in, CKPT_SIDECAR_SUFFIX);
	fuzz_path(path_out, "out.bin");
	return 0;
}

static bool cfg_eq(const struct llama_config *a, const struct llama_config *b)
{
	return a->dim == b->dim && a->hidden_dim == b->hidden_dim && a->n_layers == b->n_layers &&
	       a->n_heads == b->n_heads && a->n_kv_heads == b->n_kv_heads &&
	       a->vocab_size == b->vocab_size && a->seq_len == b->seq_len &&
	       a->shared_classifier == b->shared_classifier;
}

/* A loaded checkpoint survives being written as v1 and as v0 and read again. */
static void check_checkpoint(const struct llama_config *cfg, const float *params)
{
	char err[512];
	FUZZ_ASSERT(llama_config_check(cfg, err, sizeof err) == 0, "loaded a bad config: %s", err);
	for (int v = 1; v >= 0; v--) {
		struct llama_config c2;
		float *p2 = NULL;
		int rc = v ? ckpt_save_v1(path_out, cfg, params, err, sizeof err) :
			     ckpt_save_v0(path_out, cfg, params, err, sizeof err);
		FUZZ_ASSERT(rc == 0, "ckpt_save_v%d: %s", v, err);
		FUZZ_ASSERT(ckpt_load(path_out, &c2, &p2, err, sizeof err) == 0, "reading v%d back: %s", v,
			    err);
		FUZZ_ASSERT(cfg_eq(cfg, &c2), "the config changed through a v%d file", v);
		/* the scalar head (last in the layout) is not in a llama2.c file:
		 * compare what is */
		FUZZ_ASSERT(memcmp(params, p2, llama_params_count_llama2c(cfg) * sizeof(float)) == 0,
			    "parameters changed through a v%d file", v);
		free(p2);
	}
}

/* A loaded sidecar survives being written and read again. */
static void check_sidecar(const struct llama_config *cfg, const float *params,
			  const struct ckpt_state *st)
{
	char err[512];
	size_t n = llama_params_count(cfg);
	struct llama_weights w, w2;
	struct ckpt_state st2;
	float *p2 = calloc(n, sizeof(float));
	FUZZ_ASSERT(p2, "out of memory");
	ckpt_state_init(&st2);
	FUZZ_ASSERT(!st->meta || strlen(st->meta) <= CKPT_META_MAX, "metadata too long");
	FUZZ_ASSERT(!st->has_train || (st->m && st->v), "training state without moments");
	FUZZ_ASSERT(ckpt_save_sidecar(path_out, cfg, params, st, err, sizeof err) == 0,
		    "ckpt_save_sidecar: %s", err);
	FUZZ_ASSERT(ckpt_load_sidecar(path_out, cfg, p2, &st2, err, sizeof err) == 0,
		    "reading the sidecar back: %s", err);
	llama_weights_map(&w, cfg, (float *)params);
	llama_weights_map(&w2, cfg, p2);
	FUZZ_ASSERT(memcmp(w.head_w, w2.head_w, (size_t)cfg->dim * sizeof(float)) == 0 &&
		    memcmp(w.head_b, w2.head_b, sizeof(float)) == 0, "the scalar head changed");
	FUZZ_ASSERT((!st->meta && !st2.meta) || (st->meta && st2.meta && !strcmp(st->meta, st2.meta)),
		    "the metadata changed");
	FUZZ_ASSERT(st->has_train == st2.has_train, "the training flag changed");
	if (st->has_train)
		FUZZ_ASSERT(st->step == st2.step && !memcmp(st->rng, st2.rng, sizeof st->rng) &&
			    !memcmp(st->m, st2.m, n * sizeof(float)) &&
			    !memcmp(st->v, st2.v, n * sizeof(float)), "the training state changed");
	ckpt_state_release(&st2);
	free(p2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct llama_config cfg;
	struct ckpt_state st;
	float *params = NULL;
	char err[512];
	if (size < 1)
		return 0;
	ckpt_state_init(&st);
	switch (data[0] % 3) {
	case 0:
		fuzz_write_file(path_in, data + 1, size - 1);
		if (ckpt_load(path_in, &cfg, &params, err, sizeof err) == 0)
			check_checkpoint(&cfg, params);
		else
			FUZZ_ASSERT(!params, "a failed load returned parameters");
		break;
	case 1:
		cfg = SIDECAR_CFG;
		params = calloc(llama_params_count(&cfg), sizeof(float));
		FUZZ_ASSERT(params, "out of memory");
		fuzz_write_file(path_sc, data + 1, size - 1);
		if (ckpt_load_sidecar(path_sc, &cfg, params, &st, err, sizeof err) == 0)
			check_sidecar(&cfg, params, &st);
		else
			FUZZ_ASSERT(!st.meta && !st.m && !st.v, "a failed load changed the state");
		break;
	default: {
		size_t l = size >= 3 ? (size_t)(data[1] | data[2] << 8) : 0;
		const uint8_t *rest = data + (size >= 3 ? 3 : size);
		size_t left = size - (size_t)(rest - data);
		if (l > left)
			l = left;
		fuzz_write_file(path_in, rest, l);
		if (left > l)
			fuzz_write_file(path_sc, rest + l, left - l);
		else
			unlink(path_sc);
		if (ckpt_load_model(path_in, &cfg, &params, &st, err, sizeof err) == 0) {
			check_checkpoint(&cfg, params);
			check_sidecar(&cfg, params, &st);
		}
		unlink(path_sc);
	}
	}
	ckpt_state_release(&st);
	free(params);
	return 0;
}
