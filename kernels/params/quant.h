/*
 * params/quant.h: the block layouts of the GGUF formats mlxn computes with
 * (ggml's layouts, ggml/src/ggml-common.h), shared by the host quantizers,
 * the CPU kernels and the CUDA kernels. Scales are IEEE half bit patterns.
 *
 * MLX affine quantization has no block struct: weights are U32 words with
 * element j of a row at bits [j*bits, (j+1)*bits) of the row's little-endian
 * bit stream, plus one scale and one bias (f16 or bf16) per group of
 * group_size elements: w = scale * q + bias.
 */
#ifndef MLXN_PARAMS_QUANT_H
#define MLXN_PARAMS_QUANT_H

#include "params/half.h"

#include <stdint.h>

#define MLXN_QK 32   /* elements per Q4_0 / Q8_0 block */
#define MLXN_QK_K 256 /* elements per K-quant super-block */

/* w[i] = d * (q[i] - 8); byte j holds element j (low nibble) and j + 16
 * (high nibble). */
typedef struct mlxn_block_q4_0 {
    uint16_t d;
    uint8_t qs[MLXN_QK / 2];
} mlxn_block_q4_0;

/* w[i] = d * qs[i]. */
typedef struct mlxn_block_q8_0 {
    uint16_t d;
    int8_t qs[MLXN_QK];
} mlxn_block_q8_0;

/* 8 sub-blocks of 32: w = d * sc[j] * q - dmin * m[j], sc and m 6-bit
 * (packed in scales[12]); qs byte 32*g + l holds element 64*g + l (low
 * nibble) and 64*g + 32 + l (high nibble). */
typedef struct mlxn_block_q4_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qs[MLXN_QK_K / 2];
} mlxn_block_q4_k;

/* Sub-block j's (0..7) 6-bit scale and min from a Q4_K block's scales[12]
 * read as three little-endian words: s03 (bytes 0-3: scales of sub-blocks
 * 0-3, high bits of 4-7's), m03 (4-7: mins likewise), hi (8-11: low bits
 * of 4-7's scale and min). */
static inline MLXN__HD void mlxn_q4_k_sm(uint32_t j, uint32_t s03, uint32_t m03, uint32_t hi,
                                        uint32_t *sc, uint32_t *m)
{
    if (j < 4) {
        *sc = (s03 >> (8 * j)) & 63u;
        *m = (m03 >> (8 * j)) & 63u;
    } else {
        const uint32_t sh = 8 * (j - 4), q = (hi >> sh) & 0xFFu;
        *sc = (q & 0xFu) | ((s03 >> (sh + 6)) & 3u) << 4;
        *m = (q >> 4) | ((m03 >> (sh + 6)) & 3u) << 4;
    }
}

/* 16 sub-blocks of 16: w = d * scales[j] * (q - 32), q 6-bit: low 4 bits
 * in ql, high 2 bits in qh (layout in mlxn_dequantize_row). */
typedef struct mlxn_block_q6_k {
    uint8_t ql[MLXN_QK_K / 2];
    uint8_t qh[MLXN_QK_K / 4];
    int8_t scales[MLXN_QK_K / 16];
    uint16_t d;
} mlxn_block_q6_k;

#endif /* MLXN_PARAMS_QUANT_H */
