/*
 * test_kern_ops.c: argument checks of the activation, add + norm, embed
 * and RoPE ops: wrong shapes, dtypes and parameters fail with
 * MLXN_ERR_INVALID_ARG (an embedding table dtype without a kernel with
 * MLXN_ERR_UNSUPPORTED), name what is wrong, and queue nothing.
 */
#define MLXN_TEST_MAIN
#include "test.h"

static mlxn_buffer *tensor(mlxn_device *dev, mlxn_dtype dt, int ndim, int64_t a, int64_t b,
                           int64_t c)
{
    int64_t shape[3] = {a, b, c};
    mlxn_buffer *t = NULL;
    if (mlxn_buffer_create_tensor(dev, dt, ndim, shape, &t) != MLXN_OK)
        return NULL;
    return t;
}

/* A device of the backend under test of its own (the tests read its
 * per-kernel dispatch counters) with mlxn_device_params.matvec_exact;
 * NULL when none can be made. */
static mlxn_device *device_exact(int exact)
{
    mlxn_device_params p = mlxn_device_params_default();
    p.backend = test_backend();
    p.matvec_exact = exact;
    mlxn_device *dev = NULL;
    return mlxn_device_create(&p, &dev) == MLXN_OK ? dev : NULL;
}

/* A (rows, cols) weight of a GGUF or dense format, zeroed. */
static mlxn_buffer *zero_weight(mlxn_device *dev, mlxn_dtype dt, int64_t rows, int64_t cols)
{
    mlxn_buffer *t = tensor(dev, dt, 2, rows, cols, 0);
    if (t && mlxn_buffer_fill(t, 0, 0, mlxn_buffer_bytes(t)) != MLXN_OK) {
        mlxn_buffer_destroy(t);
        return NULL;
    }
    return t;
}

#define EXPECT_FAIL(call, status, word)                                                  \
    do {                                                                                 \
        CHECK((call) == (status));                                                       \
        CHECK_MSG(strstr(mlxn_last_error(dev), (word)) != NULL, "message '%s' lacks '%s'", \
                  mlxn_last_error(dev), (word));                                         \
    } while (0)

TEST(kern_ops_reject_bad_arguments_without_effect)
{
    mlxn_device *dev = test_device();
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    mlxn_buffer *x = tensor(dev, MLXN_DTYPE_F32, 2, 3, 64, 0);
    mlxn_buffer *y = tensor(dev, MLXN_DTYPE_F32, 2, 3, 64, 0);
    mlxn_buffer *small = tensor(dev, MLXN_DTYPE_F32, 1, 5, 0, 0);
    mlxn_buffer *h = tensor(dev, MLXN_DTYPE_F16, 2, 3, 64, 0);
    mlxn_buffer *w = tensor(dev, MLXN_DTYPE_F32, 1, 63, 0, 0);
    mlxn_buffer *ids = tensor(dev, MLXN_DTYPE_I32, 1, 4, 0, 0);
    mlxn_buffer *itab = tensor(dev, MLXN_DTYPE_I32, 2, 10, 8, 0);
    mlxn_buffer *emb = tensor(dev, MLXN_DTYPE_F32, 2, 4, 8, 0);
    mlxn_buffer *q = tensor(dev, MLXN_DTYPE_F32, 3, 2, 4, 64);
    mlxn_buffer *pos = tensor(dev, MLXN_DTYPE_I32, 1, 2, 0, 0);
    mlxn_buffer *arg = tensor(dev, MLXN_DTYPE_I32, 1, 2, 0, 0);
    REQUIRE_OK(x && y && small && h && w && ids && itab && emb && q && pos && arg ? MLXN_OK
                                                                                : MLXN_ERR_OUT_OF_MEMORY);
    EXPECT_FAIL(mlxn_op_silu_mul(enc, x, small, y), MLXN_ERR_INVALID_ARG, "up");
    EXPECT_FAIL(mlxn_op_gelu(enc, h, MLXN_GELU_ERF, y), MLXN_ERR_INVALID_ARG, "f16");
    EXPECT_FAIL(mlxn_op_gelu(enc, x, (mlxn_gelu_kind)7, y), MLXN_ERR_INVALID_ARG, "kind");
    EXPECT_FAIL(mlxn_op_softcap(enc, x, 0.0f, y), MLXN_ERR_INVALID_ARG, "cap");
    EXPECT_FAIL(mlxn_op_softmax(enc, x, 1.0f, small), MLXN_ERR_INVALID_ARG, "out");
    EXPECT_FAIL(mlxn_op_argmax(enc, x, arg), MLXN_ERR_INVALID_ARG, "rows");
    EXPECT_FAIL(mlxn_op_add_rms_norm(enc, x, y, w, 1e-5f, x, y), MLXN_ERR_INVALID_ARG, "w");
    EXPECT_FAIL(mlxn_op_embed(enc, itab, ids, emb), MLXN_ERR_UNSUPPORTED, "embed_i32");
    mlxn_rope_params rp = mlxn_rope_params_default();
    rp.n_rot = 65;
    EXPECT_FAIL(mlxn_op_rope(enc, q, pos, NULL, &rp, q), MLXN_ERR_INVALID_ARG, "n_rot");
    rp.n_rot = 32;
    EXPECT_FAIL(mlxn_op_rope(enc, q, pos, small, &rp, q), MLXN_ERR_INVALID_ARG, "freq_factors");
    EXPECT_FAIL(mlxn_op_rope(enc, q, ids, NULL, &rp, q), MLXN_ERR_INVALID_ARG, "positions");
    CHECK(mlxn_encoder_pending_dispatches(enc) == 0);
    mlxn_buffer *all[] = {x, y, small, h, w, ids, itab, emb, q, pos, arg};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
        mlxn_buffer_destroy(all[i]);
    mlxn_encoder_destroy(enc);
}

