/*
 * attention.c: the KV-cache write and the attention op (split-K decode
 * whose last block per row combines the splits, tiled prefill). Head dims
 * 64, 80, 96, 128 and 256 have specialised kernels; every other even head
 * dim up to 256 runs the *_generic kernels. See mlxn_ops.h for the math
 * and the shapes; kernels/params/attention.h for what the kernels share.
 */
#include "ops/op_util.h"
#include "params/attention.h"

#include <math.h>
#include <string.h>

_Static_assert(MLXN_ATTENTION_SCRATCH_COUNTER_BYTES == 4 * MLXN_ATTN_COUNTERS,
               "the public counter size matches the kernels'");

#define KV_WRITE_BLOCK 256
#define KV_WRITE_MAX_BLOCKS 4096

mlxn_attention_params mlxn_attention_params_default(void)
{
    mlxn_attention_params p = {0.0f, 0.0f, 0, 0};
    return p;
}

/* Head dims with specialised (templated) kernels. */
static int head_dim_specialised(int64_t d)
{
    return d == 64 || d == 80 || d == 96 || d == 128 || d == 256;
}

static int head_dim_supported(int64_t d)
{
    return d >= 2 && d <= MLXN_ATTN_GENERIC_MAX_DIM && d % 2 == 0;
}

size_t mlxn_attention_scratch_bytes(int n_tokens, int n_heads, int head_dim, int n_ctx)
{
    if (n_tokens != 1 || n_heads < 1 || head_dim < 1 || n_ctx < 1)
        return 0;
    return MLXN_ATTENTION_SCRATCH_COUNTER_BYTES +
           (size_t)n_heads * mlxn_attn_max_splits((uint32_t)n_ctx) * ((size_t)head_dim + 2) *
               sizeof(float);
}

/* Fail unless buf is 3-D; fills its dimensions. */
static mlxn_status check_3d(mlxn_encoder *enc, const char *op, const char *arg,
                            const mlxn_buffer *buf, int64_t dims[3])
{
    if (buf->ndim != 3)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: %s must be 3-D, it has %d dimensions", op, arg, buf->ndim);
    for (int i = 0; i < 3; i++)
        dims[i] = buf->shape[i];
    if (dims[0] < 1 || dims[1] < 1 || dims[2] < 1 || dims[0] > INT32_MAX ||
        dims[1] > INT32_MAX || dims[2] > INT32_MAX)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: %s has shape (%lld, %lld, %lld)", op, arg, (long long)dims[0],
                          (long long)dims[1], (long long)dims[2]);
    return MLXN_OK;
}

static mlxn_status check_align(mlxn_encoder *enc, const char *op, const char *arg,
                               const mlxn_buffer *buf, unsigned align)
{
    if (mlxn__buffer_addr(buf, 0) % align == 0)
        return MLXN_OK;
    return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                      "%s: %s must start %u-byte aligned (view offset %zu)", op, arg, align,
                      mlxn_buffer_offset(buf));
}

static mlxn_status check_pos(mlxn_encoder *enc, const char *op, const mlxn_buffer *pos)
{
    mlxn_status st = mlxn__op_check_dtype(enc, op, "pos", pos, MLXN_DTYPE_I32, -1);
    if (st != MLXN_OK)
        return st;
    if (mlxn_buffer_elems(pos) < 1)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: pos has no elements", op);
    return check_align(enc, op, "pos", pos, 4);
}

