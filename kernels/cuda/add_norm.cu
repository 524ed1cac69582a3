/*
 * add_norm.cu: fused residual add + RMS norm with a weight in f32, f16 or
 * bf16. One block per row: sum = x + residual is written and squared in
 * one loop, then the block-wide sum gives the scale for the second loop.
 */
#include "common.cuh"
#include "params/elementwise.h"

template <typename W>
__device__ void add_rms_norm_row(const float *x, const float *res, const W *w, float *sum,
                                 float *norm, mlxn_norm_params p)
{
    __shared__ float scratch[32];
    MLXN_PDL_ENTER();
    uint32_t row = blockIdx.x;
    if (row >= p.rows)
        return;
    uint64_t off = (uint64_t)row * p.n;
    float ss = 0.0f;
    for (uint32_t i = threadIdx.x; i < p.n; i += blockDim.x) {
        float s = x[off + i] + res[off + i];
        sum[off + i] = s;
        ss += s * s;
    }
    ss = mlxn_block_sum(ss, scratch);
    float inv = rsqrtf(ss / (float)p.n + p.eps);
    /* each thread re-reads only the sums it wrote itself */
    for (uint32_t i = threadIdx.x; i < p.n; i += blockDim.x)
        norm[off + i] = sum[off + i] * inv * mlxn_to_f32(w[i]);
}

/* args: x, residual, w, sum, norm, params */
MLXN_KERNEL(add_rms_norm_mul_f32)(const float *x, const float *r, const float *w, float *sum, float *norm, mlxn_norm_params p) { add_rms_norm_row<float>(x, r, w, sum, norm, p); }
MLXN_KERNEL(add_rms_norm_mul_f16)(const float *x, const float *r, const __half *w, float *sum, float *norm, mlxn_norm_params p) { add_rms_norm_row<__half>(x, r, w, sum, norm, p); }
MLXN_KERNEL(add_rms_norm_mul_bf16)(const float *x, const float *r, const __nv_bfloat16 *w, float *sum, float *norm, mlxn_norm_params p) { add_rms_norm_row<__nv_bfloat16>(x, r, w, sum, norm, p); }
