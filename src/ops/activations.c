/*
 * activations.c: the SwiGLU (silu_mul), GELU, softcap, softmax and argmax
 * ops. See mlxn_ops.h for the math and the accepted shapes.
 */
#include "ops/op_util.h"
#include "params/activations.h"

#include <math.h>

#define ACT_BLOCK 256
#define ACT_MAX_BLOCKS 8192

/* One pointwise dispatch over n elements: kernel(x[, up], out, params). */
static mlxn_status pointwise(mlxn_encoder *enc, const char *op, const char *kname,
                             mlxn_buffer *x, mlxn_buffer *up, mlxn_buffer *out, float cap)
{
    mlxn_status st;
    const char *xname = up ? "gate" : "x";
    if ((st = mlxn__op_check_dtype(enc, op, xname, x, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (up && (st = mlxn__op_check_dtype(enc, op, "up", up, MLXN_DTYPE_F32, -1)) != MLXN_OK) ||
        (st = mlxn__op_check_dtype(enc, op, "out", out, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (up && (st = mlxn__op_check_elems(enc, op, xname, x, "up", up)) != MLXN_OK) ||
        (st = mlxn__op_check_elems(enc, op, xname, x, "out", out)) != MLXN_OK)
        return st;
    mlxn_kernel *k;
    if ((st = mlxn__op_kernel(enc, &k, "%s", kname)) != MLXN_OK)
        return st;
    uint64_t n = (uint64_t)mlxn_buffer_elems(x);
    if (n == 0)
        return MLXN_OK;
    mlxn_act_params p = {n, cap, 0};
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_ACTIVATION);
    mlxn__op_buf(&l, x, 1, 0);
    if (up)
        mlxn__op_buf(&l, up, 1, 0);
    mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.block.x = ACT_BLOCK;
    l.grid = mlxn__op_grid_1d(n, ACT_BLOCK, 4, ACT_MAX_BLOCKS);
    return mlxn__op_encode(enc, &l);
}

mlxn_status mlxn_op_silu_mul(mlxn_encoder *enc, mlxn_buffer *gate, mlxn_buffer *up,
                             mlxn_buffer *out)
{
    if (!up)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "silu_mul: up is NULL");
    return pointwise(enc, "silu_mul", "silu_mul_f32", gate, up, out, 0.0f);
}

mlxn_status mlxn_op_gelu(mlxn_encoder *enc, mlxn_buffer *x, mlxn_gelu_kind kind,
                         mlxn_buffer *out)
{
    if (kind != MLXN_GELU_ERF && kind != MLXN_GELU_TANH)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "gelu: unknown kind %d", (int)kind);
    return pointwise(enc, "gelu", kind == MLXN_GELU_ERF ? "gelu_erf_f32" : "gelu_tanh_f32", x,
                     NULL, out, 0.0f);
}

mlxn_status mlxn_op_softcap(mlxn_encoder *enc, mlxn_buffer *x, float cap, mlxn_buffer *out)
{
    if (!(cap > 0.0f) || !isfinite(cap))
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "softcap: cap %g must be positive and finite", (double)cap);
    return pointwise(enc, "softcap", "softcap_f32", x, NULL, out, cap);
}

/* Threads per row: enough for 4 elements each, a multiple of 32, <= 1024. */
static uint32_t row_block(int64_t n)
{
    int64_t t = (n + 3) / 4;
    t = (t + 31) / 32 * 32;
    return (uint32_t)(t < 32 ? 32 : t > 1024 ? 1024 : t);
}

/* Validate x (rows, n) f32 for a per-row op; returns rows and n. */
static mlxn_status check_rows(mlxn_encoder *enc, const char *op, mlxn_buffer *x,
                              int64_t *rows, int64_t *n)
{
    mlxn_status st = mlxn__op_check_dtype(enc, op, "x", x, MLXN_DTYPE_F32, -1);
    if (st != MLXN_OK)
        return st;
    mlxn__op_rows_cols(x, rows, n);
    if (*n < 1 || *n > UINT32_MAX || *rows > UINT32_MAX)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: rows %lld x n %lld out of range", op, (long long)*rows,
                          (long long)*n);
    return MLXN_OK;
}

mlxn_status mlxn_op_softmax(mlxn_encoder *enc, mlxn_buffer *x, float scale, mlxn_buffer *out)
{
    const char *op = "softmax";
    int64_t rows, n;
    mlxn_status st;
    if ((st = check_rows(enc, op, x, &rows, &n)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "out", out, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_elems(enc, op, "x", x, "out", out)) != MLXN_OK)
        return st;
    if (!isfinite(scale))
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: scale is not finite", op);
    mlxn_kernel *k;
    if ((st = mlxn__op_kernel(enc, &k, "softmax_f32")) != MLXN_OK)
        return st;
    if (rows == 0)
        return MLXN_OK;
    mlxn_row_params p = {(uint32_t)rows, (uint32_t)n, scale, 0};
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_SOFTMAX);
    mlxn__op_buf(&l, x, 1, 0);
    mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.grid.x = (uint32_t)rows;
    l.block.x = row_block(n);
    return mlxn__op_encode(enc, &l);
}

mlxn_status mlxn_op_argmax(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *out)
{
    const char *op = "argmax";
    int64_t rows, n;
    mlxn_status st;
    if ((st = check_rows(enc, op, x, &rows, &n)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "out", out, MLXN_DTYPE_I32, -1)) != MLXN_OK)
        return st;
    if (mlxn_buffer_elems(out) != rows)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: out has %lld elements, x has %lld rows", op,
                          (long long)mlxn_buffer_elems(out), (long long)rows);
    mlxn_kernel *k;
    if ((st = mlxn__op_kernel(enc, &k, "argmax_f32")) != MLXN_OK)
        return st;
    if (rows == 0)
        return MLXN_OK;
    mlxn_row_params p = {(uint32_t)rows, (uint32_t)n, 1.0f, 0};
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_REDUCE);
    mlxn__op_buf(&l, x, 1, 0);
    mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.grid.x = (uint32_t)rows;
    l.block.x = row_block(n);
    return mlxn__op_encode(enc, &l);
}
