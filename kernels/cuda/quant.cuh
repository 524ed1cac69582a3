/*
 * quant.cuh: device-side decoding of every weight format, shared by the
 * matvec, tiled matmul, dequant and embed kernels. The unit of decoding is
 * 8 consecutive elements e0..e0+7 of a row (e0 a multiple of 8): the
 * format returns q[8] and an affine pair (s, o) with w[i] = s * q[i] + o.
 * s * q is exact in f32 for every format, so fused or separate multiply
 * and add give the same value as the host reference dequantizers.
 *
 * Row bytes may sit at any 2-byte aligned address (GGUF rows of odd block
 * counts, rows staged in shared memory with an offset); MLX rows of 3, 5 or
 * 6 bits are read byte by byte. Layouts: kernels/params/quant.h.
 */
#ifndef MLXN_QUANT_CUH
#define MLXN_QUANT_CUH

#include "common.cuh"
#include "params/matmul.h"
#include "params/quant.h"

enum { FMT_F32, FMT_F16, FMT_BF16, FMT_Q4_0, FMT_Q8_0, FMT_Q4_K, FMT_Q6_K, FMT_MLX4,
       FMT_MLX8, FMT_MLX };

/* 1 when the format has a per-unit offset o (w = s * q + o). */
template <int F> struct fmt_has_offset { static const bool value = F == FMT_Q4_K || F >= FMT_MLX4; };

/* The weight pointers of one matrix (scales and biases: MLX affine). */
struct wptr {
    const uint8_t *w;
    const uint16_t *s, *b;
};

__device__ __forceinline__ float h2f(uint16_t h) { return __half2float(__ushort_as_half(h)); }
__device__ __forceinline__ float bf2f(uint16_t h) { return __uint_as_float((uint32_t)h << 16); }

__device__ __forceinline__ uint16_t ld_u16(const uint8_t *p) { return *(const uint16_t *)p; }

/* Byte i of v as a float minus `bias`, exactly, without an int-to-float
 * conversion: 0x4B0000bb is 2^23 + bb. */
__device__ __forceinline__ float byte_f(uint32_t v, int i, float bias)
{
    return __int_as_float((int)__byte_perm(v, 0x4B000000u, 0x7440 + i)) - (8388608.0f + bias);
}

/* 4 bytes at a 2-byte aligned address. */
__device__ __forceinline__ uint32_t ld_u32_a2(const uint8_t *p)
{
    return (uint32_t)ld_u16(p) | ((uint32_t)ld_u16(p + 2) << 16);
}

/* Bytes of one row chunk of MLXN_MATVEC_CHUNK elements. */
template <int F> __device__ __forceinline__ uint32_t fmt_chunk_bytes(uint32_t bits)
{
    switch (F) {
    case FMT_F32: return MLXN_MATVEC_CHUNK * 4;
    case FMT_F16:
    case FMT_BF16: return MLXN_MATVEC_CHUNK * 2;
    case FMT_Q4_0: return MLXN_MATVEC_CHUNK / 32 * 18;
    case FMT_Q8_0: return MLXN_MATVEC_CHUNK / 32 * 34;
    case FMT_Q4_K: return 144;
    case FMT_Q6_K: return 210;
    case FMT_MLX4: return MLXN_MATVEC_CHUNK / 2;
    case FMT_MLX8: return MLXN_MATVEC_CHUNK;
    default: return MLXN_MATVEC_CHUNK / 8 * bits;
    }
}

/* Scale and bias of MLX group g of a row. */
__device__ __forceinline__ void mlx_sb(const wptr &w, uint64_t row, uint32_t e, const mlxn_matmul_params &p,
                                       float &s, float &o)
{
    uint64_t g = row * (p.k / p.group_size) + e / p.group_size;
    if (p.flags & MLXN_MM_SCALE_BF16) {
        s = bf2f(w.s[g]);
        o = bf2f(w.b[g]);
    } else {
        s = h2f(w.s[g]);
        o = h2f(w.b[g]);
    }
    if (p.flags & MLXN_MM_SYMMETRIC)
        o = -(float)(1u << (p.bits - 1)) * s;
}

/* Decode elements e..e+7 (e relative to `rb`, the start of the row or of a
 * chunk that begins on a block boundary). For MLX the scale and bias come
 * from global memory (row index `row`, element index `eg` in the row). */
