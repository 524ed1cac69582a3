/*
 * matvec.cu: out = x @ W^T (+ add) and the fused SwiGLU product for small
 * m (1..8: decode and speculative steps), every weight format.
 *
 * A block has MLXN_MATVEC_WARPS warps; each warp owns R = rows_per_warp
 * consecutive rows of W (and of Wu for SwiGLU) and walks k in chunks of
 * up to 2 KiB per row (params/matmul.h). Row chunks are copied to the
 * warp's shared memory with 16-byte cp.async (coalesced, all stages but
 * one in flight, no registers held), which turns GGUF's 18/34/210-byte
 * blocks into aligned wide loads. Lanes then decode 8 elements at a time
 * for each of their rows and multiply them with x (loaded once and reused
 * by every row), accumulating sum(q * x) per row and token in f32; the
 * unit's scale and offset are applied per 8 elements.
 * Partial sums are reduced across the warp at the end.
 */
#include "quant.cuh"

__device__ __forceinline__ void cp_async16(void *smem, const void *gmem)
{
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(s), "l"(gmem) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N> __device__ __forceinline__ void cp_async_wait()
{
    asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}

/* Copy bytes [src, src + n) to dst rounded out to 16-byte boundaries;
 * returns where src's first byte lands (dst + (src & 15)). */
__device__ __forceinline__ void stage_copy(uint8_t *dst, const uint8_t *src, uint32_t n, int lane)
{
    uintptr_t a0 = (uintptr_t)src & ~(uintptr_t)15, a1 = ((uintptr_t)src + n + 15) & ~(uintptr_t)15;
    uint32_t n16 = (uint32_t)((a1 - a0) / 16);
    for (uint32_t i = lane; i < n16; i += 32)
        cp_async16(dst + 16 * i, (const void *)(a0 + 16 * i));
}

template <int F, int R, int NW, int MT>
__device__ __forceinline__ void matvec_body(const float *__restrict__ x, const wptr *w,
                                            const float *add, float *out,
                                            const mlxn_matmul_params &p, uint8_t *smem)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const uint64_t row0 = ((uint64_t)blockIdx.x * MLXN_MATVEC_WARPS + warp) * R;
    if (row0 >= p.n)
        return;
    /* A chunk: U units of 256 elements; lane l decodes elements
     * 8 * (32 j + l) .. +7 of it for j < U (coalesced x loads per j). */
    const uint32_t b256 = fmt_chunk_bytes<F>(p.bits), U = mlxn_matvec_units(b256);
    const uint32_t cb = b256 * U, ce = MLXN_MATVEC_CHUNK * U, sb = mlxn_matvec_stage_bytes(cb);
    uint8_t *ws = smem + (size_t)warp * MLXN_MATVEC_STAGES * R * NW * sb;
    const uint32_t nchunks = (p.k + ce - 1) / ce;
    const int nrows = p.n - row0 < (uint64_t)R ? (int)(p.n - row0) : R;

    /* Issue the copies of chunk c (an empty group past the end). */
    auto issue = [&](uint32_t c) {
        if (c < nchunks) {
            uint64_t off = (uint64_t)c * cb;
            uint32_t n = (uint32_t)(p.row_bytes - off < cb ? p.row_bytes - off : cb);
            uint8_t *st = ws + (size_t)(c % MLXN_MATVEC_STAGES) * R * NW * sb;
            for (int v = 0; v < NW; v++)
                for (int r = 0; r < nrows; r++)
                    stage_copy(st + (v * R + r) * sb, row_ptr(w[v], row0 + r, p) + off, n, lane);
        }
        cp_async_commit();
    };

    float acc[NW][R][MT];
#pragma unroll
    for (int v = 0; v < NW; v++)
#pragma unroll
        for (int r = 0; r < R; r++)
#pragma unroll
            for (int t = 0; t < MT; t++)
                acc[v][r][t] = 0.0f;

#pragma unroll
    for (int c = 0; c < MLXN_MATVEC_STAGES - 1; c++)
        issue(c);
    for (uint32_t c = 0; c < nchunks; c++) {
        issue(c + MLXN_MATVEC_STAGES - 1);
        cp_async_wait<MLXN_MATVEC_STAGES - 1>();
        __syncwarp();
        const uint8_t *st = ws + (size_t)(c % MLXN_MATVEC_STAGES) * R * NW * sb;
        const uint64_t off = (uint64_t)c * cb;
        const uint8_t *rb[NW][R];
#pragma unroll
        for (int v = 0; v < NW; v++)
#pragma unroll
            for (int r = 0; r < R; r++) {
                int rr = r < nrows ? r : 0; /* rows past n read row 0's copy */
                const uint8_t *src = row_ptr(w[v], row0 + rr, p) + off;
                rb[v][r] = st + (v * R + rr) * sb + ((uintptr_t)src & 15);
            }
#pragma unroll
        for (uint32_t j = 0; j < U; j++) {
            const uint32_t u = 32 * j + lane;
            if (c * ce + 8 * u >= p.k)
                break;
            /* Decode this lane's unit of every row once ... */
            float q[NW][R][8], s[NW][R][2], o[NW][R][2];
            uint32_t xo[2];
#pragma unroll
            for (int v = 0; v < NW; v++)
#pragma unroll
                for (int r = 0; r < R; r++)
                    decode_mv<F>(rb[v][r], u, c * ce, w[v], row0 + (r < nrows ? r : 0), p,
                                 q[v][r], s[v][r], o[v][r], xo);
            /* ... then multiply with x, one token at a time (0 past k). */
#pragma unroll
            for (int t = 0; t < MT; t++) {
                if (t >= (int)p.m)
                    break;
                float xv[8], xs[2] = {0.0f, 0.0f};
#pragma unroll
                for (int h = 0; h < 2; h++) {
                    const uint32_t e = c * ce + xo[h];
                    const float *xr = x + (uint64_t)t * p.k + e;
                    if (e + 4 <= p.k && ((uintptr_t)xr & 15) == 0) {
                        float4 a = *(const float4 *)xr;
                        xv[4 * h] = a.x, xv[4 * h + 1] = a.y, xv[4 * h + 2] = a.z, xv[4 * h + 3] = a.w;
                    } else {
#pragma unroll
                        for (int i = 0; i < 4; i++)
                            xv[4 * h + i] = e + i < p.k ? xr[i] : 0.0f;
                    }
                    if (fmt_has_offset<F>::value)
#pragma unroll
                        for (int i = 0; i < 4; i++)
                            xs[h] += xv[4 * h + i];
                }
#pragma unroll
                for (int v = 0; v < NW; v++)
#pragma unroll
                    for (int r = 0; r < R; r++) {
                        float d0 = 0.0f, d1 = 0.0f;
#pragma unroll
                        for (int i = 0; i < 4; i++) {
                            d0 = fmaf(q[v][r][i], xv[i], d0);
                            d1 = fmaf(q[v][r][4 + i], xv[4 + i], d1);
                        }
                        float a = acc[v][r][t];
                        if (F == FMT_Q4_K) {
                            a = fmaf(s[v][r][0], d0, a);
                            a = fmaf(s[v][r][1], d1, a);
                        } else {
                            a = fmaf(s[v][r][0], d0 + d1, a);
                        }
                        if (fmt_has_offset<F>::value) {
                            if (F == FMT_Q4_K) {
                                a = fmaf(o[v][r][0], xs[0], a);
                                a = fmaf(o[v][r][1], xs[1], a);
                            } else {
                                a = fmaf(o[v][r][0], xs[0] + xs[1], a);
                            }
                        }
                        acc[v][r][t] = a;
                    }
            }
        }
        __syncwarp();
    }
    cp_async_wait<0>();

#pragma unroll
    for (int v = 0; v < NW; v++)
#pragma unroll
        for (int r = 0; r < R; r++)
#pragma unroll
            for (int t = 0; t < MT; t++)
                acc[v][r][t] = mlxn_warp_sum(acc[v][r][t]);
    if (lane != 0)
        return;
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int t = 0; t < MT; t++) {
            if (r >= nrows || t >= (int)p.m)
                continue;
            uint64_t i = (uint64_t)t * p.ldo + row0 + r;
            if (NW == 2) {
                float g = acc[0][r][t];
                out[i] = g / (1.0f + __expf(-g)) * acc[NW - 1][r][t];
            } else {
                out[i] = (p.flags & MLXN_MM_ADD) ? add[i] + acc[0][r][t] : acc[0][r][t];
            }
        }
}

