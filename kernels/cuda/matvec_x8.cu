/*
 * matvec_x8.cu: the int8-activation kernels with weights in register
 * stages (the parts they share with the copy-engine kernels of
 * matvec_x8_tma.cu are in matvec_x8.cuh).
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
#include "matvec_x8.cuh"

#define X8_WARPS MLXN_X8_WARPS

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

/* Prefetch one chunk of the stream (words, scales, biases; Q4_K: the
 * blocks' bytes) into L2. */
template <int F, int U, int NW>
__device__ __forceinline__ void x8_prefetch(const x8_w *wt, x8_cursor c,
                                            const mlxn_matmul_params &p)
{
    if (F == X8_Q4K) {
        const uint32_t nu = p.k / 128, b0 = c.j * 32 * U, n = min(32u * U, nu - b0);
#pragma unroll
        for (int v = 0; v < NW; v++)
            x8_pf_bytes((const uint8_t *)wt[v].w + (uint64_t)c.row * p.row_bytes + b0 * 72u,
                        n * 72u);
        return;
    }
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
 * before the wait (0 but in the *_early kernels); F: the weight format. */
template <int NW, int U, int S, int E, int F>
__device__ __forceinline__ void x8_run(const float *x, const float *nw, const x8_w *wt,
                                       const float *add, float *out, const mlxn_matmul_params &p)
{
    extern __shared__ __align__(16) unsigned char x8_smem[];
    int8_t *sq = (int8_t *)x8_smem;
    float *sd = (float *)(x8_smem + MLXN_X8_SQ_BYTES(p.k, F == X8_Q4K));
    int *si = (int *)(sd + p.k / 32);
    const uint32_t n_warps = gridDim.x * X8_WARPS, gw = blockIdx.x * X8_WARPS + threadIdx.x / 32;
    const uint32_t nu = p.k / x8_fmt<F, U, NW>::unit_elems(), cpr = (nu + 32 * U - 1) / (32 * U);
    const uint32_t row_end = p.n, step = n_warps;
    x8_cursor lc = {gw, 0}, cc = lc;
    /* The plain kernels prefetch each warp's first chunk into L2. The
     * _early kernels load their first stages into registers instead: an
     * L2 prefetch there as well (of the first chunk, or of all of a W up
     * to 24 MiB after a dispatch that was not a product) made tg128 0.8%
     * slower on an H200 (mlx4: 2%). */
    if (E == 0 && lc.row < row_end)
        x8_prefetch<F, U, NW>(wt, lc, p);
    static_assert(S >= 1 && S <= 6 && E >= 0 && E <= S, "1 to 6 stages, E of them early");
    typename x8_fmt<F, U, NW>::stage st[6];
#pragma unroll
    for (int i = 0; i < E; i++) {
        x8_load<U, NW>(st[i], wt, lc, row_end, p);
        x8_advance(lc, cpr, step);
    }
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    MLXN_TL_MARK(1);
    x8_quantize<F == X8_Q4K>(x, p.flags & MLXN_MM_NORM ? nw : 0, p.eps, p.k, sq, sd, si, [] {},
                             p.flags & MLXN_MM_X8_IN);
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
    x8_run<1, MLXN_X8_U, MLXN_X8_S, 0, X8_MLX4>(x, nw, wt, add, out, p);
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
    x8_run<1, MLXN_X8_U, MLXN_X8_S, X8_EARLY(MLXN_X8_S), X8_MLX4>(x, nw, wt, add, out, p);
    MLXN_TL_END(MLXN_TL_X8_EARLY, p.n, p.k | (uint64_t)p.flags << 32);
}

/* args: x, wg, sg, bg, wu, su, bu, out, nw, x8o, params (matvec_swiglu_mlx4's
 * layout with the norm weight nw and the x8 output x8o before params;
 * only the _tma kernels write x8o, with MLXN_MM_X8_OUT) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_mlx4, 32 * MLXN_X8_WARPS, MLXN_X8_MIN_BLOCKS)(const float *x, const uint4 *wg, const uint16_t *sg, const uint16_t *bg, const uint4 *wu, const uint16_t *su, const uint16_t *bu, float *out, const float *nw, uint8_t *x8o, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, sg, bg}, {wu, su, bu}};
    MLXN_TL_BEGIN();
    x8_run<2, MLXN_X8_U_SWIGLU, MLXN_X8_S_SWIGLU, 0, X8_MLX4>(x, nw, wt, 0, out, p);
    MLXN_TL_END(MLXN_TL_X8_SWIGLU, p.n, p.k | (uint64_t)p.flags << 32);
}

/* args: as matvec_swiglu_x8_mlx4, W immutable (see matvec_x8_early_mlx4) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_early_mlx4, 32 * MLXN_X8_WARPS, MLXN_X8_MIN_BLOCKS)(const float *x, const uint4 *wg, const uint16_t *sg, const uint16_t *bg, const uint4 *wu, const uint16_t *su, const uint16_t *bu, float *out, const float *nw, uint8_t *x8o, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, sg, bg}, {wu, su, bu}};
    MLXN_TL_BEGIN();
    x8_run<2, MLXN_X8_U_SWIGLU, MLXN_X8_S_SWIGLU_EARLY, X8_EARLY(MLXN_X8_S_SWIGLU_EARLY),
           X8_MLX4>(x, nw, wt, 0, out, p);
    MLXN_TL_END(MLXN_TL_X8_SWIGLU_EARLY, p.n, p.k | (uint64_t)p.flags << 32);
}

/* The Q4_K register kernels (weights a running kernel may write; immutable
 * ones take the _tma forms below, H200: tg128 622 against 478 tok/s with
 * a register _early form): one lane unit (80 bytes) per stage and weight,
 * so fewer stages than the MLX 4-bit ones hold as many bytes in flight
 * (MLXN_X8K_S, _SWIGLU; register budget of 128 per thread). */
#ifndef MLXN_X8K_S
#define MLXN_X8K_S 3
#endif
#ifndef MLXN_X8K_S_SWIGLU
#define MLXN_X8K_S_SWIGLU 2
#endif

/* args: x, w, add, out, nw, params (matvec_q4_k's layout with the norm
 * weight nw before params); k a multiple of 256, rows 16-byte aligned */
MLXN_KERNEL_BOUNDED(matvec_x8_q4_k, 32 * MLXN_X8_WARPS, MLXN_X8_MIN_BLOCKS)(const float *x, const uint4 *w, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    const x8_w wt[1] = {{w, 0, 0}};
    MLXN_TL_BEGIN();
    x8_run<1, 1, MLXN_X8K_S, 0, X8_Q4K>(x, nw, wt, add, out, p);
    MLXN_TL_END(MLXN_TL_X8, p.n, p.k | (uint64_t)p.flags << 32);
}

/* args: x, wg, wu, out, nw, x8o, params (matvec_swiglu_q4_k's layout with
 * nw and x8o, as matvec_swiglu_x8_mlx4) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_q4_k, 32 * MLXN_X8_WARPS, MLXN_X8_MIN_BLOCKS)(const float *x, const uint4 *wg, const uint4 *wu, float *out, const float *nw, uint8_t *x8o, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, 0, 0}, {wu, 0, 0}};
    MLXN_TL_BEGIN();
    x8_run<2, 1, MLXN_X8K_S_SWIGLU, 0, X8_Q4K>(x, nw, wt, 0, out, p);
    MLXN_TL_END(MLXN_TL_X8_SWIGLU, p.n, p.k | (uint64_t)p.flags << 32);
}

/* args: x, out8, params (m, k): each row of x (m rows of k f32, k a
 * multiple of 32) rounded into an x8 row (kernels/params/matmul.h) of
 * out8, rows MLXN_X8_ROW_BYTES(k) apart, by the rule of x8_quantize4: one
 * warp per block of 32 values. The rows' slots are not touched. */
MLXN_KERNEL(round_x8_f32)(const float *x, uint8_t *out8, mlxn_matmul_params p)
{
    MLXN_PDL_ENTER();
    const uint32_t lane = threadIdx.x % 32, nb = p.k / 32;
    const uint64_t n_blocks = (uint64_t)p.m * nb, step = (uint64_t)gridDim.x * blockDim.x / 32;
    for (uint64_t i = ((uint64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32; i < n_blocks;
         i += step) {
        const uint32_t r = (uint32_t)(i / nb), b = (uint32_t)(i % nb);
        x8_round_block32(x[(uint64_t)r * p.k + 32 * b + lane],
                         out8 + (uint64_t)r * MLXN_X8_ROW_BYTES(p.k), p.k, b);
    }
}