template <int F>
__device__ __forceinline__ void decode8(const uint8_t *rb, uint32_t e, const wptr &w, uint64_t row,
                                        uint32_t eg, const mlxn_matmul_params &p, float q[8],
                                        float &s, float &o)
{
    o = 0.0f;
    s = 1.0f;
    if (F == FMT_F32) {
        /* f32 rows start 4-byte aligned (W's address is); dense rows may
         * end inside the unit: nothing past the row is read. */
        const float *b = (const float *)(rb + 4 * e);
        const uint32_t nv = p.k - eg;
#pragma unroll
        for (int i = 0; i < 8; i++)
            q[i] = (uint32_t)i < nv ? b[i] : 0.0f;
    } else if (F == FMT_F16 || F == FMT_BF16) {
        /* rows of an even number of elements: 4-byte aligned */
        const uint32_t *b = (const uint32_t *)(rb + 2 * e);
        const uint32_t nv = p.k - eg;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            uint32_t v = (uint32_t)(2 * i) < nv ? b[i] : 0u;
            q[2 * i] = F == FMT_F16 ? h2f((uint16_t)v) : bf2f((uint16_t)v);
            q[2 * i + 1] = F == FMT_F16 ? h2f((uint16_t)(v >> 16)) : bf2f((uint16_t)(v >> 16));
        }
    } else if (F == FMT_Q4_0) {
        const uint8_t *b = rb + (e / 32) * 18;
        uint32_t j = e % 32;
        s = h2f(ld_u16(b));
        uint32_t w0 = ld_u32_a2(b + 2 + (j & 15)), w1 = ld_u32_a2(b + 6 + (j & 15));
        int sh = j >= 16 ? 4 : 0;
        w0 = (w0 >> sh) & 0x0F0F0F0Fu;
        w1 = (w1 >> sh) & 0x0F0F0F0Fu;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            q[i] = byte_f(w0, i, 8.0f);
            q[4 + i] = byte_f(w1, i, 8.0f);
        }
    } else if (F == FMT_Q8_0) {
        const uint8_t *b = rb + (e / 32) * 34;
        s = h2f(ld_u16(b));
        uint32_t w0 = ld_u32_a2(b + 2 + e % 32) ^ 0x80808080u, w1 = ld_u32_a2(b + 6 + e % 32) ^ 0x80808080u;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            q[i] = byte_f(w0, i, 128.0f);
            q[4 + i] = byte_f(w1, i, 128.0f);
        }
    } else if (F == FMT_Q4_K) {
        const uint8_t *b = rb + (e / 256) * 144;
        uint32_t el = e % 256, g = el / 64, sub = el / 32, l = el % 32;
        const uint8_t *sc = b + 4;
        uint32_t scv, mv;
        if (sub < 4) {
            scv = sc[sub] & 63;
            mv = sc[sub + 4] & 63;
        } else {
            scv = (sc[sub + 4] & 0xF) | ((sc[sub - 4] >> 6) << 4);
            mv = (sc[sub + 4] >> 4) | ((sc[sub] >> 6) << 4);
        }
        s = h2f(ld_u16(b)) * (float)scv;
        o = -(h2f(ld_u16(b + 2)) * (float)mv);
        const uint8_t *qs = b + 16 + 32 * g + l;
        int sh = (el % 64) >= 32 ? 4 : 0;
        uint32_t w0 = (ld_u32_a2(qs) >> sh) & 0x0F0F0F0Fu, w1 = (ld_u32_a2(qs + 4) >> sh) & 0x0F0F0F0Fu;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            q[i] = byte_f(w0, i, 0.0f);
            q[4 + i] = byte_f(w1, i, 0.0f);
        }
    } else if (F == FMT_Q6_K) {
        const uint8_t *b = rb + (e / 256) * 210;
        uint32_t el = e % 256, h = el / 128, r = (el % 128) / 32, l = el % 32;
        s = h2f(ld_u16(b + 208)) * (float)(int8_t)b[192 + 8 * h + l / 16 + 2 * r];
        const uint8_t *ql = b + 64 * h + l + 32 * (r & 1), *qh = b + 128 + 32 * h + l;
        int sl = r >= 2 ? 4 : 0, sh = 2 * r;
        uint32_t v0 = ((ld_u32_a2(ql) >> sl) & 0x0F0F0F0Fu) | (((ld_u32_a2(qh) >> sh) & 0x03030303u) << 4);
        uint32_t v1 = ((ld_u32_a2(ql + 4) >> sl) & 0x0F0F0F0Fu) | (((ld_u32_a2(qh + 4) >> sh) & 0x03030303u) << 4);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            q[i] = byte_f(v0, i, 32.0f);
            q[4 + i] = byte_f(v1, i, 32.0f);
        }
    } else if (F == FMT_MLX4) {
        uint32_t v = *(const uint32_t *)(rb + e / 2);
        uint32_t lo = v & 0x0F0F0F0Fu, hi = (v >> 4) & 0x0F0F0F0Fu;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            q[2 * i] = byte_f(lo, i, 0.0f);
            q[2 * i + 1] = byte_f(hi, i, 0.0f);
        }
        mlx_sb(w, row, eg, p, s, o);
    } else if (F == FMT_MLX8) {
        uint32_t v0 = *(const uint32_t *)(rb + e), v1 = *(const uint32_t *)(rb + e + 4);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            q[i] = byte_f(v0, i, 0.0f);
            q[4 + i] = byte_f(v1, i, 0.0f);
        }
        mlx_sb(w, row, eg, p, s, o);
    } else {
        const uint32_t bits = p.bits;
        const uint8_t *b = rb + e / 8 * bits;
        uint64_t v = 0;
        for (uint32_t i = 0; i < bits; i++)
            v |= (uint64_t)b[i] << (8 * i);
        uint32_t mask = (1u << bits) - 1;
#pragma unroll
        for (int i = 0; i < 8; i++)
            q[i] = __int_as_float((int)(0x4B000000u | ((uint32_t)(v >> (bits * i)) & mask))) - 8388608.0f;
        mlx_sb(w, row, eg, p, s, o);
    }
}

