/*
 * attention_common.cuh: device helpers of the attention kernels: 16-byte
 * asynchronous copies into shared memory (with zero fill), warp and block
 * reductions, loads of 16-byte chunks of f16 or f32 as floats, and the
 * ldmatrix / mma.sync wrappers of the tensor-core prefill.
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

#endif /* MLXN_ATTENTION_COMMON_CUH */
