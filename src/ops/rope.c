/*
 * rope.c: the rotary position embedding op (interleaved and NeoX pairs,
 * partial rotary dims, frequency factors, positions from a buffer). See
 * mlxn_ops.h for the math.
 */
#include "ops/op_util.h"
#include "params/rope.h"

#include <math.h>

#define ROPE_BLOCK 256

mlxn_rope_params mlxn_rope_params_default(void)
{
    mlxn_rope_params p;
    p.mode = MLXN_ROPE_INTERLEAVED;
    p.n_rot = 0;
    p.theta_base = 10000.0f;
    p.freq_scale = 1.0f;
    return p;
}

mlxn_status mlxn_op_rope(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *positions,
                         mlxn_buffer *freq_factors, const mlxn_rope_params *p,
                         mlxn_buffer *out)
{
    const char *op = "rope";
    mlxn_device *dev = mlxn_encoder_device(enc);
    mlxn_status st;
    if (!p)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: params are NULL", op);
    if ((st = mlxn__op_check_dtype(enc, op, "x", x, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "positions", positions, MLXN_DTYPE_I32, -1)) !=
            MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "out", out, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_elems(enc, op, "x", x, "out", out)) != MLXN_OK)
        return st;
    if (mlxn_buffer_ndim(x) != 3)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: x must be (n_tokens, n_heads, head_dim), it has %d dims", op,
                          mlxn_buffer_ndim(x));
    int64_t n_tokens = mlxn_buffer_dim(x, 0), n_heads = mlxn_buffer_dim(x, 1);
    int64_t head_dim = mlxn_buffer_dim(x, 2);
    int64_t n_rot = p->n_rot ? p->n_rot : head_dim;
    if (n_tokens > UINT32_MAX || n_heads < 1 || n_heads > 65535 * 64 || head_dim < 2 ||
        head_dim % 2 || n_rot < 2 || n_rot % 2 || n_rot > head_dim ||
        n_rot / 2 > MLXN_ROPE_MAX_HALF)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: x (%lld, %lld, %lld) with n_rot %lld: need an even head_dim, "
                          "an even n_rot in [2, head_dim] and <= %d",
                          op, (long long)n_tokens, (long long)n_heads, (long long)head_dim,
                          (long long)n_rot, 2 * MLXN_ROPE_MAX_HALF);
    if (mlxn_buffer_elems(positions) != n_tokens)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: positions has %lld entries, x has %lld tokens",
                          op, (long long)mlxn_buffer_elems(positions), (long long)n_tokens);
    if (p->mode != MLXN_ROPE_INTERLEAVED && p->mode != MLXN_ROPE_NEOX)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: unknown mode %d", op, (int)p->mode);
    if (!(p->theta_base > 0.0f) || !isfinite(p->theta_base) || !isfinite(p->freq_scale))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: theta_base %g / freq_scale %g invalid",
                          op, (double)p->theta_base, (double)p->freq_scale);
    if (freq_factors) {
        if ((st = mlxn__op_check_dtype(enc, op, "freq_factors", freq_factors, MLXN_DTYPE_F32,
                                       -1)) != MLXN_OK)
            return st;
        if (mlxn_buffer_elems(freq_factors) != n_rot / 2)
            return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                              "%s: freq_factors has %lld entries, need n_rot/2 = %lld", op,
                              (long long)mlxn_buffer_elems(freq_factors), (long long)n_rot / 2);
    }
    mlxn_kernel *k;
    if ((st = mlxn__op_kernel(enc, &k, "rope_%s_f32",
                              p->mode == MLXN_ROPE_NEOX ? "neox" : "interleaved")) != MLXN_OK)
        return st;
    if (n_tokens == 0)
        return MLXN_OK;
    /* A block rotates up to ~ROPE_BLOCK pairs: whole heads, at most 64. */
    uint32_t pairs = (uint32_t)(head_dim / 2);
    uint32_t hpb = pairs >= ROPE_BLOCK ? 1 : ROPE_BLOCK / pairs;
    if (hpb > (uint32_t)n_heads)
        hpb = (uint32_t)n_heads;
    mlxn_rope_kparams kp = {(uint32_t)n_tokens, (uint32_t)n_heads, (uint32_t)head_dim,
                            (uint32_t)n_rot, hpb, freq_factors != NULL, p->theta_base,
                            p->freq_scale};
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_ROPE);
    mlxn__op_buf(&l, x, 1, 0);
    mlxn__op_buf(&l, positions, 1, 0);
    mlxn__op_buf(&l, freq_factors ? freq_factors : positions, 1, 0);
    mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, &kp, sizeof kp);
    l.grid.x = (uint32_t)n_tokens;
    l.grid.y = ((uint32_t)n_heads + hpb - 1) / hpb;
    l.block.x = ROPE_BLOCK;
    return mlxn__op_encode(enc, &l);
}
