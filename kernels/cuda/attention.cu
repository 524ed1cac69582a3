/*
 * attention.cu: the KV-cache write and split-K decode attention
 * (flash-decoding) for the specialised head dims. Prefill is in
 * attention_prefill.cu, the kernels for any even head dim in
 * attention_generic.cu.
 *
 * Decode: the grid is (n_splits, n_kv_heads * head_batches), fixed for a
 * cache size; each block reads the position, derives its chunk of the key
 * range and streams that chunk of K and V once through shared memory (a
 * cp.async pipeline) for the query heads of one KV head (grouped-query
 * attention), keeping an online softmax per head. It writes the chunk's
 * unnormalised output, maximum and sum of exponentials to scratch; the
 * last block of each row to finish rescales and sums the chunks into the
 * output (dec_finish in attention_common.cuh); when one split holds every
 * key, the f16 kernels write the output from the block's merge instead of
 * a round trip through scratch. f16 caches use tensor
 * cores: up to 16 heads are the rows of an m16n8k16 tile and each warp
 * owns 16 keys of every 64-key tile with its own softmax state (merged
 * through shared memory at the end). f32 caches use CUDA cores.
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

/* Key `key` of K and V into row r of a stage, with plain loads. */
template <int D, int TK>
__device__ __forceinline__ void dec_row(unsigned char *ks, const __half *kb, const __half *vb,
                                        int64_t key, int r)
{
    constexpr int ROW = 2 * D + 16, CPR = 2 * D / 16;
    for (int ch = threadIdx.x; ch < CPR; ch += DEC_NT) {
        const uint64_t off = (uint64_t)key * D * 2 + (uint64_t)ch * 16;
        *(uint4 *)(ks + r * ROW + ch * 16) = *(const uint4 *)((const unsigned char *)kb + off);
        *(uint4 *)(ks + TK * ROW + r * ROW + ch * 16) =
            *(const uint4 *)((const unsigned char *)vb + off);
    }
}

/* Copy keys [kstart, kstart + TK) of K and V (zeros past c1) into a stage
 * of padded rows, all but key `skip`. */
template <typename T, int D, int TK>
__device__ __forceinline__ void dec_load(unsigned char *ks, const T *kb, const T *vb,
                                         int64_t kstart, int64_t c1, int64_t skip = -1)
{
    constexpr int ROW = D * (int)sizeof(T) + 16, CPR = D * (int)sizeof(T) / 16;
    unsigned char *vs = ks + TK * ROW;
    for (int i = threadIdx.x; i < TK * CPR; i += DEC_NT) {
        int r = i / CPR, ch = i % CPR;
        int64_t key = kstart + r;
        if (key == skip)
            continue; /* loaded after the wait (dec_row) */
        int ok = key < c1;
        uint64_t off = (uint64_t)(ok ? key : kstart) * D * sizeof(T) + (uint64_t)ch * 16;
        attn_cp_async16(ks + r * ROW + ch * 16, (const unsigned char *)kb + off, ok ? 16 : 0);
        attn_cp_async16(vs + r * ROW + ch * 16, (const unsigned char *)vb + off, ok ? 16 : 0);
    }
}

/* f32 caches: lane = key for the scores (warps split the 16-byte chunks of
 * the head dim, partial sums meet in shared memory), warp w keeps the
 * softmax of heads w, w + 4, then thread = output dim for P V. */