mlxn_status mlxn_op_kv_write(mlxn_encoder *enc, mlxn_buffer *kv, mlxn_buffer *pos,
                             mlxn_buffer *cache)
{
    const char *op = "kv_write";
    mlxn_device *dev = mlxn_encoder_device(enc);
    int64_t kd[3], cd[3];
    mlxn_status st;
    if ((st = mlxn__op_check_dtype(enc, op, "kv", kv, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "cache", cache, MLXN_DTYPE_F16, MLXN_DTYPE_F32,
                                   -1)) != MLXN_OK ||
        (st = check_pos(enc, op, pos)) != MLXN_OK ||
        (st = check_3d(enc, op, "kv", kv, kd)) != MLXN_OK ||
        (st = check_3d(enc, op, "cache", cache, cd)) != MLXN_OK ||
        (st = check_align(enc, op, "kv", kv, 4)) != MLXN_OK ||
        (st = check_align(enc, op, "cache", cache,
                          cache->dtype == MLXN_DTYPE_F16 ? 2 : 4)) != MLXN_OK)
        return st;
    if (kd[1] != cd[0] || kd[2] != cd[2])
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: kv (%lld, %lld, %lld) does not match cache (%lld, %lld, %lld):"
                          " expected (n_tokens, n_kv_heads, head_dim) and"
                          " (n_kv_heads, n_ctx, head_dim)",
                          op, (long long)kd[0], (long long)kd[1], (long long)kd[2],
                          (long long)cd[0], (long long)cd[1], (long long)cd[2]);
    mlxn_kernel *k;
    if ((st = mlxn__op_kernel(enc, &k, "kv_write_%s", mlxn_dtype_name(cache->dtype))) !=
        MLXN_OK)
        return st;
    mlxn_kv_write_kparams p = {(uint32_t)kd[0], (uint32_t)kd[1], (uint32_t)kd[2],
                               (uint32_t)cd[1]};
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_KV_WRITE);
    mlxn__op_buf(&l, kv, 1, 0);
    mlxn__op_buf(&l, pos, 1, 0);
    mlxn__op_buf(&l, cache, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.block.x = KV_WRITE_BLOCK;
    l.grid = mlxn__op_grid_1d((uint64_t)mlxn_buffer_elems(kv), KV_WRITE_BLOCK, 1,
                              KV_WRITE_MAX_BLOCKS);
    return mlxn__op_encode(enc, &l);
}

/* Validated shapes of an attention call. */
typedef struct attn_shape {
    int64_t n_tokens, n_heads, n_kv_heads, head_dim, n_ctx;
} attn_shape;

static mlxn_status check_attention(mlxn_encoder *enc, mlxn_buffer *q, mlxn_buffer *kc,
                                   mlxn_buffer *vc, mlxn_buffer *pos, mlxn_buffer *out,
                                   attn_shape *s)
{
    const char *op = "attention";
    mlxn_device *dev = mlxn_encoder_device(enc);
    int64_t qd[3], kd[3], vd[3], od[3];
    mlxn_status st;
    if ((st = mlxn__op_check_dtype(enc, op, "q", q, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "out", out, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "k_cache", kc, MLXN_DTYPE_F16, MLXN_DTYPE_F32,
                                   -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "v_cache", vc, (int)kc->dtype, -1)) != MLXN_OK ||
        (st = check_pos(enc, op, pos)) != MLXN_OK ||
        (st = check_3d(enc, op, "q", q, qd)) != MLXN_OK ||
        (st = check_3d(enc, op, "out", out, od)) != MLXN_OK ||
        (st = check_3d(enc, op, "k_cache", kc, kd)) != MLXN_OK ||
        (st = check_3d(enc, op, "v_cache", vc, vd)) != MLXN_OK ||
        (st = check_align(enc, op, "q", q, 16)) != MLXN_OK ||
        (st = check_align(enc, op, "out", out, 16)) != MLXN_OK ||
        (st = check_align(enc, op, "k_cache", kc, 16)) != MLXN_OK ||
        (st = check_align(enc, op, "v_cache", vc, 16)) != MLXN_OK)
        return st;
    if (od[0] != qd[0] || od[1] != qd[1] || od[2] != qd[2])
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: out must have q's shape", op);
    if (kd[0] != vd[0] || kd[1] != vd[1] || kd[2] != vd[2])
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: k_cache and v_cache must have one shape", op);
    if (kd[2] != qd[2] || qd[1] % kd[0])
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: q (%lld, %lld, %lld) and cache (%lld, %lld, %lld) do not match:"
                          " head_dim must agree and n_kv_heads must divide n_heads",
                          op, (long long)qd[0], (long long)qd[1], (long long)qd[2],
                          (long long)kd[0], (long long)kd[1], (long long)kd[2]);
    if (qd[1] > 65535)
        return mlxn__fail(dev, MLXN_ERR_UNSUPPORTED, "%s: %lld query heads (at most 65535)",
                          op, (long long)qd[1]);
    if (!head_dim_supported(qd[2]))
        return mlxn__fail(dev, MLXN_ERR_UNSUPPORTED,
                          "%s: head_dim %lld has no kernel (even, 2 to %d)", op,
                          (long long)qd[2], MLXN_ATTN_GENERIC_MAX_DIM);
    if (mlxn__buffer_addr(out, 0) < mlxn__buffer_addr(q, 0) + q->bytes &&
        mlxn__buffer_addr(q, 0) < mlxn__buffer_addr(out, 0) + out->bytes &&
        q->alloc == out->alloc)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: out must not overlap q", op);
    s->n_tokens = qd[0];
    s->n_heads = qd[1];
    s->n_kv_heads = kd[0];
    s->head_dim = qd[2];
    s->n_ctx = kd[1];
    return MLXN_OK;
}

