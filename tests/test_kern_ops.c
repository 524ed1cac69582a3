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
