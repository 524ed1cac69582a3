/*
 * embed.c: the embedding-lookup op. The kernel is found by the table's
 * dtype name (embed_<dtype>), so a new table format needs only its
 * kernels (ABI in kernels/params/embed.h).
 */
#include "ops/op_util.h"
#include "params/embed.h"

#include <stdio.h>

#define EMBED_BLOCK 256
#define EMBED_MAX_GRID 65535

mlxn_status mlxn_op_embed(mlxn_encoder *enc, mlxn_buffer *table, mlxn_buffer *ids,
                          mlxn_buffer *out)
{
    const char *op = "embed";
    mlxn_device *dev = mlxn_encoder_device(enc);
    mlxn_status st;
    if (!table)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: table is NULL", op);
    if ((st = mlxn__op_check_dtype(enc, op, "ids", ids, MLXN_DTYPE_I32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "out", out, MLXN_DTYPE_F32, -1)) != MLXN_OK)
        return st;
    if (mlxn_buffer_ndim(table) != 2)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: table must be (n_rows, n_embd), it has %d dims", op,
                          mlxn_buffer_ndim(table));
    int64_t n_rows = mlxn_buffer_dim(table, 0), n_embd = mlxn_buffer_dim(table, 1);
    int64_t n = mlxn_buffer_elems(ids);
    int64_t row_bytes = mlxn_dtype_bytes(table->dtype, n_embd);
    if (n_rows < 1 || n_rows > UINT32_MAX || n_embd < 1 || n_embd > UINT32_MAX ||
        n > UINT32_MAX || row_bytes < 0)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: table (%lld, %lld) %s or %lld ids out of range", op,
                          (long long)n_rows, (long long)n_embd, mlxn_dtype_name(table->dtype),
                          (long long)n);
    if (mlxn_buffer_elems(out) != n * n_embd)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: out has %lld elements, need %lld ids x %lld", op,
                          (long long)mlxn_buffer_elems(out), (long long)n, (long long)n_embd);
    char name[48];
    snprintf(name, sizeof name, "embed_%s", mlxn_dtype_name(table->dtype));
    mlxn_kernel *k = mlxn__registry_find(dev, name);
    if (!k)
        return mlxn__fail(dev, MLXN_ERR_UNSUPPORTED,
                          "%s: no kernel %s for a %s table on this backend", op, name,
                          mlxn_dtype_name(table->dtype));
    if ((st = mlxn_kernel_get(dev, name, &k)) != MLXN_OK)
        return st;
    if (n == 0)
        return MLXN_OK;
    mlxn_embed_params p = {(uint32_t)n, (uint32_t)n_rows, (uint32_t)n_embd, 0,
                           (uint64_t)row_bytes};
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_EMBED);
    mlxn__op_buf(&l, table, 1, 0);
    mlxn__op_buf(&l, ids, 1, 0);
    mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.grid.x = (uint32_t)(n < EMBED_MAX_GRID ? n : EMBED_MAX_GRID);
    l.block.x = EMBED_BLOCK;
    return mlxn__op_encode(enc, &l);
}
