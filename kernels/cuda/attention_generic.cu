/*
 * attention_generic.cu: decode and prefill attention for any even head
 * dim up to 256 (the head dims without a specialised kernel, e.g. 8 in
 * the tiny Llama oracle, 48, 72, 200), f16 or f32 caches, on CUDA cores
 * with f32 arithmetic. head_dim is read from the parameters at run time.
 *
 * Same algorithms, grids and scratch contract as the specialised kernels
 * (attention.cu, attention_prefill.cu): split-K decode with the combine in
 * the last block of each row, prefill with an online softmax over key
 * tiles. K/V tiles of 32 keys are contiguous in the cache; they are copied
 * into shared memory 4 bytes at a time (rows are only 4-byte aligned for
 * an even head dim) into rows padded to an odd number of words, in a
 * two-stage cp.async pipeline. Scores: lane = key, the head dim walked in
 * pairs. P V: thread (decode) or lane (prefill) = output dim.
 */
#include "attention_common.cuh"

#define GEN_TK MLXN_ATTN_GENERIC_TK
#define GEN_NT MLXN_ATTN_DECODE_THREADS
#define GEN_NW (GEN_NT / 32)
#define GEN_HB MLXN_ATTN_DECODE_HEADS

/* Copy keys [kstart, kstart + GEN_TK) of K and V (zeros past kend) into
 * rows of s words; a cache row is w words. */
__device__ __forceinline__ void gen_load(uint32_t *ks, const uint32_t *kb, const uint32_t *vb,
                                         int64_t kstart, int64_t kend, int w, int s)
{
    uint32_t *vs = ks + GEN_TK * s;
    for (int i = threadIdx.x; i < GEN_TK * w; i += GEN_NT) {
        int r = i / w, c = i - r * w;
        int64_t key = kstart + r;
        int ok = key < kend;
        uint64_t off = (uint64_t)(ok ? key : kstart) * w + c;
        attn_cp_async4(ks + r * s + c, kb + off, ok ? 4 : 0);
        attn_cp_async4(vs + r * s + c, vb + off, ok ? 4 : 0);
    }
}

/* Elements 2i and 2i + 1 of a shared-memory row, as floats. */
__device__ __forceinline__ float2 gen_pair(const uint32_t *row, int i, const __half *)
{
    return __half22float2(*(const __half2 *)(row + i));
}
__device__ __forceinline__ float2 gen_pair(const uint32_t *row, int i, const float *)
{
    return make_float2(__uint_as_float(row[2 * i]), __uint_as_float(row[2 * i + 1]));
}

/* Element d of a shared-memory row, as a float. */
__device__ __forceinline__ float gen_elem(const uint32_t *row, int d, const __half *)
{
    return __half2float(((const __half *)row)[d]);
}
__device__ __forceinline__ float gen_elem(const uint32_t *row, int d, const float *)
{
    return __uint_as_float(row[d]);
}

/* ---- decode ---------------------------------------------------------------------- */
/* One chunk of keys for up to 8 heads: warp w sums the pairs w, w + 4, ...
 * of every key's score (partial sums meet in shared memory), keeps the
 * softmax of heads w and w + 4, then thread = output dim for P V. */