/* Which int8-activation kernel a product takes: weights that a running
 * kernel may write (immutable 0) the plain one; immutable weights the
 * copy-engine one (_tma) when k is a multiple of 8 groups and the scales
 * are 16-byte aligned, else the register one (_early); the SwiGLU product
 * likewise. Read from the per-kernel dispatch counters (the CPU backend
 * has the same kernel names). */
TEST(matvec_x8_variant_by_weight)
{
    mlxn_device *dev = device_exact(0);
    if (!dev)
        SKIP("no device for this backend");
    /* (16, 256) and (16, 64) 4-bit, groups of 32 */
    mlxn_buffer *w256 = tensor(dev, MLXN_DTYPE_U32, 2, 16, 32, 0);
    mlxn_buffer *s256 = tensor(dev, MLXN_DTYPE_F16, 2, 16, 8, 0);
    mlxn_buffer *w64 = tensor(dev, MLXN_DTYPE_U32, 2, 16, 8, 0);
    mlxn_buffer *s64 = tensor(dev, MLXN_DTYPE_F16, 2, 16, 2, 0);
    mlxn_buffer *sroot = tensor(dev, MLXN_DTYPE_F16, 1, 16 * 8 + 4, 0, 0), *sview = NULL;
    mlxn_buffer *x256 = tensor(dev, MLXN_DTYPE_F32, 2, 1, 256, 0);
    mlxn_buffer *x64 = tensor(dev, MLXN_DTYPE_F32, 2, 1, 64, 0);
    mlxn_buffer *out = tensor(dev, MLXN_DTYPE_F32, 2, 1, 16, 0);
    mlxn_encoder *enc = NULL;
    CHECK(w256 && s256 && w64 && s64 && sroot && x256 && x64 && out);
    if (!w256 || !s256 || !w64 || !s64 || !sroot || !x256 || !x64 || !out)
        return;
    int64_t ss[2] = {16, 8};
    REQUIRE_OK(mlxn_buffer_view(sroot, 8, MLXN_DTYPE_F16, 2, ss, &sview)); /* byte 8 */
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    mlxn_weight a = {w256, s256, NULL, 4, 32, 1}, b = {w64, s64, NULL, 4, 32, 1};
    mlxn_weight c = {w256, sview, NULL, 4, 32, 1}, d = {w256, s256, NULL, 4, 32, 0};
    REQUIRE_OK(mlxn_op_matmul(enc, x256, &a, NULL, out)); /* 8 groups, aligned */
    REQUIRE_OK(mlxn_op_matmul(enc, x64, &b, NULL, out));  /* 2 groups */
    REQUIRE_OK(mlxn_op_matmul(enc, x256, &c, NULL, out)); /* scales at byte 8 */
    REQUIRE_OK(mlxn_op_matmul(enc, x256, &d, NULL, out)); /* not immutable */
    REQUIRE_OK(mlxn_op_matmul_swiglu(enc, x256, &a, &a, out));
    REQUIRE_OK(mlxn_op_matmul_swiglu(enc, x256, &a, &c, out));
    REQUIRE_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK(mlxn_device_kernel_dispatches(dev, "matvec_x8_tma_mlx4") == 1u);
    CHECK(mlxn_device_kernel_dispatches(dev, "matvec_x8_early_mlx4") == 2u);
    CHECK(mlxn_device_kernel_dispatches(dev, "matvec_x8_mlx4") == 1u);
    CHECK(mlxn_device_kernel_dispatches(dev, "matvec_swiglu_x8_tma_mlx4") == 1u);
    CHECK(mlxn_device_kernel_dispatches(dev, "matvec_swiglu_x8_early_mlx4") == 1u);
    mlxn_encoder_destroy(enc);
    mlxn_buffer *all[] = {w256, s256, w64, s64, sview, sroot, x256, x64, out};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
        mlxn_buffer_destroy(all[i]);
    mlxn_device_destroy(dev);
}

