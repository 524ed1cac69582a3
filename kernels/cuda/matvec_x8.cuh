/*
 * matvec_x8.cuh: the parts shared by the int8-activation matrix-vector
 * kernels (matvec_x8.cu: weights in register stages; matvec_x8_tma.cu:
 * weights copied into shared memory by the copy engine). They multiply one
 * f32 row x with 4-bit affine weights (MLX 4-bit; symmetric for GGUF Q4_0
 * as the loaders store it) or GGUF Q4_K blocks (and, in the copy-engine
 * kernels only, GGUF Q6_K and Q8_0 blocks and MLX 8-bit words): each block
 * rounds x to 8 bits per 32 values in shared memory
 * (kernels/params/matmul.h), then every lane takes one 16-byte word (32
 * codes) of a row per step (Q4_K: half a 144-byte block, 128 codes) and
 * forms the integer dot product of each 32 codes with 8 __dp4a. Here:
 * rounding x, the dot products, the register stages and the cursor over a
 * warp's rows.
 */
#ifndef MLXN_MATVEC_X8_CUH
#define MLXN_MATVEC_X8_CUH

#include "quant.cuh"
#include "params/elementwise.h"


__device__ __forceinline__ float x8_h2f(uint16_t h, bool bf16) { return bf16 ? bf2f(h) : h2f(h); }

/* 16-byte loads of x in flight per thread. 8 (k = 14336 in one round)
 * made that product 0.45 us faster alone but tg128 1.6% slower on an
 * H200 (more registers in every product); 4 was slower too. */
#ifndef X8_QLOADS
#define X8_QLOADS 2
#endif

/* 4 values of x (elements 4t .. 4t+3 of a block, t = lane % 8) rounded:
 * the 8 lanes of the block reduce with `mask` (every lane of the warp
 * whose block is in range). NAT: codes in element order (GGUF Q4_K's
 * nibbles) with 16 bytes of padding after every 4 blocks
 * (MLXN_X8_SQ_BYTES), else in mlxn_x8_pos order (MLX words). */
template <bool NAT>
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
        sq[b * 32 + (NAT ? 16 * (b / 4) + i0 + j : mlxn_x8_pos(i0 + j))] = (int8_t)q[j];
    if (i0 == 0) {
        sd[b] = d;
        si[b] = s;
    }
}

/* One block of 32 values (lane l holds value l) rounded by the rule of
 * x8_quantize4 into block g of an x8 row of k values (codes in element
 * order, d, isum; kernels/params/matmul.h), by the whole warp; nan_d
 * stores a NaN scale instead of d. */