template <typename T>
__device__ void gen_dec_body(const dec_job &j, const float *q, const T *kc, const T *vc,
                             float *scratch, const mlxn_attn_kparams &p, unsigned char *smem)
{
    constexpr int HPW = GEN_HB / GEN_NW, DPT = MLXN_ATTN_GENERIC_MAX_DIM / GEN_NT;
    const int d = (int)p.head_dim, w = d * (int)sizeof(T) / 4;
    const int s = (int)mlxn_attn_generic_row_words(p.head_dim, sizeof(T)), np = d / 2;
    uint32_t *tiles = (uint32_t *)smem;          /* 2 x {K, V} x (TK, s words) */
    float *sq = (float *)(tiles + 4 * GEN_TK * s); /* (HB, d) scaled q */
    float *part = sq + GEN_HB * d;               /* (NW, HB, TK) partial scores */
    float *ps = part + GEN_NW * GEN_HB * GEN_TK;  /* (TK, HB) probabilities */
    float *alpha = ps + GEN_TK * GEN_HB;          /* (HB) rescale factors */

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nh = j.nh;
    const uint64_t head_off = (uint64_t)j.kvh * p.n_ctx * d;
    const uint32_t *kb = (const uint32_t *)(kc + head_off), *vb = (const uint32_t *)(vc + head_off);
    const int n_tiles = (int)((j.c1 - j.c0 + GEN_TK - 1) / GEN_TK);
    gen_load(tiles, kb, vb, j.c0, j.c1, w, s);
    attn_cp_commit();
    for (int i = tid; i < GEN_HB * d; i += GEN_NT)
        sq[i] = i < nh * d ? q[(uint64_t)j.h0 * d + i] * p.scale : 0.0f;
    for (int i = tid; i < GEN_TK * GEN_HB; i += GEN_NT)
        ps[i] = 0.0f;

    float m_run[HPW], l_run[HPW], acc[GEN_HB][DPT];
#pragma unroll
    for (int k = 0; k < HPW; k++) {
        m_run[k] = -INFINITY;
        l_run[k] = 0.0f;
    }
#pragma unroll
    for (int h = 0; h < GEN_HB; h++)
#pragma unroll
        for (int i = 0; i < DPT; i++)
            acc[h][i] = 0.0f;

    for (int t = 0; t < n_tiles; t++) {
        if (t + 1 < n_tiles)
            gen_load(tiles + ((t + 1) & 1) * 2 * GEN_TK * s, kb, vb,
                     j.c0 + (int64_t)(t + 1) * GEN_TK, j.c1, w, s);
        attn_cp_commit();
        attn_cp_wait<1>();
        __syncthreads();
        const uint32_t *ks = tiles + (t & 1) * 2 * GEN_TK * s, *vs = ks + GEN_TK * s;
        const int nvalid = (int)min((int64_t)GEN_TK, j.c1 - j.c0 - (int64_t)t * GEN_TK);

        /* 1. partial scores: lane = key, warps split the pairs */
        float sc[GEN_HB];
#pragma unroll
        for (int h = 0; h < GEN_HB; h++)
            sc[h] = 0.0f;
        for (int i = warp; i < np; i += GEN_NW) {
            float2 kv = gen_pair(ks + lane * s, i, (const T *)0);
#pragma unroll
            for (int h = 0; h < GEN_HB; h++)
                if (h < nh) {
                    float2 qv = *(const float2 *)(sq + h * d + 2 * i);
                    sc[h] += qv.x * kv.x + qv.y * kv.y;
                }
        }
#pragma unroll
        for (int h = 0; h < GEN_HB; h++)
            if (h < nh)
                part[(warp * GEN_HB + h) * GEN_TK + lane] = sc[h];
        __syncthreads();

        /* 2. online softmax: warp w owns heads w, w + NW */
#pragma unroll
        for (int k = 0; k < HPW; k++) {
            int h = warp + GEN_NW * k;
            if (h < nh) {
                float x = 0.0f;
#pragma unroll
                for (int v = 0; v < GEN_NW; v++)
                    x += part[(v * GEN_HB + h) * GEN_TK + lane];
                x = attn_softcap(x, p.softcap);
                if (lane >= nvalid)
                    x = -INFINITY;
                float mnew = fmaxf(m_run[k], attn_warp_max(x));
                float e = __expf(x - mnew), a = __expf(m_run[k] - mnew);
                l_run[k] = l_run[k] * a + mlxn_warp_sum(e);
                m_run[k] = mnew;
                ps[lane * GEN_HB + h] = e;
                if (lane == 0)
                    alpha[h] = a;
            }
        }
        __syncthreads();

        /* 3. acc = acc * alpha + P V: thread = output dim */
        float al[GEN_HB];
#pragma unroll
        for (int h = 0; h < GEN_HB; h++)
            al[h] = h < nh ? alpha[h] : 0.0f;
#pragma unroll
        for (int i = 0; i < DPT; i++) {
            int dd = tid + i * GEN_NT;
            if (dd < d) {
#pragma unroll
                for (int h = 0; h < GEN_HB; h++)
                    acc[h][i] *= al[h];
#pragma unroll 4
                for (int k = 0; k < GEN_TK; k++) {
                    float v = gen_elem(vs + k * s, dd, (const T *)0);
                    const float4 *pk = (const float4 *)(ps + k * GEN_HB);
#pragma unroll
                    for (int h4 = 0; h4 < GEN_HB / 4; h4++) {
                        float4 pp = pk[h4];
                        acc[4 * h4][i] += pp.x * v;
                        acc[4 * h4 + 1][i] += pp.y * v;
                        acc[4 * h4 + 2][i] += pp.z * v;
                        acc[4 * h4 + 3][i] += pp.w * v;
                    }
                }
            }
        }
        __syncthreads(); /* the stage and ps are rewritten next */
    }
    attn_cp_wait<0>();

    float *so = scratch + mlxn_attn_scratch_o(&p);
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int dd = tid + i * GEN_NT;
        if (dd < d) {
#pragma unroll
            for (int h = 0; h < GEN_HB; h++)
                if (h < nh)
                    so[((uint64_t)(j.h0 + h) * p.n_splits + j.split) * d + dd] = acc[h][i];
        }
    }
