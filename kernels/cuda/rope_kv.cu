/*
 * rope_kv.cu: RoPE of q (in place) and k fused with the KV-cache write of
 * the rotated k and of v: one kernel where a decode step had three. The
 * arithmetic is the RoPE kernels' (rope.cu) and kv_write's (attention.cu),
 * so results equal the unfused ops'.
 */
#include "rope_common.cuh"
#include "params/rope.h"
#include "params/rope_kv.h"

template <typename T>
__device__ void rope_kv(float *q, const float *k, const float *v, const int32_t *positions,
                        const float *factors, const int32_t *posp, T *kc, T *vc,
                        mlxn_rope_kv_kparams p)
{
    __shared__ float cs[MLXN_ROPE_MAX_HALF], sn[MLXN_ROPE_MAX_HALF];
    __shared__ double pw[MLXN_ROPE_MAX_HALF];
    /* The next kernel (decode attention) may launch now rather than after
     * this kernel's wait: its blocks then do their work before their own
     * griddepcontrol.wait (setup, the first key/value tiles) while this
     * kernel waits and runs. That wait still orders them after this
     * kernel's writes, and its pre-wait work may read only what no kernel
     * still running writes, which covers the kernels before this one.
     * (After the wait, as every other kernel triggers, the attention grid
     * launched ~1.2 us later and its blocks reached their wait 2 us after
     * this kernel ended: tg128 +2.0% on an H200.) */
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    uint32_t t = blockIdx.x, half = p.n_rot / 2, hd = p.head_dim;
    rope_pow(pw, p.n_rot, p.theta_base); /* before the wait: reads no buffer */
    /* stable positions: the angles too (freq_factors is a weight) */
    const bool early = (p.flags & MLXN_ROPE_KV_STABLE_POSITIONS) && t < p.n_tokens;
    if (early)
        rope_angles(cs, sn, positions[t], factors, pw, p.n_rot, p.freq_scale, p.has_factors);
    MLXN_PDL_ENTER();
    if (t >= p.n_tokens)
        return;
    if (!early)
        rope_angles(cs, sn, positions[t], factors, pw, p.n_rot, p.freq_scale, p.has_factors);
    __syncthreads();
    int32_t pos0 = *posp;
    int64_t row = (int64_t)(pos0 < 0 ? 0 : pos0) + t;
    uint32_t rows = p.n_head + 2 * p.n_kv, r0 = blockIdx.y * p.heads_per_block;
    uint32_t nr = min(p.heads_per_block, rows - r0), pairs = hd / 2;
    for (uint32_t item = threadIdx.x; item < nr * pairs; item += blockDim.x) {
        uint32_t r = r0 + item / pairs, j = item % pairs;
        if (r >= p.n_head + p.n_kv) { /* v: copy into the cache */
            if (row >= (int64_t)p.n_ctx)
                continue;
            uint32_t h = r - p.n_head - p.n_kv;
            const float *src = v + ((uint64_t)t * p.n_kv + h) * hd;
            T *dst = vc + ((uint64_t)h * p.n_ctx + (uint64_t)row) * hd;
            dst[2 * j] = mlxn_from_f32<T>(src[2 * j]);
            dst[2 * j + 1] = mlxn_from_f32<T>(src[2 * j + 1]);
            continue;
        }
        int is_q = r < p.n_head;
        uint32_t h = is_q ? r : r - p.n_head;
        const float *x = is_q ? q + ((uint64_t)t * p.n_head + h) * hd
                              : k + ((uint64_t)t * p.n_kv + h) * hd;
        uint32_t a, b;
        float oa, ob;
        if (j < half) {
            a = p.neox ? j : 2 * j;
            b = p.neox ? j + half : 2 * j + 1;
            float xa = x[a], xb = x[b];
            oa = __fsub_rn(__fmul_rn(xa, cs[j]), __fmul_rn(xb, sn[j]));
            ob = __fadd_rn(__fmul_rn(xa, sn[j]), __fmul_rn(xb, cs[j]));
        } else { /* past n_rot: copied */
            a = p.n_rot + 2 * (j - half);
            b = a + 1;
            oa = x[a];
            ob = x[b];
        }
        if (is_q) {
            float *o = q + ((uint64_t)t * p.n_head + h) * hd;
            o[a] = oa;
            o[b] = ob;
        } else if (row < (int64_t)p.n_ctx) {
            T *dst = kc + ((uint64_t)h * p.n_ctx + (uint64_t)row) * hd;
            dst[a] = mlxn_from_f32<T>(oa);
            dst[b] = mlxn_from_f32<T>(ob);
        }
    }
}

/* args: q, k, v, positions, freq_factors, pos, k_cache, v_cache, params */
MLXN_KERNEL(rope_kv_f16)(float *q, const float *k, const float *v, const int32_t *positions, const float *factors, const int32_t *pos, __half *kc, __half *vc, mlxn_rope_kv_kparams p) { MLXN_TL_BEGIN(); rope_kv<__half>(q, k, v, positions, factors, pos, kc, vc, p); MLXN_TL_END(MLXN_TL_ROPE_KV, 0, 0); }
MLXN_KERNEL(rope_kv_f32)(float *q, const float *k, const float *v, const int32_t *positions, const float *factors, const int32_t *pos, float *kc, float *vc, mlxn_rope_kv_kparams p) { rope_kv<float>(q, k, v, positions, factors, pos, kc, vc, p); }
