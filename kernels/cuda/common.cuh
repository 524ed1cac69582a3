/*
 * common.cuh: what every CUDA kernel file includes. Kernels are declared
 * with MLXN_KERNEL(name) (extern "C" __global__; the build scans for it to
 * list kernel names) and start with MLXN_PDL_ENTER(): kernels are
 * launched with programmatic dependent launch, so each one waits for its
 * predecessor's memory (griddepcontrol.wait) before touching memory and
 * lets its successor's launch begin (griddepcontrol.launch_dependents).
 * Both are no-ops when the kernel was launched without the attribute.
 */
#ifndef MLXN_COMMON_CUH
#define MLXN_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "timeline.cuh"

#define MLXN_KERNEL(name) extern "C" __global__ void name
/* A kernel with __launch_bounds__(threads, min_blocks per SM): the
 * compiler keeps its registers low enough for min_blocks blocks. */
#define MLXN_KERNEL_BOUNDED(name, threads, min_blocks)                         \
    extern "C" __global__ void __launch_bounds__(threads, min_blocks) name

#define MLXN_PDL_ENTER()                                                       \
    do {                                                                       \
        asm volatile("griddepcontrol.wait;" ::: "memory");                     \
        asm volatile("griddepcontrol.launch_dependents;" ::: "memory");        \
        MLXN_TL_MARK(1);                                                       \
    } while (0)

__device__ __forceinline__ float mlxn_to_f32(float v) { return v; }
__device__ __forceinline__ float mlxn_to_f32(__half v) { return __half2float(v); }
__device__ __forceinline__ float mlxn_to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T> __device__ __forceinline__ T mlxn_from_f32(float v);
template <> __device__ __forceinline__ float mlxn_from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ __half mlxn_from_f32<__half>(float v)
{
    return __float2half_rn(v);
}
template <> __device__ __forceinline__ __nv_bfloat16 mlxn_from_f32<__nv_bfloat16>(float v)
{
    return __float2bfloat16_rn(v);
}

/* Sum over a warp (all 32 lanes receive the result). */
__device__ __forceinline__ float mlxn_warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Sum over the block; `scratch` holds 32 floats of shared memory. Every
 * thread receives the result. blockDim.x must be a multiple of 32. */
__device__ __forceinline__ float mlxn_block_sum(float v, float *scratch)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int warps = blockDim.x >> 5;
    v = mlxn_warp_sum(v);
    __syncthreads(); /* scratch may still be read by a previous call */
    if (lane == 0)
        scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0f;
    return mlxn_warp_sum(v);
}

#endif /* MLXN_COMMON_CUH */
