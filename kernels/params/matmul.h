/*
 * params/matmul.h: parameters of the matrix-product kernels, shared by the
 * ops, the CPU kernels and the CUDA kernels.
 *
 * Every product is out = x @ W^T: x (m, k) f32, W (n, k) in the kernel's
 * format, out (m, ldo) f32 (the first n columns are written).
 *   matvec_<f>          m <= 8; args x, W..., add, out, params
 *   matvec_swiglu_<f>   m <= 8; out = silu(x @ Wg^T) * (x @ Wu^T);
 *                       args x, Wg..., Wu..., out, params
 *   matmul_<f>          any m (tiled); args x, W..., add, out, params
 *   dequant_<f>         out (n, k) = W in f32, f16 or bf16; args W..., out, params
 *   swiglu_join_f32     out (m, n) = silu(gu[:, :n]) * gu[:, n:2n]; gu (m, 2n)
 * "W..." is one buffer for dense and GGUF formats, and w (U32), scales,
 * biases for MLX affine formats (mlx4, mlx8, mlx for 2/3/5/6 bits).
 */
#ifndef MLXN_PARAMS_MATMUL_H
#define MLXN_PARAMS_MATMUL_H

#include "params/half.h"

#include <stdint.h>

enum {
    MLXN_MM_ADD = 1u << 0,        /* out = x @ W^T + add (add may alias out) */
    MLXN_MM_SCALE_BF16 = 1u << 1, /* MLX scales and biases are bf16, else f16 */
    MLXN_MM_OUT_F16 = 1u << 2,    /* dequant_*: f16 output */
    MLXN_MM_OUT_BF16 = 1u << 3,   /* dequant_*: bf16 output (else f32) */
    /* MLX affine without biases: w = s * (q - 2^(bits-1)) (GGUF Q4_0
     * repacked at load); the biases slot holds the scales again. */
    MLXN_MM_SYMMETRIC = 1u << 4,
    /* matvec_x8_*: x is first RMS-normalised with the f32 weight nw
     * (x[i] * (1 / sqrt(mean(x^2) + eps)) * nw[i], the sum of squares in
     * float64 as rms_norm's CPU kernel) and then rounded to 8 bits. */
    MLXN_MM_NORM = 1u << 5,
    /* matvec_x8_*: x is given rounded, as an x8 row (below) a producer
     * wrote (round_x8_f32, or a product with MLXN_MM_X8_OUT); with the
     * same codes the results equal those from the f32 row bit for bit.
     * Not with MLXN_MM_NORM. */
    MLXN_MM_X8_IN = 1u << 6,
    /* matvec_swiglu_x8_tma_*: out is also written as an x8 row to the
     * kernel's x8o argument (each block of 32 outputs rounded by one warp
     * once all 32 reached their slots). n a multiple of 32, at most 32
     * rows per warp of the grid. */
    MLXN_MM_X8_OUT = 1u << 7
};

/* An x8 row: one f32 row of k values (k a multiple of 32) rounded by the
 * rule of matvec_x8_* below, laid out as the k codes in element order,
 * then d (f32) and isum (int32) of each block of 32; then, for a producer
 * that rounds its own output (MLXN_MM_X8_OUT), one 8-byte slot per value:
 * its f32 bits and a tag that each such dispatch raises by one for every
 * slot (zero the buffer when it is made, so the tags of a block agree).
 * Rows of an x8 buffer are MLXN_X8_ROW_BYTES apart. */
#define MLXN_X8_D_OFF(k) ((uint64_t)(k))
#define MLXN_X8_ISUM_OFF(k) (MLXN_X8_D_OFF(k) + (uint64_t)(k) / 8u)
#define MLXN_X8_SLOT_OFF(k) (MLXN_X8_ISUM_OFF(k) + (uint64_t)(k) / 8u)
#define MLXN_X8_ROW_BYTES(k) ((MLXN_X8_SLOT_OFF(k) + 8u * (uint64_t)(k) + 15u) / 16u * 16u)

/* Rows of x above which ops use the prefill path instead of matvec. */
#define MLXN_MATVEC_MAX_M 8

/* CUDA matvec geometry: blocks of MLXN_MATVEC_WARPS warps, each warp owns
 * rows_per_warp rows of W and streams them through shared memory in chunks
 * of mlxn_matvec_units() x MLXN_MATVEC_CHUNK elements (up to 2 KiB of a
 * row), MLXN_MATVEC_STAGES chunks resident (all but one in flight). A
 * staged row chunk of b bytes takes mlxn_matvec_stage_bytes(b) (slack for
 * rows that do not start 16-byte aligned). */
