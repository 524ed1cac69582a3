/*
 * quant_ref.h: the reference dequantizers behind mlxn_dequantize_row and
 * mlxn_dequantize_row_affine, without argument checks, for the CPU kernels
 * (which dequantize weight tiles on the fly) and the op layer.
 */
#ifndef MLXN_QUANT_REF_H
#define MLXN_QUANT_REF_H

#include "mlxn.h"

#include <stdint.h>

/* 1 for dtypes mlxn_dequantize_row handles: f32, f16, bf16, q4_0, q8_0,
 * q4_k, q6_k. */
int mlxn__dequant_supported(mlxn_dtype dtype);

/* out[0..k) = W row `in` (k a multiple of the dtype's block). */
void mlxn__dequant_row(mlxn_dtype dtype, const void *in, int64_t k, float *out);

/* One row of an MLX affine matrix. */
typedef struct mlxn__affine_src {
    const uint8_t *w;      /* the row's packed words */
    const uint16_t *scales; /* the row's scales (f16 or bf16 bits) */
    const uint16_t *biases; /* NULL: symmetric, bias = -2^(bits-1) * scale */
    int bits, group_size;
    int scale_bf16;        /* scales and biases are bf16, else f16 */
} mlxn__affine_src;

/* out[0..k) = elements [k0, k0 + k) of the row; k0 and k are multiples of
 * 8 and of the group size. */
void mlxn__dequant_affine(const mlxn__affine_src *s, int64_t k0, int64_t k, float *out);

/* Rows of GGUF Q4_0 blocks (`rows` rows of k elements, k a multiple of 32)
 * as symmetric affine (mlxn_weight with biases NULL): w (rows, k/8) U32
 * codes in MLX order (element e at bits 4(e%8) of word e/8), scales
 * (rows, k/32) f16 = the blocks' d. The same values: d * (q - 8). */
void mlxn__q4_0_to_affine(const void *q4_0, int64_t rows, int64_t k, uint32_t *w,
                          uint16_t *scales);

#endif /* MLXN_QUANT_REF_H */
