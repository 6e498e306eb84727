/*
 * tests/unit/test_checkpoint.c — model/checkpoint: llama2.c v0/v1 files read
 * against files written here by hand from the documented layouts (llama2.c's
 * export.py), bit-exact round trips, clean errors on broken files, atomic
 * writes, and the sidecar.
 */
#include "model/checkpoint.h"
#include "tests/test.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static const char *tpath(const char *name)
{
	static char buf[8][400];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* odd little model with grouped-query heads */
static struct llama_config small_cfg(bool shared)
{
	struct llama_config c = { .dim = 12, .hidden_dim = 10, .n_layers = 2, .n_heads = 3,
				  .n_kv_heads = 1, .vocab_size = 7, .seq_len = 5,
				  .shared_classifier = shared };
	return c;
}

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((rng >> 40) / 16777216.0) * 2.0f - 1.0f;
}

static float *random_params(const struct llama_config *c)
{
	size_t n = llama_params_count(c);
	float *p = malloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++)
		p[i] = frand();
	return p;
}

/* ---- files written by hand ------------------------------------------------- */

/* value of element i of tensor number id: tells both apart after loading */
static float tag(int id, size_t i) { return (float)(id * 10000 + (int)i); }

static void put_tensor(FILE *f, int id, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float v = tag(id, i);
		fwrite(&v, 4, 1, f);
	}
}

enum { T_EMB, T_RA, T_WQ, T_WK, T_WV, T_WO, T_RF, T_W1, T_W2, T_W3, T_RFIN, T_CLS };

static void tensor_sizes(const struct llama_config *c, size_t s[12])
{
	size_t L = c->n_layers, d = c->dim, h = c->hidden_dim, V = c->vocab_size;
	size_t kv = (size_t)c->dim / c->n_heads * c->n_kv_heads;
	size_t t[12] = { V * d, L * d, L * d * d, L * kv * d, L * kv * d, L * d * d, L * d,
			 L * h * d, L * d * h, L * h * d, d, V * d };
	memcpy(s, t, sizeof(t));
}

/* v0 exactly as llama2.c's export.py legacy_export lays it out */
static void write_v0_by_hand(const char *path, const struct llama_config *c)
{
	size_t s[12];
	FILE *f = fopen(path, "wb");
	int32_t h[7] = { c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
			 c->shared_classifier ? c->vocab_size : -c->vocab_size, c->seq_len };
	tensor_sizes(c, s);
	fwrite(h, 4, 7, f);
	for (int id = T_EMB; id <= T_RFIN; id++)
		put_tensor(f, id, s[id]);
	put_tensor(f, 99, (size_t)c->seq_len * (c->dim / c->n_heads)); /* freq_cis real+imag */
	if (!c->shared_classifier)
		put_tensor(f, T_CLS, s[T_CLS]);
	fclose(f);
}

/* v1 exactly as export.py version1_export lays it out: norms first */
static void write_v1_by_hand(const char *path, const struct llama_config *c)
{
	static const int order[] = { T_RA, T_RF, T_RFIN, T_EMB, T_WQ, T_WK, T_WV, T_WO, T_W1,
				     T_W2, T_W3 };
	unsigned char hdr[256] = { 0 };
	uint32_t magic = 0x616b3432;
	int32_t ver = 1;
	int32_t h[7] = { c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
			 c->vocab_size, c->seq_len };
	size_t s[12];
	FILE *f = fopen(path, "wb");
	tensor_sizes(c, s);
	memcpy(hdr, "24ka", 4); /* "ak42" read as a little-endian uint32 */
	CHECK(memcmp(hdr, &magic, 4) == 0);
	memcpy(hdr + 4, &ver, 4);
	memcpy(hdr + 8, h, sizeof(h));
	hdr[36] = c->shared_classifier;
	fwrite(hdr, 1, 256, f);
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		put_tensor(f, order[k], s[order[k]]);
	if (!c->shared_classifier)
		put_tensor(f, T_CLS, s[T_CLS]);
	fclose(f);
}

