/*
 * attention.c: CPU kernels of the KV-cache write and attention: one generic
 * implementation behind every dtype and head-dim name (the specialised
 * ones and *_generic). Decode writes the same per-split partial softmax to
 * scratch as the CUDA kernel, then merges the splits into the output as
 * the CUDA kernel's last block does (the arrival counters are not needed
 * and stay untouched); prefill runs an online softmax per query row.
 * Scores and sums are f32 (dot products accumulate in f64).
 */
#include "cpu/cpu_kernel.h"
#include "params/half.h"
#include "params/attention.h"

/* ---- KV cache write ------------------------------------------------------------ */
typedef struct kvw_job {
    const float *kv; /* (n_tokens, n_kv_heads, head_dim) */
    void *cache;     /* (n_kv_heads, n_ctx, head_dim) f16 or f32 */
    int f16;
    int64_t pos;
    mlxn_kv_write_kparams p;
} kvw_job;

static void kvw_rows(void *arg, int64_t begin, int64_t end)
{
    const kvw_job *j = arg;
    uint32_t d = j->p.head_dim;
    for (int64_t r = begin; r < end; r++) { /* r = t * n_kv_heads + h */
        int64_t t = r / j->p.n_kv_heads, h = r % j->p.n_kv_heads;
        int64_t row = j->pos + t;
        if (row >= j->p.n_ctx)
            continue;
        const float *src = j->kv + (uint64_t)r * d;
        uint64_t dst = ((uint64_t)h * j->p.n_ctx + (uint64_t)row) * d;
        for (uint32_t i = 0; i < d; i++) {
            if (j->f16)
                ((uint16_t *)j->cache)[dst + i] = mlxn__f32_to_f16(src[i]);
            else
                ((float *)j->cache)[dst + i] = src[i];
        }
    }
}

static void kv_write(mlxn__cpu_ctx *ctx, void **args, int f16)
{
    kvw_job j;
    j.kv = MLXN_ARG_PTR(const float, 0);
    j.pos = mlxn_attn_pos(MLXN_ARG_PTR(const int32_t, 1));
    j.cache = MLXN_ARG_PTR(void, 2);
    j.p = MLXN_ARG_VAL(mlxn_kv_write_kparams, 3);
    j.f16 = f16;
    mlxn__cpu_parallel_for(ctx, (int64_t)j.p.n_tokens * j.p.n_kv_heads, 64, kvw_rows, &j);
}

/* args: kv, pos, cache, mlxn_kv_write_kparams */
MLXN_CPU_KERNEL(kv_write_f16) { kv_write(ctx, args, 1); }
MLXN_CPU_KERNEL(kv_write_f32) { kv_write(ctx, args, 0); }

/* ---- attention ------------------------------------------------------------------- */
typedef struct attn_job {
    const float *q;        /* (n_tokens, n_heads, head_dim) */
    const void *k, *v;     /* (n_kv_heads, n_ctx, head_dim) f16 or f32 */
    int f16;
    int64_t pos;
    float *scratch;        /* decode partials, see params/attention.h */
    float *out;            /* (n_tokens, n_heads, head_dim) f32 */
    mlxn_attn_kparams p;
} attn_job;

static float cache_at(const attn_job *j, const void *c, uint64_t i)
{
    return j->f16 ? mlxn__f16_to_f32(((const uint16_t *)c)[i]) : ((const float *)c)[i];
}

/* Online softmax of query q over keys [c0, c1) of KV head kvh: *m is the
 * largest score, *l the sum of exp(s - *m), o (head_dim) the sum of
 * exp(s - *m) * v. Empty ranges give *m = -inf, *l = 0, o = 0. */