template <typename T, int D>
__device__ void dec_body_f32(const dec_job &j, const float *q, const T *kc, const T *vc,
                             float *scratch, const mlxn_attn_kparams &p, unsigned char *smem)
{
    constexpr int ES = (int)sizeof(T), ROW = D * ES + 16, CPR = D * ES / 16, EPC = 16 / ES;
    constexpr int STAGES = (int)mlxn_attn_decode_stages(D, ES);
    constexpr int DPT = (D + DEC_NT - 1) / DEC_NT, HPW = DEC_HB / DEC_NW;
    unsigned char *tiles = smem; /* STAGES x {K, V} x (TK, ROW bytes) */
    float *sq = (float *)(smem + STAGES * 2 * DEC_TK * ROW); /* (HB, D) scaled q */
    float *part = sq + DEC_HB * D;          /* (NW, HB, TK) partial scores */
    float *ps = part + DEC_NW * DEC_HB * DEC_TK; /* (TK, HB) probabilities */
    float *alpha = ps + DEC_TK * DEC_HB;    /* (HB) rescale factors */

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int nh = j.nh;
    const uint32_t h0 = j.h0, split = j.split;
    const int64_t c0 = j.c0, c1 = j.c1;
    float *sm = scratch + mlxn_attn_scratch_m(&p), *sl = scratch + mlxn_attn_scratch_l(&p);
    float *so = scratch + mlxn_attn_scratch_o(&p);
    for (int i = tid; i < DEC_HB * D; i += DEC_NT)
        sq[i] = i < nh * D ? q[(uint64_t)h0 * D + i] * p.scale : 0.0f;
    for (int i = tid; i < DEC_TK * DEC_HB; i += DEC_NT)
        ps[i] = 0.0f;

    const T *kb = kc + (uint64_t)j.kvh * p.n_ctx * D, *vb = vc + (uint64_t)j.kvh * p.n_ctx * D;
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
            dec_load<T, D, DEC_TK>(tiles + s * 2 * DEC_TK * ROW, kb, vb, c0 + (int64_t)s * DEC_TK, c1);
        attn_cp_commit();
    }
    for (int t = 0; t < n_tiles; t++) {
        attn_cp_wait<STAGES - 2>();
        __syncthreads();
        {
            int nt = t + STAGES - 1;
            if (nt < n_tiles)
                dec_load<T, D, DEC_TK>(tiles + (nt % STAGES) * 2 * DEC_TK * ROW, kb, vb,
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
                    so[((uint64_t)(h0 + h) * p.n_splits + split) * D + d] = acc[h][i];
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

/* The first STAGES - 1 tiles of a block's chunk, all but key `skip`. With
 * MLXN_ATTN_STABLE_PREFIX the block issues them before waiting for its
 * predecessor, skipping the key at the query's position, which that kernel
 * may be writing (dec_row loads it after the wait). */
template <int D, int STAGES>
__device__ __forceinline__ void dec_prologue(const dec_job &j, const __half *kc,
                                             const __half *vc, const mlxn_attn_kparams &p,
                                             unsigned char *tiles, int64_t skip)
{
    constexpr int TK = MLXN_ATTN_DECODE_TK_F16, ROWB = 2 * (D + 8);
    const __half *kb = kc + (uint64_t)j.kvh * p.n_ctx * D, *vb = vc + (uint64_t)j.kvh * p.n_ctx * D;
    const int n_tiles = (int)((j.c1 - j.c0 + TK - 1) / TK);
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < n_tiles)
            dec_load<__half, D, TK>(tiles + s * 2 * TK * ROWB, kb, vb, j.c0 + (int64_t)s * TK,
                                    j.c1, skip);
        attn_cp_commit();
    }
}

/* f16 caches: tensor cores. The block's queries are the rows of a 16-row
 * tile (rows past the group's heads are zero); warp w computes S = Q K^T
 * for keys 16w..16w+15 of each 64-key tile, runs its own online softmax
 * and accumulates O += P V, exactly as a prefill warp (see
 * attention_prefill.cu for the fragment layouts). The four warps' states
 * merge through shared memory at the end. */
template <int D, int STAGES>
__device__ void dec_body_f16(const dec_job &j, const float *q, const __half *kc,
                             const __half *vc, float *scratch, float *out,
                             const mlxn_attn_kparams &p, unsigned char *smem, int64_t early_skip)
{
    constexpr int TK = MLXN_ATTN_DECODE_TK_F16, ROWH = D + 8, ROWB = 2 * ROWH, NTO = D / 8;
    unsigned char *tiles = smem;                                /* STAGES x {K, V} x (TK, ROWB) */
    __half *qs = (__half *)(smem + STAGES * 2 * TK * ROWB);     /* (16, ROWH) */

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t4 = lane & 3;
    const int nh = j.nh;
    const uint32_t h0 = j.h0, split = j.split;
    const int64_t c0 = j.c0, c1 = j.c1;
    float *sm = scratch + mlxn_attn_scratch_m(&p), *sl = scratch + mlxn_attn_scratch_l(&p);
    float *so = scratch + mlxn_attn_scratch_o(&p);
    const __half *kb = kc + (uint64_t)j.kvh * p.n_ctx * D, *vb = vc + (uint64_t)j.kvh * p.n_ctx * D;
    const int n_tiles = (int)((c1 - c0 + TK - 1) / TK);
    float o[NTO][4], m_r[2] = {-INFINITY, -INFINITY}, l_r[2] = {0.0f, 0.0f};
#pragma unroll
    for (int n = 0; n < NTO; n++)
        o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;

    if (early_skip < -1) {
        dec_prologue<D, STAGES>(j, kc, vc, p, tiles, -1);
    } else if (early_skip >= c0 && early_skip < c1 && (early_skip - c0) / TK < STAGES - 1) {
        /* the prologue was issued before the wait without this key */
        dec_row<D, TK>(tiles + (int)((early_skip - c0) / TK) * 2 * TK * ROWB, kb, vb, early_skip,
                       (int)((early_skip - c0) % TK));
    }
    /* queries to f16 while the first tiles are in flight */
    for (int i = tid; i < 16 * (D / 4); i += DEC_NT) {
        int r = i / (D / 4), c = (i % (D / 4)) * 4;
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (r < nh)
            v = *(const float4 *)(q + (uint64_t)(h0 + r) * D + c);
        __half2 *dst = (__half2 *)(qs + r * ROWH + c);
        dst[0] = __floats2half2_rn(v.x, v.y);
        dst[1] = __floats2half2_rn(v.z, v.w);
    }
    MLXN_TL_MARK(2);
    /* the queries' A fragments, the same for every tile: kept in registers
     * up to head_dim 128 (8 x 4 words a lane); larger heads read them from
     * shared memory per tile (the key loop is bound by its instructions;
     * H200: 8k and 32k decode 3% faster) */
    constexpr bool QR = D <= 128;
    uint32_t qa[QR ? D / 16 : 1][4];
    if constexpr (QR) {
        __syncthreads(); /* qs is written by every thread */
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++)
            attn_ldmatrix_x4(qa[kk], qs + (lane & 15) * ROWH + kk * 16 + (lane >> 4) * 8);
    }
    for (int t = 0; t < n_tiles; t++) {
        attn_cp_wait<STAGES - 2>();
        __syncthreads();
        {
            int nt = t + STAGES - 1;
            if (nt < n_tiles)
                dec_load<__half, D, TK>(tiles + (nt % STAGES) * 2 * TK * ROWB, kb, vb,
                                        c0 + (int64_t)nt * TK, c1);
            attn_cp_commit();
        }
        const unsigned char *stage = tiles + (t % STAGES) * 2 * TK * ROWB;
        const __half *ks = (const __half *)stage + warp * 16 * ROWH;
        const __half *vs = (const __half *)(stage + TK * ROWB) + warp * 16 * ROWH;
        const int64_t key0 = c0 + (int64_t)t * TK + warp * 16;

        float s[2][4];
#pragma unroll
        for (int n = 0; n < 2; n++)
            s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
            uint32_t a[4], b[4];
            if constexpr (QR) {
#pragma unroll
                for (int e = 0; e < 4; e++)
                    a[e] = qa[kk][e];
            } else {
                attn_ldmatrix_x4(a, qs + (lane & 15) * ROWH + kk * 16 + (lane >> 4) * 8);
            }
            attn_ldmatrix_x4(b, ks + ((lane >> 4) * 8 + (lane & 7)) * ROWH + kk * 16 +
                                    ((lane >> 3) & 1) * 8);
            attn_mma16816(s[0], a, b[0], b[1]);
            attn_mma16816(s[1], a, b[2], b[3]);
        }
        float mx[2] = {m_r[0], m_r[1]};
        /* the warp's keys before c1 (32-bit from here), the softcap branch
         * taken once per tile rather than per score */
        const int live = c1 - key0 < 16 ? (int)(c1 - key0) : 16;
        if (p.softcap > 0.0f) {
#pragma unroll
            for (int n = 0; n < 2; n++)
#pragma unroll
                for (int e = 0; e < 4; e++)
                    s[n][e] = attn_softcap(s[n][e] * p.scale, p.softcap);
        } else {
#pragma unroll
            for (int n = 0; n < 2; n++)
#pragma unroll
                for (int e = 0; e < 4; e++)
                    s[n][e] *= p.scale;
        }
#pragma unroll
        for (int n = 0; n < 2; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const float x = n * 8 + t4 * 2 + (e & 1) < live ? s[n][e] : -INFINITY;
                s[n][e] = x;
                mx[e >> 1] = fmaxf(mx[e >> 1], x);
            }
        float alpha[2], ref[2];
#pragma unroll
        for (int r = 0; r < 2; r++) {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
            ref[r] = mx[r] == -INFINITY ? 0.0f : mx[r]; /* no key yet in this warp */
            alpha[r] = __expf(m_r[r] - ref[r]);
            m_r[r] = mx[r];
            l_r[r] *= alpha[r];
        }
#pragma unroll
        for (int n = 0; n < 2; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                s[n][e] = __expf(s[n][e] - ref[e >> 1]);
                l_r[e >> 1] += s[n][e];
            }
        uint32_t a[4];
        a[0] = attn_pack_half2(s[0][0], s[0][1]);
        a[1] = attn_pack_half2(s[0][2], s[0][3]);
        a[2] = attn_pack_half2(s[1][0], s[1][1]);
        a[3] = attn_pack_half2(s[1][2], s[1][3]);
#pragma unroll
        for (int n = 0; n < NTO; n += 2) {
            uint32_t b[4];
            o[n][0] *= alpha[0];
            o[n][1] *= alpha[0];
            o[n][2] *= alpha[1];
            o[n][3] *= alpha[1];
            o[n + 1][0] *= alpha[0];
            o[n + 1][1] *= alpha[0];
            o[n + 1][2] *= alpha[1];
            o[n + 1][3] *= alpha[1];
            attn_ldmatrix_x4_trans(b, vs + (((lane >> 3) & 1) * 8 + (lane & 7)) * ROWH + n * 8 +
                                          (lane >> 4) * 8);
            attn_mma16816(o[n], a, b[0], b[1]);
            attn_mma16816(o[n + 1], a, b[2], b[3]);
        }
    }
    attn_cp_wait<0>();
    __syncthreads(); /* every warp is done with the tiles: reuse them */
    MLXN_TL_MARK(3);

    /* rows of the merge buffer padded by 8 floats, so the fragment stores
     * (lane g of 0..7 on row g, as float2) fall in distinct banks: with
     * rows of D floats they were 8-way conflicts (tg128 +0.4% on an H200) */
    constexpr int OS = D + 8;
    static_assert((2 * DEC_NW * 16 + DEC_NW * 16 * OS) * 4 <= STAGES * 2 * TK * ROWB,
                  "the merge buffer fits in the tiles");
    float *mw = (float *)tiles, *lw = mw + DEC_NW * 16, *ow = lw + DEC_NW * 16;
