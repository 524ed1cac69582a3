/*
 * params/rope.h: parameters of the RoPE kernels (rope_interleaved_f32,
 * rope_neox_f32), shared by the op (C), the CPU kernels (C) and the CUDA
 * kernels. Slots: const float *x, const int32_t *positions,
 * const float *freq_factors (any buffer when has_factors is 0), float *out,
 * mlxn_rope_kparams. Grid (n_tokens, ceil(n_heads / heads_per_block)).
 */
#ifndef MLXN_PARAMS_ROPE_H
#define MLXN_PARAMS_ROPE_H

#include <stdint.h>

/* Largest n_rot / 2 (so head_dim up to 1024 rotates fully). */
#define MLXN_ROPE_MAX_HALF 512

typedef struct mlxn_rope_kparams {
    uint32_t n_tokens;
    uint32_t n_heads;
    uint32_t head_dim;
    uint32_t n_rot;           /* even, <= head_dim */
    uint32_t heads_per_block; /* CUDA: heads a block handles */
    uint32_t has_factors;
    float theta_base;
    float freq_scale;
} mlxn_rope_kparams;

#endif /* MLXN_PARAMS_ROPE_H */
