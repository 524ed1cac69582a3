/*
 * matvec_x8.cu: matrix-vector products of one f32 row x with 4-bit affine
 * weights (MLX 4-bit; symmetric for GGUF Q4_0 as the loaders store it)
 * using int8 activations: each block rounds x to 8 bits per 32 values in
 * shared memory (kernels/params/matmul.h), then every lane streams one
 * 16-byte word (32 codes) of each of its rows per step and forms the
 * block's integer dot product with 8 __dp4a.
 *
 * Layout: a block (MLXN_X8_WARPS warps) rounds x once, then takes groups
 * of MLXN_X8_WARPS * rows_per_warp rows, grid-stride (the op launches one
 * block per SM); warp w owns rows_per_warp consecutive rows of a group;
 * lane l takes the blocks of 32 elements l, l + 32, ... of each row, so a
 * warp reads 512 contiguous bytes of a row per step. Before waiting for its
 * predecessor (griddepcontrol.wait) a block only prefetches its first
 * weight bytes into L2: L2 is the point of coherence, so this cannot see
 * stale data even when the predecessor writes the weights.
 */
#include "quant.cuh"
#include "params/elementwise.h"

#define X8_WARPS MLXN_X8_WARPS

/* Steps (16-byte words per row per lane) loaded before any is used:
 * about 8 words in flight per lane whatever the rows per warp. */
#ifdef MLXN_X8_U
template <int R> struct x8_unroll { static const int value = MLXN_X8_U; };
#else
template <int R> struct x8_unroll { static const int value = R >= 4 ? 2 : 4; };
#endif

__device__ __forceinline__ float x8_h2f(uint16_t h, bool bf16) { return bf16 ? bf2f(h) : h2f(h); }

#ifndef X8_QLOADS
#define X8_QLOADS 2 /* 16-byte loads of x in flight per thread */
#endif

/* 4 values of x (elements 4t .. 4t+3 of a block, t = lane % 8) rounded:
 * the 8 lanes of the block reduce with `mask` (every lane of the warp
 * whose block is in range). */
__device__ __forceinline__ void x8_quantize4(float4 v, uint32_t e, unsigned mask, int8_t *sq,
                                             float *sd, int *si)
{
    uint32_t a = max(max(__float_as_uint(v.x) & 0x7fffffffu, __float_as_uint(v.y) & 0x7fffffffu),
                     max(__float_as_uint(v.z) & 0x7fffffffu, __float_as_uint(v.w) & 0x7fffffffu));
#pragma unroll
    for (int o = 1; o < 8; o <<= 1)
        a = max(a, __shfl_xor_sync(mask, a, o));
    float inv, d = mlxn_x8_scale(a, &inv);
    int q[4] = {mlxn_x8_round(v.x * inv), mlxn_x8_round(v.y * inv), mlxn_x8_round(v.z * inv),
                mlxn_x8_round(v.w * inv)};
    int s = q[0] + q[1] + q[2] + q[3];
#pragma unroll
    for (int o = 1; o < 8; o <<= 1)
        s += __shfl_xor_sync(mask, s, o);
    const uint32_t b = e / 32, i0 = e % 32;
#pragma unroll
    for (int j = 0; j < 4; j++)
        sq[b * 32 + mlxn_x8_pos(i0 + j)] = (int8_t)q[j];
    if (i0 == 0) {
        sd[b] = d;
        si[b] = s;
    }
}

/* 1 / sqrt(mean(x^2) + eps) for MLXN_MM_NORM, by the whole block: the sum
 * of squares in float64 (each square exact), so the f32 result is the
 * CPU kernels' (kernels/cpu/elementwise.c) whatever the order of the sum. */
