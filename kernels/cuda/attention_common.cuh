/*
 * attention_common.cuh: device helpers of the attention kernels: 16- and
 * 4-byte asynchronous copies into shared memory (with zero fill), warp and
 * block reductions, loads of 16-byte chunks of f16 or f32 as floats, the
 * ldmatrix / mma.sync wrappers of the tensor-core kernels, the prefill
 * masking helpers, and the decode block's bookkeeping: which heads and keys
 * it owns, and the combine run by the last block of each row.
 */
#ifndef MLXN_ATTENTION_COMMON_CUH
#define MLXN_ATTENTION_COMMON_CUH

#include "common.cuh"
#include "params/attention.h"

/* Copy 16 bytes global -> shared, bypassing L1; bytes == 0 writes zeros
 * and reads nothing (src must still be a valid address). */
__device__ __forceinline__ void attn_cp_async16(void *dst, const void *src, int bytes)
{
    unsigned s = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src), "r"(bytes)
                 : "memory");
}

/* Copy 4 bytes global -> shared (.ca: the only 4-byte form); bytes == 0
 * writes zeros and reads nothing. */
__device__ __forceinline__ void attn_cp_async4(void *dst, const void *src, int bytes)
{
    unsigned s = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(s), "l"(src), "r"(bytes)
                 : "memory");
}

__device__ __forceinline__ void attn_cp_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

template <int N> __device__ __forceinline__ void attn_cp_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ float attn_warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Max over the block; `scratch` holds 32 floats of shared memory. */
__device__ __forceinline__ float attn_block_max(float v, float *scratch)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = attn_warp_max(v);
    __syncthreads();
    if (lane == 0)
        scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : -INFINITY;
    return attn_warp_max(v);
}

/* 16 bytes of shared memory as floats: 8 halves or 4 floats. */
__device__ __forceinline__ void attn_load_chunk(const unsigned char *p, float *f, const __half *)
{
    uint4 raw = *(const uint4 *)p;
    const __half2 *h = (const __half2 *)&raw;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 v = __half22float2(h[i]);
        f[2 * i] = v.x;
        f[2 * i + 1] = v.y;
    }
}

__device__ __forceinline__ void attn_load_chunk(const unsigned char *p, float *f, const float *)
{
    float4 v = *(const float4 *)p;
    f[0] = v.x;
    f[1] = v.y;
    f[2] = v.z;
    f[3] = v.w;
}

/* Softcap: s -> c * tanh(s / c) when c > 0. */
__device__ __forceinline__ float attn_softcap(float s, float c)
{
    return c > 0.0f ? c * tanhf(s / c) : s;
}

/* ---- tensor cores (sm_80+ mma.sync) ---------------------------------------------- */
__device__ __forceinline__ void attn_ldmatrix_x4(uint32_t *r, const void *p)
{
    unsigned s = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}

__device__ __forceinline__ void attn_ldmatrix_x4_trans(uint32_t *r, const void *p)
{
    unsigned s = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}

