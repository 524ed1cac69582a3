/*
 * attention_prefill.cu: causal attention of a chunk of queries over the
 * KV cache with an online softmax over key tiles (Dao, "FlashAttention-2",
 * 2023). Grid: (query tiles, query heads), the heaviest (last) query tiles
 * first. f16 caches use tensor cores (mma.sync m16n8k16: Q and the
 * probabilities rounded to f16, f32 accumulation); f32 caches use CUDA
 * cores in f32. K/V tiles stream through shared memory in a two-stage
 * cp.async pipeline.
 */
#include "attention_common.cuh"

#define PF_NT MLXN_ATTN_PREFILL_THREADS

/* Copy keys [kstart, kstart + BK) of K and V (zeros past kend) into a stage
 * of rows of ROWB bytes. */
template <typename T, int D, int BK, int ROWB>
__device__ __forceinline__ void pf_load(unsigned char *ks, const T *kb, const T *vb,
                                        int64_t kstart, int64_t kend)
{
    constexpr int CPR = D * (int)sizeof(T) / 16;
    unsigned char *vs = ks + BK * ROWB;
    for (int i = threadIdx.x; i < BK * CPR; i += PF_NT) {
        int r = i / CPR, ch = i % CPR;
        int64_t key = kstart + r;
        int ok = key < kend;
        uint64_t off = (uint64_t)(ok ? key : kstart) * D * sizeof(T) + (uint64_t)ch * 16;
        attn_cp_async16(ks + r * ROWB + ch * 16, (const unsigned char *)kb + off, ok ? 16 : 0);
        attn_cp_async16(vs + r * ROWB + ch * 16, (const unsigned char *)vb + off, ok ? 16 : 0);
    }
}

/* ---- f16 caches: tensor cores -------------------------------------------------------
 * 4 warps x 16 query rows. Per key tile: S = Q K^T (ldmatrix + mma), scale,
 * softcap and mask in registers, online softmax per row (a row's 4 lanes
 * reduce with shuffles), then O += P V with P taken straight from the S
 * accumulators as the A operand. */