template <int F, int NW>
__device__ __forceinline__ void matvec_run(const float *x, const wptr *w, const float *add, float *out,
                                           const mlxn_matmul_params &p)
{
    extern __shared__ __align__(16) uint8_t smem[];
    MLXN_PDL_ENTER();
    /* m > 2 and the SwiGLU product run with one row per warp (the op asks
     * for it; gate and up already share each load of x). */
    if (NW == 2) {
        if (p.m == 1)
            matvec_body<F, 1, NW, 1>(x, w, add, out, p, smem);
        else if (p.m == 2)
            matvec_body<F, 1, NW, 2>(x, w, add, out, p, smem);
        else if (p.m <= 4)
            matvec_body<F, 1, NW, 4>(x, w, add, out, p, smem);
        else
            matvec_body<F, 1, NW, 8>(x, w, add, out, p, smem);
    } else if (p.m == 1) {
        if (p.rows_per_warp >= 4)
            matvec_body<F, 4, NW, 1>(x, w, add, out, p, smem);
        else if (p.rows_per_warp == 2)
            matvec_body<F, 2, NW, 1>(x, w, add, out, p, smem);
        else
            matvec_body<F, 1, NW, 1>(x, w, add, out, p, smem);
    } else if (p.m == 2) {
        if (p.rows_per_warp >= 4)
            matvec_body<F, 4, NW, 2>(x, w, add, out, p, smem);
        else if (p.rows_per_warp == 2)
            matvec_body<F, 2, NW, 2>(x, w, add, out, p, smem);
        else
            matvec_body<F, 1, NW, 2>(x, w, add, out, p, smem);
    } else if (p.m <= 4) {
        matvec_body<F, 1, NW, 4>(x, w, add, out, p, smem);
    } else {
        matvec_body<F, 1, NW, 8>(x, w, add, out, p, smem);
    }
}