#pragma unroll
    for (int r = 0; r < 2; r++) {
        l_r[r] += __shfl_xor_sync(0xffffffffu, l_r[r], 1);
        l_r[r] += __shfl_xor_sync(0xffffffffu, l_r[r], 2);
    }
    if (t4 == 0) {
        mw[warp * 16 + g] = m_r[0];
        mw[warp * 16 + g + 8] = m_r[1];
        lw[warp * 16 + g] = l_r[0];
        lw[warp * 16 + g + 8] = l_r[1];
    }
    float *oa = ow + (warp * 16 + g) * OS + t4 * 2, *ob = oa + 8 * OS;
#pragma unroll
    for (int n = 0; n < NTO; n++) {
        *(float2 *)(oa + n * 8) = make_float2(o[n][0], o[n][1]);
        *(float2 *)(ob + n * 8) = make_float2(o[n][2], o[n][3]);
    }
    __syncthreads();
    MLXN_TL_MARK(4);
    for (int i = tid; i < nh * D; i += DEC_NT) {
        int r = i / D, d = i % D;
        float mmax = -INFINITY;
#pragma unroll
        for (int w = 0; w < DEC_NW; w++)
            mmax = fmaxf(mmax, mw[w * 16 + r]);
        float ref = mmax == -INFINITY ? 0.0f : mmax, acc = 0.0f, l = 0.0f;
#pragma unroll
        for (int w = 0; w < DEC_NW; w++) {
            float sw = __expf(mw[w * 16 + r] - ref);
            acc += sw * ow[(w * 16 + r) * OS + d];
            l += sw * lw[w * 16 + r];
        }
        if (j.active == 1) { /* the only split: out directly, as dec_finish would */
            out[(uint64_t)(h0 + r) * D + d] = l > 0.0f ? acc / l : 0.0f;
            continue;
        }
        uint64_t at = (uint64_t)(h0 + r) * p.n_splits + split;
        so[at * D + d] = acc;
        if (d == 0) {
            sm[at] = mmax;
            sl[at] = l;
        }
    }
}

