/*
 * matvec_x8.cu: matrix-vector products of one f32 row x with 4-bit affine
 * weights (MLX 4-bit; symmetric for GGUF Q4_0 as the loaders store it)
 * using int8 activations: each block rounds x to 8 bits per 32 values in
 * shared memory (kernels/params/matmul.h), then every lane streams one
 * 16-byte word (32 codes) of each of its rows per step and forms the
 * block's integer dot product with 8 __dp4a.
 *
 * Layout: warp w of the grid's W warps takes rows w, w + W, ... (x8_run);
 * each block rounds x once into shared memory; a warp streams its rows as
 * one sequence of chunks through S register stages, lane l taking the
 * 16-byte words l, l + 32, ... of each row (a warp reads 512 contiguous
 * bytes of a row per word step). Before waiting for its predecessor
 * (griddepcontrol.wait) a block prefetches each warp's first chunk into
 * L2 (L2 is the point of coherence, so this cannot see stale data even
 * when the predecessor writes the weights) or, in the *_early kernels (W
 * cannot change under the kernel: mlxn_weight.immutable), loads its first
 * MLXN_X8_EARLY stages into registers, so their latency overlaps the
 * predecessor's tail instead of following the wait.
 */
#include "quant.cuh"
#include "params/elementwise.h"

#define X8_WARPS MLXN_X8_WARPS

__device__ __forceinline__ float x8_h2f(uint16_t h, bool bf16) { return bf16 ? bf2f(h) : h2f(h); }

/* 16-byte loads of x in flight per thread. 8 (k = 14336 in one round)
 * made that product 0.45 us faster alone but tg128 1.6% slower on an
 * H200 (more registers in every product); 4 was slower too. */
#ifndef X8_QLOADS
#define X8_QLOADS 2
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

/* The block's sum of a per-thread double (every thread gets it); the
 * f32 RMS scale from it is the CPU kernels' (kernels/cpu/elementwise.c)
 * whatever the order of the sum, as each square is exact in double. */
__device__ __forceinline__ double x8_block_sum(double v)
{
    __shared__ double red[32];
#pragma unroll
    for (int o = 16; o; o >>= 1)
        v += __shfl_xor_sync(~0u, v, o);
    if (threadIdx.x % 32 == 0)
        red[threadIdx.x / 32] = v;
    __syncthreads();
    double t = 0.0;
    for (uint32_t w = 0; w < blockDim.x / 32; w++)
        t += red[w];
    return t;
}

__device__ __forceinline__ double x8_sq(float4 v)
{
    return (double)v.x * v.x + (double)v.y * v.y + (double)v.z * v.z + (double)v.w * v.w;
}

/* 1 / sqrt(mean(x^2) + eps) for MLXN_MM_NORM, by the whole block, reading
 * x (the two-pass path, for x longer than one round of loads). */
__device__ __forceinline__ float x8_rms_inv(const float *x, uint32_t k, float eps)
{
    const float4 *x4 = (const float4 *)x;
    double ss = 0.0;
    for (uint32_t i = threadIdx.x; i < k / 4; i += blockDim.x)
        ss += x8_sq(x4[i]);
    return mlxn__rms_scale(x8_block_sum(ss), k, eps);
}

/* x (k f32, 16-byte aligned) -> sq (k int8 in mlxn_x8_pos order), sd (d
 * per block), si (isum per block), by the whole block: each thread loads
 * X8_QLOADS float4 before rounding any, so the loads overlap. With nw
 * (MLXN_MM_NORM), x is first normalised: x[i] * inv * nw[i]; when one
 * round of loads holds all of x, the sum of squares comes from those
 * registers (x is read once), else from a pass of its own first.
 * after_loads() runs once the last round's loads are issued, before any
 * of them is used (the _tma kernels issue their weight copies there, so
 * those queue behind x instead of x behind them). */
