/*
 * matmul_dequant.c: weights dequantized on the device (mlxn_op_dequantize,
 * and the prefill path's dequantization into its workspace).
 */
#include "ops/matmul_internal.h"

static mlxn_status dequant(mlxn_encoder *enc, const mlxn__mm_w *d, mlxn_buffer *out,
                           size_t offset, mlxn_dtype out_dtype)
{
    mlxn_kernel *k;
    mlxn_status st = mlxn__op_kernel(enc, &k, "dequant_%s", d->fmt);
    if (st != MLXN_OK)
        return st;
    mlxn_matmul_params p = mlxn__mm_params(d, 0);
    p.flags |= out_dtype == MLXN_DTYPE_BF16 ? MLXN_MM_OUT_BF16
               : out_dtype == MLXN_DTYPE_F16 ? MLXN_MM_OUT_F16
                                             : 0;
    size_t bytes = (size_t)d->n * (size_t)d->k * (out_dtype == MLXN_DTYPE_F32 ? 4 : 2);
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_COPY);
    mlxn__mm_bind_weight(&l, d);
    mlxn__mm_bind_range(&l, out, offset, bytes, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.block.x = 256;
    l.grid = mlxn__op_grid_1d((uint64_t)d->n * (uint64_t)d->k / 32, 256, 1, 1u << 20);
    return mlxn__op_encode(enc, &l);
}

mlxn_status mlxn__mm_dequant_to(mlxn_encoder *enc, const mlxn__mm_w *d, mlxn_buffer *ws,
                                size_t offset, mlxn_dtype out_dtype)
{
    return dequant(enc, d, ws, offset, out_dtype);
}

mlxn_status mlxn_op_dequantize(mlxn_encoder *enc, const mlxn_weight *w, mlxn_buffer *out)
{
    const char *op = "dequantize";
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "%s: NULL encoder", op);
    mlxn__mm_w d;
    mlxn_status st = mlxn__mm_check_weight(enc, op, "w", w, &d);
    if (st == MLXN_OK)
        st = mlxn__op_check_dtype(enc, op, "out", out, MLXN_DTYPE_F32, MLXN_DTYPE_F16,
                                  MLXN_DTYPE_BF16, -1);
    if (st != MLXN_OK)
        return st;
    if (mlxn_buffer_elems(out) != d.n * d.k)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: out has %lld elements, W has %lld x %lld", op,
                          (long long)mlxn_buffer_elems(out), (long long)d.n, (long long)d.k);
    return dequant(enc, &d, out, 0, out->dtype);
}
