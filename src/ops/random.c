/*
 * random.c: mlxn_op_fill_random, seeded random contents for any dtype
 * (synthetic weights for benchmarks and tests).
 */
#include "ops/op_util.h"
#include "params/random.h"

#include <string.h>

/* Byte offsets of the f16 scale fields inside each GGUF block format
 * (ggml/src/ggml-common.h layouts). */
static int block_scales(mlxn_dtype t, mlxn_fill_params *p)
{
    static const struct {
        mlxn_dtype t;
        uint32_t n, off[2];
    } table[] = {
        {MLXN_DTYPE_Q4_0, 1, {0, 0}},   {MLXN_DTYPE_Q4_1, 2, {0, 2}},
        {MLXN_DTYPE_Q5_0, 1, {0, 0}},   {MLXN_DTYPE_Q5_1, 2, {0, 2}},
        {MLXN_DTYPE_Q8_0, 1, {0, 0}},   {MLXN_DTYPE_Q2_K, 2, {80, 82}},
        {MLXN_DTYPE_Q3_K, 1, {108, 0}}, {MLXN_DTYPE_Q4_K, 2, {0, 2}},
        {MLXN_DTYPE_Q5_K, 2, {0, 2}},   {MLXN_DTYPE_Q6_K, 1, {208, 0}},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].t != t)
            continue;
        p->n_scales = table[i].n;
        p->scale_off[0] = table[i].off[0];
        p->scale_off[1] = table[i].off[1];
        return 1;
    }
    return 0;
}

mlxn_status mlxn_op_fill_random(mlxn_encoder *enc, mlxn_buffer *buf, uint64_t seed,
                                float lo, float hi)
{
    mlxn_device *dev = mlxn_encoder_device(enc);
    if (!buf)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "fill_random: buf is NULL");
    if (!(lo <= hi))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "fill_random: lo %g > hi %g",
                          (double)lo, (double)hi);
    mlxn_fill_params p;
    memset(&p, 0, sizeof p);
    p.seed = seed;
    p.lo = lo;
    p.hi = hi;
    const char *kernel;
    int64_t elems = mlxn_buffer_elems(buf);
    switch (buf->dtype) {
    case MLXN_DTYPE_F32:
        kernel = "fill_random_f32";
        p.n = (uint64_t)elems;
        break;
    case MLXN_DTYPE_F16:
        kernel = "fill_random_f16";
        p.n = (uint64_t)elems;
        break;
    case MLXN_DTYPE_BF16:
        kernel = "fill_random_bf16";
        p.n = (uint64_t)elems;
        break;
    default:
        if (block_scales(buf->dtype, &p)) {
            kernel = "fill_random_blocks";
            p.block_bytes = (uint32_t)mlxn_dtype_block_bytes(buf->dtype);
            p.n = (uint64_t)(elems / mlxn_dtype_block_elems(buf->dtype));
        } else {
            /* Integer types: random 32-bit words over the whole view. */
            if (mlxn_buffer_bytes(buf) % 4 || mlxn__buffer_addr(buf, 0) % 4)
                return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                                  "fill_random: %s buffer of %zu bytes is not whole words",
                                  mlxn_dtype_name(buf->dtype), mlxn_buffer_bytes(buf));
            kernel = "fill_random_bits";
            p.n = mlxn_buffer_bytes(buf) / 4;
        }
    }
    if (!p.n)
        return MLXN_OK;
    mlxn_kernel *k;
    mlxn_status st = mlxn__op_kernel(enc, &k, "%s", kernel);
    if (st != MLXN_OK)
        return st;
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_OTHER);
    mlxn__op_buf(&l, buf, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.block.x = 256;
    l.grid = mlxn__op_grid_1d(p.n, 256, 1, 65535);
    return mlxn__op_encode(enc, &l);
}
