/*
 * activations.cu: SwiGLU (silu_mul), GELU (erf and tanh forms) and softcap
 * as grid-stride pointwise kernels; softmax and argmax with one block per
 * row (a block-wide reduction over the row), all in f32.
 */
#include "common.cuh"
#include "params/activations.h"

enum { ACT_SILU_MUL, ACT_GELU_ERF, ACT_GELU_TANH, ACT_SOFTCAP };

template <int OP>
__device__ void pointwise(const float *x, const float *up, float *out, mlxn_act_params p)
{
    MLXN_PDL_ENTER();
    uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += stride) {
        float v = x[i], r;
        if (OP == ACT_SILU_MUL)
            r = v / (1.0f + expf(-v)) * up[i];
        else if (OP == ACT_GELU_ERF)
            r = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
        else if (OP == ACT_GELU_TANH)
            r = 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
        else
            r = p.cap * tanhf(v / p.cap);
        out[i] = r;
    }
}

/* args: gate, up, out, params */
MLXN_KERNEL(silu_mul_f32)(const float *gate, const float *up, float *out, mlxn_act_params p) { pointwise<ACT_SILU_MUL>(gate, up, out, p); }
/* args: x, out, params */
MLXN_KERNEL(gelu_erf_f32)(const float *x, float *out, mlxn_act_params p) { pointwise<ACT_GELU_ERF>(x, 0, out, p); }
MLXN_KERNEL(gelu_tanh_f32)(const float *x, float *out, mlxn_act_params p) { pointwise<ACT_GELU_TANH>(x, 0, out, p); }
MLXN_KERNEL(softcap_f32)(const float *x, float *out, mlxn_act_params p) { pointwise<ACT_SOFTCAP>(x, 0, out, p); }

/* ---- softmax --------------------------------------------------------------------- */

/* Merge running (max, sum of exp(v - max)) pairs; -inf maxima carry no sum. */
__device__ __forceinline__ void ms_merge(float &m, float &s, float m2, float s2)
{
    if (m2 > m) {
        s = (m == -INFINITY ? 0.0f : s * expf(m - m2)) + s2;
        m = m2;
    } else if (m2 != -INFINITY) {
        s += s2 * expf(m2 - m);
    }
}

/* One block per row: online max and sum in one pass, then normalise. */
MLXN_KERNEL(softmax_f32)(const float *x, float *out, mlxn_row_params p)
{
    __shared__ float sm[32], ss[32];
    MLXN_PDL_ENTER();
    uint32_t row = blockIdx.x;
    if (row >= p.rows)
        return;
    const float *xr = x + (uint64_t)row * p.n;
    float *o = out + (uint64_t)row * p.n;
    float m = -INFINITY, s = 0.0f;
    for (uint32_t base = threadIdx.x; base < p.n; base += 4 * blockDim.x) {
        float a[4]; /* four loads in flight ahead of the dependent merges */
#pragma unroll
        for (int u = 0; u < 4; u++) {
            uint32_t i = base + u * blockDim.x;
            a[u] = i < p.n ? xr[i] * p.scale : -INFINITY;
        }
#pragma unroll
        for (int u = 0; u < 4; u++)
            if (base + u * blockDim.x < p.n)
                ms_merge(m, s, a[u], 1.0f);
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int off = 16; off > 0; off >>= 1)
        ms_merge(m, s, __shfl_xor_sync(0xffffffffu, m, off), __shfl_xor_sync(0xffffffffu, s, off));
    if (lane == 0) {
        sm[warp] = m;
        ss[warp] = s;
    }
    __syncthreads();
    m = lane < warps ? sm[lane] : -INFINITY;
    s = lane < warps ? ss[lane] : 0.0f;
    for (int off = 16; off > 0; off >>= 1)
        ms_merge(m, s, __shfl_xor_sync(0xffffffffu, m, off), __shfl_xor_sync(0xffffffffu, s, off));
    float inv = 1.0f / s;
#pragma unroll 4
    for (uint32_t i = threadIdx.x; i < p.n; i += blockDim.x)
        o[i] = expf(xr[i] * p.scale - m) * inv;
}

/* ---- argmax ---------------------------------------------------------------------- */

__device__ __forceinline__ void arg_better(float &v, uint32_t &i, float v2, uint32_t i2)
{
    if (v2 > v || (v2 == v && i2 < i)) {
        v = v2;
        i = i2;
    }
}

/* One block per row. The row is read as float4 from its first 16-byte
 * boundary on (a scalar head and tail around it), four float4 per thread
 * in flight, each slot with its own candidate. NaN counts as -inf; ties go
 * to the lower index. */
__device__ __forceinline__ void arg_consider(float &v, uint32_t &i, float a, uint32_t j)
{
    arg_better(v, i, a != a ? -INFINITY : a, j);
}

MLXN_KERNEL(argmax_f32)(const float *x, int32_t *out, mlxn_row_params p)
{
    __shared__ float sv[32];
    __shared__ uint32_t si[32];
    MLXN_PDL_ENTER();
    uint32_t row = blockIdx.x;
    if (row >= p.rows)
        return;
    const float *xr = x + (uint64_t)row * p.n;
    float v[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    uint32_t id[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    uint32_t head = (uint32_t)((16u - ((uintptr_t)xr & 15u)) & 15u) / 4u;
    head = min(head, p.n);
    uint32_t nv = (p.n - head) / 4, tail = head + 4 * nv;
    for (uint32_t i = threadIdx.x; i < head; i += blockDim.x)
        arg_consider(v[0], id[0], xr[i], i);
    const float4 *xv = (const float4 *)(xr + head);
    for (uint32_t base = threadIdx.x; base < nv; base += 4 * blockDim.x) {
        float4 a[4];
#pragma unroll
        for (int u = 0; u < 4; u++) {
            uint32_t j = base + u * blockDim.x;
            a[u] = j < nv ? xv[j] : make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
        }
#pragma unroll
        for (int u = 0; u < 4; u++) {
            if (base + u * blockDim.x >= nv)
                continue;
            uint32_t j = head + 4 * (base + u * blockDim.x);
            arg_consider(v[u], id[u], a[u].x, j);
            arg_consider(v[u], id[u], a[u].y, j + 1);
            arg_consider(v[u], id[u], a[u].z, j + 2);
            arg_consider(v[u], id[u], a[u].w, j + 3);
        }
    }
    for (uint32_t i = tail + threadIdx.x; i < p.n; i += blockDim.x)
        arg_consider(v[1], id[1], xr[i], i);
    for (int u = 1; u < 4; u++)
        arg_better(v[0], id[0], v[u], id[u]);
    float bv = v[0];
    uint32_t bi = id[0];
    for (int off = 16; off > 0; off >>= 1)
        arg_better(bv, bi, __shfl_xor_sync(0xffffffffu, bv, off), __shfl_xor_sync(0xffffffffu, bi, off));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    if (lane == 0) {
        sv[warp] = bv;
        si[warp] = bi;
    }
    __syncthreads();
    if (warp == 0) {
        bv = lane < warps ? sv[lane] : -INFINITY;
        bi = lane < warps ? si[lane] : 0xffffffffu;
        for (int off = 16; off > 0; off >>= 1)
            arg_better(bv, bi, __shfl_xor_sync(0xffffffffu, bv, off), __shfl_xor_sync(0xffffffffu, bi, off));
        if (lane == 0)
            out[row] = bi == 0xffffffffu ? 0 : (int32_t)bi;
    }
}
