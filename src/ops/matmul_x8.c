/*
 * matmul_x8.c: x8 rows (x rounded to 8 bits per 32 values, the layout of
 * kernels/params/matmul.h): their size, the checks every op that takes
 * one makes, and mlxn_op_round_x8. The products that read or write them
 * are in matmul.c.
 */
#include "ops/matmul_internal.h"

#include <string.h>

/* MLXN_ERR_INVALID_ARG with "op: arg msg". */
#define X8_FAIL(enc, op, msg, arg)                                                         \
    mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG, "%s: %s %s", op, arg, msg)

mlxn_status mlxn__mm_check_x8(mlxn_encoder *enc, const char *op, const char *arg,
                              mlxn_buffer *x8, int64_t rows, int64_t k, mlxn_buffer *other)
{
    if (k % 32)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: %s needs rows of a multiple of 32 values, not %lld", op, arg,
                          (long long)k);
    if (mlxn_buffer_bytes(x8) < (size_t)rows * MLXN_X8_ROW_BYTES((uint64_t)k))
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: %s has %zu bytes, %lld rows of k = %lld need %llu", op, arg,
                          mlxn_buffer_bytes(x8), (long long)rows, (long long)k,
                          (unsigned long long)((uint64_t)rows *
                                               MLXN_X8_ROW_BYTES((uint64_t)k)));
    if (mlxn__buffer_addr(x8, 0) % 16)
        return X8_FAIL(enc, op, "is not 16-byte aligned", arg);
    if (mlxn__mm_overlaps(x8, other))
        return X8_FAIL(enc, op, "overlaps an f32 argument", arg);
    return MLXN_OK;
}

size_t mlxn_x8_row_bytes(int64_t k)
{
    return k > 0 && k % 32 == 0 && k <= INT32_MAX ? (size_t)MLXN_X8_ROW_BYTES((uint64_t)k) : 0;
}

mlxn_status mlxn_op_round_x8(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *x8)
{
    const char *op = "round_x8";
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "%s: NULL encoder", op);
    if (!x8)
        return X8_FAIL(enc, op, "is NULL", "x8");
    mlxn_status st = mlxn__op_check_dtype(enc, op, "x", x, MLXN_DTYPE_F32, -1);
    if (st != MLXN_OK)
        return st;
    int64_t rows, k;
    mlxn__op_rows_cols(x, &rows, &k);
    if ((st = mlxn__mm_check_x8(enc, op, "x8", x8, rows, k, x)) != MLXN_OK)
        return st;
    if (rows > INT32_MAX || k > INT32_MAX / 2)
        return X8_FAIL(enc, op, "is too large", "x");
    mlxn_kernel *kn;
    if ((st = mlxn__op_kernel(enc, &kn, "round_x8_f32")) != MLXN_OK)
        return st;
    mlxn_matmul_params p;
    memset(&p, 0, sizeof p);
    p.m = (uint32_t)rows;
    p.k = (uint32_t)k;
    mlxn__op_launch l;
    mlxn__op_begin(&l, kn, MLXN_OP_MATMUL);
    mlxn__op_buf(&l, x, 1, 0);
    mlxn__op_buf(&l, x8, 0, 1);
    /* one warp per block of 32 values */
    l.block.x = 256;
    l.grid = mlxn__op_grid_1d((uint64_t)rows * (uint64_t)k, 256, 1, 65535);
    mlxn__op_bytes(&l, &p, sizeof p);
    return mlxn__op_encode(enc, &l);
}
