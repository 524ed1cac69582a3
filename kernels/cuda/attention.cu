/*
 * attention.cu: the KV-cache write and split-K decode attention
 * (flash-decoding) with its combine kernel. Prefill is in
 * attention_prefill.cu.
 *
 * Decode: the grid is (n_splits, n_kv_heads * head_batches), fixed for a
 * cache size; each block reads the position, derives its chunk of the key
 * range and streams that chunk of K and V once through shared memory (a
 * cp.async pipeline of 32-key tiles) for up to 8 query heads of one KV head
 * (grouped-query attention), keeping an online softmax per head. It writes
 * the chunk's unnormalised output, maximum and sum of exponentials to
 * scratch; attn_decode_combine rescales and sums the chunks per head.
 * Follows Dao et al., "Flash-Decoding for long-context inference" (2023).
 */
#include "attention_common.cuh"

/* ---- KV cache write ------------------------------------------------------------ */
template <typename T>
__device__ void kv_write(const float *kv, const int32_t *posp, T *cache, mlxn_kv_write_kparams p)
{
    MLXN_PDL_ENTER();
    int64_t pos = mlxn_attn_pos(posp);
    uint64_t n = (uint64_t)p.n_tokens * p.n_kv_heads * p.head_dim;
    uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        uint64_t r = i / p.head_dim, d = i % p.head_dim;
        uint64_t t = r / p.n_kv_heads, h = r % p.n_kv_heads;
        int64_t row = pos + (int64_t)t;
        if (row >= (int64_t)p.n_ctx)
            continue;
        cache[((uint64_t)h * p.n_ctx + (uint64_t)row) * p.head_dim + d] = mlxn_from_f32<T>(kv[i]);
    }
}

/* args: kv, pos, cache, mlxn_kv_write_kparams */
MLXN_KERNEL(kv_write_f16)(const float *kv, const int32_t *pos, __half *cache, mlxn_kv_write_kparams p) { kv_write<__half>(kv, pos, cache, p); }
MLXN_KERNEL(kv_write_f32)(const float *kv, const int32_t *pos, float *cache, mlxn_kv_write_kparams p) { kv_write<float>(kv, pos, cache, p); }

/* ---- decode ---------------------------------------------------------------------- */
#define DEC_TK MLXN_ATTN_DECODE_TK
#define DEC_NT MLXN_ATTN_DECODE_THREADS
#define DEC_HB MLXN_ATTN_DECODE_HEADS
#define DEC_NW (DEC_NT / 32)

/* Copy keys [kstart, kstart + TK) of K and V (zeros past c1) into a stage. */
template <typename T, int D>
__device__ __forceinline__ void dec_load(unsigned char *ks, const T *kb, const T *vb,
                                         int64_t kstart, int64_t c1)
{
    constexpr int ROW = D * (int)sizeof(T) + 16, CPR = D * (int)sizeof(T) / 16;
    unsigned char *vs = ks + DEC_TK * ROW;
    for (int i = threadIdx.x; i < DEC_TK * CPR; i += DEC_NT) {
        int r = i / CPR, ch = i % CPR;
        int64_t key = kstart + r;
        int ok = key < c1;
        uint64_t off = (uint64_t)(ok ? key : kstart) * D * sizeof(T) + (uint64_t)ch * 16;
        attn_cp_async16(ks + r * ROW + ch * 16, (const unsigned char *)kb + off, ok ? 16 : 0);
        attn_cp_async16(vs + r * ROW + ch * 16, (const unsigned char *)vb + off, ok ? 16 : 0);
    }
}

