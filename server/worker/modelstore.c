/*
 * server/worker/modelstore.c — model versions on disk (see modelstore.h).
 */
#include "server/worker/modelstore.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include "db/db.h"
#include "db/versions.h"
#include "model/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKENIZER_FILE_MAX (256u << 20)
#define CORPUS_FILE_MAX (1u << 30)

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

bool modelstore_kind_generates(const char *kind)
{
	return !strcmp(kind, "base") || !strcmp(kind, "sft") || !strcmp(kind, "policy");
}

/* <data>/models, created (0700) when missing. */
static int models_dir(const char *data_dir, char *out, size_t n, char *err, size_t errlen)
{
	if ((size_t)snprintf(out, n, "%s/models", data_dir) >= n)
		return fail(err, errlen, "data directory path too long");
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		return fail(err, errlen, "cannot create '%s': %s", out, strerror(errno));
	return 0;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

void modelstore_model_release(struct modelstore_model *m)
{
	free(m->params);
	json_decref(m->meta);
	memset(m, 0, sizeof *m);
}

/* The row of version id and its file path (out, size n). */
static int model_file(struct db *db, const char *data_dir, int64_t id, struct db_work_model *row,
		      char *out, size_t n, char *err, size_t errlen)
{
	int rc = db_work_model_get(db, id, row);
	if (rc == DB_NOTFOUND)
		return fail(err, errlen, "model %lld not found", (long long)id);
	if (rc < 0)
		return fail(err, errlen, "model %lld: cannot read its row (database error)", (long long)id);
	if (!row->path) {
		db_work_model_release(row);
		return fail(err, errlen, "model %lld has no file", (long long)id);
	}
	int len = row->path[0] == '/' ? snprintf(out, n, "%s", row->path) :
		  snprintf(out, n, "%s/%s", data_dir, row->path);
	if (len < 0 || (size_t)len >= n) {
		db_work_model_release(row);
		return fail(err, errlen, "model %lld: path too long", (long long)id);
	}
	return 0;
}

int modelstore_path(struct db *db, const char *data_dir, int64_t id, char *out, size_t n,
		    char *err, size_t errlen)
{
	struct db_work_model row;
	if (model_file(db, data_dir, id, &row, out, n, err, errlen) < 0)
		return -1;
	db_work_model_release(&row);
	return 0;
}

enum llama_score modelstore_score_parse(const char *name)
{
	return name && strcmp(name, "mean") == 0 ? LLAMA_SCORE_MEAN : LLAMA_SCORE_LAST;
}

const char *modelstore_score_name(enum llama_score score)
{
	return score == LLAMA_SCORE_MEAN ? "mean" : "last";
}

/* A file named in m's metadata: name relative to the checkpoint's directory
 * (or absolute) into out (size n).  0, or -1 when the path is too long. */
static int beside(const struct modelstore_model *m, const char *name, char *out, size_t n)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", m->path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, ".");
	int len = name[0] == '/' ? snprintf(out, n, "%s", name) : snprintf(out, n, "%s/%s", dir, name);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

int modelstore_load(struct db *db, const char *data_dir, int64_t id,
		    struct modelstore_model *m, char *err, size_t errlen)
{
	struct db_work_model row;
	struct ckpt_state st;
	char e[400];
	memset(m, 0, sizeof *m);
	if (model_file(db, data_dir, id, &row, m->path, sizeof m->path, err, errlen) < 0)
		return -1;
	m->id = id;
	snprintf(m->kind, sizeof m->kind, "%s", row.kind);
	m->parent_id = row.parent_id;
	db_work_model_release(&row);

	ckpt_state_init(&st);
	if (ckpt_load_model(m->path, &m->cfg, &m->params, &st, e, sizeof e) < 0) {
		ckpt_state_release(&st);
		return fail(err, errlen, "model %lld: %s", (long long)id, e);
	}
	m->meta = st.meta ? json_loads(st.meta, 0, NULL) : NULL;
	ckpt_state_release(&st);
	if (!json_is_object(m->meta)) {
		json_decref(m->meta);
		m->meta = json_object();
	}
	m->score = modelstore_score_parse(json_string_value(json_object_get(m->meta, "score")));
	json_t *t = json_object_get(m->meta, "template");
	m->template = json_is_string(t) ? json_string_value(t) : MODELSTORE_DEFAULT_TEMPLATE;
	m->system_template = json_string_value(json_object_get(m->meta, "system_template"));
	json_t *bos = json_object_get(m->meta, "bos"), *eos = json_object_get(m->meta, "eos");
	m->bos_id = json_is_integer(bos) ? (int)json_integer_value(bos) : TOKENIZER_BOS;
	m->eos_id = json_is_integer(eos) ? (int)json_integer_value(eos) : TOKENIZER_EOS;
	if (m->bos_id < 0 || m->bos_id >= m->cfg.vocab_size)
		m->bos_id = TOKENIZER_BOS;
	if (m->eos_id < 0 || m->eos_id >= m->cfg.vocab_size)
		m->eos_id = TOKENIZER_EOS;

	/* the tokenizer: meta "tokenizer" relative to the checkpoint's directory */
	json_t *tk = json_object_get(m->meta, "tokenizer");
	const char *name = json_is_string(tk) ? json_string_value(tk) : "tokenizer.bin";
	if (beside(m, name, m->tokenizer_path, sizeof m->tokenizer_path) < 0) {
		modelstore_model_release(m);
		return fail(err, errlen, "model %lld: tokenizer path too long", (long long)id);
	}
	return 0;
}

int modelstore_load_tokenizer(const struct modelstore_model *m, struct tokenizer *tk,
			      char *err, size_t errlen)
{
	char e[400];
	tokenizer_init(tk);
	if (tokenizer_load(tk, m->tokenizer_path, m->cfg.vocab_size, e, sizeof e) < 0)
		return fail(err, errlen, "model %lld: %s", (long long)m->id, e);
	return 0;
}

/* ---- writing ------------------------------------------------------------------ */

/* Unique temporary names in the models directory for this process. */
static void temp_name(char *out, size_t n, const char *dir)
{
	static atomic_uint serial;
	snprintf(out, n, "%s/.new-%ld-%u.bin", dir, (long)getpid(), atomic_fetch_add(&serial, 1));
}

static void unlink_model(const char *path)
{
	char side[PATH_MAX + 16];
	unlink(path);
	if (ckpt_sidecar_path(side, sizeof side, path) == 0)
		unlink(side);
}

int modelstore_save(struct db *db, const char *data_dir, const struct modelstore_version *v,
		    const struct llama_config *cfg, const float *params, int64_t *id,
		    char *err, size_t errlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 64], tmp_side[PATH_MAX + 80], fin[PATH_MAX + 64],
	     fin_side[PATH_MAX + 80], rel[64], e[400];
	if (models_dir(data_dir, dir, sizeof dir, err, errlen) < 0)
		return -1;
	temp_name(tmp, sizeof tmp, dir);

	/* the metadata: the caller's, with our kind */
	json_t *meta = v->meta ? json_deep_copy(v->meta) : json_object();
	if (meta && !v->score)
		json_object_del(meta, "score"); /* -1 when absent: nothing to drop */
	if (!meta || json_object_set_new(meta, "kind", json_string(v->kind)) < 0 ||
	    (v->score && json_object_set_new(meta, "score", json_string(v->score)) < 0)) {
		json_decref(meta);
		return fail(err, errlen, "out of memory");
	}
	struct ckpt_state st;
	ckpt_state_init(&st);
	st.meta = json_dumps(meta, JSON_COMPACT);
	json_decref(meta);
	if (!st.meta)
		return fail(err, errlen, "out of memory");
	int rc = ckpt_save_model(tmp, cfg, params, &st, e, sizeof e);
	ckpt_state_release(&st);
	if (rc < 0) {
		unlink_model(tmp);
		return fail(err, errlen, "%s", e);
	}
	ckpt_sidecar_path(tmp_side, sizeof tmp_side, tmp);

	/* one short transaction: the row, its path, ratings, metrics, the rename */
	int64_t nid = 0;
	if ((rc = db_begin(db)) < 0)
		goto out_unlink;
	if ((rc = db_model_create(db, v->kind, v->name, v->parent_id, v->job_id, v->params_json,
				  NULL, &nid)) < 0)
		goto out_rollback;
	snprintf(rel, sizeof rel, "models/%lld.bin", (long long)nid);
	snprintf(fin, sizeof fin, "%s/%lld.bin", dir, (long long)nid);
	ckpt_sidecar_path(fin_side, sizeof fin_side, fin);
	if ((rc = db_work_model_set_path(db, nid, rel)) < 0 ||
	    (v->n_ratings && (rc = db_work_model_add_ratings(db, nid, v->rating_ids, v->n_ratings)) < 0) ||
	    (rc = db_work_model_set_metrics(db, nid, v->metrics_json)) < 0)
		goto out_rollback;
	/* sidecar first: a model file never exists without its sidecar */
	if (rename(tmp_side, fin_side) != 0 || rename(tmp, fin) != 0) {
		fail(err, errlen, "cannot rename '%s' to '%s': %s", tmp, fin, strerror(errno));
		db_rollback(db);
		unlink_model(fin);
		unlink_model(tmp);
		return -1;
	}
	fsync_dir(dir);
	if ((rc = db_commit(db)) < 0) {
		unlink_model(fin);
		return fail(err, errlen, "cannot record the new model version (database %s)",
			    rc == DB_BUSY ? "busy" : "error");
	}
	*id = nid;
	if (v->activate && modelstore_kind_generates(v->kind) && (rc = db_model_activate(db, nid)) < 0)
		return fail(err, errlen, "model %lld saved but not activated (database %s)",
			    (long long)nid, rc == DB_BUSY ? "busy" : "error");
	return 0;

out_rollback:
	db_rollback(db);
out_unlink:
	unlink_model(tmp);
	return fail(err, errlen, "cannot record the new model version (database %s)",
		    rc == DB_BUSY ? "busy" : rc == DB_INVALID ? "refused it" : "error");
}

