/*
 * params/elementwise.h: parameter structs of the elementwise and norm
 * kernels, shared by the ops (C), the CPU kernels (C) and the CUDA kernels.
 */
#ifndef MLXN_PARAMS_ELEMENTWISE_H
#define MLXN_PARAMS_ELEMENTWISE_H

#include "params/half.h"

#include <stdint.h>

/* add / mul: out[i] = a[i] op b[i % nb]; scale: out[i] = a[i] * scale. */
typedef struct mlxn_ew_params {
    uint64_t n;  /* elements of a and out */
    uint64_t nb; /* elements of b (b repeats along a); n for scale */
    float scale;
    uint32_t pad;
} mlxn_ew_params;

/* rms_norm: out[r][j] = x[r][j] / sqrt(mean_j(x[r][j]^2) + eps)
 * rms_norm_mul_<w>: the same times w[j] (w in f32, f16 or bf16). */
typedef struct mlxn_norm_params {
    uint32_t rows;
    uint32_t n;
    float eps;
    uint32_t pad;
} mlxn_norm_params;

/* The RMS scale 1 / sqrt(ss / n + eps) of a row whose sum of squares ss
 * was taken in float64: one rule for the CPU norm kernels and for the
 * norm folded into matvec_x8_* (CUDA and CPU), so they agree exactly. */
static inline MLXN__HD float mlxn__rms_scale(double ss, uint32_t n, float eps)
{
    return (float)(1.0 / sqrt(ss / n + (double)eps));
}

#endif /* MLXN_PARAMS_ELEMENTWISE_H */
