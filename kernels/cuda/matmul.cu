/*
 * matmul.cu: the tiled product out = x @ W^T (+ add) for any m, every
 * weight format (the prefill path while capturing or without cuBLAS), and
 * the SwiGLU join of the prefill path.
 *
 * A block of 256 threads computes a 64 (rows of x) x 64 (rows of W) tile
 * of out in f32: per step of 32 along k each thread decodes 8 elements of
 * one W row and loads 8 of one x row into shared memory, then computes a
 * 4 x 4 patch of outputs.
 */
#include "quant.cuh"

#define T MLXN_MATMUL_TILE
#define KS 32

template <int F>
__device__ __forceinline__ void tiled(const float *__restrict__ x, const wptr &w, const float *add,
                                      float *out, const mlxn_matmul_params &p)
{
    __shared__ float ws[T][KS + 1], xs[T][KS + 1];
    MLXN_PDL_ENTER();
    const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
    const uint64_t n0 = (uint64_t)blockIdx.x * T, m0 = (uint64_t)blockIdx.y * T;
    const int lr = tid / 4, lc = (tid % 4) * 8; /* the row and 8 columns this thread loads */
    float acc[4][4] = {};
    for (uint32_t k0 = 0; k0 < p.k; k0 += KS) {
        const uint32_t e = k0 + lc;
        const uint64_t wr = n0 + lr, xr = m0 + lr;
        float q[8], s = 0.0f, o = 0.0f;
        if (wr < p.n && e < p.k) {
            decode8<F>(row_ptr(w, wr, p), e, w, wr, e, p, q, s, o);
        } else {
#pragma unroll
            for (int i = 0; i < 8; i++)
                q[i] = 0.0f;
        }
#pragma unroll
        for (int i = 0; i < 8; i++) {
            bool in = wr < p.n && e + i < p.k;
            ws[lr][lc + i] = in ? fmaf(s, q[i], o) : 0.0f;
            xs[lr][lc + i] = xr < p.m && e + i < p.k ? x[xr * p.k + e + i] : 0.0f;
        }
        __syncthreads();
#pragma unroll 8
        for (int kk = 0; kk < KS; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                a[i] = xs[ty * 4 + i][kk];
                b[i] = ws[tx * 4 + i][kk];
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++)
                    acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) {
            uint64_t r = m0 + ty * 4 + i, c = n0 + tx * 4 + j;
            if (r < p.m && c < p.n) {
                uint64_t o = r * p.ldo + c;
                out[o] = (p.flags & MLXN_MM_ADD) ? add[o] + acc[i][j] : acc[i][j];
            }
        }
}

template <int F>
__device__ __forceinline__ void mm(const float *x, const uint8_t *w, const float *add, float *out,
                                   mlxn_matmul_params p)
{
    wptr wp = {w, 0, 0};
    tiled<F>(x, wp, add, out, p);
}

template <int F>
__device__ __forceinline__ void mm_mlx(const float *x, const uint8_t *w, const uint16_t *s,
                                       const uint16_t *b, const float *add, float *out,
                                       mlxn_matmul_params p)
{
    wptr wp = {w, s, b};
    tiled<F>(x, wp, add, out, p);
}

/* args: x, w, add, out, params (MLX: x, w, scales, biases, add, out, params) */
MLXN_KERNEL(matmul_f32)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mm<FMT_F32>(x, w, add, out, p); }
MLXN_KERNEL(matmul_f16)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mm<FMT_F16>(x, w, add, out, p); }
MLXN_KERNEL(matmul_bf16)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mm<FMT_BF16>(x, w, add, out, p); }
MLXN_KERNEL(matmul_q4_0)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mm<FMT_Q4_0>(x, w, add, out, p); }
MLXN_KERNEL(matmul_q8_0)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mm<FMT_Q8_0>(x, w, add, out, p); }
MLXN_KERNEL(matmul_q4_k)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mm<FMT_Q4_K>(x, w, add, out, p); }
MLXN_KERNEL(matmul_q6_k)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mm<FMT_Q6_K>(x, w, add, out, p); }
MLXN_KERNEL(matmul_mlx4)(const float *x, const uint8_t *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, mlxn_matmul_params p) { mm_mlx<FMT_MLX4>(x, w, s, b, add, out, p); }
MLXN_KERNEL(matmul_mlx8)(const float *x, const uint8_t *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, mlxn_matmul_params p) { mm_mlx<FMT_MLX8>(x, w, s, b, add, out, p); }
MLXN_KERNEL(matmul_mlx)(const float *x, const uint8_t *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, mlxn_matmul_params p) { mm_mlx<FMT_MLX>(x, w, s, b, add, out, p); }

/* out[i][j] = silu(gu[i][j]) * gu[i][n + j]; gu (m, 2n), out rows ldo apart. */
MLXN_KERNEL(swiglu_join_f32)(const float *gu, float *out, mlxn_matmul_params p)
{
    MLXN_PDL_ENTER();
    const uint64_t total = (uint64_t)p.m * p.n, stride = (uint64_t)gridDim.x * blockDim.x;
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        uint64_t r = i / p.n, c = i % p.n;
        float g = gu[r * 2 * p.n + c];
        out[r * p.ldo + c] = g / (1.0f + __expf(-g)) * gu[r * 2 * p.n + p.n + c];
    }
}