template <typename T, int D>
__device__ void attn_decode(const float *q, const T *kc, const T *vc, const int32_t *posp,
                            float *scratch, mlxn_attn_kparams p)
{
    extern __shared__ __align__(16) unsigned char smem[];
    MLXN_PDL_ENTER();
    constexpr int ES = (int)sizeof(T), ROW = D * ES + 16, CPR = D * ES / 16, EPC = 16 / ES;
    constexpr int STAGES = 2 * DEC_TK * ROW <= 20480 ? 3 : 2;
    constexpr int DPT = (D + DEC_NT - 1) / DEC_NT, HPW = DEC_HB / DEC_NW;
    unsigned char *tiles = smem; /* STAGES x {K, V} x (TK, ROW bytes) */
    float *sq = (float *)(smem + STAGES * 2 * DEC_TK * ROW); /* (HB, D) scaled q */
    float *part = sq + DEC_HB * D;          /* (NW, HB, TK) partial scores */
    float *ps = part + DEC_NW * DEC_HB * DEC_TK; /* (TK, HB) probabilities */
    float *alpha = ps + DEC_TK * DEC_HB;    /* (HB) rescale factors */

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const uint32_t split = blockIdx.x, kvh = blockIdx.y / p.head_batches;
    const uint32_t group = p.n_heads / p.n_kv_heads;
    const uint32_t hl0 = (blockIdx.y % p.head_batches) * p.heads_per_block;
    if (hl0 >= group)
        return;
    const int nh = (int)min(p.heads_per_block, group - hl0);
    const uint32_t h0 = kvh * group + hl0;
    float *sm = scratch + mlxn_attn_scratch_m(&p), *sl = scratch + mlxn_attn_scratch_l(&p);
    int64_t c0, c1;
    mlxn_attn_split_range(&p, mlxn_attn_pos(posp), split, &c0, &c1);
    if (c0 >= c1) {
        if (tid < nh) {
            uint64_t at = (uint64_t)(h0 + tid) * p.n_splits + split;
            sm[at] = -INFINITY;
            sl[at] = 0.0f;
        }
        return;
    }
    for (int i = tid; i < DEC_HB * D; i += DEC_NT)
        sq[i] = i < nh * D ? q[(uint64_t)h0 * D + i] * p.scale : 0.0f;
    for (int i = tid; i < DEC_TK * DEC_HB; i += DEC_NT)
        ps[i] = 0.0f;

    const T *kb = kc + (uint64_t)kvh * p.n_ctx * D, *vb = vc + (uint64_t)kvh * p.n_ctx * D;
    const int n_tiles = (int)((c1 - c0 + DEC_TK - 1) / DEC_TK);
    float m_run[HPW], l_run[HPW], acc[DEC_HB][DPT];
#pragma unroll
    for (int k = 0; k < HPW; k++) {
        m_run[k] = -INFINITY;
        l_run[k] = 0.0f;
    }
#pragma unroll
    for (int h = 0; h < DEC_HB; h++)
#pragma unroll
        for (int i = 0; i < DPT; i++)
            acc[h][i] = 0.0f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < n_tiles)
            dec_load<T, D>(tiles + s * 2 * DEC_TK * ROW, kb, vb, c0 + (int64_t)s * DEC_TK, c1);
        attn_cp_commit();
    }
    for (int t = 0; t < n_tiles; t++) {
        attn_cp_wait<STAGES - 2>();
        __syncthreads();
        {
            int nt = t + STAGES - 1;
            if (nt < n_tiles)
                dec_load<T, D>(tiles + (nt % STAGES) * 2 * DEC_TK * ROW, kb, vb,
                               c0 + (int64_t)nt * DEC_TK, c1);
            attn_cp_commit();
        }
        const unsigned char *ks = tiles + (t % STAGES) * 2 * DEC_TK * ROW;
        const unsigned char *vs = ks + DEC_TK * ROW;
        const int64_t tile0 = c0 + (int64_t)t * DEC_TK;
        const int nvalid = (int)min((int64_t)DEC_TK, c1 - tile0);

        /* 1. partial scores: lane = key, warps split the 16-byte chunks */
        float sc[DEC_HB];
#pragma unroll
        for (int h = 0; h < DEC_HB; h++)
            sc[h] = 0.0f;
        for (int ch = warp; ch < CPR; ch += DEC_NW) {
            float kv[EPC];
            attn_load_chunk(ks + lane * ROW + ch * 16, kv, (const T *)0);
#pragma unroll
            for (int h = 0; h < DEC_HB; h++) {
                if (h < nh) {
                    const float4 *qq = (const float4 *)(sq + h * D + ch * EPC);
#pragma unroll
                    for (int e = 0; e < EPC / 4; e++) {
                        float4 qv = qq[e];
                        sc[h] += qv.x * kv[4 * e] + qv.y * kv[4 * e + 1] + qv.z * kv[4 * e + 2] +
                                 qv.w * kv[4 * e + 3];
                    }
                }
            }
        }
#pragma unroll
        for (int h = 0; h < DEC_HB; h++)
            if (h < nh)
                part[(warp * DEC_HB + h) * DEC_TK + lane] = sc[h];
        __syncthreads();

        /* 2. online softmax: warp w owns heads w, w + NW, ... */
#pragma unroll
        for (int k = 0; k < HPW; k++) {
            int h = warp + DEC_NW * k;
            if (h < nh) {
                float s = 0.0f;
#pragma unroll
                for (int w = 0; w < DEC_NW; w++)
                    s += part[(w * DEC_HB + h) * DEC_TK + lane];
                s = attn_softcap(s, p.softcap);
                if (lane >= nvalid)
                    s = -INFINITY;
                float mnew = fmaxf(m_run[k], attn_warp_max(s));
                float e = __expf(s - mnew), a = __expf(m_run[k] - mnew);
                l_run[k] = l_run[k] * a + mlxn_warp_sum(e);
                m_run[k] = mnew;
                ps[lane * DEC_HB + h] = e;
                if (lane == 0)
                    alpha[h] = a;
            }
        }
        __syncthreads();

        /* 3. acc = acc * alpha + P V: thread = output dim */
        float al[DEC_HB];
#pragma unroll
        for (int h = 0; h < DEC_HB; h++)
            al[h] = h < nh ? alpha[h] : 0.0f;
#pragma unroll
        for (int i = 0; i < DPT; i++) {
            int d = tid + i * DEC_NT;
            if (d < D) {
#pragma unroll
                for (int h = 0; h < DEC_HB; h++)
                    acc[h][i] *= al[h];
#pragma unroll 4
                for (int j = 0; j < DEC_TK; j++) {
                    float v = mlxn_to_f32(*(const T *)(vs + j * ROW + d * ES));
                    const float4 *pj = (const float4 *)(ps + j * DEC_HB);
#pragma unroll
                    for (int h4 = 0; h4 < DEC_HB / 4; h4++) {
                        float4 pp = pj[h4];
                        acc[4 * h4][i] += pp.x * v;
                        acc[4 * h4 + 1][i] += pp.y * v;
                        acc[4 * h4 + 2][i] += pp.z * v;
                        acc[4 * h4 + 3][i] += pp.w * v;
                    }
                }
            }
        }
    }
    attn_cp_wait<0>();