template <class F>
__device__ __forceinline__ void x8_quantize(const float *x, const float *nw, float eps,
                                            uint32_t k, int8_t *sq, float *sd, int *si,
                                            F &&after_loads)
{
    const float4 *x4 = (const float4 *)x, *n4w = (const float4 *)nw;
    const uint32_t n4 = k / 4, nt = blockDim.x;
    const bool one_round = n4 <= nt * X8_QLOADS;
    float inv = nw && !one_round ? x8_rms_inv(x, k, eps) : 1.0f;
    for (uint32_t base = 0; base < n4; base += nt * X8_QLOADS) {
        float4 v[X8_QLOADS], g[X8_QLOADS];
#pragma unroll
        for (int j = 0; j < X8_QLOADS; j++) {
            uint32_t i = base + j * nt + threadIdx.x;
            v[j] = i < n4 ? x4[i] : make_float4(0.f, 0.f, 0.f, 0.f);
            if (nw)
                g[j] = i < n4 ? n4w[i] : make_float4(0.f, 0.f, 0.f, 0.f);
        }
        if (base + nt * X8_QLOADS >= n4)
            after_loads();
        if (nw && one_round) {
            double ss = 0.0;
#pragma unroll
            for (int j = 0; j < X8_QLOADS; j++)
                ss += x8_sq(v[j]);
            inv = mlxn__rms_scale(x8_block_sum(ss), k, eps);
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

/* x's rounded block b, as x8_quantize left it in shared memory: its 32
 * codes (mlxn_x8_pos order), scale d and code sum. */
struct x8_xblock {
    int4 a, b;
    float d;
    int is;
};

__device__ __forceinline__ x8_xblock x8_xblock_at(const int8_t *sq, const float *sd,
                                                  const int *si, uint32_t b)
{
    return {((const int4 *)sq)[2 * b], ((const int4 *)sq)[2 * b + 1], sd[b], si[b]};
}

/* acc plus one word's block: (s d) dot + (b d) isum, or (s d) (dot - 8
 * isum) for symmetric weights (b is not read then); s and b are the
 * word's scale and bias bits, x the block of x it meets. */
__device__ __forceinline__ float x8_add_word(float acc, uint4 w, uint16_t s, const uint16_t &b,
                                             const x8_xblock &x, bool bf16, bool sym)
{
    const int dot = x8_dot(w, x.a, x.b);
    const float sf = x8_h2f(s, bf16);
    if (sym)
        return fmaf(sf * x.d, (float)(dot - 8 * x.is), acc);
    acc = fmaf(sf * x.d, (float)dot, acc);
    return fmaf(x8_h2f(b, bf16) * x.d, (float)x.is, acc);
}

struct x8_w {
    const uint4 *w;
    const uint16_t *s, *b;
};

/* One chunk of a warp's stream: U words (each lane's words lane, lane +
 * 32, ... from the chunk's first word) of one row of each of NW weights,
 * with their scales and biases. */
template <int U, int NW> struct x8_stage {
    uint4 w[U][NW];
    uint16_t sc[U][NW], bi[U][NW];
};

/* Where a warp is in its stream: chunk j of row `row` (the row's words
 * 32 U j, ...). */
struct x8_cursor {
    uint32_t row, j;
};

__device__ __forceinline__ void x8_advance(x8_cursor &c, uint32_t cpr, uint32_t step)
{
    if (++c.j == cpr) {
        c.j = 0;
        c.row += step;
    }
}

template <int U, int NW>
__device__ __forceinline__ void x8_load(x8_stage<U, NW> &st, const x8_w *wt, x8_cursor c,
                                        uint32_t row_end, const mlxn_matmul_params &p)
{
    const uint32_t lane = threadIdx.x % 32, nb = p.k / 32, gpr = p.k / p.group_size;
    const uint32_t gshift = p.group_size == 32 ? 0 : p.group_size == 64 ? 1 : 2;
    const bool sym = p.flags & MLXN_MM_SYMMETRIC;
#pragma unroll
    for (int u = 0; u < U; u++) {
        const uint32_t b = c.j * 32 * U + 32 * u + lane;
        const uint64_t g = (uint64_t)c.row * gpr + (b >> gshift);
#pragma unroll
        for (int v = 0; v < NW; v++) {
            if (c.row < row_end && b < nb) {
                st.w[u][v] = __ldg(&wt[v].w[(uint64_t)c.row * nb + b]);
                st.sc[u][v] = __ldg(&wt[v].s[g]);
                st.bi[u][v] = sym ? 0 : __ldg(&wt[v].b[g]);
            } else {
                st.w[u][v] = make_uint4(0, 0, 0, 0);
                st.sc[u][v] = st.bi[u][v] = 0;
            }
        }
    }
}

/* The output of one row from the warp's per-lane sums: silu(gate) * up
 * with two weights, plus add[row] with MLXN_MM_ADD. */
template <int NW>
__device__ __forceinline__ void x8_finish(float acc[NW], uint32_t row, const float *add,
                                          float *out, const mlxn_matmul_params &p)
{
#pragma unroll
    for (int v = 0; v < NW; v++)
#pragma unroll
        for (int o = 16; o; o >>= 1)
            acc[v] += __shfl_xor_sync(~0u, acc[v], o);
    if (threadIdx.x % 32 == 0) {
        float r = acc[0];
        if (NW == 2)
            r = r / (1.0f + __expf(-r)) * acc[NW - 1];
        else if (p.flags & MLXN_MM_ADD)
            r += add[row];
        out[row] = r;
    }
#pragma unroll
    for (int v = 0; v < NW; v++)
        acc[v] = 0.0f;
}

/* Adds a loaded chunk to the lane sums (the caller writes the row after
 * its last chunk, with x8_finish). */
template <int U, int NW>
__device__ __forceinline__ void x8_consume(const x8_stage<U, NW> &st, x8_cursor c,
                                           const int8_t *sq, const float *sd, const int *si,
                                           float acc[NW], const mlxn_matmul_params &p)
{
    const uint32_t lane = threadIdx.x % 32, nb = p.k / 32;
    const bool bf16 = p.flags & MLXN_MM_SCALE_BF16, sym = p.flags & MLXN_MM_SYMMETRIC;
#pragma unroll
    for (int u = 0; u < U; u++) {
        const uint32_t b = c.j * 32 * U + 32 * u + lane;
        if (b >= nb)
            break;
        const x8_xblock xq = x8_xblock_at(sq, sd, si, b);
#pragma unroll
        for (int v = 0; v < NW; v++)
            acc[v] = x8_add_word(acc[v], st.w[u][v], st.sc[u][v], st.bi[u][v], xq, bf16, sym);
    }
}

/* Words per lane per chunk (U) and register stages (S): between
 * (S - 1) U NW and S U NW 16-byte loads in flight per lane. */
#ifndef MLXN_X8_U
#define MLXN_X8_U 2
#endif
#ifndef MLXN_X8_S
#define MLXN_X8_S 4
#endif
#ifndef MLXN_X8_U_SWIGLU
#define MLXN_X8_U_SWIGLU 2
#endif
/* Stages loaded before griddepcontrol.wait by the *_early kernels (W
 * cannot change under them).
 * H200, tg128 q4_0: 511.2 without (the plain kernels), and in one run
 * 540.8 (2) against 552.7 (3). */
#ifndef MLXN_X8_EARLY
#define MLXN_X8_EARLY 3
#endif
#define X8_EARLY(S) (MLXN_X8_EARLY < (S) ? MLXN_X8_EARLY : (S))
#ifndef MLXN_X8_S_SWIGLU
#define MLXN_X8_S_SWIGLU 3
#endif
/* The _early SwiGLU kernel: 4 stages, 3 of them before the wait (H200,
 * tg128 q4_0 in two runs: 555.1 / 560.3 against 553.6 / 558.9 with 3) */
#ifndef MLXN_X8_S_SWIGLU_EARLY
#define MLXN_X8_S_SWIGLU_EARLY 4
#endif

/* Prefetches into L2 before griddepcontrol.wait: the block may be
 * resident while its predecessor finishes, so its first weight bytes can
 * be on their way. */
__device__ __forceinline__ void x8_pf_bytes(const void *a, uint32_t bytes)
{
    const char *c = (const char *)((uintptr_t)a & ~(uintptr_t)127);
    const char *e = (const char *)a + bytes;
    for (c += 128 * (threadIdx.x % 32); c < e; c += 128 * 32)
        asm volatile("prefetch.global.L2 [%0];" ::"l"(c));
}

/* Prefetch one chunk of the stream (words, scales, biases) into L2. */
template <int U, int NW>
__device__ __forceinline__ void x8_prefetch(const x8_w *wt, x8_cursor c, const mlxn_matmul_params &p)
{
    const uint32_t nb = p.k / 32, gpr = p.k / p.group_size, b0 = c.j * 32 * U;
    const uint32_t nw = min(32u * U, nb - b0), wpg = p.group_size / 32;
    const uint64_t g0 = (uint64_t)c.row * gpr + b0 / wpg;
    const uint32_t ng = (nw + wpg - 1) / wpg;
#pragma unroll
    for (int v = 0; v < NW; v++) {
        x8_pf_bytes(&wt[v].w[(uint64_t)c.row * nb + b0], 16 * nw);
        x8_pf_bytes(&wt[v].s[g0], 2 * ng);
        if (!(p.flags & MLXN_MM_SYMMETRIC))
            x8_pf_bytes(&wt[v].b[g0], 2 * ng);
    }
}

/* Warp w of the grid's W warps owns rows w, w + W, w + 2W, ... (at most
 * one row more than any other warp; at any moment the grid reads a
 * contiguous band of W) and streams them as one sequence of chunks
 * through S register stages: a stage is refilled as soon as it is
 * consumed, so S - 1 to S chunks are in flight, across row ends too.
 * (Loading all S first chunks after the wait but before rounding x was
 * 0.5% slower end to end on an H200: more registers live, and the stages
 * hold too little of a row to cover the rounding; loading 3 of them
 * before the wait, where W allows, is 8% faster.) E: stages loaded
 * before the wait (0 but in the *_early kernels). */
template <int NW, int U, int S, int E>
__device__ __forceinline__ void x8_run(const float *x, const float *nw, const x8_w *wt,
                                       const float *add, float *out, const mlxn_matmul_params &p)
{
    extern __shared__ __align__(16) unsigned char x8_smem[];
    int8_t *sq = (int8_t *)x8_smem;
    float *sd = (float *)(x8_smem + p.k);
    int *si = (int *)(sd + p.k / 32);
    const uint32_t n_warps = gridDim.x * X8_WARPS, gw = blockIdx.x * X8_WARPS + threadIdx.x / 32;
    const uint32_t nb = p.k / 32, cpr = (nb + 32 * U - 1) / (32 * U);
    const uint32_t row_end = p.n, step = n_warps;
    x8_cursor lc = {gw, 0}, cc = lc;
    /* The plain kernels prefetch each warp's first chunk into L2. The
     * _early kernels load their first stages into registers instead: an
     * L2 prefetch there as well (of the first chunk, or of all of a W up
     * to 24 MiB after a dispatch that was not a product) made tg128 0.8%
     * slower on an H200 (mlx4: 2%). */
    if (E == 0 && lc.row < row_end)
        x8_prefetch<U, NW>(wt, lc, p);
    static_assert(S >= 1 && S <= 6 && E >= 0 && E <= S, "1 to 6 stages, E of them early");
    x8_stage<U, NW> st[6];
#pragma unroll
    for (int i = 0; i < E; i++) {
        x8_load<U, NW>(st[i], wt, lc, row_end, p);
        x8_advance(lc, cpr, step);
    }
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    MLXN_TL_MARK(1);
    x8_quantize(x, p.flags & MLXN_MM_NORM ? nw : 0, p.eps, p.k, sq, sd, si, [] {});
    __syncthreads();
    MLXN_TL_MARK(2);
#pragma unroll
    for (int i = E; i < S; i++) {
        x8_load<U, NW>(st[i], wt, lc, row_end, p);
        x8_advance(lc, cpr, step);
    }
    float acc[NW];
#pragma unroll
    for (int v = 0; v < NW; v++)
        acc[v] = 0.0f;
    /* the stages by constant index (a loop over them was left rolled,
     * putting them in local memory); a consumed stage is refilled before
     * the row's sums are reduced, so the reduction does not delay loads */
#define X8_STEP(i)                                                                         \
    if (i < S) {                                                                           \
        if (cc.row >= row_end)                                                             \
            return;                                                                        \
        x8_consume<U, NW>(st[i], cc, sq, sd, si, acc, p);                                  \
        const x8_cursor done = cc;                                                         \
        x8_advance(cc, cpr, step);                                                         \
        x8_load<U, NW>(st[i], wt, lc, row_end, p);                                         \
        x8_advance(lc, cpr, step);                                                         \
        if (done.j == cpr - 1)                                                             \
            x8_finish<NW>(acc, done.row, add, out, p);                                     \
    }
    for (;;) {
        X8_STEP(0)
        X8_STEP(1)
        X8_STEP(2)
        X8_STEP(3)
        X8_STEP(4)
        X8_STEP(5)
    }
#undef X8_STEP
}

/* args: x, w, scales, biases, add, out, nw, params (matvec_mlx4's layout
 * with the norm weight nw before params; nw is read only with MLXN_MM_NORM) */
MLXN_KERNEL_BOUNDED(matvec_x8_mlx4, 32 * MLXN_X8_WARPS, MLXN_X8_MIN_BLOCKS)(const float *x, const uint4 *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    const x8_w wt[1] = {{w, s, b}};
    MLXN_TL_BEGIN();
    x8_run<1, MLXN_X8_U, MLXN_X8_S, 0>(x, nw, wt, add, out, p);
    MLXN_TL_END(MLXN_TL_X8, p.n, p.k | (uint64_t)p.flags << 32);
}

/* args: as matvec_x8_mlx4; W does not change while the kernel may run
 * (mlxn_weight.immutable): the first stages load before the wait. A kernel of
 * its own, as one with both paths took more registers (and was 1.5%
 * slower end to end). */
MLXN_KERNEL_BOUNDED(matvec_x8_early_mlx4, 32 * MLXN_X8_WARPS, MLXN_X8_MIN_BLOCKS)(const float *x, const uint4 *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    const x8_w wt[1] = {{w, s, b}};
    MLXN_TL_BEGIN();
    x8_run<1, MLXN_X8_U, MLXN_X8_S, X8_EARLY(MLXN_X8_S)>(x, nw, wt, add, out, p);
    MLXN_TL_END(MLXN_TL_X8_EARLY, p.n, p.k | (uint64_t)p.flags << 32);
}

/* args: x, wg, sg, bg, wu, su, bu, out, nw, params (matvec_swiglu_mlx4's
 * layout with the norm weight nw before params) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_mlx4, 32 * MLXN_X8_WARPS, MLXN_X8_MIN_BLOCKS)(const float *x, const uint4 *wg, const uint16_t *sg, const uint16_t *bg, const uint4 *wu, const uint16_t *su, const uint16_t *bu, float *out, const float *nw, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, sg, bg}, {wu, su, bu}};
    MLXN_TL_BEGIN();
    x8_run<2, MLXN_X8_U_SWIGLU, MLXN_X8_S_SWIGLU, 0>(x, nw, wt, 0, out, p);
    MLXN_TL_END(MLXN_TL_X8_SWIGLU, p.n, p.k | (uint64_t)p.flags << 32);
}

/* args: as matvec_swiglu_x8_mlx4, W immutable (see matvec_x8_early_mlx4) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_early_mlx4, 32 * MLXN_X8_WARPS, MLXN_X8_MIN_BLOCKS)(const float *x, const uint4 *wg, const uint16_t *sg, const uint16_t *bg, const uint4 *wu, const uint16_t *su, const uint16_t *bu, float *out, const float *nw, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, sg, bg}, {wu, su, bu}};
    MLXN_TL_BEGIN();
    x8_run<2, MLXN_X8_U_SWIGLU, MLXN_X8_S_SWIGLU_EARLY, X8_EARLY(MLXN_X8_S_SWIGLU_EARLY)>(
        x, nw, wt, 0, out, p);
    MLXN_TL_END(MLXN_TL_X8_SWIGLU_EARLY, p.n, p.k | (uint64_t)p.flags << 32);
}

/* ---- weights streamed by the copy engine (cp.async.bulk) ------------------------------ */
/* The _tma kernels (W immutable, as the _early ones): each warp streams
 * its rows (w, w + W, ... as in x8_run) as chunks of up to X8T_WORDS
 * words, each chunk's codes, scales and biases copied into one of the
 * warp's S shared-memory slots by cp.async.bulk (the copy engine: one
 * instruction per array moves a chunk, and no registers hold the stages).
 * Lane 0 issues a chunk's copies and the slot's mbarrier counts its bytes;
 * the warp waits on it, consumes the slot and refills it with its next
 * chunk. A warp copies E chunks before griddepcontrol.wait and the rest of
 * its S right after the block's last loads of x are issued: the loads of
 * x queue behind whatever bytes the SM already has in flight, so few
 * early bytes let x arrive sooner, and the copies issued behind it keep
 * the SM's share of DRAM busy while x is rounded (H200, tg128 q4_0, each
 * against the register kernels in the same run: all S early 575.0 / 588.6,
 * E = 1 and the rest after the first round of x 604.6 / 588.5, after the
 * last round 610.6 / 587.7). Lane l takes
 * the words l, l + 32, ... of a chunk: the words and order of sums of
 * x8_run, so the results equal the register kernels' bit for bit. Needs k
 * a multiple of 8 group_size and 16-byte aligned codes, scales and
 * biases (every chunk's scales are then whole 16-byte units). */
#define X8T_WORDS MLXN_X8T_WORDS
#define X8T_SLOT_BYTES(nw) MLXN_X8T_SLOT_BYTES(nw)

__device__ __forceinline__ uint32_t x8t_smem(const void *p)
{
    return (uint32_t)__cvta_generic_to_shared(p);
}

/* One bulk copy into shared memory, completing on the mbarrier bar, with
 * the L2 policy pol. */
__device__ __forceinline__ void x8t_copy(uint32_t dst, const void *src, uint32_t bytes,
                                         uint32_t bar, uint64_t pol)
{
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint"
                 " [%0], [%1], %2, [%3], %4;"
                 ::"r"(dst), "l"(src), "r"(bytes), "r"(bar), "l"(pol) : "memory");
}

__device__ __forceinline__ void x8t_wait(uint32_t bar, uint32_t parity)
{
    uint32_t ok;
    do {
        asm volatile("{\n\t.reg .pred p;\n\t"
                     "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n\t"
                     "selp.u32 %0, 1, 0, p;\n\t}"
                     : "=r"(ok) : "r"(bar), "r"(parity) : "memory");
    } while (!ok);
}

/* Lane 0: the copies of chunk c of NW weights into a slot (codes, then
 * scales, then biases, each NW arrays of X8T_WORDS entries). The weights
 * are read once per token, so they are marked evict-first in L2: the
 * activations, the KV cache and the next kernels' data stay (H200, tg128
 * q4_0 in one run: 628.4 against 612.9 without the hint, mlx4 602.5
 * against 590.7). */
template <int NW>
__device__ __forceinline__ void x8t_issue(uint32_t slot, uint32_t bar, const x8_w *wt,
                                          x8_cursor c, const mlxn_matmul_params &p)
{
    const uint32_t nb = p.k / 32, gpr = p.k / p.group_size, wpg = p.group_size / 32;
    const uint32_t b0 = c.j * X8T_WORDS, nw = min(X8T_WORDS, nb - b0), sb = 2 * nw / wpg;
    const bool sym = p.flags & MLXN_MM_SYMMETRIC;
    const uint64_t g0 = (uint64_t)c.row * gpr + b0 / wpg;
    const uint32_t bytes = NW * (16 * nw + (sym ? sb : 2 * sb));
    uint64_t pol;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(pol));
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes)
                 : "memory");