#define MLXN_MATVEC_WARPS 4
#define MLXN_MATVEC_CHUNK 256
#define MLXN_MATVEC_STAGES 3

static inline MLXN__HD uint32_t mlxn_matvec_stage_bytes(uint32_t chunk_bytes)
{
    return (chunk_bytes + 15u) / 16u * 16u + 16u;
}

/* Chunk length in units of MLXN_MATVEC_CHUNK elements for a format whose
 * MLXN_MATVEC_CHUNK elements take `bytes` bytes: the largest power of two
 * up to 8 with a chunk of at most 2 KiB. */
static inline MLXN__HD uint32_t mlxn_matvec_units(uint32_t bytes)
{
    uint32_t u = 8;
    while (u > 1 && u * bytes > 2048u)
        u /= 2;
    return u;
}

/* ---- int8 activations (matvec_x8_*) ------------------------------------
 * One row of x (k a multiple of 32) is rounded in blocks of 32 values:
 * amax = max |x[i]| of the block (by the bits of |x|, so NaN and Inf
 * count), d = amax / 127 and q[i] = rne(x[i] * (1 / d)) (|q| <= 127); a
 * block with amax < 2^-100 has d = 0 and q = 0; a block holding Inf or NaN
 * has d = Inf or NaN and q = 0, so every output it touches is NaN. With
 * isum = sum q[i], a weight block of 4-bit codes c, scale s and bias b
 * adds (s * d) * sum(c * q) + (b * d) * isum to the dot product (sums of
 * integers exact); symmetric weights (b = -8 s) add (s * d) * (sum(c * q)
 * - 8 isum). The product computed is x^ @ W^T for x^ = d * q. */
#define MLXN_X8_MAX_K 36864u
/* x rounded in a block's shared memory: the codes (MLXN_X8_SQ_BYTES; for
 * the GGUF K formats, nat = 1, in element order with each 4 blocks of 32
 * codes followed by 16 bytes of padding, so the lanes of a warp, 4 blocks
 * apart, read different banks), then d and isum per block. */
#define MLXN_X8_SQ_BYTES(k, nat) ((k) + ((nat) ? (k) / 8u : 0u))
#define MLXN_X8_XBYTES(k, nat) (MLXN_X8_SQ_BYTES(k, nat) + (k) / 32u * 8u)
/* Geometry of matvec_x8_*: blocks of MLXN_X8_WARPS warps, at most
 * MLXN_X8_BLOCKS_PER_SM per SM launched (the kernels split the rows among
 * the grid's warps, whatever its size), and
 * launch bounds that guarantee room for MLXN_X8_MIN_BLOCKS per SM. One
 * block of 16 warps per SM beat two of 8 (tg128 +9% on an H200): every
 * block rounds all of x, so fewer blocks read x from L2 fewer times.
 * Build-time tunables (-D...). */
#ifndef MLXN_X8_BLOCKS_PER_SM
#define MLXN_X8_BLOCKS_PER_SM 1u
#endif
#ifndef MLXN_X8_MIN_BLOCKS
#define MLXN_X8_MIN_BLOCKS 1
#endif
#ifndef MLXN_X8_WARPS
#define MLXN_X8_WARPS 16 /* warps per block */
#endif
/* The _tma kernels (weights copied into shared memory by cp.async.bulk,
 * kernels/cuda/matvec_x8_tma.cu): chunks of MLXN_X8T_WORDS 16-byte words of a
 * row, MLXN_X8T_S (SwiGLU: _S_SWIGLU) slots per warp, MLXN_X8T_E (_E_SWIGLU)
 * of them copied before griddepcontrol.wait, MLXN_X8T_WARPS
 * (_WARPS_SWIGLU) warps per block; shared memory MLXN_X8T_SHARED(weights,
 * slots, k, warps). MLXN_X8T=0 at build time keeps the register kernels.
 * H200, tg128 q4_0, each against these settings in the same run (before
 * the copies moved behind the last loads of x): S = 4 within 0.15% either
 * way in two runs; E = 2 597.1 against 605.3; both SwiGLU slots early
 * 588.6; 64-word chunks (more, smaller copies) 407.7 against 578.2; 80 KiB
 * per block (S = 2, 8-warp SwiGLU blocks: two blocks of one kernel then
 * land on one SM while others idle) 451.8 against 588.5 (the register
 * kernels). */