#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = tid + i * DEC_NT;
        if (d < D) {
#pragma unroll
            for (int h = 0; h < DEC_HB; h++)
                if (h < nh)
                    scratch[((uint64_t)(h0 + h) * p.n_splits + split) * D + d] = acc[h][i];
        }
    }
#pragma unroll
    for (int k = 0; k < HPW; k++) {
        int h = warp + DEC_NW * k;
        if (h < nh && lane == 0) {
            uint64_t at = (uint64_t)(h0 + h) * p.n_splits + split;
            sm[at] = m_run[k];
            sl[at] = l_run[k];
        }
    }
}

/* args: q, k_cache, v_cache, pos, scratch, mlxn_attn_kparams */
MLXN_KERNEL(attn_decode_f16_d64)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *scratch, mlxn_attn_kparams p) { attn_decode<__half, 64>(q, k, v, pos, scratch, p); }
MLXN_KERNEL(attn_decode_f16_d80)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *scratch, mlxn_attn_kparams p) { attn_decode<__half, 80>(q, k, v, pos, scratch, p); }
MLXN_KERNEL(attn_decode_f16_d96)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *scratch, mlxn_attn_kparams p) { attn_decode<__half, 96>(q, k, v, pos, scratch, p); }
MLXN_KERNEL(attn_decode_f16_d128)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *scratch, mlxn_attn_kparams p) { attn_decode<__half, 128>(q, k, v, pos, scratch, p); }
MLXN_KERNEL(attn_decode_f16_d256)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *scratch, mlxn_attn_kparams p) { attn_decode<__half, 256>(q, k, v, pos, scratch, p); }
MLXN_KERNEL(attn_decode_f32_d64)(const float *q, const float *k, const float *v, const int32_t *pos, float *scratch, mlxn_attn_kparams p) { attn_decode<float, 64>(q, k, v, pos, scratch, p); }
MLXN_KERNEL(attn_decode_f32_d80)(const float *q, const float *k, const float *v, const int32_t *pos, float *scratch, mlxn_attn_kparams p) { attn_decode<float, 80>(q, k, v, pos, scratch, p); }
MLXN_KERNEL(attn_decode_f32_d96)(const float *q, const float *k, const float *v, const int32_t *pos, float *scratch, mlxn_attn_kparams p) { attn_decode<float, 96>(q, k, v, pos, scratch, p); }
MLXN_KERNEL(attn_decode_f32_d128)(const float *q, const float *k, const float *v, const int32_t *pos, float *scratch, mlxn_attn_kparams p) { attn_decode<float, 128>(q, k, v, pos, scratch, p); }
MLXN_KERNEL(attn_decode_f32_d256)(const float *q, const float *k, const float *v, const int32_t *pos, float *scratch, mlxn_attn_kparams p) { attn_decode<float, 256>(q, k, v, pos, scratch, p); }