/* One row of x with 4-bit affine weights runs the int8-activation kernel
 * unless the device asks for exact products (matvec_exact); a symmetric
 * weight (biases NULL) takes the same path; misaligned x takes the f32
 * one; mlxn_op_norm_matmul is that one kernel, or the norm op and the f32
 * kernel. The kernel chosen is read from the per-kernel dispatch counters. */
TEST(matvec_x8_choice_and_matvec_exact)
{
    for (int exact = 0; exact < 2; exact++) {
        mlxn_device *dev = device_exact(exact);
        if (!dev)
            SKIP("no device for this backend");
        mlxn_weight w = {0};
        w.w = tensor(dev, MLXN_DTYPE_U32, 2, 16, 8, 0); /* (16, 64) 4-bit */
        w.scales = tensor(dev, MLXN_DTYPE_F16, 2, 16, 2, 0);
        w.bits = 4;
        w.group_size = 32;
        mlxn_buffer *x = tensor(dev, MLXN_DTYPE_F32, 2, 1, 68, 0), *xv = NULL;
        mlxn_buffer *out = tensor(dev, MLXN_DTYPE_F32, 2, 1, 16, 0);
        int64_t s[2] = {1, 64};
        CHECK(w.w && w.scales && x && out);
        if (!w.w || !w.scales || !x || !out)
            return;
        CHECK(mlxn_weight_bytes(&w) == 16 * 8 * 4 + 16 * 2 * 2); /* codes + scales */
        REQUIRE_OK(mlxn_buffer_view(x, 4, MLXN_DTYPE_F32, 2, s, &xv));
        mlxn_encoder *enc = NULL;
        REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
        mlxn_buffer *xa = tensor(dev, MLXN_DTYPE_F32, 2, 1, 64, 0);
        REQUIRE_OK(mlxn_op_matmul(enc, xa, &w, NULL, out)); /* aligned x */
        REQUIRE_OK(mlxn_op_matmul(enc, xv, &w, NULL, out)); /* x at byte 4 */
        REQUIRE_OK(mlxn_encoder_commit_and_wait(enc));
        CHECK(mlxn_device_kernel_dispatches(dev, "matvec_x8_mlx4") == (exact ? 0u : 1u));
        CHECK(mlxn_device_kernel_dispatches(dev, "matvec_mlx4") == (exact ? 2u : 1u));
        /* the norm folds into the int8 kernel; else the norm op runs */
        mlxn_buffer *nw = tensor(dev, MLXN_DTYPE_F32, 1, 64, 0, 0);
        mlxn_buffer *scratch = tensor(dev, MLXN_DTYPE_F32, 2, 1, 64, 0);
        mlxn_device_reset_counters(dev);
        REQUIRE_OK(mlxn_op_norm_matmul(enc, xa, nw, 1e-5f, scratch, &w, out));
        REQUIRE_OK(mlxn_encoder_commit_and_wait(enc));
        CHECK(mlxn_device_kernel_dispatches(dev, "matvec_x8_mlx4") == (exact ? 0u : 1u));
        CHECK(mlxn_device_kernel_dispatches(dev, "rms_norm_mul_f32") == (exact ? 1u : 0u));
        CHECK(mlxn_op_norm_matmul(enc, xa, nw, 1e-5f, xa, &w, out) == MLXN_ERR_INVALID_ARG);
        CHECK(mlxn_op_norm_matmul(enc, xa, NULL, 1e-5f, scratch, &w, out) ==
              MLXN_ERR_INVALID_ARG);
        mlxn_buffer_destroy(nw);
        mlxn_buffer_destroy(scratch);
        mlxn_encoder_destroy(enc);
        mlxn_buffer_destroy(x);
        mlxn_buffer_destroy(xv);
        mlxn_buffer_destroy(xa);
        mlxn_buffer_destroy(out);
        mlxn_buffer_destroy(w.w);
        mlxn_buffer_destroy(w.scales);
        mlxn_device_destroy(dev);
    }
}