/* Bytes of keys (and as many of values) per block prefetched into L2
 * before griddepcontrol.wait. */
#ifndef MLXN_ATTN_PF_BYTES
#define MLXN_ATTN_PF_BYTES 16384
#endif

/* Both decode kernels: the block's chunk (or the empty-chunk marker),
 * then the count and, in the row's last block, the combine. */
template <int D, int STAGES = (int)mlxn_attn_decode_stages_f16(D)>
__device__ void attn_decode_f16(const float *q, const __half *kc, const __half *vc,
                                const int32_t *posp, float *scratch, float *out,
                                mlxn_attn_kparams p)
{
    extern __shared__ __align__(16) unsigned char smem[];
    /* -2: the prologue follows the wait; else it was issued before it,
     * without key early_skip (the position; -1: none) */
    int64_t early_skip = -2;
    const bool stable = p.flags & MLXN_ATTN_STABLE_PREFIX;
    dec_job j0;
    if (stable) {
        /* pos and the keys before it cannot change under the kernel */
        const bool job = dec_setup(j0, posp, p);
        if (!job)
            return; /* no query heads in this row */
        /* a block with no keys beside the only active split has nothing
         * to do: it leaves before the wait, so it holds no SM while the
         * predecessor finishes (the active block still waits for it) */
        if (j0.c0 >= j0.c1 && j0.active == 1)
            return;
        if (j0.c0 < j0.c1) {
            /* the position's key, unless it lies past the chunk (past the
             * cache): that row is zero-filled like any other past c1 (a
             * skipped row would keep an earlier kernel's shared memory,
             * NaN times a zero weight) */
            const int64_t qp = mlxn_attn_pos(posp);
            early_skip = qp < j0.c1 ? qp : -1;
            dec_prologue<D, STAGES>(j0, kc, vc, p, smem, early_skip);
        }
    } else {
        /* Before waiting for the predecessor: the first keys and values
         * of this block's chunk into L2 (a hint only, so a position the
         * predecessor is still writing cannot make it wrong). */
        if (dec_setup(j0, posp, p) && j0.c0 < j0.c1) {
            const uint64_t at = ((uint64_t)j0.kvh * p.n_ctx + (uint64_t)j0.c0) * D * 2;
            const uint64_t len = min((uint64_t)(j0.c1 - j0.c0) * D * 2, (uint64_t)MLXN_ATTN_PF_BYTES);
            for (uint64_t o = 128 * threadIdx.x; o < len; o += 128 * blockDim.x) {
                asm volatile("prefetch.global.L2 [%0];" ::"l"((const char *)kc + at + o));
                asm volatile("prefetch.global.L2 [%0];" ::"l"((const char *)vc + at + o));
            }
        }
    }
    MLXN_PDL_ENTER();
    /* with a stable prefix the job from before the wait stands (pos did
     * not change): no second read of pos on the critical path */
    dec_job j = j0;
    if (!stable && !dec_setup(j, posp, p))
        return;
    if (j.c0 < j.c1) {
        dec_body_f16<D, STAGES>(j, q, kc, vc, scratch, out, p, smem, early_skip);
        if (j.active == 1)
            return; /* the body wrote out */
    } else if (j.active == 1) {
        return; /* an empty split beside the only one: nothing to count */
    } else {
        dec_empty(j, scratch, p);
    }
    /* batches of 16 cost about 200 registers: only where shared memory
     * allows one block per multiprocessor anyway (head_dim >= 128) */
    dec_finish<(D >= 128 ? 16 : 8)>(j, scratch, out, p);
}