static void check_tags(const struct llama_config *c, float *p)
{
	struct llama_weights w;
	size_t s[12];
	llama_weights_map(&w, c, p);
	tensor_sizes(c, s);
	float *t[12] = { w.token_embedding, w.rms_att, w.wq, w.wk, w.wv, w.wo, w.rms_ffn,
			 w.w1, w.w2, w.w3, w.rms_final, w.wcls };
	for (int id = 0; id < 12; id++) {
		int bad = 0;
		int src = id == T_CLS && c->shared_classifier ? T_EMB : id;
		for (size_t i = 0; i < s[id]; i++)
			bad += t[id][i] != tag(src, i);
		CHECK_MSG(bad == 0, "tensor %d: %d wrong values", id, bad);
	}
	CHECK(w.head_b[0] == 0.0f);
	for (int i = 0; i < c->dim; i++)
		CHECK(w.head_w[i] == 0.0f);
}

static bool cfg_eq(const struct llama_config *a, const struct llama_config *b)
{
	return a->dim == b->dim && a->hidden_dim == b->hidden_dim && a->n_layers == b->n_layers &&
	       a->n_heads == b->n_heads && a->n_kv_heads == b->n_kv_heads &&
	       a->vocab_size == b->vocab_size && a->seq_len == b->seq_len &&
	       a->shared_classifier == b->shared_classifier;
}

static void test_load_handmade_v0(void)
{
	for (int shared = 0; shared < 2; shared++) {
		struct llama_config c = small_cfg(shared), got;
		float *p = NULL;
		char err[256] = "";
		write_v0_by_hand(tpath("hand0.bin"), &c);
		CHECK_INT_EQ(ckpt_load(tpath("hand0.bin"), &got, &p, err, sizeof(err)), 0);
		if (!p) {
			fprintf(stderr, "  %s\n", err);
			continue;
		}
		CHECK(cfg_eq(&got, &c));
		check_tags(&c, p);
		free(p);
	}
}