/* Reads a whole file (at most max bytes) into a new buffer, which has room
 * for one byte more than *len. */
static int read_all(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(err, errlen, "cannot open '%s': %s", path, strerror(errno));
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			char *p = cap <= max + 1 ? realloc(buf, cap) : NULL;
			if (!p) {
				free(buf);
				fclose(f);
				return fail(err, errlen, "'%s' is too large or memory ran out", path);
			}
			buf = p;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return fail(err, errlen, "cannot read '%s'", path);
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Writes buf (len bytes) into <data>/models/ as <prefix>-<sha256 prefix><ext>
 * unless a file of that name holds the same bytes; *name (size n) = that file
 * name. */
static int put_named(const char *data_dir, const char *buf, size_t len, size_t max,
		     const char *prefix, const char *ext, char *name, size_t n, char *err,
		     size_t errlen)
{
	char dir[PATH_MAX], dst[PATH_MAX + 64], e[400];
	if (models_dir(data_dir, dir, sizeof dir, err, errlen) < 0)
		return -1;
	uint8_t h[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, len, h);
	char hex[17];
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(name, n, "%s-%s%s", prefix, hex, ext);
	snprintf(dst, sizeof dst, "%s/%s", dir, name);

	/* already there with the same bytes: nothing to write */
	char *old;
	size_t old_len;
	if (read_all(dst, max, &old, &old_len, NULL, 0) == 0) {
		bool same = old_len == len && memcmp(old, buf, len) == 0;
		free(old);
		if (same)
			return 0;
	}
	struct ckpt_atomic a;
	if (ckpt_atomic_begin(&a, dst, e, sizeof e) < 0)
		return fail(err, errlen, "%s", e);
	if (fwrite(buf, 1, len, a.f) != len) {
		ckpt_atomic_abort(&a);
		return fail(err, errlen, "cannot write '%s'", dst);
	}
	if (ckpt_atomic_commit(&a, e, sizeof e) < 0)
		return fail(err, errlen, "%s", e);
	return 0;
}

int modelstore_put_tokenizer(const char *data_dir, const char *src, int vocab_size,
			     char *name, size_t n, char *err, size_t errlen)
{
	char e[400];
	struct tokenizer tk;
	tokenizer_init(&tk);
	if (tokenizer_load(&tk, src, vocab_size, e, sizeof e) < 0)
		return fail(err, errlen, "%s", e);
	tokenizer_release(&tk);
	char *buf;
	size_t len;
	if (read_all(src, TOKENIZER_FILE_MAX, &buf, &len, err, errlen) < 0)
		return -1;
	int rc = put_named(data_dir, buf, len, TOKENIZER_FILE_MAX, "tokenizer", ".bin", name, n,
			   err, errlen);
	free(buf);
	return rc;
}

int modelstore_put_corpus(const char *data_dir, const char *src, char *name, size_t n,
			  char *err, size_t errlen)
{
	char *buf;
	size_t len;
	if (read_all(src, CORPUS_FILE_MAX, &buf, &len, err, errlen) < 0)
		return -1;
	int rc;
	if (len == 0)
		rc = fail(err, errlen, "the corpus '%s' is empty", src);
	else if (memchr(buf, 0, len))
		rc = fail(err, errlen, "the corpus '%s' is not text (it holds a NUL byte)", src);
	else
		rc = put_named(data_dir, buf, len, CORPUS_FILE_MAX, "corpus", ".txt", name, n, err,
			       errlen);
	free(buf);
	return rc;
}

int modelstore_load_corpus(const struct modelstore_model *m, char **text, size_t *len,
			   char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t n;
	*text = NULL;
	*len = 0;
	json_t *c = json_object_get(m->meta, "corpus");
	if (!json_is_string(c))
		return 0;
	if (beside(m, json_string_value(c), path, sizeof path) < 0)
		return fail(err, errlen, "model %lld: corpus path too long", (long long)m->id);
	if (read_all(path, CORPUS_FILE_MAX, text, &n, err, errlen) < 0)
		return -1;
	(*text)[n] = 0;         /* read_all leaves room for one more byte */
	*len = n;
	return 0;
}

int modelstore_import(struct db *db, const char *data_dir, const char *model_path,
		      const char *tokenizer_path, const char *kind, const char *name,
		      const char *tmpl, const char *sys_tmpl, const char *corpus_path, bool activate,
		      int64_t *id, char *err, size_t errlen)
{
	struct llama_config cfg;
	struct ckpt_state st;
	float *params = NULL;
	char e[400], tok_name[64], corpus_name[64];
	if (!kind)
		kind = "base";
	if (strcmp(kind, "base") && strcmp(kind, "sft") && strcmp(kind, "policy") &&
	    strcmp(kind, "reward"))
		return fail(err, errlen, "unknown model kind '%s' (base, sft, policy or reward)", kind);
	if (tmpl && !strstr(tmpl, "{prompt}"))
		return fail(err, errlen, "the template '%s' has no {prompt}", tmpl);
	if (sys_tmpl && !strstr(sys_tmpl, "{system}"))
		return fail(err, errlen, "the system template '%s' has no {system}", sys_tmpl);
	ckpt_state_init(&st);
	if (ckpt_load_model(model_path, &cfg, &params, &st, e, sizeof e) < 0) {
		ckpt_state_release(&st);
		return fail(err, errlen, "%s", e);
	}
	json_t *meta = st.meta ? json_loads(st.meta, 0, NULL) : NULL;
	ckpt_state_release(&st);
	if (!json_is_object(meta)) {
		json_decref(meta);
		meta = json_object();
	}
	int rc = -1;
	if (modelstore_put_tokenizer(data_dir, tokenizer_path, cfg.vocab_size, tok_name,
				     sizeof tok_name, err, errlen) < 0)
		goto out;
	json_object_set_new(meta, "tokenizer", json_string(tok_name));
	if (corpus_path) {
		if (modelstore_put_corpus(data_dir, corpus_path, corpus_name, sizeof corpus_name, err,
					  errlen) < 0)
			goto out;
		json_object_set_new(meta, "corpus", json_string(corpus_name));
	}
	if (sys_tmpl)
		json_object_set_new(meta, "system_template", json_string(sys_tmpl));
	if (tmpl)
		json_object_set_new(meta, "template", json_string(tmpl));
	else if (!json_is_string(json_object_get(meta, "template")))
		json_object_set_new(meta, "template", json_string(MODELSTORE_DEFAULT_TEMPLATE));
	if (!json_is_integer(json_object_get(meta, "bos")))
		json_object_set_new(meta, "bos", json_integer(TOKENIZER_BOS));
	if (!json_is_integer(json_object_get(meta, "eos")))
		json_object_set_new(meta, "eos", json_integer(TOKENIZER_EOS));
	json_t *vp = json_pack("{ss ss ss?}", "imported_from", model_path, "tokenizer", tokenizer_path,
			       "corpus", corpus_path);
	char *vp_text = vp ? json_dumps(vp, JSON_COMPACT) : NULL;
	json_decref(vp);
	struct modelstore_version v = {
		.kind = kind, .name = name, .params_json = vp_text, .activate = activate, .meta = meta,
	};
	rc = modelstore_save(db, data_dir, &v, &cfg, params, id, err, errlen);
	free(vp_text);
out:
	json_decref(meta);
	free(params);
	return rc;
}

int modelstore_export(struct db *db, const char *data_dir, int64_t id, const char *out_path,
		      const char *tokenizer_out, char *err, size_t errlen)
{
	struct modelstore_model m;
	char e[400];
	if (modelstore_load(db, data_dir, id, &m, err, errlen) < 0)
		return -1;
	int rc = ckpt_save_v1(out_path, &m.cfg, m.params, e, sizeof e);
	if (rc < 0)
		fail(err, errlen, "%s", e);
	if (rc == 0 && tokenizer_out) {
		char *buf;
		size_t len;
		struct ckpt_atomic a;
		rc = read_all(m.tokenizer_path, TOKENIZER_FILE_MAX, &buf, &len, err, errlen);
		if (rc == 0) {
			rc = ckpt_atomic_begin(&a, tokenizer_out, e, sizeof e);
			if (rc == 0 && fwrite(buf, 1, len, a.f) != len) {
				ckpt_atomic_abort(&a);
				rc = -1;
				snprintf(e, sizeof e, "cannot write '%s'", tokenizer_out);
			} else if (rc == 0) {
				rc = ckpt_atomic_commit(&a, e, sizeof e);
			}
			if (rc < 0)
				fail(err, errlen, "%s", e);
			free(buf);
		}
	}
	modelstore_model_release(&m);
	return rc < 0 ? -1 : 0;
}