/* GGUF Q4_K weights at m = 1 take the int8-activation kernels too: the
 * plain one for weights a running kernel may write, the copy-engine one
 * (_tma: any k, as chunks are whole blocks) for immutable weights, the f32
 * kernel with matvec_exact or misaligned x; the SwiGLU product likewise. */
TEST(matvec_x8_q4_k_choice)
{
    for (int exact = 0; exact < 2; exact++) {
        mlxn_device *dev = device_exact(exact);
        if (!dev)
            SKIP("no device for this backend");
        mlxn_buffer *wb = zero_weight(dev, MLXN_DTYPE_Q4_K, 16, 512);
        mlxn_buffer *x = tensor(dev, MLXN_DTYPE_F32, 2, 1, 516, 0), *xv = NULL;
        mlxn_buffer *xa = tensor(dev, MLXN_DTYPE_F32, 2, 1, 512, 0);
        mlxn_buffer *out = tensor(dev, MLXN_DTYPE_F32, 2, 1, 16, 0);
        int64_t s[2] = {1, 512};
        CHECK(wb && x && xa && out);
        if (!wb || !x || !xa || !out)
            return;
        REQUIRE_OK(mlxn_buffer_view(x, 4, MLXN_DTYPE_F32, 2, s, &xv));
        mlxn_weight mut = {wb, NULL, NULL, 0, 0, 0}, imm = {wb, NULL, NULL, 0, 0, 1};
        mlxn_encoder *enc = NULL;
        REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
        REQUIRE_OK(mlxn_op_matmul(enc, xa, &mut, NULL, out));
        REQUIRE_OK(mlxn_op_matmul(enc, xa, &imm, NULL, out));
        REQUIRE_OK(mlxn_op_matmul(enc, xv, &imm, NULL, out)); /* x at byte 4 */
        REQUIRE_OK(mlxn_op_matmul_swiglu(enc, xa, &imm, &imm, out));
        REQUIRE_OK(mlxn_op_matmul_swiglu(enc, xa, &mut, &mut, out));
        REQUIRE_OK(mlxn_encoder_commit_and_wait(enc));
        const unsigned x8 = exact ? 0u : 1u;
        CHECK(mlxn_device_kernel_dispatches(dev, "matvec_x8_q4_k") == x8);
        CHECK(mlxn_device_kernel_dispatches(dev, "matvec_x8_tma_q4_k") == x8);
        CHECK(mlxn_device_kernel_dispatches(dev, "matvec_q4_k") == 3u - 2u * x8);
        CHECK(mlxn_device_kernel_dispatches(dev, "matvec_swiglu_x8_tma_q4_k") == x8);
        CHECK(mlxn_device_kernel_dispatches(dev, "matvec_swiglu_x8_q4_k") == x8);
        CHECK(mlxn_device_kernel_dispatches(dev, "matvec_swiglu_q4_k") == 2u - 2u * x8);
        mlxn_encoder_destroy(enc);
        mlxn_buffer *all[] = {wb, xv, x, xa, out};
        for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
            mlxn_buffer_destroy(all[i]);
        mlxn_device_destroy(dev);
    }
}

/* A weight format whose m = 1 products may take copy-engine kernels: the
 * name infix of its kernel on 16-byte aligned rows (k_ok) and on rows at
 * k_odd, NULL where k_odd takes the f32 kernel. */
typedef struct choice_fmt {
    mlxn_dtype dt;
    const char *fmt;
    int64_t k_ok, k_odd;
    const char *fast, *odd;
} choice_fmt;

/* On a device with and without matvec_exact: one product with W
 * immutable at k_ok, one mutable, one immutable at k_odd, and a SwiGLU
 * pair at k_ok; checks which kernel each took (the fast ones only without
 * matvec_exact, the f32 matvec_<f> otherwise). */
