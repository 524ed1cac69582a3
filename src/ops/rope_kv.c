/*
 * rope_kv.c: mlxn_op_rope_kv_write, RoPE of q and k fused with the
 * KV-cache write of k and v (one dispatch instead of three).
 */
#include "ops/op_util.h"
#include "params/rope.h"
#include "params/rope_kv.h"

static mlxn_status check3(mlxn_encoder *enc, const char *arg, const mlxn_buffer *b,
                          int64_t t, int64_t heads, int64_t hd)
{
    if (!b || b->dtype != MLXN_DTYPE_F32 || b->ndim != 3 || b->shape[0] != t ||
        (heads >= 0 && b->shape[1] != heads) || b->shape[2] != hd)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "rope_kv_write: %s must be f32 (n_tokens, heads, head_dim) matching q",
                          arg);
    return MLXN_OK;
}

mlxn_status mlxn_op_rope_kv_write(mlxn_encoder *enc, const mlxn_rope_kv_args *a)
{
    const char *op = "rope_kv_write";
    mlxn_device *dev = enc ? mlxn_encoder_device(enc) : NULL;
    if (!enc || !a || !a->q || !a->k || !a->rope)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: NULL argument", op);
    const mlxn_buffer *q = a->q;
    if (q->dtype != MLXN_DTYPE_F32 || q->ndim != 3)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: q must be f32 (n_tokens, n_head, head_dim)",
                          op);
    int64_t t = q->shape[0], n_head = q->shape[1], hd = q->shape[2];
    mlxn_status st;
    if ((st = check3(enc, "k", a->k, t, -1, hd)) || (st = check3(enc, "v", a->v, t, a->k->shape[1], hd)))
        return st;
    int64_t n_kv = a->k->shape[1];
    const mlxn_buffer *kc = a->k_cache, *vc = a->v_cache;
    if (!kc || !vc || kc->ndim != 3 || kc->shape[0] != n_kv || kc->shape[2] != hd ||
        vc->ndim != 3 || vc->shape[0] != n_kv || vc->shape[1] != kc->shape[1] ||
        vc->shape[2] != hd || kc->dtype != vc->dtype ||
        (kc->dtype != MLXN_DTYPE_F16 && kc->dtype != MLXN_DTYPE_F32))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: caches must both be (n_kv, n_ctx, head_dim) in f16 or f32", op);
    if ((st = mlxn__op_check_dtype(enc, op, "positions", a->positions, MLXN_DTYPE_I32, -1)) ||
        (st = mlxn__op_check_dtype(enc, op, "pos", a->pos, MLXN_DTYPE_I32, -1)))
        return st;
    int n_rot = a->rope->n_rot ? a->rope->n_rot : (int)hd;
    if (mlxn_buffer_elems(a->positions) != t || mlxn_buffer_elems(a->pos) < 1 || n_rot < 2 ||
        n_rot % 2 || n_rot > hd || hd % 2 || n_rot / 2 > MLXN_ROPE_MAX_HALF || !t ||
        !(a->rope->theta_base > 0))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: positions must have n_tokens entries, n_rot %d must be even and at "
                          "most head_dim %lld",
                          op, n_rot, (long long)hd);
    if (a->freq_factors &&
        (a->freq_factors->dtype != MLXN_DTYPE_F32 || mlxn_buffer_elems(a->freq_factors) != n_rot / 2))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: freq_factors must be (n_rot/2) f32", op);
    mlxn_kernel *k;
    if ((st = mlxn__op_kernel(enc, &k, "rope_kv_%s", mlxn_dtype_name(kc->dtype))))
        return st;
    mlxn_rope_kv_kparams p = {0};
    p.n_tokens = (uint32_t)t;
    p.n_head = (uint32_t)n_head;
    p.n_kv = (uint32_t)n_kv;
    p.head_dim = (uint32_t)hd;
    p.n_rot = (uint32_t)n_rot;
    p.neox = a->rope->mode == MLXN_ROPE_NEOX;
    p.has_factors = a->freq_factors != NULL;
    p.n_ctx = (uint32_t)kc->shape[1];
    p.theta_base = a->rope->theta_base;
    p.freq_scale = a->rope->freq_scale;
    p.flags = a->stable_positions ? MLXN_ROPE_KV_STABLE_POSITIONS : 0;
    uint32_t pairs = (uint32_t)hd / 2, rows = (uint32_t)(n_head + 2 * n_kv);
    p.heads_per_block = pairs >= 256 ? 1 : 256 / pairs;
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_KV_WRITE);
    mlxn__op_buf(&l, a->q, 1, 1);
    mlxn__op_buf(&l, a->k, 1, 0);
    mlxn__op_buf(&l, a->v, 1, 0);
    mlxn__op_buf(&l, a->positions, 1, 0);
    mlxn__op_buf(&l, a->freq_factors ? a->freq_factors : a->positions, 1, 0);
    mlxn__op_buf(&l, a->pos, 1, 0);
    mlxn__op_buf(&l, a->k_cache, 0, 1);
    mlxn__op_buf(&l, a->v_cache, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    uint32_t threads = p.heads_per_block * pairs;
    l.block.x = threads >= 256 ? 256 : (threads + 31) / 32 * 32;
    l.grid.x = (uint32_t)t;
    l.grid.y = (rows + p.heads_per_block - 1) / p.heads_per_block;
    return mlxn__op_encode(enc, &l);
}
