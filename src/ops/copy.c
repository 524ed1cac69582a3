/*
 * copy.c: mlxn_op_copy, a byte copy between two views.
 */
#include "ops/op_util.h"
#include "params/copy.h"

mlxn_status mlxn_op_copy(mlxn_encoder *enc, mlxn_buffer *src, mlxn_buffer *dst)
{
    mlxn_device *dev = mlxn_encoder_device(enc);
    if (!src || !dst)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "copy: NULL buffer");
    size_t n = mlxn_buffer_bytes(src);
    if (mlxn_buffer_bytes(dst) != n)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "copy: src has %zu bytes, dst %zu", n,
                          mlxn_buffer_bytes(dst));
    uint64_t a = mlxn__buffer_addr(src, 0), b = mlxn__buffer_addr(dst, 0);
    if (src->alloc == dst->alloc && a < b + n && b < a + n && a != b)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "copy: src and dst overlap");
    if (!n || a == b)
        return MLXN_OK;
    mlxn_kernel *k;
    mlxn_status st = mlxn__op_kernel(enc, &k, "copy_bytes");
    if (st != MLXN_OK)
        return st;
    mlxn_copy_params p = {n, (a % 16 || b % 16) ? 0 : n / 16};
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_COPY);
    mlxn__op_buf(&l, src, 1, 0);
    mlxn__op_buf(&l, dst, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.block.x = 256;
    l.grid = mlxn__op_grid_1d(p.n16 ? p.n16 : n, 256, 4, 8192);
    return mlxn__op_encode(enc, &l);
}