/* d (16x8 f32) += a (16x16 f16, row) * b (16x8 f16, col). */
__device__ __forceinline__ void attn_mma16816(float *d, const uint32_t *a, uint32_t b0, uint32_t b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* Two floats as an f16 pair (x in the low half). */
__device__ __forceinline__ uint32_t attn_pack_half2(float x, float y)
{
    __half2 h = __floats2half2_rn(x, y);
    return *(uint32_t *)&h;
}

/* ---- prefill masking ------------------------------------------------------------ */
/* Keys [*lo, *hi] that some query of rows [q0, q0 + nq) sees; 0 if none. */
__device__ __forceinline__ int pf_block_range(const mlxn_attn_kparams &p, int64_t pos, int q0,
                                              int nq, int64_t *lo, int64_t *hi)
{
    int64_t lo0, hi0, lo1, hi1;
    mlxn_attn_key_range(pos + q0, p.n_ctx, p.window, &lo0, &hi0);
    mlxn_attn_key_range(pos + q0 + nq - 1, p.n_ctx, p.window, &lo1, &hi1);
    *lo = lo0;
    *hi = hi1;
    return lo0 <= hi1;
}

/* Is key visible to the query at qpos (keys past hi are not loaded)? */
__device__ __forceinline__ bool pf_visible(int64_t key, int64_t qpos, int64_t hi, int32_t window)
{
    return key <= hi && key <= qpos && (window <= 0 || key > qpos - window);
}

/* Zeros for the rows of a block whose queries see no key. */
__device__ __forceinline__ void pf_zero(float *out, const mlxn_attn_kparams &p, int q0, int nq,
                                        uint32_t h)
{
    for (int i = threadIdx.x; i < nq * (int)p.head_dim; i += blockDim.x) {
        int r = i / (int)p.head_dim, d = i % (int)p.head_dim;
        out[((uint64_t)(q0 + r) * p.n_heads + h) * p.head_dim + d] = 0.0f;
    }
}

/* ---- decode bookkeeping ----------------------------------------------------------
 * Block (split, row) of the decode grid: row = KV head * head_batches +
 * head batch. Each block writes its chunk's partial softmax to scratch,
 * then counts itself in on the row's counter; the block that arrives last
 * merges the row's splits into `out` and sets the counter back to zero,
 * so the counters are zero again when the kernel ends. */
typedef struct dec_job {
    uint32_t split, row, kvh, h0; /* h0: first query head of the block */
    int nh;                       /* query heads of the block */
    int64_t c0, c1;               /* keys [c0, c1) of the chunk */
    uint32_t active;              /* splits with keys (mlxn_attn_active_splits) */
} dec_job;

/* Fill j; false when the row has no query heads (the block does nothing). */
__device__ __forceinline__ bool dec_setup(dec_job &j, const int32_t *posp,
                                          const mlxn_attn_kparams &p)
{
    const uint32_t group = p.n_heads / p.n_kv_heads;
    j.split = blockIdx.x;
    j.row = blockIdx.y;
    j.kvh = j.row / p.head_batches;
    const uint32_t hl0 = (j.row % p.head_batches) * p.heads_per_block;
    if (hl0 >= group)
        return false;
    j.nh = (int)min(p.heads_per_block, group - hl0);
    j.h0 = j.kvh * group + hl0;
    const int64_t qpos = mlxn_attn_pos(posp);
    mlxn_attn_split_range(&p, qpos, j.split, &j.c0, &j.c1);
    j.active = mlxn_attn_active_splits(&p, qpos);
    return true;
}

/* An empty chunk: max -inf and sum 0 (the combine gives it weight 0). */
__device__ __forceinline__ void dec_empty(const dec_job &j, float *scratch,
                                          const mlxn_attn_kparams &p)
{
    if ((int)threadIdx.x < j.nh) {
        uint64_t at = (uint64_t)(j.h0 + threadIdx.x) * p.n_splits + j.split;
        scratch[mlxn_attn_scratch_m(&p) + at] = -INFINITY;
        scratch[mlxn_attn_scratch_l(&p) + at] = 0.0f;
    }
}

/* Component e of a float4 / float2 (e is a constant after unrolling). */
__device__ __forceinline__ float attn_vc(const float4 &v, int e)
{
    return e == 0 ? v.x : e == 1 ? v.y : e == 2 ? v.z : v.w;
}
__device__ __forceinline__ float attn_vc(const float2 &v, int e) { return e == 0 ? v.x : v.y; }
__device__ __forceinline__ void attn_vstore(float4 *p, const float *a)
{
    *p = make_float4(a[0], a[1], a[2], a[3]);
}
__device__ __forceinline__ void attn_vstore(float2 *p, const float *a) { *p = make_float2(a[0], a[1]); }

/* Combine of one head's N output floats (a float4 or float2 column of
 * every split): out = sum_s w_s o_s / sum_s w_s l_s, w_s = exp(m_s - M),
 * over the splits with l_s > 0 (zeros when none). Each thread loads the
 * maxima, sums and its outputs of B splits at once (one memory round trip
 * for up to B splits; B = 16 costs about 200 registers) and keeps a
 * running maximum M across batches. A split of weight 0 adds nothing
 * whatever its (unwritten) output holds. */
template <typename V, int N, int B>
__device__ __forceinline__ void dec_combine_item(const V *src, uint32_t stride, const float *gm,
                                                 const float *gl, uint32_t ns, V *dst)
{
    float acc[N], mrun = -INFINITY, lrun = 0.0f;
#pragma unroll
    for (int e = 0; e < N; e++)
        acc[e] = 0.0f;
    for (uint32_t s0 = 0; s0 < ns; s0 += B) {
        V v[B];
        float m[B], l[B];
#pragma unroll
        for (int k = 0; k < B; k++) {
            bool in = s0 + k < ns;
            v[k] = in ? __ldcg(src + (uint64_t)(s0 + k) * stride) : V{};
            m[k] = in ? __ldcg(gm + s0 + k) : -INFINITY;
            l[k] = in ? __ldcg(gl + s0 + k) : 0.0f;
        }
        float mx = mrun;
#pragma unroll
        for (int k = 0; k < B; k++)
            mx = l[k] > 0.0f ? fmaxf(mx, m[k]) : mx;
        if (mx == -INFINITY)
            continue; /* no split with keys yet */
        float a = __expf(mrun - mx); /* 0 while mrun is -inf */
        lrun *= a;
#pragma unroll
        for (int e = 0; e < N; e++)
            acc[e] *= a;
#pragma unroll
        for (int k = 0; k < B; k++) {
            float w = l[k] > 0.0f ? __expf(m[k] - mx) : 0.0f;
            lrun += w * l[k];
#pragma unroll
            for (int e = 0; e < N; e++)
                acc[e] += w != 0.0f ? w * attn_vc(v[k], e) : 0.0f;
        }
        mrun = mx;
    }
    float inv = lrun > 0.0f ? 1.0f / lrun : 0.0f;
#pragma unroll
    for (int e = 0; e < N; e++)
        acc[e] *= inv;
    attn_vstore(dst, acc);
}

/* Add v to *p with acquire-release semantics at GPU scope; returns the old
 * value. */
__device__ __forceinline__ unsigned attn_atom_add_acq_rel(unsigned *p, unsigned v)
{
    unsigned old;
    asm volatile("atom.acq_rel.gpu.global.add.u32 %0, [%1], %2;\n"
                 : "=r"(old)
                 : "l"(p), "r"(v)
                 : "memory");
    return old;
}

/* Count the block in; the last block of the row to arrive combines the
 * splits of its heads into out (dec_combine_item). Ordering: the barrier
 * puts every thread's partials before thread 0's acquire-release count
 * (release is cumulative), and the last block's barrier passes the
 * acquire on to its threads; the pattern of cooperative groups' grid sync
 * with the fences folded into the atomic. B: splits per load batch. */
template <int B>
__device__ __noinline__ void dec_finish(const dec_job &j, float *scratch, float *out,
                                        const mlxn_attn_kparams &p)
{
    __shared__ int last;
    __syncthreads();
    if (j.active <= 1) {
        /* One split (or none) holds every key: split 0 finishes alone. */
        if (j.split != 0)
            return;
        const uint32_t d = p.head_dim, ns = p.n_splits;
        const float *go = scratch + mlxn_attn_scratch_o(&p), *gl = scratch + mlxn_attn_scratch_l(&p);
        for (uint32_t i = threadIdx.x; i < (uint32_t)j.nh * d; i += blockDim.x) {
            const uint32_t h = j.h0 + i / d, c = i % d;
            const float l = gl[(uint64_t)h * ns];
            out[(uint64_t)h * d + c] = l > 0.0f ? go[(uint64_t)h * ns * d + c] / l : 0.0f;
        }
        return;
    }
    if (threadIdx.x == 0) {
        unsigned *cnt = (unsigned *)scratch + j.row;
        int is_last = attn_atom_add_acq_rel(cnt, 1u) == p.n_splits - 1;
        if (is_last)
            atomicExch(cnt, 0u); /* every other block of the row has counted */
        last = is_last;
    }
    __syncthreads();
    if (!last)
        return;
    const uint32_t ns = p.n_splits, d = p.head_dim;
    const float *go = scratch + mlxn_attn_scratch_o(&p);
    const float *gm = scratch + mlxn_attn_scratch_m(&p), *gl = scratch + mlxn_attn_scratch_l(&p);
    const uint32_t vec = d % 4 == 0 ? 4 : 2, nv = d / vec;
    for (uint32_t i = threadIdx.x; i < (uint32_t)j.nh * nv; i += blockDim.x) {
        const uint32_t h = j.h0 + i / nv, c = i % nv;
        const float *src = go + (uint64_t)h * ns * d;
        if (vec == 4)
            dec_combine_item<float4, 4, B>((const float4 *)src + c, nv, gm + (uint64_t)h * ns,
                                        gl + (uint64_t)h * ns, ns,
                                        (float4 *)(out + (uint64_t)h * d) + c);
        else
            dec_combine_item<float2, 2, B>((const float2 *)src + c, nv, gm + (uint64_t)h * ns,
                                        gl + (uint64_t)h * ns, ns,
                                        (float2 *)(out + (uint64_t)h * d) + c);
    }
}

#endif /* MLXN_ATTENTION_COMMON_CUH */