#pragma unroll
    for (int v = 0; v < NW; v++) {
        x8t_copy(slot + 16 * X8T_WORDS * v, &wt[v].w[(uint64_t)c.row * nb + b0], 16 * nw, bar,
                 pol);
        x8t_copy(slot + 16 * X8T_WORDS * NW + 2 * X8T_WORDS * v, &wt[v].s[g0], sb, bar, pol);
        if (!sym)
            x8t_copy(slot + 18 * X8T_WORDS * NW + 2 * X8T_WORDS * v, &wt[v].b[g0], sb, bar, pol);
    }
}

/* Shared memory of the _tma kernels (MLXN_X8T_SHARED): WARPS x S slots,
 * then the slots' mbarriers, then x rounded (k + k / 32 * 8 bytes). */
template <int NW, int S, int WARPS>
__device__ __forceinline__ void x8t_run(const float *x, const float *nw, const x8_w *wt,
                                        const float *add, float *out, const mlxn_matmul_params &p)
{
    extern __shared__ __align__(16) unsigned char x8_smem[];
    const uint32_t lane = threadIdx.x % 32, wi = threadIdx.x / 32;
    unsigned char *slots = x8_smem + X8T_SLOT_BYTES(NW) * S * wi;
    uint64_t *bars = (uint64_t *)(x8_smem + X8T_SLOT_BYTES(NW) * S * WARPS) + S * wi;
    int8_t *sq = (int8_t *)(x8_smem + X8T_SLOT_BYTES(NW) * S * WARPS + 8 * S * WARPS);
    float *sd = (float *)(sq + p.k);
    int *si = (int *)(sd + p.k / 32);
    const uint32_t n_warps = gridDim.x * WARPS, gw = blockIdx.x * WARPS + wi;
    const uint32_t nb = p.k / 32, cpr = (nb + X8T_WORDS - 1) / X8T_WORDS;
    const uint32_t gshift = p.group_size == 32 ? 0 : p.group_size == 64 ? 1 : 2;
    const bool bf16 = p.flags & MLXN_MM_SCALE_BF16, sym = p.flags & MLXN_MM_SYMMETRIC;
    x8_cursor lc = {gw, 0}, cc = lc;
    if (lane == 0) {
        for (int i = 0; i < S; i++)
            asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(x8t_smem(&bars[i])));
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
        asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
    }
    __syncwarp();
    /* E chunks before the wait, the others once x's loads are issued */
    constexpr int E = (NW == 1 ? MLXN_X8T_E : MLXN_X8T_E_SWIGLU) < S
                          ? (NW == 1 ? MLXN_X8T_E : MLXN_X8T_E_SWIGLU)
                          : S;
    for (int i = 0; i < E && lc.row < p.n; i++) {
        if (lane == 0)
            x8t_issue<NW>(x8t_smem(slots + X8T_SLOT_BYTES(NW) * i), x8t_smem(&bars[i]), wt, lc, p);
        x8_advance(lc, cpr, n_warps);
    }
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    MLXN_TL_MARK(1);
    auto rest = [&] {
        for (int i = E; i < S && lc.row < p.n; i++) {
            if (lane == 0)
                x8t_issue<NW>(x8t_smem(slots + X8T_SLOT_BYTES(NW) * i), x8t_smem(&bars[i]), wt,
                              lc, p);
            x8_advance(lc, cpr, n_warps);
        }
    };
    x8_quantize(x, p.flags & MLXN_MM_NORM ? nw : 0, p.eps, p.k, sq, sd, si, rest);
    __syncthreads();
    MLXN_TL_MARK(2);
    float acc[NW];