/* args: scratch, out, mlxn_attn_kparams. One block per query head:
 * out = sum_s w_s o_s / sum_s w_s l_s with w_s = exp(m_s - max m) over the
 * splits that saw keys (l_s > 0); zeros when none did. */
MLXN_KERNEL(attn_decode_combine)(const float *scratch, float *out, mlxn_attn_kparams p)
{
    __shared__ float w[MLXN_ATTN_MAX_SPLITS];
    __shared__ float red[32];
    MLXN_PDL_ENTER();
    const uint32_t h = blockIdx.x, ns = p.n_splits, d = p.head_dim;
    if (h >= p.n_heads)
        return;
    const float *sm = scratch + mlxn_attn_scratch_m(&p) + (uint64_t)h * ns;
    const float *sl = scratch + mlxn_attn_scratch_l(&p) + (uint64_t)h * ns;
    const float *so = scratch + (uint64_t)h * ns * d;
    float mx = -INFINITY;
    for (uint32_t s = threadIdx.x; s < ns; s += blockDim.x)
        if (sl[s] > 0.0f)
            mx = fmaxf(mx, sm[s]);
    mx = attn_block_max(mx, red);
    float tot = 0.0f;
    for (uint32_t s = threadIdx.x; s < ns; s += blockDim.x) {
        float ws = sl[s] > 0.0f ? __expf(sm[s] - mx) : 0.0f;
        w[s] = ws;
        tot += ws * sl[s];
    }
    tot = mlxn_block_sum(tot, red); /* its barriers also publish w */
    float inv = tot > 0.0f ? 1.0f / tot : 0.0f;
    for (uint32_t i = threadIdx.x; i < d; i += blockDim.x) {
        float acc = 0.0f;
        for (uint32_t s = 0; s < ns; s++)
            if (w[s] != 0.0f)
                acc += w[s] * so[(uint64_t)s * d + i];
        out[(uint64_t)h * d + i] = acc * inv;
    }
}
