/*
 * test_attention.c: what the op table does not cover for the KV cache and
 * attention ops: argument checks (a failing call encodes nothing), replay
 * of a recorded decode step at new positions written with
 * mlxn_encoder_update_buffer (the grid does not depend on the position),
 * and the decode scratch's arrival counters: zero after every call, so
 * one scratch serves many calls of different shapes.
 * Numerical coverage is in tests/ops/rows_attention.c.
 */
#define MLXN_TEST_MAIN
#include "test.h"
#include "ops/optest.h"

static mlxn_buffer *tensor(mlxn_device *dev, mlxn_dtype dt, int64_t a, int64_t b, int64_t c)
{
    int64_t shape[3] = {a, b, c};
    mlxn_buffer *buf = NULL;
    if (mlxn_buffer_create_tensor(dev, dt, 3, shape, &buf) != MLXN_OK)
        return NULL;
    return buf;
}

TEST(attention_rejects_bad_arguments)
{
    mlxn_device *dev = test_device();
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    int64_t one[1] = {1};
    mlxn_buffer *pos = NULL, *scratch = NULL, *flat = NULL, *view = NULL;
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_I32, 1, one, &pos));
    mlxn_buffer *q = tensor(dev, MLXN_DTYPE_F32, 1, 8, 64), *out = tensor(dev, MLXN_DTYPE_F32, 1, 8, 64);
    mlxn_buffer *k = tensor(dev, MLXN_DTYPE_F16, 2, 100, 64), *v = tensor(dev, MLXN_DTYPE_F16, 2, 100, 64);
    mlxn_buffer *v32 = tensor(dev, MLXN_DTYPE_F32, 2, 100, 64), *k3 = tensor(dev, MLXN_DTYPE_F16, 3, 100, 64);
    mlxn_buffer *q72 = tensor(dev, MLXN_DTYPE_F32, 1, 8, 72), *k72 = tensor(dev, MLXN_DTYPE_F16, 2, 100, 72);
    mlxn_buffer *q63 = tensor(dev, MLXN_DTYPE_F32, 1, 8, 63), *k63 = tensor(dev, MLXN_DTYPE_F16, 2, 100, 63);
    mlxn_buffer *o63 = tensor(dev, MLXN_DTYPE_F32, 1, 8, 63);
    mlxn_buffer *kv = tensor(dev, MLXN_DTYPE_F32, 4, 2, 64);
    int64_t sb = (int64_t)mlxn_attention_scratch_bytes(1, 8, 64, 100);
    CHECK(sb == 4096 + 8 * 4 * 66 * 4); /* counters, ceil(100 / 32) splits at most */
    CHECK(mlxn_attention_scratch_bytes(5, 8, 64, 100) == 0);
    int64_t ss[1] = {sb / 4}, fs[1] = {1 * 8 * 64 + 1};
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, ss, &scratch));
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, fs, &flat));
    int64_t vs[3] = {1, 8, 64};
    REQUIRE_OK(mlxn_buffer_view(flat, 4, MLXN_DTYPE_F32, 3, vs, &view)); /* 4-byte aligned */
    mlxn_buffer *small = NULL;
    int64_t sm[1] = {sb / 4 - 1};
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, sm, &small));
    if (!q || !out || !k || !v || !v32 || !k3 || !q72 || !k72 || !kv || !q63 || !k63 || !o63)
        SKIP("could not allocate test tensors");

    CHECK_OK(mlxn_op_attention(enc, q, k, v, pos, NULL, scratch, out));
    CHECK(mlxn_encoder_pending_dispatches(enc) == 1);
    REQUIRE_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK(mlxn_op_attention(enc, q, k, v, pos, NULL, NULL, out) == MLXN_ERR_INVALID_ARG);
    CHECK(strstr(mlxn_last_error(dev), "scratch") != NULL);
    CHECK(mlxn_op_attention(enc, q, k, v, pos, NULL, small, out) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_op_attention(enc, q, k, v32, pos, NULL, scratch, out) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_op_attention(enc, q, k3, k3, pos, NULL, scratch, out) == MLXN_ERR_INVALID_ARG);
    CHECK(strstr(mlxn_last_error(dev), "divide") != NULL);
    CHECK(mlxn_op_attention(enc, q, k, v, pos, NULL, scratch, q) == MLXN_ERR_INVALID_ARG);
    CHECK(strstr(mlxn_last_error(dev), "overlap") != NULL);
    CHECK(mlxn_op_attention(enc, q72, k72, k72, pos, NULL, scratch, out) == MLXN_ERR_INVALID_ARG);
    mlxn_buffer *o72 = tensor(dev, MLXN_DTYPE_F32, 1, 8, 72);
    CHECK(mlxn_op_attention(enc, q72, k72, k72, pos, NULL, scratch, o72) == MLXN_ERR_INVALID_ARG);
    CHECK(strstr(mlxn_last_error(dev), "scratch") != NULL); /* sized for head_dim 64 */
    CHECK(mlxn_op_attention(enc, q63, k63, k63, pos, NULL, scratch, o63) == MLXN_ERR_UNSUPPORTED);
    CHECK(strstr(mlxn_last_error(dev), "head_dim 63") != NULL);
    CHECK(mlxn_op_attention(enc, view, k, v, pos, NULL, scratch, out) == MLXN_ERR_INVALID_ARG);
    CHECK(strstr(mlxn_last_error(dev), "aligned") != NULL);
    CHECK(mlxn_op_attention(enc, q, k, v, q, NULL, scratch, out) == MLXN_ERR_INVALID_ARG);
    mlxn_attention_params bad = mlxn_attention_params_default();
    bad.window = -1;
    CHECK(mlxn_op_attention(enc, q, k, v, pos, &bad, scratch, out) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_op_kv_write(enc, kv, pos, k72) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_op_kv_write(enc, q, pos, k) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_op_kv_write(enc, kv, NULL, k) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_encoder_pending_dispatches(enc) == 0);
    CHECK_OK(mlxn_op_kv_write(enc, kv, pos, k));
    CHECK(mlxn_encoder_pending_dispatches(enc) == 1);
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    mlxn_buffer *all[] = {q, out, k, v, v32, k3, q72, k72, kv, o72, pos, scratch, small, view, flat,
                          q63, k63, o63};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
        mlxn_buffer_destroy(all[i]);
    mlxn_encoder_destroy(enc);
}