__device__ __forceinline__ float x8_rms_inv(const float *x, uint32_t k, float eps)
{
    __shared__ double red[32];
    const float4 *x4 = (const float4 *)x;
    double ss = 0.0;
    for (uint32_t i = threadIdx.x; i < k / 4; i += blockDim.x) {
        float4 v = x4[i];
        ss += (double)v.x * v.x + (double)v.y * v.y + (double)v.z * v.z + (double)v.w * v.w;
    }
#pragma unroll
    for (int o = 16; o; o >>= 1)
        ss += __shfl_xor_sync(~0u, ss, o);
    if (threadIdx.x % 32 == 0)
        red[threadIdx.x / 32] = ss;
    __syncthreads();
    double t = 0.0;
    for (uint32_t w = 0; w < blockDim.x / 32; w++)
        t += red[w];
    return mlxn__rms_scale(t, k, eps);
}

/* x (k f32, 16-byte aligned) -> sq (k int8 in mlxn_x8_pos order), sd (d
 * per block), si (isum per block), by the whole block: each thread loads
 * X8_QLOADS float4 before rounding any, so the loads overlap. With nw, x
 * is first normalised: x[i] * inv * nw[i] (MLXN_MM_NORM). */
__device__ __forceinline__ void x8_quantize(const float *x, const float *nw, float inv,
                                            uint32_t k, int8_t *sq, float *sd, int *si)
{
    const float4 *x4 = (const float4 *)x, *n4w = (const float4 *)nw;
    const uint32_t n4 = k / 4, nt = blockDim.x;
    for (uint32_t base = 0; base < n4; base += nt * X8_QLOADS) {
        float4 v[X8_QLOADS], g[X8_QLOADS];
#pragma unroll
        for (int j = 0; j < X8_QLOADS; j++) {
            uint32_t i = base + j * nt + threadIdx.x;
            v[j] = i < n4 ? x4[i] : make_float4(0.f, 0.f, 0.f, 0.f);
            if (nw)
                g[j] = i < n4 ? n4w[i] : make_float4(0.f, 0.f, 0.f, 0.f);
        }
#pragma unroll
        for (int j = 0; j < X8_QLOADS; j++) {
            uint32_t i = base + j * nt + threadIdx.x;
            unsigned mask = __ballot_sync(~0u, i < n4);
            if (nw)
                v[j] = make_float4(v[j].x * inv * g[j].x, v[j].y * inv * g[j].y,
                                   v[j].z * inv * g[j].z, v[j].w * inv * g[j].w);
            if (i < n4)
                x8_quantize4(v[j], 4 * i, mask, sq, sd, si);
        }
    }
}

/* The integer dot product of 32 codes (one 16-byte word) with 32 int8
 * values in mlxn_x8_pos order. */
__device__ __forceinline__ int x8_dot(uint4 w, const int4 &xa, const int4 &xb)
{
    int s = 0;
    s = __dp4a((int)(w.x & 0x0F0F0F0Fu), xa.x, s);
    s = __dp4a((int)((w.x >> 4) & 0x0F0F0F0Fu), xa.y, s);
    s = __dp4a((int)(w.y & 0x0F0F0F0Fu), xa.z, s);
    s = __dp4a((int)((w.y >> 4) & 0x0F0F0F0Fu), xa.w, s);
    s = __dp4a((int)(w.z & 0x0F0F0F0Fu), xb.x, s);
    s = __dp4a((int)((w.z >> 4) & 0x0F0F0F0Fu), xb.y, s);
    s = __dp4a((int)(w.w & 0x0F0F0F0Fu), xb.z, s);
    s = __dp4a((int)((w.w >> 4) & 0x0F0F0F0Fu), xb.w, s);
    return s;
}

struct x8_w {
    const uint4 *w;
    const uint16_t *s, *b;
};