__device__ __forceinline__ void x8_round_block32(float v, uint8_t *row, uint32_t k, uint32_t g,
                                                 bool nan_d = false)
{
    const uint32_t lane = threadIdx.x % 32;
    uint32_t a = __float_as_uint(v) & 0x7fffffffu;
#pragma unroll
    for (int o = 16; o; o >>= 1)
        a = max(a, __shfl_xor_sync(~0u, a, o));
    float inv, d = mlxn_x8_scale(a, &inv);
    const int q = mlxn_x8_round(v * inv);
    int sum = q;
#pragma unroll
    for (int o = 16; o; o >>= 1)
        sum += __shfl_xor_sync(~0u, sum, o);
    row[32 * g + lane] = (uint8_t)(int8_t)q;
    if (lane == 0) {
        ((float *)(row + MLXN_X8_D_OFF(k)))[g] = nan_d ? __int_as_float(0x7fc00000) : d;
        ((int *)(row + MLXN_X8_ISUM_OFF(k)))[g] = sum;
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

/* x given rounded (MLXN_MM_X8_IN: an x8 row, kernels/params/matmul.h)
 * -> sq, sd, si as x8_quantize leaves them: thread t takes blocks t, t +
 * blockDim.x, ... (two 16-byte loads of codes, d, isum), all loads of a
 * round issued before any is used; codes are stored in mlxn_x8_pos order
 * (within each 8, even elements then odd) or, NAT, padded in element
 * order. after_loads() as in x8_quantize. */
template <bool NAT, class F>
__device__ __forceinline__ void x8_stage_in(const uint8_t *x8, uint32_t k, int8_t *sq,
                                            float *sd, int *si, F &&after_loads)
{
    const uint32_t nb = k / 32;
    const float *xd = (const float *)(x8 + MLXN_X8_D_OFF(k));
    const int *xi = (const int *)(x8 + MLXN_X8_ISUM_OFF(k));
    for (uint32_t base = 0; base < nb; base += blockDim.x) {
        const uint32_t b = base + threadIdx.x;
        uint4 c[2];
        float d = 0.0f;
        int is = 0;
        if (b < nb) {
            c[0] = ((const uint4 *)x8)[2 * b];
            c[1] = ((const uint4 *)x8)[2 * b + 1];
            d = xd[b];
            is = xi[b];
        }
        if (base + blockDim.x >= nb)
            after_loads();
        if (b >= nb)
            continue;
        if (!NAT) {
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const uint4 v = c[h];
                c[h] = make_uint4(__byte_perm(v.x, v.y, 0x6420), __byte_perm(v.x, v.y, 0x7531),
                                  __byte_perm(v.z, v.w, 0x6420), __byte_perm(v.z, v.w, 0x7531));
            }
        }
        uint4 *q = (uint4 *)(sq + 32 * b + (NAT ? 16 * (b / 4) : 0));
        q[0] = c[0];
        q[1] = c[1];
        sd[b] = d;
        si[b] = is;
    }
}

/* x (k f32, 16-byte aligned) -> sq (k int8 in mlxn_x8_pos order, or
 * padded in element order with NAT), sd (d per block), si (isum per
 * block), by the whole block: each thread loads
 * X8_QLOADS float4 before rounding any, so the loads overlap. With nw
 * (MLXN_MM_NORM), x is first normalised: x[i] * inv * nw[i]; when one
 * round of loads holds all of x, the sum of squares comes from those
 * registers (x is read once), else from a pass of its own first.
 * after_loads() runs once the last round's loads are issued, before any
 * of them is used (the _tma kernels issue their weight copies there, so
 * those queue behind x instead of x behind them). in8 (MLXN_MM_X8_IN): x
 * is an x8 row, staged by x8_stage_in. */
template <bool NAT, class F>
__device__ __forceinline__ void x8_quantize(const float *x, const float *nw, float eps,
                                            uint32_t k, int8_t *sq, float *sd, int *si,
                                            F &&after_loads, bool in8 = false)
{
    if (in8) {
        x8_stage_in<NAT>((const uint8_t *)x, k, sq, sd, si, after_loads);
        return;
    }
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
                x8_quantize4<NAT>(v[j], 4 * i, mask, sq, sd, si);
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
 * codes (mlxn_x8_pos order; NAT: element order, padded), scale d and code
 * sum. */
struct x8_xblock {
    int4 a, b;
    float d;
    int is;
};

template <bool NAT = false>
__device__ __forceinline__ x8_xblock x8_xblock_at(const int8_t *sq, const float *sd,
                                                  const int *si, uint32_t b)
{
    const int4 *q = (const int4 *)(sq + 32 * b + (NAT ? 16 * (b / 4) : 0));
    return {q[0], q[1], sd[b], si[b]};
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
 * with two weights, plus add[row] with MLXN_MM_ADD; returned (in every
 * lane for two weights, in lane 0 for one). */
template <int NW>
__device__ __forceinline__ float x8_finish(float acc[NW], uint32_t row, const float *add,
                                           float *out, const mlxn_matmul_params &p)
{
#pragma unroll
    for (int v = 0; v < NW; v++)
#pragma unroll
        for (int o = 16; o; o >>= 1)
            acc[v] += __shfl_xor_sync(~0u, acc[v], o);
    float r = acc[0];
    if (NW == 2)
        r = r / (1.0f + __expf(-r)) * acc[NW - 1];
    else if ((p.flags & MLXN_MM_ADD) && threadIdx.x % 32 == 0)
        r += add[row];
    if (threadIdx.x % 32 == 0)
        out[row] = r;
#pragma unroll
    for (int v = 0; v < NW; v++)
        acc[v] = 0.0f;
    return r;
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

/* ---- GGUF Q4_K blocks (x8_run with X8_Q4K) -------------------------------------------- */
/* A lane's unit is half of a 144-byte block: the block's 16-byte head (d,
 * dmin, the 12 bytes of packed 6-bit scales and mins) and half of its
 * codes (64 bytes: elements 128 h .. 128 h + 127 of the block, sub-blocks
 * 4h .. 4h + 3), read with five 16-byte loads (the head by both lanes of
 * a block). Codes byte 32 c + l holds element 64 c + l (low nibble) and
 * 64 c + 32 + l (high nibble), so x is rounded in element order. */
template <int U, int NW> struct x8k_stage {
    uint4 h[U][NW], q[U][NW][4];
};

template <int U, int NW>
__device__ __forceinline__ void x8_load(x8k_stage<U, NW> &st, const x8_w *wt, x8_cursor c,
                                        uint32_t row_end, const mlxn_matmul_params &p)
{
    const uint32_t lane = threadIdx.x % 32, nu = p.k / 128;
#pragma unroll
    for (int u = 0; u < U; u++) {
        const uint32_t b = c.j * 32 * U + 32 * u + lane;
#pragma unroll
        for (int v = 0; v < NW; v++) {
            if (c.row < row_end && b < nu) {
                const uint4 *blk = (const uint4 *)((const uint8_t *)wt[v].w +
                                                   (uint64_t)c.row * p.row_bytes + (b >> 1) * 144u);
                st.h[u][v] = __ldg(blk);
#pragma unroll
                for (int i = 0; i < 4; i++)
                    st.q[u][v][i] = __ldg(blk + 1 + 4 * (b & 1) + i);
            } else {
                st.h[u][v] = make_uint4(0, 0, 0, 0);
#pragma unroll
                for (int i = 0; i < 4; i++)
                    st.q[u][v][i] = make_uint4(0, 0, 0, 0);
            }
        }
    }
}

/* acc plus sub-block j of a Q4_K block (head h) against x's block x: the
 * sub-block's 32 codes are the nibbles at shift sh of the 32 bytes qa, qb
 * (w = d sc q - dmin m: (d sc xd) dot + (-(dmin m) xd) isum). */
__device__ __forceinline__ float x8k_add_sub(float acc, const uint4 &h, const uint4 &qa,
                                             const uint4 &qb, uint32_t j, int sh,
                                             const x8_xblock &x)
{
    int dot = 0;
    dot = __dp4a((int)((qa.x >> sh) & 0x0F0F0F0Fu), x.a.x, dot);
    dot = __dp4a((int)((qa.y >> sh) & 0x0F0F0F0Fu), x.a.y, dot);
    dot = __dp4a((int)((qa.z >> sh) & 0x0F0F0F0Fu), x.a.z, dot);
    dot = __dp4a((int)((qa.w >> sh) & 0x0F0F0F0Fu), x.a.w, dot);
    dot = __dp4a((int)((qb.x >> sh) & 0x0F0F0F0Fu), x.b.x, dot);
    dot = __dp4a((int)((qb.y >> sh) & 0x0F0F0F0Fu), x.b.y, dot);
    dot = __dp4a((int)((qb.z >> sh) & 0x0F0F0F0Fu), x.b.z, dot);
    dot = __dp4a((int)((qb.w >> sh) & 0x0F0F0F0Fu), x.b.w, dot);
    uint32_t sc, m;
    mlxn_q4_k_sm(j, h.y, h.z, h.w, &sc, &m);
    const float s = h2f((uint16_t)h.x) * (float)sc, b = -(h2f((uint16_t)(h.x >> 16)) * (float)m);
    acc = fmaf(s * x.d, (float)dot, acc);
    return fmaf(b * x.d, (float)x.is, acc);
}

/* acc plus lane unit b of a row (its four sub-blocks) of each of NW
 * weights: heads h, codes q. */
template <int NW>
__device__ __forceinline__ void x8k_add_unit(float acc[NW], const uint4 *h, const uint4 (*q)[4],
                                             uint32_t b, const int8_t *sq, const float *sd,
                                             const int *si)
{
#pragma unroll
    for (int t = 0; t < 4; t++) {
        const x8_xblock xq = x8_xblock_at<true>(sq, sd, si, 4 * b + t);
#pragma unroll
        for (int v = 0; v < NW; v++)
            acc[v] = x8k_add_sub(acc[v], h[v], q[v][2 * (t / 2)], q[v][2 * (t / 2) + 1],
                                 4 * (b & 1) + t, 4 * (t & 1), xq);
    }
}

template <int U, int NW>
__device__ __forceinline__ void x8_consume(const x8k_stage<U, NW> &st, x8_cursor c,
                                           const int8_t *sq, const float *sd, const int *si,
                                           float acc[NW], const mlxn_matmul_params &p)
{
    const uint32_t lane = threadIdx.x % 32, nu = p.k / 128;
#pragma unroll
    for (int u = 0; u < U; u++) {
        const uint32_t b = c.j * 32 * U + 32 * u + lane;
        if (b >= nu)
            break;
        x8k_add_unit<NW>(acc, st.h[u], st.q[u], b, sq, sd, si);
    }
}

/* The weight formats: MLX 4-bit words (and GGUF Q4_0 repacked as
 * symmetric MLX 4-bit), GGUF Q4_K blocks, GGUF Q6_K and Q8_0 blocks and
 * MLX 8-bit words (the copy-engine kernels only). Units (x8_fmt, for
 * x8_run): a lane's share of a row per load (a 16-byte word of 32
 * elements; half a Q4_K block). */
enum { X8_MLX4, X8_Q4K, X8_Q6K, X8_Q80, X8_MLX8, X8_BF16, X8_F16 };
template <int F, int U, int NW> struct x8_fmt {
    typedef x8_stage<U, NW> stage;
    static __device__ __forceinline__ uint32_t unit_elems() { return 32; }
};
template <int U, int NW> struct x8_fmt<X8_Q4K, U, NW> {
    typedef x8k_stage<U, NW> stage;
    static __device__ __forceinline__ uint32_t unit_elems() { return 128; }
};

#endif /* MLXN_MATVEC_X8_CUH */