#pragma unroll
    for (int v = 0; v < NW; v++)
        acc[v] = 0.0f;
    uint32_t phase = 0;
    for (uint32_t i = 0; cc.row < p.n; i = i + 1 == S ? 0 : i + 1) {
        const unsigned char *slot = slots + X8T_SLOT_BYTES(NW) * i;
        x8t_wait(x8t_smem(&bars[i]), (phase >> i) & 1);
        phase ^= 1u << i;
        const uint4 *cw = (const uint4 *)slot;
        const uint16_t *cs = (const uint16_t *)(slot + 16 * X8T_WORDS * NW);
        const uint16_t *cb = cs + X8T_WORDS * NW;
#pragma unroll
        for (int u = 0; u < (int)(X8T_WORDS / 32); u++) {
            const uint32_t bl = 32 * u + lane, b = cc.j * X8T_WORDS + bl;
            if (b >= nb)
                break;
            const x8_xblock xq = x8_xblock_at(sq, sd, si, b);
#pragma unroll
            for (int v = 0; v < NW; v++)
                acc[v] = x8_add_word(acc[v], cw[X8T_WORDS * v + bl],
                                     cs[X8T_WORDS * v + (bl >> gshift)],
                                     cb[X8T_WORDS * v + (bl >> gshift)], xq, bf16, sym);
        }
        __syncwarp();
        if (lane == 0 && lc.row < p.n) {
            asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
            x8t_issue<NW>(x8t_smem(slot), x8t_smem(&bars[i]), wt, lc, p);
        }
        if (lc.row < p.n)
            x8_advance(lc, cpr, n_warps);
        const x8_cursor done = cc;
        x8_advance(cc, cpr, n_warps);
        if (done.j == cpr - 1)
            x8_finish<NW>(acc, done.row, add, out, p);
    }
}