#ifndef MLXN_X8T
#define MLXN_X8T 1
#endif
#ifndef MLXN_X8T_WORDS
#define MLXN_X8T_WORDS 128u
#endif
#ifndef MLXN_X8T_S
#define MLXN_X8T_S 3
#endif
#ifndef MLXN_X8T_S_SWIGLU
#define MLXN_X8T_S_SWIGLU 2
#endif
#ifndef MLXN_X8T_E
#define MLXN_X8T_E 1
#endif
#ifndef MLXN_X8T_E_SWIGLU
#define MLXN_X8T_E_SWIGLU 1
#endif
#ifndef MLXN_X8T_WARPS
#define MLXN_X8T_WARPS 16
#endif
#ifndef MLXN_X8T_WARPS_SWIGLU
#define MLXN_X8T_WARPS_SWIGLU 16
#endif
/* A slot holds a chunk of X8T_WORDS words' elements of nw weights: MLX
 * 4-bit codes, scales and biases (20 bytes per word; GGUF Q4_K: 18 bytes,
 * X8T_WORDS / 8 blocks of 144; Q8_0: X8T_WORDS / 2 blocks of 34) or, q6k,
 * X8T_WORDS / 8 GGUF Q6_K blocks of 210 bytes each. odd: the _tma_odd
 * kernels (rows that do not start on 16-byte boundaries, copied from the
 * boundary before): 16 more bytes per Q6_K weight (the Q8_0 and MLX 8-bit
 * slots have room already). */
#define MLXN_X8T_SLOT_BYTES(nw, q6k, odd)                                          \
    ((nw) * ((q6k) ? MLXN_X8T_WORDS / 8u * 210u + ((odd) ? 16u : 0u) : 20u * MLXN_X8T_WORDS))
/* The dense 16-bit kernels (matvec_tma_bf16, _f16 and their SwiGLU
 * forms): the int8 kernels' slots (X8T_WORDS words = 1024 elements a
 * chunk), then x in f32. */
#define MLXN_X8T_DENSE_SHARED(nw, s, k, warps)                                     \
    ((MLXN_X8T_SLOT_BYTES(nw, 0, 0) + 8u) * (s) * (warps) + 4u * (k))
/* the most dynamic shared memory a block may ask for on sm_90 (227 KiB) */
#define MLXN_X8T_MAX_SHARED (227u * 1024u)
#define MLXN_X8T_SHARED(nw, s, k, warps, nat, q6k, odd)                            \
    ((MLXN_X8T_SLOT_BYTES(nw, q6k, odd) + 8u) * (s) * (warps) + MLXN_X8_XBYTES(k, nat))

/* The scale d of a block whose largest |x| has the f32 bits amax_bits;
 * *inv = the multiplier of x before rounding. */
static inline MLXN__HD float mlxn_x8_scale(uint32_t amax_bits, float *inv)
{
    if (amax_bits >= 0x7f800000u) { /* Inf or NaN */
        *inv = 0.0f;
        return mlxn__f32_from_bits(amax_bits);
    }
    if (amax_bits < 0x0d800000u) { /* below 2^-100 */
        *inv = 0.0f;
        return 0.0f;
    }
    float d = mlxn__f32_from_bits(amax_bits) / 127.0f;
    *inv = 1.0f / d;
    return d;
}

/* rne(v) of v = x * inv (|v| <= 127 after rounding; 0 for the NaN of an
 * Inf times 0). */
static inline MLXN__HD int mlxn_x8_round(float v)
{
#ifdef __CUDA_ARCH__
    return __float2int_rn(v);
#else
    return v == v ? (int)__builtin_rintf(v) : 0;
#endif
}

/* Where element i (0..31) of a block sits among the block's 32 int8
 * codes: within each 8, even elements first (the low nibbles of the bytes
 * of a 4-bit word), then odd ones. */
static inline MLXN__HD uint32_t mlxn_x8_pos(uint32_t i)
{
    uint32_t j = i & 7u;
    return (i & ~7u) + ((j & 1u) ? 4u + j / 2u : j / 2u);
}

/* CUDA tiled matmul: 64 x 64 outputs per block of 256 threads. */
#define MLXN_MATMUL_TILE 64

typedef struct mlxn_matmul_params {
    uint32_t m;          /* rows of x and out */
    uint32_t n;          /* rows of W: output features */
    uint32_t k;          /* inner dimension */
    uint32_t ldo;        /* elements between rows of out (>= n) */
    uint32_t flags;      /* MLXN_MM_* */
    uint32_t bits;       /* MLX affine: 2, 3, 4, 5, 6 or 8 */
    uint32_t group_size; /* MLX affine: 32, 64 or 128 */
    uint32_t rows_per_warp; /* CUDA matvec: rows per warp (1, 2 or 4) */
    uint64_t row_bytes;  /* bytes of one row of W (w buffer) */
    float eps;           /* MLXN_MM_NORM: the norm's epsilon */
} mlxn_matmul_params;

#endif /* MLXN_PARAMS_MATMUL_H */
