/*
 * elementwise.c: the add, mul and scale ops and RMS norm (with the fused
 * weight multiply). See mlxn_ops.h for the math and the accepted shapes.
 */
#include "ops/op_util.h"
#include "params/elementwise.h"

#define EW_BLOCK 256
#define EW_MAX_BLOCKS 8192

static mlxn_status binary(mlxn_encoder *enc, const char *op, mlxn_op_kind kind,
                          mlxn_buffer *a, mlxn_buffer *b, mlxn_buffer *out)
{
    mlxn_status st;
    if ((st = mlxn__op_check_dtype(enc, op, "a", a, MLXN_DTYPE_F32, MLXN_DTYPE_F16,
                                   MLXN_DTYPE_BF16, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "b", b, (int)a->dtype, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "out", out, (int)a->dtype, -1)) != MLXN_OK ||
        (st = mlxn__op_check_elems(enc, op, "a", a, "out", out)) != MLXN_OK)
        return st;
    int64_t n = mlxn_buffer_elems(a), nb = mlxn_buffer_elems(b);
    if (nb == 0 || n % nb)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: b has %lld elements, which must divide a's %lld", op,
                          (long long)nb, (long long)n);
    mlxn_kernel *k;
    if ((st = mlxn__op_kernel(enc, &k, "%s_%s", op, mlxn_dtype_name(a->dtype))) != MLXN_OK)
        return st;
    mlxn_ew_params p = {(uint64_t)n, (uint64_t)nb, 0.0f, 0};
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, kind);
    mlxn__op_buf(&l, a, 1, 0);
    mlxn__op_buf(&l, b, 1, 0);
    mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.block.x = EW_BLOCK;
    l.grid = mlxn__op_grid_1d((uint64_t)n, EW_BLOCK, 4, EW_MAX_BLOCKS);
    return mlxn__op_encode(enc, &l);
}

mlxn_status mlxn_op_add(mlxn_encoder *enc, mlxn_buffer *a, mlxn_buffer *b,
                        mlxn_buffer *out)
{
    return binary(enc, "add", MLXN_OP_ELEM_ADD, a, b, out);
}

mlxn_status mlxn_op_mul(mlxn_encoder *enc, mlxn_buffer *a, mlxn_buffer *b,
                        mlxn_buffer *out)
{
    return binary(enc, "mul", MLXN_OP_ELEM_MUL, a, b, out);
}

mlxn_status mlxn_op_scale(mlxn_encoder *enc, mlxn_buffer *a, float s, mlxn_buffer *out)
{
    mlxn_status st;
    if ((st = mlxn__op_check_dtype(enc, "scale", "a", a, MLXN_DTYPE_F32, MLXN_DTYPE_F16,
                                   MLXN_DTYPE_BF16, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, "scale", "out", out, (int)a->dtype, -1)) != MLXN_OK ||
        (st = mlxn__op_check_elems(enc, "scale", "a", a, "out", out)) != MLXN_OK)
        return st;
    mlxn_kernel *k;
    if ((st = mlxn__op_kernel(enc, &k, "scale_%s", mlxn_dtype_name(a->dtype))) != MLXN_OK)
        return st;
    uint64_t n = (uint64_t)mlxn_buffer_elems(a);
    mlxn_ew_params p = {n, n, s, 0};
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_ELEM_SCALE);
    mlxn__op_buf(&l, a, 1, 0);
    mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.block.x = EW_BLOCK;
    l.grid = mlxn__op_grid_1d(n, EW_BLOCK, 4, EW_MAX_BLOCKS);
    return mlxn__op_encode(enc, &l);
}

mlxn_status mlxn_op_rms_norm(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *w, float eps,
                             mlxn_buffer *out)
{
    const char *op = "rms_norm";
    mlxn_device *dev = mlxn_encoder_device(enc);
    mlxn_status st;
    if ((st = mlxn__op_check_dtype(enc, op, "x", x, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "out", out, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_elems(enc, op, "x", x, "out", out)) != MLXN_OK)
        return st;
    int64_t rows, n;
    mlxn__op_rows_cols(x, &rows, &n);
    if (n < 1 || n > UINT32_MAX || rows > UINT32_MAX || !(eps >= 0.0f))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: rows %lld x n %lld or eps %g out of range", op,
                          (long long)rows, (long long)n, (double)eps);
    if (w) {
        if ((st = mlxn__op_check_dtype(enc, op, "w", w, MLXN_DTYPE_F32, MLXN_DTYPE_F16,
                                       MLXN_DTYPE_BF16, -1)) != MLXN_OK)
            return st;
        if (mlxn_buffer_elems(w) != n)
            return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                              "%s: w has %lld elements, rows of x have %lld", op,
                              (long long)mlxn_buffer_elems(w), (long long)n);
    }
    mlxn_kernel *k;
    st = w ? mlxn__op_kernel(enc, &k, "rms_norm_mul_%s", mlxn_dtype_name(w->dtype))
           : mlxn__op_kernel(enc, &k, "rms_norm_f32");
    if (st != MLXN_OK)
        return st;
    mlxn_norm_params p = {(uint32_t)rows, (uint32_t)n, eps, 0};
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, w ? MLXN_OP_FUSED_NORM_MUL : MLXN_OP_RMS_NORM);
    mlxn__op_buf(&l, x, 1, 0);
    if (w)
        mlxn__op_buf(&l, w, 1, 0);
    mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.grid.x = (uint32_t)(rows ? rows : 1);
    /* About four elements per thread: a short loop keeps few loads in
     * flight per thread, and one row is one block (latency-bound at
     * batch 1). */
    int64_t t = (n / 4 + 31) / 32 * 32;
    l.block.x = (uint32_t)(t < 32 ? 32 : t > 1024 ? 1024 : t);
    if (!rows)
        return MLXN_OK; /* nothing to do */
    return mlxn__op_encode(enc, &l);
}
