/*
 * model/checkpoint.h — model files: llama2.c checkpoints in and out, and the
 * project's own sidecar beside them (scalar head, metadata, training state).
 *
 * A model on disk is two files:
 *
 *   <path>         a llama2.c fp32 checkpoint, v1 ("ak42") when we write it, v0
 *                  (legacy) or v1 when we read it — so any llama2.c model comes in
 *                  and any of ours goes out to llama2.c-compatible tools;
 *   <path>.rlhfd   the sidecar (optional on read): what a llama2.c file cannot
 *                  hold — the scalar head, a metadata JSON string (kind, prompt
 *                  template, special tokens, whatever the caller wants), and an
 *                  optional training state (AdamW m and v, step, RNG state).
 *
 * llama2.c layouts (all little-endian, fp32 tensors row-major (out, in)):
 *
 *   v0: int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size
 *       (negative = separate classifier), seq_len; then token_embedding, rms_att,
 *       wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, freq_cis_real
 *       (seq_len * head_size/2), freq_cis_imag (same), then wcls if separate.
 *   v1: uint32 magic 0x616b3432 ("ak42"), int32 version 1, the same 7 int32
 *       (vocab_size positive), uint8 shared_classifier, zeros up to byte 256; then,
 *       as llama2.c's export.py version1_export writes them: rms_att, rms_ffn,
 *       rms_final, token_embedding, wq, wk, wv, wo, w1, w2, w3, then wcls if not
 *       shared.  No RoPE tables.
 *
 * Sidecar layout (little-endian), 128-byte header:
 *
 *   0   char[8]  magic "RLHFDSC\0"
 *   8   uint32   version (1)
 *   12  uint32   flags: bit 0 = training state present
 *   16  int32[7] dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 *   44  uint8    shared_classifier
 *   48  uint64   n_params (llama_params_count of that config)
 *   56  uint64   meta_len (bytes of metadata JSON, no NUL; at most CKPT_META_MAX)
 *   64  int64    step
 *   72  uint64[4] rng state
 *   104 zeros up to 128
 *   then float head_w[dim], float head_b, char meta[meta_len],
 *   then, if flagged, float m[n_params], float v[n_params].
 *
 * Readers check the file size against the header before allocating anything,
 * so a corrupt or hostile file gives an error, never a crash or a huge malloc.
 * Every write is atomic: a temp file in the same directory, written, flushed,
 * fsync'ed, renamed over the target, then the directory fsync'ed.
 *
 * Functions return 0 or -1; on -1 a lowercase message naming the file in
 * quotes is written to err (size errlen; err may be NULL).
 */
#ifndef RLHFD_MODEL_CHECKPOINT_H
#define RLHFD_MODEL_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/llama.h"

#define CKPT_MAGIC_V1 0x616b3432u     /* "ak42" as a little-endian uint32 */
#define CKPT_SIDECAR_SUFFIX ".rlhfd"
#define CKPT_META_MAX (16u << 20)     /* metadata JSON at most 16 MiB */

/* ---- llama2.c checkpoints ---------------------------------------------- */

/*
 * Reads a v0 or v1 fp32 checkpoint.  On success *cfg is filled and *params is a
 * new buffer of llama_params_count(cfg) floats (caller frees) in the layout of
 * model/llama.h, scalar head zeroed.  The version is told by the magic.
 */
int ckpt_load(const char *path, struct llama_config *cfg, float **params, char *err,
	      size_t errlen);

/* Writes params (borrowed, llama_params_count floats) as a v1 / v0 file.  The
 * scalar head is not part of a llama2.c file (see the sidecar). */
int ckpt_save_v1(const char *path, const struct llama_config *cfg, const float *params,
		 char *err, size_t errlen);
int ckpt_save_v0(const char *path, const struct llama_config *cfg, const float *params,
		 char *err, size_t errlen);

/* ---- the sidecar -------------------------------------------------------- */

struct ckpt_state {
	char *meta;         /* metadata JSON text, NUL-terminated; owned; NULL = none */
	bool has_train;     /* step, rng, m and v below are meaningful */
	int64_t step;       /* optimizer steps taken */
	uint64_t rng[4];    /* the trainer's RNG state, opaque here */
	float *m;           /* (llama_params_count) AdamW first moment; owned */
	float *v;           /* (llama_params_count) AdamW second moment; owned */
};

/* Zeroes st (no allocation). */
void ckpt_state_init(struct ckpt_state *st);
/* Frees meta, m and v and zeroes st (st may be NULL, zeroed or released). */
void ckpt_state_release(struct ckpt_state *st);

/* Writes "<model_path>.rlhfd" into out (size n); -1 if it does not fit. */
int ckpt_sidecar_path(char *out, size_t n, const char *model_path);

/*
 * Writes a sidecar at path: the scalar head taken from params (borrowed,
 * llama_params_count floats), st->meta (NULL = no metadata) and, when
 * st->has_train, step, rng, m and v.  st may be NULL (head only).
 */
int ckpt_save_sidecar(const char *path, const struct llama_config *cfg, const float *params,
		      const struct ckpt_state *st, char *err, size_t errlen);

/*
 * Reads a sidecar whose config must equal cfg: the scalar head goes into params
 * (borrowed, llama_params_count floats); st (may be NULL: head only) is released
 * first, then gets new meta and, when present, new m and v.  On error params and
 * st are left unchanged.
 */
int ckpt_load_sidecar(const char *path, const struct llama_config *cfg, float *params,
		      struct ckpt_state *st, char *err, size_t errlen);

/* ---- a whole model: checkpoint + sidecar ------------------------------- */

/* Writes path (v1) and path.rlhfd (head, st as in ckpt_save_sidecar).  The
 * sidecar is written first, so a model file never exists without its sidecar
 * when both are new. */
int ckpt_save_model(const char *path, const struct llama_config *cfg, const float *params,
		    const struct ckpt_state *st, char *err, size_t errlen);

/* Reads path (v0 or v1) as ckpt_load does, then path.rlhfd when it exists (an
 * absent sidecar = zero head, no metadata, no training state; a broken one is an
 * error).  st may be NULL; otherwise it is released first and filled. */
int ckpt_load_model(const char *path, struct llama_config *cfg, float **params,
		    struct ckpt_state *st, char *err, size_t errlen);

/* ---- atomic writes ------------------------------------------------------ */

/* A file being written atomically: ckpt_atomic_begin opens a temp file beside
 * path; write to f; ckpt_atomic_commit flushes, fsyncs, renames onto path and
 * fsyncs the directory; ckpt_atomic_abort removes the temp file.  Exactly one of
 * commit / abort must follow a successful begin. */
struct ckpt_atomic {
	FILE *f;
	char *path;         /* owned copy of the target path */
	char *tmp;          /* owned temp path */
};
int ckpt_atomic_begin(struct ckpt_atomic *a, const char *path, char *err, size_t errlen);
int ckpt_atomic_commit(struct ckpt_atomic *a, char *err, size_t errlen);
void ckpt_atomic_abort(struct ckpt_atomic *a);

#endif