#define R_HEADS 8
#define R_KV 2
#define R_D 64
#define R_CTX 700

/* Reference decode output in double for query head rows q at position p. */
static void ref_decode(const float *q, const float *kc, const float *vc, int p, double *out)
{
    for (int h = 0; h < R_HEADS; h++) {
        int kvh = h / (R_HEADS / R_KV);
        double mx = -INFINITY, sum = 0, *o = out + h * R_D;
        double *s = malloc(sizeof(double) * (p + 1));
        for (int j = 0; j <= p; j++) {
            double dot = 0;
            for (int i = 0; i < R_D; i++)
                dot += (double)q[h * R_D + i] * kc[(kvh * R_CTX + j) * R_D + i];
            s[j] = dot / sqrt((double)R_D);
            mx = s[j] > mx ? s[j] : mx;
        }
        for (int i = 0; i < R_D; i++)
            o[i] = 0;
        for (int j = 0; j <= p; j++) {
            double e = exp(s[j] - mx);
            sum += e;
            for (int i = 0; i < R_D; i++)
                o[i] += e * vc[(kvh * R_CTX + j) * R_D + i];
        }
        for (int i = 0; i < R_D; i++)
            o[i] /= sum;
        free(s);
    }
}

/* Record one decode step, then replay it at several positions; each
 * replay must match the reference for that position. */
