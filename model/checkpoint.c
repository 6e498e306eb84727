/*
 * model/checkpoint.c — llama2.c v0/v1 checkpoints and the project's sidecar
 * (formats documented in model/checkpoint.h), with atomic writes.
 */
#include "model/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint files are little-endian; this code reads them as host floats"
#endif

#define V1_HEADER_BYTES 256
#define V0_HEADER_BYTES 28
#define SC_HEADER_BYTES 128
static const char SC_MAGIC[8] = { 'R', 'L', 'H', 'F', 'D', 'S', 'C', 0 };

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- tensor orders -------------------------------------------------------- */

struct tensor_ref {
	float *p;
	size_t n;
};

/* The tensors of a llama2.c file in file order (RoPE tables excluded); returns
 * how many.  v0: embedding, layers, rms_final, (tables), wcls.  v1: norms first. */
static int file_tensors(struct tensor_ref t[12], const struct llama_config *c, float *base,
			int version)
{
	struct llama_weights w;
	size_t L = (size_t)c->n_layers, d = (size_t)c->dim, h = (size_t)c->hidden_dim;
	size_t kv = (size_t)llama_kv_dim(c), V = (size_t)c->vocab_size;
	int n = 0;

	llama_weights_map(&w, c, base);
	struct tensor_ref emb = { w.token_embedding, V * d }, ra = { w.rms_att, L * d },
		rf = { w.rms_ffn, L * d }, rfin = { w.rms_final, d },
		wq = { w.wq, L * d * d }, wk = { w.wk, L * kv * d }, wv = { w.wv, L * kv * d },
		wo = { w.wo, L * d * d }, w1 = { w.w1, L * h * d }, w2 = { w.w2, L * d * h },
		w3 = { w.w3, L * h * d }, cls = { w.wcls, V * d };
	if (version == 0) {
		struct tensor_ref o[] = { emb, ra, wq, wk, wv, wo, rf, w1, w2, w3, rfin };
		for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++)
			t[n++] = o[i];
	} else {
		struct tensor_ref o[] = { ra, rf, rfin, emb, wq, wk, wv, wo, w1, w2, w3 };
		for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++)
			t[n++] = o[i];
	}
	if (!c->shared_classifier)
		t[n++] = cls;
	return n;
}

/* floats of the two v0 RoPE tables together */
static size_t v0_rope_floats(const struct llama_config *c)
{
	return (size_t)c->seq_len * (size_t)llama_head_size(c);
}

/* ---- reading ---------------------------------------------------------------- */