/* acc[v][r] = dot of row row0 + r of weight v with x^. */
template <int R, int NW, int U = x8_unroll<R>::value>
__device__ __forceinline__ void x8_rows(const x8_w *wt, uint32_t row0, const int8_t *sq,
                                        const float *sd, const int *si,
                                        const mlxn_matmul_params &p, float acc[NW][R])
{
    const uint32_t lane = threadIdx.x % 32, nb = p.k / 32, gpr = p.k / p.group_size;
    const uint32_t gshift = p.group_size == 32 ? 0 : p.group_size == 64 ? 1 : 2;
    const bool bf16 = p.flags & MLXN_MM_SCALE_BF16, sym = p.flags & MLXN_MM_SYMMETRIC;
#pragma unroll
    for (int v = 0; v < NW; v++)
#pragma unroll
        for (int r = 0; r < R; r++)
            acc[v][r] = 0.0f;
    for (uint32_t b0 = 0; b0 < nb; b0 += 32 * U) {
        uint4 w[U][NW][R];
        uint16_t sc[U][NW][R], bi[U][NW][R];
#pragma unroll
        for (int u = 0; u < U; u++) {
            const uint32_t b = b0 + 32 * u + lane;
#pragma unroll
            for (int v = 0; v < NW; v++)
#pragma unroll
                for (int r = 0; r < R; r++) {
                    const uint64_t row = row0 + r;
                    const uint64_t g = row * gpr + (b >> gshift);
                    if (b < nb) {
                        w[u][v][r] = __ldg(&wt[v].w[row * nb + b]);
                        sc[u][v][r] = __ldg(&wt[v].s[g]);
                        bi[u][v][r] = sym ? 0 : __ldg(&wt[v].b[g]);
                    } else {
                        w[u][v][r] = make_uint4(0, 0, 0, 0);
                        sc[u][v][r] = bi[u][v][r] = 0;
                    }
                }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            const uint32_t b = b0 + 32 * u + lane;
            if (b >= nb)
                break;
            const int4 xa = ((const int4 *)sq)[2 * b], xb = ((const int4 *)sq)[2 * b + 1];
            const float d = sd[b];
            const int is = si[b];
#pragma unroll
            for (int v = 0; v < NW; v++)
#pragma unroll
                for (int r = 0; r < R; r++) {
                    const int dot = x8_dot(w[u][v][r], xa, xb);
                    const float s = x8_h2f(sc[u][v][r], bf16);
                    if (sym) {
                        acc[v][r] = fmaf(s * d, (float)(dot - 8 * is), acc[v][r]);
                    } else {
                        acc[v][r] = fmaf(s * d, (float)dot, acc[v][r]);
                        acc[v][r] = fmaf(x8_h2f(bi[u][v][r], bf16) * d, (float)is, acc[v][r]);
                    }
                }
        }
    }
#pragma unroll
    for (int v = 0; v < NW; v++)
#pragma unroll
        for (int r = 0; r < R; r++)
#pragma unroll
            for (int o = 16; o; o >>= 1)
                acc[v][r] += __shfl_xor_sync(~0u, acc[v][r], o);
}

/* Prefetch the first steps of this warp's rows into L2 (before the
 * predecessor's memory is visible: see the file comment). */
template <int R, int NW, int U = x8_unroll<R>::value>
__device__ __forceinline__ void x8_prefetch(const x8_w *wt, uint32_t row0, const mlxn_matmul_params &p)
{
    const uint32_t lane = threadIdx.x % 32, nb = p.k / 32;
#pragma unroll
    for (int v = 0; v < NW; v++)
#pragma unroll
        for (int r = 0; r < R; r++)
            for (uint32_t b = lane * 8; b < nb && b < 32 * U; b += 32 * 8)
                asm volatile("prefetch.global.L2 [%0];" ::"l"(&wt[v].w[(uint64_t)(row0 + r) * nb + b]));
}