template <int F>
__device__ __forceinline__ void mv(const float *x, const uint8_t *w, const float *add, float *out,
                                   mlxn_matmul_params p)
{
    wptr wp[1] = {{w, 0, 0}};
    matvec_run<F, 1>(x, wp, add, out, p);
}

template <int F>
__device__ __forceinline__ void mv_mlx(const float *x, const uint8_t *w, const uint16_t *s,
                                       const uint16_t *b, const float *add, float *out,
                                       mlxn_matmul_params p)
{
    wptr wp[1] = {{w, s, b}};
    matvec_run<F, 1>(x, wp, add, out, p);
}

template <int F>
__device__ __forceinline__ void mv_swiglu(const float *x, const uint8_t *wg, const uint8_t *wu,
                                          float *out, mlxn_matmul_params p)
{
    wptr wp[2] = {{wg, 0, 0}, {wu, 0, 0}};
    matvec_run<F, 2>(x, wp, 0, out, p);
}

template <int F>
__device__ __forceinline__ void mv_swiglu_mlx(const float *x, const uint8_t *wg, const uint16_t *sg,
                                              const uint16_t *bg, const uint8_t *wu,
                                              const uint16_t *su, const uint16_t *bu, float *out,
                                              mlxn_matmul_params p)
{
    wptr wp[2] = {{wg, sg, bg}, {wu, su, bu}};
    matvec_run<F, 2>(x, wp, 0, out, p);
}