static void test_load_handmade_v1(void)
{
	for (int shared = 0; shared < 2; shared++) {
		struct llama_config c = small_cfg(shared), got;
		float *p = NULL;
		char err[256] = "";
		write_v1_by_hand(tpath("hand1.bin"), &c);
		CHECK_INT_EQ(ckpt_load(tpath("hand1.bin"), &got, &p, err, sizeof(err)), 0);
		if (!p) {
			fprintf(stderr, "  %s\n", err);
			continue;
		}
		CHECK(cfg_eq(&got, &c));
		check_tags(&c, p);
		free(p);
	}
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_round_trips_bit_exact(void)
{
	for (int shared = 0; shared < 2; shared++)
		for (int ver = 0; ver < 2; ver++) {
			struct llama_config c = small_cfg(shared), got;
			float *p = random_params(&c), *q = NULL;
			struct llama_weights w;
			size_t n2c = llama_params_count_llama2c(&c);
			char err[256] = "";
			const char *path = tpath("rt.bin");
			/* odd bit patterns must survive too */
			p[0] = -0.0f;
			p[1] = 1e-42f; /* subnormal */
			p[2] = 3.4e38f;
			int rc = ver ? ckpt_save_v1(path, &c, p, err, sizeof(err))
				     : ckpt_save_v0(path, &c, p, err, sizeof(err));
			CHECK_INT_EQ(rc, 0);
			/* sizes from the documented layouts */
			long want = ver ? 256 + 4 * (long)n2c
					: 28 + 4 * (long)(n2c + (size_t)c.seq_len * (c.dim / c.n_heads));
			CHECK_INT_EQ(file_size(path), want);
			CHECK_INT_EQ(ckpt_load(path, &got, &q, err, sizeof(err)), 0);
			if (!q) {
				fprintf(stderr, "  %s\n", err);
				free(p);
				continue;
			}
			CHECK(cfg_eq(&got, &c));
			CHECK(memcmp(p, q, n2c * sizeof(float)) == 0);
			llama_weights_map(&w, &c, q);
			CHECK(w.head_b[0] == 0.0f && w.head_w[0] == 0.0f);
			free(p);
			free(q);
		}
}

static void test_v0_rope_tables(void)
{
	/* the unused tables we write are llama2.c's: cos / sin of pos * theta^(-2i/hs) */
	struct llama_config c = small_cfg(true);
	float *p = random_params(&c);
	size_t n2c = llama_params_count_llama2c(&c);
	int hs = c.dim / c.n_heads;
	char err[256];
	CHECK_INT_EQ(ckpt_save_v0(tpath("rope.bin"), &c, p, err, sizeof(err)), 0);
	FILE *f = fopen(tpath("rope.bin"), "rb");
	size_t nt = (size_t)c.seq_len * hs;
	float *tab = malloc(nt * sizeof(float));
	fseek(f, 28 + 4 * (long)n2c, SEEK_SET);
	CHECK_INT_EQ(fread(tab, 4, nt, f), nt);
	fclose(f);
	for (int pos = 0; pos < c.seq_len; pos++)
		for (int i = 0; i < hs / 2; i++) {
			double a = pos * pow(10000.0, -2.0 * i / hs);
			CHECK_NEAR(tab[pos * hs / 2 + i], cos(a), 1e-5);
			CHECK_NEAR(tab[nt / 2 + pos * hs / 2 + i], sin(a), 1e-5);
		}
	free(tab);
	free(p);
}

static void test_v0_to_v1(void)
{
	struct llama_config c = small_cfg(false), c0, c1;
	float *p = random_params(&c), *q0 = NULL, *q1 = NULL;
	char err[256];
	CHECK_INT_EQ(ckpt_save_v0(tpath("a0.bin"), &c, p, err, sizeof(err)), 0);
	CHECK_INT_EQ(ckpt_load(tpath("a0.bin"), &c0, &q0, err, sizeof(err)), 0);
	CHECK_INT_EQ(ckpt_save_v1(tpath("a1.bin"), &c0, q0, err, sizeof(err)), 0);
	CHECK_INT_EQ(ckpt_load(tpath("a1.bin"), &c1, &q1, err, sizeof(err)), 0);
	if (q0 && q1) {
		CHECK(cfg_eq(&c0, &c1));
		CHECK(memcmp(q0, q1, llama_params_count(&c) * sizeof(float)) == 0);
		CHECK(memcmp(p, q1, llama_params_count_llama2c(&c) * sizeof(float)) == 0);
	}
	free(p);
	free(q0);
	free(q1);
}

/* ---- broken files ------------------------------------------------------------- */

/* A NaN or an infinity anywhere in the weights is refused at load, naming it
 * (review defect 1: such a model made every sampled candidate set empty). */
static void test_nonfinite_weight_refused(void)
{
	struct llama_config c = small_cfg(false), c1;
	float *p = random_params(&c), *q = NULL;
	char err[256];
	size_t n = llama_params_count_llama2c(&c);
	const float bad[] = { NAN, INFINITY, -INFINITY };
	const char *const word[] = { "NaN", "infinite", "infinite" };
	for (int b = 0; b < 3; b++) {
		float keep = p[n / 2 + b];
		p[n / 2 + b] = bad[b];
		for (int ver = 0; ver <= 1; ver++) {
			int rc = ver ? ckpt_save_v1(tpath("nan.bin"), &c, p, err, sizeof(err))
				     : ckpt_save_v0(tpath("nan.bin"), &c, p, err, sizeof(err));
			REQUIRE_MSG(rc == 0, "%s", err);
			CHECK_INT_EQ(ckpt_load(tpath("nan.bin"), &c1, &q, err, sizeof(err)), -1);
			CHECK(q == NULL);
			CHECK_MSG(strstr(err, word[b]) && strstr(err, "nan.bin"), "%s", err);
		}
		p[n / 2 + b] = keep;
	}
	CHECK_INT_EQ(ckpt_save_v1(tpath("nan.bin"), &c, p, err, sizeof(err)), 0);
	CHECK_INT_EQ(ckpt_load(tpath("nan.bin"), &c1, &q, err, sizeof(err)), 0);
	free(q);
	free(p);
}

static void copy_prefix(const char *src, const char *dst, long n)
{
	FILE *a = fopen(src, "rb"), *b = fopen(dst, "wb");
	for (long i = 0; i < n; i++) {
		int ch = fgetc(a);
		if (ch == EOF)
			break;
		fputc(ch, b);
	}
	fclose(a);
	fclose(b);
}

static void patch(const char *path, long off, const void *bytes, size_t n)
{
	FILE *f = fopen(path, "r+b");
	fseek(f, off, SEEK_SET);
	fwrite(bytes, 1, n, f);
	fclose(f);
}

/* ckpt_load must fail, leave *params NULL, and say why naming the file */
static void expect_load_error(const char *path, const char *needle)
{
	struct llama_config c;
	float *p = (float *)&c; /* must be reset */
	char err[512] = "";
	CHECK_INT_EQ(ckpt_load(path, &c, &p, err, sizeof(err)), -1);
	CHECK(p == NULL);
	char quoted[300];
	snprintf(quoted, sizeof(quoted), "'%s'", path);
	CHECK_MSG(strstr(err, quoted) != NULL, "error does not quote the file: %s", err);
	CHECK_MSG(err[0] >= 'a' && err[0] <= 'z', "not lowercase: %s", err);
	CHECK_MSG(!needle || strstr(err, needle), "want '%s' in: %s", needle, err);
}

static void test_broken_files(void)
{
	struct llama_config c = small_cfg(false);
	float *p = random_params(&c);
	char err[256];
	const char *v0 = tpath("good0.bin"), *v1 = tpath("good1.bin"), *bad = tpath("bad.bin");
	CHECK_INT_EQ(ckpt_save_v0(v0, &c, p, err, sizeof(err)), 0);
	CHECK_INT_EQ(ckpt_save_v1(v1, &c, p, err, sizeof(err)), 0);
	long n0 = file_size(v0), n1 = file_size(v1);

	expect_load_error(tpath("missing.bin"), "cannot open");
	expect_load_error(dir, "not a regular file");
	/* truncated anywhere: empty, inside the header, one byte short */
	long cuts0[] = { 0, 3, 27, 28, 100, n0 - 1 };
	for (size_t i = 0; i < sizeof(cuts0) / sizeof(cuts0[0]); i++) {
		copy_prefix(v0, bad, cuts0[i]);
		expect_load_error(bad, NULL);
	}
	long cuts1[] = { 4, 255, 256, n1 - 4, n1 - 1 };
	for (size_t i = 0; i < sizeof(cuts1) / sizeof(cuts1[0]); i++) {
		copy_prefix(v1, bad, cuts1[i]);
		expect_load_error(bad, NULL);
	}
	copy_prefix(v1, bad, 200);
	expect_load_error(bad, "truncated");
	/* one byte too many = header and size disagree */
	copy_prefix(v0, bad, n0);
	{
		FILE *f = fopen(bad, "ab");
		fputc(0, f);
		fclose(f);
	}
	expect_load_error(bad, "does not match");
	/* wrong magic: the v1 file then reads as a v0 header with absurd sizes */
	copy_prefix(v1, bad, n1);
	patch(bad, 0, "xk42", 4);
	expect_load_error(bad, "bad header");
	/* llama2.c v2 (int8) is refused by name */
	copy_prefix(v1, bad, n1);
	int32_t two = 2;
	patch(bad, 4, &two, 4);
	expect_load_error(bad, "version 2");
	/* negative and zero sizes, a head count that does not divide dim */
	int32_t neg = -12, zero = 0, five = 5, big = 1 << 30;
	copy_prefix(v0, bad, n0);
	patch(bad, 0, &neg, 4);
	expect_load_error(bad, "bad header");
	copy_prefix(v0, bad, n0);
	patch(bad, 8, &zero, 4);
	expect_load_error(bad, "bad header");
	copy_prefix(v0, bad, n0);
	patch(bad, 12, &five, 4);
	expect_load_error(bad, "bad header");
	copy_prefix(v0, bad, n0);
	int32_t intmin = INT32_MIN;
	patch(bad, 20, &intmin, 4);
	expect_load_error(bad, "bad header");
	/* implausibly large: refused before any allocation */
	copy_prefix(v0, bad, n0);
	patch(bad, 24, &big, 4);
	expect_load_error(bad, "bad header");
	/* large but plausible sizes: the file size check refuses, no 100 GB malloc */
	int32_t huge[7] = { 65536, 262144, 1024, 64, 64, 1 << 22, 1 << 20 };
	copy_prefix(v0, bad, n0);
	patch(bad, 0, huge, sizeof(huge));
	expect_load_error(bad, "does not match");
	copy_prefix(v1, bad, n1);
	patch(bad, 8, huge, sizeof(huge));
	expect_load_error(bad, "does not match");
	/* the shared-classifier byte is 0 or 1 */
	copy_prefix(v1, bad, n1);
	unsigned char seven = 7;
	patch(bad, 36, &seven, 1);
	expect_load_error(bad, "bad header");
	free(p);
}

/* ---- atomic writes ---------------------------------------------------------------- */

static int count_temp_files(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(dd)))
		n += strstr(e->d_name, ".tmp.") != NULL;
	closedir(dd);
	return n;
}