template <int D>
__device__ void attn_prefill_f16(const float *q, const __half *kc, const __half *vc,
                                 const int32_t *posp, float *out, mlxn_attn_kparams p)
{
    extern __shared__ __align__(16) unsigned char smem[];
    MLXN_PDL_ENTER();
    constexpr int BQ = MLXN_ATTN_PREFILL_BQ_F16, BK = D <= 128 ? 64 : 32;
    constexpr int ROWH = D + 8, ROWB = 2 * ROWH; /* padded row: halves, bytes */
    constexpr int NTS = BK / 8, NTO = D / 8;
    __half *qs = (__half *)smem;                      /* (BQ, ROWH) */
    unsigned char *tiles = smem + BQ * ROWB;          /* 2 x {K, V} x (BK, ROWB) */

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t4 = lane & 3;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ;
    const int nq = min(BQ, (int)p.n_tokens - q0);
    const uint32_t h = blockIdx.y, kvh = h / (p.n_heads / p.n_kv_heads);
    const int64_t pos = mlxn_attn_pos(posp);
    int64_t klo, khi;
    if (!pf_block_range(p, pos, q0, nq, &klo, &khi)) {
        pf_zero(out, p, q0, nq, h);
        return;
    }
    for (int i = tid; i < BQ * (D / 4); i += PF_NT) {
        int r = i / (D / 4), c = (i % (D / 4)) * 4;
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (r < nq)
            v = *(const float4 *)(q + ((uint64_t)(q0 + r) * p.n_heads + h) * D + c);
        __half2 *dst = (__half2 *)(qs + r * ROWH + c);
        dst[0] = __floats2half2_rn(v.x, v.y);
        dst[1] = __floats2half2_rn(v.z, v.w);
    }

    const __half *kb = kc + (uint64_t)kvh * p.n_ctx * D, *vb = vc + (uint64_t)kvh * p.n_ctx * D;
    const int n_tiles = (int)((khi - klo + BK) / BK);
    const int64_t qpa = pos + q0 + warp * 16 + g, qpb = qpa + 8; /* this lane's two rows */
    float o[NTO][4], m_r[2] = {-INFINITY, -INFINITY}, l_r[2] = {0.0f, 0.0f};
#pragma unroll
    for (int n = 0; n < NTO; n++)
        o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;

    pf_load<__half, D, BK, ROWB>(tiles, kb, vb, klo, khi + 1);
    attn_cp_commit();
    for (int t = 0; t < n_tiles; t++) {
        const int64_t kt = klo + (int64_t)t * BK;
        if (t + 1 < n_tiles)
            pf_load<__half, D, BK, ROWB>(tiles + ((t + 1) & 1) * 2 * BK * ROWB, kb, vb, kt + BK,
                                         khi + 1);
        attn_cp_commit();
        attn_cp_wait<1>();
        __syncthreads();
        const __half *ks = (const __half *)(tiles + (t & 1) * 2 * BK * ROWB);
        const __half *vs = ks + BK * ROWH;

        float s[NTS][4];
#pragma unroll
        for (int n = 0; n < NTS; n++)
            s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
            uint32_t a[4];
            attn_ldmatrix_x4(a, qs + (warp * 16 + (lane & 15)) * ROWH + kk * 16 + (lane >> 4) * 8);
#pragma unroll
            for (int n = 0; n < NTS; n += 2) {
                uint32_t b[4];
                attn_ldmatrix_x4(b, ks + (n * 8 + (lane >> 4) * 8 + (lane & 7)) * ROWH + kk * 16 +
                                        ((lane >> 3) & 1) * 8);
                attn_mma16816(s[n], a, b[0], b[1]);
                attn_mma16816(s[n + 1], a, b[2], b[3]);
            }
        }

        float mx[2] = {m_r[0], m_r[1]};
#pragma unroll
        for (int n = 0; n < NTS; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int64_t key = kt + n * 8 + t4 * 2 + (e & 1);
                float x = attn_softcap(s[n][e] * p.scale, p.softcap);
                x = pf_visible(key, (e >> 1) ? qpb : qpa, khi, p.window) ? x : -INFINITY;
                s[n][e] = x;
                mx[e >> 1] = fmaxf(mx[e >> 1], x);
            }
        float ref[2], alpha[2];
#pragma unroll
        for (int r = 0; r < 2; r++) {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
            ref[r] = mx[r] == -INFINITY ? 0.0f : mx[r]; /* a row with no key yet */
            alpha[r] = __expf(m_r[r] - ref[r]);
            m_r[r] = mx[r];
            l_r[r] *= alpha[r];
        }
#pragma unroll
        for (int n = 0; n < NTS; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                s[n][e] = __expf(s[n][e] - ref[e >> 1]);
                l_r[e >> 1] += s[n][e];
            }
#pragma unroll
        for (int n = 0; n < NTO; n++) {
            o[n][0] *= alpha[0];
            o[n][1] *= alpha[0];
            o[n][2] *= alpha[1];
            o[n][3] *= alpha[1];
        }
#pragma unroll
        for (int kk = 0; kk < BK / 16; kk++) {
            uint32_t a[4];
            a[0] = attn_pack_half2(s[2 * kk][0], s[2 * kk][1]);
            a[1] = attn_pack_half2(s[2 * kk][2], s[2 * kk][3]);
            a[2] = attn_pack_half2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            a[3] = attn_pack_half2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
            for (int n = 0; n < NTO; n += 2) {
                uint32_t b[4];
                attn_ldmatrix_x4_trans(b, vs + (kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7)) * ROWH +
                                              n * 8 + (lane >> 4) * 8);
                attn_mma16816(o[n], a, b[0], b[1]);
                attn_mma16816(o[n + 1], a, b[2], b[3]);
            }
        }
        __syncthreads();
    }
    attn_cp_wait<0>();

    float inv[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        l_r[r] += __shfl_xor_sync(0xffffffffu, l_r[r], 1);
        l_r[r] += __shfl_xor_sync(0xffffffffu, l_r[r], 2);
        inv[r] = l_r[r] > 0.0f ? 1.0f / l_r[r] : 0.0f;
    }
    const int ra = warp * 16 + g, rb = ra + 8;
    float *oa = out + ((uint64_t)(q0 + ra) * p.n_heads + h) * D + t4 * 2;
    float *ob = out + ((uint64_t)(q0 + rb) * p.n_heads + h) * D + t4 * 2;
#pragma unroll
    for (int n = 0; n < NTO; n++) {
        if (ra < nq)
            *(float2 *)(oa + n * 8) = make_float2(o[n][0] * inv[0], o[n][1] * inv[0]);
        if (rb < nq)
            *(float2 *)(ob + n * 8) = make_float2(o[n][2] * inv[1], o[n][3] * inv[1]);
    }
}

/* ---- f32 caches: CUDA cores ----------------------------------------------------------
 * 4 warps x 4 query rows. Per key tile: lane = key for the scores (K rows
 * from padded shared memory, Q broadcast), a row's softmax inside its warp,
 * then lane = output dim for O += P V. Only the K/V tiles are shared
 * between warps. */
