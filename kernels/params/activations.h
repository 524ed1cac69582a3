/*
 * params/activations.h: parameter structs of the activation kernels
 * (silu_mul, gelu, softcap, softmax, argmax), shared by the ops (C), the
 * CPU kernels (C) and the CUDA kernels.
 */
#ifndef MLXN_PARAMS_ACTIVATIONS_H
#define MLXN_PARAMS_ACTIVATIONS_H

#include <stdint.h>

/* silu_mul: out[i] = silu(gate[i]) * up[i]; gelu_*: out[i] = gelu(x[i]);
 * softcap: out[i] = cap * tanh(x[i] / cap). */
typedef struct mlxn_act_params {
    uint64_t n; /* elements */
    float cap;  /* softcap only */
    uint32_t pad;
} mlxn_act_params;

/* softmax / argmax over rows of n elements: one block per row. */
typedef struct mlxn_row_params {
    uint32_t rows;
    uint32_t n;
    float scale; /* softmax only */
    uint32_t pad;
} mlxn_row_params;

#endif /* MLXN_PARAMS_ACTIVATIONS_H */