#pragma unroll
    for (int k = 0; k < HPW; k++) {
        int h = warp + GEN_NW * k;
        if (h < nh && lane == 0) {
            uint64_t at = (uint64_t)(j.h0 + h) * p.n_splits + j.split;
            scratch[mlxn_attn_scratch_m(&p) + at] = m_run[k];
            scratch[mlxn_attn_scratch_l(&p) + at] = l_run[k];
        }
    }
}

template <typename T>
__device__ void attn_decode_generic(const float *q, const T *kc, const T *vc, const int32_t *posp,
                                    float *scratch, float *out, mlxn_attn_kparams p)
{
    extern __shared__ __align__(16) unsigned char smem[];
    MLXN_PDL_ENTER();
    dec_job j;
    if (!dec_setup(j, posp, p))
        return;
    if (j.c0 < j.c1)
        gen_dec_body<T>(j, q, kc, vc, scratch, p, smem);
    else
        dec_empty(j, scratch, p);
    dec_finish<8>(j, scratch, out, p);
}

/* args: q, k_cache, v_cache, pos, scratch, out, mlxn_attn_kparams */
MLXN_KERNEL(attn_decode_f16_generic)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { attn_decode_generic<__half>(q, k, v, pos, scratch, out, p); }
MLXN_KERNEL(attn_decode_f32_generic)(const float *q, const float *k, const float *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { attn_decode_generic<float>(q, k, v, pos, scratch, out, p); }

/* ---- prefill --------------------------------------------------------------------- */
/* 4 warps x 4 query rows of one head (16 rows per block), heaviest row
 * tiles first. Per key tile: lane = key for the scores (Q broadcast from
 * shared memory), a row's softmax inside its warp, then lane = output dim
 * for O += P V. */
template <typename T>
__device__ void attn_prefill_generic(const float *q, const T *kc, const T *vc, const int32_t *posp,
                                     float *out, mlxn_attn_kparams p)
{
    extern __shared__ __align__(16) unsigned char smem[];
    MLXN_PDL_ENTER();
    constexpr int BQ = MLXN_ATTN_PREFILL_BQ_F32, BK = GEN_TK, RPW = BQ / GEN_NW;
    constexpr int DPL = MLXN_ATTN_GENERIC_MAX_DIM / 32;
    const int d = (int)p.head_dim, w = d * (int)sizeof(T) / 4;
    const int s = (int)mlxn_attn_generic_row_words(p.head_dim, sizeof(T)), np = d / 2;
    uint32_t *tiles = (uint32_t *)smem;          /* 2 x {K, V} x (BK, s words) */
    float *sq = (float *)(tiles + 4 * BK * s);    /* (BQ, d) scaled q */
    float *ps = sq + BQ * d;                     /* (BQ, BK) probabilities */

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ;
    const int nq = min(BQ, (int)p.n_tokens - q0);
    const uint32_t h = blockIdx.y, kvh = h / (p.n_heads / p.n_kv_heads);
    const int64_t pos = mlxn_attn_pos(posp);
    int64_t klo, khi;
    if (!pf_block_range(p, pos, q0, nq, &klo, &khi)) {
        pf_zero(out, p, q0, nq, h);
        return;
    }
    const uint64_t head_off = (uint64_t)kvh * p.n_ctx * d;
    const uint32_t *kb = (const uint32_t *)(kc + head_off), *vb = (const uint32_t *)(vc + head_off);
    const int n_tiles = (int)((khi - klo + BK) / BK);
    gen_load(tiles, kb, vb, klo, khi + 1, w, s);
    attn_cp_commit();
    for (int i = tid; i < BQ * d; i += GEN_NT) {
        int r = i / d, dd = i - r * d;
        sq[i] = r < nq ? q[((uint64_t)(q0 + r) * p.n_heads + h) * d + dd] * p.scale : 0.0f;
    }

    float m_r[RPW], l_r[RPW], acc[RPW][DPL];
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        m_r[i] = -INFINITY;
        l_r[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < DPL; c++)
            acc[i][c] = 0.0f;
    }
    for (int t = 0; t < n_tiles; t++) {
        const int64_t kt = klo + (int64_t)t * BK;
        if (t + 1 < n_tiles)
            gen_load(tiles + ((t + 1) & 1) * 2 * BK * s, kb, vb, kt + BK, khi + 1, w, s);
        attn_cp_commit();
        attn_cp_wait<1>();
        __syncthreads();
        const uint32_t *ks = tiles + (t & 1) * 2 * BK * s, *vs = ks + BK * s;

        float sc[RPW];
#pragma unroll
        for (int i = 0; i < RPW; i++)
            sc[i] = 0.0f;
        for (int c = 0; c < np; c++) {
            float2 kv = gen_pair(ks + lane * s, c, (const T *)0);
#pragma unroll
            for (int i = 0; i < RPW; i++) {
                float2 qv = *(const float2 *)(sq + (warp * RPW + i) * d + 2 * c);
                sc[i] += qv.x * kv.x + qv.y * kv.y;
            }
        }
        const int64_t key = kt + lane;
        float alpha[RPW];
#pragma unroll
        for (int i = 0; i < RPW; i++) {
            int r = warp * RPW + i;
            float x = attn_softcap(sc[i], p.softcap);
            x = pf_visible(key, pos + q0 + r, khi, p.window) ? x : -INFINITY;
            float mx = fmaxf(m_r[i], attn_warp_max(x));
            float ref = mx == -INFINITY ? 0.0f : mx; /* a row with no key yet */
            float e = __expf(x - ref);
            alpha[i] = __expf(m_r[i] - ref);
            l_r[i] = l_r[i] * alpha[i] + mlxn_warp_sum(e);
            m_r[i] = mx;
            ps[r * BK + lane] = e;
        }
        __syncwarp();
#pragma unroll
        for (int c = 0; c < DPL; c++) {
            int dd = lane + 32 * c;
            if (dd < d) {
#pragma unroll
                for (int i = 0; i < RPW; i++)
                    acc[i][c] *= alpha[i];
#pragma unroll 4
                for (int k = 0; k < BK; k++) {
                    float v = gen_elem(vs + k * s, dd, (const T *)0);
#pragma unroll
                    for (int i = 0; i < RPW; i++)
                        acc[i][c] += ps[(warp * RPW + i) * BK + k] * v;
                }
            }
        }
        __syncthreads(); /* the stage is rewritten next */
    }
    attn_cp_wait<0>();

#pragma unroll
    for (int i = 0; i < RPW; i++) {
        int r = warp * RPW + i;
        float inv = l_r[i] > 0.0f ? 1.0f / l_r[i] : 0.0f;
        if (r < nq) {
#pragma unroll
            for (int c = 0; c < DPL; c++) {
                int dd = lane + 32 * c;
                if (dd < d)
                    out[((uint64_t)(q0 + r) * p.n_heads + h) * d + dd] = acc[i][c] * inv;
            }
        }
    }
}

/* args: q, k_cache, v_cache, pos, out, mlxn_attn_kparams */
MLXN_KERNEL(attn_prefill_f16_generic)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_generic<__half>(q, k, v, pos, out, p); }
MLXN_KERNEL(attn_prefill_f32_generic)(const float *q, const float *k, const float *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_generic<float>(q, k, v, pos, out, p); }