static void copy_engine_choice(const choice_fmt *f)
{
    for (int exact = 0; exact < 2; exact++) {
        mlxn_device *dev = device_exact(exact);
        if (!dev)
            SKIP("no device for this backend");
        const int64_t k = f->k_ok, ko = f->k_odd;
        mlxn_buffer *wk = zero_weight(dev, f->dt, 16, k);
        mlxn_buffer *wo = zero_weight(dev, f->dt, 16, ko);
        mlxn_buffer *xk = tensor(dev, MLXN_DTYPE_F32, 2, 1, k, 0);
        mlxn_buffer *xo = tensor(dev, MLXN_DTYPE_F32, 2, 1, ko, 0);
        mlxn_buffer *out = tensor(dev, MLXN_DTYPE_F32, 2, 1, 16, 0);
        CHECK(wk && wo && xk && xo && out);
        if (!wk || !wo || !xk || !xo || !out)
            return;
        mlxn_weight imm = {wk, NULL, NULL, 0, 0, 1}, mut = {wk, NULL, NULL, 0, 0, 0};
        mlxn_weight odd = {wo, NULL, NULL, 0, 0, 1};
        mlxn_encoder *enc = NULL;
        REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
        REQUIRE_OK(mlxn_op_matmul(enc, xk, &imm, NULL, out));
        REQUIRE_OK(mlxn_op_matmul(enc, xk, &mut, NULL, out));
        REQUIRE_OK(mlxn_op_matmul(enc, xo, &odd, NULL, out));
        REQUIRE_OK(mlxn_op_matmul_swiglu(enc, xk, &imm, &imm, out));
        REQUIRE_OK(mlxn_encoder_commit_and_wait(enc));
        const unsigned fast = exact ? 0u : 1u, odd_fast = f->odd ? fast : 0u;
        char name[5][40];
        snprintf(name[0], sizeof name[0], "matvec%s_%s", f->fast, f->fmt);
        snprintf(name[1], sizeof name[1], "matvec_%s", f->fmt);
        snprintf(name[2], sizeof name[2], "matvec_swiglu%s_%s", f->fast, f->fmt);
        snprintf(name[3], sizeof name[3], "matvec_swiglu_%s", f->fmt);
        snprintf(name[4], sizeof name[4], "matvec%s_%s", f->odd ? f->odd : "", f->fmt);
        CHECK(mlxn_device_kernel_dispatches(dev, name[0]) == fast);
        CHECK(mlxn_device_kernel_dispatches(dev, name[1]) == 3u - fast - odd_fast);
        CHECK(mlxn_device_kernel_dispatches(dev, name[2]) == fast);
        CHECK(mlxn_device_kernel_dispatches(dev, name[3]) == 1u - fast);
        if (f->odd)
            CHECK(mlxn_device_kernel_dispatches(dev, name[4]) == odd_fast);
        mlxn_encoder_destroy(enc);
        mlxn_buffer *all[] = {wk, wo, xk, xo, out};
        for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
            mlxn_buffer_destroy(all[i]);
        mlxn_device_destroy(dev);
    }
}

/* bf16 and f16 weights at m = 1 take the dense copy-engine kernels where
 * W is immutable and k a multiple of 32 (k = 4096, and the SwiGLU pair);
 * the f32 kernels for a mutable W, k = 100, and with matvec_exact. */
TEST(matvec_dense_tma_choice)
{
    static const choice_fmt fmts[2] = {{MLXN_DTYPE_BF16, "bf16", 4096, 100, "_tma", NULL},
                                       {MLXN_DTYPE_F16, "f16", 4096, 100, "_tma", NULL}};
    for (int f = 0; f < 2; f++)
        copy_engine_choice(&fmts[f]);
}

/* GGUF Q6_K and Q8_0 weights at m = 1 take the copy-engine int8 kernels
 * where W is immutable: _tma where rows start on 16-byte boundaries (k a
 * multiple of 2048; Q8_0: 256), _tma_odd where they do not (k = 2304 for
 * Q6_K, 288 for Q8_0: rows of 1890 and 306 bytes); the f32 kernels for a
 * mutable W, and with matvec_exact. */
TEST(matvec_x8_q6_k_q8_0_choice)
{
    static const choice_fmt fmts[2] = {
        {MLXN_DTYPE_Q6_K, "q6_k", 2048, 2304, "_x8_tma", "_x8_tma_odd"},
        {MLXN_DTYPE_Q8_0, "q8_0", 256, 288, "_x8_tma", "_x8_tma_odd"}};
    for (int f = 0; f < 2; f++)
        copy_engine_choice(&fmts[f]);
}