static void attend(const attn_job *j, const float *q, uint32_t kvh, int64_t c0, int64_t c1,
                   float *m, float *l, float *o)
{
    uint32_t d = j->p.head_dim;
    float mm = -INFINITY, ll = 0.0f;
    for (uint32_t i = 0; i < d; i++)
        o[i] = 0.0f;
    for (int64_t key = c0; key < c1; key++) {
        uint64_t row = ((uint64_t)kvh * j->p.n_ctx + (uint64_t)key) * d;
        double dot = 0;
        for (uint32_t i = 0; i < d; i++)
            dot += (double)q[i] * cache_at(j, j->k, row + i);
        float s = (float)dot * j->p.scale;
        if (j->p.softcap > 0.0f)
            s = j->p.softcap * tanhf(s / j->p.softcap);
        if (s > mm) {
            float r = expf(mm - s);
            ll *= r;
            for (uint32_t i = 0; i < d; i++)
                o[i] *= r;
            mm = s;
        }
        float e = expf(s - mm);
        ll += e;
        for (uint32_t i = 0; i < d; i++)
            o[i] += e * cache_at(j, j->v, row + i);
    }
    *m = mm;
    *l = ll;
}

/* Decode: item = (head batch row y, split s), as the CUDA grid. */
static void decode_items(void *arg, int64_t begin, int64_t end)
{
    const attn_job *j = arg;
    const mlxn_attn_kparams *p = &j->p;
    uint32_t d = p->head_dim, group = p->n_heads / p->n_kv_heads;
    float *sm = j->scratch + mlxn_attn_scratch_m(p), *sl = j->scratch + mlxn_attn_scratch_l(p);
    float *so = j->scratch + mlxn_attn_scratch_o(p);
    for (int64_t it = begin; it < end; it++) {
        uint32_t y = (uint32_t)(it / p->n_splits), s = (uint32_t)(it % p->n_splits);
        uint32_t kvh = y / p->head_batches, hb = y % p->head_batches;
        int64_t c0, c1;
        mlxn_attn_split_range(p, j->pos, s, &c0, &c1);
        for (uint32_t hh = hb * p->heads_per_block;
             hh < group && hh < (hb + 1) * p->heads_per_block; hh++) {
            uint32_t h = kvh * group + hh;
            uint64_t at = (uint64_t)h * p->n_splits + s;
            attend(j, j->q + (uint64_t)h * d, kvh, c0, c1, &sm[at], &sl[at], so + at * d);
        }
    }
}

static void attn_setup(attn_job *j, void **args, int f16, int decode)
{
    j->q = MLXN_ARG_PTR(const float, 0);
    j->k = MLXN_ARG_PTR(const void, 1);
    j->v = MLXN_ARG_PTR(const void, 2);
    j->pos = mlxn_attn_pos(MLXN_ARG_PTR(const int32_t, 3));
    j->scratch = decode ? MLXN_ARG_PTR(float, 4) : NULL;
    j->out = MLXN_ARG_PTR(float, decode ? 5 : 4);
    j->p = MLXN_ARG_VAL(mlxn_attn_kparams, decode ? 6 : 5);
    j->f16 = f16;
}

/* Combine: item = query head. out[h] = sum over splits with keys of
 * exp(m_s - M) * o_s / sum of exp(m_s - M) * l_s (zeros if none). */
static void combine_heads(void *arg, int64_t begin, int64_t end)
{
    const attn_job *j = arg;
    const mlxn_attn_kparams *p = &j->p;
    const float *sm = j->scratch + mlxn_attn_scratch_m(p), *sl = j->scratch + mlxn_attn_scratch_l(p);
    const float *so = j->scratch + mlxn_attn_scratch_o(p);
    uint32_t d = p->head_dim;
    for (int64_t h = begin; h < end; h++) {
        const uint64_t base = (uint64_t)h * p->n_splits;
        float mx = -INFINITY, total = 0.0f;
        for (uint32_t s = 0; s < p->n_splits; s++)
            if (sl[base + s] > 0.0f && sm[base + s] > mx)
                mx = sm[base + s];
        float *o = j->out + (uint64_t)h * d;
        for (uint32_t i = 0; i < d; i++)
            o[i] = 0.0f;
        for (uint32_t s = 0; s < p->n_splits; s++) {
            if (!(sl[base + s] > 0.0f))
                continue;
            float w = expf(sm[base + s] - mx);
            total += w * sl[base + s];
            for (uint32_t i = 0; i < d; i++)
                o[i] += w * so[(base + s) * d + i];
        }
        float inv = total > 0.0f ? 1.0f / total : 0.0f;
        for (uint32_t i = 0; i < d; i++)
            o[i] *= inv;
    }
}