template <typename T, int D>
__device__ void attn_decode(const float *q, const T *kc, const T *vc, const int32_t *posp,
                            float *scratch, float *out, mlxn_attn_kparams p)
{
    extern __shared__ __align__(16) unsigned char smem[];
    MLXN_PDL_ENTER();
    dec_job j;
    if (!dec_setup(j, posp, p))
        return;
    if (j.c0 < j.c1)
        dec_body_f32<T, D>(j, q, kc, vc, scratch, p, smem);
    else
        dec_empty(j, scratch, p);
    dec_finish<8>(j, scratch, out, p);
}

/* args: q, k_cache, v_cache, pos, scratch, out, mlxn_attn_kparams */
MLXN_KERNEL(attn_decode_f16_d64)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { attn_decode_f16<64>(q, k, v, pos, scratch, out, p); }
MLXN_KERNEL(attn_decode_f16_d80)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { attn_decode_f16<80>(q, k, v, pos, scratch, out, p); }
MLXN_KERNEL(attn_decode_f16_d96)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { attn_decode_f16<96>(q, k, v, pos, scratch, out, p); }
MLXN_KERNEL(attn_decode_f16_d128)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { MLXN_TL_BEGIN(); attn_decode_f16<128>(q, k, v, pos, scratch, out, p); MLXN_TL_END(MLXN_TL_ATTN_DECODE, mlxn_tl_t[3], mlxn_tl_t[4]); }
MLXN_KERNEL(attn_decode_f16_d256)(const float *q, const __half *k, const __half *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { attn_decode_f16<256>(q, k, v, pos, scratch, out, p); }
MLXN_KERNEL(attn_decode_f32_d64)(const float *q, const float *k, const float *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { attn_decode<float, 64>(q, k, v, pos, scratch, out, p); }
MLXN_KERNEL(attn_decode_f32_d80)(const float *q, const float *k, const float *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { attn_decode<float, 80>(q, k, v, pos, scratch, out, p); }
MLXN_KERNEL(attn_decode_f32_d96)(const float *q, const float *k, const float *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { attn_decode<float, 96>(q, k, v, pos, scratch, out, p); }
MLXN_KERNEL(attn_decode_f32_d128)(const float *q, const float *k, const float *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { attn_decode<float, 128>(q, k, v, pos, scratch, out, p); }
MLXN_KERNEL(attn_decode_f32_d256)(const float *q, const float *k, const float *v, const int32_t *pos, float *scratch, float *out, mlxn_attn_kparams p) { attn_decode<float, 256>(q, k, v, pos, scratch, out, p); }