TEST(decode_replays_at_new_positions)
{
    mlxn_device *dev = test_device();
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    size_t nc = (size_t)R_KV * R_CTX * R_D;
    float *q = malloc(sizeof(float) * R_HEADS * R_D), *kc = malloc(sizeof(float) * nc);
    float *vc = malloc(sizeof(float) * nc), *kt = malloc(sizeof(float) * nc);
    float *vt = malloc(sizeof(float) * nc), *got = malloc(sizeof(float) * R_HEADS * R_D);
    double *ref = malloc(sizeof(double) * R_HEADS * R_D);
    for (int i = 0; i < R_HEADS * R_D; i++)
        q[i] = test_rand_f(-1.5f, 1.5f);
    /* kt, vt: (n_ctx, n_kv, d) token-major for kv_write; kc, vc: the cache
     * layout (n_kv, n_ctx, d) with f16 rounding, for the reference. */
    for (int t = 0; t < R_CTX; t++)
        for (int h = 0; h < R_KV; h++)
            for (int i = 0; i < R_D; i++) {
                float a = test_rand_f(-1.5f, 1.5f), b = test_rand_f(-1.0f, 1.0f);
                kt[(t * R_KV + h) * R_D + i] = a;
                vt[(t * R_KV + h) * R_D + i] = b;
                kc[(h * R_CTX + t) * R_D + i] = ot_round(a, MLXN_DTYPE_F16);
                vc[(h * R_CTX + t) * R_D + i] = ot_round(b, MLXN_DTYPE_F16);
            }
    int64_t one[1] = {1};
    mlxn_buffer *pos = NULL, *scratch = NULL;
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_I32, 1, one, &pos));
    mlxn_buffer *bq = tensor(dev, MLXN_DTYPE_F32, 1, R_HEADS, R_D);
    mlxn_buffer *out = tensor(dev, MLXN_DTYPE_F32, 1, R_HEADS, R_D);
    mlxn_buffer *k = tensor(dev, MLXN_DTYPE_F16, R_KV, R_CTX, R_D);
    mlxn_buffer *v = tensor(dev, MLXN_DTYPE_F16, R_KV, R_CTX, R_D);
    mlxn_buffer *bkt = tensor(dev, MLXN_DTYPE_F32, R_CTX, R_KV, R_D);
    mlxn_buffer *bvt = tensor(dev, MLXN_DTYPE_F32, R_CTX, R_KV, R_D);
    int64_t ss[1] = {(int64_t)mlxn_attention_scratch_bytes(1, R_HEADS, R_D, R_CTX) / 4};
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, ss, &scratch));
    if (!bq || !out || !k || !v || !bkt || !bvt)
        SKIP("could not allocate test tensors");
    REQUIRE_OK(mlxn_buffer_write(bq, 0, q, sizeof(float) * R_HEADS * R_D));
    REQUIRE_OK(mlxn_buffer_write(bkt, 0, kt, sizeof(float) * nc));
    REQUIRE_OK(mlxn_buffer_write(bvt, 0, vt, sizeof(float) * nc));
    REQUIRE_OK(mlxn_op_kv_write(enc, bkt, pos, k)); /* pos is 0: fill the cache */
    REQUIRE_OK(mlxn_op_kv_write(enc, bvt, pos, v));
    REQUIRE_OK(mlxn_encoder_commit_and_wait(enc));

    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    REQUIRE_OK(mlxn_op_attention(enc, bq, k, v, pos, NULL, scratch, out));
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    CHECK(mlxn_graph_dispatch_count(g) == 1);
    static const int positions[] = {0, 31, 64, 399, 650, 699};
    for (unsigned n = 0; n < sizeof positions / sizeof positions[0]; n++) {
        int32_t p = positions[n];
        REQUIRE_OK(mlxn_encoder_update_buffer(enc, pos, 0, &p, 4));
        for (size_t i = 0; i < mlxn_graph_node_count(g); i++)
            REQUIRE_OK(mlxn_encoder_replay_node(enc, g, i));
        REQUIRE_OK(mlxn_encoder_commit_and_wait(enc));
        REQUIRE_OK(mlxn_buffer_read(out, 0, got, sizeof(float) * R_HEADS * R_D));
        ref_decode(q, kc, vc, p, ref);
        double worst = 0;
        for (int i = 0; i < R_HEADS * R_D; i++)
            worst = fmax(worst, fabs(got[i] - ref[i]));
        CHECK_MSG(worst <= 2e-3, "position %d: max |out - ref| = %g", p, worst);
    }
    mlxn_graph_destroy(g);
    mlxn_buffer *all[] = {pos, scratch, bq, out, k, v, bkt, bvt};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
        mlxn_buffer_destroy(all[i]);
    float *host[] = {q, kc, vc, kt, vt, got};
    for (unsigned i = 0; i < sizeof host / sizeof host[0]; i++)
        free(host[i]);
    free(ref);
    mlxn_encoder_destroy(enc);
}