/* Splits for decode: as many blocks as fit on the device at once (as many
 * per multiprocessor as fit in its 228 KiB of shared memory, 1 KiB
 * reserved per block, at most 4), rounded down so that every block runs
 * in the first wave with the same share of keys; never more than the
 * scratch holds. Depends on shapes and the device only; the
 * multiprocessor count is cached by the device, so this makes no driver
 * call. */
static uint32_t decode_splits(mlxn_device *dev, const mlxn_attn_kparams *p, uint32_t smem)
{
    uint32_t sms = (uint32_t)mlxn__device_multiprocessors(dev);
    uint32_t per_sm = (228u * 1024u) / (smem + 1024u);
    per_sm = per_sm < 1 ? 1 : per_sm > 4 ? 4 : per_sm;
    uint64_t rows = (uint64_t)p->n_kv_heads * p->head_batches;
    uint64_t want = (uint64_t)sms * per_sm / rows;
    uint32_t max = mlxn_attn_max_splits(p->n_ctx);
    return want < 1 ? 1 : want > max ? max : (uint32_t)want;
}

static mlxn_status encode_decode(mlxn_encoder *enc, mlxn_buffer *q, mlxn_buffer *kc,
                                 mlxn_buffer *vc, mlxn_buffer *pos, mlxn_buffer *scratch,
                                 mlxn_buffer *out, mlxn_attn_kparams *p)
{
    const char *op = "attention";
    mlxn_device *dev = mlxn_encoder_device(enc);
    size_t need = mlxn_attention_scratch_bytes(1, (int)p->n_heads, (int)p->head_dim,
                                               (int)p->n_ctx);
    if (!scratch || scratch->bytes < need)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: decode needs a scratch buffer of %zu bytes, got %zu", op, need,
                          scratch ? scratch->bytes : (size_t)0);
    mlxn_status st = check_align(enc, op, "scratch", scratch, 16);
    if (st != MLXN_OK)
        return st;
    int f16 = kc->dtype == MLXN_DTYPE_F16, special = head_dim_specialised(p->head_dim);
    uint32_t group = p->n_heads / p->n_kv_heads;
    uint32_t cap = f16 && special ? MLXN_ATTN_DECODE_HEADS_F16 : MLXN_ATTN_DECODE_HEADS;
    p->head_batches = (group + cap - 1) / cap;
    p->heads_per_block = (group + p->head_batches - 1) / p->head_batches;
    if ((uint64_t)p->n_kv_heads * p->head_batches > MLXN_ATTN_COUNTERS)
        return mlxn__fail(dev, MLXN_ERR_UNSUPPORTED,
                          "%s: decode of %u KV heads x %u head batches (at most %d)", op,
                          p->n_kv_heads, p->head_batches, MLXN_ATTN_COUNTERS);
    uint32_t es = f16 ? 2 : 4;
    uint32_t smem = !special ? mlxn_attn_decode_smem_generic(p->head_dim, es)
                    : f16    ? mlxn_attn_decode_smem_f16(p->head_dim)
                             : mlxn_attn_decode_smem(p->head_dim, es);
    p->n_splits = decode_splits(dev, p, smem);
    mlxn_kernel *kd;
    st = special ? mlxn__op_kernel(enc, &kd, "attn_decode_%s_d%u", mlxn_dtype_name(kc->dtype),
                                   p->head_dim)
                 : mlxn__op_kernel(enc, &kd, "attn_decode_%s_generic", mlxn_dtype_name(kc->dtype));
    if (st != MLXN_OK)
        return st;
    mlxn__op_launch l;
    mlxn__op_begin(&l, kd, MLXN_OP_ATTENTION);
    mlxn__op_buf(&l, q, 1, 0);
    mlxn__op_buf(&l, kc, 1, 0);
    mlxn__op_buf(&l, vc, 1, 0);
    mlxn__op_buf(&l, pos, 1, 0);
    mlxn__op_buf(&l, scratch, 1, 1);
    mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, p, sizeof *p);
    l.grid.x = p->n_splits;
    l.grid.y = p->n_kv_heads * p->head_batches;
    l.block.x = MLXN_ATTN_DECODE_THREADS;
    l.shared_bytes = smem;
    return mlxn__op_encode(enc, &l);
}

