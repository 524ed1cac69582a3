/*
 * op_util.c: shared helpers of the op layer (see op_util.h).
 */
#include "ops/op_util.h"

#include <stdio.h>
#include <string.h>

mlxn_status mlxn__op_kernel(mlxn_encoder *enc, mlxn_kernel **out, const char *fmt, ...)
{
    char name[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return mlxn_kernel_get(mlxn_encoder_device(enc), name, out);
}

mlxn_status mlxn__op_check_dtype(mlxn_encoder *enc, const char *op, const char *arg,
                                 const mlxn_buffer *buf, ...)
{
    mlxn_device *dev = mlxn_encoder_device(enc);
    if (!buf)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: %s is NULL", op, arg);
    char allowed[128] = "";
    va_list ap;
    va_start(ap, buf);
    for (int t = va_arg(ap, int); t >= 0; t = va_arg(ap, int)) {
        if (t == (int)buf->dtype) {
            va_end(ap);
            return MLXN_OK;
        }
        size_t len = strlen(allowed);
        snprintf(allowed + len, sizeof allowed - len, "%s%s", len ? ", " : "",
                 mlxn_dtype_name((mlxn_dtype)t));
    }
    va_end(ap);
    return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: %s has dtype %s, expected %s", op,
                      arg, mlxn_dtype_name(buf->dtype), allowed);
}

mlxn_status mlxn__op_check_elems(mlxn_encoder *enc, const char *op, const char *arg_a,
                                 const mlxn_buffer *a, const char *arg_b,
                                 const mlxn_buffer *b)
{
    if (mlxn_buffer_elems(a) == mlxn_buffer_elems(b))
        return MLXN_OK;
    return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                      "%s: %s has %lld elements but %s has %lld", op, arg_a,
                      (long long)mlxn_buffer_elems(a), arg_b,
                      (long long)mlxn_buffer_elems(b));
}

void mlxn__op_rows_cols(const mlxn_buffer *b, int64_t *rows, int64_t *cols)
{
    *cols = b->ndim ? b->shape[b->ndim - 1] : 1;
    *rows = 1;
    for (int i = 0; i + 1 < b->ndim; i++)
        *rows *= b->shape[i];
}

void mlxn__op_begin(mlxn__op_launch *l, mlxn_kernel *kernel, mlxn_op_kind kind)
{
    memset(l, 0, sizeof *l);
    l->kernel = kernel;
    l->kind = kind;
    l->grid.x = l->grid.y = l->grid.z = 1;
    l->block.x = l->block.y = l->block.z = 1;
}

void mlxn__op_buf(mlxn__op_launch *l, mlxn_buffer *b, int reads, int writes)
{
    l->args[l->n_args++] = mlxn_arg_buffer(b);
    if (reads && l->n_reads < MLXN_MAX_RANGES)
        l->reads[l->n_reads++] = mlxn_range_of(b);
    if (writes && l->n_writes < MLXN_MAX_RANGES)
        l->writes[l->n_writes++] = mlxn_range_of(b);
}

void mlxn__op_bytes(mlxn__op_launch *l, const void *bytes, size_t size)
{
    l->args[l->n_args++] = mlxn_arg_bytes(bytes, size);
}

mlxn_status mlxn__op_encode(mlxn_encoder *enc, const mlxn__op_launch *l)
{
    mlxn_dispatch d;
    d.kernel = l->kernel;
    d.args = l->args;
    d.n_args = l->n_args;
    d.grid = l->grid;
    d.block = l->block;
    d.shared_bytes = l->shared_bytes;
    d.kind = l->kind;
    d.reads = l->reads;
    d.n_reads = l->n_reads;
    d.writes = l->writes;
    d.n_writes = l->n_writes;
    return mlxn_encoder_dispatch(enc, &d);
}

mlxn_dim3 mlxn__op_grid_1d(uint64_t n, uint32_t block, uint32_t per_thread,
                           uint32_t max_blocks)
{
    uint64_t per_block = (uint64_t)block * per_thread;
    uint64_t blocks = (n + per_block - 1) / per_block;
    if (blocks < 1)
        blocks = 1;
    if (blocks > max_blocks)
        blocks = max_blocks;
    mlxn_dim3 g = {(uint32_t)blocks, 1, 1};
    return g;
}