/* One decode call's shapes: n_heads over n_kv heads of head_dim d, a
 * cache of n_ctx positions in dtype dt, the query at position pos. */
typedef struct dec_case {
    int n_heads, n_kv, d, n_ctx, pos;
    mlxn_dtype dt;
} dec_case;

/* Fill a cache through kv_write, decode at c->pos with `scratch`, and
 * return the largest |out - ref| (ref in double over the rounded cache),
 * or -1 when a call failed. */
static double decode_error(mlxn_device *dev, mlxn_encoder *enc, mlxn_buffer *scratch,
                           const dec_case *c)
{
    size_t nq = (size_t)c->n_heads * c->d, nc = (size_t)c->n_kv * c->n_ctx * c->d;
    float *q = malloc(sizeof(float) * nq), *got = malloc(sizeof(float) * nq);
    float *kt = malloc(sizeof(float) * nc), *vt = malloc(sizeof(float) * nc);
    float *kc = malloc(sizeof(float) * nc), *vc = malloc(sizeof(float) * nc);
    double *s = malloc(sizeof(double) * c->n_ctx), worst = -1;
    for (size_t i = 0; i < nq; i++)
        q[i] = test_rand_f(-1.5f, 1.5f);
    for (int t = 0; t < c->n_ctx; t++)
        for (int h = 0; h < c->n_kv; h++)
            for (int i = 0; i < c->d; i++) {
                float a = test_rand_f(-1.5f, 1.5f), b = test_rand_f(-1.0f, 1.0f);
                kt[((size_t)t * c->n_kv + h) * c->d + i] = a;
                vt[((size_t)t * c->n_kv + h) * c->d + i] = b;
                kc[((size_t)h * c->n_ctx + t) * c->d + i] = ot_round(a, c->dt);
                vc[((size_t)h * c->n_ctx + t) * c->d + i] = ot_round(b, c->dt);
            }
    int64_t one[1] = {1};
    int32_t zero = 0, p = c->pos;
    mlxn_buffer *pos = NULL;
    mlxn_buffer *bq = tensor(dev, MLXN_DTYPE_F32, 1, c->n_heads, c->d);
    mlxn_buffer *out = tensor(dev, MLXN_DTYPE_F32, 1, c->n_heads, c->d);
    mlxn_buffer *k = tensor(dev, c->dt, c->n_kv, c->n_ctx, c->d);
    mlxn_buffer *v = tensor(dev, c->dt, c->n_kv, c->n_ctx, c->d);
    mlxn_buffer *bkt = tensor(dev, MLXN_DTYPE_F32, c->n_ctx, c->n_kv, c->d);
    mlxn_buffer *bvt = tensor(dev, MLXN_DTYPE_F32, c->n_ctx, c->n_kv, c->d);
    if (q && got && kt && vt && kc && vc && s && bq && out && k && v && bkt && bvt &&
        mlxn_buffer_create_tensor(dev, MLXN_DTYPE_I32, 1, one, &pos) == MLXN_OK &&
        mlxn_buffer_write(pos, 0, &zero, 4) == MLXN_OK &&
        mlxn_buffer_write(bq, 0, q, sizeof(float) * nq) == MLXN_OK &&
        mlxn_buffer_write(bkt, 0, kt, sizeof(float) * nc) == MLXN_OK &&
        mlxn_buffer_write(bvt, 0, vt, sizeof(float) * nc) == MLXN_OK &&
        mlxn_op_kv_write(enc, bkt, pos, k) == MLXN_OK &&
        mlxn_op_kv_write(enc, bvt, pos, v) == MLXN_OK &&
        mlxn_encoder_commit_and_wait(enc) == MLXN_OK &&
        mlxn_buffer_write(pos, 0, &p, 4) == MLXN_OK &&
        mlxn_op_attention(enc, bq, k, v, pos, NULL, scratch, out) == MLXN_OK &&
        mlxn_encoder_commit_and_wait(enc) == MLXN_OK &&
        mlxn_buffer_read(out, 0, got, sizeof(float) * nq) == MLXN_OK) {
        int group = c->n_heads / c->n_kv, hi = c->pos < c->n_ctx - 1 ? c->pos : c->n_ctx - 1;
        worst = 0;
        for (int h = 0; h < c->n_heads; h++) {
            const float *kh = kc + (size_t)(h / group) * c->n_ctx * c->d;
            const float *vh = vc + (size_t)(h / group) * c->n_ctx * c->d;
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j <= hi; j++) {
                double dot = 0;
                for (int i = 0; i < c->d; i++)
                    dot += (double)q[(size_t)h * c->d + i] * kh[(size_t)j * c->d + i];
                s[j] = dot / sqrt((double)c->d);
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int j = 0; j <= hi; j++)
                sum += s[j] = exp(s[j] - mx);
            for (int i = 0; i < c->d; i++) {
                double o = 0;
                for (int j = 0; j <= hi; j++)
                    o += s[j] * vh[(size_t)j * c->d + i];
                worst = fmax(worst, fabs(got[(size_t)h * c->d + i] - o / sum));
            }
        }
    }
    mlxn_buffer *all[] = {pos, bq, out, k, v, bkt, bvt};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
        mlxn_buffer_destroy(all[i]);
    float *host[] = {q, got, kt, vt, kc, vc};
    for (unsigned i = 0; i < sizeof host / sizeof host[0]; i++)
        free(host[i]);
    free(s);
    return worst;
}