/* args: x, w, add, out, params (MLX: x, w, scales, biases, add, out, params) */
MLXN_KERNEL(matvec_f32)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mv<FMT_F32>(x, w, add, out, p); }
MLXN_KERNEL(matvec_f16)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mv<FMT_F16>(x, w, add, out, p); }
MLXN_KERNEL(matvec_bf16)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mv<FMT_BF16>(x, w, add, out, p); }
MLXN_KERNEL(matvec_q4_0)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mv<FMT_Q4_0>(x, w, add, out, p); }
MLXN_KERNEL(matvec_q8_0)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mv<FMT_Q8_0>(x, w, add, out, p); }
MLXN_KERNEL(matvec_q4_k)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mv<FMT_Q4_K>(x, w, add, out, p); }
MLXN_KERNEL(matvec_q6_k)(const float *x, const uint8_t *w, const float *add, float *out, mlxn_matmul_params p) { mv<FMT_Q6_K>(x, w, add, out, p); }
MLXN_KERNEL(matvec_mlx4)(const float *x, const uint8_t *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, mlxn_matmul_params p) { mv_mlx<FMT_MLX4>(x, w, s, b, add, out, p); }
MLXN_KERNEL(matvec_mlx8)(const float *x, const uint8_t *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, mlxn_matmul_params p) { mv_mlx<FMT_MLX8>(x, w, s, b, add, out, p); }
MLXN_KERNEL(matvec_mlx)(const float *x, const uint8_t *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, mlxn_matmul_params p) { mv_mlx<FMT_MLX>(x, w, s, b, add, out, p); }

/* args: x, wg, wu, out, params (MLX: x, wg, sg, bg, wu, su, bu, out, params) */
MLXN_KERNEL(matvec_swiglu_f32)(const float *x, const uint8_t *wg, const uint8_t *wu, float *out, mlxn_matmul_params p) { mv_swiglu<FMT_F32>(x, wg, wu, out, p); }
MLXN_KERNEL(matvec_swiglu_f16)(const float *x, const uint8_t *wg, const uint8_t *wu, float *out, mlxn_matmul_params p) { mv_swiglu<FMT_F16>(x, wg, wu, out, p); }
MLXN_KERNEL(matvec_swiglu_bf16)(const float *x, const uint8_t *wg, const uint8_t *wu, float *out, mlxn_matmul_params p) { mv_swiglu<FMT_BF16>(x, wg, wu, out, p); }
MLXN_KERNEL(matvec_swiglu_q4_0)(const float *x, const uint8_t *wg, const uint8_t *wu, float *out, mlxn_matmul_params p) { mv_swiglu<FMT_Q4_0>(x, wg, wu, out, p); }
MLXN_KERNEL(matvec_swiglu_q8_0)(const float *x, const uint8_t *wg, const uint8_t *wu, float *out, mlxn_matmul_params p) { mv_swiglu<FMT_Q8_0>(x, wg, wu, out, p); }
MLXN_KERNEL(matvec_swiglu_q4_k)(const float *x, const uint8_t *wg, const uint8_t *wu, float *out, mlxn_matmul_params p) { mv_swiglu<FMT_Q4_K>(x, wg, wu, out, p); }
MLXN_KERNEL(matvec_swiglu_q6_k)(const float *x, const uint8_t *wg, const uint8_t *wu, float *out, mlxn_matmul_params p) { mv_swiglu<FMT_Q6_K>(x, wg, wu, out, p); }
MLXN_KERNEL(matvec_swiglu_mlx4)(const float *x, const uint8_t *wg, const uint16_t *sg, const uint16_t *bg, const uint8_t *wu, const uint16_t *su, const uint16_t *bu, float *out, mlxn_matmul_params p) { mv_swiglu_mlx<FMT_MLX4>(x, wg, sg, bg, wu, su, bu, out, p); }
MLXN_KERNEL(matvec_swiglu_mlx8)(const float *x, const uint8_t *wg, const uint16_t *sg, const uint16_t *bg, const uint8_t *wu, const uint16_t *su, const uint16_t *bu, float *out, mlxn_matmul_params p) { mv_swiglu_mlx<FMT_MLX8>(x, wg, sg, bg, wu, su, bu, out, p); }
MLXN_KERNEL(matvec_swiglu_mlx)(const float *x, const uint8_t *wg, const uint16_t *sg, const uint16_t *bg, const uint8_t *wu, const uint16_t *su, const uint16_t *bu, float *out, mlxn_matmul_params p) { mv_swiglu_mlx<FMT_MLX>(x, wg, sg, bg, wu, su, bu, out, p); }