/* The rows row0 .. row0 + R - 1 of one warp (fewer at the end of W). */
template <int R, int NW>
__device__ __forceinline__ void x8_group(const x8_w *wt, uint32_t row0, const int8_t *sq,
                                         const float *sd, const int *si, const float *add,
                                         float *out, const mlxn_matmul_params &p)
{
    const uint32_t lane = threadIdx.x % 32;
    if (row0 >= p.n)
        return;
    float acc[NW][R];
    if (row0 + R <= p.n) {
        x8_rows<R, NW>(wt, row0, sq, sd, si, p, acc);
    } else {
        /* the last rows of W, one at a time */
        for (uint32_t r = 0; row0 + r < p.n; r++) {
            float a1[NW][1];
            x8_rows<1, NW>(wt, row0 + r, sq, sd, si, p, a1);
#pragma unroll
            for (int v = 0; v < NW; v++)
#pragma unroll
                for (int rr = 0; rr < R; rr++)
                    if (rr == (int)r)
                        acc[v][rr] = a1[v][0];
        }
    }
    if (lane != 0)
        return;
#pragma unroll
    for (int r = 0; r < R; r++) {
        const uint32_t row = row0 + r;
        if (row >= p.n)
            break;
        float v = acc[0][r];
        if (NW == 2)
            v = v / (1.0f + __expf(-v)) * acc[NW - 1][r];
        else if (p.flags & MLXN_MM_ADD)
            v += add[row];
        out[row] = v;
    }
}

template <int R, int NW>
__device__ __forceinline__ void x8_run(const float *x, const float *nw, const x8_w *wt,
                                       const float *add, float *out, const mlxn_matmul_params &p)
{
    extern __shared__ __align__(16) unsigned char x8_smem[];
    int8_t *sq = (int8_t *)x8_smem;
    float *sd = (float *)(x8_smem + p.k);
    int *si = (int *)(sd + p.k / 32);
    const uint32_t warp = threadIdx.x / 32;
    /* row groups of X8_WARPS * R rows, grid-stride: x is rounded once per
     * block however many groups the block takes */
    const uint32_t groups = (p.n + X8_WARPS * R - 1) / (X8_WARPS * R);
    {
        const uint32_t row0 = (blockIdx.x * X8_WARPS + warp) * R;
        if (row0 + R <= p.n)
            x8_prefetch<R, NW>(wt, row0, p);
    }
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    const bool norm = p.flags & MLXN_MM_NORM;
    const float inv = norm ? x8_rms_inv(x, p.k, p.eps) : 1.0f;
    x8_quantize(x, norm ? nw : 0, inv, p.k, sq, sd, si);
    __syncthreads();
    for (uint32_t grp = blockIdx.x; grp < groups; grp += gridDim.x)
        x8_group<R, NW>(wt, (grp * X8_WARPS + warp) * R, sq, sd, si, add, out, p);
}

template <int NW>
__device__ __forceinline__ void x8_dispatch(const float *x, const float *nw, const x8_w *wt,
                                            const float *add, float *out,
                                            const mlxn_matmul_params &p)
{
    switch (p.rows_per_warp) {
    case 4: x8_run<4, NW>(x, nw, wt, add, out, p); break;
    case 2: x8_run<2, NW>(x, nw, wt, add, out, p); break;
    default: x8_run<1, NW>(x, nw, wt, add, out, p); break;
    }
}

/* args: x, w, scales, biases, add, out, nw, params (matvec_mlx4's layout
 * with the norm weight nw before params; nw is read only with MLXN_MM_NORM) */
MLXN_KERNEL_BOUNDED(matvec_x8_mlx4, 32 * MLXN_X8_WARPS, MLXN_X8_MIN_BLOCKS)(const float *x, const uint4 *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    const x8_w wt[1] = {{w, s, b}};
    x8_dispatch<1>(x, nw, wt, add, out, p);
}

/* args: x, wg, sg, bg, wu, su, bu, out, nw, params (matvec_swiglu_mlx4's
 * layout with the norm weight nw before params) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_mlx4, 32 * MLXN_X8_WARPS, MLXN_X8_MIN_BLOCKS)(const float *x, const uint4 *wg, const uint16_t *sg, const uint16_t *bg, const uint4 *wu, const uint16_t *su, const uint16_t *bu, float *out, const float *nw, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, sg, bg}, {wu, su, bu}};
    x8_dispatch<2>(x, nw, wt, 0, out, p);
}