/* One scratch for decode calls of different shapes (specialised and
 * generic head dims, both dtypes, head batches): each call is right, and
 * the arrival counters are zero after each. */
TEST(decode_scratch_shared_by_shapes)
{
    mlxn_device *dev = test_device();
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    static const dec_case cases[] = {
        {8, 2, 64, 700, 650, MLXN_DTYPE_F16},  {32, 8, 8, 300, 299, MLXN_DTYPE_F32},
        {12, 1, 128, 4000, 3999, MLXN_DTYPE_F16}, {17, 1, 72, 900, 5, MLXN_DTYPE_F16},
        {8, 4, 8, 512, 511, MLXN_DTYPE_F16},   {8, 2, 64, 700, 123, MLXN_DTYPE_F16},
    };
    size_t sb = 0;
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t b = mlxn_attention_scratch_bytes(1, cases[i].n_heads, cases[i].d, cases[i].n_ctx);
        sb = b > sb ? b : sb;
    }
    int64_t ss[1] = {(int64_t)(sb / 4)};
    mlxn_buffer *scratch = NULL;
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, ss, &scratch));
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dec_case *c = &cases[i];
        double worst = decode_error(dev, enc, scratch, c);
        double tol = c->dt == MLXN_DTYPE_F16 ? 2e-3 : 1e-4;
        CHECK_MSG(worst >= 0 && worst <= tol, "case %u (%d heads / %d, d %d, pos %d): "
                  "max |out - ref| = %g (%s)", i, c->n_heads, c->n_kv, c->d, c->pos, worst,
                  worst < 0 ? mlxn_last_error(dev) : "");
        uint32_t counters[MLXN_ATTENTION_SCRATCH_COUNTER_BYTES / 4];
        REQUIRE_OK(mlxn_buffer_read(scratch, 0, counters, sizeof counters));
        int nonzero = 0;
        for (unsigned w = 0; w < sizeof counters / sizeof counters[0]; w++)
            nonzero += counters[w] != 0;
        CHECK_MSG(nonzero == 0, "case %u: %d arrival counters left non-zero", i, nonzero);
    }
    mlxn_buffer_destroy(scratch);
    mlxn_encoder_destroy(enc);
}