static void test_atomic_write(void)
{
	struct llama_config c = small_cfg(true), got;
	float *p = random_params(&c), *q = NULL;
	char err[256] = "";
	const char *path = tpath("atomic.bin");
	CHECK_INT_EQ(ckpt_save_v1(path, &c, p, err, sizeof(err)), 0);
	CHECK_INT_EQ(count_temp_files(dir), 0);
	/* overwriting replaces the content whole */
	p[5] = 42.0f;
	CHECK_INT_EQ(ckpt_save_v1(path, &c, p, err, sizeof(err)), 0);
	CHECK_INT_EQ(count_temp_files(dir), 0);
	CHECK_INT_EQ(ckpt_load(path, &got, &q, err, sizeof(err)), 0);
	CHECK(q && q[5] == 42.0f);
	free(q);
	/* a directory that does not exist: clean error naming the file */
	char nodir[300];
	snprintf(nodir, sizeof(nodir), "%s/no/such/dir/m.bin", dir);
	err[0] = 0;
	CHECK_INT_EQ(ckpt_save_v1(nodir, &c, p, err, sizeof(err)), -1);
	CHECK_MSG(strstr(err, "'") && strstr(err, "m.bin"), "%s", err);
	/* a target that is a directory: rename fails, no temp file left behind */
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/subdir", dir);
	mkdir(sub, 0755);
	CHECK_INT_EQ(ckpt_save_v1(sub, &c, p, err, sizeof(err)), -1);
	CHECK_INT_EQ(count_temp_files(dir), 0);
	rmdir(sub);
	/* an invalid config is refused before a file is created */
	struct llama_config badc = c;
	badc.n_heads = 5;
	CHECK_INT_EQ(ckpt_save_v1(tpath("never.bin"), &badc, p, err, sizeof(err)), -1);
	CHECK(access(tpath("never.bin"), F_OK) != 0);
	free(p);
}