static int read_exact(FILE *f, void *dst, size_t bytes, const char *path, char *err,
		      size_t errlen)
{
	if (bytes && fread(dst, 1, bytes, f) != bytes) {
		if (ferror(f))
			set_err(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		else
			set_err(err, errlen, "unexpected end of '%s': truncated", path);
		return -1;
	}
	return 0;
}

static int32_t le_i32(const unsigned char *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint32_t le_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t le_u64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Opens path for reading and gets its size; regular files only. */
static FILE *open_sized(const char *path, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (!f) {
		set_err(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0) {
		set_err(err, errlen, "cannot stat '%s': %s", path, strerror(errno));
		fclose(f);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "cannot read '%s': not a regular file", path);
		fclose(f);
		return NULL;
	}
	*size = (uint64_t)st.st_size;
	return f;
}

static void cfg_from_ints(struct llama_config *c, const int32_t p[7])
{
	c->dim = p[0];
	c->hidden_dim = p[1];
	c->n_layers = p[2];
	c->n_heads = p[3];
	c->n_kv_heads = p[4];
	c->vocab_size = p[5];
	c->seq_len = p[6];
}

/*
 * The llama2.c header hdr (min(size, V1_HEADER_BYTES) bytes) of a file of size
 * bytes: the configuration into *c, the version (0 or 1) and the header's
 * length, after checking the configuration and that the file holds exactly
 * what the header says.  Returns 0 or -1 with err set.
 */
static int parse_header(const unsigned char *hdr, uint64_t size, const char *path,
			struct llama_config *c, int *ver, uint64_t *header_bytes, char *err,
			size_t errlen)
{
	int32_t p[7];
	char why[128];
	uint64_t expect;

	if (le_u32(hdr) == CKPT_MAGIC_V1) {
		if (size < V1_HEADER_BYTES) {
			set_err(err, errlen, "checkpoint '%s' is truncated: %llu bytes, a v1 header needs %d",
				path, (unsigned long long)size, V1_HEADER_BYTES);
			return -1;
		}
		*ver = le_i32(hdr + 4);
		if (*ver != 1) {
			set_err(err, errlen, "checkpoint '%s' is llama2.c version %d; only fp32 v0 and v1 are supported",
				path, *ver);
			return -1;
		}
		for (int i = 0; i < 7; i++)
			p[i] = le_i32(hdr + 8 + 4 * i);
		cfg_from_ints(c, p);
		if (hdr[36] > 1) {
			set_err(err, errlen, "checkpoint '%s' has a bad header: shared_classifier is %d",
				path, hdr[36]);
			return -1;
		}
		c->shared_classifier = hdr[36] == 1;
		*header_bytes = V1_HEADER_BYTES;
	} else {
		*ver = 0;
		if (size < V0_HEADER_BYTES) {
			set_err(err, errlen, "checkpoint '%s' is truncated: %llu bytes, a v0 header needs %d",
				path, (unsigned long long)size, V0_HEADER_BYTES);
			return -1;
		}
		for (int i = 0; i < 7; i++)
			p[i] = le_i32(hdr + 4 * i);
		c->shared_classifier = p[5] > 0;
		if (p[5] < 0)
			p[5] = p[5] == INT32_MIN ? 0 : -p[5];
		cfg_from_ints(c, p);
		*header_bytes = V0_HEADER_BYTES;
	}
	if (llama_config_check(c, why, sizeof(why)) < 0) {
		set_err(err, errlen, "checkpoint '%s' has a bad header (%d %d %d %d %d %d %d): %s", path,
			p[0], p[1], p[2], p[3], p[4], p[5], p[6], why);
		return -1;
	}
	/* llama_config_check bounds every size, so these products cannot overflow */
	expect = *header_bytes + 4 * (uint64_t)llama_params_count_llama2c(c);
	if (*ver == 0)
		expect += 4 * (uint64_t)v0_rope_floats(c);
	if (size != expect) {
		set_err(err, errlen,
			"checkpoint '%s' does not match its header: %llu bytes, the v%d header (dim %d, %d layers, vocab %d) needs %llu",
			path, (unsigned long long)size, *ver, c->dim, c->n_layers, c->vocab_size,
			(unsigned long long)expect);
		return -1;
	}
	return 0;
}

int ckpt_load(const char *path, struct llama_config *cfg, float **params, char *err,
	      size_t errlen)
{
	unsigned char hdr[V1_HEADER_BYTES];
	struct llama_config c = { 0 };
	struct tensor_ref t[12];
	uint64_t size, header_bytes;
	float *buf = NULL;
	int ver, nt;
	FILE *f;

	*params = NULL;
	f = open_sized(path, &size, err, errlen);
	if (!f)
		return -1;
	if (size < 4) {
		set_err(err, errlen, "checkpoint '%s' is truncated: %llu bytes, not a checkpoint", path,
			(unsigned long long)size);
		goto out_close;
	}
	if (read_exact(f, hdr, size < V1_HEADER_BYTES ? (size_t)size : V1_HEADER_BYTES, path,
		       err, errlen) < 0 ||
	    parse_header(hdr, size, path, &c, &ver, &header_bytes, err, errlen) < 0)
		goto out_close;

	buf = calloc(llama_params_count(&c), sizeof(float));
	if (!buf) {
		set_err(err, errlen, "out of memory loading '%s'", path);
		goto out_close;
	}
	if (fseeko(f, (off_t)header_bytes, SEEK_SET) < 0) {
		set_err(err, errlen, "cannot seek in '%s': %s", path, strerror(errno));
		goto out_free;
	}
	nt = file_tensors(t, &c, buf, ver);
	for (int i = 0; i < nt; i++) {
		/* v0 keeps its RoPE tables (unused) just before the classifier */
		if (ver == 0 && i == 11 &&
		    fseeko(f, (off_t)(4 * v0_rope_floats(&c)), SEEK_CUR) < 0) {
			set_err(err, errlen, "cannot seek in '%s': %s", path, strerror(errno));
			goto out_free;
		}
		if (read_exact(f, t[i].p, t[i].n * sizeof(float), path, err, errlen) < 0)
			goto out_free;
		/* a NaN or infinite weight poisons every logit: refuse it here,
		 * not as empty candidate sets in the sampler later */
		for (size_t k = 0; k < t[i].n; k++)
			if (!isfinite(t[i].p[k])) {
				set_err(err, errlen, "checkpoint '%s' holds a %s weight (tensor %d, element %zu)",
					path, isnan(t[i].p[k]) ? "NaN" : "infinite", i, k);
				goto out_free;
			}
	}
	fclose(f);
	*cfg = c;
	*params = buf;
	return 0;

out_free:
	free(buf);
out_close:
	fclose(f);
	return -1;
}

/* ---- atomic writes ------------------------------------------------------------ */

int ckpt_atomic_begin(struct ckpt_atomic *a, const char *path, char *err, size_t errlen)
{
	char *dup = NULL, *dir, *base;
	int fd;

	memset(a, 0, sizeof(*a));
	a->path = strdup(path);
	dup = strdup(path);
	if (!a->path || !dup)
		goto out_oom;
	base = strrchr(dup, '/');
	if (base) {
		*base++ = 0;
		dir = base - 1 == dup ? "/" : dup;
	} else {
		base = dup;
		dir = ".";
	}
	if (!*base) {
		set_err(err, errlen, "cannot write '%s': not a file name", path);
		goto out_free;
	}
	if (asprintf(&a->tmp, "%s/.%s.tmp.XXXXXX", dir, base) < 0) {
		a->tmp = NULL;
		goto out_oom;
	}
	fd = mkstemp(a->tmp);
	if (fd < 0) {
		set_err(err, errlen, "cannot create a temp file for '%s': %s", path, strerror(errno));
		goto out_free;
	}
	if (fchmod(fd, 0644) < 0 || !(a->f = fdopen(fd, "wb"))) {
		set_err(err, errlen, "cannot open a temp file for '%s': %s", path, strerror(errno));
		close(fd);
		unlink(a->tmp);
		goto out_free;
	}
	free(dup);
	return 0;

out_oom:
	set_err(err, errlen, "out of memory writing '%s'", path);
out_free:
	free(dup);
	free(a->path);
	free(a->tmp);
	memset(a, 0, sizeof(*a));
	return -1;
}

void ckpt_atomic_abort(struct ckpt_atomic *a)
{
	if (a->f)
		fclose(a->f);
	if (a->tmp)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	memset(a, 0, sizeof(*a));
}

static int fsync_dir_of(const char *path)
{
	char *dup = strdup(path), *slash;
	const char *dir;
	int fd, rc;

	if (!dup)
		return -1;
	slash = strrchr(dup, '/');
	if (!slash)
		dir = ".";
	else if (slash == dup)
		dir = "/";
	else {
		*slash = 0;
		dir = dup;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		free(dup);
		return -1;
	}
	rc = fsync(fd);
	close(fd);
	free(dup);
	return rc;
}

int ckpt_atomic_commit(struct ckpt_atomic *a, char *err, size_t errlen)
{
	FILE *f = a->f;
	int rc = -1;

	a->f = NULL;
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0) {
		set_err(err, errlen, "cannot write '%s': %s", a->path, strerror(errno));
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0) {
		set_err(err, errlen, "cannot write '%s': %s", a->path, strerror(errno));
		goto out;
	}
	if (rename(a->tmp, a->path) < 0) {
		set_err(err, errlen, "cannot rename onto '%s': %s", a->path, strerror(errno));
		goto out;
	}
	free(a->tmp);
	a->tmp = NULL; /* renamed: nothing to remove */
	if (fsync_dir_of(a->path) < 0) {
		set_err(err, errlen, "cannot sync the directory of '%s': %s", a->path,
			strerror(errno));
		goto out;
	}
	rc = 0;
out:
	ckpt_atomic_abort(a);
	return rc;
}

/* ---- writing llama2.c files ----------------------------------------------------- */

static int write_floats(FILE *f, const float *p, size_t n)
{
	return fwrite(p, sizeof(float), n, f) == n ? 0 : -1;
}

static int save_llama2c(const char *path, const struct llama_config *cfg, const float *params,
			int version, char *err, size_t errlen)
{
	struct ckpt_atomic a;
	struct tensor_ref t[12];
	char why[128];
	int nt;

	if (llama_config_check(cfg, why, sizeof(why)) < 0) {
		set_err(err, errlen, "cannot write '%s': bad config: %s", path, why);
		return -1;
	}
	if (ckpt_atomic_begin(&a, path, err, errlen) < 0)
		return -1;
	int32_t p[7] = { cfg->dim, cfg->hidden_dim, cfg->n_layers, cfg->n_heads,
			 cfg->n_kv_heads, cfg->vocab_size, cfg->seq_len };
	if (version == 1) {
		unsigned char hdr[V1_HEADER_BYTES] = { 0 };
		uint32_t magic = CKPT_MAGIC_V1;
		int32_t ver = 1;
		memcpy(hdr, &magic, 4);
		memcpy(hdr + 4, &ver, 4);
		memcpy(hdr + 8, p, sizeof(p));
		hdr[36] = cfg->shared_classifier ? 1 : 0;
		if (fwrite(hdr, 1, sizeof(hdr), a.f) != sizeof(hdr))
			goto out_io;
	} else {
		if (!cfg->shared_classifier)
			p[5] = -p[5];
		if (fwrite(p, 4, 7, a.f) != 7)
			goto out_io;
	}
	/* the tensors are only read; file_tensors wants a mutable base */
	nt = file_tensors(t, cfg, (float *)params, version);
	for (int i = 0; i < nt; i++) {
		if (version == 0 && i == 11)
			break; /* wcls goes after the RoPE tables */
		if (write_floats(a.f, t[i].p, t[i].n) < 0)
			goto out_io;
	}
	if (version == 0) {
		/* freq_cis_real then freq_cis_imag, (seq_len, head_size/2) each, as
		 * llama2.c's export computes them (unused by readers) */
		int hs = llama_head_size(cfg);
		for (int part = 0; part < 2; part++)
			for (int pos = 0; pos < cfg->seq_len; pos++)
				for (int i = 0; i < hs / 2; i++) {
					float fr = 1.0f / powf(10000.0f, (float)(2 * i) / (float)hs);
					float ang = (float)pos * fr;
					float v = part == 0 ? cosf(ang) : sinf(ang);
					if (fwrite(&v, 4, 1, a.f) != 1)
						goto out_io;
				}
		if (nt == 12 && write_floats(a.f, t[11].p, t[11].n) < 0)
			goto out_io;
	}
	return ckpt_atomic_commit(&a, err, errlen);

out_io:
	set_err(err, errlen, "cannot write '%s': %s", path, strerror(errno));
	ckpt_atomic_abort(&a);
	return -1;
}

int ckpt_save_v1(const char *path, const struct llama_config *cfg, const float *params,
		 char *err, size_t errlen)
{
	return save_llama2c(path, cfg, params, 1, err, errlen);
}

int ckpt_save_v0(const char *path, const struct llama_config *cfg, const float *params,
		 char *err, size_t errlen)
{
	return save_llama2c(path, cfg, params, 0, err, errlen);
}

/* ---- the sidecar ---------------------------------------------------------------- */

void ckpt_state_init(struct ckpt_state *st)
{
	memset(st, 0, sizeof(*st));
}

void ckpt_state_release(struct ckpt_state *st)
{
	if (!st)
		return;
	free(st->meta);
	free(st->m);
	free(st->v);
	memset(st, 0, sizeof(*st));
}

int ckpt_sidecar_path(char *out, size_t n, const char *model_path)
{
	int len = snprintf(out, n, "%s%s", model_path, CKPT_SIDECAR_SUFFIX);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

int ckpt_save_sidecar(const char *path, const struct llama_config *cfg, const float *params,
		      const struct ckpt_state *st, char *err, size_t errlen)
{
	unsigned char hdr[SC_HEADER_BYTES] = { 0 };
	struct ckpt_atomic a;
	struct llama_weights w;
	size_t np = llama_params_count(cfg), meta_len = st && st->meta ? strlen(st->meta) : 0;
	bool train = st && st->has_train;
	char why[128];

	if (llama_config_check(cfg, why, sizeof(why)) < 0) {
		set_err(err, errlen, "cannot write '%s': bad config: %s", path, why);
		return -1;
	}
	if (meta_len > CKPT_META_MAX) {
		set_err(err, errlen, "cannot write '%s': metadata is %zu bytes, over %u", path,
			meta_len, CKPT_META_MAX);
		return -1;
	}
	if (train && (!st->m || !st->v)) {
		set_err(err, errlen, "cannot write '%s': training state without moments", path);
		return -1;
	}
	llama_weights_map(&w, cfg, (float *)params);

	uint32_t ver = 1, flags = train ? 1u : 0u;
	int32_t p[7] = { cfg->dim, cfg->hidden_dim, cfg->n_layers, cfg->n_heads,
			 cfg->n_kv_heads, cfg->vocab_size, cfg->seq_len };
	uint64_t n64 = np, ml = meta_len;
	int64_t step = train ? st->step : 0;
	memcpy(hdr, SC_MAGIC, 8);
	memcpy(hdr + 8, &ver, 4);
	memcpy(hdr + 12, &flags, 4);
	memcpy(hdr + 16, p, sizeof(p));
	hdr[44] = cfg->shared_classifier ? 1 : 0;
	memcpy(hdr + 48, &n64, 8);
	memcpy(hdr + 56, &ml, 8);
	memcpy(hdr + 64, &step, 8);
	if (train)
		memcpy(hdr + 72, st->rng, sizeof(st->rng));

	if (ckpt_atomic_begin(&a, path, err, errlen) < 0)
		return -1;
	if (fwrite(hdr, 1, sizeof(hdr), a.f) != sizeof(hdr) ||
	    write_floats(a.f, w.head_w, (size_t)cfg->dim) < 0 ||
	    write_floats(a.f, w.head_b, 1) < 0 ||
	    (meta_len && fwrite(st->meta, 1, meta_len, a.f) != meta_len) ||
	    (train && (write_floats(a.f, st->m, np) < 0 || write_floats(a.f, st->v, np) < 0))) {
		set_err(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		ckpt_atomic_abort(&a);
		return -1;
	}
	return ckpt_atomic_commit(&a, err, errlen);
}

/*
 * The sidecar header hdr (SC_HEADER_BYTES) of a file of size bytes, checked
 * against the model it is loaded for (cfg, np parameters) and the file's
 * size: *train (optimizer state follows) and *meta_len from it.  Returns 0 or
 * -1 with err set.
 */
static int sidecar_header(const unsigned char *hdr, uint64_t size, const char *path,
			  const struct llama_config *cfg, size_t np, bool *train,
			  uint64_t *meta_len, char *err, size_t errlen)
{
	struct llama_config c = { 0 };
	uint32_t ver, flags;
	uint64_t n64, expect;
	int32_t p[7];

	if (memcmp(hdr, SC_MAGIC, 8) != 0) {
		set_err(err, errlen, "sidecar '%s' has a bad magic: not an rlhfd sidecar", path);
		return -1;
	}
	ver = le_u32(hdr + 8);
	flags = le_u32(hdr + 12);
	if (ver != 1 || (flags & ~1u)) {
		set_err(err, errlen, "sidecar '%s' has version %u flags %#x; only version 1 is supported",
			path, ver, flags);
		return -1;
	}
	*train = flags & 1u;
	for (int i = 0; i < 7; i++)
		p[i] = le_i32(hdr + 16 + 4 * i);
	cfg_from_ints(&c, p);
	c.shared_classifier = hdr[44] == 1;
	if (c.dim != cfg->dim || c.hidden_dim != cfg->hidden_dim || c.n_layers != cfg->n_layers ||
	    c.n_heads != cfg->n_heads || c.n_kv_heads != cfg->n_kv_heads ||
	    c.vocab_size != cfg->vocab_size || c.seq_len != cfg->seq_len ||
	    c.shared_classifier != cfg->shared_classifier || hdr[44] > 1) {
		set_err(err, errlen, "sidecar '%s' belongs to another model shape (dim %d, %d layers, vocab %d)",
			path, c.dim, c.n_layers, c.vocab_size);
		return -1;
	}
	n64 = le_u64(hdr + 48);
	*meta_len = le_u64(hdr + 56);
	if (n64 != np) {
		set_err(err, errlen, "sidecar '%s' has a bad header: %llu parameters, the model has %zu",
			path, (unsigned long long)n64, np);
		return -1;
	}
	if (*meta_len > CKPT_META_MAX) {
		set_err(err, errlen, "sidecar '%s' has a bad header: metadata of %llu bytes", path,
			(unsigned long long)*meta_len);
		return -1;
	}
	expect = SC_HEADER_BYTES + 4 * ((uint64_t)cfg->dim + 1) + *meta_len +
		 (*train ? 8 * (uint64_t)np : 0);
	if (size != expect) {
		set_err(err, errlen, "sidecar '%s' does not match its header: %llu bytes, it needs %llu",
			path, (unsigned long long)size, (unsigned long long)expect);
		return -1;
	}
	return 0;
}

int ckpt_load_sidecar(const char *path, const struct llama_config *cfg, float *params,
		      struct ckpt_state *st, char *err, size_t errlen)
{
	unsigned char hdr[SC_HEADER_BYTES];
	struct llama_weights w;
	struct ckpt_state ns;
	size_t np = llama_params_count(cfg);
	float *head = NULL;
	uint64_t size, meta_len;
	bool train;
	FILE *f;

	ckpt_state_init(&ns);
	f = open_sized(path, &size, err, errlen);
	if (!f)
		return -1;
	if (size < SC_HEADER_BYTES) {
		set_err(err, errlen, "sidecar '%s' is truncated: %llu bytes, a sidecar header needs %d",
			path, (unsigned long long)size, SC_HEADER_BYTES);
		goto out_close;
	}
	if (read_exact(f, hdr, sizeof(hdr), path, err, errlen) < 0 ||
	    sidecar_header(hdr, size, path, cfg, np, &train, &meta_len, err, errlen) < 0)
		goto out_close;

	head = malloc(((size_t)cfg->dim + 1) * sizeof(float));
	ns.meta = meta_len ? malloc(meta_len + 1) : NULL;
	if (train) {
		ns.m = malloc(np * sizeof(float));
		ns.v = malloc(np * sizeof(float));
	}
	if (!head || (meta_len && !ns.meta) || (train && (!ns.m || !ns.v))) {
		set_err(err, errlen, "out of memory loading '%s'", path);
		goto out_free;
	}
	if (read_exact(f, head, ((size_t)cfg->dim + 1) * sizeof(float), path, err, errlen) < 0 ||
	    read_exact(f, ns.meta, meta_len, path, err, errlen) < 0 ||
	    (train && (read_exact(f, ns.m, np * sizeof(float), path, err, errlen) < 0 ||
		       read_exact(f, ns.v, np * sizeof(float), path, err, errlen) < 0)))
		goto out_free;
	if (ns.meta) {
		ns.meta[meta_len] = 0;
		if (strlen(ns.meta) != meta_len) {
			set_err(err, errlen, "sidecar '%s' has a NUL byte inside its metadata", path);
			goto out_free;
		}
	}
	ns.has_train = train;
	if (train) {
		memcpy(&ns.step, hdr + 64, 8);
		memcpy(ns.rng, hdr + 72, sizeof(ns.rng));
	}
	fclose(f);

	llama_weights_map(&w, cfg, params);
	memcpy(w.head_w, head, (size_t)cfg->dim * sizeof(float));
	w.head_b[0] = head[cfg->dim];
	free(head);
	if (st) {
		ckpt_state_release(st);
		*st = ns;
	} else {
		ckpt_state_release(&ns);
	}
	return 0;

out_free:
	free(head);
	ckpt_state_release(&ns);
out_close:
	fclose(f);
	return -1;
}

/* ---- whole models ------------------------------------------------------------------ */

int ckpt_save_model(const char *path, const struct llama_config *cfg, const float *params,
		    const struct ckpt_state *st, char *err, size_t errlen)
{
	char *sc;
	int rc;

	if (asprintf(&sc, "%s%s", path, CKPT_SIDECAR_SUFFIX) < 0) {
		set_err(err, errlen, "out of memory writing '%s'", path);
		return -1;
	}
	rc = ckpt_save_sidecar(sc, cfg, params, st, err, errlen);
	if (rc == 0)
		rc = ckpt_save_v1(path, cfg, params, err, errlen);
	free(sc);
	return rc;
}

int ckpt_load_model(const char *path, struct llama_config *cfg, float **params,
		    struct ckpt_state *st, char *err, size_t errlen)
{
	struct llama_config c;
	float *p;
	char *sc;

	if (ckpt_load(path, &c, &p, err, errlen) < 0)
		return -1;
	if (asprintf(&sc, "%s%s", path, CKPT_SIDECAR_SUFFIX) < 0) {
		set_err(err, errlen, "out of memory loading '%s'", path);
		free(p);
		return -1;
	}
	if (access(sc, F_OK) == 0) {
		if (ckpt_load_sidecar(sc, &c, p, st, err, errlen) < 0) {
			free(sc);
			free(p);
			return -1;
		}
	} else if (errno != ENOENT) {
		set_err(err, errlen, "cannot open '%s': %s", sc, strerror(errno));
		free(sc);
		free(p);
		return -1;
	} else if (st) {
		ckpt_state_release(st);
	}
	free(sc);
	*cfg = c;
	*params = p;
	return 0;
}
