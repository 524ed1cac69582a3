/*
 * add_norm.c: the fused residual add + RMS norm op (mlxn_op_add_rms_norm).
 * See mlxn_ops.h for the math and the accepted shapes.
 */
#include "ops/op_util.h"
#include "params/elementwise.h"

mlxn_status mlxn_op_add_rms_norm(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *residual,
                                 mlxn_buffer *w, float eps, mlxn_buffer *sum,
                                 mlxn_buffer *norm)
{
    const char *op = "add_rms_norm";
    mlxn_device *dev = mlxn_encoder_device(enc);
    mlxn_status st;
    if ((st = mlxn__op_check_dtype(enc, op, "x", x, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "residual", residual, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "sum", sum, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "norm", norm, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "w", w, MLXN_DTYPE_F32, MLXN_DTYPE_F16,
                                   MLXN_DTYPE_BF16, -1)) != MLXN_OK ||
        (st = mlxn__op_check_elems(enc, op, "x", x, "residual", residual)) != MLXN_OK ||
        (st = mlxn__op_check_elems(enc, op, "x", x, "sum", sum)) != MLXN_OK ||
        (st = mlxn__op_check_elems(enc, op, "x", x, "norm", norm)) != MLXN_OK)
        return st;
    int64_t rows, n;
    mlxn__op_rows_cols(x, &rows, &n);
    if (n < 1 || n > UINT32_MAX || rows > UINT32_MAX || !(eps >= 0.0f))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: rows %lld x n %lld or eps %g out of range", op,
                          (long long)rows, (long long)n, (double)eps);
    if (mlxn_buffer_elems(w) != n)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: w has %lld elements, rows of x have %lld",
                          op, (long long)mlxn_buffer_elems(w), (long long)n);
    mlxn_kernel *k;
    if ((st = mlxn__op_kernel(enc, &k, "add_rms_norm_mul_%s", mlxn_dtype_name(w->dtype))) !=
        MLXN_OK)
        return st;
    if (rows == 0)
        return MLXN_OK;
    mlxn_norm_params p = {(uint32_t)rows, (uint32_t)n, eps, 0};
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_FUSED_NORM_MUL);
    mlxn__op_buf(&l, x, 1, 0);
    mlxn__op_buf(&l, residual, 1, 0);
    mlxn__op_buf(&l, w, 1, 0);
    mlxn__op_buf(&l, sum, 0, 1);
    mlxn__op_buf(&l, norm, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.grid.x = (uint32_t)rows;
    int64_t t = ((n + 3) / 4 + 31) / 32 * 32;
    l.block.x = (uint32_t)(t < 32 ? 32 : t > 1024 ? 1024 : t);
    return mlxn__op_encode(enc, &l);
}