mlxn_status mlxn_op_attention(mlxn_encoder *enc, mlxn_buffer *q, mlxn_buffer *k_cache,
                              mlxn_buffer *v_cache, mlxn_buffer *pos,
                              const mlxn_attention_params *params, mlxn_buffer *scratch,
                              mlxn_buffer *out)
{
    const char *op = "attention";
    mlxn_device *dev = mlxn_encoder_device(enc);
    attn_shape s = {0, 0, 0, 0, 0};
    mlxn_status st = check_attention(enc, q, k_cache, v_cache, pos, out, &s);
    if (st != MLXN_OK)
        return st;
    mlxn_attention_params ap = params ? *params : mlxn_attention_params_default();
    if (!(ap.scale >= 0.0f) || !(ap.softcap >= 0.0f) || isinf(ap.scale) ||
        isinf(ap.softcap) || ap.window < 0)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: scale %g, softcap %g and window %d must be finite and >= 0",
                          op, (double)ap.scale, (double)ap.softcap, ap.window);
    mlxn_attn_kparams p;
    memset(&p, 0, sizeof p);
    p.n_tokens = (uint32_t)s.n_tokens;
    p.n_heads = (uint32_t)s.n_heads;
    p.n_kv_heads = (uint32_t)s.n_kv_heads;
    p.head_dim = (uint32_t)s.head_dim;
    p.n_ctx = (uint32_t)s.n_ctx;
    p.scale = ap.scale > 0.0f ? ap.scale : (float)(1.0 / sqrt((double)s.head_dim));
    p.softcap = ap.softcap;
    p.window = ap.window;
    p.flags = ap.stable_prefix ? MLXN_ATTN_STABLE_PREFIX : 0;
    if (s.n_tokens == 1)
        return encode_decode(enc, q, k_cache, v_cache, pos, scratch, out, &p);
    int f16 = k_cache->dtype == MLXN_DTYPE_F16, special = head_dim_specialised(p.head_dim);
    uint32_t bq = f16 && special ? MLXN_ATTN_PREFILL_BQ_F16 : MLXN_ATTN_PREFILL_BQ_F32;
    mlxn_kernel *k;
    const char *dn = mlxn_dtype_name(k_cache->dtype);
    st = special ? mlxn__op_kernel(enc, &k, "attn_prefill_%s_d%u", dn, p.head_dim)
                 : mlxn__op_kernel(enc, &k, "attn_prefill_%s_generic", dn);
    if (st != MLXN_OK)
        return st;
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_ATTENTION);
    mlxn__op_buf(&l, q, 1, 0);
    mlxn__op_buf(&l, k_cache, 1, 0);
    mlxn__op_buf(&l, v_cache, 1, 0);
    mlxn__op_buf(&l, pos, 1, 0);
    mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.grid.x = (p.n_tokens + bq - 1) / bq;
    l.grid.y = p.n_heads;
    l.block.x = MLXN_ATTN_PREFILL_THREADS;
    l.shared_bytes = !special ? mlxn_attn_prefill_smem_generic(p.head_dim, f16 ? 2 : 4)
                     : f16    ? mlxn_attn_prefill_smem_f16(p.head_dim)
                              : mlxn_attn_prefill_smem_f32(p.head_dim);
    return mlxn__op_encode(enc, &l);
}