/* The matvec's unit: 8 elements of a chunk, q[0..3] at chunk elements
 * xo[0]..xo[0]+3 and q[4..7] at xo[1]..xo[1]+3, w = s[h] * q + o[h] for
 * half h. For Q4_0 and Q4_K one 32-bit word of nibbles is a unit (low
 * nibbles and high nibbles are 16 or 32 elements apart), halving the bytes
 * read per element; other formats use 8 consecutive elements. Unit u of a
 * chunk starting at row element `base`. */
template <int F>
__device__ __forceinline__ void decode_mv(const uint8_t *rb, uint32_t u, uint32_t base, const wptr &w,
                                          uint64_t row, const mlxn_matmul_params &p, float q[8],
                                          float s[2], float o[2], uint32_t xo[2])
{
    if (F == FMT_Q4_0) {
        const uint8_t *b = rb + (u / 4) * 18;
        const uint32_t t = u % 4;
        s[0] = s[1] = h2f(ld_u16(b));
        o[0] = o[1] = 0.0f;
        uint32_t v = ld_u32_a2(b + 2 + 4 * t);
        uint32_t lo = v & 0x0F0F0F0Fu, hi = (v >> 4) & 0x0F0F0F0Fu;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            q[i] = byte_f(lo, i, 8.0f);
            q[4 + i] = byte_f(hi, i, 8.0f);
        }
        xo[0] = 32 * (u / 4) + 4 * t;
        xo[1] = xo[0] + 16;
    } else if (F == FMT_Q4_K) {
        /* 32 units per block: 4 groups of 64 elements, 8 words each */
        const uint8_t *b = rb + (u / 32) * 144;
        const uint32_t g = (u % 32) / 8, wi = u % 8;
        const uint8_t *sc = b + 4;
        const uint32_t s03 = *(const uint32_t *)sc, m03 = *(const uint32_t *)(sc + 4),
                       hi8 = *(const uint32_t *)(sc + 8);
        float d = h2f(ld_u16(b)), dmin = h2f(ld_u16(b + 2));
#pragma unroll
        for (int h = 0; h < 2; h++) {
            uint32_t scv, mv;
            mlxn_q4_k_sm(2 * g + h, s03, m03, hi8, &scv, &mv);
            s[h] = d * (float)scv;
            o[h] = -(dmin * (float)mv);
        }
        uint32_t v = *(const uint32_t *)(b + 16 + 32 * g + 4 * wi);
        uint32_t lo = v & 0x0F0F0F0Fu, hi = (v >> 4) & 0x0F0F0F0Fu;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            q[i] = byte_f(lo, i, 0.0f);
            q[4 + i] = byte_f(hi, i, 0.0f);
        }
        xo[0] = 256 * (u / 32) + 64 * g + 4 * wi;
        xo[1] = xo[0] + 32;
    } else {
        float ss, oo;
        decode8<F>(rb, 8 * u, w, row, base + 8 * u, p, q, ss, oo);
        s[0] = s[1] = ss;
        o[0] = o[1] = oo;
        xo[0] = 8 * u;
        xo[1] = 8 * u + 4;
    }
}

/* Bytes of one row of W. */
__device__ __forceinline__ const uint8_t *row_ptr(const wptr &w, uint64_t row, const mlxn_matmul_params &p)
{
    return w.w + row * p.row_bytes;
}

#endif /* MLXN_QUANT_CUH */
