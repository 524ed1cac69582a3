/*
 * elementwise.cu: add, mul (b repeating along a) and scale in f32, f16 and
 * bf16; RMS norm with and without a weight multiply (x and out in f32).
 * Elementwise kernels use a grid-stride loop over elements.
 */
#include "common.cuh"
#include "params/elementwise.h"

enum { EW_ADD, EW_MUL, EW_SCALE };

template <typename T, int OP>
__device__ void ew(const T *a, const T *b, T *out, mlxn_ew_params p)
{
    MLXN_PDL_ENTER();
    uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += stride) {
        float x = mlxn_to_f32(a[i]), r;
        if (OP == EW_SCALE)
            r = x * p.scale;
        else {
            float y = mlxn_to_f32(b[p.nb == p.n ? i : i % p.nb]);
            r = OP == EW_ADD ? x + y : x * y;
        }
        out[i] = mlxn_from_f32<T>(r);
    }
}

/* args: a, b, out, params (binary); a, out, params (scale) */
MLXN_KERNEL(add_f32)(const float *a, const float *b, float *out, mlxn_ew_params p) { ew<float, EW_ADD>(a, b, out, p); }
MLXN_KERNEL(add_f16)(const __half *a, const __half *b, __half *out, mlxn_ew_params p) { ew<__half, EW_ADD>(a, b, out, p); }
MLXN_KERNEL(add_bf16)(const __nv_bfloat16 *a, const __nv_bfloat16 *b, __nv_bfloat16 *out, mlxn_ew_params p) { ew<__nv_bfloat16, EW_ADD>(a, b, out, p); }
MLXN_KERNEL(mul_f32)(const float *a, const float *b, float *out, mlxn_ew_params p) { ew<float, EW_MUL>(a, b, out, p); }
MLXN_KERNEL(mul_f16)(const __half *a, const __half *b, __half *out, mlxn_ew_params p) { ew<__half, EW_MUL>(a, b, out, p); }
MLXN_KERNEL(mul_bf16)(const __nv_bfloat16 *a, const __nv_bfloat16 *b, __nv_bfloat16 *out, mlxn_ew_params p) { ew<__nv_bfloat16, EW_MUL>(a, b, out, p); }
MLXN_KERNEL(scale_f32)(const float *a, float *out, mlxn_ew_params p) { ew<float, EW_SCALE>(a, 0, out, p); }
MLXN_KERNEL(scale_f16)(const __half *a, __half *out, mlxn_ew_params p) { ew<__half, EW_SCALE>(a, 0, out, p); }
MLXN_KERNEL(scale_bf16)(const __nv_bfloat16 *a, __nv_bfloat16 *out, mlxn_ew_params p) { ew<__nv_bfloat16, EW_SCALE>(a, 0, out, p); }

/* One block per row: sum of squares over the row, then scale. */
template <typename W>
__device__ void rms_norm_row(const float *x, const W *w, float *out, mlxn_norm_params p)
{
    __shared__ float scratch[32];
    MLXN_PDL_ENTER();
    uint32_t row = blockIdx.x;
    if (row >= p.rows)
        return;
    const float *xr = x + (uint64_t)row * p.n;
    float *o = out + (uint64_t)row * p.n;
    float ss = 0.0f;
    for (uint32_t i = threadIdx.x; i < p.n; i += blockDim.x)
        ss += xr[i] * xr[i];
    ss = mlxn_block_sum(ss, scratch);
    float inv = rsqrtf(ss / (float)p.n + p.eps);
    for (uint32_t i = threadIdx.x; i < p.n; i += blockDim.x)
        o[i] = xr[i] * inv * (w ? mlxn_to_f32(w[i]) : 1.0f);
}

MLXN_KERNEL(rms_norm_f32)(const float *x, float *out, mlxn_norm_params p)
{
    rms_norm_row<float>(x, (const float *)0, out, p);
}

MLXN_KERNEL(rms_norm_mul_f32)(const float *x, const float *w, float *out, mlxn_norm_params p) { rms_norm_row<float>(x, w, out, p); }
MLXN_KERNEL(rms_norm_mul_f16)(const float *x, const __half *w, float *out, mlxn_norm_params p) { rms_norm_row<__half>(x, w, out, p); }
MLXN_KERNEL(rms_norm_mul_bf16)(const float *x, const __nv_bfloat16 *w, float *out, mlxn_norm_params p) { rms_norm_row<__nv_bfloat16>(x, w, out, p); }