static void decode(mlxn__cpu_ctx *ctx, void **args, int f16)
{
    attn_job j;
    attn_setup(&j, args, f16, 1);
    int64_t items = (int64_t)j.p.n_kv_heads * j.p.head_batches * j.p.n_splits;
    mlxn__cpu_parallel_for(ctx, items, 1, decode_items, &j);
    mlxn__cpu_parallel_for(ctx, j.p.n_heads, 1, combine_heads, &j);
}

/* args: q, k_cache, v_cache, pos, scratch, out, mlxn_attn_kparams */
MLXN_CPU_KERNEL(attn_decode_f16_d64) { decode(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_decode_f16_d80) { decode(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_decode_f16_d96) { decode(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_decode_f16_d128) { decode(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_decode_f16_d256) { decode(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_decode_f16_generic) { decode(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_decode_f32_d64) { decode(ctx, args, 0); }
MLXN_CPU_KERNEL(attn_decode_f32_d80) { decode(ctx, args, 0); }
MLXN_CPU_KERNEL(attn_decode_f32_d96) { decode(ctx, args, 0); }
MLXN_CPU_KERNEL(attn_decode_f32_d128) { decode(ctx, args, 0); }
MLXN_CPU_KERNEL(attn_decode_f32_d256) { decode(ctx, args, 0); }
MLXN_CPU_KERNEL(attn_decode_f32_generic) { decode(ctx, args, 0); }

/* Prefill: item = t * n_heads + h. */
static void prefill_rows(void *arg, int64_t begin, int64_t end)
{
    const attn_job *j = arg;
    uint32_t d = j->p.head_dim, group = j->p.n_heads / j->p.n_kv_heads;
    for (int64_t it = begin; it < end; it++) {
        int64_t t = it / j->p.n_heads;
        uint32_t h = (uint32_t)(it % j->p.n_heads);
        int64_t lo, hi;
        float m, l, *o = j->out + (uint64_t)it * d;
        if (!mlxn_attn_key_range(j->pos + t, j->p.n_ctx, j->p.window, &lo, &hi))
            lo = hi + 1;
        attend(j, j->q + (uint64_t)it * d, h / group, lo, hi + 1, &m, &l, o);
        float inv = l > 0.0f ? 1.0f / l : 0.0f;
        for (uint32_t i = 0; i < d; i++)
            o[i] *= inv;
    }
}

static void prefill(mlxn__cpu_ctx *ctx, void **args, int f16)
{
    attn_job j;
    attn_setup(&j, args, f16, 0);
    mlxn__cpu_parallel_for(ctx, (int64_t)j.p.n_tokens * j.p.n_heads, 1, prefill_rows, &j);
}

/* args: q, k_cache, v_cache, pos, out, mlxn_attn_kparams */
MLXN_CPU_KERNEL(attn_prefill_f16_d64) { prefill(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_prefill_f16_d80) { prefill(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_prefill_f16_d96) { prefill(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_prefill_f16_d128) { prefill(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_prefill_f16_d256) { prefill(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_prefill_f16_generic) { prefill(ctx, args, 1); }
MLXN_CPU_KERNEL(attn_prefill_f32_d64) { prefill(ctx, args, 0); }
MLXN_CPU_KERNEL(attn_prefill_f32_d80) { prefill(ctx, args, 0); }
MLXN_CPU_KERNEL(attn_prefill_f32_d96) { prefill(ctx, args, 0); }
MLXN_CPU_KERNEL(attn_prefill_f32_d128) { prefill(ctx, args, 0); }
MLXN_CPU_KERNEL(attn_prefill_f32_d256) { prefill(ctx, args, 0); }
MLXN_CPU_KERNEL(attn_prefill_f32_generic) { prefill(ctx, args, 0); }