/* x rounded by its producer: mlxn_op_swiglu_x8_pays says 1 only when the
 * SwiGLU product rounds its output in its own kernel (immutable 4-bit
 * weights: the copy-engine kernel, n a multiple of 32) and the down
 * product reads the x8 row (an int8 kernel: not f32 weights, not
 * matvec_exact). The chain then dispatches no round_x8_f32; a producer
 * that cannot round itself (W not immutable) is followed by one. Bad x8
 * buffers fail with MLXN_ERR_INVALID_ARG, naming the argument, and queue
 * nothing. */
TEST(x8_rounding_by_producer)
{
    for (int exact = 0; exact < 2; exact++) {
        mlxn_device *dev = device_exact(exact);
        if (!dev)
            SKIP("no device for this backend");
        /* gate/up (64, 256) 4-bit in groups of 32; down (16, 64) */
        mlxn_buffer *wg = tensor(dev, MLXN_DTYPE_U32, 2, 64, 32, 0);
        mlxn_buffer *sg = tensor(dev, MLXN_DTYPE_F16, 2, 64, 8, 0);
        mlxn_buffer *wd = tensor(dev, MLXN_DTYPE_U32, 2, 16, 8, 0);
        mlxn_buffer *sd = tensor(dev, MLXN_DTYPE_F16, 2, 16, 2, 0);
        mlxn_buffer *wf = zero_weight(dev, MLXN_DTYPE_F32, 16, 64);
        mlxn_buffer *x = tensor(dev, MLXN_DTYPE_F32, 2, 1, 256, 0);
        mlxn_buffer *nw = tensor(dev, MLXN_DTYPE_F32, 1, 256, 0, 0);
        mlxn_buffer *norm = tensor(dev, MLXN_DTYPE_F32, 2, 1, 256, 0);
        mlxn_buffer *h = tensor(dev, MLXN_DTYPE_F32, 2, 1, 64, 0);
        mlxn_buffer *out = tensor(dev, MLXN_DTYPE_F32, 2, 1, 16, 0);
        mlxn_buffer *h8 = tensor(dev, MLXN_DTYPE_U8, 1, (int64_t)mlxn_x8_row_bytes(64), 0, 0);
        mlxn_buffer *small = tensor(dev, MLXN_DTYPE_U8, 1, 64, 0, 0);
        mlxn_buffer *root = tensor(dev, MLXN_DTYPE_U8, 1, 2048, 0, 0), *odd = NULL;
        mlxn_encoder *enc = NULL;
        REQUIRE_OK(wg && sg && wd && sd && wf && x && nw && norm && h && out && h8 && small &&
                           root
                       ? MLXN_OK
                       : MLXN_ERR_OUT_OF_MEMORY);
        int64_t so[1] = {(int64_t)mlxn_x8_row_bytes(64)};
        REQUIRE_OK(mlxn_buffer_view(root, 4, MLXN_DTYPE_U8, 1, so, &odd));
        REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
        mlxn_weight g = {wg, sg, NULL, 4, 32, 1}, gm = {wg, sg, NULL, 4, 32, 0};
        mlxn_weight d = {wd, sd, NULL, 4, 32, 1}, df = {wf, NULL, NULL, 0, 0, 1};
        CHECK(mlxn_op_swiglu_x8_pays(enc, x, nw, &g, &g, h, &d) == !exact);
        CHECK(mlxn_op_swiglu_x8_pays(enc, x, nw, &gm, &gm, h, &d) == 0);
        CHECK(mlxn_op_swiglu_x8_pays(enc, x, nw, &g, &g, h, &df) == 0);
        CHECK(mlxn_op_swiglu_x8_pays(enc, x, nw, &g, &g, h, &g) == 0); /* d's k is not n */
        /* the chain: the producer rounds (no round_x8_f32), then the same
         * with W not immutable (round_x8_f32 after the product) */
        REQUIRE_OK(mlxn_op_norm_matmul_swiglu_x8(enc, x, nw, 1e-5f, norm, &g, &g, h, h8));
        REQUIRE_OK(mlxn_op_matmul_x8(enc, h, h8, &d, NULL, out));
        REQUIRE_OK(mlxn_encoder_commit_and_wait(enc));
        CHECK(mlxn_device_kernel_dispatches(dev, "round_x8_f32") == (uint64_t)exact);
        REQUIRE_OK(mlxn_op_norm_matmul_swiglu_x8(enc, x, nw, 1e-5f, norm, &gm, &gm, h, h8));
        REQUIRE_OK(mlxn_encoder_commit_and_wait(enc));
        CHECK(mlxn_device_kernel_dispatches(dev, "round_x8_f32") == (uint64_t)exact + 1);
        /* bad x8 buffers */
        EXPECT_FAIL(mlxn_op_norm_matmul_swiglu_x8(enc, x, nw, 1e-5f, norm, &g, &g, h, small),
                    MLXN_ERR_INVALID_ARG, "out_x8");
        EXPECT_FAIL(mlxn_op_norm_matmul_swiglu_x8(enc, x, nw, 1e-5f, norm, &g, &g, h, odd),
                    MLXN_ERR_INVALID_ARG, "aligned");
        EXPECT_FAIL(mlxn_op_matmul_x8(enc, h, small, &d, NULL, out), MLXN_ERR_INVALID_ARG,
                    "x8");
        EXPECT_FAIL(mlxn_op_round_x8(enc, x, NULL), MLXN_ERR_INVALID_ARG, "x8");
        EXPECT_FAIL(mlxn_op_round_x8(enc, out, h8), MLXN_ERR_INVALID_ARG, "multiple of 32");
        CHECK(mlxn_encoder_pending_dispatches(enc) == 0);
        mlxn_encoder_destroy(enc);
        mlxn_buffer *all[] = {wg, sg, wd, sd, wf, x, nw, norm, h, out, h8, small, odd, root};
        for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
            mlxn_buffer_destroy(all[i]);
        mlxn_device_destroy(dev);
    }
}