/* ---- sidecar ------------------------------------------------------------------------ */

static void test_sidecar_round_trip(void)
{
	struct llama_config c = small_cfg(false), got;
	size_t n = llama_params_count(&c);
	float *p = random_params(&c), *q = NULL;
	struct ckpt_state st, st2;
	struct llama_weights w, w2;
	char err[256] = "", scp[300];
	const char *path = tpath("model.bin");

	ckpt_state_init(&st);
	ckpt_state_init(&st2);
	st.meta = strdup("{\"kind\":\"policy\",\"template\":\"Q: {prompt}\\nA:\",\"eos\":2}");
	st.has_train = true;
	st.step = 1234567890123ll;
	for (int i = 0; i < 4; i++)
		st.rng[i] = 0x9e3779b97f4a7c15ull * (i + 1);
	st.m = malloc(n * sizeof(float));
	st.v = malloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		st.m[i] = frand();
		st.v[i] = frand() * frand();
	}
	CHECK_INT_EQ(ckpt_save_model(path, &c, p, &st, err, sizeof(err)), 0);
	CHECK_INT_EQ(count_temp_files(dir), 0);
	CHECK_INT_EQ(ckpt_sidecar_path(scp, sizeof(scp), path), 0);
	CHECK(access(scp, F_OK) == 0);
	CHECK_INT_EQ(file_size(scp), 128 + 4 * (c.dim + 1) + (long)strlen(st.meta) + 8 * (long)n);

	st2.meta = strdup("stale"); /* released by the load */
	CHECK_INT_EQ(ckpt_load_model(path, &got, &q, &st2, err, sizeof(err)), 0);
	if (q) {
		CHECK(cfg_eq(&got, &c));
		CHECK(memcmp(p, q, n * sizeof(float)) == 0); /* head included */
		CHECK_STR_EQ(st2.meta, st.meta);
		CHECK(st2.has_train);
		CHECK_INT_EQ(st2.step, st.step);
		CHECK(memcmp(st2.rng, st.rng, sizeof(st.rng)) == 0);
		CHECK(st2.m && memcmp(st2.m, st.m, n * sizeof(float)) == 0);
		CHECK(st2.v && memcmp(st2.v, st.v, n * sizeof(float)) == 0);
	}
	free(q);
	q = NULL;

	/* head only, no metadata, no training state */
	ckpt_state_release(&st2);
	CHECK_INT_EQ(ckpt_save_model(path, &c, p, NULL, err, sizeof(err)), 0);
	CHECK_INT_EQ(ckpt_load_model(path, &got, &q, &st2, err, sizeof(err)), 0);
	if (q) {
		llama_weights_map(&w, &c, p);
		llama_weights_map(&w2, &c, q);
		CHECK(memcmp(w.head_w, w2.head_w, (c.dim + 1) * sizeof(float)) == 0);
		CHECK(st2.meta == NULL && !st2.has_train && !st2.m && !st2.v);
	}
	free(q);
	q = NULL;

	/* no sidecar at all: the head is zero */
	unlink(scp);
	CHECK_INT_EQ(ckpt_load_model(path, &got, &q, NULL, err, sizeof(err)), 0);
	if (q) {
		llama_weights_map(&w2, &c, q);
		CHECK(w2.head_b[0] == 0.0f && w2.head_w[c.dim - 1] == 0.0f);
	}
	free(q);
	q = NULL;

	/* a sidecar of another shape, a truncated one, a wrong magic: errors */
	struct llama_config other = c;
	other.vocab_size = 9;
	float *po = random_params(&other);
	CHECK_INT_EQ(ckpt_save_sidecar(scp, &other, po, NULL, err, sizeof(err)), 0);
	err[0] = 0;
	CHECK_INT_EQ(ckpt_load_model(path, &got, &q, NULL, err, sizeof(err)), -1);
	CHECK(q == NULL);
	CHECK_MSG(strstr(err, "another model shape"), "%s", err);
	free(po);

	CHECK_INT_EQ(ckpt_save_sidecar(scp, &c, p, &st, err, sizeof(err)), 0);
	long full = file_size(scp);
	float *buf = calloc(n, sizeof(float));
	const char *cut = tpath("cut.rlhfd");
	long cuts[] = { 0, 10, 127, 128, 200, full - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		copy_prefix(scp, cut, cuts[i]);
		err[0] = 0;
		CHECK_INT_EQ(ckpt_load_sidecar(cut, &c, buf, &st2, err, sizeof(err)), -1);
		CHECK_MSG(strstr(err, "cut.rlhfd'"), "%s", err);
	}
	copy_prefix(scp, cut, full);
	patch(cut, 0, "XX", 2);
	CHECK_INT_EQ(ckpt_load_sidecar(cut, &c, buf, &st2, err, sizeof(err)), -1);
	CHECK_MSG(strstr(err, "magic"), "%s", err);
	/* a metadata length from a corrupt header: refused, no huge malloc */
	copy_prefix(scp, cut, full);
	uint64_t ml = 1ull << 40;
	patch(cut, 56, &ml, 8);
	CHECK_INT_EQ(ckpt_load_sidecar(cut, &c, buf, &st2, err, sizeof(err)), -1);
	ml = 3;
	copy_prefix(scp, cut, full);
	patch(cut, 56, &ml, 8);
	CHECK_INT_EQ(ckpt_load_sidecar(cut, &c, buf, &st2, err, sizeof(err)), -1);
	CHECK_MSG(strstr(err, "does not match"), "%s", err);
	/* failed loads left the buffer and the state alone */
	for (size_t i = 0; i < n; i++)
		if (buf[i] != 0.0f) {
			CHECK(!"failed load wrote into params");
			break;
		}
	CHECK(st2.meta == NULL);
	free(buf);
	ckpt_state_release(&st);
	ckpt_state_release(&st2);
	free(p);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_ckpt.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_load_handmade_v0);
	RUN(test_load_handmade_v1);
	RUN(test_round_trips_bit_exact);
	RUN(test_nonfinite_weight_refused);
	RUN(test_v0_rope_tables);
	RUN(test_v0_to_v1);
	RUN(test_broken_files);
	RUN(test_atomic_write);
	RUN(test_sidecar_round_trip);
	/* clean up the scratch directory */
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlink(tpath(e->d_name));
	if (d)
		closedir(d);
	rmdir(dir);
	TEST_MAIN_END();
}