template <int D>
__device__ void attn_prefill_f32(const float *q, const float *kc, const float *vc,
                                 const int32_t *posp, float *out, mlxn_attn_kparams p)
{
    extern __shared__ __align__(16) unsigned char smem[];
    MLXN_PDL_ENTER();
    constexpr int BQ = MLXN_ATTN_PREFILL_BQ_F32, BK = MLXN_ATTN_PREFILL_BK_F32;
    constexpr int NW = PF_NT / 32, RPW = BQ / NW, ROWB = D * 4 + 16, CPR = D / 4;
    constexpr int DPL = (D + 31) / 32;
    unsigned char *tiles = smem;                          /* 2 x {K, V} x (BK, ROWB) */
    float *sq = (float *)(smem + 4 * BK * ROWB);          /* (BQ, D) scaled q */
    float *ps = sq + BQ * D;                              /* (BQ, BK) probabilities */

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
    for (int i = tid; i < BQ * D; i += PF_NT) {
        int r = i / D, d = i % D;
        sq[i] = r < nq ? q[((uint64_t)(q0 + r) * p.n_heads + h) * D + d] * p.scale : 0.0f;
    }

    const float *kb = kc + (uint64_t)kvh * p.n_ctx * D, *vb = vc + (uint64_t)kvh * p.n_ctx * D;
    const int n_tiles = (int)((khi - klo + BK) / BK);
    float m_r[RPW], l_r[RPW], acc[RPW][DPL];
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        m_r[i] = -INFINITY;
        l_r[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < DPL; c++)
            acc[i][c] = 0.0f;
    }

    pf_load<float, D, BK, ROWB>(tiles, kb, vb, klo, khi + 1);
    attn_cp_commit();
    for (int t = 0; t < n_tiles; t++) {
        const int64_t kt = klo + (int64_t)t * BK;
        if (t + 1 < n_tiles)
            pf_load<float, D, BK, ROWB>(tiles + ((t + 1) & 1) * 2 * BK * ROWB, kb, vb, kt + BK,
                                        khi + 1);
        attn_cp_commit();
        attn_cp_wait<1>();
        __syncthreads();
        const unsigned char *ks = tiles + (t & 1) * 2 * BK * ROWB, *vs = ks + BK * ROWB;

        float sc[RPW];
#pragma unroll
        for (int i = 0; i < RPW; i++)
            sc[i] = 0.0f;
        for (int ch = 0; ch < CPR; ch++) {
            float4 kv = *(const float4 *)(ks + lane * ROWB + ch * 16);
#pragma unroll
            for (int i = 0; i < RPW; i++) {
                float4 qv = *(const float4 *)(sq + (warp * RPW + i) * D + ch * 4);
                sc[i] += qv.x * kv.x + qv.y * kv.y + qv.z * kv.z + qv.w * kv.w;
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
            float ref = mx == -INFINITY ? 0.0f : mx;
            float e = __expf(x - ref);
            alpha[i] = __expf(m_r[i] - ref);
            l_r[i] = l_r[i] * alpha[i] + mlxn_warp_sum(e);
            m_r[i] = mx;
            ps[r * BK + lane] = e;
        }
        __syncwarp();
#pragma unroll
        for (int c = 0; c < DPL; c++) {
            int d = lane + 32 * c;
            if (d < D) {
#pragma unroll
                for (int i = 0; i < RPW; i++)
                    acc[i][c] *= alpha[i];
#pragma unroll 4
                for (int j = 0; j < BK; j++) {
                    float v = *(const float *)(vs + j * ROWB + d * 4);
#pragma unroll
                    for (int i = 0; i < RPW; i++)
                        acc[i][c] += ps[(warp * RPW + i) * BK + j] * v;
                }
            }
        }
        __syncthreads();
    }
    attn_cp_wait<0>();

#pragma unroll
    for (int i = 0; i < RPW; i++) {
        int r = warp * RPW + i;
        float inv = l_r[i] > 0.0f ? 1.0f / l_r[i] : 0.0f;
        if (r < nq) {
#pragma unroll
            for (int c = 0; c < DPL; c++) {
                int d = lane + 32 * c;
                if (d < D)
                    out[((uint64_t)(q0 + r) * p.n_heads + h) * D + d] = acc[i][c] * inv;
            }
        }
    }
}

/* args: q, k_cache, v_cache, pos, out, mlxn_attn_kparams */
MLXN_KERNEL(attn_prefill_f16_d64)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_f16<64>(q, k, v, pos, out, p); }
MLXN_KERNEL(attn_prefill_f16_d80)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_f16<80>(q, k, v, pos, out, p); }
MLXN_KERNEL(attn_prefill_f16_d96)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_f16<96>(q, k, v, pos, out, p); }
MLXN_KERNEL(attn_prefill_f16_d128)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_f16<128>(q, k, v, pos, out, p); }
MLXN_KERNEL(attn_prefill_f16_d256)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_f16<256>(q, k, v, pos, out, p); }
MLXN_KERNEL(attn_prefill_f32_d64)(const float *q, const float *k, const float *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_f32<64>(q, k, v, pos, out, p); }
MLXN_KERNEL(attn_prefill_f32_d80)(const float *q, const float *k, const float *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_f32<80>(q, k, v, pos, out, p); }
MLXN_KERNEL(attn_prefill_f32_d96)(const float *q, const float *k, const float *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_f32<96>(q, k, v, pos, out, p); }
MLXN_KERNEL(attn_prefill_f32_d128)(const float *q, const float *k, const float *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_f32<128>(q, k, v, pos, out, p); }
MLXN_KERNEL(attn_prefill_f32_d256)(const float *q, const float *k, const float *v, const int32_t *pos, float *out, mlxn_attn_kparams p) { attn_prefill_f32<256>(q, k, v, pos, out, p); }