/* args: as matvec_x8_early_mlx4 (W immutable; the conditions above) */
MLXN_KERNEL_BOUNDED(matvec_x8_tma_mlx4, 32 * MLXN_X8T_WARPS, 1)(const float *x, const uint4 *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    const x8_w wt[1] = {{w, s, b}};
    MLXN_TL_BEGIN();
    x8t_run<1, MLXN_X8T_S, MLXN_X8T_WARPS>(x, nw, wt, add, out, p);
    MLXN_TL_END(MLXN_TL_X8_TMA, p.n, p.k | (uint64_t)p.flags << 32);
}

/* args: as matvec_swiglu_x8_early_mlx4 (W immutable; the conditions above) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_tma_mlx4, 32 * MLXN_X8T_WARPS_SWIGLU, 1)(const float *x, const uint4 *wg, const uint16_t *sg, const uint16_t *bg, const uint4 *wu, const uint16_t *su, const uint16_t *bu, float *out, const float *nw, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, sg, bg}, {wu, su, bu}};
    MLXN_TL_BEGIN();
    x8t_run<2, MLXN_X8T_S_SWIGLU, MLXN_X8T_WARPS_SWIGLU>(x, nw, wt, 0, out, p);
    MLXN_TL_END(MLXN_TL_X8_SWIGLU_TMA, p.n, p.k | (uint64_t)p.flags << 32);
}