/* CUDA: an out_x8 buffer whose slot tags disagree within a block (not
 * zeroed when made) does not hang the SwiGLU kernel that rounds its own
 * output: after a few seconds of waiting every such block gets a NaN
 * scale. (The CPU kernels keep no tags.) */
TEST(x8_out_with_disagreeing_tags_gives_nan)
{
    mlxn_device *dev = test_device();
    if (mlxn_device_backend(dev) != MLXN_BACKEND_CUDA)
        SKIP("the CPU kernels keep no tags");
    mlxn_buffer *wg = tensor(dev, MLXN_DTYPE_U32, 2, 64, 32, 0);
    mlxn_buffer *sg = tensor(dev, MLXN_DTYPE_F16, 2, 64, 8, 0);
    mlxn_buffer *x = tensor(dev, MLXN_DTYPE_F32, 2, 1, 256, 0);
    mlxn_buffer *nw = tensor(dev, MLXN_DTYPE_F32, 1, 256, 0, 0);
    mlxn_buffer *norm = tensor(dev, MLXN_DTYPE_F32, 2, 1, 256, 0);
    mlxn_buffer *h = tensor(dev, MLXN_DTYPE_F32, 2, 1, 64, 0);
    const size_t rb = mlxn_x8_row_bytes(64);
    mlxn_buffer *h8 = tensor(dev, MLXN_DTYPE_U8, 1, (int64_t)rb, 0, 0);
    uint8_t *junk = malloc(rb);
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(wg && sg && x && nw && norm && h && h8 && junk ? MLXN_OK
                                                              : MLXN_ERR_OUT_OF_MEMORY);
    for (size_t i = 0; i < rb; i++)
        junk[i] = (uint8_t)((i * 2654435761u) >> 13);
    REQUIRE_OK(mlxn_buffer_write(h8, 0, junk, rb));
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    mlxn_weight g = {wg, sg, NULL, 4, 32, 1};
    REQUIRE_OK(mlxn_op_norm_matmul_swiglu_x8(enc, x, nw, 1e-5f, norm, &g, &g, h, h8));
    REQUIRE_OK(mlxn_encoder_commit_and_wait(enc));
    float d[2];
    REQUIRE_OK(mlxn_buffer_read(h8, 64, d, sizeof d)); /* the two blocks' scales */
    CHECK_MSG(isnan(d[0]) && isnan(d[1]), "scales %g %g", d[0], d[1]);
    mlxn_encoder_destroy(enc);
    free(junk);
    mlxn_buffer *all[] = {wg, sg, x, nw, norm, h, h8};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
        mlxn_buffer_destroy(all[i]);
}
